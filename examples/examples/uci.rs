//! The UCI regression benchmark with Gal & Ghahramani's protocol (2016), on any folder of the
//! `shared/data/uci/<set>/` layout.
//!
//! Per split: standardise inputs and targets with the training statistics; unless `--dropout`
//! and `--tau` are given, grid-search `dropout_rates.txt × tau_values.txt` on an 80/20 split of
//! the training set by validation log-likelihood; retrain on the whole training set with one
//! hidden layer of `n_hidden` ReLU units, batch 128, Adam, `n_epochs × multiplier` epochs and the
//! weight decay `l² (1 − p) / (2 N τ)`; report the test RMSE of the MC mean and the test
//! log-likelihood `logsumexp_t(−τ/2 (y − ŷ_t)²) − log T − ½ log 2π + ½ log τ` over `T` passes.
//! `--model concrete` learns the dropout rates (concrete dropout, Gal, Hron & Kendall 2017) with
//! `τ` chosen on the grid's `tau_values`; `--model bbb` fits a mean-field Bayesian network (local
//! reparameterization, `N(0, 1)` priors, fixed `τ` chosen on the same values); `--model svgp` a sparse GP (no grid; its noise is learned).
//!
//! ```text
//! cargo run --release -p vi-examples --example uci -- --data ../shared/data/uci/concrete \
//!     [--model mc-dropout|concrete|bbb|svgp] [--splits K] [--epochs E | --epochs-multiplier M] [--dropout P --tau T] \
//!     [--mc-samples S] [--device flex|ndarray|wgpu|cuda] [--json FILE] [--quiet]
//! ```

use clap::{Parser, ValueEnum};
use indicatif::ProgressBar;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
use vi_examples::flags;
use vi_models::data::{Table, UciDataset};
use vi_models::metrics::mean_and_standard_error;
use vi_models::regression::{
    BbbNetConfig, BbbRegressorConfig, ConcreteDropoutNetConfig, ConcreteDropoutRegressorConfig,
    McDropoutNetConfig, McDropoutRegressorConfig, RegressionMetrics, SvgpRegressionModelConfig,
    SvgpRegressorConfig,
};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Model {
    McDropout,
    Concrete,
    Bbb,
    Svgp,
}

#[derive(Parser)]
#[command(
    about = "UCI regression benchmark (Gal & Ghahramani's protocol)",
    allow_negative_numbers = true
)]
struct Args {
    /// Folder in the layout of shared/data/uci/<set>/.
    #[arg(long)]
    data: PathBuf,
    /// Model.
    #[arg(long, value_enum, default_value = "mc-dropout")]
    model: Model,
    /// Number of splits, at most the data set's (default: all).
    #[arg(long, value_parser = flags::count)]
    splits: Option<usize>,
    /// Epochs (instead of n_epochs.txt × multiplier).
    #[arg(long, value_parser = flags::count, conflicts_with = "epochs_multiplier")]
    epochs: Option<usize>,
    /// Multiplier of n_epochs.txt (the paper's "new" results use 100).
    #[arg(long, default_value_t = 10, value_parser = flags::count)]
    epochs_multiplier: usize,
    /// Dropout probability in [0, 1), mc-dropout only (skips the grid search together with
    /// --tau).
    #[arg(long, value_parser = flags::probability, allow_hyphen_values = true)]
    dropout: Option<f64>,
    /// Model precision τ > 0 (skips the grid search together with --dropout; alone for
    /// concrete and bbb); not for svgp, which learns its noise.
    #[arg(long, value_parser = flags::positive, allow_hyphen_values = true)]
    tau: Option<f64>,
    /// Stochastic passes T at test time (default 10 000); not for svgp, whose predictive is
    /// closed-form.
    #[arg(long, value_parser = flags::count)]
    mc_samples: Option<usize>,
    /// Inducing points of the SVGP (default 100); svgp only.
    #[arg(long, value_parser = flags::count)]
    inducing: Option<usize>,
    /// Device: flex, ndarray, wgpu or cuda (compiled-in backends).
    #[arg(long, default_value = "flex")]
    device: String,
    /// Write the results as JSON to this file (its folder is checked before training).
    #[arg(long, value_parser = flags::output_file)]
    json: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

/// A fitted model's evaluation on a table.
type Evaluator = Box<dyn Fn(&Table) -> Result<RegressionMetrics, vi_models::ModelError>>;

fn main() {
    if let Err(error) = run(Args::parse()) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

/// Refuses the flags that do not apply to the chosen model.
fn check_flags(args: &Args) -> Result<(), String> {
    let refused: &[(&str, bool)] = match args.model {
        Model::McDropout => &[("--inducing", args.inducing.is_some())],
        Model::Concrete | Model::Bbb => &[
            ("--dropout", args.dropout.is_some()),
            ("--inducing", args.inducing.is_some()),
        ],
        Model::Svgp => &[
            ("--dropout", args.dropout.is_some()),
            ("--tau", args.tau.is_some()),
            ("--mc-samples", args.mc_samples.is_some()),
        ],
    };
    match refused.iter().find(|(_, given)| *given) {
        Some((flag, _)) => Err(format!("{flag} does not apply to --model {:?}", args.model)),
        None => Ok(()),
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    check_flags(&args)?;
    let device = vi_core::device::by_name(&args.device)?;
    let data = UciDataset::load(&args.data)?;
    let splits = args.splits.unwrap_or(data.splits);
    if splits > data.splits {
        return Err(format!(
            "--splits {splits} is out of range: {} has {} splits",
            args.data.display(),
            data.splits
        )
        .into());
    }
    let mc_samples = args.mc_samples.unwrap_or(10_000);
    let inducing = args.inducing.unwrap_or(100);
    let hidden = data.n_hidden.unwrap_or(50);
    let epochs = args
        .epochs
        .unwrap_or(data.n_epochs.unwrap_or(40) * args.epochs_multiplier);
    let learns_dropout = matches!(args.model, Model::Bbb | Model::Concrete);
    let grid: Vec<(f64, f64)> = match (args.dropout, args.tau) {
        // The SVGP learns its noise: no grid.
        _ if matches!(args.model, Model::Svgp) => Vec::new(),
        (Some(p), Some(t)) => vec![(p, t)],
        (None, Some(t)) if learns_dropout => vec![(f64::NAN, t)],
        (None, None) if !data.dropout_rates.is_empty() && !data.tau_values.is_empty() => data
            .dropout_rates
            .iter()
            .flat_map(|&p| data.tau_values.iter().map(move |&t| (p, t)))
            .collect(),
        (None, None) => {
            return Err("no --dropout/--tau and no dropout_rates.txt/tau_values.txt".into());
        }
        _ => {
            return Err(
                "give both --dropout and --tau, or neither (--tau alone for concrete and bbb)"
                    .into(),
            );
        }
    };
    println!(
        "{} ({:?}): {} rows, {} features, {splits} splits, {hidden} hidden units, {epochs} epochs",
        data.name(),
        args.model,
        data.rows(),
        data.features.len()
    );
    let bar = |len: usize, what: &str| vi_examples::progress_bar(args.quiet, len, what);
    let split_bar = bar(splits, "splits");
    let (mut results, mut rmses, mut lls) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..splits {
        let split = data.split(k)?;
        let start = Instant::now();
        let epoch_bar = bar(epochs, "  epochs");
        let (metrics, chosen): (RegressionMetrics, Option<(f64, f64)>) = match args.model {
            Model::McDropout | Model::Concrete | Model::Bbb => {
                let model_kind = args.model;
                let fit = |p: f64,
                           t: f64,
                           train: &Table,
                           bar: &ProgressBar|
                 -> Result<Evaluator, vi_models::ModelError> {
                    Ok(match model_kind {
                        Model::Bbb => {
                            let m = BbbRegressorConfig::new(BbbNetConfig::new(hidden, t))
                                .with_epochs(epochs)
                                .with_mc_samples(mc_samples)
                                .with_seed(k as u64)
                                .fit(train, &device, |_, _| bar.inc(1))?;
                            Box::new(move |test: &Table| m.evaluate(test))
                        }
                        Model::Concrete => {
                            let m = ConcreteDropoutRegressorConfig::new(
                                ConcreteDropoutNetConfig::new(hidden, t),
                            )
                            .with_epochs(epochs)
                            .with_mc_samples(mc_samples)
                            .with_seed(k as u64)
                            .fit(train, &device, |_, _| bar.inc(1))?;
                            Box::new(move |test: &Table| m.evaluate(test))
                        }
                        _ => {
                            let m = McDropoutRegressorConfig::new(McDropoutNetConfig::new(
                                hidden, p, t,
                            ))
                            .with_epochs(epochs)
                            .with_mc_samples(mc_samples)
                            .with_seed(k as u64)
                            .fit(train, &device, |_, _| bar.inc(1))?;
                            Box::new(move |test: &Table| m.evaluate(test))
                        }
                    })
                };
                // BBB has no dropout and concrete dropout learns it: their grid is over τ only.
                let tau_only = matches!(model_kind, Model::Bbb | Model::Concrete);
                let mut candidates = grid.clone();
                if tau_only {
                    candidates.dedup_by(|a, b| a.1 == b.1);
                    candidates.sort_by(|a, b| a.1.total_cmp(&b.1));
                    candidates.dedup_by(|a, b| a.1 == b.1);
                }
                let (p, t) = if candidates.len() == 1 {
                    candidates[0]
                } else {
                    let n = split.train.len();
                    let mut state = 1000 + k as u64;
                    let perm = vi_models::data::permutation(n, &mut state);
                    let cut = (n as f64 * 0.8).round() as usize;
                    let (fit_part, valid_part) = (
                        split.train.select(&perm[..cut]),
                        split.train.select(&perm[cut..]),
                    );
                    let mut best = (f64::NEG_INFINITY, candidates[0]);
                    for &(p, t) in &candidates {
                        epoch_bar.set_message(format!("grid p={p} tau={t}"));
                        epoch_bar.set_position(0);
                        let ll =
                            fit(p, t, &fit_part, &epoch_bar)?(&valid_part)?.test_log_likelihood;
                        if ll > best.0 {
                            best = (ll, (p, t));
                        }
                    }
                    best.1
                };
                epoch_bar.set_message(format!("final p={p} tau={t}"));
                epoch_bar.set_position(0);
                let metrics = fit(p, t, &split.train, &epoch_bar)?(&split.test)?;
                let chosen = if tau_only { (f64::NAN, t) } else { (p, t) };
                (metrics, Some(chosen))
            }
            Model::Svgp => {
                let config = SvgpRegressorConfig::new()
                    .with_model(SvgpRegressionModelConfig::new().with_num_inducing(inducing))
                    .with_epochs(epochs)
                    .with_seed(k as u64);
                let model = config.fit(&split.train, &device, |_, _| epoch_bar.inc(1))?;
                (model.evaluate(&split.test)?, None)
            }
        };
        epoch_bar.finish_and_clear();
        let seconds = start.elapsed().as_secs_f64();
        split_bar.inc(1);
        let line = format!(
            "split {k:2}: RMSE {:.3}, test LL {:.3}{} ({seconds:.1} s)",
            metrics.rmse,
            metrics.test_log_likelihood,
            chosen.map_or(String::new(), |(p, t)| if p.is_nan() {
                format!(", tau = {t}")
            } else {
                format!(", p = {p}, tau = {t}")
            })
        );
        if args.quiet {
            println!("{line}");
        } else {
            split_bar.println(line);
        }
        rmses.push(metrics.rmse);
        lls.push(metrics.test_log_likelihood);
        results.push(
            json!({"split": k, "rmse": metrics.rmse, "test_ll": metrics.test_log_likelihood,
            "dropout": chosen.map(|c| c.0).filter(|p| !p.is_nan()), "tau": chosen.map(|c| c.1), "train_seconds": seconds}),
        );
    }
    split_bar.finish_and_clear();
    let (rmse, rmse_se) = mean_and_standard_error(&rmses)?;
    let (ll, ll_se) = mean_and_standard_error(&lls)?;
    println!("| data set | model | splits | RMSE | test LL |\n|---|---|---|---|---|");
    println!(
        "| {} | {:?} | {splits} | {rmse:.3} ± {rmse_se:.3} | {ll:.3} ± {ll_se:.3} |",
        data.name(),
        args.model
    );
    if let Some(path) = args.json {
        let model = match args.model {
            Model::McDropout => "mc-dropout",
            Model::Concrete => "concrete",
            Model::Bbb => "bbb",
            Model::Svgp => "svgp",
        };
        let doc = json!({"dataset": data.name(), "model": model, "device": args.device, "epochs": epochs,
            "mc_samples": (!matches!(args.model, Model::Svgp)).then_some(mc_samples),
            "inducing": matches!(args.model, Model::Svgp).then_some(inducing), "splits": results, "rmse_mean": rmse, "rmse_se": rmse_se,
            "ll_mean": ll, "ll_se": ll_se});
        std::fs::write(&path, serde_json::to_string_pretty(&doc)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &str = "../../shared/data/uci/concrete";

    /// The error `uci` gives for `args` (after `--data`), from parsing or from the checks
    /// that run before any training.
    fn refused(args: &[&str]) -> String {
        let mut all = vec!["uci", "--data", DATA];
        all.extend(args);
        flags::refusal(&all, run).unwrap_or_else(|| panic!("{all:?} was accepted"))
    }

    #[test]
    fn bad_flags_are_refused_before_training() {
        for (args, want) in [
            (
                &["--splits", "0"][..],
                "0 is out of range: it must be at least 1",
            ),
            (
                &["--epochs", "0"],
                "0 is out of range: it must be at least 1",
            ),
            (
                &["--mc-samples", "0"],
                "0 is out of range: it must be at least 1",
            ),
            (
                &["--dropout", "-0.1"],
                "-0.1 is out of range: it must be in [0, 1)",
            ),
            (
                &["--dropout", "1"],
                "1 is out of range: it must be in [0, 1)",
            ),
            (
                &["--tau", "NaN"],
                "NaN is out of range: it must be finite and > 0",
            ),
            (
                &["--tau", "-inf"],
                "-inf is out of range: it must be finite and > 0",
            ),
            (
                &["--epochs", "5", "--epochs-multiplier", "2"],
                "cannot be used with",
            ),
            (
                &["--model", "svgp", "--dropout", "0.1"],
                "--dropout does not apply to --model Svgp",
            ),
            (
                &["--model", "svgp", "--tau", "1"],
                "--tau does not apply to --model Svgp",
            ),
            (
                &["--model", "svgp", "--mc-samples", "9"],
                "--mc-samples does not apply to --model Svgp",
            ),
            (
                &["--model", "bbb", "--inducing", "9"],
                "--inducing does not apply to --model Bbb",
            ),
            (
                &["--model", "concrete", "--dropout", "0.1"],
                "--dropout does not apply to --model Concrete",
            ),
            (&["--splits", "999"], "--splits 999 is out of range"),
            (
                &["--json", "/no/such/folder/out.json"],
                "the folder /no/such/folder does not exist",
            ),
        ] {
            let error = refused(args);
            assert!(error.contains(want), "{args:?}: {error}");
        }
    }
}
