use super::transform::TrilTransform;
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use vi_core::distributions::{DistributionError, MultivariateNormal};

/// Configuration of a [`FullRankGaussian`].
#[derive(Config, Debug)]
pub struct FullRankGaussianConfig {
    /// Dimension `n`.
    pub size: usize,
    /// Independent distributions `B` (batch).
    #[config(default = 1)]
    pub batch: usize,
    /// Initial standard deviation (the initial `L` is `init_scale · I`).
    #[config(default = 0.1)]
    pub init_scale: f64,
    /// How the raw square becomes `L`.
    #[config(default = "TrilTransform::SoftplusDiagonal")]
    pub transform: TrilTransform,
}

/// `q(ω_b) = N(μ_b, L_b L_bᵀ)` for `b < B`, with `L_b` from an unconstrained square `R_b` by the
/// [`TrilTransform`] (by default `L = tril(R, −1) + diag(softplus(diag R))`): any
/// lower-triangular factor with a positive diagonal.
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
    /// Means `μ`, `[B, n]`.
    pub loc: Param<Tensor<2>>,
    /// Unconstrained `R`, `[B, n, n]`; only its lower triangle is used.
    pub scale_raw: Param<Tensor<3>>,
    /// How `R` becomes `L`.
    #[module(skip)]
    pub transform: TrilTransform,
}

impl FullRankGaussianConfig {
    /// Zero means, `L = init_scale · I`.
    pub fn init(&self, device: &Device) -> FullRankGaussian {
        let (b, n) = (self.batch, self.size);
        let diagonal = self.transform.inverse_diagonal(self.init_scale);
        let raw = Tensor::<2>::eye(n, device)
            .mul_scalar(diagonal)
            .unsqueeze::<3>()
            .repeat_dim(0, b);
        FullRankGaussian {
            loc: Param::from_tensor(Tensor::zeros([b, n], device)),
            scale_raw: Param::from_tensor(raw),
            transform: self.transform,
        }
    }
}

impl FullRankGaussian {
    /// The factors `L`, `[B, n, n]`.
    pub fn scale_tril(&self) -> Tensor<3> {
        self.transform.forward(self.scale_raw.val())
    }

    /// `Σ_b KL(N(μ_b, L_b L_bᵀ) ‖ N(0, I))`, `[1]`, in closed form:
    /// `½ (‖L_b‖²_F + ‖μ_b‖² − n) − Σᵢ ln (L_b)ᵢᵢ` per batch element, one fused op.
    ///
    /// # Errors
    /// [`DistributionError`] when the parameters disagree in shape (not reachable through
    /// [`FullRankGaussianConfig::init`]).
    pub fn kl_to_standard_normal(&self) -> Result<Tensor<1>, DistributionError> {
        vi_core::kl::kl_to_standard_normal(self.loc.val(), self.scale_tril())
    }

    /// The distributions as one [`MultivariateNormal`] with batch `[B]` and event `[n]`.
    ///
    /// # Errors
    /// None in practice (the shapes are consistent by construction).
    pub fn distribution(&self) -> Result<MultivariateNormal, DistributionError> {
        MultivariateNormal::new_unchecked(self.loc.val(), self.scale_tril())
    }
}
