//! `BayesianLinear`: KL closed forms and estimates, the estimators' moments, finite differences.

use crate::common::{layer, param};
use burn::tensor::Device;
use vi_blocks::family::{FullRankGaussianConfig, LowRankGaussianConfig, MeanFieldGaussianConfig};
use vi_blocks::nn::{BayesianLinear, LinearEstimator, Prior};
use vi_core::distributions::Distribution;
use vi_core::gradcheck::gradcheck;
use vi_core::special::softplus_f64 as softplus;
use vi_tests::{
    assert_all_close, by_dtype, device_tests, dtypes, gradcheck_config, noise, tensor, values,
};

device_tests!(
    layer_kl_closed_form,
    scale_mixture_kl_against_quadrature,
    estimators_match_weight_sampling_moments,
    gradcheck_blocks,
);

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
    let (rtol, atol) = by_dtype(dtype, (1e-12, 1e-12), (1e-5, 1e-6));
    assert_all_close("posterior-mean output", &got, &mean, rtol, atol);
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
            lr.loc = param(v[0].clone().reshape([1, n]));
            lr.rho = param(v[1].clone().reshape([1, n]));
            lr.factor = param(tensor(noise(97, n * 2), [1, n, 2], &ad, dtype)); // fixed, not random
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
