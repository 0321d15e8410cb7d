//! Special functions against statrs and host formulas.

use burn::tensor::{Device, FloatDType};
use vi_core::special::{
    digamma, digamma_f64, lgamma, lgamma_f64, log_sigmoid, logsumexp, softplus, softplus_log_scale,
};
use vi_tests::{assert_all_close, by_dtype, device_tests, dtypes, tensor, values};

device_tests!(special_functions,);

/// lgamma/digamma against statrs (tensor and `f64` versions), the tensor gradient of lgamma
/// against digamma, and the stable functions at extreme arguments against host formulas.
fn special_functions(device: Device) {
    let dtype = dtypes(&device)[0];
    let (rtol, atol) = by_dtype(dtype, (1e-13, 1e-13), (2e-5, 2e-5));
    gamma_functions_f64();
    gamma_functions_tensor(&device, dtype, rtol, atol);
    softplus_family(&device, dtype, rtol);
    logsumexp_extremes(&device, dtype, rtol);
}

/// `0.05 · 1.2^i` for `i < 60`: 0.05 … ~2.5e3.
fn gamma_grid() -> Vec<f64> {
    (0..60).map(|i| 0.05 * 1.2f64.powi(i)).collect()
}

/// `lgamma_f64` and `digamma_f64` against statrs, and their reflection formulas.
fn gamma_functions_f64() {
    let xs = gamma_grid();
    for &x in &xs {
        let (lg, dg) = (
            statrs::function::gamma::ln_gamma(x),
            statrs::function::gamma::digamma(x),
        );
        assert!(
            (lgamma_f64(x) - lg).abs() <= 1e-13 * (1.0 + lg.abs()),
            "lgamma_f64({x})"
        );
        assert!(
            (digamma_f64(x) - dg).abs() <= 1e-13 * (1.0 + dg.abs()),
            "digamma_f64({x})"
        );
    }
    for &x in &[-0.5, -1.5, -2.25, 0.3] {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        let reflected = lgamma_f64(x) + lgamma_f64(1.0 - x);
        let want = (std::f64::consts::PI / (std::f64::consts::PI * x).sin())
            .abs()
            .ln();
        assert!((reflected - want).abs() < 1e-12, "lgamma reflection at {x}");
        let dg = digamma_f64(1.0 - x) - digamma_f64(x);
        let want = std::f64::consts::PI / (std::f64::consts::PI * x).tan();
        assert!((dg - want).abs() < 1e-11, "digamma reflection at {x}");
    }
}

/// The tensor lgamma against statrs, its gradient against digamma, and the tensor digamma.
fn gamma_functions_tensor(device: &Device, dtype: FloatDType, rtol: f64, atol: f64) {
    let xs = gamma_grid();
    let ad = device.clone().autodiff();
    let x = tensor(xs.clone(), [xs.len()], &ad, dtype).require_grad();
    let lg = lgamma(x.clone());
    let grads = lg.clone().sum().backward();
    let want_lg: Vec<f64> = xs
        .iter()
        .map(|&x| statrs::function::gamma::ln_gamma(x))
        .collect();
    let want_dg: Vec<f64> = xs
        .iter()
        .map(|&x| statrs::function::gamma::digamma(x))
        .collect();
    let scale = |w: &[f64]| w.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    assert_all_close(
        "lgamma",
        &values(lg),
        &want_lg,
        rtol,
        atol * scale(&want_lg),
    );
    assert_all_close(
        "d lgamma / dx",
        &values(x.grad(&grads).unwrap()),
        &want_dg,
        rtol,
        atol * scale(&want_dg),
    );
    assert_all_close(
        "digamma",
        &values(digamma(x.detach())),
        &want_dg,
        rtol,
        atol * scale(&want_dg),
    );
}

/// softplus (and its derivative), `softplus_log_scale` and log_sigmoid at extremes, against
/// host f64 formulas.
fn softplus_family(device: &Device, dtype: FloatDType, rtol: f64) {
    let device = device.clone();
    let ad = device.clone().autodiff();
    let z = vec![
        -800.0, -40.0, -17.5, -1.0, 0.0, 1e-3, 1.0, 17.5, 40.0, 800.0,
    ];
    let zt = tensor(z.clone(), [z.len()], &device, dtype);
    let sp = |v: f64| {
        if v > 0.0 {
            v + (-v).exp().ln_1p()
        } else {
            v.exp().ln_1p()
        }
    };
    let want: Vec<f64> = z.iter().map(|&v| sp(v)).collect();
    let got = values(softplus(zt.clone()));
    assert_all_close("softplus", &got, &want, rtol, 1e-300);
    // Its derivative σ(x), also tiny (not 0) far left and exactly 1 far right.
    let zd = tensor(z.clone(), [z.len()], &ad, dtype).require_grad();
    let grads = softplus(zd.clone()).sum().backward();
    let sigmoid = |v: f64| (-sp(-v)).exp();
    let want: Vec<f64> = z.iter().map(|&v| sigmoid(v)).collect();
    assert_all_close(
        "d softplus / dx",
        &values(zd.grad(&grads).unwrap()),
        &want,
        rtol,
        1e-300,
    );
    // ½ ln(softplus(x) + floor) and its derivative ½ σ(x) / (softplus(x) + floor), with a
    // floor and (where softplus stays positive in f64) without.
    for floor in [1e-4, 0.0] {
        let z: Vec<f64> = z
            .iter()
            .copied()
            .filter(|&v| floor > 0.0 || v > -100.0)
            .collect();
        let zd = tensor(z.clone(), [z.len()], &ad, dtype).require_grad();
        let y = softplus_log_scale(zd.clone(), floor);
        let grads = (y.clone() * tensor(vec![1.5; z.len()], [z.len()], &ad, dtype))
            .sum()
            .backward();
        let want: Vec<f64> = z.iter().map(|&v| 0.5 * (sp(v) + floor).ln()).collect();
        assert_all_close(
            &format!("softplus_log_scale floor={floor}"),
            &values(y),
            &want,
            rtol,
            1e-300,
        );
        let want: Vec<f64> = z
            .iter()
            .map(|&v| 1.5 * 0.5 * sigmoid(v) / (sp(v) + floor))
            .collect();
        assert_all_close(
            &format!("d softplus_log_scale / dx floor={floor}"),
            &values(zd.grad(&grads).unwrap()),
            &want,
            rtol,
            1e-300,
        );
    }
    let want: Vec<f64> = z.iter().map(|&v| -sp(-v)).collect();
    assert_all_close(
        "log_sigmoid",
        &values(log_sigmoid(zt.clone())),
        &want,
        rtol,
        1e-300,
    );
}

/// logsumexp of rows at ±1000 against the host formula, and of a row of −∞.
fn logsumexp_extremes(device: &Device, dtype: FloatDType, rtol: f64) {
    let device = device.clone();
    let rows = [
        vec![1000.0, 1000.0, 999.0],
        vec![-1000.0, -1001.0, -2000.0],
        vec![0.5, -0.25, 2.0],
    ];
    let flat: Vec<f64> = rows.concat();
    let got = values(logsumexp(tensor(flat, [3, 3], &device, dtype), 1));
    let want: Vec<f64> = rows
        .iter()
        .map(|r| {
            let m = r.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            m + r.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
        })
        .collect();
    assert_all_close("logsumexp", &got, &want, rtol, 1e-12);
    let all_neg_inf = tensor(vec![f64::NEG_INFINITY; 2], [1, 2], &device, dtype);
    assert_eq!(values(logsumexp(all_neg_inf, 1)), vec![f64::NEG_INFINITY]);
}
