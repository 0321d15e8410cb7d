use super::standardize::Standardizer;
use super::uci::Table;
use crate::error::ModelError;
use crate::regression::RegressionPrediction;
use burn::tensor::{Device, Tensor, TensorData};
use vi_blocks::gp::GaussianMarginals;

/// A training table standardised with its own statistics and served as minibatch tensors.
#[derive(Debug, Clone)]
pub struct StandardizedTable {
    /// The standardised rows.
    pub table: Table,
    /// Input statistics.
    pub x_scaler: Standardizer,
    /// Target statistics.
    pub y_scaler: Standardizer,
}

impl StandardizedTable {
    /// Standardises `train` (inputs per column, targets).
    ///
    /// # Errors
    /// As [`Table::check`], and [`ModelError::NoRows`] for an empty table.
    pub fn new(train: &Table) -> Result<Self, ModelError> {
        if train.check()? == 0 {
            return Err(ModelError::NoRows("training rows"));
        }
        let d = train.d;
        let x_scaler = Standardizer::fit(&train.x, d);
        let y_scaler = Standardizer::fit(&train.y, 1);
        let table = Table {
            x: x_scaler.transform(&train.x),
            y: y_scaler.transform(&train.y),
            d,
        };
        Ok(Self {
            table,
            x_scaler,
            y_scaler,
        })
    }

    /// Rows `index` as `f32` tensors: inputs `[b, d]` and targets `[b, 1]`.
    pub fn batch(&self, index: &[usize], device: &Device) -> (Tensor<2>, Tensor<2>) {
        let rows = self.table.select(index);
        let (b, d) = (index.len(), self.table.d);
        (
            Tensor::from_data(TensorData::new(rows.x, [b, d]).convert::<f32>(), device),
            Tensor::from_data(TensorData::new(rows.y, [b, 1]).convert::<f32>(), device),
        )
    }

    /// The inputs of another table (e.g. the test rows) standardised with the training
    /// statistics, `[rows, d]` in `f32`.
    ///
    /// # Errors
    /// As [`Rows::check`](super::Rows::check) against the training table's features.
    pub fn inputs(&self, table: &Table, device: &Device) -> Result<Tensor<2>, ModelError> {
        let rows = table.rows().check(self.table.d)?;
        let x = self.x_scaler.transform(&table.x);
        Ok(Tensor::from_data(
            TensorData::new(x, [rows, table.d]).convert::<f32>(),
            device,
        ))
    }

    /// A predictive `N(mean, variance)` of the standardised target (`[rows, 1]`) in the
    /// original units: `mean · s + m`, `variance · s²`.
    ///
    /// # Errors
    /// [`ModelError::Host`] when the values cannot be read from the device.
    pub fn prediction(&self, y: &GaussianMarginals) -> Result<RegressionPrediction, ModelError> {
        let (s, m) = (self.y_scaler.std[0], self.y_scaler.mean[0]);
        let host = |t: &Tensor<2>| t.to_data().convert::<f64>().try_to_vec::<f64>();
        Ok(RegressionPrediction {
            mean: host(&y.mean)?.iter().map(|v| v * s + m).collect(),
            variance: host(&y.variance)?.iter().map(|v| v * s * s).collect(),
        })
    }
}
