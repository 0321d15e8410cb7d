//! CubeCL kernels of [`SparseGpBackend::whitened_variance`](super::super::SparseGpBackend::whitened_variance)
//! and its reverse mode: one launch forward (a cube per column forms its share of `P = Lᵀ B`,
//! sums the squares in shared memory and clamps), two backward (`B̄` with `σ̄₀²`, then `L̄`), where
//! the composed forms take about seven and twelve.

use crate::cube::{
    address_type, batch_and_matrix, cube_count, cube_sum, empty_like, float_elem_type, launch_dims,
};
use crate::linalg::backend::cube::{MAX_COLUMNS, triangle_product};
use burn::backend::tensor::FloatTensor;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use cubecl::prelude::*;

/// Units per cube of [`whitened_variance_kernel`] (a power of two: the column sum is a tree).
const UNITS: usize = 64;

/// Largest order `n` the kernels take: a unit of the forward kernel runs about
/// `n² / (2 UNITS)` loop iterations, well below Lavapipe's cap of 65535 (see the module
/// documentation of [`crate::linalg::backend::cube`]); larger factors take the composed form.
const MAX_ORDER: usize = 2048;

/// Column `c = (e, j)` per cube: `Pᵢⱼ = Σ_{r≥i} L_ri B_rj` for the unit's rows `i`, written out,
/// then `v = max(σ₀² + Σᵢ Pᵢⱼ² − Bᵢⱼ², 0)` (NaN stays NaN).
#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn whitened_variance_kernel<F: Float>(
    l: &[F],
    b: &[F],
    prior: &[F],
    variance: &mut [F],
    product: &mut [F],
    n: usize,
    k: usize,
    columns: usize,
    #[comptime] units: usize,
    #[define(F)] _dtype: ElemType,
) {
    if CUBE_POS >= columns {
        terminate!();
    }
    let mut partial = Shared::<[F]>::new_slice(units);
    let unit = UNIT_POS as usize;
    let e = CUBE_POS / k;
    let j = CUBE_POS % k;
    let mut sum = F::new(0.0);
    let mut i = unit;
    while i < n {
        let mut p = F::new(0.0);
        for r in i..n {
            p += l[(e * n + r) * n + i] * b[(e * n + r) * k + j];
        }
        let at = (e * n + i) * k + j;
        product[at] = p;
        sum += p * p - b[at] * b[at];
        i += units;
    }
    let total = cube_sum::<F>(sum, &mut partial);
    if unit == 0 {
        let mut v = prior[CUBE_POS] + total;
        if v < F::new(0.0) {
            v = F::new(0.0);
        }
        variance[CUBE_POS] = v;
    }
}

/// Entry `(e, r, j)` of `B̄ = 2 (L P − B) diag(g)`, `g = ḡ ∘ [v > 0]`; row 0 also writes `gⱼ`.
#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn whitened_variance_grad_input_kernel<F: Float>(
    l: &[F],
    b: &[F],
    product: &[F],
    variance: &[F],
    grad: &[F],
    grad_b: &mut [F],
    grad_prior: &mut [F],
    n: usize,
    k: usize,
    len: usize,
    #[define(F)] _dtype: ElemType,
) {
    let idx = ABSOLUTE_POS;
    if idx >= len {
        terminate!();
    }
    let j = idx % k;
    let r = (idx / k) % n;
    let e = idx / (n * k);
    let column = e * k + j;
    let mut g = F::new(0.0);
    if variance[column] > F::new(0.0) {
        g = grad[column];
    }
    let mut lp = F::new(0.0);
    for i in 0..r + 1 {
        lp += l[(e * n + r) * n + i] * product[(e * n + i) * k + j];
    }
    grad_b[idx] = F::new(2.0) * g * (lp - b[idx]);
    if r == 0 {
        grad_prior[column] = g;
    }
}

/// Whether the kernels take `L` `[.., n, n]` and `B` `[.., n, k]`.
fn fits(n: usize, k: usize) -> bool {
    n <= MAX_ORDER && k <= MAX_COLUMNS
}

/// [`whitened_variance_kernel`] over contiguous copies of the inputs: `(v [.., 1, k], P)`.
pub(crate) fn whitened_variance(
    l: FloatTensor<CubeBackend>,
    b: FloatTensor<CubeBackend>,
    prior_variance: FloatTensor<CubeBackend>,
) -> (FloatTensor<CubeBackend>, FloatTensor<CubeBackend>) {
    let (batch, n, k) = batch_and_matrix(&b);
    if !fits(n, k) || batch * n * k == 0 {
        return super::super::compose::whitened_variance::<CubeBackend>(l, b, prior_variance);
    }
    let [l, b, prior] = [l, b, prior_variance].map(into_contiguous);
    let variance = empty_like(&prior);
    let product = empty_like(&b);
    let columns = batch * k;
    let address_type = address_type(&[&l, &b, &prior, &product]);
    whitened_variance_kernel::launch(
        &b.client,
        cube_count(&b, columns),
        CubeDim::new_1d(UNITS as u32),
        address_type,
        l.into_buffer_arg(),
        b.clone().into_buffer_arg(),
        prior.into_buffer_arg(),
        variance.clone().into_buffer_arg(),
        product.clone().into_buffer_arg(),
        n,
        k,
        columns,
        UNITS,
        float_elem_type(&b),
    );
    (variance, product)
}

/// [`whitened_variance_grad_input_kernel`] then [`triangle_product`] for the factor:
/// `(L̄, B̄, σ̄₀²)`.
pub(crate) fn whitened_variance_backward(
    l: FloatTensor<CubeBackend>,
    b: FloatTensor<CubeBackend>,
    product: FloatTensor<CubeBackend>,
    variance: FloatTensor<CubeBackend>,
    grad: FloatTensor<CubeBackend>,
) -> (
    FloatTensor<CubeBackend>,
    FloatTensor<CubeBackend>,
    FloatTensor<CubeBackend>,
) {
    let (batch, n, k) = batch_and_matrix(&b);
    if !fits(n, k) || batch * n * k == 0 {
        return super::super::compose::whitened_variance_backward::<CubeBackend>(
            l, b, product, variance, grad,
        );
    }
    let [l, b, product, variance, grad] = [l, b, product, variance, grad].map(into_contiguous);
    let grad_b = empty_like(&b);
    let grad_prior = empty_like(&variance);
    let elem_type = float_elem_type(&b);
    let len = batch * n * k;
    let (count, cube_dim) = launch_dims(&b, len);
    let address_type = address_type(&[&l, &b, &product]);
    whitened_variance_grad_input_kernel::launch(
        &b.client,
        count,
        cube_dim,
        address_type,
        l.clone().into_buffer_arg(),
        b.clone().into_buffer_arg(),
        product.clone().into_buffer_arg(),
        variance.into_buffer_arg(),
        grad.into_buffer_arg(),
        grad_b.clone().into_buffer_arg(),
        grad_prior.clone().into_buffer_arg(),
        n,
        k,
        len,
        elem_type,
    );
    // `L̄ = 2 tril(B diag(g) Pᵀ)`, with `g` as the first kernel wrote it.
    let grad_l = triangle_product(&b, &product, Some(&grad_prior), 2.0, false);
    (grad_l, grad_b, grad_prior)
}
