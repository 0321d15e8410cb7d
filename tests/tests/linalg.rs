//! vi-core::linalg against golden values, finite differences, algebraic properties and bad input,
//! on every compiled backend.

use burn::tensor::{Device, FloatDType, Tensor};
use vi_core::gradcheck::gradcheck;
use vi_core::linalg::{
    JitterConfig, LinalgError, Side, Triangle, cholesky, cholesky_deferred, cholesky_inverse,
    cholesky_jittered, cholesky_solve, column_norm_change, inverse, logdet, logdet_from_cholesky,
    solve_triangular, triangular_matmul,
};
use vi_core::sparse_gp::{projected_mean, tril_nonnegative_diagonal, whitened_variance};
use vi_tests::{
    Golden, assert_all_close, assert_close, by_dtype, device_tests, dtypes, gradcheck_config,
    noise, random_spd, tensor, tolerance, values,
};

device_tests!(
    golden_linalg,
    gradcheck_cholesky,
    gradcheck_solves,
    triangular_matmul_products,
    wide_solves_and_gradients,
    signed_lower_factors,
    whitened_variances,
    projected_means,
    gradcheck_logdet_inverse,
    properties_random_spd,
    sizes_across_kernels,
    large_gradients_match_host,
    bad_input_errors,
    jitter_recovers_singular,
    base_jitter_shifts_the_diagonal,
    deferred_cholesky_guards,
);

/// Every case of `linalg.json`: values and gradients.
fn golden_linalg(device: Device) {
    let golden = Golden::load("linalg.json");
    let ad = device.clone().autodiff();
    for dtype in dtypes(&device) {
        for case in golden.cases() {
            if dtype != FloatDType::F64 && case.is_stress() {
                continue; // f64-only stress cases (see the golden README)
            }
            let name = format!("{} [{dtype:?}]", case.name());
            let check = |label: &str, got: Vec<f64>, key: &str, gradient: bool| {
                let want = case.output(key);
                let (rtol, atol) = tolerance(&case, &want, dtype, gradient);
                assert_close(&format!("{name} {label}"), &got, &want, rtol, atol);
            };
            let kind = case.name().split('_').next().unwrap();
            match case.name() {
                n if n.starts_with("cholesky_solve") => {
                    let a = case.input("A").to_tensor::<3>(&ad, dtype).require_grad();
                    let r = case.input("R").to_tensor::<3>(&ad, dtype).require_grad();
                    let w = case.input("Wx").to_tensor::<3>(&ad, dtype);
                    let x = cholesky_solve(cholesky(a.clone()).unwrap(), r.clone()).unwrap();
                    let grads = (x.clone() * w).sum().backward();
                    check("X", values(x), "X", false);
                    check(
                        "grad_A",
                        values(a.grad(&grads).unwrap()),
                        "grad_A_sym",
                        true,
                    );
                    check("grad_R", values(r.grad(&grads).unwrap()), "grad_R", true);
                }
                n if n.starts_with("cholesky") => {
                    let a = case.input("A").to_tensor::<3>(&ad, dtype).require_grad();
                    let w = case.input("W").to_tensor::<3>(&ad, dtype);
                    let l = cholesky(a.clone()).unwrap();
                    let f = (l.clone() * w).sum();
                    let grads = f.clone().backward();
                    check("L", values(l), "L", false);
                    check("f", values(f), "f", false);
                    check(
                        "grad_A",
                        values(a.grad(&grads).unwrap()),
                        "grad_A_sym",
                        true,
                    );
                }
                n if n.starts_with("trisolve") => {
                    let triangle = if n.starts_with("trisolve_lower") {
                        Triangle::Lower
                    } else {
                        Triangle::Upper
                    };
                    let t = case.input("T").to_tensor::<3>(&ad, dtype).require_grad();
                    let r = case.input("R").to_tensor::<3>(&ad, dtype).require_grad();
                    let w = case.input("Wx").to_tensor::<3>(&ad, dtype);
                    let x = solve_triangular(t.clone(), r.clone(), triangle, false, Side::Left)
                        .unwrap();
                    let grads = (x.clone() * w).sum().backward();
                    check("X", values(x), "X", false);
                    check("grad_T", values(t.grad(&grads).unwrap()), "grad_T", true);
                    check("grad_R", values(r.grad(&grads).unwrap()), "grad_R", true);
                }
                n if n.starts_with("logdet") => {
                    let a = case.input("A").to_tensor::<3>(&ad, dtype).require_grad();
                    let ld = logdet::<3, 1>(a.clone()).unwrap();
                    let grads = ld.clone().sum().backward();
                    check("logdet", values(ld), "logdet", false);
                    check(
                        "grad_A",
                        values(a.grad(&grads).unwrap()),
                        "grad_A_sym",
                        true,
                    );
                }
                other => panic!("unknown golden case {other} ({kind})"),
            }
        }
    }
}

/// `f(A) = Σ W ∘ chol(sym(A))`: the symmetrisation makes finite differences see the symmetric
/// gradient convention.
fn gradcheck_cholesky(device: Device) {
    let ad = device.autodiff();
    let config = gradcheck_config(&ad);
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

fn gradcheck_solves(device: Device) {
    let ad = device.autodiff();
    let config = gradcheck_config(&ad);
    let (b, n, k) = (2, 4, 3);
    // A well-conditioned triangular matrix, stored full (the other triangle is ignored).
    let mut t = noise(3, b * n * n);
    for bi in 0..b {
        for i in 0..n {
            t[bi * n * n + i * n + i] = 2.0 + t[bi * n * n + i * n + i].abs();
        }
    }
    let t = tensor(t, [b, n, n], &ad, config.dtype);
    let left = tensor(noise(4, b * n * k), [b, n, k], &ad, config.dtype);
    let right = tensor(noise(5, b * k * n), [b, k, n], &ad, config.dtype);
    let weights = tensor(noise(6, b * n * k), [b, n, k], &ad, config.dtype);
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
                            solve_triangular(v[0].clone(), v[1].clone(), triangle, transpose, side)
                                .unwrap();
                        (x * w.clone()).sum()
                    },
                    &[t.clone(), rhs],
                    &config,
                );
                assert!(
                    report.passed(),
                    "solve_triangular {triangle:?} transpose={transpose} {side:?}:\n{report}"
                );
            }
        }
    }
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
                        let x = triangular_matmul(
                            v[0].clone(),
                            v[1].clone(),
                            triangle,
                            transpose,
                            side,
                        )
                        .unwrap();
                        (x * w.clone()).sum()
                    },
                    &[t.clone(), rhs],
                    &config,
                );
                assert!(
                    report.passed(),
                    "triangular_matmul {triangle:?} transpose={transpose} {side:?}:\n{report}"
                );
            }
        }
    }
    // column_norm_change, with the triangle's batch of 1 broadcast against the columns' 2.
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

fn gradcheck_logdet_inverse(device: Device) {
    let ad = device.autodiff();
    let config = gradcheck_config(&ad);
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

/// `op(tri(T)) B` and `B op(tri(T))` against host products of the masked matrix, with noise in
/// the triangle that must not be read, a broadcast batch, and sizes across faer's blocking.
fn triangular_matmul_products(device: Device) {
    for dtype in dtypes(&device) {
        let tol = by_dtype(dtype, 1e-12, 1e-4);
        for (n, k) in [(1, 1), (5, 3), (33, 7), (70, 40), (20, 45)] {
            let batch = 3;
            let t_full = noise(20 + n as u64, n * n);
            let b = noise(21 + n as u64, batch * n * k);
            let t = tensor(t_full.clone(), [1, n, n], &device, dtype);
            for triangle in [Triangle::Lower, Triangle::Upper] {
                let tri: Vec<f64> = (0..n * n)
                    .map(|idx| {
                        let (i, j) = (idx / n, idx % n);
                        let kept = match triangle {
                            Triangle::Lower => i >= j,
                            Triangle::Upper => i <= j,
                        };
                        if kept { t_full[idx] } else { 0.0 }
                    })
                    .collect();
                for transpose in [false, true] {
                    let op: Vec<f64> = if transpose {
                        (0..n * n).map(|idx| tri[(idx % n) * n + idx / n]).collect()
                    } else {
                        tri.clone()
                    };
                    let case = format!("n={n} k={k} {triangle:?} transpose={transpose} {dtype:?}");
                    let left = triangular_matmul(
                        t.clone(),
                        tensor(b.clone(), [batch, n, k], &device, dtype),
                        triangle,
                        transpose,
                        Side::Left,
                    )
                    .unwrap();
                    let want: Vec<f64> = b
                        .chunks(n * k)
                        .flat_map(|b| matmul(&op, b, n, n, k))
                        .collect();
                    assert_all_close(&format!("{case} op(T) B"), &values(left), &want, tol, tol);
                    let right = triangular_matmul(
                        t.clone(),
                        tensor(b.clone(), [batch, k, n], &device, dtype),
                        triangle,
                        transpose,
                        Side::Right,
                    )
                    .unwrap();
                    let want: Vec<f64> = b
                        .chunks(n * k)
                        .flat_map(|b| matmul(b, &op, k, n, n))
                        .collect();
                    assert_all_close(&format!("{case} B op(T)"), &values(right), &want, tol, tol);
                    let change: Tensor<2> = column_norm_change(
                        t.clone(),
                        tensor(b.clone(), [batch, n, k], &device, dtype),
                        triangle,
                        transpose,
                    )
                    .unwrap();
                    let want: Vec<f64> = b
                        .chunks(n * k)
                        .flat_map(|b| {
                            let product = matmul(&op, b, n, n, k);
                            (0..k)
                                .map(|j| {
                                    (0..n)
                                        .map(|i| product[i * k + j].powi(2) - b[i * k + j].powi(2))
                                        .sum::<f64>()
                                })
                                .collect::<Vec<_>>()
                        })
                        .collect();
                    assert_all_close(
                        &format!("{case} ‖op(T) bⱼ‖² − ‖bⱼ‖²"),
                        &values(change),
                        &want,
                        tol * n as f64,
                        tol * n as f64,
                    );
                }
            }
        }
    }
}

/// A random orthogonal matrix (Gram–Schmidt of noise) for building matrices of known spectrum.
fn orthogonal(seed: u64, n: usize) -> Vec<f64> {
    let mut q = noise(seed, n * n);
    for i in 0..n {
        for j in 0..i {
            let dot: f64 = (0..n).map(|k| q[i * n + k] * q[j * n + k]).sum();
            for k in 0..n {
                q[i * n + k] -= dot * q[j * n + k];
            }
        }
        let norm = (0..n).map(|k| q[i * n + k].powi(2)).sum::<f64>().sqrt();
        for k in 0..n {
            q[i * n + k] /= norm;
        }
    }
    q
}

/// `L Lᵀ` per batch element, on the host.
fn llt(l: &[f64], n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(l.len());
    for block in l.chunks(n * n) {
        let lt: Vec<f64> = (0..n * n)
            .map(|idx| block[(idx % n) * n + idx / n])
            .collect();
        out.extend(matmul(block, &lt, n, n, n));
    }
    out
}

/// `T X` per batch element (`T` `n × n`, `X` `n × k`), on the host.
fn batched_matmul(t: &[f64], x: &[f64], n: usize, k: usize) -> Vec<f64> {
    t.chunks(n * n)
        .zip(x.chunks(n * k))
        .flat_map(|(t, x)| matmul(t, x, n, n, k))
        .collect()
}

/// `n × m` → `m × n`.
fn transposed(a: &[f64], n: usize, m: usize) -> Vec<f64> {
    (0..n * m).map(|idx| a[(idx % n) * m + idx / n]).collect()
}

/// Solves of one factor against many columns (on the CPU the block-column GEMM kernels, blocks
/// of 8 rows) and their gradients under `f = Σ X ∘ W`, against the defining identities on the
/// host in `f64`: `op(T) X = B`, `op(T)ᵀ B̄ = W` and `T̄ = tri(op⁻¹(−B̄ Xᵀ))` (the gradient in
/// `op(T)`, transposed back when `op` transposes, on `T`'s triangle).
fn wide_solves_and_gradients(device: Device) {
    let ad = device.clone().autodiff();
    let (n, k) = (20, 45);
    let mut t_full = noise(40, n * n);
    for (idx, v) in t_full.iter_mut().enumerate() {
        *v = if idx / n == idx % n {
            2.0 + v.abs()
        } else {
            *v / n as f64
        };
    }
    let (b, w) = (noise(41, n * k), noise(42, n * k));
    for dtype in dtypes(&device) {
        let tol = by_dtype(dtype, 1e-10, 1e-4);
        for triangle in [Triangle::Lower, Triangle::Upper] {
            let keep = |i: usize, j: usize| match triangle {
                Triangle::Lower => i >= j,
                Triangle::Upper => i <= j,
            };
            let tri: Vec<f64> = (0..n * n)
                .map(|idx| {
                    if keep(idx / n, idx % n) {
                        t_full[idx]
                    } else {
                        0.0
                    }
                })
                .collect();
            for transpose in [false, true] {
                let case = format!("n={n} k={k} {triangle:?} transpose={transpose} {dtype:?}");
                let op = if transpose {
                    transposed(&tri, n, n)
                } else {
                    tri.clone()
                };
                let t = tensor(t_full.clone(), [1, n, n], &ad, dtype).require_grad();
                let rhs = tensor(b.clone(), [1, n, k], &ad, dtype).require_grad();
                let x = solve_triangular(t.clone(), rhs.clone(), triangle, transpose, Side::Left)
                    .unwrap();
                let grads = (x.clone() * tensor(w.clone(), [1, n, k], &ad, dtype))
                    .sum()
                    .backward();
                let x = values(x);
                let grad_b = values(rhs.grad(&grads).unwrap());
                let grad_t = values(t.grad(&grads).unwrap());
                let residual = matmul(&op, &x, n, n, k);
                assert_all_close(&format!("{case} op(T) X = B"), &residual, &b, tol, tol);
                let adjoint = matmul(&transposed(&op, n, n), &grad_b, n, n, k);
                assert_all_close(&format!("{case} op(T)ᵀ B̄ = W"), &adjoint, &w, tol, tol);
                let grad_op: Vec<f64> = matmul(&grad_b, &transposed(&x, n, k), n, k, n)
                    .into_iter()
                    .map(|v| -v)
                    .collect();
                let grad_full = if transpose {
                    transposed(&grad_op, n, n)
                } else {
                    grad_op
                };
                let want: Vec<f64> = (0..n * n)
                    .map(|idx| {
                        if keep(idx / n, idx % n) {
                            grad_full[idx]
                        } else {
                            0.0
                        }
                    })
                    .collect();
                assert_all_close(&format!("{case} T̄"), &grad_t, &want, tol, tol);
            }
        }
    }
}

fn matmul(a: &[f64], b: &[f64], n: usize, m: usize, k: usize) -> Vec<f64> {
    let mut c = vec![0.0; n * k];
    for i in 0..n {
        for j in 0..k {
            c[i * k + j] = (0..m).map(|l| a[i * m + l] * b[l * k + j]).sum();
        }
    }
    c
}

/// L Lᵀ = A, solve residuals, logdet = Σ log λ, and batch = one-by-one, over random sizes.
fn properties_random_spd(device: Device) {
    use proptest::prelude::*;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 12,
        ..ProptestConfig::default()
    });
    let dtype = *dtypes(&device).first().unwrap();
    let tol = by_dtype(dtype, 1e-9, 2e-3);
    runner
        .run(
            &(1usize..4, 1usize..20, any::<u64>(), 0.05f64..2.0),
            |(batch, n, seed, floor)| {
                // A = Q diag(λ) Qᵀ with known eigenvalues λ ∈ [floor, floor + 3].
                let mut a = Vec::new();
                let mut want_logdet = Vec::new();
                for bi in 0..batch {
                    let q = orthogonal(seed.wrapping_add(bi as u64), n);
                    let lambda: Vec<f64> = noise(seed ^ 0xABCD ^ bi as u64, n)
                        .iter()
                        .map(|u| floor + 1.5 * (u + 1.0))
                        .collect();
                    let mut ql = q.clone();
                    for i in 0..n {
                        for j in 0..n {
                            ql[i * n + j] *= lambda[j];
                        }
                    }
                    let qt: Vec<f64> = (0..n * n).map(|idx| q[(idx % n) * n + idx / n]).collect();
                    a.extend(matmul(&ql, &qt, n, n, n));
                    want_logdet.push(lambda.iter().map(|l| l.ln()).sum::<f64>());
                }
                let at = tensor(a.clone(), [batch, n, n], &device, dtype);
                let l = cholesky(at.clone()).unwrap();
                assert_all_close("L Lᵀ = A", &llt(&values(l.clone()), n), &a, tol, tol);
                let ld = values(logdet_from_cholesky::<3, 1>(l.clone()).unwrap());
                assert_all_close("logdet = Σ log λ", &ld, &want_logdet, tol, tol * n as f64);
                let rhs = noise(seed ^ 0x55, batch * n * 2);
                let x = cholesky_solve(
                    l.clone(),
                    tensor(rhs.clone(), [batch, n, 2], &device, dtype),
                )
                .unwrap();
                let residual = batched_matmul(&a, &values(x), n, 2);
                assert_all_close("A x = b", &residual, &rhs, tol * 10.0, tol * 10.0);
                // One by one equals batched.
                let lv = values(l);
                for bi in 0..batch {
                    let single = tensor(
                        a[bi * n * n..(bi + 1) * n * n].to_vec(),
                        [n, n],
                        &device,
                        dtype,
                    );
                    let one = values(cholesky(single).unwrap());
                    assert_all_close(
                        "batch = single",
                        &lv[bi * n * n..(bi + 1) * n * n],
                        &one,
                        0.0,
                        0.0,
                    );
                }
                Ok(())
            },
        )
        .unwrap();
}

/// Sizes that exercise every kernel path (single element, odd, > 32, > 64, batch of 4-D).
fn sizes_across_kernels(device: Device) {
    let dtype = *dtypes(&device).first().unwrap();
    let tol = by_dtype(dtype, 1e-10, 1e-3);
    for (batch, n) in [(1, 1), (5, 2), (3, 33), (2, 70), (9, 70), (1, 130)] {
        let a = random_spd(n as u64, batch, n, 1.0);
        let at = tensor(a.clone(), [batch, 1, n, n], &device, dtype);
        let l = cholesky(at).unwrap();
        let lv = values(l.clone());
        for (i, v) in lv.iter().enumerate() {
            let (r, c) = ((i / n) % n, i % n);
            assert!(c <= r || *v == 0.0, "n={n}: upper entry {i} is {v}");
        }
        assert_all_close(&format!("n={n} L Lᵀ"), &llt(&lv, n), &a, tol, tol);
        let b = noise(11, batch * n * 3);
        let x = solve_triangular(
            l.clone(),
            tensor(b.clone(), [batch, 1, n, 3], &device, dtype),
            Triangle::Lower,
            false,
            Side::Left,
        )
        .unwrap();
        assert_all_close(
            &format!("n={n} L x = b"),
            &batched_matmul(&lv, &values(x), n, 3),
            &b,
            tol,
            tol,
        );
        let u = l.clone().transpose();
        let xt = solve_triangular(
            u.clone(),
            tensor(b.clone(), [batch, 1, n, 3], &device, dtype),
            Triangle::Upper,
            true,
            Side::Left,
        )
        .unwrap();
        assert_all_close(
            &format!("n={n} Uᵀ x = b"),
            &batched_matmul(&lv, &values(xt), n, 3),
            &b,
            tol,
            tol,
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

fn bad_input_errors(device: Device) {
    let dtype = *dtypes(&device).first().unwrap();
    // Element 1 of the batch is indefinite at its second leading minor.
    let mut a = random_spd(12, 3, 3, 1.0);
    a[9..18].copy_from_slice(&[1.0, 2.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    match cholesky(tensor(a.clone(), [3, 3, 3], &device, dtype)) {
        Err(LinalgError::NotPositiveDefinite {
            batch_index: 1,
            minor: 2,
            jitter_tried,
        }) => {
            assert_eq!(jitter_tried, 0.0)
        }
        other => panic!("expected NotPositiveDefinite for element 1 minor 2, got {other:?}"),
    }
    // Jitter cannot rescue an indefinite matrix.
    match cholesky_jittered(
        tensor(a.clone(), [3, 3, 3], &device, dtype),
        &JitterConfig::default(),
    ) {
        Err(LinalgError::NotPositiveDefinite {
            batch_index: 1,
            minor: 2,
            jitter_tried,
        }) => {
            assert!(jitter_tried > 0.0)
        }
        other => panic!("expected NotPositiveDefinite after jitter, got {other:?}"),
    }
    // Orders past the shared-memory tile (blocked on CubeCL, faer on the CPU), failing early or
    // at the last pivot: the failure still reaches the last diagonal entry the check reads.
    for n in [70, 130] {
        for minor in [3, n] {
            let mut a = random_spd(14, 2, n, 1.0);
            a[n * n + (minor - 1) * (n + 1)] = -1e3;
            match cholesky(tensor(a, [2, n, n], &device, dtype)) {
                Err(LinalgError::NotPositiveDefinite {
                    batch_index: 1,
                    minor: got,
                    ..
                }) if got == minor => {}
                other => {
                    panic!("n={n}: expected element 1 to fail at minor {minor}, got {other:?}")
                }
            }
        }
    }
    // NaN in element 2.
    let mut nan = a.clone();
    nan[9..18].copy_from_slice(&random_spd(13, 1, 3, 1.0));
    nan[18 + 4] = f64::NAN;
    match cholesky(tensor(nan.clone(), [3, 3, 3], &device, dtype)) {
        Err(LinalgError::NonFinite { batch_index: 2 }) => {}
        other => panic!("expected NonFinite for element 2, got {other:?}"),
    }
    let mut inf = nan;
    inf[18 + 4] = f64::INFINITY;
    assert!(matches!(
        cholesky_jittered(
            tensor(inf, [3, 3, 3], &device, dtype),
            &JitterConfig::default()
        ),
        Err(LinalgError::NonFinite { batch_index: 2 })
    ));
    // Shapes.
    let rect = tensor(vec![0.0; 6], [2, 3], &device, dtype);
    assert!(matches!(
        cholesky(rect.clone()),
        Err(LinalgError::ShapeMismatch { .. })
    ));
    let sq = tensor(vec![1.0, 0.0, 0.0, 1.0], [2, 2], &device, dtype);
    let tall = tensor(vec![0.0; 6], [3, 2], &device, dtype);
    assert!(matches!(
        solve_triangular(sq.clone(), tall, Triangle::Lower, false, Side::Left),
        Err(LinalgError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        solve_triangular(
            sq.clone(),
            rect.clone(),
            Triangle::Lower,
            false,
            Side::Right
        ),
        Err(LinalgError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        triangular_matmul(sq.clone(), rect.clone(), Triangle::Lower, true, Side::Right),
        Err(LinalgError::ShapeMismatch {
            op: "triangular_matmul",
            ..
        })
    ));
    assert!(matches!(
        triangular_matmul(rect.clone(), sq.clone(), Triangle::Upper, false, Side::Left),
        Err(LinalgError::ShapeMismatch {
            op: "triangular_matmul",
            ..
        })
    ));
    let bt = tensor(vec![1.0; 3 * 4], [3, 2, 2], &device, dtype);
    let bb = tensor(vec![1.0; 2 * 2], [2, 2, 1], &device, dtype);
    assert!(matches!(
        solve_triangular(bt, bb, Triangle::Lower, false, Side::Left),
        Err(LinalgError::ShapeMismatch { .. })
    ));
    // Error messages name the element.
    let message = LinalgError::NotPositiveDefinite {
        batch_index: 4,
        minor: 2,
        jitter_tried: 1e-6,
    }
    .to_string();
    assert!(
        message.contains("matrix 4") && message.contains("order 2"),
        "{message}"
    );
}

fn jitter_recovers_singular(device: Device) {
    let dtype = *dtypes(&device).first().unwrap();
    let n = 4;
    // Element 0: SPD; element 1: rank one (PSD, singular); element 2: SPD.
    let mut a = random_spd(14, 3, n, 1.0);
    let v = [1.0, 2.0, -1.0, 0.5];
    for i in 0..n {
        for j in 0..n {
            a[n * n + i * n + j] = v[i] * v[j];
        }
    }
    let at = tensor(a.clone(), [3, n, n], &device, dtype);
    assert!(matches!(
        cholesky(at.clone()),
        Err(LinalgError::NotPositiveDefinite { batch_index: 1, .. })
    ));
    let out = cholesky_jittered(at, &JitterConfig::default()).unwrap();
    assert_eq!(out.jitter[0], 0.0);
    assert_eq!(out.jitter[2], 0.0);
    assert!(out.jitter[1] > 0.0, "element 1 needed jitter");
    let llt = llt(&values(out.factor), n);
    let mut want = a.clone();
    for i in 0..n {
        want[n * n + i * n + i] += out.jitter[1];
    }
    let tol = by_dtype(dtype, 1e-9, 1e-4);
    assert_all_close("jittered L Lᵀ = A + εI", &llt, &want, tol, tol);
    // The unjittered elements are bit-identical to the plain factor.
    let plain = values(cholesky(tensor(a[..n * n].to_vec(), [1, n, n], &device, dtype)).unwrap());
    assert_eq!(&llt[..0], &plain[..0]);
    let lv = values(
        cholesky_jittered(
            tensor(a.clone(), [3, n, n], &device, dtype),
            &JitterConfig::default(),
        )
        .unwrap()
        .factor,
    );
    assert_all_close("element 0 unchanged", &lv[..n * n], &plain, 0.0, 0.0);
}

/// `JitterConfig::base` (the shift inside the factorisation): `L Lᵀ = A + c I` with no retry
/// and the same factor as `cholesky(A + c I)`, at orders inside one tile and across the blocked
/// path (70, 130), with an upper triangle that must not be read; a singular element that the
/// base alone makes positive definite, and one that still needs a retry on top of it; the
/// gradient with respect to `A` by finite differences.
fn base_jitter_shifts_the_diagonal(device: Device) {
    for dtype in dtypes(&device) {
        let (rtol, atol) = by_dtype(dtype, (1e-9, 1e-9), (2e-4, 2e-4));
        for n in [4, 70, 130] {
            let (batch, c) = (2, 0.75);
            // `X Xᵀ / n` with no ridge: ill-conditioned, the shift lifts its small eigenvalues.
            let a = random_spd(400 + n as u64, batch, n, 0.0);
            let mut stored = a.clone();
            let mut shifted = a.clone();
            for e in 0..batch {
                for i in 0..n {
                    shifted[e * n * n + i * (n + 1)] += c;
                    for j in i + 1..n {
                        stored[e * n * n + i * n + j] = 7.0;
                    }
                }
            }
            let config = JitterConfig {
                base: c,
                ..JitterConfig::default()
            };
            let out = cholesky_jittered(
                tensor(stored.clone(), [batch, n, n], &device, dtype),
                &config,
            )
            .unwrap();
            assert_eq!(out.jitter, vec![0.0; batch], "n={n}: no retry needed");
            let got = values(out.factor);
            assert_all_close(
                &format!("L Lᵀ = A + cI, n={n} {dtype:?}"),
                &llt(&got, n),
                &shifted,
                rtol,
                atol,
            );
            let plain =
                values(cholesky(tensor(shifted.clone(), [batch, n, n], &device, dtype)).unwrap());
            assert_all_close(
                &format!("shifted factor = factor of the shifted matrix, n={n} {dtype:?}"),
                &got,
                &plain,
                rtol,
                atol,
            );
        }
        // Indefinite, `v vᵀ − 0.005 I`: a base of 0.5 makes it positive definite; a base of
        // 1e-9 does not, and the retry's jitter of 0.01 adds to it.
        let n = 4;
        let v = [1.0, 2.0, -1.0, 0.5];
        let rank_one: Vec<f64> = (0..n * n)
            .map(|idx| v[idx / n] * v[idx % n] - if idx % (n + 1) == 0 { 0.005 } else { 0.0 })
            .collect();
        let a = || tensor(rank_one.clone(), [1, n, n], &device, dtype);
        let base_only = cholesky_jittered(
            a(),
            &JitterConfig {
                base: 0.5,
                ..JitterConfig::default()
            },
        )
        .unwrap();
        assert_eq!(base_only.jitter, vec![0.0]);
        let (base, initial) = (1e-9, 1e-2);
        let retried = cholesky_jittered(
            a(),
            &JitterConfig {
                base,
                initial: Some(initial),
                ..JitterConfig::default()
            },
        )
        .unwrap();
        assert_eq!(retried.jitter, vec![initial]);
        let mut want = rank_one.clone();
        for i in 0..n {
            want[i * (n + 1)] += base + initial;
        }
        assert_all_close(
            &format!("retry on top of the base {dtype:?}"),
            &llt(&values(retried.factor), n),
            &want,
            rtol,
            atol,
        );
    }
    let ad = device.autodiff();
    let config = gradcheck_config(&ad);
    let (b, n) = (2, 5);
    let a = tensor(random_spd(410, b, n, 0.0), [b, n, n], &ad, config.dtype);
    let w = tensor(noise(411, b * n * n), [b, n, n], &ad, config.dtype);
    let report = gradcheck(
        |v| {
            let a = v[0].clone();
            let sym = (a.clone() + a.transpose()) * 0.5;
            let jitter = JitterConfig {
                base: 0.5,
                ..JitterConfig::default()
            };
            (cholesky_jittered(sym, &jitter).unwrap().factor * v[1].clone()).sum()
        },
        &[a, w],
        &config,
    );
    assert!(report.passed(), "cholesky with a base jitter:\n{report}");
}

/// `sparse_gp::tril_nonnegative_diagonal` against `L_ij = R_ij sgn(R_jj)` below the diagonal by
/// hand (negative, zero and positive diagonal entries, a batch of three with a rank-4 shape and
/// an order past one cube), `L Lᵀ = tril(R) tril(R)ᵀ`, finite differences, and a non-square
/// input's error.
fn signed_lower_factors(device: Device) {
    for dtype in dtypes(&device) {
        for n in [1, 4, 19] {
            let batch = 3;
            let mut raw = noise(90 + n as u64, batch * n * n);
            raw[0] = 0.0;
            let l =
                tril_nonnegative_diagonal(tensor(raw.clone(), [1, batch, n, n], &device, dtype))
                    .unwrap();
            assert_eq!(l.dims(), [1, batch, n, n]);
            let want: Vec<f64> = (0..batch * n * n)
                .map(|idx| {
                    let (e, i, j) = (idx / (n * n), idx / n % n, idx % n);
                    let sign = if raw[e * n * n + j * (n + 1)] < 0.0 {
                        -1.0
                    } else {
                        1.0
                    };
                    if i >= j { sign * raw[idx] } else { 0.0 }
                })
                .collect();
            let got = values(l);
            // Exact up to the input's rounding to the dtype.
            let tol = by_dtype(dtype, 0.0, 1e-7);
            assert_all_close(
                &format!("signed lower n={n} {dtype:?}"),
                &got,
                &want,
                tol,
                0.0,
            );
            for e in 0..batch {
                let diagonal = (0..n).map(|i| got[e * n * n + i * (n + 1)]);
                assert!(
                    diagonal.clone().all(|v| v >= 0.0),
                    "diagonal {:?}",
                    diagonal.collect::<Vec<_>>()
                );
            }
        }
    }
    let ad = device.clone().autodiff();
    let config = gradcheck_config(&ad);
    let n = 5;
    let raw = tensor(noise(95, 2 * n * n), [2, n, n], &ad, config.dtype);
    let w = tensor(noise(96, 2 * n * n), [2, n, n], &ad, config.dtype);
    let report = gradcheck(
        |v| (tril_nonnegative_diagonal(v[0].clone()).unwrap() * v[1].clone()).sum(),
        &[raw, w],
        &config,
    );
    assert!(report.passed(), "tril_nonnegative_diagonal:\n{report}");
    let dtype = dtypes(&device)[0];
    assert!(matches!(
        tril_nonnegative_diagonal(tensor(vec![1.0; 6], [2, 3], &device, dtype)),
        Err(LinalgError::ShapeMismatch { .. })
    ));
}

/// `projected_mean` and its reverse mode against loops in f64 for the objective `Σ V ∘ Y`:
/// `Y[p, n] = C[p, n] + Σₖ W[p, k] A[p, k, n]`, `W̄[p, k] = Σₙ V[p, n] A[p, k, n]`,
/// `Ā[p, k, n] = W[p, k] V[p, n]` (summed over `p` for a shared `A`), `C̄` = `V` summed over the
/// offsets' broadcast dimensions; a shared and a per-row `A`, column, full, broadcast and no
/// offsets, more columns than a cube has units; finite differences; shape errors.
fn projected_means(device: Device) {
    let ad = device.clone().autodiff();
    // (P, b, M, N, offset shape)
    type Case = (usize, usize, usize, usize, Option<[usize; 2]>);
    let cases: [Case; 5] = [
        (1, 1, 5, 300, Some([1, 1])),
        (3, 1, 4, 7, Some([3, 7])),
        (3, 3, 6, 9, Some([1, 1])),
        (2, 2, 70, 513, Some([2, 1])),
        (2, 1, 3, 5, None),
    ];
    for dtype in dtypes(&device) {
        let tol = by_dtype(dtype, 1e-12, 2e-5);
        for (case, &(p, b, m, n, offset_dims)) in cases.iter().enumerate() {
            let seed = 500 + 10 * case as u64;
            let (w, a, v) = (
                noise(seed, p * m),
                noise(seed + 1, b * m * n),
                noise(seed + 2, p * n),
            );
            let c = offset_dims.map(|[r, k]| noise(seed + 3, r * k));
            let wt = tensor(w.clone(), [p, m], &ad, dtype).require_grad();
            let at = tensor(a.clone(), [b, m, n], &ad, dtype).require_grad();
            let ct =
                offset_dims.map(|dims| tensor(c.clone().unwrap(), dims, &ad, dtype).require_grad());
            let y = projected_mean(wt.clone(), at.clone(), ct.clone()).unwrap();
            assert_eq!(y.dims(), [p, n]);
            let label = |what: &str| format!("projected_mean {what} case {case} [{dtype:?}]");
            let a_at = |row: usize, k: usize, j: usize| {
                a[((if b == 1 { 0 } else { row }) * m + k) * n + j]
            };
            let c_at = |row: usize, j: usize| match (&c, offset_dims) {
                (Some(c), Some([r, k])) => {
                    c[(if r == 1 { 0 } else { row }) * k + if k == 1 { 0 } else { j }]
                }
                _ => 0.0,
            };
            let want: Vec<f64> = (0..p * n)
                .map(|idx| {
                    let (row, j) = (idx / n, idx % n);
                    c_at(row, j)
                        + (0..m)
                            .map(|k| w[row * m + k] * a_at(row, k, j))
                            .sum::<f64>()
                })
                .collect();
            assert_all_close(&label("value"), &values(y.clone()), &want, tol, tol);
            let grads = (y * tensor(v.clone(), [p, n], &ad, dtype)).sum().backward();
            let want_w: Vec<f64> = (0..p * m)
                .map(|idx| {
                    let (row, k) = (idx / m, idx % m);
                    (0..n).map(|j| v[row * n + j] * a_at(row, k, j)).sum()
                })
                .collect();
            let want_a: Vec<f64> = (0..b * m * n)
                .map(|idx| {
                    let (batch, k, j) = (idx / (m * n), idx / n % m, idx % n);
                    let rows = if b == 1 { 0..p } else { batch..batch + 1 };
                    rows.map(|row| w[row * m + k] * v[row * n + j]).sum()
                })
                .collect();
            assert_all_close(
                &label("W̄"),
                &values(wt.grad(&grads).unwrap()),
                &want_w,
                tol,
                tol,
            );
            assert_all_close(
                &label("Ā"),
                &values(at.grad(&grads).unwrap()),
                &want_a,
                tol,
                tol,
            );
            if let (Some(ct), Some([r, k])) = (ct, offset_dims) {
                let want_c: Vec<f64> = (0..r * k)
                    .map(|idx| {
                        let (row0, j0) = (idx / k, idx % k);
                        let rows: Vec<usize> = if r == 1 { (0..p).collect() } else { vec![row0] };
                        let cols: Vec<usize> = if k == 1 { (0..n).collect() } else { vec![j0] };
                        rows.iter()
                            .flat_map(|&row| cols.iter().map(move |&j| (row, j)))
                            .map(|(row, j)| v[row * n + j])
                            .sum()
                    })
                    .collect();
                assert_all_close(
                    &label("C̄"),
                    &values(ct.grad(&grads).unwrap()),
                    &want_c,
                    tol,
                    tol,
                );
            }
        }
    }
    let config = gradcheck_config(&ad);
    let (p, m, n) = (2, 3, 4);
    // `A` enters as `[P, M·N]` (the checker takes matrices) and is reshaped inside.
    let inputs = [
        tensor(noise(560, p * m), [p, m], &ad, config.dtype),
        tensor(noise(561, p * m * n), [p, m * n], &ad, config.dtype),
        tensor(noise(562, p), [p, 1], &ad, config.dtype),
        tensor(noise(563, p * n), [p, n], &ad, config.dtype),
    ];
    let report = gradcheck(
        |v| {
            let a: Tensor<3> = v[1].clone().reshape([p, m, n]);
            (projected_mean(v[0].clone(), a, Some(v[2].clone())).unwrap() * v[3].clone()).sum()
        },
        &inputs,
        &config,
    );
    assert!(report.passed(), "projected_mean:\n{report}");
    let dtype = dtypes(&device)[0];
    let zeros2 = |dims: [usize; 2]| tensor(vec![0.0; dims[0] * dims[1]], dims, &device, dtype);
    let zeros3 = |dims: [usize; 3]| tensor(vec![0.0; dims.iter().product()], dims, &device, dtype);
    for (w, a, c) in [
        ([2, 3], [1, 4, 5], None),
        ([2, 3], [3, 3, 5], None),
        ([2, 3], [1, 3, 5], Some([2, 4])),
        ([2, 3], [1, 3, 5], Some([3, 1])),
        ([0, 3], [1, 3, 5], Some([1, 1])),
    ] {
        assert!(
            matches!(
                projected_mean(zeros2(w), zeros3(a), c.map(zeros2)),
                Err(LinalgError::ShapeMismatch {
                    op: "projected_mean",
                    ..
                })
            ),
            "W {w:?}, A {a:?}, C {c:?}"
        );
    }
}

/// `whitened_variance` and its reverse mode against loops in f64: `P = Lᵀ B`,
/// `v = max(σ₀² + Σᵢ P² − B², 0)`, `L̄ = 2 tril(B diag(g) Pᵀ)`, `B̄ = 2 (L P − B) diag(g)`,
/// `σ̄₀² = g` with `g = w ∘ [v > 0]` for the objective `Σ w ∘ v`; a factor batch of 1 and
/// per-column prior variances broadcast over a batch of 2; orders across the kernel's unit
/// stride (64) and the upper triangle filled with values that must not be read.
fn whitened_variances(device: Device) {
    let ad = device.clone().autodiff();
    for dtype in dtypes(&device) {
        for (n, k) in [(1, 1), (5, 3), (70, 67), (131, 9)] {
            let batch = 2;
            let mut l = noise(300 + n as u64, n * n);
            for i in 0..n {
                l[i * (n + 1)] = 1.0 + l[i * (n + 1)].abs();
                for j in i + 1..n {
                    l[i * n + j] = 7.0;
                }
            }
            let scale = 1.0 / (n as f64).sqrt();
            let b: Vec<f64> = noise(400 + k as u64, batch * n * k)
                .iter()
                .map(|v| v * scale)
                .collect();
            // Every third column's prior variance is far below any correction: clamped.
            let prior: Vec<f64> = (0..k)
                .map(|j| if j % 3 == 1 { -1e3 } else { 0.5 + j as f64 })
                .collect();
            let w = noise(500 + k as u64, batch * k);
            let lt = |i: usize, r: usize| if r >= i { l[r * n + i] } else { 0.0 };
            let mut want_v = vec![0.0; batch * k];
            let mut product = vec![0.0; batch * n * k];
            for e in 0..batch {
                for j in 0..k {
                    let mut change = 0.0;
                    for i in 0..n {
                        let p: f64 = (i..n).map(|r| lt(i, r) * b[(e * n + r) * k + j]).sum();
                        product[(e * n + i) * k + j] = p;
                        change += p * p - b[(e * n + i) * k + j].powi(2);
                    }
                    want_v[e * k + j] = (prior[j] + change).max(0.0);
                }
            }
            let g: Vec<f64> = (0..batch * k)
                .map(|c| if want_v[c] > 0.0 { w[c] } else { 0.0 })
                .collect();
            let mut want_l = vec![0.0; n * n];
            let mut want_b = vec![0.0; batch * n * k];
            for e in 0..batch {
                for r in 0..n {
                    for j in 0..k {
                        let lp: f64 = (0..=r)
                            .map(|i| lt(i, r) * product[(e * n + i) * k + j])
                            .sum();
                        let at = (e * n + r) * k + j;
                        want_b[at] = 2.0 * g[e * k + j] * (lp - b[at]);
                        for i in 0..=r {
                            want_l[r * n + i] +=
                                2.0 * b[at] * g[e * k + j] * product[(e * n + i) * k + j];
                        }
                    }
                }
            }
            let want_prior: Vec<f64> = (0..k).map(|j| g[j] + g[k + j]).collect();

            let lt_t = tensor(l.clone(), [1, n, n], &ad, dtype).require_grad();
            let b_t = tensor(b.clone(), [batch, n, k], &ad, dtype).require_grad();
            let prior_t = tensor(prior.clone(), [k], &ad, dtype).require_grad();
            let v: Tensor<2> =
                whitened_variance(lt_t.clone(), b_t.clone(), prior_t.clone().unsqueeze()).unwrap();
            assert_eq!(v.dims(), [batch, k]);
            let grads = (v.clone() * tensor(w.clone(), [batch, k], &ad, dtype))
                .sum()
                .backward();
            let case = format!("n={n} k={k} {dtype:?}");
            let tol = by_dtype(dtype, 1e-10, 1e-4);
            let scale_of = |x: &[f64]| x.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            let check = |what: &str, got: Vec<f64>, want: &[f64]| {
                assert_all_close(
                    &format!("{case} {what}"),
                    &got,
                    want,
                    tol,
                    tol * scale_of(want) * n as f64,
                );
            };
            check("v", values(v), &want_v);
            check("L̄", values(lt_t.grad(&grads).unwrap()), &want_l);
            check("B̄", values(b_t.grad(&grads).unwrap()), &want_b);
            check("σ̄₀²", values(prior_t.grad(&grads).unwrap()), &want_prior);
        }
    }
    // Finite differences in all three inputs, away from the clamp.
    let config = gradcheck_config(&ad);
    let (n, k) = (4, 3);
    let mut l = noise(600, 2 * n * n);
    for e in 0..2 {
        for i in 0..n {
            l[e * n * n + i * (n + 1)] += 2.0;
        }
    }
    let report = gradcheck(
        |v| {
            let prior: Tensor<2> = v[2].clone().reshape([2, k]);
            let variance = whitened_variance(v[0].clone(), v[1].clone(), prior).unwrap();
            (variance * v[3].clone().reshape([2, k])).sum()
        },
        &[
            tensor(l, [2, n, n], &ad, config.dtype),
            tensor(noise(601, 2 * n * k), [2, n, k], &ad, config.dtype),
            tensor(vec![5.0; 2 * k], [2, 1, k], &ad, config.dtype),
            tensor(noise(602, 2 * k), [2, 1, k], &ad, config.dtype),
        ],
        &config,
    );
    assert!(report.passed(), "whitened_variance:\n{report}");
    let dtype = dtypes(&device)[0];
    let l = tensor(vec![1.0; 18], [2, 3, 3], &device, dtype);
    let shape_error = |l: Tensor<3>, b: Tensor<3>, prior: Tensor<2>| {
        matches!(
            whitened_variance(l, b, prior),
            Err(LinalgError::ShapeMismatch { .. })
        )
    };
    let b = |rows: usize| tensor(vec![1.0; 2 * rows * 4], [2, rows, 4], &device, dtype);
    let prior = |cols: usize| tensor(vec![1.0; 2 * cols], [2, cols], &device, dtype);
    assert!(shape_error(l.clone(), b(2), prior(4)), "rows of B");
    assert!(shape_error(l.clone(), b(3), prior(5)), "prior columns");
    assert!(
        shape_error(
            tensor(vec![1.0; 12], [2, 3, 2], &device, dtype),
            b(3),
            prior(4)
        ),
        "square factor"
    );
    assert!(!shape_error(l, b(3), prior(4)));
}

/// `cholesky_deferred`: the factor of `A + shift·I` equal to the checked one, and a guard that is
/// finite exactly at the batch elements that factorised (indefinite at the first or the last
/// minor, NaN input, across the tile and blocked paths), read in one go.
fn deferred_cholesky_guards(device: Device) {
    for dtype in dtypes(&device) {
        let (rtol, atol) = by_dtype(dtype, (1e-10, 1e-10), (1e-4, 1e-4));
        for n in [3, 70, 130] {
            let batch = 4;
            let mut a = random_spd(500 + n as u64, batch, n, 1.0);
            let good = a[..n * n].to_vec();
            a[n * n] = -1.0; // element 1 fails at its first pivot
            a[2 * n * n + (n - 1) * (n + 1)] = -1e3; // element 2 at its last
            a[3 * n * n + n] = f64::NAN; // element 3 has NaN in its lower triangle
            let out = cholesky_deferred(tensor(a, [batch, n, n], &device, dtype), 0.25).unwrap();
            assert_eq!(out.guard.dims(), [batch]);
            let finite: Vec<bool> = values(out.guard).iter().map(|g| g.is_finite()).collect();
            assert_eq!(
                finite,
                vec![true, false, false, false],
                "n={n} {dtype:?}: guard per element"
            );
            let got = values(out.factor.narrow(0, 0, 1));
            let want = cholesky_jittered(
                tensor(good, [1, n, n], &device, dtype),
                &JitterConfig {
                    base: 0.25,
                    ..JitterConfig::default()
                },
            )
            .unwrap();
            assert_all_close(
                &format!("deferred factor, n={n} {dtype:?}"),
                &got,
                &values(want.factor),
                rtol,
                atol,
            );
        }
        // The shift alone decides: singular without, positive definite with.
        let ones = || tensor(vec![1.0; 4], [2, 2], &device, dtype);
        let guard = |shift: f64| values(cholesky_deferred(ones(), shift).unwrap().guard);
        assert!(!guard(0.0)[0].is_finite(), "rank one without shift");
        assert!(guard(0.5)[0].is_finite(), "rank one with shift");
        assert!(matches!(
            cholesky_deferred(tensor(vec![0.0; 6], [2, 3], &device, dtype), 0.0),
            Err(LinalgError::ShapeMismatch { .. })
        ));
    }
}
