//! Default bodies of the mean-field extension, composed of the backend's primitives (one
//! autodiff node around them under `Autodiff`).

use crate::special::backend::SpecialBackend;
use burn::backend::TensorMetadata;
use burn::backend::tensor::FloatTensor;
use burn::tensor::Shape;

/// `x` as a vector (the KL and its gradients broadcast a `[1]` scale over any rank).
fn flat<B: SpecialBackend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let n = x.shape().num_elements();
    B::float_reshape(x, Shape::new([n]))
}

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
    let (loc, rho) = (flat::<B>(loc), flat::<B>(rho));
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
    let shape = rho.shape();
    let rho = flat::<B>(rho);
    let sigma = B::softplus(rho.clone());
    let inv_s2 = B::float_recip(B::float_mul(scale.clone(), scale));
    let d_sigma = B::float_sub(
        B::float_mul(sigma.clone(), inv_s2),
        B::float_recip(sigma.clone()),
    );
    let d_rho = B::float_exp(B::float_sub(rho, sigma));
    B::float_reshape(B::float_mul(grad, B::float_mul(d_sigma, d_rho)), shape)
}

/// `ḡ μ / s²`, the shape of `loc`.
pub(crate) fn kl_to_normal_grad_loc<B: SpecialBackend>(
    loc: FloatTensor<B>,
    scale: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let shape = loc.shape();
    let inv_s2 = B::float_recip(B::float_mul(scale.clone(), scale));
    let grad_loc = B::float_mul(flat::<B>(loc), B::float_mul(grad, inv_s2));
    B::float_reshape(grad_loc, shape)
}

/// The output shape of a linear map of `x [.., i]` by `weight [i, o]`: `[.., o]`.
pub(crate) fn linear_shape(x: &Shape, weight: &Shape) -> Shape {
    let mut dims = x.to_vec();
    let last = dims.len() - 1;
    dims[last] = weight[1];
    Shape::from(dims)
}

/// `x` as rows `[∏ leading, i]`.
pub(crate) fn rows<B: SpecialBackend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let shape = x.shape();
    let features = shape[shape.num_dims() - 1];
    B::float_reshape(x, Shape::new([shape.num_elements() / features, features]))
}

/// `x W + b` for `x [.., i]`, `W [i, o]`, `b [o]`, as rows (`[rows, o]`).
pub(crate) fn linear_rows<B: SpecialBackend>(
    x_rows: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
) -> FloatTensor<B> {
    let outputs = bias.shape()[0];
    let bias = B::float_reshape(bias, Shape::new([1, outputs]));
    B::float_add(B::float_matmul(x_rows, weight), bias)
}

/// `x (μ + softplus(ρ) ⊙ ε) + (μ_b + softplus(ρ_b) ⊙ ε_b)`.
pub(crate) fn sampled_linear<B: super::MeanFieldBackend>(
    x: FloatTensor<B>,
    [loc, rho, noise]: [FloatTensor<B>; 3],
    [bias_loc, bias_rho, bias_noise]: [FloatTensor<B>; 3],
) -> FloatTensor<B> {
    let out_shape = linear_shape(&x.shape(), &loc.shape());
    let weight = B::sample(loc, rho, noise);
    let bias = B::sample(bias_loc, bias_rho, bias_noise);
    B::float_reshape(linear_rows::<B>(rows::<B>(x), weight, bias), out_shape)
}
