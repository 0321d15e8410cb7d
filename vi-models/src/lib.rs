//! # vi-models
//!
//! Complete models and what experiments need around them, assembled from [`vi_blocks`]:
//! MC-dropout, concrete-dropout and Bayes-by-backprop regression ([`McDropoutRegressor`],
//! [`ConcreteDropoutRegressor`], [`BbbRegressor`]), sparse GP regression ([`SvgpRegressor`]), the Categorical Latent GP ([`clgp`]), data sets read with file-and-line errors
//! ([`data`]) and the metrics the papers report ([`metrics`]).

mod bbb_regressor;
mod checkpoint;
pub mod classification;
pub mod clgp;
mod concrete_dropout_regressor;
pub mod data;
mod mc_dropout_regressor;
mod mc_regressor;
pub mod metrics;
mod noise;
pub mod plot;
mod svgp_regressor;
mod tensors;
#[cfg(feature = "train")]
pub mod train;
mod training;

pub use bbb_regressor::{BbbNet, BbbRegressor, BbbRegressorConfig};
pub use checkpoint::Checkpoint;
pub use classification::{
    BnnClassifier, BnnClassifierConfig, BnnMethod, ClassProbabilities, SvgpClassifier,
    SvgpClassifierConfig,
};
pub use concrete_dropout_regressor::{
    ConcreteDropoutNet, ConcreteDropoutRegressor, ConcreteDropoutRegressorConfig,
};
pub use mc_dropout_regressor::{McDropoutNet, McDropoutRegressor, McDropoutRegressorConfig};
pub use mc_regressor::{McRegressionPrediction, McRegressor, StochasticRegressionNet};
pub use noise::NoisePrecision;
pub use svgp_regressor::{
    ModelError, RegressionMetrics, RegressionPrediction, SvgpRegressionModel, SvgpRegressor,
    SvgpRegressorConfig,
};

pub use vi_blocks;
