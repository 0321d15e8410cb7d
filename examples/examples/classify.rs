//! Classification with calibrated uncertainty: a deterministic network, MC dropout, concrete
//! dropout, Bayes-by-backprop and a sparse GP on one data set, compared by test accuracy, NLL
//! and expected calibration error (15 bins), with a reliability diagram per model.
//!
//! Protocol, per seeded split: a stratified `--test-fraction` of the rows is held out; inputs are
//! standardised with the training statistics; every network has the same hidden layers and
//! trains with Adam on minibatches for the same number of epochs; the Bayesian models average
//! `--mc-samples` stochastic passes (the GP: draws of `f`). Results are mean ± standard error
//! over splits.
//!
//! ```text
//! cargo run --release -p vi-examples --example classify -- --data ../shared/data/digits \
//!     [--models deterministic,mc-dropout,concrete,bbb,svgp] [--hidden 100,100] [--epochs E] \
//!     [--splits K] [--test-fraction F] [--mc-samples T] [--inducing M] [--plot-dir DIR] \
//!     [--json FILE] [--device flex|ndarray|wgpu|cuda] [--quiet]
//! ```

use clap::{Parser, ValueEnum};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
use vi_models::classification::{
    BnnClassifierConfig, BnnClassifierNetConfig, BnnMethod, SvgpClassificationModelConfig,
    SvgpClassifierConfig,
};
use vi_models::data::ClassificationTable;
use vi_models::metrics::{ClassificationMetrics, mean_and_standard_error};

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
enum Model {
    Deterministic,
    McDropout,
    Concrete,
    Bbb,
    Svgp,
}

impl Model {
    fn name(self) -> &'static str {
        match self {
            Model::Deterministic => "deterministic",
            Model::McDropout => "mc-dropout",
            Model::Concrete => "concrete",
            Model::Bbb => "bbb",
            Model::Svgp => "svgp",
        }
    }
}

#[derive(Parser)]
#[command(about = "Bayesian classifiers compared by accuracy, NLL and calibration")]
struct Args {
    /// A CSV file (or .csv.gz, or a folder holding one) of features then a label per row.
    #[arg(long)]
    data: PathBuf,
    /// Models to compare.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "deterministic,mc-dropout,concrete,bbb,svgp"
    )]
    models: Vec<Model>,
    /// Hidden layer widths of the networks.
    #[arg(long, value_delimiter = ',', default_value = "100")]
    hidden: Vec<usize>,
    /// Epochs of every model.
    #[arg(long, default_value_t = 100)]
    epochs: usize,
    /// Adam's learning rate of the networks (the GP uses 0.01).
    #[arg(long, default_value_t = 1e-3)]
    learning_rate: f64,
    /// Dropout probability (MC dropout; concrete dropout's starting value).
    #[arg(long, default_value_t = 0.1)]
    dropout: f64,
    /// Seeded stratified splits.
    #[arg(long, default_value_t = 5)]
    splits: usize,
    /// Fraction of each class held out for testing.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// Stochastic passes (draws of f for the GP) averaged at prediction.
    #[arg(long, default_value_t = 100)]
    mc_samples: usize,
    /// Inducing points of the GP.
    #[arg(long, default_value_t = 100)]
    inducing: usize,
    /// Folder for the reliability diagrams (reliability_<data>_<model>.png, last split).
    #[arg(long, default_value = ".")]
    plot_dir: PathBuf,
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Device: flex, ndarray, wgpu or cuda (compiled-in backends).
    #[arg(long, default_value = "flex")]
    device: String,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

fn main() {
    if let Err(error) = run(Args::parse()) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let device = vi_core::device::by_name(&args.device)?;
    let table = ClassificationTable::load(&args.data)?;
    let data_name = args
        .data
        .file_stem()
        .and_then(|s| s.to_str())
        .map_or("data".to_string(), |s| {
            s.trim_end_matches(".csv").to_string()
        });
    println!(
        "{data_name}: {} rows, {} features, {} classes, {} splits, {} epochs, hidden {:?}",
        table.len(),
        table.d,
        table.classes(),
        args.splits,
        args.epochs,
        args.hidden
    );
    let bar = |len: usize, what: &str| vi_examples::progress_bar(args.quiet, len, what);
    let split_bar = bar(args.splits * args.models.len(), "fits");
    let mut results: Vec<(Model, Vec<ClassificationMetrics>, Vec<f64>)> = args
        .models
        .iter()
        .map(|&m| (m, Vec::new(), Vec::new()))
        .collect();
    for split in 0..args.splits {
        let (train, test) = table.stratified_split(args.test_fraction, split as u64);
        for (model, metrics, seconds) in &mut results {
            let epoch_bar = bar(args.epochs, "  epochs");
            epoch_bar.set_message(format!("{} split {split}", model.name()));
            let tick = |_: usize, _: f64| epoch_bar.inc(1);
            let start = Instant::now();
            let m = match model {
                Model::Svgp => SvgpClassifierConfig::new()
                    .with_model(
                        SvgpClassificationModelConfig::new().with_num_inducing(args.inducing),
                    )
                    .with_epochs(args.epochs)
                    .with_mc_samples(args.mc_samples)
                    .with_seed(split as u64)
                    .fit(&train, &device, tick)?
                    .evaluate(&test)?,
                _ => {
                    let method = match model {
                        Model::Deterministic => BnnMethod::Deterministic,
                        Model::McDropout => BnnMethod::McDropout,
                        Model::Concrete => BnnMethod::Concrete,
                        _ => BnnMethod::Bbb,
                    };
                    let net = BnnClassifierNetConfig::new(method, args.hidden.clone())
                        .with_dropout(args.dropout);
                    BnnClassifierConfig::new(net)
                        .with_epochs(args.epochs)
                        .with_learning_rate(args.learning_rate)
                        .with_mc_samples(args.mc_samples)
                        .with_seed(split as u64)
                        .fit(&train, &device, tick)?
                        .evaluate(&test)?
                }
            };
            epoch_bar.finish_and_clear();
            seconds.push(start.elapsed().as_secs_f64());
            let line = format!(
                "split {split}: {:13} accuracy {:.4}, NLL {:.4}, ECE {:.4} ({:.1} s)",
                model.name(),
                m.accuracy,
                m.nll,
                m.ece,
                seconds.last().copied().unwrap_or_default()
            );
            if args.quiet {
                println!("{line}");
            } else {
                split_bar.println(line);
            }
            if split + 1 == args.splits {
                let path = args
                    .plot_dir
                    .join(format!("reliability_{data_name}_{}.png", model.name()));
                vi_models::plot::reliability_diagram(&path, &m.reliability)?;
            }
            metrics.push(m);
            split_bar.inc(1);
        }
    }
    split_bar.finish_and_clear();
    println!("| {data_name} | accuracy | NLL | ECE (15 bins) | train s |\n|---|---|---|---|---|");
    let mut rows = Vec::new();
    for (model, metrics, seconds) in &results {
        let stat = |f: fn(&ClassificationMetrics) -> f64| {
            mean_and_standard_error(&metrics.iter().map(f).collect::<Vec<_>>())
        };
        let (acc, nll, ece) = (stat(|m| m.accuracy), stat(|m| m.nll), stat(|m| m.ece));
        let (time, _) = mean_and_standard_error(seconds);
        println!(
            "| {} | {:.4} ± {:.4} | {:.4} ± {:.4} | {:.4} ± {:.4} | {time:.1} |",
            model.name(),
            acc.0,
            acc.1,
            nll.0,
            nll.1,
            ece.0,
            ece.1
        );
        rows.push(json!({
            "model": model.name(),
            "splits": metrics.iter().zip(seconds).enumerate().map(|(k, (m, s))| json!({
                "split": k, "accuracy": m.accuracy, "nll": m.nll, "ece": m.ece, "train_seconds": s,
            })).collect::<Vec<_>>(),
            "accuracy_mean": acc.0, "accuracy_se": acc.1, "nll_mean": nll.0, "nll_se": nll.1,
            "ece_mean": ece.0, "ece_se": ece.1,
        }));
    }
    if let Some(path) = args.json {
        let doc = json!({"dataset": data_name, "device": args.device, "epochs": args.epochs,
            "hidden": args.hidden, "mc_samples": args.mc_samples, "test_fraction": args.test_fraction,
            "models": rows});
        std::fs::write(&path, serde_json::to_string_pretty(&doc)?)?;
    }
    Ok(())
}
