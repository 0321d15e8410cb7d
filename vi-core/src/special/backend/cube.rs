//! CubeCL kernels (wgpu, cuda) for the special-function extension: one unit per element.

use crate::cube::{address_type, empty_like, float_elem_type, launch_dims};
use burn::backend::tensor::FloatTensor;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use cubecl::prelude::*;

/// `max(x, 0) + ln(1 + u)` with `u = e^{−|x|} ∈ (0, 1]`. `ln(1 + u)` is the 8-term series
/// `Σ (−1)ᵏ⁺¹ uᵏ/k` below `u = 0.1` (relative error < 2e-9), because some GPU backends compute
/// `ln(1 + u)` for small `u` with an absolute, not relative, error bound.
#[cube]
fn softplus_of<F: Float>(v: F) -> F {
    let u = (F::new(0.0) - F::abs(v)).exp();
    let mut log1p = (F::new(1.0) + u).ln();
    if u < F::new(0.1) {
        let mut series = F::new(1.0 / 7.0) - u * F::new(1.0 / 8.0);
        series = F::new(-1.0 / 6.0) + u * series;
        series = F::new(1.0 / 5.0) + u * series;
        series = F::new(-1.0 / 4.0) + u * series;
        series = F::new(1.0 / 3.0) + u * series;
        series = F::new(-1.0 / 2.0) + u * series;
        series = F::new(1.0) + u * series;
        log1p = u * series;
    }
    let mut positive = F::new(0.0);
    if v > F::new(0.0) {
        positive = v;
    }
    // NaN fails both comparisons above but reaches the result through `u`.
    positive + log1p
}

/// `out = softplus(x)` ([`softplus_of`]) or, `log_scale`, `½ ln(softplus(x) + floor)`, per
/// element.
#[cube(launch, address_type = "dynamic")]
fn softplus_kernel<F: Float>(
    x: &[F],
    out: &mut [F],
    floor: InputScalar,
    len: usize,
    #[comptime] log_scale: bool,
    #[define(F)] _dtype: ElemType,
) {
    let i = ABSOLUTE_POS;
    if i >= len {
        terminate!();
    }
    let value = softplus_of::<F>(x[i]);
    if log_scale {
        out[i] = F::new(0.5) * (value + floor.get::<F>()).ln();
    } else {
        out[i] = value;
    }
}

/// The reverse mode of [`softplus_kernel`] given `x`, its output `y` and `ḡ`: `ḡ e^{x − y}`
/// (`σ(x)`, exact in both tails, no `1 − e^{−y}` cancellation) or, `log_scale`,
/// `½ ḡ σ(x) e^{−2y}` with `σ(x) = 1 / (1 + e^{−x})`.
#[cube(launch, address_type = "dynamic")]
fn softplus_backward_kernel<F: Float>(
    x: &[F],
    y: &[F],
    grad: &[F],
    out: &mut [F],
    len: usize,
    #[comptime] log_scale: bool,
    #[define(F)] _dtype: ElemType,
) {
    let i = ABSOLUTE_POS;
    if i >= len {
        terminate!();
    }
    if log_scale {
        let sigmoid = F::new(1.0) / (F::new(1.0) + (F::new(0.0) - x[i]).exp());
        out[i] = F::new(0.5) * grad[i] * sigmoid * (F::new(-2.0) * y[i]).exp();
    } else {
        out[i] = grad[i] * (x[i] - y[i]).exp();
    }
}

/// [`super::SpecialBackend::softplus`] (`floor = None`) and
/// [`super::SpecialBackend::softplus_log_scale`]: [`softplus_kernel`] over the contiguous input.
pub(crate) fn softplus(
    x: FloatTensor<CubeBackend>,
    floor: Option<f64>,
) -> FloatTensor<CubeBackend> {
    let x = into_contiguous(x);
    let out = empty_like(&x);
    let len = x.meta.shape().num_elements();
    if len == 0 {
        return out;
    }
    let (count, cube_dim) = launch_dims(&x, len);
    let address_type = address_type(&[&x, &out]);
    let elem_type = float_elem_type(&x);
    softplus_kernel::launch(
        &out.client,
        count,
        cube_dim,
        address_type,
        x.clone().into_buffer_arg(),
        out.clone().into_buffer_arg(),
        InputScalar::new(floor.unwrap_or(0.0), elem_type),
        len,
        floor.is_some(),
        elem_type,
    );
    out
}

/// [`super::SpecialBackend::softplus_backward`] and, `log_scale`,
/// [`super::SpecialBackend::softplus_log_scale_backward`]: [`softplus_backward_kernel`] over
/// contiguous copies of the inputs.
pub(crate) fn softplus_backward(
    x: FloatTensor<CubeBackend>,
    y: FloatTensor<CubeBackend>,
    grad: FloatTensor<CubeBackend>,
    log_scale: bool,
) -> FloatTensor<CubeBackend> {
    let [x, y, grad] = [x, y, grad].map(into_contiguous);
    let out = empty_like(&x);
    let len = x.meta.shape().num_elements();
    if len == 0 {
        return out;
    }
    let (count, cube_dim) = launch_dims(&x, len);
    let address_type = address_type(&[&x, &y, &grad, &out]);
    softplus_backward_kernel::launch(
        &out.client,
        count,
        cube_dim,
        address_type,
        x.clone().into_buffer_arg(),
        y.into_buffer_arg(),
        grad.into_buffer_arg(),
        out.clone().into_buffer_arg(),
        len,
        log_scale,
        float_elem_type(&x),
    );
    out
}
