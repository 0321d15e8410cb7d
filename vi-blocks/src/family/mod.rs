//! Variational families as Burn modules: trainable parameters that yield a `vi_core`
//! distribution, so `rsample`, `log_prob`, `entropy` and the KL to any prior come with it.
//!
//! | family | parameters | distribution | initial scale |
//! |---|---|---|---|
//! | [`MeanFieldGaussian`] | `loc [n]`, `rho [n]`, `σ = softplus(ρ)` | `Normal` (event `[n]`) | `init_scale` (0.1) |
//! | [`FullRankGaussian`] | `loc [n]`, `scale_raw [n, n]`: `L = tril(raw, −1) + diag(softplus(diag raw))` | `MultivariateNormal` | `init_scale · I` |
//! | [`LowRankGaussian`] | `loc [n]`, `factor [n, k]`, `rho [n]`: `Σ = W Wᵀ + diag(softplus(ρ)²)` | `LowRankMultivariateNormal` | total sd `init_scale`, a quarter of the variance in the factor |
//!
//! The default `init_scale = 0.1` is Pyro's `AutoNormal`/`AutoMultivariateNormal` default: small
//! enough that the initial samples stay near the initial location.

mod full_rank;
mod low_rank;
mod mean_field;

pub use full_rank::{FullRankGaussian, FullRankGaussianConfig};
pub use low_rank::{LowRankGaussian, LowRankGaussianConfig};
pub use mean_field::{MeanFieldGaussian, MeanFieldGaussianConfig};
