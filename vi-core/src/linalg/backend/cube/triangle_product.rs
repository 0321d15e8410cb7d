//! CubeCL kernel of [`LinalgBackend::solve_triangular_grad_t`](super::super::LinalgBackend::solve_triangular_grad_t):
//! one unit per entry of the kept triangle sums its row of `B̄ Xᵀ` (or `X B̄ᵀ`), one launch in
//! place of a product, a mask and a negation.

use super::{address_type, batch_and_matrix, empty_shaped_like, float_elem_type, launch_dims};
use burn::backend::tensor::FloatTensor;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use cubecl::prelude::*;

/// Most columns `k` a unit sums over (Lavapipe's loop cap, see the module documentation of
/// [`super`]); wider inputs take the composed form.
const MAX_COLUMNS: usize = 32_768;

/// Entry `(e, i, j)` of `−tri(P Qᵀ)` for `[B, n, k]` inputs `p` and `q`: `−Σ_c P_ic Q_jc` where
/// `j ≤ i` (`upper`: `j ≥ i`), 0 elsewhere.
#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn negated_triangle_product_kernel<F: Float>(
    p: &[F],
    q: &[F],
    out: &mut [F],
    n: usize,
    k: usize,
    len: usize,
    #[comptime] upper: bool,
    #[define(F)] _dtype: ElemType,
) {
    let idx = ABSOLUTE_POS;
    if idx >= len {
        terminate!();
    }
    let j = idx % n;
    let i = (idx / n) % n;
    let e = idx / (n * n);
    let mut kept = j <= i;
    if upper {
        kept = j >= i;
    }
    let mut sum = F::new(0.0);
    if kept {
        let (row_p, row_q) = ((e * n + i) * k, (e * n + j) * k);
        for c in 0..k {
            sum += p[row_p + c] * q[row_q + c];
        }
    }
    out[idx] = F::new(0.0) - sum;
}

/// `−tri(B̄ Xᵀ)` (`−tri(X B̄ᵀ)` when `transpose`), `[.., n, n]`: [`negated_triangle_product_kernel`]
/// over contiguous copies of the inputs, or the composed form past [`MAX_COLUMNS`].
pub(crate) fn solve_triangular_grad_t(
    grad_b: FloatTensor<CubeBackend>,
    x: FloatTensor<CubeBackend>,
    upper: bool,
    transpose: bool,
) -> FloatTensor<CubeBackend> {
    let (batch, n, k) = batch_and_matrix(&x);
    if k > MAX_COLUMNS {
        return super::compose::solve_triangular_grad_t::<CubeBackend>(grad_b, x, upper, transpose);
    }
    let [grad_b, x] = [grad_b, x].map(into_contiguous);
    let out = empty_shaped_like(&x, super::compose::square_shape(x.meta.shape()));
    let len = batch * n * n;
    if len == 0 {
        return out;
    }
    let (p, q) = if transpose {
        (&x, &grad_b)
    } else {
        (&grad_b, &x)
    };
    let (count, cube_dim) = launch_dims(&x, len);
    let address_type = address_type(&[p, q, &out]);
    negated_triangle_product_kernel::launch(
        &out.client,
        count,
        cube_dim,
        address_type,
        p.clone().into_buffer_arg(),
        q.clone().into_buffer_arg(),
        out.clone().into_buffer_arg(),
        n,
        k,
        len,
        upper,
        float_elem_type(&x),
    );
    out
}
