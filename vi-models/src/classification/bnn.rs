//! Bayesian neural-network classifiers: deterministic, MC dropout, concrete dropout and
//! mean-field Bayes-by-backprop, one network shape.

use super::labelled::LabelledData;
use super::prediction::ClassProbabilities;
use crate::checkpoint::{self, Checkpoint, Fitted, missing};
use crate::data::{ClassificationTable, Rows, Standardizer};
use crate::error::ModelError;
use crate::fit::{Schedule, fit_batches};
use crate::metrics::ClassificationMetrics;
use crate::settings;
use crate::tensors::{host_values, input_chunks};
use burn::config::Config;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Device, Tensor};
use std::path::Path;
use vi_blocks::kl::total_regularizer;
use vi_blocks::nn::{
    BayesianLinear, BayesianLinearConfig, ConcreteLinear, ConcreteLinearConfig, LinearEstimator,
    McDropout, McDropoutConfig,
};

/// How the network's weights are treated.
#[derive(Config, Debug, Copy, PartialEq)]
pub enum BnnMethod {
    /// Point estimates (MAP under the Gaussian prior of lengthscale `l`).
    Deterministic,
    /// MC dropout (Gal & Ghahramani 2016) on the hidden units, kept on at prediction.
    McDropout,
    /// Concrete dropout (Gal, Hron & Kendall 2017) before every layer, rates learned.
    Concrete,
    /// Mean-field Gaussian weights with `N(0, 1)` priors (Blundell et al. 2015).
    Bbb,
}

/// The model of a [`BnnClassifier`]: the network ([`BnnClassifierNet`]) and its prior.
#[derive(Config, Debug)]
pub struct BnnClassifierNetConfig {
    /// The treatment of the weights.
    pub method: BnnMethod,
    /// Widths of the hidden ReLU layers.
    pub hidden: Vec<usize>,
    /// Dropout probability (MC dropout) or initial probability (concrete dropout).
    #[config(default = 0.1)]
    pub dropout: f64,
    /// Prior lengthscale `l`: weight decay `l² (1 − p) / (2N) ‖W‖²` (deterministic: `p = 0`).
    #[config(default = 1e-2)]
    pub lengthscale: f64,
    /// Estimator of the Bayesian layers (BBB).
    #[config(default = "LinearEstimator::LocalReparameterization")]
    pub estimator: LinearEstimator,
}

/// Settings of fitting a [`BnnClassifier`]: the model, how it is optimised, and the passes
/// averaged at prediction.
#[derive(Config, Debug)]
pub struct BnnClassifierConfig {
    /// The model.
    pub model: BnnClassifierNetConfig,
    /// Passes over the training set.
    #[config(default = 100)]
    pub epochs: usize,
    /// Minibatch size.
    #[config(default = 64)]
    pub batch_size: usize,
    /// Adam's learning rate.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Stochastic passes `T` averaged at prediction (1 for the deterministic network).
    #[config(default = 100)]
    pub mc_samples: usize,
    /// Seed of the weights, the shuffling and the noise.
    #[config(default = 0)]
    pub seed: u64,
}

/// One layer of the network, by method.
#[derive(Module, Debug)]
pub enum ClassifierLayer {
    /// A plain linear layer.
    Linear(Linear),
    /// MC dropout on the inputs, then a linear layer.
    Dropout(DropoutLinear),
    /// Concrete dropout on the inputs, then a linear layer.
    Concrete(ConcreteLinear),
    /// A mean-field Bayesian linear layer.
    Bayesian(BayesianLinear),
}

/// MC dropout followed by a linear layer.
#[derive(Module, Debug)]
pub struct DropoutLinear {
    /// The dropout (always on).
    pub dropout: McDropout,
    /// The layer.
    pub linear: Linear,
}

impl ClassifierLayer {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Linear(l) => l.forward(x),
            Self::Dropout(l) => l.linear.forward(l.dropout.forward(x)),
            Self::Concrete(l) => l.forward(x),
            Self::Bayesian(l) => l.forward(x),
        }
    }

    /// `‖W‖²` of a point-estimate layer (the others carry their own regulariser).
    fn weight_norm(&self) -> Option<Tensor<1>> {
        match self {
            Self::Linear(l) | Self::Dropout(DropoutLinear { linear: l, .. }) => {
                Some(l.weight.val().square().sum())
            }
            _ => None,
        }
    }
}

/// `x → layer → ReLU → … → layer → logits`.
#[derive(Module, Debug)]
pub struct BnnClassifierNet {
    /// The layers, the last one producing the logits.
    pub layers: Vec<ClassifierLayer>,
}

impl BnnClassifierNet {
    /// Logits of one (stochastic) pass, `[n, d] → [n, classes]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len().saturating_sub(1);
        self.layers.iter().enumerate().fold(x, |h, (i, layer)| {
            let out = layer.forward(h);
            if i < last { relu(out) } else { out }
        })
    }
}

/// A fitted Bayesian-network classifier: standardised inputs, the per-point objective
/// `1/B Σ −ln softmax(f(x))_y + penalty / N` minimised with Adam (penalty: the weight decay
/// `l² (1 − p) / 2 · ‖W‖²` for point-estimate layers, the concrete-dropout regulariser, or
/// `KL(q ‖ p)`), probabilities averaged over `T` passes.
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use vi_models::classification::{BnnClassifierConfig, BnnClassifierNetConfig, BnnMethod};
/// use vi_models::data::ClassificationTable;
/// // Two Gaussian blobs.
/// let x: Vec<f64> = (0..80).flat_map(|i| {
///     let c = (i % 2) as f64 * 4.0 - 2.0;
///     [c + (i as f64 * 0.7).sin(), c + (i as f64 * 1.3).cos()]
/// }).collect();
/// let table = ClassificationTable {
///     x, d: 2, labels: (0..80).map(|i| i % 2).collect(), class_names: vec!["a".into(), "b".into()],
/// };
/// let config = BnnClassifierConfig::new(BnnClassifierNetConfig::new(BnnMethod::McDropout, vec![16]))
///     .with_epochs(30).with_learning_rate(1e-2).with_mc_samples(20);
/// let model = config.fit(&table, &Device::default(), |_, _| {}).unwrap();
/// let metrics = model.evaluate(&table).unwrap();
/// assert!(metrics.accuracy > 0.95, "{metrics:?}");
/// ```
#[derive(Debug)]
pub struct BnnClassifier {
    /// The settings it was fitted with.
    pub config: BnnClassifierConfig,
    /// The trained network (on the inference device).
    pub net: BnnClassifierNet,
    /// Input standardisation.
    pub x_scaler: Standardizer,
    /// Number of classes.
    pub classes: usize,
    /// Passes `T` averaged at prediction.
    pub mc_samples: usize,
    /// The device predictions run on.
    pub device: Device,
}

impl BnnClassifierNetConfig {
    /// The untrained network for `d` inputs, `classes` outputs and `n` training rows.
    pub fn init(&self, d: usize, classes: usize, n: usize, device: &Device) -> BnnClassifierNet {
        let n = n.max(1) as f64;
        let l2 = self.lengthscale.powi(2);
        let widths: Vec<usize> = std::iter::once(d)
            .chain(self.hidden.iter().copied())
            .chain(std::iter::once(classes))
            .collect();
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let (i_dim, o_dim) = (w[0], w[1]);
                match self.method {
                    BnnMethod::Deterministic => {
                        ClassifierLayer::Linear(LinearConfig::new(i_dim, o_dim).init(device))
                    }
                    BnnMethod::McDropout => ClassifierLayer::Dropout(DropoutLinear {
                        dropout: McDropoutConfig::new(if i == 0 { 0.0 } else { self.dropout })
                            .init(),
                        linear: LinearConfig::new(i_dim, o_dim).init(device),
                    }),
                    BnnMethod::Concrete => ClassifierLayer::Concrete(
                        ConcreteLinearConfig::new(i_dim, o_dim, l2 / (2.0 * n), 1.0 / n)
                            .with_init_prob(self.dropout)
                            .init(device),
                    ),
                    BnnMethod::Bbb => ClassifierLayer::Bayesian(
                        BayesianLinearConfig::new(i_dim, o_dim)
                            .with_estimator(self.estimator)
                            .init(device),
                    ),
                }
            })
            .collect();
        BnnClassifierNet { layers }
    }

    /// The factor of [`total_regularizer`]: the KL is a total (`1/N` per point), the
    /// concrete-dropout regulariser is already per point.
    fn penalty_scale(&self, n: usize) -> f64 {
        match self.method {
            BnnMethod::Bbb => 1.0 / n as f64,
            _ => 1.0,
        }
    }
}

impl BnnClassifierConfig {
    /// Trains on `train`; `on_epoch(epoch, mean loss)` after each epoch.
    ///
    /// # Errors
    /// [`ModelError::Setting`] for a dropout outside `[0, 1)` (`(0, 1)` for concrete dropout);
    /// [`ModelError::Classes`] for an empty table or fewer than two classes;
    /// [`ModelError::Diverged`] for a non-finite loss (naming the epoch).
    pub fn fit(
        &self,
        train: &ClassificationTable,
        device: &Device,
        on_epoch: impl FnMut(usize, f64),
    ) -> Result<BnnClassifier, ModelError> {
        let model = &self.model;
        let concrete = matches!(model.method, BnnMethod::Concrete);
        settings::probability("dropout", model.dropout, concrete)?;
        settings::positive("lengthscale", model.lengthscale)?;
        for &width in &model.hidden {
            settings::count("hidden units", width)?;
        }
        settings::count("MC samples", self.mc_samples)?;
        let data = LabelledData::new(train)?;
        let (n, classes) = (train.len(), train.classes());
        let ad = device.clone().autodiff();
        ad.seed(self.seed);
        let net = model.init(train.d, classes, n, &ad);
        let decay = model.lengthscale.powi(2) / (2.0 * n as f64)
            * match model.method {
                BnnMethod::McDropout => 1.0 - model.dropout,
                _ => 1.0,
            };
        let schedule = Schedule::new(
            self.epochs,
            self.batch_size,
            self.learning_rate,
            self.seed ^ 0xC1A5,
        )?;
        let cross_entropy = CrossEntropyLossConfig::new().init(&ad);
        let loss = |net: &BnnClassifierNet, (x, y)| {
            let mut loss = cross_entropy.forward(net.forward(x), y);
            let decayed = net.layers.iter().filter_map(ClassifierLayer::weight_norm);
            if let Some(norm) = decayed.reduce(|a, b| a + b) {
                loss = loss + norm.mul_scalar(decay);
            }
            if let Some(penalty) = total_regularizer(net) {
                loss = loss + penalty.mul_scalar(model.penalty_scale(n));
            }
            Ok(loss)
        };
        let batch = |index: &[usize]| data.batch(index, &ad);
        let net = fit_batches(net, n, &schedule, batch, loss, on_epoch)?;
        let mc_samples = match model.method {
            BnnMethod::Deterministic => 1,
            _ => self.mc_samples,
        };
        Ok(BnnClassifier {
            config: self.clone(),
            net: net.valid(),
            x_scaler: data.scaler,
            classes,
            mc_samples,
            device: device.clone(),
        })
    }
}

impl BnnClassifier {
    /// Class probabilities at the rows of `x` (original units): the mean of `softmax(f(x))`
    /// over `T` passes, computed with as many passes per call as fit in about a million
    /// logits.
    ///
    /// # Errors
    /// As [`Rows::check`] against the model's features.
    pub fn predict(&self, x: Rows<'_>) -> Result<ClassProbabilities, ModelError> {
        let mut probabilities = Vec::with_capacity(x.len() * self.classes);
        for x in input_chunks(&self.x_scaler, x, 4096, &self.device)? {
            let [rows, d] = x.dims();
            let per_call = ((1 << 20) / (rows * self.classes).max(1)).clamp(1, self.mc_samples);
            let mut sum: Option<Tensor<2>> = None;
            let mut done = 0;
            while done < self.mc_samples {
                let t = per_call.min(self.mc_samples - done);
                let stacked = x
                    .clone()
                    .unsqueeze::<3>()
                    .expand([t, rows, d])
                    .reshape([t * rows, d]);
                let p = softmax(self.net.forward(stacked), 1)
                    .reshape([t, rows, self.classes])
                    .sum_dim(0)
                    .reshape([rows, self.classes]);
                sum = Some(sum.map_or(p.clone(), |s| s + p));
                done += t;
            }
            if let Some(sum) = sum {
                probabilities.extend(host_values(sum.div_scalar(self.mc_samples as f64))?);
            }
        }
        Ok(ClassProbabilities {
            probabilities,
            classes: self.classes,
        })
    }

    /// Accuracy, NLL and ECE on `test`.
    ///
    /// # Errors
    /// As [`BnnClassifier::predict`]; [`ModelError::Count`] or [`ModelError::Label`] for the
    /// labels; [`ModelError::Metric`] for a table without rows or a label beyond the model's
    /// classes.
    pub fn evaluate(
        &self,
        test: &ClassificationTable,
    ) -> Result<ClassificationMetrics, ModelError> {
        let p = self.predict(test.rows())?;
        test.check_labels(test.rows().len())?;
        Ok(p.evaluate(&test.labels)?)
    }
}

impl Checkpoint for BnnClassifier {
    fn save(&self, dir: impl AsRef<Path>) -> Result<(), ModelError> {
        let fitted = Fitted::new(
            "BnnClassifier",
            self.config.clone(),
            self.x_scaler.clone(),
            None,
            None,
            vec![self.classes, self.mc_samples],
        );
        checkpoint::save(dir.as_ref(), &self.net, fitted)
    }

    fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self, ModelError> {
        let dir = dir.as_ref();
        let f: Fitted<BnnClassifierConfig> = checkpoint::load_fitted(dir, "BnnClassifier")?;
        let [classes, mc_samples] = f.sizes[..] else {
            return Err(missing(dir, "[classes, passes]"));
        };
        let skeleton = f
            .config
            .model
            .init(f.x_scaler.mean.len(), classes, 1, device);
        Ok(Self {
            net: checkpoint::load_module(dir, &f, skeleton)?,
            x_scaler: f.x_scaler,
            classes,
            mc_samples,
            config: f.config,
            device: device.clone(),
        })
    }
}
