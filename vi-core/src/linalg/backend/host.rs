//! CPU kernels for the linear-algebra extension, used by the flex and ndarray backends.
//!
//! Each batch element is an independent row-major `n × n` (or `n × k`) block; the batch is split
//! over rayon's pool (so `RAYON_NUM_THREADS` or an installed pool sets the thread count).
//! Matrices up to order 64 go to the batch-packed kernels of [`super::packed`], one factor against
//! many columns to the block-column GEMMs of [`super::wide`]; larger ones to
//! [faer](https://docs.rs/faer), whose blocked, SIMD kernels are essential at `n = 1024` (the
//! Cholesky backward pass is Murray's blocked reverse mode on faer's GEMMs). A single large
//! matrix is factorised with faer's own parallelism.

use burn::backend::{Backend, TensorMetadata, tensor::FloatTensor};
use burn::tensor::{DType, Element, FloatDType, Shape, TensorData};
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{
    LltError, LltRegularization, cholesky_in_place, cholesky_in_place_scratch,
};
use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{BlockStructure, matmul as faer_triangular_matmul};
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

/// Element types the CPU kernels run in natively (others are computed in `f32`).
pub(crate) trait HostFloat: faer::traits::RealField + Element + Copy + Send + Sync {
    fn from_f64(x: f64) -> Self;
    fn as_f64(self) -> f64;
    fn finite(self) -> bool;
    /// `ln(1 + eˣ) = max(x, 0) + ln(1 + e^{−|x|})`, NaN for NaN.
    fn softplus(self) -> Self;
    /// `eˣ` (in `f32` within 2 ulp and vectorisable: [`exp_f32`]).
    fn exp(self) -> Self;
    /// `eˣ` for `x ≤ 0` (the exponent of an RBF kernel), NaN for NaN, in `f32` with fused
    /// multiply-adds ([`exp_nonpositive_f32`]): only for loops run inside [`vectorised`].
    fn exp_nonpositive(self) -> Self;
    /// `ln x` for positive normal `x` (in `f32` vectorisable: [`ln_f32`]).
    fn ln(self) -> Self;
    /// `√x`.
    fn sqrt(self) -> Self;
    /// `self · a + b` with one rounding: a single instruction where the caller is compiled with
    /// FMA, a slow library call otherwise (so only FMA-enabled kernels use it).
    fn fused_mul_add(self, a: Self, b: Self) -> Self;
}
impl HostFloat for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
    fn finite(self) -> bool {
        self.is_finite()
    }
    #[inline(always)]
    fn softplus(self) -> Self {
        // ln(1 + u) = ln w − ((w − 1) − u)/w with w = 1 + u (the rounding of w corrected).
        let u = exp_f32(-self.abs());
        let w = 1.0 + u;
        self.max(0.0) + (ln_f32(w) - ((w - 1.0) - u) / w)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        exp_f32(self)
    }
    #[inline(always)]
    fn exp_nonpositive(self) -> Self {
        exp_nonpositive_f32(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        ln_f32(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn fused_mul_add(self, a: Self, b: Self) -> Self {
        self.mul_add(a, b)
    }
}
impl HostFloat for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
    }
    fn finite(self) -> bool {
        self.is_finite()
    }
    #[inline(always)]
    fn softplus(self) -> Self {
        self.max(0.0) + (-self.abs()).exp().ln_1p()
    }
    #[inline(always)]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline(always)]
    fn exp_nonpositive(self) -> Self {
        f64::exp(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        f64::ln(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn fused_mul_add(self, a: Self, b: Self) -> Self {
        self.mul_add(a, b)
    }
}

/// `ln x` in `f32` without calls, so that loops over it vectorise (Cephes' `logf`):
/// `x = m 2ᵉ` with `m ∈ [√½, √2)`, `ln m` from a degree-8 polynomial in `m − 1`, plus `e ln 2` in
/// two parts. Within 2 ulp for positive normal `x`; `−∞` at 0, NaN below 0 or for NaN, `∞` at `∞`.
/// Subnormal input is out of its range (callers keep away from it).
#[inline(always)]
pub(crate) fn ln_f32(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let bits = x.to_bits();
    // x = m 2^(e + 1) with m ∈ [½, 1); then m ← 2m and e ← e − 1 when m < √½.
    let exponent = ((bits >> 23) & 0xff) as i32 - 126;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    let small = m < std::f32::consts::FRAC_1_SQRT_2;
    let e = (exponent - i32::from(small)) as f32;
    let f = if small { m + m - 1.0 } else { m - 1.0 };
    let z = f * f;
    let mut p = 0.070_376_836_f32;
    for c in [
        -0.115_146_1,
        0.116_769_984,
        -0.124_201_41,
        0.142_493_23,
        -0.166_680_57,
        0.200_007_14,
        -0.249_999_94,
        0.333_333_3,
    ] {
        p = p * f + c;
    }
    let y = f + (f * z * p + e * LN2_LO - 0.5 * z) + e * LN2_HI;
    if x > 0.0 && x < f32::INFINITY {
        y
    } else if x == 0.0 {
        f32::NEG_INFINITY
    } else if x == f32::INFINITY {
        x
    } else {
        f32::NAN
    }
}

/// `eˣ` in `f32` without branches or calls, so that loops over it vectorise (Cephes' `expf`):
/// `x = n ln 2 + r` with `|r| ≤ ½ ln 2`, a degree-7 polynomial for `eʳ`, and `2ⁿ` from the exponent
/// bits. Within 2 ulp of the correctly rounded value; `0` below `−87.3` (where `eˣ` is
/// subnormal), `∞` above `88.7`, NaN for NaN.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5 · 2²³ rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    const LOW: f32 = -87.3;
    const HIGH: f32 = 88.7;
    let clamped = x.clamp(LOW, HIGH);
    let rounded = clamped * LOG2E + ROUND;
    let n = rounded - ROUND;
    let r = clamped - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        0.166_666_65,
        0.5,
    ] {
        p = p * r + c;
    }
    // 2ⁿ as 2^⌊n/2⌋ · 2^⌈n/2⌉, both normal for every n in [−126, 128]. `n` as an integer is read
    // from the bits of `rounded` (whose unit in the last place is 1), not by a saturating cast,
    // which does not vectorise.
    let n = rounded.to_bits() as i32 - ROUND.to_bits() as i32;
    let power = |k: i32| f32::from_bits(((k + 127) as u32) << 23);
    let y = (p * r * r + r + 1.0) * power(n >> 1) * power(n - (n >> 1));
    if x < LOW {
        0.0
    } else if x > HIGH {
        f32::INFINITY
    } else {
        y
    }
}

/// [`exp_f32`] for `x ≤ 0` with fused multiply-adds: about half its instructions (no upper
/// clamp, one power of two since `n ∈ [−126, 0]`, the reduction and polynomial as FMAs). Within
/// 2 ulp; `0` below `−87.3`, NaN for NaN; positive `x` is out of its range. A slow library call
/// per FMA unless the caller is compiled with FMA ([`vectorised`]).
#[inline(always)]
pub(crate) fn exp_nonpositive_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0;
    const LOW: f32 = -87.3;
    // NaN compares false, so it stays NaN through the clamp and the result.
    let clamped = if x < LOW { LOW } else { x };
    let rounded = clamped.mul_add(LOG2E, ROUND);
    let n = rounded - ROUND;
    let r = n.mul_add(-LN2_LO, n.mul_add(-LN2_HI, clamped));
    let mut p = 1.987_569_1e-4_f32;
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        0.166_666_65,
        0.5,
    ] {
        p = p.mul_add(r, c);
    }
    let n = rounded.to_bits() as i32 - ROUND.to_bits() as i32;
    let power = f32::from_bits(((n + 127) as u32) << 23);
    let y = ((p * r).mul_add(r, r) + 1.0) * power;
    if x < LOW { 0.0 } else { y }
}

/// Runs `f` compiled for AVX2 and FMA where the CPU has them (x86-64), otherwise as built: the
/// elementwise host loops (softplus, exponentials, logarithms in `f32`) are written branch-free
/// so that they vectorise, and AVX2 doubles their width over the SSE2 baseline. `f` must be
/// inlined into the wrapper to gain from it, which a closure called once is.
#[inline(always)]
pub(crate) fn vectorised<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        fn simd<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA, checked just above.
            return unsafe { simd(f) };
        }
    }
    f()
}

/// `Σᵢ term(i)` for `i < len`: the terms in the working precision a chunk at a time (so that a
/// branch-free `term` vectorises, inside [`vectorised`]), their sum in `f64`.
#[inline(always)]
pub(crate) fn sum_in_f64<T: HostFloat>(len: usize, term: impl Fn(usize) -> T) -> f64 {
    const CHUNK: usize = 64;
    let mut terms = [T::from_f64(0.0); CHUNK];
    let mut total = 0.0;
    for start in (0..len).step_by(CHUNK) {
        let chunk = &mut terms[..CHUNK.min(len - start)];
        for (k, t) in chunk.iter_mut().enumerate() {
            *t = term(start + k);
        }
        total += chunk.iter().map(|t| t.as_f64()).sum::<f64>();
    }
    total
}

/// A CPU kernel over host data in the working precision `T`.
pub(crate) trait HostKernel {
    /// Reads `inputs` (already in `T`) and returns the output, reusing an input's buffer where
    /// the kernel works in place.
    fn run<T: HostFloat>(self, inputs: Vec<TensorData>) -> TensorData;
}

/// A CPU kernel with several outputs, e.g. an update of a parameter and its optimizer state.
pub(crate) trait HostKernels {
    /// Reads `inputs` (already in `T`) and returns the outputs, reusing input buffers where the
    /// kernel works in place.
    fn run<T: HostFloat>(self, inputs: Vec<TensorData>) -> Vec<TensorData>;
}

/// A one-output kernel as a many-output one.
struct Single<K>(K);

impl<K: HostKernel> HostKernels for Single<K> {
    fn run<T: HostFloat>(self, inputs: Vec<TensorData>) -> Vec<TensorData> {
        vec![self.0.run::<T>(inputs)]
    }
}

/// Reads primitives to the host (without a copy where the backend already holds them there and
/// they are not shared), runs `kernel` in `f64` for `f64` input and in `f32` otherwise, and hands
/// the result back with the input's dtype and device.
pub(crate) fn on_host<B: Backend>(
    tensors: Vec<FloatTensor<B>>,
    kernel: impl HostKernel,
) -> FloatTensor<B> {
    on_host_many::<B>(tensors, Single(kernel))
        .pop()
        .expect("one output")
}

/// [`on_host`] for a kernel with several outputs, all handed back with the first input's dtype
/// and device.
pub(crate) fn on_host_many<B: Backend>(
    tensors: Vec<FloatTensor<B>>,
    kernel: impl HostKernels,
) -> Vec<FloatTensor<B>> {
    let device = tensors[0].device();
    let dtype = tensors[0].dtype();
    let datas = tensors.into_iter().map(read_input::<B>);
    let outputs = if dtype == DType::F64 {
        kernel.run::<f64>(datas.map(to_dtype::<f64>).collect())
    } else {
        kernel.run::<f32>(datas.map(to_dtype::<f32>).collect())
    };
    outputs
        .into_iter()
        .map(|out| {
            let tensor = B::float_from_data(out, &device);
            match dtype {
                DType::F64 | DType::F32 => tensor,
                other => B::float_cast(tensor, FloatDType::from(other)),
            }
        })
        .collect()
}

/// A host kernel's input as data: moved out when this is its only handle, else copied once.
fn read_input<B: Backend>(t: FloatTensor<B>) -> TensorData {
    #[cfg(feature = "flex")]
    if let Some(data) = shared_flex_data(&t) {
        return data;
    }
    burn_std::reader::try_read_sync(B::float_into_data(t))
        .expect("linalg: CPU kernel could not read its input synchronously")
        .expect("linalg: CPU kernel failed to read its input")
}

/// A contiguous `f32`/`f64` Flex tensor that another handle still holds, copied once into a `Vec`
/// of its element type (Flex's own `into_data` copies a shared buffer twice: out of the shared
/// allocation, then again to the runtime's alignment); `None` for any other tensor.
#[cfg(feature = "flex")]
fn shared_flex_data(t: &dyn std::any::Any) -> Option<TensorData> {
    let t = t.downcast_ref::<FloatTensor<burn::backend::Flex>>()?;
    if t.is_unique() {
        return None;
    }
    let shape = t.shape();
    match t.dtype() {
        DType::F32 => t
            .as_slice::<f32>()
            .map(|s| TensorData::new(s.to_vec(), shape)),
        DType::F64 => t
            .as_slice::<f64>()
            .map(|s| TensorData::new(s.to_vec(), shape)),
        _ => None,
    }
}

fn to_dtype<T: Element>(data: TensorData) -> TensorData {
    if data.dtype() == T::dtype() {
        data
    } else {
        data.convert::<T>()
    }
}

pub(crate) fn slice<T: HostFloat>(data: &TensorData) -> &[T] {
    data.as_slice::<T>()
        .expect("linalg: CPU kernel received a tensor it cannot read")
}

pub(crate) fn slice_mut<T: HostFloat>(data: &mut TensorData) -> &mut [T] {
    data.as_mut_slice::<T>()
        .expect("linalg: CPU kernel received a tensor it cannot write")
}

/// Whether a loop over `blocks` independent blocks should go through rayon's pool: not for a
/// single block, nor with a one-thread pool, where a call from outside the pool only adds a
/// cross-thread hand-off and wake-up (about 10 µs: more than a small kernel itself).
pub(crate) fn use_pool(blocks: usize) -> bool {
    blocks > 1 && rayon::current_num_threads() > 1
}

/// Parallelism inside one matrix: only when the batch is too small to keep the pool busy and
/// the matrix large enough to pay for the hand-offs (at `n = 256` two threads were slower than
/// one).
fn inner_par(batch: usize, n: usize) -> Par {
    let threads = rayon::current_num_threads();
    if batch < threads && n >= 512 {
        Par::rayon(threads)
    } else {
        Par::Seq
    }
}

/// [`inner_par`] for a triangular solve or product with `k` right-hand sides: a few columns are
/// too little work to share.
fn inner_par_rhs(batch: usize, n: usize, k: usize) -> Par {
    if k >= 128 {
        inner_par(batch, n)
    } else {
        Par::Seq
    }
}

fn dims(shape: &Shape) -> (usize, usize, usize) {
    let rank = shape.num_dims();
    let (rows, cols) = (shape[rank - 2], shape[rank - 1]);
    let batch = shape.num_elements() / (rows * cols).max(1);
    (batch, rows, cols)
}

/// Batched Cholesky of `A + shift · I` (see [`super::LinalgBackend::cholesky`] for the contract).
pub(crate) fn cholesky<B: Backend>(a: FloatTensor<B>, shift: f64) -> FloatTensor<B> {
    let (batch, n, _) = dims(&a.shape());
    on_host::<B>(vec![a], Cholesky { batch, n, shift })
}

struct Cholesky {
    batch: usize,
    n: usize,
    shift: f64,
}

impl HostKernel for Cholesky {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let mut a = inputs.remove(0);
        let (batch, n) = (self.batch, self.n);
        if self.shift != 0.0 {
            let shift = T::from_f64(self.shift);
            for block in slice_mut::<T>(&mut a).chunks_mut(n * n) {
                for j in 0..n {
                    block[j * n + j] += shift;
                }
            }
        }
        if super::packed::suits_factor(batch, n) {
            super::packed::cholesky(slice_mut::<T>(&mut a), n);
        } else if n > 0 {
            let par = inner_par(batch, n);
            let scratch = cholesky_in_place_scratch::<T>(n, par, Default::default());
            let blocks = slice_mut::<T>(&mut a);
            if use_pool(batch) {
                blocks.par_chunks_mut(n * n).for_each_init(
                    || MemBuffer::new(scratch),
                    |buffer, block| cholesky_one(block, n, par, MemStack::new(buffer)),
                );
            } else {
                let mut buffer = MemBuffer::new(scratch);
                for block in blocks.chunks_mut(n * n) {
                    cholesky_one(block, n, par, MemStack::new(&mut buffer));
                }
            }
        }
        a
    }
}

/// Factorises one row-major block in place: lower triangle `L`, upper triangle zero; when the
/// pivot of column `j` is not positive and finite, every lower-triangle entry of rows `j..n` is
/// NaN.
///
/// faer is fastest on column-major storage, and the column-major view of a row-major symmetric
/// matrix is the matrix itself: the lower triangle is mirrored into the upper one, faer factorises
/// the column-major view, and its factor (the row-major `Lᵀ`) is transposed back.
pub(crate) fn cholesky_one<T: HostFloat>(
    block: &mut [T],
    n: usize,
    par: Par,
    stack: &mut MemStack,
) {
    mirror(block, n, true);
    let failed_at = {
        let a = MatMut::from_column_major_slice_mut(block, n, n);
        match cholesky_in_place(
            a,
            LltRegularization::default(),
            par,
            stack,
            Default::default(),
        ) {
            Ok(_) => (0..n).find(|&j| !block[j * n + j].finite()),
            Err(LltError::NonPositivePivot { index }) => Some(index),
        }
    };
    mirror(block, n, false);
    let (zero, nan) = (T::from_f64(0.0), T::from_f64(f64::NAN));
    for i in 0..n {
        let row = &mut block[i * n..(i + 1) * n];
        row[i + 1..].fill(zero);
        if failed_at.is_some_and(|j| i >= j) {
            row[..=i].fill(nan);
        }
    }
}

/// Batched triangular solve (see [`super::LinalgBackend::solve_triangular`]).
pub(crate) fn solve_triangular<B: Backend>(
    t: FloatTensor<B>,
    b: FloatTensor<B>,
    upper: bool,
    transpose: bool,
) -> FloatTensor<B> {
    let (batch, n, k) = dims(&b.shape());
    let kernel = SolveTriangular {
        batch,
        n,
        k,
        upper,
        transpose,
    };
    on_host::<B>(vec![t, b], kernel)
}

#[derive(Clone, Copy)]
struct SolveTriangular {
    batch: usize,
    n: usize,
    k: usize,
    upper: bool,
    transpose: bool,
}

impl HostKernel for SolveTriangular {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let mut rhs = inputs.pop().expect("right-hand side");
        solve_blocks(slice::<T>(&inputs[0]), slice_mut::<T>(&mut rhs), &self);
        rhs
    }
}

/// Solves every `n × k` block of `rhs` in place against the matching `n × n` block of `tri`.
fn solve_blocks<T: HostFloat>(tri: &[T], rhs: &mut [T], shape: &SolveTriangular) {
    let SolveTriangular {
        batch,
        n,
        k,
        upper,
        transpose,
    } = *shape;
    if super::packed::suits_solve(batch, n, k) {
        super::packed::solve_triangular(tri, rhs, (n, k), upper, transpose);
    } else if n > 0 && k > 0 {
        let par = inner_par_rhs(batch, n, k);
        let wide = super::wide::suits(n, k);
        let solve = |(x, tri): (&mut [T], &[T])| {
            if wide {
                return super::wide::solve_triangular(tri, x, (n, k), upper, transpose);
            }
            let tri = MatRef::from_row_major_slice(tri, n, n);
            let x = MatMut::from_row_major_slice_mut(x, n, k);
            solve_one(tri, x, upper, transpose, par);
        };
        if use_pool(batch) {
            rhs.par_chunks_mut(n * k)
                .zip(tri.par_chunks(n * n))
                .for_each(solve);
        } else {
            rhs.chunks_mut(n * k).zip(tri.chunks(n * n)).for_each(solve);
        }
    }
}

/// Flex's batched triangular solve, reading the triangular factor in place even when it is
/// shared (a distribution's `scale_tril` is read by every `log_prob`): only the right-hand side,
/// which the solve overwrites, is copied when shared. Falls back to [`solve_triangular`] for
/// strided or non-`f32`/`f64` factors.
#[cfg(feature = "flex")]
pub(crate) fn solve_triangular_flex(
    t: FloatTensor<burn::backend::Flex>,
    b: FloatTensor<burn::backend::Flex>,
    upper: bool,
    transpose: bool,
) -> FloatTensor<burn::backend::Flex> {
    use burn::backend::{Flex, ops::FloatTensorOps};
    let (batch, n, k) = dims(&b.shape());
    let shape = SolveTriangular {
        batch,
        n,
        k,
        upper,
        transpose,
    };
    let dtype = b.dtype();
    let borrowable = t.dtype() == dtype
        && match dtype {
            DType::F32 => t.as_slice::<f32>().is_some(),
            DType::F64 => t.as_slice::<f64>().is_some(),
            _ => false,
        };
    if !borrowable {
        return solve_triangular::<Flex>(t, b, upper, transpose);
    }
    let device = b.device();
    let mut rhs = read_input::<Flex>(b);
    match dtype {
        DType::F32 => solve_blocks(
            t.as_slice::<f32>().expect("checked"),
            slice_mut::<f32>(&mut rhs),
            &shape,
        ),
        _ => solve_blocks(
            t.as_slice::<f64>().expect("checked"),
            slice_mut::<f64>(&mut rhs),
            &shape,
        ),
    }
    Flex::float_from_data(rhs, &device)
}

/// Flex's batched Cholesky, reading the input in place even when it is shared (the factor is
/// written to a new buffer, so a shared input costs no copy) for the packed small-matrix kernels
/// without a shift. Falls back to [`cholesky`] otherwise, which factorises an input it owns alone
/// in place.
#[cfg(feature = "flex")]
pub(crate) fn cholesky_flex(
    a: FloatTensor<burn::backend::Flex>,
    shift: f64,
) -> FloatTensor<burn::backend::Flex> {
    use burn::backend::{Flex, ops::FloatTensorOps};
    let shape = a.shape();
    let (batch, n, _) = dims(&shape);
    if !super::packed::suits_factor(batch, n) || a.is_unique() || shift != 0.0 {
        return cholesky::<Flex>(a, shift);
    }
    fn factor<T: HostFloat>(a: &[T], n: usize, shape: &Shape) -> TensorData {
        let mut out = Vec::with_capacity(a.len());
        super::packed::cholesky_into(a, &mut out.spare_capacity_mut()[..a.len()], n);
        // SAFETY: `cholesky_into` writes every entry of every block (the factor, NaN rows from a
        // failed pivot on, zeros above the diagonal).
        unsafe { out.set_len(a.len()) };
        TensorData::new(out, shape.clone())
    }
    let data = match a.dtype() {
        DType::F32 => a.as_slice::<f32>().map(|a| factor(a, n, &shape)),
        DType::F64 => a.as_slice::<f64>().map(|a| factor(a, n, &shape)),
        _ => None,
    };
    match data {
        Some(data) => Flex::float_from_data(data, &a.device()),
        None => cholesky::<Flex>(a, 0.0),
    }
}

pub(crate) fn solve_one<T: HostFloat>(
    tri: MatRef<'_, T>,
    x: MatMut<'_, T>,
    upper: bool,
    transpose: bool,
    par: Par,
) {
    let tri = if transpose { tri.transpose() } else { tri };
    if upper != transpose {
        solve_upper_triangular_in_place(tri, x, par);
    } else {
        solve_lower_triangular_in_place(tri, x, par);
    }
}

/// Fused `−tri(B̄ Xᵀ)` (see [`super::LinalgBackend::solve_triangular_grad_t`]): only the entries
/// of the triangle are computed, each one inner product over contiguous rows.
pub(crate) fn solve_triangular_grad_t<B: Backend>(
    grad_b: FloatTensor<B>,
    x: FloatTensor<B>,
    upper: bool,
    transpose: bool,
) -> FloatTensor<B> {
    let shape = grad_b.shape();
    let (batch, n, k) = dims(&shape);
    let kernel = SolveTriangularGradT {
        shape: super::compose::square_shape(&shape),
        batch,
        n,
        k,
        upper,
        transpose,
    };
    on_host::<B>(vec![grad_b, x], kernel)
}

struct SolveTriangularGradT {
    shape: Shape,
    batch: usize,
    n: usize,
    k: usize,
    upper: bool,
    transpose: bool,
}

impl HostKernel for SolveTriangularGradT {
    fn run<T: HostFloat>(self, inputs: Vec<TensorData>) -> TensorData {
        let (grad_b, x) = (slice::<T>(&inputs[0]), slice::<T>(&inputs[1]));
        let out = grad_t_batch(
            grad_b,
            x,
            self.batch,
            self.n,
            self.k,
            self.upper,
            self.transpose,
        );
        TensorData::new(out, self.shape)
    }
}

fn grad_t_batch<T: HostFloat>(
    grad_b: &[T],
    x: &[T],
    batch: usize,
    n: usize,
    k: usize,
    upper: bool,
    transpose: bool,
) -> Vec<T> {
    let mut out = vec![T::from_f64(0.0); batch * n * n];
    if n == 0 {
        return out;
    }
    if super::packed::suits_solve(batch, n, k) {
        let (left, right) = if transpose { (x, grad_b) } else { (grad_b, x) };
        super::packed::negative_triangular_outer(left, right, &mut out, (n, k), upper);
        return out;
    }
    let par = inner_par_rhs(batch, n, k);
    let wide = super::wide::suits(n, k);
    let block = |(out, (g, x)): (&mut [T], (&[T], &[T]))| {
        // Entry (i, j) is −⟨g_i, x_j⟩, or −⟨x_i, g_j⟩ when transposed: out = −left rightᵀ on
        // the triangle only. In column-major views (of row-major storage) that is
        // outᵀ = −right leftᵀ on the opposite triangle, one triangular GEMM.
        let (left, right) = if transpose { (x, g) } else { (g, x) };
        if wide {
            return super::wide::negative_triangular_outer(left, right, out, (n, k), upper);
        }
        let structure = if upper {
            BlockStructure::TriangularLower
        } else {
            BlockStructure::TriangularUpper
        };
        faer_triangular_matmul(
            MatMut::from_column_major_slice_mut(out, n, n),
            structure,
            Accum::Replace,
            MatRef::from_column_major_slice(right, k, n).transpose(),
            BlockStructure::Rectangular,
            MatRef::from_column_major_slice(left, k, n),
            BlockStructure::Rectangular,
            T::from_f64(-1.0),
            par,
        );
    };
    let rows = n * k.max(1);
    if use_pool(batch) {
        out.par_chunks_mut(n * n)
            .zip(grad_b.par_chunks(rows).zip(x.par_chunks(rows)))
            .for_each(block);
    } else {
        out.chunks_mut(n * n)
            .zip(grad_b.chunks(rows).zip(x.chunks(rows)))
            .for_each(block);
    }
    out
}

/// [`super::LinalgBackend::standard_normal_kl`] in one pass over the lower triangles, summed in
/// `f64`.
pub(crate) fn standard_normal_kl<B: Backend>(
    loc: FloatTensor<B>,
    l: FloatTensor<B>,
) -> FloatTensor<B> {
    let (_, n, _) = dims(&l.shape());
    on_host::<B>(vec![loc, l], StandardNormalKl::Value { n })
}

/// [`super::LinalgBackend::standard_normal_kl_grad_factor`] in one pass, in place of `L`.
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

/// [`super::LinalgBackend::column_signed_lower`] in one pass, in place of `x`.
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

/// Batched triangular matmul `op(T) B` (see [`super::LinalgBackend::triangular_matmul`]).
pub(crate) fn triangular_matmul<B: Backend>(
    t: FloatTensor<B>,
    b: FloatTensor<B>,
    upper: bool,
    transpose: bool,
) -> FloatTensor<B> {
    let shape = b.shape();
    let (batch, n, k) = dims(&shape);
    let kernel = TriangularMatmul {
        shape,
        batch,
        n,
        k,
        upper,
        transpose,
    };
    on_host::<B>(vec![t, b], kernel)
}

struct TriangularMatmul {
    shape: Shape,
    batch: usize,
    n: usize,
    k: usize,
    upper: bool,
    transpose: bool,
}

impl HostKernel for TriangularMatmul {
    fn run<T: HostFloat>(self, inputs: Vec<TensorData>) -> TensorData {
        let (tri, rhs) = (slice::<T>(&inputs[0]), slice::<T>(&inputs[1]));
        let (n, k) = (self.n, self.k);
        let mut out = vec![T::from_f64(0.0); self.batch * n * k];
        if n > 0 && k > 0 {
            let par = inner_par_rhs(self.batch, n, k);
            // In column-major views of the row-major blocks: Cᵀ = Bᵀ op(T)ᵀ, where the view of
            // `T` is `Tᵀ`, so `op(T)ᵀ` is the view itself (no transpose) or its transpose; it is
            // lower triangular exactly when `upper != transpose`.
            let structure = if self.upper != self.transpose {
                BlockStructure::TriangularLower
            } else {
                BlockStructure::TriangularUpper
            };
            let (upper, transpose) = (self.upper, self.transpose);
            let wide = super::wide::suits(n, k);
            let block = |(out, (rhs, tri)): (&mut [T], (&[T], &[T]))| {
                if wide {
                    return super::wide::triangular_matmul(tri, rhs, out, (n, k), upper, transpose);
                }
                let tri_view = MatRef::from_column_major_slice(tri, n, n);
                faer_triangular_matmul(
                    MatMut::from_column_major_slice_mut(out, k, n),
                    BlockStructure::Rectangular,
                    Accum::Replace,
                    MatRef::from_column_major_slice(rhs, k, n),
                    BlockStructure::Rectangular,
                    if self.transpose {
                        tri_view.transpose()
                    } else {
                        tri_view
                    },
                    structure,
                    T::from_f64(1.0),
                    par,
                );
            };
            if use_pool(self.batch) {
                out.par_chunks_mut(n * k)
                    .zip(rhs.par_chunks(n * k).zip(tri.par_chunks(n * n)))
                    .for_each(block);
            } else {
                out.chunks_mut(n * k)
                    .zip(rhs.chunks(n * k).zip(tri.chunks(n * n)))
                    .for_each(block);
            }
        }
        TensorData::new(out, self.shape)
    }
}

/// Fused Cholesky backward per matrix (see [`super::LinalgBackend::cholesky_backward`]).
pub(crate) fn cholesky_backward<B: Backend>(
    l: FloatTensor<B>,
    grad_l: FloatTensor<B>,
) -> FloatTensor<B> {
    let (batch, n, _) = dims(&l.shape());
    on_host::<B>(vec![l, grad_l], CholeskyBackward { batch, n })
}

struct CholeskyBackward {
    batch: usize,
    n: usize,
}

impl HostKernel for CholeskyBackward {
    fn run<T: HostFloat>(self, mut inputs: Vec<TensorData>) -> TensorData {
        let mut grad = inputs.pop().expect("gradient");
        let n = self.n;
        if super::packed::suits_backward(self.batch, n) {
            super::packed::cholesky_backward(slice::<T>(&inputs[0]), slice_mut::<T>(&mut grad), n);
        } else if n > 0 {
            let par = inner_par(self.batch, n);
            let l = slice::<T>(&inputs[0]);
            let grads = slice_mut::<T>(&mut grad);
            let block = |(g, l): (&mut [T], &[T])| cholesky_backward_blocked(l, g, n, par);
            if use_pool(self.batch) {
                grads
                    .par_chunks_mut(n * n)
                    .zip(l.par_chunks(n * n))
                    .for_each(block);
            } else {
                grads.chunks_mut(n * n).zip(l.chunks(n * n)).for_each(block);
            }
        }
        grad
    }
}

/// Block size of [`cholesky_backward_blocked`]: its diagonal blocks go through the packed
/// unblocked kernel.
const REVERSE_BLOCK: usize = 64;

/// The Cholesky backward pass of one large matrix by blocks (Murray 2016, §4.2,
/// `chol_blocked_rev`), in place of `g` (`Ḡ` in, the symmetric `Ā` out): about `n³/3`
/// multiply-adds, a quarter of the matrix form's.
///
/// Going over the block rows `J` from the last, with `R = L_{J,<J}`, `D = L_{JJ}`,
/// `B = L_{>J,<J}`, `C = L_{>J,J}` and the same parts of `Ḡ` (overwritten by `M`, the gradient
/// with `A`'s lower triangle as the input):
///
/// `C̄ ← C̄ D⁻¹`, `B̄ ← B̄ − C̄ R`, `D̄ ← D̄ − tril(C̄ᵀ C)`, `D̄ ← unblocked_rev(D, D̄)`,
/// `R̄ ← R̄ − C̄ᵀ B − (D̄ + D̄ᵀ) R`;
///
/// then `Ā = ½(M + Mᵀ)` (so `Ā_ii = M_ii`).
pub(crate) fn cholesky_backward_blocked<T: HostFloat>(l: &[T], g: &mut [T], n: usize, par: Par) {
    use faer::prelude::{Reborrow, ReborrowMut};
    let zero = T::from_f64(0.0);
    for i in 0..n {
        g[i * n + i + 1..(i + 1) * n].fill(zero);
    }
    let factor = MatRef::from_row_major_slice(l, n, n);
    let mut diagonal = [zero; 2 * REVERSE_BLOCK * REVERSE_BLOCK];
    let mut packed_scratch = Vec::new();
    let starts: Vec<usize> = (0..n).step_by(REVERSE_BLOCK).collect();
    for &start in starts.iter().rev() {
        let end = (start + REVERSE_BLOCK).min(n);
        let (width, rest) = (end - start, n - end);
        let r = factor.submatrix(start, 0, width, start);
        let d = factor.submatrix(start, start, width, width);
        let b = factor.submatrix(end, 0, rest, start);
        let c = factor.submatrix(end, start, rest, width);
        let (top, bottom) = MatMut::from_row_major_slice_mut(g, n, n).split_at_row_mut(end);
        let (r_bar, block_row) = top.split_at_row_mut(start).1.split_at_col_mut(start);
        let mut d_bar = block_row.submatrix_mut(0, 0, width, width);
        let mut r_bar = r_bar;
        let (mut b_bar, c_rest) = bottom.split_at_col_mut(start);
        let mut c_bar = c_rest.submatrix_mut(0, 0, rest, width);
        let minus_one = T::from_f64(-1.0);
        // C̄ ← C̄ D⁻¹, i.e. Dᵀ C̄ᵀ = C̄ᵀ.
        solve_upper_triangular_in_place(d.transpose(), c_bar.rb_mut().transpose_mut(), par);
        matmul(b_bar.rb_mut(), Accum::Add, c_bar.rb(), r, minus_one, par);
        faer_triangular_matmul(
            d_bar.rb_mut(),
            BlockStructure::TriangularLower,
            Accum::Add,
            c_bar.rb().transpose(),
            BlockStructure::Rectangular,
            c,
            BlockStructure::Rectangular,
            minus_one,
            par,
        );
        // The diagonal block through the packed unblocked kernel, on contiguous copies.
        let (d_copy, m) = diagonal.split_at_mut(width * width);
        let m = &mut m[..width * width];
        for i in 0..width {
            for k in 0..width {
                d_copy[i * width + k] = d[(i, k)];
                m[i * width + k] = d_bar[(i, k)];
            }
        }
        super::packed::cholesky_backward_lower(d_copy, m, width, &mut packed_scratch);
        // D̄ + D̄ᵀ, then R̄ ← R̄ − C̄ᵀ B − (D̄ + D̄ᵀ) R.
        for i in 0..width {
            for k in 0..width {
                d_bar[(i, k)] = m[i * width + k];
                d_copy[i * width + k] = m[i * width + k] + m[k * width + i];
            }
        }
        matmul(
            r_bar.rb_mut(),
            Accum::Add,
            c_bar.rb().transpose(),
            b,
            minus_one,
            par,
        );
        let symmetric = MatRef::from_row_major_slice(d_copy, width, width);
        matmul(r_bar.rb_mut(), Accum::Add, symmetric, r, minus_one, par);
    }
    let half = T::from_f64(0.5);
    for (ib, jb) in tiles(n) {
        for i in ib..(ib + TILE).min(n) {
            for j in jb..(jb + TILE).min(i) {
                let s = g[i * n + j] * half;
                g[i * n + j] = s;
                g[j * n + i] = s;
            }
        }
    }
}

/// `Ā = ½(S + Sᵀ)`, `S = L⁻ᵀ Φ(Lᵀ tril(Ḡ)) L⁻¹`, computed in place of `g` with one `n × n`
/// work buffer: the matrix form of the backward pass, the tests' reference for the kernels.
#[cfg(test)]
pub(crate) fn cholesky_backward_one<T: HostFloat>(
    l: &[T],
    g: &mut [T],
    work: &mut [T],
    n: usize,
    par: Par,
) {
    let zero = T::from_f64(0.0);
    let half = T::from_f64(0.5);
    // Every faer call works on column-major views, where faer is fastest: the column-major view
    // of the row-major `L` is `Lᵀ`, of the row-major `Ḡ` is `Ḡᵀ`.
    let lt = MatRef::from_column_major_slice(l, n, n);
    // Only tril(Ḡ) is an input of the factorisation.
    for i in 0..n {
        g[i * n + i + 1..(i + 1) * n].fill(zero);
    }
    // work (column-major) = P = Φ(Lᵀ Ḡ)
    matmul(
        MatMut::from_column_major_slice_mut(work, n, n),
        Accum::Replace,
        lt,
        MatRef::from_column_major_slice(g, n, n).transpose(),
        T::from_f64(1.0),
        par,
    );
    for j in 0..n {
        work[j * n..j * n + j].fill(zero);
        work[j * n + j] *= half;
    }
    // work (column-major) = X = L⁻ᵀ P
    solve_upper_triangular_in_place(lt, MatMut::from_column_major_slice_mut(work, n, n), par);
    // g (column-major) = Xᵀ, then Y = L⁻ᵀ Xᵀ = Sᵀ
    transpose_into(work, g, n);
    solve_upper_triangular_in_place(lt, MatMut::from_column_major_slice_mut(g, n, n), par);
    // g = ½ (Y + Yᵀ), the same in either layout
    for (ib, jb) in tiles(n) {
        for i in ib..(ib + TILE).min(n) {
            for j in jb..(jb + TILE).min(i) {
                let s = (g[i * n + j] + g[j * n + i]) * half;
                g[i * n + j] = s;
                g[j * n + i] = s;
            }
        }
    }
}

/// Tile edge of the cache-blocked transposes.
const TILE: usize = 32;

/// Tile corners `(row, col)` on and below the diagonal of an `n × n` matrix.
fn tiles(n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n)
        .step_by(TILE)
        .flat_map(|ib| (0..=ib).step_by(TILE).map(move |jb| (ib, jb)))
}

/// `dst = srcᵀ` for row-major `n × n` matrices, tile by tile.
#[cfg(test)]
fn transpose_into<T: Copy>(src: &[T], dst: &mut [T], n: usize) {
    for ib in (0..n).step_by(TILE) {
        for jb in (0..n).step_by(TILE) {
            for i in ib..(ib + TILE).min(n) {
                for j in jb..(jb + TILE).min(n) {
                    dst[j * n + i] = src[i * n + j];
                }
            }
        }
    }
}

/// Copies the strict lower triangle onto the upper one (`lower_to_upper`) or back, tile by tile.
fn mirror<T: Copy>(block: &mut [T], n: usize, lower_to_upper: bool) {
    for (ib, jb) in tiles(n) {
        for i in ib..(ib + TILE).min(n) {
            for j in jb..(jb + TILE).min(i) {
                if lower_to_upper {
                    block[j * n + i] = block[i * n + j];
                } else {
                    block[i * n + j] = block[j * n + i];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{HostFloat, exp_f32, ln_f32};

    /// The blocked reverse mode against the matrix form, across block boundaries.
    #[test]
    fn blocked_backward_matches_matrix_form() {
        use super::{cholesky_backward_blocked, cholesky_backward_one};
        use faer::Par;
        let mut state = 3u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for n in [1, 63, 64, 65, 130, 200] {
            // A well-conditioned lower-triangular factor and a random upstream gradient.
            let l: Vec<f64> = (0..n * n)
                .map(|e| {
                    let (i, k) = (e / n, e % n);
                    if k > i {
                        0.0
                    } else if k == i {
                        1.5 + next()
                    } else {
                        next() / n as f64
                    }
                })
                .collect();
            let grad: Vec<f64> = (0..n * n).map(|_| next()).collect();
            let mut blocked = grad.clone();
            cholesky_backward_blocked(&l, &mut blocked, n, Par::Seq);
            let mut want = grad;
            let mut work = vec![0.0; n * n];
            cholesky_backward_one(&l, &mut want, &mut work, n, Par::Seq);
            for (e, (b, w)) in blocked.iter().zip(&want).enumerate() {
                assert!(
                    (b - w).abs() <= 1e-10 * (1.0 + w.abs()),
                    "n={n} entry {e}: {b} vs {w}"
                );
            }
        }
    }

    /// Against the `f64` exponential on a dense grid over the whole normal range, and the edges.
    #[test]
    fn ln_f32_within_two_ulp_and_softplus_accurate() {
        let ulp = |v: f64| f64::from(f32::EPSILON) * 2f64.powi(v.abs().log2().floor() as i32);
        // Every 97th f32 from the smallest normal to the largest finite value.
        let mut bits = f32::MIN_POSITIVE.to_bits();
        while bits < f32::MAX.to_bits() {
            let x = f32::from_bits(bits);
            let want = f64::from(x).ln();
            let got = f64::from(ln_f32(x));
            assert!(
                (got - want).abs() <= 2.0 * ulp(want),
                "ln({x}) = {got}, want {want}"
            );
            bits += 97;
        }
        assert_eq!(ln_f32(1.0), 0.0);
        assert_eq!(ln_f32(0.0), f32::NEG_INFINITY);
        assert_eq!(ln_f32(f32::INFINITY), f32::INFINITY);
        assert!(ln_f32(-1.0).is_nan() && ln_f32(f32::NAN).is_nan());
        // softplus against the f64 formula, relative error a few ulp down to tiny values.
        for i in 0..=20_000 {
            let x = (-80.0 + 120.0 * f64::from(i) / 20_000.0) as f32;
            let got = f64::from(x.softplus());
            let want = f64::from(x).max(0.0) + (-f64::from(x).abs()).exp().ln_1p();
            assert!(
                (got - want).abs() <= 4.0 * f64::from(f32::EPSILON) * want,
                "softplus({x}) = {got}, want {want}"
            );
        }
        assert!(f32::NAN.softplus().is_nan());
    }

    #[test]
    fn exp_f32_within_two_ulp() {
        let mut worst = 0.0f64;
        for i in 0..=2_000_000 {
            let x = -87.3 + 176.0 * f64::from(i) / 2e6;
            let x = x as f32;
            let want = f64::from(x).exp();
            let got = f64::from(exp_f32(x));
            let ulp = f64::from(f32::EPSILON) * want.abs();
            worst = worst.max((got - want).abs() / ulp);
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(-100.0), 0.0);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert!(exp_f32(f32::NAN).is_nan());
    }

    #[test]
    fn exp_nonpositive_f32_within_two_ulp() {
        use super::exp_nonpositive_f32;
        let mut worst = 0.0f64;
        for i in 0..=2_000_000 {
            let x = (-87.3 * f64::from(i) / 2e6) as f32;
            let want = f64::from(x).exp();
            let got = f64::from(exp_nonpositive_f32(x));
            let ulp = f64::from(f32::EPSILON) * want.abs();
            worst = worst.max((got - want).abs() / ulp);
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(exp_nonpositive_f32(0.0), 1.0);
        assert_eq!(exp_nonpositive_f32(-0.0), 1.0);
        assert_eq!(exp_nonpositive_f32(-100.0), 0.0);
        assert_eq!(exp_nonpositive_f32(f32::NEG_INFINITY), 0.0);
        assert!(exp_nonpositive_f32(f32::NAN).is_nan());
    }
}
