use super::{Kernel, positive, positive_param};
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

/// Configuration of a [`ScaleKernel`].
#[derive(Config, Debug)]
pub struct ScaleKernelConfig {
    /// Initial output scale (a variance, as in GPyTorch).
    #[config(default = "core::f64::consts::LN_2")]
    pub outputscale: f64,
    /// Independent scales batched along the first dimension.
    #[config(default = 1)]
    pub batch: usize,
}

/// `s · k(x, x')` with a learned output scale `s > 0` (the signal variance).
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::gp::kernel::{Kernel, RbfConfig, ScaleKernelConfig};
/// let device = Device::default();
/// let k = ScaleKernelConfig::new().with_outputscale(3.0).init(RbfConfig::new(2).init(&device), &device);
/// let x = Tensor::<3>::zeros([1, 4, 2], &device);
/// let diag: Vec<f32> = k.diagonal(x).into_data().to_vec().unwrap();
/// assert!(diag.iter().all(|v| (v - 3.0).abs() < 1e-5));
/// ```
#[derive(Module, Debug)]
pub struct ScaleKernel<K> {
    /// The scaled kernel.
    pub base: K,
    /// `softplus⁻¹(s)`, `[batch, 1, 1]`.
    pub outputscale_raw: Param<Tensor<3>>,
}

impl ScaleKernelConfig {
    /// Wraps `base`.
    pub fn init<K: Kernel>(&self, base: K, device: &Device) -> ScaleKernel<K> {
        ScaleKernel {
            base,
            outputscale_raw: positive_param(self.batch, 1, self.outputscale, device),
        }
    }
}

impl<K: Kernel> ScaleKernel<K> {
    /// The output scale `s`, `[batch, 1, 1]`.
    pub fn outputscale(&self) -> Tensor<3> {
        positive(&self.outputscale_raw)
    }
}

impl<K: Kernel> Kernel for ScaleKernel<K> {
    fn matrix(&self, x1: Tensor<3>, x2: Tensor<3>) -> Tensor<3> {
        self.base.scaled_matrix(x1, x2, self.outputscale())
    }

    fn diagonal(&self, x: Tensor<3>) -> Tensor<2> {
        self.base.scaled_diagonal(x, self.outputscale())
    }

    /// The output scale transformed once for the three matrices.
    fn inducing_matrices(&self, z: Tensor<3>, x: Tensor<3>) -> (Tensor<3>, Tensor<3>, Tensor<2>) {
        self.base.scaled_inducing_matrices(z, x, self.outputscale())
    }
}
