//! vi-blocks: variational families, Bayesian layers, MC dropout and model-wide KL collection,
//! against closed forms, quadrature, Monte Carlo moments and finite differences, on every
//! compiled backend.

mod bayesian_linear;
mod common;
mod dropout;
mod families;
mod kl_by_type;
mod model_kl;
mod persistence;
mod predict;
mod training;
