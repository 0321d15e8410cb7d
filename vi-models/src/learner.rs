//! The burn-train integration (feature `train`), beside the built-in fit loop of every model's
//! `fit`: a Bayesian regression network whose loss is the per-point negative ELBO, as a
//! [`TrainStep`] and [`InferenceStep`], so burn-train's `Learner` and `SupervisedTraining`
//! (metrics, checkpoints, TUI, multi-device strategies) train it; and the data set and batcher
//! that feed it.

use crate::data::StandardizedTable;
use crate::regression::{BbbNet, mean_gaussian_nll};
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::InMemDataset;
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use burn::train::{InferenceStep, RegressionOutput, TrainOutput, TrainStep};
use vi_blocks::kl::total_kl;

/// One standardised row: features and target.
#[derive(Debug, Clone)]
pub struct RegressionItem {
    /// Features.
    pub x: Vec<f32>,
    /// Target.
    pub y: f32,
}

/// The rows of a standardised table as a burn-train data set.
pub fn regression_dataset(data: &StandardizedTable) -> InMemDataset<RegressionItem> {
    let d = data.table.d;
    InMemDataset::new(
        data.table
            .x
            .chunks(d)
            .zip(&data.table.y)
            .map(|(x, &y)| RegressionItem {
                x: x.iter().map(|&v| v as f32).collect(),
                y: y as f32,
            })
            .collect(),
    )
}

/// A minibatch: inputs `[b, d]`, targets `[b, 1]`.
#[derive(Debug, Clone)]
pub struct RegressionBatch {
    /// Inputs.
    pub x: Tensor<2>,
    /// Targets.
    pub y: Tensor<2>,
}

/// Stacks [`RegressionItem`]s into a [`RegressionBatch`] on the loader's device.
#[derive(Debug, Clone, Default)]
pub struct RegressionBatcher;

impl Batcher<RegressionItem, RegressionBatch> for RegressionBatcher {
    fn batch(&self, items: Vec<RegressionItem>, device: &Device) -> RegressionBatch {
        let (b, d) = (items.len(), items.first().map_or(0, |i| i.x.len()));
        let x: Vec<f32> = items.iter().flat_map(|i| i.x.iter().copied()).collect();
        let y: Vec<f32> = items.iter().map(|i| i.y).collect();
        RegressionBatch {
            x: Tensor::from_data(TensorData::new(x, [b, d]), device),
            y: Tensor::from_data(TensorData::new(y, [b, 1]), device),
        }
    }
}

/// A [`BbbNet`] trained by burn-train on the per-point negative ELBO
/// `1/B Σ −ln N(yᵢ | f(xᵢ), 1/τ) + KL(q ‖ p) / N`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use burn::train::TrainStep;
/// use vi_models::learner::{ElboRegression, RegressionBatch};
/// use vi_models::regression::BbbNetConfig;
/// let device = Device::default().autodiff();
/// let model = ElboRegression { net: BbbNetConfig::new(8, 1.0).init(2, 1.0, &device), num_data: 100 };
/// let batch = RegressionBatch { x: Tensor::ones([4, 2], &device), y: Tensor::zeros([4, 1], &device) };
/// let out = model.step(batch);
/// assert!(out.item.loss.into_scalar::<f32>().is_finite());
/// ```
#[derive(Module, Debug)]
pub struct ElboRegression {
    /// The network and its noise precision.
    pub net: BbbNet,
    /// Training rows `N` (the KL's weight is `1/N`).
    #[module(skip)]
    pub num_data: usize,
}

impl ElboRegression {
    /// The per-point negative ELBO of a batch and the network's outputs.
    pub fn forward_loss(&self, batch: &RegressionBatch) -> (Tensor<1>, Tensor<2>) {
        let f = self.net.forward(batch.x.clone());
        let nll = mean_gaussian_nll(f.clone(), batch.y.clone(), self.net.noise.log_precision());
        let loss = match total_kl(&self.net) {
            Some(kl) => nll + kl.mul_scalar(1.0 / self.num_data.max(1) as f64),
            None => nll,
        };
        (loss, f)
    }
}

impl TrainStep for ElboRegression {
    type Input = RegressionBatch;
    type Output = RegressionOutput;

    fn step(&self, batch: RegressionBatch) -> TrainOutput<RegressionOutput> {
        let (loss, f) = self.forward_loss(&batch);
        let grads = loss.backward();
        TrainOutput::new(self, grads, RegressionOutput::new(loss, f, batch.y))
    }
}

impl InferenceStep for ElboRegression {
    type Input = RegressionBatch;
    type Output = RegressionOutput;

    fn step(&self, batch: RegressionBatch) -> RegressionOutput {
        let (loss, f) = self.forward_loss(&batch);
        RegressionOutput::new(loss, f, batch.y)
    }
}
