//! The likelihood backend extension: the Gaussian log-likelihood summed over a batch, one op
//! forward and one backward instead of about ten tracked ops.
//!
//! | op | CPU (flex, ndarray) | CubeCL (wgpu, cuda), Fusion | Autodiff |
//! |---|---|---|---|
//! | [`LikelihoodBackend::gaussian_log_likelihood`] | [`host`] loop | [`cube`] kernel + Burn's sum | [`LikelihoodBackend::gaussian_log_likelihood_grad_mean`], [`LikelihoodBackend::gaussian_log_likelihood_grad_log_scale`] |
//! | [`LikelihoodBackend::gaussian_expected_log_likelihood`] | [`host`] loop | [`cube`] kernel + Burn's sum | [`LikelihoodBackend::gaussian_expected_log_likelihood_backward`]: on the CPU [`LikelihoodBackend::gaussian_log_likelihood_grad_mean`], `v̄` composed and [`LikelihoodBackend::gaussian_expected_log_likelihood_grad_log_scale`]; one kernel for all three on CubeCL |

// `NdArray` is deprecated upstream in favour of flex, but users still ask for it.
#![allow(deprecated)]

use burn::backend::{Backend, backend_extension, tensor::FloatTensor};

mod autodiff;
mod compose;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod cube;
#[cfg(any(feature = "flex", feature = "ndarray"))]
mod host;

/// The fused Gaussian log-likelihood, one implementation per backend family.
///
/// Users call [`crate::likelihood::gaussian_log_likelihood`]; this trait is public so that a new
/// backend can provide its own kernels. `y` and `mean` share one shape; `log_scale` has one
/// element or that shape.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    Fusion: cfg(feature = "fusion"),
    Autodiff
)]
pub trait LikelihoodBackend: Backend {
    /// `Σᵢ −½ (yᵢ − μᵢ)² e^{−2sᵢ} − sᵢ − ½ ln 2π`, output `[1]`.
    #[fusion(dtype = mean, shape = compose::scalar_shape())]
    fn gaussian_log_likelihood(
        y: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        log_scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        compose::gaussian_log_likelihood::<Self>(y, mean, log_scale)
    }

    /// The gradient with respect to the mean times `grad` (`[1]`): `ḡ (y − μ) e^{−2s}`, the
    /// shape of `mean` (its negative is the gradient with respect to `y`).
    #[fusion(dtype = mean, shape = mean)]
    fn gaussian_log_likelihood_grad_mean(
        y: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        log_scale: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        compose::grad_mean::<Self>(y, mean, log_scale, grad)
    }

    /// The gradient with respect to the log scale times `grad` (`[1]`): `ḡ ((y − μ)² e^{−2s} − 1)`,
    /// summed over the elements when the scale is shared; the shape of `log_scale`.
    #[fusion(dtype = mean, shape = log_scale)]
    fn gaussian_log_likelihood_grad_log_scale(
        y: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        log_scale: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        compose::grad_log_scale::<Self>(y, mean, log_scale, grad)
    }

    /// The expected log-likelihood under `f ~ N(μ, v)`:
    /// `Σᵢ −½ ((yᵢ − μᵢ)² + vᵢ) e^{−2sᵢ} − sᵢ − ½ ln 2π`, output `[1]` (`variance` has the shape
    /// of `mean`). Its gradient in the mean is
    /// [`LikelihoodBackend::gaussian_log_likelihood_grad_mean`]'s.
    #[fusion(dtype = mean, shape = compose::scalar_shape())]
    fn gaussian_expected_log_likelihood(
        y: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        log_scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        compose::expected_log_likelihood::<Self>(y, mean, variance, log_scale)
    }

    /// Its gradient with respect to the log scale times `grad` (`[1]`):
    /// `ḡ (((y − μ)² + v) e^{−2s} − 1)`, summed over the elements when the scale is shared; the
    /// shape of `log_scale`.
    #[fusion(dtype = mean, shape = log_scale)]
    fn gaussian_expected_log_likelihood_grad_log_scale(
        y: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        log_scale: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        compose::expected_grad_log_scale::<Self>(y, mean, variance, log_scale, grad)
    }

    /// The three gradients of [`Self::gaussian_expected_log_likelihood`] times `grad` (`[1]`):
    /// `(μ̄, v̄, s̄)` with `μ̄` as [`Self::gaussian_log_likelihood_grad_mean`] gives it,
    /// `v̄ = −½ ḡ e^{−2s}` and `s̄` as [`Self::gaussian_expected_log_likelihood_grad_log_scale`],
    /// in the shapes of `mean`, `variance` and `log_scale` (one CubeCL launch for all three).
    #[fusion(meta = compose::expected_log_likelihood_backward_meta)]
    fn gaussian_expected_log_likelihood_backward(
        y: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        log_scale: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        compose::expected_log_likelihood_backward::<Self>(y, mean, variance, log_scale, grad)
    }
}

/// The CPU backends run the fused host loops.
#[cfg(any(feature = "flex", feature = "ndarray"))]
macro_rules! host_backend {
    ($backend:ty) => {
        impl LikelihoodBackend for $backend {
            fn gaussian_log_likelihood(
                y: FloatTensor<Self>,
                mean: FloatTensor<Self>,
                log_scale: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host::gaussian_log_likelihood::<Self>(y, mean, log_scale)
            }

            fn gaussian_log_likelihood_grad_mean(
                y: FloatTensor<Self>,
                mean: FloatTensor<Self>,
                log_scale: FloatTensor<Self>,
                grad: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host::grad_mean::<Self>(y, mean, log_scale, grad)
            }

            fn gaussian_log_likelihood_grad_log_scale(
                y: FloatTensor<Self>,
                mean: FloatTensor<Self>,
                log_scale: FloatTensor<Self>,
                grad: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host::grad_log_scale::<Self>(y, mean, log_scale, grad)
            }

            fn gaussian_expected_log_likelihood(
                y: FloatTensor<Self>,
                mean: FloatTensor<Self>,
                variance: FloatTensor<Self>,
                log_scale: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host::expected_log_likelihood::<Self>(y, mean, variance, log_scale)
            }

            fn gaussian_expected_log_likelihood_grad_log_scale(
                y: FloatTensor<Self>,
                mean: FloatTensor<Self>,
                variance: FloatTensor<Self>,
                log_scale: FloatTensor<Self>,
                grad: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host::expected_grad_log_scale::<Self>(y, mean, variance, log_scale, grad)
            }
        }
    };
}

#[cfg(feature = "flex")]
host_backend!(burn::backend::Flex);
#[cfg(feature = "ndarray")]
host_backend!(burn::backend::NdArray);
/// The CubeCL backends run one element-wise [`cube`] kernel per op (and Burn's sum).
#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl LikelihoodBackend for burn_cubecl::CubeBackend {
    fn gaussian_log_likelihood(
        y: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        log_scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        cube::log_likelihood(y, mean, None, log_scale)
    }

    fn gaussian_log_likelihood_grad_mean(
        y: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        log_scale: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        cube::grad_mean(y, mean, log_scale, grad)
    }

    fn gaussian_log_likelihood_grad_log_scale(
        y: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        log_scale: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        cube::grad_log_scale(y, mean, None, log_scale, grad)
    }

    fn gaussian_expected_log_likelihood(
        y: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        log_scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        cube::log_likelihood(y, mean, Some(variance), log_scale)
    }

    fn gaussian_expected_log_likelihood_grad_log_scale(
        y: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        log_scale: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        cube::grad_log_scale(y, mean, Some(variance), log_scale, grad)
    }

    fn gaussian_expected_log_likelihood_backward(
        y: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        log_scale: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        cube::expected_log_likelihood_backward(y, mean, variance, log_scale, grad)
    }
}
