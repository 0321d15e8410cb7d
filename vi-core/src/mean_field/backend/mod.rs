//! The mean-field backend extension: the reparameterized sample of every Bayesian layer's
//! posterior `q(w) = Π N(μᵢ, softplus(ρᵢ)²)`, a whole linear layer through that sample, and the
//! KL to the prior, one op forward and one backward each instead of a handful to a dozen tracked
//! ops.
//!
//! | op | CPU (flex, ndarray) | CubeCL (wgpu, cuda), Fusion | Autodiff |
//! |---|---|---|---|
//! | [`MeanFieldBackend::sample`] | [`host`] loop | composed | `∂/∂μ = ḡ`, [`MeanFieldBackend::sample_grad_rho`] |
//! | [`MeanFieldBackend::sampled_linear`] | composed | composed | the adjoints of `x W + b` through the sample |
//! | [`MeanFieldBackend::kl_to_normal_pair`] | two [`host`] loops | composed | as two [`MeanFieldBackend::kl_to_normal`] |
//! | [`MeanFieldBackend::kl_to_normal`] | [`host`] loop | composed | [`MeanFieldBackend::kl_to_normal_grad_loc`], [`MeanFieldBackend::kl_to_normal_grad_rho`] |

// `NdArray` is deprecated upstream in favour of flex, but users still ask for it.
#![allow(deprecated)]

use crate::special::backend::SpecialBackend;
use burn::backend::{backend_extension, tensor::FloatTensor};

mod autodiff;
mod compose;
#[cfg(any(feature = "flex", feature = "ndarray"))]
mod host;

/// Fused mean-field Gaussian ops, one implementation per backend family.
///
/// Users call [`crate::mean_field::sample`] and [`crate::mean_field::kl_to_normal`]; this trait
/// is public so that a new backend can provide its own kernels.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    Fusion: cfg(feature = "fusion"),
    Autodiff
)]
pub trait MeanFieldBackend: SpecialBackend {
    /// `μ + softplus(ρ) ⊙ ε`, elementwise over three tensors of one shape.
    #[fusion(dtype = loc, shape = loc)]
    fn sample(
        loc: FloatTensor<Self>,
        rho: FloatTensor<Self>,
        noise: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        compose::sample::<Self>(loc, rho, noise)
    }

    /// The gradient of [`Self::sample`] with respect to `ρ`: `ḡ ⊙ ε ⊙ σ'(ρ)`, with
    /// `σ'(ρ) = sigmoid(ρ)`.
    #[fusion(dtype = rho, shape = rho)]
    fn sample_grad_rho(
        rho: FloatTensor<Self>,
        noise: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        compose::sample_grad_rho::<Self>(rho, noise, grad)
    }

    /// `Σᵢ ln(s/σᵢ) + (σᵢ² + μᵢ²)/(2s²) − ½` with `σ = softplus(ρ)`, summed over every
    /// element of `loc` and `rho` (one shape, any rank), with `scale` `[1]`; output `[1]`.
    #[fusion(dtype = loc, shape = scale)]
    fn kl_to_normal(
        loc: FloatTensor<Self>,
        rho: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        compose::kl_to_normal::<Self>(loc, rho, scale)
    }

    /// [`Self::kl_to_normal`] of two parameter groups under one prior scale (a layer's weights
    /// and bias), summed: one op where two and their sum would be three.
    #[fusion(dtype = loc_a, shape = scale)]
    fn kl_to_normal_pair(
        loc_a: FloatTensor<Self>,
        rho_a: FloatTensor<Self>,
        loc_b: FloatTensor<Self>,
        rho_b: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::float_add(
            Self::kl_to_normal(loc_a, rho_a, scale.clone()),
            Self::kl_to_normal(loc_b, rho_b, scale),
        )
    }

    /// The gradient of [`Self::kl_to_normal`] with respect to `ρ` times `grad` (`[1]`):
    /// `ḡ (σ/s² − 1/σ) σ'(ρ)`.
    #[fusion(dtype = rho, shape = rho)]
    fn kl_to_normal_grad_rho(
        rho: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        compose::kl_to_normal_grad_rho::<Self>(rho, scale, grad)
    }

    /// A Bayesian linear layer's forward pass with one weight and bias sample:
    /// `x (μ + softplus(ρ) ⊙ ε) + (μ_b + softplus(ρ_b) ⊙ ε_b)` for `x [.., i]`, weight
    /// parameters and noise `[i, o]`, bias parameters and noise `[o]`; output `[.., o]`.
    #[fusion(dtype = x, shape = compose::linear_shape(x, loc))]
    fn sampled_linear(
        x: FloatTensor<Self>,
        loc: FloatTensor<Self>,
        rho: FloatTensor<Self>,
        noise: FloatTensor<Self>,
        bias_loc: FloatTensor<Self>,
        bias_rho: FloatTensor<Self>,
        bias_noise: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        compose::sampled_linear::<Self>(x, [loc, rho, noise], [bias_loc, bias_rho, bias_noise])
    }

    /// The gradient of [`Self::kl_to_normal`] with respect to `μ` times `grad` (`[1]`):
    /// `ḡ μ/s²`.
    #[fusion(dtype = loc, shape = loc)]
    fn kl_to_normal_grad_loc(
        loc: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        compose::kl_to_normal_grad_loc::<Self>(loc, scale, grad)
    }
}

/// The CPU backends run the fused host loops.
#[cfg(any(feature = "flex", feature = "ndarray"))]
macro_rules! host_backend {
    ($backend:ty) => {
        impl MeanFieldBackend for $backend {
            fn sample(
                loc: FloatTensor<Self>,
                rho: FloatTensor<Self>,
                noise: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host::sample::<Self>(loc, rho, noise)
            }

            fn sample_grad_rho(
                rho: FloatTensor<Self>,
                noise: FloatTensor<Self>,
                grad: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host::sample_grad_rho::<Self>(rho, noise, grad)
            }

            fn kl_to_normal(
                loc: FloatTensor<Self>,
                rho: FloatTensor<Self>,
                scale: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host::kl_to_normal::<Self>(loc, rho, scale)
            }

            fn kl_to_normal_grad_rho(
                rho: FloatTensor<Self>,
                scale: FloatTensor<Self>,
                grad: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host::kl_to_normal_grad_rho::<Self>(rho, scale, grad)
            }

            fn kl_to_normal_grad_loc(
                loc: FloatTensor<Self>,
                scale: FloatTensor<Self>,
                grad: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host::kl_to_normal_grad_loc::<Self>(loc, scale, grad)
            }
        }
    };
}

#[cfg(feature = "flex")]
host_backend!(burn::backend::Flex);
#[cfg(feature = "ndarray")]
host_backend!(burn::backend::NdArray);
#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl MeanFieldBackend for burn_cubecl::CubeBackend {}
