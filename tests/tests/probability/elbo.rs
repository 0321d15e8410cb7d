//! ELBO estimators on a conjugate model with a closed-form posterior, and the gradient variance
//! of sticking the landing.

use crate::common::{HALF_LN_2PI, assert_within_se, mean_se};
use burn::tensor::{Device, FloatDType, Tensor};
use vi_core::distributions::{Delta, Distribution, MultivariateNormal, Normal, Reparameterized};
use vi_core::elbo::{Elbo, ElboError, Estimator};
use vi_core::gradient_variance::{ParameterGroup, gradient_variance};
use vi_core::kl::KlDivergence;
use vi_tests::{assert_all_close, by_dtype, device_tests, dtypes, tensor, values};

device_tests!(elbo_estimators_agree, sticking_the_landing,);

/// A conjugate linear-Gaussian model with a closed-form posterior and evidence: ω ~ N(0, I₂),
/// yᵢ | ω ~ N(aᵢᵀω, σ²).
struct Conjugate {
    a: Vec<[f64; 2]>,
    y: Vec<f64>,
    noise_var: f64,
}

impl Conjugate {
    fn new() -> Self {
        let a: Vec<[f64; 2]> = (0..6)
            .map(|i| {
                let t = i as f64 / 5.0;
                [1.0, 2.0 * t - 1.0]
            })
            .collect();
        let y = vec![0.3, -0.1, 0.8, 1.1, 0.6, 1.9];
        Self {
            a,
            y,
            noise_var: 0.5,
        }
    }

    /// Posterior mean and covariance (2×2, row-major).
    fn posterior(&self) -> ([f64; 2], [f64; 4]) {
        let mut prec = [1.0, 0.0, 0.0, 1.0];
        let mut rhs = [0.0; 2];
        for (a, y) in self.a.iter().zip(&self.y) {
            for i in 0..2 {
                rhs[i] += a[i] * y / self.noise_var;
                for j in 0..2 {
                    prec[i * 2 + j] += a[i] * a[j] / self.noise_var;
                }
            }
        }
        let det = prec[0] * prec[3] - prec[1] * prec[2];
        let cov = [prec[3] / det, -prec[1] / det, -prec[2] / det, prec[0] / det];
        let mean = [
            cov[0] * rhs[0] + cov[1] * rhs[1],
            cov[2] * rhs[0] + cov[3] * rhs[1],
        ];
        (mean, cov)
    }

    /// `ln p(y)`: y ~ N(0, A Aᵀ + σ² I).
    fn log_evidence(&self) -> f64 {
        let n = self.y.len();
        let mut k = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                k[i * n + j] = self.a[i][0] * self.a[j][0]
                    + self.a[i][1] * self.a[j][1]
                    + if i == j { self.noise_var } else { 0.0 };
            }
        }
        // Cholesky on the host.
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let s: f64 =
                    k[i * n + j] - (0..j).map(|m| l[i * n + m] * l[j * n + m]).sum::<f64>();
                l[i * n + j] = if i == j { s.sqrt() } else { s / l[j * n + j] };
            }
        }
        let mut z = vec![0.0; n];
        for i in 0..n {
            z[i] = (self.y[i] - (0..i).map(|m| l[i * n + m] * z[m]).sum::<f64>()) / l[i * n + i];
        }
        -0.5 * z.iter().map(|v| v * v).sum::<f64>()
            - (0..n).map(|i| l[i * n + i].ln()).sum::<f64>()
            - n as f64 * HALF_LN_2PI
    }

    /// `ln p(y | ω_t)` for particles `[T, 2]`, shape `[T]`.
    fn log_likelihood(&self, omega: Tensor<2>) -> Tensor<1> {
        let device = omega.device();
        let dtype = FloatDType::from(omega.dtype());
        let n = self.y.len();
        let a = tensor(
            self.a.iter().flatten().copied().collect(),
            [n, 2],
            &device,
            dtype,
        );
        let y = tensor(self.y.clone(), [1, n], &device, dtype);
        let mean = omega.matmul(a.transpose()); // [T, n]
        let sq = (y - mean).square().div_scalar(2.0 * self.noise_var);
        (sq.neg() - (0.5 * self.noise_var.ln() + HALF_LN_2PI))
            .sum_dim(1)
            .squeeze_dim(1)
    }
}

/// On the conjugate model: all estimators agree in expectation at the exact posterior (ELBO =
/// ln p(y) exactly, every particle), IWAE ≥ ELBO and tends to ln p(y) away from it, and a `Delta`
/// posterior gives the log joint (MAP).
fn elbo_estimators_agree(device: Device) {
    device.seed(7);
    let dtype = dtypes(&device)[0];
    let tol = by_dtype(dtype, 1e-9, 2e-3);
    let model = Conjugate::new();
    at_the_posterior(&device, dtype, tol, &model);
    away_from_the_posterior(&device, dtype, tol, &model);
    broadcast_prior(&device, dtype, tol);
    map_posterior(&device, dtype, tol, &model);
    terms_and_guards(&device, dtype, tol);
}

/// `N(0, I₂)` as one event.
fn standard_prior(device: &Device, dtype: FloatDType) -> Normal {
    Normal::new(
        Tensor::<1>::zeros([2], (device, dtype.into())),
        Tensor::<1>::ones([2], (device, dtype.into())),
    )
    .unwrap()
    .to_event(1)
    .unwrap()
}

/// At the exact posterior every estimator gives ln p(y): exactly for every particle, or in
/// expectation for the analytic-KL ELBO.
fn at_the_posterior(device: &Device, dtype: FloatDType, tol: f64, model: &Conjugate) {
    let device = device.clone();
    let (mean, cov) = model.posterior();
    let evidence = model.log_evidence();
    let prior = standard_prior(&device, dtype);
    let posterior = MultivariateNormal::from_covariance(
        tensor(mean.to_vec(), [2], &device, dtype),
        tensor(cov.to_vec(), [2, 2], &device, dtype),
    )
    .unwrap();
    for estimator in [
        Estimator::AnalyticKl,
        Estimator::MonteCarloKl,
        Estimator::StickingTheLanding,
        Estimator::Iwae,
    ] {
        let elbo = Elbo::new(model.y.len())
            .with_num_particles(16)
            .with_estimator(estimator);
        let terms = elbo
            .estimate(&posterior, &prior, |w| model.log_likelihood(w))
            .unwrap();
        let value = values(terms.elbo)[0];
        if estimator == Estimator::AnalyticKl {
            // The ELL is stochastic even at the optimum; only ELL − KL is exact in expectation.
            let mut draws = Vec::new();
            for _ in 0..200 {
                draws.push(
                    values(
                        elbo.estimate(&posterior, &prior, |w| model.log_likelihood(w))
                            .unwrap()
                            .elbo,
                    )[0],
                );
            }
            assert_within_se("analytic-KL ELBO at the posterior", &draws, evidence, tol);
        } else {
            // ln p(y|ω) + ln p(ω) − ln q(ω) = ln p(y) for every ω when q is the posterior.
            assert!(
                (value - evidence).abs() < tol * 10.0,
                "{estimator:?}: {value} vs ln p(y) = {evidence}"
            );
        }
    }
}

/// Away from the posterior: IWAE(T) ≥ ELBO on average, both ≤ ln p(y), IWAE(256) close to it.
fn away_from_the_posterior(device: &Device, dtype: FloatDType, tol: f64, model: &Conjugate) {
    let device = device.clone();
    let evidence = model.log_evidence();
    let prior = standard_prior(&device, dtype);
    let q = MultivariateNormal::new(
        tensor(vec![0.0, 0.5], [2], &device, dtype),
        tensor(vec![0.5, 0.0, 0.1, 0.4], [2, 2], &device, dtype),
    )
    .unwrap();
    let run = |estimator, particles| {
        let elbo = Elbo::new(model.y.len())
            .with_num_particles(particles)
            .with_estimator(estimator);
        (0..100)
            .map(|_| {
                values(
                    elbo.estimate(&q, &prior, |w| model.log_likelihood(w))
                        .unwrap()
                        .elbo,
                )[0]
            })
            .collect::<Vec<_>>()
    };
    let (plain, plain_se) = mean_se(&run(Estimator::AnalyticKl, 1));
    let (iwae, iwae_se) = mean_se(&run(Estimator::Iwae, 64));
    assert!(
        plain < evidence && iwae <= evidence + 5.0 * iwae_se,
        "bounds: ELBO {plain}, IWAE {iwae}, ln p(y) {evidence}"
    );
    assert!(
        iwae > plain + 5.0 * (plain_se + iwae_se),
        "IWAE(64) {iwae} is not tighter than the ELBO {plain}"
    );
    // Analytic and Monte Carlo KL estimate the same ELBO.
    assert_within_se(
        "MC-KL ELBO",
        &run(Estimator::MonteCarloKl, 4),
        plain,
        5.0 * plain_se + tol,
    );
}

/// A prior with a smaller batch than the posterior broadcasts: its joint log density is one
/// value per particle, and the Monte Carlo KL estimates the closed form.
fn broadcast_prior(device: &Device, dtype: FloatDType, tol: f64) {
    let device = device.clone();
    let q = Normal::new(
        tensor(vec![0.1, 0.2, 0.3], [3], &device, dtype),
        tensor(vec![0.5, 0.6, 0.7], [3], &device, dtype),
    )
    .unwrap();
    let scalar_prior = Normal::new(
        tensor(vec![0.0], [1], &device, dtype),
        tensor(vec![1.0], [1], &device, dtype),
    )
    .unwrap();
    let z: Tensor<2> = q.rsample(5);
    let zs = values(z.clone());
    let want: Vec<f64> = (0..5)
        .map(|t| {
            (0..3)
                .map(|i| -0.5 * zs[t * 3 + i].powi(2) - HALF_LN_2PI)
                .sum()
        })
        .collect();
    assert_all_close(
        "broadcast prior log_prob_joint",
        &values(scalar_prior.log_prob_joint(z).unwrap()),
        &want,
        1e-5,
        1e-5,
    );
    let elbo = Elbo::new(1)
        .with_num_particles(64)
        .with_estimator(Estimator::MonteCarloKl);
    let kl_draws: Vec<f64> = (0..50)
        .map(|_| {
            let terms = elbo
                .estimate_sampled(&q, &scalar_prior, |w: Tensor<2>| {
                    w.sum_dim(1).squeeze_dim::<1>(1).mul_scalar(0.0)
                })
                .unwrap();
            values(terms.kl)[0]
        })
        .collect();
    let closed = values(q.kl_sum(&scalar_prior).unwrap())[0];
    assert_within_se("MC KL with a broadcast prior", &kl_draws, closed, tol);
}

/// MAP: a Delta posterior's ELBO is ln p(y | v) + ln p(v).
fn map_posterior(device: &Device, dtype: FloatDType, tol: f64, model: &Conjugate) {
    let device = device.clone();
    let prior = standard_prior(&device, dtype);
    let v = tensor(vec![0.2, 0.4], [2], &device, dtype);
    let map = Delta::new(v.clone()).to_event(1).unwrap();
    let elbo = Elbo::new(model.y.len()).with_estimator(Estimator::MonteCarloKl);
    let got = values(
        elbo.estimate_sampled(&map, &prior, |w| model.log_likelihood(w))
            .unwrap()
            .elbo,
    )[0];
    let joint = values(model.log_likelihood(v.clone().reshape([1, 2])))[0]
        + values(prior.log_prob::<1, 1>(v).unwrap())[0];
    assert!(
        (got - joint).abs() < tol,
        "MAP ELBO {got} vs log joint {joint}"
    );
    assert!(matches!(
        Elbo::new(6).estimate_sampled(&map, &prior, |w| model.log_likelihood(w)),
        Err(ElboError::NoClosedForm { .. })
    ));
}

/// Minibatch scaling and KL annealing: ELL = N/B · mean_t ll_t, ELBO = ELL − β KL; the value the
/// finiteness check read; a guard read with the ELBO.
fn terms_and_guards(device: &Device, dtype: FloatDType, tol: f64) {
    let device = device.clone();
    let ll = tensor(vec![-3.0, -5.0], [2], &device, dtype);
    let kl = tensor(vec![1.5], [1], &device, dtype);
    let terms = Elbo::new(12)
        .with_batch_size(4)
        .with_kl_weight(0.5)
        .from_terms(ll, kl)
        .unwrap();
    assert!((values(terms.expected_log_likelihood.clone())[0] + 12.0).abs() < tol);
    assert!((values(terms.elbo.clone())[0] + 12.75).abs() < tol);
    // The value the finiteness check read, and the per-point loss as one op.
    let value = terms.value.expect("checked by default");
    assert!((value + 12.75).abs() < tol, "read-back ELBO {value}");
    assert!((values(terms.scaled_loss(1.0 / 12.0))[0] - 12.75 / 12.0).abs() < tol);
    let unchecked = Elbo::new(12)
        .with_check_finite(false)
        .from_terms(
            tensor(vec![-3.0], [1], &device, dtype),
            tensor(vec![1.5], [1], &device, dtype),
        )
        .unwrap();
    assert_eq!(unchecked.value, None);
    // A guard read with the ELBO: finite, the same terms and value as `from_terms`; not finite,
    // no terms (the caller recomputes), even where the ELBO itself is NaN; a checked term still
    // named when the guard passes; read even with the finiteness check off.
    let t1 = |v: f64| tensor(vec![v], [1], &device, dtype);
    let elbo = Elbo::new(12).with_batch_size(4).with_kl_weight(0.5);
    let guarded = elbo
        .from_terms_guarded(
            tensor(vec![-3.0, -5.0], [2], &device, dtype),
            t1(1.5),
            tensor(vec![1.0, 2.0, 3.0], [3], &device, dtype),
        )
        .unwrap()
        .expect("finite guard");
    let guarded_value = guarded.value.expect("checked by default");
    assert!(
        (guarded_value - value).abs() < tol,
        "guarded ELBO {guarded_value}"
    );
    assert!((values(guarded.elbo)[0] + 12.75).abs() < tol);
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        for (ll, checked) in [(-3.0, true), (f64::NAN, true), (-3.0, false)] {
            let out = Elbo::new(12)
                .with_check_finite(checked)
                .from_terms_guarded(t1(ll), t1(1.5), tensor(vec![1.0, bad], [2], &device, dtype))
                .unwrap();
            assert!(out.is_none(), "guard {bad}, ll {ll}, checked {checked}");
        }
    }
    match Elbo::new(12).from_terms_guarded(t1(-3.0), t1(f64::NAN), t1(1.0)) {
        Err(ElboError::NonFinite { term: "KL", .. }) => {}
        other => panic!("NaN KL behind a finite guard: {other:?}"),
    }
    let unchecked = Elbo::new(12)
        .with_check_finite(false)
        .from_terms_guarded(t1(f64::NAN), t1(1.5), t1(1.0))
        .unwrap()
        .expect("finite guard");
    assert_eq!(unchecked.value, None);
}

/// Sticking the landing: unbiased (its mean gradient matches the plain Monte Carlo estimator's
/// within standard errors) and with (near) zero variance at the exact posterior, where the plain
/// estimator's variance is not.
fn sticking_the_landing(device: Device) {
    device.seed(11);
    let ad = device.autodiff();
    let dtype = dtypes(&ad)[0];
    let model = Conjugate::new();
    let (mean, cov) = model.posterior();
    let l00 = cov[0].sqrt();
    let l10 = cov[2] / l00;
    let l11 = (cov[3] - l10 * l10).sqrt();
    let prior = Normal::new(
        Tensor::<1>::zeros([2], (&ad, dtype.into())),
        Tensor::<1>::ones([2], (&ad, dtype.into())),
    )
    .unwrap()
    .to_event(1)
    .unwrap();
    let repeats = if vi_tests::is_wgpu(&ad) { 60 } else { 200 };
    let probe = |loc: Vec<f64>, tril: Vec<f64>, estimator| {
        let loc = tensor(loc, [2], &ad, dtype).require_grad();
        let scale = tensor(tril, [2, 2], &ad, dtype).require_grad();
        let groups = [
            ParameterGroup::new("loc").with(&loc),
            ParameterGroup::new("scale_tril").with(&scale),
        ];
        let elbo = Elbo::new(model.y.len()).with_estimator(estimator);
        gradient_variance(repeats, &groups, || {
            let q = MultivariateNormal::new_unchecked(loc.clone(), scale.clone()).unwrap();
            elbo.estimate(&q, &prior, |w| model.log_likelihood(w))
                .unwrap()
                .loss()
        })
        .unwrap()
    };
    // At the posterior.
    let optimum = (mean.to_vec(), vec![l00, 0.0, l10, l11]);
    let stl = probe(
        optimum.0.clone(),
        optimum.1.clone(),
        Estimator::StickingTheLanding,
    );
    let plain = probe(optimum.0, optimum.1, Estimator::MonteCarloKl);
    let tiny: f64 = by_dtype(dtype, 1e-16, 1e-6);
    for (s, p) in stl.iter().zip(&plain) {
        assert!(
            p.variance > 1e-3,
            "plain estimator's {} variance {} should be positive",
            p.name,
            p.variance
        );
        assert!(
            s.variance <= tiny.max(1e-6 * p.variance),
            "STL variance of {} at the optimum: {} (plain {})",
            s.name,
            s.variance,
            p.variance
        );
    }
    // Away from it: same mean gradient within standard errors.
    let point = (vec![0.1, 0.9], vec![0.6, 0.0, -0.2, 0.5]);
    let stl = probe(
        point.0.clone(),
        point.1.clone(),
        Estimator::StickingTheLanding,
    );
    let plain = probe(point.0, point.1, Estimator::MonteCarloKl);
    for (s, p) in stl.iter().zip(&plain) {
        for j in 0..s.mean.len() {
            let se =
                ((s.coordinate_variance[j] + p.coordinate_variance[j]) / repeats as f64).sqrt();
            assert!(
                (s.mean[j] - p.mean[j]).abs() <= 5.0 * se + 1e-3,
                "{}[{j}]: STL mean gradient {} vs plain {} (s.e. {se})",
                s.name,
                s.mean[j],
                p.mean[j]
            );
        }
    }
}
