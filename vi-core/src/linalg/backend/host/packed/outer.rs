//! `−tri(left rightᵀ)` on packed groups: the triangle gradient of a batched triangular solve.

use super::lanes::{LANES, Lanes, by_width, dispatch, for_each_group, sub_mul};
use super::pack::pack_rows;
use crate::host::HostFloat;

/// `−tri(left rightᵀ)` for the row-major `n × k` blocks of `left` and `right` into the zeroed
/// `n × n` blocks of `out`: entry `(i, j)` is `−⟨left_i, right_j⟩` on the upper (`j ≥ i`) or lower
/// (`j ≤ i`) triangle, zero off it (see [`crate::linalg::backend::LinalgBackend::solve_triangular_grad_t`]).
pub(crate) fn negative_triangular_outer<T: HostFloat>(
    left: &[T],
    right: &[T],
    out: &mut [T],
    shape: (usize, usize),
    upper: bool,
) {
    let count = out.len() / (shape.0 * shape.0).max(1);
    by_width!(
        count,
        negative_triangular_outer_w::<T>(left, right, out, shape, upper)
    )
}

fn negative_triangular_outer_w<T: HostFloat, const W: usize>(
    left: &[T],
    right: &[T],
    out: &mut [T],
    (n, k): (usize, usize),
    upper: bool,
) {
    let buffers = (n * k, n * k);
    let others = [(left, n * k), (right, n * k)];
    for_each_group::<T, _, _, W>(
        (out, n * n),
        others,
        buffers,
        |chunk, [left, right], a, b| {
            pack_rows(left, (n, k), false, a);
            pack_rows(right, (n, k), false, b);
            outer(a, b, (n, k, upper), chunk);
        },
    );
}

dispatch! {
    /// The triangle of [`negative_triangular_outer`] on a packed group.
    fn outer => outer_lanes(a: &[Lanes<T, W>], b: &[Lanes<T, W>], shape: (usize, usize, bool), out: &mut [T])
}

#[inline(always)]
fn outer_lanes<T: HostFloat, const FMA: bool, const W: usize>(
    a: &[Lanes<T, W>],
    b: &[Lanes<T, W>],
    (n, k, upper): (usize, usize, bool),
    out: &mut [T],
) {
    let zero = T::from_f64(0.0);
    let count = out.len() / (n * n);
    for i in 0..n {
        let columns = if upper { i..n } else { 0..i + 1 };
        let a_i = &a[i * k..(i + 1) * k];
        for j in columns {
            let mut sum = [zero; W];
            for (a, b) in a_i.iter().zip(&b[j * k..(j + 1) * k]) {
                sub_mul::<T, FMA, W>(&mut sum, a, b);
            }
            for (lane, value) in sum.into_iter().enumerate().take(count) {
                out[lane * n * n + i * n + j] = value;
            }
        }
    }
}
