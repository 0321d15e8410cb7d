use super::{GaussHermite, Likelihood};
use crate::gp::GaussianMarginals;
use burn::module::Module;
use burn::tensor::Tensor;
use vi_core::special::lgamma;

/// Counts `y ~ Poisson(e^f)` (log link).
///
/// Expected log-likelihood in closed form, `E[y f − e^f − ln y!] = yμ − e^{μ + v/2} − ln Γ(y+1)`;
/// predictive mean `e^{μ + v/2}` and variance `mean + (e^v − 1) mean²` (a log-normal mixture of
/// Poissons); the log predictive density by 20-point Gauss–Hermite.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::gp::GaussianMarginals;
/// use vi_blocks::gp::likelihood::{Likelihood, PoissonLikelihood};
/// let device = Device::default();
/// let f = GaussianMarginals { mean: Tensor::zeros([1, 1], &device), variance: Tensor::zeros([1, 1], &device) };
/// let ell: f32 = PoissonLikelihood::new().expected_log_likelihood(&f, Tensor::zeros([1, 1], &device)).into_scalar();
/// assert!((ell + 1.0).abs() < 1e-6); // ln Poisson(0 | 1) = −1
/// ```
#[derive(Module, Debug, Default)]
pub struct PoissonLikelihood {}

/// Predictive mean and variance of the counts, each `[N, P]`.
#[derive(Debug, Clone)]
pub struct PoissonPredictive {
    /// `E[y]`.
    pub mean: Tensor<2>,
    /// `Var[y]`.
    pub variance: Tensor<2>,
}

impl PoissonLikelihood {
    /// The likelihood (it has no parameters).
    pub fn new() -> Self {
        Self {}
    }
}

impl Likelihood for PoissonLikelihood {
    type Target = Tensor<2>;
    type Predictive = PoissonPredictive;

    fn expected_log_likelihood(&self, f: &GaussianMarginals, y: Tensor<2>) -> Tensor<1> {
        let rate = (f.mean.clone() + f.variance.clone().mul_scalar(0.5)).exp();
        let ell = y.clone() * f.mean.clone() - rate - lgamma(y.add_scalar(1.0));
        ell.sum_dim(1).squeeze_dim(1)
    }

    fn predictive(&self, f: &GaussianMarginals) -> PoissonPredictive {
        let mean = (f.mean.clone() + f.variance.clone().mul_scalar(0.5)).exp();
        let variance =
            mean.clone() + f.variance.clone().exp().sub_scalar(1.0) * mean.clone().square();
        PoissonPredictive { mean, variance }
    }

    fn log_predictive_density(&self, f: &GaussianMarginals, y: Tensor<2>) -> Tensor<1> {
        let log_fact = lgamma(y.clone().add_scalar(1.0)).unsqueeze::<3>();
        let y3 = y.unsqueeze::<3>();
        let lpd = GaussHermite::twenty()
            .log_expectation(f, |t| y3.clone() * t.clone() - t.exp() - log_fact.clone());
        lpd.sum_dim(1).squeeze_dim(1)
    }
}
