//! Quickstart: a Bayesian neural network composed from vi-blocks (two Bayesian layers and a
//! Gaussian likelihood with learned noise), trained by maximising the ELBO on the Concrete UCI
//! set, then evaluated on held-out rows (RMSE, log-likelihood) and plotted.
//!
//! ```text
//! cargo run --release -p vi-examples --example quickstart                  # CPU (flex)
//! cargo run --release -p vi-examples --example quickstart --features wgpu  # GPU
//! ```

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, activation::relu};
use indicatif::ProgressBar;
use vi_blocks::gp::GaussianMarginals;
use vi_blocks::gp::likelihood::{GaussianLikelihood, GaussianLikelihoodConfig, Likelihood};
use vi_blocks::nn::{BayesianLinear, BayesianLinearConfig};
use vi_blocks::{kl::total_kl, predict::predict_mc};
use vi_core::elbo::Elbo;
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
    let device = Device::default(); // the compiled-in backend; BURN_DEVICE overrides
    let ad = device.clone().autodiff();
    let split = UciDataset::load("../shared/data/uci/concrete")?.split(0)?;
    let train = StandardizedTable::new(&split.train)?;
    let (n, d) = (split.train.len(), split.train.d);
    let mut model = Bnn {
        hidden: BayesianLinearConfig::new(d, 50).init(&ad),
        output: BayesianLinearConfig::new(50, 1).init(&ad),
        likelihood: GaussianLikelihoodConfig::new().init(&ad),
    };
    let (mut optim, mut seed, epochs) = (AdamConfig::new().init(), 0, 400);
    let bar = ProgressBar::new(epochs);
    for _ in 0..epochs {
        for batch in permutation(n, &mut seed).chunks(32) {
            let (x, y) = train.batch(batch, &ad);
            let f = GaussianMarginals::point(model.forward(x));
            let ell = model.likelihood.expected_log_likelihood(&f, y).sum();
            let kl = total_kl(&model).expect("Bayesian layers");
            let elbo = Elbo::new(n)
                .with_batch_size(batch.len())
                .from_terms(ell, kl)?;
            let grads =
                GradientsParams::from_grads(elbo.loss().div_scalar(n as f32).backward(), &model);
            model = optim.step(1e-2, model, grads);
        }
        bar.inc(1);
    }
    bar.finish();
    let (model, x_test) = (model.valid(), train.inputs(&split.test, &device));
    let f = predict_mc(|| model.forward(x_test.clone()), 500, false);
    let y = model.likelihood.predictive(&GaussianMarginals::from(f));
    let prediction = train.prediction(&y);
    let metrics = prediction.evaluate(&split.test.y);
    println!(
        "Concrete, split 0: test RMSE {:.2}, test log-likelihood {:.2}",
        metrics.rmse, metrics.test_log_likelihood
    );
    vi_models::plot::predicted_vs_observed("quickstart.png", &split.test.y, &prediction)?;
    println!("observed vs predicted, ±2σ: quickstart.png");
    Ok(())
}
