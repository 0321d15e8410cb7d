//! # vi-models
//!
//! Complete models and what experiments need around them, assembled from [`vi_blocks`], by task:
//!
//! - **Regression** ([`regression`]): MC dropout, concrete dropout and Bayes-by-backprop
//!   networks with a Monte Carlo predictive, and the sparse variational GP
//!   ([`regression::SvgpRegressor`]); their predictions and the RMSE and test log-likelihood
//!   the papers report.
//! - **Classification** ([`classification`]): Bayesian-network classifiers (deterministic, MC
//!   dropout, concrete dropout, BBB) and the SVGP classifier; class probabilities, accuracy,
//!   NLL and ECE.
//! - **Categorical data** ([`clgp`]): the Categorical Latent GP for distribution estimation and
//!   imputation, its training loop, the imputation protocol and baselines.
//!
//! Each fitted model is built from a config that nests the model's settings (architecture,
//! prior, noise) in the optimisation's (epochs, minibatch size, learning rate, seed), as in
//! Burn's book, and trained by the crate's built-in minibatch Adam loop; the burn-train
//! integration ([`learner`], feature `train`) trains a network with burn-train's `Learner`
//! instead.
//!
//! Around the models: data sets read with file-and-line errors ([`data`]), evaluation metrics
//! ([`metrics`]), figures ([`plot`]), saving and loading fitted models ([`Checkpoint`]) and one
//! error type ([`ModelError`]).

mod checkpoint;
pub mod classification;
pub mod clgp;
pub mod data;
mod error;
mod fit;
#[cfg(feature = "train")]
pub mod learner;
pub mod metrics;
pub mod plot;
pub mod regression;
mod tensors;

pub use checkpoint::Checkpoint;
pub use error::{CheckpointError, ModelError};

pub use vi_blocks;
