//! Latent inputs `q(X)` for GP latent-variable models (the Bayesian GPLVM, the CLGP).

use crate::family::{MeanFieldGaussian, ScaleTransform};
use burn::config::Config;
use burn::module::Param;
use burn::tensor::{Device, Distribution as Noise, Tensor};
use vi_core::distributions::{DistributionError, Normal};
use vi_core::kl::KlDivergence;
use vi_core::special::inverse_softplus_f64;

/// Configuration of [`LatentInputs`].
#[derive(Config, Debug)]
pub struct LatentInputsConfig {
    /// Number of rows `N` (one latent point per observation).
    pub rows: usize,
    /// Latent dimension `Q`.
    pub dim: usize,
    /// Initial standard deviation of every coordinate.
    #[config(default = 0.1)]
    pub init_scale: f64,
}

/// `q(X) = Πₙ N(xₙ; mₙ, diag(sₙ²))` over `N` latent points of dimension `Q` (means `[N, Q]`,
/// `s = softplus(ρ)`), with the prior `p(X) = Πₙ N(xₙ; 0, I)`: the mean-field family with one
/// batch dimension. Pass [`MeanFieldGaussian::distribution`] to
/// [`Svgp::forward_sampled`](super::Svgp::forward_sampled) to propagate the uncertainty.
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use vi_blocks::gp::LatentInputsConfig;
/// let q = LatentInputsConfig::new(5, 2).init(&Device::default());
/// let kl: Vec<f32> = q.kl_to_prior().unwrap().into_data().to_vec().unwrap();
/// // KL(N(m, 0.1²) ‖ N(0, 1)) per row, m ~ N(0, 0.1²) initially.
/// assert!(kl.len() == 5 && kl.iter().all(|&v| v > 0.0));
/// ```
pub type LatentInputs = MeanFieldGaussian<2>;

impl LatentInputsConfig {
    /// Means drawn from `N(0, init_scale²)` (set them, e.g. from PCA, with
    /// [`MeanFieldGaussian::with_means`]) and standard deviations `init_scale`.
    pub fn init(&self, device: &Device) -> LatentInputs {
        let shape = [self.rows, self.dim];
        MeanFieldGaussian::new(
            Tensor::random(shape, Noise::Normal(0.0, self.init_scale), device),
            Tensor::full(shape, inverse_softplus_f64(self.init_scale), device),
            ScaleTransform::Softplus,
        )
    }
}

impl MeanFieldGaussian<2> {
    /// Replaces the means (shape `[N, Q]`, as before).
    ///
    /// # Panics
    /// When the shape differs.
    pub fn with_means(self, loc: Tensor<2>) -> Self {
        assert_eq!(
            loc.dims(),
            self.loc.dims(),
            "LatentInputs::with_means: the means must keep their shape"
        );
        let loc = loc.cast(self.loc.dtype()).detach();
        Self {
            loc: Param::from_tensor(loc).set_require_grad(self.loc.is_require_grad()),
            ..self
        }
    }

    /// The number of latent points `N`.
    pub fn rows(&self) -> usize {
        self.loc.dims()[0]
    }

    /// The rows of `q(X)` at `rows`, as a [`Normal`] with batch `[rows.len()]`.
    ///
    /// # Errors
    /// As [`MeanFieldGaussian::distribution`].
    pub fn select(&self, rows: &[usize]) -> Result<Normal, DistributionError> {
        let device = self.loc.device();
        let index = Tensor::<1, burn::tensor::Int>::from_data(
            burn::tensor::TensorData::new(
                rows.iter().map(|&r| r as i64).collect::<Vec<_>>(),
                [rows.len()],
            ),
            &device,
        );
        Normal::new_unchecked(
            self.loc.val().select(0, index.clone()),
            self.scale().select(0, index),
        )?
        .to_event(1)
    }

    /// `KL(q(xₙ) ‖ N(0, I))` per row, `[N]` (closed form).
    ///
    /// # Errors
    /// As [`MeanFieldGaussian::distribution`].
    pub fn kl_to_prior(&self) -> Result<Tensor<1>, DistributionError> {
        let q = self.distribution()?;
        let zero = self.loc.val().zeros_like();
        let prior = Normal::new_unchecked(zero.clone(), zero.ones_like())?.to_event(1)?;
        q.kl::<1>(&prior)
    }
}
