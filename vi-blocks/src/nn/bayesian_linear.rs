use super::prior::{Prior, mean_field_kl, mean_field_kl_pair};
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
/// `burn::nn::Linear`'s default layout).
///
/// Its [`BayesianLinear::kl`] is picked up by [`crate::kl::total_kl`] wherever the layer sits in
/// a model.
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
    /// Weight means `[d_input, d_output]`.
    pub weight_loc: Param<Tensor<2>>,
    /// Weight raw scales, `σ = softplus(ρ)`.
    pub weight_rho: Param<Tensor<2>>,
    /// Bias means.
    pub bias_loc: Option<Param<Tensor<1>>>,
    /// Bias raw scales.
    pub bias_rho: Option<Param<Tensor<1>>>,
    /// The prior, encoded by [`Prior::encode`] (constant: no gradient).
    pub prior: Param<Tensor<1>>,
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
        let dtype = weight_loc.dtype().into();
        BayesianLinear {
            weight_loc: Param::from_tensor(weight_loc),
            weight_rho: Param::from_tensor(Tensor::full([i, o], self.init_rho, device)),
            bias_loc: self
                .bias
                .then(|| Param::from_tensor(Tensor::random([o], uniform, device))),
            bias_rho: self
                .bias
                .then(|| Param::from_tensor(Tensor::full([o], self.init_rho, device))),
            prior: Param::from_tensor(self.prior.encode(device, dtype)).set_require_grad(false),
            estimator: self.estimator,
        }
    }
}

impl BayesianLinear {
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

    /// Weight standard deviations `softplus(ρ)`.
    pub fn weight_scale(&self) -> Tensor<2> {
        softplus(self.weight_rho.val())
    }

    /// Applies the layer to `x [.., d_input]`, giving `[.., d_output]`, with the configured
    /// estimator.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let mu = self.weight_loc.val();
        let bias_loc = || self.bias_loc.as_ref().map(Param::val);
        match self.estimator {
            LinearEstimator::Mean => linear(x, mu, bias_loc()),
            LinearEstimator::WeightSampling => {
                // The weight's noise is drawn before the bias's.
                let noise = |like: &Tensor<2>| random_like(like, Noise::Normal(0.0, 1.0));
                let weight = MeanFieldDraw {
                    noise: noise(&mu),
                    loc: mu,
                    rho: self.weight_rho.val(),
                };
                let bias = match (&self.bias_loc, &self.bias_rho) {
                    (Some(loc), Some(rho)) => Some(MeanFieldDraw {
                        noise: random_like(&loc.val(), Noise::Normal(0.0, 1.0)),
                        loc: loc.val(),
                        rho: rho.val(),
                    }),
                    _ => None,
                };
                sampled_linear(x, weight, bias).expect("the layer's parameters share their shapes")
            }
            LinearEstimator::LocalReparameterization => {
                let mean = linear(x.clone(), mu, bias_loc());
                let bias_variance = self
                    .bias_rho
                    .as_ref()
                    .map(|rho| softplus(rho.val()).square());
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
        Some(sample_parameter(
            self.bias_loc.as_ref()?.val(),
            self.bias_rho.as_ref()?.val(),
        ))
    }

    /// `KL(q(W, b) ‖ p(W, b))` summed over all weights and biases, `[1]` (closed form for a
    /// normal prior; a one-sample estimate for the scale mixture).
    pub fn kl(&self) -> Tensor<1> {
        let prior = self.prior.val();
        let weights = (self.weight_loc.val(), self.weight_rho.val());
        match (&self.bias_loc, &self.bias_rho) {
            (Some(loc), Some(rho)) => mean_field_kl_pair(weights, (loc.val(), rho.val()), prior),
            _ => mean_field_kl(weights.0, weights.1, prior),
        }
    }
}

/// `μ + softplus(ρ) ⊙ ε` with fresh standard normal `ε`, as one fused op.
fn sample_parameter<const D: usize>(loc: Tensor<D>, rho: Tensor<D>) -> Tensor<D> {
    let noise = random_like(&loc, Noise::Normal(0.0, 1.0));
    mean_field::sample(loc, rho, noise).expect("a parameter and its ρ share one shape")
}
