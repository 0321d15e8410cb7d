//! The fused GP kernels: projected means and whitened variances.

use burn::tensor::{Device, FloatDType, Tensor};
use vi_core::gradcheck::gradcheck;
use vi_core::linalg::LinalgError;
use vi_core::sparse_gp::{projected_mean, whitened_variance};
use vi_tests::{
    assert_all_close, by_dtype, device_tests, dtypes, gradcheck_configs, noise, tensor, values,
};

device_tests!(whitened_variances, projected_means,);

/// `projected_mean` and its reverse mode against loops in f64 for the objective `Σ V ∘ Y`:
/// `Y[p, n] = C[p, n] + Σₖ W[p, k] A[p, k, n]`, `W̄[p, k] = Σₙ V[p, n] A[p, k, n]`,
/// `Ā[p, k, n] = W[p, k] V[p, n]` (summed over `p` for a shared `A`), `C̄` = `V` summed over the
/// offsets' broadcast dimensions; a shared and a per-row `A`, column, full, broadcast and no
/// offsets, more columns than a cube has units; finite differences; shape errors.
fn projected_means(device: Device) {
    let ad = device.clone().autodiff();
    for dtype in dtypes(&device) {
        for (case, &shape) in PROJECTED_CASES.iter().enumerate() {
            projected_mean_case(&ad, dtype, case, shape);
        }
    }
    projected_mean_gradcheck(&ad);
    projected_mean_errors(&device);
}

/// `(P, b, M, N, offset shape)` of a projected-mean case.
type Case = (usize, usize, usize, usize, Option<[usize; 2]>);

/// A shared and a per-row `A`, column, full, broadcast and no offsets, more columns than a cube
/// has units.
const PROJECTED_CASES: [Case; 5] = [
    (1, 1, 5, 300, Some([1, 1])),
    (3, 1, 4, 7, Some([3, 7])),
    (3, 3, 6, 9, Some([1, 1])),
    (2, 2, 70, 513, Some([2, 1])),
    (2, 1, 3, 5, None),
];

/// One case's value and reverse mode against loops in f64.
fn projected_mean_case(ad: &Device, dtype: FloatDType, case: usize, shape: Case) {
    let ad = ad.clone();
    let (p, b, m, n, offset_dims) = shape;
    let tol = by_dtype(dtype, 1e-12, 2e-5);
    let seed = 500 + 10 * case as u64;
    let (w, a, v) = (
        noise(seed, p * m),
        noise(seed + 1, b * m * n),
        noise(seed + 2, p * n),
    );
    let c = offset_dims.map(|[r, k]| noise(seed + 3, r * k));
    let wt = tensor(w.clone(), [p, m], &ad, dtype).require_grad();
    let at = tensor(a.clone(), [b, m, n], &ad, dtype).require_grad();
    let ct = offset_dims.map(|dims| tensor(c.clone().unwrap(), dims, &ad, dtype).require_grad());
    let y = projected_mean(wt.clone(), at.clone(), ct.clone()).unwrap();
    assert_eq!(y.dims(), [p, n]);
    let label = |what: &str| format!("projected_mean {what} case {case} [{dtype:?}]");
    let a_at = |row: usize, k: usize, j: usize| a[((if b == 1 { 0 } else { row }) * m + k) * n + j];
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
        let want_c = offset_gradient(&v, p, n, r, k);
        assert_all_close(
            &label("C̄"),
            &values(ct.grad(&grads).unwrap()),
            &want_c,
            tol,
            tol,
        );
    }
}

/// `C̄` of offsets `[r, k]` for the upstream `V` `[p, n]`: `V` summed over the broadcast
/// dimensions.
fn offset_gradient(v: &[f64], p: usize, n: usize, r: usize, k: usize) -> Vec<f64> {
    (0..r * k)
        .map(|idx| {
            let (row0, j0) = (idx / k, idx % k);
            let rows: Vec<usize> = if r == 1 { (0..p).collect() } else { vec![row0] };
            let cols: Vec<usize> = if k == 1 { (0..n).collect() } else { vec![j0] };
            rows.iter()
                .flat_map(|&row| cols.iter().map(move |&j| (row, j)))
                .map(|(row, j)| v[row * n + j])
                .sum()
        })
        .collect()
}

/// Finite differences in `W`, `A` and the offsets.
fn projected_mean_gradcheck(ad: &Device) {
    let ad = ad.clone();
    for config in gradcheck_configs(&ad) {
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
    }
}

/// Shapes that do not fit.
fn projected_mean_errors(device: &Device) {
    let device = device.clone();
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
            whitened_variance_case(&ad, dtype, n, k);
        }
    }
    whitened_variance_gradcheck(&ad);
    whitened_variance_errors(&device);
}

/// Batch of `B` in the whitened-variance cases.
const BATCH: usize = 2;

/// `L` `[n, n]` (diagonal ≥ 1, 7 above it), `B` `[2, n, k]` scaled by `1/√n`, the prior
/// variances (every third column's far below any correction: clamped) and the weights `w`.
fn whitened_inputs(n: usize, k: usize) -> [Vec<f64>; 4] {
    let batch = BATCH;
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
    [l, b, prior, w]
}

/// `v`, `L̄`, `B̄` and `σ̄₀²` by loops in f64 for the objective `Σ w ∘ v`.
fn whitened_host(n: usize, k: usize) -> [Vec<f64>; 4] {
    let batch = BATCH;
    let [l, b, prior, w] = whitened_inputs(n, k);
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
                    want_l[r * n + i] += 2.0 * b[at] * g[e * k + j] * product[(e * n + i) * k + j];
                }
            }
        }
    }
    let want_prior: Vec<f64> = (0..k).map(|j| g[j] + g[k + j]).collect();
    [want_v, want_l, want_b, want_prior]
}

/// One order `n` and width `k`: value and reverse mode against [`whitened_host`].
fn whitened_variance_case(ad: &Device, dtype: FloatDType, n: usize, k: usize) {
    let ad = ad.clone();
    let batch = BATCH;
    let [l, b, prior, w] = whitened_inputs(n, k);
    let [want_v, want_l, want_b, want_prior] = whitened_host(n, k);
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

/// Finite differences in all three inputs, away from the clamp.
fn whitened_variance_gradcheck(ad: &Device) {
    let ad = ad.clone();
    for config in gradcheck_configs(&ad) {
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
    }
}

/// `B`'s rows, the prior's columns and a non-square factor that do not fit.
fn whitened_variance_errors(device: &Device) {
    let device = device.clone();
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
