use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution as Noise, Tensor};
use vi_core::distributions::{DistributionError, LowRankMultivariateNormal};
use vi_core::special::inverse_softplus_f64;
use vi_core::special::softplus;

/// Configuration of a [`LowRankGaussian`].
#[derive(Config, Debug)]
pub struct LowRankGaussianConfig {
    /// Dimension `n`.
    pub size: usize,
    /// Rank `k` of the factor.
    pub rank: usize,
    /// Independent distributions `B` (batch).
    #[config(default = 1)]
    pub batch: usize,
    /// Initial total standard deviation of each coordinate.
    #[config(default = 0.1)]
    pub init_scale: f64,
}

/// `q(ω_b) = N(μ_b, W_b W_bᵀ + diag(softplus(ρ_b)²))` for `b < B`: correlations through a
/// rank-`k` factor at `O(n k²)` per density.
///
/// Initialisation: `W ~ N(0, (s/2)²/k)` elementwise and `softplus(ρ) = s √3/2`, so each
/// coordinate's variance is `s²` on average, a quarter of it from the factor.
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use vi_blocks::family::LowRankGaussianConfig;
/// use vi_core::distributions::Distribution;
/// let q = LowRankGaussianConfig::new(100, 5).init(&Device::default()).distribution().unwrap();
/// let var: Vec<f32> = q.variance::<2>().into_data().try_into_vec::<f32>().unwrap(); // [1, 100]
/// assert!(var.len() == 100 && var.iter().all(|v| *v > 0.0075 - 1e-6)); // ≥ the diagonal's 0.75 s²
/// ```
#[derive(Module, Debug)]
pub struct LowRankGaussian {
    /// Means `μ`, `[B, n]`.
    pub loc: Param<Tensor<2>>,
    /// Factors `W`, `[B, n, k]`.
    pub factor: Param<Tensor<3>>,
    /// Raw diagonal scales `ρ`, `[B, n]`.
    pub rho: Param<Tensor<2>>,
}

impl LowRankGaussianConfig {
    /// See the type's documentation for the initial values.
    pub fn init(&self, device: &Device) -> LowRankGaussian {
        let (b, n, k, s) = (self.batch, self.size, self.rank, self.init_scale);
        let factor_sd = 0.5 * s / (k.max(1) as f64).sqrt();
        LowRankGaussian {
            loc: Param::from_tensor(Tensor::zeros([b, n], device)),
            factor: Param::from_tensor(Tensor::random(
                [b, n, k],
                Noise::Normal(0.0, factor_sd),
                device,
            )),
            rho: Param::from_tensor(Tensor::full(
                [b, n],
                inverse_softplus_f64(s * 0.75f64.sqrt()),
                device,
            )),
        }
    }
}

impl LowRankGaussian {
    /// The distributions as one [`LowRankMultivariateNormal`] with batch `[B]` and event `[n]`.
    ///
    /// # Errors
    /// [`DistributionError::Linalg`] if the capacitance matrix cannot be factorised (not
    /// reachable with finite parameters).
    pub fn distribution(&self) -> Result<LowRankMultivariateNormal, DistributionError> {
        LowRankMultivariateNormal::new_unchecked(
            self.loc.val(),
            self.factor.val(),
            softplus(self.rho.val()).square(),
        )
    }
}
