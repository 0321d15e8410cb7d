//! What every `vi-bench` suite shares: the run options (threads, device, precision, repeats,
//! output file), the device by name, and the JSON-lines writer.

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
pub fn device_by_name(name: &str) -> Result<Device, String> {
    vi_core::device::by_name(name)
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

/// Features (row-major), targets and feature count of a data file.
pub type Table = (Vec<f32>, Vec<f32>, usize);

/// `(X [n, d], y [n], d)` of a peers' CSV (header, then `x0..x{d−1},y` rows).
pub fn read_csv(path: &std::path::Path) -> Result<Table, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (mut x, mut y, mut d) = (Vec::new(), Vec::new(), 0);
    for (line, row) in text.lines().enumerate().skip(1) {
        let values: Vec<f32> = row
            .split(',')
            .map(|v| v.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}:{}: {e}", path.display(), line + 1))?;
        d = values.len() - 1;
        x.extend_from_slice(&values[..d]);
        y.push(values[d]);
    }
    Ok((x, y, d))
}

/// Peak resident memory of this process in bytes (Linux `VmHWM`), if known.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
