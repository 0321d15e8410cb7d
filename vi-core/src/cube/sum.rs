//! One-cube reductions: the tree sum in shared memory that the KL, likelihood and projection
//! kernels share, and the launch that picks it or one unit per element.

use super::launch::launch_dims;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

/// Units of the one-cube reductions ([`cube_sum`]).
pub(crate) const SUM_UNITS: usize = 256;

/// Most elements a one-cube reduction takes (a unit's loop stays far below Lavapipe's cap);
/// larger inputs go through Burn's device-wide sum.
pub(crate) const SUM_MAX_LEN: usize = 1 << 20;

/// `Σ value` over the units of the cube (a power of two of them), by a tree in the shared
/// scratch `partial` (one slot per unit); the total is returned to every unit. Every unit must
/// call it (it holds barriers).
#[cube]
pub(crate) fn cube_sum<F: Float>(value: F, partial: &mut Shared<[F]>) -> F {
    let unit = UNIT_POS as usize;
    partial[unit] = value;
    sync_cube();
    // A runtime counter (`CUBE_DIM` units) for the halving loop.
    let mut half = CUBE_DIM as usize / 2;
    while half > 0 {
        if unit < half {
            partial[unit] = partial[unit] + partial[unit + half];
        }
        sync_cube();
        half /= 2;
    }
    partial[0]
}

/// One cube of [`SUM_UNITS`] units when `summed` (a kernel that sums in shared memory with
/// [`cube_sum`]), else [`launch_dims`]: one unit per work item.
pub(crate) fn sum_or_elementwise_dims(
    summed: bool,
    tensor: &CubeTensor,
    work_items: usize,
) -> (CubeCount, CubeDim) {
    if summed {
        (
            CubeCount::Static(1, 1, 1),
            CubeDim::new_1d(SUM_UNITS as u32),
        )
    } else {
        launch_dims(tensor, work_items)
    }
}
