use super::prior::{Prior, mean_field_kl, mean_field_kl_pair};
use super::variational_param::VariationalParam;
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::module::linear;
use burn::tensor::{Device, Distribution as Noise, Tensor};
use vi_core::mean_field::{self, MeanFieldDraw, sampled_linear};
use vi_core::random::random_like;
use vi_core::special::softplus;

/// How a [`BayesianLinear`] turns its weight posterior into an output.
#[derive(Config, Debug, Copy, PartialEq)]
pub enum LinearEstimator {
    /// Sample `W = μ + σ ⊙ ε` once per forward pass, shared by the batch (Blundell et al. 2015).
    WeightSampling,
    /// Sample the pre-activations instead: `y ~ N(xμ + μ_b, x²σ² + σ_b²)` independently per
    /// example (Kingma, Salimans & Welling 2015): the same marginal per example, lower-variance
    /// gradients, no weight sample.
    LocalReparameterization,
    /// One `ΔW = σ ⊙ ε` per pass, decorrelated across examples with random signs:
    /// `y = xμ + ((x ⊙ s_in) ΔW) ⊙ s_out + b` (Wen et al. 2018).
    Flipout,
    /// The posterior mean, deterministic.
    Mean,
}

/// Configuration of a [`BayesianLinear`].
#[derive(Config, Debug)]
pub struct BayesianLinearConfig {
    /// Input features.
    pub d_input: usize,
    /// Output features.
    pub d_output: usize,
    /// Whether the layer has a (Bayesian) bias.
    #[config(default = true)]
    pub bias: bool,
    /// Prior of every weight and bias.
    #[config(default = "Prior::Normal { scale: 1.0 }")]
    pub prior: Prior,
    /// The output estimator.
    #[config(default = "LinearEstimator::LocalReparameterization")]
    pub estimator: LinearEstimator,
    /// Initial `ρ`: `σ = softplus(−5) ≈ 6.7e-3`, small next to the `1/√d_in` spread of the
    /// means, so training starts close to a deterministic network (Blundell et al.).
    #[config(default = -5.0)]
    pub init_rho: f64,
}

/// A linear layer with a mean-field Gaussian posterior over its weights and bias:
/// `W ~ N(μ_W, softplus(ρ_W)²)`, `y = x W + b` (weights stored `[d_input, d_output]` as
/// `burn::nn::Linear`'s default layout). Each weight carries a [`VariationalParam`] (its `ρ` and
/// prior), so [`crate::kl::total_kl`] counts the layer wherever it sits in a model.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::nn::{BayesianLinearConfig, LinearEstimator};
/// let device = Device::default();
/// let layer = BayesianLinearConfig::new(4, 2)
///     .with_estimator(LinearEstimator::Flipout)
///     .init(&device);
/// let y = layer.forward(Tensor::<2>::ones([8, 4], &device)); // [8, 2], stochastic
/// let kl: f32 = layer.kl().into_scalar();                    // KL to N(0, 1), > 0
/// assert_eq!(y.dims(), [8, 2]);
/// assert!(y.is_finite().all().into_scalar::<bool>() && kl > 0.0);
/// ```
#[derive(Module, Debug)]
pub struct BayesianLinear {
    /// Weights `[d_input, d_output]`: the base is `μ_W`, the [`VariationalParam`] holds `ρ_W`.
    weight: Param<Tensor<2>>,
    /// Bias `[d_output]`, as the weights.
    bias: Option<Param<Tensor<1>>>,
    /// The output estimator (configuration: not saved in records).
    #[module(skip)]
    pub estimator: LinearEstimator,
}

impl BayesianLinearConfig {
    /// Means as `burn::nn::Linear`'s default initialiser (uniform in `±1/√d_input`), `ρ =
    /// init_rho`.
    pub fn init(&self, device: &Device) -> BayesianLinear {
        let bound = 1.0 / (self.d_input as f64).sqrt();
        let uniform = Noise::Uniform(-bound, bound);
        let (i, o) = (self.d_input, self.d_output);
        let weight_loc = Tensor::<2>::random([i, o], uniform, device);
        let weight_rho = Tensor::full([i, o], self.init_rho, device);
        let bias = self.bias.then(|| {
            (
                Tensor::random([o], uniform, device),
                Tensor::full([o], self.init_rho, device),
            )
        });
        BayesianLinear::new((weight_loc, weight_rho), bias, self.prior, self.estimator)
    }
}

impl BayesianLinear {
    /// The layer with posterior means and raw scales `(μ_W, ρ_W)` `[d_input, d_output]`, an
    /// optional bias `(μ_b, ρ_b)` `[d_output]`, and one prior for all of them.
    ///
    /// # Panics
    /// When a mean and its `ρ` differ in shape.
    pub fn new(
        weight: (Tensor<2>, Tensor<2>),
        bias: Option<(Tensor<1>, Tensor<1>)>,
        prior: Prior,
        estimator: LinearEstimator,
    ) -> Self {
        let param = Param::from_tensor;
        Self::from_params(
            (param(weight.0), param(weight.1)),
            bias.map(|(loc, rho)| (Param::from_tensor(loc), Param::from_tensor(rho))),
            prior,
            estimator,
        )
    }

    /// As [`BayesianLinear::new`] from parameters as they are (ids and tracking kept).
    ///
    /// # Panics
    /// When a mean and its `ρ` differ in shape.
    #[allow(clippy::type_complexity)]
    pub fn from_params(
        weight: (Param<Tensor<2>>, Param<Tensor<2>>),
        bias: Option<(Param<Tensor<1>>, Param<Tensor<1>>)>,
        prior: Prior,
        estimator: LinearEstimator,
    ) -> Self {
        BayesianLinear {
            weight: VariationalParam::attach_params(weight.0, weight.1, prior),
            bias: bias.map(|(loc, rho)| VariationalParam::attach_params(loc, rho, prior)),
            estimator,
        }
    }

    /// The same layer with another estimator (e.g. [`LinearEstimator::Mean`] for a
    /// deterministic prediction).
    pub fn with_estimator(mut self, estimator: LinearEstimator) -> Self {
        self.estimator = estimator;
        self
    }

    /// The estimator in use.
    pub fn estimator(&self) -> LinearEstimator {
        self.estimator
    }

    /// The weights' parameter (reading it draws a sample; its base is `μ_W`).
    pub fn weight(&self) -> &Param<Tensor<2>> {
        &self.weight
    }

    /// The bias's parameter, if any.
    pub fn bias(&self) -> Option<&Param<Tensor<1>>> {
        self.bias.as_ref()
    }

    /// The prior of every weight and bias.
    pub fn prior(&self) -> Prior {
        variational(&self.weight).prior
    }

    /// Weight means `μ_W`, `[d_input, d_output]`.
    pub fn weight_loc(&self) -> Tensor<2> {
        self.weight.base()
    }

    /// Weight raw scales `ρ_W`, `[d_input, d_output]`.
    pub fn weight_rho(&self) -> Tensor<2> {
        variational(&self.weight).rho(self.weight.lazy_shape())
    }

    /// Bias means `μ_b`, `[d_output]`.
    pub fn bias_loc(&self) -> Option<Tensor<1>> {
        self.bias.as_ref().map(Param::base)
    }

    /// Bias raw scales `ρ_b`, `[d_output]`.
    pub fn bias_rho(&self) -> Option<Tensor<1>> {
        let bias = self.bias.as_ref()?;
        Some(variational(bias).rho(bias.lazy_shape()))
    }

    /// Weight standard deviations `softplus(ρ)`.
    pub fn weight_scale(&self) -> Tensor<2> {
        softplus(self.weight_rho())
    }

    /// Applies the layer to `x [.., d_input]`, giving `[.., d_output]`, with the configured
    /// estimator.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let mu = self.weight_loc();
        let bias_loc = || self.bias_loc();
        match self.estimator {
            LinearEstimator::Mean => linear(x, mu, bias_loc()),
            LinearEstimator::WeightSampling => {
                // The weight's noise is drawn before the bias's.
                let noise = |like: &Tensor<2>| random_like(like, Noise::Normal(0.0, 1.0));
                let weight = MeanFieldDraw {
                    noise: noise(&mu),
                    loc: mu,
                    rho: self.weight_rho(),
                };
                let bias = match (self.bias_loc(), self.bias_rho()) {
                    (Some(loc), Some(rho)) => Some(MeanFieldDraw {
                        noise: random_like(&loc, Noise::Normal(0.0, 1.0)),
                        loc,
                        rho,
                    }),
                    _ => None,
                };
                sampled_linear(x, weight, bias).expect("the layer's parameters share their shapes")
            }
            LinearEstimator::LocalReparameterization => {
                let mean = linear(x.clone(), mu, bias_loc());
                let bias_variance = self.bias_rho().map(|rho| softplus(rho).square());
                let variance = linear(x.square(), self.weight_scale().square(), bias_variance);
                let eps = random_like(&mean, Noise::Normal(0.0, 1.0));
                mean + variance.sqrt() * eps
            }
            LinearEstimator::Flipout => {
                let sigma = self.weight_scale();
                let delta = sigma.clone() * random_like(&sigma, Noise::Normal(0.0, 1.0));
                let signs = |like: &Tensor<D>| {
                    random_like(like, Noise::Bernoulli(0.5))
                        .mul_scalar(2.0)
                        .sub_scalar(1.0)
                };
                let sign_in = signs(&x);
                let mean = linear(x.clone(), mu, self.sampled_bias());
                let sign_out = signs(&mean);
                mean + linear(x * sign_in, delta, None) * sign_out
            }
        }
    }

    /// One bias sample `μ_b + σ_b ε`, shared by the batch.
    fn sampled_bias(&self) -> Option<Tensor<1>> {
        Some(sample_parameter(self.bias_loc()?, self.bias_rho()?))
    }

    /// `KL(q(W, b) ‖ p(W, b))` summed over all weights and biases, `[1]` (closed form for a
    /// normal prior; a one-sample estimate for the scale mixture).
    pub fn kl(&self) -> Tensor<1> {
        let prior = variational(&self.weight).encoded_prior.val();
        let weights = (self.weight_loc(), self.weight_rho());
        match (self.bias_loc(), self.bias_rho()) {
            (Some(loc), Some(rho)) => mean_field_kl_pair(weights, (loc, rho), prior),
            _ => mean_field_kl(weights.0, weights.1, prior),
        }
    }
}

/// The [`VariationalParam`] every weight of a [`BayesianLinear`] carries by construction.
fn variational<const D: usize>(weight: &Param<Tensor<D>>) -> &VariationalParam {
    VariationalParam::of(weight).expect("a BayesianLinear's weights carry their VariationalParam")
}

/// `μ + softplus(ρ) ⊙ ε` with fresh standard normal `ε`, as one fused op.
fn sample_parameter<const D: usize>(loc: Tensor<D>, rho: Tensor<D>) -> Tensor<D> {
    let noise = random_like(&loc, Noise::Normal(0.0, 1.0));
    mean_field::sample(loc, rho, noise).expect("a parameter and its ρ share one shape")
}
