use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use vi_core::distributions::{DistributionError, MultivariateNormal};
use vi_core::special::inverse_softplus_f64;
use vi_core::special::softplus;

/// Configuration of a [`FullRankGaussian`].
#[derive(Config, Debug)]
pub struct FullRankGaussianConfig {
    /// Dimension `n`.
    pub size: usize,
    /// Initial standard deviation (the initial `L` is `init_scale · I`).
    #[config(default = 0.1)]
    pub init_scale: f64,
}

/// `q(ω) = N(μ, L Lᵀ)` with `L = tril(R, −1) + diag(softplus(diag R))`: any lower-triangular
/// factor with a positive diagonal, reached by unconstrained `R`.
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use vi_blocks::family::FullRankGaussianConfig;
/// use vi_core::distributions::Distribution;
/// let q = FullRankGaussianConfig::new(3).init(&Device::default()).distribution().unwrap();
/// let h: f32 = q.entropy::<1>().into_scalar();   // (n/2)(1 + ln 2π) + n ln 0.1
/// assert!((h - (1.5 * (1.0 + (2.0 * std::f32::consts::PI).ln()) + 3.0 * 0.1f32.ln())).abs() < 1e-4);
/// ```
#[derive(Module, Debug)]
pub struct FullRankGaussian {
    /// Mean `μ`.
    pub loc: Param<Tensor<1>>,
    /// Unconstrained `R`; only its lower triangle is used.
    pub scale_raw: Param<Tensor<2>>,
}

impl FullRankGaussianConfig {
    /// Zero mean, `L = init_scale · I`.
    pub fn init(&self, device: &Device) -> FullRankGaussian {
        let n = self.size;
        let diag = Tensor::<2>::eye(n, device).mul_scalar(inverse_softplus_f64(self.init_scale));
        FullRankGaussian {
            loc: Param::from_tensor(Tensor::zeros([n], device)),
            scale_raw: Param::from_tensor(diag),
        }
    }
}

impl FullRankGaussian {
    /// The Cholesky factor `L`.
    pub fn scale_tril(&self) -> Tensor<2> {
        let raw = self.scale_raw.val();
        let n = raw.dims()[0];
        let eye = Tensor::<2>::eye(n, &raw.device()).cast(raw.dtype());
        let diag = softplus((raw.clone() * eye.clone()).sum_dim(1)).reshape([1, n]);
        raw.tril(-1) + eye * diag
    }

    /// The posterior as a [`MultivariateNormal`].
    ///
    /// # Errors
    /// None in practice (the shapes are consistent by construction).
    pub fn distribution(&self) -> Result<MultivariateNormal, DistributionError> {
        MultivariateNormal::new_unchecked(self.loc.val(), self.scale_tril())
    }
}
