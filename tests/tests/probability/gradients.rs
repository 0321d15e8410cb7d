//! Finite differences through densities, entropies and KL divergences.

use crate::common::{rand, rand_tril};
use burn::tensor::{Device, Tensor};
use vi_core::distributions::{
    Bernoulli, Categorical, Distribution, LowRankMultivariateNormal, MultivariateNormal, Normal,
};
use vi_core::gradcheck::{GradcheckConfig, gradcheck};
use vi_core::kl::KlDivergence;
use vi_core::special::{digamma, lgamma};
use vi_tests::{device_tests, gradcheck_configs, tensor};

device_tests!(gradcheck_densities_and_kl,);

/// Finite differences through log_prob, entropy and the KLs, w.r.t. every parameter.
fn gradcheck_densities_and_kl(device: Device) {
    let ad = device.autodiff();
    for config in gradcheck_configs(&ad) {
        let dtype = config.dtype;
        let n = 3;
        let l = rand_tril(21, 1, n, &ad, dtype).reshape([n, n]);
        let loc = rand(22, [1, n], &ad, dtype, 1.0, 0.0);
        let x = rand(23, [4, n], &ad, dtype, 1.5, 0.0);
        let w = rand(24, [n, 2], &ad, dtype, 0.8, 0.0);
        let d = rand(25, [1, n], &ad, dtype, 0.2, 0.7);
        let q_loc = rand(26, [1, n], &ad, dtype, 1.0, 0.0);
        let q_l = rand_tril(27, 1, n, &ad, dtype).reshape([n, n]);
        mvn_gradcheck(
            &config,
            [
                loc.clone(),
                l.clone(),
                x.clone(),
                q_loc.clone(),
                q_l.clone(),
            ],
        );
        low_rank_gradcheck(&config, [loc.clone(), w, d.clone(), x.clone(), q_loc, q_l]);
        normal_bernoulli_categorical_gradcheck(
            &config,
            [
                loc.clone(),
                d.clone(),
                x.clone().narrow(0, 0, 1),
                tensor(vec![1.0, 0.0, 1.0], [1, n], &ad, dtype),
            ],
        );
        let positive = tensor(vec![0.3, 1.7, 4.2], [n], &ad, dtype);
        let report = gradcheck(
            |v| lgamma(v[0].clone()).sum() + digamma(v[0].clone()).sum(),
            &[positive],
            &config,
        );
        assert!(report.passed(), "lgamma + digamma:\n{report}");
    }
}

/// MVN log_prob + entropy + KL in the location, factor, point and the other side's parameters.
fn mvn_gradcheck(config: &GradcheckConfig, inputs: [Tensor<2>; 5]) {
    let n = 3;
    let report = gradcheck(
        |v| {
            let q =
                MultivariateNormal::new_unchecked(v[0].clone().reshape([n]), v[1].clone()).unwrap();
            let p =
                MultivariateNormal::new_unchecked(v[3].clone().reshape([n]), v[4].clone()).unwrap();
            q.log_prob::<2, 1>(v[2].clone()).unwrap().sum()
                + q.entropy::<1>()
                + q.kl::<1>(&p).unwrap()
        },
        &inputs,
        config,
    );
    assert!(report.passed(), "MVN log_prob + entropy + KL:\n{report}");
}

/// LowRank log_prob + entropy + KLs to an MVN and a Normal.
fn low_rank_gradcheck(config: &GradcheckConfig, inputs: [Tensor<2>; 6]) {
    let n = 3;
    let report = gradcheck(
        |v| {
            let p = LowRankMultivariateNormal::new_unchecked(
                v[0].clone().reshape([n]),
                v[1].clone(),
                v[2].clone().reshape([n]),
            )
            .unwrap();
            let q =
                MultivariateNormal::new_unchecked(v[4].clone().reshape([n]), v[5].clone()).unwrap();
            let r = Normal::new_unchecked(
                v[4].clone().reshape([n]),
                v[2].clone().reshape([n]).add_scalar(0.3),
            )
            .unwrap()
            .to_event(1)
            .unwrap();
            p.log_prob::<2, 1>(v[3].clone()).unwrap().sum()
                + p.entropy::<1>()
                + p.kl::<1>(&q).unwrap()
                + p.kl::<1>(&r).unwrap()
        },
        &inputs,
        config,
    );
    assert!(
        report.passed(),
        "LowRank log_prob + entropy + KLs:\n{report}"
    );
}

/// Normal, Bernoulli and Categorical densities, entropies and KLs.
fn normal_bernoulli_categorical_gradcheck(config: &GradcheckConfig, inputs: [Tensor<2>; 4]) {
    let report = gradcheck(
        |v| {
            let p = Normal::new_unchecked(v[0].clone(), v[1].clone()).unwrap();
            let q = Normal::new_unchecked(v[1].clone(), v[1].clone().add_scalar(0.5)).unwrap();
            let b = Bernoulli::new(v[0].clone()).unwrap();
            let c = Categorical::new(v[0].clone()).unwrap();
            let c2 = Categorical::new(v[1].clone()).unwrap();
            p.log_prob::<2, 2>(v[2].clone()).unwrap().sum()
                + p.entropy::<2>().sum()
                + p.kl::<2>(&q).unwrap().sum()
                + b.entropy::<2>().sum()
                + b.log_prob::<2, 2>(v[3].clone()).unwrap().sum()
                + c.entropy::<1>().sum()
                + c.kl::<1>(&c2).unwrap().sum()
        },
        &inputs,
        config,
    );
    assert!(report.passed(), "Normal, Bernoulli, Categorical:\n{report}");
}
