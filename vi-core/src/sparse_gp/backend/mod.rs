//! The sparse-GP backend extension: the fused ops of a sparse variational GP (SVGP) — its
//! predictive mean, a whitened marginal variance, the factor of a full-rank `q(u)` with a
//! non-negative diagonal, and the KL of a whitened `q(u)` — one op forward and one backward each,
//! built on the linear-algebra primitives of [`crate::linalg::backend::LinalgBackend`].
//!
//! | op | CPU (flex, ndarray) | CubeCL (wgpu, cuda) | Autodiff |
//! |---|---|---|---|
//! | [`SparseGpBackend::whitened_variance`], [`SparseGpBackend::whitened_variance_backward`] | composed: [`LinalgBackend::triangular_matmul`], [`LinalgBackend::column_squares_change`] and a clamp; reverse through [`LinalgBackend::solve_triangular_grad_t`] and [`LinalgBackend::triangular_matmul`] | [`cube`]: one cube per column (the product and the variance), then one kernel for `B̄` and `σ̄₀²` and one for `L̄` | the second op |
//! | [`SparseGpBackend::standard_normal_kl`], [`SparseGpBackend::standard_normal_kl_grad_factor`], [`SparseGpBackend::standard_normal_kl_backward`] | [`host`] one pass (summed in `f64`) | [`cube`]: one cube sums the terms; one kernel per entry for the gradients (the mean's from the diagonal's units) | the third op (both gradients) |
//! | [`SparseGpBackend::projected_mean`], [`SparseGpBackend::projected_mean_backward`] | composed: a matrix product and a broadcast sum; reverse two products and a row sum | [`cube`]: one kernel, one unit per output; reverse one kernel (a cube per row of `A`) | the second op |
//! | [`SparseGpBackend::column_signed_lower`] | [`host`] one pass | [`cube`]: one kernel per entry | itself, with `x = Ḡ` |
//!
//! The public wrappers in [`crate::sparse_gp`] (and [`crate::kl::kl_to_standard_normal`]) check
//! shapes and broadcast; these ops take row-major tensors as documented per method.

// `NdArray` is deprecated upstream in favour of flex, but users still ask for it.
#![allow(deprecated)]

use crate::linalg::backend::LinalgBackend;
use burn::backend::{backend_extension, tensor::FloatTensor};

mod autodiff;
mod compose;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod cube;
#[cfg(any(feature = "flex", feature = "ndarray"))]
mod host;

/// Fused sparse-GP ops, one implementation per backend family.
///
/// Users call the functions in [`crate::sparse_gp`] and [`crate::kl::kl_to_standard_normal`];
/// this trait is public so that a new backend can provide its own kernels.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    Fusion: cfg(feature = "fusion"),
    Autodiff
)]
pub trait SparseGpBackend: LinalgBackend {
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
}

/// The CPU backends run the one-pass host kernels; the other ops are the trait's composed
/// defaults.
#[cfg(any(feature = "flex", feature = "ndarray"))]
macro_rules! host_backend {
    ($backend:ty) => {
        impl SparseGpBackend for $backend {
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
host_backend!(burn::backend::Flex);
#[cfg(feature = "ndarray")]
host_backend!(burn::backend::NdArray);

#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl SparseGpBackend for burn_cubecl::CubeBackend {
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
