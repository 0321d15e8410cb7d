//! Errors of the distributions and of the KL divergences.

use crate::linalg::LinalgError;

/// Why a distribution could not be built or evaluated.
#[derive(Debug, thiserror::Error)]
pub enum DistributionError {
    /// A parameter violates its constraint (a non-positive or non-finite scale, a NaN location).
    #[error("{distribution}: parameter `{parameter}` is invalid: {reason}")]
    InvalidParameter {
        distribution: &'static str,
        parameter: &'static str,
        reason: String,
    },
    /// Shapes that do not fit together (parameters, values, the two sides of a KL).
    #[error("{distribution}: {reason}")]
    ShapeMismatch {
        distribution: &'static str,
        reason: String,
    },
    /// A covariance or precision that is not positive definite, or a failed solve.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
}
