//! The [`Distribution`] and [`Reparameterized`] traits (shaped methods provided over the
//! flattened `*_flat` ones each distribution implements) and the layout helpers the
//! distributions share.

use super::error::DistributionError;
use super::shape::{broadcast_or_err, expand_batch, numel, shaped};
use burn::tensor::{DType, Device, Int, Tensor};

/// `ln √(2π)`.
pub(crate) const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// A batch of probability distributions over tensors.
///
/// Implementors provide the `*_flat` methods in the flattened layout (see the module docs); the
/// shaped methods are provided.
pub trait Distribution: Clone + Sized {
    /// Name used in error messages.
    const NAME: &'static str;

    /// Shape of the batch of independent distributions.
    fn batch_shape(&self) -> &[usize];
    /// Shape of one value.
    fn event_shape(&self) -> &[usize];
    /// Device of the parameters.
    fn device(&self) -> Device;
    /// Float dtype of the parameters (and of samples).
    fn dtype(&self) -> DType;

    /// `n` samples `[n, b, e]`, without gradient.
    fn sample_flat(&self, n: usize) -> Tensor<3>;
    /// Log density of `x` `[s, b, e]`, `[s, b]`.
    fn log_prob_flat(&self, x: Tensor<3>) -> Result<Tensor<2>, DistributionError>;
    /// Entropy, `[b]`.
    fn entropy_flat(&self) -> Tensor<1>;
    /// Mean, `[b, e]`.
    fn mean_flat(&self) -> Tensor<2>;
    /// Variance (of each coordinate), `[b, e]`.
    fn variance_flat(&self) -> Tensor<2>;
    /// The distribution with its flat batch axis re-indexed by `index` (length `numel(batch)`),
    /// now of batch shape `batch`.
    fn select_batch(&self, index: Tensor<1, Int>, batch: Vec<usize>) -> Self;
    /// The same distribution with every parameter detached from the autodiff graph (what
    /// "sticking the landing" evaluates `log q` with).
    fn detach(&self) -> Self;

    /// Flat event size `e`.
    fn event_numel(&self) -> usize {
        numel(self.event_shape())
    }

    /// The distribution broadcast to a larger batch shape.
    ///
    /// # Errors
    /// [`DistributionError::ShapeMismatch`] when the batch shape does not broadcast to `batch`.
    fn expand(&self, batch: &[usize]) -> Result<Self, DistributionError> {
        let common = broadcast_or_err(Self::NAME, "expand", self.batch_shape(), batch)?;
        if common != batch {
            return Err(DistributionError::ShapeMismatch {
                distribution: Self::NAME,
                reason: format!(
                    "batch shape {:?} cannot expand to {batch:?}",
                    self.batch_shape()
                ),
            });
        }
        if common == self.batch_shape() {
            return Ok(self.clone());
        }
        let index = super::shape::broadcast_index(self.batch_shape(), batch, &self.device());
        Ok(self.select_batch(index, batch.to_vec()))
    }

    /// `n` samples, shape `[n] + batch + event` (rank `S`), without gradient.
    fn sample<const S: usize>(&self, n: usize) -> Tensor<S> {
        let dims = value_dims(n, self.batch_shape(), self.event_shape());
        shaped(self.sample_flat(n).detach(), &dims, "sample")
    }

    /// Log density of `x` (shape `sample + batch + event`, batch broadcasting against the
    /// distribution's), shape `sample + batch` (rank `R`).
    ///
    /// # Errors
    /// [`DistributionError::ShapeMismatch`] when `x` does not end in the event shape or its batch
    /// dimensions do not broadcast.
    fn log_prob<const S: usize, const R: usize>(
        &self,
        x: Tensor<S>,
    ) -> Result<Tensor<R>, DistributionError> {
        let (flat, dims, dist) = flatten_value(self, x)?;
        Ok(shaped(dist.log_prob_flat(flat)?, &dims, "log_prob"))
    }

    /// Log density of `x` summed over the batch: one value per leading sample index of `x`
    /// (`[s]` for `x` of shape `[s] + batch + event`), the joint log density of independent
    /// batch elements.
    ///
    /// # Errors
    /// As [`Distribution::log_prob`].
    fn log_prob_joint<const S: usize>(&self, x: Tensor<S>) -> Result<Tensor<1>, DistributionError> {
        let leading = x.dims()[0];
        let (flat, _, dist) = flatten_value(self, x)?;
        // `[s, b]` is row-major over `sample + batch`: everything after the first axis is summed
        // (also when the distribution's batch is smaller than the value's and broadcasts).
        Ok(dist
            .log_prob_flat(flat)?
            .reshape([leading as i64, -1])
            .sum_dim(1)
            .squeeze_dim(1))
    }

    /// Entropy of each batch element, shape `batch` (rank `R`).
    fn entropy<const R: usize>(&self) -> Tensor<R> {
        shaped(self.entropy_flat(), self.batch_shape(), "entropy")
    }

    /// Mean, shape `batch + event` (rank `R`).
    fn mean<const R: usize>(&self) -> Tensor<R> {
        let dims = value_dims(1, self.batch_shape(), self.event_shape());
        shaped(self.mean_flat(), &dims[1..], "mean")
    }

    /// Variance of each coordinate, shape `batch + event` (rank `R`).
    fn variance<const R: usize>(&self) -> Tensor<R> {
        let dims = value_dims(1, self.batch_shape(), self.event_shape());
        shaped(self.variance_flat(), &dims[1..], "variance")
    }
}

/// A distribution with a reparameterized sampler: `x = g_θ(ε)` with `ε` parameter-free, so
/// gradients flow from `x` to the parameters (Kingma & Welling 2014).
pub trait Reparameterized: Distribution {
    /// `n` differentiable samples `[n, b, e]`.
    fn rsample_flat(&self, n: usize) -> Tensor<3>;

    /// `n` differentiable samples, shape `[n] + batch + event` (rank `S`).
    fn rsample<const S: usize>(&self, n: usize) -> Tensor<S> {
        let dims = value_dims(n, self.batch_shape(), self.event_shape());
        shaped(self.rsample_flat(n), &dims, "rsample")
    }
}

/// `[n] + batch + event`.
fn value_dims(n: usize, batch: &[usize], event: &[usize]) -> Vec<usize> {
    std::iter::once(n)
        .chain(batch.iter().copied())
        .chain(event.iter().copied())
        .collect()
}

/// Splits `x` into sample, batch and event parts, broadcasts the batch part with the
/// distribution's, and returns `x` as `[s, b, e]`, the output dims `sample + batch`, and the
/// distribution expanded to the common batch.
#[allow(clippy::type_complexity)]
fn flatten_value<T: Distribution, const S: usize>(
    dist: &T,
    x: Tensor<S>,
) -> Result<(Tensor<3>, Vec<usize>, T), DistributionError> {
    let dims = x.dims();
    let event = dist.event_shape();
    let batch = dist.batch_shape();
    if S < event.len() || dims[S - event.len()..] != *event {
        return Err(DistributionError::ShapeMismatch {
            distribution: T::NAME,
            reason: format!("value of shape {dims:?} does not end in the event shape {event:?}"),
        });
    }
    let value_batch_rank = (S - event.len()).min(batch.len());
    let sample_rank = S - event.len() - value_batch_rank;
    let x_batch = &dims[sample_rank..S - event.len()];
    let common = broadcast_or_err(T::NAME, "log_prob batch", x_batch, batch)?;
    let s = numel(&dims[..sample_rank]);
    let e = numel(event);
    let flat = x.reshape([s, numel(x_batch), e]);
    let flat = if numel(x_batch) == numel(&common) {
        flat
    } else {
        let index = super::shape::broadcast_index(x_batch, &common, &dist.device());
        flat.select(1, index)
    };
    let dist = dist.expand(&common)?;
    let out: Vec<usize> = dims[..sample_rank].iter().copied().chain(common).collect();
    Ok((flat, out, dist))
}

/// Flattens a parameter of shape `batch + rest` to `[numel(batch)] + rest` broadcast to the batch
/// shape `target`.
pub(crate) fn flat_param<const D: usize, const K: usize>(
    t: Tensor<D>,
    batch: &[usize],
    target: &[usize],
    rest: &[usize],
) -> Tensor<K> {
    let mut dims = [0usize; K];
    dims[0] = numel(batch);
    dims[1..].copy_from_slice(rest);
    expand_batch(t.reshape(dims), batch, target)
}

/// `[s, b, e]` → `[b, e, s]`: each batch element's samples as the columns of one matrix, the
/// right-hand side of a batched solve.
pub(crate) fn sample_columns(x: Tensor<3>) -> Tensor<3> {
    x.permute([1, 2, 0])
}
