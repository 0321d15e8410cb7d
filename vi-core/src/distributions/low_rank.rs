//! The multivariate normal with a low-rank-plus-diagonal covariance.

use super::distribution::{Distribution, HALF_LN_2PI, Reparameterized, flat_param, sample_columns};
use super::error::DistributionError;
use super::shape::{broadcast_or_err, numel, shaped};
use super::validate::{Constraint, check, validate};
use crate::linalg::{Side, Triangle, cholesky, diagonals, identity_like, solve_triangular};
use burn::tensor::{DType, Device, Distribution as Noise, Int, Tensor};

/// `N(μ, W Wᵀ + D)` with `W [n, k]` (`cov_factor`) and `D = diag(d)` (`cov_diag`, variances).
///
/// With the capacitance `C = I_k + Wᵀ D⁻¹ W = L_C L_Cᵀ` (computed once, at construction),
/// Woodbury and the matrix-determinant lemma give, in `O(n k²)` per batch element:
/// `ln|Σ| = ln|C| + Σᵢ ln dᵢ` and
/// `(x−μ)ᵀ Σ⁻¹ (x−μ) = ‖D^{-½}(x−μ)‖² − ‖L_C⁻¹ Wᵀ D⁻¹ (x−μ)‖²`.
/// `x = μ + W ε_k + √d ⊙ ε_n`.
///
/// # Shapes
/// `loc [batch.., n]`, `cov_factor [batch.., n, k]`, `cov_diag [batch.., n]`; batch dimensions
/// broadcast; event `[n]`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::distributions::{Distribution, LowRankMultivariateNormal, Reparameterized};
/// let device = Device::default();
/// let q = LowRankMultivariateNormal::new(
///     Tensor::<1>::zeros([100], &device),
///     Tensor::<2>::ones([100, 3], &device).mul_scalar(0.1),
///     Tensor::<1>::ones([100], &device),
/// ).unwrap();
/// let x: Tensor<2> = q.rsample(4);
/// let lp: Tensor<1> = q.log_prob(x).unwrap();
/// let lp: Vec<f32> = lp.into_data().try_into_vec::<f32>().unwrap();
/// assert!(lp.len() == 4 && lp.iter().all(|v| v.is_finite()));
/// ```
#[derive(Debug, Clone)]
pub struct LowRankMultivariateNormal {
    loc: Tensor<2>,
    cov_factor: Tensor<3>,
    cov_diag: Tensor<2>,
    capacitance_tril: Tensor<3>,
    batch: Vec<usize>,
    event: Vec<usize>,
}

impl LowRankMultivariateNormal {
    /// Validated constructor: finite `loc` and `cov_factor`, finite positive `cov_diag`.
    ///
    /// # Errors
    /// [`DistributionError::InvalidParameter`] naming the parameter;
    /// [`DistributionError::ShapeMismatch`] on inconsistent shapes.
    pub fn new<const D: usize, const D1: usize>(
        loc: Tensor<D>,
        cov_factor: Tensor<D1>,
        cov_diag: Tensor<D>,
    ) -> Result<Self, DistributionError> {
        validate(
            "LowRankMultivariateNormal",
            &[
                &check("loc", &loc, Constraint::Real),
                &check("cov_factor", &cov_factor, Constraint::Real),
                &check("cov_diag", &cov_diag, Constraint::Positive),
            ],
        )?;
        Self::new_unchecked(loc, cov_factor, cov_diag)
    }

    /// As [`LowRankMultivariateNormal::new`] without the value checks.
    ///
    /// # Errors
    /// [`DistributionError::ShapeMismatch`] on inconsistent shapes.
    pub fn new_unchecked<const D: usize, const D1: usize>(
        loc: Tensor<D>,
        cov_factor: Tensor<D1>,
        cov_diag: Tensor<D>,
    ) -> Result<Self, DistributionError> {
        let name = "LowRankMultivariateNormal";
        let (ld, wd, dd) = (
            loc.dims().to_vec(),
            cov_factor.dims().to_vec(),
            cov_diag.dims().to_vec(),
        );
        let n = ld[D - 1];
        if D1 != D + 1 || wd[D1 - 2] != n || dd[D - 1] != n {
            return Err(DistributionError::ShapeMismatch {
                distribution: name,
                reason: format!(
                    "loc {ld:?} needs cov_factor [.., {n}, k] and cov_diag [.., {n}], got {wd:?} and {dd:?}"
                ),
            });
        }
        let k = wd[D1 - 1];
        let (lb, wb, db) = (&ld[..D - 1], &wd[..D1 - 2], &dd[..D - 1]);
        let batch = broadcast_or_err(name, "loc and cov_factor", lb, wb)?;
        let batch = broadcast_or_err(name, "cov_diag", &batch, db)?;
        let loc = flat_param(loc, lb, &batch, &[n]);
        let cov_factor: Tensor<3> = flat_param(cov_factor, wb, &batch, &[n, k]);
        let cov_diag: Tensor<2> = flat_param(cov_diag, db, &batch, &[n]);
        let scaled = cov_factor.clone() / cov_diag.clone().unsqueeze_dim::<3>(2);
        let capacitance =
            cov_factor.clone().transpose().matmul(scaled) + identity_like::<3, 3>(&cov_factor, k);
        let capacitance_tril = cholesky(capacitance)?;
        Ok(Self {
            loc,
            cov_factor,
            cov_diag,
            capacitance_tril,
            batch,
            event: vec![n],
        })
    }

    /// Location, shape `batch + [n]` (rank `R`).
    pub fn loc<const R: usize>(&self) -> Tensor<R> {
        shaped(
            self.loc.clone(),
            &[self.batch.clone(), self.event.clone()].concat(),
            "loc",
        )
    }

    /// Covariance `W Wᵀ + diag(d)`, shape `batch + [n, n]` (rank `R`); `O(n²)` memory.
    pub fn covariance<const R: usize>(&self) -> Tensor<R> {
        let n = self.event[0];
        let w = self.cov_factor.clone();
        let diag =
            self.cov_diag.clone().unsqueeze_dim::<3>(2) * identity_like::<2, 3>(&self.cov_diag, n);
        shaped(
            w.clone().matmul(w.transpose()) + diag,
            &[self.batch.clone(), vec![n, n]].concat(),
            "covariance",
        )
    }

    /// Rank `k` of the factor.
    pub fn rank(&self) -> usize {
        self.cov_factor.dims()[2]
    }

    /// `(loc [b, n], cov_factor [b, n, k], cov_diag [b, n])` in the flat layout.
    pub fn flat_parameters(&self) -> (Tensor<2>, Tensor<3>, Tensor<2>) {
        (
            self.loc.clone(),
            self.cov_factor.clone(),
            self.cov_diag.clone(),
        )
    }

    /// `½ ln|Σ|` per batch element, `[b]`.
    pub(crate) fn half_logdet_flat(&self) -> Tensor<1> {
        let b = numel(&self.batch);
        let k = self.rank();
        let capacitance = diagonals(self.capacitance_tril.clone(), b, k)
            .log()
            .sum_dim(1);
        let diag = self.cov_diag.clone().log().sum_dim(1).mul_scalar(0.5);
        (capacitance + diag).squeeze_dim(1)
    }
}

impl Distribution for LowRankMultivariateNormal {
    const NAME: &'static str = "LowRankMultivariateNormal";

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
        let diff = sample_columns(x - self.loc.clone().unsqueeze::<3>()); // [b, n, s]
        let scaled = diff.clone() / self.cov_diag.clone().unsqueeze_dim::<3>(2); // D⁻¹ (x − μ)
        let diagonal_term = (diff * scaled.clone()).sum_dim(1); // [b, 1, s]
        let projected = self.cov_factor.clone().transpose().matmul(scaled); // [b, k, s]
        let z = solve_triangular(
            self.capacitance_tril.clone(),
            projected,
            Triangle::Lower,
            false,
            Side::Left,
        )?;
        let mahalanobis = (diagonal_term - z.square().sum_dim(1))
            .squeeze_dim::<2>(1)
            .transpose();
        let constant = self.half_logdet_flat().unsqueeze::<2>() + n as f64 * HALF_LN_2PI;
        Ok(mahalanobis.mul_scalar(-0.5) - constant)
    }

    fn entropy_flat(&self) -> Tensor<1> {
        self.half_logdet_flat() + self.event[0] as f64 * (0.5 + HALF_LN_2PI)
    }

    fn mean_flat(&self) -> Tensor<2> {
        self.loc.clone()
    }

    fn variance_flat(&self) -> Tensor<2> {
        self.cov_factor
            .clone()
            .square()
            .sum_dim(2)
            .squeeze_dim::<2>(2)
            + self.cov_diag.clone()
    }

    fn select_batch(&self, index: Tensor<1, Int>, batch: Vec<usize>) -> Self {
        Self {
            loc: self.loc.clone().select(0, index.clone()),
            cov_factor: self.cov_factor.clone().select(0, index.clone()),
            cov_diag: self.cov_diag.clone().select(0, index.clone()),
            capacitance_tril: self.capacitance_tril.clone().select(0, index),
            batch,
            event: self.event.clone(),
        }
    }

    fn detach(&self) -> Self {
        Self {
            loc: self.loc.clone().detach(),
            cov_factor: self.cov_factor.clone().detach(),
            cov_diag: self.cov_diag.clone().detach(),
            capacitance_tril: self.capacitance_tril.clone().detach(),
            ..self.clone()
        }
    }
}

impl Reparameterized for LowRankMultivariateNormal {
    fn rsample_flat(&self, samples: usize) -> Tensor<3> {
        let [b, n] = self.loc.dims();
        let k = self.rank();
        let options = (&self.device(), self.dtype());
        let eps_k = crate::random::random([b, k, samples], Noise::Normal(0.0, 1.0), options);
        let eps_n = crate::random::random([samples, b, n], Noise::Normal(0.0, 1.0), options);
        let low_rank = self.cov_factor.clone().matmul(eps_k).permute([2, 0, 1]);
        let diagonal = self.cov_diag.clone().sqrt().unsqueeze::<3>() * eps_n;
        self.loc.clone().unsqueeze::<3>() + low_rank + diagonal
    }
}
