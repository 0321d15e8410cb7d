//! Moving rows between the host and the device: standardised input chunks in, values out.

use crate::data::{Rows, Standardizer};
use crate::error::ModelError;
use burn::tensor::{Device, Tensor, TensorData};

/// Standardised rows of `x` (original units) as `[n, d]` chunks of at most `rows` rows (none
/// for no rows).
///
/// # Errors
/// As [`Rows::check`] against the scaler's features.
pub(crate) fn input_chunks(
    scaler: &Standardizer,
    x: Rows<'_>,
    rows: usize,
    device: &Device,
) -> Result<Vec<Tensor<2>>, ModelError> {
    let d = scaler.mean.len();
    x.check(d)?;
    Ok(scaler
        .transform(x.values())
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
