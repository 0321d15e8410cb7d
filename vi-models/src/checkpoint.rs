//! Saving fitted models to a folder and loading them back: the parameters in Burn's burnpack
//! format (`model.bpk`), the settings, scalers and fitted constants as JSON (`model.json`).

use crate::data::Standardizer;
use crate::error::{CheckpointError, ModelError};
use burn::module::Module;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A fitted model that can be written to a folder and read back on a device. Predictions of a
/// loaded model equal the original's when the device's random seed is set the same way
/// beforehand (`device.seed(s)`).
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use vi_models::Checkpoint;
/// use vi_models::data::Table;
/// use vi_models::regression::{McDropoutNetConfig, McDropoutRegressor, McDropoutRegressorConfig};
/// let device = Device::default();
/// let x: Vec<f64> = (0..64).map(|i| i as f64 / 16.0).collect();
/// let train = Table { y: x.iter().map(|v| v.sin()).collect(), x, d: 1 };
/// let config = McDropoutRegressorConfig::new(McDropoutNetConfig::new(16, 0.1, 100.0))
///     .with_epochs(5)
///     .with_mc_samples(20);
/// let model = config.fit(&train, &device, |_, _| {}).unwrap();
/// let dir = std::env::temp_dir().join("vi_models_checkpoint_doc");
/// model.save(&dir).unwrap();
/// let loaded = McDropoutRegressor::load(&dir, &device).unwrap();
/// device.seed(1);
/// let before = model.predict(&train.x, None).unwrap().mean;
/// device.seed(1);
/// assert_eq!(loaded.predict(&train.x, None).unwrap().mean, before);
/// ```
pub trait Checkpoint: Sized {
    /// Writes `model.bpk` and `model.json` into `dir` (created if missing).
    ///
    /// # Errors
    /// [`ModelError::Checkpoint`] naming the file that could not be written.
    fn save(&self, dir: impl AsRef<Path>) -> Result<(), ModelError>;

    /// Reads a model written by [`Checkpoint::save`] onto `device`.
    ///
    /// # Errors
    /// [`ModelError::Checkpoint`] naming the file that is missing, malformed, or of another
    /// model type or shape.
    fn load(dir: impl AsRef<Path>, device: &burn::tensor::Device) -> Result<Self, ModelError>;
}

/// What `model.json` holds besides the parameters.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Fitted<C> {
    /// The model type, checked on loading.
    pub kind: String,
    /// The settings the model was fitted with.
    pub config: C,
    /// Input standardisation.
    pub x_scaler: Standardizer,
    /// Target standardisation (regressors).
    pub y_scaler: Option<Standardizer>,
    /// The noise precision in original units (regressors).
    pub tau: Option<f64>,
    /// Classes (classifiers), training rows, or inducing points: the shape constants.
    pub sizes: Vec<usize>,
}

fn files(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("model.bpk"), dir.join("model.json"))
}

fn failed(path: &Path, source: impl Into<CheckpointError>) -> ModelError {
    ModelError::Checkpoint {
        path: path.to_path_buf(),
        source: source.into(),
    }
}

/// Writes `module` and `fitted` into `dir`.
pub(crate) fn save<M: Module, C: Serialize>(
    dir: &Path,
    module: &M,
    fitted: &Fitted<C>,
) -> Result<(), ModelError> {
    let (params, meta) = files(dir);
    std::fs::create_dir_all(dir).map_err(|e| failed(dir, e))?;
    let json = serde_json::to_string_pretty(fitted).map_err(|e| failed(&meta, e))?;
    std::fs::write(&meta, json).map_err(|e| failed(&meta, e))?;
    module
        .clone()
        .save_file(&params)
        .map_err(|e| failed(&params, e))
}

/// Reads `model.json` of a model of type `kind` from `dir`.
pub(crate) fn load_fitted<C: DeserializeOwned>(
    dir: &Path,
    kind: &'static str,
) -> Result<Fitted<C>, ModelError> {
    let (_, meta) = files(dir);
    let text = std::fs::read_to_string(&meta).map_err(|e| failed(&meta, e))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| failed(&meta, e))?;
    let found = value
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or("nothing");
    if found != kind {
        return Err(failed(
            &meta,
            CheckpointError::Kind {
                found: found.to_string(),
                expected: kind,
            },
        ));
    }
    serde_json::from_value(value).map_err(|e| failed(&meta, e))
}

/// Loads `model.bpk` from `dir` into `skeleton` (a module of the saved shape).
pub(crate) fn load_module<M: Module>(dir: &Path, skeleton: M) -> Result<M, ModelError> {
    let (params, _) = files(dir);
    skeleton
        .try_load_file(&params)
        .map_err(|e| failed(&params, e))
}

/// The error of a `model.json` without a field its model type needs.
pub(crate) fn missing(dir: &Path, field: &'static str) -> ModelError {
    failed(&files(dir).1, CheckpointError::Missing(field))
}
