//! # vi-core
//!
//! The mathematics of variational inference on [Burn](https://burn.dev), with no notion of layers:
//! batched differentiable linear algebra ([`linalg`]), probability distributions
//! ([`distributions`]), closed-form KL divergences ([`kl`]), the fused ops of
//! mean-field layers ([`mean_field`]), kernel Gram matrices ([`gram`]), bulk random tensors
//! ([`random`]), the fused ops of sparse GPs ([`sparse_gp`]), ELBO estimators ([`elbo`]), a
//! gradient-variance probe ([`gradient_variance`]), stable special functions ([`special`]) and a
//! finite-difference gradient checker ([`gradcheck`]).
//!
//! Backends are chosen with Cargo features (`flex` by default, `ndarray`, `wgpu`, `cuda`, `fusion`,
//! `autotune`) and a [`burn::tensor::Device`] at run time; the same code runs on all of them.

mod cast;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod cube;
pub mod device;
pub mod distributions;
pub mod elbo;
pub mod gradcheck;
pub mod gradient_variance;
pub mod gram;
mod host;
pub mod kl;
pub mod likelihood;
pub mod linalg;
pub mod mean_field;
pub mod optim;
pub mod random;
mod shapes;
pub mod sparse_gp;
pub mod special;
