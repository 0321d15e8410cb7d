//! The optimizer backend extension: one Adam update of a parameter and its two moments as one
//! op, where Burn's `Adam` issues about a dozen elementwise ops per parameter tensor.
//!
//! | op | CPU (flex, ndarray) | CubeCL (wgpu, cuda), Fusion, Autodiff |
//! |---|---|---|
//! | [`OptimBackend::adam_step`] | [`host`]: one pass, in place | [`cube`] kernel, one launch (Fusion, Autodiff: composed of Burn's ops, in Burn's order) |

// `NdArray` is deprecated upstream in favour of flex, but users still ask for it.
#![allow(deprecated)]

use burn::backend::{Backend, backend_extension, tensor::FloatTensor};

mod compose;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod cube;
#[cfg(any(feature = "flex", feature = "ndarray"))]
mod host;

/// The scalars of one Adam step, computed in `f32` as Burn's `Adam` does, so both give the same
/// numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamScalars {
    /// `β₁`.
    pub beta_1: f32,
    /// `β₂`.
    pub beta_2: f32,
    /// `ε √(1 − β₂ᵗ)`, added to `√v`.
    pub epsilon: f32,
    /// `√(1 − β₂ᵗ) / (1 − β₁ᵗ)`: both bias corrections in one factor.
    pub correction: f32,
    /// The L2 penalty `λ` added to the gradient as `g + λ θ` (0 for none).
    pub weight_decay: f32,
    /// The learning rate.
    pub lr: f64,
}

impl AdamScalars {
    /// The scalars of step `time` (1 for the first step).
    pub fn new(
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
        weight_decay: f32,
        lr: f64,
        time: usize,
    ) -> Self {
        let time = time as i32;
        let correction_2 = (1.0 - beta_2.powi(time)).sqrt();
        Self {
            beta_1,
            beta_2,
            epsilon: epsilon * correction_2,
            correction: correction_2 / (1.0 - beta_1.powi(time)),
            weight_decay,
            lr,
        }
    }
}

/// Fused optimizer updates, one implementation per backend family.
///
/// Users call [`crate::optim::FusedAdam`]; this trait is public so that a new backend can provide
/// its own kernel.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    Fusion: cfg(feature = "fusion"),
    Autodiff
)]
pub trait OptimBackend: Backend {
    /// One Adam step (Kingma & Ba 2015) for a parameter `θ`, its gradient `g` and moments `m`,
    /// `v` (all of one shape): `g ← g + λθ`, `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
    /// `θ ← θ − lr · c m / (√v + ε')` with `c` and `ε'` from [`AdamScalars`]. Returns `(θ, m, v)`.
    #[fusion(default)]
    fn adam_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        scalars: AdamScalars,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        compose::adam_step::<Self>(param, grad, moment_1, moment_2, scalars)
    }
}

/// The CPU backends run the fused host loop.
#[cfg(any(feature = "flex", feature = "ndarray"))]
macro_rules! host_backend {
    ($backend:ty) => {
        impl OptimBackend for $backend {
            fn adam_step(
                param: FloatTensor<Self>,
                grad: FloatTensor<Self>,
                moment_1: FloatTensor<Self>,
                moment_2: FloatTensor<Self>,
                scalars: AdamScalars,
            ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
                host::adam_step::<Self>(param, grad, moment_1, moment_2, scalars)
            }
        }
    };
}

#[cfg(feature = "flex")]
host_backend!(burn::backend::Flex);
#[cfg(feature = "ndarray")]
host_backend!(burn::backend::NdArray);
/// The CubeCL backends run the [`cube`] kernel.
#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl OptimBackend for burn_cubecl::CubeBackend {
    fn adam_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        scalars: AdamScalars,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        cube::adam_step(param, grad, moment_1, moment_2, scalars)
    }
}
impl<B: OptimBackend, C: burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy>
    OptimBackend for burn::backend::Autodiff<B, C>
{
}
