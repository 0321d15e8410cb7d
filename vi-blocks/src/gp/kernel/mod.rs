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

mod combination;
mod linear;
mod matern;
mod periodic;
mod rbf;
mod scale;

pub use combination::{ProductKernel, SumKernel};
pub use linear::{Linear, LinearConfig};
pub use matern::{Matern, MaternConfig, Smoothness};
pub use periodic::{Periodic, PeriodicConfig};
pub use rbf::{Rbf, RbfConfig};
pub use scale::{ScaleKernel, ScaleKernelConfig};

use burn::module::{Module, ModuleDisplay, Param};
use burn::tensor::{Device, Tensor};
use vi_core::special::{inverse_softplus_f64, softplus};

/// A covariance function on batched inputs.
pub trait Kernel: Module + ModuleDisplay {
    /// `K(x1, x2)`, shape `[b, n, m]`, for `x1` `[b1, n, d]` and `x2` `[b2, m, d]`; the batch
    /// dimensions (and the hyper-parameters') broadcast.
    fn matrix(&self, x1: Tensor<3>, x2: Tensor<3>) -> Tensor<3>;

    /// `diag K(x, x)`, shape `[b, n]`, without forming the matrix.
    fn diagonal(&self, x: Tensor<3>) -> Tensor<2>;

    /// `K(x, x)`, `[b, n, n]`: `matrix(x, x)` with an exactly symmetric, noise-free diagonal where
    /// the kernel can provide it.
    fn gram(&self, x: Tensor<3>) -> Tensor<3> {
        self.matrix(x.clone(), x)
    }
}

/// A raw parameter `[batch, 1, dims]` filled with `softplus⁻¹(value)`.
pub(crate) fn positive_param(
    batch: usize,
    dims: usize,
    value: f64,
    device: &Device,
) -> Param<Tensor<3>> {
    assert!(
        value > 0.0,
        "initial value {value} of a positive hyper-parameter is not > 0"
    );
    Param::from_tensor(Tensor::<3>::full(
        [batch, 1, dims],
        inverse_softplus_f64(value),
        device,
    ))
}

/// `softplus(raw)`.
pub(crate) fn positive(raw: &Param<Tensor<3>>) -> Tensor<3> {
    softplus(raw.val())
}

/// The larger of two broadcastable batch sizes.
pub(crate) fn batch_of(a: usize, b: usize) -> usize {
    if a == 1 { b } else { a }
}

/// `x` broadcast to `batch` along the first dimension.
pub(crate) fn expand_batch(x: Tensor<3>, batch: usize) -> Tensor<3> {
    let [b, n, d] = x.dims();
    if b == batch {
        x
    } else {
        x.expand([batch, n, d])
    }
}

/// Pairwise squared distances `‖a_i − b_j‖²`, `[b, n, m]`, through `|a|² + |b|² − 2 a bᵀ`
/// (one matrix product) after centring both on the mean of `a` (less cancellation), clamped at
/// 0 against rounding.
pub(crate) fn squared_distance(a: Tensor<3>, b: Tensor<3>) -> Tensor<3> {
    let batch = batch_of(a.dims()[0], b.dims()[0]);
    let (a, b) = (expand_batch(a, batch), expand_batch(b, batch));
    let centre = a.clone().mean_dim(1);
    let (a, b) = (a - centre.clone(), b - centre);
    let a2 = a.clone().powi_scalar(2).sum_dim(2);
    let b2 = b.clone().powi_scalar(2).sum_dim(2).swap_dims(1, 2);
    let cross = a.matmul(b.swap_dims(1, 2));
    (a2 + b2 - cross.mul_scalar(2.0)).clamp_min(0.0)
}

/// `‖x_i − x_j‖²` of a set with itself: as [`squared_distance`] with an exact zero diagonal (so
/// the diagonal passes no rounding noise to the gradients, as in GPyTorch).
pub(crate) fn self_squared_distance(x: Tensor<3>) -> Tensor<3> {
    let n = x.dims()[1];
    let off_diagonal = Tensor::<2>::eye(n, &x.device())
        .cast(x.dtype())
        .neg()
        .add_scalar(1.0)
        .unsqueeze::<3>();
    squared_distance(x.clone(), x) * off_diagonal
}
