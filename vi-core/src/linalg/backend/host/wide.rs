//! Triangular products and solves of one `n × n` factor against many columns (`n × k`, `k` large:
//! `L⁻¹ K_zx` in a sparse GP), as a few rectangular GEMMs over block columns.
//!
//! The recursive triangular kernels reach small blocks where a GEMM is inefficient; here every
//! block of `NB` rows is one GEMM of the full width `k` (faer's `matmul`, near the machine's
//! peak): the factor is first copied as the dense `op(T)`, zero off its triangle, so that the
//! diagonal blocks multiply as rectangles, and the solve multiplies by the inverses of its
//! `NB × NB` diagonal blocks (computed by substitution) instead of substituting row by row.
//!
//! Row-major `n × k` storage is column-major `k × n`: each kernel works on those views, where a
//! block of rows is a contiguous block of columns. About `n² k (1 + NB/n) / 2` multiply-adds per
//! kernel, against `n² k / 2` for the recursive ones and `n² k` for one full GEMM.

use crate::host::HostFloat;
use faer::linalg::matmul::matmul;
use faer::prelude::{Reborrow, ReborrowMut};
use faer::{Accum, MatMut, MatRef, Par};

/// Rows per block: one GEMM of width `k` each.
const NB: usize = 8;

/// The dense `op(T)` (`Tᵀ` when `transpose`) of the triangle of row-major `t` (`upper` or lower),
/// zero off it, and whether `op(T)` is lower triangular.
fn dense_op<T: HostFloat>(t: &[T], n: usize, upper: bool, transpose: bool) -> (Vec<T>, bool) {
    let lower = upper == transpose;
    let mut dense = vec![T::from_f64(0.0); n * n];
    for i in 0..n {
        let cols = if lower { 0..i + 1 } else { i..n };
        for j in cols {
            dense[i * n + j] = if transpose {
                t[j * n + i]
            } else {
                t[i * n + j]
            };
        }
    }
    (dense, lower)
}

/// Block rows `[start, end)` of an order-`n` matrix.
fn blocks(n: usize) -> impl DoubleEndedIterator<Item = (usize, usize)> {
    (0..n).step_by(NB).map(move |s| (s, (s + NB).min(n)))
}

/// `op(tri(T)) B` into `out`, row-major `n × k` each.
#[cfg(any(feature = "flex", feature = "ndarray"))]
pub(crate) fn triangular_matmul<T: HostFloat>(
    t: &[T],
    b: &[T],
    out: &mut [T],
    (n, k): (usize, usize),
    upper: bool,
    transpose: bool,
) {
    let (e, lower) = dense_op(t, n, upper, transpose);
    // Column-major views: `Eᵀ`, `Bᵀ`, `Cᵀ`; `C_J = E_{J,R} B_R` is `Cᵀ_{:,J} = Bᵀ_{:,R} Eᵀ_{R,J}`.
    let et = MatRef::from_column_major_slice(&e, n, n);
    let bt = MatRef::from_column_major_slice(b, k, n);
    let mut ct = MatMut::from_column_major_slice_mut(out, k, n);
    for (s, end) in blocks(n) {
        let r = if lower { 0..end } else { s..n };
        matmul(
            ct.rb_mut().subcols_mut(s, end - s),
            Accum::Replace,
            bt.subcols(r.start, r.len()),
            et.submatrix(r.start, s, r.len(), end - s),
            T::from_f64(1.0),
            Par::Seq,
        );
    }
}

/// The inverse of the order-`m` triangular diagonal block of the dense `e` (order `n`) that
/// starts at row and column `s`, written row-major into `inv`, by substitution against the
/// identity.
fn diagonal_block_inverse<T: HostFloat>(
    e: &[T],
    n: usize,
    (s, m): (usize, usize),
    lower: bool,
    inv: &mut [T],
) {
    let zero = T::from_f64(0.0);
    let d = |i: usize, j: usize| e[(s + i) * n + s + j];
    inv[..m * m].fill(zero);
    // Column c of the inverse solves D x = e_c; it is zero before c (lower) or after c (upper),
    // and its entries are found in the order substitution needs them.
    let entry = |i: usize, c: usize, inv: &mut [T]| {
        let mut acc = if i == c { T::from_f64(1.0) } else { zero };
        let solved = if lower { c..i } else { i + 1..c + 1 };
        for j in solved {
            acc -= d(i, j) * inv[j * m + c];
        }
        inv[i * m + c] = acc / d(i, i);
    };
    for c in 0..m {
        if lower {
            (c..m).for_each(|i| entry(i, c, inv));
        } else {
            (0..=c).rev().for_each(|i| entry(i, c, inv));
        }
    }
}

/// `op(tri(T)) X = B` solved in place of `b` (row-major `n × k`).
pub(crate) fn solve_triangular<T: HostFloat>(
    t: &[T],
    b: &mut [T],
    (n, k): (usize, usize),
    upper: bool,
    transpose: bool,
) {
    let (e, lower) = dense_op(t, n, upper, transpose);
    let et = MatRef::from_column_major_slice(&e, n, n);
    let mut scratch = vec![T::from_f64(0.0); k * NB];
    let mut inverse = [T::from_f64(0.0); NB * NB];
    let order: Vec<(usize, usize)> = if lower {
        blocks(n).collect()
    } else {
        blocks(n).rev().collect()
    };
    for (s, end) in order {
        let m = end - s;
        let mut xt = MatMut::from_column_major_slice_mut(b, k, n);
        // `B_J − E_{J,D} X_D` over the solved rows `D`: `Xᵀ_{:,J} −= Xᵀ_{:,D} Eᵀ_{D,J}`.
        let done = if lower { 0..s } else { end..n };
        if !done.is_empty() {
            let (left, right) = xt.rb_mut().split_at_col_mut(if lower { s } else { end });
            let (solved, mut target) = if lower {
                (left.rb(), right.subcols_mut(0, m))
            } else {
                (right.rb(), left.subcols_mut(s, m))
            };
            matmul(
                target.rb_mut(),
                Accum::Add,
                solved,
                et.submatrix(done.start, s, done.len(), m),
                T::from_f64(-1.0),
                Par::Seq,
            );
        }
        // `X_J = E_JJ⁻¹ Y_J`: `Xᵀ_{:,J} = Yᵀ_{:,J} E_JJ⁻ᵀ`, through the scratch.
        diagonal_block_inverse(&e, n, (s, m), lower, &mut inverse);
        let mut out = MatMut::from_column_major_slice_mut(&mut scratch[..k * m], k, m);
        matmul(
            out.rb_mut(),
            Accum::Replace,
            xt.rb().subcols(s, m),
            MatRef::from_column_major_slice(&inverse[..m * m], m, m),
            T::from_f64(1.0),
            Par::Seq,
        );
        b[s * k..end * k].copy_from_slice(&scratch[..k * m]);
    }
}

/// `−tri(L Rᵀ)` into `out` (row-major `n × n`, zero off the triangle) for row-major `n × k` `L`
/// and `R`: entry `(i, j)` is `−⟨Lᵢ, Rⱼ⟩` on the lower (`j ≤ i`) or upper triangle.
#[cfg(any(feature = "flex", feature = "ndarray"))]
pub(crate) fn negative_triangular_outer<T: HostFloat>(
    left: &[T],
    right: &[T],
    out: &mut [T],
    (n, k): (usize, usize),
    upper: bool,
) {
    let zero = T::from_f64(0.0);
    // Column-major views: `Lᵀ`, `Rᵀ` (`k × n`), `outᵀ`; `out_{I,C} = −L_I R_Cᵀ` is
    // `outᵀ_{C,I} = −(Rᵀ_{:,C})ᵀ Lᵀ_{:,I}`.
    let lt = MatRef::from_column_major_slice(left, k, n);
    let rt = MatRef::from_column_major_slice(right, k, n);
    out.fill(zero);
    for (s, end) in blocks(n) {
        let cols = if upper { s..n } else { 0..end };
        let mut view = MatMut::from_column_major_slice_mut(out, n, n);
        matmul(
            view.rb_mut()
                .submatrix_mut(cols.start, s, cols.len(), end - s),
            Accum::Replace,
            rt.subcols(cols.start, cols.len()).transpose(),
            lt.subcols(s, end - s),
            T::from_f64(-1.0),
            Par::Seq,
        );
        // The diagonal block's entries off the triangle.
        for i in s..end {
            let off = if upper { s..i } else { i + 1..end };
            out[i * n + off.start..i * n + off.end].fill(zero);
        }
    }
}

#[cfg(all(test, any(feature = "flex", feature = "ndarray")))]
mod tests {
    use super::{negative_triangular_outer, solve_triangular, triangular_matmul};

    fn pseudo_random(len: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }

    /// A well-conditioned factor with junk in the other triangle (which must not be read).
    fn factor(n: usize, upper: bool) -> Vec<f64> {
        let mut t = pseudo_random(n * n, 7);
        for i in 0..n {
            t[i * n + i] += 1.5;
            for j in 0..n {
                let inside = if upper { j >= i } else { j <= i };
                if inside && i != j {
                    t[i * n + j] /= n as f64;
                }
            }
        }
        t
    }

    /// `op(tri(T))` entry by entry.
    fn op_entry(t: &[f64], n: usize, i: usize, j: usize, upper: bool, transpose: bool) -> f64 {
        let (r, c) = if transpose { (j, i) } else { (i, j) };
        let inside = if upper { c >= r } else { c <= r };
        if inside { t[r * n + c] } else { 0.0 }
    }

    #[test]
    fn products_and_solves_match_the_definitions() {
        for n in [16, 17, 40, 64] {
            let k = 3 * n + 5;
            let b = pseudo_random(n * k, 11);
            for (upper, transpose) in [(false, false), (false, true), (true, false), (true, true)] {
                let t = factor(n, upper);
                let op = |i: usize, j: usize| op_entry(&t, n, i, j, upper, transpose);
                let mut product = vec![0.0; n * k];
                triangular_matmul(&t, &b, &mut product, (n, k), upper, transpose);
                for i in 0..n {
                    for c in 0..k {
                        let want: f64 = (0..n).map(|j| op(i, j) * b[j * k + c]).sum();
                        assert!(
                            (product[i * k + c] - want).abs() < 1e-12,
                            "product {n} {i} {c}"
                        );
                    }
                }
                // Solving against op(T) B returns B.
                let mut x = product.clone();
                solve_triangular(&t, &mut x, (n, k), upper, transpose);
                for (got, want) in x.iter().zip(&b) {
                    assert!((got - want).abs() < 1e-11, "solve {n} {upper} {transpose}");
                }
            }
            let right = pseudo_random(n * k, 13);
            for upper in [false, true] {
                let mut out = vec![1.0; n * n];
                negative_triangular_outer(&b, &right, &mut out, (n, k), upper);
                for i in 0..n {
                    for j in 0..n {
                        let inside = if upper { j >= i } else { j <= i };
                        let want = if inside {
                            -(0..k).map(|c| b[i * k + c] * right[j * k + c]).sum::<f64>()
                        } else {
                            0.0
                        };
                        assert!((out[i * n + j] - want).abs() < 1e-11, "outer {n} {i} {j}");
                    }
                }
            }
        }
    }
}
