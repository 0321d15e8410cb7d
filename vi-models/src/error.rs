//! Why fitting, predicting, plotting or a checkpoint failed: one error type for the crate, each
//! variant with the values that explain it and the underlying error kept as its source.

use crate::data::DataError;
use crate::metrics::MetricError;
use std::path::PathBuf;
use thiserror::Error;
use vi_blocks::gp::GpError;
use vi_core::elbo::ElboError;

/// Why fitting, predicting, plotting or a checkpoint failed.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The GP layer refused its input (e.g. `K_zz` not positive definite even with jitter).
    #[error(transparent)]
    Gp(GpError),
    /// The objective became NaN or infinite (name of the term inside).
    #[error("training diverged: {0}")]
    Elbo(#[from] ElboError),
    /// A data set that cannot be trained on (empty, or features that are not `rows × d`).
    #[error(transparent)]
    Table(#[from] DataError),
    /// A classification table without rows, features or at least two classes.
    #[error(
        "a classifier needs rows, features and two classes; the table has {rows} rows of \
         {features} features and {classes} classes"
    )]
    Classes {
        /// Rows of the table.
        rows: usize,
        /// Features per row.
        features: usize,
        /// Distinct classes.
        classes: usize,
    },
    /// Input values that are not a whole number of rows of the model's features.
    #[error("{values} values are not rows of {features} features")]
    Ragged {
        /// Values given.
        values: usize,
        /// Features per row the model was fitted on.
        features: usize,
    },
    /// Input rows with another number of features than the model was fitted on.
    #[error("the rows have {found} features; the model was fitted on {expected}")]
    Columns {
        /// Features per row given.
        found: usize,
        /// Features per row the model was fitted on.
        expected: usize,
    },
    /// Targets or labels that do not pair with the rows.
    #[error("{found} {what} for {rows} rows")]
    Count {
        /// What was counted (`"targets"`, `"labels"`).
        what: &'static str,
        /// How many there are.
        found: usize,
        /// Rows of features.
        rows: usize,
    },
    /// A value that is NaN or infinite.
    #[error("{what} at row {row}, column {column} is {value}; values must be finite")]
    NonFinite {
        /// `"feature"` or `"target"`.
        what: &'static str,
        /// The row (from 0).
        row: usize,
        /// The column (from 0; 0 for a target).
        column: usize,
        /// The value.
        value: f64,
    },
    /// A class label without a class.
    #[error("label {label} of row {row} has no class: there are {classes} classes")]
    Label {
        /// The row (from 0).
        row: usize,
        /// Its label.
        label: usize,
        /// Classes named by the table (or fitted by the model).
        classes: usize,
    },
    /// A table without the rows the step needs (e.g. an empty training set).
    #[error("no {0}")]
    NoRows(&'static str),
    /// Scores that cannot be computed (nothing to score, lengths that do not pair).
    #[error(transparent)]
    Metric(#[from] MetricError),
    /// Targets and predictions of different lengths.
    #[error("{targets} targets for {means} predicted means and {variances} variances")]
    Lengths {
        /// Targets given.
        targets: usize,
        /// Predicted means.
        means: usize,
        /// Predicted variances.
        variances: usize,
    },
    /// A setting outside its range (e.g. a dropout probability of 1, zero epochs).
    #[error("{setting} = {value} is out of range: it must be {expected}")]
    Setting {
        /// The setting's name.
        setting: &'static str,
        /// Its value.
        value: f64,
        /// The range it must lie in.
        expected: &'static str,
    },
    /// The network has none of the layers its objective's penalty comes from.
    #[error("the network has no {0} layers")]
    NoPenalty(&'static str),
    /// The mean training loss of an epoch (a pass over the data; an iteration of full-batch
    /// training) became NaN or infinite.
    #[error("the loss became {loss} in epoch {epoch}")]
    Diverged {
        /// The mean loss.
        loss: f64,
        /// The epoch (from 0).
        epoch: usize,
    },
    /// Values could not be read back from the device.
    #[error("reading values from the device: {0}")]
    Host(#[from] burn::tensor::DataError),
    /// A figure could not be drawn or written.
    #[error("plot {}: {source}", path.display())]
    Plot {
        /// The figure's file.
        path: PathBuf,
        /// What plotters reported.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A checkpoint file could not be written or read.
    #[error("checkpoint {}: {source}", path.display())]
    Checkpoint {
        /// The file (`model.bpk` or `model.json`) or the folder.
        path: PathBuf,
        /// Why.
        source: CheckpointError,
    },
}

impl From<GpError> for ModelError {
    /// A GP layer's ELBO failure is the objective's ([`ModelError::Elbo`]).
    fn from(error: GpError) -> Self {
        match error {
            GpError::Elbo(error) => Self::Elbo(error),
            error => Self::Gp(error),
        }
    }
}

/// Why a checkpoint file could not be used (inside [`ModelError::Checkpoint`], which names the
/// file).
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// The file or folder could not be read or written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// `model.json` is not valid JSON of the model's settings.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// Burn could not write or read the parameters (`model.bpk`), or they do not fit the
    /// model's shape.
    #[error(transparent)]
    Record(#[from] burn::store::RecordError),
    /// `model.json` belongs to another model type.
    #[error("holds a {found}, not a {expected}")]
    Kind {
        /// The type saved in the file.
        found: String,
        /// The type being loaded.
        expected: &'static str,
    },
    /// `model.json` lacks a field its model type needs.
    #[error("no {0}")]
    Missing(&'static str),
    /// `model.bpk` is not the file `model.json` was saved with: flipped bytes, a truncated
    /// write, or the parameters of another checkpoint.
    #[error(
        "its SHA-256 is {found}, but model.json records {expected}: the parameters are \
         corrupted or belong to another checkpoint"
    )]
    Digest {
        /// The digest recorded in `model.json`.
        expected: String,
        /// The digest of the file on disk.
        found: String,
    },
    /// The model built from `model.json`'s settings does not have the parameter shapes the
    /// checkpoint was saved with.
    #[error("parameter shapes {found:?} differ from the saved {expected:?}")]
    Shapes {
        /// Shapes recorded when saving, in the module's visiting order.
        expected: Vec<Vec<usize>>,
        /// Shapes of the model rebuilt from the settings.
        found: Vec<Vec<usize>>,
    },
}
