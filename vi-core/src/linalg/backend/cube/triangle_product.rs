//! CubeCL kernel of a triangle of a weighted product, `c · tri(P diag(w) Qᵀ)`: one unit per
//! entry of the kept triangle sums its row. It is
//! [`LinalgBackend::solve_triangular_grad_t`](super::super::LinalgBackend::solve_triangular_grad_t)
//! (`c = −1`, no weights: one launch in place of a product, a mask and a negation) and the factor
//! gradient of [`SparseGpBackend::whitened_variance`](crate::sparse_gp::backend::SparseGpBackend::whitened_variance)
//! (`c = 2`, the clamped upstream gradient as weights).

use crate::cube::{
    address_type, batch_and_matrix, empty_shaped_like, float_elem_type, launch_dims,
};
use burn::backend::tensor::FloatTensor;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

/// Most columns `k` a unit sums over (Lavapipe's loop cap, see the module documentation of
/// [`super`]); wider inputs take the composed form.
pub(crate) const MAX_COLUMNS: usize = 32_768;

/// Entry `(e, i, j)` of `c · tri(P diag(w) Qᵀ)` for `[B, n, k]` inputs `p` and `q` and, when
/// `weighted`, column weights `w` `[B, 1, k]`: `c Σ_h P_ih w_h Q_jh` where `j ≤ i` (`upper`:
/// `j ≥ i`), 0 elsewhere.
#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn triangle_product_kernel<F: Float>(
    p: &[F],
    q: &[F],
    weights: &[F],
    out: &mut [F],
    factor: InputScalar,
    n: usize,
    k: usize,
    len: usize,
    #[comptime] upper: bool,
    #[comptime] weighted: bool,
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
        for h in 0..k {
            let mut term = p[row_p + h] * q[row_q + h];
            if weighted {
                term *= weights[e * k + h];
            }
            sum += term;
        }
    }
    out[idx] = factor.get::<F>() * sum;
}

/// `c · tri(P diag(w) Qᵀ)` `[.., n, n]` for contiguous `p`, `q` `[.., n, k]` (`k ≤ MAX_COLUMNS`)
/// and optional contiguous weights `[.., 1, k]`: one launch of [`triangle_product_kernel`].
pub(crate) fn triangle_product(
    p: &CubeTensor,
    q: &CubeTensor,
    weights: Option<&CubeTensor>,
    factor: f64,
    upper: bool,
) -> CubeTensor {
    let (batch, n, k) = batch_and_matrix(p);
    let out = empty_shaped_like(p, super::compose::square_shape(p.meta.shape()));
    let len = batch * n * n;
    if len == 0 {
        return out;
    }
    let (count, cube_dim) = launch_dims(p, len);
    let address_type = address_type(&[p, q, &out]);
    let elem_type = float_elem_type(p);
    triangle_product_kernel::launch(
        &out.client,
        count,
        cube_dim,
        address_type,
        p.clone().into_buffer_arg(),
        q.clone().into_buffer_arg(),
        // Unweighted, `p` stands in for the weights, which are then not read.
        weights.unwrap_or(p).clone().into_buffer_arg(),
        out.clone().into_buffer_arg(),
        InputScalar::new(factor, elem_type),
        n,
        k,
        len,
        upper,
        weights.is_some(),
        elem_type,
    );
    out
}

/// `−tri(B̄ Xᵀ)` (`−tri(X B̄ᵀ)` when `transpose`), `[.., n, n]`: [`triangle_product`] over
/// contiguous copies of the inputs, or the composed form past [`MAX_COLUMNS`].
pub(crate) fn solve_triangular_grad_t(
    grad_b: FloatTensor<CubeBackend>,
    x: FloatTensor<CubeBackend>,
    upper: bool,
    transpose: bool,
) -> FloatTensor<CubeBackend> {
    let (_, _, k) = batch_and_matrix(&x);
    if k > MAX_COLUMNS {
        return super::compose::solve_triangular_grad_t::<CubeBackend>(grad_b, x, upper, transpose);
    }
    let [grad_b, x] = [grad_b, x].map(into_contiguous);
    let (p, q) = if transpose {
        (&x, &grad_b)
    } else {
        (&grad_b, &x)
    };
    triangle_product(p, q, None, -1.0, upper)
}
