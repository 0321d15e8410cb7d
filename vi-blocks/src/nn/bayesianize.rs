//! Turn an ordinary Burn model into a Bayesian one (like bayesian-torch's `dnn_to_bnn`), through
//! Burn's parameter reparameterization: every selected weight `w` keeps its stored value as the
//! posterior mean and gains a trainable `ρ`, and each read of the parameter (`Param::val`, hence
//! every forward pass of `burn::nn::Linear`, `Conv2d`, …) returns a fresh sample
//! `w + softplus(ρ) ⊙ ε`. The model's code does not change. Each selected weight carries a
//! [`VariationalParam`], the type [`crate::kl::total_kl`] finds.

use super::prior::Prior;
use super::variational_param::{Attach, RawScale, VariationalParam};
use burn::config::Config;
use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{FloatDType, Tensor, TensorData};
use vi_core::special::inverse_softplus_f64;

/// Options of [`bayesianize`].
#[derive(Config, Debug)]
pub struct BayesianizeConfig {
    /// Prior of every weight.
    #[config(default = "Prior::Normal { scale: 1.0 }")]
    pub prior: Prior,
    /// Initial `ρ` when `moped_delta` is not set (`σ = softplus(−5) ≈ 6.7e-3`).
    #[config(default = -5.0)]
    pub init_rho: f64,
    /// MOPED (Krishnan, Subedar & Tickoo 2020): with trained weights, start each `σ` at
    /// `δ·|w|` (they use `δ = 0.1`) instead of `softplus(init_rho)`.
    #[config(default = "None")]
    pub moped_delta: Option<f64>,
    /// Only parameters whose path (e.g. `encoder.weight`) contains one of these strings; all
    /// float parameters when empty.
    #[config(default = "Vec::new()")]
    pub include: Vec<String>,
}

/// Attaches a [`VariationalParam`] to every selected float parameter. Parameters inside a
/// reparameterization (e.g. a [`super::BayesianLinear`]'s `ρ`) are never selected, and a weight
/// that already carries one keeps it (Burn restores a parameter's own reparameterization after
/// mapping its base).
struct Bayesianizer<'a> {
    config: &'a BayesianizeConfig,
    path: Vec<String>,
    /// How many reparameterizations the walk is inside.
    reparameterizations: usize,
}

/// The container type Burn gives a parameter's reparameterization when it walks into it.
const REPARAMETERIZATION: &str = "Reparameterization";

impl ModuleMapper for Bayesianizer<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.push(name.to_string());
        if container_type == REPARAMETERIZATION {
            self.reparameterizations += 1;
        }
    }

    fn exit_module(&mut self, _name: &str, container_type: &str) {
        self.path.pop();
        if container_type == REPARAMETERIZATION {
            self.reparameterizations -= 1;
        }
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let path = self.path.join(".");
        let selected = self.config.include.is_empty()
            || self
                .config
                .include
                .iter()
                .any(|p| path.contains(p.as_str()));
        if !selected || self.reparameterizations > 0 {
            return param;
        }
        let base = param.val();
        let rho = RawScale::new(self.initial_rho(&base));
        let variational = VariationalParam::new(rho, self.config.prior, &base);
        param.apply_reparameterization(Attach(Some(variational)))
    }
}

impl Bayesianizer<'_> {
    /// `ρ` for a weight `w`: `softplus⁻¹(δ|w|)` with MOPED (computed once, on the host, in f64,
    /// floored so zero weights still get a small positive σ), else `init_rho`.
    fn initial_rho<const D: usize>(&self, base: &Tensor<D>) -> Tensor<D> {
        let base = base.clone().detach();
        let Some(delta) = self.config.moped_delta else {
            return base.full_like(self.config.init_rho);
        };
        let dtype = FloatDType::from(base.dtype());
        let (device, shape) = (base.device(), base.shape());
        let weights: Vec<f64> = base
            .into_data()
            .convert::<f64>()
            .try_into_vec::<f64>()
            .expect("float weights");
        let rho: Vec<f64> = weights
            .into_iter()
            .map(|w| inverse_softplus_f64((delta * w.abs()).max(1e-6)))
            .collect();
        Tensor::from_data(TensorData::new(rho, shape), (&device, dtype.into()))
    }
}

/// The same model with a mean-field Gaussian posterior on its (selected) float parameters, the
/// current values becoming the posterior means.
///
/// # Example
/// ```
/// use burn::module::Module;
/// use burn::nn::{Linear, LinearConfig};
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::kl::total_kl;
/// use vi_blocks::nn::{BayesianizeConfig, bayesianize};
///
/// #[derive(Module, Debug)]
/// struct Mlp { hidden: Linear, out: Linear }
///
/// let device = Device::default();
/// let trained = Mlp { hidden: LinearConfig::new(2, 8).init(&device), out: LinearConfig::new(8, 1).init(&device) };
/// let bnn = bayesianize(trained, &BayesianizeConfig::new().with_moped_delta(Some(0.1)));
/// let x = Tensor::<2>::ones([4, 2], &device);
/// let (a, b) = (bnn.out.forward(bnn.hidden.forward(x.clone())), bnn.out.forward(bnn.hidden.forward(x)));
/// assert!(!a.equal(b).all().into_scalar::<bool>());        // every pass samples new weights
/// assert!(total_kl(&bnn).unwrap().into_scalar::<f32>() > 0.0);
/// ```
pub fn bayesianize<M: Module>(model: M, config: &BayesianizeConfig) -> M {
    model.map(&mut Bayesianizer {
        config,
        path: Vec::new(),
        reparameterizations: 0,
    })
}
