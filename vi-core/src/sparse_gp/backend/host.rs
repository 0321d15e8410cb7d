//! CPU kernels of the sparse-GP extension (flex, ndarray): one pass each over the lower
//! triangles, through [`crate::host::on_host`].

use crate::host::{HostFloat, HostKernel, dims, on_host, slice, slice_mut};
use burn::backend::{Backend, TensorMetadata, tensor::FloatTensor};
use burn::tensor::TensorData;

/// [`super::SparseGpBackend::standard_normal_kl`] in one pass over the lower triangles, summed in
/// `f64`.
pub(crate) fn standard_normal_kl<B: Backend>(
    loc: FloatTensor<B>,
    l: FloatTensor<B>,
) -> FloatTensor<B> {
    let (_, n, _) = dims(&l.shape());
    on_host::<B>(vec![loc, l], StandardNormalKl::Value { n })
}

/// [`super::SparseGpBackend::standard_normal_kl_grad_factor`] in one pass, in place of `L`.
pub(crate) fn standard_normal_kl_grad_factor<B: Backend>(
    l: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let (_, n, _) = dims(&l.shape());
    on_host::<B>(vec![l, grad], StandardNormalKl::GradFactor { n })
}

/// `KL(N(m, L Lᵀ) ‖ N(0, I))` from `(m, L)`, or its gradient in `L` from `(L, ḡ)`.
enum StandardNormalKl {
    Value { n: usize },
    GradFactor { n: usize },
}

impl HostKernel for StandardNormalKl {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        match self {
            StandardNormalKl::Value { n } => {
                let (loc, l) = (slice::<T>(&inputs[0]), slice::<T>(&inputs[1]));
                let mut squares: f64 = loc.iter().map(|m| m.as_f64() * m.as_f64()).sum();
                let mut log_diagonal = 0.0;
                for factor in l.chunks_exact(n * n).filter(|_| n > 0) {
                    for (i, row) in factor.chunks_exact(n).enumerate() {
                        squares += row[..=i]
                            .iter()
                            .map(|v| v.as_f64() * v.as_f64())
                            .sum::<f64>();
                        log_diagonal += row[i].as_f64().abs().ln();
                    }
                }
                let kl = 0.5 * (squares - loc.len() as f64) - log_diagonal;
                TensorData::new(vec![T::from_f64(kl)], [1])
            }
            StandardNormalKl::GradFactor { n } => {
                let g = slice::<T>(&inputs[1])[0];
                let mut l = inputs.swap_remove(0);
                if n == 0 {
                    return l;
                }
                for factor in slice_mut::<T>(&mut l).chunks_exact_mut(n * n) {
                    for (i, row) in factor.chunks_exact_mut(n).enumerate() {
                        for v in &mut row[..i] {
                            *v = g * *v;
                        }
                        row[i] = g * (row[i] - T::from_f64(1.0) / row[i]);
                        for v in &mut row[i + 1..] {
                            *v = T::from_f64(0.0);
                        }
                    }
                }
                l
            }
        }
    }
}

/// [`super::SparseGpBackend::column_signed_lower`] in one pass, in place of `x`.
pub(crate) fn column_signed_lower<B: Backend>(
    raw: FloatTensor<B>,
    x: FloatTensor<B>,
) -> FloatTensor<B> {
    let (_, n, _) = dims(&raw.shape());
    on_host::<B>(vec![x, raw], ColumnSignedLower { n })
}

/// `x`'s lower triangle with the columns of negative diagonal entries of `raw` negated.
struct ColumnSignedLower {
    n: usize,
}

impl HostKernel for ColumnSignedLower {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let n = self.n;
        let raw = inputs.pop().expect("raw");
        let mut x = inputs.pop().expect("x");
        if n == 0 {
            return x;
        }
        let raw = slice::<T>(&raw);
        for (factor, raw) in slice_mut::<T>(&mut x)
            .chunks_exact_mut(n * n)
            .zip(raw.chunks_exact(n * n))
        {
            for (i, row) in factor.chunks_exact_mut(n).enumerate() {
                for (j, v) in row[..=i].iter_mut().enumerate() {
                    if raw[j * (n + 1)] < T::from_f64(0.0) {
                        *v = -*v;
                    }
                }
                for v in &mut row[i + 1..] {
                    *v = T::from_f64(0.0);
                }
            }
        }
        x
    }
}
