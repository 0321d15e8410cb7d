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
use vi_examples::flags;
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
#[command(
    about = "Bayesian classifiers compared by accuracy, NLL and calibration",
    allow_negative_numbers = true
)]
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
    /// Hidden layer widths of the networks (default 100); not for svgp alone.
    #[arg(long, value_delimiter = ',', value_parser = flags::count)]
    hidden: Option<Vec<usize>>,
    /// Epochs of every model.
    #[arg(long, default_value_t = 100, value_parser = flags::count)]
    epochs: usize,
    /// Adam's learning rate of the networks (default 1e-3; the GP uses 0.01).
    #[arg(long, value_parser = flags::positive, allow_hyphen_values = true)]
    learning_rate: Option<f64>,
    /// Dropout probability in [0, 1) (default 0.1): MC dropout's, concrete dropout's starting
    /// value (then in (0, 1)).
    #[arg(long, value_parser = flags::probability, allow_hyphen_values = true)]
    dropout: Option<f64>,
    /// Seeded stratified splits.
    #[arg(long, default_value_t = 5, value_parser = flags::count)]
    splits: usize,
    /// Fraction of each class held out for testing, in (0, 1).
    #[arg(long, default_value_t = 0.2, value_parser = flags::fraction, allow_hyphen_values = true)]
    test_fraction: f64,
    /// Stochastic passes (draws of f for the GP) averaged at prediction (default 100); not for
    /// the deterministic network alone.
    #[arg(long, value_parser = flags::count)]
    mc_samples: Option<usize>,
    /// Inducing points of the GP (default 100); with svgp only.
    #[arg(long, value_parser = flags::count)]
    inducing: Option<usize>,
    /// Folder for the reliability diagrams (reliability_<data>_<model>.png, last split),
    /// checked before training.
    #[arg(long, default_value = ".", value_parser = flags::output_folder)]
    plot_dir: PathBuf,
    /// Write the results as JSON to this file (its folder is checked before training).
    #[arg(long, value_parser = flags::output_file)]
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

/// Refuses the flags that apply to none of the chosen models.
fn check_flags(args: &Args) -> Result<(), String> {
    let any = |f: fn(Model) -> bool| args.models.iter().any(|&m| f(m));
    let used = [
        (
            "--inducing",
            args.inducing.is_some(),
            any(|m| m == Model::Svgp),
        ),
        ("--hidden", args.hidden.is_some(), any(|m| m != Model::Svgp)),
        (
            "--learning-rate",
            args.learning_rate.is_some(),
            any(|m| m != Model::Svgp),
        ),
        (
            "--dropout",
            args.dropout.is_some(),
            any(|m| matches!(m, Model::McDropout | Model::Concrete)),
        ),
        (
            "--mc-samples",
            args.mc_samples.is_some(),
            any(|m| m != Model::Deterministic),
        ),
    ];
    match used.iter().find(|(_, given, applies)| *given && !applies) {
        Some((flag, ..)) => Err(format!(
            "{flag} applies to none of --models {}",
            args.models
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(",")
        )),
        None => Ok(()),
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    check_flags(&args)?;
    let hidden = args.hidden.clone().unwrap_or_else(|| vec![100]);
    let learning_rate = args.learning_rate.unwrap_or(1e-3);
    let dropout = args.dropout.unwrap_or(0.1);
    let mc_samples = args.mc_samples.unwrap_or(100);
    let inducing = args.inducing.unwrap_or(100);
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
        hidden
    );
    let bar = |len: usize, what: &str| vi_examples::progress_bar(args.quiet, len, what);
    let split_bar = bar(args.splits * args.models.len(), "fits");
    let mut results: Vec<(Model, Vec<ClassificationMetrics>, Vec<f64>)> = args
        .models
        .iter()
        .map(|&m| (m, Vec::new(), Vec::new()))
        .collect();
    for split in 0..args.splits {
        let (train, test) = table.stratified_split(args.test_fraction, split as u64)?;
        for (model, metrics, seconds) in &mut results {
            let epoch_bar = bar(args.epochs, "  epochs");
            epoch_bar.set_message(format!("{} split {split}", model.name()));
            let tick = |_: usize, _: f64| epoch_bar.inc(1);
            let start = Instant::now();
            let m = match model {
                Model::Svgp => SvgpClassifierConfig::new()
                    .with_model(SvgpClassificationModelConfig::new().with_num_inducing(inducing))
                    .with_epochs(args.epochs)
                    .with_mc_samples(mc_samples)
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
                    let net =
                        BnnClassifierNetConfig::new(method, hidden.clone()).with_dropout(dropout);
                    BnnClassifierConfig::new(net)
                        .with_epochs(args.epochs)
                        .with_learning_rate(learning_rate)
                        .with_mc_samples(mc_samples)
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
        let (acc, nll, ece) = (stat(|m| m.accuracy)?, stat(|m| m.nll)?, stat(|m| m.ece)?);
        let (time, _) = mean_and_standard_error(seconds)?;
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
            "hidden": hidden, "mc_samples": mc_samples, "test_fraction": args.test_fraction,
            "models": rows});
        std::fs::write(&path, serde_json::to_string_pretty(&doc)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error `classify` gives for `args` (after `--data`) before reading any data.
    fn refused(args: &[&str]) -> String {
        let mut all = vec!["classify", "--data", "x.csv"];
        all.extend(args);
        flags::refusal(&all, |args: Args| check_flags(&args))
            .unwrap_or_else(|| panic!("{all:?} was accepted"))
    }

    #[test]
    fn bad_flags_are_refused_before_training() {
        for (args, want) in [
            (
                &["--test-fraction", "0"][..],
                "0 is out of range: it must be in (0, 1)",
            ),
            (
                &["--test-fraction", "1.5"],
                "1.5 is out of range: it must be in (0, 1)",
            ),
            (
                &["--splits", "0"],
                "0 is out of range: it must be at least 1",
            ),
            (
                &["--hidden", "100,0"],
                "0 is out of range: it must be at least 1",
            ),
            (
                &["--dropout", "-0.5"],
                "-0.5 is out of range: it must be in [0, 1)",
            ),
            (
                &["--models", "deterministic", "--inducing", "10"],
                "--inducing applies to none of --models deterministic",
            ),
            (
                &["--models", "svgp", "--hidden", "10"],
                "--hidden applies to none of --models svgp",
            ),
            (
                &["--models", "deterministic,bbb", "--dropout", "0.2"],
                "--dropout applies to none of --models deterministic,bbb",
            ),
            (
                &["--models", "deterministic", "--mc-samples", "5"],
                "--mc-samples applies to none of --models deterministic",
            ),
            (
                &["--plot-dir", "/no/such/folder"],
                "the folder /no/such/folder does not exist",
            ),
            (
                &["--json", "/no/such/folder/r.json"],
                "the folder /no/such/folder does not exist",
            ),
        ] {
            let error = refused(args);
            assert!(error.contains(want), "{args:?}: {error}");
        }
    }
}
