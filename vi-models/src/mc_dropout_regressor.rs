//! MC-dropout regression (Gal & Ghahramani 2016) with the UCI protocol's training and
//! evaluation.

use crate::checkpoint::{self, Checkpoint, Fitted, missing};
use crate::data::{StandardizedTable, Standardizer, Table};
use crate::metrics::rmse;
use crate::svgp_regressor::{ModelError, RegressionMetrics};
use crate::training::{Schedule, train_minibatches};
use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use std::path::Path;
use vi_blocks::nn::{McDropout, McDropoutConfig};

/// Settings of [`McDropoutRegressor`] training.
#[derive(Config, Debug)]
pub struct McDropoutRegressorConfig {
    /// Hidden units of the single ReLU layer.
    pub hidden: usize,
    /// Dropout probability `p` (on the inputs and on the hidden layer).
    pub dropout: f64,
    /// Model precision `τ` (in the targets' original units).
    pub tau: f64,
    /// Passes over the training set.
    #[config(default = 400)]
    pub epochs: usize,
    /// Minibatch size.
    #[config(default = 128)]
    pub batch_size: usize,
    /// Adam's learning rate (Keras' default, as in the paper's code).
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Prior lengthscale `l` of the weight decay `l² (1 − p) / (2 N τ)`.
    #[config(default = 1e-2)]
    pub lengthscale: f64,
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
/// use vi_models::McDropoutRegressorConfig;
/// use vi_models::data::Table;
/// let x: Vec<f64> = (0..128).map(|i| i as f64 / 32.0).collect();
/// let train = Table { y: x.iter().map(|v| v.sin()).collect(), x, d: 1 };
/// let config = McDropoutRegressorConfig::new(32, 0.05, 100.0).with_epochs(60).with_batch_size(32)
///     .with_learning_rate(1e-2).with_mc_samples(50);
/// let model = config.fit(&train, &Device::default(), |_, _| {}).unwrap();
/// assert!(model.evaluate(&train).unwrap().rmse < 0.3);
/// ```
#[derive(Debug)]
pub struct McDropoutRegressor {
    /// The settings it was fitted with.
    pub config: McDropoutRegressorConfig,
    /// The trained network (on the inference device).
    pub net: McDropoutNet,
    /// Input standardisation.
    pub x_scaler: Standardizer,
    /// Target standardisation.
    pub y_scaler: Standardizer,
    /// Model precision `τ`.
    pub tau: f64,
    /// Passes `T` at prediction.
    pub mc_samples: usize,
    /// The device predictions run on.
    pub device: Device,
}

/// `T` passes summarised per test row, in the original units.
#[derive(Debug, Clone)]
pub struct McRegressionPrediction {
    /// MC mean `1/T Σ_t ŷ_t`.
    pub mean: Vec<f64>,
    /// `ln Σ_t exp(−τ/2 (y − ŷ_t)²)` per row when targets were given (for the test
    /// log-likelihood).
    pub log_sum_exp: Option<Vec<f64>>,
}

impl McDropoutRegressorConfig {
    /// The untrained network for `d` inputs.
    pub fn init(&self, d: usize, device: &Device) -> McDropoutNet {
        McDropoutNet {
            input_dropout: McDropoutConfig::new(self.dropout).init(),
            hidden: LinearConfig::new(d, self.hidden).init(device),
            hidden_dropout: McDropoutConfig::new(self.dropout).init(),
            output: LinearConfig::new(self.hidden, 1).init(device),
        }
    }

    /// Trains on `train`; `on_epoch(epoch, mean loss)` after each epoch.
    ///
    /// # Errors
    /// [`ModelError::Data`] for an empty or ragged table or a dropout outside `[0, 1)`;
    /// [`ModelError::Data`] naming the epoch when the loss becomes non-finite.
    pub fn fit(
        &self,
        train: &Table,
        device: &Device,
        on_epoch: impl FnMut(usize, f64),
    ) -> Result<McDropoutRegressor, ModelError> {
        if !(0.0..1.0).contains(&self.dropout) || self.tau <= 0.0 {
            return Err(ModelError::Data(format!(
                "dropout {} must be in [0, 1) and tau {} > 0",
                self.dropout, self.tau
            )));
        }
        let data = StandardizedTable::new(train)?;
        let (n, d) = (train.len(), train.d);
        let ad = device.clone().autodiff();
        ad.seed(self.seed);
        let net = self.init(d, &ad);
        let decay = self.lengthscale.powi(2) * (1.0 - self.dropout) / (2.0 * n as f64 * self.tau);
        let schedule = Schedule {
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            seed: self.seed ^ 0xD1CE,
        };
        let loss = |net: &McDropoutNet, x: Tensor<2>, y: Tensor<2>| {
            Ok((net.forward(x) - y).square().mean() + net.weight_norm().mul_scalar(decay))
        };
        let net = train_minibatches(net, &data, &ad, &schedule, loss, on_epoch)?;
        Ok(McDropoutRegressor {
            config: self.clone(),
            net: net.valid(),
            x_scaler: data.x_scaler,
            y_scaler: data.y_scaler,
            tau: self.tau,
            mc_samples: self.mc_samples.max(1),
            device: device.clone(),
        })
    }
}

impl McDropoutRegressor {
    /// `T` stochastic passes over the rows of `x` (original units); with `y`, also the per-row
    /// `logsumexp_t(−τ/2 (y − ŷ_t)²)` for the test log-likelihood.
    ///
    /// # Errors
    /// [`ModelError::Data`] for ragged input.
    pub fn predict(
        &self,
        x: &[f64],
        y: Option<&[f64]>,
    ) -> Result<McRegressionPrediction, ModelError> {
        let passes = McPasses {
            x_scaler: &self.x_scaler,
            y_scaler: &self.y_scaler,
            tau: self.tau,
            samples: self.mc_samples,
            device: &self.device,
        };
        passes.run(|x| self.net.forward(x), x, y)
    }

    /// Test RMSE of the MC mean and Gal's test log-likelihood
    /// `1/n Σᵢ [logsumexp_t(−τ/2 (yᵢ − ŷᵢₜ)²) − ln T − ½ ln 2π + ½ ln τ]`.
    ///
    /// # Errors
    /// As [`McDropoutRegressor::predict`].
    pub fn evaluate(&self, test: &Table) -> Result<RegressionMetrics, ModelError> {
        let p = self.predict(&test.x, Some(&test.y))?;
        Ok(mixture_metrics(&p, &test.y, self.tau, self.mc_samples))
    }
}

impl Checkpoint for McDropoutRegressor {
    fn save(&self, dir: impl AsRef<Path>) -> Result<(), ModelError> {
        let fitted = Fitted {
            kind: "McDropoutRegressor".into(),
            config: self.config.clone(),
            x_scaler: self.x_scaler.clone(),
            y_scaler: Some(self.y_scaler.clone()),
            tau: Some(self.tau),
            sizes: vec![],
        };
        checkpoint::save(dir.as_ref(), &self.net, &fitted)
    }

    fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self, ModelError> {
        let dir = dir.as_ref();
        let f: Fitted<McDropoutRegressorConfig> =
            checkpoint::load_fitted(dir, "McDropoutRegressor")?;
        let skeleton = f.config.init(f.x_scaler.mean.len(), device);
        Ok(Self {
            net: checkpoint::load_module(dir, skeleton)?,
            x_scaler: f.x_scaler,
            y_scaler: f.y_scaler.ok_or_else(|| missing(dir, "y_scaler"))?,
            tau: f.tau.ok_or_else(|| missing(dir, "tau"))?,
            mc_samples: f.config.mc_samples.max(1),
            config: f.config,
            device: device.clone(),
        })
    }
}

/// What `T` stochastic passes need: the scalers, `τ` in the original units, `T`, the device.
pub(crate) struct McPasses<'a> {
    pub x_scaler: &'a Standardizer,
    pub y_scaler: &'a Standardizer,
    pub tau: f64,
    pub samples: usize,
    pub device: &'a Device,
}

impl McPasses<'_> {
    /// Runs `pass` (standardised `[rows, d] → [rows, 1]`, stochastic) `T` times over `x`,
    /// stacking as many passes per call as fit in about a million rows; accumulates the mean and,
    /// with `y`, a streaming log-sum-exp of `−τ/2 (y − ŷ_t)²` per row.
    pub fn run(
        &self,
        pass: impl Fn(Tensor<2>) -> Tensor<2>,
        x: &[f64],
        y: Option<&[f64]>,
    ) -> Result<McRegressionPrediction, ModelError> {
        let d = self.x_scaler.mean.len();
        if !x.len().is_multiple_of(d) {
            return Err(ModelError::Data(format!(
                "{} values are not rows of {d} features",
                x.len()
            )));
        }
        let n = x.len() / d;
        let xs = self.x_scaler.transform(x);
        let (sy, my) = (self.y_scaler.std[0], self.y_scaler.mean[0]);
        let x = Tensor::<2>::from_data(TensorData::new(xs, [n, d]).convert::<f32>(), self.device);
        let samples = self.samples.max(1);
        let chunk = ((1 << 20) / n.max(1)).clamp(1, samples);
        let mut sum = vec![0.0; n];
        let (mut max, mut acc) = (vec![f64::NEG_INFINITY; n], vec![0.0; n]);
        let mut done = 0;
        while done < samples {
            let t = chunk.min(samples - done);
            let stacked = x
                .clone()
                .unsqueeze::<3>()
                .expand([t, n, d])
                .reshape([t * n, d]);
            let out = pass(stacked).into_data().convert::<f64>();
            let out = out
                .as_slice::<f64>()
                .map_err(|e| ModelError::Data(format!("{e:?}")))?;
            for (i, v) in out.iter().enumerate() {
                let row = i % n;
                let pred = v * sy + my;
                sum[row] += pred;
                if let Some(y) = y {
                    let e = -0.5 * self.tau * (y[row] - pred).powi(2);
                    if e > max[row] {
                        acc[row] = acc[row] * (max[row] - e).exp() + 1.0;
                        max[row] = e;
                    } else {
                        acc[row] += (e - max[row]).exp();
                    }
                }
            }
            done += t;
        }
        Ok(McRegressionPrediction {
            mean: sum.into_iter().map(|s| s / samples as f64).collect(),
            log_sum_exp: y.map(|_| max.iter().zip(&acc).map(|(m, a)| m + a.ln()).collect()),
        })
    }
}

/// RMSE of the MC mean and the mixture log-likelihood
/// `1/n Σᵢ [logsumexp_t(−τ/2 (yᵢ − ŷᵢₜ)²) − ln T − ½ ln 2π + ½ ln τ]`.
pub(crate) fn mixture_metrics(
    p: &McRegressionPrediction,
    y: &[f64],
    tau: f64,
    samples: usize,
) -> RegressionMetrics {
    let lse = p.log_sum_exp.clone().unwrap_or_default();
    let n = lse.len().max(1) as f64;
    let ll = lse.iter().sum::<f64>() / n
        - (samples.max(1) as f64).ln()
        - 0.5 * (2.0 * std::f64::consts::PI).ln()
        + 0.5 * tau.ln();
    RegressionMetrics {
        rmse: rmse(&p.mean, y),
        test_log_likelihood: ll,
    }
}
