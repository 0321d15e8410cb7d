//! Homoscedastic Gaussian observation noise, fixed or learned.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use vi_core::likelihood::gaussian_log_likelihood;

/// The precision `τ = exp(log_precision)` of `y ~ N(f, 1/τ)`: a parameter that is trained when
/// the noise is learned and frozen when it is fixed (as in Gal's UCI protocol).
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use vi_models::regression::NoisePrecision;
/// let noise = NoisePrecision::new(4.0, false, &Device::default());
/// assert!((noise.precision() - 4.0).abs() < 1e-5);
/// ```
#[derive(Module, Debug)]
pub struct NoisePrecision {
    /// `ln τ`, `[1]`.
    pub log_precision: Param<Tensor<1>>,
}

impl NoisePrecision {
    /// Starts at precision `tau` (> 0); `learned` makes it trainable.
    pub fn new(tau: f64, learned: bool, device: &Device) -> Self {
        let value = Tensor::from_data(TensorData::new(vec![tau.ln() as f32], [1]), device);
        Self {
            log_precision: Param::from_tensor(value).set_require_grad(learned),
        }
    }

    /// `ln τ`, `[1]` (differentiable when learned).
    pub fn log_precision(&self) -> Tensor<1> {
        self.log_precision.val()
    }

    /// `τ` on the host.
    pub fn precision(&self) -> f64 {
        self.log_precision.val().into_scalar::<f64>().exp()
    }
}

/// The batch mean of `−ln N(y | f, 1/τ) = τ/2 (y − f)² − ½ ln τ + ½ ln 2π`, `[1]`: one fused
/// op ([`gaussian_log_likelihood`] with `ln σ = −½ ln τ`).
pub(crate) fn mean_gaussian_nll(f: Tensor<2>, y: Tensor<2>, log_precision: Tensor<1>) -> Tensor<1> {
    let n = f.shape().num_elements();
    gaussian_log_likelihood(y, f, log_precision.mul_scalar(-0.5))
        .expect("the network's outputs have the targets' shape")
        .mul_scalar(-1.0 / n as f64)
}
