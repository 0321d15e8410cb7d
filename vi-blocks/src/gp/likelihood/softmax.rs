use super::Likelihood;
use crate::gp::GaussianMarginals;
use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};
use vi_core::special::logsumexp;

/// Configuration of a [`SoftmaxLikelihood`].
#[derive(Config, Debug)]
pub struct SoftmaxLikelihoodConfig {
    /// Monte Carlo draws of `f` per data point.
    #[config(default = 16)]
    pub samples: usize,
}

/// Classes `y ∈ {0..K−1}` with `p(y | f) = softmax(f)_y` over `K` latent functions (the GP's
/// outputs). The expected log-likelihood and the predictive are Monte Carlo averages over
/// reparameterized draws of `f` (differentiable); the log predictive density is
/// `ln (1/S Σ_s softmax(f_s)_y)`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Int, Tensor};
/// use vi_blocks::gp::GaussianMarginals;
/// use vi_blocks::gp::likelihood::{Likelihood, SoftmaxLikelihoodConfig};
/// let device = Device::default();
/// let lik = SoftmaxLikelihoodConfig::new().init();
/// let f = GaussianMarginals { mean: Tensor::zeros([2, 4], &device), variance: Tensor::zeros([2, 4], &device) };
/// let ell: Vec<f32> = lik.expected_log_likelihood(&f, Tensor::<1, Int>::from_data([0, 3], &device)).into_data().to_vec().unwrap();
/// assert!(ell.iter().all(|v| (v + 4f32.ln()).abs() < 1e-5)); // uniform over 4 classes
/// ```
#[derive(Module, Debug)]
pub struct SoftmaxLikelihood {
    /// Monte Carlo draws of `f` per data point.
    #[module(skip)]
    pub samples: usize,
}

impl SoftmaxLikelihoodConfig {
    /// The likelihood.
    pub fn init(&self) -> SoftmaxLikelihood {
        SoftmaxLikelihood {
            samples: self.samples.max(1),
        }
    }
}

impl SoftmaxLikelihood {
    /// `ln softmax(f_s)_y` for each draw, `[S, N]`.
    fn log_probs(&self, f: &GaussianMarginals, y: Tensor<1, Int>) -> Tensor<2> {
        let logits = f.sample(self.samples);
        let [s, n, _] = logits.dims();
        let index = y.reshape([1, n, 1]).expand([s, n, 1]);
        log_softmax(logits, 2).gather(2, index).reshape([s, n])
    }
}

impl Likelihood for SoftmaxLikelihood {
    type Target = Tensor<1, Int>;
    type Predictive = Tensor<2>;

    fn expected_log_likelihood(&self, f: &GaussianMarginals, y: Tensor<1, Int>) -> Tensor<1> {
        self.log_probs(f, y).mean_dim(0).squeeze_dim(0)
    }

    /// Class probabilities `1/S Σ_s softmax(f_s)`, `[N, K]`.
    fn predictive(&self, f: &GaussianMarginals) -> Tensor<2> {
        log_softmax(f.sample(self.samples), 2)
            .exp()
            .mean_dim(0)
            .squeeze_dim(0)
    }

    fn log_predictive_density(&self, f: &GaussianMarginals, y: Tensor<1, Int>) -> Tensor<1> {
        let lp = self.log_probs(f, y);
        let s = lp.dims()[0];
        logsumexp(lp, 0).squeeze_dim(0).sub_scalar((s as f64).ln())
    }
}
