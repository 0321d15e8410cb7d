//! A classification table ready for training: standardised inputs and labels, served as
//! minibatch tensors.

use crate::data::{ClassificationTable, Standardizer};
use crate::error::ModelError;
use burn::tensor::{Device, Int, Tensor, TensorData};

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
    /// As [`ClassificationTable::check`], and [`ModelError::Classes`] for an empty table or one
    /// whose labels hold fewer than two distinct classes (whatever their values).
    pub fn new(table: &ClassificationTable) -> Result<Self, ModelError> {
        let rows = table.check()?;
        let classes = table.distinct_labels();
        if rows == 0 || classes < 2 {
            return Err(ModelError::Classes {
                rows,
                features: table.d,
                classes,
            });
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
