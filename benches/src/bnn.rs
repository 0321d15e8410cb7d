//! `vi-bench bnn`: one epoch of mean-field BNN training (Bayes by backprop, with weight sampling
//! and with local reparameterization), on the work of the `bnn_*` suites of
//! `shared/peers/bench_peers.py`: its data (`shared/peers/data/bnn_{train,test}.csv`, N = 1000,
//! d = 8), 8–50–1 with ReLU, N(0, 1) priors, a learned noise `log σ`, one sample per step,
//! batches of 32 (31 × 32 + 1 × 8 per epoch, reshuffled), Adam at 1e-2, the loss read back every
//! step as the peers' `loss.item()`. Also the `mcdropout` suite: an 8–50–1 ReLU network with
//! [`McDropout`] (p = 0.05) trained with MSE and Adam (1e-2, weight decay 1e-4), and T = 100
//! predictive passes over the 500 test rows, one pass at a time (`loop`) and stacked (`batched`).

use crate::common::{JsonLines, read_csv, start, sync};
use crate::timing::timeit;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Int, Tensor, TensorData, activation::relu};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
use vi_blocks::kl::total_kl;
use vi_blocks::nn::{
    BayesianLinear, BayesianLinearConfig, LinearEstimator, McDropout, McDropoutConfig,
};
use vi_blocks::predict::predict_mc;
use vi_core::likelihood::gaussian_log_likelihood;
use vi_core::optim::FusedAdamConfig;
use vi_core::special::inverse_softplus_f64;

#[derive(clap::Args)]
pub struct Args {
    /// Worker threads (rayon pool).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Device: flex, ndarray, wgpu or cuda (compiled-in backends only).
    #[arg(long, default_value = "flex")]
    device: String,
    /// Timed epochs per estimator (after one warm-up epoch).
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// `shared/` directory (its `peers/data/bnn_*.csv`).
    #[arg(long, default_value = "../shared")]
    shared: PathBuf,
    /// Also write the JSON lines to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Suites to run: `bnn` (both BBB estimators), `mcdropout`, or both (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "bnn,mcdropout")]
    suites: Vec<String>,
}

#[derive(Module, Debug)]
struct Bnn {
    l1: BayesianLinear,
    l2: BayesianLinear,
    log_sigma: Param<Tensor<1>>,
}

#[derive(Module, Debug)]
struct DropoutNet {
    hidden: Linear,
    dropout: McDropout,
    out: Linear,
}

impl DropoutNet {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.out
            .forward(self.dropout.forward(relu(self.hidden.forward(x))))
    }
}

impl Bnn {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.l2.forward(relu(self.l1.forward(x)))
    }
}

/// One warm-up epoch, then `epochs` timed ones: each reshuffles the rows and calls `step` on
/// batches of 32 (the last one shorter), `step` returning the batch loss it read back. Returns
/// the sorted epoch times and the mean batch loss of the last epoch.
fn train_epochs(
    epochs: usize,
    x: &Tensor<2>,
    y: &Tensor<2>,
    device: &burn::tensor::Device,
    mut step: impl FnMut(Tensor<2>, Tensor<2>) -> f64,
) -> Result<(Vec<f64>, f64), Box<dyn std::error::Error>> {
    let n = x.dims()[0];
    let (mut times, mut last) = (Vec::new(), f64::NAN);
    for epoch in 0..=epochs {
        let perm = Tensor::<1>::random([n], burn::tensor::Distribution::Uniform(0.0, 1.0), device)
            .argsort(0)
            .into_data()
            .convert::<i64>()
            .try_into_vec::<i64>()?;
        let start = Instant::now();
        let mut total = 0.0;
        for batch in perm.chunks(32) {
            let index = Tensor::<1, Int>::from_data(batch, &x.device());
            total += step(
                x.clone().select(0, index.clone()),
                y.clone().select(0, index),
            );
        }
        sync(device);
        if epoch > 0 {
            times.push(start.elapsed().as_secs_f64());
        }
        last = total / n.div_ceil(32) as f64;
    }
    times.sort_by(f64::total_cmp);
    Ok((times, last))
}

pub fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let device = start(args.threads, &args.device)?;
    let ad = device.clone().autodiff();
    let data = args.shared.join("peers").join("data");
    let (x, y, d) = read_csv(&data.join("bnn_train.csv"))?;
    let (xt, yt, _) = read_csv(&data.join("bnn_test.csv"))?;
    let (n, n_test) = (y.len(), yt.len());
    let x = Tensor::<2>::from_data(TensorData::new(x, [n, d]), &ad);
    let y = Tensor::<2>::from_data(TensorData::new(y, [n, 1]), &ad);
    let xt = Tensor::<2>::from_data(TensorData::new(xt, [n_test, d]), &device);
    let mut out = JsonLines::new(args.json.as_ref())?;
    let run_bnn = args.suites.iter().any(|s| s == "bnn");
    for (estimator, name) in [
        (LinearEstimator::WeightSampling, "bnn_bbb_meanfield_epoch"),
        (
            LinearEstimator::LocalReparameterization,
            "bnn_bbb_local_reparam_epoch",
        ),
    ]
    .into_iter()
    .filter(|_| run_bnn)
    {
        ad.seed(0);
        let layer = |i, o| {
            BayesianLinearConfig::new(i, o)
                .with_estimator(estimator)
                .with_init_rho(inverse_softplus_f64(0.1))
                .init(&ad)
        };
        let mut model = Bnn {
            l1: layer(d, 50),
            l2: layer(50, 1),
            log_sigma: Param::from_tensor(Tensor::zeros([1], &ad)),
        };
        let mut optim = FusedAdamConfig::new().init();
        let (epoch_times, last_loss) = train_epochs(args.epochs, &x, &y, &device, |xb, yb| {
            let batch = xb.dims()[0];
            let ll = gaussian_log_likelihood(yb, model.forward(xb), model.log_sigma.val())
                .expect("the network's outputs have the targets' shape");
            let loss = ll.mul_scalar(-(n as f64) / batch as f64)
                + total_kl(&model).expect("Bayesian layers");
            let value = loss.clone().into_scalar::<f32>() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-2, model.clone(), grads);
            value
        })?;
        let trained = model.valid();
        let prediction = predict_mc(|| trained.forward(xt.clone()), 100, false);
        let mean = prediction
            .mean
            .into_data()
            .convert::<f64>()
            .try_into_vec::<f64>()?;
        let rmse = (mean
            .iter()
            .zip(&yt)
            .map(|(m, y)| (m - *y as f64).powi(2))
            .sum::<f64>()
            / n_test as f64)
            .sqrt();
        let row = json!({"suite": "bnn", "peer": "vi-burn", "bench": name, "dtype": "float32",
            "N": n, "d": d, "hidden": 50, "batch": 32, "threads": args.threads, "device": args.device,
            "median_s": epoch_times[epoch_times.len() / 2], "min_s": epoch_times[0],
            "repeats": epoch_times.len(), "inner": 1,
            "final_neg_elbo_per_point": last_loss / n as f64, "test_rmse": rmse});
        out.emit(&row)?;
    }
    if args.suites.iter().any(|s| s == "mcdropout") {
        mc_dropout(args, &device, (&x, &y, &xt, d), &mut out)?;
    }
    Ok(())
}

/// The `mcdropout` suite (see the module docs).
fn mc_dropout(
    args: &Args,
    device: &burn::tensor::Device,
    (x, y, xt, d): (&Tensor<2>, &Tensor<2>, &Tensor<2>, usize),
    out: &mut JsonLines,
) -> Result<(), Box<dyn std::error::Error>> {
    let ad = x.device();
    let n = x.dims()[0];
    let n_test = xt.dims()[0];
    ad.seed(0);
    let mut model = DropoutNet {
        hidden: LinearConfig::new(d, 50).init(&ad),
        dropout: McDropoutConfig::new(0.05).init(),
        out: LinearConfig::new(50, 1).init(&ad),
    };
    let mut optim = FusedAdamConfig::new().with_weight_decay(Some(1e-4)).init();
    let (epoch_times, last) = train_epochs(args.epochs.min(30), x, y, device, |xb, yb| {
        let loss = (model.forward(xb) - yb).square().mean();
        let value = loss.clone().into_scalar::<f32>() as f64;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-2, model.clone(), grads);
        value
    })?;
    let base = json!({"suite": "mcdropout", "peer": "vi-burn", "dtype": "float32", "N": n, "d": d,
        "hidden": 50, "p": 0.05, "batch": 32, "threads": args.threads, "device": args.device});
    let mut emit = |bench: &str, fields: serde_json::Value| -> std::io::Result<()> {
        let mut row = base.clone();
        row["bench"] = json!(bench);
        for (k, v) in fields.as_object().expect("object") {
            row[k] = v.clone();
        }
        out.emit(&row)
    };
    emit(
        "mcdropout_train_epoch",
        json!({"median_s": epoch_times[epoch_times.len() / 2],
        "min_s": epoch_times[0], "repeats": epoch_times.len(), "inner": 1, "final_mse": last}),
    )?;
    let net = model.valid();
    let passes = 100;
    let t = timeit(
        || {
            let _ = predict_mc(|| net.forward(xt.clone()), passes, false)
                .variance
                .into_data();
        },
        7,
        0.03,
    );
    emit(
        "mcdropout_predict_T100_loop",
        json!({"n_test": n_test, "T": passes, "median_s": t.median_s,
        "min_s": t.min_s, "repeats": t.repeats, "inner": t.inner}),
    )?;
    let t = timeit(
        || {
            let stacked = xt
                .clone()
                .unsqueeze::<3>()
                .expand([passes, n_test, d])
                .reshape([passes * n_test, d]);
            let s = net.forward(stacked).reshape([passes, n_test]);
            let mean = s.clone().mean_dim(0);
            let _ = (
                (s - mean.clone())
                    .square()
                    .sum_dim(0)
                    .div_scalar((passes - 1) as f64),
                mean,
            )
                .0
                .into_data();
        },
        7,
        0.03,
    );
    emit(
        "mcdropout_predict_T100_batched",
        json!({"n_test": n_test, "T": passes, "median_s": t.median_s,
        "min_s": t.min_s, "repeats": t.repeats, "inner": t.inner}),
    )?;
    Ok(())
}
