//! The mean-field Gaussian posterior of Bayesian layers, `q(w) = Π N(μᵢ, softplus(ρᵢ)²)`, straight
//! from its raw parameters: a reparameterized [`sample`] and the KL to a zero-mean normal prior
//! [`kl_to_normal`], each one fused op forward and one backward on every backend
//! ([`backend::MeanFieldBackend`]), where their composition from Burn's primitives would track
//! three and a dozen ops.

use crate::distributions::DistributionError;
use backend::MeanFieldBackend;
use burn::backend::Dispatch;
use burn::tensor::Tensor;

pub mod backend;

/// `w = μ + softplus(ρ) ⊙ ε`: a reparameterized sample of `Π N(μᵢ, softplus(ρᵢ)²)` from standard
/// normal noise `ε` (any rank; all three of one shape). Differentiable in `loc` and `rho`
/// (`∂w/∂μ = 1`, `∂w/∂ρ = ε sigmoid(ρ)`), not in `noise`. One op forward and one backward
/// ([`MeanFieldBackend::sample`]).
///
/// # Errors
/// [`DistributionError::ShapeMismatch`] when the three shapes differ.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::mean_field::sample;
/// let device = Device::default();
/// let loc = Tensor::<1>::from_data([1.0, -1.0], &device);
/// let rho = Tensor::<1>::zeros([2], &device); // σ = ln 2
/// let noise = Tensor::<1>::from_data([2.0, 0.0], &device);
/// let w: Vec<f32> = sample(loc, rho, noise).unwrap().into_data().to_vec().unwrap();
/// assert!((w[0] - (1.0 + 2.0 * 2f32.ln())).abs() < 1e-6 && w[1] == -1.0);
/// ```
pub fn sample<const D: usize>(
    loc: Tensor<D>,
    rho: Tensor<D>,
    noise: Tensor<D>,
) -> Result<Tensor<D>, DistributionError> {
    if loc.dims() != rho.dims() || loc.dims() != noise.dims() {
        return Err(DistributionError::ShapeMismatch {
            distribution: "mean-field sample",
            reason: format!(
                "loc {:?}, rho {:?} and noise {:?} must have one shape",
                loc.dims(),
                rho.dims(),
                noise.dims()
            ),
        });
    }
    let noise = noise.cast(loc.dtype());
    Ok(Tensor::from_dispatch(
        <Dispatch as MeanFieldBackend>::sample(
            loc.into_dispatch(),
            rho.into_dispatch(),
            noise.into_dispatch(),
        ),
    ))
}

/// `KL(Π N(μᵢ, softplus(ρᵢ)²) ‖ N(0, s²)) = Σᵢ ln(s/σᵢ) + (σᵢ² + μᵢ²)/(2s²) − ½`, summed over
/// every element of `loc` and `rho` (one shape, any rank), with the prior scale `s` a `[1]`
/// tensor (it gets no gradient). Output `[1]`, differentiable in `loc` and `rho`:
/// `∂/∂μ = μ/s²`, `∂/∂ρ = (σ/s² − 1/σ) σ'(ρ)`. One op forward and one backward
/// ([`MeanFieldBackend::kl_to_normal`]).
///
/// # Errors
/// [`DistributionError::ShapeMismatch`] when `loc` and `rho` differ in shape or `scale` is not
/// `[1]`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::mean_field::kl_to_normal;
/// let device = Device::default();
/// let (loc, rho) = (Tensor::<2>::zeros([3, 2], &device), Tensor::<2>::zeros([3, 2], &device));
/// let kl: f32 = kl_to_normal(loc, rho, Tensor::ones([1], &device)).unwrap().into_scalar();
/// let sigma = 2f32.ln(); // softplus(0)
/// let by_hand = 6.0 * (0.5 * (sigma * sigma - 1.0) - sigma.ln());
/// assert!((kl - by_hand).abs() < 1e-5);
/// ```
pub fn kl_to_normal<const D: usize>(
    loc: Tensor<D>,
    rho: Tensor<D>,
    scale: Tensor<1>,
) -> Result<Tensor<1>, DistributionError> {
    let mismatch = |reason: String| DistributionError::ShapeMismatch {
        distribution: "mean-field KL to N(0, s²)",
        reason,
    };
    if loc.dims() != rho.dims() {
        return Err(mismatch(format!(
            "loc {:?} and rho {:?} differ in shape",
            loc.dims(),
            rho.dims()
        )));
    }
    if scale.dims() != [1] {
        return Err(mismatch(format!(
            "the prior scale must be [1], got {:?}",
            scale.dims()
        )));
    }
    let scale = scale.cast(loc.dtype());
    Ok(Tensor::from_dispatch(
        <Dispatch as MeanFieldBackend>::kl_to_normal(
            loc.reshape([-1]).into_dispatch(),
            rho.reshape([-1]).into_dispatch(),
            scale.into_dispatch(),
        ),
    ))
}
