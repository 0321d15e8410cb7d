//! Call-free `f32` exponentials and logarithms (so that loops over them vectorise), and the
//! wrapper that compiles such loops for AVX2 with FMA where the CPU has them.

/// `ln x` in `f32` without calls, so that loops over it vectorise (Cephes' `logf`):
/// `x = m 2ᵉ` with `m ∈ [√½, √2)`, `ln m` from a degree-8 polynomial in `m − 1`, plus `e ln 2` in
/// two parts. Within 2 ulp for positive normal `x`; `−∞` at 0, NaN below 0 or for NaN, `∞` at `∞`.
/// Subnormal input is out of its range (callers keep away from it).
#[inline(always)]
pub(crate) fn ln_f32(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let bits = x.to_bits();
    // x = m 2^(e + 1) with m ∈ [½, 1); then m ← 2m and e ← e − 1 when m < √½.
    let exponent = ((bits >> 23) & 0xff) as i32 - 126;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    let small = m < std::f32::consts::FRAC_1_SQRT_2;
    let e = (exponent - i32::from(small)) as f32;
    let f = if small { m + m - 1.0 } else { m - 1.0 };
    let z = f * f;
    let mut p = 0.070_376_836_f32;
    for c in [
        -0.115_146_1,
        0.116_769_984,
        -0.124_201_41,
        0.142_493_23,
        -0.166_680_57,
        0.200_007_14,
        -0.249_999_94,
        0.333_333_3,
    ] {
        p = p * f + c;
    }
    let y = f + (f * z * p + e * LN2_LO - 0.5 * z) + e * LN2_HI;
    if x > 0.0 && x < f32::INFINITY {
        y
    } else if x == 0.0 {
        f32::NEG_INFINITY
    } else if x == f32::INFINITY {
        x
    } else {
        f32::NAN
    }
}

/// `eˣ` in `f32` without branches or calls, so that loops over it vectorise (Cephes' `expf`):
/// `x = n ln 2 + r` with `|r| ≤ ½ ln 2`, a degree-7 polynomial for `eʳ`, and `2ⁿ` from the exponent
/// bits. Within 2 ulp of the correctly rounded value; `0` below `−87.3` (where `eˣ` is
/// subnormal), `∞` above `88.7`, NaN for NaN.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5 · 2²³ rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    const LOW: f32 = -87.3;
    const HIGH: f32 = 88.7;
    let clamped = x.clamp(LOW, HIGH);
    let rounded = clamped * LOG2E + ROUND;
    let n = rounded - ROUND;
    let r = clamped - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        0.166_666_65,
        0.5,
    ] {
        p = p * r + c;
    }
    // 2ⁿ as 2^⌊n/2⌋ · 2^⌈n/2⌉, both normal for every n in [−126, 128]. `n` as an integer is read
    // from the bits of `rounded` (whose unit in the last place is 1), not by a saturating cast,
    // which does not vectorise.
    let n = rounded.to_bits() as i32 - ROUND.to_bits() as i32;
    let power = |k: i32| f32::from_bits(((k + 127) as u32) << 23);
    let y = (p * r * r + r + 1.0) * power(n >> 1) * power(n - (n >> 1));
    if x < LOW {
        0.0
    } else if x > HIGH {
        f32::INFINITY
    } else {
        y
    }
}

/// [`exp_f32`] for `x ≤ 0` with fused multiply-adds: about half its instructions (no upper
/// clamp, one power of two since `n ∈ [−126, 0]`, the reduction and polynomial as FMAs). Within
/// 2 ulp; `0` below `−87.3`, NaN for NaN; positive `x` is out of its range. A slow library call
/// per FMA unless the caller is compiled with FMA ([`vectorised`]).
#[inline(always)]
pub(crate) fn exp_nonpositive_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0;
    const LOW: f32 = -87.3;
    // NaN compares false, so it stays NaN through the clamp and the result.
    let clamped = if x < LOW { LOW } else { x };
    let rounded = clamped.mul_add(LOG2E, ROUND);
    let n = rounded - ROUND;
    let r = n.mul_add(-LN2_LO, n.mul_add(-LN2_HI, clamped));
    let mut p = 1.987_569_1e-4_f32;
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        0.166_666_65,
        0.5,
    ] {
        p = p.mul_add(r, c);
    }
    let n = rounded.to_bits() as i32 - ROUND.to_bits() as i32;
    let power = f32::from_bits(((n + 127) as u32) << 23);
    let y = ((p * r).mul_add(r, r) + 1.0) * power;
    if x < LOW { 0.0 } else { y }
}

/// Runs `f` compiled for AVX2 and FMA where the CPU has them (x86-64), otherwise as built: the
/// elementwise host loops (softplus, exponentials, logarithms in `f32`) are written branch-free
/// so that they vectorise, and AVX2 doubles their width over the SSE2 baseline. `f` must be
/// inlined into the wrapper to gain from it, which a closure called once is.
#[inline(always)]
pub(crate) fn vectorised<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        fn simd<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA, checked just above.
            return unsafe { simd(f) };
        }
    }
    f()
}

#[cfg(test)]
mod tests {
    use super::exp_f32;

    #[test]
    fn exp_f32_within_two_ulp() {
        let mut worst = 0.0f64;
        for i in 0..=2_000_000 {
            let x = -87.3 + 176.0 * f64::from(i) / 2e6;
            let x = x as f32;
            let want = f64::from(x).exp();
            let got = f64::from(exp_f32(x));
            let ulp = f64::from(f32::EPSILON) * want.abs();
            worst = worst.max((got - want).abs() / ulp);
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(-100.0), 0.0);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert!(exp_f32(f32::NAN).is_nan());
    }

    #[test]
    fn exp_nonpositive_f32_within_two_ulp() {
        use super::exp_nonpositive_f32;
        let mut worst = 0.0f64;
        for i in 0..=2_000_000 {
            let x = (-87.3 * f64::from(i) / 2e6) as f32;
            let want = f64::from(x).exp();
            let got = f64::from(exp_nonpositive_f32(x));
            let ulp = f64::from(f32::EPSILON) * want.abs();
            worst = worst.max((got - want).abs() / ulp);
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(exp_nonpositive_f32(0.0), 1.0);
        assert_eq!(exp_nonpositive_f32(-0.0), 1.0);
        assert_eq!(exp_nonpositive_f32(-100.0), 0.0);
        assert_eq!(exp_nonpositive_f32(f32::NEG_INFINITY), 0.0);
        assert!(exp_nonpositive_f32(f32::NAN).is_nan());
    }
}
