//! `vi_core::gram`'s fused operations (squared distances, RBF and scaled RBF Gram matrices)
//! against host formulas, finite differences and shape errors.

use crate::common::host_matrix;
use burn::tensor::{Device, FloatDType};
use vi_core::gradcheck::gradcheck;
use vi_core::gram::{rbf_gram, scaled_rbf_gram, squared_distance};
use vi_core::linalg::LinalgError;
use vi_tests::{assert_all_close, device_tests, dtypes, gradcheck_configs, noise, tensor, values};

device_tests!(squared_distance_op, rbf_gram_op, scaled_rbf_gram_op,);

/// `vi_core::gram::squared_distance` against the host formula (a broadcast batch, offsets of
/// 1e3 that the `|a|² + |b|² − 2a·b` expansion would cancel away in `f32`); `D(x, x)` of points
/// with near-duplicates exactly symmetric with a zero diagonal; finite differences in both inputs
/// and for `D(a, a)`; shape errors.
fn squared_distance_op(device: Device) {
    for dtype in dtypes(&device) {
        squared_distance_values(&device, dtype);
        near_duplicates(&device, dtype);
    }
    squared_distance_gradients(&device);
    squared_distance_errors(&device);
}

/// A broadcast batch with offsets of 1e3 against the host formula.
fn squared_distance_values(device: &Device, dtype: FloatDType) {
    let device = device.clone();
    let (n, m, d) = (7, 33, 3);
    let tol = match dtype {
        FloatDType::F64 => 1e-12,
        _ => 2e-6,
    };
    let a: Vec<f64> = noise(61, 2 * n * d).iter().map(|v| 1e3 + v).collect();
    let b: Vec<f64> = noise(62, m * d).iter().map(|v| 1e3 + v).collect();
    let got = squared_distance(
        tensor(a.clone(), [2, n, d], &device, dtype),
        tensor(b.clone(), [1, m, d], &device, dtype),
    )
    .unwrap();
    assert_eq!(got.dims(), [2, n, m]);
    // The inputs as the dtype holds them (1e3 + v loses v's low bits in f32).
    let round = |v: &[f64]| values(tensor(v.to_vec(), [v.len()], &device, dtype));
    let (a, b) = (round(&a), round(&b));
    let want: Vec<f64> = a
        .chunks(n * d)
        .flat_map(|a| {
            host_matrix(a, &b, d, |x, y| {
                (0..d).map(|c| (x[c] - y[c]).powi(2)).sum::<f64>()
            })
        })
        .collect();
    assert_all_close(
        &format!("squared_distance [{dtype:?}]"),
        &values(got),
        &want,
        tol,
        tol,
    );
}

/// Pairs a millionth apart: exact symmetry and zero self-distances.
fn near_duplicates(device: &Device, dtype: FloatDType) {
    let device = device.clone();
    let mut x = noise(63, 9 * 2);
    for c in 0..2 {
        x[2 + c] = x[c] + 1e-6;
    }
    let x = tensor(x, [1, 9, 2], &device, dtype);
    let dxx = values(squared_distance(x.clone(), x).unwrap());
    for i in 0..9 {
        assert_eq!(dxx[i * 9 + i], 0.0, "D(x, x) diagonal {i} [{dtype:?}]");
        for j in 0..i {
            assert_eq!(
                dxx[i * 9 + j],
                dxx[j * 9 + i],
                "D(x, x) symmetry [{dtype:?}]"
            );
        }
    }
    assert!(
        dxx[1] > 0.0 && dxx[1] < 1e-10,
        "near-duplicate distance {}",
        dxx[1]
    );
}

/// Finite differences in both inputs, and for `D(a, a)`.
fn squared_distance_gradients(device: &Device) {
    let ad = device.clone().autodiff();
    for config in gradcheck_configs(&ad) {
        let a = tensor(noise(64, 2 * 4 * 2), [2, 4, 2], &ad, config.dtype);
        let b = tensor(noise(65, 3 * 2), [1, 3, 2], &ad, config.dtype);
        let w = tensor(noise(66, 2 * 4 * 3), [2, 4, 3], &ad, config.dtype);
        let report = gradcheck(
            |v| (squared_distance(v[0].clone(), v[1].clone()).unwrap() * v[2].clone()).sum(),
            &[a.clone(), b, w],
            &config,
        );
        assert!(report.passed(), "squared_distance:\n{report}");
        let w = tensor(noise(67, 2 * 4 * 4), [2, 4, 4], &ad, config.dtype);
        let report = gradcheck(
            |v| (squared_distance(v[0].clone(), v[0].clone()).unwrap() * v[1].clone()).sum(),
            &[a, w],
            &config,
        );
        assert!(report.passed(), "squared_distance(a, a):\n{report}");
    }
}

/// Inputs of different widths or batches.
fn squared_distance_errors(device: &Device) {
    let device = device.clone();
    let dtype = dtypes(&device)[0];
    let x = |b, n, d| tensor(vec![0.0; b * n * d], [b, n, d], &device, dtype);
    assert!(matches!(
        squared_distance(x(1, 3, 2), x(1, 4, 3)),
        Err(LinalgError::ShapeMismatch {
            op: "squared_distance",
            ..
        })
    ));
    assert!(matches!(
        squared_distance(x(2, 3, 2), x(3, 4, 2)),
        Err(LinalgError::ShapeMismatch {
            op: "squared_distance",
            ..
        })
    ));
}

/// `vi_core::gram::rbf_gram` against the host formula (a broadcast batch, distances from 0 to
/// past the `f32` underflow of `exp`), finite differences in both inputs, and shape errors.
fn rbf_gram_op(device: Device) {
    let (n, m, d) = (7, 33, 3);
    for dtype in dtypes(&device) {
        let tol = match dtype {
            FloatDType::F64 => 1e-13,
            _ => 1e-6,
        };
        // Points spread to distances up to ~16, so K spans 1 down to below 1e-50.
        let a: Vec<f64> = noise(31, 2 * n * d).iter().map(|v| 5.0 * v).collect();
        let b: Vec<f64> = noise(32, m * d).iter().map(|v| 5.0 * v).collect();
        let k = rbf_gram(
            tensor(a.clone(), [2, n, d], &device, dtype),
            tensor(b.clone(), [1, m, d], &device, dtype),
        )
        .unwrap();
        assert_eq!(k.dims(), [2, n, m]);
        let want: Vec<f64> = a
            .chunks(n * d)
            .flat_map(|a| {
                host_matrix(a, &b, d, |x, y| {
                    (-0.5 * (0..d).map(|c| (x[c] - y[c]).powi(2)).sum::<f64>()).exp()
                })
            })
            .collect();
        assert_all_close(
            &format!("rbf_gram [{dtype:?}]"),
            &values(k),
            &want,
            tol,
            tol,
        );
    }
    let ad = device.clone().autodiff();
    for config in gradcheck_configs(&ad) {
        let a = tensor(noise(33, 2 * 4 * 2), [2, 4, 2], &ad, config.dtype);
        let b = tensor(noise(34, 3 * 2), [1, 3, 2], &ad, config.dtype);
        let w = tensor(noise(35, 2 * 4 * 3), [2, 4, 3], &ad, config.dtype);
        let report = gradcheck(
            |v| (rbf_gram(v[0].clone(), v[1].clone()).unwrap() * v[2].clone()).sum(),
            &[a.clone(), b, w],
            &config,
        );
        assert!(report.passed(), "rbf_gram:\n{report}");
        // K(a, a): both inputs are the same tracked tensor.
        let w = tensor(noise(36, 2 * 4 * 4), [2, 4, 4], &ad, config.dtype);
        let report = gradcheck(
            |v| (rbf_gram(v[0].clone(), v[0].clone()).unwrap() * v[1].clone()).sum(),
            &[a, w],
            &config,
        );
        assert!(report.passed(), "rbf_gram(a, a):\n{report}");
    }
    let dtype = dtypes(&device)[0];
    let x = |b, n, d| tensor(vec![0.0; b * n * d], [b, n, d], &device, dtype);
    assert!(matches!(
        rbf_gram(x(1, 3, 2), x(1, 4, 3)),
        Err(LinalgError::ShapeMismatch { op: "rbf_gram", .. })
    ));
    assert!(matches!(
        rbf_gram(x(2, 3, 2), x(3, 4, 2)),
        Err(LinalgError::ShapeMismatch { op: "rbf_gram", .. })
    ));
}

/// `vi_core::gram::scaled_rbf_gram` against the host formula `s · exp(−½ Σ (a − b)²/ℓ²)` with
/// ARD lengthscales and scales that carry the batch (inputs of batch 1), finite differences in
/// all four inputs (ARD and one shared lengthscale, broadcast batches), and shape errors.
fn scaled_rbf_gram_op(device: Device) {
    for dtype in dtypes(&device) {
        scaled_rbf_gram_values(&device, dtype);
    }
    scaled_rbf_gram_gradients(&device);
    scaled_rbf_gram_errors(&device);
}

/// `s · exp(−½ Σ (a − b)²/ℓ²)` on the host, ARD lengthscales and scales of batch 2.
fn scaled_rbf_gram_values(device: &Device, dtype: FloatDType) {
    let device = device.clone();
    let (n, m, d) = (5, 37, 3);
    let tol = match dtype {
        FloatDType::F64 => 1e-13,
        _ => 1e-5,
    };
    let a: Vec<f64> = noise(51, n * d).iter().map(|v| 3.0 * v).collect();
    let b: Vec<f64> = noise(52, m * d).iter().map(|v| 3.0 * v).collect();
    let lengthscales = [[0.7, 1.9, 3.1], [1.3, 0.5, 2.2]];
    let scales = [0.4, 2.5];
    let k = scaled_rbf_gram(
        tensor(a.clone(), [1, n, d], &device, dtype),
        tensor(b.clone(), [1, m, d], &device, dtype),
        tensor(lengthscales.concat(), [2, 1, d], &device, dtype),
        tensor(scales.to_vec(), [2, 1, 1], &device, dtype),
    )
    .unwrap();
    assert_eq!(k.dims(), [2, n, m]);
    let want: Vec<f64> = (0..2)
        .flat_map(|p| {
            let (l, s) = (lengthscales[p], scales[p]);
            host_matrix(&a, &b, d, move |x, y| {
                let r2: f64 = (0..d).map(|c| ((x[c] - y[c]) / l[c]).powi(2)).sum();
                s * (-0.5 * r2).exp()
            })
        })
        .collect();
    assert_all_close(
        &format!("scaled_rbf_gram [{dtype:?}]"),
        &values(k),
        &want,
        tol,
        tol,
    );
}

/// Finite differences in all four inputs: ARD lengthscales shared by a batch, and one
/// lengthscale per batch element over inputs of batch 1 (`K(a, a)`).
fn scaled_rbf_gram_gradients(device: &Device) {
    let ad = device.clone().autodiff();
    for config in gradcheck_configs(&ad) {
        let t = |seed, shape: [usize; 3], shift: f64| {
            let len = shape.iter().product();
            let v = noise(seed, len).iter().map(|v| v + shift).collect();
            tensor(v, shape, &ad, config.dtype)
        };
        // ARD lengthscales shared by a batch of two; scales per batch element.
        let (a, b, w) = (
            t(53, [2, 4, 2], 0.0),
            t(54, [1, 3, 2], 0.0),
            t(55, [2, 4, 3], 0.0),
        );
        let (l, s) = (t(56, [1, 1, 2], 1.5), t(57, [2, 1, 1], 1.5));
        let report = gradcheck(
            |v| {
                let k = scaled_rbf_gram(v[0].clone(), v[1].clone(), v[2].clone(), v[3].clone());
                (k.unwrap() * v[4].clone()).sum()
            },
            &[a, b, l, s, w],
            &config,
        );
        assert!(report.passed(), "scaled_rbf_gram (ARD):\n{report}");
        // One lengthscale per batch element carries the batch of inputs of batch 1; K(a, a).
        let (a, l, s) = (
            t(58, [1, 4, 2], 0.0),
            t(59, [2, 1, 1], 1.5),
            t(60, [1, 1, 1], 1.5),
        );
        let w = t(61, [2, 4, 4], 0.0);
        let report = gradcheck(
            |v| {
                let k = scaled_rbf_gram(v[0].clone(), v[0].clone(), v[1].clone(), v[2].clone());
                (k.unwrap() * v[3].clone()).sum()
            },
            &[a, l, s, w],
            &config,
        );
        assert!(
            report.passed(),
            "scaled_rbf_gram (shared lengthscale):\n{report}"
        );
    }
}

/// Lengthscales and scales whose shapes do not fit the inputs.
fn scaled_rbf_gram_errors(device: &Device) {
    let device = device.clone();
    let dtype = dtypes(&device)[0];
    let x = |s: [usize; 3]| tensor(vec![1.0; s.iter().product()], s, &device, dtype);
    for (l, s) in [
        ([1, 1, 3], [1, 1, 1]),
        ([1, 1, 2], [1, 2, 1]),
        ([3, 1, 2], [1, 1, 1]),
    ] {
        assert!(matches!(
            scaled_rbf_gram(x([2, 3, 2]), x([1, 4, 2]), x(l), x(s)),
            Err(LinalgError::ShapeMismatch {
                op: "scaled_rbf_gram",
                ..
            })
        ));
    }
    // Inputs of batch 1 against lengthscales and scales of different batches.
    assert!(matches!(
        scaled_rbf_gram(x([1, 3, 2]), x([1, 4, 2]), x([3, 1, 2]), x([2, 1, 1])),
        Err(LinalgError::ShapeMismatch {
            op: "scaled_rbf_gram",
            ..
        })
    ));
}
