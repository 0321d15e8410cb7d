//! What a classifier predicts and how it is scored: class probabilities per test row, and the
//! accuracy, NLL and expected calibration error the papers report.

use crate::metrics::{ClassificationMetrics, MetricError, classification_metrics};

/// Bins of the expected calibration error reported by `evaluate`.
pub const ECE_BINS: usize = 15;

/// Predicted class probabilities, row-major `n × classes`.
///
/// # Example
/// ```
/// use vi_models::classification::ClassProbabilities;
/// let p = ClassProbabilities { probabilities: vec![0.9, 0.1, 0.2, 0.8], classes: 2 };
/// assert_eq!(p.predicted(), vec![0, 1]);
/// assert_eq!(p.evaluate(&[0, 0]).unwrap().accuracy, 0.5);
/// assert!(p.evaluate(&[0]).is_err()); // one label for two rows
/// ```
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
    ///
    /// # Errors
    /// [`MetricError`] when there are no labels, they do not pair with the rows, or one is not
    /// a predicted class.
    pub fn evaluate(&self, labels: &[usize]) -> Result<ClassificationMetrics, MetricError> {
        classification_metrics(&self.probabilities, self.classes, labels, ECE_BINS)
    }
}
