//! Regressors whose predictive is a Monte Carlo mixture over stochastic forward passes (MC
//! dropout, concrete dropout, Bayes-by-backprop): one fitted-model type for all of them, with
//! `T`-pass prediction, Gal's test log-likelihood and checkpoints.

use super::prediction::RegressionMetrics;
use crate::checkpoint::{self, Checkpoint, Fitted, missing};
use crate::data::{Rows, StandardizedTable, Standardizer, Table, check_targets};
use crate::error::ModelError;
use crate::metrics::rmse;
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

/// A regression network with a stochastic forward pass, in standardised units.
pub trait StochasticRegressionNet: Module + Sized {
    /// The settings it is fitted with (the fit config, which holds the network's).
    type Config: Serialize + DeserializeOwned + Clone + std::fmt::Debug;
    /// The model's name in checkpoints.
    const KIND: &'static str;
    /// One stochastic pass, `[n, d] → [n, 1]`.
    fn pass(&self, x: Tensor<2>) -> Tensor<2>;
    /// An untrained network of `config`'s shape for `d` inputs (to load a checkpoint into).
    fn skeleton(config: &Self::Config, d: usize, device: &Device) -> Self;
}

/// A fitted regressor over a [`StochasticRegressionNet`]: the network, the standardisation,
/// the noise precision and the number of passes `T` averaged at prediction.
#[derive(Debug)]
pub struct McRegressor<N: StochasticRegressionNet> {
    /// The settings it was fitted with.
    pub config: N::Config,
    /// The trained network (on the inference device).
    pub net: N,
    /// Input standardisation.
    pub x_scaler: Standardizer,
    /// Target standardisation.
    pub y_scaler: Standardizer,
    /// Model precision `τ` in the original units (fixed or learned).
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

impl<N: StochasticRegressionNet> McRegressor<N> {
    /// The fitted model from a trained network (moved to inference), the standardisation it
    /// was trained with, `τ` in original units and `T`.
    pub(crate) fn trained(
        config: N::Config,
        net: N,
        data: StandardizedTable,
        tau: f64,
        mc_samples: usize,
        device: &Device,
    ) -> Self {
        Self {
            config,
            net: net.valid(),
            x_scaler: data.x_scaler,
            y_scaler: data.y_scaler,
            tau,
            mc_samples,
            device: device.clone(),
        }
    }

    /// `T` stochastic passes over the rows of `x` (original units); with `y`, also the per-row
    /// `logsumexp_t(−τ/2 (y − ŷ_t)²)` for the test log-likelihood. No rows give an empty
    /// prediction.
    ///
    /// # Errors
    /// As [`Rows::check`] against the model's features; [`ModelError::Count`] when `y` does not
    /// have one target per row; [`ModelError::NonFinite`] for a non-finite target.
    pub fn predict(
        &self,
        x: Rows<'_>,
        y: Option<&[f64]>,
    ) -> Result<McRegressionPrediction, ModelError> {
        let passes = McPasses {
            x_scaler: &self.x_scaler,
            y_scaler: &self.y_scaler,
            tau: self.tau,
            samples: self.mc_samples,
            device: &self.device,
        };
        passes.run(|x| self.net.pass(x), x, y)
    }

    /// Test RMSE of the MC mean and Gal's test log-likelihood
    /// `1/n Σᵢ [logsumexp_t(−τ/2 (yᵢ − ŷᵢₜ)²) − ln T − ½ ln 2π + ½ ln τ]`.
    ///
    /// # Errors
    /// As [`McRegressor::predict`] (which checks the rows and targets); [`ModelError::Metric`]
    /// for a table without rows.
    pub fn evaluate(&self, test: &Table) -> Result<RegressionMetrics, ModelError> {
        let p = self.predict(test.rows(), Some(&test.y))?;
        mixture_metrics(&p, &test.y, self.tau, self.mc_samples)
    }
}

impl<N: StochasticRegressionNet> Checkpoint for McRegressor<N> {
    fn save(&self, dir: impl AsRef<Path>) -> Result<(), ModelError> {
        let fitted = Fitted::new(
            N::KIND,
            self.config.clone(),
            self.x_scaler.clone(),
            Some(self.y_scaler.clone()),
            Some(self.tau),
            vec![self.mc_samples],
        );
        checkpoint::save(dir.as_ref(), &self.net, fitted)
    }

    fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self, ModelError> {
        let dir = dir.as_ref();
        let f: Fitted<N::Config> = checkpoint::load_fitted(dir, N::KIND)?;
        let skeleton = N::skeleton(&f.config, f.x_scaler.mean.len(), device);
        Ok(Self {
            net: checkpoint::load_module(dir, &f, skeleton)?,
            x_scaler: f.x_scaler,
            y_scaler: f.y_scaler.ok_or_else(|| missing(dir, "y_scaler"))?,
            tau: f.tau.ok_or_else(|| missing(dir, "tau"))?,
            mc_samples: *f.sizes.first().ok_or_else(|| missing(dir, "passes"))?,
            config: f.config,
            device: device.clone(),
        })
    }
}

/// What `T` stochastic passes need: the scalers, `τ` in the original units, `T`, the device.
struct McPasses<'a> {
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
        x: Rows<'_>,
        y: Option<&[f64]>,
    ) -> Result<McRegressionPrediction, ModelError> {
        let d = self.x_scaler.mean.len();
        let n = x.check(d)?;
        if let Some(y) = y {
            check_targets(y, n)?;
        }
        if n == 0 {
            return Ok(McRegressionPrediction {
                mean: Vec::new(),
                log_sum_exp: y.map(|_| Vec::new()),
            });
        }
        let xs = self.x_scaler.transform(x.values());
        let (sy, my) = (self.y_scaler.std[0], self.y_scaler.mean[0]);
        let x = Tensor::<2>::from_data(TensorData::new(xs, [n, d]).convert::<f32>(), self.device);
        let samples = self.samples;
        let chunk = ((1 << 20) / n).clamp(1, samples);
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
            let out = out.as_slice::<f64>()?;
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
fn mixture_metrics(
    p: &McRegressionPrediction,
    y: &[f64],
    tau: f64,
    samples: usize,
) -> Result<RegressionMetrics, ModelError> {
    let rmse = rmse(&p.mean, y)?;
    let lse = p.log_sum_exp.as_deref().unwrap_or_default();
    let ll = lse.iter().sum::<f64>() / lse.len() as f64
        - (samples as f64).ln()
        - 0.5 * (2.0 * std::f64::consts::PI).ln()
        + 0.5 * tau.ln();
    Ok(RegressionMetrics {
        rmse,
        test_log_likelihood: ll,
    })
}
