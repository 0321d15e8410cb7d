//! Training: an SVGP and a two-layer deep GP learn a function.

use burn::tensor::{Device, FloatDType, Tensor};
use vi_blocks::gp::kernel::{RbfConfig, ScaleKernelConfig};
use vi_blocks::gp::likelihood::Likelihood;
use vi_blocks::gp::{DeepGpConfig, GaussianMarginals, SvgpConfig};
use vi_core::elbo::Elbo;
use vi_tests::{device_tests, noise, tensor, values};

device_tests!(svgp_and_deep_gp_learn_a_function,);

/// Training: an SVGP and a two-layer deep GP fit `sin(3x)` with Adam; test RMSE well below the
/// signal's standard deviation and the inducing points move.
fn svgp_and_deep_gp_learn_a_function(device: Device) {
    let ad = device.autodiff();
    let data = SinData::new(&ad);
    svgp_learns(&ad, &data);
    deep_gp_learns(&ad, &data);
}

/// `y = sin(3x) + 0.05 ε` at 64 points of [−2, 2] (`f32`), and 20 noiseless test points.
struct SinData {
    n: usize,
    x: Tensor<2>,
    y: Tensor<2>,
    x_test: Tensor<2>,
    y_test: Vec<f64>,
}

impl SinData {
    fn new(ad: &Device) -> Self {
        let ad = ad.clone();
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
        Self {
            n,
            x,
            y,
            x_test,
            y_test,
        }
    }

    /// Test RMSE of predicted means.
    fn rmse(&self, pred: Vec<f64>) -> f64 {
        let y_test = &self.y_test;
        (pred
            .iter()
            .zip(y_test)
            .map(|(p, y)| (p - y).powi(2))
            .sum::<f64>()
            / 20.0)
            .sqrt()
    }
}

/// Ten inducing inputs evenly on [−2, 2].
fn z0(ad: &Device) -> Tensor<2> {
    tensor(
        (0..10).map(|i| -2.0 + 4.0 * i as f64 / 9.0).collect(),
        [10, 1],
        ad,
        FloatDType::F32,
    )
}

/// An SVGP fits the data with Adam: test RMSE below 0.15, and the inducing points move.
fn svgp_learns(ad: &Device, data: &SinData) {
    use burn::optim::{AdamConfig, GradientsParams};
    let ad = ad.clone();
    let (n, x, y) = (data.n, data.x.clone(), data.y.clone());
    let rmse = |pred| data.rmse(pred);
    let x_test = data.x_test.clone();
    let kernel =
        ScaleKernelConfig::new().init(RbfConfig::new(1).with_lengthscale(0.5).init(&ad), &ad);
    let z0 = z0(&ad);
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
}

/// A two-layer deep GP fits the data with Adam: test RMSE below 0.25.
fn deep_gp_learns(ad: &Device, data: &SinData) {
    use burn::optim::{AdamConfig, GradientsParams};
    let ad = ad.clone();
    let (n, x, y) = (data.n, data.x.clone(), data.y.clone());
    let rmse = |pred| data.rmse(pred);
    let x_test = data.x_test.clone();
    let z0 = z0(&ad);
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
