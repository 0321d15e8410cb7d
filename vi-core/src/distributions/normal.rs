//! The normal distribution with a diagonal scale.

use super::distribution::{Distribution, HALF_LN_2PI, Reparameterized, flat_param};
use super::error::DistributionError;
use super::shape::{broadcast_or_err, numel, shaped};
use super::validate::{Constraint, check, validate};
use burn::tensor::{DType, Device, Distribution as Noise, Int, Tensor};

/// Independent normals `N(loc, scale²)` elementwise; [`Normal::to_event`] turns trailing batch
/// dimensions into one event (a mean-field Gaussian over a weight matrix, Pyro's `to_event`).
///
/// `log p(x) = Σₑ −(x − μ)²/(2σ²) − ln σ − ½ ln 2π`, `H = Σₑ ½ + ½ ln 2π + ln σ`,
/// `x = μ + σ ε`, `ε ~ N(0, 1)`.
///
/// # Shapes
/// `loc` and `scale` broadcast to a common shape, which is the batch shape; event `[]` until
/// [`Normal::to_event`].
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::distributions::{Distribution, Normal, Reparameterized};
/// let device = Device::default();
/// let q = Normal::new(
///     Tensor::<2>::zeros([3, 2], &device),
///     Tensor::<2>::ones([3, 2], &device),
/// ).unwrap().to_event(2).unwrap();          // one density over the 3×2 matrix
/// let w: Tensor<3> = q.rsample(5);          // [5, 3, 2]
/// let log_q: Tensor<1> = q.log_prob(w).unwrap(); // [5]
/// let log_q: Vec<f32> = log_q.into_data().try_into_vec::<f32>().unwrap();
/// assert!(log_q.len() == 5 && log_q.iter().all(|v| v.is_finite()));
/// ```
#[derive(Debug, Clone)]
pub struct Normal {
    loc: Tensor<2>,
    scale: Tensor<2>,
    batch: Vec<usize>,
    event: Vec<usize>,
}

impl Normal {
    /// `N(loc, scale²)`, validated: `scale` must be finite and positive, `loc` finite (one
    /// read-back from the device).
    ///
    /// # Errors
    /// [`DistributionError::InvalidParameter`] naming the parameter;
    /// [`DistributionError::ShapeMismatch`] when the shapes do not broadcast.
    pub fn new<const D: usize>(
        loc: Tensor<D>,
        scale: Tensor<D>,
    ) -> Result<Self, DistributionError> {
        validate(
            "Normal",
            &[
                &check("loc", &loc, Constraint::Real),
                &check("scale", &scale, Constraint::Positive),
            ],
        )?;
        Self::new_unchecked(loc, scale)
    }

    /// As [`Normal::new`] without the value checks (no device read-back), for training loops
    /// whose scale is positive by construction (`softplus`, `exp`).
    ///
    /// # Errors
    /// [`DistributionError::ShapeMismatch`] when the shapes do not broadcast.
    pub fn new_unchecked<const D: usize>(
        loc: Tensor<D>,
        scale: Tensor<D>,
    ) -> Result<Self, DistributionError> {
        let (ld, sd) = (loc.dims().to_vec(), scale.dims().to_vec());
        let batch = broadcast_or_err("Normal", "loc and scale", &ld, &sd)?;
        Ok(Self {
            loc: flat_param(loc, &ld, &batch, &[1]),
            scale: flat_param(scale, &sd, &batch, &[1]),
            batch,
            event: Vec::new(),
        })
    }

    /// Reinterprets the last `dims` batch dimensions as event dimensions: `log_prob` and
    /// `entropy` sum over them.
    ///
    /// # Errors
    /// [`DistributionError::ShapeMismatch`] when the batch has fewer than `dims` dimensions.
    pub fn to_event(self, dims: usize) -> Result<Self, DistributionError> {
        if dims > self.batch.len() {
            return Err(DistributionError::ShapeMismatch {
                distribution: "Normal",
                reason: format!(
                    "to_event({dims}) on batch shape {:?} with only {} dimensions",
                    self.batch,
                    self.batch.len()
                ),
            });
        }
        let split = self.batch.len() - dims;
        let mut event = self.batch[split..].to_vec();
        event.extend(&self.event);
        let batch = self.batch[..split].to_vec();
        let flat = [numel(&batch), numel(&event)];
        Ok(Self {
            loc: self.loc.reshape(flat),
            scale: self.scale.reshape(flat),
            batch,
            event,
        })
    }

    /// Location, shape `batch + event` (rank `R`).
    pub fn loc<const R: usize>(&self) -> Tensor<R> {
        shaped(
            self.loc.clone(),
            &[self.batch.clone(), self.event.clone()].concat(),
            "loc",
        )
    }

    /// Scale, shape `batch + event` (rank `R`).
    pub fn scale<const R: usize>(&self) -> Tensor<R> {
        shaped(
            self.scale.clone(),
            &[self.batch.clone(), self.event.clone()].concat(),
            "scale",
        )
    }

    /// Location in the flat layout `[b, e]`.
    pub fn loc_flat(&self) -> Tensor<2> {
        self.loc.clone()
    }

    /// Scale in the flat layout `[b, e]`.
    pub fn scale_flat(&self) -> Tensor<2> {
        self.scale.clone()
    }
}

impl Distribution for Normal {
    const NAME: &'static str = "Normal";

    fn batch_shape(&self) -> &[usize] {
        &self.batch
    }
    fn event_shape(&self) -> &[usize] {
        &self.event
    }
    fn device(&self) -> Device {
        self.loc.device()
    }
    fn dtype(&self) -> DType {
        self.loc.dtype()
    }

    fn sample_flat(&self, n: usize) -> Tensor<3> {
        self.rsample_flat(n).detach()
    }

    fn log_prob_flat(&self, x: Tensor<3>) -> Result<Tensor<2>, DistributionError> {
        let loc = self.loc.clone().unsqueeze::<3>();
        let scale = self.scale.clone().unsqueeze::<3>();
        let z = (x - loc) / scale.clone();
        let elementwise = z.square().mul_scalar(-0.5) - scale.log() - HALF_LN_2PI;
        Ok(elementwise.sum_dim(2).squeeze_dim(2))
    }

    fn entropy_flat(&self) -> Tensor<1> {
        (self.scale.clone().log() + (0.5 + HALF_LN_2PI))
            .sum_dim(1)
            .squeeze_dim(1)
    }

    fn mean_flat(&self) -> Tensor<2> {
        self.loc.clone()
    }

    fn variance_flat(&self) -> Tensor<2> {
        self.scale.clone().square()
    }

    fn select_batch(&self, index: Tensor<1, Int>, batch: Vec<usize>) -> Self {
        Self {
            loc: self.loc.clone().select(0, index.clone()),
            scale: self.scale.clone().select(0, index),
            batch,
            event: self.event.clone(),
        }
    }

    fn detach(&self) -> Self {
        Self {
            loc: self.loc.clone().detach(),
            scale: self.scale.clone().detach(),
            ..self.clone()
        }
    }
}

impl Reparameterized for Normal {
    fn rsample_flat(&self, n: usize) -> Tensor<3> {
        let [b, e] = self.loc.dims();
        let eps = crate::random::random(
            [n, b, e],
            Noise::Normal(0.0, 1.0),
            (&self.device(), self.dtype()),
        );
        self.loc.clone().unsqueeze::<3>() + self.scale.clone().unsqueeze::<3>() * eps
    }
}
