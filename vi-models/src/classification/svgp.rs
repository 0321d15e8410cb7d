//! Sparse variational GP classification: one latent GP per class, a softmax likelihood.

use super::labelled::LabelledData;
use super::prediction::ClassProbabilities;
use crate::checkpoint::{self, Checkpoint, Fitted, missing};
use crate::data::{ClassificationTable, Rows, Standardizer, permutation};
use crate::error::ModelError;
use crate::fit::{Schedule, fit_batches};
use crate::metrics::ClassificationMetrics;
use crate::settings;
use crate::tensors::{host_values, input_chunks};
use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use std::path::Path;
use vi_blocks::gp::kernel::{Rbf, RbfConfig, ScaleKernel, ScaleKernelConfig};
use vi_blocks::gp::likelihood::{Likelihood, SoftmaxLikelihood, SoftmaxLikelihoodConfig};
use vi_blocks::gp::{Svgp, SvgpConfig};
use vi_core::elbo::Elbo;

/// The model of an [`SvgpClassifier`]: one sparse GP per class with `M` shared inducing
/// points, and a softmax likelihood estimated by Monte Carlo.
#[derive(Config, Debug)]
pub struct SvgpClassificationModelConfig {
    /// Inducing points `M`, shared by the classes (`fit` uses at most the number of training
    /// rows).
    #[config(default = 100)]
    pub num_inducing: usize,
    /// Draws of `f` per point in the training objective's Monte Carlo expectation.
    #[config(default = 8)]
    pub train_samples: usize,
}

/// Settings of fitting an [`SvgpClassifier`]: the model, how it is optimised, and the draws
/// averaged at prediction.
#[derive(Config, Debug)]
pub struct SvgpClassifierConfig {
    /// The model.
    #[config(default = "SvgpClassificationModelConfig::new()")]
    pub model: SvgpClassificationModelConfig,
    /// Passes over the training set.
    #[config(default = 100)]
    pub epochs: usize,
    /// Minibatch size.
    #[config(default = 128)]
    pub batch_size: usize,
    /// Adam's learning rate.
    #[config(default = 0.01)]
    pub learning_rate: f64,
    /// Draws of `f` per point averaged at prediction.
    #[config(default = 256)]
    pub mc_samples: usize,
    /// Seed of the shuffling, of the inducing-point choice and of the draws.
    #[config(default = 0)]
    pub seed: u64,
}

/// The trained layer and likelihood.
#[derive(Module, Debug)]
pub struct SvgpClassificationModel {
    /// `q(f)`: one output per class, `ScaleKernel(RBF-ARD)` shared, constant means,
    /// full-rank whitened `q(u)` per class.
    pub gp: Svgp<ScaleKernel<Rbf>>,
    /// `p(y | f) = softmax(f)_y`, Monte Carlo over `f`.
    pub likelihood: SoftmaxLikelihood,
}

/// A fitted SVGP classifier (Hensman, Matthews & Ghahramani 2015): inputs standardised,
/// inducing points started at random training rows and learned, the per-point ELBO
/// `1/B Σ E_q[ln softmax(f(xᵢ))_{yᵢ}] − KL/N` maximised with Adam on minibatches,
/// probabilities `E_q[softmax(f(x))]` by Monte Carlo.
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use vi_models::classification::{SvgpClassificationModelConfig, SvgpClassifierConfig};
/// use vi_models::data::ClassificationTable;
/// let x: Vec<f64> = (0..60).flat_map(|i| {
///     let c = (i % 2) as f64 * 4.0 - 2.0;
///     [c + (i as f64 * 0.7).sin(), c + (i as f64 * 1.3).cos()]
/// }).collect();
/// let table = ClassificationTable {
///     x, d: 2, labels: (0..60).map(|i| i % 2).collect(), class_names: vec!["a".into(), "b".into()],
/// };
/// let config = SvgpClassifierConfig::new()
///     .with_model(SvgpClassificationModelConfig::new().with_num_inducing(8))
///     .with_epochs(30)
///     .with_batch_size(30);
/// let model = config.fit(&table, &Device::default(), |_, _| {}).unwrap();
/// assert!(model.evaluate(&table).unwrap().accuracy > 0.95);
/// ```
#[derive(Debug)]
pub struct SvgpClassifier {
    /// The settings it was fitted with.
    pub config: SvgpClassifierConfig,
    /// The trained modules (on the inference device).
    pub model: SvgpClassificationModel,
    /// Input standardisation.
    pub x_scaler: Standardizer,
    /// Number of classes.
    pub classes: usize,
    /// Draws of `f` averaged at prediction.
    pub mc_samples: usize,
    /// The device predictions run on.
    pub device: Device,
}

impl SvgpClassificationModelConfig {
    /// The untrained model for `d` inputs and `classes` outputs, its `num_inducing` inducing
    /// points drawn from `N(0, I)` (`fit` starts them at training rows).
    pub fn init(&self, d: usize, classes: usize, device: &Device) -> SvgpClassificationModel {
        let kernel = ScaleKernelConfig::new().init(RbfConfig::new(d).init(device), device);
        SvgpClassificationModel {
            gp: SvgpConfig::new(d, self.num_inducing)
                .with_outputs(classes)
                .init(kernel, device),
            likelihood: SoftmaxLikelihoodConfig::new()
                .with_samples(self.train_samples)
                .init(),
        }
    }
}

impl SvgpClassifierConfig {
    /// Trains on `train`; `on_epoch(epoch, mean loss)` after each epoch (the loss is the
    /// negative per-point ELBO).
    ///
    /// # Errors
    /// [`ModelError::Classes`] for an empty table or fewer than two classes; [`ModelError::Gp`]
    /// when `K_zz` cannot be factorised; [`ModelError::Elbo`] when the objective becomes
    /// non-finite.
    pub fn fit(
        &self,
        train: &ClassificationTable,
        device: &Device,
        on_epoch: impl FnMut(usize, f64),
    ) -> Result<SvgpClassifier, ModelError> {
        settings::count("inducing points", self.model.num_inducing)?;
        settings::count("training samples", self.model.train_samples)?;
        settings::count("MC samples", self.mc_samples)?;
        let data = LabelledData::new(train)?;
        let (n, d, classes) = (train.len(), train.d, train.classes());
        let ad = device.clone().autodiff();
        ad.seed(self.seed);
        let mut state = self.seed;
        let m = self.model.num_inducing.min(n);
        let (z, _) = data.batch(&permutation(n, &mut state)[..m], &ad);
        let mut model = self
            .model
            .clone()
            .with_num_inducing(m)
            .init(d, classes, &ad);
        model.gp = model.gp.with_inducing_points(z);
        let schedule = Schedule::new(self.epochs, self.batch_size, self.learning_rate, state)?;
        let loss = |model: &SvgpClassificationModel, (x, y): (Tensor<2>, Tensor<1, Int>)| {
            let elbo = Elbo::new(n).with_batch_size(x.dims()[0]);
            // One device round trip per step: K_zz's check travels with the ELBO's.
            let step = model.gp.elbo(x, &elbo, |f| {
                model.likelihood.expected_log_likelihood(f, y.clone()).sum()
            })?;
            Ok(step.terms.scaled_loss(1.0 / n as f64))
        };
        let batch = |index: &[usize]| data.batch(index, &ad);
        let model = fit_batches(model, n, &schedule, batch, loss, on_epoch)?;
        Ok(SvgpClassifier {
            config: self.clone(),
            model: model.valid(),
            x_scaler: data.scaler,
            classes,
            mc_samples: self.mc_samples,
            device: device.clone(),
        })
    }
}

impl SvgpClassifier {
    /// Class probabilities `E_q[softmax(f(x))]` at the rows of `x` (original units), from
    /// `mc_samples` draws of the marginals, in chunks of rows.
    ///
    /// # Errors
    /// As [`Rows::check`] against the model's features; [`ModelError::Gp`] when `K_zz` cannot
    /// be factorised.
    pub fn predict(&self, x: Rows<'_>) -> Result<ClassProbabilities, ModelError> {
        let prior = self.model.gp.inducing_prior()?;
        let likelihood = SoftmaxLikelihoodConfig::new()
            .with_samples(self.mc_samples)
            .init();
        let rows = ((1 << 20) / (self.mc_samples * self.classes)).max(1);
        let mut probabilities = Vec::new();
        for x in input_chunks(&self.x_scaler, x, rows, &self.device)? {
            let f = self.model.gp.marginals(&prior, x)?;
            probabilities.extend(host_values(likelihood.predictive(&f))?);
        }
        Ok(ClassProbabilities {
            probabilities,
            classes: self.classes,
        })
    }

    /// Accuracy, NLL and ECE on `test`.
    ///
    /// # Errors
    /// As [`SvgpClassifier::predict`]; [`ModelError::Count`] or [`ModelError::Label`] for the
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

impl Checkpoint for SvgpClassifier {
    fn save(&self, dir: impl AsRef<Path>) -> Result<(), ModelError> {
        let fitted = Fitted::new(
            "SvgpClassifier",
            self.config.clone(),
            self.x_scaler.clone(),
            None,
            None,
            vec![self.classes, self.model.gp.inducing_points.dims()[1]],
        );
        checkpoint::save(dir.as_ref(), &self.model, fitted)
    }

    fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self, ModelError> {
        let dir = dir.as_ref();
        let f: Fitted<SvgpClassifierConfig> = checkpoint::load_fitted(dir, "SvgpClassifier")?;
        let [classes, m] = f.sizes[..] else {
            return Err(missing(dir, "[classes, inducing points]"));
        };
        let skeleton = f.config.model.clone().with_num_inducing(m).init(
            f.x_scaler.mean.len(),
            classes,
            device,
        );
        Ok(Self {
            model: checkpoint::load_module(dir, &f, skeleton)?,
            x_scaler: f.x_scaler,
            classes,
            mc_samples: f.config.mc_samples,
            config: f.config,
            device: device.clone(),
        })
    }
}
