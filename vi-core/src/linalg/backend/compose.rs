//! Backward passes composed from the primitive ops (matmul, transpose, masks and the extension's
//! own triangular solve), so they run unchanged on every backend.

use super::LinalgBackend;
#[cfg(feature = "fusion")]
use burn::backend::fusion::custom::TensorSpec;
use burn::backend::{Backend, TensorMetadata, get_or_init_device_settings, tensor::FloatTensor};
use burn::tensor::{Shape, TensorData};

/// Which entries of an `n × n` mask are kept.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Triangle {
    /// `i ≥ j`.
    Lower,
    /// `i ≤ j`.
    Upper,
    /// `i > j` kept, diagonal halved: Murray's `Φ`.
    Phi,
    /// `i = j`: the identity.
    Diagonal,
}

/// A `[1, .., 1, n, n]` mask of rank `rank` with the dtype and device of `like`.
pub(crate) fn triangle_mask<B: LinalgBackend>(
    like: &FloatTensor<B>,
    n: usize,
    triangle: Triangle,
) -> FloatTensor<B> {
    let rank = like.shape().num_dims();
    let values: Vec<f64> = (0..n * n)
        .map(|index| {
            let (i, j) = (index / n, index % n);
            match triangle {
                Triangle::Lower => f64::from(u8::from(i >= j)),
                Triangle::Upper => f64::from(u8::from(i <= j)),
                Triangle::Phi if i == j => 0.5,
                Triangle::Phi => f64::from(u8::from(i > j)),
                Triangle::Diagonal => f64::from(u8::from(i == j)),
            }
        })
        .collect();
    let mut dims = vec![1; rank];
    dims[rank - 2] = n;
    dims[rank - 1] = n;
    let data = TensorData::new(values, Shape::from(dims)).convert_dtype(like.dtype());
    B::float_from_data(data, &like.device())
}

/// `t` (`[.., n, n]`) with the entries outside `triangle` (`Lower` or `Upper`) set to zero by a
/// select, so that NaN or ∞ there cannot leak in as `0 · NaN` would through a mask product.
pub(crate) fn keep_triangle<B: LinalgBackend>(
    t: FloatTensor<B>,
    n: usize,
    triangle: Triangle,
) -> FloatTensor<B> {
    let mask = B::float_expand(triangle_mask::<B>(&t, n, triangle), t.shape());
    let bool_dtype = get_or_init_device_settings::<B>(&t.device()).bool_dtype;
    let outside = B::float_equal_elem(mask, 0f32.into(), bool_dtype);
    B::float_mask_fill(t, outside, 0f32.into())
}

/// Murray's Cholesky backward, `Ā = ½(S + Sᵀ)` with `S = L⁻ᵀ Φ(Lᵀ Ḡ) L⁻¹`; only `tril(Ḡ)` is
/// read.
pub(crate) fn cholesky_backward<B: LinalgBackend>(
    l: FloatTensor<B>,
    grad_l: FloatTensor<B>,
) -> FloatTensor<B> {
    let shape = l.shape();
    let n = shape[shape.num_dims() - 1];
    let phi = triangle_mask::<B>(&l, n, Triangle::Phi);
    let grad_l = keep_triangle::<B>(grad_l, n, Triangle::Lower);
    let p = B::float_mul(B::float_matmul(B::float_transpose(l.clone()), grad_l), phi);
    let x = B::solve_triangular(l.clone(), p, false, true);
    let y = B::solve_triangular(l, B::float_transpose(x), false, true);
    let s = B::float_add(y.clone(), B::float_transpose(y));
    B::float_mul_scalar(s, 0.5f64.into())
}

/// `[.., n, k]` → `[.., n, n]`.
pub(crate) fn square_shape(shape: &Shape) -> Shape {
    let rank = shape.num_dims();
    let mut dims: Vec<usize> = shape.iter().copied().collect();
    dims[rank - 1] = dims[rank - 2];
    Shape::from(dims)
}

/// `−tri(B̄ Xᵀ)` (`−tri(X B̄ᵀ)` when `transpose`) from matmul and a mask.
pub(crate) fn solve_triangular_grad_t<B: LinalgBackend>(
    grad_b: FloatTensor<B>,
    x: FloatTensor<B>,
    upper: bool,
    transpose: bool,
) -> FloatTensor<B> {
    let shape = grad_b.shape();
    let n = shape[shape.num_dims() - 2];
    let grad_op = if transpose {
        B::float_matmul(x, B::float_transpose(grad_b))
    } else {
        B::float_matmul(grad_b, B::float_transpose(x))
    };
    let triangle = if upper {
        Triangle::Upper
    } else {
        Triangle::Lower
    };
    let mask = triangle_mask::<B>(&grad_op, n, triangle);
    B::float_neg(B::float_mul(grad_op, mask))
}

/// Gradients of `X = op(T)⁻¹ B` (`op(T) = Tᵀ` when `transpose`) given `Ḡ = ∂f/∂X`:
/// `B̄ = op(T)⁻ᵀ Ḡ` and, when `want_t`, [`LinalgBackend::solve_triangular_grad_t`].
pub(crate) fn solve_triangular_backward<B: LinalgBackend>(
    t: FloatTensor<B>,
    x: FloatTensor<B>,
    grad_x: FloatTensor<B>,
    upper: bool,
    transpose: bool,
    want_t: bool,
) -> (Option<FloatTensor<B>>, FloatTensor<B>) {
    let grad_b = B::solve_triangular(t, grad_x, upper, !transpose);
    let grad_t = want_t.then(|| B::solve_triangular_grad_t(grad_b.clone(), x, upper, transpose));
    (grad_t, grad_b)
}

/// `op(tri(T)) B` from a select and matmul.
pub(crate) fn triangular_matmul<B: LinalgBackend>(
    t: FloatTensor<B>,
    b: FloatTensor<B>,
    upper: bool,
    transpose: bool,
) -> FloatTensor<B> {
    let shape = t.shape();
    let n = shape[shape.num_dims() - 1];
    let triangle = if upper {
        Triangle::Upper
    } else {
        Triangle::Lower
    };
    let t = keep_triangle::<B>(t, n, triangle);
    let t = if transpose { B::float_transpose(t) } else { t };
    B::float_matmul(t, b)
}

/// `[.., n, k]` → `[.., 1, k]`.
#[cfg_attr(
    not(any(feature = "fusion", feature = "wgpu", feature = "cuda")),
    allow(dead_code)
)]
pub(crate) fn column_shape(b: &Shape) -> Shape {
    let mut dims = b.to_vec();
    let rank = dims.len();
    dims[rank - 2] = 1;
    Shape::from(dims)
}

/// `Σᵢ x²` over the rows of `[.., n, k]`, `[.., 1, k]`.
fn column_squares<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let rows = x.shape().num_dims() - 2;
    B::float_sum_dim(B::float_mul(x.clone(), x), rows)
}

/// `Σᵢ (op(T) B)ᵢⱼ² − Σᵢ Bᵢⱼ²`.
pub(crate) fn column_norm_change<B: LinalgBackend>(
    t: FloatTensor<B>,
    b: FloatTensor<B>,
    upper: bool,
    transpose: bool,
) -> FloatTensor<B> {
    let product = B::triangular_matmul(t, b.clone(), upper, transpose);
    B::column_squares_change(product, b)
}

/// `Σᵢ p² − Σᵢ b²` over the rows.
pub(crate) fn column_squares_change<B: Backend>(
    p: FloatTensor<B>,
    b: FloatTensor<B>,
) -> FloatTensor<B> {
    B::float_sub(column_squares::<B>(p), column_squares::<B>(b))
}

/// The `[1]` shape of a summed value (the Fusion backend's output description).
#[cfg_attr(not(feature = "fusion"), allow(dead_code))]
pub(crate) fn scalar_shape() -> Shape {
    Shape::new([1])
}

/// All elements of `t` summed, `[1]`.
fn sum_all<B: Backend>(t: FloatTensor<B>) -> FloatTensor<B> {
    let len = t.shape().num_elements();
    B::float_sum(B::float_reshape(t, Shape::new([len])))
}

/// `L ∘ I + (1 − I)`: the diagonal of `L` with ones elsewhere, and the identity mask `I`.
fn diagonal_or_one<B: LinalgBackend>(
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
pub(crate) fn standard_normal_kl<B: LinalgBackend>(
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
pub(crate) fn standard_normal_kl_grad_factor<B: LinalgBackend>(
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
pub(crate) fn standard_normal_kl_backward<B: LinalgBackend>(
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

/// Output descriptions of [`LinalgBackend::standard_normal_kl_backward`]: the shapes of `m` and
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
pub(crate) fn column_signed_lower<B: LinalgBackend>(
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
pub(crate) fn whitened_variance<B: LinalgBackend>(
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
pub(crate) fn whitened_variance_backward<B: LinalgBackend>(
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

/// Output descriptions of [`LinalgBackend::whitened_variance`]: the variances `[.., 1, k]` and
/// the product `[.., n, k]`.
#[cfg(feature = "fusion")]
pub(crate) fn whitened_variance_meta(
    _l: &TensorSpec,
    b: &TensorSpec,
    prior_variance: &TensorSpec,
) -> (TensorSpec, TensorSpec) {
    (prior_variance.clone(), b.clone())
}

/// Output descriptions of [`LinalgBackend::whitened_variance_backward`]: the shapes of `L`, `B`
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

/// [`LinalgBackend::projected_mean`] as a matrix product and a broadcast sum.
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

/// [`LinalgBackend::projected_mean_backward`] as two matrix products and a row sum.
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

/// Output descriptions of [`LinalgBackend::projected_mean_backward`]: the shapes of the weights
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
