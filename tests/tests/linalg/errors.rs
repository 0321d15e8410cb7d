//! Bad input gives typed errors.

use burn::tensor::{Device, FloatDType};
use vi_core::linalg::{
    JitterConfig, LinalgError, Side, Triangle, cholesky, cholesky_jittered, solve_triangular,
    triangular_matmul,
};
use vi_tests::{device_tests, dtypes, random_spd, tensor};

device_tests!(bad_input_errors,);

fn bad_input_errors(device: Device) {
    let dtype = *dtypes(&device).first().unwrap();
    indefinite_errors(&device, dtype);
    non_finite_errors(&device, dtype);
    shape_errors(&device, dtype);
    error_messages();
}

/// A batch of three SPD matrices whose element 1 is indefinite at its second leading minor.
fn indefinite_batch() -> Vec<f64> {
    let mut a = random_spd(12, 3, 3, 1.0);
    a[9..18].copy_from_slice(&[1.0, 2.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    a
}

/// Indefinite input, with and without jitter, at orders inside and past the tile.
fn indefinite_errors(device: &Device, dtype: FloatDType) {
    let device = device.clone();
    let a = indefinite_batch();
    match cholesky(tensor(a.clone(), [3, 3, 3], &device, dtype)) {
        Err(LinalgError::NotPositiveDefinite {
            batch_index: 1,
            minor: 2,
            jitter_tried,
        }) => {
            assert_eq!(jitter_tried, 0.0)
        }
        other => panic!("expected NotPositiveDefinite for element 1 minor 2, got {other:?}"),
    }
    // Jitter cannot rescue an indefinite matrix.
    match cholesky_jittered(
        tensor(a.clone(), [3, 3, 3], &device, dtype),
        &JitterConfig::default(),
    ) {
        Err(LinalgError::NotPositiveDefinite {
            batch_index: 1,
            minor: 2,
            jitter_tried,
        }) => {
            assert!(jitter_tried > 0.0)
        }
        other => panic!("expected NotPositiveDefinite after jitter, got {other:?}"),
    }
    // Orders past the shared-memory tile (blocked on CubeCL, faer on the CPU), failing early or
    // at the last pivot: the failure still reaches the last diagonal entry the check reads.
    for n in [70, 130] {
        for minor in [3, n] {
            let mut a = random_spd(14, 2, n, 1.0);
            a[n * n + (minor - 1) * (n + 1)] = -1e3;
            match cholesky(tensor(a, [2, n, n], &device, dtype)) {
                Err(LinalgError::NotPositiveDefinite {
                    batch_index: 1,
                    minor: got,
                    ..
                }) if got == minor => {}
                other => {
                    panic!("n={n}: expected element 1 to fail at minor {minor}, got {other:?}")
                }
            }
        }
    }
}

/// NaN and infinity in element 2.
fn non_finite_errors(device: &Device, dtype: FloatDType) {
    let device = device.clone();
    let a = indefinite_batch();
    let mut nan = a.clone();
    nan[9..18].copy_from_slice(&random_spd(13, 1, 3, 1.0));
    nan[18 + 4] = f64::NAN;
    match cholesky(tensor(nan.clone(), [3, 3, 3], &device, dtype)) {
        Err(LinalgError::NonFinite { batch_index: 2 }) => {}
        other => panic!("expected NonFinite for element 2, got {other:?}"),
    }
    let mut inf = nan;
    inf[18 + 4] = f64::INFINITY;
    assert!(matches!(
        cholesky_jittered(
            tensor(inf, [3, 3, 3], &device, dtype),
            &JitterConfig::default()
        ),
        Err(LinalgError::NonFinite { batch_index: 2 })
    ));
}

/// Shapes that do not fit.
fn shape_errors(device: &Device, dtype: FloatDType) {
    let device = device.clone();
    let rect = tensor(vec![0.0; 6], [2, 3], &device, dtype);
    assert!(matches!(
        cholesky(rect.clone()),
        Err(LinalgError::ShapeMismatch { .. })
    ));
    let sq = tensor(vec![1.0, 0.0, 0.0, 1.0], [2, 2], &device, dtype);
    let tall = tensor(vec![0.0; 6], [3, 2], &device, dtype);
    assert!(matches!(
        solve_triangular(sq.clone(), tall, Triangle::Lower, false, Side::Left),
        Err(LinalgError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        solve_triangular(
            sq.clone(),
            rect.clone(),
            Triangle::Lower,
            false,
            Side::Right
        ),
        Err(LinalgError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        triangular_matmul(sq.clone(), rect.clone(), Triangle::Lower, true, Side::Right),
        Err(LinalgError::ShapeMismatch {
            op: "triangular_matmul",
            ..
        })
    ));
    assert!(matches!(
        triangular_matmul(rect.clone(), sq.clone(), Triangle::Upper, false, Side::Left),
        Err(LinalgError::ShapeMismatch {
            op: "triangular_matmul",
            ..
        })
    ));
    let bt = tensor(vec![1.0; 3 * 4], [3, 2, 2], &device, dtype);
    let bb = tensor(vec![1.0; 2 * 2], [2, 2, 1], &device, dtype);
    assert!(matches!(
        solve_triangular(bt, bb, Triangle::Lower, false, Side::Left),
        Err(LinalgError::ShapeMismatch { .. })
    ));
}

/// Error messages name the element.
fn error_messages() {
    let message = LinalgError::NotPositiveDefinite {
        batch_index: 4,
        minor: 2,
        jitter_tried: 1e-6,
    }
    .to_string();
    assert!(
        message.contains("matrix 4") && message.contains("order 2"),
        "{message}"
    );
}
