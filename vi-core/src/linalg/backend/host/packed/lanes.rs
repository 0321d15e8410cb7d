//! The packed layout: [`LANES`] matrices interleaved entry by entry (one [`Lanes`] per entry of
//! a packed lower triangle or of packed rows), the dispatch macros that compile each kernel a
//! second time for AVX2 with FMA and pick the width, and the iteration over the groups of a batch
//! (over rayon's pool when that pays).

use crate::host::{HostFloat, use_pool};
use rayon::prelude::*;
use std::borrow::Cow;
use std::mem::MaybeUninit;

/// Matrices per packed group of a batch (one AVX2 register of `f32`, two of `f64`).
pub(crate) const LANES: usize = 8;

/// One packed entry: the same entry of `W` matrices.
pub(super) type Lanes<T, const W: usize> = [T; W];

/// Offset of row `i` in a packed lower triangle.
#[inline(always)]
pub(super) fn row(i: usize) -> usize {
    i * (i + 1) / 2
}

/// `acc ← acc − x y` lane by lane, fused when `FMA`.
#[inline(always)]
pub(super) fn sub_mul<T: HostFloat, const FMA: bool, const W: usize>(
    acc: &mut Lanes<T, W>,
    x: &Lanes<T, W>,
    y: &Lanes<T, W>,
) {
    for l in 0..W {
        acc[l] = if FMA {
            (-x[l]).fused_mul_add(y[l], acc[l])
        } else {
            acc[l] - x[l] * y[l]
        };
    }
}

/// Defines `$name`, which runs the kernel `$kernel::<T, FMA>` compiled for AVX2 with FMA when the
/// CPU has them and for the build's baseline target otherwise.
macro_rules! dispatch {
    ($(#[$doc:meta])* $vis:vis fn $name:ident => $kernel:ident($($arg:ident: $ty:ty),*)) => {
        $(#[$doc])*
        $vis fn $name<T: HostFloat, const W: usize>($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn simd<T: HostFloat, const W: usize>($($arg: $ty),*) {
                    $kernel::<T, true, W>($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has AVX2 and FMA, checked just above.
                    return unsafe { simd::<T, W>($($arg),*) };
                }
            }
            $kernel::<T, false, W>($($arg),*)
        }
    };
}
pub(super) use dispatch;

/// Calls `$f::<T, W>` with `W = 1` for a single matrix and `W = LANES` otherwise: a single matrix
/// runs the same operations in the same order as one lane of a group, so a batch gives the
/// same bits as its matrices one by one.
macro_rules! by_width {
    ($count:expr, $f:ident::<$t:ty>($($arg:expr),*)) => {
        if $count == 1 {
            $f::<$t, 1>($($arg),*)
        } else {
            $f::<$t, LANES>($($arg),*)
        }
    };
}
pub(super) use by_width;

/// Runs `group` on every group of up to [`LANES`] consecutive blocks of `block_len` entries of
/// `blocks`, with the matching blocks of each of `others` (slice and block length) and two packed
/// work buffers of `buffer_lens` entries, over rayon's pool when that pays.
pub(super) fn for_each_group<T: HostFloat, S: Send, const N: usize, const W: usize>(
    (blocks, block_len): (&mut [S], usize),
    others: [(&[T], usize); N],
    buffer_lens: (usize, usize),
    group: impl Fn(&mut [S], [&[T]; N], &mut [Lanes<T, W>], &mut [Lanes<T, W>]) + Sync,
) {
    let size = W * block_len;
    let buffers = || {
        let zero = [T::from_f64(0.0); W];
        (vec![zero; buffer_lens.0], vec![zero; buffer_lens.1])
    };
    let chunks = |index: usize| {
        others.map(|(other, len)| {
            let start = index * W * len;
            &other[start..(start + W * len).min(other.len())]
        })
    };
    if use_pool(blocks.len().div_ceil(size)) {
        blocks
            .par_chunks_mut(size)
            .enumerate()
            .for_each_init(buffers, |(first, second), (index, chunk)| {
                group(chunk, chunks(index), first, second)
            });
    } else {
        let (mut first, mut second) = buffers();
        for (index, chunk) in blocks.chunks_mut(size).enumerate() {
            group(chunk, chunks(index), &mut first, &mut second);
        }
    }
}

/// The blocks of a group (of `len` entries each) as exactly [`W`] blocks: borrowed when the
/// group is full, else copied and padded with identity matrices of order `identity` (or zeros
/// when `None`).
pub(super) fn full_group<T: HostFloat, const W: usize>(
    blocks: &[T],
    len: usize,
    identity: Option<usize>,
) -> Cow<'_, [T]> {
    if blocks.len() == W * len {
        return Cow::Borrowed(blocks);
    }
    let mut padded = blocks.to_vec();
    padded.resize(W * len, T::from_f64(0.0));
    if let Some(n) = identity {
        for block in padded[blocks.len()..].chunks_mut(len) {
            for i in 0..n {
                block[i * n + i] = T::from_f64(1.0);
            }
        }
    }
    Cow::Owned(padded)
}

/// The lane slices of a full group.
pub(super) fn lanes_of<T, const W: usize>(blocks: &[T]) -> [&[T]; W] {
    let len = blocks.len() / W;
    std::array::from_fn(|lane| &blocks[lane * len..(lane + 1) * len])
}

/// What the missing lanes of a short group hold.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Padding {
    /// Identity matrices (factors and inputs to factorise).
    Identity,
    /// Zeros (gradients).
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    Zero,
}

/// A place an unpacked entry is written to: initialised memory or not (a fresh output buffer is
/// written entry by entry without being zeroed first).
///
/// # Safety
/// Implementors have `T`'s size and alignment, so that a slice of them can be written through a
/// `*mut T` (the tile transposes do).
pub(super) unsafe trait Slot<T>: Send {
    fn set(&mut self, value: T);
}

// SAFETY: `T` is laid out as `T`.
unsafe impl<T: HostFloat> Slot<T> for T {
    #[inline(always)]
    fn set(&mut self, value: T) {
        *self = value;
    }
}

// SAFETY: `MaybeUninit<T>` has the size and alignment of `T`.
unsafe impl<T: HostFloat> Slot<T> for MaybeUninit<T> {
    #[inline(always)]
    fn set(&mut self, value: T) {
        self.write(value);
    }
}
