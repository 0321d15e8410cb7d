//! Blocked Cholesky factorisation and triangular solve for large matrices, composed from the
//! backend's own small-matrix kernels and its matrix product, so that the `O(n³)` work runs in
//! `matmul` (the GPU path for `n` above the shared-memory kernels' limit).

use super::LinalgBackend;
use burn::backend::{TensorMetadata, tensor::FloatTensor};
use burn::tensor::Slice;

/// Slices of the last two dimensions of a tensor of `shape`, every batch dimension kept whole.
fn block(
    shape: &[usize],
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
) -> Vec<Slice> {
    let rank = shape.len();
    let mut slices: Vec<Slice> = shape[..rank - 2]
        .iter()
        .map(|&d| Slice::from(0..d))
        .collect();
    slices.push(Slice::from(rows));
    slices.push(Slice::from(cols));
    slices
}

/// Right-looking blocked Cholesky: for each diagonal block of order `nb` (at most),
///
/// `L₁₁ = chol(A₁₁)`, `L₂₁ = A₂₁ L₁₁⁻ᵀ` (as `L₂₁ᵀ = L₁₁⁻¹ A₂₁ᵀ`), `A₂₂ ← A₂₂ − L₂₁ L₂₁ᵀ`,
///
/// with `B::cholesky` and `B::solve_triangular` on the `nb`-order blocks (which must not land
/// back here) and `B::float_matmul` for the update. Only the lower triangle of `a` is read. A
/// failing pivot leaves NaN in its block from its column on, which the solve and the update carry
/// into every later block, as [`LinalgBackend::cholesky`] promises.
pub(crate) fn cholesky<B: LinalgBackend>(
    a: FloatTensor<B>,
    shift: f64,
    nb: usize,
) -> FloatTensor<B> {
    let shape = a.shape().to_vec();
    let n = shape[shape.len() - 1];
    let device = a.device();
    let mut out = B::float_zeros(a.shape(), &device, a.dtype().into());
    // The trailing matrix still to factor, `A[k0.., k0..]`.
    let mut rest = a;
    for k0 in (0..n).step_by(nb) {
        let k1 = (k0 + nb).min(n);
        let (b, m) = (k1 - k0, n - k1);
        // The shift only touches the diagonal, which only the diagonal blocks hold.
        let l11 = B::cholesky(
            B::float_slice(rest.clone(), &block(&shape, 0..b, 0..b)),
            shift,
        );
        out = B::float_slice_assign(out, &block(&shape, k0..k1, k0..k1), l11.clone());
        if m == 0 {
            break;
        }
        let a21 = B::float_slice(rest.clone(), &block(&shape, b..b + m, 0..b));
        let l21t = B::solve_triangular(l11, B::float_transpose(a21), false, false);
        let l21 = B::float_transpose(l21t.clone());
        let a22 = B::float_slice(rest, &block(&shape, b..b + m, b..b + m));
        rest = B::float_sub(a22, B::float_matmul(l21.clone(), l21t));
        out = B::float_slice_assign(out, &block(&shape, k1..n, k0..k1), l21);
    }
    out
}

/// Blocked substitution for `op(T) X = B` (see [`LinalgBackend::solve_triangular`]): block rows
/// of order `nb` (at most) in the order the substitution needs (first to last when `op(T)` is
/// lower, last to first when upper), each
///
/// `X_I = op(T)_II⁻¹ (B_I − op(T)_{I,D} X_D)`
///
/// over the rows `D` already solved, with one `B::float_matmul` per block row and
/// `B::solve_triangular` on the `nb`-order diagonal blocks (which must not land back here).
pub(crate) fn solve_triangular<B: LinalgBackend>(
    t: FloatTensor<B>,
    b: FloatTensor<B>,
    upper: bool,
    transpose: bool,
    nb: usize,
) -> FloatTensor<B> {
    let t_shape = t.shape().to_vec();
    let b_shape = b.shape().to_vec();
    let rank = b_shape.len();
    let (n, k) = (b_shape[rank - 2], b_shape[rank - 1]);
    let forward = upper == transpose;
    let device = b.device();
    let mut x = B::float_zeros(b.shape(), &device, b.dtype().into());
    let starts: Vec<usize> = (0..n).step_by(nb).collect();
    let order: Vec<usize> = if forward {
        starts
    } else {
        starts.into_iter().rev().collect()
    };
    // `op(T)[rows, cols]`: a block of `T`, or the transpose of the mirrored block.
    let op_block = |rows: std::ops::Range<usize>, cols: std::ops::Range<usize>| {
        if transpose {
            B::float_transpose(B::float_slice(t.clone(), &block(&t_shape, cols, rows)))
        } else {
            B::float_slice(t.clone(), &block(&t_shape, rows, cols))
        }
    };
    for start in order {
        let rows = start..(start + nb).min(n);
        let mut rhs = B::float_slice(b.clone(), &block(&b_shape, rows.clone(), 0..k));
        let done = if forward { 0..rows.start } else { rows.end..n };
        if !done.is_empty() {
            let solved = B::float_slice(x.clone(), &block(&b_shape, done.clone(), 0..k));
            rhs = B::float_sub(rhs, B::float_matmul(op_block(rows.clone(), done), solved));
        }
        let diagonal = B::float_slice(t.clone(), &block(&t_shape, rows.clone(), rows.clone()));
        let solved = B::solve_triangular(diagonal, rhs, upper, transpose);
        x = B::float_slice_assign(x, &block(&b_shape, rows, 0..k), solved);
    }
    x
}
