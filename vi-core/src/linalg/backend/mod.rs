//! The linear-algebra backend extension: the few primitive kernels everything in
//! [`crate::linalg`] is built from, dispatched on the tensor's runtime device.
//!
//! | op | CPU (flex, ndarray) | CubeCL (wgpu, cuda) | Autodiff |
//! |---|---|---|---|
//! | [`LinalgBackend::cholesky`] | [`packed`](host::packed) for `n ≤ 64`, else [`host`] (faer, rayon over the batch) | [`cube`]: shared-memory tile for `n ≤ 64`, [`blocked`] (tiles + matmul) above | Murray (2016) |
//! | [`LinalgBackend::solve_triangular`] | [`packed`](host::packed) for `n, k ≤ 64`, [`wide`](host::wide) for `16 ≤ n ≤ 256`, `k ≥ 2n` (block-column GEMMs), else [`host`] (faer) | [`cube`]: shared-memory tile for `n ≤ 64`, [`blocked`] above | standard adjoint |
//! | [`LinalgBackend::solve_triangular_grad_t`] | [`packed`](host::packed) / [`wide`](host::wide) / [`host`] (fused, the triangle only) | [`cube`]: one kernel, one unit per entry of the triangle | — |
//! | [`LinalgBackend::triangular_matmul`] | [`wide`](host::wide) for `16 ≤ n ≤ 256`, `k ≥ 2n`, else [`host`] (faer, half the flops) | composed (mask + matmul) | both adjoints |
//! | [`LinalgBackend::column_norm_change`] | composed: [`LinalgBackend::triangular_matmul`] and [`LinalgBackend::column_squares_change`] (Burn's vectorised products and sums, faster here than a scalar host pass) | composed: the same two ([`cube`]: one kernel for the column sums) | through the two primitives above |
//! | [`LinalgBackend::cholesky_backward`] | Murray's reverse mode: [`packed`](host::packed) unblocked for `n ≤ 64`, [`host`] blocked (faer GEMMs) above | [`cube`]: shared-memory reverse mode for `n ≤ 64`, composed of the ops above beyond | — |
//!
//! All ops take row-major tensors with any number of leading batch dimensions; the public wrappers
//! in [`crate::linalg`] check shapes, broadcast batch dimensions and turn failure flags into typed
//! errors. The sparse-GP fused ops built on these primitives are their own extension,
//! [`crate::sparse_gp::backend::SparseGpBackend`].

// `NdArray` is deprecated upstream in favour of flex, but users still ask for it.
#![allow(deprecated)]

use burn::backend::{Backend, backend_extension, tensor::FloatTensor};

mod autodiff;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
pub(crate) mod blocked;
pub(crate) mod compose;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
pub(crate) mod cube;
pub(crate) mod host;

/// Primitive batched linear-algebra kernels, one implementation per backend family.
///
/// Users call the functions in [`crate::linalg`]; this trait is public so that a new backend can
/// provide its own kernels.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    Fusion: cfg(feature = "fusion"),
    Autodiff
)]
pub trait LinalgBackend: Backend {
    /// Lower Cholesky factor `L` of each `[.., n, n]` matrix `A + shift · I` (only the lower
    /// triangle of `A` is read; the shift is a constant of the reverse mode, which is the plain
    /// factor's: a jitter costs no separate addition or identity matrix).
    ///
    /// The upper triangle of the result is zero. When the leading minor of order `j + 1` of a batch
    /// element is not positive definite (or not finite), the lower-triangle entries of columns
    /// `j..n` of that element's factor are NaN (the CPU kernels also blank rows `j..n`), so the
    /// number of finite diagonal entries is the order of the largest positive-definite leading
    /// minor. Callers turn that into [`crate::linalg::LinalgError::NotPositiveDefinite`].
    #[fusion(dtype = a, shape = a)]
    fn cholesky(a: FloatTensor<Self>, shift: f64) -> FloatTensor<Self> {
        host::cholesky::<Self>(a, shift)
    }

    /// Solves `op(T) X = B` for `X`, with `T` `[.., n, n]` triangular (only the triangle named by
    /// `upper` is read), `B` `[.., n, k]` with the same batch dimensions, and `op(T) = Tᵀ` when
    /// `transpose`, else `T`.
    #[fusion(dtype = b, shape = b)]
    fn solve_triangular(
        t: FloatTensor<Self>,
        b: FloatTensor<Self>,
        upper: bool,
        transpose: bool,
    ) -> FloatTensor<Self> {
        host::solve_triangular::<Self>(t, b, upper, transpose)
    }

    /// `T̄ = −tri(B̄ Xᵀ)` (`−tri(X B̄ᵀ)` when `transpose`): the gradient of
    /// [`Self::solve_triangular`] with respect to `T`, kept on the triangle the solve reads, from
    /// `B̄ = op(T)⁻ᵀ X̄` and the solution `X` (both `[.., n, k]`). Output `[.., n, n]`.
    #[fusion(dtype = grad_b, shape = compose::square_shape(grad_b))]
    fn solve_triangular_grad_t(
        grad_b: FloatTensor<Self>,
        x: FloatTensor<Self>,
        upper: bool,
        transpose: bool,
    ) -> FloatTensor<Self> {
        compose::solve_triangular_grad_t::<Self>(grad_b, x, upper, transpose)
    }

    /// `op(T) B`, with `T` `[.., n, n]` triangular (only the triangle named by `upper` is read; the
    /// other is taken as zero), `B` `[.., n, k]` with the same batch dimensions, and `op(T) = Tᵀ`
    /// when `transpose`, else `T`.
    #[fusion(dtype = b, shape = b)]
    fn triangular_matmul(
        t: FloatTensor<Self>,
        b: FloatTensor<Self>,
        upper: bool,
        transpose: bool,
    ) -> FloatTensor<Self> {
        compose::triangular_matmul::<Self>(t, b, upper, transpose)
    }

    /// `‖op(T) bⱼ‖² − ‖bⱼ‖²` for every column `bⱼ` of `B` (`[.., n, k]`), output `[.., 1, k]`:
    /// the diagonal of `Bᵀ (op(T)ᵀ op(T) − I) B`, with `T` and `op` as in
    /// [`Self::triangular_matmul`].
    #[fusion(dtype = b, shape = compose::column_shape(b))]
    fn column_norm_change(
        t: FloatTensor<Self>,
        b: FloatTensor<Self>,
        upper: bool,
        transpose: bool,
    ) -> FloatTensor<Self> {
        compose::column_norm_change::<Self>(t, b, upper, transpose)
    }

    /// `Σᵢ pᵢⱼ² − Σᵢ bᵢⱼ²` for every column `j` of `p` and `b` (one shape `[.., n, k]`), output
    /// `[.., 1, k]`: the tail of [`Self::column_norm_change`] once `p = op(T) B` is formed.
    #[fusion(dtype = b, shape = compose::column_shape(b))]
    fn column_squares_change(p: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        compose::column_squares_change::<Self>(p, b)
    }

    /// Gradient of a scalar objective with respect to `A` (symmetric convention, as torch and JAX)
    /// given the factor `L = cholesky(A)` and the gradient `Ḡ` with respect to `L`
    /// (Murray 2016, "Differentiation of the Cholesky decomposition", eq. 10):
    ///
    /// `P = Φ(Lᵀ Ḡ)`, `S = L⁻ᵀ P L⁻¹`, `Ā = ½ (S + Sᵀ)`,
    ///
    /// where `Φ` keeps the lower triangle and halves the diagonal. Only `tril(Ḡ)` matters.
    #[fusion(dtype = l, shape = l)]
    fn cholesky_backward(l: FloatTensor<Self>, grad_l: FloatTensor<Self>) -> FloatTensor<Self> {
        compose::cholesky_backward::<Self>(l, grad_l)
    }
}

/// The CPU backends run the fused host kernels; `cholesky` and `solve_triangular` are the
/// trait's (host) defaults, which flex replaces with versions that read a shared input in place.
#[cfg(any(feature = "flex", feature = "ndarray"))]
macro_rules! host_backend {
    ($backend:ty, cholesky = $cholesky:path, solve_triangular = $solve:path) => {
        host_backend!(@impl $backend, {
            fn cholesky(a: FloatTensor<Self>, shift: f64) -> FloatTensor<Self> {
                $cholesky(a, shift)
            }

            fn solve_triangular(
                t: FloatTensor<Self>,
                b: FloatTensor<Self>,
                upper: bool,
                transpose: bool,
            ) -> FloatTensor<Self> {
                $solve(t, b, upper, transpose)
            }
        });
    };
    ($backend:ty) => {
        host_backend!(@impl $backend, {});
    };
    (@impl $backend:ty, { $($extra:item)* }) => {
        impl LinalgBackend for $backend {
            $($extra)*

            fn solve_triangular_grad_t(
                grad_b: FloatTensor<Self>,
                x: FloatTensor<Self>,
                upper: bool,
                transpose: bool,
            ) -> FloatTensor<Self> {
                host::solve_triangular_grad_t::<Self>(grad_b, x, upper, transpose)
            }

            fn cholesky_backward(
                l: FloatTensor<Self>,
                grad_l: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host::cholesky_backward::<Self>(l, grad_l)
            }

            fn triangular_matmul(
                t: FloatTensor<Self>,
                b: FloatTensor<Self>,
                upper: bool,
                transpose: bool,
            ) -> FloatTensor<Self> {
                host::triangular_matmul::<Self>(t, b, upper, transpose)
            }
        }
    };
}

#[cfg(feature = "flex")]
host_backend!(
    burn::backend::Flex,
    cholesky = host::cholesky_flex,
    solve_triangular = host::solve_triangular_flex
);
#[cfg(feature = "ndarray")]
host_backend!(burn::backend::NdArray);

#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl LinalgBackend for burn_cubecl::CubeBackend {
    fn cholesky(a: FloatTensor<Self>, shift: f64) -> FloatTensor<Self> {
        cube::cholesky(a, shift)
    }

    fn solve_triangular(
        t: FloatTensor<Self>,
        b: FloatTensor<Self>,
        upper: bool,
        transpose: bool,
    ) -> FloatTensor<Self> {
        cube::solve_triangular(t, b, upper, transpose)
    }

    fn cholesky_backward(l: FloatTensor<Self>, grad_l: FloatTensor<Self>) -> FloatTensor<Self> {
        cube::cholesky_backward(l, grad_l)
    }

    fn solve_triangular_grad_t(
        grad_b: FloatTensor<Self>,
        x: FloatTensor<Self>,
        upper: bool,
        transpose: bool,
    ) -> FloatTensor<Self> {
        cube::solve_triangular_grad_t(grad_b, x, upper, transpose)
    }

    fn column_squares_change(p: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        cube::column_squares_change(p, b)
    }
}
