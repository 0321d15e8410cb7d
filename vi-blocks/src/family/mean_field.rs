use super::transform::ScaleTransform;
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use vi_core::distributions::{DistributionError, Normal};
use vi_core::kl::KlDivergence;

/// Configuration of a [`MeanFieldGaussian`] over a vector.
#[derive(Config, Debug)]
pub struct MeanFieldGaussianConfig {
    /// Dimension `n`.
    pub size: usize,
    /// Initial standard deviation of every coordinate.
    #[config(default = 0.1)]
    pub init_scale: f64,
    /// How the raw scales become standard deviations.
    #[config(default = "ScaleTransform::Softplus")]
    pub transform: ScaleTransform,
}

/// `q(ω) = Π N(ωᵢ; μᵢ, σᵢ²)` with `σ` from raw scales `ρ` by the [`ScaleTransform`] (by default
/// `softplus`), over a tensor of rank `D`: the last dimension is the event, the others are batch
/// dimensions (a vector of `n` coordinates for `D = 1`; `N` latent points of dimension `Q` for
/// [`crate::gp::LatentInputs`]; `P` outputs of `M` inducing values for an SVGP's `q(u)`).
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
pub struct MeanFieldGaussian<const D: usize = 1> {
    /// Means `μ`.
    pub loc: Param<Tensor<D>>,
    /// Raw scales `ρ`.
    pub rho: Param<Tensor<D>>,
    /// How `ρ` becomes `σ`.
    #[module(skip)]
    pub transform: ScaleTransform,
}

impl MeanFieldGaussianConfig {
    /// Zero means and standard deviation `init_scale`.
    pub fn init(&self, device: &Device) -> MeanFieldGaussian<1> {
        MeanFieldGaussian::new(
            Tensor::zeros([self.size], device),
            Tensor::full([self.size], self.transform.inverse(self.init_scale), device),
            self.transform,
        )
    }
}

impl<const D: usize> MeanFieldGaussian<D> {
    /// The family at means `loc` and raw scales `rho` (same shape).
    ///
    /// # Panics
    /// When `loc` and `rho` differ in shape.
    pub fn new(loc: Tensor<D>, rho: Tensor<D>, transform: ScaleTransform) -> Self {
        assert_eq!(
            loc.shape(),
            rho.shape(),
            "MeanFieldGaussian: ρ must have μ's shape"
        );
        Self {
            loc: Param::from_tensor(loc),
            rho: Param::from_tensor(rho),
            transform,
        }
    }

    /// Standard deviations `σ`.
    pub fn scale(&self) -> Tensor<D> {
        self.transform.forward(self.rho.val())
    }

    /// `KL(q ‖ N(0, I))` summed over every coordinate, `[1]`, in closed form
    /// (`Σ ½ (σ² + μ² − 1) − ln σ`, vi-core's Normal ‖ Normal).
    ///
    /// # Errors
    /// As [`MeanFieldGaussian::distribution`].
    pub fn kl_to_standard_normal(&self) -> Result<Tensor<1>, DistributionError> {
        let zero = self.loc.val().zeros_like();
        let prior = Normal::new_unchecked(zero.clone(), zero.ones_like())?.to_event(1)?;
        self.distribution()?.kl_sum(&prior)
    }

    /// The posterior as a [`Normal`] with event the last dimension.
    ///
    /// # Errors
    /// None in practice (the shapes are consistent by construction); typed for uniformity.
    pub fn distribution(&self) -> Result<Normal, DistributionError> {
        Normal::new_unchecked(self.loc.val(), self.scale())?.to_event(1)
    }
}
