//! CPU loops for the likelihood extension, used by the flex and ndarray backends.

use super::compose::HALF_LN_2PI;
use crate::host::{HostFloat, HostKernel, on_host, slice_mut, sum_in_f64, vectorised};
use burn::backend::{Backend, tensor::FloatTensor};
use burn::tensor::TensorData;

/// [`super::LikelihoodBackend::gaussian_log_likelihood`] in one pass, summed in `f64`.
pub(crate) fn gaussian_log_likelihood<B: Backend>(
    y: FloatTensor<B>,
    mean: FloatTensor<B>,
    log_scale: FloatTensor<B>,
) -> FloatTensor<B> {
    on_host::<B>(vec![y, mean, log_scale], Pass::Value)
}

/// [`super::LikelihoodBackend::gaussian_expected_log_likelihood`] in one pass, summed in `f64`.
pub(crate) fn expected_log_likelihood<B: Backend>(
    y: FloatTensor<B>,
    mean: FloatTensor<B>,
    variance: FloatTensor<B>,
    log_scale: FloatTensor<B>,
) -> FloatTensor<B> {
    on_host::<B>(vec![y, mean, log_scale, variance], Pass::ExpectedValue)
}

/// [`super::LikelihoodBackend::gaussian_expected_log_likelihood_grad_log_scale`] in one pass.
pub(crate) fn expected_grad_log_scale<B: Backend>(
    y: FloatTensor<B>,
    mean: FloatTensor<B>,
    variance: FloatTensor<B>,
    log_scale: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    on_host::<B>(
        vec![y, mean, log_scale, grad, variance],
        Pass::ExpectedGradLogScale,
    )
}

/// [`super::LikelihoodBackend::gaussian_log_likelihood_grad_mean`] in one pass.
pub(crate) fn grad_mean<B: Backend>(
    y: FloatTensor<B>,
    mean: FloatTensor<B>,
    log_scale: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    on_host::<B>(vec![y, mean, log_scale, grad], Pass::GradMean)
}

/// [`super::LikelihoodBackend::gaussian_log_likelihood_grad_log_scale`] in one pass.
pub(crate) fn grad_log_scale<B: Backend>(
    y: FloatTensor<B>,
    mean: FloatTensor<B>,
    log_scale: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    on_host::<B>(vec![y, mean, log_scale, grad], Pass::GradLogScale)
}

/// Which quantity a pass over `(y, μ, s[, ḡ][, v])` computes (`v`: the variances of `f` under
/// `q`, for the expected log-likelihood).
#[derive(Clone, Copy)]
enum Pass {
    Value,
    GradMean,
    GradLogScale,
    ExpectedValue,
    ExpectedGradLogScale,
}

impl Pass {
    /// Whether the last input is the variance `v`.
    fn has_variance(self) -> bool {
        matches!(self, Pass::ExpectedValue | Pass::ExpectedGradLogScale)
    }

    /// Whether an upstream gradient `ḡ` follows `s`.
    fn has_grad(self) -> bool {
        matches!(
            self,
            Pass::GradMean | Pass::GradLogScale | Pass::ExpectedGradLogScale
        )
    }
}

/// `r e^{−s}` with `r = y − μ`.
#[inline(always)]
fn standardised<T: HostFloat>(y: T, mean: T, s: T) -> T {
    (y - mean) * (-s).exp()
}

impl HostKernel for Pass {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let mut variance_data = self.has_variance().then(|| inputs.pop().expect("v"));
        let variance: &[T] = match &mut variance_data {
            Some(v) => slice_mut::<T>(v),
            None => &[],
        };
        let grad = self.has_grad().then(|| slice_mut::<T>(&mut inputs[3])[0]);
        let (mut y, mut mean_data, mut log_scale) =
            (inputs.remove(0), inputs.remove(0), inputs.remove(0));
        let y = slice_mut::<T>(&mut y);
        let scale_shape = log_scale.shape().clone();
        let s = slice_mut::<T>(&mut log_scale);
        let shared = (s.len() == 1).then(|| s[0]);
        let (half, one) = (T::from_f64(0.5), T::from_f64(1.0));
        // Per-element `s`: the slice itself; shared: the one value.
        let s_at = |i: usize| shared.unwrap_or_else(|| s[i]);
        if let Pass::GradMean = self {
            // ḡ r e^{−2s}, in place of μ.
            let g = grad.expect("a gradient");
            vectorised(
                #[inline(always)]
                || {
                    for (i, m) in slice_mut::<T>(&mut mean_data).iter_mut().enumerate() {
                        let inv = (-(s_at(i) + s_at(i))).exp();
                        *m = g * (y[i] - *m) * inv;
                    }
                },
            );
            return mean_data;
        }
        let mean = slice_mut::<T>(&mut mean_data);
        // `((y − μ)² + v) e^{−2s}`, the standardised residual squared with the variance.
        let spread = |i: usize| {
            let w = (-s_at(i)).exp();
            let z = (y[i] - mean[i]) * w;
            z * z + variance[i] * w * w
        };
        match self {
            Pass::Value => {
                let total = vectorised(
                    #[inline(always)]
                    || {
                        sum_in_f64(y.len(), |i| {
                            let z = standardised(y[i], mean[i], s_at(i));
                            -(half * z * z) - s_at(i)
                        })
                    },
                );
                let total = total - HALF_LN_2PI * y.len() as f64;
                TensorData::new(vec![T::from_f64(total)], [1])
            }
            Pass::ExpectedValue => {
                let total = vectorised(
                    #[inline(always)]
                    || sum_in_f64(y.len(), |i| -(half * spread(i)) - s_at(i)),
                );
                let total = total - HALF_LN_2PI * y.len() as f64;
                TensorData::new(vec![T::from_f64(total)], [1])
            }
            Pass::ExpectedGradLogScale => {
                let g = grad.expect("a gradient");
                if shared.is_some() {
                    let total: f64 = vectorised(
                        #[inline(always)]
                        || sum_in_f64(y.len(), |i| spread(i) - one),
                    );
                    TensorData::new(vec![T::from_f64(g.as_f64() * total)], scale_shape)
                } else {
                    let out: Vec<T> = vectorised(
                        #[inline(always)]
                        || (0..y.len()).map(|i| g * (spread(i) - one)).collect(),
                    );
                    TensorData::new(out, scale_shape)
                }
            }
            Pass::GradMean => unreachable!("handled above"),
            Pass::GradLogScale => {
                let g = grad.expect("a gradient");
                let per = |i: usize| {
                    let z = standardised(y[i], mean[i], s_at(i));
                    z * z - one
                };
                if shared.is_some() {
                    let total: f64 = vectorised(
                        #[inline(always)]
                        || sum_in_f64(y.len(), per),
                    );
                    TensorData::new(vec![T::from_f64(g.as_f64() * total)], scale_shape)
                } else {
                    let out: Vec<T> = vectorised(
                        #[inline(always)]
                        || (0..y.len()).map(|i| g * per(i)).collect(),
                    );
                    TensorData::new(out, scale_shape)
                }
            }
        }
    }
}
