//! The linear-algebra backend extension: the few primitive kernels everything in
//! [`crate::linalg`] is built from, dispatched on the tensor's runtime device.
//!
//! | op | CPU (flex, ndarray) | CubeCL (wgpu, cuda) | Autodiff |
//! |---|---|---|---|
//! | [`LinalgBackend::cholesky`] | [`packed`] for `n ≤ 64`, else [`host`] (faer, rayon over the batch) | [`cube`]: shared-memory tile for `n ≤ 64`, [`blocked`] (tiles + matmul) above | Murray (2016) |
//! | [`LinalgBackend::solve_triangular`] | [`packed`] for `n, k ≤ 64`, [`wide`] for `16 ≤ n ≤ 256`, `k ≥ 2n` (block-column GEMMs), else [`host`] (faer) | [`cube`]: shared-memory tile for `n ≤ 64`, [`blocked`] above | standard adjoint |
//! | [`LinalgBackend::solve_triangular_grad_t`] | [`packed`] / [`wide`] / [`host`] (fused, the triangle only) | [`cube`]: one kernel, one unit per entry of the triangle | — |
//! | [`LinalgBackend::triangular_matmul`] | [`wide`] for `16 ≤ n ≤ 256`, `k ≥ 2n`, else [`host`] (faer, half the flops) | composed (mask + matmul) | both adjoints |
//! | [`LinalgBackend::column_norm_change`] | composed: [`LinalgBackend::triangular_matmul`] and [`LinalgBackend::column_squares_change`] (Burn's vectorised products and sums, faster here than a scalar host pass) | composed: the same two ([`cube`]: one kernel for the column sums) | through the two primitives above |
//! | [`LinalgBackend::whitened_variance`], [`LinalgBackend::whitened_variance_backward`] | composed: [`LinalgBackend::triangular_matmul`], [`LinalgBackend::column_squares_change`] and a clamp; reverse through [`LinalgBackend::solve_triangular_grad_t`] and [`LinalgBackend::triangular_matmul`] | [`cube`]: one cube per column (the product and the variance), then one kernel for `B̄` and `σ̄₀²` and one for `L̄` | the second op |
//! | [`LinalgBackend::standard_normal_kl`], [`LinalgBackend::standard_normal_kl_grad_factor`], [`LinalgBackend::standard_normal_kl_backward`] | [`host`] one pass (summed in `f64`) | [`cube`]: one cube sums the terms; one kernel per entry for the gradients (the mean's from the diagonal's units) | the third op (both gradients) |
//! | [`LinalgBackend::projected_mean`], [`LinalgBackend::projected_mean_backward`] | composed: a matrix product and a broadcast sum; reverse two products and a row sum | [`cube`]: one kernel, one unit per output; reverse one kernel (a cube per row of `A`) | the second op |
//! | [`LinalgBackend::column_signed_lower`] | [`host`] one pass | [`cube`]: one kernel per entry | itself, with `x = Ḡ` |
//! | [`LinalgBackend::cholesky_backward`] | Murray's reverse mode: [`packed`] unblocked for `n ≤ 64`, [`host`] blocked (faer GEMMs) above | [`cube`]: shared-memory reverse mode for `n ≤ 64`, composed of the ops above beyond | — |
//!
//! All ops take row-major tensors with any number of leading batch dimensions; the public wrappers
//! in [`crate::linalg`] check shapes, broadcast batch dimensions and turn failure flags into typed
//! errors.

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
pub(crate) mod packed;
pub(crate) mod wide;

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

    /// A whitened sparse GP's marginal variances, `vⱼ = max(σ₀²ⱼ + ‖Lᵀ bⱼ‖² − ‖bⱼ‖², 0)` for
    /// every column `bⱼ` of `B` (`[.., n, k]`), the prior variances `σ₀²` (`[.., 1, k]`) and the
    /// factor `L` (`[.., n, n]`, only its lower triangle is read), all with the same batch
    /// dimensions. Returns `(v, P)`: the variances `[.., 1, k]` and the product `P = Lᵀ B`
    /// (`[.., n, k]`) that [`Self::whitened_variance_backward`] reuses.
    #[fusion(meta = compose::whitened_variance_meta)]
    fn whitened_variance(
        l: FloatTensor<Self>,
        b: FloatTensor<Self>,
        prior_variance: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        compose::whitened_variance::<Self>(l, b, prior_variance)
    }

    /// The reverse mode of [`Self::whitened_variance`] given its inputs `L`, `B`, its outputs
    /// `v`, `P = Lᵀ B` and the upstream gradient `ḡ` (`[.., 1, k]`). With `g = ḡ ∘ [v > 0]` (the
    /// gradient stops where the variance is clamped at zero):
    ///
    /// `L̄ = 2 tril(B diag(g) Pᵀ)`, `B̄ = 2 (L P − B) diag(g)`, `σ̄₀² = g`.
    #[fusion(meta = compose::whitened_variance_backward_meta)]
    fn whitened_variance_backward(
        l: FloatTensor<Self>,
        b: FloatTensor<Self>,
        product: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        compose::whitened_variance_backward::<Self>(l, b, product, variance, grad)
    }

    /// `Y[p, n] = C[p, n or 0] + Σₖ W[p, k] A[p or 0, k, n]` for the weights `W` `[P, M]`, the
    /// projection `A` `[1 or P, M, N]` (one shared by the rows of `W`, or one per row) and the
    /// offsets `C` `[P, 1 or N]`; output `[P, N]`. A sparse GP's predictive mean
    /// `m(x) + Aᵀ m_u` for `P` outputs.
    #[fusion(dtype = weights, shape = compose::projected_mean_shape(weights, proj))]
    fn projected_mean(
        weights: FloatTensor<Self>,
        proj: FloatTensor<Self>,
        offset: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        compose::projected_mean::<Self>(weights, proj, offset)
    }

    /// The reverse mode of [`Self::projected_mean`] given the upstream gradient `Ȳ` `[P, N]`:
    /// `(W̄, Ā, c̄)` with `W̄[p, k] = Σₙ Ȳ[p, n] A[p or 0, k, n]` `[P, M]`,
    /// `Ā[p, k, n] = W[p, k] Ȳ[p, n]` (summed over `p` for a shared `A`) in `A`'s shape, and the
    /// row sums `c̄[p] = Σₙ Ȳ[p, n]` `[P, 1]` (a column of offsets' gradient; `Ȳ` itself is a full
    /// offset's).
    #[fusion(meta = compose::projected_mean_backward_meta)]
    fn projected_mean_backward(
        weights: FloatTensor<Self>,
        proj: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        compose::projected_mean_backward::<Self>(weights, proj, grad)
    }

    /// `x`'s lower triangle with column `j` negated where `raw`'s diagonal entry `raw_jj` is
    /// negative, zero above: `out_ij = x_ij sgn(raw_jj)` for `i ≥ j` (`sgn 0 = 1`), for `raw`
    /// and `x` of one shape `[.., n, n]`. With `x = raw` it is the factor with a non-negative
    /// diagonal; with `x = Ḡ` its gradient (the signs are piecewise constant).
    #[fusion(dtype = x, shape = x)]
    fn column_signed_lower(raw: FloatTensor<Self>, x: FloatTensor<Self>) -> FloatTensor<Self> {
        compose::column_signed_lower::<Self>(raw, x)
    }

    /// `KL(N(m, L Lᵀ) ‖ N(0, I)) = ½ (Σ_{i≥j} Lᵢⱼ² + Σᵢ mᵢ² − n) − Σᵢ ln|Lᵢᵢ|` summed over every
    /// batch element, for means `loc` `[.., n]` and factors `l` `[.., n, n]` with the same batch
    /// dimensions (only the lower triangle is read). Output `[1]`.
    #[fusion(dtype = l, shape = compose::scalar_shape())]
    fn standard_normal_kl(loc: FloatTensor<Self>, l: FloatTensor<Self>) -> FloatTensor<Self> {
        compose::standard_normal_kl::<Self>(loc, l)
    }

    /// The gradient of [`Self::standard_normal_kl`] with respect to the factor times `grad`
    /// (`[1]`): `ḡ (tril(L) − diag(1/Lᵢᵢ))`, zero above the diagonal; the shape of `l`.
    #[fusion(dtype = l, shape = l)]
    fn standard_normal_kl_grad_factor(
        l: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        compose::standard_normal_kl_grad_factor::<Self>(l, grad)
    }

    /// Both gradients of [`Self::standard_normal_kl`] times `grad` (`[1]`): `(ḡ m, ḡ (tril(L) −
    /// diag(1/Lᵢᵢ)))`, the shapes of `loc` and `l` (one CubeCL launch for both).
    #[fusion(meta = compose::standard_normal_kl_backward_meta)]
    fn standard_normal_kl_backward(
        loc: FloatTensor<Self>,
        l: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        compose::standard_normal_kl_backward::<Self>(loc, l, grad)
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

            fn standard_normal_kl(
                loc: FloatTensor<Self>,
                l: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host::standard_normal_kl::<Self>(loc, l)
            }

            fn standard_normal_kl_grad_factor(
                l: FloatTensor<Self>,
                grad: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host::standard_normal_kl_grad_factor::<Self>(l, grad)
            }

            fn column_signed_lower(
                raw: FloatTensor<Self>,
                x: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host::column_signed_lower::<Self>(raw, x)
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

    fn projected_mean(
        weights: FloatTensor<Self>,
        proj: FloatTensor<Self>,
        offset: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        cube::projected_mean(weights, proj, offset)
    }

    fn projected_mean_backward(
        weights: FloatTensor<Self>,
        proj: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        cube::projected_mean_backward(weights, proj, grad)
    }

    fn solve_triangular_grad_t(
        grad_b: FloatTensor<Self>,
        x: FloatTensor<Self>,
        upper: bool,
        transpose: bool,
    ) -> FloatTensor<Self> {
        cube::solve_triangular_grad_t(grad_b, x, upper, transpose)
    }

    fn standard_normal_kl(loc: FloatTensor<Self>, l: FloatTensor<Self>) -> FloatTensor<Self> {
        cube::standard_normal_kl(loc, l)
    }

    fn standard_normal_kl_grad_factor(
        l: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        cube::standard_normal_kl_grad_factor(l, grad)
    }

    fn column_signed_lower(raw: FloatTensor<Self>, x: FloatTensor<Self>) -> FloatTensor<Self> {
        cube::column_signed_lower(raw, x)
    }

    fn standard_normal_kl_backward(
        loc: FloatTensor<Self>,
        l: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        cube::standard_normal_kl_backward(loc, l, grad)
    }

    fn column_squares_change(p: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        cube::column_squares_change(p, b)
    }

    fn whitened_variance(
        l: FloatTensor<Self>,
        b: FloatTensor<Self>,
        prior_variance: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        cube::whitened_variance(l, b, prior_variance)
    }

    fn whitened_variance_backward(
        l: FloatTensor<Self>,
        b: FloatTensor<Self>,
        product: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        cube::whitened_variance_backward(l, b, product, variance, grad)
    }
}
