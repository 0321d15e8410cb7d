//! PNG figures of predictions (plotters' bitmap backend; no text, so no font is needed).

use crate::error::ModelError;
use crate::metrics::ReliabilityBin;
use crate::regression::RegressionPrediction;
use plotters::prelude::*;
use std::path::Path;

/// [`ModelError::Plot`] naming the figure's file, with plotters' error as its source.
fn failed(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> ModelError {
    ModelError::Plot {
        path: path.to_path_buf(),
        source: Box::new(e),
    }
}

/// Observed targets (x axis) against predicted means (y axis) with `±2σ` bars and the diagonal:
/// a calibrated regressor's bars cross the diagonal for about 95 % of the points.
///
/// # Errors
/// [`ModelError::Plot`] when the file cannot be written, [`ModelError::Lengths`] when the lengths
/// differ.
///
/// # Example
/// ```
/// use vi_models::regression::RegressionPrediction;
/// let p = RegressionPrediction { mean: vec![1.0, 2.1], variance: vec![0.1, 0.2] };
/// let path = std::env::temp_dir().join("vi_models_plot_doc.png");
/// vi_models::plot::predicted_vs_observed(&path, &[1.0, 2.0], &p).unwrap();
/// assert!(std::fs::metadata(&path).unwrap().len() > 0);
/// ```
pub fn predicted_vs_observed(
    path: impl AsRef<Path>,
    observed: &[f64],
    prediction: &RegressionPrediction,
) -> Result<(), ModelError> {
    if observed.len() != prediction.mean.len() || observed.len() != prediction.variance.len() {
        return Err(ModelError::Lengths {
            targets: observed.len(),
            means: prediction.mean.len(),
            variances: prediction.variance.len(),
        });
    }
    let path = path.as_ref();
    let plot = |e| failed(path, e);
    let bars: Vec<(f64, f64, f64, f64)> = observed
        .iter()
        .zip(&prediction.mean)
        .zip(&prediction.variance)
        .map(|((&y, &m), &v)| (y, m - 2.0 * v.sqrt(), m, m + 2.0 * v.sqrt()))
        .collect();
    let (lo, hi) = bars
        .iter()
        .flat_map(|b| [b.0, b.1, b.3])
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    let pad = 0.05 * (hi - lo).max(1e-9);
    let range = (lo - pad)..(hi + pad);
    let root = BitMapBackend::new(path, (600, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(plot)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(20)
        .build_cartesian_2d(range.clone(), range)
        .map_err(plot)?;
    chart
        .draw_series(LineSeries::new(
            [(lo - pad, lo - pad), (hi + pad, hi + pad)],
            BLACK.mix(0.4),
        ))
        .map_err(plot)?;
    chart
        .draw_series(
            bars.iter()
                .map(|&(y, l, m, u)| ErrorBar::new_vertical(y, l, m, u, BLUE.mix(0.5), 4)),
        )
        .map_err(plot)?;
    root.present().map_err(plot)
}

/// A reliability diagram: for each confidence bin, a bar up to the accuracy of its rows (blue)
/// and the gap to their mean confidence (red), over the diagonal of perfect calibration; the
/// unit square, confidence on the x axis. Empty bins are left blank.
///
/// # Errors
/// [`ModelError::Plot`] when the file cannot be written.
///
/// # Example
/// ```
/// let m = vi_models::metrics::classification_metrics(&[0.9, 0.1, 0.3, 0.7], 2, &[0, 0], 15)
///     .unwrap();
/// let path = std::env::temp_dir().join("vi_models_reliability_doc.png");
/// vi_models::plot::reliability_diagram(&path, &m.reliability).unwrap();
/// assert!(std::fs::metadata(&path).unwrap().len() > 0);
/// ```
pub fn reliability_diagram(
    path: impl AsRef<Path>,
    bins: &[ReliabilityBin],
) -> Result<(), ModelError> {
    let path = path.as_ref();
    let plot = |e| failed(path, e);
    let root = BitMapBackend::new(path, (500, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(plot)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(20)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)
        .map_err(plot)?;
    let filled: Vec<&ReliabilityBin> = bins.iter().filter(|b| b.count > 0).collect();
    chart
        .draw_series(filled.iter().map(|b| {
            Rectangle::new(
                [(b.lower, 0.0), (b.upper, b.accuracy)],
                BLUE.mix(0.6).filled(),
            )
        }))
        .map_err(plot)?;
    chart
        .draw_series(filled.iter().map(|b| {
            Rectangle::new(
                [(b.lower, b.accuracy), (b.upper, b.confidence)],
                RED.mix(0.3).filled(),
            )
        }))
        .map_err(plot)?;
    chart
        .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], BLACK.mix(0.6)))
        .map_err(plot)?;
    root.present().map_err(plot)
}
