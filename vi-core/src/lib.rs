//! # vi-core
//!
//! The mathematics of variational inference on [Burn](https://burn.dev), with no notion of layers:
//! batched differentiable linear algebra ([`linalg`]) and a finite-difference gradient checker
//! ([`gradcheck`]).
//!
//! Backends are chosen with Cargo features (`flex` by default, `ndarray`, `wgpu`, `cuda`, `fusion`,
//! `autotune`) and a [`burn::tensor::Device`] at run time; the same code runs on all of them.

pub mod gradcheck;
pub mod linalg;
