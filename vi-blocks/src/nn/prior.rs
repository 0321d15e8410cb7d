use burn::config::Config;
use burn::tensor::{Device, Distribution as Noise, FloatDType, Tensor, TensorData};
use vi_core::mean_field::{kl_to_normal, kl_to_normal_pair};
use vi_core::random::random_like;
use vi_core::special::{logsumexp, softplus};

/// `ln √(2π)`.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Prior of a Bayesian layer's weights (independent, zero-mean).
#[derive(Config, Debug, Copy, PartialEq)]
pub enum Prior {
    /// `N(0, scale²)`: the KL to a mean-field posterior has a closed form.
    Normal {
        /// Standard deviation.
        scale: f64,
    },
    /// `π N(0, s₁²) + (1 − π) N(0, s₂²)` (Blundell et al. 2015, "Weight Uncertainty in Neural
    /// Networks"; they use `π = ½`, `s₁ = 1`, `s₂ = e⁻⁶`). No closed form: the KL is a one-sample
    /// Monte Carlo estimate.
    ScaleMixture {
        /// Weight `π` of the first component.
        weight: f64,
        /// `s₁`.
        scale1: f64,
        /// `s₂`.
        scale2: f64,
    },
}

impl Prior {
    /// The prior as the constant tensor the KL ops read (`[s]` or `[π, s₁, s₂]`).
    pub fn encode(&self, device: &Device, dtype: FloatDType) -> Tensor<1> {
        let values = match *self {
            Prior::Normal { scale } => vec![scale],
            Prior::ScaleMixture {
                weight,
                scale1,
                scale2,
            } => vec![weight, scale1, scale2],
        };
        let n = values.len();
        Tensor::from_data(TensorData::new(values, [n]), (device, dtype.into()))
    }
}

/// `KL(Π N(μᵢ, softplus(ρᵢ)²) ‖ prior)` summed over all weights, `[1]`, with the prior in
/// [`Prior::encode`]'s layout: the closed form `Σ ln(s/σ) + (σ² + μ²)/(2s²) − ½` for a normal
/// prior, a one-sample reparameterized estimate `ln q(w) − ln p(w)` for the scale mixture.
/// Differentiable in `μ` and `ρ`; `loc` and `rho` of any one rank (weights `[d_in, d_out]`,
/// biases `[d_out]`).
pub fn mean_field_kl<const D: usize>(
    loc: Tensor<D>,
    rho: Tensor<D>,
    prior: Tensor<1>,
) -> Tensor<1> {
    let prior = prior.detach().cast(loc.dtype());
    if prior.dims()[0] == 1
        && let Ok(kl) = kl_to_normal(loc.clone(), rho.clone(), prior.clone())
    {
        // One fused op for the parameters of one layer.
        return kl;
    }
    let (loc, rho): (Tensor<1>, Tensor<1>) = (loc.reshape([-1]), rho.reshape([-1]));
    if prior.dims()[0] == 1 {
        // Parameters of different lengths (a user's own layer) broadcast as elementwise ops do.
        let (sigma, s) = (softplus(rho), prior);
        let ratio = (sigma.clone() / s.clone()).square();
        let mean = (loc / s).square();
        return (ratio.clone() + mean - ratio.log())
            .sub_scalar(1.0)
            .mul_scalar(0.5)
            .sum();
    }
    let sigma = softplus(rho);
    let eps = random_like(&loc, Noise::Normal(0.0, 1.0));
    let w = loc + sigma.clone() * eps.clone();
    let log_q = (eps.square().mul_scalar(-0.5) - sigma.log() - HALF_LN_2PI).sum();
    let weight = prior.clone().narrow(0, 0, 1);
    let component = |s: Tensor<1>, log_weight: Tensor<1>| {
        w.clone().square().div(s.clone().square()).mul_scalar(-0.5) - s.log() - HALF_LN_2PI
            + log_weight
    };
    let first = component(prior.clone().narrow(0, 1, 1), weight.clone().log());
    let second = component(prior.narrow(0, 2, 1), weight.neg().add_scalar(1.0).log());
    let log_p = logsumexp(Tensor::stack::<2>(vec![first, second], 0), 0).sum();
    log_q - log_p
}

/// [`mean_field_kl`] of two parameter groups under one prior (a layer's weights and bias),
/// summed: one fused op forward and one backward for a normal prior.
pub fn mean_field_kl_pair<const D: usize, const E: usize>(
    first: (Tensor<D>, Tensor<D>),
    second: (Tensor<E>, Tensor<E>),
    prior: Tensor<1>,
) -> Tensor<1> {
    let scale = prior.clone().detach().cast(first.0.dtype());
    if scale.dims()[0] == 1
        && let Ok(kl) = kl_to_normal_pair(first.clone(), second.clone(), scale)
    {
        return kl;
    }
    mean_field_kl(first.0, first.1, prior.clone()) + mean_field_kl(second.0, second.1, prior)
}
