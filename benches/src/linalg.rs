//! `vi-bench linalg`: Cholesky and triangular solve at `CHOL_SIZES` of `bench_peers.py`.

use crate::common::{JsonLines, RunArgs, sync};
use crate::timing::{Timing, timeit};
use burn::tensor::{Device, FloatDType, Tensor, TensorData};
use serde_json::{Value, json};
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
/// `(B, n)` pairs of the GPU suite (`bench_chol_cuda.py`), the default on `wgpu` and `cuda`.
pub const GPU_SIZES: [(usize, usize); 7] = [
    (4096, 8),
    (4096, 16),
    (1024, 32),
    (1024, 64),
    (256, 128),
    (16, 256),
    (1, 1024),
];
/// Right-hand sides of the triangular-solve benches.
pub const RHS_K: usize = 8;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArgs,
    /// Sizes as `BxN` (e.g. `--sizes 4096x8,1024x64`); default: `CHOL_SIZES` on the CPU
    /// devices, `GPU_SIZES` on `wgpu` and `cuda`.
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<String>,
    /// Only these benches (`cholesky_fwd`, `cholesky_fwd_bwd`, `trisolve_fwd`,
    /// `trisolve_fwd_bwd`); default: all four.
    #[arg(long, value_delimiter = ',', value_parser = ["cholesky_fwd", "cholesky_fwd_bwd", "trisolve_fwd", "trisolve_fwd_bwd"])]
    benches: Vec<String>,
}

/// The `(B, n)` pairs asked for.
fn sizes(args: &Args) -> Result<Vec<(usize, usize)>, String> {
    if args.sizes.is_empty() {
        let gpu = matches!(args.run.device.as_str(), "wgpu" | "cuda");
        return Ok(if gpu { GPU_SIZES } else { CHOL_SIZES }.to_vec());
    }
    args.sizes
        .iter()
        .map(|s| {
            let (b, n) = s
                .split_once('x')
                .ok_or_else(|| format!("size `{s}` is not BxN"))?;
            let parse = |v: &str| {
                v.trim()
                    .parse::<usize>()
                    .map_err(|e| format!("size `{s}`: {e}"))
            };
            Ok((parse(b)?, parse(n)?))
        })
        .collect()
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

pub fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let run = &args.run;
    let device = run.start()?;
    let ad = device.clone().autodiff();
    let repeats = run.repeats();
    let dtypes = run.dtypes();
    let sizes = sizes(args)?;
    let mut out = JsonLines::new(run.json.as_ref())?;
    let mut emit = |row: Value| out.emit(&row);
    let wanted = |bench: &str| args.benches.is_empty() || args.benches.iter().any(|b| b == bench);
    for (dtype, dname) in dtypes {
        if !device.supports_dtype(dtype) {
            eprintln!("{} does not support {dname}; skipped", run.device);
            continue;
        }
        for &(b, n) in &sizes {
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
                // The least traffic the op needs: `A` in, `L` out; with the backward also `Ḡ`
                // and `L` in, `Ā` out (the solves: `L`, `B` in, `X` out, and back).
                let matrices = match bench {
                    "cholesky_fwd" => 2.0,
                    "cholesky_fwd_bwd" => 5.0,
                    _ => 1.0,
                };
                let columns = 2.0 * k.unwrap_or(0) as f64 / n as f64;
                let bytes = (matrices + columns)
                    * (b * n * n * burn::tensor::DType::from(dtype).size()) as f64
                    * if bench == "trisolve_fwd_bwd" {
                        2.0
                    } else {
                        1.0
                    };
                let mut v = json!({"suite": "chol", "peer": "vi-burn", "bench": bench, "dtype": dname,
                    "B": b, "n": n, "threads": run.threads, "device": run.device,
                    "median_s": t.median_s, "min_s": t.min_s, "repeats": t.repeats, "inner": t.inner,
                    "bytes": bytes, "gb_per_s": bytes / t.median_s / 1e9});
                if let Some(k) = k {
                    v["k"] = json!(k);
                }
                v
            };
            if wanted("cholesky_fwd") {
                let t = timeit(
                    || {
                        let _ = cholesky(a.clone()).unwrap();
                        sync(&device);
                    },
                    repeats,
                    0.03,
                );
                emit(row("cholesky_fwd", t, None))?;
            }
            let a_ad = a.clone().autodiff();
            if wanted("cholesky_fwd_bwd") {
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
            }
            if wanted("trisolve_fwd") {
                let t = timeit(
                    || {
                        let _ = solve_triangular(
                            l.clone(),
                            r.clone(),
                            Triangle::Lower,
                            false,
                            Side::Left,
                        )
                        .unwrap();
                        sync(&device);
                    },
                    repeats,
                    0.03,
                );
                emit(row("trisolve_fwd", t, Some(RHS_K)))?;
            }
            let (l_ad, r_ad) = (l.clone().autodiff(), r.clone().autodiff());
            if wanted("trisolve_fwd_bwd") {
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
    }
    Ok(())
}
