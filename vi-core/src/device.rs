//! Devices of the compiled-in backends by name, for command-line tools, and the wgpu device
//! brought up on a named graphics API with the adapter it runs on.

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

/// The adapter a wgpu device runs on, as wgpu reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WgpuAdapter {
    /// The adapter's name (`llvmpipe (LLVM 19.1.7, 256 bits)` for lavapipe).
    pub name: String,
    /// The graphics API (`Vulkan`, `Metal`, `Gl`, …).
    pub graphics_api: String,
    /// Discrete, integrated, virtual GPU or CPU.
    pub device_type: String,
    /// The driver and its version.
    pub driver: String,
    /// Whether the device stores and computes `f64` tensors (the adapter's `SHADER_F64`).
    pub f64: bool,
}

impl core::fmt::Display for WgpuAdapter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} ({}, {}, driver {}; f64: {})",
            self.name,
            self.graphics_api,
            self.device_type,
            self.driver,
            if self.f64 { "yes" } else { "no" }
        )
    }
}

/// Why no wgpu device came up on the graphics API it is meant to run on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WgpuDeviceError {
    /// The graphics API has no adapter, so no driver for it is installed: without the pin wgpu
    /// would fall back to another API (OpenGL), which has no `f64` and no SPIR-V.
    #[error(
        "no {api} driver: wgpu found no {api} adapter ({reason}). Install one; on Debian or \
         Ubuntu Mesa's software Vulkan driver lavapipe: `apt-get install -y mesa-vulkan-drivers \
         libvulkan1`, and set `XDG_RUNTIME_DIR=/tmp` where it is unset"
    )]
    NoDriver {
        /// The graphics API asked for (`Vulkan`, or `Metal` on macOS).
        api: String,
        /// What wgpu said.
        reason: String,
    },
    /// The device came up on another graphics API than the one asked for.
    #[error("wgpu came up on {found} although {wanted} was asked for (adapter {adapter})")]
    WrongGraphicsApi {
        /// The API asked for.
        wanted: String,
        /// The API of the device.
        found: String,
        /// The adapter's name.
        adapter: String,
    },
}

/// The default wgpu device on this platform's native graphics API — Vulkan, Metal on macOS —
/// and the adapter it runs on, brought up once per process (later calls return the same device).
///
/// [`by_name`]`("wgpu")` lets wgpu choose the API, and where no Vulkan driver is installed it
/// quietly falls back to OpenGL, whose shaders have no `f64` (a kernel then panics in shader
/// validation). This pins the API instead, so a missing driver is an error naming the fix.
///
/// # Errors
/// [`WgpuDeviceError::NoDriver`] when the API has no adapter (no driver installed), with the
/// command that installs one; [`WgpuDeviceError::WrongGraphicsApi`] should wgpu come up elsewhere.
#[cfg(feature = "wgpu")]
pub fn wgpu_native() -> Result<(Device, WgpuAdapter), WgpuDeviceError> {
    use std::sync::OnceLock;
    static DEVICE: OnceLock<Result<(Device, WgpuAdapter), WgpuDeviceError>> = OnceLock::new();
    DEVICE.get_or_init(init_native).clone()
}

#[cfg(feature = "wgpu")]
fn init_native() -> Result<(Device, WgpuAdapter), WgpuDeviceError> {
    use burn::tensor::FloatDType;
    use burn::tensor::wgpu::{WgpuBackend, wgpu::Backend};

    let (api, backend) = if cfg!(target_os = "macos") {
        (WgpuBackend::Metal, Backend::Metal)
    } else {
        (WgpuBackend::Vulkan, Backend::Vulkan)
    };
    let (device, setup) = Device::wgpu_options()
        .graphics_api(api)
        .init_with_setup()
        .map_err(|e| WgpuDeviceError::NoDriver {
            api: format!("{backend:?}"),
            reason: e.to_string(),
        })?;
    let info = setup.adapter.get_info();
    if info.backend != backend {
        return Err(WgpuDeviceError::WrongGraphicsApi {
            wanted: format!("{backend:?}"),
            found: format!("{:?}", info.backend),
            adapter: info.name,
        });
    }
    let adapter = WgpuAdapter {
        f64: device.supports_dtype(FloatDType::F64),
        name: info.name,
        graphics_api: format!("{:?}", info.backend),
        device_type: format!("{:?}", info.device_type),
        driver: format!("{} {}", info.driver, info.driver_info)
            .trim()
            .to_string(),
    };
    Ok((device, adapter))
}
