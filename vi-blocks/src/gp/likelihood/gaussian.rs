use super::Likelihood;
use crate::gp::GaussianMarginals;
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use std::f64::consts::PI;
use vi_core::likelihood::gaussian_expected_log_likelihood;
use vi_core::special::{inverse_softplus_f64, softplus, softplus_log_scale};

/// Configuration of a [`GaussianLikelihood`].
#[derive(Config, Debug)]
pub struct GaussianLikelihoodConfig {
    /// Initial noise variance (GPyTorch's default: `1e-4 + softplus(0)`).
    #[config(default = 0.6932471805599453)]
    pub noise: f64,
    /// Lower bound of the noise variance (GPyTorch's `GreaterThan(1e-4)`).
    #[config(default = 1e-4)]
    pub noise_floor: f64,
    /// One noise per output (`P`) or shared (1).
    #[config(default = 1)]
    pub outputs: usize,
    /// Whether the noise is learned (Gal's UCI protocol fixes the precision `τ = 1/noise`).
    #[config(default = true)]
    pub learn_noise: bool,
}

/// Homoscedastic Gaussian noise `y = f + ε`, `ε ~ N(0, σ²)`, `σ² = floor + softplus(raw)`.
///
/// Expected log-likelihood (closed form): `−½ ln(2πσ²) − ((y − μ)² + v)/(2σ²)`;
/// predictive `N(μ, v + σ²)`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::gp::GaussianMarginals;
/// use vi_blocks::gp::likelihood::{GaussianLikelihoodConfig, Likelihood};
/// let device = Device::default();
/// let lik = GaussianLikelihoodConfig::new().with_noise(1.0).with_noise_floor(0.0).init(&device);
/// let f = GaussianMarginals { mean: Tensor::zeros([1, 1], &device), variance: Tensor::ones([1, 1], &device) };
/// let ell: f32 = lik.expected_log_likelihood(&f, Tensor::zeros([1, 1], &device)).into_scalar();
/// assert!((ell - (-0.5 * (2.0 * std::f32::consts::PI).ln() - 0.5)).abs() < 1e-5);
/// ```
#[derive(Module, Debug)]
pub struct GaussianLikelihood {
    /// `softplus⁻¹(σ² − floor)`, `[1 or P]`.
    pub noise_raw: Param<Tensor<1>>,
    /// Lower bound of `σ²`.
    #[module(skip)]
    pub noise_floor: f64,
}

impl GaussianLikelihoodConfig {
    /// The likelihood.
    ///
    /// # Panics
    /// When `noise <= noise_floor`.
    pub fn init(&self, device: &Device) -> GaussianLikelihood {
        assert!(
            self.noise > self.noise_floor,
            "GaussianLikelihood: initial noise {} is not above the floor {}",
            self.noise,
            self.noise_floor
        );
        let raw = inverse_softplus_f64(self.noise - self.noise_floor);
        GaussianLikelihood {
            noise_raw: Param::from_tensor(Tensor::full([self.outputs], raw, device))
                .set_require_grad(self.learn_noise),
            noise_floor: self.noise_floor,
        }
    }
}

impl GaussianLikelihood {
    /// The noise variance `σ²`, `[1, 1 or P]` (broadcasts against `[N, P]`).
    pub fn noise(&self) -> Tensor<2> {
        softplus(self.noise_raw.val())
            .add_scalar(self.noise_floor)
            .unsqueeze::<2>()
    }
}

impl Likelihood for GaussianLikelihood {
    type Target = Tensor<2>;
    type Predictive = GaussianMarginals;

    fn expected_log_likelihood(&self, f: &GaussianMarginals, y: Tensor<2>) -> Tensor<1> {
        let noise = self.noise();
        let sq = (y - f.mean.clone()).square() + f.variance.clone();
        let ell = (noise.clone().mul_scalar(2.0 * PI).log() + sq / noise).mul_scalar(-0.5);
        ell.sum_dim(1).squeeze_dim(1)
    }

    /// `Σ_n ln N(y_n | μ_n, σ²) − ½ Σ_n v_n / σ²` as one fused op
    /// ([`gaussian_expected_log_likelihood`] with `ln σ = ½ ln σ²`).
    ///
    /// # Panics
    /// When `y` and the marginals differ in shape, or the likelihood holds several noise values
    /// but not one per output.
    fn expected_log_likelihood_sum(&self, f: &GaussianMarginals, y: Tensor<2>) -> Tensor<1> {
        let [n, p] = f.mean.dims();
        // ln σ = ½ ln(softplus(raw) + floor), one op each way.
        let log_scale = softplus_log_scale(self.noise_raw.val(), self.noise_floor).unsqueeze::<2>();
        let log_scale = match log_scale.dims() {
            [1, 1] => log_scale,
            [1, outputs] if outputs == p => log_scale.expand([n, p]),
            dims => panic!(
                "GaussianLikelihood: {} noise values for {p} outputs",
                dims[1]
            ),
        };
        gaussian_expected_log_likelihood(y, f.mean.clone(), f.variance.clone(), log_scale)
            .unwrap_or_else(|e| panic!("GaussianLikelihood: {e}"))
    }

    fn predictive(&self, f: &GaussianMarginals) -> GaussianMarginals {
        GaussianMarginals {
            mean: f.mean.clone(),
            variance: f.variance.clone() + self.noise(),
        }
    }

    fn log_predictive_density(&self, f: &GaussianMarginals, y: Tensor<2>) -> Tensor<1> {
        let var = f.variance.clone() + self.noise();
        let lpd = (var.clone().mul_scalar(2.0 * PI).log() + (y - f.mean.clone()).square() / var)
            .mul_scalar(-0.5);
        lpd.sum_dim(1).squeeze_dim(1)
    }
}
