//! How `q(u)` links to `f`: the whitened and unwhitened strategies (GPyTorch's
//! `VariationalStrategy` and `UnwhitenedVariationalStrategy`), as types.

use super::inducing::InducingDistribution;
use super::output::{InducingPrior, VariationalScale, composed_variance, per_output};
use crate::gp::GpError;
use burn::tensor::Tensor;
use std::fmt::Debug;
use vi_core::linalg::{Side, Triangle, solve_triangular};
use vi_core::sparse_gp::whitened_variance;

/// A variational strategy of [`super::Svgp`]: what `q(u)` is a distribution over, hence the
/// projection of the inducing values onto `f(x)`, the KL, and where `q(u)` starts.
///
/// With `A = L_zz⁻¹ K_zx`, both give `σ² = k(x,x) − diag(AᵀA) + diag(Pᵀ S P)` and
/// `μ = m(x) + Pᵀ m̃` for a projection `P` and centred mean `m̃` of their own.
pub trait VariationalStrategy: Clone + Copy + Debug + Send + Sync + 'static {
    /// `P` from `L_zz` and `A`, `[b, M, N]`.
    ///
    /// # Errors
    /// [`GpError::Linalg`] when the shapes disagree.
    fn projection(&self, cholesky: Tensor<3>, a: Tensor<3>) -> Result<Tensor<3>, GpError>;

    /// `m̃`, the variational mean as `P` multiplies it, `[P, M]`.
    fn centred_mean(&self, loc: Tensor<2>, prior: &InducingPrior) -> Tensor<2>;

    /// The jitter added to `k(x, x)` (the one `K_zz` got, when `u`'s prior is whitened into
    /// `f`'s).
    fn prior_jitter(&self, jitter: f64) -> f64;

    /// The marginal variances `[P, N]` from `q(u)`'s scale, `A`, `P` and `k(x, x)` (with
    /// [`Self::prior_jitter`] added).
    ///
    /// # Errors
    /// [`GpError::Linalg`] when the shapes disagree.
    fn variance(
        &self,
        scale: &VariationalScale,
        a: Tensor<3>,
        proj: Tensor<3>,
        kxx: Tensor<2>,
        outputs: usize,
    ) -> Result<Tensor<2>, GpError>;

    /// `Σ_p KL(q(u_p) ‖ p(u_p))`, `[1]`.
    ///
    /// # Errors
    /// [`GpError::Distribution`] when the shapes disagree.
    fn kl(
        &self,
        loc: Tensor<2>,
        scale: VariationalScale,
        prior: &InducingPrior,
    ) -> Result<Tensor<1>, GpError>;

    /// `q(u)` after the inducing points moved to where `prior` was computed: where it starts
    /// (at the prior `p(u)`).
    fn restart<Q: InducingDistribution>(&self, q: Q, prior: &InducingPrior) -> Q;
}

/// `u = L_zz v`, `q(v) = N(m, S)`, `p(v) = N(0, I)`: `P = A`, `m̃ = m`,
/// `KL = KL(N(m, S) ‖ N(0, I))` (Matthews 2017; GPyTorch's `VariationalStrategy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Whitened;

/// `q(u) = N(m, S)`, `p(u) = N(m(Z), K_zz)`: `P = K_zz⁻¹ K_zx`, `m̃ = m − m(Z)`,
/// `KL = KL(N(m, S) ‖ N(m(Z), K_zz))` (Hensman et al. 2013; GPyTorch's
/// `UnwhitenedVariationalStrategy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unwhitened;

impl VariationalStrategy for Whitened {
    fn projection(&self, _cholesky: Tensor<3>, a: Tensor<3>) -> Result<Tensor<3>, GpError> {
        Ok(a)
    }

    fn centred_mean(&self, loc: Tensor<2>, _prior: &InducingPrior) -> Tensor<2> {
        loc
    }

    fn prior_jitter(&self, jitter: f64) -> f64 {
        jitter
    }

    fn variance(
        &self,
        scale: &VariationalScale,
        a: Tensor<3>,
        proj: Tensor<3>,
        kxx: Tensor<2>,
        outputs: usize,
    ) -> Result<Tensor<2>, GpError> {
        match scale {
            // k(x, x) − diag(Aᵀ A) + diag(Aᵀ S A) = k(x, x) + ‖Lᵀ aₙ‖² − ‖aₙ‖², one op.
            VariationalScale::Tril(l) => Ok(whitened_variance(l.clone(), a, kxx)?),
            VariationalScale::Diagonal(_) => composed_variance(scale, a, proj, kxx, outputs),
        }
    }

    fn kl(
        &self,
        loc: Tensor<2>,
        scale: VariationalScale,
        _prior: &InducingPrior,
    ) -> Result<Tensor<1>, GpError> {
        scale.kl_to_standard_normal(loc)
    }

    fn restart<Q: InducingDistribution>(&self, q: Q, _prior: &InducingPrior) -> Q {
        // p(v) = N(0, I) does not depend on the inducing points.
        q
    }
}

impl VariationalStrategy for Unwhitened {
    fn projection(&self, cholesky: Tensor<3>, a: Tensor<3>) -> Result<Tensor<3>, GpError> {
        Ok(solve_triangular(
            cholesky,
            a,
            Triangle::Lower,
            true,
            Side::Left,
        )?)
    }

    fn centred_mean(&self, loc: Tensor<2>, prior: &InducingPrior) -> Tensor<2> {
        loc - prior.mean.clone()
    }

    fn prior_jitter(&self, _jitter: f64) -> f64 {
        0.0
    }

    fn variance(
        &self,
        scale: &VariationalScale,
        a: Tensor<3>,
        proj: Tensor<3>,
        kxx: Tensor<2>,
        outputs: usize,
    ) -> Result<Tensor<2>, GpError> {
        composed_variance(scale, a, proj, kxx, outputs)
    }

    fn kl(
        &self,
        loc: Tensor<2>,
        scale: VariationalScale,
        prior: &InducingPrior,
    ) -> Result<Tensor<1>, GpError> {
        let p = loc.dims()[0];
        let cholesky = per_output(prior.cholesky.clone(), p);
        scale.kl_to(loc, prior.mean.clone(), cholesky)
    }

    fn restart<Q: InducingDistribution>(&self, q: Q, prior: &InducingPrior) -> Q {
        let p = q.outputs();
        q.set(
            prior.mean.clone().detach(),
            per_output(prior.cholesky.clone().detach(), p),
        )
    }
}

/// Either strategy, chosen at run time (e.g. from a model's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnyStrategy {
    /// [`Whitened`].
    Whitened(Whitened),
    /// [`Unwhitened`].
    Unwhitened(Unwhitened),
}

impl Default for AnyStrategy {
    fn default() -> Self {
        AnyStrategy::Whitened(Whitened)
    }
}

impl From<Whitened> for AnyStrategy {
    fn from(strategy: Whitened) -> Self {
        AnyStrategy::Whitened(strategy)
    }
}

impl From<Unwhitened> for AnyStrategy {
    fn from(strategy: Unwhitened) -> Self {
        AnyStrategy::Unwhitened(strategy)
    }
}

/// Forwards a call to the strategy held.
macro_rules! either {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStrategy::Whitened($s) => $call,
            AnyStrategy::Unwhitened($s) => $call,
        }
    };
}

impl VariationalStrategy for AnyStrategy {
    fn projection(&self, cholesky: Tensor<3>, a: Tensor<3>) -> Result<Tensor<3>, GpError> {
        either!(self, s => s.projection(cholesky, a))
    }

    fn centred_mean(&self, loc: Tensor<2>, prior: &InducingPrior) -> Tensor<2> {
        either!(self, s => s.centred_mean(loc, prior))
    }

    fn prior_jitter(&self, jitter: f64) -> f64 {
        either!(self, s => s.prior_jitter(jitter))
    }

    fn variance(
        &self,
        scale: &VariationalScale,
        a: Tensor<3>,
        proj: Tensor<3>,
        kxx: Tensor<2>,
        outputs: usize,
    ) -> Result<Tensor<2>, GpError> {
        either!(self, s => s.variance(scale, a, proj, kxx, outputs))
    }

    fn kl(
        &self,
        loc: Tensor<2>,
        scale: VariationalScale,
        prior: &InducingPrior,
    ) -> Result<Tensor<1>, GpError> {
        either!(self, s => s.kl(loc, scale, prior))
    }

    fn restart<Q: InducingDistribution>(&self, q: Q, prior: &InducingPrior) -> Q {
        either!(self, s => s.restart(q, prior))
    }
}
