//! The categorical distribution, parameterized by logits.

use super::distribution::Distribution;
use super::error::DistributionError;
use super::shape::{numel, shaped};
use super::validate::{Constraint, check, validate};
use burn::tensor::{DType, Device, Int, Tensor, activation::log_softmax};

/// `Categorical(softmax(ℓ))` over the indices `0 … c−1`; values are indices stored as floats.
///
/// `log p(x) = log_softmax(ℓ)ₓ`, `H = −Σⱼ pⱼ log pⱼ`. The mean and variance are those of the
/// index.
///
/// # Shapes
/// `logits [batch.., c]`; batch shape = `logits` without its last dimension, event `[]`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::distributions::{Categorical, Distribution};
/// let device = Device::default();
/// let d = Categorical::new(Tensor::<2>::from_data([[0.0, 0.0, 0.0, 0.0]], &device)).unwrap();
/// let h: Vec<f32> = d.entropy::<1>().into_data().try_into_vec::<f32>().unwrap();
/// assert!((h[0] - 4f32.ln()).abs() < 1e-6);
/// ```
#[derive(Debug, Clone)]
pub struct Categorical {
    log_probs: Tensor<2>,
    batch: Vec<usize>,
}

impl Categorical {
    /// From finite logits `[batch.., c]` (normalized internally with `log_softmax`).
    ///
    /// # Errors
    /// [`DistributionError::InvalidParameter`] for non-finite logits;
    /// [`DistributionError::ShapeMismatch`] for zero categories.
    pub fn new<const D: usize>(logits: Tensor<D>) -> Result<Self, DistributionError> {
        let dims = logits.dims();
        if dims[D - 1] == 0 {
            return Err(DistributionError::ShapeMismatch {
                distribution: "Categorical",
                reason: format!("logits {dims:?} have no categories"),
            });
        }
        validate(
            "Categorical",
            &[&check("logits", &logits, Constraint::Real)],
        )?;
        let batch = dims[..D - 1].to_vec();
        Ok(Self {
            log_probs: log_softmax(logits.reshape([numel(&batch), dims[D - 1]]), 1),
            batch,
        })
    }

    /// Number of categories `c`.
    pub fn num_categories(&self) -> usize {
        self.log_probs.dims()[1]
    }

    /// Normalized log probabilities, shape `batch + [c]` (rank `R`).
    pub fn log_probs<const R: usize>(&self) -> Tensor<R> {
        let dims = [self.batch.clone(), vec![self.num_categories()]].concat();
        shaped(self.log_probs.clone(), &dims, "log_probs")
    }

    /// Normalized log probabilities in the flat layout `[b, c]`.
    pub fn log_probs_flat(&self) -> Tensor<2> {
        self.log_probs.clone()
    }

    fn index_moments(&self) -> (Tensor<2>, Tensor<2>) {
        let c = self.num_categories();
        let index = Tensor::<1, Int>::arange(0..c as i64, &self.device())
            .float()
            .cast(self.dtype())
            .unsqueeze::<2>();
        let p = self.log_probs.clone().exp();
        let mean = (p.clone() * index.clone()).sum_dim(1);
        let second = (p * index.square()).sum_dim(1);
        (mean.clone(), second - mean.square())
    }
}

impl Distribution for Categorical {
    const NAME: &'static str = "Categorical";

    fn batch_shape(&self) -> &[usize] {
        &self.batch
    }
    fn event_shape(&self) -> &[usize] {
        &[]
    }
    fn device(&self) -> Device {
        self.log_probs.device()
    }
    fn dtype(&self) -> DType {
        self.log_probs.dtype()
    }

    fn sample_flat(&self, n: usize) -> Tensor<3> {
        let b = self.log_probs.dims()[0];
        let draws = self.log_probs.clone().detach().exp().categorical(n); // [b, n]
        draws
            .float()
            .cast(self.dtype())
            .transpose()
            .reshape([n, b, 1])
    }

    fn log_prob_flat(&self, x: Tensor<3>) -> Result<Tensor<2>, DistributionError> {
        let [s, b, _] = x.dims();
        let c = self.num_categories();
        let index = x.int().clamp(0, c as i64 - 1);
        let log_probs = self.log_probs.clone().unsqueeze::<3>().expand([s, b, c]);
        Ok(log_probs.gather(2, index).squeeze_dim(2))
    }

    fn entropy_flat(&self) -> Tensor<1> {
        let lp = self.log_probs.clone();
        (lp.clone().exp() * lp).sum_dim(1).squeeze_dim::<1>(1).neg()
    }

    fn mean_flat(&self) -> Tensor<2> {
        self.index_moments().0
    }

    fn variance_flat(&self) -> Tensor<2> {
        self.index_moments().1
    }

    fn select_batch(&self, index: Tensor<1, Int>, batch: Vec<usize>) -> Self {
        Self {
            log_probs: self.log_probs.clone().select(0, index),
            batch,
        }
    }

    fn detach(&self) -> Self {
        Self {
            log_probs: self.log_probs.clone().detach(),
            batch: self.batch.clone(),
        }
    }
}
