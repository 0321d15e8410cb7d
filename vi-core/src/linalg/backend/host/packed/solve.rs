//! The batched triangular solve on packed groups: forward substitution (an upper or transposed
//! factor packed reversed).

use super::lanes::{LANES, Lanes, Padding, by_width, dispatch, for_each_group, row, sub_mul};
use super::pack::{pack_lower, pack_rows, unpack_rows};
use crate::host::HostFloat;

/// Batched triangular solve `op(T) X = B` in place of the row-major `n × k` blocks of `rhs`, with
/// the matching `n × n` blocks of `tri` (see [`crate::linalg::backend::LinalgBackend::solve_triangular`]).
///
/// `op(T)` is packed as a lower triangle, reversed in both indices when it is upper (which turns
/// back substitution into forward substitution), and the right-hand sides row by row, reversed
/// likewise.
pub(crate) fn solve_triangular<T: HostFloat>(
    tri: &[T],
    rhs: &mut [T],
    shape: (usize, usize),
    upper: bool,
    transpose: bool,
) {
    let count = tri.len() / (shape.0 * shape.0).max(1);
    by_width!(
        count,
        solve_triangular_w::<T>(tri, rhs, shape, upper, transpose)
    )
}

fn solve_triangular_w<T: HostFloat, const W: usize>(
    tri: &[T],
    rhs: &mut [T],
    (n, k): (usize, usize),
    upper: bool,
    transpose: bool,
) {
    let reverse = upper != transpose;
    let buffers = (n * k, row(n));
    for_each_group::<T, _, _, W>(
        (rhs, n * k),
        [(tri, n * n)],
        buffers,
        |chunk, [tri], x, lower| {
            pack_lower(tri, n, (transpose, reverse), Padding::Identity, lower);
            pack_rows(chunk, (n, k), reverse, x);
            substitute(lower, x, (n, k));
            unpack_rows(x, (n, k), reverse, chunk);
        },
    );
}

dispatch! {
    /// Forward substitution on a packed group.
    pub(super) fn substitute => substitute_lanes(lower: &[Lanes<T, W>], x: &mut [Lanes<T, W>], shape: (usize, usize))
}

/// `X_i = (B_i − Σ_{m<i} L_im X_m) / L_ii` row by row, in place of the packed right-hand sides,
/// several columns of `X_i` at a time kept in registers.
#[inline(always)]
pub(super) fn substitute_lanes<T: HostFloat, const FMA: bool, const W: usize>(
    lower: &[Lanes<T, W>],
    x: &mut [Lanes<T, W>],
    (n, k): (usize, usize),
) {
    for i in 0..n {
        let (done, rest) = x.split_at_mut(i * k);
        let x_i = &mut rest[..k];
        let t = &lower[row(i)..row(i) + i];
        let mut c = 0;
        if size_of::<T>() <= 4 {
            c = substitute_columns::<T, FMA, 8, W>(t, done, x_i, c);
        }
        c = substitute_columns::<T, FMA, 4, W>(t, done, x_i, c);
        substitute_columns::<T, FMA, 1, W>(t, done, x_i, c);
        let d = lower[row(i) + i];
        for x_i in x_i {
            for l in 0..W {
                x_i[l] /= d[l];
            }
        }
    }
}

/// `X_i −= Σ_{m<i} L_im X_m` for columns `first..` of row `i`, `C` at a time while `C` remain;
/// returns the first column left.
#[inline(always)]
fn substitute_columns<T: HostFloat, const FMA: bool, const C: usize, const W: usize>(
    t: &[Lanes<T, W>],
    done: &[Lanes<T, W>],
    x_i: &mut [Lanes<T, W>],
    first: usize,
) -> usize {
    let k = x_i.len();
    let mut c = first;
    while c + C <= k {
        let mut sums: [Lanes<T, W>; C] = std::array::from_fn(|offset| x_i[c + offset]);
        for (t, x_m) in t.iter().zip(done.chunks_exact(k)) {
            for (sum, x) in sums.iter_mut().zip(&x_m[c..c + C]) {
                sub_mul::<T, FMA, W>(sum, t, x);
            }
        }
        x_i[c..c + C].copy_from_slice(&sums);
        c += C;
    }
    c
}
