//! Imputation of multivariate categorical data with the Categorical Latent GP (Gal, Chen &
//! Ghahramani, ICML 2015) and its baselines, on the Wisconsin breast-cancer file (or any
//! comma-separated file with a header, `?` for missing values).
//!
//! Protocol, per seeded split: 20 % of the rows are test rows; in each, one uniformly chosen
//! observed attribute (any variable but `class`) is hidden; every model trains on everything
//! else, the test rows' other entries included; the score is the perplexity of the hidden values,
//! `2^(−mean log₂ p(true value))`, reported as mean ± standard error over splits. The class is
//! modelled as a tenth variable (it is never hidden; `--no-class` leaves it out).
//!
//! ```text
//! cargo run --release -p vi-examples --example clgp -- --data ../shared/data/breast_cancer_wisconsin \
//!     [--splits K] [--latent-dim Q] [--inducing M] [--iterations I] [--json FILE] \
//!     [--plot FILE] [--device flex|ndarray|wgpu|cuda] [--quiet]
//! ```

use clap::{Parser, ValueEnum};
use indicatif::ProgressBar;
use plotters::prelude::*;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
use vi_blocks::gp::kernel::{Kernel, LinearConfig, RbfConfig, ScaleKernelConfig, SumKernel};
use vi_examples::flags;
use vi_models::clgp::{
    CategoricalObservations, Clgp, ClgpConfig, ClgpImputer, ClgpTraining, ImputationSplit, Imputer,
    MixtureImputer, MultinomialImputer, UniformImputer, imputation_split, train_clgp,
};
use vi_models::data::CategoricalTable;
use vi_models::metrics::mean_and_standard_error;

#[derive(Parser)]
#[command(
    about = "Categorical Latent GP imputation (Gal, Chen & Ghahramani 2015)",
    allow_negative_numbers = true
)]
struct Args {
    /// The data file, or a folder holding exactly one *.data or *.csv file.
    #[arg(long)]
    data: PathBuf,
    /// Number of seeded splits.
    #[arg(long, default_value_t = 5, value_parser = flags::count)]
    splits: usize,
    /// Latent dimension Q.
    #[arg(long, default_value_t = 2, value_parser = flags::count)]
    latent_dim: usize,
    /// The CLGP's kernel: RBF-ARD (the paper's), or RBF-ARD plus a linear kernel (which
    /// contains the LLGM).
    #[arg(long, value_enum, default_value = "rbf")]
    kernel: KernelChoice,
    /// Initial RBF lengthscale (latent means start with unit variance).
    #[arg(long, default_value_t = 1.0, value_parser = flags::positive, allow_hyphen_values = true)]
    lengthscale: f64,
    /// Inducing points M of the CLGP.
    #[arg(long, default_value_t = 20, value_parser = flags::count)]
    inducing: usize,
    /// Adam iterations (full batch) of the CLGP and the LLGM.
    #[arg(long, default_value_t = 1000, value_parser = flags::count)]
    iterations: usize,
    /// Monte Carlo draws per ELBO estimate.
    #[arg(long, default_value_t = 4, value_parser = flags::count)]
    samples: usize,
    /// Adam's step size.
    #[arg(long, default_value_t = 0.05, value_parser = flags::positive, allow_hyphen_values = true)]
    learning_rate: f64,
    /// Monte Carlo draws for the predictive distributions.
    #[arg(long, default_value_t = 2000, value_parser = flags::count)]
    predictive_samples: usize,
    /// Candidate numbers of mixture components (chosen on a validation split).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,2,3,4,6,8,12,16",
        value_parser = flags::count
    )]
    mixture_components: Vec<usize>,
    /// Columns that are not variables.
    #[arg(long, value_delimiter = ',', default_value = "id")]
    drop: Vec<String>,
    /// Leave the class column out of the model.
    #[arg(long)]
    no_class: bool,
    /// Device: flex, ndarray, wgpu or cuda (compiled-in backends).
    #[arg(long, default_value = "flex")]
    device: String,
    /// Write the results as JSON to this file (its folder is checked before training).
    #[arg(long, value_parser = flags::output_file)]
    json: Option<PathBuf>,
    /// PNG of the CLGP's latent means (first split), coloured by class (its folder is checked
    /// before training).
    #[arg(long, default_value = "clgp_latent.png", value_parser = flags::output_file)]
    plot: PathBuf,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum KernelChoice {
    Rbf,
    RbfLinear,
}

const MODELS: [&str; 5] = ["uniform", "multinomial", "mixture", "llgm", "clgp"];

fn main() {
    if let Err(error) = run(Args::parse()) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let device = vi_core::device::by_name(&args.device)?;
    let ad = device.clone().autodiff();
    let mut drop: Vec<&str> = args.drop.iter().map(String::as_str).collect();
    let with_class = CategoricalTable::load(&args.data, &drop)?;
    let class = with_class.variable("class");
    if args.no_class && class.is_some() {
        drop.push("class");
    }
    let table = CategoricalTable::load(&args.data, &drop)?;
    let hideable: Vec<usize> = (0..table.variables())
        .filter(|&v| table.names[v] != "class")
        .collect();
    println!(
        "{} rows, {} variables ({} categories), {} splits; CLGP Q = {}, M = {}, {} iterations",
        table.rows(),
        table.variables(),
        table.categories().iter().sum::<usize>(),
        args.splits,
        args.latent_dim,
        args.inducing,
        args.iterations
    );
    let bar = |len: usize, what: &str| vi_examples::progress_bar(args.quiet, len, what);
    let training = ClgpTraining::new()
        .with_iterations(args.iterations)
        .with_learning_rate(args.learning_rate)
        .with_samples(args.samples);
    let split_bar = bar(args.splits, "splits");
    let mut scores: Vec<[f64; 5]> = Vec::new();
    let mut records = Vec::new();
    for k in 0..args.splits {
        let split = imputation_split(&table, 0.2, &hideable, k as u64)?;
        ad.seed(k as u64);
        let (components, mixture) = MixtureImputer::fit_selected(
            &split.train,
            &args.mixture_components,
            &hideable,
            k as u64,
        )?;
        let fit = |name: &str, kernel_is_linear: bool| -> Result<_, Box<dyn std::error::Error>> {
            let iteration_bar = bar(args.iterations, &format!("  {name:5}"));
            let start = Instant::now();
            let config = ClgpConfig::new()
                .with_latent_dim(args.latent_dim)
                .with_seed(k as u64);
            let run = Fit {
                split: &split,
                training: &training,
                bar: &iteration_bar,
                device: &ad,
                predictive_samples: args.predictive_samples,
            };
            let rbf = || {
                let rbf = RbfConfig::new(args.latent_dim).with_lengthscale(args.lengthscale);
                ScaleKernelConfig::new().init(rbf.init(&ad), &ad)
            };
            let result = match (kernel_is_linear, args.kernel) {
                // The LLGM: a linear kernel is exact with M = Q inducing points.
                (true, _) => run.score(
                    config.with_num_inducing(args.latent_dim),
                    LinearConfig::new().init(&ad),
                )?,
                (false, KernelChoice::Rbf) => {
                    run.score(config.with_num_inducing(args.inducing), rbf())?
                }
                (false, KernelChoice::RbfLinear) => run.score(
                    config.with_num_inducing(args.inducing),
                    SumKernel {
                        first: rbf(),
                        second: LinearConfig::new().init(&ad),
                    },
                )?,
            };
            iteration_bar.finish_and_clear();
            Ok((result, start.elapsed().as_secs_f64()))
        };
        let ((llgm, _), _) = fit("llgm", true)?;
        let ((clgp, latent), seconds) = fit("clgp", false)?;
        let row = [
            UniformImputer::new(&split.train).perplexity(&split.hidden)?,
            MultinomialImputer::fit(&split.train).perplexity(&split.hidden)?,
            mixture.perplexity(&split.hidden)?,
            llgm,
            clgp,
        ];
        if k == 0 {
            let labels: Vec<Option<usize>> = (0..with_class.rows())
                .map(|r| class.and_then(|c| with_class.get(r, c)))
                .collect();
            plot_latent(&args.plot, &latent, args.latent_dim, &labels)?;
        }
        let line = format!(
            "split {k}: {} hidden values; perplexity uniform {:.3}, multinomial {:.3}, mixture ({components} components) {:.3}, LLGM {:.3}, CLGP {:.3} ({seconds:.1} s)",
            split.hidden.len(),
            row[0],
            row[1],
            row[2],
            row[3],
            row[4]
        );
        if args.quiet {
            println!("{line}");
        } else {
            split_bar.println(line);
        }
        split_bar.inc(1);
        records.push(json!({
            "split": k, "hidden": split.hidden.len(), "uniform": row[0], "multinomial": row[1],
            "mixture": row[2], "mixture_components": components, "llgm": row[3], "clgp": row[4],
            "clgp_train_seconds": seconds,
        }));
        scores.push(row);
    }
    split_bar.finish_and_clear();
    println!(
        "\n| model | test perplexity (mean ± s.e. over {} splits) |",
        args.splits
    );
    println!("|---|---|");
    let mut summary = serde_json::Map::new();
    for (i, name) in MODELS.iter().enumerate() {
        let column: Vec<f64> = scores.iter().map(|r| r[i]).collect();
        let (mean, se) = mean_and_standard_error(&column)?;
        println!("| {name} | {mean:.3} ± {se:.3} |");
        summary.insert(format!("{name}_mean"), json!(mean));
        summary.insert(format!("{name}_se"), json!(se));
    }
    println!("latent means of split 0: {}", args.plot.display());
    if let Some(path) = &args.json {
        let mut out = json!({
            "dataset": args.data.display().to_string(), "device": args.device,
            "latent_dim": args.latent_dim, "inducing": args.inducing,
            "iterations": args.iterations, "splits": records,
        });
        if let Some(map) = out.as_object_mut() {
            map.extend(summary);
        }
        std::fs::write(path, serde_json::to_string_pretty(&out)?)?;
    }
    Ok(())
}

/// What fitting one model on one split needs.
struct Fit<'a> {
    split: &'a ImputationSplit,
    training: &'a ClgpTraining,
    bar: &'a ProgressBar,
    device: &'a burn::tensor::Device,
    predictive_samples: usize,
}

impl Fit<'_> {
    /// Trains a CLGP (or LLGM) on the split's training table; returns the test perplexity and
    /// the latent means.
    fn score<K: Kernel>(
        &self,
        config: ClgpConfig,
        kernel: K,
    ) -> Result<(f64, Vec<f64>), Box<dyn std::error::Error>> {
        let model: Clgp<K> = config.init(kernel, &self.split.train, self.device)?;
        let data = CategoricalObservations::new(&self.split.train, self.device);
        let mut recent = Vec::new();
        let model = train_clgp(model, &data, self.training, |i, loss| {
            self.bar.inc(1);
            recent.push(loss);
            if i % 50 == 49 {
                let mean = recent.iter().sum::<f64>() / recent.len() as f64;
                self.bar.set_message(format!("-ELBO per entry {mean:.4}"));
                recent.clear();
            }
        })?;
        let imputer = ClgpImputer::new(&model, &self.split.hidden, self.predictive_samples)?;
        Ok((
            imputer.perplexity(&self.split.hidden)?,
            model.latent_means(),
        ))
    }
}

/// Scatter of the first two latent coordinates, coloured by the class level (blue: the first
/// level, red: the second; grey: no class).
fn plot_latent(
    path: &PathBuf,
    latent: &[f64],
    q: usize,
    labels: &[Option<usize>],
) -> Result<(), Box<dyn std::error::Error>> {
    let points: Vec<(f64, f64)> = latent
        .chunks(q)
        .map(|x| (x[0], if q > 1 { x[1] } else { 0.0 }))
        .collect();
    let range = |f: fn(&(f64, f64)) -> f64| {
        let (lo, hi) = points
            .iter()
            .map(f)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        let pad = 0.05 * (hi - lo).max(1e-6);
        (lo - pad)..(hi + pad)
    };
    let root = BitMapBackend::new(path, (700, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(15)
        .build_cartesian_2d(range(|p| p.0), range(|p| p.1))?;
    let palette = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
    chart.draw_series(points.iter().zip(labels).map(|(p, l)| {
        let colour = l.map_or(BLACK.mix(0.3), |c| palette[c % palette.len()].mix(0.6));
        Circle::new(*p, 3, colour.filled())
    }))?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_flags_are_refused_before_training() {
        for (args, want) in [
            (
                &["--latent-dim", "0"][..],
                "0 is out of range: it must be at least 1",
            ),
            (
                &["--inducing", "0"],
                "0 is out of range: it must be at least 1",
            ),
            (
                &["--samples", "0"],
                "0 is out of range: it must be at least 1",
            ),
            (
                &["--mixture-components", "1,0"],
                "0 is out of range: it must be at least 1",
            ),
            (
                &["--learning-rate", "-1"],
                "-1 is out of range: it must be finite and > 0",
            ),
            (
                &["--lengthscale", "NaN"],
                "NaN is out of range: it must be finite and > 0",
            ),
            (
                &["--plot", "/no/such/folder/p.png"],
                "the folder /no/such/folder does not exist",
            ),
        ] {
            let mut all = vec!["clgp", "--data", "x.data"];
            all.extend(args);
            let error = flags::refusal(&all, |_: Args| Ok::<(), String>(())).expect("accepted");
            assert!(error.contains(want), "{args:?}: {error}");
        }
    }
}
