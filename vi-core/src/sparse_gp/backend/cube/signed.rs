//! CubeCL kernel of [`SparseGpBackend::column_signed_lower`](super::super::SparseGpBackend::column_signed_lower):
//! one unit per entry, in place of the mask, diagonal, comparison and products of the composed
//! form.

use crate::cube::{address_type, empty_like, float_elem_type, launch_dims};
use burn::backend::tensor::FloatTensor;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use cubecl::prelude::*;

/// Entry `(e, i, j)`: `x_ij`, negated where `raw_jj < 0`, for `i ≥ j`; 0 above the diagonal.
#[cube(launch, address_type = "dynamic")]
fn column_signed_lower_kernel<F: Float>(
    raw: &[F],
    x: &[F],
    out: &mut [F],
    n: usize,
    len: usize,
    #[define(F)] _dtype: ElemType,
) {
    let idx = ABSOLUTE_POS;
    if idx >= len {
        terminate!();
    }
    let j = idx % n;
    let i = (idx / n) % n;
    let mut value = F::new(0.0);
    if j <= i {
        value = x[idx];
        if raw[(idx / (n * n)) * n * n + j * (n + 1)] < F::new(0.0) {
            value = F::new(0.0) - value;
        }
    }
    out[idx] = value;
}

/// [`column_signed_lower_kernel`] over contiguous copies of the inputs.
pub(crate) fn column_signed_lower(
    raw: FloatTensor<CubeBackend>,
    x: FloatTensor<CubeBackend>,
) -> FloatTensor<CubeBackend> {
    let [raw, x] = [raw, x].map(into_contiguous);
    let shape = x.meta.shape();
    let n = shape[shape.num_dims() - 1];
    let len = shape.num_elements();
    let out = empty_like(&x);
    if len == 0 {
        return out;
    }
    let (count, cube_dim) = launch_dims(&x, len);
    let address_type = address_type(&[&raw, &x, &out]);
    column_signed_lower_kernel::launch(
        &out.client,
        count,
        cube_dim,
        address_type,
        raw.into_buffer_arg(),
        x.clone().into_buffer_arg(),
        out.clone().into_buffer_arg(),
        n,
        len,
        float_elem_type(&x),
    );
    out
}
