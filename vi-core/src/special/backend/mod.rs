//! The special-function backend extension: elementwise functions whose composition from Burn's
//! primitives would cost a dozen tracked ops, computed in one kernel with a hand-written
//! derivative.
//!
//! | op | CPU (flex, ndarray) | CubeCL (wgpu, cuda) | Autodiff |
//! |---|---|---|---|
//! | [`SpecialBackend::softplus`] | [`host`] loop (`ln_1p`) | [`cube`] kernel | `ȳ · exp(x − y)` |
//! | [`SpecialBackend::softplus_log_scale`] | composed around softplus | [`cube`] kernel | [`SpecialBackend::softplus_log_scale_backward`] (one kernel on CubeCL) |

// `NdArray` is deprecated upstream in favour of flex, but users still ask for it.
#![allow(deprecated)]

use burn::backend::{Backend, backend_extension, tensor::FloatTensor};

mod autodiff;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod cube;
mod host;

/// Elementwise special functions, one implementation per backend family.
///
/// Users call the functions in [`crate::special`]; this trait is public so that a new backend can
/// provide its own kernels.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    Fusion: cfg(feature = "fusion"),
    Autodiff
)]
pub trait SpecialBackend: Backend {
    /// `softplus(x) = ln(1 + eˣ) = max(x, 0) + ln(1 + e^{−|x|})`, elementwise, accurate to the
    /// dtype's precision for every finite `x` (NaN stays NaN).
    #[fusion(dtype = x, shape = x)]
    fn softplus(x: FloatTensor<Self>) -> FloatTensor<Self> {
        host::softplus::<Self>(x)
    }

    /// The reverse mode of [`Self::softplus`] given its input `x`, its output `y` and the
    /// upstream gradient `ḡ` (all one shape): `ḡ σ(x) = ḡ e^{x − y}`, exact in both tails (no
    /// `1 − e^{−y}` cancellation).
    #[fusion(dtype = x, shape = x)]
    fn softplus_backward(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::float_mul(grad, Self::float_exp(Self::float_sub(x, y)))
    }

    /// `½ ln(softplus(x) + floor)`, elementwise: the log standard deviation of a variance
    /// parameterised as `softplus(x) + floor` (GPyTorch's Gaussian noise with its lower bound).
    #[fusion(dtype = x, shape = x)]
    fn softplus_log_scale(x: FloatTensor<Self>, floor: f64) -> FloatTensor<Self> {
        let variance = Self::float_add_scalar(Self::softplus(x), floor.into());
        Self::float_mul_scalar(Self::float_log(variance), 0.5f64.into())
    }

    /// The reverse mode of [`Self::softplus_log_scale`] given its input `x`, its output `y` and
    /// the upstream gradient `ḡ`: `½ ḡ σ(x) e^{−2y}` (`e^{−2y} = 1 / (softplus(x) + floor)`).
    #[fusion(dtype = x, shape = x)]
    fn softplus_log_scale_backward(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        // σ(x) e^{−2y} = e^{x − softplus(x) − 2y}.
        let exponent = Self::float_sub(
            Self::float_sub(x.clone(), Self::softplus(x)),
            Self::float_mul_scalar(y, 2f64.into()),
        );
        Self::float_mul(
            Self::float_mul_scalar(grad, 0.5f64.into()),
            Self::float_exp(exponent),
        )
    }
}

#[cfg(feature = "flex")]
impl SpecialBackend for burn::backend::Flex {}
#[cfg(feature = "ndarray")]
impl SpecialBackend for burn::backend::NdArray {}

#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl SpecialBackend for burn_cubecl::CubeBackend {
    fn softplus(x: FloatTensor<Self>) -> FloatTensor<Self> {
        cube::softplus(x, None)
    }

    fn softplus_backward(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        cube::softplus_backward(x, y, grad, false)
    }

    fn softplus_log_scale(x: FloatTensor<Self>, floor: f64) -> FloatTensor<Self> {
        cube::softplus(x, Some(floor))
    }

    fn softplus_log_scale_backward(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        cube::softplus_backward(x, y, grad, true)
    }
}
