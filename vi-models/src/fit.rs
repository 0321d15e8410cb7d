//! The built-in fit loop: minibatch Adam over reshuffled rows, which every regressor's and
//! classifier's `fit` runs (the burn-train integration, `Learner` and `TrainStep`, is
//! [`crate::learner`] under the feature `train`).

use crate::data::{StandardizedTable, permutation};
use crate::error::ModelError;
use crate::settings;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use vi_core::optim::FusedAdamConfig;

/// How long and how fast to train: the optimisation settings of a fit config.
pub(crate) struct Schedule {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Seed of the shuffling.
    pub seed: u64,
}

impl Schedule {
    /// The schedule, its settings checked.
    ///
    /// # Errors
    /// [`ModelError::Setting`] for zero epochs or batch size, or a learning rate that is not
    /// finite and positive.
    pub fn new(
        epochs: usize,
        batch_size: usize,
        learning_rate: f64,
        seed: u64,
    ) -> Result<Self, ModelError> {
        settings::count("epochs", epochs)?;
        settings::count("batch size", batch_size)?;
        settings::positive("learning rate", learning_rate)?;
        Ok(Self {
            epochs,
            batch_size,
            learning_rate,
            seed,
        })
    }
}

/// Trains `model` with Adam on reshuffled minibatches of `data` (on the autodiff device `ad`):
/// `loss(model, x, y)` is the batch loss, summed on the device, and `on_epoch(epoch, mean loss)`
/// is called after each epoch.
///
/// # Errors
/// The loss function's errors, and [`ModelError::Diverged`] naming the epoch when the mean loss
/// becomes non-finite.
pub(crate) fn fit_minibatches<M: Module>(
    model: M,
    data: &StandardizedTable,
    ad: &Device,
    schedule: &Schedule,
    loss: impl Fn(&M, Tensor<2>, Tensor<2>) -> Result<Tensor<1>, ModelError>,
    on_epoch: impl FnMut(usize, f64),
) -> Result<M, ModelError> {
    fit_batches(
        model,
        data.table.len(),
        schedule,
        |index| data.batch(index, ad),
        |model, (x, y)| loss(model, x, y),
        on_epoch,
    )
}

/// Trains `model` with Adam over `n` rows in reshuffled minibatches: `batch(rows)` builds a
/// batch, `loss(model, batch)` its loss, summed on the device and read back once per epoch;
/// `on_epoch(epoch, mean loss)` after each epoch.
///
/// # Errors
/// The loss function's errors, and [`ModelError::Diverged`] naming the epoch when the mean loss
/// becomes non-finite.
pub(crate) fn fit_batches<M: Module, B>(
    mut model: M,
    n: usize,
    schedule: &Schedule,
    batch: impl Fn(&[usize]) -> B,
    loss: impl Fn(&M, B) -> Result<Tensor<1>, ModelError>,
    mut on_epoch: impl FnMut(usize, f64),
) -> Result<M, ModelError> {
    if n == 0 {
        return Err(ModelError::NoRows("training rows"));
    }
    let size = schedule.batch_size.max(1);
    let mut optim = FusedAdamConfig::new().init();
    let mut state = schedule.seed;
    for epoch in 0..schedule.epochs {
        // Summed on the device and read once per epoch: a step waits for no device round trip.
        let mut total: Option<Tensor<1>> = None;
        for index in permutation(n, &mut state).chunks(size) {
            let value = loss(&model, batch(index))?;
            let detached = value.clone().detach();
            total = Some(match total {
                Some(sum) => sum + detached,
                None => detached,
            });
            let grads = GradientsParams::from_grads(value.backward(), &model);
            model = optim.step(schedule.learning_rate, model, grads);
        }
        let total = total.map_or(f64::NAN, |sum| sum.into_scalar::<f64>());
        let mean = total / n.div_ceil(size) as f64;
        if !mean.is_finite() {
            return Err(ModelError::Diverged { loss: mean, epoch });
        }
        on_epoch(epoch, mean);
    }
    Ok(model)
}
