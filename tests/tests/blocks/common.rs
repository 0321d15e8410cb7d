//! Helpers shared by the block tests.

use burn::module::{Module, Param, ParamId};
use burn::nn::Linear;
use burn::tensor::{Device, FloatDType};
use vi_blocks::nn::{BayesianLinear, BayesianLinearConfig, Prior};
use vi_tests::{noise, tensor};

/// A parameter wrapping a tensor as it is (a tracked input of `gradcheck` stays in the graph).
pub fn param<const D: usize>(t: burn::tensor::Tensor<D>) -> Param<burn::tensor::Tensor<D>> {
    Param::initialized(ParamId::new(), t)
}

/// A BayesianLinear with given parameters (row-major `[d_in, d_out]`).
pub fn layer(
    device: &Device,
    dtype: FloatDType,
    d: (usize, usize),
    seed: u64,
    prior: Prior,
) -> BayesianLinear {
    let (i, o) = d;
    let t = |s: u64, n: usize, scale: f64, shift: f64| {
        noise(s, n)
            .into_iter()
            .map(|v| v * scale + shift)
            .collect::<Vec<_>>()
    };
    BayesianLinear::new(
        (
            tensor(t(seed, i * o, 0.8, 0.0), [i, o], device, dtype),
            tensor(t(seed + 1, i * o, 1.0, -1.0), [i, o], device, dtype),
        ),
        Some((
            tensor(t(seed + 2, o, 0.5, 0.0), [o], device, dtype),
            tensor(t(seed + 3, o, 1.0, -1.5), [o], device, dtype),
        )),
        prior,
        BayesianLinearConfig::new(i, o).estimator,
    )
}

/// `ln √(2π)`.
pub const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// A 1-D toy set: `x` pseudo-uniform on [−1, 1], `y = sin(3x) + noise·ε` (fixed seeds).
pub fn toy(seed: u64, n: usize, noise_sd: f64) -> (Vec<f64>, Vec<f64>) {
    let x = vi_tests::noise(seed, n);
    let e = vi_tests::noise(seed + 1, 2 * n);
    // Box–Muller from two uniforms in (0, 1).
    let y = x
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let (a, b) = ((e[2 * i] + 1.0) / 2.0 + 1e-12, (e[2 * i + 1] + 1.0) / 2.0);
            let z = (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos();
            (3.0 * x).sin() + noise_sd * z
        })
        .collect();
    (x, y)
}

/// A block holding a Bayesian and an ordinary layer.
#[derive(Module, Debug)]
pub struct Inner {
    pub hidden: BayesianLinear,
    pub plain: Linear,
}

/// A user's model nesting Bayesian layers in a struct, a Vec and an Option, next to ordinary
/// Linear layers.
#[derive(Module, Debug)]
pub struct Outer {
    pub inner: Inner,
    pub heads: Vec<BayesianLinear>,
    pub extra: Option<BayesianLinear>,
    pub encoder: Linear,
}
