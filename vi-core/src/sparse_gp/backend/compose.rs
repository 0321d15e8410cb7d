//! Default bodies of the sparse-GP extension, composed of the backend's primitives and the
//! linear-algebra extension's triangular ones (one autodiff node around them under
//! `Autodiff`), so they run unchanged on every backend.

use super::SparseGpBackend;
use crate::linalg::backend::compose::{Triangle, keep_triangle, triangle_mask};
#[cfg(feature = "fusion")]
use burn::backend::fusion::custom::TensorSpec;
use burn::backend::{Backend, TensorMetadata, get_or_init_device_settings, tensor::FloatTensor};
use burn::tensor::Shape;

// The `[1]` shape of the summed KL (the Fusion backend's output description).
#[cfg(feature = "fusion")]
pub(crate) use crate::shapes::scalar_shape;

/// All elements of `t` summed, `[1]`.
fn sum_all<B: Backend>(t: FloatTensor<B>) -> FloatTensor<B> {
    let len = t.shape().num_elements();
    B::float_sum(B::float_reshape(t, Shape::new([len])))
}

/// `L ∘ I + (1 − I)`: the diagonal of `L` with ones elsewhere, and the identity mask `I`.
fn diagonal_or_one<B: SparseGpBackend>(
    l: FloatTensor<B>,
    n: usize,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let eye = triangle_mask::<B>(&l, n, Triangle::Diagonal);
    let off_diagonal = B::float_add_scalar(B::float_neg(eye.clone()), 1f64.into());
    (
        B::float_add(B::float_mul(l, eye.clone()), off_diagonal),
        eye,
    )
}

/// `½ (Σ_{i≥j} Lᵢⱼ² + Σᵢ mᵢ² − n·batch) − Σᵢ ln|Lᵢᵢ|`.
pub(crate) fn standard_normal_kl<B: SparseGpBackend>(
    loc: FloatTensor<B>,
    l: FloatTensor<B>,
) -> FloatTensor<B> {
    let shape = l.shape();
    let n = shape[shape.num_dims() - 1];
    let entries = loc.shape().num_elements();
    let lower = keep_triangle::<B>(l.clone(), n, Triangle::Lower);
    let squares = B::float_add(
        sum_all::<B>(B::float_mul(lower.clone(), lower)),
        sum_all::<B>(B::float_mul(loc.clone(), loc)),
    );
    // ln 1 = 0 off the diagonal.
    let (diagonal, _) = diagonal_or_one::<B>(l, n);
    let log_diagonal = sum_all::<B>(B::float_log(B::float_abs(diagonal)));
    let half = B::float_mul_scalar(
        B::float_sub_scalar(squares, (entries as f64).into()),
        0.5f64.into(),
    );
    B::float_sub(half, log_diagonal)
}

/// `ḡ (tril(L) − diag(1/Lᵢᵢ))`.
pub(crate) fn standard_normal_kl_grad_factor<B: SparseGpBackend>(
    l: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let shape = l.shape();
    let n = shape[shape.num_dims() - 1];
    let (diagonal, eye) = diagonal_or_one::<B>(l.clone(), n);
    let reciprocal = B::float_mul(B::float_recip(diagonal), eye);
    let lower = keep_triangle::<B>(l, n, Triangle::Lower);
    let grad = B::float_reshape(grad, Shape::from(vec![1; shape.num_dims()]));
    B::float_mul(B::float_sub(lower, reciprocal), grad)
}

/// `(ḡ m, standard_normal_kl_grad_factor(L, ḡ))`.
pub(crate) fn standard_normal_kl_backward<B: SparseGpBackend>(
    loc: FloatTensor<B>,
    l: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let rank = loc.shape().num_dims();
    let g = B::float_reshape(grad.clone(), Shape::from(vec![1; rank]));
    (
        B::float_mul(loc, g),
        B::standard_normal_kl_grad_factor(l, grad),
    )
}

/// Output descriptions of [`SparseGpBackend::standard_normal_kl_backward`]: the shapes of `m` and
/// `L`.
#[cfg(feature = "fusion")]
pub(crate) fn standard_normal_kl_backward_meta(
    loc: &TensorSpec,
    l: &TensorSpec,
    _grad: &TensorSpec,
) -> (TensorSpec, TensorSpec) {
    (loc.clone(), l.clone())
}

/// `tril(x) ∘ (1 − 2 [d < 0])` with `d` `raw`'s diagonal as a row `[.., 1, n]`.
pub(crate) fn column_signed_lower<B: SparseGpBackend>(
    raw: FloatTensor<B>,
    x: FloatTensor<B>,
) -> FloatTensor<B> {
    let shape = raw.shape();
    let rank = shape.num_dims();
    let n = shape[rank - 1];
    let eye = triangle_mask::<B>(&raw, n, Triangle::Diagonal);
    let diagonal = B::float_sum_dim(B::float_mul(raw, eye), rank - 2);
    let bool_dtype = get_or_init_device_settings::<B>(&diagonal.device()).bool_dtype;
    let negative = B::float_lower_elem(diagonal.clone(), 0f32.into(), bool_dtype);
    let sign = B::float_mask_fill(
        B::float_ones(
            diagonal.shape(),
            &diagonal.device(),
            diagonal.dtype().into(),
        ),
        negative,
        (-1f32).into(),
    );
    B::float_mul(keep_triangle::<B>(x, n, Triangle::Lower), sign)
}

/// `(max(σ₀² + Σᵢ (Lᵀ B)ᵢⱼ² − Σᵢ Bᵢⱼ², 0), Lᵀ B)`.
pub(crate) fn whitened_variance<B: SparseGpBackend>(
    l: FloatTensor<B>,
    b: FloatTensor<B>,
    prior_variance: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let product = B::triangular_matmul(l, b.clone(), false, true);
    let change = B::column_squares_change(product.clone(), b);
    let variance = B::float_clamp_min(B::float_add(prior_variance, change), 0f32.into());
    (variance, product)
}

/// With `g = ḡ ∘ [v > 0]` and `N = −2 P ∘ g` (the sign folded in once):
/// `L̄ = −tril(B Nᵀ)`, `B̄ = −2 B ∘ g − L N`, `σ̄₀² = g`.
pub(crate) fn whitened_variance_backward<B: SparseGpBackend>(
    l: FloatTensor<B>,
    b: FloatTensor<B>,
    product: FloatTensor<B>,
    variance: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let bool_dtype = get_or_init_device_settings::<B>(&variance.device()).bool_dtype;
    let clamped = B::float_lower_equal_elem(variance, 0f32.into(), bool_dtype);
    let grad = B::float_mask_fill(grad, clamped, 0f32.into());
    let minus_twice = B::float_mul_scalar(grad.clone(), (-2f32).into());
    let negated = B::float_mul(product, minus_twice.clone());
    // `solve_triangular_grad_t` is `−tril(B Nᵀ)` for a transposed lower factor.
    let grad_l = B::solve_triangular_grad_t(negated.clone(), b.clone(), false, true);
    let grad_b = B::float_sub(
        B::float_mul(b, minus_twice),
        B::triangular_matmul(l, negated, false, false),
    );
    (grad_l, grad_b, grad)
}

/// Output descriptions of [`SparseGpBackend::whitened_variance`]: the variances `[.., 1, k]` and
/// the product `[.., n, k]`.
#[cfg(feature = "fusion")]
pub(crate) fn whitened_variance_meta(
    _l: &TensorSpec,
    b: &TensorSpec,
    prior_variance: &TensorSpec,
) -> (TensorSpec, TensorSpec) {
    (prior_variance.clone(), b.clone())
}

/// Output descriptions of [`SparseGpBackend::whitened_variance_backward`]: the shapes of `L`, `B`
/// and the variances.
#[cfg(feature = "fusion")]
pub(crate) fn whitened_variance_backward_meta(
    l: &TensorSpec,
    b: &TensorSpec,
    _product: &TensorSpec,
    variance: &TensorSpec,
    _grad: &TensorSpec,
) -> (TensorSpec, TensorSpec, TensorSpec) {
    (l.clone(), b.clone(), variance.clone())
}

/// `[P, N]` from the weights `[P, M]` and the projection `[b, M, N]`.
pub(crate) fn projected_mean_shape(weights: &Shape, proj: &Shape) -> Shape {
    Shape::new([weights[0], proj[2]])
}

/// [`SparseGpBackend::projected_mean`] as a matrix product and a broadcast sum.
pub(crate) fn projected_mean<B: Backend>(
    weights: FloatTensor<B>,
    proj: FloatTensor<B>,
    offset: FloatTensor<B>,
) -> FloatTensor<B> {
    let shape = projected_mean_shape(&weights.shape(), &proj.shape());
    let ([p, m], [b, _, n]) = (dims2::<B>(&weights), dims3::<B>(&proj));
    let product = if b == 1 {
        B::float_matmul(weights, B::float_reshape(proj, Shape::new([m, n])))
    } else {
        let rows = B::float_matmul(B::float_reshape(weights, Shape::new([p, 1, m])), proj);
        B::float_reshape(rows, shape.clone())
    };
    B::float_add(product, B::float_expand(offset, shape))
}

/// [`SparseGpBackend::projected_mean_backward`] as two matrix products and a row sum.
pub(crate) fn projected_mean_backward<B: Backend>(
    weights: FloatTensor<B>,
    proj: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let ([p, m], [b, _, n]) = (dims2::<B>(&weights), dims3::<B>(&proj));
    let row_sums = B::float_sum_dim(grad.clone(), 1);
    let (grad_weights, grad_proj) = if b == 1 {
        let a = B::float_reshape(proj, Shape::new([m, n]));
        let grad_weights = B::float_matmul(grad.clone(), B::float_transpose(a));
        let grad_proj = B::float_matmul(B::float_transpose(weights), grad);
        (
            grad_weights,
            B::float_reshape(grad_proj, Shape::new([1, m, n])),
        )
    } else {
        let grad_rows = B::float_reshape(grad, Shape::new([p, 1, n]));
        let grad_weights = B::float_matmul(grad_rows.clone(), B::float_swap_dims(proj, 1, 2));
        let columns = B::float_reshape(weights, Shape::new([p, m, 1]));
        (
            B::float_reshape(grad_weights, Shape::new([p, m])),
            B::float_matmul(columns, grad_rows),
        )
    };
    (grad_weights, grad_proj, row_sums)
}

/// Output descriptions of [`SparseGpBackend::projected_mean_backward`]: the shapes of the weights
/// and the projection, and the `[P, 1]` row sums.
#[cfg(feature = "fusion")]
pub(crate) fn projected_mean_backward_meta(
    weights: &TensorSpec,
    proj: &TensorSpec,
    _grad: &TensorSpec,
) -> (TensorSpec, TensorSpec, TensorSpec) {
    let row_sums = TensorSpec::new(Shape::new([weights.shape[0], 1]), weights.dtype);
    (weights.clone(), proj.clone(), row_sums)
}

fn dims2<B: Backend>(t: &FloatTensor<B>) -> [usize; 2] {
    let shape = t.shape();
    [shape[0], shape[1]]
}

fn dims3<B: Backend>(t: &FloatTensor<B>) -> [usize; 3] {
    let shape = t.shape();
    [shape[0], shape[1], shape[2]]
}
