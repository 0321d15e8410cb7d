//! Default bodies of the mean-field extension, composed of the backend's primitives (one
//! autodiff node around them under `Autodiff`).

use crate::special::backend::SpecialBackend;
use burn::backend::tensor::FloatTensor;

/// `μ + softplus(ρ) ⊙ ε`.
pub(crate) fn sample<B: SpecialBackend>(
    loc: FloatTensor<B>,
    rho: FloatTensor<B>,
    noise: FloatTensor<B>,
) -> FloatTensor<B> {
    B::float_add(loc, B::float_mul(B::softplus(rho), noise))
}

/// `ḡ ⊙ ε ⊙ exp(ρ − softplus(ρ))` (`= ḡ ε sigmoid(ρ)` without overflow).
pub(crate) fn sample_grad_rho<B: SpecialBackend>(
    rho: FloatTensor<B>,
    noise: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let sigmoid = B::float_exp(B::float_sub(rho.clone(), B::softplus(rho)));
    B::float_mul(B::float_mul(grad, noise), sigmoid)
}

/// `Σ ½((σ/s)² + (μ/s)² − 1) − ln(σ/s)`, `[1]`.
pub(crate) fn kl_to_normal<B: SpecialBackend>(
    loc: FloatTensor<B>,
    rho: FloatTensor<B>,
    scale: FloatTensor<B>,
) -> FloatTensor<B> {
    let inv_s = B::float_recip(scale);
    let ratio = B::float_mul(B::softplus(rho), inv_s.clone());
    let mean = B::float_mul(loc, inv_s);
    let squares = B::float_add(
        B::float_mul(ratio.clone(), ratio.clone()),
        B::float_mul(mean.clone(), mean),
    );
    let half = B::float_mul_scalar(B::float_sub_scalar(squares, 1.0f32.into()), 0.5f32.into());
    B::float_sum(B::float_sub(half, B::float_log(ratio)))
}

/// `ḡ (σ/s² − 1/σ) exp(ρ − σ)`, the shape of `rho`.
pub(crate) fn kl_to_normal_grad_rho<B: SpecialBackend>(
    rho: FloatTensor<B>,
    scale: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let sigma = B::softplus(rho.clone());
    let inv_s2 = B::float_recip(B::float_mul(scale.clone(), scale));
    let d_sigma = B::float_sub(
        B::float_mul(sigma.clone(), inv_s2),
        B::float_recip(sigma.clone()),
    );
    let d_rho = B::float_exp(B::float_sub(rho, sigma));
    B::float_mul(grad, B::float_mul(d_sigma, d_rho))
}
