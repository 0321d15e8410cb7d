//! Likelihoods `p(y | f)` for GP layers: each gives the expected log-likelihood
//! `E_{q(f)}[ln p(y | f)]` under Gaussian marginals (the data term of the ELBO), the predictive
//! distribution, and the log predictive density `ln ∫ p(y | f) q(f) df` (test log-likelihood).
//!
//! | likelihood | expected log-likelihood | predictive |
//! |---|---|---|
//! | [`GaussianLikelihood`] | closed form | `N(μ, σ² + noise)` |
//! | [`BernoulliLikelihood`] | Gauss–Hermite (or Monte Carlo) | probit: `Φ(μ/√(1+σ²))` in closed form |
//! | [`SoftmaxLikelihood`] | Monte Carlo over `f` | class probabilities (MC mean of softmax) |
//! | [`PoissonLikelihood`] | closed form `yμ − e^{μ+σ²/2} − ln y!` | mean and variance in closed form |
//!
//! [`CategoricalColumns`] gives the log-probabilities of several categorical variables whose
//! logits share a row (the Categorical Latent GP's observation model), for sampled `F`.

mod bernoulli;
mod categorical_columns;
mod gaussian;
mod poisson;
mod quadrature;
mod softmax;

pub use bernoulli::{BernoulliLikelihood, BernoulliLikelihoodConfig, Link};
pub use categorical_columns::CategoricalColumns;
pub use gaussian::{GaussianLikelihood, GaussianLikelihoodConfig};
pub use poisson::{PoissonLikelihood, PoissonPredictive};
pub use quadrature::{GaussHermite, log_normal_cdf};
pub use softmax::{SoftmaxLikelihood, SoftmaxLikelihoodConfig};

use super::marginals::GaussianMarginals;
use burn::tensor::Tensor;

/// An observation model on top of Gaussian marginals `q(f)` `[N, P]`.
pub trait Likelihood {
    /// Observed values (`[N, P]` floats, or `[N]` class indices).
    type Target;
    /// The predictive distribution's summary.
    type Predictive;

    /// `E_{q(f_n)}[ln p(y_n | f_n)]` per data row, summed over outputs: `[N]`.
    fn expected_log_likelihood(&self, f: &GaussianMarginals, target: Self::Target) -> Tensor<1>;

    /// `Σ_n E_{q(f_n)}[ln p(y_n | f_n)]`, `[1]`: the data term of a minibatch ELBO. By default
    /// the sum of [`Likelihood::expected_log_likelihood`]; the Gaussian likelihood fuses it.
    fn expected_log_likelihood_sum(
        &self,
        f: &GaussianMarginals,
        target: Self::Target,
    ) -> Tensor<1> {
        self.expected_log_likelihood(f, target).sum()
    }

    /// The predictive distribution of `y` at the marginals.
    fn predictive(&self, f: &GaussianMarginals) -> Self::Predictive;

    /// `ln ∫ p(y_n | f) q(f_n) df` per data row: `[N]`.
    fn log_predictive_density(&self, f: &GaussianMarginals, target: Self::Target) -> Tensor<1>;
}
