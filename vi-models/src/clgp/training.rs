//! Full-batch training of a [`Clgp`] and its use as an [`Imputer`].

use super::imputation::{HiddenEntry, Imputer};
use super::model::{CategoricalObservations, CategoricalPredictive, Clgp};
use crate::error::ModelError;
use crate::settings;
use burn::config::Config;
use burn::optim::GradientsParams;
use std::collections::HashMap;
use vi_blocks::gp::GpError;
use vi_blocks::gp::kernel::Kernel;
use vi_core::optim::FusedAdamConfig;

/// How a [`Clgp`] is trained.
#[derive(Config, Debug)]
pub struct ClgpTraining {
    /// Adam steps over the whole table.
    #[config(default = 1000)]
    pub iterations: usize,
    /// Adam's step size.
    #[config(default = 0.05)]
    pub learning_rate: f64,
    /// Draws of `X` and `F` per ELBO estimate.
    #[config(default = 4)]
    pub samples: usize,
}

/// Maximises the ELBO of `model` (on an autodiff device, like `data`) with Adam; the loss is
/// `−ELBO / (observed entries)`, reported to `on_iteration(iteration, loss)`.
///
/// # Errors
/// [`ModelError::Setting`] for zero iterations or samples or a learning rate that is not finite
/// and positive; [`ModelError::Gp`] from the GP layer, [`ModelError::Diverged`] naming the
/// iteration where the loss becomes non-finite.
pub fn train_clgp<K: Kernel>(
    mut model: Clgp<K>,
    data: &CategoricalObservations,
    training: &ClgpTraining,
    mut on_iteration: impl FnMut(usize, f64),
) -> Result<Clgp<K>, ModelError> {
    settings::count("iterations", training.iterations)?;
    settings::count("samples", training.samples)?;
    settings::positive("learning rate", training.learning_rate)?;
    let observed: f64 = data.mask.clone().sum().into_scalar::<f64>().max(1.0);
    let mut optim = FusedAdamConfig::new().init();
    for iteration in 0..training.iterations {
        // One device round trip: the loss's value and K_zz's factor check together.
        let (loss, value) = model.scaled_elbo(data, training.samples, -1.0 / observed)?;
        if !value.is_finite() {
            return Err(ModelError::Diverged {
                loss: value,
                epoch: iteration,
            });
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(training.learning_rate, model, grads);
        on_iteration(iteration, value);
    }
    Ok(model)
}

/// A trained [`Clgp`]'s predictive distributions at a set of hidden entries.
#[derive(Debug, Clone)]
pub struct ClgpImputer {
    predictive: CategoricalPredictive,
    row_index: HashMap<usize, usize>,
}

impl ClgpImputer {
    /// Predicts the rows of `hidden` with `samples` Monte Carlo draws.
    ///
    /// # Errors
    /// As [`Clgp::predict`].
    pub fn new<K: Kernel>(
        model: &Clgp<K>,
        hidden: &[HiddenEntry],
        samples: usize,
    ) -> Result<Self, GpError> {
        let mut rows: Vec<usize> = hidden.iter().map(|h| h.row).collect();
        rows.sort_unstable();
        rows.dedup();
        let predictive = model.predict(&rows, samples)?;
        let row_index = rows.iter().enumerate().map(|(i, &r)| (r, i)).collect();
        Ok(Self {
            predictive,
            row_index,
        })
    }

    /// The predictive distribution of `entry`'s variable in its row.
    pub fn distribution(&self, entry: &HiddenEntry) -> &[f64] {
        self.predictive
            .distribution(self.row_index[&entry.row], entry.variable)
    }
}

impl Imputer for ClgpImputer {
    fn log_probability(&self, entry: &HiddenEntry) -> f64 {
        self.distribution(entry)[entry.value]
            .max(f64::MIN_POSITIVE)
            .ln()
    }
}
