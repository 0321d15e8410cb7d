//! CPU kernels for the Gram extension, used by the flex and ndarray backends: rayon over the
//! batch, direct distance sums vectorised over the columns (AVX2 where the CPU has it), a
//! vectorised exponential, and both gradients read from `K` and `K̄` in place.

#[cfg(any(feature = "flex", feature = "ndarray"))]
use crate::host::slice_mut;
use crate::host::{HostFloat, HostKernel, on_host, slice, use_pool, vectorised};
use burn::backend::{Backend, TensorMetadata, tensor::FloatTensor};
use burn::tensor::{Shape, TensorData};
#[cfg(any(feature = "flex", feature = "ndarray"))]
use faer::linalg::matmul::matmul;
#[cfg(any(feature = "flex", feature = "ndarray"))]
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

/// [`super::GramBackend::rbf_gram`] on the host.
#[cfg(any(feature = "flex", feature = "ndarray"))]
pub(crate) fn rbf_gram<B: Backend>(a: FloatTensor<B>, b: FloatTensor<B>) -> FloatTensor<B> {
    distances::<B>(a, b, true)
}

/// `‖aᵢ − bⱼ‖²` for `a` `[B, n, d]` and `b` `[B, m, d]`: [`rbf_gram`]'s loops without the
/// exponential.
pub(crate) fn squared_distance<B: Backend>(a: FloatTensor<B>, b: FloatTensor<B>) -> FloatTensor<B> {
    distances::<B>(a, b, false)
}

fn distances<B: Backend>(
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    exponentiate: bool,
) -> FloatTensor<B> {
    let (sa, sb) = (a.shape(), b.shape());
    let kernel = RbfGram {
        shape: super::compose::gram_shape(&sa, &sb),
        batch: sa[0],
        n: sa[1],
        m: sb[1],
        d: sa[2],
        exponentiate,
    };
    on_host::<B>(vec![a, b], kernel)
}

/// `exp(−½ D)` or, unless `exponentiate`, `D` itself, for the squared distances `D`.
struct RbfGram {
    shape: Shape,
    batch: usize,
    n: usize,
    m: usize,
    d: usize,
    exponentiate: bool,
}

impl HostKernel for RbfGram {
    fn run<T: HostFloat>(self, inputs: Vec<TensorData>) -> TensorData {
        let (a, b) = (slice::<T>(&inputs[0]), slice::<T>(&inputs[1]));
        let RbfGram { n, m, d, .. } = self;
        let mut out = vec![T::from_f64(0.0); self.batch * n * m];
        if n * m == 0 {
            return TensorData::new(out, self.shape);
        }
        if d == 0 {
            // No coordinates: every distance is 0.
            if self.exponentiate {
                out.fill(T::from_f64(1.0));
            }
            return TensorData::new(out, self.shape);
        }
        // Each output row is built in place by contiguous passes that vectorise: the squared
        // differences summed over the `d` coordinates (`b` transposed to `[d, m]` so that every
        // pass reads one contiguous row of it), then one pass of the exponential.
        let half = T::from_f64(-0.5);
        let exponentiate = self.exponentiate;
        let block = |b_t: &mut Vec<T>, (k, (a, b)): (&mut [T], (&[T], &[T]))| {
            for j in 0..m {
                for c in 0..d {
                    b_t[c * m + j] = b[j * d + c];
                }
            }
            vectorised(
                #[inline(always)]
                || {
                    for (i, row) in k.chunks_exact_mut(m).enumerate() {
                        for (&x, column) in a[i * d..(i + 1) * d].iter().zip(b_t.chunks_exact(m)) {
                            for (s, &y) in row.iter_mut().zip(column) {
                                let diff = x - y;
                                *s = diff.fused_mul_add(diff, *s);
                            }
                        }
                        if exponentiate {
                            for s in row.iter_mut() {
                                *s = (*s * half).exp_nonpositive();
                            }
                        }
                    }
                },
            );
        };
        let (rows_a, rows_b) = (n * d, m * d);
        let scratch = || vec![T::from_f64(0.0); d * m];
        if use_pool(self.batch) {
            out.par_chunks_mut(n * m)
                .zip(a.par_chunks(rows_a).zip(b.par_chunks(rows_b)))
                .for_each_init(scratch, block);
        } else {
            let mut b_t = scratch();
            out.chunks_mut(n * m)
                .zip(a.chunks(rows_a).zip(b.chunks(rows_b)))
                .for_each(|item| block(&mut b_t, item));
        }
        TensorData::new(out, self.shape)
    }
}

/// [`super::GramBackend::rbf_gram_grad_left`] on the host.
#[cfg(any(feature = "flex", feature = "ndarray"))]
pub(crate) fn rbf_gram_grad_left<B: Backend>(
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    k: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    rbf_gram_grad::<B>(Side::Left, a, b, k, grad)
}

/// [`super::GramBackend::rbf_gram_grad_right`] on the host.
#[cfg(any(feature = "flex", feature = "ndarray"))]
pub(crate) fn rbf_gram_grad_right<B: Backend>(
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    k: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    rbf_gram_grad::<B>(Side::Right, a, b, k, grad)
}

#[cfg(any(feature = "flex", feature = "ndarray"))]
fn rbf_gram_grad<B: Backend>(
    side: Side,
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    k: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let (sa, sb) = (a.shape(), b.shape());
    let kernel = RbfGramGrad {
        side,
        batch: sa[0],
        n: sa[1],
        m: sb[1],
        d: sa[2],
    };
    on_host::<B>(vec![a, b, k, grad], kernel)
}

/// Which input of `K(a, b)` a gradient is for.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg(any(feature = "flex", feature = "ndarray"))]
enum Side {
    /// `a` `[n, d]`: `āᵢ = (W b)ᵢ − (Σⱼ Wᵢⱼ) aᵢ`.
    Left,
    /// `b` `[m, d]`: `b̄ⱼ = (Wᵀ a)ⱼ − (Σᵢ Wᵢⱼ) bⱼ`.
    Right,
}

/// One batch element: `((x̄ over x, W), (K, the other input))`.
#[cfg(any(feature = "flex", feature = "ndarray"))]
type GradBlock<'a, T> = ((&'a mut [T], &'a mut [T]), (&'a [T], &'a [T]));

/// The gradient of one input of `K(a, b)` from `W = K̄ ∘ K` (`[n, m]`, row-major), read in
/// place for either side (no transposed copies).
#[cfg(any(feature = "flex", feature = "ndarray"))]
struct RbfGramGrad {
    side: Side,
    batch: usize,
    n: usize,
    m: usize,
    d: usize,
}

#[cfg(any(feature = "flex", feature = "ndarray"))]
impl HostKernel for RbfGramGrad {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let mut w = inputs.pop().expect("gradient");
        let k = inputs.pop().expect("Gram matrix");
        let b = inputs.pop().expect("right input");
        let a = inputs.pop().expect("left input");
        let RbfGramGrad { side, n, m, d, .. } = self;
        // The input whose gradient this is is overwritten with it.
        let (mut own, other, rows, cols) = match side {
            Side::Left => (a, b, n, m),
            Side::Right => (b, a, m, n),
        };
        if n * m * d == 0 {
            for v in slice_mut::<T>(&mut own) {
                *v = T::from_f64(0.0);
            }
            return own;
        }
        let block = |(product, sums): &mut (Vec<T>, Vec<T>), item: GradBlock<'_, T>| {
            let ((x, w), (k, other)) = item;
            vectorised(
                #[inline(always)]
                || {
                    for (w, k) in w.iter_mut().zip(k) {
                        *w *= *k;
                    }
                    match side {
                        Side::Left => {
                            for (s, row) in sums.iter_mut().zip(w.chunks(m)) {
                                *s = row.iter().fold(T::from_f64(0.0), |t, v| t + *v);
                            }
                        }
                        Side::Right => {
                            sums.fill(T::from_f64(0.0));
                            for row in w.chunks(m) {
                                for (s, v) in sums.iter_mut().zip(row) {
                                    *s += *v;
                                }
                            }
                        }
                    }
                },
            );
            // The product `[rows, d]` in column-major views: `(W other)ᵀ = otherᵀ Wᵀ` (left) and
            // `(Wᵀ other)ᵀ = otherᵀ W` (right); `W` row-major is `Wᵀ` column-major.
            let w_t = MatRef::from_column_major_slice(w, m, n);
            matmul(
                MatMut::from_column_major_slice_mut(product, d, rows),
                Accum::Replace,
                MatRef::from_column_major_slice(other, d, cols),
                if side == Side::Left {
                    w_t
                } else {
                    w_t.transpose()
                },
                T::from_f64(1.0),
                Par::Seq,
            );
            for ((x, p), s) in x.chunks_mut(d).zip(product.chunks(d)).zip(sums.iter()) {
                for (x, p) in x.iter_mut().zip(p) {
                    *x = *p - *s * *x;
                }
            }
        };
        let (grad, w, k, other) = (
            slice_mut::<T>(&mut own),
            slice_mut::<T>(&mut w),
            slice::<T>(&k),
            slice::<T>(&other),
        );
        let scratch = || {
            (
                vec![T::from_f64(0.0); rows * d],
                vec![T::from_f64(0.0); rows],
            )
        };
        if use_pool(self.batch) {
            grad.par_chunks_mut(rows * d)
                .zip(w.par_chunks_mut(n * m))
                .zip(k.par_chunks(n * m).zip(other.par_chunks(cols * d)))
                .for_each_init(scratch, block);
        } else {
            let mut buffers = scratch();
            grad.chunks_mut(rows * d)
                .zip(w.chunks_mut(n * m))
                .zip(k.chunks(n * m).zip(other.chunks(cols * d)))
                .for_each(|item| block(&mut buffers, item));
        }
        own
    }
}
