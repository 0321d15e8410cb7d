use std::path::PathBuf;
use thiserror::Error;

/// Why a data file could not be used.
#[derive(Debug, Error)]
pub enum DataError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A value or row of a file is malformed.
    #[error("{path}:{line}: {reason}")]
    Malformed {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// The files disagree with each other (an index beyond the data, no splits, …).
    #[error("{path}: {reason}")]
    Inconsistent { path: PathBuf, reason: String },
}
