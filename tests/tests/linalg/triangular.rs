//! Triangular products and solves, and sign-corrected lower factors.

use crate::common::{matmul, transposed};
use burn::tensor::{Device, FloatDType, Tensor};
use vi_core::gradcheck::gradcheck;
use vi_core::linalg::{
    LinalgError, Side, Triangle, column_norm_change, solve_triangular, triangular_matmul,
};
use vi_core::sparse_gp::tril_nonnegative_diagonal;
use vi_tests::{
    assert_all_close, by_dtype, device_tests, dtypes, gradcheck_configs, noise, tensor, values,
};

device_tests!(
    triangular_matmul_products,
    wide_solves_and_gradients,
    signed_lower_factors,
);

/// `op(tri(T)) B` and `B op(tri(T))` against host products of the masked matrix, with noise in
/// the triangle that must not be read, a broadcast batch, and sizes across faer's blocking.
fn triangular_matmul_products(device: Device) {
    for dtype in dtypes(&device) {
        for (n, k) in [(1, 1), (5, 3), (33, 7), (70, 40), (20, 45)] {
            for triangle in [Triangle::Lower, Triangle::Upper] {
                for transpose in [false, true] {
                    triangular_products_case(&device, dtype, n, k, triangle, transpose);
                }
            }
        }
    }
}

/// `op(tri(T))` on the host: the triangle of `T` kept, transposed when `transpose`.
fn masked_op(t_full: &[f64], n: usize, triangle: Triangle, transpose: bool) -> Vec<f64> {
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
    if transpose {
        (0..n * n).map(|idx| tri[(idx % n) * n + idx / n]).collect()
    } else {
        tri
    }
}

/// `op(tri(T)) B`, `B op(tri(T))` and the column norm change of one case against the host.
fn triangular_products_case(
    device: &Device,
    dtype: FloatDType,
    n: usize,
    k: usize,
    triangle: Triangle,
    transpose: bool,
) {
    let device = device.clone();
    let tol = by_dtype(dtype, 1e-12, 1e-4);
    let batch = 3;
    let t_full = noise(20 + n as u64, n * n);
    let b = noise(21 + n as u64, batch * n * k);
    let t = tensor(t_full.clone(), [1, n, n], &device, dtype);
    let op = masked_op(&t_full, n, triangle, transpose);
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
    for config in gradcheck_configs(&ad) {
        let n = 5;
        let raw = tensor(noise(95, 2 * n * n), [2, n, n], &ad, config.dtype);
        let w = tensor(noise(96, 2 * n * n), [2, n, n], &ad, config.dtype);
        let report = gradcheck(
            |v| (tril_nonnegative_diagonal(v[0].clone()).unwrap() * v[1].clone()).sum(),
            &[raw, w],
            &config,
        );
        assert!(report.passed(), "tril_nonnegative_diagonal:\n{report}");
    }
    let dtype = dtypes(&device)[0];
    assert!(matches!(
        tril_nonnegative_diagonal(tensor(vec![1.0; 6], [2, 3], &device, dtype)),
        Err(LinalgError::ShapeMismatch { .. })
    ));
}
