//! The Cholesky reverse mode of one large matrix by blocks on faer's GEMMs, its diagonal
//! blocks through the packed unblocked kernel.

use super::dense::{TILE, tiles};
use crate::host::HostFloat;
use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{BlockStructure, matmul as faer_triangular_matmul};
use faer::linalg::triangular_solve::solve_upper_triangular_in_place;
use faer::{Accum, MatMut, MatRef, Par};

/// Block size of [`cholesky_backward_blocked`]: its diagonal blocks go through the packed
/// unblocked kernel.
const REVERSE_BLOCK: usize = 64;

/// The Cholesky backward pass of one large matrix by blocks (Murray 2016, §4.2,
/// `chol_blocked_rev`), in place of `g` (`Ḡ` in, the symmetric `Ā` out): about `n³/3`
/// multiply-adds, a quarter of the matrix form's.
///
/// Going over the block rows `J` from the last, with `R = L_{J,<J}`, `D = L_{JJ}`,
/// `B = L_{>J,<J}`, `C = L_{>J,J}` and the same parts of `Ḡ` (overwritten by `M`, the gradient
/// with `A`'s lower triangle as the input):
///
/// `C̄ ← C̄ D⁻¹`, `B̄ ← B̄ − C̄ R`, `D̄ ← D̄ − tril(C̄ᵀ C)`, `D̄ ← unblocked_rev(D, D̄)`,
/// `R̄ ← R̄ − C̄ᵀ B − (D̄ + D̄ᵀ) R`;
///
/// then `Ā = ½(M + Mᵀ)` (so `Ā_ii = M_ii`).
pub(crate) fn cholesky_backward_blocked<T: HostFloat>(l: &[T], g: &mut [T], n: usize, par: Par) {
    use faer::prelude::{Reborrow, ReborrowMut};
    let zero = T::from_f64(0.0);
    for i in 0..n {
        g[i * n + i + 1..(i + 1) * n].fill(zero);
    }
    let factor = MatRef::from_row_major_slice(l, n, n);
    let mut diagonal = [zero; 2 * REVERSE_BLOCK * REVERSE_BLOCK];
    let mut packed_scratch = Vec::new();
    let starts: Vec<usize> = (0..n).step_by(REVERSE_BLOCK).collect();
    for &start in starts.iter().rev() {
        let end = (start + REVERSE_BLOCK).min(n);
        let (width, rest) = (end - start, n - end);
        let r = factor.submatrix(start, 0, width, start);
        let d = factor.submatrix(start, start, width, width);
        let b = factor.submatrix(end, 0, rest, start);
        let c = factor.submatrix(end, start, rest, width);
        let (top, bottom) = MatMut::from_row_major_slice_mut(g, n, n).split_at_row_mut(end);
        let (r_bar, block_row) = top.split_at_row_mut(start).1.split_at_col_mut(start);
        let mut d_bar = block_row.submatrix_mut(0, 0, width, width);
        let mut r_bar = r_bar;
        let (mut b_bar, c_rest) = bottom.split_at_col_mut(start);
        let mut c_bar = c_rest.submatrix_mut(0, 0, rest, width);
        let minus_one = T::from_f64(-1.0);
        // C̄ ← C̄ D⁻¹, i.e. Dᵀ C̄ᵀ = C̄ᵀ.
        solve_upper_triangular_in_place(d.transpose(), c_bar.rb_mut().transpose_mut(), par);
        matmul(b_bar.rb_mut(), Accum::Add, c_bar.rb(), r, minus_one, par);
        faer_triangular_matmul(
            d_bar.rb_mut(),
            BlockStructure::TriangularLower,
            Accum::Add,
            c_bar.rb().transpose(),
            BlockStructure::Rectangular,
            c,
            BlockStructure::Rectangular,
            minus_one,
            par,
        );
        // The diagonal block through the packed unblocked kernel, on contiguous copies.
        let (d_copy, m) = diagonal.split_at_mut(width * width);
        let m = &mut m[..width * width];
        for i in 0..width {
            for k in 0..width {
                d_copy[i * width + k] = d[(i, k)];
                m[i * width + k] = d_bar[(i, k)];
            }
        }
        super::packed::cholesky_backward_lower(d_copy, m, width, &mut packed_scratch);
        // D̄ + D̄ᵀ, then R̄ ← R̄ − C̄ᵀ B − (D̄ + D̄ᵀ) R.
        for i in 0..width {
            for k in 0..width {
                d_bar[(i, k)] = m[i * width + k];
                d_copy[i * width + k] = m[i * width + k] + m[k * width + i];
            }
        }
        matmul(
            r_bar.rb_mut(),
            Accum::Add,
            c_bar.rb().transpose(),
            b,
            minus_one,
            par,
        );
        let symmetric = MatRef::from_row_major_slice(d_copy, width, width);
        matmul(r_bar.rb_mut(), Accum::Add, symmetric, r, minus_one, par);
    }
    let half = T::from_f64(0.5);
    for (ib, jb) in tiles(n) {
        for i in ib..(ib + TILE).min(n) {
            for j in jb..(jb + TILE).min(i) {
                let s = g[i * n + j] * half;
                g[i * n + j] = s;
                g[j * n + i] = s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// The blocked reverse mode against the matrix form, across block boundaries.
    #[test]
    fn blocked_backward_matches_matrix_form() {
        use super::super::dense::cholesky_backward_one;
        use super::cholesky_backward_blocked;
        use faer::Par;
        let mut state = 3u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for n in [1, 63, 64, 65, 130, 200] {
            // A well-conditioned lower-triangular factor and a random upstream gradient.
            let l: Vec<f64> = (0..n * n)
                .map(|e| {
                    let (i, k) = (e / n, e % n);
                    if k > i {
                        0.0
                    } else if k == i {
                        1.5 + next()
                    } else {
                        next() / n as f64
                    }
                })
                .collect();
            let grad: Vec<f64> = (0..n * n).map(|_| next()).collect();
            let mut blocked = grad.clone();
            cholesky_backward_blocked(&l, &mut blocked, n, Par::Seq);
            let mut want = grad;
            let mut work = vec![0.0; n * n];
            cholesky_backward_one(&l, &mut want, &mut work, n, Par::Seq);
            for (e, (b, w)) in blocked.iter().zip(&want).enumerate() {
                assert!(
                    (b - w).abs() <= 1e-10 * (1.0 + w.abs()),
                    "n={n} entry {e}: {b} vs {w}"
                );
            }
        }
    }
}
