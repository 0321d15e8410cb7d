//! The CubeCL side every backend extension shares on wgpu and cuda: the element type from a
//! tensor's dtype, output allocation and launch sizes ([`launch_dims`], [`cube_count`]), and the
//! one-cube tree sum ([`cube_sum`], [`sum_or_elementwise_dims`]).
//!
//! Each unit of a kernel should run few loop iterations: Lavapipe (Mesa's llvmpipe Vulkan
//! driver) caps the loop iterations of one shader invocation at 65535 in total and silently
//! leaves the loops once the cap is reached (see [`crate::linalg::backend`]'s CubeCL kernels).

mod launch;
mod sum;

pub(crate) use launch::{
    address_type, batch_and_matrix, cube_count, empty_like, empty_shaped_like, float_elem_type,
    launch_dims,
};
pub(crate) use sum::{SUM_MAX_LEN, SUM_UNITS, cube_sum, sum_or_elementwise_dims};
