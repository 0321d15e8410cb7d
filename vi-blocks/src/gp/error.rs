//! Typed errors of the GP blocks.

use thiserror::Error;
use vi_core::distributions::DistributionError;
use vi_core::elbo::ElboError;
use vi_core::linalg::LinalgError;

/// Why a GP block refused its input.
#[derive(Debug, Error)]
pub enum GpError {
    /// `K_zz` could not be factorised even after jitter: the inducing points of the output
    /// `batch_index` (e.g. duplicated points) make it singular.
    #[error("K_zz (inducing-point covariance): {0}")]
    InducingCovariance(LinalgError),
    /// Inputs of the wrong shape.
    #[error("{block}: {reason}")]
    ShapeMismatch { block: &'static str, reason: String },
    /// A distribution or KL computation failed.
    #[error(transparent)]
    Distribution(#[from] DistributionError),
    /// The ELBO assembled from the layer's terms failed (e.g. it is not finite).
    #[error(transparent)]
    Elbo(#[from] ElboError),
    /// Another linear-algebra failure.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
}
