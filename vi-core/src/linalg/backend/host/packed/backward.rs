//! Murray's unblocked Cholesky reverse mode on packed groups, and on one matrix (the diagonal
//! blocks of the blocked reverse mode).

use super::lanes::{LANES, Lanes, Padding, by_width, dispatch, for_each_group, row, sub_mul};
use super::pack::pack_lower;
use crate::host::HostFloat;

/// Batched Cholesky backward in place of the row-major gradient blocks `grads` (`Ḡ` in, `Ā` out,
/// the symmetric convention of [`crate::linalg::backend::LinalgBackend::cholesky_backward`]), given the factors.
pub(crate) fn cholesky_backward<T: HostFloat>(factors: &[T], grads: &mut [T], n: usize) {
    by_width!(
        grads.len() / (n * n).max(1),
        cholesky_backward_w::<T>(factors, grads, n)
    )
}

fn cholesky_backward_w<T: HostFloat, const W: usize>(factors: &[T], grads: &mut [T], n: usize) {
    let (len, tri) = (n * n, row(n));
    let others = [(factors, len)];
    for_each_group::<T, _, _, W>(
        (grads, len),
        others,
        (tri, tri),
        |chunk, [factors], grad, factor| {
            pack_lower(factors, n, (false, false), Padding::Identity, factor);
            pack_lower(chunk, n, (false, false), Padding::Zero, grad);
            factor_backward(factor, grad, n);
            unpack_symmetric(grad, n, chunk);
        },
    );
}

/// Murray's unblocked reverse mode on one row-major matrix: `grad` holds `Ḡ` (lower triangle
/// read) and receives the lower-triangular `M` of [`factor_backward_lanes`] (zero above the
/// diagonal) — the diagonal-block step of the blocked reverse mode for large matrices, which
/// lends `scratch` (resized here to two packed triangles) to all its blocks.
pub(crate) fn cholesky_backward_lower<T: HostFloat>(
    factor: &[T],
    grad: &mut [T],
    n: usize,
    scratch: &mut Vec<[T; 1]>,
) {
    let zero = [T::from_f64(0.0); 1];
    scratch.resize(2 * row(n), zero);
    let (l, m) = scratch.split_at_mut(row(n));
    pack_lower::<T, 1>(factor, n, (false, false), Padding::Identity, l);
    pack_lower::<T, 1>(grad, n, (false, false), Padding::Zero, m);
    factor_backward(l, m, n);
    for i in 0..n {
        for k in 0..n {
            grad[i * n + k] = if k <= i { m[row(i) + k][0] } else { zero[0] };
        }
    }
}

dispatch! {
    /// Runs the backward pass on a packed group.
    pub(super) fn factor_backward => factor_backward_lanes(factor: &[Lanes<T, W>], grad: &mut [Lanes<T, W>], n: usize)
}

/// Reverse mode of the left-looking factorisation, column by column from the last (Murray 2016,
/// "Differentiation of the Cholesky decomposition", §4.1, `chol_unblocked_rev`). With row `j`
/// of `L` split into `r = L_{j,<j}`, `d = L_jj`, the column below it `c = L_{>j,j}` and the block
/// `B = L_{>j,<j}` (and the same parts of `Ḡ`, overwritten by `Ā`):
///
/// `d̄ ← (d̄ − cᵀc̄/d)/d`, `c̄ ← c̄/d`, `r̄ ← r̄ − d̄ r − c̄ᵀB`, `B̄ ← B̄ − c̄ rᵀ`, `d̄ ← d̄/2`.
///
/// The result `M` is lower triangular: `∂f/∂A_ij` for `i > j` with `A`'s lower triangle as the
/// input, and `∂f/∂A_ii` on the diagonal.
#[inline(always)]
pub(super) fn factor_backward_lanes<T: HostFloat, const FMA: bool, const W: usize>(
    factor: &[Lanes<T, W>],
    grad: &mut [Lanes<T, W>],
    n: usize,
) {
    let (zero, one, half) = (T::from_f64(0.0), T::from_f64(1.0), T::from_f64(0.5));
    for j in (0..n).rev() {
        let rj = row(j);
        let mut inverse = factor[rj + j];
        for value in &mut inverse {
            *value = one / *value;
        }
        // c̄ ← c̄/d, and −cᵀc̄ on the way.
        let mut dot = [zero; W];
        for i in j + 1..n {
            let (c, c_bar) = (factor[row(i) + j], &mut grad[row(i) + j]);
            sub_mul::<T, FMA, W>(&mut dot, &c, c_bar);
            for l in 0..W {
                c_bar[l] *= inverse[l];
            }
        }
        let mut d_bar = grad[rj + j];
        for l in 0..W {
            d_bar[l] = (d_bar[l] + dot[l] * inverse[l]) * inverse[l];
        }
        // r̄ ← r̄ − d̄ r − c̄ᵀ B and B̄ ← B̄ − c̄ rᵀ, a few columns of the block at a time.
        let (head, tail) = grad.split_at_mut(row(j + 1));
        let r_bar = &mut head[rj..rj + j];
        let r = &factor[rj..rj + j];
        for (r_bar, r) in r_bar.iter_mut().zip(r) {
            sub_mul::<T, FMA, W>(r_bar, &d_bar, r);
        }
        let block = (j, n);
        let mut k = 0;
        if size_of::<T>() <= 4 {
            k = update_block::<T, FMA, 4, W>(factor, tail, r_bar, block, k);
        }
        k = update_block::<T, FMA, 2, W>(factor, tail, r_bar, block, k);
        update_block::<T, FMA, 1, W>(factor, tail, r_bar, block, k);
        for value in &mut d_bar {
            *value *= half;
        }
        head[rj + j] = d_bar;
    }
}

/// `r̄ ← r̄ − c̄ᵀ B` and `B̄ ← B̄ − c̄ rᵀ` of column `j`'s step of [`factor_backward_lanes`] for
/// columns `first..j` of the block, `C` columns at a time (their `r̄` and `r` in registers) while
/// `C` remain; returns the first column left. `tail` is the packed gradient from row `j + 1` on.
#[inline(always)]
fn update_block<T: HostFloat, const FMA: bool, const C: usize, const W: usize>(
    factor: &[Lanes<T, W>],
    tail: &mut [Lanes<T, W>],
    r_bar: &mut [Lanes<T, W>],
    (j, n): (usize, usize),
    first: usize,
) -> usize {
    let rj = row(j);
    let mut k = first;
    while k + C <= j {
        let mut sums: [Lanes<T, W>; C] = std::array::from_fn(|w| r_bar[k + w]);
        let r: [Lanes<T, W>; C] = std::array::from_fn(|w| factor[rj + k + w]);
        for i in j + 1..n {
            let ri = row(i);
            let start = ri - row(j + 1);
            let c_bar = tail[start + j];
            let b = &factor[ri + k..ri + k + C];
            let b_bar = &mut tail[start + k..start + k + C];
            for w in 0..C {
                sub_mul::<T, FMA, W>(&mut sums[w], &c_bar, &b[w]);
                sub_mul::<T, FMA, W>(&mut b_bar[w], &c_bar, &r[w]);
            }
        }
        r_bar[k..k + C].copy_from_slice(&sums);
        k += C;
    }
    k
}

/// Writes the packed lower-triangular `M` of [`factor_backward_lanes`] back as the symmetric
/// gradient `½(M + Mᵀ)`.
fn unpack_symmetric<T: HostFloat, const W: usize>(
    packed: &[Lanes<T, W>],
    n: usize,
    blocks: &mut [T],
) {
    let half = T::from_f64(0.5);
    for (lane, block) in blocks.chunks_exact_mut(n * n).enumerate() {
        for i in 0..n {
            for k in 0..i {
                let value = packed[row(i) + k][lane] * half;
                block[i * n + k] = value;
                block[k * n + i] = value;
            }
            block[i * n + i] = packed[row(i) + i][lane];
        }
    }
}
