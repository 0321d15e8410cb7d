//! Sparse GP regression on a UCI folder (the layout of `shared/data/uci/<set>/`): per split,
//! standardise with training statistics, fit an SVGP (`ScaleKernel(RBF-ARD)`, learned inducing
//! points and noise, minibatch Adam), report test RMSE and test log-likelihood in the original
//! units, then mean ± standard error over the splits.
//!
//! ```text
//! cargo run --release -p vi-examples --example svgp_uci -- --data ../shared/data/uci/concrete \
//!     [--splits K] [--inducing M] [--epochs E] [--batch B] [--lr LR] [--device flex|ndarray|wgpu|cuda] [--json FILE]
//! ```
#![allow(deprecated)]

use burn::tensor::Device;
use clap::Parser;
use std::path::PathBuf;
use std::time::Instant;
use vi_models::SvgpRegressorConfig;
use vi_models::data::UciDataset;
use vi_models::metrics::mean_and_standard_error;

#[derive(Parser)]
#[command(about = "SVGP regression on a UCI data folder")]
struct Args {
    /// Folder with data.txt, index_features.txt, index_target.txt, index_{train,test}_k.txt.
    #[arg(long)]
    data: PathBuf,
    /// Number of splits to run (default: all).
    #[arg(long)]
    splits: Option<usize>,
    /// Inducing points.
    #[arg(long, default_value_t = 100)]
    inducing: usize,
    /// Training epochs.
    #[arg(long, default_value_t = 300)]
    epochs: usize,
    /// Minibatch size.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.01)]
    lr: f64,
    /// Device: flex, ndarray, wgpu or cuda (compiled-in backends).
    #[arg(long, default_value = "flex")]
    device: String,
    /// Write the per-split results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn device(name: &str) -> Result<Device, String> {
    match name {
        #[cfg(feature = "flex")]
        "flex" => Ok(Device::flex()),
        #[cfg(feature = "ndarray")]
        "ndarray" => Ok(Device::ndarray()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        other => Err(format!(
            "device {other} is not compiled in (see the crate's features)"
        )),
    }
}

fn main() {
    if let Err(error) = run(Args::parse()) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let device = device(&args.device)?;
    let data = UciDataset::load(&args.data)?;
    let splits = args.splits.unwrap_or(data.splits).min(data.splits);
    println!(
        "{}: {} rows, {} features, {splits} splits; M = {}, {} epochs, batch {}",
        data.name(),
        data.rows(),
        data.features.len(),
        args.inducing,
        args.epochs,
        args.batch
    );
    println!("| split | test RMSE | test log-likelihood | train seconds |\n|---|---|---|---|");
    let (mut rmses, mut lls, mut rows) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..splits {
        let split = data.split(k)?;
        let config = SvgpRegressorConfig::new()
            .with_num_inducing(args.inducing)
            .with_epochs(args.epochs)
            .with_batch_size(args.batch)
            .with_learning_rate(args.lr)
            .with_seed(k as u64);
        let start = Instant::now();
        let model = config.fit(&split.train, &device, |_, _| {})?;
        let seconds = start.elapsed().as_secs_f64();
        let metrics = model.evaluate(&split.test)?;
        println!(
            "| {k} | {:.3} | {:.3} | {seconds:.1} |",
            metrics.rmse, metrics.test_log_likelihood
        );
        rmses.push(metrics.rmse);
        lls.push(metrics.test_log_likelihood);
        rows.push(serde_json::json!({"split": k, "rmse": metrics.rmse,
            "test_ll": metrics.test_log_likelihood, "train_seconds": seconds}));
    }
    let (rmse, rmse_se) = mean_and_standard_error(&rmses);
    let (ll, ll_se) = mean_and_standard_error(&lls);
    println!("| mean ± s.e. | {rmse:.3} ± {rmse_se:.3} | {ll:.3} ± {ll_se:.3} | |");
    if let Some(path) = args.json {
        let doc = serde_json::json!({"dataset": data.name(), "model": "svgp", "device": args.device,
            "inducing": args.inducing, "epochs": args.epochs, "splits": rows,
            "rmse_mean": rmse, "rmse_se": rmse_se, "test_ll_mean": ll, "test_ll_se": ll_se});
        std::fs::write(&path, serde_json::to_string_pretty(&doc)?)?;
    }
    Ok(())
}
