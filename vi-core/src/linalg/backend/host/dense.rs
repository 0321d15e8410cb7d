//! faer's per-matrix kernels on row-major blocks (through column-major views, where faer is
//! fastest): the Cholesky factor of one block and one triangular solve, the cache-blocked
//! mirror of a triangle, and the matrix form of the Cholesky reverse mode (the tests' reference).

use crate::host::HostFloat;
#[cfg(all(test, any(feature = "flex", feature = "ndarray")))]
use faer::Accum;
use faer::dyn_stack::MemStack;
use faer::linalg::cholesky::llt::factor::{LltError, LltRegularization, cholesky_in_place};
#[cfg(all(test, any(feature = "flex", feature = "ndarray")))]
use faer::linalg::matmul::matmul;
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::{MatMut, MatRef, Par};

/// Factorises one row-major block in place: lower triangle `L`, upper triangle zero; when the
/// pivot of column `j` is not positive and finite, every lower-triangle entry of rows `j..n` is
/// NaN.
///
/// faer is fastest on column-major storage, and the column-major view of a row-major symmetric
/// matrix is the matrix itself: the lower triangle is mirrored into the upper one, faer factorises
/// the column-major view, and its factor (the row-major `Lᵀ`) is transposed back.
pub(crate) fn cholesky_one<T: HostFloat>(
    block: &mut [T],
    n: usize,
    par: Par,
    stack: &mut MemStack,
) {
    mirror(block, n, true);
    let failed_at = {
        let a = MatMut::from_column_major_slice_mut(block, n, n);
        match cholesky_in_place(
            a,
            LltRegularization::default(),
            par,
            stack,
            Default::default(),
        ) {
            Ok(_) => (0..n).find(|&j| !block[j * n + j].finite()),
            Err(LltError::NonPositivePivot { index }) => Some(index),
        }
    };
    mirror(block, n, false);
    let (zero, nan) = (T::from_f64(0.0), T::from_f64(f64::NAN));
    for i in 0..n {
        let row = &mut block[i * n..(i + 1) * n];
        row[i + 1..].fill(zero);
        if failed_at.is_some_and(|j| i >= j) {
            row[..=i].fill(nan);
        }
    }
}

pub(crate) fn solve_one<T: HostFloat>(
    tri: MatRef<'_, T>,
    x: MatMut<'_, T>,
    upper: bool,
    transpose: bool,
    par: Par,
) {
    let tri = if transpose { tri.transpose() } else { tri };
    if upper != transpose {
        solve_upper_triangular_in_place(tri, x, par);
    } else {
        solve_lower_triangular_in_place(tri, x, par);
    }
}

/// `Ā = ½(S + Sᵀ)`, `S = L⁻ᵀ Φ(Lᵀ tril(Ḡ)) L⁻¹`, computed in place of `g` with one `n × n`
/// work buffer: the matrix form of the backward pass, the tests' reference for the kernels.
#[cfg(all(test, any(feature = "flex", feature = "ndarray")))]
pub(crate) fn cholesky_backward_one<T: HostFloat>(
    l: &[T],
    g: &mut [T],
    work: &mut [T],
    n: usize,
    par: Par,
) {
    let zero = T::from_f64(0.0);
    let half = T::from_f64(0.5);
    // Every faer call works on column-major views, where faer is fastest: the column-major view
    // of the row-major `L` is `Lᵀ`, of the row-major `Ḡ` is `Ḡᵀ`.
    let lt = MatRef::from_column_major_slice(l, n, n);
    // Only tril(Ḡ) is an input of the factorisation.
    for i in 0..n {
        g[i * n + i + 1..(i + 1) * n].fill(zero);
    }
    // work (column-major) = P = Φ(Lᵀ Ḡ)
    matmul(
        MatMut::from_column_major_slice_mut(work, n, n),
        Accum::Replace,
        lt,
        MatRef::from_column_major_slice(g, n, n).transpose(),
        T::from_f64(1.0),
        par,
    );
    for j in 0..n {
        work[j * n..j * n + j].fill(zero);
        work[j * n + j] *= half;
    }
    // work (column-major) = X = L⁻ᵀ P
    solve_upper_triangular_in_place(lt, MatMut::from_column_major_slice_mut(work, n, n), par);
    // g (column-major) = Xᵀ, then Y = L⁻ᵀ Xᵀ = Sᵀ
    transpose_into(work, g, n);
    solve_upper_triangular_in_place(lt, MatMut::from_column_major_slice_mut(g, n, n), par);
    // g = ½ (Y + Yᵀ), the same in either layout
    for (ib, jb) in tiles(n) {
        for i in ib..(ib + TILE).min(n) {
            for j in jb..(jb + TILE).min(i) {
                let s = (g[i * n + j] + g[j * n + i]) * half;
                g[i * n + j] = s;
                g[j * n + i] = s;
            }
        }
    }
}

/// Tile edge of the cache-blocked transposes.
pub(super) const TILE: usize = 32;

/// Tile corners `(row, col)` on and below the diagonal of an `n × n` matrix.
pub(super) fn tiles(n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n)
        .step_by(TILE)
        .flat_map(|ib| (0..=ib).step_by(TILE).map(move |jb| (ib, jb)))
}

/// `dst = srcᵀ` for row-major `n × n` matrices, tile by tile.
#[cfg(all(test, any(feature = "flex", feature = "ndarray")))]
fn transpose_into<T: Copy>(src: &[T], dst: &mut [T], n: usize) {
    for ib in (0..n).step_by(TILE) {
        for jb in (0..n).step_by(TILE) {
            for i in ib..(ib + TILE).min(n) {
                for j in jb..(jb + TILE).min(n) {
                    dst[j * n + i] = src[i * n + j];
                }
            }
        }
    }
}

/// Copies the strict lower triangle onto the upper one (`lower_to_upper`) or back, tile by tile.
fn mirror<T: Copy>(block: &mut [T], n: usize, lower_to_upper: bool) {
    for (ib, jb) in tiles(n) {
        for i in ib..(ib + TILE).min(n) {
            for j in jb..(jb + TILE).min(i) {
                if lower_to_upper {
                    block[j * n + i] = block[i * n + j];
                } else {
                    block[i * n + j] = block[j * n + i];
                }
            }
        }
    }
}
