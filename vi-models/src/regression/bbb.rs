//! Mean-field Bayes-by-backprop regression (Blundell et al. 2015) with local
//! reparameterization or flipout, evaluated like MC dropout.

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
use vi_blocks::kl::total_kl;
use vi_blocks::nn::{BayesianLinear, BayesianLinearConfig, LinearEstimator};

/// The model of a [`BbbRegressor`]: the network ([`BbbNet`]) and the observation noise.
#[derive(Config, Debug)]
pub struct BbbNetConfig {
    /// Hidden units of the single ReLU layer.
    pub hidden: usize,
    /// Model precision `τ` in the targets' original units: fixed (as in Gal's protocol), or the
    /// starting value when `learn_noise` is set.
    pub tau: f64,
    /// Learn `τ` by maximising the ELBO instead of fixing it.
    #[config(default = false)]
    pub learn_noise: bool,
    /// Gradient estimator of the Bayesian layers.
    #[config(default = "LinearEstimator::LocalReparameterization")]
    pub estimator: LinearEstimator,
}

/// Settings of fitting a [`BbbRegressor`]: the model, how it is optimised, and the passes
/// averaged at prediction.
#[derive(Config, Debug)]
pub struct BbbRegressorConfig {
    /// The model.
    pub model: BbbNetConfig,
    /// Passes over the training set.
    #[config(default = 400)]
    pub epochs: usize,
    /// Minibatch size.
    #[config(default = 128)]
    pub batch_size: usize,
    /// Adam's learning rate.
    #[config(default = 1e-2)]
    pub learning_rate: f64,
    /// Stochastic forward passes `T` at prediction.
    #[config(default = 10_000)]
    pub mc_samples: usize,
    /// Seed of the shuffling and of the weight noise.
    #[config(default = 0)]
    pub seed: u64,
}

/// `x → BayesianLinear(d, h) → ReLU → BayesianLinear(h, 1)` with `N(0, 1)` priors, and the
/// noise precision (standardised units).
#[derive(Module, Debug)]
pub struct BbbNet {
    /// Hidden layer.
    pub hidden: BayesianLinear,
    /// Output layer.
    pub output: BayesianLinear,
    /// `ln τ` (trainable only when the noise is learned).
    pub noise: NoisePrecision,
}

impl BbbNet {
    /// One stochastic pass, `[n, d] → [n, 1]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output.forward(relu(self.hidden.forward(x)))
    }
}

/// A fitted mean-field BNN regressor: standardised data, the ELBO
/// `(N/B) Σ ln N(y | f(x), 1/τ) − KL(q ‖ p)` (`τ` fixed or learned) maximised with Adam on minibatches, `T`-pass
/// predictions and the mixture test log-likelihood.
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use vi_models::data::Table;
/// use vi_models::regression::{BbbNetConfig, BbbRegressorConfig};
/// let x: Vec<f64> = (0..128).map(|i| i as f64 / 32.0).collect();
/// let train = Table { y: x.iter().map(|v| v.sin()).collect(), x, d: 1 };
/// let config = BbbRegressorConfig::new(BbbNetConfig::new(32, 100.0))
///     .with_epochs(80).with_batch_size(32).with_mc_samples(50);
/// let model = config.fit(&train, &Device::default(), |_, _| {}).unwrap();
/// assert!(model.evaluate(&train).unwrap().rmse < 0.35);
/// ```
pub type BbbRegressor = McRegressor<BbbNet>;

impl BbbNetConfig {
    /// The untrained network for `d` inputs, noise precision `tau_std` in standardised units.
    pub fn init(&self, d: usize, tau_std: f64, device: &Device) -> BbbNet {
        let layer = |i, o| {
            BayesianLinearConfig::new(i, o)
                .with_estimator(self.estimator)
                .init(device)
        };
        BbbNet {
            hidden: layer(d, self.hidden),
            output: layer(self.hidden, 1),
            noise: NoisePrecision::new(tau_std, self.learn_noise, device),
        }
    }
}

impl BbbRegressorConfig {
    /// Trains on `train`; `on_epoch(epoch, mean loss)` after each epoch (the loss is the negative
    /// ELBO per data point).
    ///
    /// # Errors
    /// [`ModelError::Setting`] for `τ ≤ 0`; [`ModelError::Table`] for an empty or ragged table;
    /// [`ModelError::Diverged`] for a non-finite loss (naming the epoch).
    pub fn fit(
        &self,
        train: &Table,
        device: &Device,
        on_epoch: impl FnMut(usize, f64),
    ) -> Result<BbbRegressor, ModelError> {
        settings::positive("tau", self.model.tau)?;
        settings::count("hidden units", self.model.hidden)?;
        settings::count("MC samples", self.mc_samples)?;
        let data = StandardizedTable::new(train)?;
        let (n, d) = (train.len(), train.d);
        // τ in standardised units: the noise variance 1/τ scales with 1/std_y².
        let tau_std = self.model.tau * data.y_scaler.std[0].powi(2);
        let ad = device.clone().autodiff();
        ad.seed(self.seed);
        let net = self.model.init(d, tau_std, &ad);
        let schedule = Schedule::new(
            self.epochs,
            self.batch_size,
            self.learning_rate,
            self.seed ^ 0xBBB,
        )?;
        let loss = |net: &BbbNet, x: Tensor<2>, y: Tensor<2>| {
            let nll = mean_gaussian_nll(net.forward(x), y, net.noise.log_precision());
            let kl = total_kl(net).ok_or(ModelError::NoPenalty("Bayesian"))?;
            Ok(nll + kl.mul_scalar(1.0 / n as f64))
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

impl StochasticRegressionNet for BbbNet {
    type Config = BbbRegressorConfig;
    const KIND: &'static str = "BbbRegressor";

    fn pass(&self, x: Tensor<2>) -> Tensor<2> {
        self.forward(x)
    }

    fn skeleton(config: &BbbRegressorConfig, d: usize, device: &Device) -> Self {
        config.model.init(d, 1.0, device)
    }
}
