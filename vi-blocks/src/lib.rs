//! # vi-blocks
//!
//! Burn modules built on [`vi_core`]: variational families ([`family`]), Bayesian layers and
//! dropout that stays on at prediction time ([`nn`]), Gaussian-process layers ([`gp`]), and the KL of a whole model collected by
//! walking its module tree ([`kl::total_kl`]). Every block is an ordinary
//! `#[derive(Module)]` with a `Config` and `init(&device)`, so it nests inside models you already
//! have, trains with burn-optim and saves with Burn's recorders.

pub mod dtype;
pub mod family;
pub mod gp;
pub mod kl;
pub mod nn;
pub mod predict;

pub use vi_core;
