//! CubeCL kernel of [`LinalgBackend::column_squares_change`](super::super::LinalgBackend::column_squares_change):
//! one unit per column sums down its rows (neighbouring units read neighbouring columns), one
//! launch in place of two products, two reductions and a difference.

use crate::cube::{
    address_type, batch_and_matrix, empty_shaped_like, float_elem_type, launch_dims,
};
use burn::backend::tensor::FloatTensor;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use cubecl::prelude::*;

/// Most rows a unit of [`column_squares_change_kernel`] sums (Lavapipe's loop cap, see the
/// module documentation of [`super`]); taller inputs take the composed form.
const MAX_ROWS: usize = 32_768;

/// Column `(e, j)`: `Σᵢ p[e, i, j]² − b[e, i, j]²`.
#[cube(launch, address_type = "dynamic")]
fn column_squares_change_kernel<F: Float>(
    p: &[F],
    b: &[F],
    out: &mut [F],
    n: usize,
    k: usize,
    len: usize,
    #[define(F)] _dtype: ElemType,
) {
    let idx = ABSOLUTE_POS;
    if idx >= len {
        terminate!();
    }
    let e = idx / k;
    let j = idx % k;
    let mut sum = F::new(0.0);
    for i in 0..n {
        let at = (e * n + i) * k + j;
        sum += p[at] * p[at] - b[at] * b[at];
    }
    out[idx] = sum;
}

/// [`column_squares_change_kernel`] over contiguous copies of the inputs, `[.., 1, k]`.
pub(crate) fn column_squares_change(
    p: FloatTensor<CubeBackend>,
    b: FloatTensor<CubeBackend>,
) -> FloatTensor<CubeBackend> {
    let (batch, n, k) = batch_and_matrix(&b);
    if n > MAX_ROWS {
        return super::compose::column_squares_change::<CubeBackend>(p, b);
    }
    let [p, b] = [p, b].map(into_contiguous);
    let out = empty_shaped_like(&b, super::compose::column_shape(b.meta.shape()));
    let len = batch * k;
    if len == 0 {
        return out;
    }
    let (count, cube_dim) = launch_dims(&b, len);
    let address_type = address_type(&[&p, &b, &out]);
    column_squares_change_kernel::launch(
        &out.client,
        count,
        cube_dim,
        address_type,
        p.into_buffer_arg(),
        b.clone().into_buffer_arg(),
        out.clone().into_buffer_arg(),
        n,
        k,
        len,
        float_elem_type(&b),
    );
    out
}
