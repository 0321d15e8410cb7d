//! The checkers checked: the tolerance helpers and `gradcheck` reject a wrong value and a wrong
//! gradient (and accept the right ones, so that a rejection means something).

use super::*;
use burn::tensor::Tensor;
use vi_core::gradcheck::{GradcheckConfig, gradcheck};

fn golden(rtol: f64, atol: f64, note: bool) -> Value {
    let mut tolerance = serde_json::json!({ "rtol": rtol, "atol": atol });
    if note {
        tolerance["note"] = "ill-conditioned".into();
    }
    serde_json::json!({ "name": "selftest", "tolerance": tolerance })
}

fn want(data: Vec<f64>) -> GoldenTensor {
    let shape = vec![data.len()];
    GoldenTensor { data, shape }
}

#[test]
fn assert_close_accepts_within_tolerance() {
    assert_close(
        "x",
        &[1.0 + 0.9e-6, -2.0],
        &want(vec![1.0, -2.0]),
        1e-6,
        0.0,
    );
    assert_all_close("x", &[0.5e-9], &[0.0], 0.0, 1e-9);
}

#[test]
#[should_panic(expected = "element 1 (of shape [3]) is -2.00001 but should be -2")]
fn assert_close_rejects_a_wrong_value() {
    assert_close(
        "x",
        &[1.0, -2.00001, 3.0],
        &want(vec![1.0, -2.0, 3.0]),
        1e-6,
        1e-9,
    );
}

#[test]
#[should_panic(expected = "is NaN but should be")]
fn assert_close_rejects_nan() {
    assert_all_close("x", &[f64::NAN], &[1.0], 1.0, 1.0);
}

#[test]
#[should_panic(expected = "length 2 vs 3")]
fn assert_close_rejects_a_wrong_length() {
    assert_all_close("x", &[1.0, 2.0], &[1.0, 2.0, 3.0], 1.0, 1.0);
}

/// `tolerance`: the case's own in `f64`, the golden README's in `f32`, and `1e-4` relative with
/// `atol · max|want|` for an ill-conditioned case; a value just outside each is rejected.
#[test]
fn tolerance_follows_the_case_and_rejects_outside_it() {
    let plain = golden(1e-10, 1e-12, false);
    let noted = golden(1e-10, 1e-8, true);
    let w = want(vec![3.0, -40.0]);
    let case = Case { value: &plain };
    assert_eq!(tolerance(&case, &w, FloatDType::F64, false), (1e-10, 1e-12));
    assert_eq!(tolerance(&case, &w, FloatDType::F32, false), (1e-4, 4e-4));
    assert_eq!(tolerance(&case, &w, FloatDType::F32, true), (1e-3, 4e-3));
    let (rtol, atol) = tolerance(&Case { value: &noted }, &w, FloatDType::F64, false);
    assert_eq!((rtol, atol), (1e-4, 40.0 * 1e-8));
    let (rtol, atol) = tolerance(&case, &w, FloatDType::F64, false);
    let off = |scale: f64| vec![3.0, -40.0 * (1.0 + scale * rtol) - scale * atol];
    assert_close("inside", &off(0.5), &w, rtol, atol);
    let outside = std::panic::catch_unwind(|| assert_close("outside", &off(2.0), &w, rtol, atol));
    assert!(outside.is_err(), "a value outside the f64 tolerance passed");
}

fn cpu_devices() -> Vec<Device> {
    ["flex", "ndarray"]
        .into_iter()
        .filter_map(|name| vi_core::device::by_name(name).ok())
        .collect()
}

/// `f(x) = Σ x² + δ Σ stop(x) x`: autodiff sees `2x + δx`, finite differences `2x + 2δx`, so
/// the analytic gradient is wrong by `δ/2` relative (`stop` keeps the tracked graph from the
/// second factor). `δ = 0` is the correct gradient.
fn skewed(delta: f64) -> impl Fn(Vec<Tensor<1>>) -> Tensor<1> {
    move |v| {
        let x = v[0].clone();
        (x.clone() * x.clone()).sum() + (x.clone().detach() * x).sum().mul_scalar(delta)
    }
}

#[test]
fn gradcheck_accepts_correct_and_rejects_wrong_gradients() {
    for device in cpu_devices() {
        let ad = device.autodiff();
        for config in [
            GradcheckConfig::default(),
            GradcheckConfig::f32(),
            GradcheckConfig::f32_fine(),
        ] {
            let x = tensor(vec![0.3, -1.2, 2.0, 0.7], [4], &ad, config.dtype);
            let right = gradcheck(skewed(0.0), std::slice::from_ref(&x), &config);
            assert!(
                right.passed(),
                "{config:?} rejected a right gradient:\n{right}"
            );
            // 5 % off: every configuration must see it.
            let wrong = gradcheck(skewed(0.1), std::slice::from_ref(&x), &config);
            assert!(
                !wrong.passed(),
                "{config:?} passed a gradient 5 % off:\n{wrong}"
            );
            assert!(!wrong.inputs[0].passed);
        }
        // 0.2 % off: the f64 check and the five-point f32 check reject it; plain f32 FD cannot.
        for config in [GradcheckConfig::default(), GradcheckConfig::f32_fine()] {
            let x = tensor(vec![0.3, -1.2, 2.0, 0.7], [4], &ad, config.dtype);
            let report = gradcheck(skewed(4e-3), &[x], &config);
            assert!(
                !report.passed(),
                "{config:?} passed a gradient 0.2 % off:\n{report}"
            );
        }
    }
}

#[test]
fn proptest_seed_parses() {
    assert_eq!(parse_seed("42"), Some(42));
    assert_eq!(parse_seed(" 0x2A "), Some(42));
    assert_eq!(parse_seed("0xZZ"), None);
    assert_eq!(parse_seed("-1"), None);
}
