//! Shared-memory ("tile") kernels for small matrices: one cube keeps whole matrices in shared
//! memory and runs the factorisation, the substitution or the reverse mode without leaving the
//! kernel, one launch per call.
//!
//! Triangles are packed row by row: entry `(i, k)`, `k ≤ i`, of a lower triangle sits at
//! `i (i + 1) / 2 + k`. A cube of the Cholesky kernels holds `slots` matrices, each worked on by
//! `units` units; the units of a slot past the end of the batch take part in every barrier but
//! read and write nothing, so the barriers stay in uniform control flow. Every unit runs `O(n²)`
//! loop iterations at most, well below Lavapipe's cap of 65535 per invocation (see the
//! [module documentation](super)).

use crate::cube::{address_type, batch_and_matrix, cube_count, empty_like, float_elem_type};
use burn::backend::tensor::FloatTensor;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

/// Whether `x` is positive and finite; false for NaN as well.
#[cube]
fn positive_finite<F: Float>(x: F) -> bool {
    x > F::new(0.0) && x <= F::max_value()
}

/// Largest order the tile kernels take; larger matrices are factored in blocks of this order.
pub(crate) const MAX_ORDER: usize = 64;

/// Units per cube of the Cholesky and reverse-mode kernels.
const CUBE_UNITS: usize = 256;

/// Most right-hand-side columns per cube of the triangular solve: few, so that the columns of a
/// wide right-hand side spread over many cubes (the substitution is latency-bound).
const SOLVE_COLUMNS: usize = 32;

// The reverse mode gives each `r̄_k` (`k < n`) a unit of its own (see `cholesky_layout`).
const _: () = assert!(MAX_ORDER <= CUBE_UNITS);

/// Offset of row `i` of a packed lower triangle.
#[cube]
fn row(i: usize) -> usize {
    i * (i + 1) / 2
}

/// Packs the lower triangle of the row-major `n × n` matrix of `src` at `base` into `dst` from
/// `offset` on, the `units` units of a slot sharing the entries; a slot past the end of the batch
/// (`!valid`) packs `fill` instead.
#[cube]
#[allow(clippy::too_many_arguments)]
fn load_lower<F: Float>(
    src: &[F],
    base: usize,
    valid: bool,
    fill: F,
    dst: &mut Shared<[F]>,
    offset: usize,
    local: usize,
    #[comptime] units: usize,
    #[comptime] n: usize,
) {
    let mut idx = local;
    while idx < n * n {
        let i = idx / n;
        let k = idx % n;
        if k <= i {
            let mut value = fill;
            if valid {
                value = src[base + idx];
            }
            dst[offset + row(i) + k] = value;
        }
        idx += units;
    }
}

/// Lower Cholesky factors of `slots` row-major `n × n` matrices per cube, right-looking with one
/// barrier per step: at step `j` every unit reads the pivot `a_jj` and updates its share of the
/// trailing lower triangle, `a_rc −= (a_rj / a_jj) a_cj`, leaving column `j` unscaled (no later
/// step reads it); the write-out divides it by `l_jj = √a_jj`.
///
/// Failure follows [`LinalgBackend::cholesky`](super::super::LinalgBackend::cholesky): a pivot
/// that is not positive and finite is replaced by `nan` (and so is `l_jj`), so its column and, through
/// the trailing update, every later column is `nan`.
#[cube(launch, address_type = "dynamic")]
fn cholesky_tile_kernel<F: Float>(
    a: &[F],
    out: &mut [F],
    batch: usize,
    shift: InputScalar,
    nan: InputScalar,
    #[comptime] n: usize,
    #[comptime] units: usize,
    #[comptime] slots: usize,
    #[define(F)] _dtype: ElemType,
) {
    let mut m = Shared::<[F]>::new_slice(comptime!(slots * n * (n + 1) / 2));
    let mut diagonal = Shared::<[F]>::new_slice(comptime!(slots * n));
    let slot = UNIT_POS as usize / units;
    let local = UNIT_POS as usize % units;
    let elem = CUBE_POS * slots + slot;
    let valid = elem < batch;
    let base = elem * n * n;
    let packed = slot * comptime!(n * (n + 1) / 2);
    let nan = nan.get::<F>();
    let shift = shift.get::<F>();

    load_lower::<F>(a, base, valid, F::new(0.0), &mut m, packed, local, units, n);
    sync_cube();

    // The units of a matrix as a `height × width` grid over the trailing triangle.
    let width = comptime!(grid_width(units));
    let height = comptime!(units / grid_width(units));
    let grid_row = local / width;
    let grid_col = local % width;
    for j in 0..n {
        // A division by the pivot rather than a product with its reciprocal, which overflows
        // for small pivots in f16.
        // A diagonal entry is read only here, as its pivot: the shift joins it once.
        let mut pivot = m[packed + row(j) + j] + shift;
        let mut d = nan;
        if positive_finite::<F>(pivot) {
            d = pivot.sqrt();
        } else {
            pivot = nan;
        }
        if local == 0 {
            diagonal[slot * n + j] = d;
        }
        let mut r = j + 1 + grid_row;
        while r < n {
            let rr = packed + row(r);
            let scaled = m[rr + j] / pivot;
            let mut c = j + 1 + grid_col;
            while c <= r {
                m[rr + c] = m[rr + c] - scaled * m[packed + row(c) + j];
                c += width;
            }
            r += height;
        }
        sync_cube();
    }

    if valid {
        let mut idx = local;
        while idx < n * n {
            let i = idx / n;
            let k = idx % n;
            let mut value = F::new(0.0);
            if k < i {
                value = m[packed + row(i) + k] / diagonal[slot * n + k];
            } else if k == i {
                value = diagonal[slot * n + i];
            }
            out[base + idx] = value;
            idx += units;
        }
    }
}

/// `op(T) X = B` for `cols` columns of `B` per cube, by right-looking substitution: `op(T)` is
/// loaded once into shared memory as a packed lower triangle, reversed in both indices when it is
/// upper (`lower == false`), which turns back substitution into forward substitution, and so
/// are the cube's columns of `B`. At step `s` every unit divides entry `s` of its column by the
/// pivot and subtracts it from the rows below, which are shared among `groups` row groups; one
/// barrier per step. The dependent chain per unit is `n + n²/(2 groups)` instead of the `n²/2`
/// of one unit per column. `T` is row-major `[batch, n, n]`, `B` and `X` `[batch, n, k]`; cube
/// `c` takes batch element `c / blocks` and column block `c % blocks`.
#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn solve_tile_kernel<F: Float>(
    t: &[F],
    b: &[F],
    x: &mut [F],
    k: usize,
    blocks: usize,
    cubes: usize,
    #[comptime] n: usize,
    #[comptime] cols: usize,
    #[comptime] groups: usize,
    #[comptime] lower: bool,
    #[comptime] transpose: bool,
    #[define(F)] _dtype: ElemType,
) {
    if CUBE_POS >= cubes {
        terminate!();
    }
    let units = comptime!(cols * groups);
    let mut r = Shared::<[F]>::new_slice(comptime!(n * (n + 1) / 2));
    // `xs[s · cols + c]`: row `s` (in substitution order) of the cube's column `c`.
    let mut xs = Shared::<[F]>::new_slice(comptime!(n * cols));
    let unit = UNIT_POS as usize;
    let elem = CUBE_POS / blocks;
    let first = (CUBE_POS % blocks) * cols;
    let t_base = elem * n * n;
    let base = elem * n * k + first;

    let mut idx = unit;
    while idx < n * n {
        let s = idx / n;
        let q = idx % n;
        if q <= s {
            let mut i = s;
            let mut j = q;
            if !lower {
                i = n - 1 - s;
                j = n - 1 - q;
            }
            let mut at = t_base + i * n + j;
            if transpose {
                at = t_base + j * n + i;
            }
            r[row(s) + q] = t[at];
        }
        idx += units;
    }
    let mut idx = unit;
    while idx < n * cols {
        let s = idx / cols;
        let c = idx % cols;
        let mut i = s;
        if !lower {
            i = n - 1 - s;
        }
        let mut value = F::new(0.0);
        if first + c < k {
            value = b[base + i * k + c];
        }
        xs[idx] = value;
        idx += units;
    }
    sync_cube();

    let c = unit % cols;
    let group = unit / cols;
    let valid = first + c < k;
    for s in 0..n {
        let value = xs[s * cols + c] / r[row(s) + s];
        if group == 0 && valid {
            let mut i = s;
            if !lower {
                i = n - 1 - s;
            }
            x[base + i * k + c] = value;
        }
        let mut below = s + 1 + group;
        while below < n {
            xs[below * cols + c] -= r[row(below) + s] * value;
            below += groups;
        }
        sync_cube();
    }
}

/// Murray's unblocked reverse mode (see `packed::factor_backward_lanes` for the CPU version) on
/// `slots` matrices per cube, from the last column to the first. At step `j`, with `d = L_jj`,
/// `c = L_{>j,j}`, `r = L_{j,<j}`, `B = L_{>j,<j}` and the same parts of `Ḡ`:
///
/// `d̄ ← (d̄ − cᵀc̄/d)/d`, `r̄ ← r̄ − d̄ r − (c̄/d)ᵀ B`, `B̄ ← B̄ − (c̄/d) rᵀ`, `d̄ ← d̄/2`.
///
/// The sums over the rows below `j` that `d̄` and `r̄` need are split over all the units
/// (`units ≥ n`, so each `r̄_k` gets `⌊units / n⌋` of them) and combined after a barrier, by the
/// unit of `r̄_k`, which also forms `d̄` itself; a step takes two barriers.
/// `c̄` is never rescaled in place (no later step reads it) but divided by `d` on the way out,
/// where the lower-triangular result `M` is written as the symmetric `½(M + Mᵀ)`.
#[cube(launch, address_type = "dynamic")]
fn cholesky_backward_tile_kernel<F: Float>(
    l: &[F],
    grad: &[F],
    out: &mut [F],
    batch: usize,
    #[comptime] n: usize,
    #[comptime] units: usize,
    #[comptime] slots: usize,
    #[define(F)] _dtype: ElemType,
) {
    let mut lm = Shared::<[F]>::new_slice(comptime!(slots * n * (n + 1) / 2));
    let mut g = Shared::<[F]>::new_slice(comptime!(slots * n * (n + 1) / 2));
    let slot = UNIT_POS as usize / units;
    let local = UNIT_POS as usize % units;
    let elem = CUBE_POS * slots + slot;
    let valid = elem < batch;
    let base = elem * n * n;
    let packed = slot * comptime!(n * (n + 1) / 2);
    let half = F::new(0.5);
    let width = comptime!(grid_width(units));
    let height = comptime!(units / grid_width(units));
    let grid_row = local / width;
    let grid_col = local % width;

    load_lower::<F>(
        l,
        base,
        valid,
        F::new(1.0),
        &mut lm,
        packed,
        local,
        units,
        n,
    );
    load_lower::<F>(
        grad,
        base,
        valid,
        F::new(0.0),
        &mut g,
        packed,
        local,
        units,
        n,
    );
    sync_cube();

    // `r̄_k`'s sums over rows `i > j` are split into `parts` interleaved partial sums, unit
    // `part · n + k` taking part `part` of task `k`, and combined after a barrier.
    let parts = comptime!(units / n);
    let mut partial_dot = Shared::<[F]>::new_slice(comptime!(slots * units));
    let mut partial_acc = Shared::<[F]>::new_slice(comptime!(slots * units));
    let task = local % n;
    let part = local / n;
    let at = slot * units + local;

    for step in 0..n {
        let j = n - 1 - step;
        let rj = packed + row(j);
        let inverse = F::new(1.0) / lm[rj + j];

        // Partial `cᵀc̄` and `c̄ᵀB_{:,k}` for `k < j`; task 0 also when `j = 0`, where `d̄`
        // still needs `cᵀc̄`.
        if part < parts && (task < j || task == 0) {
            let mut dot = F::new(0.0);
            let mut acc = F::new(0.0);
            let mut i = j + 1 + part;
            while i < n {
                let ri = packed + row(i);
                let c_bar = g[ri + j];
                dot += lm[ri + j] * c_bar;
                acc += c_bar * lm[ri + task];
                i += parts;
            }
            partial_dot[at] = dot;
            partial_acc[at] = acc;
        }

        // `B̄` over the grid: rows `j + 1..n`, columns `0..j` (disjoint from what the partial
        // sums read and from row `j`, which the combination below writes).
        let mut i = j + 1 + grid_row;
        while i < n {
            let ri = packed + row(i);
            let scaled = g[ri + j] * inverse;
            let mut c = grid_col;
            while c < j {
                g[ri + c] -= scaled * lm[rj + c];
                c += width;
            }
            i += height;
        }
        sync_cube();

        // `d̄` and `r̄_k` from the partial sums (`local < n` here, so `task == local`).
        let mut d_bar = F::new(0.0);
        if local < j || local == 0 {
            let mut dot = F::new(0.0);
            let mut acc = F::new(0.0);
            for p in 0..parts {
                dot += partial_dot[slot * units + p * n + local];
                acc += partial_acc[slot * units + p * n + local];
            }
            d_bar = (g[rj + j] - dot * inverse) * inverse;
            if local < j {
                g[rj + local] = g[rj + local] - d_bar * lm[rj + local] - acc * inverse;
            }
        }
        sync_cube();
        // Nothing reads `g[j][j]` from here on but the final write-out.
        if local == 0 {
            g[rj + j] = d_bar * half;
        }
    }
    sync_cube();

    if valid {
        let mut idx = local;
        while idx < n * n {
            let i = idx / n;
            let k = idx % n;
            let mut value = g[packed + row(i) + i];
            if k < i {
                value = half * g[packed + row(i) + k] / lm[packed + row(k) + k];
            } else if k > i {
                value = half * g[packed + row(k) + i] / lm[packed + row(i) + i];
            }
            out[base + idx] = value;
            idx += units;
        }
    }
}

/// Columns of the `height × width` grid a matrix's units form in the trailing updates: the
/// square root of `units` (a power of two), rounded up to a power of two.
fn grid_width(units: usize) -> usize {
    1 << units.trailing_zeros().div_ceil(2)
}

/// Units per matrix and matrices per cube for the Cholesky kernels: about one unit per two
/// entries of the first trailing update, 32 to 256 of them, and as many matrices as fill
/// [`CUBE_UNITS`]. There are at least `n` units per matrix for `n ≤ MAX_ORDER`, which the reverse
/// mode relies on.
fn cholesky_layout(n: usize) -> (usize, usize) {
    let units = (n * n / 2).next_power_of_two().clamp(32, CUBE_UNITS);
    debug_assert!(units >= n.min(MAX_ORDER));
    (units, CUBE_UNITS / units)
}

/// Whether `triangles` packed `n × n` triangles per slot of `tensor`'s dtype, and `extra`
/// entries per slot, fit the device's shared memory.
fn fits(tensor: &CubeTensor, n: usize, slots: usize, triangles: usize, extra: usize) -> bool {
    let bytes = slots * (triangles * n * (n + 1) / 2 + extra) * tensor.dtype.size();
    n <= MAX_ORDER && bytes <= tensor.client.properties().hardware.max_shared_memory_size
}

/// Whether [`cholesky`] takes `n × n` matrices of `a`'s dtype on `a`'s device.
pub(crate) fn cholesky_fits(a: &CubeTensor, n: usize) -> bool {
    fits(a, n, cholesky_layout(n).1, 1, n)
}

/// Whether [`cholesky_backward`] takes `n × n` matrices of `l`'s dtype on `l`'s device.
pub(crate) fn cholesky_backward_fits(l: &CubeTensor, n: usize) -> bool {
    let (units, slots) = cholesky_layout(n);
    fits(l, n, slots, 2, n + 2 * units)
}

/// Whether [`solve_triangular`] takes `n × n` triangles of `t`'s dtype on `t`'s device.
pub(crate) fn solve_fits(t: &CubeTensor, n: usize) -> bool {
    fits(t, n, 1, 1, n * SOLVE_COLUMNS)
}

/// [`LinalgBackend::cholesky`](super::super::LinalgBackend::cholesky) for `n ≤ MAX_ORDER` when
/// [`cholesky_fits`]: [`cholesky_tile_kernel`], one launch.
pub(crate) fn cholesky(a: FloatTensor<CubeBackend>, shift: f64) -> FloatTensor<CubeBackend> {
    let a = into_contiguous(a);
    let (batch, n, _) = batch_and_matrix(&a);
    let out = empty_like(&a);
    if batch * n == 0 {
        return out;
    }
    let elem_type = float_elem_type(&a);
    let (units, slots) = cholesky_layout(n);
    let address_type = address_type(&[&a, &out]);
    cholesky_tile_kernel::launch(
        &out.client,
        cube_count(&a, batch.div_ceil(slots)),
        CubeDim::new_1d((units * slots) as u32),
        address_type,
        a.clone().into_buffer_arg(),
        out.clone().into_buffer_arg(),
        batch,
        InputScalar::new(shift, elem_type),
        InputScalar::new(f64::NAN, elem_type),
        n,
        units,
        slots,
        elem_type,
    );
    out
}

/// [`LinalgBackend::solve_triangular`](super::super::LinalgBackend::solve_triangular) for
/// `n ≤ MAX_ORDER` when [`solve_fits`]: [`solve_tile_kernel`], one launch.
pub(crate) fn solve_triangular(
    t: FloatTensor<CubeBackend>,
    b: FloatTensor<CubeBackend>,
    upper: bool,
    transpose: bool,
) -> FloatTensor<CubeBackend> {
    let (t, b) = (into_contiguous(t), into_contiguous(b));
    let (batch, n, _) = batch_and_matrix(&t);
    let (_, _, k) = batch_and_matrix(&b);
    let x = empty_like(&b);
    if batch * n * k == 0 {
        return x;
    }
    let elem_type = float_elem_type(&b);
    // At least a warp of 32 units; up to 8 row groups (one per 8 rows), 256 units.
    let cols = k.next_power_of_two().min(SOLVE_COLUMNS);
    let groups = (32 / cols)
        .max((n / 8).next_power_of_two())
        .min(CUBE_UNITS / cols);
    let blocks = k.div_ceil(cols);
    let cubes = batch * blocks;
    let address_type = address_type(&[&t, &b, &x]);
    solve_tile_kernel::launch(
        &x.client,
        cube_count(&t, cubes),
        CubeDim::new_1d((cols * groups) as u32),
        address_type,
        t.clone().into_buffer_arg(),
        b.clone().into_buffer_arg(),
        x.clone().into_buffer_arg(),
        k,
        blocks,
        cubes,
        n,
        cols,
        groups,
        upper == transpose,
        transpose,
        elem_type,
    );
    x
}

/// [`LinalgBackend::cholesky_backward`](super::super::LinalgBackend::cholesky_backward) for
/// `n ≤ MAX_ORDER` when [`cholesky_backward_fits`]: [`cholesky_backward_tile_kernel`], one
/// launch.
pub(crate) fn cholesky_backward(
    l: FloatTensor<CubeBackend>,
    grad: FloatTensor<CubeBackend>,
) -> FloatTensor<CubeBackend> {
    let (l, grad) = (into_contiguous(l), into_contiguous(grad));
    let (batch, n, _) = batch_and_matrix(&l);
    let out = empty_like(&l);
    if batch * n == 0 {
        return out;
    }
    let elem_type = float_elem_type(&l);
    let (units, slots) = cholesky_layout(n);
    let address_type = address_type(&[&l, &grad, &out]);
    cholesky_backward_tile_kernel::launch(
        &out.client,
        cube_count(&l, batch.div_ceil(slots)),
        CubeDim::new_1d((units * slots) as u32),
        address_type,
        l.clone().into_buffer_arg(),
        grad.clone().into_buffer_arg(),
        out.clone().into_buffer_arg(),
        batch,
        n,
        units,
        slots,
        elem_type,
    );
    out
}
