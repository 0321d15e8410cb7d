//! Batch-packed CPU kernels for many small matrices, the common VI case (one factorisation per
//! data point, output or particle).
//!
//! [`LANES`] matrices are interleaved entry by entry: entry `e` of a packed lower triangle (row
//! `i`, column `k ≤ i` at `e = i(i + 1)/2 + k`) or of packed rows (`e = i k + c`) is one
//! `[T; LANES]` holding that entry of every matrix. The textbook scalar algorithm then runs on
//! `LANES` matrices at once, each arithmetic step one SIMD instruction across the batch, with no
//! per-matrix call overhead and the triangle alone in cache. A short last group is padded with
//! identity matrices (or zeros), whose results are dropped.
//!
//! On x86-64 the kernels are compiled a second time for AVX2 with FMA and picked at run time, so a
//! binary built for the baseline target still uses 256-bit fused multiply-adds where the CPU has
//! them.
//!
//! One file per algorithm ([`cholesky`], [`backward`], [`solve`], [`outer`]) on the layout and
//! dispatch of [`lanes`] and the packing of [`pack`]; when they run is decided in
//! [`super::route`].

#[cfg(any(feature = "flex", feature = "ndarray"))]
mod backward;
mod cholesky;
mod lanes;
#[cfg(any(feature = "flex", feature = "ndarray"))]
mod outer;
mod pack;
mod solve;
#[cfg(all(test, any(feature = "flex", feature = "ndarray")))]
mod tests;

#[cfg(any(feature = "flex", feature = "ndarray"))]
pub(crate) use backward::{cholesky_backward, cholesky_backward_lower};
pub(crate) use cholesky::cholesky;
#[cfg(feature = "flex")]
pub(crate) use cholesky::cholesky_into;
pub(crate) use lanes::LANES;
#[cfg(any(feature = "flex", feature = "ndarray"))]
pub(crate) use outer::negative_triangular_outer;
pub(crate) use solve::solve_triangular;
