//! The Bernoulli distribution, parameterized by logits.

use super::distribution::Distribution;
use super::error::DistributionError;
use super::shape::{numel, shaped};
use super::validate::{Constraint, check, validate};
use crate::special::{log_sigmoid, sigmoid, softplus};
use burn::tensor::{DType, Device, Distribution as Noise, Int, Tensor};

/// `Bernoulli(σ(ℓ))` elementwise over `{0, 1}`.
///
/// `log p(x) = x ℓ − softplus(ℓ)`, `H = softplus(ℓ) − ℓ σ(ℓ)`; both stable for any finite logit.
///
/// # Shapes
/// Batch shape = `logits` shape, event `[]`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::distributions::{Bernoulli, Distribution};
/// let device = Device::default();
/// let d = Bernoulli::new(Tensor::<1>::from_data([0.0, 30.0], &device)).unwrap();
/// let lp: Vec<f32> = d.log_prob::<1, 1>(Tensor::from_data([1.0, 1.0], &device)).unwrap()
///     .into_data().try_into_vec::<f32>().unwrap();
/// assert!((lp[0] + 2f32.ln()).abs() < 1e-6 && lp[1] > -1e-6);
/// ```
#[derive(Debug, Clone)]
pub struct Bernoulli {
    logits: Tensor<2>,
    batch: Vec<usize>,
}

impl Bernoulli {
    /// From finite logits `ℓ = ln(p / (1 − p))`.
    ///
    /// # Errors
    /// [`DistributionError::InvalidParameter`] for non-finite logits.
    pub fn new<const D: usize>(logits: Tensor<D>) -> Result<Self, DistributionError> {
        validate("Bernoulli", &[&check("logits", &logits, Constraint::Real)])?;
        let batch = logits.dims().to_vec();
        Ok(Self {
            logits: logits.reshape([numel(&batch), 1]),
            batch,
        })
    }

    /// Logits, shape `batch` (rank `R`).
    pub fn logits<const R: usize>(&self) -> Tensor<R> {
        shaped(self.logits.clone(), &self.batch, "logits")
    }

    /// Logits in the flat layout `[b, 1]`.
    pub fn logits_flat(&self) -> Tensor<2> {
        self.logits.clone()
    }
}

impl Distribution for Bernoulli {
    const NAME: &'static str = "Bernoulli";

    fn batch_shape(&self) -> &[usize] {
        &self.batch
    }
    fn event_shape(&self) -> &[usize] {
        &[]
    }
    fn device(&self) -> Device {
        self.logits.device()
    }
    fn dtype(&self) -> DType {
        self.logits.dtype()
    }

    fn sample_flat(&self, n: usize) -> Tensor<3> {
        let [b, e] = self.logits.dims();
        let u = crate::random::random(
            [n, b, e],
            Noise::Uniform(0.0, 1.0),
            (&self.device(), self.dtype()),
        );
        let p = sigmoid(self.logits.clone().detach()).unsqueeze::<3>();
        u.lower(p).float().cast(self.dtype())
    }

    fn log_prob_flat(&self, x: Tensor<3>) -> Result<Tensor<2>, DistributionError> {
        let logits = self.logits.clone().unsqueeze::<3>();
        let lp = x * logits.clone() - softplus(logits);
        Ok(lp.sum_dim(2).squeeze_dim(2))
    }

    fn entropy_flat(&self) -> Tensor<1> {
        let l = self.logits.clone();
        (softplus(l.clone()) - l.clone() * sigmoid(l))
            .sum_dim(1)
            .squeeze_dim(1)
    }

    fn mean_flat(&self) -> Tensor<2> {
        sigmoid(self.logits.clone())
    }

    fn variance_flat(&self) -> Tensor<2> {
        // p (1 − p) = exp(ln σ(ℓ) + ln σ(−ℓ))
        let l = self.logits.clone();
        (log_sigmoid(l.clone()) + log_sigmoid(l.neg())).exp()
    }

    fn select_batch(&self, index: Tensor<1, Int>, batch: Vec<usize>) -> Self {
        Self {
            logits: self.logits.clone().select(0, index),
            batch,
        }
    }

    fn detach(&self) -> Self {
        Self {
            logits: self.logits.clone().detach(),
            batch: self.batch.clone(),
        }
    }
}
