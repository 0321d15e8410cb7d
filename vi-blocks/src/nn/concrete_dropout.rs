use crate::kl::{module_found_by_type, offer_regularizer};
use burn::config::Config;
use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Distribution as Noise, FloatDType, Tensor, TensorData};
use vi_core::random::random_like;
use vi_core::special::{log_sigmoid, sigmoid};

/// Configuration of a [`ConcreteLinear`].
#[derive(Config, Debug)]
pub struct ConcreteLinearConfig {
    /// Input features.
    pub d_input: usize,
    /// Output features.
    pub d_output: usize,
    /// `l² / N` (prior length-scale `l`, data size `N`): weight of `‖W‖² / (1 − p)`.
    pub weight_regularizer: f64,
    /// `2 / (τ N)` (model precision `τ`): weight of the dropout entropy term.
    pub dropout_regularizer: f64,
    /// Initial dropout probability.
    #[config(default = 0.1)]
    pub init_prob: f64,
    /// Temperature `t` of the concrete relaxation.
    #[config(default = 0.1)]
    pub temperature: f64,
}

/// Concrete dropout (Gal, Hron & Kendall 2017) in front of a linear layer: the dropout
/// probability `p = σ(p_logit)` is learned through the relaxed mask
/// `z = σ((ln p − ln(1 − p) + ln u − ln(1 − u)) / t)`, `y = Linear(x ⊙ (1 − z) / (1 − p))`,
/// with the regulariser
/// `R = weight_regularizer · ‖W‖² / (1 − p) + dropout_regularizer · d_input · (p ln p + (1 − p) ln(1 − p))`
/// (found by its type by [`crate::kl::total_regularizer`]). Like [`super::McDropout`], the mask stays on at
/// prediction time.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::nn::ConcreteLinearConfig;
/// let device = Device::default();
/// let layer = ConcreteLinearConfig::new(4, 2, 1e-4, 1e-3).init(&device);
/// let y = layer.forward(Tensor::<2>::ones([3, 4], &device));
/// let p: f32 = layer.dropout_probability().into_scalar();
/// assert!((p - 0.1).abs() < 1e-5 && y.dims() == [3, 2]);
/// assert!(layer.regularizer().into_scalar::<f32>().is_finite());
/// ```
#[derive(Debug, Clone)]
pub struct ConcreteLinear {
    /// The wrapped layer.
    pub linear: Linear,
    /// Logit of the dropout probability.
    pub p_logit: Param<Tensor<1>>,
    /// `[weight_regularizer, dropout_regularizer]` (constant).
    pub concrete_regularization: Param<Tensor<1>>,
    /// Temperature of the relaxation.
    pub temperature: f64,
}

module_found_by_type!(ConcreteLinear { linear, p_logit, concrete_regularization } skip { temperature } offer(this) {
    offer_regularizer(|| this.regularizer());
});

impl ConcreteLinearConfig {
    /// The layer (its `Linear` initialised as `burn::nn::LinearConfig`'s default).
    pub fn init(&self, device: &Device) -> ConcreteLinear {
        let linear = LinearConfig::new(self.d_input, self.d_output).init(device);
        let dtype = FloatDType::from(linear.weight.val().dtype());
        let logit = (self.init_prob / (1.0 - self.init_prob)).ln();
        let constants =
            TensorData::new(vec![self.weight_regularizer, self.dropout_regularizer], [2]);
        ConcreteLinear {
            linear,
            p_logit: Param::from_tensor(Tensor::from_data(
                TensorData::new(vec![logit], [1]),
                (device, dtype.into()),
            )),
            concrete_regularization: Param::from_tensor(Tensor::from_data(
                constants,
                (device, dtype.into()),
            ))
            .set_require_grad(false),
            temperature: self.temperature,
        }
    }
}

impl ConcreteLinear {
    /// The learned dropout probability `p`, `[1]`.
    pub fn dropout_probability(&self) -> Tensor<1> {
        sigmoid(self.p_logit.val())
    }

    /// Relaxed dropout, then the linear layer: `[.., d_input]` → `[.., d_output]`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let logit = self.p_logit.val();
        let shape = [1; D];
        let (log_p, log_keep) = (
            log_sigmoid(logit.clone()).reshape(shape),
            log_sigmoid(logit.neg()).reshape(shape),
        );
        let u = random_like(&x, Noise::Uniform(1e-7, 1.0 - 1e-7));
        let noise_logit = u.clone().log() - u.neg().add_scalar(1.0).log();
        let drop =
            sigmoid((log_p - log_keep.clone() + noise_logit).mul_scalar(1.0 / self.temperature));
        let kept = x * drop.neg().add_scalar(1.0) / log_keep.exp();
        self.linear.forward(kept)
    }

    /// The regulariser `R` of this layer, `[1]`.
    pub fn regularizer(&self) -> Tensor<1> {
        concrete_regularizer(
            self.p_logit.val(),
            self.linear.weight.val().reshape([-1]),
            self.linear.bias.as_ref().map(|b| b.val()),
            self.concrete_regularization.val(),
            self.linear.weight.val().dims()[0],
        )
    }
}

/// `weight_reg · ‖W‖²/(1 − p) + dropout_reg · d_input · (p ln p + (1 − p) ln(1 − p))`, with the bias
/// counted in `‖W‖²` as in Gal's reference implementation.
pub(crate) fn concrete_regularizer(
    p_logit: Tensor<1>,
    weight: Tensor<1>,
    bias: Option<Tensor<1>>,
    constants: Tensor<1>,
    d_input: usize,
) -> Tensor<1> {
    let constants = constants.detach().cast(p_logit.dtype());
    let (weight_reg, dropout_reg) = (constants.clone().narrow(0, 0, 1), constants.narrow(0, 1, 1));
    let (log_p, log_keep) = (log_sigmoid(p_logit.clone()), log_sigmoid(p_logit.neg()));
    let mut square_norm = weight.square().sum();
    if let Some(bias) = bias {
        square_norm = square_norm + bias.square().sum();
    }
    let weight_term = weight_reg * square_norm / log_keep.clone().exp();
    let entropy = log_p.clone().exp() * log_p + log_keep.clone().exp() * log_keep;
    weight_term + dropout_reg * entropy.mul_scalar(d_input as f64)
}
