//! Bayesian layers and dropout for neural networks.
//!
//! | block | what |
//! |---|---|
//! | [`BayesianLinear`] | mean-field Gaussian weights; estimators: weight sampling, local reparameterization (Kingma et al. 2015), flipout (Wen et al. 2018), posterior mean |
//! | [`Prior`] | `N(0, s²)` or Blundell et al.'s (2015) scale mixture `π N(0, s₁²) + (1 − π) N(0, s₂²)` |
//! | [`bayesianize`] | an existing Burn model (e.g. of `burn::nn::Linear`) made Bayesian through Burn's parameter reparameterization; MOPED initialisation from trained weights |
//! | [`ConcreteLinear`] | concrete dropout (Gal, Hron & Kendall 2017) with a learned rate, in front of a linear layer, and its regulariser |
//! | [`McDropout`] | dropout that stays on at prediction time (Gal & Ghahramani 2016) |
//!
//! Every Bayesian weight carries a [`VariationalParam`] (its posterior scale and prior), the type
//! [`crate::kl::total_kl`] finds wherever it sits in a model.

mod bayesian_linear;
mod bayesianize;
mod concrete_dropout;
mod mc_dropout;
mod prior;
mod variational_param;

pub use bayesian_linear::{BayesianLinear, BayesianLinearConfig, LinearEstimator};
pub use bayesianize::{BayesianizeConfig, bayesianize};
pub use concrete_dropout::{ConcreteLinear, ConcreteLinearConfig};
pub use mc_dropout::{McDropout, McDropoutConfig};
pub use prior::{Prior, mean_field_kl, mean_field_kl_pair};
pub use variational_param::{RawScale, VariationalParam};
