//! `vi_core::likelihood`: Gaussian log-likelihood and expected log-likelihood.

use crate::common::HALF_LN_2PI;
use burn::tensor::{Device, Tensor};
use vi_core::distributions::DistributionError;
use vi_core::gradcheck::gradcheck;
use vi_core::likelihood::{gaussian_expected_log_likelihood, gaussian_log_likelihood};
use vi_tests::{
    assert_all_close, by_dtype, device_tests, dtypes, gradcheck_configs, noise, tensor, values,
};

device_tests!(
    gaussian_log_likelihood_op,
    gaussian_expected_log_likelihood_op,
);

/// `likelihood::gaussian_log_likelihood` against `Σ ln N(y | μ, e^{2s})` by hand in f64 (a
/// shared and a per-element scale), finite differences in `y`, `μ` and `s`, and its shape errors.
fn gaussian_log_likelihood_op(device: Device) {
    let n = 150; // more than two of the CPU kernel's chunks
    let (y, mean) = (noise(20, n), noise(21, n));
    let per_element: Vec<f64> = noise(22, n).iter().map(|v| 0.3 * v).collect();
    let want = |s: &dyn Fn(usize) -> f64| -> f64 {
        (0..n)
            .map(|i| {
                let z = (y[i] - mean[i]) * (-s(i)).exp();
                -0.5 * z * z - s(i) - HALF_LN_2PI
            })
            .sum()
    };
    for dtype in dtypes(&device) {
        let t = |v: &[f64]| tensor(v.to_vec(), [n / 2, 2], &device, dtype);
        let tol = by_dtype(dtype, 1e-12, 2e-5);
        let shared = tensor(vec![-0.4], [1], &device, dtype);
        let got = values(gaussian_log_likelihood(t(&y), t(&mean), shared).unwrap());
        assert_all_close(
            &format!("Gaussian ll, shared scale [{dtype:?}]"),
            &got,
            &[want(&|_| -0.4)],
            tol,
            tol,
        );
        let got = values(gaussian_log_likelihood(t(&y), t(&mean), t(&per_element)).unwrap());
        let want_each = want(&|i| per_element[i]);
        assert_all_close(
            &format!("Gaussian ll, per element [{dtype:?}]"),
            &got,
            &[want_each],
            tol,
            tol,
        );
    }
    let ad = device.clone().autodiff();
    for config in gradcheck_configs(&ad) {
        let dtype = config.dtype;
        for shared in [true, false] {
            let report = gradcheck(
                |v| {
                    if shared {
                        gaussian_log_likelihood(
                            v[0].clone(),
                            v[1].clone(),
                            v[2].clone().reshape([1]),
                        )
                    } else {
                        gaussian_log_likelihood(v[0].clone(), v[1].clone(), v[2].clone())
                    }
                    .unwrap()
                },
                &[
                    tensor(y[..12].to_vec(), [4, 3], &ad, dtype),
                    tensor(mean[..12].to_vec(), [4, 3], &ad, dtype),
                    if shared {
                        tensor(vec![0.2], [1, 1], &ad, dtype)
                    } else {
                        tensor(per_element[..12].to_vec(), [4, 3], &ad, dtype)
                    },
                ],
                &config,
            );
            assert!(
                report.passed(),
                "Gaussian ll (shared scale {shared}):\n{report}"
            );
        }
    }
    let dtype = dtypes(&device)[0];
    let zeros = |dims: [usize; 2]| tensor(vec![0.0; dims[0] * dims[1]], dims, &device, dtype);
    for (mean, scale, needle) in [([3, 2], [1, 1], "differ"), ([3, 1], [2, 1], "one value")] {
        match gaussian_log_likelihood(zeros([3, 1]), zeros(mean), zeros(scale)) {
            Err(DistributionError::ShapeMismatch { reason, .. }) => {
                assert!(reason.contains(needle), "{reason}")
            }
            other => panic!("Gaussian ll with bad shapes: {other:?}"),
        }
    }
}

/// `likelihood::gaussian_expected_log_likelihood` against
/// `Σ −½ ((y − μ)² + v) e^{−2s} − s − ½ ln 2π` by hand in f64 (a shared and a per-element scale;
/// [`expected_log_likelihood_values`]), finite differences in `y`, `μ`, `v` and `s`, and its shape
/// error for the variances.
fn gaussian_expected_log_likelihood_op(device: Device) {
    // More than two of the CPU kernel's chunks and several elements per unit of CubeCL's one-cube
    // sum; then past that sum's limit (2²⁰ elements), where Burn's reduction takes over.
    for n in [1030, (1 << 20) + 2] {
        expected_log_likelihood_values(&device, n);
    }
    let n = 12;
    let (y, mean) = (noise(23, n), noise(24, n));
    let variance: Vec<f64> = noise(25, n).iter().map(|v| 0.1 + v.abs()).collect();
    let per_element: Vec<f64> = noise(26, n).iter().map(|v| 0.3 * v).collect();
    let ad = device.clone().autodiff();
    for config in gradcheck_configs(&ad) {
        let dtype = config.dtype;
        for shared in [true, false] {
            let report = gradcheck(
                |v| {
                    let scale = if shared {
                        v[3].clone().reshape([1, 1])
                    } else {
                        v[3].clone()
                    };
                    gaussian_expected_log_likelihood(
                        v[0].clone(),
                        v[1].clone(),
                        v[2].clone(),
                        scale,
                    )
                    .unwrap()
                },
                &[
                    tensor(y[..12].to_vec(), [4, 3], &ad, dtype),
                    tensor(mean[..12].to_vec(), [4, 3], &ad, dtype),
                    tensor(variance[..12].to_vec(), [4, 3], &ad, dtype),
                    if shared {
                        tensor(vec![0.2], [1, 1], &ad, dtype)
                    } else {
                        tensor(per_element[..12].to_vec(), [4, 3], &ad, dtype)
                    },
                ],
                &config,
            );
            assert!(
                report.passed(),
                "Gaussian ell (shared scale {shared}):\n{report}"
            );
        }
    }
    let dtype = dtypes(&device)[0];
    let zeros = |dims: [usize; 2]| tensor(vec![0.0; dims[0] * dims[1]], dims, &device, dtype);
    match gaussian_expected_log_likelihood(
        zeros([3, 1]),
        zeros([3, 1]),
        zeros([2, 1]),
        zeros([1, 1]),
    ) {
        Err(DistributionError::ShapeMismatch { reason, .. }) => {
            assert!(reason.contains("variance"), "{reason}")
        }
        other => panic!("Gaussian ell with bad variance shape: {other:?}"),
    }
}

/// `gaussian_expected_log_likelihood`'s value for `n` elements against the sum by hand in f64,
/// with a shared and a per-element scale, and its gradients times an upstream `ḡ = 0.7`:
/// `μ̄ᵢ = ḡ rᵢ wᵢ`, `ȳᵢ = −μ̄ᵢ`, `v̄ᵢ = −½ ḡ wᵢ`, `s̄ᵢ = ḡ ((rᵢ² + vᵢ) wᵢ − 1)` (summed for the
/// shared scale), with `r = y − μ` and `w = e^{−2s}`.
fn expected_log_likelihood_values(device: &Device, n: usize) {
    let (y, mean) = (noise(23, n), noise(24, n));
    let variance: Vec<f64> = noise(25, n).iter().map(|v| 0.1 + v.abs()).collect();
    let per_element: Vec<f64> = noise(26, n).iter().map(|v| 0.3 * v).collect();
    let upstream = 0.7;
    let ad = device.clone().autodiff();
    for dtype in dtypes(device) {
        let t = |v: &[f64]| tensor(v.to_vec(), [n / 2, 2], &ad, dtype).require_grad();
        let (tol, grad_tol) = by_dtype(dtype, (1e-12, 1e-12), (2e-5, 1e-5));
        for shared in [true, false] {
            let s = |i: usize| if shared { -0.4 } else { per_element[i] };
            let label = |what: &str| {
                format!("Gaussian ell {what}, n={n}, shared scale {shared} [{dtype:?}]")
            };
            let log_scale = if shared {
                tensor(vec![-0.4], [1, 1], &ad, dtype).require_grad()
            } else {
                t(&per_element)
            };
            let inputs = [t(&y), t(&mean), t(&variance)];
            let got = gaussian_expected_log_likelihood(
                inputs[0].clone(),
                inputs[1].clone(),
                inputs[2].clone(),
                log_scale.clone(),
            )
            .unwrap();
            let want: f64 = (0..n)
                .map(|i| {
                    let r = y[i] - mean[i];
                    -0.5 * (r * r + variance[i]) * (-2.0 * s(i)).exp() - s(i) - HALF_LN_2PI
                })
                .sum();
            assert_all_close(&label("value"), &values(got.clone()), &[want], tol, tol);
            let grads = got.mul_scalar(upstream).backward();
            let grad = |x: &Tensor<2>| values(x.grad(&grads).unwrap());
            let w = |i: usize| (-2.0 * s(i)).exp();
            let grad_mean: Vec<f64> = (0..n).map(|i| upstream * (y[i] - mean[i]) * w(i)).collect();
            let grad_y: Vec<f64> = grad_mean.iter().map(|g| -g).collect();
            let grad_variance: Vec<f64> = (0..n).map(|i| -0.5 * upstream * w(i)).collect();
            let grad_scale: Vec<f64> = (0..n)
                .map(|i| {
                    let r = y[i] - mean[i];
                    upstream * ((r * r + variance[i]) * w(i) - 1.0)
                })
                .collect();
            assert_all_close(&label("ȳ"), &grad(&inputs[0]), &grad_y, grad_tol, grad_tol);
            assert_all_close(
                &label("μ̄"),
                &grad(&inputs[1]),
                &grad_mean,
                grad_tol,
                grad_tol,
            );
            assert_all_close(
                &label("v̄"),
                &grad(&inputs[2]),
                &grad_variance,
                grad_tol,
                grad_tol,
            );
            if shared {
                let got = values(log_scale.grad(&grads).unwrap());
                let want: f64 = grad_scale.iter().sum();
                assert_all_close(&label("s̄"), &got, &[want], tol, tol);
            } else {
                assert_all_close(
                    &label("s̄"),
                    &grad(&log_scale),
                    &grad_scale,
                    grad_tol,
                    grad_tol,
                );
            }
        }
    }
}
