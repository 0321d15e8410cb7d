//! Bad input at the models' boundary: empty sets, settings out of range, a single class,
//! shapes that do not fit the model, non-finite values. Each is a typed error naming the
//! problem, never a panic, a truncated result or a score of nothing.

use burn::tensor::Device;
use vi_models::ModelError;
use vi_models::classification::{
    BnnClassifier, BnnClassifierConfig, BnnClassifierNetConfig, BnnMethod,
    SvgpClassificationModelConfig, SvgpClassifierConfig,
};
use vi_models::data::{ClassificationTable, Rows, Table};
use vi_models::metrics::{MetricError, classification_metrics, gaussian_log_likelihood, rmse};
use vi_models::regression::{
    BbbNetConfig, BbbRegressorConfig, McDropoutNetConfig, McDropoutRegressor,
    McDropoutRegressorConfig, SvgpRegressionModelConfig, SvgpRegressor, SvgpRegressorConfig,
};
use vi_tests::{device_tests, three_blobs};

device_tests!(
    regressors_refuse_bad_input,
    classifiers_refuse_bad_input,
    settings_out_of_range_are_refused,
);

/// `n` rows of `d` features and a target each.
fn table(n: usize, d: usize) -> Table {
    let x: Vec<f64> = (0..n * d).map(|i| (i as f64 * 0.37).sin()).collect();
    let y = x.chunks(d).map(|r| r.iter().sum::<f64>()).collect();
    Table { x, y, d }
}

fn mc_dropout(train: &Table, device: &Device) -> McDropoutRegressor {
    McDropoutRegressorConfig::new(McDropoutNetConfig::new(4, 0.1, 10.0))
        .with_epochs(1)
        .with_mc_samples(3)
        .fit(train, device, |_, _| {})
        .unwrap()
}

fn svgp(train: &Table, device: &Device) -> SvgpRegressor {
    SvgpRegressorConfig::new()
        .with_model(SvgpRegressionModelConfig::new().with_num_inducing(4))
        .with_epochs(1)
        .fit(train, device, |_, _| {})
        .unwrap()
}

fn bnn(train: &ClassificationTable, device: &Device) -> BnnClassifier {
    BnnClassifierConfig::new(BnnClassifierNetConfig::new(BnnMethod::McDropout, vec![4]))
        .with_epochs(1)
        .with_mc_samples(3)
        .fit(train, device, |_, _| {})
        .unwrap()
}

fn message<T>(result: Result<T, ModelError>) -> String {
    match result {
        Ok(_) => panic!("bad input was accepted"),
        Err(error) => error.to_string(),
    }
}

fn regressors_refuse_bad_input(device: Device) {
    let train = table(24, 3);
    let mc = mc_dropout(&train, &device);
    let gp = svgp(&train, &device);

    // An empty test set is an error, not RMSE 0.
    let empty = table(0, 3);
    for error in [message(mc.evaluate(&empty)), message(gp.evaluate(&empty))] {
        assert_eq!(error, "no rows to score");
    }
    // Predicting at no rows is no prediction.
    assert!(mc.predict(empty.rows(), None).unwrap().mean.is_empty());
    assert!(gp.predict(empty.rows()).unwrap().mean.is_empty());
    // An empty training set.
    let error = message(
        McDropoutRegressorConfig::new(McDropoutNetConfig::new(4, 0.1, 10.0)).fit(
            &empty,
            &device,
            |_, _| {},
        ),
    );
    assert_eq!(error, "no training rows");

    // 4 × 6 values handed to a model of 3 features: refused, not 8 predictions.
    let wide = table(4, 6);
    for error in [
        message(mc.predict(wide.rows(), None)),
        message(gp.predict(wide.rows())),
        message(mc.evaluate(&wide)),
        message(gp.evaluate(&wide)),
    ] {
        assert_eq!(error, "the rows have 6 features; the model was fitted on 3");
    }
    // Values that are not whole rows.
    let error = message(mc.predict(Rows::new(&train.x[..7], 3), None));
    assert_eq!(error, "7 values are not rows of 3 features");
    // Targets that do not pair with the rows.
    let short = Table {
        y: train.y[..5].to_vec(),
        ..train.clone()
    };
    for error in [message(mc.evaluate(&short)), message(gp.evaluate(&short))] {
        assert_eq!(error, "5 targets for 24 rows");
    }
    let error = message(mc.predict(train.rows(), Some(&train.y[..5])));
    assert_eq!(error, "5 targets for 24 rows");

    // Non-finite inputs name their row and column.
    let mut nan = train.clone();
    nan.x[3 * 5 + 2] = f64::NAN;
    for error in [
        message(mc.predict(nan.rows(), None)),
        message(gp.predict(nan.rows())),
        message(
            SvgpRegressorConfig::new()
                .with_epochs(1)
                .fit(&nan, &device, |_, _| {}),
        ),
    ] {
        assert_eq!(
            error,
            "feature at row 5, column 2 is NaN; values must be finite"
        );
    }
    let mut infinite = train.clone();
    infinite.y[7] = f64::INFINITY;
    let error = message(mc.evaluate(&infinite));
    assert_eq!(
        error,
        "target at row 7, column 0 is inf; values must be finite"
    );
}

fn classifiers_refuse_bad_input(device: Device) {
    let (train, _) = three_blobs(3, 30);
    let model = bnn(&train, &device);

    // Labels of a single class, whatever its value: refused, though the table names 3.
    let one_class = ClassificationTable {
        labels: vec![2; train.len()],
        ..train.clone()
    };
    let error = message(
        BnnClassifierConfig::new(BnnClassifierNetConfig::new(
            BnnMethod::Deterministic,
            vec![4],
        ))
        .fit(&one_class, &device, |_, _| {}),
    );
    assert!(error.contains("1 classes"), "{error}");
    let error = message(
        SvgpClassifierConfig::new()
            .with_model(SvgpClassificationModelConfig::new().with_num_inducing(4))
            .fit(&one_class, &device, |_, _| {}),
    );
    assert!(error.contains("1 classes"), "{error}");

    // A label with no class.
    let mut stray = train.clone();
    stray.labels[4] = 7;
    let error = message(model.evaluate(&stray));
    assert_eq!(error, "label 7 of row 4 has no class: there are 3 classes");

    // An empty test set, a wrong number of labels, a wrong number of features.
    let empty = train.select(&[]);
    assert_eq!(message(model.evaluate(&empty)), "no rows to score");
    let short = ClassificationTable {
        labels: train.labels[..10].to_vec(),
        ..train.clone()
    };
    assert_eq!(message(model.evaluate(&short)), "10 labels for 30 rows");
    let wide = ClassificationTable {
        d: 3,
        x: train.x[..27].to_vec(),
        labels: train.labels[..9].to_vec(),
        ..train.clone()
    };
    assert_eq!(
        message(model.evaluate(&wide)),
        "the rows have 3 features; the model was fitted on 2"
    );
    let mut nan = train.clone();
    nan.x[1] = f64::NEG_INFINITY;
    assert_eq!(
        message(model.predict(nan.rows())),
        "feature at row 0, column 1 is -inf; values must be finite"
    );

    // Test fractions outside (0, 1).
    for fraction in [0.0, 1.0, 1.5, -0.2, f64::NAN] {
        let error = message(train.stratified_split(fraction, 0));
        assert!(
            error.contains("test fraction") && error.contains("(0, 1)"),
            "{error}"
        );
    }
}

fn settings_out_of_range_are_refused(device: Device) {
    let train = table(16, 2);
    let net = McDropoutNetConfig::new(4, 0.1, 10.0);
    let cases = [
        (
            message(
                McDropoutRegressorConfig::new(net.clone())
                    .with_epochs(0)
                    .fit(&train, &device, |_, _| {}),
            ),
            "epochs = 0 is out of range: it must be at least 1",
        ),
        (
            message(
                McDropoutRegressorConfig::new(net.clone())
                    .with_mc_samples(0)
                    .fit(&train, &device, |_, _| {}),
            ),
            "MC samples = 0 is out of range: it must be at least 1",
        ),
        (
            message(
                McDropoutRegressorConfig::new(net.clone())
                    .with_batch_size(0)
                    .fit(&train, &device, |_, _| {}),
            ),
            "batch size = 0 is out of range: it must be at least 1",
        ),
        (
            message(
                McDropoutRegressorConfig::new(McDropoutNetConfig::new(4, -0.1, 10.0)).fit(
                    &train,
                    &device,
                    |_, _| {},
                ),
            ),
            "dropout = -0.1 is out of range: it must be in [0, 1)",
        ),
        (
            message(BbbRegressorConfig::new(BbbNetConfig::new(4, f64::NAN)).fit(
                &train,
                &device,
                |_, _| {},
            )),
            "tau = NaN is out of range: it must be finite and > 0",
        ),
        (
            message(
                McDropoutRegressorConfig::new(net)
                    .with_learning_rate(f64::INFINITY)
                    .fit(&train, &device, |_, _| {}),
            ),
            "learning rate = inf is out of range: it must be finite and > 0",
        ),
        (
            message(
                SvgpRegressorConfig::new()
                    .with_model(SvgpRegressionModelConfig::new().with_num_inducing(0))
                    .fit(&train, &device, |_, _| {}),
            ),
            "inducing points = 0 is out of range: it must be at least 1",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}

/// Metrics of nothing, or of lists that do not pair up, are errors.
#[test]
fn metrics_refuse_nothing_and_mismatched_lengths() {
    assert_eq!(rmse(&[], &[]), Err(MetricError::Empty));
    assert_eq!(
        rmse(&[1.0, 2.0], &[1.0]).unwrap_err().to_string(),
        "2 predictions for 1 targets"
    );
    assert_eq!(
        gaussian_log_likelihood(&[0.0], &[1.0, 1.0], &[0.0])
            .unwrap_err()
            .to_string(),
        "2 predicted variances for 1 targets"
    );
    assert_eq!(
        classification_metrics(&[], 2, &[], 15),
        Err(MetricError::Empty)
    );
    assert_eq!(
        classification_metrics(&[0.5, 0.5, 0.5], 2, &[0, 1], 15)
            .unwrap_err()
            .to_string(),
        "3 probabilities for 4 targets"
    );
    assert_eq!(
        classification_metrics(&[0.5, 0.5], 2, &[2], 15)
            .unwrap_err()
            .to_string(),
        "label 2 of row 0 is not one of the 2 predicted classes"
    );
    assert!(classification_metrics(&[1.0], 1, &[0], 0).is_err());
}
