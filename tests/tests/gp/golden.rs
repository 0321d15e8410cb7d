//! GPyTorch's golden values: SVGP whitened and unwhitened, the Gaussian expected log-likelihood.

use crate::common::{param, strategy, tracked};
use burn::module::Param;
use burn::tensor::{Device, FloatDType, Tensor};
use vi_blocks::family::{FullRankGaussian, TrilTransform};
use vi_blocks::gp::kernel::{Kernel, Rbf, ScaleKernel};
use vi_blocks::gp::likelihood::{GaussianLikelihood, Likelihood};
use vi_blocks::gp::{AnyStrategy, GaussianMarginals, MeanFunction, Svgp};
use vi_core::elbo::Elbo;
use vi_tests::{
    Case, Golden, assert_close, by_dtype, device_tests, dtypes, tensor, tolerance, values,
};

device_tests!(golden_svgp, golden_gaussian_expected_log_likelihood,);

/// A golden case's layer: full-rank `q(u)`, the case's strategy.
type GoldenSvgp = Svgp<ScaleKernel<Rbf>, FullRankGaussian, AnyStrategy>;

/// The GPyTorch model of a golden case: `ScaleKernel(RBF-ARD)`, constant mean, Cholesky `q(u)`.
fn golden_model(
    case: &Case<'_>,
    device: &Device,
    dtype: FloatDType,
    whiten: bool,
    track: bool,
) -> GoldenSvgp {
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
            training_checks(&case, &ad, dtype, whiten, &check);
            test_checks(&case, &device, dtype, whiten, &check);
        }
    }
}

/// A golden check: label, values, whether they are gradients.
type Check<'a> = &'a dyn Fn(&str, Vec<f64>, bool);

/// `K_zz`, its factor, `K_zx`, the training marginals, KL, ELL and ELBO, then the gradients.
fn training_checks(case: &Case<'_>, ad: &Device, dtype: FloatDType, whiten: bool, check: Check) {
    let ad = ad.clone();
    let name = format!("{} [{dtype:?}]", case.name());
    let model = golden_model(case, &ad, dtype, whiten, true);
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
    gradient_checks(case, &model, &likelihood, &grads, check);
}

/// The ELBO's gradients with respect to every parameter, raw and natural.
fn gradient_checks(
    case: &Case<'_>,
    model: &GoldenSvgp,
    likelihood: &GaussianLikelihood,
    grads: &burn::tensor::Gradients,
    check: Check,
) {
    let g = |p: &Param<Tensor<3>>| values(p.grad(grads).unwrap());
    check("grad_inducing_points", g(&model.inducing_points), true);
    check(
        "grad_variational_mean",
        values(model.variational.loc.grad(grads).unwrap()),
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
        values(model.mean.constant.as_ref().unwrap().grad(grads).unwrap()),
        true,
    );
    check(
        "grad_raw_noise",
        values(likelihood.noise_raw.grad(grads).unwrap()),
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
            values(likelihood.noise_raw.grad(grads).unwrap()),
        ),
        true,
    );
}

/// The test marginals, the predictive variance and the joint predictive.
fn test_checks(case: &Case<'_>, device: &Device, dtype: FloatDType, whiten: bool, check: Check) {
    let device = device.clone();
    let x_test = case.input("X_test").to_tensor::<2>(&device, dtype);
    let model = golden_model(case, &device, dtype, whiten, false);
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
