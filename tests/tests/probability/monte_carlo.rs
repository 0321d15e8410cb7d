//! Sampling: moments, entropy and KL against Monte Carlo estimates.

use crate::common::{assert_within_se, mean_se, rand, rand_tril};
use burn::tensor::{Device, FloatDType, Tensor};
use vi_core::distributions::{
    Bernoulli, Categorical, Distribution, LowRankMultivariateNormal, MultivariateNormal, Normal,
    Reparameterized,
};
use vi_core::kl::{KlDivergence, kl_monte_carlo};
use vi_tests::{by_dtype, device_tests, dtypes, tensor, values};

device_tests!(monte_carlo_moments_entropy_kl,);

/// `rsample` moments, entropy vs −E[log q], closed-form KL vs Monte Carlo KL, sampled Bernoulli and
/// Categorical frequencies: all within 5 standard errors.
fn monte_carlo_moments_entropy_kl(device: Device) {
    device.seed(20261125);
    let dtype = dtypes(&device)[0];
    let slack = by_dtype(dtype, 1e-9, 1e-3);
    let s = 4000;
    let (b, n, k) = (2, 3, 2);
    let loc = rand(11, [b, n], &device, dtype, 1.0, 0.0);
    let mvn = MultivariateNormal::new(loc.clone(), rand_tril(12, b, n, &device, dtype)).unwrap();
    let low_rank = LowRankMultivariateNormal::new(
        loc.clone(),
        rand(13, [b, n, k], &device, dtype, 0.8, 0.0),
        rand(14, [b, n], &device, dtype, 0.2, 0.5),
    )
    .unwrap();
    let normal = Normal::new(loc, rand(15, [b, n], &device, dtype, 0.3, 1.0))
        .unwrap()
        .to_event(1)
        .unwrap();

    sample_moments("MVN", &mvn, s, slack);
    sample_moments("LowRank", &low_rank, s, slack);
    sample_moments("Normal", &normal, s, slack);
    sample_entropy("MVN", &mvn, s, slack);
    sample_entropy("LowRank", &low_rank, s, slack);
    sample_entropy("Normal", &normal, s, slack);
    kl_by_sampling(
        "MVN‖MVN",
        &mvn,
        &MultivariateNormal::new(
            rand(16, [n], &device, dtype, 0.5, 0.0),
            rand_tril(17, 1, n, &device, dtype).reshape([n, n]),
        )
        .unwrap(),
        s,
        slack,
    );
    kl_by_sampling("MVN‖Normal", &mvn, &normal, s, slack);
    kl_by_sampling("LowRank‖Normal", &low_rank, &normal, s, slack);
    kl_by_sampling("LowRank‖MVN", &low_rank, &mvn, s, slack);
    kl_by_sampling(
        "Normal‖Normal",
        &normal,
        &Normal::new(
            rand(18, [b, n], &device, dtype, 0.5, 0.0),
            rand(19, [b, n], &device, dtype, 0.3, 1.2),
        )
        .unwrap()
        .to_event(1)
        .unwrap(),
        s,
        slack,
    );
    discrete_frequencies(&device, dtype, s, slack);
}

/// Moments: every coordinate's sample mean and variance.
fn sample_moments<T: Reparameterized>(label: &str, d: &T, s: usize, slack: f64) {
    let x: Tensor<3> = d.rsample(s);
    let [_, b, n] = x.dims();
    let xs = values(x);
    let (mean, var) = (values(d.mean::<2>()), values(d.variance::<2>()));
    for j in 0..b * n {
        let col: Vec<f64> = (0..s).map(|i| xs[i * b * n + j]).collect();
        assert_within_se(&format!("{label} mean[{j}]"), &col, mean[j], slack);
        let sq: Vec<f64> = col.iter().map(|v| (v - mean[j]).powi(2)).collect();
        assert_within_se(&format!("{label} variance[{j}]"), &sq, var[j], slack);
    }
}

/// Entropy = −E[log q].
fn sample_entropy<T: Reparameterized>(label: &str, d: &T, s: usize, slack: f64) {
    let lp = values(d.log_prob::<3, 2>(d.sample::<3>(s)).unwrap());
    let h = values(d.entropy::<1>());
    let b = h.len();
    for (j, &hj) in h.iter().enumerate() {
        let col: Vec<f64> = (0..s).map(|i| -lp[i * b + j]).collect();
        assert_within_se(&format!("{label} entropy[{j}]"), &col, hj, slack);
    }
}

/// Closed-form KL = E_p[log p − log q].
fn kl_by_sampling<P: Reparameterized + KlDivergence<Q>, Q: Distribution>(
    label: &str,
    p: &P,
    q: &Q,
    s: usize,
    slack: f64,
) {
    let x: Tensor<3> = p.sample(s);
    let ratio = values(p.log_prob::<3, 2>(x.clone()).unwrap() - q.log_prob::<3, 2>(x).unwrap());
    let kl = values(p.kl::<1>(q).unwrap());
    let b = kl.len();
    for (j, &kj) in kl.iter().enumerate() {
        let col: Vec<f64> = (0..s).map(|i| ratio[i * b + j]).collect();
        assert_within_se(&format!("{label} KL[{j}]"), &col, kj, slack);
    }
    // The library's own Monte Carlo estimator agrees with the closed form too.
    let estimate = values(kl_monte_carlo::<1, P, Q>(p, q, s).unwrap());
    let (_, se) = mean_se(&(0..s).map(|i| ratio[i * b]).collect::<Vec<_>>());
    assert!(
        (estimate[0] - kl[0]).abs() <= 5.0 * se + slack,
        "{label}: kl_monte_carlo {} vs {}",
        estimate[0],
        kl[0]
    );
}

/// Discrete samplers: frequencies match the probabilities.
fn discrete_frequencies(device: &Device, dtype: FloatDType, s: usize, slack: f64) {
    let device = device.clone();
    let bern = Bernoulli::new(tensor(vec![-1.0, 0.5, 2.0], [3], &device, dtype)).unwrap();
    let draws = values(bern.sample::<2>(s));
    let p = values(bern.mean::<1>());
    for j in 0..3 {
        let col: Vec<f64> = (0..s).map(|i| draws[i * 3 + j]).collect();
        assert!(col.iter().all(|v| *v == 0.0 || *v == 1.0));
        assert_within_se(&format!("Bernoulli frequency[{j}]"), &col, p[j], slack);
    }
    let cat = Categorical::new(tensor(vec![0.0, 1.0, -1.0, 0.5], [1, 4], &device, dtype)).unwrap();
    let draws = values(cat.sample::<2>(s));
    let probs: Vec<f64> = values(cat.log_probs::<2>())
        .iter()
        .map(|v| v.exp())
        .collect();
    for (c, &pc) in probs.iter().enumerate() {
        let hits: Vec<f64> = draws
            .iter()
            .map(|&v| if v as usize == c { 1.0 } else { 0.0 })
            .collect();
        assert_within_se(&format!("Categorical frequency[{c}]"), &hits, pc, slack);
    }
}
