//! Invalid parameters and shapes give typed errors.

use burn::tensor::{Device, FloatDType, Tensor};
use vi_core::distributions::{
    Distribution, DistributionError, LowRankMultivariateNormal, MultivariateNormal, Normal,
};
use vi_core::elbo::{Elbo, ElboError};
use vi_core::kl::KlDivergence;
use vi_core::linalg::LinalgError;
use vi_core::mean_field::kl_to_normal;
use vi_tests::{assert_all_close, device_tests, dtypes, random_spd, tensor, values};

device_tests!(bad_input_errors,);

/// Invalid parameters and shapes give typed errors that name the problem.
fn bad_input_errors(device: Device) {
    let dtype = dtypes(&device)[0];
    distribution_parameter_errors(&device, dtype);
    mvn_errors(&device, dtype);
    elbo_errors(&device, dtype);
}

/// Mean-field KL and Normal parameters: mismatched shapes, a negative scale, a NaN location.
fn distribution_parameter_errors(device: &Device, dtype: FloatDType) {
    let t = |v: Vec<f64>, n: usize| tensor(v, [n], device, dtype);
    match kl_to_normal(t(vec![0.0; 3], 3), t(vec![0.0; 4], 4), t(vec![1.0], 1)) {
        Err(DistributionError::ShapeMismatch { reason, .. }) => {
            assert!(reason.contains("[3]") && reason.contains("[4]"), "{reason}")
        }
        other => panic!("mean-field KL of mismatched shapes: {other:?}"),
    }
    match Normal::new(t(vec![0.0, 1.0], 2), t(vec![1.0, -1.0], 2)) {
        Err(DistributionError::InvalidParameter {
            parameter: "scale",
            reason,
            ..
        }) => assert!(reason.contains("1 of 2"), "{reason}"),
        other => panic!("negative scale: {other:?}"),
    }
    match Normal::new(t(vec![f64::NAN, 1.0], 2), t(vec![1.0, 1.0], 2)) {
        Err(DistributionError::InvalidParameter {
            parameter: "loc", ..
        }) => {}
        other => panic!("NaN loc: {other:?}"),
    }
    assert!(matches!(
        Normal::new(t(vec![0.0; 3], 3), t(vec![1.0; 2], 2)),
        Err(DistributionError::ShapeMismatch { .. })
    ));
}

/// MVN and low-rank parameters, values and KLs of the wrong shape or not positive definite.
fn mvn_errors(device: &Device, dtype: FloatDType) {
    let device = device.clone();
    let t = |v: Vec<f64>, n: usize| tensor(v, [n], &device, dtype);
    // A non-PD covariance in batch element 1.
    let mut cov = random_spd(3, 2, 3, 0.5);
    cov[9..18].copy_from_slice(&[1.0, 2.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    match MultivariateNormal::from_covariance(
        tensor(vec![0.0; 6], [2, 3], &device, dtype),
        tensor(cov, [2, 3, 3], &device, dtype),
    ) {
        Err(DistributionError::Linalg(LinalgError::NotPositiveDefinite {
            batch_index: 1, ..
        })) => {}
        other => panic!("non-PD covariance: {other:?}"),
    }
    let l = tensor(vec![1.0, 0.0, 0.5, -1.0], [2, 2], &device, dtype);
    match MultivariateNormal::new(t(vec![0.0, 0.0], 2), l) {
        Err(DistributionError::InvalidParameter {
            parameter: "scale_tril (diagonal)",
            ..
        }) => {}
        other => panic!("negative diagonal: {other:?}"),
    }
    assert!(matches!(
        MultivariateNormal::new(
            t(vec![0.0; 3], 3),
            tensor(vec![1.0; 4], [2, 2], &device, dtype)
        ),
        Err(DistributionError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        LowRankMultivariateNormal::new(
            t(vec![0.0; 2], 2),
            tensor(vec![1.0; 2], [2, 1], &device, dtype),
            t(vec![1.0, 0.0], 2)
        ),
        Err(DistributionError::InvalidParameter {
            parameter: "cov_diag",
            ..
        })
    ));
    // A value whose event shape is wrong.
    let mvn = MultivariateNormal::new(
        t(vec![0.0; 2], 2),
        tensor(vec![1.0, 0.0, 0.0, 1.0], [2, 2], &device, dtype),
    )
    .unwrap();
    assert!(matches!(
        mvn.log_prob::<2, 1>(tensor(vec![0.0; 6], [2, 3], &device, dtype)),
        Err(DistributionError::ShapeMismatch { .. })
    ));
    // KL between different event shapes.
    let normal = Normal::new(t(vec![0.0; 3], 3), t(vec![1.0; 3], 3))
        .unwrap()
        .to_event(1)
        .unwrap();
    assert!(matches!(
        mvn.kl::<1>(&normal),
        Err(DistributionError::ShapeMismatch { .. })
    ));
}

/// NaN in the objective is caught and named; non-finite terms; invalid batch sizes and particle
/// counts.
fn elbo_errors(device: &Device, dtype: FloatDType) {
    let device = device.clone();
    let t = |v: Vec<f64>, n: usize| tensor(v, [n], &device, dtype);
    let mvn = MultivariateNormal::new(
        t(vec![0.0; 2], 2),
        tensor(vec![1.0, 0.0, 0.0, 1.0], [2, 2], &device, dtype),
    )
    .unwrap();
    let prior = Normal::new(t(vec![0.0; 2], 2), t(vec![1.0; 2], 2))
        .unwrap()
        .to_event(1)
        .unwrap();
    let nan_ll = |w: Tensor<2>| w.sum_dim(1).squeeze_dim::<1>(1) * f64::NAN;
    match Elbo::new(4).estimate(&mvn, &prior, nan_ll) {
        Err(ElboError::NonFinite {
            term: "expected log-likelihood",
            ..
        }) => {}
        other => panic!("NaN likelihood: {other:?}"),
    }
    // Terms combined elsewhere: a non-finite KL is named, even at KL weight 0.
    let scalar = |v: f64| t(vec![v], 1);
    for (weight, kl) in [(1.0, f64::NAN), (0.0, f64::INFINITY)] {
        match Elbo::new(4)
            .with_kl_weight(weight)
            .from_terms(scalar(-1.0), scalar(kl))
        {
            Err(ElboError::NonFinite { term: "KL", .. }) => {}
            other => panic!("non-finite KL at weight {weight}: {other:?}"),
        }
    }
    let terms = Elbo::new(4)
        .with_batch_size(2)
        .from_terms(scalar(-1.0), scalar(0.5))
        .unwrap();
    assert_all_close(
        "from_terms ELBO",
        &values(terms.elbo),
        &[-2.0 - 0.5],
        1e-6,
        1e-6,
    );
    assert!(matches!(
        Elbo::new(4)
            .with_batch_size(8)
            .estimate(&mvn, &prior, |w: Tensor<2>| w.sum_dim(1).squeeze_dim(1)),
        Err(ElboError::Invalid { .. })
    ));
    assert!(matches!(
        Elbo::new(4)
            .with_num_particles(3)
            .estimate(&mvn, &prior, |w: Tensor<2>| w.sum()),
        Err(ElboError::Invalid { .. })
    ));
}
