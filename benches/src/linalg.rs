//! `vi-bench linalg`: Cholesky and triangular solve at `CHOL_SIZES` of `bench_peers.py`.

use crate::timing::{Timing, timeit};
#[cfg(feature = "wgpu")]
use burn::tensor::DeviceKind;
use burn::tensor::{Device, FloatDType, Tensor, TensorData};
use serde_json::{Value, json};
use std::io::Write;
use vi_core::linalg::{Side, Triangle, cholesky, solve_triangular};
use vi_tests::noise;

/// `(B, n)` pairs of the peers' Cholesky suite.
pub const CHOL_SIZES: [(usize, usize); 7] = [
    (1, 64),
    (1, 256),
    (1, 1024),
    (64, 32),
    (256, 64),
    (1024, 16),
    (16, 256),
];
/// Right-hand sides of the triangular-solve benches.
pub const RHS_K: usize = 8;

#[derive(clap::Args)]
pub struct Args {
    /// Worker threads (rayon pool).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Device: flex, ndarray, wgpu or cuda (compiled-in backends only).
    #[arg(long, default_value = "flex")]
    device: String,
    /// f32, f64 or both.
    #[arg(long, default_value = "both")]
    dtype: String,
    /// Three repeats instead of seven.
    #[arg(long)]
    quick: bool,
    /// Only these sizes, as `BxN` (e.g. `--sizes 1024x16,256x64`); default: all of `CHOL_SIZES`.
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<String>,
    /// Also write the JSON lines to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

#[allow(deprecated)]
pub(crate) fn device(name: &str) -> Result<Device, String> {
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

/// `A = X Xᵀ / n + I` as in `bench_peers.make_spd`, built on the device.
fn make_spd(b: usize, n: usize, device: &Device, dtype: FloatDType) -> Tensor<3> {
    let x = Tensor::<3>::from_data(
        TensorData::new(noise((b * 1000 + n) as u64, b * n * n), [b, n, n]),
        (device, dtype.into()),
    ) * 3f64.sqrt();
    let eye = Tensor::<2>::eye(n, device).cast(dtype).unsqueeze::<3>();
    x.clone().matmul(x.transpose()) / n as f64 + eye
}

pub(crate) fn sync(device: &Device) {
    device.sync().expect("device sync");
}

pub fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build_global()?;
    let device = device(&args.device)?;
    let ad = device.clone().autodiff();
    let repeats = if args.quick { 3 } else { 7 };
    let dtypes: Vec<(FloatDType, &str)> = match args.dtype.as_str() {
        "f32" => vec![(FloatDType::F32, "float32")],
        "f64" => vec![(FloatDType::F64, "float64")],
        _ => vec![(FloatDType::F32, "float32"), (FloatDType::F64, "float64")],
    };
    let mut out: Option<std::fs::File> =
        args.json.as_ref().map(std::fs::File::create).transpose()?;
    let mut emit = |row: Value| -> std::io::Result<()> {
        println!("{row}");
        if let Some(file) = out.as_mut() {
            writeln!(file, "{row}")?;
        }
        Ok(())
    };
    for (dtype, dname) in dtypes {
        if !device.supports_dtype(dtype) {
            eprintln!("{} does not support {dname}; skipped", args.device);
            continue;
        }
        for (b, n) in CHOL_SIZES {
            if !args.sizes.is_empty() && !args.sizes.contains(&format!("{b}x{n}")) {
                continue;
            }
            let a = make_spd(b, n, &device, dtype);
            let w = Tensor::<3>::from_data(
                TensorData::new(noise(7, b * n * n), [b, n, n]),
                (&ad, dtype.into()),
            );
            let r = Tensor::<3>::from_data(
                TensorData::new(noise(8, b * n * RHS_K), [b, n, RHS_K]),
                (&device, dtype.into()),
            );
            let l = cholesky(a.clone())?;
            let row = |bench: &str, t: Timing, k: Option<usize>| {
                let mut v = json!({"suite": "chol", "peer": "vi-burn", "bench": bench, "dtype": dname,
                    "B": b, "n": n, "threads": args.threads, "device": args.device,
                    "median_s": t.median_s, "min_s": t.min_s, "repeats": t.repeats, "inner": t.inner});
                if let Some(k) = k {
                    v["k"] = json!(k);
                }
                v
            };
            let t = timeit(
                || {
                    let _ = cholesky(a.clone()).unwrap();
                    sync(&device);
                },
                repeats,
                0.03,
            );
            emit(row("cholesky_fwd", t, None))?;
            let a_ad = a.clone().autodiff();
            let t = timeit(
                || {
                    let leaf = a_ad.clone().require_grad();
                    let grads = (cholesky(leaf.clone()).unwrap() * w.clone())
                        .sum()
                        .backward();
                    let _ = leaf.grad(&grads).unwrap();
                    sync(&device);
                },
                repeats,
                0.03,
            );
            emit(row("cholesky_fwd_bwd", t, None))?;
            let t = timeit(
                || {
                    let _ =
                        solve_triangular(l.clone(), r.clone(), Triangle::Lower, false, Side::Left)
                            .unwrap();
                    sync(&device);
                },
                repeats,
                0.03,
            );
            emit(row("trisolve_fwd", t, Some(RHS_K)))?;
            let (l_ad, r_ad) = (l.clone().autodiff(), r.clone().autodiff());
            let t = timeit(
                || {
                    let (lg, rg) = (l_ad.clone().require_grad(), r_ad.clone().require_grad());
                    let grads = solve_triangular(
                        lg.clone(),
                        rg.clone(),
                        Triangle::Lower,
                        false,
                        Side::Left,
                    )
                    .unwrap()
                    .sum()
                    .backward();
                    let _ = (lg.grad(&grads).unwrap(), rg.grad(&grads).unwrap());
                    sync(&device);
                },
                repeats,
                0.03,
            );
            emit(row("trisolve_fwd_bwd", t, Some(RHS_K)))?;
        }
    }
    Ok(())
}
