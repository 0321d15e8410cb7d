//! KL divergences: closed forms the golden file does not cover, properties, and
//! `kl_to_standard_normal`.

use crate::common::{rand, rand_tril};
use burn::tensor::{Device, FloatDType};
use vi_core::distributions::{
    Bernoulli, Categorical, Distribution, DistributionError, LowRankMultivariateNormal,
    MultivariateNormal, Normal,
};
use vi_core::gradcheck::gradcheck;
use vi_core::kl::{KlDivergence, kl_to_standard_normal};
use vi_tests::{
    assert_all_close, by_dtype, device_tests, dtypes, gradcheck_configs, noise, random_spd, tensor,
    values,
};

device_tests!(
    kl_closed_forms_without_golden,
    kl_properties,
    kl_to_standard_normal_op,
);

/// The closed forms the golden file does not cover, against independent paths: LowRank ‖ Normal
/// through the dense covariance (MVN ‖ Normal), and Bernoulli/Categorical against host formulas.
fn kl_closed_forms_without_golden(device: Device) {
    let dtype = dtypes(&device)[0];
    let (rtol, atol) = by_dtype(dtype, (1e-10, 1e-10), (1e-4, 1e-4));
    low_rank_against_dense(&device, dtype, rtol, atol);
    from_precision(&device, dtype, rtol, atol);
    bernoulli_closed_forms(&device, dtype, rtol, atol);
    categorical_closed_forms(&device, dtype, rtol, atol);
}

/// KL(LowRank ‖ Normal), log_prob and entropy of the low-rank form against the dense MVN of the
/// same covariance.
fn low_rank_against_dense(device: &Device, dtype: FloatDType, rtol: f64, atol: f64) {
    let device = device.clone();
    let (b, n, k) = (3, 5, 2);
    let loc = rand(1, [b, n], &device, dtype, 1.0, 0.0);
    let w = rand(2, [b, n, k], &device, dtype, 0.7, 0.0);
    let d = rand(3, [b, n], &device, dtype, 0.3, 0.6);
    let low_rank = LowRankMultivariateNormal::new(loc.clone(), w, d).unwrap();
    let dense = MultivariateNormal::from_covariance(loc, low_rank.covariance::<3>()).unwrap();
    let q = Normal::new(
        rand(4, [b, n], &device, dtype, 0.5, 0.0),
        rand(5, [b, n], &device, dtype, 0.2, 1.0),
    )
    .unwrap()
    .to_event(1)
    .unwrap();
    let got = values(low_rank.kl::<1>(&q).unwrap());
    let want = values(dense.kl::<1>(&q).unwrap());
    assert_all_close("KL(LowRank ‖ Normal) vs dense", &got, &want, rtol, atol);
    // log_prob and entropy of the low-rank form against the dense one.
    let x = rand(6, [4, b, n], &device, dtype, 2.0, 0.0);
    assert_all_close(
        "LowRank log_prob vs dense",
        &values(low_rank.log_prob::<3, 2>(x.clone()).unwrap()),
        &values(dense.log_prob::<3, 2>(x).unwrap()),
        rtol,
        atol,
    );
    assert_all_close(
        "LowRank entropy vs dense",
        &values(low_rank.entropy::<1>()),
        &values(dense.entropy::<1>()),
        rtol,
        atol,
    );
}

/// from_precision: the covariance is the inverse of the precision.
fn from_precision(device: &Device, dtype: FloatDType, rtol: f64, atol: f64) {
    let device = device.clone();
    let precision = tensor(random_spd(31, 2, 4, 0.7), [2, 4, 4], &device, dtype);
    let loc = rand(32, [2, 4], &device, dtype, 1.0, 0.0);
    let from_precision =
        MultivariateNormal::from_precision(loc.clone(), precision.clone()).unwrap();
    let identity: Vec<f64> = values(from_precision.covariance::<3>().matmul(precision));
    let eye: Vec<f64> = (0..32)
        .map(|i| if i % 16 % 5 == 0 { 1.0 } else { 0.0 })
        .collect();
    assert_all_close(
        "from_precision: Σ Λ = I",
        &identity,
        &eye,
        rtol,
        10.0 * atol,
    );
}

/// Bernoulli log_prob and KL against host formulas.
fn bernoulli_closed_forms(device: &Device, dtype: FloatDType, rtol: f64, atol: f64) {
    let device = device.clone();
    let (lp, lq) = (
        noise(7, 6).iter().map(|v| v * 6.0).collect::<Vec<_>>(),
        noise(8, 6).iter().map(|v| v * 6.0).collect::<Vec<_>>(),
    );
    let p = Bernoulli::new(tensor(lp.clone(), [2, 3], &device, dtype)).unwrap();
    let q = Bernoulli::new(tensor(lq.clone(), [2, 3], &device, dtype)).unwrap();
    let sig = |l: f64| 1.0 / (1.0 + (-l).exp());
    let want: Vec<f64> = lp
        .iter()
        .zip(&lq)
        .map(|(&a, &b)| {
            let (p, q) = (sig(a), sig(b));
            p * (p / q).ln() + (1.0 - p) * ((1.0 - p) / (1.0 - q)).ln()
        })
        .collect();
    let x = vec![1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
    let want_lp: Vec<f64> = lp
        .iter()
        .zip(&x)
        .map(|(&l, &x)| {
            if x == 1.0 {
                sig(l).ln()
            } else {
                (1.0 - sig(l)).ln()
            }
        })
        .collect();
    assert_all_close(
        "Bernoulli log_prob",
        &values(
            p.log_prob::<2, 2>(tensor(x, [2, 3], &device, dtype))
                .unwrap(),
        ),
        &want_lp,
        rtol,
        atol,
    );
    assert_all_close(
        "KL(Bernoulli ‖ Bernoulli)",
        &values(p.kl::<2>(&q).unwrap()),
        &want,
        rtol,
        atol,
    );
}

/// Categorical KL and entropy against host formulas.
fn categorical_closed_forms(device: &Device, dtype: FloatDType, rtol: f64, atol: f64) {
    let device = device.clone();
    let (c, batch) = (4, 3);
    let (lp, lq) = (
        noise(9, batch * c),
        noise(10, batch * c)
            .iter()
            .map(|v| v * 3.0)
            .collect::<Vec<_>>(),
    );
    let p = Categorical::new(tensor(lp.clone(), [batch, c], &device, dtype)).unwrap();
    let q = Categorical::new(tensor(lq.clone(), [batch, c], &device, dtype)).unwrap();
    let softmax = |l: &[f64]| {
        let z: f64 = l.iter().map(|v| v.exp()).sum();
        l.iter().map(|v| v.exp() / z).collect::<Vec<_>>()
    };
    let want: Vec<f64> = (0..batch)
        .map(|i| {
            let (pp, qq) = (
                softmax(&lp[i * c..(i + 1) * c]),
                softmax(&lq[i * c..(i + 1) * c]),
            );
            pp.iter().zip(&qq).map(|(a, b)| a * (a / b).ln()).sum()
        })
        .collect();
    assert_all_close(
        "KL(Categorical ‖ Categorical)",
        &values(p.kl::<1>(&q).unwrap()),
        &want,
        rtol,
        atol,
    );
    let h: Vec<f64> = (0..batch)
        .map(|i| {
            -softmax(&lp[i * c..(i + 1) * c])
                .iter()
                .map(|a| a * a.ln())
                .sum::<f64>()
        })
        .collect();
    assert_all_close(
        "Categorical entropy",
        &values(p.entropy::<1>()),
        &h,
        rtol,
        atol,
    );
}

/// KL ≥ 0, and KL(q ‖ q) = 0, over random parameters of every closed-form pair.
fn kl_properties(device: Device) {
    let dtype = dtypes(&device)[0];
    let zero_tol = by_dtype(dtype, 1e-10, 2e-4);
    for seed in 0..6u64 {
        let s = 100 * seed;
        let (b, n) = (3, 4);
        let mvn = |t| {
            MultivariateNormal::new(
                rand(s + t, [b, n], &device, dtype, 1.0, 0.0),
                rand_tril(s + t + 1, b, n, &device, dtype),
            )
            .unwrap()
        };
        let normal = |t| {
            Normal::new(
                rand(s + t, [b, n], &device, dtype, 1.0, 0.0),
                rand(s + t + 1, [b, n], &device, dtype, 0.4, 1.0),
            )
            .unwrap()
            .to_event(1)
            .unwrap()
        };
        let low_rank = |t| {
            LowRankMultivariateNormal::new(
                rand(s + t, [b, n], &device, dtype, 1.0, 0.0),
                rand(s + t + 1, [b, n, 2], &device, dtype, 1.0, 0.0),
                rand(s + t + 2, [b, n], &device, dtype, 0.2, 0.5),
            )
            .unwrap()
        };
        let bern = |t| Bernoulli::new(rand(s + t, [b, n], &device, dtype, 4.0, 0.0)).unwrap();
        let cat = |t| Categorical::new(rand(s + t, [b, n], &device, dtype, 3.0, 0.0)).unwrap();
        let nonneg = |label: &str, kl: Vec<f64>| {
            assert!(kl.iter().all(|v| *v >= -zero_tol), "{label} < 0: {kl:?}")
        };
        let zero = |label: &str, kl: Vec<f64>| {
            assert!(
                kl.iter().all(|v| v.abs() <= zero_tol),
                "{label}(q‖q) ≠ 0: {kl:?}"
            )
        };
        nonneg("MVN‖MVN", values(mvn(1).kl::<1>(&mvn(5)).unwrap()));
        zero("MVN‖MVN", values(mvn(1).kl::<1>(&mvn(1)).unwrap()));
        nonneg("MVN‖Normal", values(mvn(1).kl::<1>(&normal(5)).unwrap()));
        nonneg(
            "Normal‖Normal",
            values(normal(1).kl::<1>(&normal(5)).unwrap()),
        );
        zero(
            "Normal‖Normal",
            values(normal(1).kl::<1>(&normal(1)).unwrap()),
        );
        nonneg(
            "LowRank‖Normal",
            values(low_rank(1).kl::<1>(&normal(5)).unwrap()),
        );
        nonneg("LowRank‖MVN", values(low_rank(1).kl::<1>(&mvn(5)).unwrap()));
        nonneg("Bernoulli", values(bern(1).kl::<2>(&bern(5)).unwrap()));
        zero("Bernoulli", values(bern(1).kl::<2>(&bern(1)).unwrap()));
        nonneg("Categorical", values(cat(1).kl::<1>(&cat(5)).unwrap()));
        zero("Categorical", values(cat(1).kl::<1>(&cat(1)).unwrap()));
        // A low-rank distribution equal to an MVN has zero KL to it.
        let lr = low_rank(1);
        let dense =
            MultivariateNormal::from_covariance(lr.mean::<2>(), lr.covariance::<3>()).unwrap();
        zero("LowRank‖MVN(same)", values(lr.kl::<1>(&dense).unwrap()));
    }
}

/// `kl::kl_to_standard_normal` against the formula by hand in f64 (a negative diagonal entry, an
/// upper triangle that must be ignored) and against the MVN ‖ Normal closed form, which goes
/// through a triangular solve; finite differences in both inputs; its shape error.
fn kl_to_standard_normal_op(device: Device) {
    for dtype in dtypes(&device) {
        kl_to_standard_normal_small(&device, dtype);
    }
    for dtype in dtypes(&device) {
        kl_to_standard_normal_large(&device, dtype);
    }
    kl_to_standard_normal_gradients(&device);
    kl_to_standard_normal_errors(&device);
}

/// Means `[3, 5]` and factors `[3, 5, 5]`: a lower triangle from noise, |diagonal| ≥ 0.5 (one
/// negative), junk above the diagonal.
fn signed_factors() -> (Vec<f64>, Vec<f64>) {
    let (p, n) = (3, 5);
    let loc = noise(30, p * n);
    let factor: Vec<f64> = noise(31, p * n * n)
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let (i, j) = ((index / n) % n, index % n);
            match i.cmp(&j) {
                std::cmp::Ordering::Greater => *v,
                std::cmp::Ordering::Equal if index == 2 * (n + 1) => -(0.5 + v.abs()),
                std::cmp::Ordering::Equal => 0.5 + v.abs(),
                std::cmp::Ordering::Less => 7.0,
            }
        })
        .collect();
    (loc, factor)
}

/// Against the formula by hand, and against MVN ‖ Normal.
fn kl_to_standard_normal_small(device: &Device, dtype: FloatDType) {
    let device = device.clone();
    let (p, n) = (3, 5);
    let (loc, factor) = signed_factors();
    let lower = |index: usize| (index / n) % n >= index % n;
    let squares: f64 = loc.iter().map(|v| v * v).sum::<f64>()
        + (0..p * n * n)
            .filter(|&k| lower(k))
            .map(|k| factor[k] * factor[k])
            .sum::<f64>();
    let log_diagonal: f64 = (0..p * n)
        .map(|k| factor[(k / n) * n * n + (k % n) * (n + 1)].abs().ln())
        .sum();
    let want = 0.5 * (squares - (p * n) as f64) - log_diagonal;
    let tol = by_dtype(dtype, 1e-12, 2e-5);
    let m = tensor(loc.clone(), [p, n], &device, dtype);
    let l = tensor(factor.clone(), [p, n, n], &device, dtype);
    let got = values(kl_to_standard_normal(m.clone(), l.clone()).unwrap());
    assert_all_close(
        &format!("KL to N(0, I) [{dtype:?}]"),
        &got,
        &[want],
        tol,
        tol,
    );
    // The same KL through MultivariateNormal ‖ Normal (positive diagonal, lower triangle).
    let positive: Vec<f64> = factor
        .iter()
        .enumerate()
        .map(|(k, v)| if lower(k) { v.abs() } else { 0.0 })
        .collect();
    let q = MultivariateNormal::new(
        m.clone(),
        tensor(positive.clone(), [p, n, n], &device, dtype),
    )
    .unwrap();
    let zero = tensor(vec![0.0; p * n], [p, n], &device, dtype);
    let prior = Normal::new(zero.clone(), zero.ones_like())
        .unwrap()
        .to_event(1)
        .unwrap();
    let by_solve = values(q.kl_sum(&prior).unwrap());
    let fused =
        values(kl_to_standard_normal(m, tensor(positive, [p, n, n], &device, dtype)).unwrap());
    assert_all_close(
        &format!("KL to N(0, I) vs MVN ‖ Normal [{dtype:?}]"),
        &fused,
        &by_solve,
        10.0 * tol,
        10.0 * tol,
    );
}

/// Many entries per unit of CubeCL's one-cube sum (2 · 40² = 3200): against MVN ‖ Normal.
fn kl_to_standard_normal_large(device: &Device, dtype: FloatDType) {
    let device = device.clone();
    let (p2, n2) = (2, 40);
    let loc2 = noise(32, p2 * n2);
    let factor2: Vec<f64> = noise(33, p2 * n2 * n2)
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let (i, j) = ((index / n2) % n2, index % n2);
            match i.cmp(&j) {
                std::cmp::Ordering::Greater => 0.2 * v,
                std::cmp::Ordering::Equal => 0.5 + v.abs(),
                std::cmp::Ordering::Less => 0.0,
            }
        })
        .collect();
    let tol = by_dtype(dtype, 1e-10, 1e-4);
    let m = tensor(loc2.clone(), [p2, n2], &device, dtype);
    let l = tensor(factor2.clone(), [p2, n2, n2], &device, dtype);
    let zero = tensor(vec![0.0; p2 * n2], [p2, n2], &device, dtype);
    let prior = Normal::new(zero.clone(), zero.ones_like())
        .unwrap()
        .to_event(1)
        .unwrap();
    let by_solve = values(
        MultivariateNormal::new(m.clone(), l.clone())
            .unwrap()
            .kl_sum(&prior)
            .unwrap(),
    );
    assert_all_close(
        &format!("KL to N(0, I), n = {n2} [{dtype:?}]"),
        &values(kl_to_standard_normal(m, l).unwrap()),
        &by_solve,
        tol,
        tol,
    );
}

/// Finite differences in both inputs.
fn kl_to_standard_normal_gradients(device: &Device) {
    let n = 5;
    let (loc, factor) = signed_factors();
    let ad = device.clone().autodiff();
    for config in gradcheck_configs(&ad) {
        let dtype = config.dtype;
        let report = gradcheck(
            |v| kl_to_standard_normal(v[0].clone(), v[1].clone().reshape([2, n, n])).unwrap(),
            &[
                tensor(loc[..2 * n].to_vec(), [2, n], &ad, dtype),
                tensor(factor[..2 * n * n].to_vec(), [2 * n, n], &ad, dtype),
            ],
            &config,
        );
        assert!(report.passed(), "KL to N(0, I):\n{report}");
    }
}

/// A factor whose shape does not fit the means.
fn kl_to_standard_normal_errors(device: &Device) {
    let device = device.clone();
    let dtype = dtypes(&device)[0];
    match kl_to_standard_normal(
        tensor(vec![0.0; 6], [2, 3], &device, dtype),
        tensor(vec![0.0; 24], [2, 3, 4], &device, dtype),
    ) {
        Err(DistributionError::ShapeMismatch { reason, .. }) => {
            assert!(reason.contains("[2, 3, 4]"), "{reason}")
        }
        other => panic!("KL to N(0, I) with bad shapes: {other:?}"),
    }
}
