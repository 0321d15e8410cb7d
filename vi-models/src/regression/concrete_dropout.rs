//! Concrete-dropout regression (Gal, Hron & Kendall 2017): Gal's one-hidden-layer network with
//! the dropout rates learned, evaluated like MC dropout.

use super::mc_regressor::{McRegressor, StochasticRegressionNet};
use super::noise::{NoisePrecision, mean_gaussian_nll};
use crate::data::{StandardizedTable, Table};
use crate::error::ModelError;
use crate::fit::{Schedule, fit_minibatches};
use crate::settings;
use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use vi_blocks::kl::total_regularizer;
use vi_blocks::nn::{ConcreteLinear, ConcreteLinearConfig};

/// The model of a [`ConcreteDropoutRegressor`]: the network ([`ConcreteDropoutNet`]), its
/// prior and the observation noise.
#[derive(Config, Debug)]
pub struct ConcreteDropoutNetConfig {
    /// Hidden units of the single ReLU layer.
    pub hidden: usize,
    /// Model precision `τ` in the targets' original units: fixed, or the starting value when
    /// `learn_noise` is set.
    pub tau: f64,
    /// Learn `τ` by maximising the objective instead of fixing it.
    #[config(default = false)]
    pub learn_noise: bool,
    /// Initial dropout probability of both layers.
    #[config(default = 0.1)]
    pub init_dropout: f64,
    /// Temperature of the concrete relaxation.
    #[config(default = 0.1)]
    pub temperature: f64,
    /// Prior lengthscale `l` of the weight term `l² ‖W‖² / (2 N (1 − p))`.
    #[config(default = 1e-2)]
    pub lengthscale: f64,
}

/// Settings of fitting a [`ConcreteDropoutRegressor`]: the model, how it is optimised, and the
/// passes averaged at prediction.
#[derive(Config, Debug)]
pub struct ConcreteDropoutRegressorConfig {
    /// The model.
    pub model: ConcreteDropoutNetConfig,
    /// Passes over the training set.
    #[config(default = 400)]
    pub epochs: usize,
    /// Minibatch size.
    #[config(default = 128)]
    pub batch_size: usize,
    /// Adam's learning rate.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Stochastic forward passes `T` at prediction.
    #[config(default = 10_000)]
    pub mc_samples: usize,
    /// Seed of the shuffling, the initial weights and the dropout masks.
    #[config(default = 0)]
    pub seed: u64,
}

/// `x → concrete dropout → Linear(d, h) → ReLU → concrete dropout → Linear(h, 1)` and the noise
/// precision, all in standardised units.
#[derive(Module, Debug)]
pub struct ConcreteDropoutNet {
    /// Hidden layer with concrete dropout on its inputs.
    pub hidden: ConcreteLinear,
    /// Output layer with concrete dropout on the hidden units.
    pub output: ConcreteLinear,
    /// `ln τ` in standardised units (trainable only when the noise is learned).
    pub noise: NoisePrecision,
}

impl ConcreteDropoutNet {
    /// One stochastic pass, `[n, d] → [n, 1]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output.forward(relu(self.hidden.forward(x)))
    }

    /// The learned dropout probabilities `[p_input, p_hidden]`.
    pub fn dropout_probabilities(&self) -> [f64; 2] {
        let p = |layer: &ConcreteLinear| layer.dropout_probability().into_scalar::<f64>();
        [p(&self.hidden), p(&self.output)]
    }
}

/// A fitted concrete-dropout regressor: standardised data; the per-point objective
/// `1/B Σ −ln N(y | f(x), 1/τ) + 1/N Σ_layers [l² ‖W‖² / (2 (1 − p)) − K H(p)]`
/// (the dropout KL of Gal et al. with `K` the layer's inputs and `H` the Bernoulli entropy)
/// minimised with Adam over the weights and the dropout logits (and `τ` when learned);
/// predictions average `T` passes with the learned rates.
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use vi_models::data::Table;
/// use vi_models::regression::{ConcreteDropoutNetConfig, ConcreteDropoutRegressorConfig};
/// let x: Vec<f64> = (0..128).map(|i| i as f64 / 32.0).collect();
/// let train = Table { y: x.iter().map(|v| v.sin()).collect(), x, d: 1 };
/// let config = ConcreteDropoutRegressorConfig::new(ConcreteDropoutNetConfig::new(32, 100.0))
///     .with_epochs(60).with_batch_size(32).with_learning_rate(1e-2).with_mc_samples(50);
/// let model = config.fit(&train, &Device::default(), |_, _| {}).unwrap();
/// assert!(model.evaluate(&train).unwrap().rmse < 0.3);
/// let [p_in, p_hidden] = model.net.dropout_probabilities();
/// assert!(p_in > 0.0 && p_hidden < 1.0);
/// ```
pub type ConcreteDropoutRegressor = McRegressor<ConcreteDropoutNet>;

impl ConcreteDropoutNetConfig {
    /// The untrained network for `d` inputs and `n` training rows whose targets have standard
    /// deviation `y_std`.
    pub fn init(&self, d: usize, n: usize, y_std: f64, device: &Device) -> ConcreteDropoutNet {
        let n = n.max(1) as f64;
        let layer = |i, o| {
            ConcreteLinearConfig::new(i, o, self.lengthscale.powi(2) / (2.0 * n), 1.0 / n)
                .with_init_prob(self.init_dropout)
                .with_temperature(self.temperature)
                .init(device)
        };
        ConcreteDropoutNet {
            hidden: layer(d, self.hidden),
            output: layer(self.hidden, 1),
            noise: NoisePrecision::new(self.tau * y_std * y_std, self.learn_noise, device),
        }
    }
}

impl ConcreteDropoutRegressorConfig {
    /// Trains on `train`; `on_epoch(epoch, mean loss)` after each epoch.
    ///
    /// # Errors
    /// [`ModelError::Setting`] for `τ ≤ 0` or an initial dropout outside `(0, 1)`;
    /// [`ModelError::Table`] for an empty or ragged table; [`ModelError::Diverged`] for a
    /// non-finite loss (naming the epoch).
    pub fn fit(
        &self,
        train: &Table,
        device: &Device,
        on_epoch: impl FnMut(usize, f64),
    ) -> Result<ConcreteDropoutRegressor, ModelError> {
        let model = &self.model;
        settings::positive("tau", model.tau)?;
        settings::probability("initial dropout", model.init_dropout, true)?;
        settings::positive("temperature", model.temperature)?;
        settings::positive("lengthscale", model.lengthscale)?;
        settings::count("hidden units", model.hidden)?;
        settings::count("MC samples", self.mc_samples)?;
        let data = StandardizedTable::new(train)?;
        let ad = device.clone().autodiff();
        ad.seed(self.seed);
        let net = model.init(train.d, train.len(), data.y_scaler.std[0], &ad);
        let schedule = Schedule::new(
            self.epochs,
            self.batch_size,
            self.learning_rate,
            self.seed ^ 0xC0C0,
        )?;
        let loss = |net: &ConcreteDropoutNet, x: Tensor<2>, y: Tensor<2>| {
            let nll = mean_gaussian_nll(net.forward(x), y, net.noise.log_precision());
            let penalty =
                total_regularizer(net).ok_or(ModelError::NoPenalty("concrete-dropout"))?;
            Ok(nll + penalty)
        };
        let net = fit_minibatches(net, &data, &ad, &schedule, loss, on_epoch)?;
        let std = data.y_scaler.std[0];
        let tau = net.noise.precision() / (std * std);
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

impl StochasticRegressionNet for ConcreteDropoutNet {
    type Config = ConcreteDropoutRegressorConfig;
    const KIND: &'static str = "ConcreteDropoutRegressor";

    fn pass(&self, x: Tensor<2>) -> Tensor<2> {
        self.forward(x)
    }

    fn skeleton(config: &ConcreteDropoutRegressorConfig, d: usize, device: &Device) -> Self {
        config.model.init(d, 1, 1.0, device)
    }
}
