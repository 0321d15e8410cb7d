//! The Categorical Latent GP's ELBO against the dense computation and finite differences.

use crate::common::{N, P, Q, dense_elbo, model_from, parameters, softplus, tiny_table};
use burn::tensor::{Device, FloatDType, Tensor};
use vi_blocks::gp::kernel::{Rbf, ScaleKernel};
use vi_core::gradcheck::gradcheck;
use vi_models::clgp::{CategoricalObservations, Clgp};
use vi_models::data::CategoricalTable;
use vi_tests::{
    assert_all_close, by_dtype, device_tests, dtypes, gradcheck_config, noise, tensor, values,
};

device_tests!(clgp_elbo_matches_dense_computation, gradcheck_clgp,);

/// The model's ELBO terms equal the dense computation for fixed noise; an entry that turns
/// missing removes exactly its log-probability, and the all-missing row adds no KL(q(x)).
fn clgp_elbo_matches_dense_computation(device: Device) {
    for dtype in dtypes(&device) {
        let cx = DenseCase::new(&device, dtype);
        let got = terms_match_dense(&cx);
        hiding_an_entry(&cx, got[0]);
        observing_a_missing_row(&cx, got[2]);
    }
}

/// The tiny model, its parameters on the host, and fixed noise (`S = 3`) in one dtype.
struct DenseCase {
    device: Device,
    dtype: FloatDType,
    rtol: f64,
    table: CategoricalTable,
    model: Clgp<ScaleKernel<Rbf>>,
    host: Vec<Vec<f64>>,
    eps_x: Tensor<3>,
    eps_f: Tensor<2>,
    ex: Vec<f64>,
    ef: Vec<f64>,
}

impl DenseCase {
    fn new(device: &Device, dtype: FloatDType) -> Self {
        let device = device.clone();
        let rtol = by_dtype(dtype, 1e-9, 2e-4);
        let table = tiny_table();
        let params = parameters(&device, dtype);
        let model = model_from(&params);
        let s = 3;
        let (ex, ef) = (noise(7, s * N * Q), noise(8, s * N * P));
        let eps_x = tensor(
            ex.iter().map(|v| 1.5 * v).collect(),
            [s, N, Q],
            &device,
            dtype,
        );
        let eps_f = tensor(
            ef.iter().map(|v| 1.5 * v).collect(),
            [s * N, P],
            &device,
            dtype,
        );
        let host: Vec<Vec<f64>> = params.iter().map(|t| values(t.clone())).collect();
        let ex: Vec<f64> = ex.iter().map(|v| 1.5 * v).collect();
        let ef: Vec<f64> = ef.iter().map(|v| 1.5 * v).collect();
        Self {
            device,
            dtype,
            rtol,
            table,
            model,
            host,
            eps_x,
            eps_f,
            ex,
            ef,
        }
    }
}

/// The model's ELBO terms and ELBO equal the dense computation; returns the three terms.
fn terms_match_dense(cx: &DenseCase) -> [f64; 3] {
    let (device, dtype, rtol) = (cx.device.clone(), cx.dtype, cx.rtol);
    let model = &cx.model;
    let (table, host) = (cx.table.clone(), cx.host.clone());
    let (ex, ef) = (cx.ex.clone(), cx.ef.clone());
    let (eps_x, eps_f) = (cx.eps_x.clone(), cx.eps_f.clone());
    let data = CategoricalObservations::new(&table, &device);
    let terms = model
        .elbo_with_noise(&data, eps_x.clone(), eps_f.clone())
        .unwrap();
    let expected = dense_elbo(&host, &table, &ex, &ef);
    let got = [
        values(terms.expected_log_likelihood.clone())[0],
        values(terms.kl_inducing.clone())[0],
        values(terms.kl_latent.clone())[0],
    ];
    for (name, (g, e)) in ["ell", "kl_u", "kl_x"].iter().zip(got.iter().zip(expected)) {
        assert_all_close(&format!("{name} {dtype:?}"), &[*g], &[e], rtol, rtol);
    }
    let elbo = values(terms.elbo())[0];
    assert_all_close(
        "elbo",
        &[elbo],
        &[expected[0] - expected[1] - expected[2]],
        rtol,
        rtol,
    );
    got
}

/// Hide entry (0, 1): the ELL loses exactly that entry's term.
fn hiding_an_entry(cx: &DenseCase, ell: f64) {
    let (device, rtol) = (cx.device.clone(), cx.rtol);
    let model = &cx.model;
    let (table, host) = (cx.table.clone(), cx.host.clone());
    let (ex, ef) = (cx.ex.clone(), cx.ef.clone());
    let (eps_x, eps_f) = (cx.eps_x.clone(), cx.eps_f.clone());
    let mut fewer = table.clone();
    fewer.hide(0, 1);
    let fewer_terms = model
        .elbo_with_noise(
            &CategoricalObservations::new(&fewer, &device),
            eps_x.clone(),
            eps_f.clone(),
        )
        .unwrap();
    let expected_fewer = dense_elbo(&host, &fewer, &ex, &ef);
    let got_fewer = values(fewer_terms.expected_log_likelihood)[0];
    assert_all_close(
        "ell without (0, 1)",
        &[got_fewer],
        &[expected_fewer[0]],
        rtol,
        rtol,
    );
    assert!(
        (got_fewer - ell).abs() > 1e-3,
        "hiding an entry changed nothing"
    );
}

/// Row 3 is all missing: observing one of its entries adds its KL(q(x₃)) (> 0 here).
fn observing_a_missing_row(cx: &DenseCase, kl_x: f64) {
    let (device, rtol) = (cx.device.clone(), cx.rtol);
    let model = &cx.model;
    let (table, host) = (cx.table.clone(), cx.host.clone());
    let (eps_x, eps_f) = (cx.eps_x.clone(), cx.eps_f.clone());
    let mut more = table.clone();
    more.codes[3 * 2] = Some(1);
    let more_terms = model
        .elbo_with_noise(&CategoricalObservations::new(&more, &device), eps_x, eps_f)
        .unwrap();
    let row3: f64 = (0..Q)
        .map(|q| {
            let (m, s) = (host[0][3 * Q + q], softplus(host[1][3 * Q + q]));
            0.5 * (s * s + m * m - 1.0) - s.ln()
        })
        .sum();
    assert!(row3 > 0.1);
    assert_all_close(
        "kl_x with row 3",
        &[values(more_terms.kl_latent)[0]],
        &[kl_x + row3],
        rtol,
        rtol,
    );
}

/// Finite differences of the ELBO (fixed noise) with respect to every parameter: `q(X)`'s means
/// and scales, `Z`, `q(U)`, the kernel and the mean.
fn gradcheck_clgp(device: Device) {
    let ad = device.autodiff();
    let config = gradcheck_config(&ad);
    let dtype = config.dtype;
    let table = tiny_table();
    let data = CategoricalObservations::new(&table, &ad);
    let s = 2;
    let eps_x = tensor(noise(9, s * N * Q), [s, N, Q], &ad, dtype);
    let eps_f = tensor(noise(10, s * N * P), [s * N, P], &ad, dtype);
    let report = gradcheck(
        |v| {
            model_from(&v)
                .elbo_with_noise(&data, eps_x.clone(), eps_f.clone())
                .unwrap()
                .elbo()
        },
        &parameters(&ad, dtype),
        &config,
    );
    assert!(report.passed(), "clgp:\n{report}");
}
