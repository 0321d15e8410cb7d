use super::error::DataError;
use super::standardize::Standardizer;
use super::uci::Table;
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
    /// [`DataError::Inconsistent`] for an empty table or one whose features are not `rows × d`.
    pub fn new(train: &Table) -> Result<Self, DataError> {
        let (n, d) = (train.len(), train.d);
        if n == 0 || d == 0 || train.x.len() != n * d {
            return Err(DataError::Inconsistent {
                path: "<training table>".into(),
                reason: format!("{n} rows, {d} features and {} values", train.x.len()),
            });
        }
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
    pub fn inputs(&self, table: &Table, device: &Device) -> Tensor<2> {
        let x = self.x_scaler.transform(&table.x);
        Tensor::from_data(
            TensorData::new(x, [table.len(), table.d]).convert::<f32>(),
            device,
        )
    }

    /// A predictive `N(mean, variance)` of the standardised target (`[rows, 1]`) in the
    /// original units: `mean · s + m`, `variance · s²`.
    pub fn prediction(&self, y: &GaussianMarginals) -> RegressionPrediction {
        let (s, m) = (self.y_scaler.std[0], self.y_scaler.mean[0]);
        let host = |t: &Tensor<2>| {
            t.to_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .unwrap_or_default()
        };
        RegressionPrediction {
            mean: host(&y.mean).iter().map(|v| v * s + m).collect(),
            variance: host(&y.variance).iter().map(|v| v * s * s).collect(),
        }
    }
}
