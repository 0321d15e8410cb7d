//! Model-wide KL collection: nested models and bayesianized ones.

use crate::common::{Inner, Outer, layer};
use burn::nn::LinearConfig;
use burn::tensor::{Device, FloatDType};
use vi_blocks::kl::total_kl;
use vi_blocks::nn::{BayesianizeConfig, Prior, bayesianize};
use vi_blocks::predict::predict_mc;
use vi_tests::{assert_all_close, by_dtype, device_tests, dtypes, tensor, values};

device_tests!(nested_model_total_kl, bayesianize_linear_model,);

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
        // f32 (the trained Linear's dtype) rounding of a sum of a few terms.
        (got - want_kl).abs() <= 1e-5 * want_kl.abs(),
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
