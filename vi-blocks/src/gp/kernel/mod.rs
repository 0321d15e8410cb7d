//! Covariance functions `k(x, x')` as Burn modules.
//!
//! Inputs are batched `[b, n, d]` (`b` = 1 for one function, `b` = the number of outputs for
//! independent multi-output GPs); every hyper-parameter has a leading batch dimension of 1 or
//! `b` and broadcasts. Positive hyper-parameters are stored raw and mapped through softplus, as
//! in GPyTorch (`lengthscale = softplus(raw)`).
//!
//! | kernel | `k(x, x')` |
//! |---|---|
//! | [`Rbf`] | `exp(−½ r²)`, `r² = Σ_d (x_d − x'_d)² / ℓ_d²` |
//! | [`Matern`] | ν = ½: `e^{−r}`; ν = 3/2: `(1 + √3 r) e^{−√3 r}`; ν = 5/2: `(1 + √5 r + 5r²/3) e^{−√5 r}` |
//! | [`Linear`] | `σ² x·x'` |
//! | [`Periodic`] | `exp(−2 Σ_d sin²(π (x_d − x'_d)/p_d) / ℓ_d²)` |
//! | [`ScaleKernel`] | `s · k(x, x')` |
//! | [`SumKernel`], [`ProductKernel`] | `k₁ + k₂`, `k₁ · k₂` |

mod base;
mod combination;
mod linear;
mod matern;
mod periodic;
mod rbf;
mod scale;

pub use base::Kernel;
pub(crate) use base::{
    batch_of, expand_batch, positive, positive_param, scaled_unit_diagonal, unit_diagonal,
};
pub use combination::{ProductKernel, SumKernel};
pub use linear::{Linear, LinearConfig};
pub use matern::{Matern, MaternConfig, Smoothness};
pub use periodic::{Periodic, PeriodicConfig};
pub use rbf::{Rbf, RbfConfig};
pub use scale::{ScaleKernel, ScaleKernelConfig};
