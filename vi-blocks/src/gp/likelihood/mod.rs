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

mod base;
mod bernoulli;
mod categorical_columns;
mod gaussian;
mod poisson;
mod quadrature;
mod softmax;

pub use base::Likelihood;
pub use bernoulli::{BernoulliLikelihood, BernoulliLikelihoodConfig, Link};
pub use categorical_columns::CategoricalColumns;
pub use gaussian::{GaussianLikelihood, GaussianLikelihoodConfig};
pub use poisson::{PoissonLikelihood, PoissonPredictive};
pub use quadrature::{GaussHermite, log_normal_cdf};
pub use softmax::{SoftmaxLikelihood, SoftmaxLikelihoodConfig};
