//! CubeCL kernels (wgpu, cuda) for the Gram extension: one launch per Gram matrix and per input
//! gradient instead of the dozen element-wise ops, reductions and matrix product of the
//! composed form.
//!
//! Inputs are made contiguous first, so `[B, n, d]` is read as `B · n` rows of `d` entries. The
//! gradient's sums run in one cube per row; past [`MAX_ITERATIONS`] loop iterations per unit
//! (Lavapipe caps a unit's loop iterations at 65535, see the linear-algebra kernels' module
//! documentation) the composed form is used instead.

use super::compose;
use crate::linalg::backend::cube::{
    address_type, batch_and_matrix, cube_count, empty_shaped_like, float_elem_type, launch_dims,
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

/// `K[e, i, j] = exp(−½ Σ_c (a[e, i, c] − b[e, j, c])²)`, one unit per entry. The differences
/// are formed directly, so nothing cancels and the exponent is never positive.
#[cube(launch, address_type = "dynamic")]
fn rbf_gram_kernel<F: Float>(
    a: &[F],
    b: &[F],
    out: &mut [F],
    n: usize,
    m: usize,
    d: usize,
    len: usize,
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
        let diff = a[a_at + c] - b[b_at + c];
        sum += diff * diff;
    }
    out[idx] = (F::new(-0.5) * sum).exp();
}

/// `x̄[e, i, c] = Σ_j W[e, i, j] (y[e, j, c] − x[e, i, c])` with `W = K̄ ∘ K`, one cube of `units`
/// units per row `(e, i)` of `x̄`: each unit sums every `units`-th `j` (reading `W`'s row
/// contiguously across the units) and unit 0 adds the partial sums, one column `c` at a time.
/// `K` and `K̄` are `[B, r, s]`, or `[B, s, r]` when `transposed` (the right input's gradient
/// reads the left one's `W` transposed).
#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn rbf_gram_grad_kernel<F: Float>(
    x: &[F],
    y: &[F],
    k: &[F],
    grad: &[F],
    out: &mut [F],
    r: usize,
    s: usize,
    d: usize,
    rows: usize,
    #[comptime] units: usize,
    #[comptime] transposed: bool,
    #[define(F)] _dtype: ElemType,
) {
    let row = CUBE_POS;
    if row >= rows {
        terminate!();
    }
    let mut partial = Shared::<[F]>::new_slice(units);
    let unit = UNIT_POS as usize;
    let e = row / r;
    let i = row % r;
    for c in 0..d {
        let xi = x[row * d + c];
        let mut acc = F::new(0.0);
        let mut j = unit;
        while j < s {
            let mut at = row * s + j;
            if transposed {
                at = (e * s + j) * r + i;
            }
            acc += grad[at] * k[at] * (y[(e * s + j) * d + c] - xi);
            j += units;
        }
        partial[unit] = acc;
        sync_cube();
        if unit == 0 {
            let mut total = F::new(0.0);
            for u in 0..units {
                total += partial[u];
            }
            out[row * d + c] = total;
        }
        sync_cube();
    }
}

/// [`super::GramBackend::rbf_gram`]: [`rbf_gram_kernel`].
pub(crate) fn rbf_gram(
    a: FloatTensor<CubeBackend>,
    b: FloatTensor<CubeBackend>,
) -> FloatTensor<CubeBackend> {
    let (a, b) = (into_contiguous(a), into_contiguous(b));
    let ((batch, n, d), (b_batch, m, b_d)) = (batch_and_matrix(&a), batch_and_matrix(&b));
    assert!(
        batch == b_batch && d == b_d,
        "rbf_gram needs [B, n, d] and [B, m, d]"
    );
    let out = empty_shaped_like(&a, Shape::from(vec![batch, n, m]));
    let len = batch * n * m;
    if len == 0 {
        return out;
    }
    let (count, cube_dim) = launch_dims(&a, len);
    let address_type = address_type(&[&a, &b, &out]);
    rbf_gram_kernel::launch(
        &out.client,
        count,
        cube_dim,
        address_type,
        a.clone().into_buffer_arg(),
        b.clone().into_buffer_arg(),
        out.clone().into_buffer_arg(),
        n,
        m,
        d,
        len,
        float_elem_type(&a),
    );
    out
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
    let [x, y, k, grad] = [x, y, k, grad].map(into_contiguous);
    let out = empty_shaped_like(&x, Shape::from(vec![batch, r, d]));
    let rows = batch * r;
    if rows * d == 0 {
        return out;
    }
    let address_type = address_type(&[&x, &y, &k, &grad, &out]);
    rbf_gram_grad_kernel::launch(
        &out.client,
        cube_count(&x, rows),
        CubeDim::new_1d(GRAD_UNITS as u32),
        address_type,
        x.clone().into_buffer_arg(),
        y.clone().into_buffer_arg(),
        k.clone().into_buffer_arg(),
        grad.clone().into_buffer_arg(),
        out.clone().into_buffer_arg(),
        r,
        s,
        d,
        rows,
        GRAD_UNITS,
        transposed,
        float_elem_type(&x),
    );
    out
}
