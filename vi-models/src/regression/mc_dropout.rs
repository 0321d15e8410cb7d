//! MC-dropout regression (Gal & Ghahramani 2016) with the UCI protocol's training and
//! evaluation.

use super::mc_regressor::{McRegressor, StochasticRegressionNet};
use crate::data::{StandardizedTable, Table};
use crate::error::ModelError;
use crate::fit::{Schedule, fit_minibatches};
use crate::settings;
use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use vi_blocks::nn::{McDropout, McDropoutConfig};

/// The model of an [`McDropoutRegressor`]: the network ([`McDropoutNet`]), its prior and the
/// observation noise.
#[derive(Config, Debug)]
pub struct McDropoutNetConfig {
    /// Hidden units of the single ReLU layer.
    pub hidden: usize,
    /// Dropout probability `p` (on the inputs and on the hidden layer).
    pub dropout: f64,
    /// Model precision `τ` (in the targets' original units).
    pub tau: f64,
    /// Prior lengthscale `l` of the weight decay `l² (1 − p) / (2 N τ)`.
    #[config(default = 1e-2)]
    pub lengthscale: f64,
}

/// Settings of fitting an [`McDropoutRegressor`]: the model, how it is optimised, and the
/// passes averaged at prediction.
#[derive(Config, Debug)]
pub struct McDropoutRegressorConfig {
    /// The model.
    pub model: McDropoutNetConfig,
    /// Passes over the training set.
    #[config(default = 400)]
    pub epochs: usize,
    /// Minibatch size.
    #[config(default = 128)]
    pub batch_size: usize,
    /// Adam's learning rate (Keras' default, as in the paper's code).
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Stochastic forward passes `T` at prediction.
    #[config(default = 10_000)]
    pub mc_samples: usize,
    /// Seed of the shuffling and of the dropout masks.
    #[config(default = 0)]
    pub seed: u64,
}

/// `x → dropout → Linear(d, h) → ReLU → dropout → Linear(h, 1)`, dropout always on.
#[derive(Module, Debug)]
pub struct McDropoutNet {
    /// Dropout on the inputs.
    pub input_dropout: McDropout,
    /// Hidden layer.
    pub hidden: Linear,
    /// Dropout on the hidden units.
    pub hidden_dropout: McDropout,
    /// Output layer.
    pub output: Linear,
}

impl McDropoutNet {
    /// One stochastic pass, `[n, d] → [n, 1]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let h = relu(self.hidden.forward(self.input_dropout.forward(x)));
        self.output.forward(self.hidden_dropout.forward(h))
    }

    /// `‖W₁‖² + ‖W₂‖²` (the weights, not the biases, as in the paper's Keras code).
    fn weight_norm(&self) -> Tensor<1> {
        self.hidden.weight.val().square().sum() + self.output.weight.val().square().sum()
    }
}

/// A fitted MC-dropout regressor: inputs and targets standardised with the training statistics,
/// squared error plus the weight decay `l² (1 − p) / (2 N τ) · Σ‖W‖²` minimised with Adam;
/// predictions average `T` stochastic passes.
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use vi_models::data::Table;
/// use vi_models::regression::{McDropoutNetConfig, McDropoutRegressorConfig};
/// let x: Vec<f64> = (0..128).map(|i| i as f64 / 32.0).collect();
/// let train = Table { y: x.iter().map(|v| v.sin()).collect(), x, d: 1 };
/// let config = McDropoutRegressorConfig::new(McDropoutNetConfig::new(32, 0.05, 100.0))
///     .with_epochs(60).with_batch_size(32).with_learning_rate(1e-2).with_mc_samples(50);
/// let model = config.fit(&train, &Device::default(), |_, _| {}).unwrap();
/// assert!(model.evaluate(&train).unwrap().rmse < 0.3);
/// ```
pub type McDropoutRegressor = McRegressor<McDropoutNet>;

impl McDropoutNetConfig {
    /// The untrained network for `d` inputs.
    pub fn init(&self, d: usize, device: &Device) -> McDropoutNet {
        McDropoutNet {
            input_dropout: McDropoutConfig::new(self.dropout).init(),
            hidden: LinearConfig::new(d, self.hidden).init(device),
            hidden_dropout: McDropoutConfig::new(self.dropout).init(),
            output: LinearConfig::new(self.hidden, 1).init(device),
        }
    }
}

impl McDropoutRegressorConfig {
    /// Trains on `train`; `on_epoch(epoch, mean loss)` after each epoch.
    ///
    /// # Errors
    /// [`ModelError::Setting`] for a dropout outside `[0, 1)` or `τ ≤ 0`; [`ModelError::Table`]
    /// for an empty or ragged table; [`ModelError::Diverged`] naming the epoch when the loss
    /// becomes non-finite.
    pub fn fit(
        &self,
        train: &Table,
        device: &Device,
        on_epoch: impl FnMut(usize, f64),
    ) -> Result<McDropoutRegressor, ModelError> {
        let model = &self.model;
        settings::probability("dropout", model.dropout, false)?;
        settings::positive("tau", model.tau)?;
        settings::positive("lengthscale", model.lengthscale)?;
        settings::count("hidden units", model.hidden)?;
        settings::count("MC samples", self.mc_samples)?;
        let data = StandardizedTable::new(train)?;
        let (n, d) = (train.len(), train.d);
        let ad = device.clone().autodiff();
        ad.seed(self.seed);
        let net = model.init(d, &ad);
        let decay =
            model.lengthscale.powi(2) * (1.0 - model.dropout) / (2.0 * n as f64 * model.tau);
        let schedule = Schedule::new(
            self.epochs,
            self.batch_size,
            self.learning_rate,
            self.seed ^ 0xD1CE,
        )?;
        let loss = |net: &McDropoutNet, x: Tensor<2>, y: Tensor<2>| {
            Ok((net.forward(x) - y).square().mean() + net.weight_norm().mul_scalar(decay))
        };
        let net = fit_minibatches(net, &data, &ad, &schedule, loss, on_epoch)?;
        let tau = model.tau;
        Ok(McRegressor::trained(
            self.clone(),
            net,
            data,
            tau,
            self.mc_samples,
            device,
        ))
    }
}

impl StochasticRegressionNet for McDropoutNet {
    type Config = McDropoutRegressorConfig;
    const KIND: &'static str = "McDropoutRegressor";

    fn pass(&self, x: Tensor<2>) -> Tensor<2> {
        self.forward(x)
    }

    fn skeleton(config: &McDropoutRegressorConfig, d: usize, device: &Device) -> Self {
        config.model.init(d, device)
    }
}
