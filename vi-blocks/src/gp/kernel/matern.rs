use super::{Kernel, positive, positive_param, scaled_unit_diagonal, unit_diagonal};
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use vi_core::gram::squared_distance;

/// Smoothness `ν` of a [`Matern`] kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Smoothness {
    /// ν = ½ (the exponential kernel; paths are continuous, nowhere differentiable).
    Half,
    /// ν = 3/2 (once differentiable paths).
    ThreeHalves,
    /// ν = 5/2 (twice differentiable paths).
    FiveHalves,
}

/// Configuration of a [`Matern`] kernel.
#[derive(Config, Debug)]
pub struct MaternConfig {
    /// Input dimension `d`.
    pub input_dim: usize,
    /// Smoothness ν.
    #[config(default = "Smoothness::FiveHalves")]
    pub smoothness: Smoothness,
    /// One lengthscale per input dimension (ARD) or one shared.
    #[config(default = true)]
    pub ard: bool,
    /// Initial lengthscale.
    #[config(default = "core::f64::consts::LN_2")]
    pub lengthscale: f64,
    /// Independent kernels batched along the first dimension.
    #[config(default = 1)]
    pub batch: usize,
}

/// Matérn kernel with ν ∈ {½, 3/2, 5/2} and ARD lengthscales, `r² = Σ_d (x_d − x'_d)²/ℓ_d²`:
/// `e^{−r}`, `(1 + √3 r) e^{−√3 r}`, `(1 + √5 r + 5r²/3) e^{−√5 r}` (Rasmussen & Williams
/// 2006, eq. 4.17). Unit variance.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::gp::kernel::{Kernel, MaternConfig, Smoothness};
/// let device = Device::default();
/// let k = MaternConfig::new(1).with_smoothness(Smoothness::Half).with_lengthscale(1.0).init(&device);
/// let x = Tensor::<3>::from_data([[[0.0], [2.0]]], &device);
/// let kxx: Vec<f32> = k.gram(x).into_data().to_vec().unwrap();
/// assert!((kxx[1] - (-2.0f32).exp()).abs() < 1e-6);
/// ```
#[derive(Module, Debug)]
pub struct Matern {
    /// `softplus⁻¹(ℓ)`, `[batch, 1, d]` (or `[batch, 1, 1]` without ARD).
    pub lengthscale_raw: Param<Tensor<3>>,
    /// Smoothness ν.
    #[module(skip)]
    pub smoothness: Smoothness,
}

impl MaternConfig {
    /// The kernel with every lengthscale at `self.lengthscale`.
    pub fn init(&self, device: &Device) -> Matern {
        let dims = if self.ard { self.input_dim } else { 1 };
        Matern {
            lengthscale_raw: positive_param(self.batch, dims, self.lengthscale, device),
            smoothness: self.smoothness,
        }
    }
}

impl Matern {
    /// The lengthscales `ℓ`, `[batch, 1, d]`.
    pub fn lengthscale(&self) -> Tensor<3> {
        positive(&self.lengthscale_raw)
    }
}

impl Kernel for Matern {
    fn matrix(&self, x1: Tensor<3>, x2: Tensor<3>) -> Tensor<3> {
        let l = self.lengthscale();
        // From the differences: `K(x, x)` exactly symmetric with `r = 0` on its diagonal, where
        // `√r²` would turn the expansion's rounding into a visible error.
        let r2 = squared_distance(x1 / l.clone(), x2 / l)
            .unwrap_or_else(|e| panic!("Matern::matrix: {e}"));
        self.of_squared_distance(r2)
    }

    fn diagonal(&self, x: Tensor<3>) -> Tensor<2> {
        unit_diagonal(&x, &self.lengthscale_raw)
    }

    fn scaled_diagonal(&self, x: Tensor<3>, scale: Tensor<3>) -> Tensor<2> {
        scaled_unit_diagonal(&x, &self.lengthscale_raw, scale)
    }
}

impl Matern {
    /// `k` as a function of `r²`.
    fn of_squared_distance(&self, r2: Tensor<3>) -> Tensor<3> {
        // The floor keeps d r / d r² = 1/(2r) finite where x = x' (there d r²/dx = 0).
        let r = r2.clone().clamp_min(1e-30).sqrt();
        match self.smoothness {
            Smoothness::Half => r.neg().exp(),
            Smoothness::ThreeHalves => {
                let s = r.mul_scalar(3f64.sqrt());
                (s.clone() + 1.0) * s.neg().exp()
            }
            Smoothness::FiveHalves => {
                let s = r.mul_scalar(5f64.sqrt());
                (s.clone() + r2.mul_scalar(5.0 / 3.0) + 1.0) * s.neg().exp()
            }
        }
    }
}
