//! The multivariate normal with a full covariance, parameterized by its Cholesky factor.

use super::distribution::{Distribution, HALF_LN_2PI, Reparameterized, flat_param, sample_columns};
use super::error::DistributionError;
use super::shape::{broadcast_or_err, numel, shaped};
use super::validate::{Constraint, check, validate};
use crate::linalg::{
    JitterConfig, Side, Triangle, cholesky, cholesky_inverse, cholesky_jittered, diagonals,
    solve_triangular,
};
use burn::tensor::{DType, Device, Distribution as Noise, Int, Tensor};

/// `N(μ, Σ)` with `Σ = L Lᵀ`, `L` lower triangular with a positive diagonal (`scale_tril`).
///
/// `log p(x) = −½‖L⁻¹(x − μ)‖² − Σᵢ ln Lᵢᵢ − (n/2) ln 2π`, `H = (n/2)(1 + ln 2π) + Σᵢ ln Lᵢᵢ`,
/// `x = μ + L ε`. Only the lower triangle of `scale_tril` is read, so its gradient is zero above
/// the diagonal. Cost: one batched triangular solve per `log_prob`.
///
/// # Shapes
/// `loc [batch.., n]`, `scale_tril [batch.., n, n]`; batch dimensions broadcast; event `[n]`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::distributions::{Distribution, MultivariateNormal};
/// let device = Device::default();
/// let q = MultivariateNormal::from_covariance(
///     Tensor::<1>::from_data([0.0, 1.0], &device),
///     Tensor::<2>::from_data([[2.0, 0.5], [0.5, 1.0]], &device),
/// ).unwrap();
/// let lp: Tensor<1> = q.log_prob(Tensor::<2>::from_data([[0.0, 1.0]], &device)).unwrap();
/// let lp: f32 = lp.into_scalar(); // at the mean: −ln 2π − ½ ln|Σ|
/// assert!((lp + (2.0 * std::f32::consts::PI).ln() + 0.5 * 1.75f32.ln()).abs() < 1e-4);
/// ```
#[derive(Debug, Clone)]
pub struct MultivariateNormal {
    loc: Tensor<2>,
    scale_tril: Tensor<3>,
    batch: Vec<usize>,
    event: Vec<usize>,
}

impl MultivariateNormal {
    /// From `loc [.., n]` and the Cholesky factor `scale_tril [.., n, n]` (rank `D + 1`),
    /// validated: `loc` and `scale_tril` finite, the diagonal positive (the entries above the
    /// diagonal are ignored but must be finite, as torch requires them to be zero).
    ///
    /// # Errors
    /// [`DistributionError::InvalidParameter`] naming the parameter;
    /// [`DistributionError::ShapeMismatch`] on inconsistent shapes.
    pub fn new<const D: usize, const D1: usize>(
        loc: Tensor<D>,
        scale_tril: Tensor<D1>,
    ) -> Result<Self, DistributionError> {
        let dist = Self::new_unchecked(loc, scale_tril)?;
        let (b, n) = (numel(&dist.batch), dist.event[0]);
        validate(
            "MultivariateNormal",
            &[
                &check("loc", &dist.loc, Constraint::Real),
                &check("scale_tril", &dist.scale_tril, Constraint::Real),
                &check(
                    "scale_tril (diagonal)",
                    &diagonals(dist.scale_tril.clone(), b, n),
                    Constraint::Positive,
                ),
            ],
        )?;
        Ok(dist)
    }

    /// As [`MultivariateNormal::new`] without the value checks (no device read-back).
    ///
    /// # Errors
    /// [`DistributionError::ShapeMismatch`] on inconsistent shapes.
    pub fn new_unchecked<const D: usize, const D1: usize>(
        loc: Tensor<D>,
        scale_tril: Tensor<D1>,
    ) -> Result<Self, DistributionError> {
        let (ld, sd) = (loc.dims().to_vec(), scale_tril.dims().to_vec());
        let n = ld[D - 1];
        if D1 != D + 1 || sd[D1 - 1] != n || sd[D1 - 2] != n {
            return Err(DistributionError::ShapeMismatch {
                distribution: "MultivariateNormal",
                reason: format!("loc {ld:?} needs scale_tril [.., {n}, {n}], got {sd:?}"),
            });
        }
        let (lb, sb) = (&ld[..D - 1], &sd[..D1 - 2]);
        let batch = broadcast_or_err("MultivariateNormal", "loc and scale_tril", lb, sb)?;
        Ok(Self {
            loc: flat_param(loc, lb, &batch, &[n]),
            scale_tril: flat_param::<D1, 3>(scale_tril, sb, &batch, &[n, n]),
            batch,
            event: vec![n],
        })
    }

    /// From a covariance `[.., n, n]` through the jittered Cholesky (GPyTorch's
    /// `psd_safe_cholesky`: jitter added only to batch elements that need it).
    ///
    /// # Errors
    /// [`DistributionError::Linalg`] when the covariance is not positive definite even with the
    /// largest jitter, naming the batch element.
    pub fn from_covariance<const D: usize, const D1: usize>(
        loc: Tensor<D>,
        covariance: Tensor<D1>,
    ) -> Result<Self, DistributionError> {
        let factor = cholesky_jittered(covariance, &JitterConfig::default())?.factor;
        Self::new(loc, factor)
    }

    /// From a precision matrix `Λ = Σ⁻¹` `[.., n, n]`: `Σ = cholesky_inverse(chol(Λ))` and its
    /// factor.
    ///
    /// # Errors
    /// [`DistributionError::Linalg`] when the precision is not positive definite.
    pub fn from_precision<const D: usize, const D1: usize>(
        loc: Tensor<D>,
        precision: Tensor<D1>,
    ) -> Result<Self, DistributionError> {
        let covariance = cholesky_inverse(cholesky(precision)?)?;
        let sym = (covariance.clone() + covariance.transpose()).mul_scalar(0.5);
        Self::new(loc, cholesky(sym)?)
    }

    /// Location, shape `batch + [n]` (rank `R`).
    pub fn loc<const R: usize>(&self) -> Tensor<R> {
        shaped(
            self.loc.clone(),
            &[self.batch.clone(), self.event.clone()].concat(),
            "loc",
        )
    }

    /// Cholesky factor, shape `batch + [n, n]` (rank `R`).
    pub fn scale_tril<const R: usize>(&self) -> Tensor<R> {
        let n = self.event[0];
        shaped(
            self.scale_tril.clone().tril(0),
            &[self.batch.clone(), vec![n, n]].concat(),
            "scale_tril",
        )
    }

    /// Covariance `L Lᵀ`, shape `batch + [n, n]` (rank `R`).
    pub fn covariance<const R: usize>(&self) -> Tensor<R> {
        let n = self.event[0];
        let l = self.scale_tril.clone().tril(0);
        shaped(
            l.clone().matmul(l.transpose()),
            &[self.batch.clone(), vec![n, n]].concat(),
            "covariance",
        )
    }

    /// Location in the flat layout `[b, n]`.
    pub fn loc_flat(&self) -> Tensor<2> {
        self.loc.clone()
    }

    /// Cholesky factor in the flat layout `[b, n, n]` (lower triangle; zeros above).
    pub fn scale_tril_flat(&self) -> Tensor<3> {
        self.scale_tril.clone().tril(0)
    }

    /// `Σᵢ ln Lᵢᵢ` per batch element, `[b]` (half the log-determinant).
    pub(crate) fn half_logdet_flat(&self) -> Tensor<1> {
        let (b, n) = (numel(&self.batch), self.event[0]);
        diagonals(self.scale_tril.clone(), b, n)
            .log()
            .sum_dim(1)
            .squeeze_dim(1)
    }
}

impl Distribution for MultivariateNormal {
    const NAME: &'static str = "MultivariateNormal";

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
        let n = self.event[0];
        // [s, b, n] → [b, n, s]: one triangular solve with s right-hand sides per batch element.
        let diff = sample_columns(x - self.loc.clone().unsqueeze::<3>());
        let z = solve_triangular(
            self.scale_tril.clone(),
            diff,
            Triangle::Lower,
            false,
            Side::Left,
        )?;
        let mahalanobis = z.square().sum_dim(1).squeeze_dim::<2>(1).transpose(); // [s, b]
        let constant = self.half_logdet_flat().unsqueeze::<2>() + n as f64 * HALF_LN_2PI;
        Ok(mahalanobis.mul_scalar(-0.5) - constant)
    }

    fn entropy_flat(&self) -> Tensor<1> {
        let n = self.event[0] as f64;
        self.half_logdet_flat() + n * (0.5 + HALF_LN_2PI)
    }

    fn mean_flat(&self) -> Tensor<2> {
        self.loc.clone()
    }

    fn variance_flat(&self) -> Tensor<2> {
        self.scale_tril
            .clone()
            .tril(0)
            .square()
            .sum_dim(2)
            .squeeze_dim(2)
    }

    fn select_batch(&self, index: Tensor<1, Int>, batch: Vec<usize>) -> Self {
        Self {
            loc: self.loc.clone().select(0, index.clone()),
            scale_tril: self.scale_tril.clone().select(0, index),
            batch,
            event: self.event.clone(),
        }
    }

    fn detach(&self) -> Self {
        Self {
            loc: self.loc.clone().detach(),
            scale_tril: self.scale_tril.clone().detach(),
            ..self.clone()
        }
    }
}

impl Reparameterized for MultivariateNormal {
    fn rsample_flat(&self, samples: usize) -> Tensor<3> {
        let [b, n] = self.loc.dims();
        let eps = crate::random::random(
            [b, n, samples],
            Noise::Normal(0.0, 1.0),
            (&self.device(), self.dtype()),
        );
        let correlated = self
            .scale_tril
            .clone()
            .tril(0)
            .matmul(eps)
            .permute([2, 0, 1]); // [s, b, n]
        correlated + self.loc.clone().unsqueeze::<3>()
    }
}
