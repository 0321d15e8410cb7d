//! `vi_core::mean_field`'s fused sample and sampled linear map.

use burn::tensor::{Device, FloatDType};
use vi_core::distributions::DistributionError;
use vi_core::gradcheck::gradcheck;
use vi_core::mean_field::{
    MeanFieldDraw, kl_to_normal, kl_to_normal_pair, sample as mean_field_sample, sampled_linear,
};
use vi_tests::{
    assert_all_close, by_dtype, device_tests, dtypes, gradcheck_configs, noise, tensor, values,
};

device_tests!(mean_field_sample_op, mean_field_sampled_linear_op,);

/// `mean_field::sample` against `μ + ln(1 + e^ρ) ε` in f64 (ρ from −30 to 30, where a naive
/// softplus or sigmoid would overflow), finite differences through it and the KL together, and
/// its shape error.
fn mean_field_sample_op(device: Device) {
    for dtype in dtypes(&device) {
        let n = 64;
        let loc = noise(1, n);
        let rho: Vec<f64> = (0..n)
            .map(|i| -30.0 + 60.0 * i as f64 / (n - 1) as f64)
            .collect();
        let eps = noise(2, n);
        let want: Vec<f64> = (0..n)
            .map(|i| loc[i] + (rho[i].max(0.0) + (-rho[i].abs()).exp().ln_1p()) * eps[i])
            .collect();
        let t = |v: &[f64]| tensor(v.to_vec(), [8, 8], &device, dtype);
        let got = values(mean_field_sample(t(&loc), t(&rho), t(&eps)).unwrap());
        let tol = by_dtype(dtype, 1e-12, 2e-6);
        assert_all_close(
            &format!("mean-field sample [{dtype:?}]"),
            &got,
            &want,
            tol,
            tol,
        );
    }
    mean_field_gradients(&device);
    let dtype = dtypes(&device)[0];
    match mean_field_sample(
        tensor(vec![0.0; 3], [3], &device, dtype),
        tensor(vec![0.0; 3], [3], &device, dtype),
        tensor(vec![0.0; 4], [4], &device, dtype),
    ) {
        Err(DistributionError::ShapeMismatch { reason, .. }) => {
            assert!(reason.contains("[4]"), "{reason}")
        }
        other => panic!("mean-field sample of mismatched shapes: {other:?}"),
    }
}

/// Finite differences through the sample and the KL together, and through the pair KL; the
/// pair KL equals the sum of two.
fn mean_field_gradients(device: &Device) {
    let ad = device.clone().autodiff();
    for config in gradcheck_configs(&ad) {
        let dtype = config.dtype;
        let eps = tensor(noise(3, 6), [2, 3], &ad, dtype);
        let prior = tensor(vec![0.8], [1], &ad, dtype);
        let report = gradcheck(
            |v| {
                let w = mean_field_sample(v[0].clone(), v[1].clone(), eps.clone()).unwrap();
                (w.clone() * w).sum()
                    + kl_to_normal(v[0].clone(), v[1].clone(), prior.clone()).unwrap()
            },
            &[
                tensor(noise(4, 6), [2, 3], &ad, dtype),
                tensor(noise(5, 6), [2, 3], &ad, dtype),
            ],
            &config,
        );
        assert!(report.passed(), "mean-field sample + KL:\n{report}");
        // The pair KL (a weight matrix and a bias vector) in all four inputs, against the sum of two.
        let report = gradcheck(
            |v| {
                let bias = (v[2].clone().reshape([3]), v[3].clone().reshape([3]));
                kl_to_normal_pair((v[0].clone(), v[1].clone()), bias, prior.clone()).unwrap()
            },
            &[
                tensor(noise(6, 6), [2, 3], &ad, dtype),
                tensor(noise(7, 6), [2, 3], &ad, dtype),
                tensor(noise(8, 3), [1, 3], &ad, dtype),
                tensor(noise(9, 3), [1, 3], &ad, dtype),
            ],
            &config,
        );
        assert!(report.passed(), "mean-field pair KL:\n{report}");
        let t =
            |seed: u64, dims: [usize; 2]| tensor(noise(seed, dims[0] * dims[1]), dims, &ad, dtype);
        let (w, b) = ((t(6, [2, 3]), t(7, [2, 3])), (t(8, [1, 3]), t(9, [1, 3])));
        let pair = kl_to_normal_pair(w.clone(), b.clone(), prior.clone()).unwrap();
        let sum = kl_to_normal(w.0, w.1, prior.clone()).unwrap()
            + kl_to_normal(b.0, b.1, prior.clone()).unwrap();
        assert_all_close(
            "pair KL = sum of two",
            &values(pair),
            &values(sum),
            1e-6,
            1e-6,
        );
    }
}

/// `mean_field::sampled_linear` against `x (μ + softplus(ρ) ε) + (μ_b + softplus(ρ_b) ε_b)`
/// computed by hand in f64 (with leading batch dimensions), finite differences in all five
/// inputs, the bias-free form, and its shape errors.
fn mean_field_sampled_linear_op(device: Device) {
    for dtype in dtypes(&device) {
        sampled_linear_values(&device, dtype);
    }
    sampled_linear_gradients(&device);
    sampled_linear_errors(&device);
}

/// Rows, inputs and outputs of the sampled linear checks.
const SIZES: (usize, usize, usize) = (6, 4, 3);

/// `x`, the weights' `μ`, `ρ`, `ε` and the bias's `μ_b`, `ρ_b`, `ε_b`, from noise.
fn linear_inputs() -> [Vec<f64>; 7] {
    let (rows, i, o) = SIZES;
    let (x, loc, rho, eps) = (
        noise(10, rows * i),
        noise(11, i * o),
        noise(12, i * o),
        noise(13, i * o),
    );
    let (bias_loc, bias_rho, bias_eps) = (noise(14, o), noise(15, o), noise(16, o));
    [x, loc, rho, eps, bias_loc, bias_rho, bias_eps]
}

/// `x (μ + softplus(ρ) ε) + (μ_b + softplus(ρ_b) ε_b)` (the bias term when `bias`) by hand in f64.
fn sampled_linear_host(bias: bool) -> Vec<f64> {
    let (rows, i, o) = SIZES;
    let [x, loc, rho, eps, bias_loc, bias_rho, bias_eps] = linear_inputs();
    let softplus = |r: f64| r.max(0.0) + (-r.abs()).exp().ln_1p();
    let w: Vec<f64> = (0..i * o)
        .map(|k| loc[k] + softplus(rho[k]) * eps[k])
        .collect();
    let b: Vec<f64> = (0..o)
        .map(|j| bias_loc[j] + softplus(bias_rho[j]) * bias_eps[j])
        .collect();
    (0..rows * o)
        .map(|k| {
            let (r, j) = (k / o, k % o);
            let dot: f64 = (0..i).map(|l| x[r * i + l] * w[l * o + j]).sum();
            dot + if bias { b[j] } else { 0.0 }
        })
        .collect()
}

/// With leading batch dimensions, with and without the bias, against the host values.
fn sampled_linear_values(device: &Device, dtype: FloatDType) {
    let device = device.clone();
    let (rows, i, o) = SIZES;
    let [x, loc, rho, eps, bias_loc, bias_rho, bias_eps] = linear_inputs();
    let want = sampled_linear_host;
    let matrix = |v: &[f64]| tensor(v.to_vec(), [i, o], &device, dtype);
    let vector = |v: &[f64]| tensor(v.to_vec(), [o], &device, dtype);
    let weight = MeanFieldDraw {
        loc: matrix(&loc),
        rho: matrix(&rho),
        noise: matrix(&eps),
    };
    let bias = MeanFieldDraw {
        loc: vector(&bias_loc),
        rho: vector(&bias_rho),
        noise: vector(&bias_eps),
    };
    let xs = tensor(x.clone(), [2, rows / 2, i], &device, dtype);
    let tol = by_dtype(dtype, 1e-12, 1e-5);
    let got = sampled_linear(xs.clone(), weight.clone(), Some(bias)).unwrap();
    assert_eq!(got.dims(), [2, rows / 2, o]);
    assert_all_close(
        &format!("sampled linear [{dtype:?}]"),
        &values(got),
        &want(true),
        tol,
        tol,
    );
    let got = values(sampled_linear(xs, weight, None).unwrap());
    assert_all_close(
        &format!("sampled linear, no bias [{dtype:?}]"),
        &got,
        &want(false),
        tol,
        tol,
    );
}

/// Finite differences in all five inputs.
fn sampled_linear_gradients(device: &Device) {
    let (rows, i, o) = SIZES;
    let [x, loc, rho, eps, bias_loc, bias_rho, bias_eps] = linear_inputs();
    let ad = device.clone().autodiff();
    for config in gradcheck_configs(&ad) {
        let dtype = config.dtype;
        let (weight_noise, bias_noise) = (
            tensor(eps.clone(), [i, o], &ad, dtype),
            tensor(bias_eps.clone(), [o], &ad, dtype),
        );
        let report = gradcheck(
            |v| {
                let weight = MeanFieldDraw {
                    loc: v[1].clone(),
                    rho: v[2].clone(),
                    noise: weight_noise.clone(),
                };
                let bias = MeanFieldDraw {
                    loc: v[3].clone().reshape([o]),
                    rho: v[4].clone().reshape([o]),
                    noise: bias_noise.clone(),
                };
                let x = v[0].clone().reshape([2, rows / 2, i]);
                let y = sampled_linear(x, weight, Some(bias)).unwrap();
                (y.clone() * y).sum()
            },
            &[
                tensor(x.clone(), [rows, i], &ad, dtype),
                tensor(loc.clone(), [i, o], &ad, dtype),
                tensor(rho.clone(), [i, o], &ad, dtype),
                tensor(bias_loc.clone(), [1, o], &ad, dtype),
                tensor(bias_rho.clone(), [1, o], &ad, dtype),
            ],
            &config,
        );
        assert!(report.passed(), "sampled linear:\n{report}");
    }
}

/// Weights, inputs and a bias of mismatched shapes.
fn sampled_linear_errors(device: &Device) {
    let device = device.clone();
    let (rows, i, o) = SIZES;
    let dtype = dtypes(&device)[0];
    let zeros = |dims: [usize; 2]| tensor(vec![0.0; dims[0] * dims[1]], dims, &device, dtype);
    let draw = |rho: [usize; 2]| MeanFieldDraw {
        loc: zeros([i, o]),
        rho: zeros(rho),
        noise: zeros([i, o]),
    };
    let expect_mismatch = |result, needle: &str| match result {
        Err(DistributionError::ShapeMismatch { reason, .. }) => {
            assert!(reason.contains(needle), "{reason}")
        }
        other => panic!("sampled linear with a bad shape: {other:?}"),
    };
    expect_mismatch(
        sampled_linear(zeros([rows, i]), draw([i, o + 1]), None),
        "rho",
    );
    expect_mismatch(
        sampled_linear(zeros([rows, i + 1]), draw([i, o]), None),
        "inputs",
    );
    let bias = MeanFieldDraw {
        loc: tensor(vec![0.0; o + 1], [o + 1], &device, dtype),
        rho: tensor(vec![0.0; o + 1], [o + 1], &device, dtype),
        noise: tensor(vec![0.0; o + 1], [o + 1], &device, dtype),
    };
    expect_mismatch(
        sampled_linear(zeros([rows, i]), draw([i, o]), Some(bias)),
        "outputs",
    );
}
