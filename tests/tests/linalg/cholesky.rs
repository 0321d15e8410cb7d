//! Properties of the factorisation on random SPD matrices, and sizes across the kernel paths.

use crate::common::{batched_matmul, llt, matmul, orthogonal};
use burn::tensor::Device;
use vi_core::linalg::{
    Side, Triangle, cholesky, cholesky_solve, logdet_from_cholesky, solve_triangular,
};
use vi_tests::{
    assert_all_close, by_dtype, device_tests, dtypes, noise, random_spd, tensor, values,
};

device_tests!(properties_random_spd, sizes_across_kernels,);

/// L Lᵀ = A, solve residuals, logdet = Σ log λ, and batch = one-by-one, over random sizes.
fn properties_random_spd(device: Device) {
    use proptest::prelude::*;
    let mut runner = vi_tests::proptest_runner("properties_random_spd", 64);
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
