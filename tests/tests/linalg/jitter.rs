//! Jitter: retries on singular matrices, the base shift, and deferred checks.

use crate::common::llt;
use burn::tensor::{Device, FloatDType};
use vi_core::gradcheck::gradcheck;
use vi_core::linalg::{JitterConfig, LinalgError, cholesky, cholesky_deferred, cholesky_jittered};
use vi_tests::{
    assert_all_close, by_dtype, device_tests, dtypes, gradcheck_configs, noise, random_spd, tensor,
    values,
};

device_tests!(
    jitter_recovers_singular,
    base_jitter_shifts_the_diagonal,
    deferred_cholesky_guards,
);

fn jitter_recovers_singular(device: Device) {
    let dtype = *dtypes(&device).first().unwrap();
    let n = 4;
    // Element 0: SPD; element 1: rank one (PSD, singular); element 2: SPD.
    let mut a = random_spd(14, 3, n, 1.0);
    let v = [1.0, 2.0, -1.0, 0.5];
    for i in 0..n {
        for j in 0..n {
            a[n * n + i * n + j] = v[i] * v[j];
        }
    }
    let at = tensor(a.clone(), [3, n, n], &device, dtype);
    assert!(matches!(
        cholesky(at.clone()),
        Err(LinalgError::NotPositiveDefinite { batch_index: 1, .. })
    ));
    let out = cholesky_jittered(at, &JitterConfig::default()).unwrap();
    assert_eq!(out.jitter[0], 0.0);
    assert_eq!(out.jitter[2], 0.0);
    assert!(out.jitter[1] > 0.0, "element 1 needed jitter");
    let factor = values(out.factor);
    let llt = llt(&factor, n);
    let mut want = a.clone();
    for i in 0..n {
        want[n * n + i * n + i] += out.jitter[1];
    }
    let tol = by_dtype(dtype, 1e-9, 1e-4);
    assert_all_close("jittered L Lᵀ = A + εI", &llt, &want, tol, tol);
    // The unjittered elements (0 and 2) are bit-identical to their plain factors.
    let plain_of = |e: usize| {
        let ae = a[e * n * n..(e + 1) * n * n].to_vec();
        values(cholesky(tensor(ae, [1, n, n], &device, dtype)).unwrap())
    };
    for e in [0, 2] {
        let got: Vec<u64> = factor[e * n * n..(e + 1) * n * n]
            .iter()
            .map(|x| x.to_bits())
            .collect();
        let want: Vec<u64> = plain_of(e).iter().map(|x| x.to_bits()).collect();
        assert_eq!(got, want, "element {e}: jittered batch vs its plain factor");
    }
    let plain = plain_of(0);
    let lv = values(
        cholesky_jittered(
            tensor(a.clone(), [3, n, n], &device, dtype),
            &JitterConfig::default(),
        )
        .unwrap()
        .factor,
    );
    assert_all_close("element 0 unchanged", &lv[..n * n], &plain, 0.0, 0.0);
}

/// `JitterConfig::base` (the shift inside the factorisation): `L Lᵀ = A + c I` with no retry
/// and the same factor as `cholesky(A + c I)`, at orders inside one tile and across the blocked
/// path (70, 130), with an upper triangle that must not be read; a singular element that the
/// base alone makes positive definite, and one that still needs a retry on top of it; the
/// gradient with respect to `A` by finite differences.
fn base_jitter_shifts_the_diagonal(device: Device) {
    for dtype in dtypes(&device) {
        let (rtol, atol) = by_dtype(dtype, (1e-9, 1e-9), (2e-4, 2e-4));
        for n in [4, 70, 130] {
            base_shift(&device, dtype, n, rtol, atol);
        }
        base_and_retry(&device, dtype, rtol, atol);
    }
    base_jitter_gradcheck(&device);
}

/// `L Lᵀ = A + c I` with no retry and the same factor as `cholesky(A + c I)`, with an upper
/// triangle that must not be read.
fn base_shift(device: &Device, dtype: FloatDType, n: usize, rtol: f64, atol: f64) {
    let device = device.clone();
    let (batch, c) = (2, 0.75);
    // `X Xᵀ / n` with no ridge: ill-conditioned, the shift lifts its small eigenvalues.
    let a = random_spd(400 + n as u64, batch, n, 0.0);
    let mut stored = a.clone();
    let mut shifted = a.clone();
    for e in 0..batch {
        for i in 0..n {
            shifted[e * n * n + i * (n + 1)] += c;
            for j in i + 1..n {
                stored[e * n * n + i * n + j] = 7.0;
            }
        }
    }
    let config = JitterConfig {
        base: c,
        ..JitterConfig::default()
    };
    let out = cholesky_jittered(
        tensor(stored.clone(), [batch, n, n], &device, dtype),
        &config,
    )
    .unwrap();
    assert_eq!(out.jitter, vec![0.0; batch], "n={n}: no retry needed");
    let got = values(out.factor);
    assert_all_close(
        &format!("L Lᵀ = A + cI, n={n} {dtype:?}"),
        &llt(&got, n),
        &shifted,
        rtol,
        atol,
    );
    let plain = values(cholesky(tensor(shifted.clone(), [batch, n, n], &device, dtype)).unwrap());
    assert_all_close(
        &format!("shifted factor = factor of the shifted matrix, n={n} {dtype:?}"),
        &got,
        &plain,
        rtol,
        atol,
    );
}

/// Indefinite, `v vᵀ − 0.005 I`: a base of 0.5 makes it positive definite; a base of 1e-9 does
/// not, and the retry's jitter of 0.01 adds to it.
fn base_and_retry(device: &Device, dtype: FloatDType, rtol: f64, atol: f64) {
    let device = device.clone();
    let n = 4;
    let v = [1.0, 2.0, -1.0, 0.5];
    let rank_one: Vec<f64> = (0..n * n)
        .map(|idx| v[idx / n] * v[idx % n] - if idx % (n + 1) == 0 { 0.005 } else { 0.0 })
        .collect();
    let a = || tensor(rank_one.clone(), [1, n, n], &device, dtype);
    let base_only = cholesky_jittered(
        a(),
        &JitterConfig {
            base: 0.5,
            ..JitterConfig::default()
        },
    )
    .unwrap();
    assert_eq!(base_only.jitter, vec![0.0]);
    let (base, initial) = (1e-9, 1e-2);
    let retried = cholesky_jittered(
        a(),
        &JitterConfig {
            base,
            initial: Some(initial),
            ..JitterConfig::default()
        },
    )
    .unwrap();
    assert_eq!(retried.jitter, vec![initial]);
    let mut want = rank_one.clone();
    for i in 0..n {
        want[i * (n + 1)] += base + initial;
    }
    assert_all_close(
        &format!("retry on top of the base {dtype:?}"),
        &llt(&values(retried.factor), n),
        &want,
        rtol,
        atol,
    );
}

/// The gradient with respect to `A` by finite differences.
fn base_jitter_gradcheck(device: &Device) {
    let ad = device.clone().autodiff();
    for config in gradcheck_configs(&ad) {
        let (b, n) = (2, 5);
        let a = tensor(random_spd(410, b, n, 0.0), [b, n, n], &ad, config.dtype);
        let w = tensor(noise(411, b * n * n), [b, n, n], &ad, config.dtype);
        let report = gradcheck(
            |v| {
                let a = v[0].clone();
                let sym = (a.clone() + a.transpose()) * 0.5;
                let jitter = JitterConfig {
                    base: 0.5,
                    ..JitterConfig::default()
                };
                (cholesky_jittered(sym, &jitter).unwrap().factor * v[1].clone()).sum()
            },
            &[a, w],
            &config,
        );
        assert!(report.passed(), "cholesky with a base jitter:\n{report}");
    }
}

/// `cholesky_deferred`: the factor of `A + shift·I` equal to the checked one, and a guard that is
/// finite exactly at the batch elements that factorised (indefinite at the first or the last
/// minor, NaN input, across the tile and blocked paths), read in one go.
fn deferred_cholesky_guards(device: Device) {
    for dtype in dtypes(&device) {
        let (rtol, atol) = by_dtype(dtype, (1e-10, 1e-10), (1e-4, 1e-4));
        for n in [3, 70, 130] {
            let batch = 4;
            let mut a = random_spd(500 + n as u64, batch, n, 1.0);
            let good = a[..n * n].to_vec();
            a[n * n] = -1.0; // element 1 fails at its first pivot
            a[2 * n * n + (n - 1) * (n + 1)] = -1e3; // element 2 at its last
            a[3 * n * n + n] = f64::NAN; // element 3 has NaN in its lower triangle
            let out = cholesky_deferred(tensor(a, [batch, n, n], &device, dtype), 0.25).unwrap();
            assert_eq!(out.guard.dims(), [batch]);
            let finite: Vec<bool> = values(out.guard).iter().map(|g| g.is_finite()).collect();
            assert_eq!(
                finite,
                vec![true, false, false, false],
                "n={n} {dtype:?}: guard per element"
            );
            let got = values(out.factor.narrow(0, 0, 1));
            let want = cholesky_jittered(
                tensor(good, [1, n, n], &device, dtype),
                &JitterConfig {
                    base: 0.25,
                    ..JitterConfig::default()
                },
            )
            .unwrap();
            assert_all_close(
                &format!("deferred factor, n={n} {dtype:?}"),
                &got,
                &values(want.factor),
                rtol,
                atol,
            );
        }
        // The shift alone decides: singular without, positive definite with.
        let ones = || tensor(vec![1.0; 4], [2, 2], &device, dtype);
        let guard = |shift: f64| values(cholesky_deferred(ones(), shift).unwrap().guard);
        assert!(!guard(0.0)[0].is_finite(), "rank one without shift");
        assert!(guard(0.5)[0].is_finite(), "rank one with shift");
        assert!(matches!(
            cholesky_deferred(tensor(vec![0.0; 6], [2, 3], &device, dtype), 0.0),
            Err(LinalgError::ShapeMismatch { .. })
        ));
    }
}
