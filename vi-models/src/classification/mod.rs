//! Classifiers with `fit`, `predict` (Monte Carlo class probabilities) and `evaluate`
//! (accuracy, NLL, ECE): Bayesian networks ([`BnnClassifier`]) and sparse GPs
//! ([`SvgpClassifier`]).
//!
//! Each is fitted from a config that nests the model's settings in the optimisation's, as in
//! Burn's book: `BnnClassifierConfig::new(BnnClassifierNetConfig::new(method, hidden))`.

mod bnn;
mod labelled;
mod prediction;
mod svgp;

pub use bnn::{
    BnnClassifier, BnnClassifierConfig, BnnClassifierNet, BnnClassifierNetConfig, BnnMethod,
    ClassifierLayer, DropoutLinear,
};
pub use prediction::{ClassProbabilities, ECE_BINS};
pub use svgp::{
    SvgpClassificationModel, SvgpClassificationModelConfig, SvgpClassifier, SvgpClassifierConfig,
};
