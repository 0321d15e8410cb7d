//! Random tensors for reparameterised sampling, drawn in bulk: on the CPU backends a key is
//! drawn from the backend's own random stream (so `device.seed(s)` still replays every sample)
//! and the values come from a fast generator (xoshiro256++, ziggurat normals) keyed by it, in
//! fixed-size chunks so the result does not depend on the thread count. Burn's own CPU path
//! builds one sampler per element and was most of an MC-dropout prediction. The GPU backends use
//! Burn's random kernels.

use backend::RandomBackend;
use burn::backend::Dispatch;
use burn::tensor::{Distribution, Tensor, TensorCreationOptions};

pub mod backend;

/// A tensor with the shape, dtype and device of `like`, drawn from `distribution` (not tracked
/// by autodiff).
///
/// # Example
/// ```
/// use burn::tensor::{Device, Distribution, Tensor};
/// let x = Tensor::<2>::zeros([100, 10], &Device::default());
/// let eps = vi_core::random::random_like(&x, Distribution::Normal(0.0, 1.0));
/// assert_eq!(eps.dims(), [100, 10]);
/// ```
pub fn random_like<const D: usize>(like: &Tensor<D>, distribution: Distribution) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as RandomBackend>::random_like(
        like.clone().detach().into_dispatch(),
        distribution,
    ))
}

/// A tensor of `shape` drawn from `distribution` (not tracked by autodiff).
///
/// # Example
/// ```
/// use burn::tensor::{Device, Distribution};
/// let u = vi_core::random::random([3, 4], Distribution::Uniform(0.0, 1.0), &Device::default());
/// let v: Vec<f32> = u.into_data().to_vec().unwrap();
/// assert!(v.iter().all(|x| (0.0..1.0).contains(x)));
/// ```
pub fn random<const D: usize>(
    shape: [usize; D],
    distribution: Distribution,
    options: impl Into<TensorCreationOptions>,
) -> Tensor<D> {
    random_like(&Tensor::<D>::empty(shape, options), distribution)
}
