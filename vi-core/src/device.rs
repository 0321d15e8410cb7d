//! Devices of the compiled-in backends by name, for command-line tools.

use burn::tensor::Device;

/// The device named `flex`, `ndarray`, `wgpu` or `cuda`, if its Cargo feature is compiled in.
///
/// # Errors
/// A message naming the device when its backend is not compiled in.
///
/// # Example
/// ```
/// assert!(vi_core::device::by_name("no-such-backend").is_err());
/// ```
#[allow(deprecated)]
pub fn by_name(name: &str) -> Result<Device, String> {
    Ok(match name {
        #[cfg(feature = "flex")]
        "flex" => Device::flex(),
        #[cfg(feature = "ndarray")]
        "ndarray" => Device::ndarray(),
        #[cfg(feature = "wgpu")]
        "wgpu" => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        #[cfg(feature = "cuda")]
        "cuda" => Device::cuda(0),
        other => {
            return Err(format!(
                "device {other} is not compiled in (see the Cargo features)"
            ));
        }
    })
}
