//! # vi-models
//!
//! Complete models and what experiments need around them, assembled from [`vi_blocks`]:
//! data sets read with file-and-line errors ([`data`]) and the metrics the papers report
//! ([`metrics`]).

pub mod data;
pub mod metrics;

pub use vi_blocks;
