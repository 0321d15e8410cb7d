//! A 1-D sparse GP: 300 noisy samples of `sin(2x) + x/3` on [−4, 4] with a gap in the middle,
//! 12 inducing points learned from a bad start; writes the predictive band (mean ± 2 sd of `y`),
//! the data and the inducing points (and `q(u)`'s means at them) to a PNG.
//!
//! ```text
//! cargo run --release -p vi-examples --example svgp_toy -- [--out svgp_toy.png] [--epochs 300]
//! ```

use burn::tensor::Device;
use clap::Parser;
use plotters::prelude::*;
use std::path::PathBuf;
use vi_examples::flags;
use vi_models::data::{Rows, Table};
use vi_models::regression::{SvgpRegressionModelConfig, SvgpRegressorConfig};

#[derive(Parser)]
#[command(about = "1-D SVGP toy; writes a PNG of the predictive band")]
struct Args {
    /// Output image.
    #[arg(long, default_value = "svgp_toy.png", value_parser = flags::output_file)]
    out: PathBuf,
    /// Training epochs.
    #[arg(long, default_value_t = 300, value_parser = flags::count)]
    epochs: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let truth = |x: f64| (2.0 * x).sin() + x / 3.0;
    // Deterministic data: a low-discrepancy sequence of inputs, Box–Muller noise.
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut state = 0.5f64;
    for i in 0..300 {
        state = (state + 0.618_033_988_749_895) % 1.0;
        let xi = -4.0 + 8.0 * state;
        if xi.abs() < 0.8 {
            continue; // a gap: the band must widen there
        }
        let u1 = ((i as f64 + 0.5) / 300.0).clamp(1e-9, 1.0);
        let u2 = (state * 7.0) % 1.0;
        let noise = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        x.push(xi);
        y.push(truth(xi) + 0.2 * noise);
    }
    let train = Table {
        x: x.clone(),
        y: y.clone(),
        d: 1,
    };
    let config = SvgpRegressorConfig::new()
        .with_model(SvgpRegressionModelConfig::new().with_num_inducing(12))
        .with_epochs(args.epochs)
        .with_batch_size(64)
        .with_learning_rate(0.02);
    let model = config.fit(&train, &Device::default(), |epoch, loss| {
        if epoch % 50 == 0 {
            println!("epoch {epoch:4}: −ELBO per point {loss:.4}");
        }
    })?;
    let metrics = model.evaluate(&train)?;
    println!(
        "train RMSE {:.3}, log-likelihood {:.3}",
        metrics.rmse, metrics.test_log_likelihood
    );

    let grid: Vec<f64> = (0..400).map(|i| -4.5 + 9.0 * i as f64 / 399.0).collect();
    let band = model.predict(Rows::new(&grid, 1))?;
    let z_std: Vec<f64> = model
        .model
        .gp
        .inducing_points
        .val()
        .into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()?;
    let z: Vec<f64> = model.x_scaler.inverse(&z_std);
    let at_z = model.predict(Rows::new(&z, 1))?;

    let root = BitMapBackend::new(&args.out, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(20)
        .build_cartesian_2d(-4.5f64..4.5f64, -3.5f64..3.5f64)?;
    let upper: Vec<(f64, f64)> = grid
        .iter()
        .zip(&band.mean)
        .zip(&band.variance)
        .map(|((x, m), v)| (*x, m + 2.0 * v.sqrt()))
        .collect();
    let lower: Vec<(f64, f64)> = grid
        .iter()
        .zip(&band.mean)
        .zip(&band.variance)
        .map(|((x, m), v)| (*x, m - 2.0 * v.sqrt()))
        .collect();
    let polygon: Vec<(f64, f64)> = upper
        .iter()
        .copied()
        .chain(lower.iter().rev().copied())
        .collect();
    chart.draw_series(std::iter::once(Polygon::new(
        polygon,
        BLUE.mix(0.2).filled(),
    )))?;
    chart.draw_series(LineSeries::new(
        grid.iter().zip(&band.mean).map(|(x, m)| (*x, *m)),
        BLUE.stroke_width(2),
    ))?;
    chart.draw_series(LineSeries::new(
        grid.iter().map(|&x| (x, truth(x))),
        BLACK.mix(0.5),
    ))?;
    chart.draw_series(
        x.iter()
            .zip(&y)
            .map(|(x, y)| Circle::new((*x, *y), 2, BLACK.mix(0.6).filled())),
    )?;
    chart.draw_series(
        z.iter()
            .zip(&at_z.mean)
            .map(|(z, m)| TriangleMarker::new((*z, *m), 7, RED.filled())),
    )?;
    chart.draw_series(
        z.iter()
            .map(|z| Cross::new((*z, -3.3), 5, RED.stroke_width(2))),
    )?;
    root.present()?;
    println!("wrote {}", args.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_flags_are_refused_before_training() {
        for (args, want) in [
            (
                &["--epochs", "0"][..],
                "0 is out of range: it must be at least 1",
            ),
            (
                &["--out", "/no/such/folder/t.png"],
                "the folder /no/such/folder does not exist",
            ),
        ] {
            let mut all = vec!["svgp_toy"];
            all.extend(args);
            let error = flags::refusal(&all, |_: Args| Ok::<(), String>(())).expect("accepted");
            assert!(error.contains(want), "{args:?}: {error}");
        }
    }
}
