//! Saving fitted models to a folder and loading them back: the parameters in Burn's burnpack
//! format (`model.bpk`), the settings, scalers and fitted constants as JSON (`model.json`).

use crate::data::Standardizer;
use crate::error::{CheckpointError, ModelError};
use burn::module::{Module, ModuleVisitor, Param};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Tensor};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A fitted model that can be written to a folder and read back on a device. Predictions of a
/// loaded model equal the original's when the device's random seed is set the same way
/// beforehand (`device.seed(s)`).
///
/// `model.json` records the SHA-256 of `model.bpk` and the shape of every parameter; loading
/// checks both, so flipped bytes, a truncated file or the parameters of another checkpoint
/// are an error rather than a model that predicts garbage. Both files are written atomically
/// (a temporary file, then a rename).
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
/// let before = model.predict(train.rows(), None).unwrap().mean;
/// device.seed(1);
/// assert_eq!(loaded.predict(train.rows(), None).unwrap().mean, before);
/// // One flipped byte in the parameters is caught on loading.
/// let path = dir.join("model.bpk");
/// let mut bytes = std::fs::read(&path).unwrap();
/// let last = bytes.len() - 1;
/// bytes[last] ^= 1;
/// std::fs::write(&path, bytes).unwrap();
/// assert!(McDropoutRegressor::load(&dir, &device).is_err());
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
    /// What `model.bpk` must be: filled in by [`save`], checked by [`load_module`].
    #[serde(default)]
    pub parameters: Option<Parameters>,
}

impl<C> Fitted<C> {
    /// The record of a model of type `kind` (its parameters' digest is added when saving).
    pub fn new(
        kind: &str,
        config: C,
        x_scaler: Standardizer,
        y_scaler: Option<Standardizer>,
        tau: Option<f64>,
        sizes: Vec<usize>,
    ) -> Self {
        Self {
            kind: kind.to_string(),
            config,
            x_scaler,
            y_scaler,
            tau,
            sizes,
            parameters: None,
        }
    }
}

/// The parameter file a `model.json` belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Parameters {
    /// SHA-256 of `model.bpk`, lower-case hex.
    pub sha256: String,
    /// The shape of each parameter, in the module's visiting order.
    pub shapes: Vec<Vec<usize>>,
}

/// The shapes of a module's float parameters, in visiting order.
fn shapes<M: Module>(module: &M) -> Vec<Vec<usize>> {
    struct Shapes(Vec<Vec<usize>>);
    impl ModuleVisitor for Shapes {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.lazy_shape().to_vec());
        }
    }
    let mut visitor = Shapes(Vec::new());
    module.visit(&mut visitor);
    visitor.0
}

/// SHA-256 of `bytes`, lower-case hex.
fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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

/// Writes `bytes` to `path` atomically: into a temporary file beside it, flushed to disk, then
/// renamed over `path`, so a reader sees the old file or the new one, never a part.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let temporary = path.with_file_name(name);
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        failed(path, e)
    })
}

/// Writes `module` and `fitted` into `dir`: the parameters first, then `model.json` with their
/// digest and shapes, each file atomically. A crash between the two leaves a `model.json`
/// whose digest does not match, which loading reports.
pub(crate) fn save<M: Module, C: Serialize>(
    dir: &Path,
    module: &M,
    mut fitted: Fitted<C>,
) -> Result<(), ModelError> {
    let (params, meta) = files(dir);
    std::fs::create_dir_all(dir).map_err(|e| failed(dir, e))?;
    let bytes = module
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| failed(&params, e))?;
    fitted.parameters = Some(Parameters {
        sha256: sha256(&bytes),
        shapes: shapes(module),
    });
    write_atomically(&params, &bytes)?;
    let json = serde_json::to_string_pretty(&fitted).map_err(|e| failed(&meta, e))?;
    write_atomically(&meta, json.as_bytes())
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

/// Loads `model.bpk` from `dir` into `skeleton` (a module of the saved shape) after checking
/// that the skeleton has the recorded shapes and the file the recorded digest.
pub(crate) fn load_module<M: Module, C>(
    dir: &Path,
    fitted: &Fitted<C>,
    skeleton: M,
) -> Result<M, ModelError> {
    let (params, meta) = files(dir);
    let recorded = fitted
        .parameters
        .as_ref()
        .ok_or_else(|| failed(&meta, CheckpointError::Missing("parameter digest")))?;
    let found = shapes(&skeleton);
    if found != recorded.shapes {
        return Err(failed(
            &meta,
            CheckpointError::Shapes {
                expected: recorded.shapes.clone(),
                found,
            },
        ));
    }
    let bytes = std::fs::read(&params).map_err(|e| failed(&params, e))?;
    let digest = sha256(&bytes);
    if digest != recorded.sha256 {
        return Err(failed(
            &params,
            CheckpointError::Digest {
                expected: recorded.sha256.clone(),
                found: digest,
            },
        ));
    }
    let record =
        ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|e| failed(&params, e))?;
    skeleton
        .try_load_record(record)
        .map_err(|e| failed(&params, e))
}

/// The error of a `model.json` without a field its model type needs.
pub(crate) fn missing(dir: &Path, field: &'static str) -> ModelError {
    failed(&files(dir).1, CheckpointError::Missing(field))
}
