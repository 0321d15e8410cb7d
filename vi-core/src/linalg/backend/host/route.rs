//! When each CPU path runs: the batch-packed kernels ([`super::packed`]), the block-column GEMMs
//! ([`super::wide`]) or faer per matrix ([`super::dense`], [`super::reverse`]), and how many
//! threads one matrix gets. Every threshold was measured (see each rule); the kernels themselves
//! do not choose.

use super::packed::LANES;
use faer::Par;

/// Largest order the packed kernels take for any batch, a single matrix included (then with one
/// lane); larger orders go through them only in whole groups and where measured faster
/// ([`packed_factor`], [`packed_backward`]).
const PACKED_MAX_ORDER: usize = 64;

/// Whether the packed kernels should handle a batch of `batch` matrices of order `n` (a single
/// matrix runs them with one lane, so that batched and one-by-one results agree to the bit).
fn packed(batch: usize, n: usize) -> bool {
    batch >= 1 && (1..=PACKED_MAX_ORDER).contains(&n)
}

/// Whether the packed factorisation should handle a batch of `batch` matrices of order `n`: as
/// [`packed`], and for larger orders when the batch fills at least one group — there eight
/// matrices at a time beat faer's blocked kernels one at a time up to order 512 (measured on
/// AVX2: 2× at 8 × 256 in f32, 1.5× at 8 × 512; at 1024 in f64 faer is ahead). A single matrix
/// of such an order still goes to faer, so batched and one-by-one factors of order above 64
/// agree to rounding, not to the bit.
pub(crate) fn packed_factor(batch: usize, n: usize) -> bool {
    packed(batch, n) || (batch >= LANES && n <= 512)
}

/// [`packed_factor`] for the reverse mode, where the packed kernel beats faer's blocked one on
/// whole groups up to order 128 (1.3–1.5× at 256 × 128; at order 256 it is 1.1–1.3× slower).
#[cfg(any(feature = "flex", feature = "ndarray"))]
pub(crate) fn packed_backward(batch: usize, n: usize) -> bool {
    packed(batch, n) || (batch >= LANES && n <= 128)
}

/// Whether the packed kernels should handle a batch of `batch` triangular solves of order `n`
/// with `k` right-hand sides (many right-hand sides favour faer's per-matrix blocked solve).
pub(crate) fn packed_solve(batch: usize, n: usize, k: usize) -> bool {
    packed(batch, n) && (1..=PACKED_MAX_ORDER).contains(&k)
}

/// Whether the wide kernels should handle one factor of order `n` against `k` columns: many more
/// columns than rows, so that the dense copy of the factor is cheap next to the GEMMs (measured
/// at `n = 64`, `k = 256`: the solve 66 → 55 µs, the product 69 → 62 µs); larger orders keep
/// faer's recursive kernels, whose blocks there are large GEMMs already.
pub(crate) fn wide(n: usize, k: usize) -> bool {
    (16..=256).contains(&n) && k >= 2 * n
}

/// Parallelism inside one matrix: only when the batch is too small to keep the pool busy and
/// the matrix large enough to pay for the hand-offs (at `n = 256` two threads were slower than
/// one).
pub(super) fn inner_par(batch: usize, n: usize) -> Par {
    let threads = rayon::current_num_threads();
    if batch < threads && n >= 512 {
        Par::rayon(threads)
    } else {
        Par::Seq
    }
}

/// [`inner_par`] for a triangular solve or product with `k` right-hand sides: a few columns are
/// too little work to share.
pub(super) fn inner_par_rhs(batch: usize, n: usize, k: usize) -> Par {
    if k >= 128 {
        inner_par(batch, n)
    } else {
        Par::Seq
    }
}
