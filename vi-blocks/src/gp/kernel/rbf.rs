use super::{Kernel, positive, positive_param, scaled_unit_diagonal, unit_diagonal};
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use vi_core::gram::{rbf_gram, scaled_rbf_gram};

/// Configuration of an [`Rbf`] kernel.
#[derive(Config, Debug)]
pub struct RbfConfig {
    /// Input dimension `d`.
    pub input_dim: usize,
    /// One lengthscale per input dimension (ARD) or one shared.
    #[config(default = true)]
    pub ard: bool,
    /// Initial lengthscale (GPyTorch's default: `softplus(0) = ln 2`).
    #[config(default = "core::f64::consts::LN_2")]
    pub lengthscale: f64,
    /// Independent kernels batched along the first dimension (one per output).
    #[config(default = 1)]
    pub batch: usize,
}

/// Squared-exponential kernel with automatic relevance determination,
/// `k(x, x') = exp(−½ Σ_d (x_d − x'_d)² / ℓ_d²)` (unit variance: wrap it in a
/// [`super::ScaleKernel`]).
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::gp::kernel::{Kernel, RbfConfig};
/// let device = Device::default();
/// let k = RbfConfig::new(1).with_lengthscale(2.0).init(&device);
/// let x = Tensor::<3>::from_data([[[0.0], [2.0]]], &device);
/// let kxx: Vec<f32> = k.gram(x).into_data().to_vec().unwrap();
/// assert!((kxx[1] - (-0.5f32).exp()).abs() < 1e-6);
/// ```
#[derive(Module, Debug)]
pub struct Rbf {
    /// `softplus⁻¹(ℓ)`, `[batch, 1, d]` (or `[batch, 1, 1]` without ARD).
    pub lengthscale_raw: Param<Tensor<3>>,
}

impl RbfConfig {
    /// The kernel with every lengthscale at `self.lengthscale`.
    pub fn init(&self, device: &Device) -> Rbf {
        let dims = if self.ard { self.input_dim } else { 1 };
        Rbf {
            lengthscale_raw: positive_param(self.batch, dims, self.lengthscale, device),
        }
    }
}

impl Rbf {
    /// The lengthscales `ℓ`, `[batch, 1, d]`.
    pub fn lengthscale(&self) -> Tensor<3> {
        positive(&self.lengthscale_raw)
    }
}

impl Kernel for Rbf {
    /// One [`rbf_gram`] op of the scaled inputs.
    ///
    /// # Panics
    /// When `x1` and `x2` differ in their number of columns or their batch dimensions do not
    /// broadcast (the layers check their inputs first).
    fn matrix(&self, x1: Tensor<3>, x2: Tensor<3>) -> Tensor<3> {
        let l = self.lengthscale();
        rbf_gram(x1 / l.clone(), x2 / l).unwrap_or_else(|e| panic!("Rbf::matrix: {e}"))
    }

    /// One [`scaled_rbf_gram`] op of the raw inputs, lengthscales and scale.
    ///
    /// # Panics
    /// As [`Rbf::matrix`], and for a scale that is not `[1 or b, 1, 1]`.
    fn scaled_matrix(&self, x1: Tensor<3>, x2: Tensor<3>, scale: Tensor<3>) -> Tensor<3> {
        scaled_rbf_gram(x1, x2, self.lengthscale(), scale)
            .unwrap_or_else(|e| panic!("Rbf::scaled_matrix: {e}"))
    }

    fn diagonal(&self, x: Tensor<3>) -> Tensor<2> {
        unit_diagonal(&x, &self.lengthscale_raw)
    }

    fn scaled_diagonal(&self, x: Tensor<3>, scale: Tensor<3>) -> Tensor<2> {
        scaled_unit_diagonal(&x, &self.lengthscale_raw, scale)
    }

    /// The lengthscales transformed once, and `z / ℓ` formed once, for both matrices.
    fn inducing_matrices(&self, z: Tensor<3>, x: Tensor<3>) -> (Tensor<3>, Tensor<3>, Tensor<2>) {
        let l = self.lengthscale();
        let (z_scaled, x_scaled) = (z / l.clone(), x.clone() / l);
        let gram = |a: Tensor<3>, b: Tensor<3>| {
            rbf_gram(a, b).unwrap_or_else(|e| panic!("Rbf::inducing_matrices: {e}"))
        };
        (
            gram(z_scaled.clone(), z_scaled.clone()),
            gram(z_scaled, x_scaled),
            self.diagonal(x),
        )
    }

    /// The lengthscales transformed once for both fused matrices.
    fn scaled_inducing_matrices(
        &self,
        z: Tensor<3>,
        x: Tensor<3>,
        scale: Tensor<3>,
    ) -> (Tensor<3>, Tensor<3>, Tensor<2>) {
        let l = self.lengthscale();
        let gram = |a: Tensor<3>, b: Tensor<3>| {
            scaled_rbf_gram(a, b, l.clone(), scale.clone())
                .unwrap_or_else(|e| panic!("Rbf::scaled_inducing_matrices: {e}"))
        };
        (
            gram(z.clone(), z.clone()),
            gram(z, x.clone()),
            scaled_unit_diagonal(&x, &self.lengthscale_raw, scale.clone()),
        )
    }
}
