//! Quickstart: a Bayesian neural network composed from vi-blocks (two Bayesian layers and a
//! Gaussian likelihood with learned noise), trained by maximising the ELBO on the Concrete UCI
//! set, then evaluated on held-out rows (RMSE, log-likelihood) and plotted.
//!
//! ```text
//! cargo run --release -p vi-examples --example quickstart                  # CPU (flex)
//! cargo run --release -p vi-examples --example quickstart --features wgpu  # GPU
//! ```

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, activation::relu};
use indicatif::ProgressBar;
use vi_blocks::gp::GaussianMarginals;
use vi_blocks::gp::likelihood::{GaussianLikelihood, GaussianLikelihoodConfig, Likelihood};
use vi_blocks::nn::{BayesianLinear, BayesianLinearConfig};
use vi_blocks::{kl::total_kl, predict::predict_mc};
use vi_core::elbo::Elbo;
use vi_core::optim::FusedAdamConfig;
use vi_models::data::{StandardizedTable, UciDataset, permutation};

/// `y = W₂ relu(W₁ x + b₁) + b₂ + ε`, mean-field `q(W, b)`, `ε ~ N(0, σ²)`.
#[derive(Module, Debug)]
struct Bnn {
    hidden: BayesianLinear,
    output: BayesianLinear,
    likelihood: GaussianLikelihood,
}

impl Bnn {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output.forward(relu(self.hidden.forward(x)))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (device, epochs) = (Device::default(), 400); // the compiled-in backend (BURN_DEVICE)
    let ad = device.clone().autodiff();
    let split = UciDataset::load("../shared/data/uci/concrete")?.split(0)?;
    let (train, n, d) = (
        StandardizedTable::new(&split.train)?,
        split.train.len(),
        split.train.d,
    );
    let mut model = Bnn {
        hidden: BayesianLinearConfig::new(d, 50).init(&ad),
        output: BayesianLinearConfig::new(50, 1).init(&ad),
        likelihood: GaussianLikelihoodConfig::new().init(&ad),
    };
    let (mut optim, mut seed, bar) = (FusedAdamConfig::new().init(), 0, ProgressBar::new(epochs));
    for _ in 0..epochs {
        for batch in permutation(n, &mut seed).chunks(32) {
            let (x, y) = train.batch(batch, &ad);
            let f = GaussianMarginals::point(model.forward(x));
            let ell = model.likelihood.expected_log_likelihood(&f, y).sum();
            let elbo = Elbo::new(n).with_batch_size(batch.len());
            let loss = elbo.from_terms(ell, total_kl(&model).unwrap())?.loss();
            let grads = GradientsParams::from_grads(loss.div_scalar(n as f32).backward(), &model);
            model = optim.step(1e-2, model, grads);
        }
        bar.inc(1);
    }
    let (model, x_test) = (model.valid(), train.inputs(&split.test, &device)?);
    let f = predict_mc(|| model.forward(x_test.clone()), 500, false);
    let prediction = train.prediction(&model.likelihood.predictive(&f.into()))?;
    let m = prediction.evaluate(&split.test.y)?;
    println!(
        "\ntest RMSE {:.2}, test log-likelihood {:.2}",
        m.rmse, m.test_log_likelihood
    );
    vi_models::plot::predicted_vs_observed("quickstart.png", &split.test.y, &prediction)?;
    Ok(()) // quickstart.png: observed vs predicted with ±2σ bars
}
