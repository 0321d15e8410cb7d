//! # vi-blocks
//!
//! Burn modules built on [`vi_core`]: variational families, Bayesian layers, MC and concrete
//! dropout, GP kernels and inducing-point layers. This crate is being built up block by block;
//! today it re-exports the core so that downstream crates depend on one path.

pub use vi_core;
