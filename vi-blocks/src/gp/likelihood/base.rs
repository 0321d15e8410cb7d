//! The observation-model trait every likelihood implements.

use crate::gp::marginals::GaussianMarginals;
use burn::tensor::Tensor;

/// An observation model on top of Gaussian marginals `q(f)` `[N, P]`.
pub trait Likelihood {
    /// Observed values (`[N, P]` floats, or `[N]` class indices).
    type Target;
    /// The predictive distribution's summary.
    type Predictive;

    /// `E_{q(f_n)}[ln p(y_n | f_n)]` per data row, summed over outputs: `[N]`.
    fn expected_log_likelihood(&self, f: &GaussianMarginals, target: Self::Target) -> Tensor<1>;

    /// `Σ_n E_{q(f_n)}[ln p(y_n | f_n)]`, `[1]`: the data term of a minibatch ELBO. By default
    /// the sum of [`Likelihood::expected_log_likelihood`]; the Gaussian likelihood fuses it.
    fn expected_log_likelihood_sum(
        &self,
        f: &GaussianMarginals,
        target: Self::Target,
    ) -> Tensor<1> {
        self.expected_log_likelihood(f, target).sum()
    }

    /// The predictive distribution of `y` at the marginals.
    fn predictive(&self, f: &GaussianMarginals) -> Self::Predictive;

    /// `ln ∫ p(y_n | f) q(f_n) df` per data row: `[N]`.
    fn log_predictive_density(&self, f: &GaussianMarginals, target: Self::Target) -> Tensor<1>;
}
