//! The classifiers against the Bayes classifier of a known mixture.

use burn::tensor::Device;
use vi_models::classification::{
    BnnClassifierConfig, BnnClassifierNetConfig, BnnMethod, ClassProbabilities,
    SvgpClassificationModelConfig, SvgpClassifierConfig,
};
use vi_tests::{device_tests, three_blobs};

device_tests!(classifiers_approach_the_bayes_classifier,);

/// On a three-blob mixture whose Bayes classifier is known, every classifier's held-out accuracy
/// is within 0.06 of the Bayes classifier's on the same rows and its NLL within 0.12 nats of the
/// Bayes NLL (which no model can beat in expectation), and far below the 1.10 of guessing.
fn classifiers_approach_the_bayes_classifier(device: Device) {
    let (train, _) = three_blobs(21, 300);
    let (test, posterior) = three_blobs(22, 600);
    let bayes = ClassProbabilities {
        probabilities: posterior,
        classes: 3,
    }
    .evaluate(&test.labels)
    .unwrap();
    let mut results = Vec::new();
    for method in [
        BnnMethod::Deterministic,
        BnnMethod::McDropout,
        BnnMethod::Concrete,
        BnnMethod::Bbb,
    ] {
        let model = BnnClassifierConfig::new(BnnClassifierNetConfig::new(method, vec![32]))
            .with_epochs(40)
            .with_batch_size(32)
            .with_learning_rate(1e-2)
            .with_mc_samples(30)
            .with_seed(1)
            .fit(&train, &device, |_, _| {})
            .unwrap();
        results.push((format!("{method:?}"), model.evaluate(&test).unwrap()));
    }
    let svgp = SvgpClassifierConfig::new()
        .with_model(SvgpClassificationModelConfig::new().with_num_inducing(16))
        .with_epochs(40)
        .with_batch_size(50)
        .with_learning_rate(0.05)
        .with_mc_samples(64)
        .fit(&train, &device, |_, _| {})
        .unwrap();
    results.push(("Svgp".into(), svgp.evaluate(&test).unwrap()));
    for (name, m) in &results {
        println!(
            "{name}: accuracy {:.3} (Bayes {:.3}), NLL {:.3} (Bayes {:.3}), ECE {:.3}",
            m.accuracy, bayes.accuracy, m.nll, bayes.nll, m.ece
        );
        assert!(
            m.accuracy > bayes.accuracy - 0.06 && m.nll < bayes.nll + 0.12,
            "{name}: {m:?} vs Bayes accuracy {} NLL {}",
            bayes.accuracy,
            bayes.nll
        );
        let total: usize = m.reliability.iter().map(|b| b.count).sum();
        assert_eq!(total, test.len(), "{name}: every row falls in a bin");
    }
}
