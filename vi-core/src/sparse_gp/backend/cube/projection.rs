//! CubeCL kernels of [`SparseGpBackend::projected_mean`](super::super::SparseGpBackend::projected_mean)
//! and its reverse mode: one launch each way, where the composed forms take a matrix product
//! and a broadcast sum forward, and two products and a row sum backward.

use crate::cube::{
    SUM_UNITS, address_type, cube_count, cube_sum, empty_like, empty_shaped_like, float_elem_type,
    launch_dims,
};
use burn::backend::tensor::FloatTensor;
use burn::tensor::Shape;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use cubecl::prelude::*;

/// Output `(p, j)` per unit: `C[p, j or 0] + Σₖ W[p, k] A[p or 0, k, j]` (`A` one matrix when
/// `shared`, `C` one column when `column_offset`).
#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn projected_mean_kernel<F: Float>(
    weights: &[F],
    proj: &[F],
    offset: &[F],
    out: &mut [F],
    m: usize,
    n: usize,
    len: usize,
    #[comptime] shared: bool,
    #[comptime] column_offset: bool,
    #[define(F)] _dtype: ElemType,
) {
    let idx = ABSOLUTE_POS;
    if idx >= len {
        terminate!();
    }
    let p = idx / n;
    let j = idx % n;
    let mut base = p * m * n;
    if shared {
        base = 0;
    }
    let mut acc = offset[idx];
    if column_offset {
        acc = offset[p];
    }
    for k in 0..m {
        acc += weights[p * m + k] * proj[base + k * n + j];
    }
    out[idx] = acc;
}

/// Cube `k < m` per row `k` of `A`: `W̄[p, k] = Σⱼ Ȳ[p, j] A[p or 0, k, j]` for every `p` (the
/// units stride over `j`, then [`cube_sum`]) and row `k` of `Ā` (`W[p, k] Ȳ[p, j]`, summed over
/// `p` when `shared`); cube `m`: the row sums `c̄[p] = Σⱼ Ȳ[p, j]`.
#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn projected_mean_backward_kernel<F: Float>(
    weights: &[F],
    proj: &[F],
    grad: &[F],
    grad_weights: &mut [F],
    grad_proj: &mut [F],
    row_sums: &mut [F],
    rows: usize,
    m: usize,
    n: usize,
    #[comptime] shared: bool,
    #[define(F)] _dtype: ElemType,
) {
    let k = CUBE_POS;
    if k > m {
        terminate!();
    }
    let mut partial = Shared::<[F]>::new_slice(SUM_UNITS);
    let unit = UNIT_POS as usize;
    let stride = CUBE_DIM as usize;
    for p in 0..rows {
        let mut base = p * m * n;
        if shared {
            base = 0;
        }
        let mut acc = F::new(0.0);
        let mut j = unit;
        while j < n {
            let g = grad[p * n + j];
            if k == m {
                acc += g;
            } else {
                acc += proj[base + k * n + j] * g;
            }
            j += stride;
        }
        let total = cube_sum::<F>(acc, &mut partial);
        if unit == 0 {
            if k == m {
                row_sums[p] = total;
            } else {
                grad_weights[p * m + k] = total;
            }
        }
        // Every unit has read the total before the next sum overwrites the scratch.
        sync_cube();
    }
    if k < m {
        let mut j = unit;
        while j < n {
            if shared {
                let mut acc = F::new(0.0);
                for p in 0..rows {
                    acc += weights[p * m + k] * grad[p * n + j];
                }
                grad_proj[k * n + j] = acc;
            } else {
                for p in 0..rows {
                    grad_proj[(p * m + k) * n + j] = weights[p * m + k] * grad[p * n + j];
                }
            }
            j += stride;
        }
    }
}

/// `[P, M]`, `[b, M, N]` as `(P, M, b, N)`.
fn sizes(weights: &FloatTensor<CubeBackend>, proj: &FloatTensor<CubeBackend>) -> [usize; 4] {
    let (w, a) = (weights.meta.shape(), proj.meta.shape());
    [w[0], w[1], a[0], a[2]]
}

/// [`projected_mean_kernel`] over contiguous copies of the inputs, `[P, N]`.
pub(crate) fn projected_mean(
    weights: FloatTensor<CubeBackend>,
    proj: FloatTensor<CubeBackend>,
    offset: FloatTensor<CubeBackend>,
) -> FloatTensor<CubeBackend> {
    let [weights, proj, offset] = [weights, proj, offset].map(into_contiguous);
    let [p, m, b, n] = sizes(&weights, &proj);
    let out = empty_shaped_like(&weights, Shape::new([p, n]));
    let len = p * n;
    if len == 0 {
        return out;
    }
    let column_offset = offset.meta.shape()[1] == 1;
    let (count, cube_dim) = launch_dims(&out, len);
    let address_type = address_type(&[&weights, &proj, &offset, &out]);
    projected_mean_kernel::launch(
        &out.client,
        count,
        cube_dim,
        address_type,
        weights.clone().into_buffer_arg(),
        proj.into_buffer_arg(),
        offset.into_buffer_arg(),
        out.clone().into_buffer_arg(),
        m,
        n,
        len,
        b == 1,
        column_offset,
        float_elem_type(&weights),
    );
    out
}

/// [`projected_mean_backward_kernel`], `m + 1` cubes: `(W̄, Ā, c̄)`.
pub(crate) fn projected_mean_backward(
    weights: FloatTensor<CubeBackend>,
    proj: FloatTensor<CubeBackend>,
    grad: FloatTensor<CubeBackend>,
) -> (
    FloatTensor<CubeBackend>,
    FloatTensor<CubeBackend>,
    FloatTensor<CubeBackend>,
) {
    let [weights, proj, grad] = [weights, proj, grad].map(into_contiguous);
    let [p, m, b, n] = sizes(&weights, &proj);
    let grad_weights = empty_like(&weights);
    let grad_proj = empty_like(&proj);
    let row_sums = empty_shaped_like(&weights, Shape::new([p, 1]));
    // Launched even for P = 0: a shared `Ā` is then a sum over no rows, written as zeros.
    let address_type = address_type(&[&weights, &proj, &grad, &grad_proj]);
    projected_mean_backward_kernel::launch(
        &weights.client,
        cube_count(&weights, m + 1),
        CubeDim::new_1d(SUM_UNITS as u32),
        address_type,
        weights.clone().into_buffer_arg(),
        proj.into_buffer_arg(),
        grad.into_buffer_arg(),
        grad_weights.clone().into_buffer_arg(),
        grad_proj.clone().into_buffer_arg(),
        row_sums.clone().into_buffer_arg(),
        p,
        m,
        n,
        b == 1,
        float_elem_type(&weights),
    );
    (grad_weights, grad_proj, row_sums)
}
