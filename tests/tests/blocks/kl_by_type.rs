//! `total_kl` and `total_regularizer` find the variational blocks by their type: names of fields
//! play no part.

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, FloatDType, Tensor};
use vi_blocks::kl::{total_kl, total_regularizer};
use vi_blocks::nn::{
    BayesianLinear, BayesianLinearConfig, BayesianizeConfig, ConcreteLinear, ConcreteLinearConfig,
    Prior, VariationalParam, bayesianize,
};
use vi_core::distributions::Normal;
use vi_core::kl::KlDivergence;
use vi_tests::{assert_all_close, by_dtype, device_tests, dtypes, noise, tensor, values};

device_tests!(
    lookalike_contributes_nothing,
    layers_count_once_anywhere,
    bayesianized_kl_by_hand,
    bayesianize_keeps_variational_weights,
);

/// A user's own module whose fields carry the names the KL once keyed on.
#[derive(Module, Debug)]
pub struct Lookalike {
    pub loc: Param<Tensor<2>>,
    pub rho: Param<Tensor<2>>,
    pub prior: Param<Tensor<1>>,
    pub weight_loc: Param<Tensor<2>>,
    pub weight_rho: Param<Tensor<2>>,
    pub p_logit: Param<Tensor<1>>,
    pub concrete_regularization: Param<Tensor<1>>,
    pub linear: Linear,
}

fn lookalike(device: &Device, dtype: FloatDType) -> Lookalike {
    let matrix = |seed| Param::from_tensor(tensor(noise(seed, 6), [2, 3], device, dtype));
    let vector = |seed, n| Param::from_tensor(tensor(noise(seed, n), [n], device, dtype));
    Lookalike {
        loc: matrix(1),
        rho: matrix(2),
        prior: vector(3, 1),
        weight_loc: matrix(4),
        weight_rho: matrix(5),
        p_logit: vector(6, 1),
        concrete_regularization: vector(7, 2),
        linear: LinearConfig::new(3, 2).init(device),
    }
}

/// A model holding Bayesian layers under unrelated names, in a `Vec`, an `Option` and a nested
/// struct, next to the lookalike.
#[derive(Module, Debug)]
pub struct Nested {
    pub first: BayesianLinear,
    pub inner: Inner,
    pub stack: Vec<BayesianLinear>,
    pub maybe: Option<BayesianLinear>,
    pub nothing: Option<BayesianLinear>,
    pub distractor: Lookalike,
}

#[derive(Module, Debug)]
pub struct Inner {
    pub deeper: Vec<Option<BayesianLinear>>,
    pub dropout: ConcreteLinear,
}

fn bayesian(device: &Device, i: usize, o: usize, scale: f64) -> BayesianLinear {
    BayesianLinearConfig::new(i, o)
        .with_prior(Prior::Normal { scale })
        .with_init_rho(-1.0)
        .init(device)
}

fn scalar(t: Tensor<1>) -> f64 {
    values(t)[0]
}

/// A module whose parameters are named `loc`, `rho`, `prior`, `weight_loc`, `p_logit`, … but
/// carry no variational type contributes nothing.
fn lookalike_contributes_nothing(device: Device) {
    for dtype in dtypes(&device) {
        let model = lookalike(&device, dtype);
        assert!(
            total_kl(&model).is_none(),
            "{dtype:?}: a lookalike was counted"
        );
        assert!(
            total_regularizer(&model).is_none(),
            "{dtype:?}: a lookalike was counted"
        );
    }
}

/// Every Bayesian layer counts exactly once wherever it sits, under any name; the concrete
/// dropout layer counts in the regulariser only.
fn layers_count_once_anywhere(device: Device) {
    let model = Nested {
        first: bayesian(&device, 3, 2, 1.0),
        inner: Inner {
            deeper: vec![Some(bayesian(&device, 2, 2, 0.5)), None],
            dropout: ConcreteLinearConfig::new(2, 2, 1e-3, 1e-2).init(&device),
        },
        stack: vec![bayesian(&device, 2, 3, 2.0), bayesian(&device, 3, 1, 1.0)],
        maybe: Some(bayesian(&device, 1, 4, 0.7)),
        nothing: None,
        distractor: lookalike(&device, FloatDType::F32),
    };
    let layers = [
        &model.first,
        model.inner.deeper[0].as_ref().unwrap(),
        &model.stack[0],
        &model.stack[1],
        model.maybe.as_ref().unwrap(),
    ];
    let by_hand: f64 = layers.iter().map(|l| scalar(l.kl())).sum();
    let got = scalar(total_kl(&model).unwrap());
    assert_all_close("total_kl (nested)", &[got], &[by_hand], 1e-5, 0.0);
    let concrete = scalar(model.inner.dropout.regularizer());
    let all = scalar(total_regularizer(&model).unwrap());
    assert_all_close(
        "total_regularizer (nested)",
        &[all],
        &[by_hand + concrete],
        1e-5,
        1e-6,
    );
}

/// A bayesianized model's KL is the sum over its weights of the closed form
/// `Σ ln(s/σ) + (σ² + μ²)/(2s²) − ½`, computed on the host.
fn bayesianized_kl_by_hand(device: Device) {
    #[derive(Module, Debug)]
    struct Mlp {
        hidden: Linear,
        out: Linear,
    }
    let scale = 0.8;
    for dtype in dtypes(&device) {
        let mlp = Mlp {
            hidden: LinearConfig::new(3, 4).init(&device),
            out: LinearConfig::new(4, 2).init(&device),
        };
        let mlp = vi_blocks::dtype::with_dtype(mlp, dtype);
        let config = BayesianizeConfig::new()
            .with_prior(Prior::Normal { scale })
            .with_init_rho(-2.0);
        let bnn = bayesianize(mlp, &config);
        let sigma = (1.0 + (-2.0f64).exp()).ln();
        let weights = [
            values(bnn.hidden.weight.base()),
            values(bnn.hidden.bias.as_ref().unwrap().base()),
            values(bnn.out.weight.base()),
            values(bnn.out.bias.as_ref().unwrap().base()),
        ];
        let by_hand: f64 = weights
            .iter()
            .flatten()
            .map(|mu| {
                (scale / sigma).ln() + (sigma * sigma + mu * mu) / (2.0 * scale * scale) - 0.5
            })
            .sum();
        let got = scalar(total_kl(&bnn).unwrap());
        let rtol = by_dtype(dtype, 1e-10, 1e-5);
        assert_all_close(
            &format!("bayesianized KL [{dtype:?}]"),
            &[got],
            &[by_hand],
            rtol,
            0.0,
        );
        for weight in [&bnn.hidden.weight, &bnn.out.weight] {
            assert!(
                VariationalParam::of(weight).is_some(),
                "a weight was not made Bayesian"
            );
        }
        // The same KL through each weight's distribution, vi-core's Normal ‖ Normal.
        let through_family = family_kl(&bnn.hidden.weight, scale)
            + family_kl(bnn.hidden.bias.as_ref().unwrap(), scale)
            + family_kl(&bnn.out.weight, scale)
            + family_kl(bnn.out.bias.as_ref().unwrap(), scale);
        let label = format!("bayesianized KL through the family [{dtype:?}]");
        assert_all_close(&label, &[through_family], &[by_hand], rtol, 0.0);
    }
}

/// `KL(q(w) ‖ N(0, scale²))` of a weight carrying a [`VariationalParam`], from its distribution.
fn family_kl<const D: usize>(weight: &Param<Tensor<D>>, scale: f64) -> f64 {
    let q = VariationalParam::of(weight)
        .expect("a Bayesian weight")
        .distribution(weight)
        .unwrap();
    let zero = weight.base().zeros_like();
    let prior = Normal::new_unchecked(zero.clone(), zero.ones_like().mul_scalar(scale))
        .unwrap()
        .to_event(1)
        .unwrap();
    scalar(q.kl_sum(&prior).unwrap())
}

/// Bayesianizing a model that already holds a Bayesian layer leaves the layer's `ρ` alone and
/// counts its KL once.
fn bayesianize_keeps_variational_weights(device: Device) {
    #[derive(Module, Debug)]
    struct Mixed {
        plain: Linear,
        bayes: BayesianLinear,
    }
    let mixed = Mixed {
        plain: LinearConfig::new(2, 2).init(&device),
        bayes: bayesian(&device, 2, 3, 1.0),
    };
    let before = scalar(mixed.bayes.kl());
    let bnn = bayesianize(mixed, &BayesianizeConfig::new());
    let rho = VariationalParam::of(bnn.bayes.weight()).unwrap();
    assert!(
        !matches!(&rho.rho, vi_blocks::nn::RawScale::Rank2(p) if VariationalParam::of(p).is_some()),
        "ρ itself was made Bayesian"
    );
    assert_all_close(
        "layer KL kept",
        &[scalar(bnn.bayes.kl())],
        &[before],
        1e-6,
        0.0,
    );
    let plain: f64 = [
        values(bnn.plain.weight.base()),
        values(bnn.plain.bias.as_ref().unwrap().base()),
    ]
    .iter()
    .flatten()
    .map(|mu| {
        let sigma = (1.0 + (-5.0f64).exp()).ln();
        -sigma.ln() + (sigma * sigma + mu * mu) / 2.0 - 0.5
    })
    .sum();
    let total = scalar(total_kl(&bnn).unwrap());
    assert_all_close("mixed total", &[total], &[before + plain], 1e-5, 0.0);
}
