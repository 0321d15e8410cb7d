//! Regressors with learned observation noise.

use burn::tensor::Device;
use vi_models::data::Table;
use vi_models::regression::{
    BbbNetConfig, BbbRegressorConfig, ConcreteDropoutNetConfig, ConcreteDropoutRegressorConfig,
};
use vi_tests::{device_tests, gaussian};

device_tests!(learned_noise_recovers_the_noise_level,);

/// With `learn_noise`, Bayes-by-backprop and concrete dropout recover the noise precision of
/// `y = sin(x) + 0.1 ε` (τ = 100) to within a factor of two, starting from τ = 1.
fn learned_noise_recovers_the_noise_level(device: Device) {
    let n = 400;
    let x: Vec<f64> = (0..n).map(|i| 4.0 * i as f64 / n as f64).collect();
    let e = gaussian(31, n);
    let train = Table {
        y: x.iter().zip(&e).map(|(v, e)| v.sin() + 0.1 * e).collect(),
        x,
        d: 1,
    };
    let bbb = BbbRegressorConfig::new(BbbNetConfig::new(32, 1.0).with_learn_noise(true))
        .with_epochs(150)
        .with_batch_size(50)
        .with_mc_samples(10)
        .fit(&train, &device, |_, _| {})
        .unwrap();
    let concrete = ConcreteDropoutRegressorConfig::new(
        ConcreteDropoutNetConfig::new(32, 1.0).with_learn_noise(true),
    )
    .with_epochs(150)
    .with_batch_size(50)
    .with_learning_rate(1e-2)
    .with_mc_samples(10)
    .fit(&train, &device, |_, _| {})
    .unwrap();
    for (name, tau) in [("BBB", bbb.tau), ("concrete", concrete.tau)] {
        println!("{name}: learned tau {tau:.1} (true 100)");
        assert!((50.0..200.0).contains(&tau), "{name}: learned tau {tau}");
    }
}
