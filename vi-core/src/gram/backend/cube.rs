//! CubeCL kernels (wgpu, cuda) for the Gram extension: one launch per Gram matrix and per input
//! gradient instead of the dozen element-wise ops, reductions and matrix product of the
//! composed form.
//!
//! Inputs are made contiguous first, so `[B, n, d]` is read as `B · n` rows of `d` entries. The
//! gradient's sums run in one cube per row; past [`MAX_ITERATIONS`] loop iterations per unit
//! (Lavapipe caps a unit's loop iterations at 65535, see the linear-algebra kernels' module
//! documentation) the composed form is used instead.

use super::compose;
use crate::cube::{
    address_type, batch_and_matrix, cube_count, empty_like, empty_shaped_like, float_elem_type,
    launch_dims,
};
use burn::backend::{ops::FloatTensorOps, tensor::FloatTensor};
use burn::tensor::Shape;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use cubecl::prelude::*;

/// Units per cube (per row of the gradient) of [`rbf_gram_grad_kernel`].
const GRAD_UNITS: usize = 32;

/// Most loop iterations a unit of [`rbf_gram_grad_kernel`] runs.
const MAX_ITERATIONS: usize = 32_768;

/// `G[e, i, j] = exp(−½ Σ_c (a[e, i, c] − b[e, j, c])² / ℓ_c²)`, one unit per entry; `out` is
/// `s G` and, `with_unit`, `unit` is `G` (`ℓ = s = 1` unless `scaled`); unless `exponentiate`,
/// `out` is the squared distance itself. The differences are formed directly, so nothing cancels
/// and the exponent is never positive. Parameters are read as in [`rbf_gram_grad_kernel`].
#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn rbf_gram_kernel<F: Float>(
    a: &[F],
    b: &[F],
    lengthscale: &[F],
    scale: &[F],
    out: &mut [F],
    unit: &mut [F],
    n: usize,
    m: usize,
    d: usize,
    len: usize,
    l_batch: usize,
    l_column: usize,
    s_batch: usize,
    #[comptime] scaled: bool,
    #[comptime] with_unit: bool,
    #[comptime] exponentiate: bool,
    #[define(F)] _dtype: ElemType,
) {
    let idx = ABSOLUTE_POS;
    if idx >= len {
        terminate!();
    }
    let j = idx % m;
    let row = idx / m;
    let e = row / n;
    let a_at = row * d;
    let b_at = (e * m + j) * d;
    let mut sum = F::new(0.0);
    for c in 0..d {
        let mut diff = a[a_at + c] - b[b_at + c];
        if scaled {
            diff /= lengthscale[e * l_batch + c * l_column];
        }
        sum += diff * diff;
    }
    if !exponentiate {
        out[idx] = sum;
    } else {
        let g = (F::new(-0.5) * sum).exp();
        if scaled {
            out[idx] = scale[e * s_batch] * g;
            if with_unit {
                unit[idx] = g;
            }
        } else {
            out[idx] = g;
        }
    }
}

/// One row `(e, i)` of an RBF Gram gradient per cube of `units` units: each unit sums every
/// `units`-th `j` (reading `W`'s row contiguously across the units) and unit 0 adds the partial
/// sums, one column `c` at a time. With `W = s K̄ ∘ G` (`K̄ + K̄ᵀ` when `symmetric`; `s = ℓ = 1`
/// unless `scaled`) read along the row (down the column when `transposed`, `K̄` and `G` being
/// `[B, s, r]`) and the scaled inputs `x̃ = x / ℓ`, `ỹ = y / ℓ`:
/// `out[e, i, c] = Σⱼ Wᵢⱼ (ỹ[e, j, c] − x̃[e, i, c]) / ℓ_c` and, `with_moments`, the
/// row's shares of `ℓ̄_c`, `Σⱼ Wᵢⱼ (x̃ − ỹ)² / ℓ_c` (`moments[e, i, c]`), and of `s̄`,
/// `Σⱼ K̄ᵢⱼ Gᵢⱼ` (`scale_sums[e, i]`), halved when `symmetric` (every pair is met twice). The
/// lengthscale of column `c` of batch element `e` is `lengthscale[e · l_batch + c · l_column]`
/// and the scale `scale[e · s_batch]` (strides 0 for broadcast parameters).
#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn rbf_gram_grad_kernel<F: Float>(
    x: &[F],
    y: &[F],
    lengthscale: &[F],
    scale: &[F],
    gram: &[F],
    grad: &[F],
    out: &mut [F],
    moments: &mut [F],
    scale_sums: &mut [F],
    r: usize,
    s: usize,
    d: usize,
    rows: usize,
    l_batch: usize,
    l_column: usize,
    s_batch: usize,
    #[comptime] units: usize,
    #[comptime] transposed: bool,
    #[comptime] symmetric: bool,
    #[comptime] scaled: bool,
    #[comptime] with_moments: bool,
    #[define(F)] _dtype: ElemType,
) {
    let row = CUBE_POS;
    if row >= rows {
        terminate!();
    }
    let mut partial_grad = Shared::<[F]>::new_slice(units);
    let mut partial_moment = Shared::<[F]>::new_slice(units);
    let mut partial_scale = Shared::<[F]>::new_slice(units);
    let unit = UNIT_POS as usize;
    let e = row / r;
    let i = row % r;
    let mut sc = F::new(1.0);
    if scaled {
        sc = scale[e * s_batch];
    }
    let mut half = F::new(1.0);
    if symmetric {
        half = F::new(0.5);
    }
    for c in 0..d {
        let mut l = F::new(1.0);
        if scaled {
            l = lengthscale[e * l_batch + c * l_column];
        }
        let xi = x[row * d + c] / l;
        let (mut acc_grad, mut acc_moment, mut acc_scale) = (F::new(0.0), F::new(0.0), F::new(0.0));
        let mut j = unit;
        while j < s {
            let mut at = row * s + j;
            if transposed {
                at = (e * s + j) * r + i;
            }
            let mut upstream = grad[at];
            if symmetric {
                upstream += grad[(e * s + j) * r + i];
            }
            let w = upstream * gram[at];
            let diff = y[(e * s + j) * d + c] / l - xi;
            acc_grad += w * diff;
            if with_moments {
                acc_moment += w * diff * diff;
                acc_scale += w;
            }
            j += units;
        }
        partial_grad[unit] = acc_grad;
        if with_moments {
            partial_moment[unit] = acc_moment;
            partial_scale[unit] = acc_scale;
        }
        sync_cube();
        if unit == 0 {
            let (mut total_grad, mut total_moment, mut total_scale) =
                (F::new(0.0), F::new(0.0), F::new(0.0));
            for u in 0..units {
                total_grad += partial_grad[u];
                if with_moments {
                    total_moment += partial_moment[u];
                    total_scale += partial_scale[u];
                }
            }
            out[row * d + c] = sc * total_grad / l;
            if with_moments {
                moments[row * d + c] = half * sc * total_moment / l;
                if c == 0 {
                    scale_sums[row] = half * total_scale;
                }
            }
        }
        sync_cube();
    }
}

/// [`super::GramBackend::squared_distance`]: [`rbf_gram_kernel`] without the exponential.
pub(crate) fn squared_distance(
    a: FloatTensor<CubeBackend>,
    b: FloatTensor<CubeBackend>,
) -> FloatTensor<CubeBackend> {
    gram(a, b, None, false, false).0
}

/// [`super::GramBackend::rbf_gram`]: [`rbf_gram_kernel`].
pub(crate) fn rbf_gram(
    a: FloatTensor<CubeBackend>,
    b: FloatTensor<CubeBackend>,
) -> FloatTensor<CubeBackend> {
    gram(a, b, None, false, true).0
}

/// [`super::GramBackend::scaled_rbf_gram`] (`with_unit = false`) and
/// [`super::GramBackend::scaled_rbf_gram_with_unit`]: [`rbf_gram_kernel`], one launch.
pub(crate) fn scaled_rbf_gram(
    a: FloatTensor<CubeBackend>,
    b: FloatTensor<CubeBackend>,
    lengthscale: FloatTensor<CubeBackend>,
    scale: FloatTensor<CubeBackend>,
    with_unit: bool,
) -> (FloatTensor<CubeBackend>, FloatTensor<CubeBackend>) {
    let [lengthscale, scale] = [lengthscale, scale].map(into_contiguous);
    gram(a, b, Some((&lengthscale, &scale)), with_unit, true)
}

/// One launch of [`rbf_gram_kernel`] (scaled by `(lengthscale, scale)` when given): `(s G, G)`,
/// the second a placeholder unless `with_unit`; the squared distances unless `exponentiate`.
fn gram(
    a: FloatTensor<CubeBackend>,
    b: FloatTensor<CubeBackend>,
    parameters: Option<(&FloatTensor<CubeBackend>, &FloatTensor<CubeBackend>)>,
    with_unit: bool,
    exponentiate: bool,
) -> (FloatTensor<CubeBackend>, FloatTensor<CubeBackend>) {
    let (a, b) = (into_contiguous(a), into_contiguous(b));
    let ((batch, n, d), (b_batch, m, b_d)) = (batch_and_matrix(&a), batch_and_matrix(&b));
    assert!(
        batch == b_batch && d == b_d,
        "Gram matrices need [B, n, d] and [B, m, d]"
    );
    let shape = Shape::from(vec![batch, n, m]);
    let out = empty_shaped_like(&a, shape.clone());
    let unit = if with_unit && parameters.is_some() {
        empty_shaped_like(&a, shape)
    } else {
        empty_shaped_like(&a, Shape::from(vec![1]))
    };
    let len = batch * n * m;
    if len == 0 {
        return (out, unit);
    }
    // Unscaled, `a` stands in for the lengthscale and scale, which are then not read.
    let (lengthscale, scale) = parameters.unwrap_or((&a, &a));
    let (l_batch, l_column) = parameter_strides(lengthscale);
    let s_batch = usize::from(batch_and_matrix(scale).0 != 1);
    let (count, cube_dim) = launch_dims(&a, len);
    let address_type = address_type(&[&a, &b, &out]);
    rbf_gram_kernel::launch(
        &out.client,
        count,
        cube_dim,
        address_type,
        a.clone().into_buffer_arg(),
        b.clone().into_buffer_arg(),
        lengthscale.clone().into_buffer_arg(),
        scale.clone().into_buffer_arg(),
        out.clone().into_buffer_arg(),
        unit.clone().into_buffer_arg(),
        n,
        m,
        d,
        len,
        l_batch,
        l_column,
        s_batch,
        parameters.is_some(),
        with_unit && parameters.is_some(),
        exponentiate,
        float_elem_type(&a),
    );
    (out, unit)
}

/// [`super::GramBackend::rbf_gram_grad_left`] (`transposed = false`: `x = a`, `y = b`) and
/// [`super::GramBackend::rbf_gram_grad_right`] (`transposed = true`: `x = b`, `y = a`):
/// [`rbf_gram_grad_kernel`], or the composed form past [`MAX_ITERATIONS`] per unit.
pub(crate) fn rbf_gram_grad(
    x: FloatTensor<CubeBackend>,
    y: FloatTensor<CubeBackend>,
    k: FloatTensor<CubeBackend>,
    grad: FloatTensor<CubeBackend>,
    transposed: bool,
) -> FloatTensor<CubeBackend> {
    let ((batch, r, d), (_, s, _)) = (batch_and_matrix(&x), batch_and_matrix(&y));
    if d * (s.div_ceil(GRAD_UNITS) + GRAD_UNITS) > MAX_ITERATIONS {
        return if transposed {
            compose::rbf_gram_grad_left::<CubeBackend>(
                x,
                y,
                CubeBackend::float_transpose(k),
                CubeBackend::float_transpose(grad),
            )
        } else {
            compose::rbf_gram_grad_left::<CubeBackend>(x, y, k, grad)
        };
    }
    if batch * r * d == 0 {
        return empty_shaped_like(&x, Shape::from(vec![batch, r, d]));
    }
    let [x, y, k, grad] = [x, y, k, grad].map(into_contiguous);
    grad_rows(&x, &y, None, &k, &grad, transposed, false).0
}

/// Strides of a broadcast parameter `[1 or B, 1, 1 or d]`: (per batch element, per column).
fn parameter_strides(parameter: &FloatTensor<CubeBackend>) -> (usize, usize) {
    let (batch, _, columns) = batch_and_matrix(parameter);
    (
        if batch == 1 { 0 } else { columns },
        usize::from(columns != 1),
    )
}

/// Per-row shares of `ℓ̄` `[B, r, d]` and of `s̄` `[B, r, 1]`.
type Shares = (FloatTensor<CubeBackend>, FloatTensor<CubeBackend>);

/// One launch of [`rbf_gram_grad_kernel`] over the rows of `x` (contiguous inputs), scaled by
/// `(lengthscale, scale)` when given; returns the gradient `[B, r, d]` and, `with_moments`, the
/// per-row shares of `ℓ̄` `[B, r, d]` and of `s̄` `[B, r, 1]`.
fn grad_rows(
    x: &FloatTensor<CubeBackend>,
    y: &FloatTensor<CubeBackend>,
    parameters: Option<(&FloatTensor<CubeBackend>, &FloatTensor<CubeBackend>)>,
    gram: &FloatTensor<CubeBackend>,
    grad: &FloatTensor<CubeBackend>,
    transposed: bool,
    symmetric: bool,
) -> (FloatTensor<CubeBackend>, Option<Shares>) {
    let ((batch, r, d), (_, s, _)) = (batch_and_matrix(x), batch_and_matrix(y));
    let out = empty_shaped_like(x, Shape::from(vec![batch, r, d]));
    // The moments are wanted exactly for the scaled form's left input.
    let with_moments = parameters.is_some() && !transposed;
    let shares = |columns: usize| {
        let shape = if with_moments {
            vec![batch, r, columns]
        } else {
            vec![1]
        };
        empty_shaped_like(x, Shape::from(shape))
    };
    let (moments, scale_sums) = (shares(d), shares(1));
    // Unscaled, `x` stands in for the lengthscale and scale, which are then not read.
    let (lengthscale, scale) = parameters.unwrap_or((x, x));
    let (l_batch, l_column) = parameter_strides(lengthscale);
    let s_batch = usize::from(batch_and_matrix(scale).0 != 1);
    let rows = batch * r;
    let address_type = address_type(&[x, y, lengthscale, scale, gram, grad, &out, &moments]);
    rbf_gram_grad_kernel::launch(
        &out.client,
        cube_count(x, rows),
        CubeDim::new_1d(GRAD_UNITS as u32),
        address_type,
        x.clone().into_buffer_arg(),
        y.clone().into_buffer_arg(),
        lengthscale.clone().into_buffer_arg(),
        scale.clone().into_buffer_arg(),
        gram.clone().into_buffer_arg(),
        grad.clone().into_buffer_arg(),
        out.clone().into_buffer_arg(),
        moments.clone().into_buffer_arg(),
        scale_sums.clone().into_buffer_arg(),
        r,
        s,
        d,
        rows,
        l_batch,
        l_column,
        s_batch,
        GRAD_UNITS,
        transposed,
        symmetric,
        parameters.is_some(),
        with_moments,
        float_elem_type(x),
    );
    (out, with_moments.then_some((moments, scale_sums)))
}

/// [`super::GramBackend::scaled_rbf_gram_backward`] (raw inputs, scaled in the kernel):
/// [`rbf_gram_grad_kernel`] over the rows of
/// `a` (its gradient and the per-row shares of `ℓ̄` and `s̄`, summed by [`share_sums_kernel`]) and,
/// for two inputs when `b̄` is wanted, over the rows of `b`; the composed form past [`MAX_ITERATIONS`] per unit.
#[allow(clippy::too_many_arguments)]
pub(crate) fn scaled_rbf_gram_backward(
    a: FloatTensor<CubeBackend>,
    b: FloatTensor<CubeBackend>,
    lengthscale: FloatTensor<CubeBackend>,
    scale: FloatTensor<CubeBackend>,
    gram: FloatTensor<CubeBackend>,
    grad: FloatTensor<CubeBackend>,
    symmetric: bool,
    want_b: bool,
) -> (
    FloatTensor<CubeBackend>,
    FloatTensor<CubeBackend>,
    FloatTensor<CubeBackend>,
    FloatTensor<CubeBackend>,
) {
    let ((batch, n, d), (_, m, _)) = (batch_and_matrix(&a), batch_and_matrix(&b));
    if batch * n * m * d == 0 || d * (n.max(m).div_ceil(GRAD_UNITS) + GRAD_UNITS) > MAX_ITERATIONS {
        return compose::scaled_rbf_gram_backward::<CubeBackend>(
            a,
            b,
            lengthscale,
            scale,
            gram,
            grad,
            symmetric,
            want_b,
        );
    }
    let [a, b, lengthscale, scale, gram, grad] =
        [a, b, lengthscale, scale, gram, grad].map(into_contiguous);
    let parameters = Some((&lengthscale, &scale));
    let (grad_a, shares) = grad_rows(&a, &b, parameters, &gram, &grad, false, symmetric);
    let (moments, scale_sums) = shares.expect("the scaled left input's shares");
    let grad_b = if symmetric {
        grad_a.clone()
    } else if want_b {
        grad_rows(&b, &a, parameters, &gram, &grad, true, false).0
    } else {
        empty_like(&b)
    };
    let (grad_l, grad_s) = sum_shares(moments, scale_sums);
    (grad_a, grad_b, grad_l, grad_s)
}

/// Output `(e, c)` of the row sums of the `ℓ̄` shares `[B, r, d]` (`c < d`) and of the `s̄`
/// shares `[B, r, 1]` (`c = d`), one unit each.
#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn share_sums_kernel<F: Float>(
    moments: &[F],
    scale_sums: &[F],
    grad_l: &mut [F],
    grad_s: &mut [F],
    r: usize,
    d: usize,
    len: usize,
    #[define(F)] _dtype: ElemType,
) {
    let idx = ABSOLUTE_POS;
    if idx >= len {
        terminate!();
    }
    let e = idx / (d + 1);
    let c = idx % (d + 1);
    let mut sum = F::new(0.0);
    if c < d {
        for i in 0..r {
            sum += moments[(e * r + i) * d + c];
        }
        grad_l[e * d + c] = sum;
    } else {
        for i in 0..r {
            sum += scale_sums[e * r + i];
        }
        grad_s[e] = sum;
    }
}

/// `(Σᵢ moments[e, i, ·], Σᵢ scale_sums[e, i, ·])`, `[B, 1, d]` and `[B, 1, 1]`: one launch of
/// [`share_sums_kernel`] for both (Burn's two reductions past [`MAX_ITERATIONS`] rows).
fn sum_shares(
    moments: FloatTensor<CubeBackend>,
    scale_sums: FloatTensor<CubeBackend>,
) -> (FloatTensor<CubeBackend>, FloatTensor<CubeBackend>) {
    let (batch, r, d) = batch_and_matrix(&moments);
    if r > MAX_ITERATIONS {
        return (
            CubeBackend::float_sum_dim(moments, 1),
            CubeBackend::float_sum_dim(scale_sums, 1),
        );
    }
    let grad_l = empty_shaped_like(&moments, Shape::from(vec![batch, 1, d]));
    let grad_s = empty_shaped_like(&moments, Shape::from(vec![batch, 1, 1]));
    let len = batch * (d + 1);
    let (count, cube_dim) = launch_dims(&moments, len);
    let address_type = address_type(&[&moments, &scale_sums, &grad_l]);
    share_sums_kernel::launch(
        &moments.client,
        count,
        cube_dim,
        address_type,
        moments.clone().into_buffer_arg(),
        scale_sums.into_buffer_arg(),
        grad_l.clone().into_buffer_arg(),
        grad_s.clone().into_buffer_arg(),
        r,
        d,
        len,
        float_elem_type(&moments),
    );
    (grad_l, grad_s)
}
