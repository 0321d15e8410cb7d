use super::{Kernel, batch_of, expand_batch, positive, positive_param};
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

/// Configuration of a [`Linear`] kernel.
#[derive(Config, Debug)]
pub struct LinearConfig {
    /// Initial variance `σ²`.
    #[config(default = 1.0)]
    pub variance: f64,
    /// Independent kernels batched along the first dimension.
    #[config(default = 1)]
    pub batch: usize,
}

/// Linear (dot-product) kernel `k(x, x') = σ² x·x'`: Bayesian linear regression through the
/// origin, and the kernel of the linear latent Gaussian model.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::gp::kernel::{Kernel, LinearConfig};
/// let device = Device::default();
/// let k = LinearConfig::new().with_variance(2.0).init(&device);
/// let x = Tensor::<3>::from_data([[[1.0, 2.0], [3.0, -1.0]]], &device);
/// let kxx: Vec<f32> = k.gram(x).into_data().to_vec().unwrap();
/// assert!((kxx[1] - 2.0).abs() < 1e-5); // 2 · (3 − 2)
/// ```
#[derive(Module, Debug)]
pub struct Linear {
    /// `softplus⁻¹(σ²)`, `[batch, 1, 1]`.
    pub variance_raw: Param<Tensor<3>>,
}

impl LinearConfig {
    /// The kernel.
    pub fn init(&self, device: &Device) -> Linear {
        Linear {
            variance_raw: positive_param(self.batch, 1, self.variance, device),
        }
    }
}

impl Linear {
    /// `σ²`, `[batch, 1, 1]`.
    pub fn variance(&self) -> Tensor<3> {
        positive(&self.variance_raw)
    }
}

impl Kernel for Linear {
    fn matrix(&self, x1: Tensor<3>, x2: Tensor<3>) -> Tensor<3> {
        let batch = batch_of(x1.dims()[0], x2.dims()[0]);
        let (x1, x2) = (expand_batch(x1, batch), expand_batch(x2, batch));
        x1.matmul(x2.swap_dims(1, 2)) * self.variance()
    }

    fn diagonal(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, n, _] = x.dims();
        let batch = batch_of(b, self.variance_raw.dims()[0]);
        let sq = x.powi_scalar(2).sum_dim(2) * self.variance();
        expand_batch(sq, batch).reshape([batch, n])
    }
}
