//! CubeCL kernels (wgpu, cuda) for the linear-algebra extension.
//!
//! Both factorisations are split into several launches so that each unit runs only `O(n)` loop
//! iterations: Lavapipe (Mesa's llvmpipe Vulkan driver) caps the loop iterations of one shader
//! invocation at 65535 in total (its `LP_MAX_TGSI_LOOP_ITERATIONS` loop limiter, shared by all
//! loops of the shader) and silently leaves the loops once the cap is reached, so a kernel that
//! runs a whole `O(n³)` factorisation in one unit stops part-way for `n ≳ 70`. The Cholesky factor
//! takes one launch per column, with one unit per row of the column of each batch element; the
//! triangular solve takes one launch per block of rows, with one unit per right-hand-side column
//! of each batch element. Launches on one stream run in order, so each one sees the writes of the
//! previous ones, and nothing is read back on the host. Inputs are made contiguous first, so a
//! `[.., r, c]` tensor is read as a flat buffer of row-major `r × c` matrices. The element type is
//! chosen at launch from the tensor's dtype.

use burn::backend::cubecl::dtype_to_storage_type;
use burn::backend::tensor::FloatTensor;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use cubecl::{calculate_cube_count_elemwise, prelude::*};

/// Units per cube; the cube count covers the work items with one unit each.
const CUBE_SIZE: u32 = 64;

/// Most inner-loop iterations one unit of [`solve_triangular_kernel`] runs in one launch, well
/// below Lavapipe's per-invocation cap of 65535 (see the module documentation).
const SOLVE_ITERATIONS_PER_LAUNCH: usize = 16384;

/// Whether `x` is positive and finite; false for NaN as well.
#[cube]
fn positive_finite<F: Float>(x: F) -> bool {
    x > F::new(0.0) && x <= F::max_value()
}

/// Column `j` of the lower Cholesky factor of each row-major `n × n` matrix in `a`, one unit per
/// row `i` in `j..n` of each batch element; launched for `j = 0, 1, …, n - 1` in turn.
///
/// Left-looking (Cholesky–Crout): with `k < j`, the entries below the diagonal are
/// `L[i][j] = (a[i][j] - Σ_k L[i][k] L[j][k]) / L[j][j]`, and the unit of row `j + 1` then also
/// computes the next diagonal entry `L[j+1][j+1] = sqrt(a[j+1][j+1] - Σ_{k ≤ j} L[j+1][k]²)`, so
/// the diagonal of column `j` is already in `out` when column `j` is launched (except for column
/// 0, whose diagonal the launch for `j = 0` computes from `a[0][0]` in every unit). The units of
/// rows `i > j` also zero the upper-triangle entry `(j, i)`. Only the lower triangle of `a` is
/// read. A diagonal entry whose pivot is not positive and finite, or whose previous diagonal entry
/// is not, is set to `nan` (passed at launch because WGSL has no NaN literal), and so is every
/// entry below a `nan` diagonal entry: from the first failing column on, every lower-triangle
/// entry is `nan`.
#[cube(launch, address_type = "dynamic")]
fn cholesky_column_kernel<F: Float>(
    a: &[F],
    out: &mut [F],
    n: usize,
    j: usize,
    batch: usize,
    nan: InputScalar,
    #[define(F)] _dtype: ElemType,
) {
    let rows = n - j;
    let unit = ABSOLUTE_POS;
    if unit >= batch * rows {
        terminate!();
    }
    let elem = unit / rows;
    let i = j + unit % rows;
    let base = elem * n * n;
    let row_j = base + j * n;
    let nan = nan.get::<F>();

    let mut diag = nan;
    if j == 0 {
        let pivot = a[base];
        if positive_finite::<F>(pivot) {
            diag = pivot.sqrt();
        }
        if i == 0 {
            out[base] = diag;
        }
    } else {
        diag = out[row_j + j];
    }
    let valid = positive_finite::<F>(diag);

    if i > j {
        let row_i = base + i * n;
        let mut s = a[row_i + j];
        for k in 0..j {
            s -= out[row_i + k] * out[row_j + k];
        }
        let mut l = nan;
        if valid {
            l = s / diag;
        }
        out[row_i + j] = l;
        out[row_j + i] = F::new(0.0);

        if i == j + 1 {
            let mut pivot = a[row_i + i];
            for k in 0..j {
                let v = out[row_i + k];
                pivot -= v * v;
            }
            pivot -= l * l;
            let mut next = nan;
            if valid && positive_finite::<F>(pivot) {
                next = pivot.sqrt();
            }
            out[row_i + i] = next;
        }
    }
}

/// Steps `start..end` of `op(T) X = B`, for one column of `X` per unit, with `T` row-major
/// `[batch, n, n]` and `B`, `X` row-major `[batch, n, k]`; launched for consecutive step ranges
/// covering `0..n`.
///
/// `op(T)` is `Tᵀ` when `transpose`, else `T`; `lower` says whether `op(T)` is lower-triangular
/// (forward substitution, step `s` is row `s`) or upper-triangular (back substitution, step `s` is
/// row `n - 1 - s`). Only the triangle of `T` that holds `op(T)`'s triangle is read.
#[cube(launch, address_type = "dynamic")]
fn solve_triangular_kernel<F: Float>(
    t: &[F],
    b: &[F],
    x: &mut [F],
    n: usize,
    k: usize,
    total: usize,
    start: usize,
    end: usize,
    #[comptime] lower: bool,
    #[comptime] transpose: bool,
    #[define(F)] _dtype: ElemType,
) {
    let unit = ABSOLUTE_POS;
    if unit >= total {
        terminate!();
    }
    let elem = unit / k;
    let col = unit % k;
    let t_base = elem * n * n;
    let b_base = elem * n * k + col;

    for step in start..end {
        let i = if lower { step } else { n - 1 - step };
        let mut s = b[b_base + i * k];
        if lower {
            for j in 0..i {
                s -= op_t::<F>(t, t_base, n, i, j, transpose) * x[b_base + j * k];
            }
        } else {
            for j in i + 1..n {
                s -= op_t::<F>(t, t_base, n, i, j, transpose) * x[b_base + j * k];
            }
        }
        x[b_base + i * k] = s / op_t::<F>(t, t_base, n, i, i, transpose);
    }
}

/// Entry `(i, j)` of `op(T)` for the matrix of `t` starting at `base`.
#[cube]
fn op_t<F: Float>(
    t: &[F],
    base: usize,
    n: usize,
    i: usize,
    j: usize,
    #[comptime] transpose: bool,
) -> F {
    if transpose {
        t[base + j * n + i]
    } else {
        t[base + i * n + j]
    }
}

/// The kernel element type for a float tensor.
pub(crate) fn float_elem_type(tensor: &CubeTensor) -> ElemType {
    assert!(
        tensor.dtype.is_float(),
        "linalg kernels need a float tensor, got {:?}",
        tensor.dtype
    );
    dtype_to_storage_type(tensor.dtype)
}

/// Splits a `[.., r, c]` shape into its batch size and `(r, c)`.
fn batch_and_matrix(tensor: &CubeTensor) -> (usize, usize, usize) {
    let shape = tensor.meta.shape();
    let rank = shape.num_dims();
    assert!(rank >= 2, "linalg kernels need a [.., rows, cols] tensor");
    let (rows, cols) = (shape[rank - 2], shape[rank - 1]);
    let batch: usize = shape.iter().take(rank - 2).product();
    (batch, rows, cols)
}

/// A contiguous output tensor with `like`'s shape, dtype, client and device.
pub(crate) fn empty_like(like: &CubeTensor) -> CubeTensor {
    empty_device_contiguous_dtype(
        like.client.clone(),
        like.device.clone(),
        like.meta.shape().clone(),
        like.dtype,
    )
}

/// One unit per work item, [`CUBE_SIZE`] units per cube.
pub(crate) fn launch_dims(tensor: &CubeTensor, work_items: usize) -> (CubeCount, CubeDim) {
    let cube_dim = CubeDim::new_1d(CUBE_SIZE);
    let count = calculate_cube_count_elemwise(&tensor.client, work_items, cube_dim);
    (count, cube_dim)
}

/// [`LinalgBackend::cholesky`](super::LinalgBackend::cholesky): [`cholesky_column_kernel`] once
/// per column, one unit per row of the column of each batch element.
pub(crate) fn cholesky(a: FloatTensor<CubeBackend>) -> FloatTensor<CubeBackend> {
    let a = into_contiguous(a);
    let (batch, n, cols) = batch_and_matrix(&a);
    assert_eq!(n, cols, "cholesky needs square matrices");
    let elem_type = float_elem_type(&a);
    let out = empty_like(&a);
    if batch * n == 0 {
        return out;
    }

    let address_type = a.required_address_type().max(out.required_address_type());
    for j in 0..n {
        let (count, cube_dim) = launch_dims(&a, batch * (n - j));
        cholesky_column_kernel::launch(
            &out.client,
            count,
            cube_dim,
            address_type,
            a.clone().into_buffer_arg(),
            out.clone().into_buffer_arg(),
            n,
            j,
            batch,
            InputScalar::new(f64::NAN, elem_type),
            elem_type,
        );
    }
    out
}

/// [`LinalgBackend::solve_triangular`](super::LinalgBackend::solve_triangular):
/// [`solve_triangular_kernel`], one unit per right-hand-side column of each batch element, once
/// per block of rows.
pub(crate) fn solve_triangular(
    t: FloatTensor<CubeBackend>,
    b: FloatTensor<CubeBackend>,
    upper: bool,
    transpose: bool,
) -> FloatTensor<CubeBackend> {
    let t = into_contiguous(t);
    let b = into_contiguous(b);
    let (batch, n, cols) = batch_and_matrix(&t);
    let (b_batch, b_rows, k) = batch_and_matrix(&b);
    assert_eq!(n, cols, "solve_triangular needs square triangular matrices");
    assert_eq!(
        batch, b_batch,
        "solve_triangular needs matching batch sizes"
    );
    assert_eq!(n, b_rows, "solve_triangular needs B with as many rows as T");
    assert_eq!(
        t.dtype, b.dtype,
        "solve_triangular needs T and B of one dtype"
    );
    let elem_type = float_elem_type(&b);
    let x = empty_like(&b);
    let total = batch * k;
    if total * n == 0 {
        return x;
    }

    let (count, cube_dim) = launch_dims(&b, total);
    let address_type = t
        .required_address_type()
        .max(b.required_address_type())
        .max(x.required_address_type());
    // Each step runs fewer than `n` inner iterations.
    let steps_per_launch = (SOLVE_ITERATIONS_PER_LAUNCH / n).max(1);
    for start in (0..n).step_by(steps_per_launch) {
        solve_triangular_kernel::launch(
            &x.client,
            count.clone(),
            cube_dim,
            address_type,
            t.clone().into_buffer_arg(),
            b.clone().into_buffer_arg(),
            x.clone().into_buffer_arg(),
            n,
            k,
            total,
            start,
            (start + steps_per_launch).min(n),
            upper == transpose,
            transpose,
            elem_type,
        );
    }
    x
}

#[cfg(test)]
mod tests {
    use crate::linalg::backend::LinalgBackend;
    use burn::backend::Dispatch;
    use burn::tensor::{DType, Device, Tensor, TensorData};

    const BATCH: usize = 3;

    fn device() -> Device {
        Device::wgpu(Default::default())
    }

    /// Deterministic values in `[-1, 1)`.
    fn values(len: usize, seed: u64) -> Vec<f64> {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    fn upload(data: &[f64], shape: [usize; 3], dtype: DType) -> Tensor<3> {
        let tensor = Tensor::from_data(TensorData::new(data.to_vec(), shape), (&device(), dtype));
        assert_eq!(tensor.dtype(), dtype);
        tensor
    }

    /// The host values of `result`, which must have `dtype`.
    fn download(result: burn::backend::DispatchTensor, dtype: DType) -> Vec<f64> {
        let tensor = Tensor::<3>::from_dispatch(result);
        assert_eq!(tensor.dtype(), dtype);
        tensor.into_data().convert::<f64>().to_vec().unwrap()
    }

    fn cholesky(a: Tensor<3>) -> Vec<f64> {
        let dtype = a.dtype();
        download(
            <Dispatch as LinalgBackend>::cholesky(a.into_dispatch()),
            dtype,
        )
    }

    fn solve(t: Tensor<3>, b: Tensor<3>, upper: bool, transpose: bool) -> Vec<f64> {
        let dtype = b.dtype();
        let (t, b) = (t.into_dispatch(), b.into_dispatch());
        download(
            <Dispatch as LinalgBackend>::solve_triangular(t, b, upper, transpose),
            dtype,
        )
    }

    /// `BATCH` SPD matrices `M Mᵀ + n I` with NaN in the strict upper triangle.
    fn spd_with_garbage(n: usize) -> (Vec<f64>, Vec<f64>) {
        let m = values(BATCH * n * n, n as u64);
        let mut spd = vec![0.0; BATCH * n * n];
        for e in 0..BATCH {
            let o = e * n * n;
            for i in 0..n {
                for j in 0..n {
                    let dot: f64 = (0..n).map(|k| m[o + i * n + k] * m[o + j * n + k]).sum();
                    spd[o + i * n + j] = dot + if i == j { n as f64 } else { 0.0 };
                }
            }
        }
        let mut garbage = spd.clone();
        for e in 0..BATCH {
            for i in 0..n {
                for j in i + 1..n {
                    garbage[e * n * n + i * n + j] = f64::NAN;
                }
            }
        }
        (spd, garbage)
    }

    /// Host Cholesky of one matrix.
    fn reference_cholesky(a: &[f64], n: usize) -> Vec<f64> {
        let mut l = vec![0.0_f64; n * n];
        for j in 0..n {
            let pivot = a[j * n + j] - (0..j).map(|k| l[j * n + k].powi(2)).sum::<f64>();
            l[j * n + j] = pivot.sqrt();
            for i in j + 1..n {
                let s = a[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
                l[i * n + j] = s / l[j * n + j];
            }
        }
        l
    }

    fn assert_close(actual: &[f64], expected: &[f64], tol: f64, what: &str) {
        assert_eq!(actual.len(), expected.len(), "{what}: length");
        for (idx, (a, e)) in actual.iter().zip(expected).enumerate() {
            assert!(
                (a - e).abs() <= tol * (1.0 + e.abs()),
                "{what}: entry {idx} is {a}, expected {e}"
            );
        }
    }

    fn tolerance(dtype: DType) -> f64 {
        if dtype == DType::F64 { 1e-10 } else { 1e-4 }
    }

    fn check_cholesky(dtype: DType) {
        // Sizes past 70 used to stop part-way on Lavapipe (see the module documentation).
        for n in [1, 5, 33, 70, 130, 256] {
            let (spd, garbage) = spd_with_garbage(n);
            let expected: Vec<f64> = spd
                .chunks(n * n)
                .flat_map(|a| reference_cholesky(a, n))
                .collect();
            let actual = cholesky(upload(&garbage, [BATCH, n, n], dtype));
            assert_close(
                &actual,
                &expected,
                tolerance(dtype),
                &format!("{dtype:?} n={n}"),
            );

            // A transposed view: the factor reads the lower triangle of the view.
            let mut transposed = vec![f64::NAN; BATCH * n * n];
            for e in 0..BATCH {
                for i in 0..n {
                    for j in 0..=i {
                        transposed[e * n * n + j * n + i] = spd[e * n * n + i * n + j];
                    }
                }
            }
            let view = upload(&transposed, [BATCH, n, n], dtype).swap_dims(1, 2);
            let actual = cholesky(view);
            assert_close(
                &actual,
                &expected,
                tolerance(dtype),
                &format!("{dtype:?} n={n} view"),
            );
        }
    }

    /// Element 0 is SPD; element 1 is `[[1, 2], [2, 1]] ⊕ I₂` and element 2 an SPD matrix with
    /// `+∞` at `(1, 1)`: both fail at column 1, so their columns 1.. are NaN.
    fn check_cholesky_failure(dtype: DType) {
        let n = 4;
        let (mut spd, _) = spd_with_garbage(n);
        let not_pd = &mut spd[n * n..2 * n * n];
        not_pd.fill(0.0);
        for (idx, value) in [(0, 1.0), (1, 2.0), (n, 2.0), (n + 1, 1.0)] {
            not_pd[idx] = value;
        }
        not_pd[2 * n + 2] = 1.0;
        not_pd[3 * n + 3] = 1.0;
        spd[2 * n * n + n + 1] = f64::INFINITY;

        let actual = cholesky(upload(&spd, [BATCH, n, n], dtype));
        let good = reference_cholesky(&spd[..n * n], n);
        assert_close(&actual[..n * n], &good, tolerance(dtype), "good element");
        for e in [1, 2] {
            let (a, l) = (&spd[e * n * n..], &actual[e * n * n..(e + 1) * n * n]);
            for i in 0..n {
                for c in 0..=i {
                    let value = l[i * n + c];
                    if c == 0 {
                        let expected = a[i * n] / a[0].sqrt();
                        assert_close(&[value], &[expected], tolerance(dtype), "column 0");
                    } else {
                        assert!(value.is_nan(), "element {e}: ({i}, {c}) is {value}");
                    }
                }
                assert!(l[i * n + i + 1..(i + 1) * n].iter().all(|&v| v == 0.0));
            }
        }
    }

    fn check_solve(dtype: DType) {
        let k = 3;
        for n in [1, 5, 33, 70, 130, 256, 400] {
            for (upper, transpose) in [(false, false), (false, true), (true, false), (true, true)] {
                let raw = values(BATCH * n * n, 7 + n as u64);
                // The named triangle is diagonally dominant; the other one is NaN.
                let mut t = vec![f64::NAN; BATCH * n * n];
                for e in 0..BATCH {
                    for i in 0..n {
                        for j in 0..n {
                            let idx = e * n * n + i * n + j;
                            if i == j {
                                t[idx] = n as f64 + 1.0 + raw[idx];
                            } else if (j > i) == upper {
                                t[idx] = raw[idx];
                            }
                        }
                    }
                }
                let b = values(BATCH * n * k, 100 + n as u64);
                let x = solve(
                    upload(&t, [BATCH, n, n], dtype),
                    upload(&b, [BATCH, n, k], dtype),
                    upper,
                    transpose,
                );
                // Residual op(T) X - B, with op(T) read from the named triangle only.
                let at = |e: usize, i: usize, j: usize| {
                    let (r, c) = if transpose { (j, i) } else { (i, j) };
                    let named = if upper { c >= r } else { c <= r };
                    if named { t[e * n * n + r * n + c] } else { 0.0 }
                };
                let mut product = vec![0.0; BATCH * n * k];
                for e in 0..BATCH {
                    for i in 0..n {
                        for c in 0..k {
                            product[e * n * k + i * k + c] =
                                (0..n).map(|j| at(e, i, j) * x[e * n * k + j * k + c]).sum();
                        }
                    }
                }
                let what = format!("{dtype:?} n={n} upper={upper} transpose={transpose}");
                assert_close(&product, &b, tolerance(dtype) * n as f64, &what);
            }
        }
    }

    #[test]
    fn cube_cholesky_f32() {
        check_cholesky(DType::F32);
        check_cholesky_failure(DType::F32);
    }

    #[test]
    fn cube_cholesky_f64() {
        check_cholesky(DType::F64);
        check_cholesky_failure(DType::F64);
    }

    #[test]
    fn cube_solve_triangular_f32() {
        check_solve(DType::F32);
    }

    #[test]
    fn cube_solve_triangular_f64() {
        check_solve(DType::F64);
    }
}
