//! Classifiers with `fit`, `predict` (Monte Carlo class probabilities) and `evaluate`
//! (accuracy, NLL, ECE): Bayesian networks ([`BnnClassifier`]) and sparse GPs
//! ([`SvgpClassifier`]).

mod bnn;
mod svgp;

pub use bnn::{
    BnnClassifier, BnnClassifierConfig, BnnClassifierNet, BnnMethod, ClassifierLayer, DropoutLinear,
};
pub use svgp::{SvgpClassificationModel, SvgpClassifier, SvgpClassifierConfig};

use crate::data::{ClassificationTable, Standardizer};
use crate::metrics::{ClassificationMetrics, classification_metrics};
use crate::svgp_regressor::ModelError;
pub(crate) use crate::tensors::{host_values, input_chunks};
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Bins of the expected calibration error reported by `evaluate`.
pub const ECE_BINS: usize = 15;

/// Predicted class probabilities, row-major `n × classes`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassProbabilities {
    /// `p(y = c | x)` for each row and class.
    pub probabilities: Vec<f64>,
    /// Number of classes.
    pub classes: usize,
}

impl ClassProbabilities {
    /// The most probable class of each row.
    pub fn predicted(&self) -> Vec<usize> {
        self.probabilities
            .chunks(self.classes.max(1))
            .map(|row| {
                (0..row.len())
                    .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                    .unwrap_or(0)
            })
            .collect()
    }

    /// Accuracy, NLL and ECE ([`ECE_BINS`] bins) against `labels`.
    pub fn evaluate(&self, labels: &[usize]) -> ClassificationMetrics {
        classification_metrics(&self.probabilities, self.classes, labels, ECE_BINS)
    }
}

/// The rows of a table ready for training: standardised inputs, labels.
pub(crate) struct LabelledData {
    pub x: Vec<f64>,
    pub labels: Vec<usize>,
    pub d: usize,
    pub scaler: Standardizer,
}

impl LabelledData {
    /// Standardises `table`'s features with its own statistics.
    ///
    /// # Errors
    /// [`ModelError::Data`] for an empty table or one with a single class.
    pub fn new(table: &ClassificationTable) -> Result<Self, ModelError> {
        if table.is_empty() || table.d == 0 || table.classes() < 2 {
            return Err(ModelError::Data(format!(
                "a classifier needs rows, features and two classes; the table has {} rows of {} \
                 features and {} classes",
                table.len(),
                table.d,
                table.classes()
            )));
        }
        let scaler = Standardizer::fit(&table.x, table.d);
        Ok(Self {
            x: scaler.transform(&table.x),
            labels: table.labels.clone(),
            d: table.d,
            scaler,
        })
    }

    /// The rows `index` as `([b, d]` inputs, `[b]` labels) on `device`.
    pub fn batch(&self, index: &[usize], device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
        let d = self.d;
        let x: Vec<f32> = index
            .iter()
            .flat_map(|&i| self.x[i * d..(i + 1) * d].iter().map(|&v| v as f32))
            .collect();
        let y: Vec<i64> = index.iter().map(|&i| self.labels[i] as i64).collect();
        (
            Tensor::from_data(TensorData::new(x, [index.len(), d]), device),
            Tensor::from_data(TensorData::new(y, [index.len()]), device),
        )
    }
}
