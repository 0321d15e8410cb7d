//! The fused ops of a sparse variational Gaussian process (SVGP; Hensman et al. 2015), each one
//! differentiable op with its own backend kernels ([`backend::SparseGpBackend`]) where the
//! composition from the linear-algebra primitives would track several.
//!
//! | function | computes | gradient |
//! |---|---|---|
//! | [`projected_mean`] | `C + W A` row by row (the predictive mean `m(x) + Aᵀ m_u`) | one backend op each way |
//! | [`whitened_variance`] | `max(σ₀² + ‖Lᵀ bⱼ‖² − ‖bⱼ‖², 0)` per column (a whitened GP's marginal variance) | one backend op each way |
//! | [`tril_nonnegative_diagonal`] | `tril(R)` with the columns of negative diagonal entries negated (a full-rank `q(u)`'s factor) | the same op on `Ḡ` |
//!
//! The KL of a whitened `q(u)`, `KL(N(m, L Lᵀ) ‖ N(0, I))`, is [`crate::kl::kl_to_standard_normal`]
//! (one op of this extension). Shape errors are [`crate::linalg::LinalgError`]s.

pub mod backend;
mod factor;
mod projection;
mod variance;

pub use factor::tril_nonnegative_diagonal;
pub use projection::projected_mean;
pub use variance::whitened_variance;
