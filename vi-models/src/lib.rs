//! # vi-models
//!
//! Complete models and what experiments need around them, assembled from [`vi_blocks`]:
//! MC-dropout, concrete-dropout and Bayes-by-backprop regression ([`McDropoutRegressor`],
//! [`ConcreteDropoutRegressor`], [`BbbRegressor`]), sparse GP regression ([`SvgpRegressor`]), the Categorical Latent GP ([`clgp`]), data sets read with file-and-line errors
//! ([`data`]) and the metrics the papers report ([`metrics`]).
//!
//! ## Models
//!
//! | block | what | gradient | errors |
//! |---|---|---|---|
//! | [`McDropoutRegressor`], [`ConcreteDropoutRegressor`], [`BbbRegressor`], [`SvgpRegressor`] | fitted regressors from a `Config` and a `Table`: standardisation, minibatch Adam, `T`-pass (or closed-form) predictive in original units, RMSE and test log-likelihood; noise precision fixed (Gal's protocol) or learned | autodiff | `ModelError::{Data, Gp, Elbo}` naming the epoch of a non-finite loss |
//! | [`BnnClassifier`], [`SvgpClassifier`] | fitted classifiers: `BnnMethod::{Deterministic, McDropout, Concrete, Bbb}` over any hidden widths, or one SVGP per class with a softmax likelihood; Monte Carlo class probabilities; accuracy, NLL, ECE | autodiff | as above |
//! | [`Checkpoint`] | `save(dir)` / `load(dir, &device)` for every fitted model: parameters as burnpack, settings and scalers as JSON; a loaded model predicts bit-identically for the same seed | — | `ModelError::Checkpoint` naming the file (missing, malformed, another model type) |
//! | [`clgp::Clgp`] | the Categorical Latent GP (Gal, Chen & Ghahramani 2015): `LatentInputs` → `Svgp` (shared `Z` and kernel, `Σ_d K_d` outputs) → a softmax per variable; missing entries masked; the ELBO with `S` draws of `X` and `F` (`train_clgp`: one device read per step, the loss with `K_zz`'s check); predictive category probabilities; with a `Linear` kernel the LLGM | autodiff | `GpError` (`K_zz`, shapes) |

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
