//! `vi-bench`: benchmarks of the toolbox, printed as JSON lines with the fields of
//! `shared/peers/bench_peers.py`, and a `compare` command that joins them with the peers' results.
//!
//! ```text
//! vi-bench linalg [--threads T] [--device flex|ndarray|wgpu|cuda] [--dtype f32|f64|both] [--quick] [--json FILE]
//! vi-bench bnn | dist | svgp [--threads T] [--device D] [--json FILE] ...
//! vi-bench compare PEERS.jsonl OURS.jsonl
//! ```

mod bnn;
mod common;
mod compare;
mod dist;
mod linalg;
mod svgp;
mod timing;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// mimalloc keeps freed buffers for reuse; glibc's malloc hands large ones back to the kernel
/// and page-faults them in again on the next step (a fifth of an SVGP step at M = 512). It is
/// built without transparent huge pages (see the workspace manifest).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "vi-bench", about = "Benchmarks of the VI toolbox (JSON lines)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Cholesky and triangular solve, forward and forward+backward, at the peers' sizes.
    Linalg(linalg::Args),
    /// One epoch of mean-field BNN training (weight sampling and local reparameterization).
    Bnn(bnn::Args),
    /// Distribution log densities (LowRank MVN and batched MVN), forward and forward+backward.
    Dist(dist::Args),
    /// SVGP regression: one training step and full epochs at M = 64, 256, 512 (or a scale run).
    Svgp(svgp::Args),
    /// Joins a peers' results file with ours and prints time ratios as a markdown table.
    Compare {
        /// Peers' JSON lines (e.g. shared/peers/results/peers-cpu.jsonl).
        peers: PathBuf,
        /// Our JSON lines from `vi-bench linalg --json`.
        ours: PathBuf,
    },
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().command {
        Command::Linalg(args) => linalg::run(&args),
        Command::Dist(args) => dist::run(&args),
        Command::Bnn(args) => bnn::run(&args),
        Command::Svgp(args) => svgp::run(&args),
        Command::Compare { peers, ours } => compare::run(&peers, &ours),
    }
}
