//! A Bayesian network trained by burn-train's `Learner` (feature `train`): the per-point
//! negative ELBO as a `TrainStep`, burn-train's data loaders, loss metrics for the training and
//! validation splits, checkpoints and its CLI or TUI renderer; then the held-out RMSE and
//! test log-likelihood from 1000 Monte Carlo passes.
//!
//! ```text
//! cargo run --release -p vi-examples --features train --example learner -- \
//!     [--data ../shared/data/uci/concrete] [--split K] [--epochs E] [--dir DIR]
//! ```

use burn::data::dataloader::DataLoaderBuilder;
use burn::tensor::Device;
use burn::train::metric::LossMetric;
use burn::train::{Learner, SupervisedTraining};
use clap::Parser;
use std::path::PathBuf;
use vi_core::optim::FusedAdamConfig;
use vi_examples::flags;
use vi_models::data::{StandardizedTable, UciDataset};
use vi_models::learner::{ElboRegression, RegressionBatcher, regression_dataset};
use vi_models::regression::{BbbNetConfig, BbbRegressor, BbbRegressorConfig};

#[derive(Parser)]
#[command(about = "A Bayesian network trained with burn-train's Learner")]
struct Args {
    /// Folder in the layout of shared/data/uci/<set>/.
    #[arg(long, default_value = "../shared/data/uci/concrete")]
    data: PathBuf,
    /// Split to train and test on.
    #[arg(long, default_value_t = 0)]
    split: usize,
    /// Epochs.
    #[arg(long, default_value_t = 200, value_parser = flags::count)]
    epochs: usize,
    /// Folder for burn-train's logs and checkpoints.
    #[arg(long, default_value = "learner-run")]
    dir: PathBuf,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let device = Device::default();
    let split = UciDataset::load(&args.data)?.split(args.split)?;
    let train = StandardizedTable::new(&split.train)?;
    // The test rows standardised with the training statistics, for the validation loss.
    let valid = StandardizedTable {
        table: vi_models::data::Table {
            x: train.x_scaler.transform(&split.test.x),
            y: train.y_scaler.transform(&split.test.y),
            d: split.test.d,
        },
        x_scaler: train.x_scaler.clone(),
        y_scaler: train.y_scaler.clone(),
    };
    let loader = |data: &StandardizedTable, shuffle: Option<u64>| {
        let builder = DataLoaderBuilder::new(RegressionBatcher).batch_size(32);
        match shuffle {
            Some(seed) => builder.shuffle(seed).build(regression_dataset(data)),
            None => builder.build(regression_dataset(data)),
        }
    };
    let config = BbbNetConfig::new(50, 1.0).with_learn_noise(true);
    let model = ElboRegression {
        net: config.init(split.train.d, 1.0, &device.clone().autodiff()),
        num_data: split.train.len(),
    };
    let learner = Learner::new(model, FusedAdamConfig::new().init(), 1e-2);
    let result = SupervisedTraining::new(&args.dir, loader(&train, Some(0)), loader(&valid, None))
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .with_default_checkpointers()
        .num_epochs(args.epochs)
        .summary()
        .launch(learner);
    let std = train.y_scaler.std[0];
    let fitted = BbbRegressor {
        tau: result.model.net.noise.precision() / (std * std),
        net: result.model.net,
        config: BbbRegressorConfig::new(config).with_mc_samples(1000),
        x_scaler: train.x_scaler,
        y_scaler: train.y_scaler,
        mc_samples: 1000,
        device,
    };
    let m = fitted.evaluate(&split.test)?;
    println!(
        "test RMSE {:.2}, test log-likelihood {:.2} (learned noise sd {:.2})",
        m.rmse,
        m.test_log_likelihood,
        fitted.tau.powf(-0.5)
    );
    Ok(())
}
