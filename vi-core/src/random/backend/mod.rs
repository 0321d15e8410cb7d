//! The random-tensor backend extension.
//!
//! | op | CPU (flex, ndarray) | CubeCL (wgpu, cuda), Fusion | Autodiff |
//! |---|---|---|---|
//! | [`RandomBackend::random_like`] | [`host`]: key from the backend's stream, xoshiro256++ | Burn's `float_random` | untracked |

// `NdArray` is deprecated upstream in favour of flex, but users still ask for it.
#![allow(deprecated)]

use burn::backend::{Backend, TensorMetadata, backend_extension, tensor::FloatTensor};
use burn::tensor::Distribution;

mod autodiff;
#[cfg(any(feature = "flex", feature = "ndarray"))]
mod host;

/// Random tensors, one implementation per backend family.
///
/// Users call [`crate::random::random_like`]; this trait is public so that a new backend can
/// provide its own sampler.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    Fusion: cfg(feature = "fusion"),
    Autodiff
)]
pub trait RandomBackend: Backend {
    /// A tensor with the shape, dtype and device of `like` (whose values are not read), drawn
    /// from `distribution`.
    #[fusion(dtype = like, shape = like)]
    fn random_like(like: FloatTensor<Self>, distribution: Distribution) -> FloatTensor<Self> {
        let (shape, dtype, device) = (like.shape(), like.dtype(), like.device());
        Self::float_random(shape, distribution, &device, dtype.into())
    }
}

/// The CPU backends draw in bulk on the host.
#[cfg(any(feature = "flex", feature = "ndarray"))]
macro_rules! host_backend {
    ($backend:ty) => {
        impl RandomBackend for $backend {
            fn random_like(
                like: FloatTensor<Self>,
                distribution: Distribution,
            ) -> FloatTensor<Self> {
                host::random_like::<Self>(like, distribution)
            }
        }
    };
}

#[cfg(feature = "flex")]
host_backend!(burn::backend::Flex);
#[cfg(feature = "ndarray")]
host_backend!(burn::backend::NdArray);
#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl RandomBackend for burn_cubecl::CubeBackend {}
