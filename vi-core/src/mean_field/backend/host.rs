//! CPU loops for the mean-field extension, used by the flex and ndarray backends.

use crate::linalg::backend::host::{HostFloat, HostKernel, on_host, slice_mut};
use burn::backend::{Backend, tensor::FloatTensor};
use burn::tensor::TensorData;

/// [`super::MeanFieldBackend::sample`] in one pass, in place.
pub(crate) fn sample<B: Backend>(
    loc: FloatTensor<B>,
    rho: FloatTensor<B>,
    noise: FloatTensor<B>,
) -> FloatTensor<B> {
    on_host::<B>(vec![loc, rho, noise], Sample)
}

/// [`super::MeanFieldBackend::sample_grad_rho`] in one pass, in place.
pub(crate) fn sample_grad_rho<B: Backend>(
    rho: FloatTensor<B>,
    noise: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    on_host::<B>(vec![rho, noise, grad], SampleGradRho)
}

/// [`super::MeanFieldBackend::kl_to_normal`] in one pass, accumulated in `f64`.
pub(crate) fn kl_to_normal<B: Backend>(
    loc: FloatTensor<B>,
    rho: FloatTensor<B>,
    scale: FloatTensor<B>,
) -> FloatTensor<B> {
    on_host::<B>(vec![loc, rho, scale], Kl)
}

/// [`super::MeanFieldBackend::kl_to_normal_grad_rho`] in one pass, in place.
pub(crate) fn kl_to_normal_grad_rho<B: Backend>(
    rho: FloatTensor<B>,
    scale: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    on_host::<B>(vec![rho, scale, grad], GradRho)
}

/// The one value of a `[1]` input.
fn scalar<T: HostFloat>(data: &mut TensorData) -> f64 {
    slice_mut::<T>(data)[0].as_f64()
}

struct Kl;

impl HostKernel for Kl {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let inv_s = 1.0 / scalar::<T>(&mut inputs[2]);
        let (mut loc, mut rho) = (inputs.remove(0), inputs.remove(0));
        let loc = slice_mut::<T>(&mut loc);
        let total: f64 = slice_mut::<T>(&mut rho)
            .iter()
            .zip(loc.iter())
            .map(|(&r, &m)| {
                let ratio = r.softplus().as_f64() * inv_s;
                let mean = m.as_f64() * inv_s;
                0.5 * (ratio * ratio + mean * mean - 1.0) - ratio.ln()
            })
            .sum();
        TensorData::new(vec![T::from_f64(total)], [1])
    }
}

struct GradRho;

impl HostKernel for GradRho {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let grad = scalar::<T>(&mut inputs[2]);
        let s = scalar::<T>(&mut inputs[1]);
        let inv_s2 = 1.0 / (s * s);
        let mut rho = inputs.remove(0);
        for r in slice_mut::<T>(&mut rho) {
            let x = r.as_f64();
            let sigma = r.softplus().as_f64();
            *r = T::from_f64(grad * (sigma * inv_s2 - 1.0 / sigma) * (x - sigma).exp());
        }
        rho
    }
}

struct Sample;

impl HostKernel for Sample {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let (mut loc, mut rho, mut noise) = (inputs.remove(0), inputs.remove(0), inputs.remove(0));
        let (rho, noise) = (slice_mut::<T>(&mut rho), slice_mut::<T>(&mut noise));
        for ((m, &r), &e) in slice_mut::<T>(&mut loc)
            .iter_mut()
            .zip(rho.iter())
            .zip(noise.iter())
        {
            *m += r.softplus() * e;
        }
        loc
    }
}

struct SampleGradRho;

impl HostKernel for SampleGradRho {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let (mut rho, mut noise, mut grad) = (inputs.remove(0), inputs.remove(0), inputs.remove(0));
        let (noise, grad) = (slice_mut::<T>(&mut noise), slice_mut::<T>(&mut grad));
        for ((r, &e), &g) in slice_mut::<T>(&mut rho)
            .iter_mut()
            .zip(noise.iter())
            .zip(grad.iter())
        {
            // sigmoid(ρ) = exp(ρ − softplus(ρ)), finite for every finite ρ.
            let sigmoid = (*r - r.softplus()).exp();
            *r = g * e * sigmoid;
        }
        rho
    }
}
