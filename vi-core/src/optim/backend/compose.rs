//! The default body of the optimizer extension, composed of the backend's primitives in the
//! order of Burn's `Adam` (so the two agree to the last bit where the backend's ops do).

use super::AdamScalars;
use burn::backend::{Backend, tensor::FloatTensor};

/// See [`super::OptimBackend::adam_step`].
pub(crate) fn adam_step<B: Backend>(
    param: FloatTensor<B>,
    grad: FloatTensor<B>,
    moment_1: FloatTensor<B>,
    moment_2: FloatTensor<B>,
    s: AdamScalars,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let grad = if s.weight_decay != 0.0 {
        B::float_add(
            B::float_mul_scalar(param.clone(), s.weight_decay.into()),
            grad,
        )
    } else {
        grad
    };
    let moment_1 = B::float_add(
        B::float_mul_scalar(moment_1, s.beta_1.into()),
        B::float_mul_scalar(grad.clone(), (1.0 - s.beta_1).into()),
    );
    let moment_2 = B::float_add(
        B::float_mul_scalar(moment_2, s.beta_2.into()),
        B::float_mul_scalar(B::float_mul(grad.clone(), grad), (1.0 - s.beta_2).into()),
    );
    let step = B::float_div(
        B::float_mul_scalar(moment_1.clone(), s.correction.into()),
        B::float_add_scalar(B::float_sqrt(moment_2.clone()), s.epsilon.into()),
    );
    let param = B::float_sub(param, B::float_mul_scalar(step, s.lr.into()));
    (param, moment_1, moment_2)
}
