//! Turn an ordinary Burn model into a Bayesian one (like bayesian-torch's `dnn_to_bnn`), through
//! Burn's parameter reparameterization: every selected weight `w` keeps its stored value as the
//! posterior mean and gains a trainable `ρ`, and each read of the parameter (`Param::val`, hence
//! every forward pass of `burn::nn::Linear`, `Conv2d`, …) returns a fresh sample
//! `w + softplus(ρ) ⊙ ε`. The model's code does not change.

use super::prior::Prior;
use burn::config::Config;
use burn::module::{Module, Param, Reparameterization, Reparameterizer};
use burn::tensor::{Distribution as Noise, FloatDType, Tensor, TensorData};
use vi_core::random::random_like;
use vi_core::special::inverse_softplus_f64;
use vi_core::special::softplus;

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

/// The reparameterization attached to a weight: `w ↦ w + softplus(ρ) ⊙ ε`.
///
/// Its fields follow the crate's KL naming convention (the base weight is the `loc`), so
/// [`crate::kl::total_kl`] counts it.
#[derive(Module, Debug)]
pub struct MeanFieldWeight {
    /// Raw scales, flattened.
    pub rho: Param<Tensor<1>>,
    /// The prior, [`Prior::encode`]d (constant).
    pub prior: Param<Tensor<1>>,
}

impl Reparameterization for MeanFieldWeight {
    const NAME: &'static str = "mean_field";

    fn apply<const D: usize>(&self, base: Tensor<D>) -> Tensor<D> {
        let sigma = softplus(self.rho.val()).reshape(base.shape());
        let eps = random_like(&base, Noise::Normal(0.0, 1.0));
        base + sigma * eps
    }
}

struct Bayesianizer<'a> {
    config: &'a BayesianizeConfig,
}

impl Reparameterizer for Bayesianizer<'_> {
    type Reparam = MeanFieldWeight;

    fn reparameterize<const D: usize>(
        &mut self,
        path: &str,
        param: Param<Tensor<D>>,
    ) -> (Param<Tensor<D>>, Option<MeanFieldWeight>) {
        let selected = self.config.include.is_empty()
            || self
                .config
                .include
                .iter()
                .any(|p| path.contains(p.as_str()));
        // Already-variational parameters (a BayesianLinear's ρ and prior) are left alone.
        let variational =
            path.ends_with("prior") || path.ends_with("rho") || path.ends_with("_loc");
        if !selected || variational {
            return (param, None);
        }
        let base = param.val();
        let dtype = FloatDType::from(base.dtype());
        let device = base.device();
        let flat = base.detach().reshape([-1]);
        let rho = match self.config.moped_delta {
            // ρ = softplus⁻¹(δ|w|) (computed once, on the host, in f64), floored so zero weights
            // still get a small positive σ.
            Some(delta) => {
                let weights: Vec<f64> = flat
                    .into_data()
                    .convert::<f64>()
                    .try_into_vec::<f64>()
                    .expect("float weights");
                let n = weights.len();
                let rho: Vec<f64> = weights
                    .into_iter()
                    .map(|w| inverse_softplus_f64((delta * w.abs()).max(1e-6)))
                    .collect();
                Tensor::from_data(TensorData::new(rho, [n]), (&device, dtype.into()))
            }
            None => flat.full_like(self.config.init_rho),
        };
        let reparameterization = MeanFieldWeight {
            rho: Param::from_tensor(rho),
            prior: Param::from_tensor(self.config.prior.encode(&device, dtype))
                .set_require_grad(false),
        };
        (param, Some(reparameterization))
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
    model.apply_reparameterization(Bayesianizer { config })
}
