//! Moving a whole module to another float precision.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{FloatDType, Tensor};

/// Casts every float parameter of `module` (at any depth) to `dtype`, keeping each parameter's
/// id and whether it is trained. Configs initialise parameters in the device's default float
/// type; this turns a model into `f64` (or back) before training.
///
/// # Example
/// ```
/// use burn::tensor::{DType, Device, FloatDType};
/// use vi_blocks::gp::kernel::RbfConfig;
/// let device = Device::default();
/// // f64 where the device has it (wgpu falling back to OpenGL has not), else f32.
/// let dtype = if device.supports_dtype(FloatDType::F64) {
///     FloatDType::F64
/// } else {
///     FloatDType::F32
/// };
/// let k = vi_blocks::dtype::with_dtype(RbfConfig::new(2).init(&device), dtype);
/// assert_eq!(k.lengthscale_raw.val().dtype(), DType::from(dtype));
/// let raw: Vec<f64> = k.lengthscale_raw.val().into_data().convert::<f64>().to_vec().unwrap();
/// assert!(raw[0].abs() < 1e-6); // softplus⁻¹(ln 2) = 0
/// ```
pub fn with_dtype<M: Module>(module: M, dtype: FloatDType) -> M {
    module.map(&mut Cast { dtype })
}

struct Cast {
    dtype: FloatDType,
}

impl ModuleMapper for Cast {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let dtype = self.dtype;
        param.map(|t| {
            let trained = t.is_require_grad();
            t.cast(dtype).detach().set_require_grad(trained)
        })
    }
}
