use super::{Kernel, positive, positive_param, scaled_unit_diagonal, unit_diagonal};
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

/// Configuration of a [`Periodic`] kernel.
#[derive(Config, Debug)]
pub struct PeriodicConfig {
    /// Input dimension `d`.
    pub input_dim: usize,
    /// Separate lengthscales and periods per input dimension (ARD) or one shared.
    #[config(default = false)]
    pub ard: bool,
    /// Initial lengthscale.
    #[config(default = "core::f64::consts::LN_2")]
    pub lengthscale: f64,
    /// Initial period.
    #[config(default = "core::f64::consts::LN_2")]
    pub period: f64,
    /// Independent kernels batched along the first dimension.
    #[config(default = 1)]
    pub batch: usize,
}

/// Periodic kernel (MacKay 1998; GPyTorch's `PeriodicKernel`),
/// `k(x, x') = exp(−2 Σ_d sin²(π (x_d − x'_d) / p_d) / ℓ_d²)`. Unit variance.
///
/// The differences are formed explicitly (`[b, n, m, d]`), which keeps full precision where
/// the product form `cos a cos a' + sin a sin a'` would cancel.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::gp::kernel::{Kernel, PeriodicConfig};
/// let device = Device::default();
/// let k = PeriodicConfig::new(1).with_period(1.0).init(&device);
/// let x = Tensor::<3>::from_data([[[0.25], [1.25]]], &device); // one period apart
/// let kxx: Vec<f32> = k.gram(x).into_data().to_vec().unwrap();
/// assert!((kxx[1] - 1.0).abs() < 1e-5);
/// ```
#[derive(Module, Debug)]
pub struct Periodic {
    /// `softplus⁻¹(ℓ)`, `[batch, 1, d or 1]`.
    pub lengthscale_raw: Param<Tensor<3>>,
    /// `softplus⁻¹(p)`, `[batch, 1, d or 1]`.
    pub period_raw: Param<Tensor<3>>,
}

impl PeriodicConfig {
    /// The kernel.
    pub fn init(&self, device: &Device) -> Periodic {
        let dims = if self.ard { self.input_dim } else { 1 };
        Periodic {
            lengthscale_raw: positive_param(self.batch, dims, self.lengthscale, device),
            period_raw: positive_param(self.batch, dims, self.period, device),
        }
    }
}

impl Periodic {
    /// The lengthscales `ℓ`, `[batch, 1, d]`.
    pub fn lengthscale(&self) -> Tensor<3> {
        positive(&self.lengthscale_raw)
    }

    /// The periods `p`, `[batch, 1, d]`.
    pub fn period(&self) -> Tensor<3> {
        positive(&self.period_raw)
    }
}

impl Kernel for Periodic {
    fn matrix(&self, x1: Tensor<3>, x2: Tensor<3>) -> Tensor<3> {
        let (n, m) = (x1.dims()[1], x2.dims()[1]);
        let diff = x1.unsqueeze_dim::<4>(2) - x2.unsqueeze_dim::<4>(1); // [b, n, m, d]
        let period = self.period().unsqueeze_dim::<4>(1);
        let lengthscale = self.lengthscale().unsqueeze_dim::<4>(1);
        let s = (diff / period).mul_scalar(std::f64::consts::PI).sin() / lengthscale;
        let batch = s.dims()[0];
        s.square()
            .sum_dim(3)
            .reshape([batch, n, m])
            .mul_scalar(-2.0)
            .exp()
    }

    fn diagonal(&self, x: Tensor<3>) -> Tensor<2> {
        unit_diagonal(&x, &self.lengthscale_raw)
    }

    fn scaled_diagonal(&self, x: Tensor<3>, scale: Tensor<3>) -> Tensor<2> {
        scaled_unit_diagonal(&x, &self.lengthscale_raw, scale)
    }
}
