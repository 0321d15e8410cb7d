//! vi-models on every compiled backend: the Categorical Latent GP's ELBO against a dense
//! computation written out here in `f64`, finite differences through the whole model, masking,
//! and imputation on data drawn from a known 2-D latent structure; the classifiers against the
//! Bayes classifier of a known mixture; learned observation noise; bad input at the models'
//! boundary (empty sets, settings out of range, shapes, non-finite values).

mod bad_input;
mod classifiers;
mod clgp_elbo;
mod clgp_training;
mod common;
mod readers;
mod regressors;
