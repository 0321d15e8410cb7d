//! vi-core's distributions, KL divergences, special functions and ELBO estimators against golden
//! values (torch.distributions, float64), statrs, closed forms, finite differences and Monte Carlo
//! estimates with standard-error tolerances, on every compiled backend.

mod common;
mod elbo;
mod errors;
mod fused_f64;
mod golden;
mod gradients;
mod kl;
mod likelihood;
mod mean_field;
mod monte_carlo;
mod random;
mod special;
