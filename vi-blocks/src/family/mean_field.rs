use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use vi_core::distributions::{DistributionError, Normal};
use vi_core::special::inverse_softplus_f64;
use vi_core::special::softplus;

/// Configuration of a [`MeanFieldGaussian`].
#[derive(Config, Debug)]
pub struct MeanFieldGaussianConfig {
    /// Dimension `n`.
    pub size: usize,
    /// Initial standard deviation of every coordinate.
    #[config(default = 0.1)]
    pub init_scale: f64,
}

/// `q(ω) = Π N(ωᵢ; μᵢ, softplus(ρᵢ)²)` over a vector of `n` coordinates.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::family::MeanFieldGaussianConfig;
/// use vi_core::distributions::{Distribution, Reparameterized};
/// let q = MeanFieldGaussianConfig::new(3).init(&Device::default()).distribution().unwrap();
/// let w: Tensor<2> = q.rsample(4);             // [4, 3]
/// let lp: Vec<f32> = q.log_prob::<2, 1>(w).unwrap().into_data().try_into_vec::<f32>().unwrap();
/// assert!(lp.len() == 4 && lp.iter().all(|v| v.is_finite()));
/// ```
#[derive(Module, Debug)]
pub struct MeanFieldGaussian {
    /// Means `μ`.
    pub loc: Param<Tensor<1>>,
    /// Raw scales `ρ`, `σ = softplus(ρ)`.
    pub rho: Param<Tensor<1>>,
}

impl MeanFieldGaussianConfig {
    /// Zero means and standard deviation `init_scale`.
    pub fn init(&self, device: &Device) -> MeanFieldGaussian {
        MeanFieldGaussian {
            loc: Param::from_tensor(Tensor::zeros([self.size], device)),
            rho: Param::from_tensor(Tensor::full(
                [self.size],
                inverse_softplus_f64(self.init_scale),
                device,
            )),
        }
    }
}

impl MeanFieldGaussian {
    /// Standard deviations `softplus(ρ)`.
    pub fn scale(&self) -> Tensor<1> {
        softplus(self.rho.val())
    }

    /// The posterior as a [`Normal`] with event `[n]`.
    ///
    /// # Errors
    /// None in practice (the shapes are consistent by construction); typed for uniformity.
    pub fn distribution(&self) -> Result<Normal, DistributionError> {
        Normal::new_unchecked(self.loc.val(), self.scale())?.to_event(1)
    }
}
