use super::{GaussHermite, Likelihood, log_normal_cdf};
use crate::gp::GaussianMarginals;
use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Distribution as Noise, Tensor};
use serde::{Deserialize, Serialize};
use vi_core::special::log_sigmoid;

/// The link from the latent `f` to `p(y = 1 | f)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Link {
    /// `Φ(f)` (GPyTorch's `BernoulliLikelihood`).
    Probit,
    /// `σ(f) = 1/(1 + e^{−f})`.
    Logit,
}

/// Configuration of a [`BernoulliLikelihood`].
#[derive(Config, Debug)]
pub struct BernoulliLikelihoodConfig {
    /// The link.
    #[config(default = "Link::Probit")]
    pub link: Link,
    /// `None`: 20-point Gauss–Hermite quadrature of the expected log-likelihood (deterministic,
    /// GPyTorch's choice); `Some(S)`: a Monte Carlo estimate from `S` reparameterized draws.
    pub monte_carlo_samples: Option<usize>,
}

/// Binary outcomes `y ∈ {0, 1}` with `p(y = 1 | f) = Φ(f)` or `σ(f)`; `ln p(y | f) = ln link(±f)`.
///
/// The predictive `p(y = 1) = E[Φ(f)] = Φ(μ / √(1 + v))` is exact for the probit link; the logit
/// link uses the quadrature.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::gp::GaussianMarginals;
/// use vi_blocks::gp::likelihood::{BernoulliLikelihoodConfig, Likelihood};
/// let device = Device::default();
/// let lik = BernoulliLikelihoodConfig::new().init();
/// let f = GaussianMarginals { mean: Tensor::ones([1, 1], &device), variance: Tensor::full([1, 1], 3.0, &device) };
/// let p: f32 = lik.predictive(&f).into_scalar();
/// assert!((p - 0.691_462).abs() < 1e-5); // Φ(1/2)
/// ```
#[derive(Module, Debug)]
pub struct BernoulliLikelihood {
    /// The link.
    #[module(skip)]
    pub link: Link,
    /// Monte Carlo draws, or `None` for quadrature.
    #[module(skip)]
    pub monte_carlo_samples: Option<usize>,
}

impl BernoulliLikelihoodConfig {
    /// The likelihood.
    pub fn init(&self) -> BernoulliLikelihood {
        BernoulliLikelihood {
            link: self.link,
            monte_carlo_samples: self.monte_carlo_samples,
        }
    }
}

impl BernoulliLikelihood {
    /// `ln p(y | f)` with `y ∈ {0, 1}` broadcast against `f`.
    fn log_prob<const D: usize>(&self, f: Tensor<D>, y: Tensor<D>) -> Tensor<D> {
        let signed = f * (y.mul_scalar(2.0).sub_scalar(1.0));
        match self.link {
            Link::Probit => log_normal_cdf(signed),
            Link::Logit => log_sigmoid(signed),
        }
    }
}

impl Likelihood for BernoulliLikelihood {
    type Target = Tensor<2>;
    type Predictive = Tensor<2>;

    fn expected_log_likelihood(&self, f: &GaussianMarginals, y: Tensor<2>) -> Tensor<1> {
        let y3 = y.unsqueeze::<3>();
        let ell = match self.monte_carlo_samples {
            None => GaussHermite::twenty().expectation(f, |t| self.log_prob(t, y3.clone())),
            Some(s) => {
                let [n, p] = f.mean.dims();
                let eps = vi_core::random::random(
                    [s, n, p],
                    Noise::Normal(0.0, 1.0),
                    (&f.mean.device(), f.mean.dtype()),
                );
                let draws = eps * f.variance.clone().sqrt().unsqueeze::<3>()
                    + f.mean.clone().unsqueeze::<3>();
                self.log_prob(draws, y3).mean_dim(0).squeeze_dim(0)
            }
        };
        ell.sum_dim(1).squeeze_dim(1)
    }

    fn predictive(&self, f: &GaussianMarginals) -> Tensor<2> {
        match self.link {
            Link::Probit => {
                let z = f.mean.clone() / f.variance.clone().add_scalar(1.0).sqrt();
                log_normal_cdf(z).exp()
            }
            Link::Logit => GaussHermite::twenty().expectation(f, |t| log_sigmoid(t).exp()),
        }
    }

    fn log_predictive_density(&self, f: &GaussianMarginals, y: Tensor<2>) -> Tensor<1> {
        let p1 = self.predictive(f);
        let p = p1.clone() * y.clone() + (p1.neg().add_scalar(1.0)) * (y.neg().add_scalar(1.0));
        p.log().sum_dim(1).squeeze_dim(1)
    }
}
