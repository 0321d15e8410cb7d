//! Variational families as Burn modules: trainable parameters that yield a `vi_core`
//! distribution, so `rsample`, `log_prob`, `entropy` and the KL to any prior come with it.
//!
//! | family | parameters | distribution | initial scale |
//! |---|---|---|---|
//! | [`MeanFieldGaussian`] | `loc [.., n]`, `rho [.., n]`, `σ = softplus(ρ)` or `|ρ|` ([`ScaleTransform`]) | `Normal` (event `[n]`) | `init_scale` (0.1) |
//! | [`FullRankGaussian`] | `loc [B, n]`, `scale_raw [B, n, n]`: `L = tril(raw, −1) + diag(softplus(diag raw))` or sign-flipped columns ([`TrilTransform`]) | `MultivariateNormal` (batch `[B]`) | `init_scale · I` |
//! | [`LowRankGaussian`] | `loc [B, n]`, `factor [B, n, k]`, `rho [B, n]`: `Σ = W Wᵀ + diag(softplus(ρ)²)` | `LowRankMultivariateNormal` (batch `[B]`) | total sd `init_scale`, a quarter of the variance in the factor |
//!
//! The same families are `q(u)` of [`crate::gp::Svgp`] (batch: one distribution per output) and
//! `q(X)` of [`crate::gp::LatentInputs`]; a Bayesian layer's weights carry the mean-field
//! [`crate::nn::VariationalParam`].
//!
//! The default `init_scale = 0.1` is Pyro's `AutoNormal`/`AutoMultivariateNormal` default: small
//! enough that the initial samples stay near the initial location.

mod full_rank;
mod low_rank;
mod mean_field;
mod transform;

pub use full_rank::{FullRankGaussian, FullRankGaussianConfig};
pub use low_rank::{LowRankGaussian, LowRankGaussianConfig};
pub use mean_field::{MeanFieldGaussian, MeanFieldGaussianConfig};
pub use transform::{ScaleTransform, TrilTransform};
