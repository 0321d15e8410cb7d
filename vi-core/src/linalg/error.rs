//! Typed errors of the linear-algebra routines.

use thiserror::Error;

/// Why a linear-algebra routine refused its input.
///
/// `batch_index` is the position of the offending matrix in the leading (batch) dimensions,
/// flattened in row-major order: for `a` of shape `[2, 3, n, n]`, element `[i, j]` is
/// `batch_index = 3 i + j`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LinalgError {
    /// The Cholesky factorisation broke down: the leading minor of order `minor` (1-based: the
    /// top-left `minor × minor` block) is not positive definite, even after adding
    /// `jitter_tried · I` (`0` when no jitter was tried).
    #[error(
        "matrix {batch_index} of the batch is not positive definite: its leading minor of order \
         {minor} is not (largest jitter tried: {jitter_tried:e})"
    )]
    NotPositiveDefinite {
        batch_index: usize,
        minor: usize,
        jitter_tried: f64,
    },
    /// The input holds NaN or ±∞.
    #[error("matrix {batch_index} of the batch has NaN or infinite entries")]
    NonFinite { batch_index: usize },
    /// Shapes that cannot go together.
    #[error("{op}: {reason}")]
    ShapeMismatch { op: &'static str, reason: String },
}
