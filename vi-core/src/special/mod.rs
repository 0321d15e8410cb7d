//! Numerically stable special functions on tensors (and on `f64` for the gamma family):
//! `softplus`, `softplus_log_scale`, `log_sigmoid`, `logsumexp`, `lgamma`, `digamma`.
//!
//! `softplus` is one kernel with a hand-written derivative ([`backend::SpecialBackend`]); the
//! other tensor functions are built from differentiable Burn primitives, so gradients come from
//! autodiff and follow the same stable formulas.

pub mod backend;

use backend::SpecialBackend;
use burn::backend::Dispatch;
use burn::tensor::{DType, Tensor};

/// `ln √(2π)`.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// How far [`lgamma`] and [`digamma`] shift their argument up (`Γ(x + 1) = x Γ(x)`) before the
/// asymptotic series, which is accurate to `1e-16` relative for arguments `≥ SHIFT`.
const SHIFT: usize = 8;

/// `softplus(x) = ln(1 + eˣ) = max(x, 0) + ln(1 + e^{−|x|})`, accurate to the dtype's
/// precision everywhere (tiny positive values for very negative `x`, `x` itself for large `x`).
/// One kernel on every backend ([`SpecialBackend::softplus`]), one autodiff node with the
/// gradient `σ(x) = exp(x − softplus(x))`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::special::softplus;
/// let x = Tensor::<1>::from_data([-30.0, 0.0, 100.0], &Device::default());
/// let y: Vec<f32> = softplus(x).into_data().try_into_vec::<f32>().unwrap();
/// assert!((y[0] / (-30f32).exp() - 1.0).abs() < 1e-5);
/// assert!((y[1] - 2f32.ln()).abs() < 1e-6 && y[2] == 100.0);
/// ```
pub fn softplus<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as SpecialBackend>::softplus(x.into_dispatch()))
}

/// `½ ln(softplus(x) + floor)`: the log standard deviation `ln σ` of a variance
/// `σ² = softplus(x) + floor` with a raw parameter `x` (a Gaussian likelihood's noise with its
/// lower bound, as GPyTorch constrains it). One kernel forward and one backward on CubeCL, one
/// autodiff node with the gradient `½ σ(x) e^{−2y}` (instead of a softplus, a sum, a logarithm
/// and a product each way).
///
/// # Panics
/// When `floor` is negative or not finite.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::special::softplus_log_scale;
/// let x = Tensor::<1>::from_data([0.0], &Device::default());
/// let y: Vec<f32> = softplus_log_scale(x, 1e-4).into_data().try_into_vec::<f32>().unwrap();
/// assert!((y[0] - 0.5 * (2f32.ln() + 1e-4).ln()).abs() < 1e-6);
/// ```
pub fn softplus_log_scale<const D: usize>(x: Tensor<D>, floor: f64) -> Tensor<D> {
    assert!(
        floor.is_finite() && floor >= 0.0,
        "softplus_log_scale: the floor {floor} must be finite and ≥ 0"
    );
    Tensor::from_dispatch(<Dispatch as SpecialBackend>::softplus_log_scale(
        x.into_dispatch(),
        floor,
    ))
}

/// `ln(1 + u)` for `u > −1`, accurate for tiny `u` on every backend. `f64` uses the backend's
/// `log1p`; `f32` uses the Taylor series `Σ (−1)ᵏ⁺¹ uᵏ/k` (8 terms, relative error < 2e-9) for
/// `|u| < 0.1` and `ln(1 + u)` elsewhere, because some GPU backends compute `log1p` as
/// `ln(1 + u)`, which returns 0 below `u ≈ 6e-8`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::special::log1p;
/// let y: Vec<f32> = log1p(Tensor::<1>::from_data([1e-9], &Device::default()))
///     .into_data().try_into_vec::<f32>().unwrap();
/// assert!((y[0] / 1e-9 - 1.0).abs() < 1e-6);
/// ```
pub fn log1p<const D: usize>(u: Tensor<D>) -> Tensor<D> {
    if u.dtype() == DType::F64 {
        return u.log1p();
    }
    let small = u.clone().abs().lower_elem(0.1);
    let capped = u.clone().mask_fill(small.clone().bool_not(), 0.0);
    let mut series = capped.clone().mul_scalar(-1.0 / 8.0).add_scalar(1.0 / 7.0);
    for k in (1..=6).rev() {
        let sign = if k % 2 == 1 { 1.0 } else { -1.0 };
        series = series * capped.clone() + sign / k as f64;
    }
    let series = series * capped;
    let direct = u.add_scalar(1.0).log();
    direct.mask_where(small, series)
}

/// The logistic function `σ(x) = 1 / (1 + e⁻ˣ) = exp(ln σ(x))`, accurate in both tails.
pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    log_sigmoid(x).exp()
}

/// `ln σ(x) = −softplus(−x)`, stable for large `|x|`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::special::log_sigmoid;
/// let y: Vec<f32> = log_sigmoid(Tensor::<1>::from_data([-200.0], &Device::default()))
///     .into_data().try_into_vec::<f32>().unwrap();
/// assert_eq!(y[0], -200.0);
/// ```
pub fn log_sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    softplus(x.neg()).neg()
}

/// `ln Σ exp(xᵢ)` along `dim` (kept with size 1): `m + ln Σ exp(xᵢ − m)` with `m = max xᵢ`,
/// so it neither overflows nor underflows; a slice of all `−∞` gives `−∞`. Gradient
/// `softmax(x)` along `dim`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::special::logsumexp;
/// let x = Tensor::<2>::from_data([[1000.0, 1000.0]], &Device::default());
/// let y: Vec<f32> = logsumexp(x, 1).into_data().try_into_vec::<f32>().unwrap();
/// assert!((y[0] - (1000.0 + 2f32.ln())).abs() < 1e-3);
/// ```
pub fn logsumexp<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    let max = x.clone().detach().max_dim(dim);
    // An all −∞ slice has max −∞; shifting by 0 instead keeps exp(−∞) = 0 and ln 0 = −∞.
    let finite = max.clone().is_finite();
    let shift = max.clone().zeros_like().mask_where(finite, max);
    (x - shift.clone()).exp().sum_dim(dim).log() + shift
}

/// `ln Γ(x)` for `x > 0`, elementwise: `ln Γ(x) = ln Γ(x + 8) − Σₖ₌₀⁷ ln(x + k)` and Stirling's
/// series (Bernoulli terms to `z⁻¹⁵`) at `z = x + 8`. Absolute error below `1e-14` in `f64`.
/// Non-positive `x` gives NaN. Its gradient is [`digamma`] (to the same accuracy).
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::special::lgamma;
/// let y: Vec<f32> = lgamma(Tensor::<1>::from_data([5.0], &Device::default()))
///     .into_data().try_into_vec::<f32>().unwrap();
/// assert!((y[0] - 24f32.ln()).abs() < 1e-5);
/// ```
pub fn lgamma<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let mut log_product = x.clone().log();
    for k in 1..SHIFT {
        log_product = log_product + x.clone().add_scalar(k as f64).log();
    }
    let z = x.add_scalar(SHIFT as f64);
    let inv = z.clone().recip();
    let inv2 = inv.clone().square();
    // Σ B₂ₖ / (2k(2k−1) z²ᵏ⁻¹), Horner in 1/z².
    let mut series = inv2
        .clone()
        .mul_scalar(-3617.0 / 122_400.0)
        .add_scalar(1.0 / 156.0);
    for c in [
        -691.0 / 360_360.0,
        1.0 / 1188.0,
        -1.0 / 1680.0,
        1.0 / 1260.0,
        -1.0 / 360.0,
    ] {
        series = series * inv2.clone() + c;
    }
    let series = (series * inv2 + 1.0 / 12.0) * inv;
    (z.clone().sub_scalar(0.5)) * z.clone().log() - z + HALF_LN_2PI + series - log_product
}

/// `ψ(x) = d ln Γ(x)/dx` for `x > 0`, elementwise: `ψ(x) = ψ(x + 8) − Σₖ₌₀⁷ 1/(x + k)` and the
/// asymptotic series at `z = x + 8`. Absolute error below `1e-14` in `f64`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::special::digamma;
/// let y: Vec<f32> = digamma(Tensor::<1>::from_data([1.0], &Device::default()))
///     .into_data().try_into_vec::<f32>().unwrap();
/// assert!((y[0] + 0.577_215_7).abs() < 1e-5); // −γ
/// ```
pub fn digamma<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let mut reciprocal_sum = x.clone().recip();
    for k in 1..SHIFT {
        reciprocal_sum = reciprocal_sum + x.clone().add_scalar(k as f64).recip();
    }
    let z = x.add_scalar(SHIFT as f64);
    let inv = z.clone().recip();
    let inv2 = inv.clone().square();
    // Σ B₂ₖ / (2k z²ᵏ), Horner in 1/z².
    let mut series = inv2
        .clone()
        .mul_scalar(-1.0 / 12.0)
        .add_scalar(691.0 / 32_760.0);
    for c in [-1.0 / 132.0, 1.0 / 240.0, -1.0 / 252.0, 1.0 / 120.0] {
        series = series * inv2.clone() + c;
    }
    let series = (series * inv2.clone() - 1.0 / 12.0) * inv2;
    z.log() - inv.mul_scalar(0.5) + series - reciprocal_sum
}

/// `softplus(x) = ln(1 + eˣ)` for `f64`.
pub fn softplus_f64(x: f64) -> f64 {
    if x > 36.0 { x } else { x.exp().ln_1p() }
}

/// `softplus⁻¹(y) = ln(eʸ − 1)` for `y > 0` (`f64`): the raw value a softplus-positive parameter
/// starts from.
pub fn inverse_softplus_f64(y: f64) -> f64 {
    if y > 36.0 { y } else { y.exp_m1().ln() }
}

/// `ln Γ(x)` for `f64` (Lanczos-free: the same shift-and-Stirling scheme as [`lgamma`]), with the
/// reflection formula for `x < 0.5`. Poles (`0, −1, −2, …`) give `+∞`.
pub fn lgamma_f64(x: f64) -> f64 {
    if x < 0.5 {
        let sin = (std::f64::consts::PI * x).sin();
        if sin == 0.0 {
            return f64::INFINITY;
        }
        return std::f64::consts::PI.ln() - sin.abs().ln() - lgamma_f64(1.0 - x);
    }
    let mut log_product = 0.0;
    for k in 0..SHIFT {
        log_product += (x + k as f64).ln();
    }
    let z = x + SHIFT as f64;
    let inv2 = 1.0 / (z * z);
    let mut series = -3617.0 / 122_400.0;
    for c in [
        1.0 / 156.0,
        -691.0 / 360_360.0,
        1.0 / 1188.0,
        -1.0 / 1680.0,
        1.0 / 1260.0,
    ] {
        series = series * inv2 + c;
    }
    let series = ((series * inv2 - 1.0 / 360.0) * inv2 + 1.0 / 12.0) / z;
    (z - 0.5) * z.ln() - z + HALF_LN_2PI + series - log_product
}

/// `ψ(x)` for `f64`, with the reflection formula `ψ(1 − x) − π cot(πx)` for `x < 0.5`. Poles give
/// NaN.
pub fn digamma_f64(x: f64) -> f64 {
    if x < 0.5 {
        let tan = (std::f64::consts::PI * x).tan();
        if x == x.floor() {
            return f64::NAN;
        }
        return digamma_f64(1.0 - x) - std::f64::consts::PI / tan;
    }
    let mut reciprocal_sum = 0.0;
    for k in 0..SHIFT {
        reciprocal_sum += 1.0 / (x + k as f64);
    }
    let z = x + SHIFT as f64;
    let inv2 = 1.0 / (z * z);
    let mut series = -1.0 / 12.0;
    for c in [
        691.0 / 32_760.0,
        -1.0 / 132.0,
        1.0 / 240.0,
        -1.0 / 252.0,
        1.0 / 120.0,
    ] {
        series = series * inv2 + c;
    }
    let series = (series * inv2 - 1.0 / 12.0) * inv2;
    z.ln() - 0.5 / z + series - reciprocal_sum
}
