//! Regressors with `fit`, `predict` and `evaluate` (test RMSE and log-likelihood in the targets'
//! original units): MC dropout ([`McDropoutRegressor`]), concrete dropout
//! ([`ConcreteDropoutRegressor`]) and Bayes-by-backprop ([`BbbRegressor`]), whose predictive is
//! a Monte Carlo mixture over `T` stochastic passes ([`McRegressor`]), and the sparse GP
//! ([`SvgpRegressor`]), whose predictive is Gaussian ([`RegressionPrediction`]).
//!
//! Each is fitted from a config that nests the model's settings (architecture, prior, noise)
//! in the optimisation's (epochs, minibatch size, learning rate, seed), as in Burn's book:
//! `McDropoutRegressorConfig::new(McDropoutNetConfig::new(hidden, dropout, tau))`.

mod bbb;
mod concrete_dropout;
mod mc_dropout;
mod mc_regressor;
mod noise;
mod prediction;
mod svgp;

pub use bbb::{BbbNet, BbbNetConfig, BbbRegressor, BbbRegressorConfig};
pub use concrete_dropout::{
    ConcreteDropoutNet, ConcreteDropoutNetConfig, ConcreteDropoutRegressor,
    ConcreteDropoutRegressorConfig,
};
pub use mc_dropout::{
    McDropoutNet, McDropoutNetConfig, McDropoutRegressor, McDropoutRegressorConfig,
};
pub use mc_regressor::{McRegressionPrediction, McRegressor, StochasticRegressionNet};
pub use noise::NoisePrecision;
#[cfg(feature = "train")]
pub(crate) use noise::mean_gaussian_nll;
pub use prediction::{RegressionMetrics, RegressionPrediction};
pub use svgp::{
    SvgpRegressionModel, SvgpRegressionModelConfig, SvgpRegressor, SvgpRegressorConfig,
};
