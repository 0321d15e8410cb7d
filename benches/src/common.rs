//! What every `vi-bench` suite shares: the run options (threads, device, precision, repeats,
//! output file), the device by name, and the JSON-lines writer.

#[cfg(feature = "wgpu")]
use burn::tensor::DeviceKind;
use burn::tensor::{Device, FloatDType};
use serde_json::Value;
use std::io::Write;

/// Options shared by the timing suites.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Worker threads (rayon pool).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Device: flex, ndarray, wgpu or cuda (compiled-in backends only).
    #[arg(long, default_value = "flex")]
    pub device: String,
    /// f32, f64 or both.
    #[arg(long, default_value = "both")]
    pub dtype: String,
    /// Three repeats instead of seven.
    #[arg(long)]
    pub quick: bool,
    /// Also write the JSON lines to this file.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

impl RunArgs {
    /// Installs the rayon pool and returns the device.
    pub fn start(&self) -> Result<Device, Box<dyn std::error::Error>> {
        start(self.threads, &self.device)
    }

    /// Repeats per measurement.
    pub fn repeats(&self) -> usize {
        if self.quick { 3 } else { 7 }
    }

    /// The precisions asked for, with the peers' names.
    pub fn dtypes(&self) -> Vec<(FloatDType, &'static str)> {
        match self.dtype.as_str() {
            "f32" => vec![(FloatDType::F32, "float32")],
            "f64" => vec![(FloatDType::F64, "float64")],
            _ => vec![(FloatDType::F32, "float32"), (FloatDType::F64, "float64")],
        }
    }
}

/// Installs a rayon pool of `threads` and returns the device named `device`.
pub fn start(threads: usize, device: &str) -> Result<Device, Box<dyn std::error::Error>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()?;
    Ok(device_by_name(device)?)
}

/// The device of a compiled-in backend.
#[allow(deprecated)]
pub fn device_by_name(name: &str) -> Result<Device, String> {
    Ok(match name {
        #[cfg(feature = "flex")]
        "flex" => Device::flex(),
        #[cfg(feature = "ndarray")]
        "ndarray" => Device::ndarray(),
        #[cfg(feature = "wgpu")]
        "wgpu" => Device::wgpu(DeviceKind::DefaultDevice),
        #[cfg(feature = "cuda")]
        "cuda" => Device::cuda(0),
        other => {
            return Err(format!(
                "device {other} is not compiled in (see the Cargo features)"
            ));
        }
    })
}

/// Waits for the device's queued work.
pub fn sync(device: &Device) {
    device.sync().expect("device sync");
}

/// Prints JSON lines and, when asked, writes them to a file too.
pub struct JsonLines(Option<std::fs::File>);

impl JsonLines {
    /// Standard output, plus `path` when given.
    pub fn new(path: Option<&std::path::PathBuf>) -> std::io::Result<Self> {
        Ok(Self(path.map(std::fs::File::create).transpose()?))
    }

    /// Writes one row.
    pub fn emit(&mut self, row: &Value) -> std::io::Result<()> {
        println!("{row}");
        if let Some(file) = self.0.as_mut() {
            writeln!(file, "{row}")?;
        }
        Ok(())
    }
}
