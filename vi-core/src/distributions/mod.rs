//! Probability distributions with reparameterized sampling, log densities and entropies, on every
//! backend and differentiable under autodiff.
//!
//! | type | parameters | event | reparameterized |
//! |---|---|---|---|
//! | [`Normal`] | `loc`, `scale` (diagonal; [`Normal::to_event`] for mean-field) | `[]` or last dims | yes |
//! | [`MultivariateNormal`] | `loc [.., n]`, `scale_tril [.., n, n]` (or covariance / precision) | `[n]` | yes |
//! | [`LowRankMultivariateNormal`] | `loc`, `cov_factor W [.., n, k]`, `cov_diag d [.., n]` | `[n]` | yes |
//! | [`Bernoulli`] | `logits` | `[]` | no |
//! | [`Categorical`] | `logits [.., c]` | `[]` (an index) | no |
//! | [`Delta`] | `value` (point mass, for MAP) | `[]` or last dims | yes |
//!
//! # Shapes
//! As in torch.distributions and Pyro, a value has shape `sample + batch + event`. A distribution
//! has a *batch shape* (independent, not identically distributed copies) and an *event shape*
//! (the dimensions one density covers). [`Distribution::log_prob`] of `x` returns
//! `sample + batch` (batch dimensions of `x` and of the distribution broadcast);
//! [`Reparameterized::rsample`]`(n)` returns `[n] + batch + event`; [`Distribution::entropy`]
//! returns `batch`. A result with no dimensions is returned as shape `[1]`. Output ranks are const
//! generics, checked against the shapes at run time (a wrong rank panics, like `reshape`).
//!
//! Internally every distribution stores its parameters with the batch flattened to one axis `b`
//! and the event to one axis `e`; the `*_flat` methods work in that layout (`[n, b, e]` values,
//! `[n, b]` log densities) and are what a new distribution implements.

mod bernoulli;
mod categorical;
mod delta;
mod distribution;
mod error;
mod low_rank;
mod mvn;
mod normal;
pub(crate) mod shape;
mod validate;

pub use bernoulli::Bernoulli;
pub use categorical::Categorical;
pub use delta::Delta;
pub use distribution::{Distribution, Reparameterized};
pub use error::DistributionError;
pub use low_rank::LowRankMultivariateNormal;
pub use mvn::MultivariateNormal;
pub use normal::Normal;
