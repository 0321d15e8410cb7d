//! Log-determinants and inverses of symmetric positive-definite matrices.

use super::checks::square;
use super::cholesky::cholesky;
use super::error::LinalgError;
use super::matrix::diagonals;
use super::triangular::cholesky_inverse;
use burn::tensor::Tensor;

/// `log det A = 2 Σᵢ log Lᵢᵢ` from the lower Cholesky factor `L` `[.., n, n]`, one value per batch
/// element: shape `[..]` (the batch dimensions; `[1]` for a single matrix), so `D2 = max(D − 2, 1)`.
/// Differentiable.
///
/// # Errors
/// [`LinalgError::ShapeMismatch`] unless `l` is `[.., n, n]` and `D2 = max(D − 2, 1)`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::linalg::logdet_from_cholesky;
/// let device = Device::default();
/// let l = Tensor::<3>::from_data([[[2.0, 0.0], [1.0, 3.0]]], &device);
/// let ld = logdet_from_cholesky::<3, 1>(l).unwrap();
/// ld.into_data().assert_approx_eq::<f32>(&[36f32.ln()].into(), Default::default());
/// ```
pub fn logdet_from_cholesky<const D: usize, const D2: usize>(
    l: Tensor<D>,
) -> Result<Tensor<D2>, LinalgError> {
    let (batch, n) = square("logdet_from_cholesky", &l)?;
    let out_dims = batch_dims::<D, D2>("logdet_from_cholesky", &l.dims())?;
    let log_diag = diagonals(l, batch, n).log();
    Ok((log_diag.sum_dim(1) * 2.0).reshape(out_dims))
}

/// `log det A` of each symmetric positive-definite matrix of `a` `[.., n, n]` through its Cholesky
/// factor; shape as [`logdet_from_cholesky`]. Differentiable (`∂/∂A = A⁻¹`).
///
/// # Errors
/// As [`cholesky`].
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// let device = Device::default();
/// let a = Tensor::<2>::from_data([[4.0, 2.0], [2.0, 5.0]], &device);
/// let ld = vi_core::linalg::logdet::<2, 1>(a).unwrap();
/// ld.into_data().assert_approx_eq::<f32>(&[16f32.ln()].into(), Default::default());
/// ```
pub fn logdet<const D: usize, const D2: usize>(a: Tensor<D>) -> Result<Tensor<D2>, LinalgError> {
    batch_dims::<D, D2>("logdet", &a.dims())?;
    logdet_from_cholesky(cholesky(a)?)
}

/// `A⁻¹` of each symmetric positive-definite matrix of `a` `[.., n, n]` through its Cholesky factor.
/// Differentiable.
///
/// # Errors
/// As [`cholesky`].
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// let device = Device::default();
/// let a = Tensor::<2>::from_data([[2.0, 0.0], [0.0, 4.0]], &device);
/// let inv = vi_core::linalg::inverse(a).unwrap();
/// inv.into_data().assert_approx_eq::<f32>(&[[0.5, 0.0], [0.0, 0.25]].into(), Default::default());
/// ```
pub fn inverse<const D: usize>(a: Tensor<D>) -> Result<Tensor<D>, LinalgError> {
    cholesky_inverse(cholesky(a)?)
}

fn batch_dims<const D: usize, const D2: usize>(
    op: &'static str,
    dims: &[usize; D],
) -> Result<[usize; D2], LinalgError> {
    if D < 2 || D2 != (D - 2).max(1) {
        return Err(LinalgError::ShapeMismatch {
            op,
            reason: format!(
                "the output rank must be max(D − 2, 1) = {} for input rank {D}, got {D2}",
                D.saturating_sub(2).max(1)
            ),
        });
    }
    let mut out = [1; D2];
    if D > 2 {
        out.copy_from_slice(&dims[..D - 2]);
    }
    Ok(out)
}
