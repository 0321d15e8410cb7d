//! CubeCL kernel (wgpu, cuda) of the likelihood extension: one unit per element writes that
//! element's term or gradient, or, for a sum (the log-likelihood, a shared scale's gradient), one
//! cube adds them all ([`cube_sum`]) — one launch where the composed forms take about ten.

use crate::cube::{
    SUM_MAX_LEN, SUM_UNITS, address_type, cube_sum, empty_like, empty_shaped_like, float_elem_type,
    sum_or_elementwise_dims,
};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::tensor::Shape;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use cubecl::prelude::*;

/// What [`gaussian_kernel`] writes per element `i` (with `r = yᵢ − μᵢ`, `q = r² [+ vᵢ]`, `w =
/// e^{−2sᵢ}` and the upstream gradient `ḡ`).
#[derive(Clone, Copy)]
enum Quantity {
    /// `−½ q w − sᵢ − ½ ln 2π`.
    Term = 0,
    /// `ḡ r w`.
    GradMean = 1,
    /// `ḡ (q w − 1)`.
    GradLogScale = 2,
}

/// Element `i`'s [`Quantity`]. `variance` is read only `with_variance`, `log_scale[0]` alone
/// when `shared`, `grad[0]` for the gradients.
#[cube]
#[allow(clippy::too_many_arguments)]
fn gaussian_quantity<F: Float>(
    i: usize,
    y: &[F],
    mean: &[F],
    variance: &[F],
    log_scale: &[F],
    grad: &[F],
    half_ln_2pi: F,
    #[comptime] quantity: u32,
    #[comptime] with_variance: bool,
    #[comptime] shared: bool,
) -> F {
    let mut s = log_scale[0];
    if !shared {
        s = log_scale[i];
    }
    let r = y[i] - mean[i];
    let w = (F::new(-2.0) * s).exp();
    let mut q = r * r;
    if with_variance {
        q += variance[i];
    }
    if comptime!(quantity == 0) {
        F::new(-0.5) * q * w - s - half_ln_2pi
    } else if comptime!(quantity == 1) {
        grad[0] * r * w
    } else {
        grad[0] * (q * w - F::new(1.0))
    }
}

/// One unit per element writes its [`gaussian_quantity`]; with `summed`, one cube instead: each
/// unit adds every `CUBE_DIM`-th element and [`cube_sum`] writes the total to `out[0]`.
#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn gaussian_kernel<F: Float>(
    y: &[F],
    mean: &[F],
    variance: &[F],
    log_scale: &[F],
    grad: &[F],
    out: &mut [F],
    half_ln_2pi: InputScalar,
    len: usize,
    #[comptime] quantity: u32,
    #[comptime] with_variance: bool,
    #[comptime] shared: bool,
    #[comptime] summed: bool,
    #[define(F)] _dtype: ElemType,
) {
    let half_ln_2pi = half_ln_2pi.get::<F>();
    if summed {
        let mut partial = Shared::<[F]>::new_slice(SUM_UNITS);
        let mut acc = F::new(0.0);
        let mut i = UNIT_POS as usize;
        while i < len {
            acc += gaussian_quantity::<F>(
                i,
                y,
                mean,
                variance,
                log_scale,
                grad,
                half_ln_2pi,
                quantity,
                with_variance,
                shared,
            );
            i += CUBE_DIM as usize;
        }
        let total = cube_sum::<F>(acc, &mut partial);
        if UNIT_POS == 0 {
            out[0] = total;
        }
    } else {
        let i = ABSOLUTE_POS;
        if i < len {
            out[i] = gaussian_quantity::<F>(
                i,
                y,
                mean,
                variance,
                log_scale,
                grad,
                half_ln_2pi,
                quantity,
                with_variance,
                shared,
            );
        }
    }
}

/// Writes element `i`'s `μ̄ᵢ = ḡ r w` and `v̄ᵢ = −½ ḡ w` and returns its `s̄ᵢ = ḡ ((r² + vᵢ) w −
/// 1)` (the [`Quantity`] gradients of the expected log-likelihood, `r` and `w` formed once).
#[cube]
#[allow(clippy::too_many_arguments)]
fn gaussian_gradients<F: Float>(
    i: usize,
    y: &[F],
    mean: &[F],
    variance: &[F],
    log_scale: &[F],
    grad: &[F],
    grad_mean: &mut [F],
    grad_variance: &mut [F],
    #[comptime] shared: bool,
) -> F {
    let mut s = log_scale[0];
    if !shared {
        s = log_scale[i];
    }
    let g = grad[0];
    let r = y[i] - mean[i];
    let w = (F::new(-2.0) * s).exp();
    grad_mean[i] = g * r * w;
    grad_variance[i] = F::new(-0.5) * g * w;
    g * ((r * r + variance[i]) * w - F::new(1.0))
}

/// The expected log-likelihood's three gradients ([`gaussian_gradients`]) in one launch: one
/// unit per element writing `s̄ᵢ` too; `summed` (a `shared` scale), one cube instead, adding
/// `s̄ᵢ` up ([`cube_sum`]) into `grad_log_scale[0]`.
#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn gaussian_backward_kernel<F: Float>(
    y: &[F],
    mean: &[F],
    variance: &[F],
    log_scale: &[F],
    grad: &[F],
    grad_mean: &mut [F],
    grad_variance: &mut [F],
    grad_log_scale: &mut [F],
    len: usize,
    #[comptime] shared: bool,
    #[comptime] summed: bool,
    #[define(F)] _dtype: ElemType,
) {
    if summed {
        let mut partial = Shared::<[F]>::new_slice(SUM_UNITS);
        let mut acc = F::new(0.0);
        let mut i = UNIT_POS as usize;
        while i < len {
            acc += gaussian_gradients::<F>(
                i,
                y,
                mean,
                variance,
                log_scale,
                grad,
                grad_mean,
                grad_variance,
                shared,
            );
            i += CUBE_DIM as usize;
        }
        let total = cube_sum::<F>(acc, &mut partial);
        if UNIT_POS == 0 {
            grad_log_scale[0] = total;
        }
    } else {
        let i = ABSOLUTE_POS;
        if i < len {
            grad_log_scale[i] = gaussian_gradients::<F>(
                i,
                y,
                mean,
                variance,
                log_scale,
                grad,
                grad_mean,
                grad_variance,
                shared,
            );
        }
    }
}

/// [`gaussian_kernel`] over contiguous copies of the inputs, the output in `y`'s shape.
fn per_element(
    quantity: Quantity,
    y: FloatTensor<CubeBackend>,
    mean: FloatTensor<CubeBackend>,
    variance: Option<FloatTensor<CubeBackend>>,
    log_scale: FloatTensor<CubeBackend>,
    grad: Option<FloatTensor<CubeBackend>>,
) -> FloatTensor<CubeBackend> {
    launch(quantity, y, mean, variance, log_scale, grad, false)
}

/// The elements' [`Quantity`] summed, `[1]`: one launch of [`gaussian_kernel`] (one cube) up to
/// [`SUM_MAX_LEN`] elements, else the per-element kernel and Burn's sum.
fn summed(
    quantity: Quantity,
    y: FloatTensor<CubeBackend>,
    mean: FloatTensor<CubeBackend>,
    variance: Option<FloatTensor<CubeBackend>>,
    log_scale: FloatTensor<CubeBackend>,
    grad: Option<FloatTensor<CubeBackend>>,
) -> FloatTensor<CubeBackend> {
    let len = y.meta.shape().num_elements();
    if len == 0 || len > SUM_MAX_LEN {
        return sum_all(per_element(quantity, y, mean, variance, log_scale, grad));
    }
    launch(quantity, y, mean, variance, log_scale, grad, true)
}

/// One launch of [`gaussian_kernel`]: per element (the output in `y`'s shape) or, `summed`, one
/// cube writing the total (`[1]`).
fn launch(
    quantity: Quantity,
    y: FloatTensor<CubeBackend>,
    mean: FloatTensor<CubeBackend>,
    variance: Option<FloatTensor<CubeBackend>>,
    log_scale: FloatTensor<CubeBackend>,
    grad: Option<FloatTensor<CubeBackend>>,
    summed: bool,
) -> FloatTensor<CubeBackend> {
    let [y, mean, log_scale] = [y, mean, log_scale].map(into_contiguous);
    let with_variance = variance.is_some();
    // Unread placeholders stand in for an absent variance or gradient.
    let variance = variance.map_or_else(|| y.clone(), into_contiguous);
    let grad = grad.map_or_else(|| log_scale.clone(), into_contiguous);
    let out = if summed {
        empty_shaped_like(&y, Shape::new([1]))
    } else {
        empty_like(&y)
    };
    let len = y.meta.shape().num_elements();
    if len == 0 {
        return out;
    }
    let shared = log_scale.meta.shape().num_elements() == 1;
    let (count, cube_dim) = sum_or_elementwise_dims(summed, &y, len);
    let address_type = address_type(&[&y, &mean, &variance, &log_scale, &grad, &out]);
    gaussian_kernel::launch(
        &out.client,
        count,
        cube_dim,
        address_type,
        y.clone().into_buffer_arg(),
        mean.into_buffer_arg(),
        variance.into_buffer_arg(),
        log_scale.into_buffer_arg(),
        grad.into_buffer_arg(),
        out.clone().into_buffer_arg(),
        InputScalar::new(super::compose::HALF_LN_2PI, float_elem_type(&y)),
        len,
        quantity as u32,
        with_variance,
        shared,
        summed,
        float_elem_type(&y),
    );
    out
}

/// All elements summed, `[1]`.
fn sum_all(t: FloatTensor<CubeBackend>) -> FloatTensor<CubeBackend> {
    let len = t.meta.shape().num_elements();
    CubeBackend::float_sum(CubeBackend::float_reshape(t, Shape::new([len])))
}

/// `Σ −½ (r² [+ v]) e^{−2s} − s − ½ ln 2π`, `[1]`.
pub(crate) fn log_likelihood(
    y: FloatTensor<CubeBackend>,
    mean: FloatTensor<CubeBackend>,
    variance: Option<FloatTensor<CubeBackend>>,
    log_scale: FloatTensor<CubeBackend>,
) -> FloatTensor<CubeBackend> {
    summed(Quantity::Term, y, mean, variance, log_scale, None)
}

/// `ḡ (y − μ) e^{−2s}`, the shape of `mean`.
pub(crate) fn grad_mean(
    y: FloatTensor<CubeBackend>,
    mean: FloatTensor<CubeBackend>,
    log_scale: FloatTensor<CubeBackend>,
    grad: FloatTensor<CubeBackend>,
) -> FloatTensor<CubeBackend> {
    per_element(Quantity::GradMean, y, mean, None, log_scale, Some(grad))
}

/// `ḡ ((r² [+ v]) e^{−2s} − 1)`, summed for a shared scale; the shape of `log_scale`.
pub(crate) fn grad_log_scale(
    y: FloatTensor<CubeBackend>,
    mean: FloatTensor<CubeBackend>,
    variance: Option<FloatTensor<CubeBackend>>,
    log_scale: FloatTensor<CubeBackend>,
    grad: FloatTensor<CubeBackend>,
) -> FloatTensor<CubeBackend> {
    let scale_shape = log_scale.meta.shape().clone();
    let quantity = Quantity::GradLogScale;
    let gradient = if scale_shape.num_elements() == 1 {
        summed(quantity, y, mean, variance, log_scale, Some(grad))
    } else {
        per_element(quantity, y, mean, variance, log_scale, Some(grad))
    };
    CubeBackend::float_reshape(gradient, scale_shape)
}

/// `(μ̄, v̄, s̄)` of the expected log-likelihood: one launch of [`gaussian_backward_kernel`] (one
/// cube for a shared scale up to [`SUM_MAX_LEN`] elements; beyond, one unit per element and
/// Burn's sum of the scale's shares).
pub(crate) fn expected_log_likelihood_backward(
    y: FloatTensor<CubeBackend>,
    mean: FloatTensor<CubeBackend>,
    variance: FloatTensor<CubeBackend>,
    log_scale: FloatTensor<CubeBackend>,
    grad: FloatTensor<CubeBackend>,
) -> (
    FloatTensor<CubeBackend>,
    FloatTensor<CubeBackend>,
    FloatTensor<CubeBackend>,
) {
    let [y, mean, variance, log_scale, grad] =
        [y, mean, variance, log_scale, grad].map(into_contiguous);
    let len = y.meta.shape().num_elements();
    let scale_shape = log_scale.meta.shape().clone();
    let shared = scale_shape.num_elements() == 1;
    let summed = shared && len > 0 && len <= SUM_MAX_LEN;
    let grad_mean = empty_like(&mean);
    let grad_variance = empty_like(&variance);
    let shares = if summed {
        empty_shaped_like(&y, Shape::new([1]))
    } else {
        empty_like(&y)
    };
    if len > 0 {
        let (count, cube_dim) = sum_or_elementwise_dims(summed, &y, len);
        let address_type = address_type(&[&y, &mean, &variance, &log_scale, &grad]);
        gaussian_backward_kernel::launch(
            &y.client,
            count,
            cube_dim,
            address_type,
            y.clone().into_buffer_arg(),
            mean.into_buffer_arg(),
            variance.into_buffer_arg(),
            log_scale.into_buffer_arg(),
            grad.into_buffer_arg(),
            grad_mean.clone().into_buffer_arg(),
            grad_variance.clone().into_buffer_arg(),
            shares.clone().into_buffer_arg(),
            len,
            shared,
            summed,
            float_elem_type(&y),
        );
    }
    let grad_log_scale = if shared && !summed {
        sum_all(shares)
    } else {
        shares
    };
    (
        grad_mean,
        grad_variance,
        CubeBackend::float_reshape(grad_log_scale, scale_shape),
    )
}
