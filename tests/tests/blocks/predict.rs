//! Monte Carlo prediction of classes.

use burn::tensor::Device;
use vi_blocks::nn::McDropoutConfig;
use vi_blocks::predict::{predict_mc_classes, predictive_entropy};
use vi_tests::{device_tests, dtypes, noise, tensor, values};

device_tests!(predict_mc_classes_probabilities,);

/// `predict_mc_classes` averages softmax probabilities (rows sum to 1) and their entropy matches
/// the host formula; deterministic logits give zero variance.
fn predict_mc_classes_probabilities(device: Device) {
    device.seed(17);
    let dtype = dtypes(&device)[0];
    let dropout = McDropoutConfig::new(0.5).init();
    let logits = tensor(
        noise(130, 12).into_iter().map(|v| 3.0 * v).collect(),
        [3, 4],
        &device,
        dtype,
    );
    let p = predict_mc_classes(|| dropout.forward(logits.clone()), 200, false);
    let probs = values(p.mean.clone());
    for r in 0..3 {
        let sum: f64 = probs[r * 4..(r + 1) * 4].iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "row {r} sums to {sum}");
    }
    assert!(
        values(p.variance).iter().any(|v| *v > 1e-4),
        "dropout makes the probabilities vary"
    );
    let entropy = values(predictive_entropy(&p.mean));
    for r in 0..3 {
        let want: f64 = -probs[r * 4..(r + 1) * 4]
            .iter()
            .map(|q| q * q.ln())
            .sum::<f64>();
        assert!(
            (entropy[r] - want).abs() < 1e-4,
            "entropy row {r}: {} vs {want}",
            entropy[r]
        );
    }
    let fixed = predict_mc_classes(|| logits.clone(), 3, false);
    assert!(values(fixed.variance).iter().all(|v| v.abs() < 1e-12));
}
