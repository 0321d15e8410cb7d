//! Small structural helpers shared by the routines: the diagonals of a stack of matrices and an
//! identity matching a tensor's dtype and device.

use super::LinalgError;
use super::backend::LinalgBackend;
use super::checks::square;
use burn::backend::Dispatch;
use burn::tensor::{FloatDType, Int, Tensor};

/// Diagonals `[batch, n]` of the `batch` matrices `n × n` of `m` (differentiable).
/// The diagonals of `batch` stacked `n × n` matrices (any leading shape), `[batch, n]`: one
/// gather, differentiable.
pub fn diagonals<const D: usize>(m: Tensor<D>, batch: usize, n: usize) -> Tensor<2> {
    let index = Tensor::<1, Int>::arange_step(0..(n * n) as i64, n + 1, &m.device());
    m.reshape([batch, n * n]).select(1, index)
}

/// The `n × n` identity of rank `D` (`[1, .., 1, n, n]`) with `like`'s dtype and device.
pub(crate) fn identity_like<const D: usize, const D2: usize>(
    like: &Tensor<D>,
    n: usize,
) -> Tensor<D2> {
    Tensor::<2>::eye(n, &like.device())
        .cast(FloatDType::from(like.dtype()))
        .unsqueeze::<D2>()
}

/// The lower triangle of `raw` (`[.., n, n]`) with every column whose diagonal entry is negative
/// negated: `L_ij = R_ij sgn(R_jj)` for `i ≥ j` (`sgn 0 = 1`), 0 above. `L Lᵀ = tril(R) tril(R)ᵀ`
/// and `L`'s diagonal is `|diag R|`, so an unconstrained `R` parameterises the Cholesky factor
/// of a covariance uniquely up to zero pivots (the full-rank variational families use it). One
/// op forward and one backward (`L̄ = Ḡ` masked and signed the same way; the signs are piecewise
/// constant).
///
/// # Errors
/// [`LinalgError::ShapeMismatch`] when `raw` is not a stack of square matrices.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::linalg::tril_nonnegative_diagonal;
/// let device = Device::default();
/// let raw = Tensor::<2>::from_data([[-2.0, 5.0], [1.0, 3.0]], &device);
/// let l: Vec<f32> = tril_nonnegative_diagonal(raw).unwrap().into_data().to_vec().unwrap();
/// assert_eq!(l, vec![2.0, 0.0, -1.0, 3.0]);
/// ```
pub fn tril_nonnegative_diagonal<const D: usize>(raw: Tensor<D>) -> Result<Tensor<D>, LinalgError> {
    square("tril_nonnegative_diagonal", &raw)?;
    let raw = raw.into_dispatch();
    Ok(Tensor::from_dispatch(
        <Dispatch as LinalgBackend>::column_signed_lower(raw.clone(), raw),
    ))
}
