//! Saving and loading models.

use crate::common::{Inner, Outer, layer};
use burn::module::Module;
use burn::nn::LinearConfig;
use burn::tensor::{Device, FloatDType};
use vi_blocks::kl::total_kl;
use vi_blocks::nn::{BayesianLinearConfig, LinearEstimator, Prior};
use vi_tests::{device_tests, noise, tensor, values};

device_tests!(save_load_round_trip,);

/// Saving with Burn's recorder and loading into a freshly initialised model restores every
/// parameter bit for bit (so the same seed gives the same predictions) and the posterior-mean
/// predictions.
fn save_load_round_trip(device: Device) {
    let dtype = FloatDType::F32;
    let model = saved_model(&device, dtype);
    let x = tensor(noise(120, 6), [2, 3], &device, dtype);
    let predict = |m: &Outer| mean_predictions(m, x.clone());
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
    let fresh = fresh_model(&device);
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

/// The model that is saved: a Bayesian layer, a plain one and a Bayesian head.
fn saved_model(device: &Device, dtype: FloatDType) -> Outer {
    Outer {
        inner: Inner {
            hidden: layer(device, dtype, (3, 4), 100, Prior::Normal { scale: 1.0 }),
            plain: LinearConfig::new(4, 4).init(device),
        },
        heads: vec![layer(
            device,
            dtype,
            (4, 2),
            110,
            Prior::Normal { scale: 0.5 },
        )],
        extra: None,
        encoder: LinearConfig::new(3, 3).init(device),
    }
}

/// A freshly initialised model of the same structure.
fn fresh_model(device: &Device) -> Outer {
    Outer {
        inner: Inner {
            hidden: BayesianLinearConfig::new(3, 4).init(device),
            plain: LinearConfig::new(4, 4).init(device),
        },
        heads: vec![
            BayesianLinearConfig::new(4, 2)
                .with_prior(Prior::Normal { scale: 0.5 })
                .init(device),
        ],
        extra: None,
        encoder: LinearConfig::new(3, 3).init(device),
    }
}

/// The posterior-mean predictions of the model at `x`.
fn mean_predictions(m: &Outer, x: burn::tensor::Tensor<2>) -> Vec<f64> {
    let h = m
        .inner
        .hidden
        .clone()
        .with_estimator(LinearEstimator::Mean)
        .forward(m.encoder.forward(x));
    let h = m.inner.plain.forward(h);
    values(
        m.heads[0]
            .clone()
            .with_estimator(LinearEstimator::Mean)
            .forward(h),
    )
}
