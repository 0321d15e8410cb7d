//! Finite differences through the factorisation, solves, log-determinant and inverse, and the
//! large-matrix gradient paths against the host backend.

use burn::tensor::{Device, FloatDType, Tensor};
use vi_core::gradcheck::gradcheck;
use vi_core::linalg::{
    LinalgError, Side, Triangle, cholesky, cholesky_inverse, cholesky_solve, column_norm_change,
    inverse, logdet, logdet_from_cholesky, solve_triangular, triangular_matmul,
};
use vi_tests::{
    assert_all_close, by_dtype, device_tests, dtypes, gradcheck_configs, noise, random_spd, tensor,
    values,
};

device_tests!(
    gradcheck_cholesky,
    gradcheck_solves,
    gradcheck_logdet_inverse,
    large_gradients_match_host,
);

/// `f(A) = Σ W ∘ chol(sym(A))`: the symmetrisation makes finite differences see the symmetric
/// gradient convention.
fn gradcheck_cholesky(device: Device) {
    let ad = device.autodiff();
    for config in gradcheck_configs(&ad) {
        let (b, n) = (2, 4);
        let a = tensor(random_spd(1, b, n, 0.5), [b, n, n], &ad, config.dtype);
        let w = tensor(noise(2, b * n * n), [b, n, n], &ad, config.dtype);
        let report = gradcheck(
            |v| {
                let a = v[0].clone();
                let sym = (a.clone() + a.transpose()) * 0.5;
                (cholesky(sym).unwrap() * v[1].clone()).sum()
            },
            &[a, w],
            &config,
        );
        assert!(report.passed(), "cholesky:\n{report}");
    }
}

fn gradcheck_solves(device: Device) {
    let ad = device.autodiff();
    solve_triangular_gradcheck(&ad);
    triangular_matmul_gradcheck(&ad);
    column_norm_change_gradcheck(&ad);
    cholesky_solve_gradcheck(&ad);
}

/// Batch, order and columns of the solve checks.
const SIZES: (usize, usize, usize) = (2, 4, 3);

/// A well-conditioned triangular matrix `[b, n, n]` stored full (the other triangle is ignored),
/// left and right sides `[b, n, k]` and `[b, k, n]`, weights `[b, n, k]`.
fn solve_inputs(ad: &Device, dtype: FloatDType) -> [Tensor<3>; 4] {
    let (b, n, k) = SIZES;
    let ad = ad.clone();
    let mut t = noise(3, b * n * n);
    for bi in 0..b {
        for i in 0..n {
            t[bi * n * n + i * n + i] = 2.0 + t[bi * n * n + i * n + i].abs();
        }
    }
    let t = tensor(t, [b, n, n], &ad, dtype);
    let left = tensor(noise(4, b * n * k), [b, n, k], &ad, dtype);
    let right = tensor(noise(5, b * k * n), [b, k, n], &ad, dtype);
    let weights = tensor(noise(6, b * n * k), [b, n, k], &ad, dtype);
    [t, left, right, weights]
}

/// `solve_triangular` for both triangles, both transposes and both sides.
fn solve_triangular_gradcheck(ad: &Device) {
    triangular_op_gradcheck(ad, "solve_triangular", solve_triangular::<3>);
}

/// `triangular_matmul` for both triangles, both transposes and both sides.
fn triangular_matmul_gradcheck(ad: &Device) {
    triangular_op_gradcheck(ad, "triangular_matmul", triangular_matmul::<3>);
}

/// A triangular operation `op(T, B, triangle, transpose, side)` for both triangles, both
/// transposes and both sides, by finite differences in `T` and `B`.
fn triangular_op_gradcheck(
    ad: &Device,
    name: &str,
    op: fn(Tensor<3>, Tensor<3>, Triangle, bool, Side) -> Result<Tensor<3>, LinalgError>,
) {
    for config in gradcheck_configs(ad) {
        let (b, n, k) = SIZES;
        let [t, left, right, weights] = solve_inputs(ad, config.dtype);
        for triangle in [Triangle::Lower, Triangle::Upper] {
            for transpose in [false, true] {
                for (side, rhs) in [(Side::Left, left.clone()), (Side::Right, right.clone())] {
                    let w = if side == Side::Left {
                        weights.clone()
                    } else {
                        weights.clone().reshape([b, k, n])
                    };
                    let report = gradcheck(
                        |v| {
                            let x =
                                op(v[0].clone(), v[1].clone(), triangle, transpose, side).unwrap();
                            (x * w.clone()).sum()
                        },
                        &[t.clone(), rhs],
                        &config,
                    );
                    assert!(
                        report.passed(),
                        "{name} {triangle:?} transpose={transpose} {side:?}:\n{report}"
                    );
                }
            }
        }
    }
}

/// column_norm_change, with the triangle's batch of 1 broadcast against the columns' 2.
fn column_norm_change_gradcheck(ad: &Device) {
    for config in gradcheck_configs(ad) {
        let (b, _, k) = SIZES;
        let [t, left, _, _] = solve_inputs(ad, config.dtype);
        let ad = ad.clone();
        let t1 = t.clone().narrow(0, 0, 1);
        let column_weights = tensor(noise(8, b * k), [b, k], &ad, config.dtype);
        for triangle in [Triangle::Lower, Triangle::Upper] {
            for transpose in [false, true] {
                let report = gradcheck(
                    |v| {
                        let change: Tensor<2> =
                            column_norm_change(v[0].clone(), v[1].clone(), triangle, transpose)
                                .unwrap();
                        (change * column_weights.clone()).sum()
                    },
                    &[t1.clone(), left.clone()],
                    &config,
                );
                assert!(
                    report.passed(),
                    "column_norm_change {triangle:?} transpose={transpose}:\n{report}"
                );
            }
        }
    }
}

/// `cholesky_solve` of a symmetrised SPD matrix.
fn cholesky_solve_gradcheck(ad: &Device) {
    for config in gradcheck_configs(ad) {
        let (b, n, _) = SIZES;
        let [_, left, _, weights] = solve_inputs(ad, config.dtype);
        let ad = ad.clone();
        let a = tensor(random_spd(7, b, n, 0.5), [b, n, n], &ad, config.dtype);
        let report = gradcheck(
            |v| {
                let a = v[0].clone();
                let sym = (a.clone() + a.transpose()) * 0.5;
                (cholesky_solve(cholesky(sym).unwrap(), v[1].clone()).unwrap() * v[2].clone()).sum()
            },
            &[a, left.clone(), weights.clone()],
            &config,
        );
        assert!(report.passed(), "cholesky_solve:\n{report}");
    }
}

fn gradcheck_logdet_inverse(device: Device) {
    let ad = device.autodiff();
    for config in gradcheck_configs(&ad) {
        let (b, n) = (3, 5);
        let a = tensor(random_spd(8, b, n, 0.5), [b, n, n], &ad, config.dtype);
        let w = tensor(noise(9, b * n * n), [b, n, n], &ad, config.dtype);
        let sym = |a: Tensor<3>| (a.clone() + a.transpose()) * 0.5;
        let report = gradcheck(
            |v| logdet::<3, 1>(sym(v[0].clone())).unwrap().sum(),
            std::slice::from_ref(&a),
            &config,
        );
        assert!(report.passed(), "logdet:\n{report}");
        let report = gradcheck(
            |v| (inverse(sym(v[0].clone())).unwrap() * v[1].clone()).sum(),
            &[a.clone(), w.clone()],
            &config,
        );
        assert!(report.passed(), "inverse:\n{report}");
        let report = gradcheck(
            |v| {
                let l = cholesky(sym(v[0].clone())).unwrap();
                (cholesky_inverse(l.clone()).unwrap() * v[1].clone()).sum()
                    + logdet_from_cholesky::<3, 1>(l).unwrap().sum()
            },
            &[a, w],
            &config,
        );
        assert!(
            report.passed(),
            "cholesky_inverse + logdet_from_cholesky:\n{report}"
        );
    }
}

/// Gradients through the large-matrix paths (on the GPU backends: the blocked factorisation and
/// substitution, and the composed backward pass above the tile order) against the host backend
/// in f64, which the golden and finite-difference tests check on its own.
fn large_gradients_match_host(device: Device) {
    let host = vi_tests::device("flex");
    let dtype = dtypes(&device)[0];
    let k = 5;
    for (batch, n) in [(2, 70), (9, 70), (1, 130)] {
        let a = random_spd(n as u64 + 3, batch, n, 1.0);
        let (w, r, v) = (
            noise(21, batch * n * n),
            noise(22, batch * n * k),
            noise(23, batch * n * k),
        );
        // f = Σ W ∘ L + Σ V ∘ (L⁻ᵀ L⁻¹ R): both solves, one through an upper-triangular view.
        let gradients = |device: &Device, dtype: FloatDType| {
            let ad = device.clone().autodiff();
            let at = tensor(a.clone(), [batch, n, n], &ad, dtype).require_grad();
            let rt = tensor(r.clone(), [batch, n, k], &ad, dtype).require_grad();
            let l = cholesky(at.clone()).unwrap();
            let x = solve_triangular(l.clone(), rt.clone(), Triangle::Lower, false, Side::Left)
                .unwrap();
            let y = solve_triangular(l.clone().transpose(), x, Triangle::Upper, false, Side::Left)
                .unwrap();
            let f = (l * tensor(w.clone(), [batch, n, n], &ad, dtype)).sum()
                + (y * tensor(v.clone(), [batch, n, k], &ad, dtype)).sum();
            let grads = f.backward();
            (
                values(at.grad(&grads).unwrap()),
                values(rt.grad(&grads).unwrap()),
            )
        };
        let (got_a, got_r) = gradients(&device, dtype);
        let (want_a, want_r) = gradients(&host, FloatDType::F64);
        let rtol = by_dtype(dtype, 1e-9, 1e-3);
        for (label, got, want) in [("Ā", got_a, want_a), ("R̄", got_r, want_r)] {
            let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert_all_close(&format!("n={n} {label}"), &got, &want, rtol, rtol * scale);
        }
    }
}
