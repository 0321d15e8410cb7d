//! vi-blocks' GP blocks against GPyTorch's golden values (SVGP whitened and unwhitened, Gaussian
//! expected log-likelihood), closed forms computed here in `f64`, finite differences, statrs and
//! property tests, on every compiled backend.

mod common;
mod deep_gp;
mod golden;
mod gram;
mod kernels;
mod likelihoods;
mod svgp;
