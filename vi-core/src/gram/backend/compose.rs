//! Default bodies of the Gram extension, composed of the backend's primitives (one autodiff node
//! around them under `Autodiff`).

use super::GramBackend;
#[cfg(feature = "fusion")]
use burn::backend::fusion::custom::TensorSpec;
use burn::backend::{Backend, TensorMetadata, tensor::FloatTensor};
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
    B::scaled_rbf_gram_with_unit(a, b, lengthscale, scale).0
}

/// `(s G, G)` with `G = rbf_gram(a / ℓ, b / ℓ)`.
pub(crate) fn scaled_rbf_gram_with_unit<B: GramBackend>(
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    lengthscale: FloatTensor<B>,
    scale: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let (a, b) = scaled_inputs::<B>(a, b, lengthscale);
    let gram = B::rbf_gram(a, b);
    (B::float_mul(gram.clone(), scale), gram)
}

/// `(a / ℓ, b / ℓ)`.
fn scaled_inputs<B: Backend>(
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    lengthscale: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>) {
    (
        B::float_div(a, lengthscale.clone()),
        B::float_div(b, lengthscale),
    )
}

/// The outputs' metadata of [`GramBackend::scaled_rbf_gram_with_unit`] (the Fusion backend's).
#[cfg(feature = "fusion")]
pub(crate) fn scaled_rbf_gram_with_unit_meta(
    a: &TensorSpec,
    b: &TensorSpec,
    _lengthscale: &TensorSpec,
    _scale: &TensorSpec,
) -> (TensorSpec, TensorSpec) {
    let spec = TensorSpec::new(gram_shape(&a.shape, &b.shape), a.dtype);
    (spec.clone(), spec)
}

/// The outputs' metadata of [`GramBackend::scaled_rbf_gram_backward`] (the Fusion backend's).
#[cfg(feature = "fusion")]
#[allow(clippy::too_many_arguments)]
pub(crate) fn scaled_rbf_gram_backward_meta(
    a: &TensorSpec,
    b: &TensorSpec,
    _lengthscale: &TensorSpec,
    _scale: &TensorSpec,
    _gram: &TensorSpec,
    _grad: &TensorSpec,
    _symmetric: &bool,
    _want_b: &bool,
) -> (TensorSpec, TensorSpec, TensorSpec, TensorSpec) {
    let [batch, _, d] = a.shape.dims::<3>();
    (
        a.clone(),
        b.clone(),
        TensorSpec::new(Shape::new([batch, 1, d]), a.dtype),
        TensorSpec::new(Shape::new([batch, 1, 1]), a.dtype),
    )
}

/// [`GramBackend::scaled_rbf_gram_backward`] from the Gram gradients of the scaled inputs
/// `ã = a / ℓ`, `b̃ = b / ℓ`:
/// with `W = s K̄ ∘ G`, `ā = left(W) / ℓ`, `b̄ = right(W) / ℓ` (`ā = left(W + Wᵀ) / ℓ` and
/// `b̄ = ā` for one input), `ℓ̄ = −(Σᵢ ā̃ᵢ ãᵢ + Σⱼ b̄̃ⱼ b̃ⱼ) / ℓ` and `s̄ = Σ K̄ ∘ G`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn scaled_rbf_gram_backward<B: GramBackend>(
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    lengthscale: FloatTensor<B>,
    scale: FloatTensor<B>,
    gram: FloatTensor<B>,
    grad: FloatTensor<B>,
    symmetric: bool,
    want_b: bool,
) -> (
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
) {
    let (a, b) = if symmetric {
        let a = B::float_div(a, lengthscale.clone());
        (a.clone(), a)
    } else {
        scaled_inputs::<B>(a, b, lengthscale.clone())
    };
    let batch = a.shape()[0];
    let scale_sum = B::float_reshape(
        B::float_sum_dim(
            B::float_sum_dim(B::float_mul(grad.clone(), gram.clone()), 2),
            1,
        ),
        Shape::new([batch, 1, 1]),
    );
    let scaled_grad = B::float_mul(grad, scale);
    let moment =
        |g: &FloatTensor<B>, x: FloatTensor<B>| B::float_sum_dim(B::float_mul(g.clone(), x), 1);
    let (grad_a, grad_b, total) = if symmetric {
        let w = B::float_add(scaled_grad.clone(), B::float_swap_dims(scaled_grad, 1, 2));
        let grad_a = B::rbf_gram_grad_left(a.clone(), b, gram, w);
        let total = moment(&grad_a, a);
        (grad_a.clone(), grad_a, total)
    } else {
        let grad_a = B::rbf_gram_grad_left(a.clone(), b.clone(), gram.clone(), scaled_grad.clone());
        let grad_b = B::rbf_gram_grad_right(a.clone(), b.clone(), gram, scaled_grad);
        let total = B::float_add(moment(&grad_a, a), moment(&grad_b, b));
        (grad_a, grad_b, total)
    };
    // Broadcast lengthscales give the full `[B, 1, d]` moments.
    let grad_l = B::float_neg(B::float_div(total, lengthscale.clone()));
    let grad_a = B::float_div(grad_a, lengthscale.clone());
    // `b̄` unscaled stands in where it is not wanted (it is needed for `ℓ̄` all the same).
    let grad_b = match (symmetric, want_b) {
        (true, _) => grad_a.clone(),
        (false, true) => B::float_div(grad_b, lengthscale),
        (false, false) => grad_b,
    };
    (grad_a, grad_b, grad_l, scale_sum)
}
