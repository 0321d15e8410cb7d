//! The minibatch Adam loop every regressor trains with.

use crate::data::{StandardizedTable, permutation};
use crate::svgp_regressor::ModelError;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor};

/// How long and how fast to train.
pub(crate) struct Schedule {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Seed of the shuffling.
    pub seed: u64,
}

/// Trains `model` with Adam on reshuffled minibatches of `data` (on the autodiff device `ad`):
/// `loss(model, x, y)` is the batch loss; its value is read back every step, and
/// `on_epoch(epoch, mean loss)` is called after each epoch.
///
/// # Errors
/// The loss function's errors, and [`ModelError::Data`] naming the epoch when the mean loss
/// becomes non-finite.
pub(crate) fn train_minibatches<M: Module>(
    mut model: M,
    data: &StandardizedTable,
    ad: &Device,
    schedule: &Schedule,
    loss: impl Fn(&M, Tensor<2>, Tensor<2>) -> Result<Tensor<1>, ModelError>,
    mut on_epoch: impl FnMut(usize, f64),
) -> Result<M, ModelError> {
    let n = data.table.len();
    let batch = schedule.batch_size.max(1);
    let mut optim = AdamConfig::new().init();
    let mut state = schedule.seed;
    for epoch in 0..schedule.epochs {
        let mut total = 0.0;
        for index in permutation(n, &mut state).chunks(batch) {
            let (xb, yb) = data.batch(index, ad);
            let value = loss(&model, xb, yb)?;
            total += value.clone().into_scalar::<f64>();
            let grads = GradientsParams::from_grads(value.backward(), &model);
            model = optim.step(schedule.learning_rate, model, grads);
        }
        let mean = total / n.div_ceil(batch) as f64;
        if !mean.is_finite() {
            return Err(ModelError::Data(format!(
                "the loss became {mean} in epoch {epoch}"
            )));
        }
        on_epoch(epoch, mean);
    }
    Ok(model)
}
