//! CPU kernels for the linear-algebra extension, used by the flex and ndarray backends.
//!
//! Each batch element is an independent row-major `n × n` (or `n × k`) block; the batch is split
//! over rayon's pool ([`crate::host::use_pool`]). Matrices up to order 64 go to the batch-packed
//! kernels of [`packed`], one factor against many columns to the block-column GEMMs of
//! [`wide`]; larger ones to [faer](https://docs.rs/faer) ([`dense`]), whose blocked, SIMD
//! kernels are essential at `n = 1024` (the Cholesky backward pass is Murray's blocked reverse
//! mode on faer's GEMMs, [`reverse`]). A single large matrix is factorised with faer's own
//! parallelism. Which path a call takes is decided in one place, [`route`].

mod dense;
pub(crate) mod packed;
#[cfg(any(feature = "flex", feature = "ndarray"))]
mod reverse;
mod route;
pub(crate) mod wide;

#[cfg(feature = "flex")]
use crate::host::read_input;
use crate::host::{HostFloat, HostKernel, dims, on_host, slice, slice_mut, use_pool};
use burn::backend::{Backend, TensorMetadata, tensor::FloatTensor};
#[cfg(feature = "flex")]
use burn::tensor::DType;
#[cfg(any(feature = "flex", feature = "ndarray"))]
use burn::tensor::Shape;
use burn::tensor::TensorData;
use dense::{cholesky_one, solve_one};
#[cfg(any(feature = "flex", feature = "ndarray"))]
use faer::Accum;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::cholesky_in_place_scratch;
#[cfg(any(feature = "flex", feature = "ndarray"))]
use faer::linalg::matmul::triangular::{BlockStructure, matmul as faer_triangular_matmul};
use faer::{MatMut, MatRef};
use rayon::prelude::*;
#[cfg(any(feature = "flex", feature = "ndarray"))]
use reverse::cholesky_backward_blocked;
use route::{inner_par, inner_par_rhs};

/// Batched Cholesky of `A + shift · I` (see [`super::LinalgBackend::cholesky`] for the contract).
pub(crate) fn cholesky<B: Backend>(a: FloatTensor<B>, shift: f64) -> FloatTensor<B> {
    let (batch, n, _) = dims(&a.shape());
    on_host::<B>(vec![a], Cholesky { batch, n, shift })
}

struct Cholesky {
    batch: usize,
    n: usize,
    shift: f64,
}

impl HostKernel for Cholesky {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let mut a = inputs.remove(0);
        let (batch, n) = (self.batch, self.n);
        if self.shift != 0.0 {
            let shift = T::from_f64(self.shift);
            for block in slice_mut::<T>(&mut a).chunks_mut(n * n) {
                for j in 0..n {
                    block[j * n + j] += shift;
                }
            }
        }
        if route::packed_factor(batch, n) {
            packed::cholesky(slice_mut::<T>(&mut a), n);
        } else if n > 0 {
            let par = inner_par(batch, n);
            let scratch = cholesky_in_place_scratch::<T>(n, par, Default::default());
            let blocks = slice_mut::<T>(&mut a);
            if use_pool(batch) {
                blocks.par_chunks_mut(n * n).for_each_init(
                    || MemBuffer::new(scratch),
                    |buffer, block| cholesky_one(block, n, par, MemStack::new(buffer)),
                );
            } else {
                let mut buffer = MemBuffer::new(scratch);
                for block in blocks.chunks_mut(n * n) {
                    cholesky_one(block, n, par, MemStack::new(&mut buffer));
                }
            }
        }
        a
    }
}

/// Batched triangular solve (see [`super::LinalgBackend::solve_triangular`]).
pub(crate) fn solve_triangular<B: Backend>(
    t: FloatTensor<B>,
    b: FloatTensor<B>,
    upper: bool,
    transpose: bool,
) -> FloatTensor<B> {
    let (batch, n, k) = dims(&b.shape());
    let kernel = SolveTriangular {
        batch,
        n,
        k,
        upper,
        transpose,
    };
    on_host::<B>(vec![t, b], kernel)
}

#[derive(Clone, Copy)]
struct SolveTriangular {
    batch: usize,
    n: usize,
    k: usize,
    upper: bool,
    transpose: bool,
}

impl HostKernel for SolveTriangular {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let mut rhs = inputs.pop().expect("right-hand side");
        solve_blocks(slice::<T>(&inputs[0]), slice_mut::<T>(&mut rhs), &self);
        rhs
    }
}

/// Solves every `n × k` block of `rhs` in place against the matching `n × n` block of `tri`.
fn solve_blocks<T: HostFloat>(tri: &[T], rhs: &mut [T], shape: &SolveTriangular) {
    let SolveTriangular {
        batch,
        n,
        k,
        upper,
        transpose,
    } = *shape;
    if route::packed_solve(batch, n, k) {
        packed::solve_triangular(tri, rhs, (n, k), upper, transpose);
    } else if n > 0 && k > 0 {
        let par = inner_par_rhs(batch, n, k);
        let wide = route::wide(n, k);
        let solve = |(x, tri): (&mut [T], &[T])| {
            if wide {
                return wide::solve_triangular(tri, x, (n, k), upper, transpose);
            }
            let tri = MatRef::from_row_major_slice(tri, n, n);
            let x = MatMut::from_row_major_slice_mut(x, n, k);
            solve_one(tri, x, upper, transpose, par);
        };
        if use_pool(batch) {
            rhs.par_chunks_mut(n * k)
                .zip(tri.par_chunks(n * n))
                .for_each(solve);
        } else {
            rhs.chunks_mut(n * k).zip(tri.chunks(n * n)).for_each(solve);
        }
    }
}

/// Flex's batched triangular solve, reading the triangular factor in place even when it is
/// shared (a distribution's `scale_tril` is read by every `log_prob`): only the right-hand side,
/// which the solve overwrites, is copied when shared. Falls back to [`solve_triangular`] for
/// strided or non-`f32`/`f64` factors.
#[cfg(feature = "flex")]
pub(crate) fn solve_triangular_flex(
    t: FloatTensor<burn::backend::Flex>,
    b: FloatTensor<burn::backend::Flex>,
    upper: bool,
    transpose: bool,
) -> FloatTensor<burn::backend::Flex> {
    use burn::backend::{Flex, ops::FloatTensorOps};
    let (batch, n, k) = dims(&b.shape());
    let shape = SolveTriangular {
        batch,
        n,
        k,
        upper,
        transpose,
    };
    let dtype = b.dtype();
    let borrowable = t.dtype() == dtype
        && match dtype {
            DType::F32 => t.as_slice::<f32>().is_some(),
            DType::F64 => t.as_slice::<f64>().is_some(),
            _ => false,
        };
    if !borrowable {
        return solve_triangular::<Flex>(t, b, upper, transpose);
    }
    let device = b.device();
    let mut rhs = read_input::<Flex>(b);
    match dtype {
        DType::F32 => solve_blocks(
            t.as_slice::<f32>().expect("checked"),
            slice_mut::<f32>(&mut rhs),
            &shape,
        ),
        _ => solve_blocks(
            t.as_slice::<f64>().expect("checked"),
            slice_mut::<f64>(&mut rhs),
            &shape,
        ),
    }
    Flex::float_from_data(rhs, &device)
}

/// Flex's batched Cholesky, reading the input in place even when it is shared (the factor is
/// written to a new buffer, so a shared input costs no copy) for the packed small-matrix kernels
/// without a shift. Falls back to [`cholesky`] otherwise, which factorises an input it owns alone
/// in place.
#[cfg(feature = "flex")]
pub(crate) fn cholesky_flex(
    a: FloatTensor<burn::backend::Flex>,
    shift: f64,
) -> FloatTensor<burn::backend::Flex> {
    use burn::backend::{Flex, ops::FloatTensorOps};
    let shape = a.shape();
    let (batch, n, _) = dims(&shape);
    if !route::packed_factor(batch, n) || a.is_unique() || shift != 0.0 {
        return cholesky::<Flex>(a, shift);
    }
    fn factor<T: HostFloat>(a: &[T], n: usize, shape: &Shape) -> TensorData {
        let mut out = Vec::with_capacity(a.len());
        packed::cholesky_into(a, &mut out.spare_capacity_mut()[..a.len()], n);
        // SAFETY: `cholesky_into` writes every entry of every block (the factor, NaN rows from a
        // failed pivot on, zeros above the diagonal).
        unsafe { out.set_len(a.len()) };
        TensorData::new(out, shape.clone())
    }
    let data = match a.dtype() {
        DType::F32 => a.as_slice::<f32>().map(|a| factor(a, n, &shape)),
        DType::F64 => a.as_slice::<f64>().map(|a| factor(a, n, &shape)),
        _ => None,
    };
    match data {
        Some(data) => Flex::float_from_data(data, &a.device()),
        None => cholesky::<Flex>(a, 0.0),
    }
}

/// Fused `−tri(B̄ Xᵀ)` (see [`super::LinalgBackend::solve_triangular_grad_t`]): only the entries
/// of the triangle are computed, each one inner product over contiguous rows.
#[cfg(any(feature = "flex", feature = "ndarray"))]
pub(crate) fn solve_triangular_grad_t<B: Backend>(
    grad_b: FloatTensor<B>,
    x: FloatTensor<B>,
    upper: bool,
    transpose: bool,
) -> FloatTensor<B> {
    let shape = grad_b.shape();
    let (batch, n, k) = dims(&shape);
    let kernel = SolveTriangularGradT {
        shape: super::compose::square_shape(&shape),
        batch,
        n,
        k,
        upper,
        transpose,
    };
    on_host::<B>(vec![grad_b, x], kernel)
}

#[cfg(any(feature = "flex", feature = "ndarray"))]
struct SolveTriangularGradT {
    shape: Shape,
    batch: usize,
    n: usize,
    k: usize,
    upper: bool,
    transpose: bool,
}

#[cfg(any(feature = "flex", feature = "ndarray"))]
impl HostKernel for SolveTriangularGradT {
    fn run<T: HostFloat>(self, inputs: Vec<TensorData>) -> TensorData {
        let (grad_b, x) = (slice::<T>(&inputs[0]), slice::<T>(&inputs[1]));
        let out = grad_t_batch(
            grad_b,
            x,
            self.batch,
            self.n,
            self.k,
            self.upper,
            self.transpose,
        );
        TensorData::new(out, self.shape)
    }
}

#[cfg(any(feature = "flex", feature = "ndarray"))]
fn grad_t_batch<T: HostFloat>(
    grad_b: &[T],
    x: &[T],
    batch: usize,
    n: usize,
    k: usize,
    upper: bool,
    transpose: bool,
) -> Vec<T> {
    let mut out = vec![T::from_f64(0.0); batch * n * n];
    if n == 0 {
        return out;
    }
    if route::packed_solve(batch, n, k) {
        let (left, right) = if transpose { (x, grad_b) } else { (grad_b, x) };
        packed::negative_triangular_outer(left, right, &mut out, (n, k), upper);
        return out;
    }
    let par = inner_par_rhs(batch, n, k);
    let wide = route::wide(n, k);
    let block = |(out, (g, x)): (&mut [T], (&[T], &[T]))| {
        // Entry (i, j) is −⟨g_i, x_j⟩, or −⟨x_i, g_j⟩ when transposed: out = −left rightᵀ on
        // the triangle only. In column-major views (of row-major storage) that is
        // outᵀ = −right leftᵀ on the opposite triangle, one triangular GEMM.
        let (left, right) = if transpose { (x, g) } else { (g, x) };
        if wide {
            return wide::negative_triangular_outer(left, right, out, (n, k), upper);
        }
        let structure = if upper {
            BlockStructure::TriangularLower
        } else {
            BlockStructure::TriangularUpper
        };
        faer_triangular_matmul(
            MatMut::from_column_major_slice_mut(out, n, n),
            structure,
            Accum::Replace,
            MatRef::from_column_major_slice(right, k, n).transpose(),
            BlockStructure::Rectangular,
            MatRef::from_column_major_slice(left, k, n),
            BlockStructure::Rectangular,
            T::from_f64(-1.0),
            par,
        );
    };
    let rows = n * k.max(1);
    if use_pool(batch) {
        out.par_chunks_mut(n * n)
            .zip(grad_b.par_chunks(rows).zip(x.par_chunks(rows)))
            .for_each(block);
    } else {
        out.chunks_mut(n * n)
            .zip(grad_b.chunks(rows).zip(x.chunks(rows)))
            .for_each(block);
    }
    out
}

/// Batched triangular matmul `op(T) B` (see [`super::LinalgBackend::triangular_matmul`]).
#[cfg(any(feature = "flex", feature = "ndarray"))]
pub(crate) fn triangular_matmul<B: Backend>(
    t: FloatTensor<B>,
    b: FloatTensor<B>,
    upper: bool,
    transpose: bool,
) -> FloatTensor<B> {
    let shape = b.shape();
    let (batch, n, k) = dims(&shape);
    let kernel = TriangularMatmul {
        shape,
        batch,
        n,
        k,
        upper,
        transpose,
    };
    on_host::<B>(vec![t, b], kernel)
}

#[cfg(any(feature = "flex", feature = "ndarray"))]
struct TriangularMatmul {
    shape: Shape,
    batch: usize,
    n: usize,
    k: usize,
    upper: bool,
    transpose: bool,
}

#[cfg(any(feature = "flex", feature = "ndarray"))]
impl HostKernel for TriangularMatmul {
    fn run<T: HostFloat>(self, inputs: Vec<TensorData>) -> TensorData {
        let (tri, rhs) = (slice::<T>(&inputs[0]), slice::<T>(&inputs[1]));
        let (n, k) = (self.n, self.k);
        let mut out = vec![T::from_f64(0.0); self.batch * n * k];
        if n > 0 && k > 0 {
            let par = inner_par_rhs(self.batch, n, k);
            // In column-major views of the row-major blocks: Cᵀ = Bᵀ op(T)ᵀ, where the view of
            // `T` is `Tᵀ`, so `op(T)ᵀ` is the view itself (no transpose) or its transpose; it is
            // lower triangular exactly when `upper != transpose`.
            let structure = if self.upper != self.transpose {
                BlockStructure::TriangularLower
            } else {
                BlockStructure::TriangularUpper
            };
            let (upper, transpose) = (self.upper, self.transpose);
            let wide = route::wide(n, k);
            let block = |(out, (rhs, tri)): (&mut [T], (&[T], &[T]))| {
                if wide {
                    return wide::triangular_matmul(tri, rhs, out, (n, k), upper, transpose);
                }
                let tri_view = MatRef::from_column_major_slice(tri, n, n);
                faer_triangular_matmul(
                    MatMut::from_column_major_slice_mut(out, k, n),
                    BlockStructure::Rectangular,
                    Accum::Replace,
                    MatRef::from_column_major_slice(rhs, k, n),
                    BlockStructure::Rectangular,
                    if self.transpose {
                        tri_view.transpose()
                    } else {
                        tri_view
                    },
                    structure,
                    T::from_f64(1.0),
                    par,
                );
            };
            if use_pool(self.batch) {
                out.par_chunks_mut(n * k)
                    .zip(rhs.par_chunks(n * k).zip(tri.par_chunks(n * n)))
                    .for_each(block);
            } else {
                out.chunks_mut(n * k)
                    .zip(rhs.chunks(n * k).zip(tri.chunks(n * n)))
                    .for_each(block);
            }
        }
        TensorData::new(out, self.shape)
    }
}

/// Fused Cholesky backward per matrix (see [`super::LinalgBackend::cholesky_backward`]).
#[cfg(any(feature = "flex", feature = "ndarray"))]
pub(crate) fn cholesky_backward<B: Backend>(
    l: FloatTensor<B>,
    grad_l: FloatTensor<B>,
) -> FloatTensor<B> {
    let (batch, n, _) = dims(&l.shape());
    on_host::<B>(vec![l, grad_l], CholeskyBackward { batch, n })
}

#[cfg(any(feature = "flex", feature = "ndarray"))]
struct CholeskyBackward {
    batch: usize,
    n: usize,
}

#[cfg(any(feature = "flex", feature = "ndarray"))]
impl HostKernel for CholeskyBackward {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let mut grad = inputs.pop().expect("gradient");
        let n = self.n;
        if route::packed_backward(self.batch, n) {
            packed::cholesky_backward(slice::<T>(&inputs[0]), slice_mut::<T>(&mut grad), n);
        } else if n > 0 {
            let par = inner_par(self.batch, n);
            let l = slice::<T>(&inputs[0]);
            let grads = slice_mut::<T>(&mut grad);
            let block = |(g, l): (&mut [T], &[T])| cholesky_backward_blocked(l, g, n, par);
            if use_pool(self.batch) {
                grads
                    .par_chunks_mut(n * n)
                    .zip(l.par_chunks(n * n))
                    .for_each(block);
            } else {
                grads.chunks_mut(n * n).zip(l.chunks(n * n)).for_each(block);
            }
        }
        grad
    }
}
