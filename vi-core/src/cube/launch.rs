//! Launch helpers every CubeCL kernel uses: the element type from a tensor's dtype, output
//! allocation, address type, and cube counts (one unit per work item, or a cube count spread
//! over two dimensions).

use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::Shape;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use cubecl::{calculate_cube_count_elemwise, prelude::*};

/// Units per cube of the element-wise kernels; the cube count covers the work items with one
/// unit each.
const CUBE_SIZE: u32 = 64;

/// The kernel element type for a float tensor.
pub(crate) fn float_elem_type(tensor: &CubeTensor) -> ElemType {
    assert!(
        tensor.dtype.is_float(),
        "linalg kernels need a float tensor, got {:?}",
        tensor.dtype
    );
    dtype_to_storage_type(tensor.dtype)
}

/// Splits a `[.., r, c]` shape into its batch size and `(r, c)`.
pub(crate) fn batch_and_matrix(tensor: &CubeTensor) -> (usize, usize, usize) {
    let shape = tensor.meta.shape();
    let rank = shape.num_dims();
    assert!(rank >= 2, "linalg kernels need a [.., rows, cols] tensor");
    let (rows, cols) = (shape[rank - 2], shape[rank - 1]);
    let batch: usize = shape.iter().take(rank - 2).product();
    (batch, rows, cols)
}

/// A contiguous output tensor with `like`'s shape, dtype, client and device.
pub(crate) fn empty_like(like: &CubeTensor) -> CubeTensor {
    empty_shaped_like(like, like.meta.shape().clone())
}

/// A contiguous output tensor of `shape` with `like`'s dtype, client and device.
pub(crate) fn empty_shaped_like(like: &CubeTensor, shape: Shape) -> CubeTensor {
    empty_device_contiguous_dtype(like.client.clone(), like.device.clone(), shape, like.dtype)
}

/// The address type a launch over `tensors` needs: the widest any of them requires.
pub(crate) fn address_type(tensors: &[&CubeTensor]) -> AddressType {
    tensors
        .iter()
        .map(|t| t.required_address_type())
        .max()
        .expect("a launch has tensors")
}

/// A cube count of `cubes` cubes, spread over two dimensions past the per-dimension limit.
pub(crate) fn cube_count(tensor: &CubeTensor, cubes: usize) -> CubeCount {
    let max = tensor.client.properties().hardware.max_cube_count.0 as usize;
    let x = cubes.min(max).max(1);
    CubeCount::Static(x as u32, cubes.div_ceil(x) as u32, 1)
}

/// One unit per work item, [`CUBE_SIZE`] units per cube.
pub(crate) fn launch_dims(tensor: &CubeTensor, work_items: usize) -> (CubeCount, CubeDim) {
    let cube_dim = CubeDim::new_1d(CUBE_SIZE);
    let count = calculate_cube_count_elemwise(&tensor.client, work_items, cube_dim);
    (count, cube_dim)
}
