//! Backward passes composed from the primitive ops (matmul, transpose, masks and the extension's
//! own triangular solve), so they run unchanged on every backend.

use super::LinalgBackend;
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
