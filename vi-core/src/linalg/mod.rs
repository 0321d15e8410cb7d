//! Batched, differentiable linear algebra for variational inference.
//!
//! Every routine works on stacks of matrices `[.., n, n]` with any number of leading batch
//! dimensions, on every device (flex, ndarray, wgpu, cuda), with analytic gradients under
//! autodiff. User-caused failures are typed [`LinalgError`]s, never silent NaN.
//!
//! | function | computes | gradient |
//! |---|---|---|
//! | [`cholesky`] | `L`, `A = L Lᵀ` | Murray (2016) |
//! | [`cholesky_jittered`] | `L` of `A + εI`, ε only where needed | as `cholesky` |
//! | [`solve_triangular`] | `op(T)⁻¹ B` or `B op(T)⁻¹` | adjoint solve |
//! | [`triangular_matmul`] | `op(T) B` or `B op(T)`, half the flops on the CPU | both adjoints |
//! | [`column_norm_change`] | `‖op(T) bⱼ‖² − ‖bⱼ‖²` per column (a whitened GP's variance correction) | through the triangular primitives |
//! | [`cholesky_solve`] | `A⁻¹ B` from `L` | through the solves |
//! | [`cholesky_inverse`] | `A⁻¹` from `L` | through the solves |
//! | [`logdet_from_cholesky`] | `2 Σ log Lᵢᵢ` | elementwise |
//! | [`logdet`], [`inverse`] | from `A` | through `cholesky` |
//!
//! The sparse-GP fused ops built on these (a whitened marginal variance, the predictive mean,
//! the factor with a non-negative diagonal) are in [`crate::sparse_gp`].

pub mod backend;
mod checks;
mod cholesky;
mod error;
mod logdet;
mod matrix;
mod triangular;

pub(crate) use checks::square;
pub use cholesky::{
    DeferredCholesky, JitterConfig, JitteredCholesky, cholesky, cholesky_deferred,
    cholesky_jittered,
};
pub use error::LinalgError;
pub use logdet::{inverse, logdet, logdet_from_cholesky};
pub use matrix::diagonals;
pub(crate) use matrix::identity_like;
pub use triangular::{
    Side, Triangle, cholesky_inverse, cholesky_solve, column_norm_change, solve_triangular,
    triangular_matmul,
};
pub(crate) use triangular::{broadcast_batch, check_operands};
