//! vi-blocks' GP blocks against GPyTorch's golden values (SVGP whitened and unwhitened, Gaussian
//! expected log-likelihood), closed forms computed here in `f64`, finite differences, statrs and
//! property tests, on every compiled backend.

use burn::module::{Module, Param, ParamId};
use burn::tensor::{Device, FloatDType, Int, Tensor};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use statrs::distribution::{ContinuousCDF, Discrete, Normal as StatNormal, Poisson};
use vi_blocks::dtype::with_dtype;
use vi_blocks::family::{FullRankGaussian, MeanFieldGaussian, ScaleTransform, TrilTransform};
use vi_blocks::gp::kernel::{
    Kernel, Linear, LinearConfig, Matern, MaternConfig, Periodic, PeriodicConfig, ProductKernel,
    Rbf, RbfConfig, ScaleKernel, ScaleKernelConfig, Smoothness, SumKernel,
};
use vi_blocks::gp::likelihood::{
    BernoulliLikelihoodConfig, GaussHermite, GaussianLikelihood, Likelihood, Link,
    PoissonLikelihood, SoftmaxLikelihoodConfig,
};
use vi_blocks::gp::{
    AnyStrategy, DeepGpConfig, GaussianMarginals, GpError, InducingDistribution, InducingFamily,
    MeanFunction, Svgp, SvgpConfig, Unwhitened, VariationalFamily, Whitened,
};
use vi_core::elbo::{Elbo, ElboError};
use vi_core::gradcheck::gradcheck;
use vi_core::gram::{rbf_gram, scaled_rbf_gram, squared_distance};
use vi_core::linalg::{LinalgError, cholesky};
use vi_tests::{
    Case, Golden, assert_all_close, assert_close, by_dtype, device_tests, dtypes, gradcheck_config,
    is_wgpu, noise, tensor, tolerance, values,
};

device_tests!(
    golden_svgp,
    golden_gaussian_expected_log_likelihood,
    kernels_match_closed_forms,
    inducing_matrices_match_separate_calls,
    squared_distance_op,
    rbf_gram_op,
    scaled_rbf_gram_op,
    kernel_matrices_are_psd,
    gradcheck_kernels,
    gradcheck_svgp_layer,
    svgp_families_and_strategies_agree,
    singular_inducing_points,
    likelihoods,
    svgp_and_deep_gp_learn_a_function,
    svgp_elbo_checks_with_one_read,
);

fn param<const D: usize>(t: Tensor<D>) -> Param<Tensor<D>> {
    Param::initialized(ParamId::new(), t)
}

/// A parameter, a leaf of the autodiff graph when `track`.
fn tracked<const D: usize>(track: bool, t: Tensor<D>) -> Param<Tensor<D>> {
    param(if track { t.require_grad() } else { t })
}

/// The GPyTorch model of a golden case: `ScaleKernel(RBF-ARD)`, constant mean, Cholesky `q(u)`.
fn golden_model(
    case: &Case<'_>,
    device: &Device,
    dtype: FloatDType,
    whiten: bool,
    track: bool,
) -> Svgp<ScaleKernel<Rbf>, FullRankGaussian, AnyStrategy> {
    let vec1 = |g: vi_tests::GoldenTensor| tensor(g.data.clone(), [g.data.len()], device, dtype);
    let t1 = |k: &str| vec1(case.input(k));
    let raw = |k: &str| vec1(case.output(k));
    let d = case.input("X").shape[1];
    let m = case.input("inducing_points").shape[0];
    Svgp {
        kernel: ScaleKernel {
            base: Rbf {
                lengthscale_raw: tracked(track, raw("raw_lengthscale").reshape([1, 1, d])),
            },
            outputscale_raw: tracked(track, raw("raw_outputscale").reshape([1, 1, 1])),
        },
        mean: MeanFunction {
            constant: Some(tracked(track, t1("constant_mean").reshape([1]))),
            weight: None,
            outputs: 1,
        },
        inducing_points: tracked(
            track,
            case.input("inducing_points")
                .to_tensor::<2>(device, dtype)
                .reshape([1, m, d]),
        ),
        variational: FullRankGaussian {
            loc: tracked(
                track,
                case.input("variational_mean")
                    .to_tensor::<1>(device, dtype)
                    .reshape([1, m]),
            ),
            scale_raw: tracked(
                track,
                case.input("chol_variational_covar")
                    .to_tensor::<2>(device, dtype)
                    .reshape([1, m, m]),
            ),
            transform: TrilTransform::SignFlip,
        },
        strategy: strategy(whiten),
        jitter: Some(case.input("jitter").data[0]),
    }
}

/// Every case of `svgp.json`: ELBO, KL, ELL, gradients with respect to every parameter (raw and
/// natural), `K_zz`, its factor, `K_zx`, and the train and test predictives.
fn golden_svgp(device: Device) {
    let golden = Golden::load("svgp.json");
    let ad = device.clone().autodiff();
    for dtype in dtypes(&device) {
        for case in golden.cases() {
            if dtype != FloatDType::F64 && case.name().ends_with("jitter0") {
                continue; // K_zz of these points is too ill-conditioned for f32 without jitter
            }
            let name = format!("{} [{dtype:?}]", case.name());
            let check = |label: &str, got: Vec<f64>, gradient: bool| {
                let want = case.output(label);
                let (rtol, atol) = tolerance(&case, &want, dtype, gradient);
                let (rtol, atol) = by_dtype(dtype, (rtol, atol), (rtol * 10.0, atol * 10.0));
                assert_close(&format!("{name} {label}"), &got, &want, rtol, atol);
            };
            let whiten = case.name().contains("_whitened");
            let model = golden_model(&case, &ad, dtype, whiten, true);
            let n = case.input("X").shape[0];
            let x = case.input("X").to_tensor::<2>(&ad, dtype);
            let y = case.input("y").to_tensor::<1>(&ad, dtype).reshape([n, 1]);
            let noise_raw = tensor(case.output("raw_noise").data, [1], &ad, dtype).require_grad();
            let likelihood = GaussianLikelihood {
                noise_raw: param(noise_raw),
                noise_floor: 1e-4,
            };

            let prior = model.inducing_prior().unwrap();
            assert!(
                prior.extra_jitter.iter().all(|&j| j == 0.0),
                "{name}: unexpected extra jitter"
            );
            check("Lzz", values(prior.cholesky.clone()), false);
            let z = model.inducing_points.val();
            let kzz = model.kernel.gram(z.clone())
                + Tensor::<2>::eye(z.dims()[1], &ad)
                    .cast(z.dtype())
                    .unsqueeze::<3>()
                    .mul_scalar(prior.jitter);
            check("Kzz_plus_jitter", values(kzz), false);
            check(
                "Kzx",
                values(model.kernel.matrix(z, x.clone().unsqueeze())),
                false,
            );

            let f = model.marginals(&prior, x.clone()).unwrap();
            check("train_f_mean", values(f.mean.clone()), false);
            check("train_f_var", values(f.variance.clone()), false);
            let kl = model.kl(&prior).unwrap();
            check("kl", values(kl.clone()), false);
            let ell = likelihood.expected_log_likelihood(&f, y).sum();
            check("expected_log_lik_sum", values(ell.clone()), false);
            let terms = Elbo::new(n).with_batch_size(n).from_terms(ell, kl).unwrap();
            check("elbo_total", values(terms.elbo.clone()), false);
            // mul_scalar, not div_scalar: Burn 0.22's div_scalar backward rounds 1/x to f32.
            let elbo = terms.elbo.mul_scalar(1.0 / n as f64);
            check("elbo", values(elbo.clone()), false);

            let grads = elbo.backward();
            let g = |p: &Param<Tensor<3>>| values(p.grad(&grads).unwrap());
            check("grad_inducing_points", g(&model.inducing_points), true);
            check(
                "grad_variational_mean",
                values(model.variational.loc.grad(&grads).unwrap()),
                true,
            );
            check(
                "grad_chol_variational_covar",
                g(&model.variational.scale_raw),
                true,
            );
            check(
                "grad_raw_lengthscale",
                g(&model.kernel.base.lengthscale_raw),
                true,
            );
            check(
                "grad_raw_outputscale",
                g(&model.kernel.outputscale_raw),
                true,
            );
            check(
                "grad_constant_mean",
                values(model.mean.constant.as_ref().unwrap().grad(&grads).unwrap()),
                true,
            );
            check(
                "grad_raw_noise",
                values(likelihood.noise_raw.grad(&grads).unwrap()),
                true,
            );
            // Natural-parameter gradients: d/dθ = d/draw / sigmoid(raw).
            let natural = |raw_key: &str, grad: Vec<f64>| -> Vec<f64> {
                let raw = case.output(raw_key).data;
                grad.iter()
                    .zip(raw)
                    .map(|(g, r)| g / (1.0 / (1.0 + (-r).exp())))
                    .collect()
            };
            check(
                "grad_lengthscale",
                natural("raw_lengthscale", g(&model.kernel.base.lengthscale_raw)),
                true,
            );
            check(
                "grad_outputscale",
                natural("raw_outputscale", g(&model.kernel.outputscale_raw)),
                true,
            );
            check(
                "grad_noise",
                natural(
                    "raw_noise",
                    values(likelihood.noise_raw.grad(&grads).unwrap()),
                ),
                true,
            );

            let x_test = case.input("X_test").to_tensor::<2>(&device, dtype);
            let model = golden_model(&case, &device, dtype, whiten, false);
            let prior = model.inducing_prior().unwrap();
            let f_test = model.marginals(&prior, x_test.clone()).unwrap();
            check("test_f_mean", values(f_test.mean.clone()), false);
            check("test_f_var", values(f_test.variance.clone()), false);
            let likelihood = GaussianLikelihood {
                noise_raw: param(tensor(case.output("raw_noise").data, [1], &device, dtype)),
                noise_floor: 1e-4,
            };
            check(
                "test_y_var",
                values(likelihood.predictive(&f_test).variance),
                false,
            );
            let joint = model.predict_joint(x_test).unwrap();
            check("test_f_mean", values(joint.mean), false);
            check("test_f_cov", values(joint.covariance), false);
        }
    }
}

/// `expected_loglik.json`: the closed-form Gaussian expected log-likelihood, its gradients and
/// the log predictive density.
fn golden_gaussian_expected_log_likelihood(device: Device) {
    let golden = Golden::load("expected_loglik.json");
    let ad = device.clone().autodiff();
    for dtype in dtypes(&device) {
        for case in golden.cases() {
            let name = format!("{} [{dtype:?}]", case.name());
            let check = |label: &str, got: Vec<f64>, gradient: bool| {
                let want = case.output(label);
                let (rtol, atol) = tolerance(&case, &want, dtype, gradient);
                assert_close(&format!("{name} {label}"), &got, &want, rtol, atol);
            };
            let n = case.input("y").shape[0];
            let col = |k: &str| {
                case.input(k)
                    .to_tensor::<1>(&ad, dtype)
                    .reshape([n, 1])
                    .require_grad()
            };
            let (y, mu, var) = (col("y"), col("mu"), col("var"));
            let noise = case.input("noise").data[0];
            let likelihood = GaussianLikelihood {
                noise_raw: param(
                    tensor(
                        vec![vi_core::special::inverse_softplus_f64(noise)],
                        [1],
                        &ad,
                        dtype,
                    )
                    .require_grad(),
                ),
                noise_floor: 0.0,
            };
            let f = GaussianMarginals {
                mean: mu.clone(),
                variance: var.clone(),
            };
            let ell = likelihood.expected_log_likelihood(&f, y.clone());
            check("ell", values(ell.clone()), false);
            // The per-row terms summed, and the fused sum: the same value and gradients.
            let fused = likelihood.expected_log_likelihood_sum(&f, y.clone());
            for sum in [ell.sum(), fused] {
                check("ell_sum", values(sum.clone()), false);
                let grads = sum.backward();
                check("grad_mu", values(mu.grad(&grads).unwrap()), true);
                check("grad_var", values(var.grad(&grads).unwrap()), true);
                let sigmoid = 1.0 / (1.0 + (-vi_core::special::inverse_softplus_f64(noise)).exp());
                let g_noise: Vec<f64> = values(likelihood.noise_raw.grad(&grads).unwrap())
                    .iter()
                    .map(|g| g / sigmoid)
                    .collect();
                check("grad_noise", g_noise, true);
            }
            check(
                "log_predictive_density",
                values(likelihood.log_predictive_density(&f, y)),
                false,
            );
        }
    }
}

/// Pairwise inputs `[1, n, d]` and `[1, m, d]` as host vectors and tensors.
fn inputs(
    device: &Device,
    dtype: FloatDType,
    n: usize,
    m: usize,
    d: usize,
) -> (Vec<f64>, Vec<f64>, Tensor<3>, Tensor<3>) {
    let a: Vec<f64> = noise(11, n * d).iter().map(|v| 1.5 * v).collect();
    let b: Vec<f64> = noise(12, m * d).iter().map(|v| 1.5 * v).collect();
    let (ta, tb) = (
        tensor(a.clone(), [1, n, d], device, dtype),
        tensor(b.clone(), [1, m, d], device, dtype),
    );
    (a, b, ta, tb)
}

/// Host reference: `k(a_i, b_j)` for a closure of the difference and the two points.
fn host_matrix(a: &[f64], b: &[f64], d: usize, k: impl Fn(&[f64], &[f64]) -> f64) -> Vec<f64> {
    let (n, m) = (a.len() / d, b.len() / d);
    let mut out = Vec::with_capacity(n * m);
    for i in 0..n {
        for j in 0..m {
            out.push(k(&a[i * d..(i + 1) * d], &b[j * d..(j + 1) * d]));
        }
    }
    out
}

/// `vi_core::gram::squared_distance` against the host formula (a broadcast batch, offsets of
/// 1e3 that the `|a|² + |b|² − 2a·b` expansion would cancel away in `f32`); `D(x, x)` of points
/// with near-duplicates exactly symmetric with a zero diagonal; finite differences in both inputs
/// and for `D(a, a)`; shape errors.
fn squared_distance_op(device: Device) {
    let (n, m, d) = (7, 33, 3);
    for dtype in dtypes(&device) {
        let tol = match dtype {
            FloatDType::F64 => 1e-12,
            _ => 2e-6,
        };
        let a: Vec<f64> = noise(61, 2 * n * d).iter().map(|v| 1e3 + v).collect();
        let b: Vec<f64> = noise(62, m * d).iter().map(|v| 1e3 + v).collect();
        let got = squared_distance(
            tensor(a.clone(), [2, n, d], &device, dtype),
            tensor(b.clone(), [1, m, d], &device, dtype),
        )
        .unwrap();
        assert_eq!(got.dims(), [2, n, m]);
        // The inputs as the dtype holds them (1e3 + v loses v's low bits in f32).
        let round = |v: &[f64]| values(tensor(v.to_vec(), [v.len()], &device, dtype));
        let (a, b) = (round(&a), round(&b));
        let want: Vec<f64> = a
            .chunks(n * d)
            .flat_map(|a| {
                host_matrix(a, &b, d, |x, y| {
                    (0..d).map(|c| (x[c] - y[c]).powi(2)).sum::<f64>()
                })
            })
            .collect();
        assert_all_close(
            &format!("squared_distance [{dtype:?}]"),
            &values(got),
            &want,
            tol,
            tol,
        );
        // Pairs a millionth apart: exact symmetry and zero self-distances.
        let mut x = noise(63, 9 * 2);
        for c in 0..2 {
            x[2 + c] = x[c] + 1e-6;
        }
        let x = tensor(x, [1, 9, 2], &device, dtype);
        let dxx = values(squared_distance(x.clone(), x).unwrap());
        for i in 0..9 {
            assert_eq!(dxx[i * 9 + i], 0.0, "D(x, x) diagonal {i} [{dtype:?}]");
            for j in 0..i {
                assert_eq!(
                    dxx[i * 9 + j],
                    dxx[j * 9 + i],
                    "D(x, x) symmetry [{dtype:?}]"
                );
            }
        }
        assert!(
            dxx[1] > 0.0 && dxx[1] < 1e-10,
            "near-duplicate distance {}",
            dxx[1]
        );
    }
    let ad = device.clone().autodiff();
    let config = gradcheck_config(&ad);
    let a = tensor(noise(64, 2 * 4 * 2), [2, 4, 2], &ad, config.dtype);
    let b = tensor(noise(65, 3 * 2), [1, 3, 2], &ad, config.dtype);
    let w = tensor(noise(66, 2 * 4 * 3), [2, 4, 3], &ad, config.dtype);
    let report = gradcheck(
        |v| (squared_distance(v[0].clone(), v[1].clone()).unwrap() * v[2].clone()).sum(),
        &[a.clone(), b, w],
        &config,
    );
    assert!(report.passed(), "squared_distance:\n{report}");
    let w = tensor(noise(67, 2 * 4 * 4), [2, 4, 4], &ad, config.dtype);
    let report = gradcheck(
        |v| (squared_distance(v[0].clone(), v[0].clone()).unwrap() * v[1].clone()).sum(),
        &[a, w],
        &config,
    );
    assert!(report.passed(), "squared_distance(a, a):\n{report}");
    let dtype = dtypes(&device)[0];
    let x = |b, n, d| tensor(vec![0.0; b * n * d], [b, n, d], &device, dtype);
    assert!(matches!(
        squared_distance(x(1, 3, 2), x(1, 4, 3)),
        Err(LinalgError::ShapeMismatch {
            op: "squared_distance",
            ..
        })
    ));
    assert!(matches!(
        squared_distance(x(2, 3, 2), x(3, 4, 2)),
        Err(LinalgError::ShapeMismatch {
            op: "squared_distance",
            ..
        })
    ));
}

/// `vi_core::gram::rbf_gram` against the host formula (a broadcast batch, distances from 0 to
/// past the `f32` underflow of `exp`), finite differences in both inputs, and shape errors.
fn rbf_gram_op(device: Device) {
    let (n, m, d) = (7, 33, 3);
    for dtype in dtypes(&device) {
        let tol = match dtype {
            FloatDType::F64 => 1e-13,
            _ => 1e-6,
        };
        // Points spread to distances up to ~16, so K spans 1 down to below 1e-50.
        let a: Vec<f64> = noise(31, 2 * n * d).iter().map(|v| 5.0 * v).collect();
        let b: Vec<f64> = noise(32, m * d).iter().map(|v| 5.0 * v).collect();
        let k = rbf_gram(
            tensor(a.clone(), [2, n, d], &device, dtype),
            tensor(b.clone(), [1, m, d], &device, dtype),
        )
        .unwrap();
        assert_eq!(k.dims(), [2, n, m]);
        let want: Vec<f64> = a
            .chunks(n * d)
            .flat_map(|a| {
                host_matrix(a, &b, d, |x, y| {
                    (-0.5 * (0..d).map(|c| (x[c] - y[c]).powi(2)).sum::<f64>()).exp()
                })
            })
            .collect();
        assert_all_close(
            &format!("rbf_gram [{dtype:?}]"),
            &values(k),
            &want,
            tol,
            tol,
        );
    }
    let ad = device.clone().autodiff();
    let config = gradcheck_config(&ad);
    let a = tensor(noise(33, 2 * 4 * 2), [2, 4, 2], &ad, config.dtype);
    let b = tensor(noise(34, 3 * 2), [1, 3, 2], &ad, config.dtype);
    let w = tensor(noise(35, 2 * 4 * 3), [2, 4, 3], &ad, config.dtype);
    let report = gradcheck(
        |v| (rbf_gram(v[0].clone(), v[1].clone()).unwrap() * v[2].clone()).sum(),
        &[a.clone(), b, w],
        &config,
    );
    assert!(report.passed(), "rbf_gram:\n{report}");
    // K(a, a): both inputs are the same tracked tensor.
    let w = tensor(noise(36, 2 * 4 * 4), [2, 4, 4], &ad, config.dtype);
    let report = gradcheck(
        |v| (rbf_gram(v[0].clone(), v[0].clone()).unwrap() * v[1].clone()).sum(),
        &[a, w],
        &config,
    );
    assert!(report.passed(), "rbf_gram(a, a):\n{report}");
    let dtype = dtypes(&device)[0];
    let x = |b, n, d| tensor(vec![0.0; b * n * d], [b, n, d], &device, dtype);
    assert!(matches!(
        rbf_gram(x(1, 3, 2), x(1, 4, 3)),
        Err(LinalgError::ShapeMismatch { op: "rbf_gram", .. })
    ));
    assert!(matches!(
        rbf_gram(x(2, 3, 2), x(3, 4, 2)),
        Err(LinalgError::ShapeMismatch { op: "rbf_gram", .. })
    ));
}

/// `vi_core::gram::scaled_rbf_gram` against the host formula `s · exp(−½ Σ (a − b)²/ℓ²)` with
/// ARD lengthscales and scales that carry the batch (inputs of batch 1), finite differences in
/// all four inputs (ARD and one shared lengthscale, broadcast batches), and shape errors.
fn scaled_rbf_gram_op(device: Device) {
    let (n, m, d) = (5, 37, 3);
    for dtype in dtypes(&device) {
        let tol = match dtype {
            FloatDType::F64 => 1e-13,
            _ => 1e-5,
        };
        let a: Vec<f64> = noise(51, n * d).iter().map(|v| 3.0 * v).collect();
        let b: Vec<f64> = noise(52, m * d).iter().map(|v| 3.0 * v).collect();
        let lengthscales = [[0.7, 1.9, 3.1], [1.3, 0.5, 2.2]];
        let scales = [0.4, 2.5];
        let k = scaled_rbf_gram(
            tensor(a.clone(), [1, n, d], &device, dtype),
            tensor(b.clone(), [1, m, d], &device, dtype),
            tensor(lengthscales.concat(), [2, 1, d], &device, dtype),
            tensor(scales.to_vec(), [2, 1, 1], &device, dtype),
        )
        .unwrap();
        assert_eq!(k.dims(), [2, n, m]);
        let want: Vec<f64> = (0..2)
            .flat_map(|p| {
                let (l, s) = (lengthscales[p], scales[p]);
                host_matrix(&a, &b, d, move |x, y| {
                    let r2: f64 = (0..d).map(|c| ((x[c] - y[c]) / l[c]).powi(2)).sum();
                    s * (-0.5 * r2).exp()
                })
            })
            .collect();
        assert_all_close(
            &format!("scaled_rbf_gram [{dtype:?}]"),
            &values(k),
            &want,
            tol,
            tol,
        );
    }
    let ad = device.clone().autodiff();
    let config = gradcheck_config(&ad);
    let t = |seed, shape: [usize; 3], shift: f64| {
        let len = shape.iter().product();
        let v = noise(seed, len).iter().map(|v| v + shift).collect();
        tensor(v, shape, &ad, config.dtype)
    };
    // ARD lengthscales shared by a batch of two; scales per batch element.
    let (a, b, w) = (
        t(53, [2, 4, 2], 0.0),
        t(54, [1, 3, 2], 0.0),
        t(55, [2, 4, 3], 0.0),
    );
    let (l, s) = (t(56, [1, 1, 2], 1.5), t(57, [2, 1, 1], 1.5));
    let report = gradcheck(
        |v| {
            let k = scaled_rbf_gram(v[0].clone(), v[1].clone(), v[2].clone(), v[3].clone());
            (k.unwrap() * v[4].clone()).sum()
        },
        &[a, b, l, s, w],
        &config,
    );
    assert!(report.passed(), "scaled_rbf_gram (ARD):\n{report}");
    // One lengthscale per batch element carries the batch of inputs of batch 1; K(a, a).
    let (a, l, s) = (
        t(58, [1, 4, 2], 0.0),
        t(59, [2, 1, 1], 1.5),
        t(60, [1, 1, 1], 1.5),
    );
    let w = t(61, [2, 4, 4], 0.0);
    let report = gradcheck(
        |v| {
            let k = scaled_rbf_gram(v[0].clone(), v[0].clone(), v[1].clone(), v[2].clone());
            (k.unwrap() * v[3].clone()).sum()
        },
        &[a, l, s, w],
        &config,
    );
    assert!(
        report.passed(),
        "scaled_rbf_gram (shared lengthscale):\n{report}"
    );
    let dtype = dtypes(&device)[0];
    let x = |s: [usize; 3]| tensor(vec![1.0; s.iter().product()], s, &device, dtype);
    for (l, s) in [
        ([1, 1, 3], [1, 1, 1]),
        ([1, 1, 2], [1, 2, 1]),
        ([3, 1, 2], [1, 1, 1]),
    ] {
        assert!(matches!(
            scaled_rbf_gram(x([2, 3, 2]), x([1, 4, 2]), x(l), x(s)),
            Err(LinalgError::ShapeMismatch {
                op: "scaled_rbf_gram",
                ..
            })
        ));
    }
    // Inputs of batch 1 against lengthscales and scales of different batches.
    assert!(matches!(
        scaled_rbf_gram(x([1, 3, 2]), x([1, 4, 2]), x([3, 1, 2]), x([2, 1, 1])),
        Err(LinalgError::ShapeMismatch {
            op: "scaled_rbf_gram",
            ..
        })
    ));
}

/// Each kernel's matrix and diagonal against the formula evaluated here in `f64`, including a
/// batched (two-output) kernel, sums and products.
fn kernels_match_closed_forms(device: Device) {
    let (n, m, d) = (6, 5, 3);
    for dtype in dtypes(&device) {
        let (rtol, atol) = by_dtype(dtype, (1e-12, 1e-12), (1e-4, 1e-5));
        let (a, b, ta, tb) = inputs(&device, dtype, n, m, d);
        let ls = [0.7, 1.3, 2.1];
        let r2 =
            |x: &[f64], y: &[f64]| (0..d).map(|k| ((x[k] - y[k]) / ls[k]).powi(2)).sum::<f64>();
        let ard = |raw: &mut Param<Tensor<3>>| {
            *raw = param(tensor(
                ls.iter()
                    .map(|&l| vi_core::special::inverse_softplus_f64(l))
                    .collect(),
                [1, 1, d],
                &device,
                dtype,
            ));
        };
        let check = |label: &str, k: &dyn Kernel_, want: Vec<f64>, want_diag: Vec<f64>| {
            assert_all_close(
                &format!("{label} [{dtype:?}] matrix"),
                &values(k.dyn_matrix(ta.clone(), tb.clone())),
                &want,
                rtol,
                atol,
            );
            assert_all_close(
                &format!("{label} [{dtype:?}] diagonal"),
                &values(k.dyn_diagonal(ta.clone())),
                &want_diag,
                rtol,
                atol,
            );
        };
        let ones = vec![1.0; n];

        let mut rbf = with_dtype(RbfConfig::new(d).init(&device), dtype);
        ard(&mut rbf.lengthscale_raw);
        check(
            "rbf",
            &rbf,
            host_matrix(&a, &b, d, |x, y| (-0.5 * r2(x, y)).exp()),
            ones.clone(),
        );
        for (nu, f) in [
            (Smoothness::Half, (|r: f64| (-r).exp()) as fn(f64) -> f64),
            (Smoothness::ThreeHalves, |r: f64| {
                (1.0 + 3f64.sqrt() * r) * (-3f64.sqrt() * r).exp()
            }),
            (Smoothness::FiveHalves, |r: f64| {
                (1.0 + 5f64.sqrt() * r + 5.0 * r * r / 3.0) * (-5f64.sqrt() * r).exp()
            }),
        ] {
            let mut k = with_dtype(
                MaternConfig::new(d).with_smoothness(nu).init(&device),
                dtype,
            );
            ard(&mut k.lengthscale_raw);
            check(
                &format!("matern {nu:?}"),
                &k,
                host_matrix(&a, &b, d, |x, y| f(r2(x, y).sqrt())),
                ones.clone(),
            );
        }
        let lin = Linear {
            variance_raw: param(tensor(
                vec![vi_core::special::inverse_softplus_f64(1.7)],
                [1, 1, 1],
                &device,
                dtype,
            )),
        };
        let dot = |x: &[f64], y: &[f64]| (0..d).map(|k| x[k] * y[k]).sum::<f64>();
        let lin_diag: Vec<f64> = (0..n)
            .map(|i| 1.7 * dot(&a[i * d..(i + 1) * d], &a[i * d..(i + 1) * d]))
            .collect();
        check(
            "linear",
            &lin,
            host_matrix(&a, &b, d, |x, y| 1.7 * dot(x, y)),
            lin_diag.clone(),
        );
        let (pl, pp) = ([0.9, 1.4, 0.6], [1.1, 2.5, 0.8]);
        let mut per = with_dtype(PeriodicConfig::new(d).with_ard(true).init(&device), dtype);
        per.lengthscale_raw = param(tensor(
            pl.iter()
                .map(|&l| vi_core::special::inverse_softplus_f64(l))
                .collect(),
            [1, 1, d],
            &device,
            dtype,
        ));
        per.period_raw = param(tensor(
            pp.iter()
                .map(|&l| vi_core::special::inverse_softplus_f64(l))
                .collect(),
            [1, 1, d],
            &device,
            dtype,
        ));
        let periodic = |x: &[f64], y: &[f64]| {
            (-2.0
                * (0..d)
                    .map(|k| {
                        (std::f64::consts::PI * (x[k] - y[k]) / pp[k]).sin().powi(2)
                            / (pl[k] * pl[k])
                    })
                    .sum::<f64>())
            .exp()
        };
        check(
            "periodic",
            &per,
            host_matrix(&a, &b, d, periodic),
            ones.clone(),
        );

        let scaled = ScaleKernel {
            base: rbf.clone(),
            outputscale_raw: param(tensor(
                vec![vi_core::special::inverse_softplus_f64(2.5)],
                [1, 1, 1],
                &device,
                dtype,
            )),
        };
        check(
            "scale(rbf)",
            &scaled,
            host_matrix(&a, &b, d, |x, y| 2.5 * (-0.5 * r2(x, y)).exp()),
            vec![2.5; n],
        );
        let sum = SumKernel::new(rbf.clone(), lin.clone());
        let sum_diag: Vec<f64> = lin_diag.iter().map(|v| v + 1.0).collect();
        check(
            "rbf + linear",
            &sum,
            host_matrix(&a, &b, d, |x, y| (-0.5 * r2(x, y)).exp() + 1.7 * dot(x, y)),
            sum_diag,
        );
        let product = ProductKernel::new(per.clone(), lin.clone());
        check(
            "periodic · linear",
            &product,
            host_matrix(&a, &b, d, |x, y| periodic(x, y) * 1.7 * dot(x, y)),
            lin_diag,
        );

        // Batched over two outputs: output 1 has twice the lengthscale; inputs shared.
        let mut batched = with_dtype(
            RbfConfig::new(d)
                .with_ard(false)
                .with_batch(2)
                .init(&device),
            dtype,
        );
        batched.lengthscale_raw = param(tensor(
            vec![
                vi_core::special::inverse_softplus_f64(0.8),
                vi_core::special::inverse_softplus_f64(1.6),
            ],
            [2, 1, 1],
            &device,
            dtype,
        ));
        let got = values(batched.matrix(ta.clone(), tb.clone()));
        for (o, l) in [(0, 0.8), (1, 1.6)] {
            let want = host_matrix(&a, &b, d, |x, y| {
                (-0.5 * (0..d).map(|k| ((x[k] - y[k]) / l).powi(2)).sum::<f64>()).exp()
            });
            assert_all_close(
                &format!("batched rbf output {o} [{dtype:?}]"),
                &got[o * n * m..(o + 1) * n * m],
                &want,
                rtol,
                atol,
            );
        }
        assert_eq!(batched.diagonal(ta.clone()).dims(), [2, n]);
        // Output scales per output over a shared unit-variance kernel: the diagonal is each
        // output's scale, in the scale's batch (and as the matrix's diagonal).
        let mut scaled = with_dtype(
            ScaleKernelConfig::new()
                .with_batch(2)
                .init(MaternConfig::new(d).init(&device), &device),
            dtype,
        );
        scaled.outputscale_raw = param(tensor(
            vec![
                vi_core::special::inverse_softplus_f64(0.3),
                vi_core::special::inverse_softplus_f64(2.5),
            ],
            [2, 1, 1],
            &device,
            dtype,
        ));
        let want: Vec<f64> = [0.3, 2.5].iter().flat_map(|&v| vec![v; n]).collect();
        assert_all_close(
            &format!("batched scale diagonal [{dtype:?}]"),
            &values(scaled.diagonal(ta.clone())),
            &want,
            rtol,
            atol,
        );
        let gram = values(scaled.gram(ta.clone()));
        let gram_diagonal: Vec<f64> = (0..2 * n)
            .map(|i| gram[i / n * n * n + i % n * (n + 1)])
            .collect();
        assert_all_close(
            &format!("batched scale gram diagonal [{dtype:?}]"),
            &gram_diagonal,
            &want,
            rtol,
            atol,
        );
    }
}

/// Object-safe view of [`Kernel`] for the table-driven tests.
trait Kernel_ {
    fn dyn_matrix(&self, a: Tensor<3>, b: Tensor<3>) -> Tensor<3>;
    fn dyn_diagonal(&self, a: Tensor<3>) -> Tensor<2>;
}

impl<K: Kernel> Kernel_ for K {
    fn dyn_matrix(&self, a: Tensor<3>, b: Tensor<3>) -> Tensor<3> {
        self.matrix(a, b)
    }
    fn dyn_diagonal(&self, a: Tensor<3>) -> Tensor<2> {
        self.diagonal(a)
    }
}

/// Property: for random inputs and hyper-parameters every kernel's Gram matrix is symmetric,
/// its diagonal equals `diagonal()`, and `K + ε·I` has a Cholesky factor.
fn kernel_matrices_are_psd(device: Device) {
    let dtype = dtypes(&device)[0];
    let eps = by_dtype(dtype, 1e-9, 1e-3);
    let cases = if is_wgpu(&device) { 6 } else { 24 };
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        ..ProptestConfig::default()
    });
    let strategy = (
        1usize..12,
        1usize..4,
        0.2f64..3.0,
        0.2f64..3.0,
        any::<u64>(),
    );
    runner
        .run(&strategy, |(n, d, ls, scale, seed)| {
            let x = tensor(
                noise(seed, n * d).iter().map(|v| 2.0 * v).collect(),
                [1, n, d],
                &device,
                dtype,
            );
            let kernels: Vec<(&str, Box<dyn Kernel_>)> = vec![
                (
                    "rbf",
                    Box::new(with_dtype(
                        ScaleKernelConfig::new().with_outputscale(scale).init(
                            RbfConfig::new(d).with_lengthscale(ls).init(&device),
                            &device,
                        ),
                        dtype,
                    )),
                ),
                (
                    "matern12",
                    Box::new(with_dtype(
                        MaternConfig::new(d)
                            .with_smoothness(Smoothness::Half)
                            .with_lengthscale(ls)
                            .init(&device),
                        dtype,
                    )),
                ),
                (
                    "matern32",
                    Box::new(with_dtype(
                        MaternConfig::new(d)
                            .with_smoothness(Smoothness::ThreeHalves)
                            .with_lengthscale(ls)
                            .init(&device),
                        dtype,
                    )),
                ),
                (
                    "matern52",
                    Box::new(with_dtype(
                        MaternConfig::new(d).with_lengthscale(ls).init(&device),
                        dtype,
                    )),
                ),
                (
                    "linear",
                    Box::new(with_dtype(
                        LinearConfig::new().with_variance(scale).init(&device),
                        dtype,
                    )),
                ),
                (
                    "periodic",
                    Box::new(with_dtype(
                        PeriodicConfig::new(d)
                            .with_lengthscale(ls)
                            .with_period(scale)
                            .init(&device),
                        dtype,
                    )),
                ),
                (
                    "sum",
                    Box::new(with_dtype(
                        SumKernel::new(
                            RbfConfig::new(d).init(&device),
                            LinearConfig::new().init(&device),
                        ),
                        dtype,
                    )),
                ),
                (
                    "product",
                    Box::new(with_dtype(
                        ProductKernel::new(
                            PeriodicConfig::new(d).init(&device),
                            MaternConfig::new(d).init(&device),
                        ),
                        dtype,
                    )),
                ),
            ];
            for (name, k) in kernels {
                let gram = k.dyn_matrix(x.clone(), x.clone());
                let g = values(gram.clone());
                let diag = values(k.dyn_diagonal(x.clone()));
                let big = g.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                for i in 0..n {
                    prop_assert!(
                        (g[i * n + i] - diag[i]).abs() <= 1e-4 * big,
                        "{name}: diag {i}"
                    );
                    for j in 0..n {
                        prop_assert!(
                            (g[i * n + j] - g[j * n + i]).abs() <= 1e-5 * big,
                            "{name}: not symmetric"
                        );
                    }
                }
                let shifted = gram
                    + Tensor::<2>::eye(n, &device)
                        .cast(x.dtype())
                        .unsqueeze::<3>()
                        .mul_scalar(eps * big);
                prop_assert!(
                    cholesky(shifted).is_ok(),
                    "{name}: K + εI is not positive definite (n={n}, d={d})"
                );
            }
            Ok(())
        })
        .unwrap();
}

/// Finite differences through every kernel, with respect to both inputs and every raw
/// hyper-parameter.
fn gradcheck_kernels(device: Device) {
    let ad = device.autodiff();
    let config = gradcheck_config(&ad);
    let dtype = config.dtype;
    let (n, m, d) = (4, 3, 2);
    let x1 = tensor(noise(21, n * d), [1, n, d], &ad, dtype);
    let x2 = tensor(noise(22, m * d), [1, m, d], &ad, dtype);
    let w = tensor(noise(23, n * m), [1, n, m], &ad, dtype);
    let raw = |seed, dims: [usize; 3]| {
        tensor(
            noise(seed, dims.iter().product())
                .iter()
                .map(|v| 0.3 * v)
                .collect(),
            dims,
            &ad,
            dtype,
        )
    };
    type Build = fn(&[Tensor<3>]) -> Box<dyn Kernel_>;
    let kernels: Vec<(&str, Vec<Tensor<3>>, Build)> = vec![
        ("rbf", vec![raw(1, [1, 1, d])], |v| {
            Box::new(Rbf {
                lengthscale_raw: param(v[0].clone()),
            })
        }),
        ("matern12", vec![raw(2, [1, 1, d])], |v| {
            Box::new(Matern {
                lengthscale_raw: param(v[0].clone()),
                smoothness: Smoothness::Half,
            })
        }),
        ("matern32", vec![raw(3, [1, 1, d])], |v| {
            Box::new(Matern {
                lengthscale_raw: param(v[0].clone()),
                smoothness: Smoothness::ThreeHalves,
            })
        }),
        ("matern52", vec![raw(4, [1, 1, d])], |v| {
            Box::new(Matern {
                lengthscale_raw: param(v[0].clone()),
                smoothness: Smoothness::FiveHalves,
            })
        }),
        ("linear", vec![raw(5, [1, 1, 1])], |v| {
            Box::new(Linear {
                variance_raw: param(v[0].clone()),
            })
        }),
        (
            "periodic",
            vec![
                raw(6, [1, 1, d]).add_scalar(0.5),
                raw(7, [1, 1, d]).add_scalar(1.5),
            ],
            |v| {
                Box::new(Periodic {
                    lengthscale_raw: param(v[0].clone()),
                    period_raw: param(v[1].clone()),
                })
            },
        ),
        (
            "scale(rbf)·linear + matern",
            vec![
                raw(8, [1, 1, d]),
                raw(9, [1, 1, 1]),
                raw(10, [1, 1, 1]),
                raw(11, [1, 1, d]),
            ],
            |v| {
                Box::new(SumKernel::new(
                    ProductKernel::new(
                        ScaleKernel {
                            base: Rbf {
                                lengthscale_raw: param(v[0].clone()),
                            },
                            outputscale_raw: param(v[1].clone()),
                        },
                        Linear {
                            variance_raw: param(v[2].clone()),
                        },
                    ),
                    Matern {
                        lengthscale_raw: param(v[3].clone()),
                        smoothness: Smoothness::FiveHalves,
                    },
                ))
            },
        ),
    ];
    for (name, params, build) in kernels {
        let k = params.len();
        let mut all = params;
        all.extend([x1.clone(), x2.clone(), w.clone()]);
        let report = gradcheck(
            |v| {
                let kernel = build(&v[..k]);
                let diag_w = v[k + 2].clone().slice([0..1, 0..n, 0..1]).reshape([1, n]);
                (kernel.dyn_matrix(v[k].clone(), v[k + 1].clone()) * v[k + 2].clone()).sum()
                    + (kernel.dyn_diagonal(v[k].clone()) * diag_w).sum()
            },
            &all,
            &config,
        );
        assert!(report.passed(), "{name}:\n{report}");
    }
}

/// A small layer built from raw tensors (for finite differences).
/// A layer whose family and strategy are chosen at run time.
type DynSvgp = Svgp<ScaleKernel<Rbf>, InducingFamily, AnyStrategy>;

fn layer_from(v: &[Tensor<3>], whiten: bool, family: VariationalFamily) -> DynSvgp {
    let [_, p, m] = v[1].dims();
    Svgp {
        kernel: ScaleKernel {
            base: Rbf {
                lengthscale_raw: param(v[3].clone()),
            },
            outputscale_raw: param(v[4].clone()),
        },
        mean: MeanFunction {
            constant: Some(param(v[5].clone().reshape([p]))),
            weight: None,
            outputs: p,
        },
        inducing_points: param(v[0].clone()),
        variational: match family {
            VariationalFamily::FullRank => InducingFamily::FullRank(FullRankGaussian {
                loc: param(v[1].clone().reshape([p, m])),
                scale_raw: param(v[2].clone()),
                transform: TrilTransform::SignFlip,
            }),
            VariationalFamily::MeanField => InducingFamily::MeanField(MeanFieldGaussian {
                loc: param(v[1].clone().reshape([p, m])),
                rho: param(
                    (v[2].clone()
                        * Tensor::<2>::eye(m, &v[2].device())
                            .cast(v[2].dtype())
                            .unsqueeze::<3>())
                    .sum_dim(2)
                    .reshape([p, m]),
                ),
                transform: ScaleTransform::Absolute,
            }),
        },
        strategy: strategy(whiten),
        jitter: Some(1e-6),
    }
}

/// The strategy `whiten` names.
fn strategy(whiten: bool) -> AnyStrategy {
    if whiten {
        Whitened.into()
    } else {
        Unwhitened.into()
    }
}

/// Finite differences of the layer's ELBO terms (Gaussian ELL + KL) with respect to the inducing
/// points, `m`, `S`'s factor, the kernel's raw hyper-parameters and the mean, for both strategies
/// and both families, with two outputs sharing the inducing points.
fn gradcheck_svgp_layer(device: Device) {
    let ad = device.autodiff();
    let config = gradcheck_config(&ad);
    let dtype = config.dtype;
    let (n, m, d, p) = (5, 3, 2, 2);
    let x = tensor(noise(31, n * d), [n, d], &ad, dtype);
    let y = tensor(noise(32, n * p), [n, p], &ad, dtype);
    let mut chol = noise(33, p * m * m)
        .iter()
        .map(|v| 0.3 * v)
        .collect::<Vec<_>>();
    for o in 0..p {
        for i in 0..m {
            // Some diagonal entries negative: q(u)'s columns are flipped to a positive diagonal.
            let sign = if (o + i) % 2 == 1 { -1.0 } else { 1.0 };
            chol[o * m * m + i * m + i] = sign * (0.8 + 0.1 * i as f64);
        }
    }
    let inputs = vec![
        tensor(
            noise(34, m * d).iter().map(|v| 1.5 * v).collect(),
            [1, m, d],
            &ad,
            dtype,
        ),
        tensor(noise(35, p * m), [1, p, m], &ad, dtype),
        tensor(chol, [p, m, m], &ad, dtype),
        tensor(vec![0.1, -0.2], [1, 1, d], &ad, dtype),
        tensor(vec![0.3], [1, 1, 1], &ad, dtype),
        tensor(vec![0.2, -0.1], [1, 1, p], &ad, dtype),
    ];
    let likelihood = GaussianLikelihood {
        noise_raw: param(tensor(vec![0.0], [1], &ad, dtype)),
        noise_floor: 1e-4,
    };
    for whiten in [true, false] {
        for family in [VariationalFamily::FullRank, VariationalFamily::MeanField] {
            let report = gradcheck(
                |v| {
                    let layer = layer_from(&v, whiten, family);
                    let out = layer.forward(x.clone()).unwrap();
                    // One shared noise for both outputs: the fused sum's shared path.
                    likelihood.expected_log_likelihood_sum(&out.f, y.clone()) - out.kl
                },
                &inputs,
                &config,
            );
            assert!(
                report.passed(),
                "svgp whiten={whiten} {family:?}:\n{report}"
            );
        }
    }
}

/// The whitened and unwhitened strategies describe the same `q(f)` when `q(v)` and `q(u)`
/// correspond (`u = L v`); mean field equals full rank with a diagonal factor; shared and
/// separate inducing points agree when the separate ones are equal; the joint predictive's
/// diagonal equals the marginals.
fn svgp_families_and_strategies_agree(device: Device) {
    for dtype in dtypes(&device) {
        let (rtol, atol) = by_dtype(dtype, (1e-9, 1e-10), (2e-3, 2e-4));
        let (n, m, d, p) = (7, 4, 2, 2);
        let x = tensor(noise(41, n * d), [n, d], &device, dtype);
        let mut diag_chol = vec![0.0; p * m * m];
        for o in 0..p {
            for i in 0..m {
                diag_chol[o * m * m + i * m + i] = 0.5 + 0.2 * i as f64 + 0.1 * o as f64;
            }
        }
        let v = vec![
            tensor(
                noise(42, m * d).iter().map(|v| 1.5 * v).collect(),
                [1, m, d],
                &device,
                dtype,
            ),
            tensor(noise(43, p * m), [1, p, m], &device, dtype),
            tensor(diag_chol, [p, m, m], &device, dtype),
            tensor(vec![0.3, 0.1], [1, 1, d], &device, dtype),
            tensor(vec![0.2], [1, 1, 1], &device, dtype),
            tensor(vec![0.5, -0.5], [1, 1, p], &device, dtype),
        ];
        let whitened = layer_from(&v, true, VariationalFamily::FullRank);
        let f_w = whitened.forward(x.clone()).unwrap();
        let mean_field = layer_from(&v, true, VariationalFamily::MeanField);
        let f_mf = mean_field.forward(x.clone()).unwrap();
        assert_all_close(
            "mean field = diagonal full rank (mean)",
            &values(f_mf.f.mean.clone()),
            &values(f_w.f.mean.clone()),
            rtol,
            atol,
        );
        assert_all_close(
            "mean field = diagonal full rank (var)",
            &values(f_mf.f.variance),
            &values(f_w.f.variance.clone()),
            rtol,
            atol,
        );
        assert_all_close(
            "mean field = diagonal full rank (kl)",
            &values(f_mf.kl),
            &values(f_w.kl.clone()),
            rtol,
            atol,
        );

        // A factor with negative diagonal entries: S = L Lᵀ does not change when a column's sign
        // flips, so neither may the marginals or the KL (both strategies).
        let mut lower = values(v[2].clone());
        let extra = noise(44, p * m * m);
        for o in 0..p {
            for i in 0..m {
                for j in 0..i {
                    lower[o * m * m + i * m + j] = 0.3 * extra[o * m * m + i * m + j];
                }
            }
        }
        let flipped: Vec<f64> = (0..p * m * m)
            .map(|idx| {
                if idx % m % 2 == 0 {
                    -lower[idx]
                } else {
                    lower[idx]
                }
            })
            .collect();
        for whiten in [true, false] {
            let with = |factor: &[f64]| {
                let mut layer = layer_from(&v, whiten, VariationalFamily::FullRank);
                let factor = tensor(factor.to_vec(), [p, m, m], &device, dtype);
                if let InducingFamily::FullRank(q) = &mut layer.variational {
                    q.scale_raw = param(factor);
                }
                let out = layer.forward(x.clone()).unwrap();
                [values(out.f.mean), values(out.f.variance), values(out.kl)].concat()
            };
            assert_all_close(
                &format!("column signs of q(u)'s factor, whiten={whiten}"),
                &with(&flipped),
                &with(&lower),
                rtol,
                atol,
            );
        }

        // Unwhitened with u = m(Z) + L_zz v: m_u = m(Z) + L m_v, L_u = L_zz L_v.
        let prior = whitened.inducing_prior().unwrap();
        let lz = prior.cholesky.clone().expand([p, m, m]);
        let m_u = prior.mean.clone()
            + lz.clone()
                .matmul(whitened.variational.loc().reshape([p, m, 1]))
                .reshape([p, m]);
        let l_u = lz.matmul(v[2].clone());
        let mut unwhitened = layer_from(&v, false, VariationalFamily::FullRank);
        if let InducingFamily::FullRank(q) = &mut unwhitened.variational {
            q.loc = param(m_u);
            q.scale_raw = param(l_u);
        }
        let f_u = unwhitened.forward(x.clone()).unwrap();
        assert_all_close(
            "unwhitened = whitened (mean)",
            &values(f_u.f.mean.clone()),
            &values(f_w.f.mean.clone()),
            rtol,
            atol,
        );
        // The whitened predictive adds the jitter to k(x, x); the unwhitened does not.
        let var_w: Vec<f64> = values(f_w.f.variance.clone())
            .iter()
            .map(|v| v - 1e-6)
            .collect();
        assert_all_close(
            "unwhitened = whitened (var)",
            &values(f_u.f.variance),
            &var_w,
            rtol.max(1e-6),
            atol.max(1e-6),
        );
        assert_all_close(
            "unwhitened = whitened (kl)",
            &values(f_u.kl),
            &values(f_w.kl.clone()),
            rtol.max(1e-6),
            atol.max(1e-6),
        );

        // Separate inducing points equal to the shared ones.
        let mut separate = layer_from(&v, true, VariationalFamily::FullRank);
        separate.inducing_points = param(v[0].clone().expand([p, m, d]));
        let f_s = separate.forward(x.clone()).unwrap();
        assert_all_close(
            "separate = shared inducing points",
            &values(f_s.f.variance),
            &values(f_w.f.variance.clone()),
            rtol,
            atol,
        );

        // Joint predictive: diagonal = marginals, mean = marginal mean.
        let joint = whitened.predict_joint(x.clone()).unwrap();
        let cov = values(joint.covariance.clone());
        let var = values(f_w.f.variance.clone());
        for o in 0..p {
            let diag: Vec<f64> = (0..n).map(|i| cov[o * n * n + i * n + i]).collect();
            let marg: Vec<f64> = (0..n).map(|i| var[i * p + o]).collect();
            assert_all_close("joint diagonal", &diag, &marg, rtol, atol);
        }
        assert!(joint.distribution().is_ok());
        assert_all_close(
            "joint mean",
            &values(joint.mean.swap_dims(0, 1)),
            &values(f_w.f.mean),
            rtol,
            atol,
        );
    }
}

/// Duplicated inducing points make `K_zz` singular: with no base jitter the layer adds some and
/// reports it; NaN inducing points and wrong input widths are typed errors.
fn singular_inducing_points(device: Device) {
    let dtype = dtypes(&device)[0];
    // Three copies of the origin under a unit-variance kernel: K_zz is exactly the all-ones matrix.
    let z = Tensor::<2>::zeros([3, 2], (&device, dtype.into()));
    let kernel = RbfConfig::new(2).init(&device);
    let gp = with_dtype(
        SvgpConfig::new(2, 3)
            .with_jitter(Some(0.0))
            .init(kernel, &device),
        dtype,
    )
    .with_inducing_points(z.clone());
    let out = gp
        .forward(tensor(noise(51, 8), [4, 2], &device, dtype))
        .unwrap();
    assert!(
        out.extra_jitter[0] > 0.0,
        "no jitter reported: {:?}",
        out.extra_jitter
    );
    assert!(values(out.f.variance).iter().all(|v| v.is_finite()));

    let z = tensor(vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.5], [3, 2], &device, dtype);
    let bad = z.clone().mask_fill(z.clone().equal_elem(1.0), f64::NAN);
    let gp = gp.with_inducing_points(bad);
    match gp.forward(tensor(noise(52, 8), [4, 2], &device, dtype)) {
        Err(GpError::InducingCovariance(LinalgError::NonFinite { batch_index: 0 })) => {}
        other => panic!("expected NonFinite K_zz, got {other:?}"),
    }
    let kernel = ScaleKernelConfig::new().init(RbfConfig::new(2).init(&device), &device);
    let gp = with_dtype(SvgpConfig::new(2, 3).init(kernel, &device), dtype);
    let err = gp
        .forward(tensor(noise(53, 9), [3, 3], &device, dtype))
        .unwrap_err();
    assert!(matches!(err, GpError::ShapeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("2 columns"), "{err}");
}

/// The likelihoods against independent references: Gauss–Hermite against normal moments,
/// `ln Φ` against statrs in both tails, the probit predictive against the closed form, the
/// probit/logit expected log-likelihood against a fine host quadrature and against Monte Carlo,
/// Poisson against its closed form via quadrature and statrs, softmax against the exact value at
/// zero variance and against host Monte Carlo.
fn likelihoods(device: Device) {
    let dtype = dtypes(&device)[0];
    let (rtol, atol) = by_dtype(dtype, (1e-9, 1e-10), (1e-4, 1e-5));
    // Gauss–Hermite: E[f^k] for f ~ N(μ, σ²), k ≤ 6, exactly.
    let gh = GaussHermite::new(20);
    let (mu, sd) = (0.7, 1.3);
    let f = GaussianMarginals {
        mean: tensor(vec![mu], [1, 1], &device, dtype),
        variance: tensor(vec![sd * sd], [1, 1], &device, dtype),
    };
    let moments = [
        1.0,
        mu,
        mu * mu + sd * sd,
        mu.powi(3) + 3.0 * mu * sd * sd,
        mu.powi(4) + 6.0 * mu * mu * sd * sd + 3.0 * sd.powi(4),
    ];
    for (k, want) in moments.iter().enumerate() {
        let got = values(gh.expectation(&f, |t| t.powi_scalar(k as i32)))[0];
        assert!(
            (got - want).abs() <= 1e-5 * want.abs().max(1.0),
            "GH moment {k}: {got} vs {want}"
        );
    }
    // Two outputs with their own noise: the fused Gaussian sum against the closed form by hand
    // (`Σ −½ (ln 2πσ²_p + ((y − μ)² + v) / σ²_p)`) and against the per-row sum's gradients.
    let ad = device.clone().autodiff();
    let (ys, mus, vars) = (noise(41, 10), noise(42, 10), noise(43, 10));
    let vars: Vec<f64> = vars.iter().map(|v| 0.1 + v * v).collect();
    let noises = [0.3, 1.7];
    let likelihood = GaussianLikelihood {
        noise_raw: param(
            tensor(
                noises
                    .iter()
                    .map(|v| vi_core::special::inverse_softplus_f64(*v))
                    .collect(),
                [2],
                &ad,
                dtype,
            )
            .require_grad(),
        ),
        noise_floor: 0.0,
    };
    let by_hand: f64 = (0..10)
        .map(|i| {
            let s2 = noises[i % 2];
            let r = ys[i] - mus[i];
            -0.5 * ((2.0 * std::f64::consts::PI * s2).ln() + (r * r + vars[i]) / s2)
        })
        .sum();
    let mu = tensor(mus, [5, 2], &ad, dtype).require_grad();
    let f2 = GaussianMarginals {
        mean: mu.clone(),
        variance: tensor(vars, [5, 2], &ad, dtype),
    };
    let y2 = tensor(ys, [5, 2], &ad, dtype);
    let fused = likelihood.expected_log_likelihood_sum(&f2, y2.clone());
    assert_all_close(
        "two-output ELL sum",
        &values(fused.clone()),
        &[by_hand],
        rtol,
        atol,
    );
    let per_row = likelihood.expected_log_likelihood(&f2, y2).sum();
    let (g_fused, g_rows) = (fused.backward(), per_row.backward());
    let grads = |g| {
        let noise_grad = likelihood.noise_raw.grad(g).unwrap();
        [values(mu.grad(g).unwrap()), values(noise_grad)].concat()
    };
    assert_all_close(
        "two-output ELL sum, gradients in the means and the noise",
        &grads(&g_fused),
        &grads(&g_rows),
        rtol,
        atol,
    );
    // ln Φ.
    let std_normal = StatNormal::new(0.0, 1.0).unwrap();
    let zs = vec![-30.0, -8.0, -5.5, -4.9, -3.5, -2.5, -1.0, 0.0, 2.0, 6.0];
    let got = values(vi_blocks::gp::likelihood::log_normal_cdf(tensor(
        zs.clone(),
        [zs.len()],
        &device,
        dtype,
    )));
    for (z, g) in zs.iter().zip(got) {
        let want = if *z < -5.0 {
            std_normal.sf(-z).ln()
        } else {
            std_normal.cdf(*z).ln()
        };
        // statrs' erf is good to ~1e-10 relative.
        let tol = by_dtype(dtype, 1e-9 * want.abs() + 1e-15, 2e-5 * want.abs() + 1e-6);
        assert!((g - want).abs() <= tol, "ln Φ({z}) = {g}, want {want}");
    }
    // Probit predictive and expected log-likelihood.
    let means = vec![-2.0, -0.3, 0.0, 0.8, 2.5];
    let vars = vec![0.1, 1.0, 2.0, 0.5, 4.0];
    let ys = vec![1.0, 0.0, 1.0, 1.0, 0.0];
    let n = means.len();
    let f = GaussianMarginals {
        mean: tensor(means.clone(), [n, 1], &device, dtype),
        variance: tensor(vars.clone(), [n, 1], &device, dtype),
    };
    let y = tensor(ys.clone(), [n, 1], &device, dtype);
    let probit = BernoulliLikelihoodConfig::new().init();
    let want_p: Vec<f64> = means
        .iter()
        .zip(&vars)
        .map(|(m, v)| std_normal.cdf(m / (1.0 + v).sqrt()))
        .collect();
    assert_all_close(
        "probit predictive",
        &values(probit.predictive(&f)),
        &want_p,
        rtol,
        atol,
    );
    let host_ell = |link: &dyn Fn(f64) -> f64| -> Vec<f64> {
        // Midpoint rule on ±10σ with 20 000 cells.
        (0..n)
            .map(|i| {
                let (m, s) = (means[i], vars[i].sqrt());
                let cells = 20_000;
                let h = 20.0 * s / cells as f64;
                (0..cells)
                    .map(|c| {
                        let t = m - 10.0 * s + (c as f64 + 0.5) * h;
                        let sign = if ys[i] == 1.0 { t } else { -t };
                        link(sign) * (-0.5 * ((t - m) / s).powi(2)).exp()
                            / (s * (2.0 * std::f64::consts::PI).sqrt())
                            * h
                    })
                    .sum()
            })
            .collect()
    };
    let want = host_ell(&|z| std_normal.cdf(z).ln());
    assert_all_close(
        "probit ELL (quadrature)",
        &values(probit.expected_log_likelihood(&f, y.clone())),
        &want,
        1e-4,
        1e-5,
    );
    let logit = BernoulliLikelihoodConfig::new()
        .with_link(Link::Logit)
        .init();
    let want_logit = host_ell(&|z| -(1.0 + (-z).exp()).ln());
    assert_all_close(
        "logit ELL (quadrature)",
        &values(logit.expected_log_likelihood(&f, y.clone())),
        &want_logit,
        1e-4,
        1e-5,
    );
    let mc = BernoulliLikelihoodConfig::new()
        .with_monte_carlo_samples(Some(20_000))
        .init();
    let second = host_ell(&|z| std_normal.cdf(z).ln().powi(2));
    let got = values(mc.expected_log_likelihood(&f, y.clone()));
    for i in 0..n {
        let se = ((second[i] - want[i] * want[i]).max(0.0) / 20_000.0).sqrt();
        assert!(
            (got[i] - want[i]).abs() < 5.0 * se + 1e-4,
            "probit ELL (Monte Carlo) {i}: {} vs {} (se {se})",
            got[i],
            want[i]
        );
    }
    let lpd = values(probit.log_predictive_density(&f, y));
    let want_lpd: Vec<f64> = want_p
        .iter()
        .zip(&ys)
        .map(|(p, y)| if *y == 1.0 { p.ln() } else { (1.0 - p).ln() })
        .collect();
    assert_all_close(
        "probit log predictive density",
        &lpd,
        &want_lpd,
        rtol.max(1e-6),
        atol,
    );

    // Poisson.
    let counts = vec![0.0, 1.0, 3.0, 7.0, 2.0];
    let yc = tensor(counts.clone(), [n, 1], &device, dtype);
    let poisson = PoissonLikelihood::new();
    let ell = values(poisson.expected_log_likelihood(&f, yc.clone()));
    let via_gh = values(gh.expectation(&f, |t| yc.clone().unsqueeze::<3>() * t.clone() - t.exp()));
    for i in 0..n {
        let log_fact = vi_core::special::lgamma_f64(counts[i] + 1.0);
        assert!(
            (ell[i] - (via_gh[i] - log_fact)).abs() <= 1e-3 * ell[i].abs().max(1.0),
            "poisson ELL {i}"
        );
    }
    let pred = poisson.predictive(&f);
    let mean = values(pred.mean);
    for i in 0..n {
        assert!((mean[i] - (means[i] + vars[i] / 2.0).exp()).abs() <= 1e-4 * mean[i]);
    }
    // Zero variance: the predictive is the Poisson itself.
    let f0 = GaussianMarginals {
        mean: tensor(means.clone(), [n, 1], &device, dtype),
        variance: Tensor::zeros([n, 1], (&device, dtype.into())),
    };
    let lpd0 = values(poisson.log_predictive_density(&f0, yc));
    for i in 0..n {
        let want = Poisson::new(means[i].exp())
            .unwrap()
            .ln_pmf(counts[i] as u64);
        assert!(
            (lpd0[i] - want).abs() <= 1e-4 * want.abs().max(1.0),
            "poisson lpd {i}: {} vs {want}",
            lpd0[i]
        );
    }

    // Softmax: zero variance is exact; otherwise compare to a host MC with a s.e. tolerance.
    let (n, k) = (3, 4);
    let logits = noise(61, n * k);
    let classes = vec![0i64, 3, 2];
    let target = Tensor::<1, Int>::from_data(classes.as_slice(), &device);
    let softmax = SoftmaxLikelihoodConfig::new().with_samples(4000).init();
    let f0 = GaussianMarginals {
        mean: tensor(logits.clone(), [n, k], &device, dtype),
        variance: Tensor::zeros([n, k], (&device, dtype.into())),
    };
    let exact: Vec<f64> = (0..n)
        .map(|i| {
            let row = &logits[i * k..(i + 1) * k];
            let lse = row.iter().map(|v| v.exp()).sum::<f64>().ln();
            row[classes[i] as usize] - lse
        })
        .collect();
    assert_all_close(
        "softmax ELL at zero variance",
        &values(softmax.expected_log_likelihood(&f0, target.clone())),
        &exact,
        rtol,
        atol,
    );
    let probs = values(softmax.predictive(&f0));
    assert!((probs.iter().sum::<f64>() - n as f64).abs() < 1e-4);
    let f1 = GaussianMarginals {
        mean: f0.mean.clone(),
        variance: Tensor::ones([n, k], (&device, dtype.into())),
    };
    let ell = values(softmax.expected_log_likelihood(&f1, target));
    // E[ln softmax] ≤ ln softmax(E f) (Jensen), and within MC error of a host estimate.
    let draws = noise(62, 200_000 * k);
    for i in 0..n {
        let row = &logits[i * k..(i + 1) * k];
        let mut acc = Vec::with_capacity(50_000);
        for s in 0..50_000 {
            // Box–Muller from the uniform stream.
            let z: Vec<f64> = (0..k)
                .map(|j| {
                    let u1 = 0.5 * (draws[(s * k + j) * 2 % draws.len()] + 1.0) + 1e-12;
                    let u2 = 0.5 * (draws[((s * k + j) * 2 + 1) % draws.len()] + 1.0);
                    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
                })
                .collect();
            let f: Vec<f64> = row.iter().zip(&z).map(|(m, z)| m + z).collect();
            let lse = f.iter().map(|v| v.exp()).sum::<f64>().ln();
            acc.push(f[classes[i] as usize] - lse);
        }
        let host = acc.iter().sum::<f64>() / acc.len() as f64;
        let sd = (acc.iter().map(|v| (v - host).powi(2)).sum::<f64>() / acc.len() as f64).sqrt();
        let se = sd * (1.0 / 4000f64 + 1.0 / 50_000f64).sqrt();
        assert!(
            (ell[i] - host).abs() < 5.0 * se,
            "softmax ELL {i}: {} vs host {host} (se {se})",
            ell[i]
        );
        assert!(ell[i] < exact[i]);
    }
}

/// Training: an SVGP and a two-layer deep GP fit `sin(3x)` with Adam; test RMSE well below the
/// signal's standard deviation and the inducing points move.
fn svgp_and_deep_gp_learn_a_function(device: Device) {
    use burn::optim::{AdamConfig, GradientsParams};
    let ad = device.autodiff();
    let n = 64;
    let xs: Vec<f64> = (0..n)
        .map(|i| -2.0 + 4.0 * i as f64 / (n - 1) as f64)
        .collect();
    let ys: Vec<f64> = xs
        .iter()
        .zip(noise(71, n))
        .map(|(x, e)| (3.0 * x).sin() + 0.05 * e)
        .collect();
    let x = tensor(xs.clone(), [n, 1], &ad, FloatDType::F32);
    let y = tensor(ys.clone(), [n, 1], &ad, FloatDType::F32);
    let x_test = tensor(
        (0..20).map(|i| -1.9 + 3.8 * i as f64 / 19.0).collect(),
        [20, 1],
        &ad,
        FloatDType::F32,
    );
    let y_test: Vec<f64> = values(x_test.clone())
        .iter()
        .map(|x| (3.0 * x).sin())
        .collect();
    let rmse = |pred: Vec<f64>| {
        (pred
            .iter()
            .zip(&y_test)
            .map(|(p, y)| (p - y).powi(2))
            .sum::<f64>()
            / 20.0)
            .sqrt()
    };

    let kernel =
        ScaleKernelConfig::new().init(RbfConfig::new(1).with_lengthscale(0.5).init(&ad), &ad);
    let z0 = tensor(
        (0..10).map(|i| -2.0 + 4.0 * i as f64 / 9.0).collect(),
        [10, 1],
        &ad,
        FloatDType::F32,
    );
    let mut gp = SvgpConfig::new(1, 10)
        .init(kernel, &ad)
        .with_inducing_points(z0.clone());
    let mut lik = vi_blocks::gp::likelihood::GaussianLikelihoodConfig::new()
        .with_noise(0.1)
        .init(&ad);
    let mut opt_gp = AdamConfig::new().init();
    let mut opt_lik = AdamConfig::new().init();
    for _ in 0..150 {
        let out = gp.forward(x.clone()).unwrap();
        let ell = lik.expected_log_likelihood(&out.f, y.clone()).sum();
        let loss = Elbo::new(n).from_terms(ell, out.kl).unwrap().loss();
        let mut grads = loss.backward();
        let g_gp = GradientsParams::from_module(&mut grads, &gp);
        let g_lik = GradientsParams::from_module(&mut grads, &lik);
        gp = opt_gp.step(0.05, gp, g_gp);
        lik = opt_lik.step(0.05, lik, g_lik);
    }
    let pred = gp.forward(x_test.clone()).unwrap().f.mean;
    let err = rmse(values(pred));
    assert!(err < 0.15, "SVGP test RMSE {err}");
    let moved = values(gp.inducing_points.val() - z0.clone().reshape([1, 10, 1]))
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(moved > 1e-3, "inducing points did not move");

    let dgp = DeepGpConfig::new(vec![1, 2, 1], 10);
    let mut dgp = dgp.init(
        |d| ScaleKernelConfig::new().init(RbfConfig::new(d).with_lengthscale(0.5).init(&ad), &ad),
        &ad,
    );
    dgp.layers = dgp
        .layers
        .into_iter()
        .map(|l| {
            let z = z0.clone().reshape([10, 1]);
            let z = if l.inducing_points.dims()[2] == 2 {
                Tensor::cat(vec![z.clone(), z], 1)
            } else {
                z
            };
            l.with_inducing_points(z)
        })
        .collect();
    let lik = vi_blocks::gp::likelihood::GaussianLikelihoodConfig::new()
        .with_noise(0.01)
        .with_learn_noise(false)
        .init(&ad);
    let mut opt = AdamConfig::new().init();
    let ys = y
        .clone()
        .unsqueeze::<3>()
        .expand([3, n, 1])
        .reshape([3 * n, 1]);
    // One ll per sample, [3]; every layer's K_zz check read with the ELBO.
    let ll = |f: &GaussianMarginals| {
        lik.expected_log_likelihood(f, ys.clone())
            .reshape([3, n])
            .sum_dim(1)
            .squeeze_dim(1)
    };
    for _ in 0..150 {
        let loss = dgp
            .elbo(x.clone(), 3, &Elbo::new(n), ll)
            .unwrap()
            .terms
            .loss();
        let grads = GradientsParams::from_grads(loss.backward(), &dgp);
        dgp = opt.step(0.05, dgp, grads);
    }
    let pred = dgp.forward(x_test, 20).unwrap().mixture_moments().mean;
    let err = rmse(values(pred));
    assert!(err < 0.25, "deep GP test RMSE {err}");
}

/// `Kernel::inducing_matrices` (hyper-parameters transformed once) against `gram`, `matrix` and
/// `diagonal` called one by one: values, and gradients in the inducing inputs and every raw
/// hyper-parameter, for the overriding kernels (`Rbf`, `ScaleKernel<Rbf>`) and a default one
/// (`ScaleKernel<Matern>`), with a kernel batch of 2 broadcast against inputs of batch 1.
fn inducing_matrices_match_separate_calls(device: Device) {
    let ad = device.clone().autodiff();
    let (m, n, d) = (5, 7, 3);
    for dtype in dtypes(&device) {
        let tol = by_dtype(dtype, 1e-12, 1e-5);
        let (_, _, z, x) = inputs(&ad, dtype, m, n, d);
        let rbf = with_dtype(RbfConfig::new(d).with_lengthscale(0.8).init(&ad), dtype);
        let matern = with_dtype(MaternConfig::new(d).init(&ad), dtype);
        let scale = ScaleKernelConfig::new().with_outputscale(1.7).with_batch(2);
        let scaled_rbf = with_dtype(scale.init(rbf.clone(), &ad), dtype);
        let scaled_matern = with_dtype(scale.init(matern, &ad), dtype);
        compare_inducing_matrices("Rbf", &rbf, &z, &x, dtype, tol);
        compare_inducing_matrices("ScaleKernel<Rbf>", &scaled_rbf, &z, &x, dtype, tol);
        compare_inducing_matrices("ScaleKernel<Matern>", &scaled_matern, &z, &x, dtype, tol);
    }
}

fn compare_inducing_matrices<K: Kernel>(
    label: &str,
    kernel: &K,
    z: &Tensor<3>,
    x: &Tensor<3>,
    dtype: FloatDType,
    tol: f64,
) {
    let device = z.device();
    let z = z.clone().detach().require_grad();
    let objective = |(kzz, kzx, kxx): (Tensor<3>, Tensor<3>, Tensor<2>)| {
        let weights = |shape: [usize; 3], seed: u64| {
            tensor(noise(seed, shape.iter().product()), shape, &device, dtype)
        };
        let [b, mm, nn] = kzx.dims();
        let values = [kzz.clone(), kzx.clone()]
            .into_iter()
            .chain([kxx.clone().unsqueeze_dim(1)])
            .flat_map(values)
            .collect::<Vec<_>>();
        let loss = (kzz.clone() * weights([b, mm, mm], 31)).sum()
            + (kzx * weights([b, mm, nn], 32)).sum()
            + (kxx.unsqueeze_dim::<3>(1) * weights([b, 1, nn], 33)).sum();
        (values, loss)
    };
    let (together, loss_together) = objective(kernel.inducing_matrices(z.clone(), x.clone()));
    let (apart, loss_apart) = objective((
        kernel.gram(z.clone()),
        kernel.matrix(z.clone(), x.clone()),
        kernel.diagonal(x.clone()),
    ));
    assert_all_close(
        &format!("{label} [{dtype:?}] values"),
        &together,
        &apart,
        tol,
        tol,
    );
    let (g1, g2) = (loss_together.backward(), loss_apart.backward());
    let mut pairs = vec![(
        values(z.grad(&g1).expect("a gradient")),
        values(z.grad(&g2).expect("a gradient")),
    )];
    kernel.visit(&mut GradientPairs {
        grads: (&g1, &g2),
        pairs: &mut pairs,
    });
    assert!(pairs.len() > 1, "{label}: no hyper-parameters visited");
    for (i, (together, apart)) in pairs.iter().enumerate() {
        assert_all_close(
            &format!("{label} [{dtype:?}] gradient {i}"),
            together,
            apart,
            tol,
            tol,
        );
    }
}

/// Each float parameter's gradients under two sets of gradients.
struct GradientPairs<'a> {
    grads: (&'a burn::tensor::Gradients, &'a burn::tensor::Gradients),
    pairs: &'a mut Vec<(Vec<f64>, Vec<f64>)>,
}

impl burn::module::ModuleVisitor for GradientPairs<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let grad = |g| values(param.val().grad(g).expect("a gradient"));
        self.pairs.push((grad(self.grads.0), grad(self.grads.1)));
    }
}

/// `Svgp::elbo` (`K_zz`'s check read with the ELBO's) against `forward` then
/// `Elbo::from_terms`: the same value, terms and gradients in every parameter (whitened full
/// rank, unwhitened mean field); a singular `K_zz` is recomputed with jitter and reported;
/// NaN inducing points, a NaN likelihood and wrong input widths give typed errors; `DeepGp::elbo`
/// recomputes through `forward` when a layer's `K_zz` needs jitter.
fn svgp_elbo_checks_with_one_read(device: Device) {
    use vi_blocks::gp::likelihood::GaussianLikelihoodConfig;
    let ad = device.clone().autodiff();
    for dtype in dtypes(&device) {
        let tol = by_dtype(dtype, 1e-10, 2e-5);
        let x = tensor(noise(62, 20), [10, 2], &ad, dtype);
        let y = tensor(noise(63, 10), [10, 1], &ad, dtype);
        let lik = with_dtype(GaussianLikelihoodConfig::new().init(&ad), dtype);
        let ell = |f: &GaussianMarginals| lik.expected_log_likelihood_sum(f, y.clone());
        let elbo = Elbo::new(40).with_batch_size(10);
        for (whiten, family) in [
            (true, VariationalFamily::FullRank),
            (false, VariationalFamily::MeanField),
        ] {
            let label = format!("whiten={whiten} {family:?} [{dtype:?}]");
            let kernel = ScaleKernelConfig::new().init(RbfConfig::new(2).init(&ad), &ad);
            let gp = with_dtype(
                SvgpConfig::new(2, 6).init_with(
                    kernel,
                    family.standard(1, 6, &ad),
                    strategy(whiten),
                    &ad,
                ),
                dtype,
            )
            .with_inducing_points(tensor(noise(61, 12), [6, 2], &ad, dtype));
            let step = gp.elbo(x.clone(), &elbo, ell).unwrap();
            assert_eq!(step.output.extra_jitter, vec![0.0]);
            let out = gp.forward(x.clone()).unwrap();
            assert!(out.guard.is_none(), "forward checks its factor");
            let deferred = gp.forward_deferred(x.clone()).unwrap();
            let guard = values(deferred.guard.expect("an unread guard"));
            assert!(
                guard.len() == 1 && guard[0].is_finite(),
                "{label}: guard {guard:?}"
            );
            for (name, got, want) in [
                ("mean", &deferred.f.mean, &out.f.mean),
                ("variance", &deferred.f.variance, &out.f.variance),
            ] {
                let (got, want) = (values(got.clone()), values(want.clone()));
                assert_all_close(&format!("{label} deferred {name}"), &got, &want, tol, tol);
            }
            let want = elbo.from_terms(ell(&out.f), out.kl.clone()).unwrap();
            let (got_value, want_value) = (step.terms.value.unwrap(), want.value.unwrap());
            assert_all_close(
                &format!("{label} value"),
                &[got_value],
                &[want_value],
                tol,
                tol,
            );
            for (name, got, want) in [
                ("ELBO", &step.terms.elbo, &want.elbo),
                ("KL", &step.terms.kl, &want.kl),
                (
                    "expected log-likelihood",
                    &step.terms.expected_log_likelihood,
                    &want.expected_log_likelihood,
                ),
            ] {
                assert_all_close(
                    &format!("{label} {name}"),
                    &values(got.clone()),
                    &values(want.clone()),
                    tol,
                    tol,
                );
            }
            let (g1, g2) = (step.terms.loss().backward(), want.loss().backward());
            let mut pairs = Vec::new();
            let mut visitor = GradientPairs {
                grads: (&g1, &g2),
                pairs: &mut pairs,
            };
            gp.visit(&mut visitor);
            lik.visit(&mut visitor);
            assert!(pairs.len() >= 6, "{label}: {} parameters", pairs.len());
            for (i, (got, want)) in pairs.iter().enumerate() {
                assert_all_close(&format!("{label} gradient {i}"), got, want, tol, tol);
            }
        }

        // Three copies of the origin under a unit-variance kernel and no base jitter: the
        // optimistic factor fails, the step is recomputed with retries and reports the jitter.
        let singular = with_dtype(
            SvgpConfig::new(2, 3)
                .with_jitter(Some(0.0))
                .init(RbfConfig::new(2).init(&ad), &ad),
            dtype,
        )
        .with_inducing_points(Tensor::<2>::zeros([3, 2], (&ad, dtype.into())));
        let deferred = singular.forward_deferred(x.clone()).unwrap();
        assert_eq!(deferred.extra_jitter, vec![0.0], "nothing retried");
        assert!(!values(deferred.guard.unwrap())[0].is_finite());
        assert!(values(deferred.f.mean).iter().any(|m| m.is_nan()));
        let step = singular.elbo(x.clone(), &elbo, ell).unwrap();
        assert!(
            step.output.extra_jitter[0] > 0.0,
            "{:?}",
            step.output.extra_jitter
        );
        let out = singular.forward(x.clone()).unwrap();
        assert_eq!(step.output.extra_jitter, out.extra_jitter);
        let want = elbo.from_terms(ell(&out.f), out.kl).unwrap().value.unwrap();
        let got = step.terms.value.unwrap();
        assert_all_close("recomputed value", &[got], &[want], tol, tol);
        assert!(want.is_finite());

        let z = tensor(vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.5], [3, 2], &ad, dtype);
        let nan_z = singular.with_inducing_points(z.clone().mask_fill(z.equal_elem(1.0), f64::NAN));
        match nan_z.elbo(x.clone(), &elbo, ell) {
            Err(GpError::InducingCovariance(LinalgError::NonFinite { batch_index: 0 })) => {}
            other => panic!("expected NonFinite K_zz, got {other:?}"),
        }
        let kernel = ScaleKernelConfig::new().init(RbfConfig::new(2).init(&ad), &ad);
        let gp = with_dtype(SvgpConfig::new(2, 4).init(kernel, &ad), dtype);
        match gp.elbo(x.clone(), &elbo, |f| ell(f) * f64::NAN) {
            Err(GpError::Elbo(ElboError::NonFinite {
                term: "expected log-likelihood",
                ..
            })) => {}
            other => panic!("expected a non-finite expected log-likelihood, got {other:?}"),
        }
        let wide = tensor(noise(64, 30), [10, 3], &ad, dtype);
        assert!(matches!(
            gp.elbo(wide, &elbo, ell),
            Err(GpError::ShapeMismatch { .. })
        ));

        // A deep GP whose first layer has coincident inducing points and no base jitter: its
        // guard, not the last layer's, has to bring the step back to the checked path.
        let mut dgp = with_dtype(
            DeepGpConfig::new(vec![2, 2, 1], 3).init(|d| RbfConfig::new(d).init(&ad), &ad),
            dtype,
        );
        let first = dgp.layers.remove(0);
        let first = Svgp {
            jitter: Some(0.0),
            ..first
        };
        dgp.layers.insert(
            0,
            first.with_inducing_points(Tensor::<2>::zeros([3, 2], (&ad, dtype.into()))),
        );
        let samples = 4;
        let ys = y.clone().repeat_dim(0, samples);
        let step = dgp
            .elbo(x.clone(), samples, &elbo, |f| {
                lik.expected_log_likelihood_sum(f, ys.clone()) / samples as f64
            })
            .unwrap();
        let value = step.terms.value.unwrap();
        assert!(value.is_finite(), "deep GP ELBO {value}");
        assert!(values(step.output.f.variance).iter().all(|v| v.is_finite()));
        assert_eq!(step.output.f.mean.dims(), [samples * 10, 1]);
    }
}
