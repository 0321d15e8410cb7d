//! `vi-bench svgp`: SVGP regression training on the work of the `svgp_*` suites of
//! `shared/peers/bench_peers.py`: `shared/peers/data/svgp_train.csv` (N = 10 000, D = 8), a
//! whitened full-rank SVGP with `ScaleKernel(RBF-ARD)`, constant mean and Gaussian likelihood
//! (GPyTorch's initial values: lengthscale, outputscale and noise `softplus(0)`, `q(v) = N(0, I)`,
//! `Z` = the first `M` rows, jitter 1e-4 in f32), GPyTorch's per-point ELBO, Adam at 1e-2,
//! batches of 256, the loss read back every step (`loss.item()`).
//!
//! `svgp_step`: one training step on a fixed batch, M ∈ {64, 256, 512}; `svgp_epoch`: from the
//! initial model, full reshuffled epochs (2; 1 with `--quick`). With `--rows R` the data are `R`
//! synthetic rows from the peers' generator instead (the scale run: time per epoch and peak
//! memory, minibatches streamed from host memory).

use crate::common::{JsonLines, peak_memory_bytes, read_csv, start, sync};
use crate::timing::timeit;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
use vi_blocks::family::FullRankGaussian;
use vi_blocks::gp::kernel::{RbfConfig, ScaleKernelConfig};
use vi_blocks::gp::likelihood::{GaussianLikelihoodConfig, Likelihood};
use vi_blocks::gp::{InducingDistribution, SvgpConfig, Whitened};
use vi_core::elbo::Elbo;
use vi_core::optim::FusedAdamConfig;
use vi_models::regression::SvgpRegressionModel;

#[derive(clap::Args)]
pub struct Args {
    /// Worker threads (rayon pool).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Device: flex, ndarray, wgpu or cuda (compiled-in backends only).
    #[arg(long, default_value = "flex")]
    device: String,
    /// Inducing points (comma-separated).
    #[arg(long, default_value = "64,256,512", value_delimiter = ',')]
    inducing: Vec<usize>,
    /// One timed epoch instead of two; three step repeats instead of seven.
    #[arg(long)]
    quick: bool,
    /// Synthetic rows instead of the peers' data set (the scale run).
    #[arg(long)]
    rows: Option<usize>,
    /// `shared/` directory (its `peers/data/svgp_train.csv`).
    #[arg(long, default_value = "../shared")]
    shared: PathBuf,
    /// Also write the JSON lines to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

const BATCH: usize = 256;

/// The peers' synthetic generator: `x ~ U(−2, 2)^d`,
/// `y = sin(x · linspace(1, 0.2, d)) + ½ cos(2 x₀) + 0.1 ε` (our own random stream).
fn synthetic(rows: usize, d: usize) -> (Vec<f32>, Vec<f32>) {
    let mut state = 0x5EED_u64;
    let mut uniform = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let w: Vec<f64> = (0..d)
        .map(|k| 1.0 - 0.8 * k as f64 / (d - 1).max(1) as f64)
        .collect();
    let (mut x, mut y) = (Vec::with_capacity(rows * d), Vec::with_capacity(rows));
    for _ in 0..rows {
        let row: Vec<f64> = (0..d).map(|_| 4.0 * uniform() - 2.0).collect();
        let eps = (-2.0 * (uniform() + 1e-300).ln()).sqrt()
            * (2.0 * std::f64::consts::PI * uniform()).cos();
        let dot: f64 = row.iter().zip(&w).map(|(a, b)| a * b).sum();
        y.push((dot.sin() + 0.5 * (2.0 * row[0]).cos() + 0.1 * eps) as f32);
        x.extend(row.iter().map(|v| *v as f32));
    }
    (x, y)
}

fn fresh(x: &[f32], d: usize, m: usize, device: &Device) -> (SvgpRegressionModel, ModuleOptimizer) {
    let z = Tensor::<2>::from_data(TensorData::new(x[..m * d].to_vec(), [m, d]), device);
    let kernel = ScaleKernelConfig::new().init(RbfConfig::new(d).init(device), device);
    let model = SvgpRegressionModel {
        gp: SvgpConfig::new(d, m)
            .init_with(
                kernel,
                FullRankGaussian::standard(1, m, device),
                Whitened.into(),
                device,
            )
            .with_inducing_points(z),
        likelihood: GaussianLikelihoodConfig::new().init(device),
    };
    (model, FusedAdamConfig::new().init())
}

/// One Adam step on a batch; returns the loss (negative per-point ELBO) as the ELBO check read it.
fn step(
    model: SvgpRegressionModel,
    optim: &mut ModuleOptimizer,
    xb: Tensor<2>,
    yb: Tensor<2>,
    n: usize,
) -> (SvgpRegressionModel, f64) {
    let elbo = Elbo::new(n).with_batch_size(xb.dims()[0]);
    let terms = model
        .gp
        .elbo(xb, &elbo, |f| {
            model.likelihood.expected_log_likelihood_sum(f, yb.clone())
        })
        .expect("K_zz factorises and the ELBO is finite")
        .terms;
    // One device round trip per step: the ELBO's finiteness check, which also reads K_zz's
    // factor check, and whose value is the logged loss.
    let value = -terms.value.expect("checked ELBO") / n as f64;
    let loss = terms.scaled_loss(1.0 / n as f64);
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    (optim.step(1e-2, model, grads), value)
}

pub fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let device = start(args.threads, &args.device)?;
    let ad = device.clone().autodiff();
    let (x, y, d) = match args.rows {
        Some(rows) => {
            let (x, y) = synthetic(rows, 8);
            (x, y, 8)
        }
        None => read_csv(
            &args
                .shared
                .join("peers")
                .join("data")
                .join("svgp_train.csv"),
        )?,
    };
    let n = y.len();
    // The data stay in host memory; each step uploads its batch (memory constant in N).
    let batch_of = |rows: &[i64]| {
        let mut xb = Vec::with_capacity(rows.len() * d);
        let mut yb = Vec::with_capacity(rows.len());
        for &r in rows {
            let r = r as usize;
            xb.extend_from_slice(&x[r * d..(r + 1) * d]);
            yb.push(y[r]);
        }
        let len = rows.len();
        (
            Tensor::<2>::from_data(TensorData::new(xb, [len, d]), &ad),
            Tensor::<2>::from_data(TensorData::new(yb, [len, 1]), &ad),
        )
    };
    let permutation = |seed: u64| -> Result<Vec<i64>, Box<dyn std::error::Error>> {
        ad.seed(seed);
        let perm = Tensor::<1>::random([n], burn::tensor::Distribution::Uniform(0.0, 1.0), &ad)
            .argsort(0)
            .into_data()
            .convert::<i64>()
            .try_into_vec::<i64>()?;
        Ok(perm)
    };
    let mut out = JsonLines::new(args.json.as_ref())?;
    let epochs = if args.quick { 1 } else { 2 };
    for &m in &args.inducing {
        let base = json!({"suite": "svgp", "peer": "vi-burn", "dtype": "float32", "N": n, "D": d,
            "M": m, "batch": BATCH, "threads": args.threads, "device": args.device});
        if args.rows.is_none() {
            let (model, mut optim) = fresh(&x, d, m, &ad);
            let perm = permutation(0)?;
            let (xb, yb) = batch_of(&perm[..BATCH]);
            let mut model = Some(model);
            let timing = timeit(
                || {
                    let (next, _) = step(
                        model.take().expect("model"),
                        &mut optim,
                        xb.clone(),
                        yb.clone(),
                        n,
                    );
                    model = Some(next);
                },
                if args.quick { 3 } else { 7 },
                0.1,
            );
            let mut row = base.clone();
            row["bench"] = json!("svgp_step");
            row["median_s"] = json!(timing.median_s);
            row["min_s"] = json!(timing.min_s);
            row["repeats"] = json!(timing.repeats);
            row["inner"] = json!(timing.inner);
            out.emit(&row)?;
        }
        let (mut model, mut optim) = fresh(&x, d, m, &ad);
        let mut times = Vec::new();
        let mut last = f64::NAN;
        for epoch in 0..epochs {
            let perm = permutation(1 + epoch as u64)?;
            let start = Instant::now();
            let mut total = 0.0;
            for rows in perm.chunks(BATCH) {
                let (xb, yb) = batch_of(rows);
                let (next, loss) = step(model, &mut optim, xb, yb, n);
                model = next;
                total += loss;
            }
            sync(&device);
            times.push(start.elapsed().as_secs_f64());
            last = total / n.div_ceil(BATCH) as f64;
        }
        times.sort_by(f64::total_cmp);
        let mut row = base;
        row["bench"] = json!(if args.rows.is_some() {
            "svgp_scale_epoch"
        } else {
            "svgp_epoch"
        });
        row["median_s"] = json!(times[times.len() / 2]);
        row["min_s"] = json!(times[0]);
        row["repeats"] = json!(times.len());
        row["inner"] = json!(1);
        row["steps_per_epoch"] = json!(n.div_ceil(BATCH));
        row["final_neg_elbo_per_point"] = json!(last);
        if let Some(peak) = peak_memory_bytes() {
            row["peak_rss_bytes"] = json!(peak);
        }
        out.emit(&row)?;
    }
    Ok(())
}
