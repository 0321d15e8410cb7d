//! Default bodies of the Gram extension, composed of the backend's primitives (one autodiff node
//! around them under `Autodiff`).

use super::GramBackend;
use burn::backend::{Backend, tensor::FloatTensor};
use burn::tensor::Shape;

/// `[B, n, d]`, `[B, m, d]` → `[B, n, m]`.
pub(crate) fn gram_shape(a: &Shape, b: &Shape) -> Shape {
    Shape::from(vec![a[0], a[1], b[1]])
}

/// `exp(min(a·b − ½|a|² − ½|b|², 0))` after centring both inputs on the mean of `a` (less
/// cancellation).
pub(crate) fn rbf_gram<B: Backend>(a: FloatTensor<B>, b: FloatTensor<B>) -> FloatTensor<B> {
    let centre = B::float_mean_dim(a.clone(), 1);
    let (a, b) = (B::float_sub(a, centre.clone()), B::float_sub(b, centre));
    let half_square = |x: FloatTensor<B>| {
        B::float_mul_scalar(
            B::float_sum_dim(B::float_mul(x.clone(), x), 2),
            (-0.5f32).into(),
        )
    };
    let (half_a, half_b) = (half_square(a.clone()), half_square(b.clone()));
    let cross = B::float_matmul(a, B::float_transpose(b));
    let exponent = B::float_add(B::float_add(cross, half_a), B::float_transpose(half_b));
    B::float_exp(B::float_clamp_max(exponent, 0f32.into()))
}

/// `W b − rowsum(W) ∘ a` with `W = K̄ ∘ K`.
pub(crate) fn rbf_gram_grad_left<B: Backend>(
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    k: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let w = B::float_mul(grad, k);
    let rows = B::float_sum_dim(w.clone(), 2);
    B::float_sub(B::float_matmul(w, b), B::float_mul(rows, a))
}

/// `s · rbf_gram(a / ℓ, b / ℓ)`.
pub(crate) fn scaled_rbf_gram<B: GramBackend>(
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    lengthscale: FloatTensor<B>,
    scale: FloatTensor<B>,
) -> FloatTensor<B> {
    let gram = B::rbf_gram(
        B::float_div(a, lengthscale.clone()),
        B::float_div(b, lengthscale),
    );
    B::float_mul(gram, scale)
}
