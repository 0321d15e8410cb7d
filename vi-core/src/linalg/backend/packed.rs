//! Batch-packed CPU kernels for many small matrices, the common VI case (one factorisation per
//! data point, output or particle).
//!
//! [`LANES`] matrices are interleaved entry by entry: entry `e` of a packed lower triangle (row
//! `i`, column `k ≤ i` at `e = i(i + 1)/2 + k`) or of packed rows (`e = i k + c`) is one
//! `[T; LANES]` holding that entry of every matrix. The textbook scalar algorithm then runs on
//! `LANES` matrices at once, each arithmetic step one SIMD instruction across the batch, with no
//! per-matrix call overhead and the triangle alone in cache. A short last group is padded with
//! identity matrices (or zeros), whose results are dropped.
//!
//! On x86-64 the kernels are compiled a second time for AVX2 with FMA and picked at run time, so a
//! binary built for the baseline target still uses 256-bit fused multiply-adds where the CPU has
//! them.

use super::host::HostFloat;
use rayon::prelude::*;
use std::borrow::Cow;
use std::mem::MaybeUninit;

/// Matrices per packed group of a batch (one AVX2 register of `f32`, two of `f64`).
pub(crate) const LANES: usize = 8;

/// Largest order the packed kernels take for any batch, a single matrix included (then with one
/// lane); larger orders go through them only in whole groups and where measured faster
/// ([`suits_factor`], [`suits_backward`]).
pub(crate) const MAX_ORDER: usize = 64;

/// Whether the packed kernels should handle a batch of `batch` matrices of order `n` (a single
/// matrix runs them with one lane, so that batched and one-by-one results agree to the bit).
pub(crate) fn suits(batch: usize, n: usize) -> bool {
    batch >= 1 && (1..=MAX_ORDER).contains(&n)
}

/// Whether the packed factorisation should handle a batch of `batch` matrices of order `n`: as
/// [`suits`], and for larger orders when the batch fills at least one group — there eight
/// matrices at a time beat faer's blocked kernels one at a time up to order 512 (measured on
/// AVX2: 2× at 8 × 256 in f32, 1.5× at 8 × 512; at 1024 in f64 faer is ahead). A single matrix
/// of such an order still goes to faer, so batched and one-by-one factors of order above 64
/// agree to rounding, not to the bit.
pub(crate) fn suits_factor(batch: usize, n: usize) -> bool {
    suits(batch, n) || (batch >= LANES && n <= 512)
}

/// [`suits_factor`] for the reverse mode, where the packed kernel beats faer's blocked one on
/// whole groups up to order 128 (1.3–1.5× at 256 × 128; at order 256 it is 1.1–1.3× slower).
pub(crate) fn suits_backward(batch: usize, n: usize) -> bool {
    suits(batch, n) || (batch >= LANES && n <= 128)
}

/// Whether the packed kernels should handle a batch of `batch` triangular solves of order `n`
/// with `k` right-hand sides (many right-hand sides favour faer's per-matrix blocked solve).
pub(crate) fn suits_solve(batch: usize, n: usize, k: usize) -> bool {
    suits(batch, n) && (1..=MAX_ORDER).contains(&k)
}

/// One packed entry: the same entry of `W` matrices.
type Lanes<T, const W: usize> = [T; W];

/// Offset of row `i` in a packed lower triangle.
#[inline(always)]
fn row(i: usize) -> usize {
    i * (i + 1) / 2
}

/// `acc ← acc − x y` lane by lane, fused when `FMA`.
#[inline(always)]
fn sub_mul<T: HostFloat, const FMA: bool, const W: usize>(
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
    ($(#[$doc:meta])* fn $name:ident => $kernel:ident($($arg:ident: $ty:ty),*)) => {
        $(#[$doc])*
        fn $name<T: HostFloat, const W: usize>($($arg: $ty),*) {
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

/// Runs `group` on every group of up to [`LANES`] consecutive blocks of `block_len` entries of
/// `blocks`, with the matching blocks of each of `others` (slice and block length) and two packed
/// work buffers of `buffer_lens` entries, over rayon's pool when that pays.
fn for_each_group<T: HostFloat, S: Send, const N: usize, const W: usize>(
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
    if super::host::use_pool(blocks.len().div_ceil(size)) {
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
fn full_group<T: HostFloat, const W: usize>(
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
fn lanes_of<T, const W: usize>(blocks: &[T]) -> [&[T]; W] {
    let len = blocks.len() / W;
    std::array::from_fn(|lane| &blocks[lane * len..(lane + 1) * len])
}

/// What the missing lanes of a short group hold.
#[derive(Clone, Copy, PartialEq)]
enum Padding {
    /// Identity matrices (factors and inputs to factorise).
    Identity,
    /// Zeros (gradients).
    Zero,
}

/// Moves one `W × W` tile into the packed layout: lane `l`'s run of `W` consecutive source
/// entries ending (`descending`) or starting at `at` becomes lane `l` of the packed entries
/// `dest(0), …, dest(W − 1)` (the first packed entry takes the run's entry at `at`). With `avx`
/// (the CPU has AVX2) an 8 × 8 tile is transposed in registers.
#[inline(always)]
fn gather_tile<T: HostFloat, const W: usize>(
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
fn scatter_tile<T: HostFloat, S: Slot<T>, const W: usize>(
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
fn for_each_tile<const W: usize>(len: usize, mut tile: impl FnMut(usize)) -> usize {
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
fn has_avx2() -> bool {
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
fn pack_lower<T: HostFloat, const W: usize>(
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
fn pack_rows<T: HostFloat, const W: usize>(
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
fn unpack_rows<T: HostFloat, const W: usize>(
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

/// Batched Cholesky of the row-major blocks of `a` into `out` (see
/// [`super::LinalgBackend::cholesky`]'s contract): `L` on and below the diagonal, zero above, and
/// rows `j..n` NaN in a matrix whose pivot `j` is not positive.
pub(crate) fn cholesky_into<T: HostFloat>(a: &[T], out: &mut [MaybeUninit<T>], n: usize) {
    by_width!(a.len() / (n * n).max(1), cholesky_into_w::<T>(a, out, n))
}

fn cholesky_into_w<T: HostFloat, const W: usize>(a: &[T], out: &mut [MaybeUninit<T>], n: usize) {
    let len = n * n;
    for_each_group::<T, _, _, W>(
        (out, len),
        [(a, len)],
        (row(n), 0),
        |chunk, [a], packed, _| {
            pack_lower(a, n, (false, false), Padding::Identity, packed);
            factor(packed, n);
            unpack_factor(packed, n, chunk);
        },
    );
}

/// [`cholesky_into`] in place.
pub(crate) fn cholesky<T: HostFloat>(blocks: &mut [T], n: usize) {
    by_width!(blocks.len() / (n * n).max(1), cholesky_w::<T>(blocks, n))
}

fn cholesky_w<T: HostFloat, const W: usize>(blocks: &mut [T], n: usize) {
    let len = n * n;
    for_each_group::<T, _, _, W>((blocks, len), [], (row(n), 0), |chunk, [], packed, _| {
        pack_lower(chunk, n, (false, false), Padding::Identity, packed);
        factor(packed, n);
        unpack_factor(packed, n, chunk);
    });
}

dispatch! {
    /// Factorises a packed group in place.
    fn factor => factor_lanes(packed: &mut [Lanes<T, W>], n: usize)
}

/// Left-looking Cholesky on a packed group: for column `j`,
/// `L_jj = √(A_jj − Σ_{k<j} L_jk²)` and `L_ij = (A_ij − Σ_{k<j} L_ik L_jk) / L_jj` for `i > j`.
/// Columns go in pairs and rows below them in blocks (a register tile), so that each `L_ik`
/// loaded serves two sums and each `L_jk` several. A pivot that is not positive (or NaN) becomes
/// NaN, which then runs down that lane's later columns.
#[inline(always)]
fn factor_lanes<T: HostFloat, const FMA: bool, const W: usize>(
    packed: &mut [Lanes<T, W>],
    n: usize,
) {
    let mut j = 0;
    while j + 2 <= n {
        let (inverse, below, inverse_next) = diagonal_pair::<T, FMA, W>(packed, j);
        let columns = ColumnPair {
            j,
            n,
            inverse,
            inverse_next,
            below,
        };
        // Two running sums per row: eight rows' worth of f32 lanes (four of f64) fill the
        // sixteen AVX2 registers.
        let mut i = j + 2;
        if size_of::<T>() <= 4 {
            i = column_pair::<T, FMA, 4, W>(packed, &columns, i);
        }
        i = column_pair::<T, FMA, 2, W>(packed, &columns, i);
        column_pair::<T, FMA, 1, W>(packed, &columns, i);
        j += 2;
    }
    if j < n {
        pivot::<T, FMA, W>(packed, j);
    }
}

/// The 2 × 2 diagonal block of columns `j` and `j + 1` in place: `L_jj`, `L_{j+1,j}` and
/// `L_{j+1,j+1}` (NaN from a pivot that is not positive on). The three sums over `k < j` run
/// together, each split over even and odd `k`, so that six independent multiply-adds fill the
/// pipeline instead of one dependent chain per entry. Returns `1 / L_jj`, `L_{j+1,j}` and
/// `1 / L_{j+1,j+1}`.
#[inline(always)]
fn diagonal_pair<T: HostFloat, const FMA: bool, const W: usize>(
    packed: &mut [Lanes<T, W>],
    j: usize,
) -> (Lanes<T, W>, Lanes<T, W>, Lanes<T, W>) {
    let zero = [T::from_f64(0.0); W];
    let (rj, rj1) = (row(j), row(j + 1));
    let mut even = [packed[rj + j], packed[rj1 + j], packed[rj1 + j + 1]];
    let mut odd = [zero; 3];
    {
        let (x, y) = (&packed[rj..rj + j], &packed[rj1..rj1 + j]);
        let accumulate = |sums: &mut [Lanes<T, W>; 3], x: &Lanes<T, W>, y: &Lanes<T, W>| {
            sub_mul::<T, FMA, W>(&mut sums[0], x, x);
            sub_mul::<T, FMA, W>(&mut sums[1], y, x);
            sub_mul::<T, FMA, W>(&mut sums[2], y, y);
        };
        let (x_pairs, y_pairs) = (x.chunks_exact(2), y.chunks_exact(2));
        if let (Some(x), Some(y)) = (x_pairs.remainder().first(), y_pairs.remainder().first()) {
            accumulate(&mut odd, x, y);
        }
        for (x, y) in x_pairs.zip(y_pairs) {
            accumulate(&mut even, &x[0], &y[0]);
            accumulate(&mut odd, &x[1], &y[1]);
        }
    }
    let [mut diagonal, mut below, mut next] = even;
    for l in 0..W {
        diagonal[l] += odd[0][l];
        below[l] += odd[1][l];
        next[l] += odd[2][l];
    }
    let inverse = positive_root(&mut diagonal);
    scale(&mut below, &inverse);
    sub_mul::<T, FMA, W>(&mut next, &below, &below);
    let inverse_next = positive_root(&mut next);
    packed[rj + j] = diagonal;
    packed[rj1 + j] = below;
    packed[rj1 + j + 1] = next;
    (inverse, below, inverse_next)
}

/// `x ← √x` lane by lane, NaN where `x` is not positive; returns `1 / √x`.
#[inline(always)]
fn positive_root<T: HostFloat, const W: usize>(x: &mut Lanes<T, W>) -> Lanes<T, W> {
    let (zero, one, nan) = (T::from_f64(0.0), T::from_f64(1.0), T::from_f64(f64::NAN));
    let mut inverse = [zero; W];
    for l in 0..W {
        x[l] = if x[l] > zero { x[l].sqrt() } else { nan };
        inverse[l] = one / x[l];
    }
    inverse
}

/// `L_jj = √(A_jj − Σ_{k<j} L_jk²)` in place (NaN where the pivot is not positive); returns
/// `1 / L_jj`.
#[inline(always)]
fn pivot<T: HostFloat, const FMA: bool, const W: usize>(
    packed: &mut [Lanes<T, W>],
    j: usize,
) -> Lanes<T, W> {
    let rj = row(j);
    let mut pivot = packed[rj + j];
    for x in &packed[rj..rj + j] {
        sub_mul::<T, FMA, W>(&mut pivot, x, x);
    }
    let inverse = positive_root(&mut pivot);
    packed[rj + j] = pivot;
    inverse
}

/// `x ← x ⊙ factor` lane by lane.
#[inline(always)]
fn scale<T: HostFloat, const W: usize>(x: &mut Lanes<T, W>, factor: &Lanes<T, W>) {
    for l in 0..W {
        x[l] *= factor[l];
    }
}

/// Columns `j` and `j + 1` once their diagonal block is done: the inverse pivots and
/// `L_{j+1,j}`.
struct ColumnPair<T, const W: usize> {
    j: usize,
    n: usize,
    inverse: Lanes<T, W>,
    inverse_next: Lanes<T, W>,
    below: Lanes<T, W>,
}

/// Columns `j` and `j + 1` of `L` in rows `first..`, `R` rows at a time while `R` rows remain;
/// returns the first row left. The sums over `k < j` run together; column `j + 1` then takes
/// its `k = j` term from the new `L_ij`.
#[inline(always)]
fn column_pair<T: HostFloat, const FMA: bool, const R: usize, const W: usize>(
    packed: &mut [Lanes<T, W>],
    columns: &ColumnPair<T, W>,
    first: usize,
) -> usize {
    let ColumnPair { j, n, .. } = *columns;
    let (rj, rj1) = (row(j), row(j + 1));
    let mut i = first;
    while i + R <= n {
        let starts: [usize; R] = std::array::from_fn(|r| row(i + r));
        let mut sums: [[Lanes<T, W>; 2]; R] =
            std::array::from_fn(|r| [packed[starts[r] + j], packed[starts[r] + j + 1]]);
        {
            let (y0, y1) = (&packed[rj..rj + j], &packed[rj1..rj1 + j]);
            let xs: [&[Lanes<T, W>]; R] =
                std::array::from_fn(|r| &packed[starts[r]..starts[r] + j]);
            for x in &xs {
                assert_eq!(x.len(), y0.len());
            }
            for k in 0..y0.len() {
                let (y0, y1) = (y0[k], y1[k]);
                for (sum, x) in sums.iter_mut().zip(&xs) {
                    let x = x[k];
                    sub_mul::<T, FMA, W>(&mut sum[0], &x, &y0);
                    sub_mul::<T, FMA, W>(&mut sum[1], &x, &y1);
                }
            }
        }
        for (start, [mut first, mut second]) in starts.into_iter().zip(sums) {
            scale(&mut first, &columns.inverse);
            sub_mul::<T, FMA, W>(&mut second, &first, &columns.below);
            scale(&mut second, &columns.inverse_next);
            packed[start + j] = first;
            packed[start + j + 1] = second;
        }
        i += R;
    }
    i
}

/// Writes a factorised group back to its row-major blocks: `L` below and on the diagonal, zero
/// above, and rows `j..n` NaN from a lane's first non-finite pivot `j` on.
fn unpack_factor<T: HostFloat, const W: usize, S: Slot<T>>(
    packed: &[Lanes<T, W>],
    n: usize,
    blocks: &mut [S],
) {
    let (zero, nan) = (T::from_f64(0.0), T::from_f64(f64::NAN));
    let len = n * n;
    let full = W > 1 && blocks.len() == W * len;
    let avx = has_avx2();
    for i in 0..n {
        let mut m = 0;
        if full {
            m = for_each_tile::<W>(i + 1, |m| {
                scatter_tile(packed, row(i) + m, (&mut *blocks, len), i * n + m, avx);
            });
        }
        for (lane, block) in blocks.chunks_exact_mut(len).enumerate() {
            let block_row = &mut block[i * n..(i + 1) * n];
            for (value, entry) in block_row[m..=i].iter_mut().zip(&packed[row(i) + m..]) {
                value.set(entry[lane]);
            }
            for value in &mut block_row[i + 1..] {
                value.set(zero);
            }
        }
    }
    // Rows from a failed pivot on are NaN.
    for (lane, block) in blocks.chunks_exact_mut(len).enumerate() {
        if let Some(failed_at) = (0..n).find(|&j| !packed[row(j) + j][lane].finite()) {
            for (i, block_row) in block.chunks_exact_mut(n).enumerate().skip(failed_at) {
                for value in &mut block_row[..=i] {
                    value.set(nan);
                }
            }
        }
    }
}

/// A place an unpacked entry is written to: initialised memory or not (a fresh output buffer is
/// written entry by entry without being zeroed first).
///
/// # Safety
/// Implementors have `T`'s size and alignment, so that a slice of them can be written through a
/// `*mut T` (the tile transposes do).
pub(crate) unsafe trait Slot<T>: Send {
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

/// Batched Cholesky backward in place of the row-major gradient blocks `grads` (`Ḡ` in, `Ā` out,
/// the symmetric convention of [`super::LinalgBackend::cholesky_backward`]), given the factors.
pub(crate) fn cholesky_backward<T: HostFloat>(factors: &[T], grads: &mut [T], n: usize) {
    by_width!(
        grads.len() / (n * n).max(1),
        cholesky_backward_w::<T>(factors, grads, n)
    )
}

fn cholesky_backward_w<T: HostFloat, const W: usize>(factors: &[T], grads: &mut [T], n: usize) {
    let (len, tri) = (n * n, row(n));
    let others = [(factors, len)];
    for_each_group::<T, _, _, W>(
        (grads, len),
        others,
        (tri, tri),
        |chunk, [factors], grad, factor| {
            pack_lower(factors, n, (false, false), Padding::Identity, factor);
            pack_lower(chunk, n, (false, false), Padding::Zero, grad);
            factor_backward(factor, grad, n);
            unpack_symmetric(grad, n, chunk);
        },
    );
}

/// Murray's unblocked reverse mode on one row-major matrix: `grad` holds `Ḡ` (lower triangle
/// read) and receives the lower-triangular `M` of [`factor_backward_lanes`] (zero above the
/// diagonal) — the diagonal-block step of the blocked reverse mode for large matrices, which
/// lends `scratch` (resized here to two packed triangles) to all its blocks.
pub(crate) fn cholesky_backward_lower<T: HostFloat>(
    factor: &[T],
    grad: &mut [T],
    n: usize,
    scratch: &mut Vec<[T; 1]>,
) {
    let zero = [T::from_f64(0.0); 1];
    scratch.resize(2 * row(n), zero);
    let (l, m) = scratch.split_at_mut(row(n));
    pack_lower::<T, 1>(factor, n, (false, false), Padding::Identity, l);
    pack_lower::<T, 1>(grad, n, (false, false), Padding::Zero, m);
    factor_backward(l, m, n);
    for i in 0..n {
        for k in 0..n {
            grad[i * n + k] = if k <= i { m[row(i) + k][0] } else { zero[0] };
        }
    }
}

dispatch! {
    /// Runs the backward pass on a packed group.
    fn factor_backward => factor_backward_lanes(factor: &[Lanes<T, W>], grad: &mut [Lanes<T, W>], n: usize)
}

/// Reverse mode of the left-looking factorisation, column by column from the last (Murray 2016,
/// "Differentiation of the Cholesky decomposition", §4.1, `chol_unblocked_rev`). With row `j`
/// of `L` split into `r = L_{j,<j}`, `d = L_jj`, the column below it `c = L_{>j,j}` and the block
/// `B = L_{>j,<j}` (and the same parts of `Ḡ`, overwritten by `Ā`):
///
/// `d̄ ← (d̄ − cᵀc̄/d)/d`, `c̄ ← c̄/d`, `r̄ ← r̄ − d̄ r − c̄ᵀB`, `B̄ ← B̄ − c̄ rᵀ`, `d̄ ← d̄/2`.
///
/// The result `M` is lower triangular: `∂f/∂A_ij` for `i > j` with `A`'s lower triangle as the
/// input, and `∂f/∂A_ii` on the diagonal.
#[inline(always)]
fn factor_backward_lanes<T: HostFloat, const FMA: bool, const W: usize>(
    factor: &[Lanes<T, W>],
    grad: &mut [Lanes<T, W>],
    n: usize,
) {
    let (zero, one, half) = (T::from_f64(0.0), T::from_f64(1.0), T::from_f64(0.5));
    for j in (0..n).rev() {
        let rj = row(j);
        let mut inverse = factor[rj + j];
        for value in &mut inverse {
            *value = one / *value;
        }
        // c̄ ← c̄/d, and −cᵀc̄ on the way.
        let mut dot = [zero; W];
        for i in j + 1..n {
            let (c, c_bar) = (factor[row(i) + j], &mut grad[row(i) + j]);
            sub_mul::<T, FMA, W>(&mut dot, &c, c_bar);
            for l in 0..W {
                c_bar[l] *= inverse[l];
            }
        }
        let mut d_bar = grad[rj + j];
        for l in 0..W {
            d_bar[l] = (d_bar[l] + dot[l] * inverse[l]) * inverse[l];
        }
        // r̄ ← r̄ − d̄ r − c̄ᵀ B and B̄ ← B̄ − c̄ rᵀ, a few columns of the block at a time.
        let (head, tail) = grad.split_at_mut(row(j + 1));
        let r_bar = &mut head[rj..rj + j];
        let r = &factor[rj..rj + j];
        for (r_bar, r) in r_bar.iter_mut().zip(r) {
            sub_mul::<T, FMA, W>(r_bar, &d_bar, r);
        }
        let block = (j, n);
        let mut k = 0;
        if size_of::<T>() <= 4 {
            k = update_block::<T, FMA, 4, W>(factor, tail, r_bar, block, k);
        }
        k = update_block::<T, FMA, 2, W>(factor, tail, r_bar, block, k);
        update_block::<T, FMA, 1, W>(factor, tail, r_bar, block, k);
        for value in &mut d_bar {
            *value *= half;
        }
        head[rj + j] = d_bar;
    }
}

/// `r̄ ← r̄ − c̄ᵀ B` and `B̄ ← B̄ − c̄ rᵀ` of column `j`'s step of [`factor_backward_lanes`] for
/// columns `first..j` of the block, `C` columns at a time (their `r̄` and `r` in registers) while
/// `C` remain; returns the first column left. `tail` is the packed gradient from row `j + 1` on.
#[inline(always)]
fn update_block<T: HostFloat, const FMA: bool, const C: usize, const W: usize>(
    factor: &[Lanes<T, W>],
    tail: &mut [Lanes<T, W>],
    r_bar: &mut [Lanes<T, W>],
    (j, n): (usize, usize),
    first: usize,
) -> usize {
    let rj = row(j);
    let mut k = first;
    while k + C <= j {
        let mut sums: [Lanes<T, W>; C] = std::array::from_fn(|w| r_bar[k + w]);
        let r: [Lanes<T, W>; C] = std::array::from_fn(|w| factor[rj + k + w]);
        for i in j + 1..n {
            let ri = row(i);
            let start = ri - row(j + 1);
            let c_bar = tail[start + j];
            let b = &factor[ri + k..ri + k + C];
            let b_bar = &mut tail[start + k..start + k + C];
            for w in 0..C {
                sub_mul::<T, FMA, W>(&mut sums[w], &c_bar, &b[w]);
                sub_mul::<T, FMA, W>(&mut b_bar[w], &c_bar, &r[w]);
            }
        }
        r_bar[k..k + C].copy_from_slice(&sums);
        k += C;
    }
    k
}

/// Writes the packed lower-triangular `M` of [`factor_backward_lanes`] back as the symmetric
/// gradient `½(M + Mᵀ)`.
fn unpack_symmetric<T: HostFloat, const W: usize>(
    packed: &[Lanes<T, W>],
    n: usize,
    blocks: &mut [T],
) {
    let half = T::from_f64(0.5);
    for (lane, block) in blocks.chunks_exact_mut(n * n).enumerate() {
        for i in 0..n {
            for k in 0..i {
                let value = packed[row(i) + k][lane] * half;
                block[i * n + k] = value;
                block[k * n + i] = value;
            }
            block[i * n + i] = packed[row(i) + i][lane];
        }
    }
}

/// Batched triangular solve `op(T) X = B` in place of the row-major `n × k` blocks of `rhs`, with
/// the matching `n × n` blocks of `tri` (see [`super::LinalgBackend::solve_triangular`]).
///
/// `op(T)` is packed as a lower triangle, reversed in both indices when it is upper (which turns
/// back substitution into forward substitution), and the right-hand sides row by row, reversed
/// likewise.
pub(crate) fn solve_triangular<T: HostFloat>(
    tri: &[T],
    rhs: &mut [T],
    shape: (usize, usize),
    upper: bool,
    transpose: bool,
) {
    let count = tri.len() / (shape.0 * shape.0).max(1);
    by_width!(
        count,
        solve_triangular_w::<T>(tri, rhs, shape, upper, transpose)
    )
}

fn solve_triangular_w<T: HostFloat, const W: usize>(
    tri: &[T],
    rhs: &mut [T],
    (n, k): (usize, usize),
    upper: bool,
    transpose: bool,
) {
    let reverse = upper != transpose;
    let buffers = (n * k, row(n));
    for_each_group::<T, _, _, W>(
        (rhs, n * k),
        [(tri, n * n)],
        buffers,
        |chunk, [tri], x, lower| {
            pack_lower(tri, n, (transpose, reverse), Padding::Identity, lower);
            pack_rows(chunk, (n, k), reverse, x);
            substitute(lower, x, (n, k));
            unpack_rows(x, (n, k), reverse, chunk);
        },
    );
}

dispatch! {
    /// Forward substitution on a packed group.
    fn substitute => substitute_lanes(lower: &[Lanes<T, W>], x: &mut [Lanes<T, W>], shape: (usize, usize))
}

/// `X_i = (B_i − Σ_{m<i} L_im X_m) / L_ii` row by row, in place of the packed right-hand sides,
/// several columns of `X_i` at a time kept in registers.
#[inline(always)]
fn substitute_lanes<T: HostFloat, const FMA: bool, const W: usize>(
    lower: &[Lanes<T, W>],
    x: &mut [Lanes<T, W>],
    (n, k): (usize, usize),
) {
    for i in 0..n {
        let (done, rest) = x.split_at_mut(i * k);
        let x_i = &mut rest[..k];
        let t = &lower[row(i)..row(i) + i];
        let mut c = 0;
        if size_of::<T>() <= 4 {
            c = substitute_columns::<T, FMA, 8, W>(t, done, x_i, c);
        }
        c = substitute_columns::<T, FMA, 4, W>(t, done, x_i, c);
        substitute_columns::<T, FMA, 1, W>(t, done, x_i, c);
        let d = lower[row(i) + i];
        for x_i in x_i {
            for l in 0..W {
                x_i[l] /= d[l];
            }
        }
    }
}

/// `X_i −= Σ_{m<i} L_im X_m` for columns `first..` of row `i`, `C` at a time while `C` remain;
/// returns the first column left.
#[inline(always)]
fn substitute_columns<T: HostFloat, const FMA: bool, const C: usize, const W: usize>(
    t: &[Lanes<T, W>],
    done: &[Lanes<T, W>],
    x_i: &mut [Lanes<T, W>],
    first: usize,
) -> usize {
    let k = x_i.len();
    let mut c = first;
    while c + C <= k {
        let mut sums: [Lanes<T, W>; C] = std::array::from_fn(|offset| x_i[c + offset]);
        for (t, x_m) in t.iter().zip(done.chunks_exact(k)) {
            for (sum, x) in sums.iter_mut().zip(&x_m[c..c + C]) {
                sub_mul::<T, FMA, W>(sum, t, x);
            }
        }
        x_i[c..c + C].copy_from_slice(&sums);
        c += C;
    }
    c
}

/// `−tri(left rightᵀ)` for the row-major `n × k` blocks of `left` and `right` into the zeroed
/// `n × n` blocks of `out`: entry `(i, j)` is `−⟨left_i, right_j⟩` on the upper (`j ≥ i`) or lower
/// (`j ≤ i`) triangle, zero off it (see [`super::LinalgBackend::solve_triangular_grad_t`]).
pub(crate) fn negative_triangular_outer<T: HostFloat>(
    left: &[T],
    right: &[T],
    out: &mut [T],
    shape: (usize, usize),
    upper: bool,
) {
    let count = out.len() / (shape.0 * shape.0).max(1);
    by_width!(
        count,
        negative_triangular_outer_w::<T>(left, right, out, shape, upper)
    )
}

fn negative_triangular_outer_w<T: HostFloat, const W: usize>(
    left: &[T],
    right: &[T],
    out: &mut [T],
    (n, k): (usize, usize),
    upper: bool,
) {
    let buffers = (n * k, n * k);
    let others = [(left, n * k), (right, n * k)];
    for_each_group::<T, _, _, W>(
        (out, n * n),
        others,
        buffers,
        |chunk, [left, right], a, b| {
            pack_rows(left, (n, k), false, a);
            pack_rows(right, (n, k), false, b);
            outer(a, b, (n, k, upper), chunk);
        },
    );
}

dispatch! {
    /// The triangle of [`negative_triangular_outer`] on a packed group.
    fn outer => outer_lanes(a: &[Lanes<T, W>], b: &[Lanes<T, W>], shape: (usize, usize, bool), out: &mut [T])
}

#[inline(always)]
fn outer_lanes<T: HostFloat, const FMA: bool, const W: usize>(
    a: &[Lanes<T, W>],
    b: &[Lanes<T, W>],
    (n, k, upper): (usize, usize, bool),
    out: &mut [T],
) {
    let zero = T::from_f64(0.0);
    let count = out.len() / (n * n);
    for i in 0..n {
        let columns = if upper { i..n } else { 0..i + 1 };
        let a_i = &a[i * k..(i + 1) * k];
        for j in columns {
            let mut sum = [zero; W];
            for (a, b) in a_i.iter().zip(&b[j * k..(j + 1) * k]) {
                sub_mul::<T, FMA, W>(&mut sum, a, b);
            }
            for (lane, value) in sum.into_iter().enumerate().take(count) {
                out[lane * n * n + i * n + j] = value;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::host::{HostFloat, cholesky_backward_one, cholesky_one, solve_one};
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::cholesky::llt::factor::cholesky_in_place_scratch;
    use faer::{MatMut, MatRef, Par};
    use std::mem::MaybeUninit;

    /// A small deterministic generator (the tests need no statistical quality).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        }
    }

    /// `batch` row-major SPD matrices `X Xᵀ/n + I/2`; the matrix at `broken` (if any) loses
    /// positive definiteness at pivot `n/2` (its diagonal entry there is made negative).
    fn spd<T: HostFloat>(rng: &mut Lcg, batch: usize, n: usize, broken: Option<usize>) -> Vec<T> {
        let mut out = Vec::with_capacity(batch * n * n);
        for b in 0..batch {
            let x: Vec<f64> = (0..n * n).map(|_| rng.next()).collect();
            for i in 0..n {
                for j in 0..n {
                    let mut a: f64 =
                        (0..n).map(|k| x[i * n + k] * x[j * n + k]).sum::<f64>() / n as f64;
                    if i == j {
                        a += 0.5;
                        if broken == Some(b) && i == n / 2 {
                            a = -1.0;
                        }
                    }
                    out.push(T::from_f64(a));
                }
            }
        }
        out
    }

    fn close<T: HostFloat>(got: &[T], want: &[T], tolerance: f64, what: &str) {
        for (index, (g, w)) in got.iter().zip(want).enumerate() {
            let (g, w) = (g.as_f64(), w.as_f64());
            let same_nan = g.is_nan() && w.is_nan();
            assert!(
                same_nan || (g - w).abs() <= tolerance * (1.0 + w.abs()),
                "{what}: entry {index}: packed {g}, per matrix {w}"
            );
        }
    }

    /// The packed kernels against faer's per-matrix ones: every batch size around the group
    /// width (full groups, a short last group, padding), orders from 1 to the largest, a matrix
    /// that is not positive definite, and the backward pass.
    fn packed_matches_per_matrix<T: HostFloat>(tolerance: f64) {
        let mut rng = Lcg(7);
        for n in [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 64, 100] {
            for batch in [2, 3, 7, 8, 9, 16, 19] {
                let broken = (n > 1 && batch > 4).then_some(batch / 2);
                let a = spd::<T>(&mut rng, batch, n, broken);
                let mut packed = a.clone();
                super::cholesky(&mut packed, n);
                // A sentinel in every entry of the output, which must all be overwritten.
                let mut fresh = vec![MaybeUninit::new(T::from_f64(-7.0)); a.len()];
                super::cholesky_into(&a, &mut fresh, n);
                // SAFETY: every entry was initialised with the sentinel above.
                let copied: Vec<T> = fresh.iter().map(|v| unsafe { v.assume_init() }).collect();
                assert_eq!(
                    packed
                        .iter()
                        .map(|v| v.as_f64().to_bits())
                        .collect::<Vec<_>>(),
                    copied
                        .iter()
                        .map(|v| v.as_f64().to_bits())
                        .collect::<Vec<_>>()
                );
                let mut want = a.clone();
                let scratch = cholesky_in_place_scratch::<T>(n, Par::Seq, Default::default());
                let mut buffer = MemBuffer::new(scratch);
                for block in want.chunks_mut(n * n) {
                    cholesky_one(block, n, Par::Seq, MemStack::new(&mut buffer));
                }
                close(
                    &packed,
                    &want,
                    tolerance,
                    &format!("factor n={n} batch={batch}"),
                );
                if let Some(b) = broken {
                    let block = &packed[b * n * n..(b + 1) * n * n];
                    assert!(block[(n / 2) * n].as_f64().is_nan(), "row n/2 is NaN");
                    assert!(block[0].as_f64().is_finite(), "row 0 is finite");
                }
                // Backward, on the healthy matrices only (the gradient through NaN is NaN).
                let a = spd::<T>(&mut rng, batch, n, None);
                let mut factors = a.clone();
                super::cholesky(&mut factors, n);
                let grad: Vec<T> = (0..batch * n * n)
                    .map(|_| T::from_f64(rng.next()))
                    .collect();
                let mut packed = grad.clone();
                super::cholesky_backward(&factors, &mut packed, n);
                let mut want = grad;
                let mut work = vec![T::from_f64(0.0); n * n];
                for (g, l) in want.chunks_mut(n * n).zip(factors.chunks(n * n)) {
                    cholesky_backward_one(l, g, &mut work, n, Par::Seq);
                }
                close(
                    &packed,
                    &want,
                    tolerance,
                    &format!("backward n={n} batch={batch}"),
                );
            }
        }
    }

    #[test]
    fn packed_matches_per_matrix_f64() {
        packed_matches_per_matrix::<f64>(1e-10);
    }

    #[test]
    fn packed_matches_per_matrix_f32() {
        packed_matches_per_matrix::<f32>(2e-3);
    }

    /// The packed triangular solve against faer's per matrix, for every triangle and transpose,
    /// and the packed `−tri(left rightᵀ)` against its definition.
    fn packed_solve_matches_per_matrix<T: HostFloat>(tolerance: f64) {
        let mut rng = Lcg(11);
        for n in [1, 2, 5, 8, 13, 32, 64] {
            for (batch, k) in [(2, 1), (7, 3), (8, 8), (19, 5), (16, 13)] {
                // Well-conditioned triangles: unit-sized diagonal, small off-diagonal entries.
                let tri: Vec<T> = (0..batch * n * n)
                    .map(|e| {
                        let diagonal = (e % (n * n)) % (n + 1) == 0;
                        let v = rng.next();
                        T::from_f64(if diagonal { 2.0 + v } else { v / n as f64 })
                    })
                    .collect();
                let rhs: Vec<T> = (0..batch * n * k)
                    .map(|_| T::from_f64(rng.next()))
                    .collect();
                for (upper, transpose) in
                    [(false, false), (false, true), (true, false), (true, true)]
                {
                    let mut packed = rhs.clone();
                    super::solve_triangular(&tri, &mut packed, (n, k), upper, transpose);
                    let mut want = rhs.clone();
                    for (x, t) in want.chunks_mut(n * k).zip(tri.chunks(n * n)) {
                        let t = MatRef::from_row_major_slice(t, n, n);
                        let x = MatMut::from_row_major_slice_mut(x, n, k);
                        solve_one(t, x, upper, transpose, Par::Seq);
                    }
                    let what = format!(
                        "solve n={n} batch={batch} k={k} upper={upper} transpose={transpose}"
                    );
                    close(&packed, &want, tolerance, &what);
                }
                for upper in [false, true] {
                    let left = &rhs;
                    let right: Vec<T> = rhs.iter().rev().copied().collect();
                    let mut packed = vec![T::from_f64(0.0); batch * n * n];
                    super::negative_triangular_outer(left, &right, &mut packed, (n, k), upper);
                    let mut want = vec![T::from_f64(0.0); batch * n * n];
                    for b in 0..batch {
                        for i in 0..n {
                            for j in 0..n {
                                if (upper && j >= i) || (!upper && j <= i) {
                                    let dot: f64 = (0..k)
                                        .map(|c| {
                                            left[b * n * k + i * k + c].as_f64()
                                                * right[b * n * k + j * k + c].as_f64()
                                        })
                                        .sum();
                                    want[b * n * n + i * n + j] = T::from_f64(-dot);
                                }
                            }
                        }
                    }
                    close(
                        &packed,
                        &want,
                        tolerance,
                        &format!("outer n={n} batch={batch} k={k}"),
                    );
                }
            }
        }
    }

    #[test]
    fn packed_solve_matches_per_matrix_f64() {
        packed_solve_matches_per_matrix::<f64>(1e-12);
    }

    #[test]
    fn packed_solve_matches_per_matrix_f32() {
        packed_solve_matches_per_matrix::<f32>(1e-5);
    }

    /// The kernels compiled for the baseline target (used on CPUs without AVX2 and FMA) against
    /// the ones this CPU runs.
    #[test]
    fn baseline_kernels_match() {
        use super::{LANES, Lanes, row};
        let (n, k) = (19, 3);
        let mut rng = Lcg(5);
        let a = spd::<f64>(&mut rng, LANES, n, None);
        let mut factor = vec![[0.0; LANES]; row(n)];
        super::pack_lower::<f64, LANES>(
            &a,
            n,
            (false, false),
            super::Padding::Identity,
            &mut factor,
        );
        let mut baseline = factor.clone();
        super::factor(&mut factor, n);
        super::factor_lanes::<f64, false, LANES>(&mut baseline, n);
        let flat = |p: &[Lanes<f64, LANES>]| p.concat();
        close(&flat(&baseline), &flat(&factor), 1e-12, "factor");
        let mut grad: Vec<Lanes<f64, LANES>> = (0..row(n))
            .map(|_| std::array::from_fn(|_| rng.next()))
            .collect();
        let mut baseline = grad.clone();
        super::factor_backward(&factor, &mut grad, n);
        super::factor_backward_lanes::<f64, false, LANES>(&factor, &mut baseline, n);
        close(&flat(&baseline), &flat(&grad), 1e-12, "backward");
        let mut x: Vec<Lanes<f64, LANES>> = (0..n * k)
            .map(|_| std::array::from_fn(|_| rng.next()))
            .collect();
        let mut baseline = x.clone();
        super::substitute(&factor, &mut x, (n, k));
        super::substitute_lanes::<f64, false, LANES>(&factor, &mut baseline, (n, k));
        close(&flat(&baseline), &flat(&x), 1e-12, "substitute");
    }

    /// The in-register 8 × 8 tile transposes against the portable loops, both directions, both
    /// precisions, ascending and descending runs and scattered targets.
    #[test]
    fn tile_transposes_match_portable() {
        fn check<T: HostFloat>() {
            use super::{LANES, Lanes, Slot, gather_tile, scatter_tile};
            const LEN: usize = 20;
            let mut rng = Lcg(3);
            let blocks: Vec<Vec<T>> = (0..LANES)
                .map(|_| (0..LEN).map(|_| T::from_f64(rng.next())).collect())
                .collect();
            let lanes: [&[T]; LANES] = std::array::from_fn(|l| blocks[l].as_slice());
            for (at, descending) in [(3, false), (12, false), (10, true), (19, true)] {
                let dest = |e: usize| 2 * e + 1;
                let zero = [T::from_f64(0.0); LANES];
                let (mut fast, mut portable) = (vec![zero; 17], vec![zero; 17]);
                gather_tile(&lanes, (at, descending), dest, &mut fast, true);
                gather_tile(&lanes, (at, descending), dest, &mut portable, false);
                let bits = |p: &[Lanes<T, LANES>]| {
                    p.iter()
                        .flatten()
                        .map(|v| v.as_f64().to_bits())
                        .collect::<Vec<_>>()
                };
                assert_eq!(bits(&fast), bits(&portable), "gather at {at}, {descending}");
                let first = if descending { at + 1 - LANES } else { at };
                let entry = portable[dest(0)][0];
                let expected = if descending {
                    lanes[0][at]
                } else {
                    lanes[0][first]
                };
                assert_eq!(entry.as_f64().to_bits(), expected.as_f64().to_bits());
            }
            let packed: Vec<Lanes<T, LANES>> = (0..11)
                .map(|_| std::array::from_fn(|_| T::from_f64(rng.next())))
                .collect();
            let flat_len = LANES * LEN;
            let (mut fast, mut portable) = (
                vec![T::from_f64(0.0); flat_len],
                vec![T::from_f64(0.0); flat_len],
            );
            scatter_tile(&packed, 2, (&mut fast[..], LEN), 5, true);
            scatter_tile(&packed, 2, (&mut portable[..], LEN), 5, false);
            assert_eq!(fast, portable);
            let mut value = T::from_f64(0.0);
            value.set(packed[2 + 3][4]);
            assert_eq!(portable[4 * LEN + 5 + 3], value);
        }
        if super::has_avx2() {
            check::<f32>();
            check::<f64>();
        }
    }
}
