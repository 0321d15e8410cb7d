//! Monte Carlo prediction: run a stochastic model `T` times and summarize.
//!
//! Regression: predictive mean and variance of the outputs (the epistemic part; add the
//! likelihood's noise for the full predictive). Classification: the mean of the softmax
//! probabilities (Gal & Ghahramani 2016), their variance, and the predictive entropy.

use burn::tensor::{Tensor, activation::softmax};

/// Summary of `T` stochastic forward passes of a `[batch, outputs]` model.
#[derive(Debug, Clone)]
pub struct McPrediction {
    /// Mean over the passes, `[batch, outputs]` (probabilities for [`predict_mc_classes`]).
    pub mean: Tensor<2>,
    /// Unbiased variance over the passes, `[batch, outputs]`.
    pub variance: Tensor<2>,
    /// The passes, `[T, batch, outputs]`, when asked for.
    pub samples: Option<Tensor<3>>,
}

/// The passes' mean and variance as Gaussian marginals (e.g. for a likelihood's predictive).
impl From<McPrediction> for crate::gp::GaussianMarginals {
    fn from(p: McPrediction) -> Self {
        Self {
            mean: p.mean,
            variance: p.variance,
        }
    }
}

/// Runs `forward` `passes` times (each call must draw fresh noise: Bayesian layers with a
/// stochastic estimator, [`crate::nn::McDropout`]) and returns the mean and variance.
///
/// # Panics
/// When `passes < 2` (a variance needs two passes).
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::nn::BayesianLinearConfig;
/// use vi_blocks::predict::predict_mc;
/// let device = Device::default();
/// let layer = BayesianLinearConfig::new(3, 1).with_init_rho(-1.0).init(&device);
/// let x = Tensor::<2>::ones([5, 3], &device);
/// let p = predict_mc(|| layer.forward(x.clone()), 50, false);
/// let var: Vec<f32> = p.variance.into_data().try_into_vec::<f32>().unwrap();
/// assert!(var.len() == 5 && var.iter().all(|v| *v > 0.0));
/// ```
pub fn predict_mc<F>(mut forward: F, passes: usize, keep_samples: bool) -> McPrediction
where
    F: FnMut() -> Tensor<2>,
{
    assert!(
        passes >= 2,
        "predict_mc needs at least 2 passes, got {passes}"
    );
    let samples = Tensor::stack::<3>((0..passes).map(|_| forward().detach()).collect(), 0);
    summarize(samples, keep_samples)
}

/// As [`predict_mc`] for a classifier returning logits `[batch, classes]`: the mean and variance
/// of the softmax probabilities over the passes. The predictive entropy is
/// [`predictive_entropy`]`(&prediction.mean)`.
///
/// # Panics
/// When `passes < 2`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::nn::McDropoutConfig;
/// use vi_blocks::predict::{predict_mc_classes, predictive_entropy};
/// let device = Device::default();
/// let dropout = McDropoutConfig::new(0.5).init();
/// let logits = Tensor::<2>::from_data([[2.0, 0.0, -1.0]], &device);
/// let p = predict_mc_classes(|| dropout.forward(logits.clone()), 100, false);
/// let probs: Vec<f32> = p.mean.clone().into_data().try_into_vec::<f32>().unwrap();
/// assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-5);
/// let h: f32 = predictive_entropy(&p.mean).into_scalar();
/// assert!(h > 0.0 && h < 3f32.ln());
/// ```
pub fn predict_mc_classes<F>(mut logits: F, passes: usize, keep_samples: bool) -> McPrediction
where
    F: FnMut() -> Tensor<2>,
{
    predict_mc(|| softmax(logits(), 1), passes, keep_samples)
}

/// `−Σ_c p_c ln p_c` per row of probabilities `[batch, classes]`, `[batch]`.
pub fn predictive_entropy(probabilities: &Tensor<2>) -> Tensor<1> {
    let p = probabilities.clone();
    let log_p = p.clone().clamp_min(1e-30).log();
    (p * log_p).sum_dim(1).squeeze_dim::<1>(1).neg()
}

fn summarize(samples: Tensor<3>, keep_samples: bool) -> McPrediction {
    let passes = samples.dims()[0] as f64;
    let mean = samples.clone().mean_dim(0);
    let variance = (samples.clone() - mean.clone())
        .square()
        .sum_dim(0)
        .mul_scalar(1.0 / (passes - 1.0));
    McPrediction {
        mean: mean.squeeze_dim(0),
        variance: variance.squeeze_dim(0),
        samples: keep_samples.then_some(samples),
    }
}
