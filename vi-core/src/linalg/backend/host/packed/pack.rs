//! Moving a group's matrices into and out of the packed layout: lower triangles (optionally
//! transposed or reversed) and rows, a `W × W` tile at a time — transposed in AVX registers
//! where the CPU has AVX2 — and entry by entry at the edges.

use super::lanes::{Lanes, Padding, Slot, full_group, lanes_of, row};
use crate::host::HostFloat;

/// Moves one `W × W` tile into the packed layout: lane `l`'s run of `W` consecutive source
/// entries ending (`descending`) or starting at `at` becomes lane `l` of the packed entries
/// `dest(0), …, dest(W − 1)` (the first packed entry takes the run's entry at `at`). With `avx`
/// (the CPU has AVX2) an 8 × 8 tile is transposed in registers.
#[inline(always)]
pub(super) fn gather_tile<T: HostFloat, const W: usize>(
    lanes: &[&[T]; W],
    (at, descending): (usize, bool),
    dest: impl Fn(usize) -> usize,
    packed: &mut [Lanes<T, W>],
    avx: bool,
) {
    let low = if descending { at + 1 - W } else { at };
    let runs: [&[T; W]; W] =
        std::array::from_fn(|l| lanes[l][low..low + W].try_into().expect("W entries"));
    let entry = |s: usize| dest(if descending { W - 1 - s } else { s });
    #[cfg(target_arch = "x86_64")]
    if avx && W == 8 {
        let targets: [usize; 8] = std::array::from_fn(entry);
        assert!(targets.iter().all(|&t| t < packed.len()));
        let base = packed.as_mut_ptr();
        // SAFETY: `avx` says the CPU has AVX2; every run holds W = 8 entries and every target
        // indexes a packed entry of W = 8 values (checked just above), in a buffer the runs are
        // not part of.
        unsafe {
            avx::transpose8::<T>(
                std::array::from_fn(|l| runs[l].as_ptr()),
                targets.map(|t| base.add(t).cast::<T>()),
            )
        };
        return;
    }
    let _ = avx;
    for s in 0..W {
        packed[entry(s)] = std::array::from_fn(|l| runs[l][s]);
    }
}

/// The inverse of [`gather_tile`] for ascending runs: packed entries `first..first + W` become
/// the runs of `W` consecutive entries starting at `at` of each lane's block.
#[inline(always)]
pub(super) fn scatter_tile<T: HostFloat, S: Slot<T>, const W: usize>(
    packed: &[Lanes<T, W>],
    first: usize,
    (blocks, block_len): (&mut [S], usize),
    at: usize,
    avx: bool,
) {
    let tile: &[Lanes<T, W>; W] = packed[first..first + W].try_into().expect("W entries");
    #[cfg(target_arch = "x86_64")]
    if avx && W == 8 && blocks.len() == W * block_len {
        assert!(at + W <= block_len);
        let base = blocks.as_mut_ptr();
        // SAFETY: `avx` says the CPU has AVX2; each of the W = 8 blocks has room for W entries
        // from `at` (checked just above), and a `Slot<T>` is laid out as `T` (its contract).
        unsafe {
            avx::transpose8::<T>(
                std::array::from_fn(|e| tile[e].as_ptr()),
                std::array::from_fn(|l| base.add(l * block_len + at).cast::<T>()),
            )
        };
        return;
    }
    let _ = avx;
    for (l, block) in blocks.chunks_exact_mut(block_len).enumerate() {
        for (e, value) in block[at..at + W].iter_mut().enumerate() {
            value.set(tile[e][l]);
        }
    }
}

/// Calls `tile` with the starts of `W`-long tiles covering `0..len` — the last one overlapping
/// its neighbour when `W` does not divide `len` — and returns where the entries no tile covers
/// begin: `len`, or `0` when `len < W`.
#[inline(always)]
pub(super) fn for_each_tile<const W: usize>(len: usize, mut tile: impl FnMut(usize)) -> usize {
    if len < W {
        return 0;
    }
    let mut start = 0;
    while start < len {
        tile(start.min(len - W));
        start += W;
    }
    len
}

/// Whether the CPU has AVX2 (for the in-register tile transposes).
pub(super) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// 8 × 8 transposes in AVX registers.
#[cfg(target_arch = "x86_64")]
mod avx {
    use super::HostFloat;
    use burn::tensor::DType;
    use std::arch::x86_64::*;

    /// `to[c][r] = from[r][c]` for `r, c < 8`: eight runs of eight values (`f32` or `f64`) read
    /// from `from`, eight written to `to`.
    ///
    /// # Safety
    /// The CPU has AVX2; each pointer addresses eight readable (`from`) or writable (`to`)
    /// values of type `T`, and the two sets do not overlap.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn transpose8<T: HostFloat>(from: [*const T; 8], to: [*mut T; 8]) {
        // SAFETY: forwarded from the caller; `T` is `f32` or `f64` as the dtype says.
        unsafe {
            match T::dtype() {
                DType::F32 => transpose8_f32(from.map(|p| p.cast()), to.map(|p| p.cast())),
                DType::F64 => transpose8_f64(from.map(|p| p.cast()), to.map(|p| p.cast())),
                other => unreachable!("no host kernels for {other:?}"),
            }
        }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn transpose8_f32(from: [*const f32; 8], to: [*mut f32; 8]) {
        // SAFETY: eight readable and eight writable `f32` per pointer (the caller's contract).
        unsafe {
            let r = from.map(|p| _mm256_loadu_ps(p));
            // Pairs interleaved within 128-bit halves, then quadruples, then the halves swapped.
            let t = [
                _mm256_unpacklo_ps(r[0], r[1]),
                _mm256_unpackhi_ps(r[0], r[1]),
                _mm256_unpacklo_ps(r[2], r[3]),
                _mm256_unpackhi_ps(r[2], r[3]),
                _mm256_unpacklo_ps(r[4], r[5]),
                _mm256_unpackhi_ps(r[4], r[5]),
                _mm256_unpacklo_ps(r[6], r[7]),
                _mm256_unpackhi_ps(r[6], r[7]),
            ];
            let s = [
                _mm256_shuffle_ps::<0x44>(t[0], t[2]),
                _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
                _mm256_shuffle_ps::<0x44>(t[1], t[3]),
                _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
                _mm256_shuffle_ps::<0x44>(t[4], t[6]),
                _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
                _mm256_shuffle_ps::<0x44>(t[5], t[7]),
                _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
            ];
            for c in 0..4 {
                _mm256_storeu_ps(to[c], _mm256_permute2f128_ps::<0x20>(s[c], s[c + 4]));
                _mm256_storeu_ps(to[c + 4], _mm256_permute2f128_ps::<0x31>(s[c], s[c + 4]));
            }
        }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn transpose8_f64(from: [*const f64; 8], to: [*mut f64; 8]) {
        // SAFETY: eight readable and eight writable `f64` per pointer (the caller's contract);
        // the 4 × 4 quarters below stay inside them.
        unsafe {
            for rows in [0, 4] {
                for columns in [0, 4] {
                    let r: [__m256d; 4] =
                        std::array::from_fn(|k| _mm256_loadu_pd(from[rows + k].add(columns)));
                    let (lo01, hi01) = (
                        _mm256_unpacklo_pd(r[0], r[1]),
                        _mm256_unpackhi_pd(r[0], r[1]),
                    );
                    let (lo23, hi23) = (
                        _mm256_unpacklo_pd(r[2], r[3]),
                        _mm256_unpackhi_pd(r[2], r[3]),
                    );
                    let out = [
                        _mm256_permute2f128_pd::<0x20>(lo01, lo23),
                        _mm256_permute2f128_pd::<0x20>(hi01, hi23),
                        _mm256_permute2f128_pd::<0x31>(lo01, lo23),
                        _mm256_permute2f128_pd::<0x31>(hi01, hi23),
                    ];
                    for (k, value) in out.into_iter().enumerate() {
                        _mm256_storeu_pd(to[columns + k].add(rows), value);
                    }
                }
            }
        }
    }
}

/// Packs the lower triangles of the row-major `n × n` blocks of a group (at most `W`; missing
/// lanes get `padding`). With `transpose`, packs `Bᵀ`; with `reverse`, entry `(i, m)`
/// comes from `(n − 1 − i, n − 1 − m)` (the lower triangle of the reversed upper one).
pub(super) fn pack_lower<T: HostFloat, const W: usize>(
    blocks: &[T],
    n: usize,
    (transpose, reverse): (bool, bool),
    padding: Padding,
    packed: &mut [Lanes<T, W>],
) {
    let identity = (padding == Padding::Identity).then_some(n);
    let group = full_group::<T, W>(blocks, n * n, identity);
    // Entry (i, m) is at `start + i·row_step + m·column_step` of its block.
    let n_signed = n as isize;
    let (row_step, column_step) = if transpose {
        (1, n_signed)
    } else {
        (n_signed, 1)
    };
    let (start, row_step, column_step) = if reverse {
        (n_signed * n_signed - 1, -row_step, -column_step)
    } else {
        (0, row_step, column_step)
    };
    let at =
        |i: usize, m: usize| (start + i as isize * row_step + m as isize * column_step) as usize;
    let lanes = lanes_of(&group);
    let descending = reverse;
    let avx = has_avx2();
    if W > 1 && !transpose {
        // Runs along the rows: row i's entries m..m + W are consecutive in every lane.
        for i in 0..n {
            let m = for_each_tile::<W>(i + 1, |m| {
                gather_tile(
                    &lanes,
                    (at(i, m), descending),
                    |e| row(i) + m + e,
                    packed,
                    avx,
                );
            });
            for m in m..=i {
                packed[row(i) + m] = std::array::from_fn(|l| lanes[l][at(i, m)]);
            }
        }
    } else if W > 1 {
        // Runs along the columns: column m's entries i..i + W are consecutive in every lane.
        for m in 0..n {
            let i = m + for_each_tile::<W>(n - m, |offset| {
                let i = m + offset;
                gather_tile(
                    &lanes,
                    (at(i, m), descending),
                    |e| row(i + e) + m,
                    packed,
                    avx,
                );
            });
            for i in i..n {
                packed[row(i) + m] = std::array::from_fn(|l| lanes[l][at(i, m)]);
            }
        }
    } else {
        for i in 0..n {
            for (m, entry) in packed[row(i)..=row(i) + i].iter_mut().enumerate() {
                *entry = std::array::from_fn(|l| lanes[l][at(i, m)]);
            }
        }
    }
}

/// Packs the row-major `n × k` blocks of a group row by row (rows in reverse order when
/// `reverse`; missing lanes are zero).
pub(super) fn pack_rows<T: HostFloat, const W: usize>(
    blocks: &[T],
    (n, k): (usize, usize),
    reverse: bool,
    packed: &mut [Lanes<T, W>],
) {
    let group = full_group::<T, W>(blocks, n * k, None);
    let lanes = lanes_of(&group);
    let avx = has_avx2();
    for i in 0..n {
        let source = if reverse { n - 1 - i } else { i };
        let mut c = 0;
        if W > 1 {
            c = for_each_tile::<W>(k, |c| {
                let at = (source * k + c, false);
                gather_tile(&lanes, at, |e| i * k + c + e, packed, avx);
            });
        }
        for c in c..k {
            packed[i * k + c] = std::array::from_fn(|l| lanes[l][source * k + c]);
        }
    }
}

/// The inverse of [`pack_rows`] for the lanes `blocks` holds.
pub(super) fn unpack_rows<T: HostFloat, const W: usize>(
    packed: &[Lanes<T, W>],
    (n, k): (usize, usize),
    reverse: bool,
    blocks: &mut [T],
) {
    let full = W > 1 && blocks.len() == W * n * k;
    let avx = has_avx2();
    for i in 0..n {
        let target = if reverse { n - 1 - i } else { i };
        let mut c = 0;
        if full {
            c = for_each_tile::<W>(k, |c| {
                scatter_tile(
                    packed,
                    i * k + c,
                    (&mut *blocks, n * k),
                    target * k + c,
                    avx,
                );
            });
        }
        for (lane, block) in blocks.chunks_exact_mut(n * k).enumerate() {
            for c in c..k {
                block[target * k + c] = packed[i * k + c][lane];
            }
        }
    }
}
