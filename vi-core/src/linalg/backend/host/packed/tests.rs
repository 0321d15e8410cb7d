//! The packed kernels against faer's per-matrix ones and their own portable builds.

use super::super::dense::{cholesky_backward_one, cholesky_one, solve_one};
use crate::host::HostFloat;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::cholesky_in_place_scratch;
use faer::{MatMut, MatRef, Par};
use std::mem::MaybeUninit;

/// A small deterministic generator (the tests need no statistical quality).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// `batch` row-major SPD matrices `X Xᵀ/n + I/2`; the matrix at `broken` (if any) loses
/// positive definiteness at pivot `n/2` (its diagonal entry there is made negative).
fn spd<T: HostFloat>(rng: &mut Lcg, batch: usize, n: usize, broken: Option<usize>) -> Vec<T> {
    let mut out = Vec::with_capacity(batch * n * n);
    for b in 0..batch {
        let x: Vec<f64> = (0..n * n).map(|_| rng.next()).collect();
        for i in 0..n {
            for j in 0..n {
                let mut a: f64 =
                    (0..n).map(|k| x[i * n + k] * x[j * n + k]).sum::<f64>() / n as f64;
                if i == j {
                    a += 0.5;
                    if broken == Some(b) && i == n / 2 {
                        a = -1.0;
                    }
                }
                out.push(T::from_f64(a));
            }
        }
    }
    out
}

fn close<T: HostFloat>(got: &[T], want: &[T], tolerance: f64, what: &str) {
    for (index, (g, w)) in got.iter().zip(want).enumerate() {
        let (g, w) = (g.as_f64(), w.as_f64());
        let same_nan = g.is_nan() && w.is_nan();
        assert!(
            same_nan || (g - w).abs() <= tolerance * (1.0 + w.abs()),
            "{what}: entry {index}: packed {g}, per matrix {w}"
        );
    }
}

/// The packed kernels against faer's per-matrix ones: every batch size around the group
/// width (full groups, a short last group, padding), orders from 1 to the largest, a matrix
/// that is not positive definite, and the backward pass.
fn packed_matches_per_matrix<T: HostFloat>(tolerance: f64) {
    let mut rng = Lcg(7);
    for n in [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 64, 100] {
        for batch in [2, 3, 7, 8, 9, 16, 19] {
            let broken = (n > 1 && batch > 4).then_some(batch / 2);
            let a = spd::<T>(&mut rng, batch, n, broken);
            let mut packed = a.clone();
            super::cholesky::cholesky(&mut packed, n);
            // A sentinel in every entry of the output, which must all be overwritten.
            let mut fresh = vec![MaybeUninit::new(T::from_f64(-7.0)); a.len()];
            super::cholesky::cholesky_into(&a, &mut fresh, n);
            // SAFETY: every entry was initialised with the sentinel above.
            let copied: Vec<T> = fresh.iter().map(|v| unsafe { v.assume_init() }).collect();
            assert_eq!(
                packed
                    .iter()
                    .map(|v| v.as_f64().to_bits())
                    .collect::<Vec<_>>(),
                copied
                    .iter()
                    .map(|v| v.as_f64().to_bits())
                    .collect::<Vec<_>>()
            );
            let mut want = a.clone();
            let scratch = cholesky_in_place_scratch::<T>(n, Par::Seq, Default::default());
            let mut buffer = MemBuffer::new(scratch);
            for block in want.chunks_mut(n * n) {
                cholesky_one(block, n, Par::Seq, MemStack::new(&mut buffer));
            }
            close(
                &packed,
                &want,
                tolerance,
                &format!("factor n={n} batch={batch}"),
            );
            if let Some(b) = broken {
                let block = &packed[b * n * n..(b + 1) * n * n];
                assert!(block[(n / 2) * n].as_f64().is_nan(), "row n/2 is NaN");
                assert!(block[0].as_f64().is_finite(), "row 0 is finite");
            }
            // Backward, on the healthy matrices only (the gradient through NaN is NaN).
            let a = spd::<T>(&mut rng, batch, n, None);
            let mut factors = a.clone();
            super::cholesky::cholesky(&mut factors, n);
            let grad: Vec<T> = (0..batch * n * n)
                .map(|_| T::from_f64(rng.next()))
                .collect();
            let mut packed = grad.clone();
            super::backward::cholesky_backward(&factors, &mut packed, n);
            let mut want = grad;
            let mut work = vec![T::from_f64(0.0); n * n];
            for (g, l) in want.chunks_mut(n * n).zip(factors.chunks(n * n)) {
                cholesky_backward_one(l, g, &mut work, n, Par::Seq);
            }
            close(
                &packed,
                &want,
                tolerance,
                &format!("backward n={n} batch={batch}"),
            );
        }
    }
}

#[test]
fn packed_matches_per_matrix_f64() {
    packed_matches_per_matrix::<f64>(1e-10);
}

#[test]
fn packed_matches_per_matrix_f32() {
    packed_matches_per_matrix::<f32>(2e-3);
}

/// The packed triangular solve against faer's per matrix, for every triangle and transpose,
/// and the packed `−tri(left rightᵀ)` against its definition.
fn packed_solve_matches_per_matrix<T: HostFloat>(tolerance: f64) {
    let mut rng = Lcg(11);
    for n in [1, 2, 5, 8, 13, 32, 64] {
        for (batch, k) in [(2, 1), (7, 3), (8, 8), (19, 5), (16, 13)] {
            // Well-conditioned triangles: unit-sized diagonal, small off-diagonal entries.
            let tri: Vec<T> = (0..batch * n * n)
                .map(|e| {
                    let diagonal = (e % (n * n)) % (n + 1) == 0;
                    let v = rng.next();
                    T::from_f64(if diagonal { 2.0 + v } else { v / n as f64 })
                })
                .collect();
            let rhs: Vec<T> = (0..batch * n * k)
                .map(|_| T::from_f64(rng.next()))
                .collect();
            for (upper, transpose) in [(false, false), (false, true), (true, false), (true, true)] {
                let mut packed = rhs.clone();
                super::solve::solve_triangular(&tri, &mut packed, (n, k), upper, transpose);
                let mut want = rhs.clone();
                for (x, t) in want.chunks_mut(n * k).zip(tri.chunks(n * n)) {
                    let t = MatRef::from_row_major_slice(t, n, n);
                    let x = MatMut::from_row_major_slice_mut(x, n, k);
                    solve_one(t, x, upper, transpose, Par::Seq);
                }
                let what =
                    format!("solve n={n} batch={batch} k={k} upper={upper} transpose={transpose}");
                close(&packed, &want, tolerance, &what);
            }
            for upper in [false, true] {
                let left = &rhs;
                let right: Vec<T> = rhs.iter().rev().copied().collect();
                let mut packed = vec![T::from_f64(0.0); batch * n * n];
                super::outer::negative_triangular_outer(left, &right, &mut packed, (n, k), upper);
                let mut want = vec![T::from_f64(0.0); batch * n * n];
                for b in 0..batch {
                    for i in 0..n {
                        for j in 0..n {
                            if (upper && j >= i) || (!upper && j <= i) {
                                let dot: f64 = (0..k)
                                    .map(|c| {
                                        left[b * n * k + i * k + c].as_f64()
                                            * right[b * n * k + j * k + c].as_f64()
                                    })
                                    .sum();
                                want[b * n * n + i * n + j] = T::from_f64(-dot);
                            }
                        }
                    }
                }
                close(
                    &packed,
                    &want,
                    tolerance,
                    &format!("outer n={n} batch={batch} k={k}"),
                );
            }
        }
    }
}

#[test]
fn packed_solve_matches_per_matrix_f64() {
    packed_solve_matches_per_matrix::<f64>(1e-12);
}

#[test]
fn packed_solve_matches_per_matrix_f32() {
    packed_solve_matches_per_matrix::<f32>(1e-5);
}

/// The kernels compiled for the baseline target (used on CPUs without AVX2 and FMA) against
/// the ones this CPU runs.
#[test]
fn baseline_kernels_match() {
    use super::lanes::{LANES, Lanes, row};
    let (n, k) = (19, 3);
    let mut rng = Lcg(5);
    let a = spd::<f64>(&mut rng, LANES, n, None);
    let mut factor = vec![[0.0; LANES]; row(n)];
    super::pack::pack_lower::<f64, LANES>(
        &a,
        n,
        (false, false),
        super::lanes::Padding::Identity,
        &mut factor,
    );
    let mut baseline = factor.clone();
    super::cholesky::factor(&mut factor, n);
    super::cholesky::factor_lanes::<f64, false, LANES>(&mut baseline, n);
    let flat = |p: &[Lanes<f64, LANES>]| p.concat();
    close(&flat(&baseline), &flat(&factor), 1e-12, "factor");
    let mut grad: Vec<Lanes<f64, LANES>> = (0..row(n))
        .map(|_| std::array::from_fn(|_| rng.next()))
        .collect();
    let mut baseline = grad.clone();
    super::backward::factor_backward(&factor, &mut grad, n);
    super::backward::factor_backward_lanes::<f64, false, LANES>(&factor, &mut baseline, n);
    close(&flat(&baseline), &flat(&grad), 1e-12, "backward");
    let mut x: Vec<Lanes<f64, LANES>> = (0..n * k)
        .map(|_| std::array::from_fn(|_| rng.next()))
        .collect();
    let mut baseline = x.clone();
    super::solve::substitute(&factor, &mut x, (n, k));
    super::solve::substitute_lanes::<f64, false, LANES>(&factor, &mut baseline, (n, k));
    close(&flat(&baseline), &flat(&x), 1e-12, "substitute");
}

/// The in-register 8 × 8 tile transposes against the portable loops, both directions, both
/// precisions, ascending and descending runs and scattered targets.
#[test]
fn tile_transposes_match_portable() {
    fn check<T: HostFloat>() {
        use super::lanes::{LANES, Lanes, Slot};
        use super::pack::{gather_tile, scatter_tile};
        const LEN: usize = 20;
        let mut rng = Lcg(3);
        let blocks: Vec<Vec<T>> = (0..LANES)
            .map(|_| (0..LEN).map(|_| T::from_f64(rng.next())).collect())
            .collect();
        let lanes: [&[T]; LANES] = std::array::from_fn(|l| blocks[l].as_slice());
        for (at, descending) in [(3, false), (12, false), (10, true), (19, true)] {
            let dest = |e: usize| 2 * e + 1;
            let zero = [T::from_f64(0.0); LANES];
            let (mut fast, mut portable) = (vec![zero; 17], vec![zero; 17]);
            gather_tile(&lanes, (at, descending), dest, &mut fast, true);
            gather_tile(&lanes, (at, descending), dest, &mut portable, false);
            let bits = |p: &[Lanes<T, LANES>]| {
                p.iter()
                    .flatten()
                    .map(|v| v.as_f64().to_bits())
                    .collect::<Vec<_>>()
            };
            assert_eq!(bits(&fast), bits(&portable), "gather at {at}, {descending}");
            let first = if descending { at + 1 - LANES } else { at };
            let entry = portable[dest(0)][0];
            let expected = if descending {
                lanes[0][at]
            } else {
                lanes[0][first]
            };
            assert_eq!(entry.as_f64().to_bits(), expected.as_f64().to_bits());
        }
        let packed: Vec<Lanes<T, LANES>> = (0..11)
            .map(|_| std::array::from_fn(|_| T::from_f64(rng.next())))
            .collect();
        let flat_len = LANES * LEN;
        let (mut fast, mut portable) = (
            vec![T::from_f64(0.0); flat_len],
            vec![T::from_f64(0.0); flat_len],
        );
        scatter_tile(&packed, 2, (&mut fast[..], LEN), 5, true);
        scatter_tile(&packed, 2, (&mut portable[..], LEN), 5, false);
        assert_eq!(fast, portable);
        let mut value = T::from_f64(0.0);
        value.set(packed[2 + 3][4]);
        assert_eq!(portable[4 * LEN + 5 + 3], value);
    }
    if super::pack::has_avx2() {
        check::<f32>();
        check::<f64>();
    }
}
