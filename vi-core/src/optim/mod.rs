//! Fused optimizers: Burn's [`burn::optim::Optimizer`] trait, with the whole per-parameter update
//! as one backend op ([`backend::OptimBackend`]).
//!
//! Small models (Bayesian layers of a few thousand weights, SVGP hyperparameters) spend much of
//! a step in the optimizer's bookkeeping: Burn's `Adam` issues about a dozen elementwise ops per
//! parameter tensor. [`FusedAdam`] computes the same update in one op (one pass over the buffers,
//! in place, on the CPU backends), keeps Burn's [`AdamState`] as its state (so optimizer records
//! are interchangeable with Burn's `Adam`) and plugs into [`ModuleOptimizer`] like any Burn
//! optimizer: gradient clipping, parameter groups and learning-rate schedulers work unchanged.

use backend::{AdamScalars, OptimBackend};
use burn::backend::Dispatch;
use burn::config::Config;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer};
use burn::tensor::{Device, Tensor};

pub mod backend;

/// Configuration of [`FusedAdam`]: the fields and defaults of Burn's `AdamConfig` (without
/// AMSGrad; use Burn's `Adam` for it).
#[derive(Config, Debug)]
pub struct FusedAdamConfig {
    /// `β₁`, the decay of the first moment.
    #[config(default = 0.9)]
    pub beta_1: f32,
    /// `β₂`, the decay of the second moment.
    #[config(default = 0.999)]
    pub beta_2: f32,
    /// `ε`, added to `√v̂`.
    #[config(default = 1e-5)]
    pub epsilon: f32,
    /// L2 penalty `λ` added to each gradient as `g + λθ` (Burn's `WeightDecayConfig`).
    pub weight_decay: Option<f32>,
    /// Gradient clipping, applied by [`ModuleOptimizer`] before the update.
    pub grad_clipping: Option<GradientClippingConfig>,
}

/// Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization") with each parameter's
/// update fused into one op: `g ← g + λθ`, `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
/// `θ ← θ − lr · m̂ / (√v̂ + ε)` with bias-corrected `m̂`, `v̂` — the same numbers as Burn's `Adam`
/// with the same configuration.
///
/// # Example
/// ```
/// use burn::module::{Module, Param};
/// use burn::optim::{GradientsParams, Optimizer};
/// use burn::tensor::{Device, Tensor};
/// use vi_core::optim::FusedAdamConfig;
///
/// #[derive(Module, Debug)]
/// struct Quadratic {
///     x: Param<Tensor<1>>,
/// }
///
/// let device = Device::default().autodiff();
/// let mut model = Quadratic { x: Param::from_tensor(Tensor::from_data([3.0, -2.0], &device)) };
/// let mut optim = FusedAdamConfig::new().init();
/// for _ in 0..300 {
///     let loss = model.x.val().square().sum();
///     let grads = GradientsParams::from_grads(loss.backward(), &model);
///     model = optim.step(0.1, model, grads);
/// }
/// let x: Vec<f32> = model.x.val().into_data().to_vec().unwrap();
/// assert!(x.iter().all(|v| v.abs() < 0.05));
/// ```
#[derive(Debug, Clone)]
pub struct FusedAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    weight_decay: f32,
}

impl FusedAdamConfig {
    /// The bare optimizer, for [`ModuleOptimizer::with_group`].
    pub fn build(&self) -> FusedAdam {
        FusedAdam {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            weight_decay: self.weight_decay.unwrap_or(0.0),
        }
    }

    /// A whole-module optimizer, with the configured gradient clipping.
    pub fn init(&self) -> ModuleOptimizer {
        let mut optim = ModuleOptimizer::from(self.build());
        if let Some(config) = &self.grad_clipping {
            optim = optim.with_grad_clipping(config.init());
        }
        optim
    }
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (time, moment_1, moment_2) = match state {
            Some(AdamState { momentum }) => {
                (momentum.time + 1, momentum.moment_1, momentum.moment_2)
            }
            None => (1, grad.zeros_like(), grad.zeros_like()),
        };
        let scalars = AdamScalars::new(
            self.beta_1,
            self.beta_2,
            self.epsilon,
            self.weight_decay,
            lr,
            time,
        );
        let (param, moment_1, moment_2) = <Dispatch as OptimBackend>::adam_step(
            tensor.into_dispatch(),
            grad.into_dispatch(),
            moment_1.into_dispatch(),
            moment_2.into_dispatch(),
            scalars,
        );
        let momentum = AdaptiveMomentumState {
            time,
            moment_1: Tensor::from_dispatch(moment_1),
            moment_2: Tensor::from_dispatch(moment_2),
            max_moment_2: None,
        };
        (Tensor::from_dispatch(param), Some(AdamState { momentum }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamState {
            momentum: state.momentum.to_device(device),
        }
    }
}
