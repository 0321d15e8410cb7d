//! The mean-field Gaussian posterior of Bayesian layers, `q(w) = Π N(μᵢ, softplus(ρᵢ)²)`, straight
//! from its raw parameters: a reparameterized [`sample`], a whole Bayesian linear layer with
//! sampled weights [`sampled_linear`], and the KL to a zero-mean normal prior [`kl_to_normal`],
//! each one fused op forward and one backward on every backend ([`backend::MeanFieldBackend`]),
//! where their composition from Burn's primitives would track three to a dozen ops.

use crate::cast::in_dtype;
use crate::distributions::DistributionError;
use backend::MeanFieldBackend;
use burn::backend::Dispatch;
use burn::tensor::Tensor;
use burn::tensor::module::linear;

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
    let noise = in_dtype(noise, loc.dtype());
    Ok(Tensor::from_dispatch(
        <Dispatch as MeanFieldBackend>::sample(
            loc.into_dispatch(),
            rho.into_dispatch(),
            noise.into_dispatch(),
        ),
    ))
}

/// One reparameterized draw of mean-field parameters: means `loc`, raw scales `rho`
/// (`σ = softplus(ρ)`) and standard normal `noise`, all of one shape.
#[derive(Debug, Clone)]
pub struct MeanFieldDraw<const D: usize> {
    /// Means `μ`.
    pub loc: Tensor<D>,
    /// Raw scales `ρ`.
    pub rho: Tensor<D>,
    /// Standard normal noise `ε`.
    pub noise: Tensor<D>,
}

impl<const D: usize> MeanFieldDraw<D> {
    fn check(&self, what: &str) -> Result<(), DistributionError> {
        if self.loc.dims() != self.rho.dims() || self.loc.dims() != self.noise.dims() {
            return Err(DistributionError::ShapeMismatch {
                distribution: "mean-field linear layer",
                reason: format!(
                    "the {what}'s loc {:?}, rho {:?} and noise {:?} must have one shape",
                    self.loc.dims(),
                    self.rho.dims(),
                    self.noise.dims()
                ),
            });
        }
        Ok(())
    }
}

/// A Bayesian linear layer's output with one sample of its weights and bias (Blundell et al.
/// 2015): `y = x W + b`, `W = μ_W + softplus(ρ_W) ⊙ ε_W` (`[i, o]`), `b = μ_b + softplus(ρ_b) ⊙
/// ε_b` (`[o]`), for `x [.., i]`, giving `[.., o]`. Differentiable in `x` and every `μ` and `ρ`
/// (`∂/∂μ_W = xᵀ ḡ`, `∂/∂ρ_W = xᵀ ḡ ⊙ ε_W sigmoid(ρ_W)`), not in the noise. With a bias, one op
/// forward and one backward ([`MeanFieldBackend::sampled_linear`]) instead of three tracked ops
/// (two samples and the linear map).
///
/// # Errors
/// [`DistributionError::ShapeMismatch`] when a draw's three tensors differ in shape, `x`'s last
/// dimension is not `i`, or the bias is not `[o]`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::mean_field::{MeanFieldDraw, sampled_linear};
/// let device = Device::default();
/// let weight = MeanFieldDraw {
///     loc: Tensor::<2>::from_data([[1.0], [2.0]], &device),
///     rho: Tensor::<2>::zeros([2, 1], &device), // σ = ln 2
///     noise: Tensor::<2>::from_data([[1.0], [0.0]], &device),
/// };
/// let bias = MeanFieldDraw {
///     loc: Tensor::<1>::from_data([0.5], &device),
///     rho: Tensor::<1>::zeros([1], &device),
///     noise: Tensor::<1>::zeros([1], &device),
/// };
/// let x = Tensor::<2>::from_data([[1.0, 1.0]], &device);
/// let y: Vec<f32> = sampled_linear(x, weight, Some(bias)).unwrap().into_data().to_vec().unwrap();
/// assert!((y[0] - (1.0 + 2f32.ln() + 2.0 + 0.5)).abs() < 1e-5);
/// ```
pub fn sampled_linear<const D: usize>(
    x: Tensor<D>,
    weight: MeanFieldDraw<2>,
    bias: Option<MeanFieldDraw<1>>,
) -> Result<Tensor<D>, DistributionError> {
    weight.check("weight")?;
    let [inputs, outputs] = weight.loc.dims();
    let mismatch = |reason: String| DistributionError::ShapeMismatch {
        distribution: "mean-field linear layer",
        reason,
    };
    if x.dims()[D - 1] != inputs {
        return Err(mismatch(format!(
            "input {:?} must end in the weight's {inputs} inputs",
            x.dims()
        )));
    }
    let Some(bias) = bias else {
        let weight = in_dtype(sample(weight.loc, weight.rho, weight.noise)?, x.dtype());
        return Ok(linear(x, weight, None));
    };
    bias.check("bias")?;
    if bias.loc.dims() != [outputs] {
        return Err(mismatch(format!(
            "the bias {:?} must have the weight's {outputs} outputs",
            bias.loc.dims()
        )));
    }
    let dtype = x.dtype();
    let dispatch = |t: Tensor<2>| in_dtype(t, dtype).into_dispatch();
    let dispatch_bias = |t: Tensor<1>| in_dtype(t, dtype).into_dispatch();
    Ok(Tensor::from_dispatch(
        <Dispatch as MeanFieldBackend>::sampled_linear(
            x.into_dispatch(),
            dispatch(weight.loc),
            dispatch(weight.rho),
            dispatch(weight.noise),
            dispatch_bias(bias.loc),
            dispatch_bias(bias.rho),
            dispatch_bias(bias.noise),
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
    check_kl(&loc, &rho, &scale)?;
    let scale = in_dtype(scale, loc.dtype());
    Ok(Tensor::from_dispatch(
        <Dispatch as MeanFieldBackend>::kl_to_normal(
            loc.into_dispatch(),
            rho.into_dispatch(),
            scale.into_dispatch(),
        ),
    ))
}

/// [`kl_to_normal`] of two parameter groups under one prior `N(0, s²)` (a layer's weights and
/// bias, of any ranks), summed: one op forward and one backward
/// ([`MeanFieldBackend::kl_to_normal_pair`]) where two KLs and their sum would track three.
///
/// # Errors
/// As [`kl_to_normal`], for either group.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::mean_field::{kl_to_normal, kl_to_normal_pair};
/// let device = Device::default();
/// let weight = (Tensor::<2>::ones([3, 2], &device), Tensor::<2>::zeros([3, 2], &device));
/// let bias = (Tensor::<1>::ones([2], &device), Tensor::<1>::ones([2], &device));
/// let scale = Tensor::<1>::ones([1], &device);
/// let pair: f32 = kl_to_normal_pair(weight.clone(), bias.clone(), scale.clone()).unwrap().into_scalar();
/// let sum: f32 = (kl_to_normal(weight.0, weight.1, scale.clone()).unwrap()
///     + kl_to_normal(bias.0, bias.1, scale).unwrap()).into_scalar();
/// assert!((pair - sum).abs() < 1e-5);
/// ```
pub fn kl_to_normal_pair<const D: usize, const E: usize>(
    (loc_a, rho_a): (Tensor<D>, Tensor<D>),
    (loc_b, rho_b): (Tensor<E>, Tensor<E>),
    scale: Tensor<1>,
) -> Result<Tensor<1>, DistributionError> {
    check_kl(&loc_a, &rho_a, &scale)?;
    check_kl(&loc_b, &rho_b, &scale)?;
    let dtype = loc_a.dtype();
    Ok(Tensor::from_dispatch(
        <Dispatch as MeanFieldBackend>::kl_to_normal_pair(
            loc_a.into_dispatch(),
            rho_a.into_dispatch(),
            in_dtype(loc_b, dtype).into_dispatch(),
            in_dtype(rho_b, dtype).into_dispatch(),
            in_dtype(scale, dtype).into_dispatch(),
        ),
    ))
}

/// The shape checks of [`kl_to_normal`].
fn check_kl<const D: usize>(
    loc: &Tensor<D>,
    rho: &Tensor<D>,
    scale: &Tensor<1>,
) -> Result<(), DistributionError> {
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
    Ok(())
}
