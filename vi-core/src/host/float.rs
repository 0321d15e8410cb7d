//! The element types host kernels run in: `f32` and `f64` with the few operations the kernels
//! need (softplus, exponentials, logarithms), the `f32` ones from the call-free, vectorisable
//! routines of [`super::math`].

use super::math::{exp_f32, exp_nonpositive_f32, ln_f32};
use burn::tensor::Element;

/// Element types the CPU kernels run in natively (others are computed in `f32`).
pub(crate) trait HostFloat: faer::traits::RealField + Element + Copy + Send + Sync {
    fn from_f64(x: f64) -> Self;
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    fn as_f64(self) -> f64;
    fn finite(self) -> bool;
    /// `ln(1 + eˣ) = max(x, 0) + ln(1 + e^{−|x|})`, NaN for NaN.
    fn softplus(self) -> Self;
    /// `eˣ` (in `f32` within 2 ulp and vectorisable: [`exp_f32`]).
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    fn exp(self) -> Self;
    /// `eˣ` for `x ≤ 0` (the exponent of an RBF kernel), NaN for NaN, in `f32` with fused
    /// multiply-adds ([`exp_nonpositive_f32`]): only for loops run inside [`super::vectorised`].
    fn exp_nonpositive(self) -> Self;
    /// `ln x` for positive normal `x` (in `f32` vectorisable: [`ln_f32`]).
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    fn ln(self) -> Self;
    /// `√x`.
    fn sqrt(self) -> Self;
    /// `self · a + b` with one rounding: a single instruction where the caller is compiled with
    /// FMA, a slow library call otherwise (so only FMA-enabled kernels use it).
    fn fused_mul_add(self, a: Self, b: Self) -> Self;
}
impl HostFloat for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    fn as_f64(self) -> f64 {
        self as f64
    }
    fn finite(self) -> bool {
        self.is_finite()
    }
    #[inline(always)]
    fn softplus(self) -> Self {
        // ln(1 + u) = ln w − ((w − 1) − u)/w with w = 1 + u (the rounding of w corrected).
        let u = exp_f32(-self.abs());
        let w = 1.0 + u;
        self.max(0.0) + (ln_f32(w) - ((w - 1.0) - u) / w)
    }
    #[inline(always)]
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    fn exp(self) -> Self {
        exp_f32(self)
    }
    #[inline(always)]
    fn exp_nonpositive(self) -> Self {
        exp_nonpositive_f32(self)
    }
    #[inline(always)]
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    fn ln(self) -> Self {
        ln_f32(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn fused_mul_add(self, a: Self, b: Self) -> Self {
        self.mul_add(a, b)
    }
}
impl HostFloat for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    fn as_f64(self) -> f64 {
        self
    }
    fn finite(self) -> bool {
        self.is_finite()
    }
    #[inline(always)]
    fn softplus(self) -> Self {
        self.max(0.0) + (-self.abs()).exp().ln_1p()
    }
    #[inline(always)]
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline(always)]
    fn exp_nonpositive(self) -> Self {
        f64::exp(self)
    }
    #[inline(always)]
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    fn ln(self) -> Self {
        f64::ln(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn fused_mul_add(self, a: Self, b: Self) -> Self {
        self.mul_add(a, b)
    }
}

/// `Σᵢ term(i)` for `i < len`: the terms in the working precision a chunk at a time (so that a
/// branch-free `term` vectorises, inside [`super::vectorised`]), their sum in `f64`.
#[inline(always)]
#[cfg(any(feature = "flex", feature = "ndarray"))]
pub(crate) fn sum_in_f64<T: HostFloat>(len: usize, term: impl Fn(usize) -> T) -> f64 {
    const CHUNK: usize = 64;
    let mut terms = [T::from_f64(0.0); CHUNK];
    let mut total = 0.0;
    for start in (0..len).step_by(CHUNK) {
        let chunk = &mut terms[..CHUNK.min(len - start)];
        for (k, t) in chunk.iter_mut().enumerate() {
            *t = term(start + k);
        }
        total += chunk.iter().map(|t| t.as_f64()).sum::<f64>();
    }
    total
}

#[cfg(test)]
mod tests {
    use super::HostFloat;
    use crate::host::math::ln_f32;

    /// Against the `f64` exponential on a dense grid over the whole normal range, and the edges.
    #[test]
    fn ln_f32_within_two_ulp_and_softplus_accurate() {
        let ulp = |v: f64| f64::from(f32::EPSILON) * 2f64.powi(v.abs().log2().floor() as i32);
        // Every 97th f32 from the smallest normal to the largest finite value.
        let mut bits = f32::MIN_POSITIVE.to_bits();
        while bits < f32::MAX.to_bits() {
            let x = f32::from_bits(bits);
            let want = f64::from(x).ln();
            let got = f64::from(ln_f32(x));
            assert!(
                (got - want).abs() <= 2.0 * ulp(want),
                "ln({x}) = {got}, want {want}"
            );
            bits += 97;
        }
        assert_eq!(ln_f32(1.0), 0.0);
        assert_eq!(ln_f32(0.0), f32::NEG_INFINITY);
        assert_eq!(ln_f32(f32::INFINITY), f32::INFINITY);
        assert!(ln_f32(-1.0).is_nan() && ln_f32(f32::NAN).is_nan());
        // softplus against the f64 formula, relative error a few ulp down to tiny values.
        for i in 0..=20_000 {
            let x = (-80.0 + 120.0 * f64::from(i) / 20_000.0) as f32;
            let got = f64::from(x.softplus());
            let want = f64::from(x).max(0.0) + (-f64::from(x).abs()).exp().ln_1p();
            assert!(
                (got - want).abs() <= 4.0 * f64::from(f32::EPSILON) * want,
                "softplus({x}) = {got}, want {want}"
            );
        }
        assert!(f32::NAN.softplus().is_nan());
    }
}
