//! CubeCL kernel of [`SparseGpBackend::standard_normal_kl`](super::super::SparseGpBackend::standard_normal_kl)
//! and its factor gradient: one cube sums the entries' terms ([`cube_sum`]; past
//! [`SUM_MAX_LEN`] entries one unit per entry and Burn's reduction), one unit per entry writes
//! its gradient — one launch each way where the composed forms take about twenty and ten.

use crate::cube::{
    SUM_MAX_LEN, SUM_UNITS, address_type, cube_sum, empty_like, empty_shaped_like, float_elem_type,
    sum_or_elementwise_dims,
};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::tensor::Shape;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use cubecl::prelude::*;

/// Entry `idx = (e, i, j)` of the factors `L` (`[B, n, n]`): the term `½ Lᵢⱼ²` below the
/// diagonal, `½ (Lᵢᵢ² + mᵢ² − 1) − ln|Lᵢᵢ|` on it and 0 above (their sum is the KL), or with
/// `gradient` `ḡ Lᵢⱼ` below the diagonal, `ḡ (Lᵢᵢ − 1/Lᵢᵢ)` on it and 0 above.
#[cube]
fn kl_entry<F: Float>(
    idx: usize,
    loc: &[F],
    l: &[F],
    grad: &[F],
    n: usize,
    #[comptime] gradient: bool,
) -> F {
    let j = idx % n;
    let i = (idx / n) % n;
    let v = l[idx];
    let mut value = F::new(0.0);
    if gradient {
        if j < i {
            value = grad[0] * v;
        } else if j == i {
            value = grad[0] * (v - F::new(1.0) / v);
        }
    } else if j < i {
        value = F::new(0.5) * v * v;
    } else if j == i {
        let m = loc[(idx / (n * n)) * n + i];
        value = F::new(0.5) * (v * v + m * m - F::new(1.0)) - v.abs().ln();
    }
    value
}

/// One unit per entry writes its [`kl_entry`] (and, `with_loc`, each diagonal entry's unit the
/// mean's gradient `ḡ mᵢ` to `grad_loc`); with `summed` (the terms), one cube instead adds
/// every `CUBE_DIM`-th entry per unit and [`cube_sum`] writes the KL to `out[0]`.
#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn standard_normal_kl_kernel<F: Float>(
    loc: &[F],
    l: &[F],
    grad: &[F],
    out: &mut [F],
    grad_loc: &mut [F],
    n: usize,
    len: usize,
    #[comptime] gradient: bool,
    #[comptime] summed: bool,
    #[comptime] with_loc: bool,
    #[define(F)] _dtype: ElemType,
) {
    if summed {
        let mut partial = Shared::<[F]>::new_slice(SUM_UNITS);
        let mut acc = F::new(0.0);
        let mut idx = UNIT_POS as usize;
        while idx < len {
            acc += kl_entry::<F>(idx, loc, l, grad, n, gradient);
            idx += CUBE_DIM as usize;
        }
        let total = cube_sum::<F>(acc, &mut partial);
        if UNIT_POS == 0 {
            out[0] = total;
        }
    } else {
        let idx = ABSOLUTE_POS;
        if idx < len {
            out[idx] = kl_entry::<F>(idx, loc, l, grad, n, gradient);
            // The diagonal's units also write the mean's gradient `ḡ mᵢ`.
            if with_loc && idx % n == (idx / n) % n {
                let at = (idx / (n * n)) * n + idx % n;
                grad_loc[at] = grad[0] * loc[at];
            }
        }
    }
}

/// [`standard_normal_kl_kernel`] over contiguous copies of the inputs, the output in `l`'s
/// shape. `loc` and `grad` stand in for each other where unread.
fn per_entry(
    loc: FloatTensor<CubeBackend>,
    l: FloatTensor<CubeBackend>,
    grad: FloatTensor<CubeBackend>,
    gradient: bool,
    summed: bool,
) -> FloatTensor<CubeBackend> {
    launch(loc, l, grad, gradient, summed, false).0
}

/// One launch of [`standard_normal_kl_kernel`] over contiguous copies of the inputs: its output
/// and, `with_loc`, the mean's gradient in `loc`'s shape (else a placeholder).
fn launch(
    loc: FloatTensor<CubeBackend>,
    l: FloatTensor<CubeBackend>,
    grad: FloatTensor<CubeBackend>,
    gradient: bool,
    summed: bool,
    with_loc: bool,
) -> (FloatTensor<CubeBackend>, FloatTensor<CubeBackend>) {
    let [loc, l, grad] = [loc, l, grad].map(into_contiguous);
    let grad_loc = if with_loc {
        empty_like(&loc)
    } else {
        empty_shaped_like(&loc, Shape::new([1]))
    };
    let shape = l.meta.shape();
    let n = shape[shape.num_dims() - 1];
    let len = shape.num_elements();
    let out = if summed {
        empty_shaped_like(&l, Shape::new([1]))
    } else {
        empty_like(&l)
    };
    let (count, cube_dim) = sum_or_elementwise_dims(summed, &l, len);
    let address_type = address_type(&[&loc, &l, &grad, &out]);
    standard_normal_kl_kernel::launch(
        &out.client,
        count,
        cube_dim,
        address_type,
        loc.into_buffer_arg(),
        l.clone().into_buffer_arg(),
        grad.into_buffer_arg(),
        out.clone().into_buffer_arg(),
        grad_loc.clone().into_buffer_arg(),
        n,
        len,
        gradient,
        summed,
        with_loc,
        float_elem_type(&l),
    );
    (out, grad_loc)
}

/// The KL summed over every batch element, `[1]`.
pub(crate) fn standard_normal_kl(
    loc: FloatTensor<CubeBackend>,
    l: FloatTensor<CubeBackend>,
) -> FloatTensor<CubeBackend> {
    let len = l.meta.shape().num_elements();
    if len == 0 {
        return super::super::compose::standard_normal_kl::<CubeBackend>(loc, l);
    }
    if len <= SUM_MAX_LEN {
        return per_entry(loc.clone(), l, loc, false, true);
    }
    let terms = per_entry(loc.clone(), l, loc, false, false);
    CubeBackend::float_sum(CubeBackend::float_reshape(terms, Shape::new([len])))
}

/// `ḡ (tril(L) − diag(1/Lᵢᵢ))`, `l`'s shape.
pub(crate) fn standard_normal_kl_grad_factor(
    l: FloatTensor<CubeBackend>,
    grad: FloatTensor<CubeBackend>,
) -> FloatTensor<CubeBackend> {
    if l.meta.shape().num_elements() == 0 {
        return super::super::compose::standard_normal_kl_grad_factor::<CubeBackend>(l, grad);
    }
    per_entry(grad.clone(), l, grad, true, false)
}

/// `(ḡ m, ḡ (tril(L) − diag(1/Lᵢᵢ)))` in one launch.
pub(crate) fn standard_normal_kl_backward(
    loc: FloatTensor<CubeBackend>,
    l: FloatTensor<CubeBackend>,
    grad: FloatTensor<CubeBackend>,
) -> (FloatTensor<CubeBackend>, FloatTensor<CubeBackend>) {
    if l.meta.shape().num_elements() == 0 {
        return super::super::compose::standard_normal_kl_backward::<CubeBackend>(loc, l, grad);
    }
    let (grad_l, grad_loc) = launch(loc, l, grad, true, false, true);
    (grad_loc, grad_l)
}
