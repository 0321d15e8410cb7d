//! CubeCL kernels (wgpu, cuda) for the linear-algebra extension.
//!
//! Both kernels are the straightforward ones: each unit works sequentially in global memory on
//! one batch element (Cholesky) or on one right-hand-side column of one batch element (triangular
//! solve). Inputs are made contiguous first, so a `[.., r, c]` tensor is read as a flat buffer of
//! row-major `r × c` matrices. The element type is chosen at launch from the tensor's dtype.

use burn::backend::cubecl::dtype_to_storage_type;
use burn::backend::tensor::FloatTensor;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use cubecl::{calculate_cube_count_elemwise, prelude::*};

/// Units per cube; the cube count covers the work items with one unit each.
const CUBE_SIZE: u32 = 64;

/// Lower Cholesky factor of each row-major `n × n` matrix in `a`, one unit per batch element.
///
/// Left-looking (Cholesky–Crout), column by column: the pivot of column `j` is
/// `a[j][j] - Σ_k L[j][k]²` and the entries below it are
/// `(a[i][j] - Σ_k L[i][k] L[j][k]) / L[j][j]`, with `k < j`. Only the lower triangle of `a` is
/// read, and the strict upper triangle of `out` is set to zero. From the first column whose pivot
/// is not positive and finite on, every lower-triangle entry of the column is NaN.
#[cube(launch, address_type = "dynamic")]
fn cholesky_kernel<F: Float>(
    a: &[F],
    out: &mut [F],
    n: usize,
    batch: usize,
    #[define(F)] _dtype: ElemType,
) {
    let elem = ABSOLUTE_POS;
    if elem >= batch {
        terminate!();
    }
    let base = elem * n * n;
    let zero = F::new(0.0);
    let nan = F::new(f32::NAN);

    for i in 0..n {
        for c in i + 1..n {
            out[base + i * n + c] = zero;
        }
    }

    let mut failed = false;
    for j in 0..n {
        let row_j = base + j * n;
        let mut pivot = a[row_j + j];
        for k in 0..j {
            let l = out[row_j + k];
            pivot -= l * l;
        }
        // False for NaN as well.
        let positive_finite = pivot > zero && pivot <= F::max_value();
        failed = failed || !positive_finite;

        if failed {
            for i in j..n {
                out[base + i * n + j] = nan;
            }
        } else {
            let diag = pivot.sqrt();
            out[row_j + j] = diag;
            for i in j + 1..n {
                let row_i = base + i * n;
                let mut s = a[row_i + j];
                for k in 0..j {
                    s -= out[row_i + k] * out[row_j + k];
                }
                out[row_i + j] = s / diag;
            }
        }
    }
}

/// Solves `op(T) X = B` for one column of `X` per unit, with `T` row-major `[batch, n, n]` and
/// `B`, `X` row-major `[batch, n, k]`.
///
/// `op(T)` is `Tᵀ` when `transpose`, else `T`; `lower` says whether `op(T)` is lower-triangular
/// (forward substitution) or upper-triangular (back substitution). Only the triangle of `T` that
/// holds `op(T)`'s triangle is read.
#[cube(launch, address_type = "dynamic")]
fn solve_triangular_kernel<F: Float>(
    t: &[F],
    b: &[F],
    x: &mut [F],
    n: usize,
    k: usize,
    total: usize,
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

    for step in 0..n {
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
fn float_elem_type(tensor: &CubeTensor) -> ElemType {
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
fn empty_like(like: &CubeTensor) -> CubeTensor {
    empty_device_contiguous_dtype(
        like.client.clone(),
        like.device.clone(),
        like.meta.shape().clone(),
        like.dtype,
    )
}

/// One unit per work item, [`CUBE_SIZE`] units per cube.
fn launch_dims(tensor: &CubeTensor, work_items: usize) -> (CubeCount, CubeDim) {
    let cube_dim = CubeDim::new_1d(CUBE_SIZE);
    let count = calculate_cube_count_elemwise(&tensor.client, work_items, cube_dim);
    (count, cube_dim)
}

pub(crate) fn cholesky(a: FloatTensor<CubeBackend>) -> FloatTensor<CubeBackend> {
    let a = into_contiguous(a);
    let (batch, n, cols) = batch_and_matrix(&a);
    assert_eq!(n, cols, "cholesky needs square matrices");
    let elem_type = float_elem_type(&a);
    let out = empty_like(&a);
    if batch * n == 0 {
        return out;
    }

    let (count, cube_dim) = launch_dims(&a, batch);
    let address_type = a.required_address_type().max(out.required_address_type());
    cholesky_kernel::launch(
        &out.client,
        count,
        cube_dim,
        address_type,
        a.into_buffer_arg(),
        out.clone().into_buffer_arg(),
        n,
        batch,
        elem_type,
    );
    out
}

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
    assert_eq!(batch, b_batch, "solve_triangular needs matching batch sizes");
    assert_eq!(n, b_rows, "solve_triangular needs B with as many rows as T");
    assert_eq!(t.dtype, b.dtype, "solve_triangular needs T and B of one dtype");
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
    solve_triangular_kernel::launch(
        &x.client,
        count,
        cube_dim,
        address_type,
        t.into_buffer_arg(),
        b.into_buffer_arg(),
        x.clone().into_buffer_arg(),
        n,
        k,
        total,
        upper == transpose,
        transpose,
        elem_type,
    );
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
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
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
        Tensor::from_data(TensorData::new(data.to_vec(), shape), (&device(), dtype))
    }

    fn download(tensor: Tensor<3>) -> Vec<f64> {
        tensor.into_data().convert::<f64>().to_vec().unwrap()
    }

    fn cholesky(a: Tensor<3>) -> Vec<f64> {
        download(Tensor::from_dispatch(<Dispatch as LinalgBackend>::cholesky(
            a.into_dispatch(),
        )))
    }

    fn solve(t: Tensor<3>, b: Tensor<3>, upper: bool, transpose: bool) -> Vec<f64> {
        download(Tensor::from_dispatch(
            <Dispatch as LinalgBackend>::solve_triangular(
                t.into_dispatch(),
                b.into_dispatch(),
                upper,
                transpose,
            ),
        ))
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
        for n in [1, 5, 33, 70] {
            let (spd, garbage) = spd_with_garbage(n);
            let expected: Vec<f64> = spd
                .chunks(n * n)
                .flat_map(|a| reference_cholesky(a, n))
                .collect();
            let actual = cholesky(upload(&garbage, [BATCH, n, n], dtype));
            assert_close(&actual, &expected, tolerance(dtype), &format!("{dtype:?} n={n}"));

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
            assert_close(&actual, &expected, tolerance(dtype), &format!("{dtype:?} n={n} view"));
        }
    }

    fn check_cholesky_failure(dtype: DType) {
        let n = 4;
        let (mut spd, _) = spd_with_garbage(n);
        // Element 1 is [[1, 2], [2, 1]] ⊕ I₂: its order-2 leading minor is not PD.
        let bad = &mut spd[n * n..2 * n * n];
        bad.fill(0.0);
        bad[0] = 1.0;
        bad[n] = 2.0;
        bad[1] = 2.0;
        bad[n + 1] = 1.0;
        bad[2 * n + 2] = 1.0;
        bad[3 * n + 3] = 1.0;
        let actual = cholesky(upload(&spd, [BATCH, n, n], dtype));
        for e in [0, 2] {
            let o = e * n * n;
            let expected = reference_cholesky(&spd[o..o + n * n], n);
            assert_close(&actual[o..o + n * n], &expected, tolerance(dtype), "good element");
        }
        let l = &actual[n * n..2 * n * n];
        assert_close(&[l[0], l[n], l[2 * n], l[3 * n]], &[1.0, 2.0, 0.0, 0.0], 0.0, "column 0");
        for i in 0..n {
            for c in 0..n {
                let value = l[i * n + c];
                match (c > i, c >= 1) {
                    (true, _) => assert_eq!(value, 0.0, "upper ({i}, {c})"),
                    (false, true) => assert!(value.is_nan(), "({i}, {c}) should be NaN"),
                    (false, false) => assert!(value.is_finite()),
                }
            }
        }
    }

    fn check_solve(dtype: DType) {
        let k = 3;
        for n in [1, 5, 33, 70] {
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
                            product[e * n * k + i * k + c] = (0..n)
                                .map(|j| at(e, i, j) * x[e * n * k + j * k + c])
                                .sum();
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
