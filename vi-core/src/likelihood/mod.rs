//! The Gaussian log-likelihood of regression data, `Σᵢ ln N(yᵢ | μᵢ, σᵢ²)` with `σ = e^s`, as one
//! fused op forward and one backward on every backend ([`backend::LikelihoodBackend`]): the
//! data term of every Bayesian regression ELBO, where its composition from Burn's primitives
//! tracks about ten ops per step; and its expectation under Gaussian marginals `N(μ, v)` (a
//! sparse GP's data term) the same way.

use crate::distributions::DistributionError;
use backend::LikelihoodBackend;
use burn::backend::Dispatch;
use burn::tensor::Tensor;

pub mod backend;

/// `Σᵢ ln N(yᵢ | μᵢ, e^{2sᵢ}) = Σᵢ −½ (yᵢ − μᵢ)² e^{−2sᵢ} − sᵢ − ½ ln 2π`, summed over every
/// element of `y` and `mean` (one shape, any rank), with the log standard deviation `log_scale`
/// either one value (homoscedastic noise, any rank of one element) or one per element (the shape
/// of `y`). Output `[1]`, differentiable in all three: with `r = y − μ`,
/// `∂/∂μ = −∂/∂y = r e^{−2s}` and `∂/∂s = r² e^{−2s} − 1` (summed for a shared `s`). One op
/// forward and one backward ([`LikelihoodBackend::gaussian_log_likelihood`]), summed in `f64` on
/// the CPU.
///
/// # Errors
/// [`DistributionError::ShapeMismatch`] when `y` and `mean` differ in shape or `log_scale` is
/// neither one value nor their shape.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::likelihood::gaussian_log_likelihood;
/// let device = Device::default();
/// let y = Tensor::<2>::from_data([[1.0], [2.0]], &device);
/// let mean = Tensor::<2>::from_data([[0.0], [2.0]], &device);
/// let log_scale = Tensor::<1>::zeros([1], &device); // σ = 1
/// let ll: f32 = gaussian_log_likelihood(y, mean, log_scale).unwrap().into_scalar();
/// let by_hand = -0.5 - (2.0 * std::f32::consts::PI).ln();
/// assert!((ll - by_hand).abs() < 1e-5);
/// ```
pub fn gaussian_log_likelihood<const D: usize, const E: usize>(
    y: Tensor<D>,
    mean: Tensor<D>,
    log_scale: Tensor<E>,
) -> Result<Tensor<1>, DistributionError> {
    check_shapes("Gaussian log-likelihood", &y, &mean, None, &log_scale)?;
    let dtype = mean.dtype();
    Ok(Tensor::from_dispatch(
        <Dispatch as LikelihoodBackend>::gaussian_log_likelihood(
            y.cast(dtype).into_dispatch(),
            mean.into_dispatch(),
            log_scale.cast(dtype).into_dispatch(),
        ),
    ))
}

/// The expected log-likelihood of regression data under Gaussian marginals `f ~ N(μ, v)`, the
/// data term of a sparse GP's ELBO (Hensman et al. 2013):
/// `Σᵢ E ln N(yᵢ | fᵢ, e^{2sᵢ}) = Σᵢ −½ ((yᵢ − μᵢ)² + vᵢ) e^{−2sᵢ} − sᵢ − ½ ln 2π`,
/// with `y`, `mean` and `variance` of one shape and `log_scale` one value or that shape, as for
/// [`gaussian_log_likelihood`] (the case `v = 0`). Output `[1]`, differentiable in all four:
/// `∂/∂μ = −∂/∂y = r e^{−2s}`, `∂/∂v = −½ e^{−2s}`, `∂/∂s = (r² + v) e^{−2s} − 1`. One op forward
/// and one backward ([`LikelihoodBackend::gaussian_expected_log_likelihood`]), summed in `f64`
/// on the CPU.
///
/// # Errors
/// [`DistributionError::ShapeMismatch`] when `y`, `mean` and `variance` differ in shape or
/// `log_scale` is neither one value nor their shape.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::likelihood::gaussian_expected_log_likelihood;
/// let device = Device::default();
/// let y = Tensor::<2>::from_data([[1.0], [2.0]], &device);
/// let mean = Tensor::<2>::from_data([[0.0], [2.0]], &device);
/// let variance = Tensor::<2>::from_data([[0.5], [1.0]], &device);
/// let log_scale = Tensor::<1>::zeros([1], &device); // σ = 1
/// let ell: f32 = gaussian_expected_log_likelihood(y, mean, variance, log_scale)
///     .unwrap()
///     .into_scalar();
/// let by_hand = -0.5 * (1.0 + 0.5 + 1.0) - (2.0 * std::f32::consts::PI).ln();
/// assert!((ell - by_hand).abs() < 1e-5);
/// ```
pub fn gaussian_expected_log_likelihood<const D: usize, const E: usize>(
    y: Tensor<D>,
    mean: Tensor<D>,
    variance: Tensor<D>,
    log_scale: Tensor<E>,
) -> Result<Tensor<1>, DistributionError> {
    check_shapes(
        "Gaussian expected log-likelihood",
        &y,
        &mean,
        Some(&variance),
        &log_scale,
    )?;
    let dtype = mean.dtype();
    Ok(Tensor::from_dispatch(
        <Dispatch as LikelihoodBackend>::gaussian_expected_log_likelihood(
            y.cast(dtype).into_dispatch(),
            mean.into_dispatch(),
            variance.cast(dtype).into_dispatch(),
            log_scale.cast(dtype).into_dispatch(),
        ),
    ))
}

/// `y`, `mean` (and `variance`) of one shape; `log_scale` one value or that shape.
fn check_shapes<const D: usize, const E: usize>(
    distribution: &'static str,
    y: &Tensor<D>,
    mean: &Tensor<D>,
    variance: Option<&Tensor<D>>,
    log_scale: &Tensor<E>,
) -> Result<(), DistributionError> {
    let mismatch = |reason: String| DistributionError::ShapeMismatch {
        distribution,
        reason,
    };
    if y.dims() != mean.dims() {
        return Err(mismatch(format!(
            "y {:?} and mean {:?} differ in shape",
            y.dims(),
            mean.dims()
        )));
    }
    if let Some(variance) = variance
        && variance.dims() != y.dims()
    {
        return Err(mismatch(format!(
            "variance {:?} and y {:?} differ in shape",
            variance.dims(),
            y.dims()
        )));
    }
    let shared = log_scale.shape().num_elements() == 1;
    if !shared && log_scale.dims().as_slice() != y.dims().as_slice() {
        return Err(mismatch(format!(
            "log_scale {:?} must be one value or y's shape {:?}",
            log_scale.dims(),
            y.dims()
        )));
    }
    Ok(())
}
