//! Checkpoints of every fitted model on every compiled backend: saved and loaded again, a model
//! predicts bit-identically for the same seed.
//!
//! Burn's random number generator is process-wide per backend, so a seeded replay needs the
//! backend's generator to itself: these tests live in their own binary, one per backend, with no
//! other test drawing random numbers beside them.

use burn::tensor::Device;
use vi_models::Checkpoint;
use vi_models::classification::{
    BnnClassifier, BnnClassifierConfig, BnnClassifierNetConfig, BnnMethod,
    SvgpClassificationModelConfig, SvgpClassifier, SvgpClassifierConfig,
};
use vi_models::data::Table;
use vi_models::regression::{
    BbbNetConfig, BbbRegressor, BbbRegressorConfig, ConcreteDropoutNetConfig,
    ConcreteDropoutRegressor, ConcreteDropoutRegressorConfig, McDropoutNetConfig,
    McDropoutRegressor, McDropoutRegressorConfig, SvgpRegressionModelConfig, SvgpRegressor,
    SvgpRegressorConfig,
};
use vi_tests::{device_tests, three_blobs};

device_tests!(checkpoints_restore_identical_predictions);

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "vi-models-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every fitted model saved and loaded again (on the same device, a fresh skeleton) gives
/// bit-identical predictions for the same seed; a checkpoint of another model type is refused
/// with an error naming the file.
fn checkpoints_restore_identical_predictions(device: Device) {
    // The bulk sampler replays under `device.seed`, across chunks of its generator.
    let draw = |seed| {
        device.seed(seed);
        let like = burn::tensor::Tensor::<2>::zeros([3, 20_000], &device);
        vi_tests::values(vi_core::random::random_like(
            &like,
            burn::tensor::Distribution::Normal(0.0, 1.0),
        ))
    };
    let first = draw(3);
    assert_eq!(first, draw(3), "same seed, same draws");
    assert_ne!(first, draw(4), "another seed, other draws");
    let x: Vec<f64> = (0..48).map(|i| i as f64 / 12.0).collect();
    let regression = Table {
        y: x.iter().map(|v| v.sin()).collect(),
        x,
        d: 1,
    };
    let (classes, _) = three_blobs(5, 48);
    let dir = temp_dir("checkpoint");
    let same = |before: Vec<f64>, after: Vec<f64>, what: &str| {
        assert_eq!(before, after, "{what}: predictions after loading");
    };
    let seeded = |f: &dyn Fn() -> Vec<f64>| {
        device.seed(17);
        f()
    };

    let m = McDropoutRegressorConfig::new(McDropoutNetConfig::new(8, 0.1, 50.0))
        .with_epochs(2)
        .with_mc_samples(10)
        .fit(&regression, &device, |_, _| {})
        .unwrap();
    m.save(dir.join("mc")).unwrap();
    let l = McDropoutRegressor::load(dir.join("mc"), &device).unwrap();
    let p = |m: &McDropoutRegressor| m.predict(regression.rows(), None).unwrap().mean;
    same(seeded(&|| p(&m)), seeded(&|| p(&l)), "MC dropout");

    let m = ConcreteDropoutRegressorConfig::new(ConcreteDropoutNetConfig::new(8, 50.0))
        .with_epochs(2)
        .with_mc_samples(10)
        .fit(&regression, &device, |_, _| {})
        .unwrap();
    m.save(dir.join("concrete")).unwrap();
    let l = ConcreteDropoutRegressor::load(dir.join("concrete"), &device).unwrap();
    let p = |m: &ConcreteDropoutRegressor| m.predict(regression.rows(), None).unwrap().mean;
    same(seeded(&|| p(&m)), seeded(&|| p(&l)), "concrete dropout");

    let m = BbbRegressorConfig::new(BbbNetConfig::new(8, 50.0).with_learn_noise(true))
        .with_epochs(2)
        .with_mc_samples(10)
        .fit(&regression, &device, |_, _| {})
        .unwrap();
    m.save(dir.join("bbb")).unwrap();
    let l = BbbRegressor::load(dir.join("bbb"), &device).unwrap();
    assert_eq!(l.tau, m.tau, "the learned noise precision");
    let p = |m: &BbbRegressor| m.predict(regression.rows(), None).unwrap().mean;
    same(seeded(&|| p(&m)), seeded(&|| p(&l)), "BBB");

    let m = SvgpRegressorConfig::new()
        .with_model(SvgpRegressionModelConfig::new().with_num_inducing(6))
        .with_epochs(2)
        .fit(&regression, &device, |_, _| {})
        .unwrap();
    m.save(dir.join("svgp")).unwrap();
    let l = SvgpRegressor::load(dir.join("svgp"), &device).unwrap();
    let p = |m: &SvgpRegressor| m.predict(regression.rows()).unwrap().variance;
    same(seeded(&|| p(&m)), seeded(&|| p(&l)), "SVGP regression");

    let m = BnnClassifierConfig::new(BnnClassifierNetConfig::new(BnnMethod::Bbb, vec![8]))
        .with_epochs(2)
        .with_mc_samples(10)
        .fit(&classes, &device, |_, _| {})
        .unwrap();
    m.save(dir.join("bnn-classifier")).unwrap();
    let l = BnnClassifier::load(dir.join("bnn-classifier"), &device).unwrap();
    let p = |m: &BnnClassifier| m.predict(classes.rows()).unwrap().probabilities;
    same(seeded(&|| p(&m)), seeded(&|| p(&l)), "BNN classifier");

    let m = SvgpClassifierConfig::new()
        .with_model(SvgpClassificationModelConfig::new().with_num_inducing(6))
        .with_epochs(2)
        .with_mc_samples(16)
        .fit(&classes, &device, |_, _| {})
        .unwrap();
    m.save(dir.join("svgp-classifier")).unwrap();
    let l = SvgpClassifier::load(dir.join("svgp-classifier"), &device).unwrap();
    let p = |m: &SvgpClassifier| m.predict(classes.rows()).unwrap().probabilities;
    same(seeded(&|| p(&m)), seeded(&|| p(&l)), "SVGP classifier");

    let wrong = BbbRegressor::load(dir.join("svgp"), &device).unwrap_err();
    assert!(
        wrong.to_string().contains("model.json") && wrong.to_string().contains("SvgpRegressor"),
        "{wrong}"
    );
    corrupted_checkpoints_are_refused(&dir, &device);
    std::fs::remove_dir_all(&dir).ok();
}

/// The checkpoints saved above (`mc`, `concrete`, `bbb`), damaged the ways a disk or a user
/// damages them: each load fails with an error naming the file, where before the damage it
/// loads.
fn corrupted_checkpoints_are_refused(dir: &std::path::Path, device: &Device) {
    let load_mc = |name: &str| McDropoutRegressor::load(dir.join(name), device);
    let copy = |from: &str, to: &str| {
        let target = dir.join(to);
        std::fs::create_dir_all(&target).unwrap();
        for file in ["model.bpk", "model.json"] {
            std::fs::copy(dir.join(from).join(file), target.join(file)).unwrap();
        }
    };
    // Saving leaves the two files and no temporary one.
    let mut files: Vec<String> = std::fs::read_dir(dir.join("mc"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["model.bpk", "model.json"]);

    // One flipped bit in the middle of the parameters (the file keeps its length).
    copy("mc", "flipped");
    let path = dir.join("flipped").join("model.bpk");
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let error = load_mc("flipped").unwrap_err().to_string();
    assert!(
        error.contains("model.bpk") && error.contains("SHA-256"),
        "{error}"
    );

    // A truncated parameter file.
    copy("mc", "truncated");
    let path = dir.join("truncated").join("model.bpk");
    std::fs::write(&path, &bytes[..middle]).unwrap();
    let error = load_mc("truncated").unwrap_err().to_string();
    assert!(error.contains("model.bpk"), "{error}");

    // The settings of one model with the parameters of another of the same type and shape
    // (as a crash between writing the two files would leave them).
    let other = McDropoutRegressorConfig::new(McDropoutNetConfig::new(8, 0.1, 50.0))
        .with_epochs(1)
        .with_mc_samples(10)
        .with_seed(99)
        .fit(
            &Table {
                x: vec![0.0, 1.0, 2.0],
                y: vec![1.0, 0.0, 1.0],
                d: 1,
            },
            device,
            |_, _| {},
        )
        .unwrap();
    other.save(dir.join("other")).unwrap();
    copy("mc", "swapped");
    std::fs::copy(
        dir.join("other").join("model.bpk"),
        dir.join("swapped").join("model.bpk"),
    )
    .unwrap();
    assert!(load_mc("mc").is_ok() && load_mc("other").is_ok());
    let error = load_mc("swapped").unwrap_err().to_string();
    assert!(
        error.contains("model.bpk") && error.contains("another checkpoint"),
        "{error}"
    );

    // Settings edited to another architecture: the shapes no longer match the record.
    copy("mc", "edited");
    let path = dir.join("edited").join("model.json");
    let json = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, json.replacen("\"hidden\": 8", "\"hidden\": 9", 1)).unwrap();
    let error = load_mc("edited").unwrap_err().to_string();
    assert!(
        error.contains("model.json") && error.contains("shapes"),
        "{error}"
    );

    // A settings file without the parameters' record (written by hand, or by an older version).
    copy("mc", "unrecorded");
    let path = dir.join("unrecorded").join("model.json");
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    value.as_object_mut().unwrap().remove("parameters");
    std::fs::write(&path, value.to_string()).unwrap();
    let error = load_mc("unrecorded").unwrap_err().to_string();
    assert!(error.contains("parameter digest"), "{error}");
}
