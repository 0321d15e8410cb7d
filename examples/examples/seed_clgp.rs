//! The Categorical Latent GP (Gal, Chen & Ghahramani, ICML 2015) written the way a researcher
//! writes its lower bound, from the toolbox's public blocks: latent inputs `X = m + s ⊙ ε`,
//! whitened inducing outputs `V = μ + L ε` (`U = L_zz V`), the RBF Gram matrices, the projected
//! marginals `F | X, U ~ N(Aᵀ V, k(x, x) − ‖a‖²)` with `A = L_zz⁻¹ K_zx` (a draw of `V` per
//! draw of `X`), a softmax per variable, and the bound `E[ln p(Y | F)] − KL_U − KL_X`: the model and its
//! bound are the 30 lines between the markers below (the Theano original is about 20). It is trained with Adam on split 0 of the `clgp` example's protocol and
//! scored by the test perplexity of the hidden values, next to the library's `Clgp` (which
//! integrates `U` out analytically) trained on the same split with the same seeds.
//!
//! ```text
//! cargo run --release -p vi-examples --example seed_clgp -- --data ../shared/data/breast_cancer_wisconsin \
//!     [--seeds R] [--split K] [--iterations I] [--device flex|ndarray|wgpu|cuda]
//! ```

use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use clap::Parser;
use std::error::Error;
use std::path::PathBuf;
use vi_blocks::family::FullRankGaussian;
use vi_blocks::gp::kernel::{Rbf, RbfConfig, ScaleKernel, ScaleKernelConfig};
use vi_blocks::gp::likelihood::CategoricalColumns;
use vi_blocks::gp::{Conditional, InducingFamily, LatentInputs};
use vi_core::distributions::{Normal, Reparameterized};
use vi_core::optim::FusedAdamConfig;
use vi_examples::flags;
use vi_models::clgp::CategoricalObservations as Observed;
use vi_models::clgp::{
    ClgpConfig, ClgpImputer, ClgpTraining, ImputationSplit, Imputer, imputation_split, perplexity,
    train_clgp,
};
use vi_models::data::CategoricalTable;
use vi_models::metrics::mean_and_standard_error;

#[derive(Parser)]
#[command(
    about = "The CLGP's bound written from the blocks, against the library's Clgp",
    allow_negative_numbers = true
)]
struct Args {
    /// The data file, or a folder holding exactly one *.data or *.csv file.
    #[arg(long)]
    data: PathBuf,
    /// The split of the `clgp` example's protocol.
    #[arg(long, default_value_t = 0)]
    split: u64,
    /// Training seeds (each model is trained once per seed).
    #[arg(long, default_value_t = 3, value_parser = flags::count)]
    seeds: usize,
    /// Adam iterations (full batch).
    #[arg(long, default_value_t = 1000, value_parser = flags::count)]
    iterations: usize,
    /// Device: flex, ndarray, wgpu or cuda (compiled-in backends).
    #[arg(long, default_value = "flex")]
    device: String,
}

type Fallible<T> = Result<T, Box<dyn Error>>;

// ---- the model and its bound (30 lines) ----
#[derive(Module, Debug)]
struct SeedClgp {
    x: LatentInputs,          // q(X) = Πₙ N(mₙ, diag sₙ²), [N, Q]
    v: FullRankGaussian,      // q(V) = N(μ, L Lᵀ) per logit column, [P, M]; U = L_zz V
    z: Param<Tensor<3>>,      // inducing inputs Z, [1, M, Q]
    kernel: ScaleKernel<Rbf>, // the RBF-ARD covariance
    bias: Param<Tensor<1>>,   // constant prior mean per logit column, [P]
}

impl SeedClgp {
    /// Logits `F` `[S·N, P]` at `S` draws of `X ~ q_x` (batch `[N]`) and of `V`.
    fn logits(&self, q_x: &Normal, s: usize) -> Fallible<Tensor<2>> {
        let x: Tensor<3> = q_x.rsample(s); // X = m + s ⊙ ε, [S, N, Q]
        let v: Tensor<3> = self.v.distribution()?.rsample(s); // V = μ + L ε, [S, P, M]
        let q = x.dims()[2];
        let f = Conditional::new(&self.kernel, self.z.val(), x.reshape([-1, q as i32]), 1e-4)?;
        Ok(f.sample(v) + self.bias.val().unsqueeze()) // F ~ N(Aᵀ V, k − ‖a‖²)
    }

    /// The ELBO `E[ln p(Y | F)] − KL(q(V) ‖ N(0, I)) − KL(q(X) ‖ N(0, I))`, `[1]`.
    fn bound(&self, y: &Observed, c: &CategoricalColumns, s: usize) -> Fallible<Tensor<1>> {
        let f = self.logits(&self.x.distribution()?, s)?;
        let log_p =
            c.log_prob(f, y.targets.clone().repeat_dim(0, s)) * y.mask.clone().repeat_dim(0, s);
        let kl_x = (self.x.kl_to_prior()? * y.observed_rows.clone()).sum();
        Ok(log_p.sum().div_scalar(s as f64) - self.v.kl_to_standard_normal()? - kl_x)
    }
}
// ---- end of the model and its bound ----

fn main() {
    if let Err(error) = run(Args::parse()) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), Box<dyn Error>> {
    let ad = vi_core::device::by_name(&args.device)?.autodiff();
    let table = CategoricalTable::load(&args.data, &["id"])?;
    let hideable: Vec<usize> = (0..table.variables())
        .filter(|&v| table.names[v] != "class")
        .collect();
    let split = imputation_split(&table, 0.2, &hideable, args.split)?;
    let data = Observed::new(&split.train, &ad);
    let columns = CategoricalColumns::new(split.train.categories());
    let training = ClgpTraining::new().with_iterations(args.iterations);
    println!(
        "split {}: {} hidden values; {} iterations, seeds 0..{}",
        args.split,
        split.hidden.len(),
        args.iterations,
        args.seeds
    );
    let (mut ours, mut library) = (Vec::new(), Vec::new());
    for seed in 0..args.seeds {
        let config = ClgpConfig::new().with_seed(args.split);
        let kernel =
            || ScaleKernelConfig::new().init(RbfConfig::new(config.latent_dim).init(&ad), &ad);
        // The library's model and ours start from the same initial state.
        ad.seed(seed as u64);
        let clgp = config.init(kernel(), &split.train, &ad)?;
        let trained = train_clgp(clgp, &data, &training, |_, _| {})?;
        let imputer = ClgpImputer::new(&trained, &split.hidden, 2000)?;
        library.push(imputer.perplexity(&split.hidden)?);
        ad.seed(seed as u64);
        let clgp = config.init(kernel(), &split.train, &ad)?;
        let InducingFamily::FullRank(v) = clgp.gp.variational else {
            return Err("the CLGP's default q(U) is full rank".into());
        };
        let bias = clgp
            .gp
            .mean
            .constant
            .ok_or("the CLGP has a constant mean")?;
        let model = SeedClgp {
            x: clgp.latent,
            v,
            z: clgp.gp.inducing_points,
            kernel: clgp.gp.kernel,
            bias,
        };
        let model = train(model, &data, &columns, &training)?;
        ours.push(score(&model, &split, &columns, 2000)?);
        println!(
            "seed {seed}: perplexity seed_clgp {:.3}, library Clgp {:.3}",
            ours[ours.len() - 1],
            library[library.len() - 1]
        );
    }
    let (mean_ours, se_ours) = mean_and_standard_error(&ours)?;
    let (mean_lib, se_lib) = mean_and_standard_error(&library)?;
    let differences: Vec<f64> = ours.iter().zip(&library).map(|(a, b)| a - b).collect();
    let (mean_diff, se_diff) = mean_and_standard_error(&differences)?;
    println!(
        "\n| model | test perplexity (mean ± s.e. over {} seeds) |",
        args.seeds
    );
    println!("|---|---|");
    println!("| seed_clgp (this file) | {mean_ours:.3} ± {se_ours:.3} |");
    println!("| vi_models::clgp::Clgp | {mean_lib:.3} ± {se_lib:.3} |");
    println!("paired difference: {mean_diff:+.3} ± {se_diff:.3}");
    Ok(())
}

/// Adam on `−bound / (observed entries)`, as `train_clgp` does for the library's model.
fn train(
    mut model: SeedClgp,
    data: &Observed,
    columns: &CategoricalColumns,
    training: &ClgpTraining,
) -> Result<SeedClgp, Box<dyn Error>> {
    let observed: f64 = data.mask.clone().sum().into_scalar::<f64>().max(1.0);
    let mut optim = FusedAdamConfig::new().init();
    for iteration in 0..training.iterations {
        let loss = model
            .bound(data, columns, training.samples)?
            .mul_scalar(-1.0 / observed);
        let value: f64 = loss.clone().into_scalar();
        if !value.is_finite() {
            return Err(format!("the loss became {value} at iteration {iteration}").into());
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(training.learning_rate, model, grads);
    }
    Ok(model)
}

/// The perplexity of the hidden values under the predictive `p(y | row) ≈ mean over draws of
/// softmax(F)`, with `samples` draws of `xₙ ~ q(xₙ)`, `V` and `F`.
fn score(
    model: &SeedClgp,
    split: &ImputationSplit,
    columns: &CategoricalColumns,
    samples: usize,
) -> Result<f64, Box<dyn Error>> {
    let rows: Vec<usize> = split.hidden.iter().map(|h| h.row).collect();
    let q_x = model.x.select(&rows)?;
    let (r, p) = (rows.len(), columns.columns());
    let mut total = vec![0.0; r * p];
    let chunk = 250;
    for start in (0..samples).step_by(chunk) {
        let s = chunk.min(samples - start);
        let f = model.logits(&q_x, s)?.detach();
        let mean = columns.probabilities(f).reshape([s, r, p]).sum_dim(0);
        let values: Vec<f64> = mean.into_data().convert::<f64>().try_to_vec::<f64>()?;
        total.iter_mut().zip(values).for_each(|(t, v)| *t += v);
    }
    let offsets = columns.offsets();
    let log_probabilities: Vec<f64> = split
        .hidden
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let probability = total[i * p + offsets[h.variable] + h.value] / samples as f64;
            probability.max(f64::MIN_POSITIVE).ln()
        })
        .collect();
    Ok(perplexity(&log_probabilities)?)
}
