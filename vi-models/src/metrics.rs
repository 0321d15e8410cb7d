//! Evaluation metrics on host values (`f64`), as reported in the papers.

use std::f64::consts::PI;

/// Root-mean-square error.
///
/// # Example
/// ```
/// assert_eq!(vi_models::metrics::rmse(&[1.0, 3.0], &[1.0, 1.0]), 2f64.sqrt());
/// ```
pub fn rmse(prediction: &[f64], target: &[f64]) -> f64 {
    let n = target.len().max(1) as f64;
    (prediction
        .iter()
        .zip(target)
        .map(|(p, y)| (p - y).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
}

/// Mean Gaussian log predictive density `1/n Σ ln N(yᵢ | μᵢ, σᵢ²)`.
///
/// # Example
/// ```
/// let ll = vi_models::metrics::gaussian_log_likelihood(&[0.0], &[1.0], &[0.0]);
/// assert!((ll + 0.5 * (2.0 * std::f64::consts::PI).ln()).abs() < 1e-12);
/// ```
pub fn gaussian_log_likelihood(mean: &[f64], variance: &[f64], target: &[f64]) -> f64 {
    let n = target.len().max(1) as f64;
    mean.iter()
        .zip(variance)
        .zip(target)
        .map(|((m, v), y)| -0.5 * (2.0 * PI * v).ln() - (y - m).powi(2) / (2.0 * v))
        .sum::<f64>()
        / n
}

/// Mean and standard error `sd / √n` of a list of per-split results.
///
/// # Example
/// ```
/// let (mean, se) = vi_models::metrics::mean_and_standard_error(&[1.0, 3.0]);
/// assert_eq!((mean, se), (2.0, 1.0));
/// ```
pub fn mean_and_standard_error(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}
