//! # vi-models
//!
//! Complete models (BNN regression and classification, SVGP, deep GP, the categorical latent GP)
//! and their metrics, assembled from [`vi_blocks`]. This crate is being built up model by model;
//! today it re-exports the blocks so that downstream crates depend on one path.

pub use vi_blocks;
