//! Moving rows between the host and the device: standardised input chunks in, values out.

use crate::data::Standardizer;
use crate::error::ModelError;
use burn::tensor::{Device, Tensor, TensorData};

/// Standardised rows of `x` (original units) as `[n, d]` chunks of at most `rows` rows.
///
/// # Errors
/// [`ModelError::Ragged`] when `x` is not a whole number of rows.
pub(crate) fn input_chunks(
    scaler: &Standardizer,
    x: &[f64],
    rows: usize,
    device: &Device,
) -> Result<Vec<Tensor<2>>, ModelError> {
    let d = scaler.mean.len();
    if d == 0 || !x.len().is_multiple_of(d) {
        return Err(ModelError::Ragged {
            values: x.len(),
            features: d,
        });
    }
    Ok(scaler
        .transform(x)
        .chunks(rows.max(1) * d)
        .map(|c| {
            let c: Vec<f32> = c.iter().map(|&v| v as f32).collect();
            let n = c.len() / d;
            Tensor::from_data(TensorData::new(c, [n, d]), device)
        })
        .collect())
}

/// A `[n, k]` tensor's values on the host, row-major.
///
/// # Errors
/// [`ModelError::Host`] when the values cannot be read.
pub(crate) fn host_values(p: Tensor<2>) -> Result<Vec<f64>, ModelError> {
    Ok(p.into_data().convert::<f64>().try_to_vec::<f64>()?)
}
