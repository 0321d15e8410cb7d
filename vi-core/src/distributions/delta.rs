//! The point mass, the variational family of MAP estimation.

use super::distribution::{Distribution, Reparameterized};
use super::error::DistributionError;
use super::shape::{numel, shaped};
use burn::tensor::{DType, Device, Int, Tensor};

/// `δ(x − v)`: all mass at `value`. `log p(x) = 0` at `x = v` and `−∞` elsewhere; entropy 0;
/// `rsample` returns `v` (differentiable), so an ELBO with a `Delta` posterior and a Monte Carlo
/// KL is the log joint `log p(y | v) + log p(v)`: maximum a posteriori.
///
/// # Shapes
/// Batch shape = `value` shape; [`Delta::to_event`] moves trailing dimensions into the event.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::distributions::{Delta, Reparameterized};
/// let device = Device::default();
/// let q = Delta::new(Tensor::<1>::from_data([1.0, 2.0], &device)).to_event(1).unwrap();
/// let x: Tensor<2> = q.rsample(3);
/// let x: Vec<f32> = x.into_data().try_into_vec::<f32>().unwrap();
/// assert_eq!(x, [1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
/// ```
#[derive(Debug, Clone)]
pub struct Delta {
    value: Tensor<2>,
    batch: Vec<usize>,
    event: Vec<usize>,
}

impl Delta {
    /// The point mass at `value`.
    pub fn new<const D: usize>(value: Tensor<D>) -> Self {
        let batch = value.dims().to_vec();
        Self {
            value: value.reshape([numel(&batch), 1]),
            batch,
            event: Vec::new(),
        }
    }

    /// Reinterprets the last `dims` batch dimensions as event dimensions.
    ///
    /// # Errors
    /// [`DistributionError::ShapeMismatch`] when the batch has fewer than `dims` dimensions.
    pub fn to_event(self, dims: usize) -> Result<Self, DistributionError> {
        if dims > self.batch.len() {
            return Err(DistributionError::ShapeMismatch {
                distribution: "Delta",
                reason: format!("to_event({dims}) on batch shape {:?}", self.batch),
            });
        }
        let split = self.batch.len() - dims;
        let mut event = self.batch[split..].to_vec();
        event.extend(&self.event);
        let batch = self.batch[..split].to_vec();
        Ok(Self {
            value: self.value.reshape([numel(&batch), numel(&event)]),
            batch,
            event,
        })
    }

    /// The point, shape `batch + event` (rank `R`).
    pub fn value<const R: usize>(&self) -> Tensor<R> {
        shaped(
            self.value.clone(),
            &[self.batch.clone(), self.event.clone()].concat(),
            "value",
        )
    }
}

impl Distribution for Delta {
    const NAME: &'static str = "Delta";

    fn batch_shape(&self) -> &[usize] {
        &self.batch
    }
    fn event_shape(&self) -> &[usize] {
        &self.event
    }
    fn device(&self) -> Device {
        self.value.device()
    }
    fn dtype(&self) -> DType {
        self.value.dtype()
    }

    fn sample_flat(&self, n: usize) -> Tensor<3> {
        self.rsample_flat(n).detach()
    }

    fn log_prob_flat(&self, x: Tensor<3>) -> Result<Tensor<2>, DistributionError> {
        let at_value = x
            .equal(self.value.clone().unsqueeze::<3>())
            .all_dim(2)
            .squeeze_dim::<2>(2);
        let zeros = at_value.clone().float().cast(self.dtype()).zeros_like();
        Ok(zeros.mask_fill(at_value.bool_not(), f64::NEG_INFINITY))
    }

    fn entropy_flat(&self) -> Tensor<1> {
        Tensor::zeros([self.value.dims()[0]], (&self.device(), self.dtype()))
    }

    fn mean_flat(&self) -> Tensor<2> {
        self.value.clone()
    }

    fn variance_flat(&self) -> Tensor<2> {
        self.value.clone().zeros_like()
    }

    fn select_batch(&self, index: Tensor<1, Int>, batch: Vec<usize>) -> Self {
        Self {
            value: self.value.clone().select(0, index),
            batch,
            event: self.event.clone(),
        }
    }

    fn detach(&self) -> Self {
        Self {
            value: self.value.clone().detach(),
            ..self.clone()
        }
    }
}

impl Reparameterized for Delta {
    fn rsample_flat(&self, n: usize) -> Tensor<3> {
        let [b, e] = self.value.dims();
        self.value.clone().unsqueeze::<3>().expand([n, b, e])
    }
}
