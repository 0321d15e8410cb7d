//! The Gram-matrix backend extension.
//!
//! | op | CPU (flex, ndarray) | CubeCL (wgpu, cuda), Fusion | Autodiff |
//! |---|---|---|---|
//! | [`GramBackend::squared_distance`] | [`host`] loops (the RBF Gram's, without `exp`) | [`cube`] kernel, one unit per entry (the RBF Gram's) | composed: a row sum, a product and a matrix product per input |
//! | [`GramBackend::rbf_gram`] | [`host`] loops, vectorised `exp` | [`cube`] kernel, one unit per entry | [`GramBackend::rbf_gram_grad_left`], [`GramBackend::rbf_gram_grad_right`] |
//! | [`GramBackend::scaled_rbf_gram`], [`GramBackend::scaled_rbf_gram_with_unit`] | composed around [`GramBackend::rbf_gram`] | [`cube`] kernel, one unit per entry (the inputs scaled in the kernel) | [`GramBackend::scaled_rbf_gram_backward`] |
//! | [`GramBackend::scaled_rbf_gram_backward`] | composed around the two Gram gradients | [`cube`] kernels: the input gradients (one for `K(x, x)` or a data input) with `ℓ̄`'s and `s̄`'s shares per row, and one kernel summing the shares | — |
//! | [`GramBackend::rbf_gram_grad_left`], [`GramBackend::rbf_gram_grad_right`] | [`host`] (one faer matmul, `K` read in place) | [`cube`] kernel, one cube per row of the gradient | — |

// `NdArray` is deprecated upstream in favour of flex, but users still ask for it.
#![allow(deprecated)]

use burn::backend::{Backend, backend_extension, tensor::FloatTensor};

mod autodiff;
mod compose;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod cube;
mod host;

/// Kernel Gram matrices, one implementation per backend family.
///
/// Users call [`crate::gram::rbf_gram`]; this trait is public so that a new backend can provide
/// its own kernels.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    Fusion: cfg(feature = "fusion"),
    Autodiff
)]
pub trait GramBackend: Backend {
    /// `D_ij = ‖aᵢ − bⱼ‖² = Σ_c (a_ic − b_jc)²` for `a` `[B, n, d]` and `b` `[B, m, d]` (the same
    /// `B`), output `[B, n, m]`, from the differences (no `|a|² + |b|² − 2a·b` cancellation:
    /// exactly symmetric and zero on the diagonal for `a = b`).
    #[fusion(dtype = a, shape = compose::gram_shape(a, b))]
    fn squared_distance(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        host::squared_distance::<Self>(a, b)
    }

    /// `K_ij = exp(−½ ‖aᵢ − bⱼ‖²)` for `a` `[B, n, d]` and `b` `[B, m, d]` (the same `B`);
    /// output `[B, n, m]`.
    #[fusion(dtype = a, shape = compose::gram_shape(a, b))]
    fn rbf_gram(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        compose::rbf_gram::<Self>(a, b)
    }

    /// `K_ij = s · exp(−½ Σ_c (a_ic − b_jc)² / ℓ_c²)` for `a` `[B, n, d]`, `b` `[B, m, d]`,
    /// lengthscales `[1 or B, 1, d or 1]` and output scales `[1 or B, 1, 1]`: [`Self::rbf_gram`]
    /// of the scaled inputs times the scale, one op (one autodiff node).
    #[fusion(dtype = a, shape = compose::gram_shape(a, b))]
    fn scaled_rbf_gram(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        lengthscale: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        compose::scaled_rbf_gram::<Self>(a, b, lengthscale, scale)
    }

    /// [`Self::scaled_rbf_gram`] and the unit-scale Gram matrix `G` of the scaled inputs
    /// (`K = s G`), both `[B, n, m]`: what the reverse mode keeps.
    #[fusion(meta = compose::scaled_rbf_gram_with_unit_meta)]
    fn scaled_rbf_gram_with_unit(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        lengthscale: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        compose::scaled_rbf_gram_with_unit::<Self>(a, b, lengthscale, scale)
    }

    /// The reverse mode of [`Self::scaled_rbf_gram`] given its inputs `a`, `b` (`[B, n, d]`,
    /// `[B, m, d]`), the lengthscales and scales as passed forward, the unit-scale Gram matrix `G`
    /// of `ã = a / ℓ`, `b̃ = b / ℓ` and the upstream gradient `K̄` (both `[B, n, m]`).
    /// With `W = s K̄ ∘ G`:
    ///
    /// - `āᵢ = Σⱼ Wᵢⱼ (b̃ⱼ − ãᵢ) / ℓ` and `b̄ⱼ = Σᵢ Wᵢⱼ (ãᵢ − b̃ⱼ) / ℓ` (the raw inputs'
    ///   gradients); when `symmetric` (`K(a, a)`, one input) the first output is that input's
    ///   whole gradient, `Σⱼ (W + Wᵀ)ᵢⱼ (ãⱼ − ãᵢ) / ℓ`, and the second equals it; otherwise,
    ///   unless `want_b`, `b̄` is not computed and the second output is an uninitialised tensor
    ///   of `b`'s shape (the Gram gradient of data inputs is not wanted);
    /// - `ℓ̄_c = Σᵢⱼ Wᵢⱼ (ãᵢ_c − b̃ⱼ_c)² / ℓ_c`, `[B, 1, d]` (per column, before a shared or
    ///   broadcast lengthscale is summed), and `s̄ = Σᵢⱼ K̄ᵢⱼ Gᵢⱼ`, `[B, 1, 1]`.
    #[fusion(meta = compose::scaled_rbf_gram_backward_meta)]
    #[allow(clippy::too_many_arguments)]
    fn scaled_rbf_gram_backward(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        lengthscale: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        gram: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        symmetric: bool,
        want_b: bool,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    ) {
        compose::scaled_rbf_gram_backward::<Self>(
            a,
            b,
            lengthscale,
            scale,
            gram,
            grad,
            symmetric,
            want_b,
        )
    }

    /// The gradient of [`Self::rbf_gram`] with respect to its first input given `K` and
    /// `K̄` (both `[B, n, m]`): `āᵢ = Σⱼ Wᵢⱼ (bⱼ − aᵢ) = (W b)ᵢ − (Σⱼ Wᵢⱼ) aᵢ`, `W = K̄ ∘ K`.
    #[fusion(dtype = a, shape = a)]
    fn rbf_gram_grad_left(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        k: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        compose::rbf_gram_grad_left::<Self>(a, b, k, grad)
    }

    /// The gradient of [`Self::rbf_gram`] with respect to its second input given `K` and `K̄`
    /// (both `[B, n, m]`): `b̄ⱼ = Σᵢ Wᵢⱼ (aᵢ − bⱼ) = (Wᵀ a)ⱼ − (Σᵢ Wᵢⱼ) bⱼ`, `W = K̄ ∘ K`.
    #[fusion(dtype = b, shape = b)]
    fn rbf_gram_grad_right(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        k: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        compose::rbf_gram_grad_left::<Self>(
            b,
            a,
            Self::float_transpose(k),
            Self::float_transpose(grad),
        )
    }
}

/// The CPU backends run the host loops.
#[cfg(any(feature = "flex", feature = "ndarray"))]
macro_rules! host_backend {
    ($backend:ty) => {
        impl GramBackend for $backend {
            fn rbf_gram(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
                host::rbf_gram::<Self>(a, b)
            }

            fn rbf_gram_grad_left(
                a: FloatTensor<Self>,
                b: FloatTensor<Self>,
                k: FloatTensor<Self>,
                grad: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host::rbf_gram_grad_left::<Self>(a, b, k, grad)
            }

            fn rbf_gram_grad_right(
                a: FloatTensor<Self>,
                b: FloatTensor<Self>,
                k: FloatTensor<Self>,
                grad: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host::rbf_gram_grad_right::<Self>(a, b, k, grad)
            }
        }
    };
}

#[cfg(feature = "flex")]
host_backend!(burn::backend::Flex);
#[cfg(feature = "ndarray")]
host_backend!(burn::backend::NdArray);
/// The CubeCL backends run the [`cube`] kernels.
#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl GramBackend for burn_cubecl::CubeBackend {
    fn squared_distance(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        cube::squared_distance(a, b)
    }

    fn rbf_gram(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        cube::rbf_gram(a, b)
    }

    fn rbf_gram_grad_left(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        k: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        cube::rbf_gram_grad(a, b, k, grad, false)
    }

    fn rbf_gram_grad_right(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        k: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        cube::rbf_gram_grad(b, a, k, grad, true)
    }

    fn scaled_rbf_gram(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        lengthscale: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        cube::scaled_rbf_gram(a, b, lengthscale, scale, false).0
    }

    fn scaled_rbf_gram_with_unit(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        lengthscale: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        cube::scaled_rbf_gram(a, b, lengthscale, scale, true)
    }

    #[allow(clippy::too_many_arguments)]
    fn scaled_rbf_gram_backward(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        lengthscale: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        gram: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        symmetric: bool,
        want_b: bool,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    ) {
        cube::scaled_rbf_gram_backward(a, b, lengthscale, scale, gram, grad, symmetric, want_b)
    }
}
