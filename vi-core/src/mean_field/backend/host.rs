//! CPU loops for the mean-field extension, used by the flex and ndarray backends.

use crate::host::{HostFloat, HostKernel, on_host, slice_mut, sum_in_f64, vectorised};
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

/// [`super::MeanFieldBackend::kl_to_normal_grad_loc`] in one pass, in place.
pub(crate) fn kl_to_normal_grad_loc<B: Backend>(
    loc: FloatTensor<B>,
    scale: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    on_host::<B>(vec![loc, scale, grad], GradLoc)
}

/// The one value of a `[1]` input.
fn scalar<T: HostFloat>(data: &mut TensorData) -> f64 {
    slice_mut::<T>(data)[0].as_f64()
}

struct Kl;

impl HostKernel for Kl {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let s = scalar::<T>(&mut inputs[2]);
        let (inv_s, ln_s) = (T::from_f64(1.0 / s), T::from_f64(s.ln()));
        let (half, one) = (T::from_f64(0.5), T::from_f64(1.0));
        let (mut loc, mut rho) = (inputs.remove(0), inputs.remove(0));
        let (loc, rho) = (slice_mut::<T>(&mut loc), slice_mut::<T>(&mut rho));
        let total = vectorised(
            #[inline(always)]
            || {
                sum_in_f64(rho.len(), |i| {
                    let sigma = rho[i].softplus();
                    let (ratio, mean) = (sigma * inv_s, loc[i] * inv_s);
                    half * (ratio * ratio + mean * mean - one) - (ln_softplus(rho[i], sigma) - ln_s)
                })
            },
        );
        TensorData::new(vec![T::from_f64(total)], [1])
    }
}

struct GradRho;

impl HostKernel for GradRho {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let grad = T::from_f64(scalar::<T>(&mut inputs[2]));
        let s = scalar::<T>(&mut inputs[1]);
        let inv_s2 = T::from_f64(1.0 / (s * s));
        let mut rho = inputs.remove(0);
        vectorised(|| {
            for r in slice_mut::<T>(&mut rho) {
                let sigma = r.softplus();
                let sigmoid = sigmoid(*r);
                // (σ/s² − 1/σ) σ'(ρ) with σ'(ρ) = sigmoid(ρ), and sigmoid(ρ)/σ → 1 as ρ → −∞.
                *r = grad * (sigma * sigmoid * inv_s2 - sigmoid_over_softplus(*r, sigma, sigmoid));
            }
        });
        rho
    }
}

struct GradLoc;

impl HostKernel for GradLoc {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let s = scalar::<T>(&mut inputs[1]);
        let factor = T::from_f64(scalar::<T>(&mut inputs[2]) / (s * s));
        let mut loc = inputs.remove(0);
        for m in slice_mut::<T>(&mut loc) {
            *m *= factor;
        }
        loc
    }
}

struct Sample;

impl HostKernel for Sample {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let (mut loc, mut rho, mut noise) = (inputs.remove(0), inputs.remove(0), inputs.remove(0));
        let (rho, noise) = (slice_mut::<T>(&mut rho), slice_mut::<T>(&mut noise));
        let loc_values = slice_mut::<T>(&mut loc);
        vectorised(|| {
            for ((m, &r), &e) in loc_values.iter_mut().zip(rho.iter()).zip(noise.iter()) {
                *m += r.softplus() * e;
            }
        });
        loc
    }
}

struct SampleGradRho;

impl HostKernel for SampleGradRho {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let (mut rho, mut noise, mut grad) = (inputs.remove(0), inputs.remove(0), inputs.remove(0));
        let (noise, grad) = (slice_mut::<T>(&mut noise), slice_mut::<T>(&mut grad));
        let rho_values = slice_mut::<T>(&mut rho);
        vectorised(|| {
            for ((r, &e), &g) in rho_values.iter_mut().zip(noise.iter()).zip(grad.iter()) {
                *r = g * e * sigmoid(*r);
            }
        });
        rho
    }
}

/// Below this `ρ`, `softplus(ρ) = e^ρ (1 − e^ρ/2 + …)` to within `f32` rounding of its logarithm.
const TAIL: f64 = -15.0;

/// `1 / (1 + e^{−ρ})`: `0` for very negative `ρ`, never NaN for finite `ρ`.
#[inline(always)]
fn sigmoid<T: HostFloat>(rho: T) -> T {
    let one = T::from_f64(1.0);
    one / (one + (-rho).exp())
}

/// `ln softplus(ρ)` from `σ = softplus(ρ)`: `ρ` itself in the far tail, where `σ` underflows.
#[inline(always)]
fn ln_softplus<T: HostFloat>(rho: T, sigma: T) -> T {
    if rho < T::from_f64(TAIL) {
        rho
    } else {
        sigma.ln()
    }
}

/// `sigmoid(ρ) / softplus(ρ)`: `1` in the far tail, where both underflow.
#[inline(always)]
fn sigmoid_over_softplus<T: HostFloat>(rho: T, sigma: T, sigmoid: T) -> T {
    if rho < T::from_f64(TAIL) {
        T::from_f64(1.0)
    } else {
        sigmoid / sigma
    }
}
