//! Default bodies of the likelihood extension, composed of the backend's primitives (one
//! autodiff node around them under `Autodiff`).

use super::LikelihoodBackend;
#[cfg(feature = "fusion")]
use burn::backend::fusion::custom::TensorSpec;
use burn::backend::{Backend, TensorMetadata, tensor::FloatTensor};
use burn::tensor::Shape;

/// `½ ln 2π`.
pub(crate) const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

// The `[1]` shape of a summed log-likelihood (the Fusion backend's output description).
#[cfg(feature = "fusion")]
pub(crate) use crate::shapes::scalar_shape;

/// `log_scale` at the rank of `like` (a shared scale as `[1, …, 1]`), so that it broadcasts.
fn broadcastable<B: Backend>(log_scale: FloatTensor<B>, like: &Shape) -> FloatTensor<B> {
    if log_scale.shape().num_elements() == 1 {
        B::float_reshape(log_scale, Shape::from(vec![1; like.num_dims()]))
    } else {
        B::float_reshape(log_scale, like.clone())
    }
}

/// `(y − μ, e^{−2s})` with `s` broadcast to `y`'s rank.
fn residual_precision<B: Backend>(
    y: FloatTensor<B>,
    mean: FloatTensor<B>,
    log_scale: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let shape = y.shape();
    let s = broadcastable::<B>(log_scale, &shape);
    let precision = B::float_exp(B::float_mul_scalar(s, (-2.0f32).into()));
    (B::float_sub(y, mean), precision)
}

/// `(r² [+ v]) e^{−2s}` with `s` broadcast to `y`'s rank.
fn spread<B: Backend>(
    y: FloatTensor<B>,
    mean: FloatTensor<B>,
    variance: Option<FloatTensor<B>>,
    log_scale: FloatTensor<B>,
) -> FloatTensor<B> {
    let (r, precision) = residual_precision::<B>(y, mean, log_scale);
    let squares = B::float_mul(r.clone(), r);
    let squares = match variance {
        Some(v) => B::float_add(squares, v),
        None => squares,
    };
    B::float_mul(squares, precision)
}

/// `Σ −½ r² e^{−2s} − s − ½ ln 2π`.
pub(crate) fn gaussian_log_likelihood<B: Backend>(
    y: FloatTensor<B>,
    mean: FloatTensor<B>,
    log_scale: FloatTensor<B>,
) -> FloatTensor<B> {
    log_likelihood_sum::<B>(y, mean, None, log_scale)
}

/// `Σ −½ (r² + v) e^{−2s} − s − ½ ln 2π`.
pub(crate) fn expected_log_likelihood<B: Backend>(
    y: FloatTensor<B>,
    mean: FloatTensor<B>,
    variance: FloatTensor<B>,
    log_scale: FloatTensor<B>,
) -> FloatTensor<B> {
    log_likelihood_sum::<B>(y, mean, Some(variance), log_scale)
}

/// `Σ −½ (r² [+ v]) e^{−2s} − s − ½ ln 2π`.
fn log_likelihood_sum<B: Backend>(
    y: FloatTensor<B>,
    mean: FloatTensor<B>,
    variance: Option<FloatTensor<B>>,
    log_scale: FloatTensor<B>,
) -> FloatTensor<B> {
    let shape = y.shape();
    let s = broadcastable::<B>(log_scale.clone(), &shape);
    let quadratic =
        B::float_mul_scalar(spread::<B>(y, mean, variance, log_scale), (-0.5f32).into());
    let terms = B::float_sub_scalar(B::float_sub(quadratic, s), HALF_LN_2PI.into());
    let flat = B::float_reshape(terms, Shape::new([shape.num_elements()]));
    B::float_sum(flat)
}

/// `ḡ r e^{−2s}`.
pub(crate) fn grad_mean<B: Backend>(
    y: FloatTensor<B>,
    mean: FloatTensor<B>,
    log_scale: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let shape = y.shape();
    let (r, precision) = residual_precision::<B>(y, mean, log_scale);
    B::float_mul(B::float_mul(r, precision), broadcastable::<B>(grad, &shape))
}

/// `ḡ (r² e^{−2s} − 1)`, summed for a shared scale.
pub(crate) fn grad_log_scale<B: Backend>(
    y: FloatTensor<B>,
    mean: FloatTensor<B>,
    log_scale: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    log_scale_gradient::<B>(y, mean, None, log_scale, grad)
}

/// `ḡ ((r² + v) e^{−2s} − 1)`, summed for a shared scale.
pub(crate) fn expected_grad_log_scale<B: Backend>(
    y: FloatTensor<B>,
    mean: FloatTensor<B>,
    variance: FloatTensor<B>,
    log_scale: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    log_scale_gradient::<B>(y, mean, Some(variance), log_scale, grad)
}

/// `−½ ḡ e^{−2s}` in the shape of `variance`: the gradient of the expected log-likelihood with
/// respect to the variances.
pub(crate) fn grad_variance<B: Backend>(
    variance: &FloatTensor<B>,
    log_scale: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let shape = variance.shape();
    let s = broadcastable::<B>(log_scale, &shape);
    let precision = B::float_exp(B::float_mul_scalar(s, (-2.0f32).into()));
    let scaled = B::float_mul(
        B::float_mul_scalar(precision, (-0.5f32).into()),
        broadcastable::<B>(grad, &shape),
    );
    B::float_expand(scaled, shape)
}

/// `ḡ ((r² [+ v]) e^{−2s} − 1)`, summed for a shared scale.
fn log_scale_gradient<B: Backend>(
    y: FloatTensor<B>,
    mean: FloatTensor<B>,
    variance: Option<FloatTensor<B>>,
    log_scale: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let shape = y.shape();
    let scale_shape = log_scale.shape();
    let per_element = B::float_mul(
        B::float_sub_scalar(spread::<B>(y, mean, variance, log_scale), 1.0f32.into()),
        broadcastable::<B>(grad, &shape),
    );
    if scale_shape.num_elements() == 1 && shape.num_elements() != 1 {
        let flat = B::float_reshape(per_element, Shape::new([shape.num_elements()]));
        B::float_reshape(B::float_sum(flat), scale_shape)
    } else {
        B::float_reshape(per_element, scale_shape)
    }
}

/// [`LikelihoodBackend::gaussian_expected_log_likelihood_backward`] as its three ops.
pub(crate) fn expected_log_likelihood_backward<B: LikelihoodBackend>(
    y: FloatTensor<B>,
    mean: FloatTensor<B>,
    variance: FloatTensor<B>,
    log_scale: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let grad_mean = B::gaussian_log_likelihood_grad_mean(
        y.clone(),
        mean.clone(),
        log_scale.clone(),
        grad.clone(),
    );
    let grad_variance = grad_variance::<B>(&variance, log_scale.clone(), grad.clone());
    let grad_log_scale =
        B::gaussian_expected_log_likelihood_grad_log_scale(y, mean, variance, log_scale, grad);
    (grad_mean, grad_variance, grad_log_scale)
}

/// The outputs' metadata of [`LikelihoodBackend::gaussian_expected_log_likelihood_backward`]
/// (the Fusion backend's): the shapes of `mean`, `variance` and `log_scale`.
#[cfg(feature = "fusion")]
pub(crate) fn expected_log_likelihood_backward_meta(
    _y: &TensorSpec,
    mean: &TensorSpec,
    variance: &TensorSpec,
    log_scale: &TensorSpec,
    _grad: &TensorSpec,
) -> (TensorSpec, TensorSpec, TensorSpec) {
    (mean.clone(), variance.clone(), log_scale.clone())
}
