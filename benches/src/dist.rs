//! `vi-bench dist`: log densities of the full- and low-rank Gaussians, the inner loop of
//! VI with structured posteriors. Same work as `benches/peers/bench_dist.py` (torch.distributions).
//!
//! - `lowrank_log_prob`: one `LowRankMultivariateNormal` (n = 1000, k = 10) built from its
//!   parameters (validation and the capacitance Cholesky included) and evaluated at 256 points.
//! - `mvn_log_prob`: a batch of 1024 `MultivariateNormal`s (n = 64) from `scale_tril`, each
//!   evaluated at one point.
//! - `*_fwd_bwd`: the same plus the gradient of `Σ log_prob` w.r.t. every parameter.

use crate::common::{JsonLines, RunArgs, sync};
use crate::timing::{Timing, timeit};
use burn::tensor::{Device, FloatDType, Tensor, TensorData};
use serde_json::{Value, json};
use vi_core::distributions::{Distribution, LowRankMultivariateNormal, MultivariateNormal};
use vi_tests::noise;

/// `(batch, n, k)` of the low-rank bench.
pub const LOW_RANK: (usize, usize, usize) = (256, 1000, 10);
/// `(batch, n)` of the full-covariance bench.
pub const FULL: (usize, usize) = (1024, 64);

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArgs,
}

fn data<const D: usize>(
    seed: u64,
    shape: [usize; D],
    scale: f64,
    shift: f64,
    device: &Device,
    dtype: FloatDType,
) -> Tensor<D> {
    let n = shape.iter().product();
    let values: Vec<f64> = noise(seed, n)
        .into_iter()
        .map(|v| v * scale + shift)
        .collect();
    Tensor::from_data(TensorData::new(values, shape), (device, dtype.into()))
}

/// Lower-triangular factors with diagonal in `[1, 2]` and off-diagonal entries `0.1 · U(−1, 1)`.
fn scale_tril(b: usize, n: usize, device: &Device, dtype: FloatDType) -> Tensor<3> {
    let off = data(31, [b, n, n], 0.1, 0.0, device, dtype).tril(-1);
    let diag = data(32, [b, n], 0.5, 1.5, device, dtype).unsqueeze_dim::<3>(2)
        * Tensor::<2>::eye(n, device).cast(dtype).unsqueeze::<3>();
    off + diag
}

pub fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let run = &args.run;
    let device = run.start()?;
    let repeats = run.repeats();
    let dtypes = run.dtypes();
    let mut out = JsonLines::new(run.json.as_ref())?;
    let mut emit = |row: Value| out.emit(&row);
    let row = |bench: &str, dtype: &str, b: usize, n: usize, k: Option<usize>, t: Timing| {
        let mut v = json!({"suite": "dist", "peer": "vi-burn", "bench": bench, "dtype": dtype,
            "B": b, "n": n, "threads": run.threads, "device": run.device,
            "median_s": t.median_s, "min_s": t.min_s, "repeats": t.repeats, "inner": t.inner});
        if let Some(k) = k {
            v["k"] = json!(k);
        }
        v
    };
    for (dtype, dname) in dtypes {
        if !device.supports_dtype(dtype) {
            eprintln!("{} does not support {dname}; skipped", run.device);
            continue;
        }
        for grad in [false, true] {
            let dev = if grad {
                device.clone().autodiff()
            } else {
                device.clone()
            };
            let (b, n, k) = LOW_RANK;
            let loc = data(21, [n], 1.0, 0.0, &dev, dtype);
            let w = data(22, [n, k], 0.3, 0.0, &dev, dtype);
            let d = data(23, [n], 0.25, 0.75, &dev, dtype);
            let x = data(24, [b, n], 2.0, 0.0, &dev, dtype);
            let t = timeit(
                || {
                    let (loc, w, d) = if grad {
                        (
                            loc.clone().require_grad(),
                            w.clone().require_grad(),
                            d.clone().require_grad(),
                        )
                    } else {
                        (loc.clone(), w.clone(), d.clone())
                    };
                    let q =
                        LowRankMultivariateNormal::new(loc.clone(), w.clone(), d.clone()).unwrap();
                    let lp: Tensor<1> = q.log_prob(x.clone()).unwrap();
                    if grad {
                        let grads = lp.sum().backward();
                        let _ = (loc.grad(&grads), w.grad(&grads), d.grad(&grads));
                    }
                    sync(&device);
                },
                repeats,
                0.03,
            );
            let bench = if grad {
                "lowrank_log_prob_fwd_bwd"
            } else {
                "lowrank_log_prob"
            };
            emit(row(bench, dname, b, n, Some(k), t))?;

            let (b, n) = FULL;
            let loc = data(25, [b, n], 1.0, 0.0, &dev, dtype);
            let l = scale_tril(b, n, &dev, dtype);
            let x = data(26, [b, n], 2.0, 0.0, &dev, dtype);
            let t = timeit(
                || {
                    let (loc, l) = if grad {
                        (loc.clone().require_grad(), l.clone().require_grad())
                    } else {
                        (loc.clone(), l.clone())
                    };
                    let q = MultivariateNormal::new(loc.clone(), l.clone()).unwrap();
                    let lp: Tensor<1> = q.log_prob(x.clone()).unwrap();
                    if grad {
                        let grads = lp.sum().backward();
                        let _ = (loc.grad(&grads), l.grad(&grads));
                    }
                    sync(&device);
                },
                repeats,
                0.03,
            );
            let bench = if grad {
                "mvn_log_prob_fwd_bwd"
            } else {
                "mvn_log_prob"
            };
            emit(row(bench, dname, b, n, None, t))?;
        }
    }
    Ok(())
}
