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
//!
//! ## Models
//!
//! | block | what | gradient | errors |
//! |---|---|---|---|
//! | [`regression::McDropoutRegressor`], [`regression::ConcreteDropoutRegressor`], [`regression::BbbRegressor`], [`regression::SvgpRegressor`] | fitted regressors from a `Config` (the model's config nested in the fit settings) and a `Table`: standardisation, minibatch Adam, `T`-pass (or closed-form) predictive in original units, RMSE and test log-likelihood; noise precision fixed (Gal's protocol) or learned | autodiff | `ModelError::{Setting, Table, Gp, Elbo, Diverged}`, the last naming the epoch of a non-finite loss |
//! | [`classification::BnnClassifier`], [`classification::SvgpClassifier`] | fitted classifiers: `BnnMethod::{Deterministic, McDropout, Concrete, Bbb}` over any hidden widths, or one SVGP per class with a softmax likelihood; Monte Carlo class probabilities; accuracy, NLL, ECE | autodiff | as above |
//! | [`Checkpoint`] | `save(dir)` / `load(dir, &device)` for every fitted model: parameters as burnpack, settings and scalers as JSON; a loaded model predicts bit-identically for the same seed | — | `ModelError::Checkpoint` naming the file (missing, malformed, another model type) |
//! | [`clgp::Clgp`] | the Categorical Latent GP (Gal, Chen & Ghahramani 2015): `LatentInputs` → `Svgp` (shared `Z` and kernel, `Σ_d K_d` outputs) → a softmax per variable; missing entries masked; the ELBO with `S` draws of `X` and `F` (`train_clgp`: one device read per step, the loss with `K_zz`'s check); predictive category probabilities; with a `Linear` kernel the LLGM | autodiff | `GpError` (`K_zz`, shapes) |

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
mod settings;
mod tensors;

pub use checkpoint::Checkpoint;
pub use error::{CheckpointError, ModelError};

pub use vi_blocks;
