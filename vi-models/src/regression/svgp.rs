//! Sparse variational GP regression with minibatches: fit, predict, evaluate.

use super::prediction::{RegressionMetrics, RegressionPrediction};
use crate::checkpoint::{self, Checkpoint, Fitted, missing};
use crate::data::{Rows, StandardizedTable, Standardizer, Table, check_targets, permutation};
use crate::error::ModelError;
use crate::fit::{Schedule, fit_minibatches};
use crate::settings;
use crate::tensors::{host_values, input_chunks};
use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use std::path::Path;
use vi_blocks::family::FullRankGaussian;
use vi_blocks::gp::kernel::{Rbf, RbfConfig, ScaleKernel, ScaleKernelConfig};
use vi_blocks::gp::likelihood::{GaussianLikelihood, GaussianLikelihoodConfig, Likelihood};
use vi_blocks::gp::{AnyStrategy, InducingDistribution, Svgp, SvgpConfig, Unwhitened, Whitened};
use vi_core::elbo::Elbo;

/// The model of an [`SvgpRegressor`]: a sparse GP with `M` inducing points and Gaussian noise.
#[derive(Config, Debug)]
pub struct SvgpRegressionModelConfig {
    /// Inducing points `M` (`fit` uses at most the number of training rows).
    #[config(default = 100)]
    pub num_inducing: usize,
    /// Whitened strategy.
    #[config(default = true)]
    pub whiten: bool,
}

/// Settings of fitting an [`SvgpRegressor`]: the model, and how it is optimised.
#[derive(Config, Debug)]
pub struct SvgpRegressorConfig {
    /// The model.
    #[config(default = "SvgpRegressionModelConfig::new()")]
    pub model: SvgpRegressionModelConfig,
    /// Passes over the training set.
    #[config(default = 200)]
    pub epochs: usize,
    /// Minibatch size.
    #[config(default = 256)]
    pub batch_size: usize,
    /// Adam's learning rate.
    #[config(default = 0.01)]
    pub learning_rate: f64,
    /// Seed of the shuffling and of the inducing-point choice.
    #[config(default = 0)]
    pub seed: u64,
}

/// The trained layer and likelihood.
#[derive(Module, Debug)]
pub struct SvgpRegressionModel {
    /// `q(f)`: `ScaleKernel(RBF-ARD)`, constant mean, full-rank `q(u)`.
    pub gp: Svgp<ScaleKernel<Rbf>, FullRankGaussian, AnyStrategy>,
    /// Learned Gaussian noise.
    pub likelihood: GaussianLikelihood,
}

/// A fitted SVGP regressor (Hensman, Fusi & Lawrence 2013): inputs and targets standardised with
/// the training statistics, inducing points initialised at random training rows and learned,
/// the per-point ELBO `(1/B) Σ E[ln p(yᵢ|fᵢ)] − KL/N` maximised with Adam on minibatches (memory
/// constant in `N`).
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use vi_models::data::Table;
/// use vi_models::regression::{SvgpRegressionModelConfig, SvgpRegressorConfig};
/// let x: Vec<f64> = (0..64).map(|i| i as f64 / 16.0).collect();
/// let train = Table { y: x.iter().map(|v| v.sin()).collect(), x, d: 1 };
/// let config = SvgpRegressorConfig::new()
///     .with_model(SvgpRegressionModelConfig::new().with_num_inducing(8))
///     .with_epochs(40)
///     .with_batch_size(32);
/// let model = config.fit(&train, &Device::default(), |_, _| {}).unwrap();
/// let metrics = model.evaluate(&train).unwrap();
/// assert!(metrics.rmse < 0.3, "{metrics:?}");
/// ```
#[derive(Debug)]
pub struct SvgpRegressor {
    /// The settings it was fitted with.
    pub config: SvgpRegressorConfig,
    /// The trained modules (on the inference device).
    pub model: SvgpRegressionModel,
    /// Input standardisation.
    pub x_scaler: Standardizer,
    /// Target standardisation.
    pub y_scaler: Standardizer,
    /// The device predictions run on.
    pub device: Device,
}

impl SvgpRegressionModelConfig {
    /// The untrained model for `d` inputs, its `num_inducing` inducing points drawn from
    /// `N(0, I)` (`fit` starts them at training rows).
    pub fn init(&self, d: usize, device: &Device) -> SvgpRegressionModel {
        let kernel = ScaleKernelConfig::new().init(RbfConfig::new(d).init(device), device);
        SvgpRegressionModel {
            gp: SvgpConfig::new(d, self.num_inducing).init_with(
                kernel,
                FullRankGaussian::standard(1, self.num_inducing, device),
                if self.whiten {
                    AnyStrategy::from(Whitened)
                } else {
                    AnyStrategy::from(Unwhitened)
                },
                device,
            ),
            likelihood: GaussianLikelihoodConfig::new().init(device),
        }
    }
}

impl SvgpRegressorConfig {
    /// Trains on `train`; `on_epoch(epoch, mean loss)` is called after each epoch (the loss is the
    /// negative per-point ELBO).
    ///
    /// # Errors
    /// [`ModelError::Table`] for an empty or ragged table; [`ModelError::Gp`] when `K_zz` cannot
    /// be factorised; [`ModelError::Elbo`] when the objective becomes non-finite.
    pub fn fit(
        &self,
        train: &Table,
        device: &Device,
        on_epoch: impl FnMut(usize, f64),
    ) -> Result<SvgpRegressor, ModelError> {
        settings::count("inducing points", self.model.num_inducing)?;
        let data = StandardizedTable::new(train)?;
        let (n, d) = (train.len(), train.d);
        let ad = device.clone().autodiff();
        let mut state = self.seed;
        let m = self.model.num_inducing.min(n);
        let (z, _) = data.batch(&permutation(n, &mut state)[..m], &ad);
        let mut model = self.model.clone().with_num_inducing(m).init(d, &ad);
        model.gp = model.gp.with_inducing_points(z);
        let schedule = Schedule::new(self.epochs, self.batch_size, self.learning_rate, state)?;
        let loss = |model: &SvgpRegressionModel, x: Tensor<2>, y: Tensor<2>| {
            let elbo = Elbo::new(n).with_batch_size(x.dims()[0]);
            // One device round trip per step: K_zz's check travels with the ELBO's.
            let step = model.gp.elbo(x, &elbo, |f| {
                model.likelihood.expected_log_likelihood_sum(f, y.clone())
            })?;
            Ok(step.terms.scaled_loss(1.0 / n as f64))
        };
        let model = fit_minibatches(model, &data, &ad, &schedule, loss, on_epoch)?;
        Ok(SvgpRegressor {
            config: self.clone(),
            model: model.valid(),
            x_scaler: data.x_scaler,
            y_scaler: data.y_scaler,
            device: device.clone(),
        })
    }
}

impl SvgpRegressor {
    /// The predictive distribution of `y` at rows of `x` (row-major, `d` features), in the
    /// original units, computed in chunks of 1024 rows.
    ///
    /// # Errors
    /// As [`Rows::check`] against the model's features; [`ModelError::Gp`] when `K_zz` cannot
    /// be factorised.
    pub fn predict(&self, x: Rows<'_>) -> Result<RegressionPrediction, ModelError> {
        let prior = self.model.gp.inducing_prior()?;
        let (sy, my) = (self.y_scaler.std[0], self.y_scaler.mean[0]);
        let (mut mean, mut variance) = (Vec::new(), Vec::new());
        for x in input_chunks(&self.x_scaler, x, 1024, &self.device)? {
            let f = self.model.gp.marginals(&prior, x)?;
            let y = self.model.likelihood.predictive(&f);
            mean.extend(host_values(y.mean)?.into_iter().map(|m| m * sy + my));
            variance.extend(host_values(y.variance)?.into_iter().map(|v| v * sy * sy));
        }
        Ok(RegressionPrediction { mean, variance })
    }

    /// RMSE and test log-likelihood on `test`.
    ///
    /// # Errors
    /// As [`SvgpRegressor::predict`]; [`ModelError::Count`] or [`ModelError::NonFinite`] for
    /// the targets; [`ModelError::Metric`] for a table without rows.
    pub fn evaluate(&self, test: &Table) -> Result<RegressionMetrics, ModelError> {
        let p = self.predict(test.rows())?;
        check_targets(&test.y, p.mean.len())?;
        Ok(p.evaluate(&test.y)?)
    }
}

impl Checkpoint for SvgpRegressor {
    fn save(&self, dir: impl AsRef<Path>) -> Result<(), ModelError> {
        let fitted = Fitted::new(
            "SvgpRegressor",
            self.config.clone(),
            self.x_scaler.clone(),
            Some(self.y_scaler.clone()),
            None,
            vec![self.model.gp.inducing_points.dims()[1]],
        );
        checkpoint::save(dir.as_ref(), &self.model, fitted)
    }

    fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self, ModelError> {
        let dir = dir.as_ref();
        let f: Fitted<SvgpRegressorConfig> = checkpoint::load_fitted(dir, "SvgpRegressor")?;
        let m = *f
            .sizes
            .first()
            .ok_or_else(|| missing(dir, "inducing size"))?;
        let skeleton = f
            .config
            .model
            .clone()
            .with_num_inducing(m)
            .init(f.x_scaler.mean.len(), device);
        Ok(Self {
            model: checkpoint::load_module(dir, &f, skeleton)?,
            x_scaler: f.x_scaler,
            y_scaler: f.y_scaler.ok_or_else(|| missing(dir, "y_scaler"))?,
            config: f.config,
            device: device.clone(),
        })
    }
}
