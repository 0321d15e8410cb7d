//! # vi-models
//!
//! Complete models and what experiments need around them, assembled from [`vi_blocks`]:
//! MC-dropout and Bayes-by-backprop regression ([`McDropoutRegressor`], [`BbbRegressor`]), sparse GP regression ([`SvgpRegressor`]), the Categorical Latent GP ([`clgp`]), data sets read with file-and-line errors
//! ([`data`]) and the metrics the papers report ([`metrics`]).

mod bbb_regressor;
pub mod clgp;
pub mod data;
mod mc_dropout_regressor;
pub mod metrics;
pub mod plot;
mod svgp_regressor;
mod training;

pub use bbb_regressor::{BbbNet, BbbRegressor, BbbRegressorConfig};
pub use mc_dropout_regressor::{
    McDropoutNet, McDropoutRegressor, McDropoutRegressorConfig, McRegressionPrediction,
};
pub use svgp_regressor::{
    ModelError, RegressionMetrics, RegressionPrediction, SvgpRegressionModel, SvgpRegressor,
    SvgpRegressorConfig,
};

pub use vi_blocks;
