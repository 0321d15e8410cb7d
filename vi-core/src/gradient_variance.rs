//! A gradient-variance probe: repeat a stochastic gradient `R` times and report, per group of
//! parameters, the mean gradient, its variance and the signal-to-noise ratio, so the effect of an
//! estimator (sticking the landing, local reparameterization, more particles) can be measured.
//!
//! For a group with gradient components `g_j`: `mean_norm = ‖ḡ‖₂`,
//! `variance = Σ_j Var[g_j]` (the trace of the covariance, unbiased), and
//! `snr = ‖ḡ‖₂ / √variance` (Rainforth et al. 2018 use the per-coordinate version, also
//! reported as `mean_coordinate_snr`).

use burn::tensor::{Gradients, Tensor};

/// Anything whose gradient can be read from a [`Gradients`] (a tracked [`Tensor`] of any rank).
pub trait GradientSource {
    /// The gradient as `f64` values, if the tensor took part in the backward pass.
    fn gradient_values(&self, grads: &Gradients) -> Option<Vec<f64>>;
}

impl<const D: usize> GradientSource for Tensor<D> {
    fn gradient_values(&self, grads: &Gradients) -> Option<Vec<f64>> {
        self.grad(grads).map(|g| {
            g.into_data()
                .convert::<f64>()
                .try_into_vec::<f64>()
                .expect("float gradient")
        })
    }
}

/// A named group of parameters (e.g. "loc", "scale").
pub struct ParameterGroup {
    name: String,
    tensors: Vec<Box<dyn GradientSource>>,
}

impl ParameterGroup {
    /// An empty group.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            tensors: Vec::new(),
        }
    }

    /// Adds a tracked tensor (a `require_grad` leaf or a module parameter's `val()`).
    pub fn with<const D: usize>(mut self, tensor: &Tensor<D>) -> Self {
        self.tensors.push(Box::new(tensor.clone()));
        self
    }
}

/// What the probe measured for one group.
#[derive(Debug, Clone)]
pub struct GroupStatistics {
    /// Group name.
    pub name: String,
    /// Number of scalar parameters.
    pub parameters: usize,
    /// `‖ḡ‖₂`.
    pub mean_norm: f64,
    /// `Σ_j Var[g_j]` (unbiased, over the repeats).
    pub variance: f64,
    /// `‖ḡ‖₂ / √variance` (`+∞` when the variance is 0 and the mean is not).
    pub snr: f64,
    /// Mean over coordinates of `|ḡ_j| / sd(g_j)` (coordinates with zero variance left out).
    pub mean_coordinate_snr: f64,
    /// Per-coordinate mean gradient.
    pub mean: Vec<f64>,
    /// Per-coordinate variance.
    pub coordinate_variance: Vec<f64>,
}

/// Why the probe failed.
#[derive(Debug, thiserror::Error)]
pub enum GradientVarianceError {
    /// Fewer than two repeats give no variance.
    #[error("the probe needs at least 2 repeats, got {0}")]
    TooFewRepeats(usize),
    /// A tensor of the group received no gradient.
    #[error(
        "parameter group `{group}`: tensor {index} received no gradient (is it tracked and used?)"
    )]
    MissingGradient { group: String, index: usize },
    /// The objective returned a non-finite value.
    #[error("the objective is not finite at repeat {repeat}")]
    NonFinite { repeat: usize },
}

/// Evaluates `objective` (a fresh stochastic estimate of a scalar loss each call, on an autodiff
/// device) `repeats` times, back-propagates each, and summarizes the gradient of every group.
///
/// # Errors
/// [`GradientVarianceError`] for fewer than 2 repeats, an untracked tensor or a non-finite
/// objective.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor, Distribution};
/// use vi_core::gradient_variance::{ParameterGroup, gradient_variance};
/// let device = Device::default().autodiff();
/// let theta = Tensor::<1>::from_data([1.0, 2.0], &device).require_grad();
/// let groups = [ParameterGroup::new("theta").with(&theta)];
/// let stats = gradient_variance(32, &groups, || {
///     let noise = Tensor::<1>::random([2], Distribution::Normal(0.0, 1.0), &device);
///     (theta.clone() * noise).sum() // gradient = noise: mean 0, variance 1 per coordinate
/// }).unwrap();
/// assert!(stats[0].variance > 0.5 && stats[0].variance < 4.0);
/// ```
pub fn gradient_variance<F>(
    repeats: usize,
    groups: &[ParameterGroup],
    mut objective: F,
) -> Result<Vec<GroupStatistics>, GradientVarianceError>
where
    F: FnMut() -> Tensor<1>,
{
    if repeats < 2 {
        return Err(GradientVarianceError::TooFewRepeats(repeats));
    }
    // Welford accumulators per group: (count, mean, M2) per coordinate.
    let mut accumulators: Vec<(Vec<f64>, Vec<f64>)> =
        groups.iter().map(|_| (Vec::new(), Vec::new())).collect();
    for repeat in 0..repeats {
        let loss = objective();
        let value: f64 = loss
            .clone()
            .detach()
            .into_data()
            .convert::<f64>()
            .try_into_vec::<f64>()
            .expect("float")[0];
        if !value.is_finite() {
            return Err(GradientVarianceError::NonFinite { repeat });
        }
        let grads = loss.backward();
        for (group, (mean, m2)) in groups.iter().zip(accumulators.iter_mut()) {
            let mut values = Vec::new();
            for (index, tensor) in group.tensors.iter().enumerate() {
                values.extend(tensor.gradient_values(&grads).ok_or_else(|| {
                    GradientVarianceError::MissingGradient {
                        group: group.name.clone(),
                        index,
                    }
                })?);
            }
            if mean.is_empty() {
                mean.resize(values.len(), 0.0);
                m2.resize(values.len(), 0.0);
            }
            let count = (repeat + 1) as f64;
            for ((m, s), x) in mean.iter_mut().zip(m2.iter_mut()).zip(values) {
                let delta = x - *m;
                *m += delta / count;
                *s += delta * (x - *m);
            }
        }
    }
    Ok(groups
        .iter()
        .zip(accumulators)
        .map(|(group, (mean, m2))| {
            let coordinate_variance: Vec<f64> =
                m2.iter().map(|s| s / (repeats - 1) as f64).collect();
            let mean_norm = mean.iter().map(|m| m * m).sum::<f64>().sqrt();
            let variance: f64 = coordinate_variance.iter().sum();
            let snr = if variance > 0.0 {
                mean_norm / variance.sqrt()
            } else if mean_norm > 0.0 {
                f64::INFINITY
            } else {
                0.0
            };
            let ratios: Vec<f64> = mean
                .iter()
                .zip(&coordinate_variance)
                .filter(|(_, v)| **v > 0.0)
                .map(|(m, v)| m.abs() / v.sqrt())
                .collect();
            let mean_coordinate_snr = if ratios.is_empty() {
                f64::INFINITY
            } else {
                ratios.iter().sum::<f64>() / ratios.len() as f64
            };
            GroupStatistics {
                name: group.name.clone(),
                parameters: mean.len(),
                mean_norm,
                variance,
                snr,
                mean_coordinate_snr,
                mean,
                coordinate_variance,
            }
        })
        .collect())
}
