//! Independent Gaussian marginals of a layer's outputs: what every likelihood and the deep GP
//! read from a GP layer (or a point mass, from a network's sampled output).

use burn::tensor::{Distribution as Noise, Tensor};

/// Independent Gaussian marginals `q(f_{n,p}) = N(mean, variance)`, each `[N, P]`.
#[derive(Debug, Clone)]
pub struct GaussianMarginals {
    /// Means, `[N, P]`.
    pub mean: Tensor<2>,
    /// Variances, `[N, P]`.
    pub variance: Tensor<2>,
}

impl GaussianMarginals {
    /// A point mass at `mean` (zero variance), e.g. one sampled output of a Bayesian network, so
    /// that a likelihood's expected log-likelihood is its log-density at `mean`.
    pub fn point(mean: Tensor<2>) -> Self {
        Self {
            variance: mean.zeros_like(),
            mean,
        }
    }

    /// `S` reparameterized draws `mean + √variance · ε`, `[S, N, P]`.
    pub fn sample(&self, samples: usize) -> Tensor<3> {
        let [n, p] = self.mean.dims();
        let eps = vi_core::random::random(
            [samples, n, p],
            Noise::Normal(0.0, 1.0),
            (&self.mean.device(), self.mean.dtype()),
        );
        eps * self.variance.clone().sqrt().unsqueeze::<3>() + self.mean.clone().unsqueeze::<3>()
    }
}
