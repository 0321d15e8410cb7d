//! vi-core::linalg against golden values, finite differences, algebraic properties and bad input,
//! on every compiled backend.

mod cholesky;
mod common;
mod errors;
mod golden;
mod gp_kernels;
mod gradients;
mod jitter;
mod triangular;
