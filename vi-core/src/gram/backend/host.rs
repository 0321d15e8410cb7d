//! CPU kernels for the Gram extension, used by the flex and ndarray backends: rayon over the
//! batch, direct distance sums vectorised over the columns, and a vectorised exponential.

use crate::linalg::backend::host::{HostFloat, HostKernel, on_host, slice, slice_mut, use_pool};
use burn::backend::{Backend, TensorMetadata, tensor::FloatTensor};
use burn::tensor::{Shape, TensorData};
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

/// [`super::GramBackend::rbf_gram`] on the host.
pub(crate) fn rbf_gram<B: Backend>(a: FloatTensor<B>, b: FloatTensor<B>) -> FloatTensor<B> {
    let (sa, sb) = (a.shape(), b.shape());
    let kernel = RbfGram {
        shape: super::compose::gram_shape(&sa, &sb),
        batch: sa[0],
        n: sa[1],
        m: sb[1],
        d: sa[2],
    };
    on_host::<B>(vec![a, b], kernel)
}

struct RbfGram {
    shape: Shape,
    batch: usize,
    n: usize,
    m: usize,
    d: usize,
}

impl HostKernel for RbfGram {
    fn run<T: HostFloat>(self, inputs: Vec<TensorData>) -> TensorData {
        let (a, b) = (slice::<T>(&inputs[0]), slice::<T>(&inputs[1]));
        let RbfGram { n, m, d, .. } = self;
        let mut out = vec![T::from_f64(0.0); self.batch * n * m];
        if n * m > 0 {
            let half = T::from_f64(-0.5);
            let block = |b_t: &mut Vec<T>, (k, (a, b)): (&mut [T], (&[T], &[T]))| {
                // bᵀ `[d, m]`, so the inner loop runs over contiguous columns.
                for j in 0..m {
                    for c in 0..d {
                        b_t[c * m + j] = b[j * d + c];
                    }
                }
                for (i, row) in k.chunks_mut(m).enumerate() {
                    for c in 0..d {
                        let x = a[i * d + c];
                        for (s, y) in row.iter_mut().zip(&b_t[c * m..(c + 1) * m]) {
                            let diff = x - *y;
                            *s += diff * diff;
                        }
                    }
                    for s in row.iter_mut() {
                        *s *= half;
                    }
                    T::exp_in_place(row);
                }
            };
            let (rows_a, rows_b) = (n * d.max(1), m * d.max(1));
            if use_pool(self.batch) {
                out.par_chunks_mut(n * m)
                    .zip(a.par_chunks(rows_a).zip(b.par_chunks(rows_b)))
                    .for_each_init(|| vec![T::from_f64(0.0); m * d], block);
            } else {
                let mut b_t = vec![T::from_f64(0.0); m * d];
                out.chunks_mut(n * m)
                    .zip(a.chunks(rows_a).zip(b.chunks(rows_b)))
                    .for_each(|item| block(&mut b_t, item));
            }
        }
        TensorData::new(out, self.shape)
    }
}

/// [`super::GramBackend::rbf_gram_grad_left`] on the host.
pub(crate) fn rbf_gram_grad_left<B: Backend>(
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    k: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let (sa, sb) = (a.shape(), b.shape());
    let kernel = RbfGramGradLeft {
        batch: sa[0],
        n: sa[1],
        m: sb[1],
        d: sa[2],
    };
    on_host::<B>(vec![a, b, k, grad], kernel)
}

/// One batch element of the left gradient: `((Ā, W), (K, b))`.
type GradBlock<'a, T> = ((&'a mut [T], &'a mut [T]), (&'a [T], &'a [T]));

struct RbfGramGradLeft {
    batch: usize,
    n: usize,
    m: usize,
    d: usize,
}

impl HostKernel for RbfGramGradLeft {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let mut w = inputs.pop().expect("gradient");
        let k = inputs.pop().expect("Gram matrix");
        let mut a = inputs.remove(0);
        let b = slice::<T>(&inputs[0]);
        let RbfGramGradLeft { n, m, d, .. } = self;
        if n * m * d == 0 {
            for v in slice_mut::<T>(&mut a) {
                *v = T::from_f64(0.0);
            }
            return a;
        }
        let block = |wb: &mut Vec<T>, item: GradBlock<'_, T>| {
            let ((a, w), (k, b)) = item;
            for (w, k) in w.iter_mut().zip(k) {
                *w *= *k;
            }
            // W b `[n, d]`, in column-major views: (W b)ᵀ = bᵀ Wᵀ.
            matmul(
                MatMut::from_column_major_slice_mut(wb, d, n),
                Accum::Replace,
                MatRef::from_column_major_slice(b, d, m),
                MatRef::from_column_major_slice(w, m, n),
                T::from_f64(1.0),
                Par::Seq,
            );
            for (i, (a, wb)) in a.chunks_mut(d).zip(wb.chunks(d)).enumerate() {
                let row_sum = w[i * m..(i + 1) * m]
                    .iter()
                    .fold(T::from_f64(0.0), |s, v| s + *v);
                for (x, y) in a.iter_mut().zip(wb) {
                    *x = *y - row_sum * *x;
                }
            }
        };
        let (grad_a, w, k) = (
            slice_mut::<T>(&mut a),
            slice_mut::<T>(&mut w),
            slice::<T>(&k),
        );
        if use_pool(self.batch) {
            grad_a
                .par_chunks_mut(n * d)
                .zip(w.par_chunks_mut(n * m))
                .zip(k.par_chunks(n * m).zip(b.par_chunks(m * d)))
                .for_each_init(|| vec![T::from_f64(0.0); n * d], block);
        } else {
            let mut wb = vec![T::from_f64(0.0); n * d];
            grad_a
                .chunks_mut(n * d)
                .zip(w.chunks_mut(n * m))
                .zip(k.chunks(n * m).zip(b.chunks(m * d)))
                .for_each(|item| block(&mut wb, item));
        }
        a
    }
}
