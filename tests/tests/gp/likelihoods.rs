//! The likelihoods against independent references (quadrature, statrs, closed forms, Monte Carlo).

use crate::common::param;
use burn::tensor::{Device, FloatDType, Int, Tensor};
use statrs::distribution::{ContinuousCDF, Discrete, Normal as StatNormal, Poisson};
use vi_blocks::gp::GaussianMarginals;
use vi_blocks::gp::likelihood::{
    BernoulliLikelihoodConfig, GaussHermite, GaussianLikelihood, Likelihood, Link,
    PoissonLikelihood, SoftmaxLikelihoodConfig,
};
use vi_tests::{assert_all_close, by_dtype, device_tests, dtypes, noise, tensor, values};

device_tests!(likelihoods,);

/// The likelihoods against independent references: Gauss–Hermite against normal moments,
/// `ln Φ` against statrs in both tails, the probit predictive against the closed form, the
/// probit/logit expected log-likelihood against a fine host quadrature and against Monte Carlo,
/// Poisson against its closed form via quadrature and statrs, softmax against the exact value at
/// zero variance and against host Monte Carlo.
fn likelihoods(device: Device) {
    let dtype = dtypes(&device)[0];
    let (rtol, atol) = by_dtype(dtype, (1e-9, 1e-10), (1e-4, 1e-5));
    gauss_hermite_moments(&device, dtype);
    two_output_gaussian(&device, dtype, rtol, atol);
    log_normal_cdf(&device, dtype);
    probit_and_logit(&device, dtype, rtol, atol);
    poisson(&device, dtype);
    softmax(&device, dtype, rtol, atol);
}

/// Gauss–Hermite: E[f^k] for f ~ N(μ, σ²), k ≤ 6, which 20 nodes integrate exactly (degree
/// ≤ 39): only rounding separates the rule from the closed-form moments.
fn gauss_hermite_moments(device: &Device, dtype: FloatDType) {
    let device = device.clone();
    let gh = GaussHermite::new(20);
    let (mu, sd) = (0.7, 1.3);
    let f = GaussianMarginals {
        mean: tensor(vec![mu], [1, 1], &device, dtype),
        variance: tensor(vec![sd * sd], [1, 1], &device, dtype),
    };
    let (s2, s4, s6) = (sd * sd, sd.powi(4), sd.powi(6));
    let moments = [
        1.0,
        mu,
        mu * mu + s2,
        mu.powi(3) + 3.0 * mu * s2,
        mu.powi(4) + 6.0 * mu * mu * s2 + 3.0 * s4,
        mu.powi(5) + 10.0 * mu.powi(3) * s2 + 15.0 * mu * s4,
        mu.powi(6) + 15.0 * mu.powi(4) * s2 + 45.0 * mu * mu * s4 + 15.0 * s6,
    ];
    // E[f⁶] sums terms up to |f|⁶ ≈ 10⁵ at the outer nodes, weighted ≈ 10⁻²⁰: rounding of the
    // nodes and weights is the whole error.
    let rtol = by_dtype(dtype, 1e-12, 1e-5);
    for (k, want) in moments.iter().enumerate() {
        let got = values(gh.expectation(&f, |t| t.powi_scalar(k as i32)))[0];
        assert!(
            (got - want).abs() <= rtol * want.abs().max(1.0),
            "GH moment {k}: {got} vs {want}"
        );
    }
}

/// Two outputs with their own noise: the fused Gaussian sum against the closed form by hand
/// (`Σ −½ (ln 2πσ²_p + ((y − μ)² + v) / σ²_p)`) and against the per-row sum's gradients.
fn two_output_gaussian(device: &Device, dtype: FloatDType, rtol: f64, atol: f64) {
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
}

/// `ln Φ` against statrs in both tails.
fn log_normal_cdf(device: &Device, dtype: FloatDType) {
    let device = device.clone();
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
}

/// Means, variances and binary labels of the probit, logit and Poisson checks.
const MEANS: [f64; 5] = [-2.0, -0.3, 0.0, 0.8, 2.5];
const VARS: [f64; 5] = [0.1, 1.0, 2.0, 0.5, 4.0];
const YS: [f64; 5] = [1.0, 0.0, 1.0, 1.0, 0.0];

/// `q(f)` of means [`MEANS`] and variances [`VARS`], one output.
fn marginals(device: &Device, dtype: FloatDType) -> GaussianMarginals {
    let n = MEANS.len();
    GaussianMarginals {
        mean: tensor(MEANS.to_vec(), [n, 1], device, dtype),
        variance: tensor(VARS.to_vec(), [n, 1], device, dtype),
    }
}

/// `E[link(±f)]` under `q(f)` of [`marginals`] for the labels [`YS`] (the sign by label), by the
/// midpoint rule on ±10σ with 20 000 cells.
fn host_ell(link: &dyn Fn(f64) -> f64) -> Vec<f64> {
    let (means, vars, ys) = (MEANS, VARS, YS);
    let n = means.len();
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
}

/// The probit predictive against the closed form, the probit/logit expected log-likelihood
/// against a fine host quadrature and against Monte Carlo, the probit log predictive density.
fn probit_and_logit(device: &Device, dtype: FloatDType, rtol: f64, atol: f64) {
    let device = device.clone();
    let std_normal = StatNormal::new(0.0, 1.0).unwrap();
    let (means, vars, ys) = (MEANS.to_vec(), VARS.to_vec(), YS.to_vec());
    let n = means.len();
    let f = marginals(&device, dtype);
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
}

/// Poisson against its closed forms (`E[y f − e^f] − ln y! = y μ − e^{μ + v/2} − ln y!`, the
/// log-normal mean and variance of the rate) with statrs' `ln Γ`, and at zero variance against
/// statrs' Poisson.
fn poisson(device: &Device, dtype: FloatDType) {
    let device = device.clone();
    let (means, vars) = (MEANS.to_vec(), VARS.to_vec());
    let n = means.len();
    let f = marginals(&device, dtype);
    let counts = vec![0.0, 1.0, 3.0, 7.0, 2.0];
    let yc = tensor(counts.clone(), [n, 1], &device, dtype);
    let poisson = PoissonLikelihood::new();
    // f64 rounding only; in f32 the rate's exponential and ln Γ are good to a few ulp.
    let rtol = by_dtype(dtype, 1e-12, 1e-5);
    let ell = values(poisson.expected_log_likelihood(&f, yc.clone()));
    for i in 0..n {
        let want = counts[i] * means[i]
            - (means[i] + vars[i] / 2.0).exp()
            - statrs::function::gamma::ln_gamma(counts[i] + 1.0);
        assert!(
            (ell[i] - want).abs() <= rtol * want.abs().max(1.0),
            "poisson ELL {i}: {} vs {want}",
            ell[i]
        );
    }
    let pred = poisson.predictive(&f);
    let (mean, variance) = (values(pred.mean), values(pred.variance));
    for i in 0..n {
        let want = (means[i] + vars[i] / 2.0).exp();
        let want_var = want + (vars[i].exp() - 1.0) * want * want;
        assert!(
            (mean[i] - want).abs() <= rtol * want,
            "poisson mean {i}: {} vs {want}",
            mean[i]
        );
        assert!(
            (variance[i] - want_var).abs() <= rtol * want_var,
            "poisson variance {i}: {} vs {want_var}",
            variance[i]
        );
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
            (lpd0[i] - want).abs() <= rtol * want.abs().max(1.0),
            "poisson lpd {i}: {} vs {want}",
            lpd0[i]
        );
    }
}

/// Softmax: zero variance is exact; otherwise compare to a host MC with a s.e. tolerance.
fn softmax(device: &Device, dtype: FloatDType, rtol: f64, atol: f64) {
    let device = device.clone();
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
