//! Prior mean functions `m(x)` of a GP layer, one per output.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Which prior mean a GP layer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MeanKind {
    /// `m(x) = 0`.
    Zero,
    /// `m(x) = c` (learned; GPyTorch's `ConstantMean`).
    Constant,
    /// `m(x) = xᵀ w + c` (learned; initialised to the identity on the first `min(d, P)` inputs,
    /// the hidden-layer mean of Salimbeni & Deisenroth 2017).
    Linear,
}

/// Configuration of a [`MeanFunction`].
#[derive(Config, Debug)]
pub struct MeanConfig {
    /// Input dimension `d`.
    pub input_dim: usize,
    /// Number of outputs `P`.
    pub outputs: usize,
    /// The form of the mean.
    #[config(default = "MeanKind::Constant")]
    pub kind: MeanKind,
}

/// `m_p(x) = x·w_p + c_p` with `w` present only for [`MeanKind::Linear`] and `c` absent for
/// [`MeanKind::Zero`].
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::gp::{MeanConfig, MeanKind};
/// let device = Device::default();
/// let mean = MeanConfig::new(2, 2).with_kind(MeanKind::Linear).init(&device);
/// let x = Tensor::<3>::from_data([[[3.0, 4.0]]], &device);
/// let m: Vec<f32> = mean.evaluate(x).into_data().to_vec().unwrap();
/// assert_eq!(m, vec![3.0, 4.0]); // identity initialisation, zero offset
/// ```
#[derive(Module, Debug)]
pub struct MeanFunction {
    /// Offsets `c`, `[P]`.
    pub constant: Option<Param<Tensor<1>>>,
    /// Weights `w`, `[P, d]`.
    pub weight: Option<Param<Tensor<2>>>,
    /// Number of outputs `P`.
    pub outputs: usize,
}

impl MeanConfig {
    /// The mean function (zero offsets; identity weights for the linear mean).
    pub fn init(&self, device: &Device) -> MeanFunction {
        let p = self.outputs;
        let constant = (self.kind != MeanKind::Zero)
            .then(|| Param::from_tensor(Tensor::<1>::zeros([p], device)));
        let weight = (self.kind == MeanKind::Linear).then(|| {
            let n = p.max(self.input_dim);
            Param::from_tensor(Tensor::<2>::eye(n, device).slice([0..p, 0..self.input_dim]))
        });
        MeanFunction {
            constant,
            weight,
            outputs: p,
        }
    }
}

impl MeanFunction {
    /// `m_p(x_{b,n})` for inputs `[b, n, d]` (`b` = 1 or `P`), shape `[P, n]`.
    pub fn evaluate(&self, x: Tensor<3>) -> Tensor<2> {
        let [_, n, _] = x.dims();
        let options = (&x.device(), x.dtype());
        match self.compact(x) {
            Some(m) => m.expand([self.outputs, n]),
            None => Tensor::zeros([self.outputs, n], options),
        }
    }

    /// [`MeanFunction::evaluate`] before broadcasting: `[P, 1]` for a constant mean (no
    /// `[P, n]` tensor formed), `[P, n]` for a linear one, `None` for the zero mean.
    pub fn compact(&self, x: Tensor<3>) -> Option<Tensor<2>> {
        let [b, n, d] = x.dims();
        let p = self.outputs;
        let linear = self.weight.as_ref().map(|w| {
            let w = w.val().reshape([p, d, 1]);
            let x = if b == p { x } else { x.expand([p, n, d]) };
            x.matmul(w).reshape([p, n])
        });
        let constant = self.constant.as_ref().map(|c| c.val().reshape([p, 1]));
        // Only the terms present enter the graph.
        match (linear, constant) {
            (Some(linear), Some(c)) => Some(linear + c),
            (linear, None) => linear,
            (None, constant) => constant,
        }
    }
}
