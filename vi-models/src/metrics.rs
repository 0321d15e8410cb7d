//! Evaluation metrics on host values (`f64`), as reported in the papers. Scores of nothing and
//! of lists of different lengths are errors ([`MetricError`]), never a number.

use std::f64::consts::PI;
use thiserror::Error;

/// Why a metric could not be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MetricError {
    /// There is nothing to score.
    #[error("no rows to score")]
    Empty,
    /// Two lists that must pair up row by row have different lengths.
    #[error("{found} {what} for {expected} targets")]
    Lengths {
        /// What was counted (`"predicted means"`, `"probabilities"`, …).
        what: &'static str,
        /// How many there are.
        found: usize,
        /// How many the targets need.
        expected: usize,
    },
    /// A class label that has no predicted probability.
    #[error("label {label} of row {row} is not one of the {classes} predicted classes")]
    Label {
        /// The row (from 0).
        row: usize,
        /// Its label.
        label: usize,
        /// Classes predicted.
        classes: usize,
    },
    /// A setting of the metric outside its range.
    #[error("{what} must be at least 1")]
    Zero {
        /// The setting (`"classes"`, `"bins"`).
        what: &'static str,
    },
}

/// `Ok(n)` when `target` has `n ≥ 1` rows and `found` (named `what`) pairs with it.
fn paired(what: &'static str, found: usize, target: usize) -> Result<usize, MetricError> {
    if target == 0 {
        return Err(MetricError::Empty);
    }
    if found != target {
        return Err(MetricError::Lengths {
            what,
            found,
            expected: target,
        });
    }
    Ok(target)
}

/// Root-mean-square error `√(1/n Σ (pᵢ − yᵢ)²)`.
///
/// # Errors
/// [`MetricError::Empty`] without targets, [`MetricError::Lengths`] when the predictions do not
/// pair with them.
///
/// # Example
/// ```
/// use vi_models::metrics::{MetricError, rmse};
/// assert_eq!(rmse(&[1.0, 3.0], &[1.0, 1.0]), Ok(2f64.sqrt()));
/// assert_eq!(rmse(&[], &[]), Err(MetricError::Empty));
/// assert!(rmse(&[1.0], &[1.0, 2.0]).is_err());
/// ```
pub fn rmse(prediction: &[f64], target: &[f64]) -> Result<f64, MetricError> {
    let n = paired("predictions", prediction.len(), target.len())? as f64;
    Ok((prediction
        .iter()
        .zip(target)
        .map(|(p, y)| (p - y).powi(2))
        .sum::<f64>()
        / n)
        .sqrt())
}

/// Mean Gaussian log predictive density `1/n Σ ln N(yᵢ | μᵢ, σᵢ²)`.
///
/// # Errors
/// [`MetricError::Empty`] without targets, [`MetricError::Lengths`] when the means or variances
/// do not pair with them.
///
/// # Example
/// ```
/// let ll = vi_models::metrics::gaussian_log_likelihood(&[0.0], &[1.0], &[0.0]).unwrap();
/// assert!((ll + 0.5 * (2.0 * std::f64::consts::PI).ln()).abs() < 1e-12);
/// ```
pub fn gaussian_log_likelihood(
    mean: &[f64],
    variance: &[f64],
    target: &[f64],
) -> Result<f64, MetricError> {
    paired("predicted means", mean.len(), target.len())?;
    let n = paired("predicted variances", variance.len(), target.len())? as f64;
    Ok(mean
        .iter()
        .zip(variance)
        .zip(target)
        .map(|((m, v), y)| -0.5 * (2.0 * PI * v).ln() - (y - m).powi(2) / (2.0 * v))
        .sum::<f64>()
        / n)
}

/// Mean and standard error `sd / √n` of a list of per-split results (standard error 0 for a
/// single result).
///
/// # Errors
/// [`MetricError::Empty`] for an empty list.
///
/// # Example
/// ```
/// let (mean, se) = vi_models::metrics::mean_and_standard_error(&[1.0, 3.0]).unwrap();
/// assert_eq!((mean, se), (2.0, 1.0));
/// assert!(vi_models::metrics::mean_and_standard_error(&[]).is_err());
/// ```
pub fn mean_and_standard_error(values: &[f64]) -> Result<(f64, f64), MetricError> {
    if values.is_empty() {
        return Err(MetricError::Empty);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return Ok((mean, 0.0));
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Ok((mean, (var / n).sqrt()))
}

/// Held-out metrics of predicted class probabilities.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationMetrics {
    /// Fraction of rows whose most probable class is the label.
    pub accuracy: f64,
    /// Mean negative log-likelihood `−1/n Σ ln p(yᵢ)` (nats).
    pub nll: f64,
    /// Expected calibration error `Σ_b (n_b / n) |acc_b − conf_b|` over equal-width bins of the
    /// top-class confidence (Guo et al. 2017).
    pub ece: f64,
    /// The bins behind the ECE, for a reliability diagram.
    pub reliability: Vec<ReliabilityBin>,
}

/// One confidence bin `(lower, upper]` of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReliabilityBin {
    /// Lower edge of the bin.
    pub lower: f64,
    /// Upper edge of the bin.
    pub upper: f64,
    /// Rows whose top-class confidence falls in the bin.
    pub count: usize,
    /// Mean top-class confidence of those rows (`NaN` when empty).
    pub confidence: f64,
    /// Their accuracy (`NaN` when empty).
    pub accuracy: f64,
}

/// Accuracy, NLL and the `bins`-bin ECE (with its reliability bins) of `probabilities`
/// (row-major `n × classes`) against `labels`. A probability of exactly 0 for the label counts
/// as `f64::MIN_POSITIVE` in the NLL (≈ 708 nats) rather than infinity.
///
/// # Errors
/// [`MetricError::Empty`] without labels, [`MetricError::Zero`] for no classes or bins,
/// [`MetricError::Lengths`] when `probabilities` is not `labels.len() × classes` values, and
/// [`MetricError::Label`] naming the first row whose label is not below `classes`.
///
/// # Example
/// ```
/// use vi_models::metrics::classification_metrics;
/// // Two rows predicted with confidence 0.9 (one right), one with 0.6 (right).
/// let p = [0.9, 0.1, 0.1, 0.9, 0.6, 0.4];
/// let m = classification_metrics(&p, 2, &[0, 0, 0], 15).unwrap();
/// assert!((m.accuracy - 2.0 / 3.0).abs() < 1e-12);
/// // bin of 0.9: accuracy 0.5 vs confidence 0.9; bin of 0.6: 1.0 vs 0.6.
/// assert!((m.ece - (2.0 / 3.0 * 0.4 + 1.0 / 3.0 * 0.4)).abs() < 1e-12);
/// let nll = -(0.9f64.ln() + 0.1f64.ln() + 0.6f64.ln()) / 3.0;
/// assert!((m.nll - nll).abs() < 1e-12);
/// assert!(classification_metrics(&p, 2, &[0, 2, 0], 15).is_err()); // no class 2
/// ```
pub fn classification_metrics(
    probabilities: &[f64],
    classes: usize,
    labels: &[usize],
    bins: usize,
) -> Result<ClassificationMetrics, MetricError> {
    for (what, value) in [("classes", classes), ("bins", bins)] {
        if value == 0 {
            return Err(MetricError::Zero { what });
        }
    }
    let n = labels.len();
    if n == 0 {
        return Err(MetricError::Empty);
    }
    if probabilities.len() != n * classes {
        return Err(MetricError::Lengths {
            what: "probabilities",
            found: probabilities.len(),
            expected: n * classes,
        });
    }
    if let Some((row, &label)) = labels.iter().enumerate().find(|(_, l)| **l >= classes) {
        return Err(MetricError::Label {
            row,
            label,
            classes,
        });
    }
    let mut sums = vec![(0usize, 0.0, 0.0); bins];
    let (mut correct, mut nll) = (0usize, 0.0);
    for (row, &label) in probabilities.chunks(classes).zip(labels) {
        let (top, confidence) =
            row.iter()
                .copied()
                .enumerate()
                .fold(
                    (0, f64::NEG_INFINITY),
                    |a, (c, p)| if p > a.1 { (c, p) } else { a },
                );
        let hit = top == label;
        correct += usize::from(hit);
        nll -= row[label].max(f64::MIN_POSITIVE).ln();
        let bin = ((confidence * bins as f64).ceil() as usize).clamp(1, bins) - 1;
        let s = &mut sums[bin];
        *s = (s.0 + 1, s.1 + confidence, s.2 + f64::from(u8::from(hit)));
    }
    let total = n as f64;
    let reliability: Vec<ReliabilityBin> = sums
        .iter()
        .enumerate()
        .map(|(b, &(count, conf, hits))| ReliabilityBin {
            lower: b as f64 / bins as f64,
            upper: (b + 1) as f64 / bins as f64,
            count,
            confidence: conf / count as f64,
            accuracy: hits / count as f64,
        })
        .collect();
    let ece = reliability
        .iter()
        .filter(|b| b.count > 0)
        .map(|b| b.count as f64 / total * (b.accuracy - b.confidence).abs())
        .sum();
    Ok(ClassificationMetrics {
        accuracy: correct as f64 / total,
        nll: nll / total,
        ece,
        reliability,
    })
}
