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
/// # Example
/// ```
/// use vi_models::metrics::classification_metrics;
/// // Two rows predicted with confidence 0.9 (one right), one with 0.6 (right).
/// let p = [0.9, 0.1, 0.1, 0.9, 0.6, 0.4];
/// let m = classification_metrics(&p, 2, &[0, 0, 0], 15);
/// assert!((m.accuracy - 2.0 / 3.0).abs() < 1e-12);
/// // bin of 0.9: accuracy 0.5 vs confidence 0.9; bin of 0.6: 1.0 vs 0.6.
/// assert!((m.ece - (2.0 / 3.0 * 0.4 + 1.0 / 3.0 * 0.4)).abs() < 1e-12);
/// let nll = -(0.9f64.ln() + 0.1f64.ln() + 0.6f64.ln()) / 3.0;
/// assert!((m.nll - nll).abs() < 1e-12);
/// ```
pub fn classification_metrics(
    probabilities: &[f64],
    classes: usize,
    labels: &[usize],
    bins: usize,
) -> ClassificationMetrics {
    let (n, bins) = (labels.len(), bins.max(1));
    let mut sums = vec![(0usize, 0.0, 0.0); bins];
    let (mut correct, mut nll) = (0usize, 0.0);
    for (row, &label) in probabilities.chunks(classes.max(1)).zip(labels) {
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
        nll -= row
            .get(label)
            .copied()
            .unwrap_or(0.0)
            .max(f64::MIN_POSITIVE)
            .ln();
        let bin = ((confidence * bins as f64).ceil() as usize).clamp(1, bins) - 1;
        let s = &mut sums[bin];
        *s = (s.0 + 1, s.1 + confidence, s.2 + f64::from(u8::from(hit)));
    }
    let total = n.max(1) as f64;
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
    ClassificationMetrics {
        accuracy: correct as f64 / total,
        nll: nll / total,
        ece,
        reliability,
    }
}
