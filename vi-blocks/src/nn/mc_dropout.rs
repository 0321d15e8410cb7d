use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Distribution as Noise, Tensor};
use vi_core::random::random_like;

/// Configuration of [`McDropout`].
#[derive(Config, Debug)]
pub struct McDropoutConfig {
    /// Probability of zeroing an element.
    pub prob: f64,
}

/// Dropout that is always on — in training *and* at prediction — so repeated forward passes
/// sample from the approximate posterior of Gal & Ghahramani (2016). (Burn's `Dropout` is the
/// identity outside autodiff training.) Kept elements are scaled by `1/(1 − p)`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::nn::McDropoutConfig;
/// let device = Device::default(); // no autodiff: still stochastic
/// let dropout = McDropoutConfig::new(0.5).init();
/// let y = dropout.forward(Tensor::<2>::ones([1, 1000], &device));
/// let zeros = y.equal_elem(0.0).int().sum().into_scalar::<i64>();
/// assert!(zeros > 300 && zeros < 700);
/// ```
#[derive(Module, Debug)]
pub struct McDropout {
    /// Probability of zeroing an element.
    pub prob: f64,
}

impl McDropoutConfig {
    /// The layer.
    ///
    /// # Panics
    /// When `prob` is not in `[0, 1)`.
    pub fn init(&self) -> McDropout {
        assert!(
            (0.0..1.0).contains(&self.prob),
            "McDropout: prob {} is not in [0, 1)",
            self.prob
        );
        McDropout { prob: self.prob }
    }
}

impl McDropout {
    /// `x ⊙ m / (1 − p)`, `m ~ Bernoulli(1 − p)` elementwise, whatever the device or mode.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        if self.prob == 0.0 {
            return x;
        }
        let keep = 1.0 - self.prob;
        let mask = random_like(&x, Noise::Bernoulli(keep));
        x * mask / keep
    }
}
