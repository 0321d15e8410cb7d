//! vi-blocks: variational families, Bayesian layers, MC dropout and model-wide KL collection,
//! against closed forms, quadrature, Monte Carlo moments and finite differences, on every
//! compiled backend.

use burn::module::{Module, Param, ParamId};
use burn::nn::{Linear, LinearConfig};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, FloatDType};
use vi_blocks::family::{FullRankGaussianConfig, LowRankGaussianConfig, MeanFieldGaussianConfig};
use vi_blocks::kl::{total_kl, total_regularizer};
use vi_blocks::nn::{
    BayesianLinear, BayesianLinearConfig, BayesianizeConfig, ConcreteLinear, ConcreteLinearConfig,
    LinearEstimator, McDropoutConfig, Prior, bayesianize,
};
use vi_blocks::predict::{predict_mc, predict_mc_classes, predictive_entropy};
use vi_core::distributions::Distribution;
use vi_core::gradcheck::gradcheck;
use vi_core::optim::FusedAdamConfig;
use vi_core::special::softplus_f64 as softplus;
use vi_tests::{
    assert_all_close, by_dtype, device_tests, dtypes, gradcheck_config, noise, tensor, values,
};

device_tests!(
    families_initial_scales,
    layer_kl_closed_form,
    scale_mixture_kl_against_quadrature,
    estimators_match_weight_sampling_moments,
    mc_dropout_active_at_prediction,
    nested_model_total_kl,
    gradcheck_blocks,
    save_load_round_trip,
    bayesianize_linear_model,
    predict_mc_classes_probabilities,
    concrete_dropout_learns_noise_dependent_rate,
    bnn_toy_regression,
    fused_adam_matches_burn_adam,
    lookalike_contributes_nothing,
    layers_count_once_anywhere,
    bayesianized_kl_by_hand,
    bayesianize_keeps_variational_weights,
);

#[path = "blocks/kl_by_type.rs"]
mod kl_by_type;
use kl_by_type::{
    bayesianize_keeps_variational_weights, bayesianized_kl_by_hand, layers_count_once_anywhere,
    lookalike_contributes_nothing,
};

/// A parameter wrapping a tensor as it is (a tracked input of `gradcheck` stays in the graph).
fn param<const D: usize>(t: burn::tensor::Tensor<D>) -> Param<burn::tensor::Tensor<D>> {
    Param::initialized(ParamId::new(), t)
}

/// A BayesianLinear with given parameters (row-major `[d_in, d_out]`).
fn layer(
    device: &Device,
    dtype: FloatDType,
    d: (usize, usize),
    seed: u64,
    prior: Prior,
) -> BayesianLinear {
    let (i, o) = d;
    let t = |s: u64, n: usize, scale: f64, shift: f64| {
        noise(s, n)
            .into_iter()
            .map(|v| v * scale + shift)
            .collect::<Vec<_>>()
    };
    BayesianLinear::new(
        (
            tensor(t(seed, i * o, 0.8, 0.0), [i, o], device, dtype),
            tensor(t(seed + 1, i * o, 1.0, -1.0), [i, o], device, dtype),
        ),
        Some((
            tensor(t(seed + 2, o, 0.5, 0.0), [o], device, dtype),
            tensor(t(seed + 3, o, 1.0, -1.5), [o], device, dtype),
        )),
        prior,
        BayesianLinearConfig::new(i, o).estimator,
    )
}

/// The families start at their documented scales and give distributions of the right size.
fn families_initial_scales(device: Device) {
    let n = 6;
    let mf = MeanFieldGaussianConfig::new(n)
        .with_init_scale(0.2)
        .init(&device);
    assert_all_close(
        "mean-field sd",
        &values(mf.distribution().unwrap().variance::<1>().sqrt()),
        &[0.2; 6],
        1e-5,
        0.0,
    );
    let fr = FullRankGaussianConfig::new(n)
        .with_init_scale(0.2)
        .init(&device);
    let cov = values(fr.distribution().unwrap().covariance::<3>());
    let want: Vec<f64> = (0..n * n)
        .map(|k| if k % (n + 1) == 0 { 0.04 } else { 0.0 })
        .collect();
    assert_all_close("full-rank covariance", &cov, &want, 1e-5, 1e-7);
    // Low rank: mean variance over many coordinates ≈ s², a quarter from the factor.
    let lr = LowRankGaussianConfig::new(2000, 4)
        .with_init_scale(0.2)
        .init(&device);
    let var = values(lr.distribution().unwrap().variance::<1>());
    let mean_var = var.iter().sum::<f64>() / var.len() as f64;
    assert!(
        (mean_var - 0.04).abs() < 0.002,
        "low-rank mean variance {mean_var}"
    );
}

/// `BayesianLinear::kl` equals the closed form computed on the host from its parameters.
fn layer_kl_closed_form(device: Device) {
    for dtype in dtypes(&device) {
        let (rtol, atol) = by_dtype(dtype, (1e-12, 1e-12), (1e-5, 1e-5));
        for scale in [1.0, 0.3] {
            let l = layer(&device, dtype, (5, 3), 10, Prior::Normal { scale });
            let mut want = 0.0;
            for (loc, rho) in [
                (l.weight_loc().reshape([-1]), l.weight_rho().reshape([-1])),
                (l.bias_loc().unwrap(), l.bias_rho().unwrap()),
            ] {
                for (m, r) in values(loc).into_iter().zip(values(rho)) {
                    let s = softplus(r);
                    want += (scale / s).ln() + (s * s + m * m) / (2.0 * scale * scale) - 0.5;
                }
            }
            assert_all_close(
                &format!("BayesianLinear KL, prior sd {scale} [{dtype:?}]"),
                &values(l.kl()),
                &[want],
                rtol,
                atol * want.abs(),
            );
        }
    }
}

/// The scale-mixture KL estimate is unbiased: its mean over repeats matches a quadrature of
/// `∫ q (ln q − ln p)` per weight.
fn scale_mixture_kl_against_quadrature(device: Device) {
    device.seed(3);
    let dtype = dtypes(&device)[0];
    let prior = Prior::ScaleMixture {
        weight: 0.5,
        scale1: 1.0,
        scale2: (-2.0f64).exp(),
    };
    let l = layer(&device, dtype, (3, 2), 20, prior);
    let norm =
        |x: f64, s: f64| (-0.5 * (x / s).powi(2)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt());
    let mut want = 0.0;
    for (loc, rho) in [
        (l.weight_loc().reshape([-1]), l.weight_rho().reshape([-1])),
        (l.bias_loc().unwrap(), l.bias_rho().unwrap()),
    ] {
        for (m, r) in values(loc).into_iter().zip(values(rho)) {
            let s = softplus(r);
            let (steps, lo, hi) = (4000, m - 10.0 * s, m + 10.0 * s);
            let h = (hi - lo) / steps as f64;
            for k in 0..=steps {
                let w = lo + k as f64 * h;
                let q = norm(w - m, s);
                let p = 0.5 * norm(w, 1.0) + 0.5 * norm(w, (-2.0f64).exp());
                let weight = if k == 0 || k == steps { 0.5 } else { 1.0 };
                if q > 0.0 {
                    want += weight * h * q * (q.ln() - p.ln());
                }
            }
        }
    }
    let draws: Vec<f64> = (0..400).map(|_| values(l.kl())[0]).collect();
    let mean = draws.iter().sum::<f64>() / draws.len() as f64;
    let se = (draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>()
        / (draws.len() - 1) as f64
        / draws.len() as f64)
        .sqrt();
    assert!(
        (mean - want).abs() <= 5.0 * se + 1e-3,
        "scale-mixture KL: MC mean {mean} ± {se} vs quadrature {want}"
    );
}

/// All three stochastic estimators give outputs with mean `xμ + μ_b` and variance
/// `Σᵢ xᵢ² σᵢⱼ² + σ_bⱼ²` (the weight-sampling marginal), checked within 5 standard errors; the
/// mean estimator gives the mean exactly.
fn estimators_match_weight_sampling_moments(device: Device) {
    device.seed(5);
    let dtype = dtypes(&device)[0];
    let (i, o) = (4, 3);
    let base = layer(&device, dtype, (i, o), 30, Prior::Normal { scale: 1.0 });
    let x_row = vec![0.7, -1.2, 0.3, 2.0];
    let mu = values(base.weight_loc());
    let sigma: Vec<f64> = values(base.weight_rho())
        .into_iter()
        .map(softplus)
        .collect();
    let b_mu = values(base.bias_loc().unwrap());
    let b_sigma: Vec<f64> = values(base.bias_rho().unwrap())
        .into_iter()
        .map(softplus)
        .collect();
    let mean: Vec<f64> = (0..o)
        .map(|j| (0..i).map(|k| x_row[k] * mu[k * o + j]).sum::<f64>() + b_mu[j])
        .collect();
    let var: Vec<f64> = (0..o)
        .map(|j| {
            (0..i)
                .map(|k| (x_row[k] * sigma[k * o + j]).powi(2))
                .sum::<f64>()
                + b_sigma[j].powi(2)
        })
        .collect();
    let s = 3000;
    for estimator in [
        LinearEstimator::WeightSampling,
        LinearEstimator::LocalReparameterization,
        LinearEstimator::Flipout,
    ] {
        let l = layer(&device, dtype, (i, o), 30, Prior::Normal { scale: 1.0 })
            .with_estimator(estimator);
        let ys: Vec<f64> = if estimator != LinearEstimator::LocalReparameterization {
            // Weight sampling and flipout share one weight (and bias) sample per pass, so the
            // marginal of one example is checked over independent passes.
            (0..s)
                .flat_map(|_| values(l.forward(tensor(x_row.clone(), [1, i], &device, dtype))))
                .collect()
        } else {
            // Local reparameterization samples each example independently: one pass over s copies.
            let x = tensor(x_row.repeat(s), [s, i], &device, dtype);
            values(l.forward(x))
        };
        for j in 0..o {
            let col: Vec<f64> = (0..s).map(|r| ys[r * o + j]).collect();
            let m = col.iter().sum::<f64>() / s as f64;
            let v = col.iter().map(|y| (y - m).powi(2)).sum::<f64>() / (s - 1) as f64;
            let se_mean = (var[j] / s as f64).sqrt();
            let se_var = var[j] * (2.0 / (s - 1) as f64).sqrt();
            assert!(
                (m - mean[j]).abs() <= 5.0 * se_mean,
                "{estimator:?} output {j}: mean {m} vs {}",
                mean[j]
            );
            assert!(
                (v - var[j]).abs() <= 5.0 * se_var,
                "{estimator:?} output {j}: variance {v} vs {}",
                var[j]
            );
        }
    }
    let l = base.with_estimator(LinearEstimator::Mean);
    let got = values(l.forward(tensor(x_row.clone(), [1, i], &device, dtype)));
    assert_all_close("posterior-mean output", &got, &mean, 1e-5, 1e-6);
}

/// McDropout is stochastic on a device without autodiff (prediction), zeroes about `p` of the
/// entries and keeps the mean.
fn mc_dropout_active_at_prediction(device: Device) {
    device.seed(9);
    let dtype = dtypes(&device)[0];
    let dropout = McDropoutConfig::new(0.3).init();
    let x = tensor(vec![1.0; 20_000], [1, 20_000], &device, dtype);
    let (a, b) = (
        values(dropout.forward(x.clone())),
        values(dropout.forward(x)),
    );
    assert_ne!(a, b, "two prediction passes must differ");
    let zeros = a.iter().filter(|v| **v == 0.0).count() as f64 / a.len() as f64;
    let se = (0.3f64 * 0.7 / a.len() as f64).sqrt();
    assert!((zeros - 0.3).abs() < 5.0 * se, "dropped fraction {zeros}");
    let mean = a.iter().sum::<f64>() / a.len() as f64;
    assert!(
        (mean - 1.0).abs() < 5.0 * (0.3f64 / 0.7 / a.len() as f64).sqrt(),
        "mean {mean}"
    );
    assert!(a.iter().all(|v| *v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-5));
}

#[derive(Module, Debug)]
struct Inner {
    hidden: BayesianLinear,
    plain: Linear,
}

#[derive(Module, Debug)]
struct Outer {
    inner: Inner,
    heads: Vec<BayesianLinear>,
    extra: Option<BayesianLinear>,
    encoder: Linear,
}

/// A user's model nesting Bayesian layers in a struct, a Vec and an Option, next to ordinary
/// Linear layers: `total_kl` equals the sum of the layers' KLs written by hand.
fn nested_model_total_kl(device: Device) {
    let dtype = dtypes(&device)[0];
    let model = Outer {
        inner: Inner {
            hidden: layer(&device, dtype, (3, 4), 40, Prior::Normal { scale: 1.0 }),
            plain: LinearConfig::new(4, 4).init(&device),
        },
        heads: vec![
            layer(&device, dtype, (4, 2), 50, Prior::Normal { scale: 0.5 }),
            layer(&device, dtype, (4, 1), 60, Prior::Normal { scale: 2.0 }),
        ],
        extra: Some(layer(
            &device,
            dtype,
            (2, 2),
            70,
            Prior::Normal { scale: 1.0 },
        )),
        encoder: LinearConfig::new(3, 3).init(&device),
    };
    let by_hand = model.inner.hidden.kl()
        + model.heads[0].kl()
        + model.heads[1].kl()
        + model.extra.as_ref().unwrap().kl();
    let tol = by_dtype(dtype, 1e-12, 1e-5);
    let want = values(by_hand);
    assert_all_close(
        "total_kl",
        &values(total_kl(&model).unwrap()),
        &want,
        tol,
        0.0,
    );
    assert!(
        total_kl(&model.encoder).is_none(),
        "a plain Linear has no KL"
    );
}

/// Finite differences through the layer (mean output and KL) and the families' densities.
fn gradcheck_blocks(device: Device) {
    let ad = device.autodiff();
    let config = gradcheck_config(&ad);
    let dtype = config.dtype;
    let (i, o) = (3, 2);
    let x = tensor(noise(80, 4 * i), [4, i], &ad, dtype);
    let report = gradcheck(
        |v| {
            let base = layer(&ad, dtype, (i, o), 90, Prior::Normal { scale: 0.7 });
            let l = BayesianLinear::from_params(
                (param(v[0].clone()), param(v[1].clone())),
                Some((
                    param(base.bias_loc().unwrap()),
                    param(base.bias_rho().unwrap()),
                )),
                base.prior(),
                LinearEstimator::Mean,
            );
            (l.forward(v[2].clone()).sum() + l.kl()).reshape([1])
        },
        &[
            tensor(noise(91, i * o), [i, o], &ad, dtype),
            tensor(noise(92, i * o), [i, o], &ad, dtype),
            x,
        ],
        &config,
    );
    assert!(report.passed(), "BayesianLinear:\n{report}");
    let n = 3;
    let point = tensor(noise(93, 2 * n), [2, n], &ad, dtype);
    let report = gradcheck(
        |v| {
            let mut mf = MeanFieldGaussianConfig::new(n).init(&ad);
            mf.loc = param(v[0].clone().reshape([n]));
            mf.rho = param(v[1].clone().reshape([n]));
            let mut fr = FullRankGaussianConfig::new(n).init(&ad);
            fr.loc = param(v[0].clone().reshape([1, n]));
            fr.scale_raw = param(v[2].clone().reshape([1, n, n]));
            let mut lr = LowRankGaussianConfig::new(n, 2).init(&ad);
            lr.loc = param(v[0].clone().reshape([n]));
            lr.rho = param(v[1].clone().reshape([n]));
            lr.factor = param(tensor(noise(97, n * 2), [n, 2], &ad, dtype)); // fixed, not random
            let (mf, fr, lr) = (
                mf.distribution().unwrap(),
                fr.distribution().unwrap(),
                lr.distribution().unwrap(),
            );
            mf.log_prob::<2, 1>(v[3].clone()).unwrap().sum()
                + fr.log_prob::<2, 1>(v[3].clone()).unwrap().sum()
                + lr.log_prob::<2, 1>(v[3].clone()).unwrap().sum()
                + fr.entropy::<1>()
        },
        &[
            tensor(noise(94, n), [1, n], &ad, dtype),
            tensor(noise(95, n), [1, n], &ad, dtype),
            tensor(noise(96, n * n), [n, n], &ad, dtype),
            point,
        ],
        &config,
    );
    assert!(report.passed(), "families:\n{report}");
}

/// Saving with Burn's recorder and loading into a freshly initialised model restores every
/// parameter bit for bit (so the same seed gives the same predictions) and the posterior-mean
/// predictions.
fn save_load_round_trip(device: Device) {
    let dtype = FloatDType::F32;
    let model = Outer {
        inner: Inner {
            hidden: layer(&device, dtype, (3, 4), 100, Prior::Normal { scale: 1.0 }),
            plain: LinearConfig::new(4, 4).init(&device),
        },
        heads: vec![layer(
            &device,
            dtype,
            (4, 2),
            110,
            Prior::Normal { scale: 0.5 },
        )],
        extra: None,
        encoder: LinearConfig::new(3, 3).init(&device),
    };
    let x = tensor(noise(120, 6), [2, 3], &device, dtype);
    let predict = |m: &Outer| {
        let h = m
            .inner
            .hidden
            .clone()
            .with_estimator(LinearEstimator::Mean)
            .forward(m.encoder.forward(x.clone()));
        let h = m.inner.plain.forward(h);
        values(
            m.heads[0]
                .clone()
                .with_estimator(LinearEstimator::Mean)
                .forward(h),
        )
    };
    let before = predict(&model);
    let kl_before = values(total_kl(&model).unwrap());
    let dir = std::env::temp_dir().join(format!(
        "vi-blocks-roundtrip-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.bpk");
    model.clone().save_file(&path).unwrap();
    let fresh = Outer {
        inner: Inner {
            hidden: BayesianLinearConfig::new(3, 4).init(&device),
            plain: LinearConfig::new(4, 4).init(&device),
        },
        heads: vec![
            BayesianLinearConfig::new(4, 2)
                .with_prior(Prior::Normal { scale: 0.5 })
                .init(&device),
        ],
        extra: None,
        encoder: LinearConfig::new(3, 3).init(&device),
    };
    assert_ne!(
        predict(&fresh),
        before,
        "a fresh model differs before loading"
    );
    let loaded = fresh.load_file(&path);
    assert_eq!(
        values(loaded.inner.hidden.weight_rho()),
        values(model.inner.hidden.weight_rho())
    );
    assert_eq!(
        values(loaded.heads[0].weight_loc()),
        values(model.heads[0].weight_loc())
    );
    assert_eq!(
        predict(&loaded),
        before,
        "posterior-mean predictions after loading"
    );
    assert_eq!(
        values(total_kl(&loaded).unwrap()),
        kl_before,
        "KL after loading"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// An ordinary `burn::nn::Linear` made Bayesian with MOPED (σ = δ|w|): its outputs over
/// `predict_mc` passes have the weight-sampling mean `xW + b` (the trained weights are the
/// posterior means) and variance `Σᵢ xᵢ² σᵢⱼ² + σ_bⱼ²`; `total_kl` finds the reparameterized
/// weights and equals the closed form.
fn bayesianize_linear_model(device: Device) {
    device.seed(13);
    let trained = LinearConfig::new(3, 2).init(&device);
    let (w, b) = (
        values(trained.weight.val()),
        values(trained.bias.as_ref().unwrap().val()),
    );
    let bnn = bayesianize(
        trained,
        &BayesianizeConfig::new().with_moped_delta(Some(0.1)),
    );
    let x_row = [0.5, -1.0, 2.0];
    let x = tensor(x_row.to_vec(), [1, 3], &device, FloatDType::F32);
    let passes = 2000;
    let p = predict_mc(|| bnn.forward(x.clone()), passes, true);
    assert_eq!(p.samples.as_ref().map(|s| s.dims()), Some([passes, 1, 2]));
    let (mean, var) = (values(p.mean), values(p.variance));
    let sd = |v: f64| (0.1 * v.abs()).max(1e-6);
    for j in 0..2 {
        let want_mean = (0..3).map(|i| x_row[i] * w[i * 2 + j]).sum::<f64>() + b[j];
        let want_var = (0..3)
            .map(|i| (x_row[i] * sd(w[i * 2 + j])).powi(2))
            .sum::<f64>()
            + sd(b[j]).powi(2);
        let se_mean = (want_var / passes as f64).sqrt();
        assert!(
            (mean[j] - want_mean).abs() <= 5.0 * se_mean + 1e-5,
            "output {j}: mean {} vs {want_mean}",
            mean[j]
        );
        assert!(
            (var[j] - want_var).abs() <= 5.0 * want_var * (2.0 / passes as f64).sqrt(),
            "output {j}: variance {} vs {want_var}",
            var[j]
        );
    }
    let want_kl: f64 = w
        .iter()
        .chain(&b)
        .map(|&m| {
            let s = sd(m);
            -s.ln() + (s * s + m * m) / 2.0 - 0.5
        })
        .sum();
    let got = values(total_kl(&bnn).unwrap())[0];
    assert!(
        (got - want_kl).abs() <= 1e-4 * want_kl.abs(),
        "bayesianized KL {got} vs {want_kl}"
    );
    // `include` restricts the parameters made Bayesian.
    let only_weight = bayesianize(
        LinearConfig::new(3, 2).init(&device),
        &BayesianizeConfig::new().with_include(vec!["weight".into()]),
    );
    let got = values(predict_mc(|| only_weight.forward(x.clone()), 50, false).variance);
    assert!(got.iter().all(|v| *v > 0.0), "weights are stochastic");
}

/// `predict_mc_classes` averages softmax probabilities (rows sum to 1) and their entropy matches
/// the host formula; deterministic logits give zero variance.
fn predict_mc_classes_probabilities(device: Device) {
    device.seed(17);
    let dtype = dtypes(&device)[0];
    let dropout = McDropoutConfig::new(0.5).init();
    let logits = tensor(
        noise(130, 12).into_iter().map(|v| 3.0 * v).collect(),
        [3, 4],
        &device,
        dtype,
    );
    let p = predict_mc_classes(|| dropout.forward(logits.clone()), 200, false);
    let probs = values(p.mean.clone());
    for r in 0..3 {
        let sum: f64 = probs[r * 4..(r + 1) * 4].iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "row {r} sums to {sum}");
    }
    assert!(
        values(p.variance).iter().any(|v| *v > 1e-4),
        "dropout makes the probabilities vary"
    );
    let entropy = values(predictive_entropy(&p.mean));
    for r in 0..3 {
        let want: f64 = -probs[r * 4..(r + 1) * 4]
            .iter()
            .map(|q| q * q.ln())
            .sum::<f64>();
        assert!(
            (entropy[r] - want).abs() < 1e-4,
            "entropy row {r}: {} vs {want}",
            entropy[r]
        );
    }
    let fixed = predict_mc_classes(|| logits.clone(), 3, false);
    assert!(values(fixed.variance).iter().all(|v| v.abs() < 1e-12));
}

/// `ln √(2π)`.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// A 1-D toy set: `x` pseudo-uniform on [−1, 1], `y = sin(3x) + noise·ε` (fixed seeds).
fn toy(seed: u64, n: usize, noise_sd: f64) -> (Vec<f64>, Vec<f64>) {
    let x = vi_tests::noise(seed, n);
    let e = vi_tests::noise(seed + 1, 2 * n);
    // Box–Muller from two uniforms in (0, 1).
    let y = x
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let (a, b) = ((e[2 * i] + 1.0) / 2.0 + 1e-12, (e[2 * i + 1] + 1.0) / 2.0);
            let z = (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos();
            (3.0 * x).sin() + noise_sd * z
        })
        .collect();
    (x, y)
}

#[derive(Module, Debug)]
struct ConcreteNet {
    hidden: Linear,
    out: ConcreteLinear,
    log_noise: Param<burn::tensor::Tensor<1>>,
}

/// Concrete dropout with a learned noise level (Gal et al. 2017, homoscedastic): on noisy data
/// the likelihood term is down-weighted by the learned noise and the entropy regulariser keeps the
/// dropout rate high; on noiseless data the fit pushes it down. With 512 points the data term
/// outweighs the regulariser: over 60 seeds the noiseless rate ended at most 0.05 (0.001 after 300
/// steps) and the noisy one at least 0.28. (With 128 points the noiseless fit has a second, stuck
/// equilibrium near p = 0.33 that one seed in twelve reached.)
fn concrete_dropout_learns_noise_dependent_rate(device: Device) {
    device.seed(21);
    let ad = device.autodiff();
    let n = 512;
    let steps = if vi_tests::is_wgpu(&ad) { 150 } else { 300 };
    let rate = |noise_sd: f64| -> f64 {
        let (x, y) = toy(200, n, noise_sd);
        let x = tensor(x, [n, 1], &ad, FloatDType::F32);
        let y = tensor(y, [n, 1], &ad, FloatDType::F32);
        let mut model = ConcreteNet {
            hidden: LinearConfig::new(1, 32).init(&ad),
            out: ConcreteLinearConfig::new(32, 1, 1e-4 / n as f64, 2.0 / n as f64)
                .with_init_prob(0.2)
                .init(&ad),
            log_noise: Param::from_tensor(burn::tensor::Tensor::zeros([1], &ad)),
        };
        let mut optim = AdamConfig::new().init();
        for _ in 0..steps {
            let h = burn::tensor::activation::relu(model.hidden.forward(x.clone()));
            let f = model.out.forward(h);
            let log_noise = model.log_noise.val().unsqueeze::<2>();
            let nll = ((y.clone() - f).square() / log_noise.clone().mul_scalar(2.0).exp())
                .mul_scalar(0.5)
                + log_noise;
            let loss = nll.mean() + total_regularizer(&model).unwrap();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(2e-2, model, grads);
        }
        values(model.out.dropout_probability())[0]
    };
    let (clean, noisy) = (rate(0.0), rate(1.0));
    assert!(
        clean < noisy,
        "learned dropout rate: noiseless {clean} should be below noisy {noisy}"
    );
    assert!(
        clean < 0.2,
        "noiseless data lowers the rate from 0.2: {clean}"
    );
}

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
