//! What a regressor predicts and how it is scored: a Gaussian predictive per test row, and the
//! RMSE and test log-likelihood the papers report.

use crate::metrics::{MetricError, gaussian_log_likelihood, rmse};

/// Predictive mean and variance of `y` in the original units.
///
/// # Example
/// ```
/// use vi_models::regression::RegressionPrediction;
/// let p = RegressionPrediction { mean: vec![1.0, 2.0], variance: vec![1.0, 1.0] };
/// let m = p.evaluate(&[1.0, 4.0]).unwrap();
/// assert_eq!(m.rmse, 2f64.sqrt());
/// assert!(p.evaluate(&[1.0]).is_err()); // one target for two predictions
/// ```
#[derive(Debug, Clone)]
pub struct RegressionPrediction {
    /// `E[y*]`.
    pub mean: Vec<f64>,
    /// `Var[y*]` (latent variance plus noise).
    pub variance: Vec<f64>,
}

impl RegressionPrediction {
    /// RMSE of the mean and mean Gaussian log predictive density at the targets `y`.
    ///
    /// # Errors
    /// [`MetricError`] when there are no targets or they do not pair with the predictions.
    pub fn evaluate(&self, y: &[f64]) -> Result<RegressionMetrics, MetricError> {
        Ok(RegressionMetrics {
            rmse: rmse(&self.mean, y)?,
            test_log_likelihood: gaussian_log_likelihood(&self.mean, &self.variance, y)?,
        })
    }
}

/// Test RMSE and mean log predictive density, in the original units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegressionMetrics {
    /// Root-mean-square error of the predictive mean.
    pub rmse: f64,
    /// `1/n Σ ln N(yᵢ | μᵢ, σᵢ²)`.
    pub test_log_likelihood: f64,
}
