//! Helpers shared by the probability tests: random inputs and factors, Monte Carlo standard
//! errors.

use burn::tensor::{Device, FloatDType, Tensor};
use vi_tests::{noise, tensor};

/// `ln √(2π)`.
pub const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Random inputs of a given shape, scaled and shifted.
pub fn rand<const D: usize>(
    seed: u64,
    shape: [usize; D],
    device: &Device,
    dtype: FloatDType,
    scale: f64,
    shift: f64,
) -> Tensor<D> {
    let n = shape.iter().product();
    tensor(
        noise(seed, n)
            .into_iter()
            .map(|v| v * scale + shift)
            .collect(),
        shape,
        device,
        dtype,
    )
}

/// A lower-triangular factor with a diagonal in `[0.5, 1.5]`.
pub fn rand_tril(
    seed: u64,
    batch: usize,
    n: usize,
    device: &Device,
    dtype: FloatDType,
) -> Tensor<3> {
    let mut data = noise(seed, batch * n * n);
    for b in 0..batch {
        for i in 0..n {
            for j in 0..n {
                let v = &mut data[b * n * n + i * n + j];
                if j > i {
                    *v = 0.0;
                } else if i == j {
                    *v = 1.0 + 0.5 * *v;
                } else {
                    *v *= 0.5;
                }
            }
        }
    }
    tensor(data, [batch, n, n], device, dtype)
}

/// Mean and standard error of samples.
pub fn mean_se(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Asserts `|estimate − want| ≤ 5 s.e. + slack` (slack covers f32 rounding).
pub fn assert_within_se(label: &str, samples: &[f64], want: f64, slack: f64) {
    let (mean, se) = mean_se(samples);
    assert!(
        (mean - want).abs() <= 5.0 * se + slack,
        "{label}: Monte Carlo mean {mean} ± {se} (s.e.) vs {want}"
    );
}

pub fn moments(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (
        mean,
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0),
    )
}
