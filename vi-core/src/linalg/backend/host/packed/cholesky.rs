//! The batched Cholesky factorisation on packed groups: left-looking, columns in pairs and rows
//! in register tiles.

use super::lanes::{LANES, Lanes, Padding, Slot, by_width, dispatch, for_each_group, row, sub_mul};
use super::pack::{for_each_tile, has_avx2, pack_lower, scatter_tile};
use crate::host::HostFloat;
#[cfg(any(feature = "flex", all(test, feature = "ndarray")))]
use std::mem::MaybeUninit;

/// Batched Cholesky of the row-major blocks of `a` into `out` (see
/// [`crate::linalg::backend::LinalgBackend::cholesky`]'s contract): `L` on and below the diagonal, zero above, and
/// rows `j..n` NaN in a matrix whose pivot `j` is not positive.
#[cfg(any(feature = "flex", all(test, feature = "ndarray")))]
pub(crate) fn cholesky_into<T: HostFloat>(a: &[T], out: &mut [MaybeUninit<T>], n: usize) {
    by_width!(a.len() / (n * n).max(1), cholesky_into_w::<T>(a, out, n))
}

#[cfg(any(feature = "flex", all(test, feature = "ndarray")))]
fn cholesky_into_w<T: HostFloat, const W: usize>(a: &[T], out: &mut [MaybeUninit<T>], n: usize) {
    let len = n * n;
    for_each_group::<T, _, _, W>(
        (out, len),
        [(a, len)],
        (row(n), 0),
        |chunk, [a], packed, _| {
            pack_lower(a, n, (false, false), Padding::Identity, packed);
            factor(packed, n);
            unpack_factor(packed, n, chunk);
        },
    );
}

/// [`cholesky_into`] in place.
pub(crate) fn cholesky<T: HostFloat>(blocks: &mut [T], n: usize) {
    by_width!(blocks.len() / (n * n).max(1), cholesky_w::<T>(blocks, n))
}

fn cholesky_w<T: HostFloat, const W: usize>(blocks: &mut [T], n: usize) {
    let len = n * n;
    for_each_group::<T, _, _, W>((blocks, len), [], (row(n), 0), |chunk, [], packed, _| {
        pack_lower(chunk, n, (false, false), Padding::Identity, packed);
        factor(packed, n);
        unpack_factor(packed, n, chunk);
    });
}

dispatch! {
    /// Factorises a packed group in place.
    pub(super) fn factor => factor_lanes(packed: &mut [Lanes<T, W>], n: usize)
}

/// Left-looking Cholesky on a packed group: for column `j`,
/// `L_jj = √(A_jj − Σ_{k<j} L_jk²)` and `L_ij = (A_ij − Σ_{k<j} L_ik L_jk) / L_jj` for `i > j`.
/// Columns go in pairs and rows below them in blocks (a register tile), so that each `L_ik`
/// loaded serves two sums and each `L_jk` several. A pivot that is not positive (or NaN) becomes
/// NaN, which then runs down that lane's later columns.
#[inline(always)]
pub(super) fn factor_lanes<T: HostFloat, const FMA: bool, const W: usize>(
    packed: &mut [Lanes<T, W>],
    n: usize,
) {
    let mut j = 0;
    while j + 2 <= n {
        let (inverse, below, inverse_next) = diagonal_pair::<T, FMA, W>(packed, j);
        let columns = ColumnPair {
            j,
            n,
            inverse,
            inverse_next,
            below,
        };
        // Two running sums per row: eight rows' worth of f32 lanes (four of f64) fill the
        // sixteen AVX2 registers.
        let mut i = j + 2;
        if size_of::<T>() <= 4 {
            i = column_pair::<T, FMA, 4, W>(packed, &columns, i);
        }
        i = column_pair::<T, FMA, 2, W>(packed, &columns, i);
        column_pair::<T, FMA, 1, W>(packed, &columns, i);
        j += 2;
    }
    if j < n {
        pivot::<T, FMA, W>(packed, j);
    }
}

/// The 2 × 2 diagonal block of columns `j` and `j + 1` in place: `L_jj`, `L_{j+1,j}` and
/// `L_{j+1,j+1}` (NaN from a pivot that is not positive on). The three sums over `k < j` run
/// together, each split over even and odd `k`, so that six independent multiply-adds fill the
/// pipeline instead of one dependent chain per entry. Returns `1 / L_jj`, `L_{j+1,j}` and
/// `1 / L_{j+1,j+1}`.
#[inline(always)]
fn diagonal_pair<T: HostFloat, const FMA: bool, const W: usize>(
    packed: &mut [Lanes<T, W>],
    j: usize,
) -> (Lanes<T, W>, Lanes<T, W>, Lanes<T, W>) {
    let zero = [T::from_f64(0.0); W];
    let (rj, rj1) = (row(j), row(j + 1));
    let mut even = [packed[rj + j], packed[rj1 + j], packed[rj1 + j + 1]];
    let mut odd = [zero; 3];
    {
        let (x, y) = (&packed[rj..rj + j], &packed[rj1..rj1 + j]);
        let accumulate = |sums: &mut [Lanes<T, W>; 3], x: &Lanes<T, W>, y: &Lanes<T, W>| {
            sub_mul::<T, FMA, W>(&mut sums[0], x, x);
            sub_mul::<T, FMA, W>(&mut sums[1], y, x);
            sub_mul::<T, FMA, W>(&mut sums[2], y, y);
        };
        let (x_pairs, y_pairs) = (x.chunks_exact(2), y.chunks_exact(2));
        if let (Some(x), Some(y)) = (x_pairs.remainder().first(), y_pairs.remainder().first()) {
            accumulate(&mut odd, x, y);
        }
        for (x, y) in x_pairs.zip(y_pairs) {
            accumulate(&mut even, &x[0], &y[0]);
            accumulate(&mut odd, &x[1], &y[1]);
        }
    }
    let [mut diagonal, mut below, mut next] = even;
    for l in 0..W {
        diagonal[l] += odd[0][l];
        below[l] += odd[1][l];
        next[l] += odd[2][l];
    }
    let inverse = positive_root(&mut diagonal);
    scale(&mut below, &inverse);
    sub_mul::<T, FMA, W>(&mut next, &below, &below);
    let inverse_next = positive_root(&mut next);
    packed[rj + j] = diagonal;
    packed[rj1 + j] = below;
    packed[rj1 + j + 1] = next;
    (inverse, below, inverse_next)
}

/// `x ← √x` lane by lane, NaN where `x` is not positive; returns `1 / √x`.
#[inline(always)]
fn positive_root<T: HostFloat, const W: usize>(x: &mut Lanes<T, W>) -> Lanes<T, W> {
    let (zero, one, nan) = (T::from_f64(0.0), T::from_f64(1.0), T::from_f64(f64::NAN));
    let mut inverse = [zero; W];
    for l in 0..W {
        x[l] = if x[l] > zero { x[l].sqrt() } else { nan };
        inverse[l] = one / x[l];
    }
    inverse
}

/// `L_jj = √(A_jj − Σ_{k<j} L_jk²)` in place (NaN where the pivot is not positive); returns
/// `1 / L_jj`.
#[inline(always)]
fn pivot<T: HostFloat, const FMA: bool, const W: usize>(
    packed: &mut [Lanes<T, W>],
    j: usize,
) -> Lanes<T, W> {
    let rj = row(j);
    let mut pivot = packed[rj + j];
    for x in &packed[rj..rj + j] {
        sub_mul::<T, FMA, W>(&mut pivot, x, x);
    }
    let inverse = positive_root(&mut pivot);
    packed[rj + j] = pivot;
    inverse
}

/// `x ← x ⊙ factor` lane by lane.
#[inline(always)]
fn scale<T: HostFloat, const W: usize>(x: &mut Lanes<T, W>, factor: &Lanes<T, W>) {
    for l in 0..W {
        x[l] *= factor[l];
    }
}

/// Columns `j` and `j + 1` once their diagonal block is done: the inverse pivots and
/// `L_{j+1,j}`.
struct ColumnPair<T, const W: usize> {
    j: usize,
    n: usize,
    inverse: Lanes<T, W>,
    inverse_next: Lanes<T, W>,
    below: Lanes<T, W>,
}

/// Columns `j` and `j + 1` of `L` in rows `first..`, `R` rows at a time while `R` rows remain;
/// returns the first row left. The sums over `k < j` run together; column `j + 1` then takes
/// its `k = j` term from the new `L_ij`.
#[inline(always)]
fn column_pair<T: HostFloat, const FMA: bool, const R: usize, const W: usize>(
    packed: &mut [Lanes<T, W>],
    columns: &ColumnPair<T, W>,
    first: usize,
) -> usize {
    let ColumnPair { j, n, .. } = *columns;
    let (rj, rj1) = (row(j), row(j + 1));
    let mut i = first;
    while i + R <= n {
        let starts: [usize; R] = std::array::from_fn(|r| row(i + r));
        let mut sums: [[Lanes<T, W>; 2]; R] =
            std::array::from_fn(|r| [packed[starts[r] + j], packed[starts[r] + j + 1]]);
        {
            let (y0, y1) = (&packed[rj..rj + j], &packed[rj1..rj1 + j]);
            let xs: [&[Lanes<T, W>]; R] =
                std::array::from_fn(|r| &packed[starts[r]..starts[r] + j]);
            for x in &xs {
                assert_eq!(x.len(), y0.len());
            }
            for k in 0..y0.len() {
                let (y0, y1) = (y0[k], y1[k]);
                for (sum, x) in sums.iter_mut().zip(&xs) {
                    let x = x[k];
                    sub_mul::<T, FMA, W>(&mut sum[0], &x, &y0);
                    sub_mul::<T, FMA, W>(&mut sum[1], &x, &y1);
                }
            }
        }
        for (start, [mut first, mut second]) in starts.into_iter().zip(sums) {
            scale(&mut first, &columns.inverse);
            sub_mul::<T, FMA, W>(&mut second, &first, &columns.below);
            scale(&mut second, &columns.inverse_next);
            packed[start + j] = first;
            packed[start + j + 1] = second;
        }
        i += R;
    }
    i
}

/// Writes a factorised group back to its row-major blocks: `L` below and on the diagonal, zero
/// above, and rows `j..n` NaN from a lane's first non-finite pivot `j` on.
fn unpack_factor<T: HostFloat, const W: usize, S: Slot<T>>(
    packed: &[Lanes<T, W>],
    n: usize,
    blocks: &mut [S],
) {
    let (zero, nan) = (T::from_f64(0.0), T::from_f64(f64::NAN));
    let len = n * n;
    let full = W > 1 && blocks.len() == W * len;
    let avx = has_avx2();
    for i in 0..n {
        let mut m = 0;
        if full {
            m = for_each_tile::<W>(i + 1, |m| {
                scatter_tile(packed, row(i) + m, (&mut *blocks, len), i * n + m, avx);
            });
        }
        for (lane, block) in blocks.chunks_exact_mut(len).enumerate() {
            let block_row = &mut block[i * n..(i + 1) * n];
            for (value, entry) in block_row[m..=i].iter_mut().zip(&packed[row(i) + m..]) {
                value.set(entry[lane]);
            }
            for value in &mut block_row[i + 1..] {
                value.set(zero);
            }
        }
    }
    // Rows from a failed pivot on are NaN.
    for (lane, block) in blocks.chunks_exact_mut(len).enumerate() {
        if let Some(failed_at) = (0..n).find(|&j| !packed[row(j) + j][lane].finite()) {
            for (i, block_row) in block.chunks_exact_mut(n).enumerate().skip(failed_at) {
                for value in &mut block_row[..=i] {
                    value.set(nan);
                }
            }
        }
    }
}
