//! Variational families: initial scales.

use burn::tensor::Device;
use vi_blocks::family::{FullRankGaussianConfig, LowRankGaussianConfig, MeanFieldGaussianConfig};
use vi_core::distributions::Distribution;
use vi_tests::{assert_all_close, device_tests, values};

device_tests!(families_initial_scales,);

/// The families start at their documented scales and give distributions of the right size.
fn families_initial_scales(device: Device) {
    let n = 6;
    let mf = MeanFieldGaussianConfig::new(n)
        .with_init_scale(0.2)
        .init(&device);
    assert_all_close(
        "mean-field sd",
        &values(mf.distribution().unwrap().variance::<1>().sqrt()),
        &[0.2; 6],
        1e-5,
        0.0,
    );
    let fr = FullRankGaussianConfig::new(n)
        .with_init_scale(0.2)
        .init(&device);
    let cov = values(fr.distribution().unwrap().covariance::<3>());
    let want: Vec<f64> = (0..n * n)
        .map(|k| if k % (n + 1) == 0 { 0.04 } else { 0.0 })
        .collect();
    assert_all_close("full-rank covariance", &cov, &want, 1e-5, 1e-7);
    // Low rank: mean variance over many coordinates ≈ s², a quarter from the factor.
    let lr = LowRankGaussianConfig::new(2000, 4)
        .with_init_scale(0.2)
        .init(&device);
    let var = values(lr.distribution().unwrap().variance::<2>());
    let mean_var = var.iter().sum::<f64>() / var.len() as f64;
    assert!(
        (mean_var - 0.04).abs() < 0.002,
        "low-rank mean variance {mean_var}"
    );
}
