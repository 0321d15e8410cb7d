//! The CPU loop of the optimizer extension, used by the flex and ndarray backends.

use super::AdamScalars;
use crate::host::{HostFloat, HostKernels, on_host_many, slice_mut};
use burn::backend::{Backend, tensor::FloatTensor};
use burn::tensor::TensorData;

/// [`super::OptimBackend::adam_step`] in one pass over the four buffers, in place.
pub(crate) fn adam_step<B: Backend>(
    param: FloatTensor<B>,
    grad: FloatTensor<B>,
    moment_1: FloatTensor<B>,
    moment_2: FloatTensor<B>,
    scalars: AdamScalars,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let mut out = on_host_many::<B>(vec![param, grad, moment_1, moment_2], AdamStep(scalars));
    let moment_2 = out.pop().expect("three outputs");
    let moment_1 = out.pop().expect("three outputs");
    (out.pop().expect("three outputs"), moment_1, moment_2)
}

struct AdamStep(AdamScalars);

impl HostKernels for AdamStep {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> Vec<TensorData> {
        let s = self.0;
        // Each scalar rounded to `T` exactly as Burn's scalar ops round theirs.
        let t = |x: f32| T::from_f64(x as f64);
        let (beta_1, beta_2, decay) = (t(s.beta_1), t(s.beta_2), t(s.weight_decay));
        let (keep_1, keep_2) = (t(1.0 - s.beta_1), t(1.0 - s.beta_2));
        let (correction, epsilon, lr) = (t(s.correction), t(s.epsilon), T::from_f64(s.lr));
        let decayed = s.weight_decay != 0.0;
        let mut moment_2 = inputs.pop().expect("four inputs");
        let mut moment_1 = inputs.pop().expect("four inputs");
        let mut grad = inputs.pop().expect("four inputs");
        let mut param = inputs.pop().expect("four inputs");
        let grad_values = slice_mut::<T>(&mut grad);
        let (m1, m2) = (slice_mut::<T>(&mut moment_1), slice_mut::<T>(&mut moment_2));
        for (((p, &g), m), v) in slice_mut::<T>(&mut param)
            .iter_mut()
            .zip(grad_values.iter())
            .zip(m1.iter_mut())
            .zip(m2.iter_mut())
        {
            let g = if decayed { *p * decay + g } else { g };
            *m = *m * beta_1 + g * keep_1;
            *v = *v * beta_2 + g * g * keep_2;
            *p -= (*m * correction) / (v.sqrt() + epsilon) * lr;
        }
        vec![param, moment_1, moment_2]
    }
}
