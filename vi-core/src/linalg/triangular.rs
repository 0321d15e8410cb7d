//! Triangular solves and the solves and inverses built on a Cholesky factor.

use super::backend::LinalgBackend;
use super::checks::square;
use super::error::LinalgError;
use super::matrix::identity_like;
use burn::backend::Dispatch;
use burn::backend::tensor::FloatTensor;
use burn::tensor::Tensor;

/// Which triangle of a triangular matrix is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Triangle {
    /// Entries on and below the diagonal.
    Lower,
    /// Entries on and above the diagonal.
    Upper,
}

/// On which side of the unknown the triangular matrix stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `op(T) X = B`, `B` `[.., n, k]`.
    Left,
    /// `X op(T) = B`, `B` `[.., k, n]`.
    Right,
}

/// A batched kernel on `op(T)` standing left of `B`: `(t, b, upper, transpose)`.
type TriangularKernel =
    fn(FloatTensor<Dispatch>, FloatTensor<Dispatch>, bool, bool) -> FloatTensor<Dispatch>;

/// Checks and broadcasts the operands, then applies `kernel` with `T` on `side` of `B`. The
/// right side is the left one transposed: `B op(T) = (op(T)ᵀ Bᵀ)ᵀ`, and likewise for solves.
fn on_side<const D: usize>(
    op: &'static str,
    kernel: TriangularKernel,
    t: Tensor<D>,
    b: Tensor<D>,
    triangle: Triangle,
    transpose: bool,
    side: Side,
) -> Result<Tensor<D>, LinalgError> {
    check_operands(op, &t, &b, side)?;
    let (t, b) = broadcast_batch(op, t, b)?;
    let upper = triangle == Triangle::Upper;
    let apply = |b: Tensor<D>, transpose: bool| -> Tensor<D> {
        Tensor::from_dispatch(kernel(
            t.into_dispatch(),
            b.into_dispatch(),
            upper,
            transpose,
        ))
    };
    Ok(match side {
        Side::Left => apply(b, transpose),
        Side::Right => apply(b.transpose(), !transpose).transpose(),
    })
}

/// Solves `op(T) X = B` ([`Side::Left`]) or `X op(T) = B` ([`Side::Right`]) for each batch
/// element, with `op(T) = Tᵀ` when `transpose`. Only `triangle` of `t` is read. Leading batch
/// dimensions broadcast (size 1 against size m). Differentiable: `B̄ = op(T)⁻ᵀ X̄`,
/// `T̄ = −B̄ Xᵀ` projected on the triangle (torch's convention).
///
/// A singular `t` (a zero on its diagonal) gives non-finite entries; factors from
/// [`super::cholesky`] never are.
///
/// # Errors
/// [`LinalgError::ShapeMismatch`] when `t` is not `[.., n, n]`, when `b` does not have `n` rows
/// (left) or columns (right), or when batch dimensions cannot broadcast.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::linalg::{Side, Triangle, solve_triangular};
/// let device = Device::default();
/// let l = Tensor::<2>::from_data([[2.0, 0.0], [1.0, 4.0]], &device);
/// let b = Tensor::<2>::from_data([[2.0], [9.0]], &device);
/// let x = solve_triangular(l, b, Triangle::Lower, false, Side::Left).unwrap();
/// x.into_data().assert_approx_eq::<f32>(&[[1.0], [2.0]].into(), Default::default());
/// ```
pub fn solve_triangular<const D: usize>(
    t: Tensor<D>,
    b: Tensor<D>,
    triangle: Triangle,
    transpose: bool,
    side: Side,
) -> Result<Tensor<D>, LinalgError> {
    on_side(
        "solve_triangular",
        <Dispatch as LinalgBackend>::solve_triangular,
        t,
        b,
        triangle,
        transpose,
        side,
    )
}

/// `t` is `[.., n, n]` and `b` has `n` rows (left) or columns (right).
pub(crate) fn check_operands<const D: usize>(
    op: &'static str,
    t: &Tensor<D>,
    b: &Tensor<D>,
    side: Side,
) -> Result<(), LinalgError> {
    let (_, n) = square(op, t)?;
    let b_dims = b.dims();
    let rows = match side {
        Side::Left => b_dims[D - 2],
        Side::Right => b_dims[D - 1],
    };
    if rows != n {
        return Err(LinalgError::ShapeMismatch {
            op,
            reason: format!(
                "T is {n}×{n} but B has shape {b_dims:?} ({} side needs {n} {})",
                if side == Side::Left { "left" } else { "right" },
                if side == Side::Left {
                    "rows"
                } else {
                    "columns"
                }
            ),
        });
    }
    Ok(())
}

/// `op(T) B` ([`Side::Left`]) or `B op(T)` ([`Side::Right`]) for each batch element, with
/// `op(T) = Tᵀ` when `transpose`. Only `triangle` of `t` is read; the other is taken as zero, so a
/// full matrix can be passed as it is. Leading batch dimensions broadcast. On the CPU it costs
/// half a general matmul (faer's triangular kernels). Differentiable: `B̄ = op(T)ᵀ C̄`,
/// `T̄ = tri(C̄ Bᵀ)` (left, not transposed).
///
/// # Errors
/// [`LinalgError::ShapeMismatch`] as for [`solve_triangular`].
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::linalg::{Side, Triangle, triangular_matmul};
/// let device = Device::default();
/// // The upper entry 9 is not read.
/// let l = Tensor::<2>::from_data([[2.0, 9.0], [1.0, 4.0]], &device);
/// let b = Tensor::<2>::from_data([[1.0], [2.0]], &device);
/// let lt_b = triangular_matmul(l, b, Triangle::Lower, true, Side::Left).unwrap();
/// lt_b.into_data().assert_approx_eq::<f32>(&[[4.0], [8.0]].into(), Default::default());
/// ```
pub fn triangular_matmul<const D: usize>(
    t: Tensor<D>,
    b: Tensor<D>,
    triangle: Triangle,
    transpose: bool,
    side: Side,
) -> Result<Tensor<D>, LinalgError> {
    on_side(
        "triangular_matmul",
        <Dispatch as LinalgBackend>::triangular_matmul,
        t,
        b,
        triangle,
        transpose,
        side,
    )
}

/// `‖op(T) bⱼ‖² − ‖bⱼ‖²` for every column `bⱼ` of `B` `[.., n, k]`, output `[.., k]`: the
/// diagonal of `Bᵀ (op(T)ᵀ op(T) − I) B`, reading only `triangle` of `t` (`op(T) = Tᵀ` when
/// `transpose`). With `op(T) = Lᵀ` for `S = L Lᵀ` and `B = A = L_zz⁻¹ K_zx` it is a whitened sparse
/// GP's variance correction `diag(Aᵀ S A) − diag(Aᵀ A)`. One tracked op (a triangular product and
/// two column sums) instead of eight; leading batch dimensions broadcast. Differentiable:
/// with `P = op(T) B` and `P̄ = 2 P ∘ ḡ`, `B̄ = op(T)ᵀ P̄ − 2 B ∘ ḡ` and `T̄` as for
/// [`triangular_matmul`].
///
/// # Errors
/// [`LinalgError::ShapeMismatch`] as [`triangular_matmul`] (left side).
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::linalg::{Triangle, column_norm_change};
/// let device = Device::default();
/// let l = Tensor::<2>::from_data([[2.0, 0.0], [1.0, 1.0]], &device);
/// let b = Tensor::<2>::from_data([[1.0], [1.0]], &device);
/// // Lᵀ b = [3, 1]: 9 + 1 − (1 + 1).
/// let change: Tensor<1> = column_norm_change(l, b, Triangle::Lower, true).unwrap();
/// change.into_data().assert_approx_eq::<f32>(&[8.0].into(), Default::default());
/// ```
pub fn column_norm_change<const D: usize, const D1: usize>(
    t: Tensor<D>,
    b: Tensor<D>,
    triangle: Triangle,
    transpose: bool,
) -> Result<Tensor<D1>, LinalgError> {
    const {
        assert!(
            D1 + 1 == D,
            "the output has one dimension fewer than the inputs"
        )
    };
    let op = "column_norm_change";
    check_operands(op, &t, &b, Side::Left)?;
    let (t, b) = broadcast_batch(op, t, b)?;
    let mut dims = b.dims().to_vec();
    dims.remove(D - 2);
    let change: Tensor<D> = Tensor::from_dispatch(<Dispatch as LinalgBackend>::column_norm_change(
        t.into_dispatch(),
        b.into_dispatch(),
        triangle == Triangle::Upper,
        transpose,
    ));
    let shape: [usize; D1] = dims.try_into().expect("one dimension fewer");
    Ok(change.reshape(shape))
}

/// Expands the leading dimensions of `t` and `b` to their common broadcast shape.
pub(crate) fn broadcast_batch<const D: usize>(
    op: &'static str,
    t: Tensor<D>,
    b: Tensor<D>,
) -> Result<(Tensor<D>, Tensor<D>), LinalgError> {
    let (mut td, mut bd) = (t.dims(), b.dims());
    if td[..D - 2] == bd[..D - 2] {
        return Ok((t, b));
    }
    for axis in 0..D - 2 {
        let size = match (td[axis], bd[axis]) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(LinalgError::ShapeMismatch {
                    op,
                    reason: format!("batch dimensions of {td:?} and {bd:?} do not broadcast"),
                });
            }
        };
        td[axis] = size;
        bd[axis] = size;
    }
    Ok((t.expand(td), b.expand(bd)))
}

/// `A⁻¹ B` from the lower Cholesky factor `L` of `A` (`L` `[.., n, n]`, `B` `[.., n, k]`): two
/// triangular solves, `L⁻ᵀ (L⁻¹ B)`. Differentiable in `L` and `B`.
///
/// # Errors
/// [`LinalgError::ShapeMismatch`] as for [`solve_triangular`].
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::linalg::{cholesky, cholesky_solve};
/// let device = Device::default();
/// let a = Tensor::<2>::from_data([[4.0, 2.0], [2.0, 5.0]], &device);
/// let b = Tensor::<2>::from_data([[6.0], [7.0]], &device);
/// let x = cholesky_solve(cholesky(a).unwrap(), b).unwrap();
/// x.into_data().assert_approx_eq::<f32>(&[[1.0], [1.0]].into(), Default::default());
/// ```
pub fn cholesky_solve<const D: usize>(
    l: Tensor<D>,
    b: Tensor<D>,
) -> Result<Tensor<D>, LinalgError> {
    let y = solve_triangular(l.clone(), b, Triangle::Lower, false, Side::Left)?;
    solve_triangular(l, y, Triangle::Lower, true, Side::Left)
}

/// `A⁻¹ = L⁻ᵀ L⁻¹` from the lower Cholesky factor `L` of `A`. Differentiable.
///
/// # Errors
/// [`LinalgError::ShapeMismatch`] unless `l` is `[.., n, n]`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::linalg::cholesky_inverse;
/// let device = Device::default();
/// let l = Tensor::<2>::from_data([[2.0, 0.0], [0.0, 4.0]], &device);
/// let inv = cholesky_inverse(l).unwrap();
/// inv.into_data().assert_approx_eq::<f32>(&[[0.25, 0.0], [0.0, 0.0625]].into(), Default::default());
/// ```
pub fn cholesky_inverse<const D: usize>(l: Tensor<D>) -> Result<Tensor<D>, LinalgError> {
    let (_, n) = square("cholesky_inverse", &l)?;
    let eye = identity_like::<D, D>(&l, n).expand(l.dims());
    cholesky_solve(l, eye)
}
