//! The Cholesky factor with a non-negative diagonal from an unconstrained parameter (the
//! full-rank `q(u)` of a sparse GP) as one op.

use super::backend::SparseGpBackend;
use crate::linalg::{LinalgError, square};
use burn::backend::Dispatch;
use burn::tensor::Tensor;

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
/// use vi_core::sparse_gp::tril_nonnegative_diagonal;
/// let device = Device::default();
/// let raw = Tensor::<2>::from_data([[-2.0, 5.0], [1.0, 3.0]], &device);
/// let l: Vec<f32> = tril_nonnegative_diagonal(raw).unwrap().into_data().to_vec().unwrap();
/// assert_eq!(l, vec![2.0, 0.0, -1.0, 3.0]);
/// ```
pub fn tril_nonnegative_diagonal<const D: usize>(raw: Tensor<D>) -> Result<Tensor<D>, LinalgError> {
    square("tril_nonnegative_diagonal", &raw)?;
    let raw = raw.into_dispatch();
    Ok(Tensor::from_dispatch(
        <Dispatch as SparseGpBackend>::column_signed_lower(raw.clone(), raw),
    ))
}
