//! Training: a BNN on a toy regression, and `FusedAdam` against Burn's `Adam`.

use crate::common::{HALF_LN_2PI, toy};
use burn::module::{Module, Param};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, FloatDType};
use vi_blocks::kl::total_kl;
use vi_blocks::nn::{BayesianLinear, BayesianLinearConfig};
use vi_blocks::predict::predict_mc;
use vi_core::optim::FusedAdamConfig;
use vi_tests::{assert_all_close, by_dtype, device_tests, dtypes, noise, tensor, values};

device_tests!(bnn_toy_regression, fused_adam_matches_burn_adam,);

#[derive(Module, Debug)]
struct Bnn {
    hidden: BayesianLinear,
    out: BayesianLinear,
}

/// A mean-field BNN (local reparameterization) trained on a 1-D toy regression with known noise
/// σ = 0.1 reaches a test log-likelihood within 0.3 nats per point of the best possible,
/// `−½ ln(2πσ²) − ½` (the likelihood of the true function); a constant predictor is ~20 nats below.
fn bnn_toy_regression(device: Device) {
    device.seed(23);
    let ad = device.clone().autodiff();
    let (n, noise_sd) = (256, 0.1);
    let steps = if vi_tests::is_wgpu(&ad) { 400 } else { 1200 };
    let (x, y) = toy(300, n, noise_sd);
    let (xt, yt) = toy(400, 128, noise_sd);
    let x = tensor(x, [n, 1], &ad, FloatDType::F32);
    let y = tensor(y, [n, 1], &ad, FloatDType::F32);
    let layer = |i, o| {
        BayesianLinearConfig::new(i, o)
            .with_init_rho(-6.0)
            .init(&ad)
    };
    let mut model = Bnn {
        hidden: layer(1, 50),
        out: layer(50, 1),
    };
    let elbo = vi_core::elbo::Elbo::new(n).with_check_finite(false);
    let mut optim = AdamConfig::new().init();
    for _ in 0..steps {
        let f = model.out.forward(burn::tensor::activation::relu(
            model.hidden.forward(x.clone()),
        ));
        let ll = ((y.clone() - f)
            .square()
            .mul_scalar(-0.5 / (noise_sd * noise_sd))
            - (noise_sd.ln() + HALF_LN_2PI))
            .sum()
            .reshape([1]);
        let terms = elbo.from_terms(ll, total_kl(&model).unwrap()).unwrap();
        let grads = GradientsParams::from_grads(terms.loss().backward(), &model);
        model = optim.step(1e-2, model, grads);
    }
    // Predictive: N(mean, var_epistemic + σ²) from 64 passes.
    let model = model.valid();
    let xt_t = tensor(xt, [128, 1], &device, FloatDType::F32);
    let p = predict_mc(
        || {
            model.out.forward(burn::tensor::activation::relu(
                model.hidden.forward(xt_t.clone()),
            ))
        },
        64,
        false,
    );
    let (mean, var) = (values(p.mean), values(p.variance));
    let test_ll = mean
        .iter()
        .zip(&var)
        .zip(&yt)
        .map(|((m, v), y)| {
            let s2 = v + noise_sd * noise_sd;
            -0.5 * (2.0 * std::f64::consts::PI * s2).ln() - (y - m).powi(2) / (2.0 * s2)
        })
        .sum::<f64>()
        / yt.len() as f64;
    let best = -0.5 * (2.0 * std::f64::consts::PI * noise_sd * noise_sd).ln() - 0.5;
    assert!(
        test_ll > best - 0.3,
        "test log-likelihood {test_ll} per point; best possible {best}"
    );
}

#[derive(Module, Debug)]
struct TwoParameters {
    weight: Param<burn::tensor::Tensor<2>>,
    bias: Param<burn::tensor::Tensor<1>>,
}

/// `FusedAdam` follows Burn's `Adam` step for step (same configuration, same gradients): 30
/// steps of `Σ tanh(xW + b)² + Σ W⁴` with and without weight decay, in every dtype, with the
/// parameters compared after every step. The first steps also differ visibly from plain
/// gradient descent, so a wrong moment or bias correction cannot pass.
fn fused_adam_matches_burn_adam(device: Device) {
    let ad = device.clone().autodiff();
    for dtype in dtypes(&device) {
        let x = tensor(noise(300, 6 * 4), [6, 4], &ad, dtype);
        let start = || TwoParameters {
            weight: Param::from_tensor(tensor(noise(301, 4 * 3), [4, 3], &ad, dtype)),
            bias: Param::from_tensor(tensor(noise(302, 3), [3], &ad, dtype)),
        };
        for decay in [None, Some(0.05f32)] {
            let burn_adam = AdamConfig::new()
                .with_beta_2(0.99)
                .with_weight_decay(decay.map(WeightDecayConfig::new))
                .init();
            let fused = FusedAdamConfig::new()
                .with_beta_2(0.99)
                .with_weight_decay(decay)
                .init();
            let mut models = [start(), start()];
            let mut optims: [ModuleOptimizer; 2] = [burn_adam, fused];
            for step in 0..30 {
                let mut params = Vec::new();
                for (model, optim) in models.iter_mut().zip(optims.iter_mut()) {
                    let w = model.weight.val();
                    let loss = (x.clone().matmul(w.clone()) + model.bias.val().unsqueeze())
                        .tanh()
                        .square()
                        .sum()
                        + w.square().square().sum();
                    let grads = GradientsParams::from_grads(loss.backward(), &*model);
                    let lr = if step < 10 { 0.05 } else { 0.01 };
                    *model = optim.step(lr, model.clone(), grads);
                    params.push([values(model.weight.val()), values(model.bias.val())].concat());
                }
                let tol = by_dtype(dtype, 1e-12, 1e-6);
                assert_all_close(
                    &format!("FusedAdam vs Adam, step {step}, decay {decay:?} [{dtype:?}]"),
                    &params[1],
                    &params[0],
                    tol,
                    tol,
                );
            }
            let moved: f64 = values(models[1].weight.val())
                .iter()
                .zip(noise(301, 12))
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(moved > 0.05, "the parameters barely moved ({moved})");
        }
    }
}
