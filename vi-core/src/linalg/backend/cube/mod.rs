//! CubeCL kernels (wgpu, cuda) for the linear-algebra extension.
//!
//! Small matrices (`n ≤ 64`) go to the shared-memory [`tile`] kernels: one launch factors,
//! substitutes or differentiates a whole batch, each cube holding whole matrices. Larger ones go
//! to the [`blocked`](super::blocked) algorithms, which run the tile kernels on the diagonal
//! blocks and leave the `O(n³)` work to the backend's matrix product. The block order is the
//! largest of 64, 32, 16 whose tile fits the device's shared memory (every Vulkan, Metal and
//! CUDA device holds an f64 tile of order 16). Launches on one stream run in order, so nothing
//! is read back on the host, and failure shows as NaN on the factor's diagonal, which the
//! caller reads once per call.
//!
//! Each unit runs `O(n²)` loop iterations at most: Lavapipe (Mesa's llvmpipe Vulkan driver)
//! caps the loop iterations of one shader invocation at 65535 in total (its
//! `LP_MAX_TGSI_LOOP_ITERATIONS` loop limiter, shared by all loops of the shader) and silently
//! leaves the loops once the cap is reached, so a kernel that runs a whole `O(n³)` factorisation
//! in one unit would stop part-way. Inputs are made contiguous first, so a `[.., r, c]` tensor is
//! read as a flat buffer of row-major `r × c` matrices. The element type is chosen at launch
//! from the tensor's dtype.

use burn::backend::tensor::FloatTensor;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;

use super::{blocked, compose};
use crate::cube::batch_and_matrix;

mod columns;
mod tile;
mod triangle_product;

pub(crate) use columns::column_squares_change;
pub(crate) use triangle_product::{MAX_COLUMNS, solve_triangular_grad_t, triangle_product};

/// [`LinalgBackend::cholesky`](super::LinalgBackend::cholesky): the [`tile`] kernel when a tile
/// of order `n` fits, else the [`blocked`] factorisation over tile-sized diagonal blocks.
pub(crate) fn cholesky(a: FloatTensor<CubeBackend>, shift: f64) -> FloatTensor<CubeBackend> {
    let (_, n, cols) = batch_and_matrix(&a);
    assert_eq!(n, cols, "cholesky needs square matrices");
    let order = tile_order(n, |order| tile::cholesky_fits(&a, order));
    if order >= n {
        tile::cholesky(a, shift)
    } else {
        blocked::cholesky::<CubeBackend>(into_contiguous(a), shift, order)
    }
}

/// [`LinalgBackend::solve_triangular`](super::LinalgBackend::solve_triangular): the [`tile`]
/// kernel when a tile of order `n` fits, else [`blocked`] substitution over tile-sized diagonal
/// blocks.
pub(crate) fn solve_triangular(
    t: FloatTensor<CubeBackend>,
    b: FloatTensor<CubeBackend>,
    upper: bool,
    transpose: bool,
) -> FloatTensor<CubeBackend> {
    let (batch, n, cols) = batch_and_matrix(&t);
    let (b_batch, b_rows, _) = batch_and_matrix(&b);
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
    let order = tile_order(n, |order| tile::solve_fits(&t, order));
    if order >= n {
        tile::solve_triangular(t, b, upper, transpose)
    } else {
        blocked::solve_triangular::<CubeBackend>(
            into_contiguous(t),
            into_contiguous(b),
            upper,
            transpose,
            order,
        )
    }
}

/// [`LinalgBackend::cholesky_backward`](super::LinalgBackend::cholesky_backward): the [`tile`]
/// reverse mode when a tile of order `n` fits, else composed from the matrix product and the
/// (tiled or blocked) triangular solves.
pub(crate) fn cholesky_backward(
    l: FloatTensor<CubeBackend>,
    grad: FloatTensor<CubeBackend>,
) -> FloatTensor<CubeBackend> {
    let (_, n, cols) = batch_and_matrix(&l);
    assert_eq!(n, cols, "cholesky_backward needs square factors");
    assert_eq!(
        l.meta.shape(),
        grad.meta.shape(),
        "cholesky_backward needs a gradient of the factor's shape"
    );
    if tile::cholesky_backward_fits(&l, n) {
        tile::cholesky_backward(l, grad)
    } else {
        compose::cholesky_backward::<CubeBackend>(l, grad)
    }
}

/// `n` when a tile of order `n` fits, else the block order of the blocked algorithms: the
/// largest of 64, 32, 16 (below `n`) that fits, and 16 where none is said to.
fn tile_order(n: usize, fits: impl Fn(usize) -> bool) -> usize {
    if fits(n) {
        return n;
    }
    [64, 32]
        .into_iter()
        .find(|&order| order < n && fits(order))
        .unwrap_or(16)
}

#[cfg(test)]
mod tests {
    use crate::linalg::backend::LinalgBackend;
    use burn::backend::Dispatch;
    use burn::tensor::{DType, Device, Tensor, TensorData};

    const BATCH: usize = 3;

    /// The wgpu device on Vulkan (Metal on macOS), its adapter printed once; a missing driver
    /// fails the test with the command that installs one.
    fn device() -> Device {
        static REPORTED: std::sync::Once = std::sync::Once::new();
        let (device, adapter) = crate::device::wgpu_native().unwrap_or_else(|e| panic!("{e}"));
        REPORTED.call_once(|| eprintln!("wgpu kernel tests run on {adapter}"));
        device
    }

    /// Whether the adapter has `f64`; says so when an `f64` test is skipped for want of it.
    fn has_f64(test: &str) -> bool {
        let supported = device().supports_dtype(DType::F64);
        if !supported {
            eprintln!("{test}: skipped, the wgpu adapter has no f64");
        }
        supported
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
            <Dispatch as LinalgBackend>::cholesky(a.into_dispatch(), 0.0),
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
        for n in [1, 5, 12, 33, 70, 130, 256] {
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

    /// Three right-hand sides at every size class, and 70 (more than one partly filled cube of
    /// columns) at a tile and a blocked size.
    fn check_solve(dtype: DType) {
        let cases = [1, 5, 33, 70, 130, 256, 400].map(|n| (n, 3));
        for (n, k) in cases.into_iter().chain([(12, 70), (70, 70)]) {
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
                let what = format!("{dtype:?} n={n} k={k} upper={upper} transpose={transpose}");
                assert_close(&product, &b, tolerance(dtype) * n as f64, &what);
            }
        }
    }

    /// A failure in a later block of the blocked factorisation (`n = 130`: pivot 100 of element
    /// 1 made negative) leaves its first 100 diagonal entries finite and the rest NaN, and the
    /// other elements untouched.
    fn check_blocked_failure(dtype: DType) {
        let n = 130;
        let (mut spd, _) = spd_with_garbage(n);
        spd[n * n + 100 * n + 100] = -1.0;
        let actual = cholesky(upload(&spd, [BATCH, n, n], dtype));
        for e in [0, 2] {
            let expected = reference_cholesky(&spd[e * n * n..(e + 1) * n * n], n);
            let got = &actual[e * n * n..(e + 1) * n * n];
            assert_close(got, &expected, tolerance(dtype), "good element");
        }
        let l = &actual[n * n..2 * n * n];
        let finite = (0..n).filter(|&i| l[i * n + i].is_finite()).count();
        assert_eq!(finite, 100, "{dtype:?}: finite diagonal entries");
        assert!((100..n).all(|i| l[i * n + i].is_nan()));
    }

    /// Host reference of the Cholesky backward, `½(S + Sᵀ)` with `S = L⁻ᵀ Φ(Lᵀ Ḡ) L⁻¹`.
    fn reference_backward(l: &[f64], g: &[f64], n: usize) -> Vec<f64> {
        // Solves `Lᵀ Y = R` for an `n × n` right-hand side, column by column.
        let solve_lt = |r: &[f64]| {
            let mut y = r.to_vec();
            for c in 0..n {
                for i in (0..n).rev() {
                    let s: f64 = (i + 1..n).map(|k| l[k * n + i] * y[k * n + c]).sum();
                    y[i * n + c] = (y[i * n + c] - s) / l[i * n + i];
                }
            }
            y
        };
        let transpose =
            |m: &[f64]| -> Vec<f64> { (0..n * n).map(|i| m[(i % n) * n + i / n]).collect() };
        let mut p = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let v: f64 = (j..n).map(|k| l[k * n + i] * g[k * n + j]).sum();
                p[i * n + j] = if i == j { v / 2.0 } else { v };
            }
        }
        let x = solve_lt(&p);
        let s = transpose(&solve_lt(&transpose(&x)));
        (0..n * n)
            .map(|i| 0.5 * (s[i] + s[(i % n) * n + i / n]))
            .collect()
    }

    /// The tile reverse mode (`n ≤ 64`) and the composed one above it against the host
    /// reference, with garbage in the gradient's strict upper triangle (which must not matter).
    fn check_backward(dtype: DType) {
        for n in [1, 3, 12, 17, 64, 70] {
            let (spd, _) = spd_with_garbage(n);
            let l: Vec<f64> = spd
                .chunks(n * n)
                .flat_map(|a| reference_cholesky(a, n))
                .collect();
            let mut g = values(BATCH * n * n, 31 + n as u64);
            let expected: Vec<f64> = (0..BATCH)
                .flat_map(|e| {
                    let r = e * n * n..(e + 1) * n * n;
                    let mut lower = g[r.clone()].to_vec();
                    for i in 0..n {
                        for j in i + 1..n {
                            lower[i * n + j] = 0.0;
                        }
                    }
                    reference_backward(&l[r], &lower, n)
                })
                .collect();
            for e in 0..BATCH {
                for i in 0..n {
                    for j in i + 1..n {
                        g[e * n * n + i * n + j] = f64::NAN;
                    }
                }
            }
            let result = <Dispatch as LinalgBackend>::cholesky_backward(
                upload(&l, [BATCH, n, n], dtype).into_dispatch(),
                upload(&g, [BATCH, n, n], dtype).into_dispatch(),
            );
            let actual = download(result, dtype);
            let what = format!("{dtype:?} n={n} backward");
            assert_close(&actual, &expected, tolerance(dtype) * n as f64, &what);
        }
    }

    #[test]
    fn cube_cholesky_f32() {
        check_cholesky(DType::F32);
        check_cholesky_failure(DType::F32);
        check_blocked_failure(DType::F32);
    }

    #[test]
    fn cube_cholesky_f64() {
        if !has_f64("cube_cholesky_f64") {
            return;
        }
        check_cholesky(DType::F64);
        check_cholesky_failure(DType::F64);
        check_blocked_failure(DType::F64);
    }

    #[test]
    fn cube_cholesky_backward_f32() {
        check_backward(DType::F32);
    }

    #[test]
    fn cube_cholesky_backward_f64() {
        if !has_f64("cube_cholesky_backward_f64") {
            return;
        }
        check_backward(DType::F64);
    }

    #[test]
    fn cube_solve_triangular_f32() {
        check_solve(DType::F32);
    }

    #[test]
    fn cube_solve_triangular_f64() {
        if !has_f64("cube_solve_triangular_f64") {
            return;
        }
        check_solve(DType::F64);
    }
}
