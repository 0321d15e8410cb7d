//! What one step of an [`super::Svgp`] computes and returns.

use super::super::error::GpError;
use super::super::marginals::GaussianMarginals;
use burn::tensor::Tensor;
use vi_core::distributions::{MultivariateNormal, Normal};
use vi_core::elbo::ElboTerms;
use vi_core::kl::{KlDivergence, kl_to_standard_normal};
use vi_core::linalg::{Side, Triangle, triangular_matmul};

/// `K_zz`'s factor and the prior mean at `Z`, computed once per step.
#[derive(Debug, Clone)]
pub struct InducingPrior {
    /// `L_zz` with `L_zz L_zzᵀ = K_zz + jitter·I`, `[1 or P, M, M]`.
    pub cholesky: Tensor<3>,
    /// `m(Z)`, `[P, M]`.
    pub mean: Tensor<2>,
    /// The jitter added to every `K_zz`.
    pub jitter: f64,
    /// Further jitter each `K_zz` needed (0 where none), one per batch element.
    pub extra_jitter: Vec<f64>,
    /// `q(u)`'s scale, built once per step and shared by the predictive and the KL.
    pub q_scale: VariationalScale,
}

/// The scale of `q(u)`: a lower-triangular factor with a positive diagonal (full rank) or the
/// standard deviations (mean field).
#[derive(Debug, Clone)]
pub enum VariationalScale {
    /// `L`, `[P, M, M]`, `S = L Lᵀ`.
    Tril(Tensor<3>),
    /// `s`, `[P, M]`, `S = diag(s²)`.
    Diagonal(Tensor<2>),
}

/// A layer's output for one step.
#[derive(Debug, Clone)]
pub struct SvgpOutput {
    /// `q(f(x))`, `[N, P]`.
    pub f: GaussianMarginals,
    /// `Σ_p KL(q(u_p) ‖ p(u_p))`, `[1]`.
    pub kl: Tensor<1>,
    /// Jitter beyond the configured one that `K_zz` needed (0 where none), per batch element.
    pub extra_jitter: Vec<f64>,
    /// `None` from [`super::Svgp::forward`], which checked `K_zz`'s factor. From
    /// [`super::Svgp::forward_deferred`], the factor's unread guard `[1 or P]`
    /// ([`vi_core::linalg::DeferredCholesky::guard`]): finite exactly when `K_zz` factorised at
    /// the configured jitter.
    pub guard: Option<Tensor<1>>,
}

/// One minibatch's ELBO from [`super::Svgp::elbo`]: the layer's output and the checked terms.
#[derive(Debug, Clone)]
pub struct SvgpElbo {
    /// The marginals, KL and jitter report, as [`super::Svgp::forward`] returns them.
    pub output: SvgpOutput,
    /// The ELBO's terms, checked and read as [`vi_core::elbo::Elbo::from_terms`] does.
    pub terms: ElboTerms,
}

/// A joint predictive over a (small) batch: per output `N(mean, covariance)`.
#[derive(Debug, Clone)]
pub struct JointPredictive {
    /// `[P, N]`.
    pub mean: Tensor<2>,
    /// `[P, N, N]`.
    pub covariance: Tensor<3>,
}

impl JointPredictive {
    /// The predictive as a [`MultivariateNormal`] (batch `[P]`, event `[N]`) through the
    /// jittered Cholesky.
    ///
    /// # Errors
    /// When the covariance is not positive definite even with jitter.
    pub fn distribution(&self) -> Result<MultivariateNormal, GpError> {
        Ok(MultivariateNormal::from_covariance(
            self.mean.clone(),
            self.covariance.clone(),
        )?)
    }
}

impl VariationalScale {
    /// `Lᵀ proj` (full rank, a triangular matmul) or `s ⊙ proj` (mean field), `[P, M, N]`.
    ///
    /// # Errors
    /// [`GpError::Linalg`] when the shapes disagree.
    pub fn scaled_projection(&self, proj: Tensor<3>) -> Result<Tensor<3>, GpError> {
        Ok(match self {
            VariationalScale::Tril(l) => {
                let p = l.dims()[0];
                triangular_matmul(
                    l.clone(),
                    per_output(proj, p),
                    Triangle::Lower,
                    true,
                    Side::Left,
                )?
            }
            VariationalScale::Diagonal(s) => proj * s.clone().unsqueeze_dim::<3>(2),
        })
    }

    /// The factor as a dense lower triangle, `[P, M, M]` (`diag(s)` for the mean field).
    pub fn tril(self) -> Tensor<3> {
        match self {
            VariationalScale::Tril(l) => l,
            VariationalScale::Diagonal(s) => {
                let m = s.dims()[1];
                let eye = Tensor::<2>::eye(m, &s.device())
                    .cast(s.dtype())
                    .unsqueeze::<3>();
                eye * s.unsqueeze_dim::<3>(1)
            }
        }
    }

    /// `Σ_p KL(N(m_p, S_p) ‖ N(0, I))`, `[1]`: `½ (‖L‖²_F + ‖m‖² − M) − Σᵢ ln Lᵢᵢ` per output as
    /// one fused op (full rank), or vi-core's Normal ‖ Normal (mean field).
    ///
    /// # Errors
    /// [`GpError::Distribution`] when `m` and the scale disagree in shape.
    pub fn kl_to_standard_normal(self, loc: Tensor<2>) -> Result<Tensor<1>, GpError> {
        match self {
            VariationalScale::Tril(l) => Ok(kl_to_standard_normal(loc, l)?),
            VariationalScale::Diagonal(s) => {
                let q = Normal::new_unchecked(loc.clone(), s)?.to_event(1)?;
                let zero = loc.zeros_like();
                let prior = Normal::new_unchecked(zero.clone(), zero.ones_like())?.to_event(1)?;
                Ok(q.kl_sum(&prior)?)
            }
        }
    }

    /// `Σ_p KL(N(m_p, S_p) ‖ N(μ_p, L_p L_pᵀ))`, `[1]` (vi-core's MVN ‖ MVN).
    ///
    /// # Errors
    /// [`GpError::Distribution`] when the shapes disagree.
    pub fn kl_to(
        self,
        loc: Tensor<2>,
        mean: Tensor<2>,
        cholesky: Tensor<3>,
    ) -> Result<Tensor<1>, GpError> {
        let q = MultivariateNormal::new_unchecked(loc, self.tril())?;
        let prior = MultivariateNormal::new_unchecked(mean, cholesky)?;
        Ok(q.kl_sum(&prior)?)
    }
}

/// `max(k(x, x) + ‖S^{½ᵀ} projₙ‖² − ‖aₙ‖², 0)` per output, `[P, N]`: the marginal variances
/// from the projections, in plain ops.
pub(crate) fn composed_variance(
    scale: &VariationalScale,
    a: Tensor<3>,
    proj: Tensor<3>,
    kxx: Tensor<2>,
    p: usize,
) -> Result<Tensor<2>, GpError> {
    let n = a.dims()[2];
    let explained = a.square().sum_dim(1).reshape([0, n]);
    let added = scale
        .scaled_projection(proj)?
        .square()
        .sum_dim(1)
        .reshape([p, n]);
    Ok((kxx + added - explained).clamp_min(0.0))
}

/// `t` `[b, r, c]` broadcast to `p` along the batch.
pub(crate) fn per_output(t: Tensor<3>, p: usize) -> Tensor<3> {
    let [b, r, c] = t.dims();
    if b == p { t } else { t.expand([p, r, c]) }
}
