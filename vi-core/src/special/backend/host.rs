//! CPU kernels for the special-function extension, used by the flex and ndarray backends.

use crate::host::{HostFloat, HostKernel, on_host, slice_mut, vectorised};
use burn::backend::{Backend, tensor::FloatTensor};
use burn::tensor::TensorData;

/// [`super::SpecialBackend::softplus`] on the host, in place.
pub(crate) fn softplus<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    on_host::<B>(vec![x], Softplus)
}

struct Softplus;

impl HostKernel for Softplus {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let mut x = inputs.remove(0);
        let values = slice_mut::<T>(&mut x);
        vectorised(
            #[inline(always)]
            || {
                for v in values {
                    *v = T::softplus(*v);
                }
            },
        );
        x
    }
}
