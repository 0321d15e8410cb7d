//! The SVGP layer: finite differences, families and strategies that describe the same `q(f)`,
//! singular inducing points, and the ELBO with one read of `K_zz`'s check.

use crate::common::{DynSvgp, GradientPairs, layer_from, param, strategy};
use burn::module::Module;
use burn::tensor::{Device, FloatDType, Tensor};
use vi_blocks::dtype::with_dtype;
use vi_blocks::gp::kernel::{RbfConfig, ScaleKernelConfig};
use vi_blocks::gp::likelihood::{GaussianLikelihood, Likelihood};
use vi_blocks::gp::{
    DeepGpConfig, GaussianMarginals, GpError, InducingDistribution, InducingFamily, Svgp,
    SvgpConfig, VariationalFamily,
};
use vi_core::elbo::{Elbo, ElboError};
use vi_core::gradcheck::gradcheck;
use vi_core::linalg::LinalgError;
use vi_tests::{
    assert_all_close, by_dtype, device_tests, dtypes, gradcheck_config, noise, tensor, values,
};

device_tests!(
    gradcheck_svgp_layer,
    svgp_families_and_strategies_agree,
    singular_inducing_points,
    svgp_elbo_checks_with_one_read,
);

/// Finite differences of the layer's ELBO terms (Gaussian ELL + KL) with respect to the inducing
/// points, `m`, `S`'s factor, the kernel's raw hyper-parameters and the mean, for both strategies
/// and both families, with two outputs sharing the inducing points.
fn gradcheck_svgp_layer(device: Device) {
    let ad = device.autodiff();
    let config = gradcheck_config(&ad);
    let dtype = config.dtype;
    let (n, m, d, p) = (5, 3, 2, 2);
    let x = tensor(noise(31, n * d), [n, d], &ad, dtype);
    let y = tensor(noise(32, n * p), [n, p], &ad, dtype);
    let mut chol = noise(33, p * m * m)
        .iter()
        .map(|v| 0.3 * v)
        .collect::<Vec<_>>();
    for o in 0..p {
        for i in 0..m {
            // Some diagonal entries negative: q(u)'s columns are flipped to a positive diagonal.
            let sign = if (o + i) % 2 == 1 { -1.0 } else { 1.0 };
            chol[o * m * m + i * m + i] = sign * (0.8 + 0.1 * i as f64);
        }
    }
    let inputs = vec![
        tensor(
            noise(34, m * d).iter().map(|v| 1.5 * v).collect(),
            [1, m, d],
            &ad,
            dtype,
        ),
        tensor(noise(35, p * m), [1, p, m], &ad, dtype),
        tensor(chol, [p, m, m], &ad, dtype),
        tensor(vec![0.1, -0.2], [1, 1, d], &ad, dtype),
        tensor(vec![0.3], [1, 1, 1], &ad, dtype),
        tensor(vec![0.2, -0.1], [1, 1, p], &ad, dtype),
    ];
    let likelihood = GaussianLikelihood {
        noise_raw: param(tensor(vec![0.0], [1], &ad, dtype)),
        noise_floor: 1e-4,
    };
    for whiten in [true, false] {
        for family in [VariationalFamily::FullRank, VariationalFamily::MeanField] {
            let report = gradcheck(
                |v| {
                    let layer = layer_from(&v, whiten, family);
                    let out = layer.forward(x.clone()).unwrap();
                    // One shared noise for both outputs: the fused sum's shared path.
                    likelihood.expected_log_likelihood_sum(&out.f, y.clone()) - out.kl
                },
                &inputs,
                &config,
            );
            assert!(
                report.passed(),
                "svgp whiten={whiten} {family:?}:\n{report}"
            );
        }
    }
}

/// The whitened and unwhitened strategies describe the same `q(f)` when `q(v)` and `q(u)`
/// correspond (`u = L v`); mean field equals full rank with a diagonal factor; shared and
/// separate inducing points agree when the separate ones are equal; the joint predictive's
/// diagonal equals the marginals.
fn svgp_families_and_strategies_agree(device: Device) {
    for dtype in dtypes(&device) {
        let cx = Agreement::new(&device, dtype);
        mean_field_is_diagonal_full_rank(&cx);
        column_signs_do_not_matter(&cx);
        unwhitened_equals_whitened(&cx);
        separate_equals_shared_inducing_points(&cx);
        joint_matches_marginals(&cx);
    }
}

/// Sizes `(n, m, d, p)` of the agreement checks.
const SIZES: (usize, usize, usize, usize) = (7, 4, 2, 2);

/// Inputs and layer parameters (a diagonal factor) of the agreement checks in one dtype.
struct Agreement {
    device: Device,
    dtype: FloatDType,
    rtol: f64,
    atol: f64,
    x: Tensor<2>,
    v: Vec<Tensor<3>>,
}

impl Agreement {
    fn new(device: &Device, dtype: FloatDType) -> Self {
        let device = device.clone();
        let (rtol, atol) = by_dtype(dtype, (1e-9, 1e-10), (2e-3, 2e-4));
        let (n, m, d, p) = SIZES;
        let x = tensor(noise(41, n * d), [n, d], &device, dtype);
        let mut diag_chol = vec![0.0; p * m * m];
        for o in 0..p {
            for i in 0..m {
                diag_chol[o * m * m + i * m + i] = 0.5 + 0.2 * i as f64 + 0.1 * o as f64;
            }
        }
        let v = vec![
            tensor(
                noise(42, m * d).iter().map(|v| 1.5 * v).collect(),
                [1, m, d],
                &device,
                dtype,
            ),
            tensor(noise(43, p * m), [1, p, m], &device, dtype),
            tensor(diag_chol, [p, m, m], &device, dtype),
            tensor(vec![0.3, 0.1], [1, 1, d], &device, dtype),
            tensor(vec![0.2], [1, 1, 1], &device, dtype),
            tensor(vec![0.5, -0.5], [1, 1, p], &device, dtype),
        ];
        Self {
            device,
            dtype,
            rtol,
            atol,
            x,
            v,
        }
    }

    /// The whitened full-rank layer.
    fn whitened(&self) -> DynSvgp {
        layer_from(&self.v, true, VariationalFamily::FullRank)
    }
}

/// Mean field equals full rank with a diagonal factor.
fn mean_field_is_diagonal_full_rank(cx: &Agreement) {
    let (v, x, rtol, atol) = (&cx.v, cx.x.clone(), cx.rtol, cx.atol);
    let whitened = cx.whitened();
    let f_w = whitened.forward(x.clone()).unwrap();
    let mean_field = layer_from(v, true, VariationalFamily::MeanField);
    let f_mf = mean_field.forward(x.clone()).unwrap();
    assert_all_close(
        "mean field = diagonal full rank (mean)",
        &values(f_mf.f.mean.clone()),
        &values(f_w.f.mean.clone()),
        rtol,
        atol,
    );
    assert_all_close(
        "mean field = diagonal full rank (var)",
        &values(f_mf.f.variance),
        &values(f_w.f.variance.clone()),
        rtol,
        atol,
    );
    assert_all_close(
        "mean field = diagonal full rank (kl)",
        &values(f_mf.kl),
        &values(f_w.kl.clone()),
        rtol,
        atol,
    );
}

/// A factor with negative diagonal entries: S = L Lᵀ does not change when a column's sign
/// flips, so neither may the marginals or the KL (both strategies).
fn column_signs_do_not_matter(cx: &Agreement) {
    let (v, x, rtol, atol) = (&cx.v, cx.x.clone(), cx.rtol, cx.atol);
    let (device, dtype) = (cx.device.clone(), cx.dtype);
    let (_, m, _, p) = SIZES;
    let mut lower = values(v[2].clone());
    let extra = noise(44, p * m * m);
    for o in 0..p {
        for i in 0..m {
            for j in 0..i {
                lower[o * m * m + i * m + j] = 0.3 * extra[o * m * m + i * m + j];
            }
        }
    }
    let flipped: Vec<f64> = (0..p * m * m)
        .map(|idx| {
            if idx % m % 2 == 0 {
                -lower[idx]
            } else {
                lower[idx]
            }
        })
        .collect();
    for whiten in [true, false] {
        let with = |factor: &[f64]| {
            let mut layer = layer_from(v, whiten, VariationalFamily::FullRank);
            let factor = tensor(factor.to_vec(), [p, m, m], &device, dtype);
            if let InducingFamily::FullRank(q) = &mut layer.variational {
                q.scale_raw = param(factor);
            }
            let out = layer.forward(x.clone()).unwrap();
            [values(out.f.mean), values(out.f.variance), values(out.kl)].concat()
        };
        assert_all_close(
            &format!("column signs of q(u)'s factor, whiten={whiten}"),
            &with(&flipped),
            &with(&lower),
            rtol,
            atol,
        );
    }
}

/// Unwhitened with u = m(Z) + L_zz v: m_u = m(Z) + L m_v, L_u = L_zz L_v.
fn unwhitened_equals_whitened(cx: &Agreement) {
    let (v, x, rtol, atol) = (&cx.v, cx.x.clone(), cx.rtol, cx.atol);
    let (_, m, _, p) = SIZES;
    let whitened = cx.whitened();
    let f_w = whitened.forward(x.clone()).unwrap();
    let prior = whitened.inducing_prior().unwrap();
    let lz = prior.cholesky.clone().expand([p, m, m]);
    let m_u = prior.mean.clone()
        + lz.clone()
            .matmul(whitened.variational.loc().reshape([p, m, 1]))
            .reshape([p, m]);
    let l_u = lz.matmul(v[2].clone());
    let mut unwhitened = layer_from(v, false, VariationalFamily::FullRank);
    if let InducingFamily::FullRank(q) = &mut unwhitened.variational {
        q.loc = param(m_u);
        q.scale_raw = param(l_u);
    }
    let f_u = unwhitened.forward(x.clone()).unwrap();
    assert_all_close(
        "unwhitened = whitened (mean)",
        &values(f_u.f.mean.clone()),
        &values(f_w.f.mean.clone()),
        rtol,
        atol,
    );
    // The whitened predictive adds the jitter to k(x, x); the unwhitened does not.
    let var_w: Vec<f64> = values(f_w.f.variance.clone())
        .iter()
        .map(|v| v - 1e-6)
        .collect();
    assert_all_close(
        "unwhitened = whitened (var)",
        &values(f_u.f.variance),
        &var_w,
        rtol.max(1e-6),
        atol.max(1e-6),
    );
    assert_all_close(
        "unwhitened = whitened (kl)",
        &values(f_u.kl),
        &values(f_w.kl.clone()),
        rtol.max(1e-6),
        atol.max(1e-6),
    );
}

/// Separate inducing points equal to the shared ones.
fn separate_equals_shared_inducing_points(cx: &Agreement) {
    let (v, x, rtol, atol) = (&cx.v, cx.x.clone(), cx.rtol, cx.atol);
    let (_, m, d, p) = SIZES;
    let f_w = cx.whitened().forward(x.clone()).unwrap();
    let mut separate = layer_from(v, true, VariationalFamily::FullRank);
    separate.inducing_points = param(v[0].clone().expand([p, m, d]));
    let f_s = separate.forward(x.clone()).unwrap();
    assert_all_close(
        "separate = shared inducing points",
        &values(f_s.f.variance),
        &values(f_w.f.variance.clone()),
        rtol,
        atol,
    );
}

/// Joint predictive: diagonal = marginals, mean = marginal mean.
fn joint_matches_marginals(cx: &Agreement) {
    let (x, rtol, atol) = (cx.x.clone(), cx.rtol, cx.atol);
    let (n, _, _, p) = SIZES;
    let whitened = cx.whitened();
    let f_w = whitened.forward(x.clone()).unwrap();
    let joint = whitened.predict_joint(x.clone()).unwrap();
    let cov = values(joint.covariance.clone());
    let var = values(f_w.f.variance.clone());
    for o in 0..p {
        let diag: Vec<f64> = (0..n).map(|i| cov[o * n * n + i * n + i]).collect();
        let marg: Vec<f64> = (0..n).map(|i| var[i * p + o]).collect();
        assert_all_close("joint diagonal", &diag, &marg, rtol, atol);
    }
    assert!(joint.distribution().is_ok());
    assert_all_close(
        "joint mean",
        &values(joint.mean.swap_dims(0, 1)),
        &values(f_w.f.mean),
        rtol,
        atol,
    );
}

/// Duplicated inducing points make `K_zz` singular: with no base jitter the layer adds some and
/// reports it; NaN inducing points and wrong input widths are typed errors.
fn singular_inducing_points(device: Device) {
    let dtype = dtypes(&device)[0];
    // Three copies of the origin under a unit-variance kernel: K_zz is exactly the all-ones matrix.
    let z = Tensor::<2>::zeros([3, 2], (&device, dtype.into()));
    let kernel = RbfConfig::new(2).init(&device);
    let gp = with_dtype(
        SvgpConfig::new(2, 3)
            .with_jitter(Some(0.0))
            .init(kernel, &device),
        dtype,
    )
    .with_inducing_points(z.clone());
    let out = gp
        .forward(tensor(noise(51, 8), [4, 2], &device, dtype))
        .unwrap();
    assert!(
        out.extra_jitter[0] > 0.0,
        "no jitter reported: {:?}",
        out.extra_jitter
    );
    assert!(values(out.f.variance).iter().all(|v| v.is_finite()));

    let z = tensor(vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.5], [3, 2], &device, dtype);
    let bad = z.clone().mask_fill(z.clone().equal_elem(1.0), f64::NAN);
    let gp = gp.with_inducing_points(bad);
    match gp.forward(tensor(noise(52, 8), [4, 2], &device, dtype)) {
        Err(GpError::InducingCovariance(LinalgError::NonFinite { batch_index: 0 })) => {}
        other => panic!("expected NonFinite K_zz, got {other:?}"),
    }
    let kernel = ScaleKernelConfig::new().init(RbfConfig::new(2).init(&device), &device);
    let gp = with_dtype(SvgpConfig::new(2, 3).init(kernel, &device), dtype);
    let err = gp
        .forward(tensor(noise(53, 9), [3, 3], &device, dtype))
        .unwrap_err();
    assert!(matches!(err, GpError::ShapeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("2 columns"), "{err}");
}

/// `Svgp::elbo` (`K_zz`'s check read with the ELBO's) against `forward` then
/// `Elbo::from_terms`: the same value, terms and gradients in every parameter (whitened full
/// rank, unwhitened mean field); a singular `K_zz` is recomputed with jitter and reported;
/// NaN inducing points, a NaN likelihood and wrong input widths give typed errors; `DeepGp::elbo`
/// recomputes through `forward` when a layer's `K_zz` needs jitter.
fn svgp_elbo_checks_with_one_read(device: Device) {
    let ad = device.clone().autodiff();
    for dtype in dtypes(&device) {
        let cx = OneRead::new(&ad, dtype);
        for (whiten, family) in [
            (true, VariationalFamily::FullRank),
            (false, VariationalFamily::MeanField),
        ] {
            elbo_matches_forward(&cx, whiten, family);
        }
        singular_and_bad_input(&cx);
        deep_gp_recomputes_a_singular_layer(&cx);
    }
}

/// Data, likelihood and ELBO of the one-read checks in one dtype (on an autodiff device).
struct OneRead {
    ad: Device,
    dtype: FloatDType,
    tol: f64,
    x: Tensor<2>,
    y: Tensor<2>,
    lik: GaussianLikelihood,
    elbo: Elbo,
}

impl OneRead {
    fn new(ad: &Device, dtype: FloatDType) -> Self {
        use vi_blocks::gp::likelihood::GaussianLikelihoodConfig;
        let ad = ad.clone();
        let tol = by_dtype(dtype, 1e-10, 2e-5);
        let x = tensor(noise(62, 20), [10, 2], &ad, dtype);
        let y = tensor(noise(63, 10), [10, 1], &ad, dtype);
        let lik = with_dtype(GaussianLikelihoodConfig::new().init(&ad), dtype);
        let elbo = Elbo::new(40).with_batch_size(10);
        Self {
            ad,
            dtype,
            tol,
            x,
            y,
            lik,
            elbo,
        }
    }
}

/// `Svgp::elbo` against `forward` then `Elbo::from_terms`: value, terms and gradients; the
/// deferred forward against the checked one.
fn elbo_matches_forward(cx: &OneRead, whiten: bool, family: VariationalFamily) {
    let (ad, dtype, tol, x, y) = (cx.ad.clone(), cx.dtype, cx.tol, cx.x.clone(), cx.y.clone());
    let (lik, elbo) = (&cx.lik, &cx.elbo);
    let ell = |f: &GaussianMarginals| lik.expected_log_likelihood_sum(f, y.clone());
    let label = format!("whiten={whiten} {family:?} [{dtype:?}]");
    let kernel = ScaleKernelConfig::new().init(RbfConfig::new(2).init(&ad), &ad);
    let gp = with_dtype(
        SvgpConfig::new(2, 6).init_with(kernel, family.standard(1, 6, &ad), strategy(whiten), &ad),
        dtype,
    )
    .with_inducing_points(tensor(noise(61, 12), [6, 2], &ad, dtype));
    let step = gp.elbo(x.clone(), elbo, ell).unwrap();
    assert_eq!(step.output.extra_jitter, vec![0.0]);
    let out = gp.forward(x.clone()).unwrap();
    assert!(out.guard.is_none(), "forward checks its factor");
    let deferred = gp.forward_deferred(x.clone()).unwrap();
    let guard = values(deferred.guard.expect("an unread guard"));
    assert!(
        guard.len() == 1 && guard[0].is_finite(),
        "{label}: guard {guard:?}"
    );
    for (name, got, want) in [
        ("mean", &deferred.f.mean, &out.f.mean),
        ("variance", &deferred.f.variance, &out.f.variance),
    ] {
        let (got, want) = (values(got.clone()), values(want.clone()));
        assert_all_close(&format!("{label} deferred {name}"), &got, &want, tol, tol);
    }
    let want = elbo.from_terms(ell(&out.f), out.kl.clone()).unwrap();
    let (got_value, want_value) = (step.terms.value.unwrap(), want.value.unwrap());
    assert_all_close(
        &format!("{label} value"),
        &[got_value],
        &[want_value],
        tol,
        tol,
    );
    for (name, got, want) in [
        ("ELBO", &step.terms.elbo, &want.elbo),
        ("KL", &step.terms.kl, &want.kl),
        (
            "expected log-likelihood",
            &step.terms.expected_log_likelihood,
            &want.expected_log_likelihood,
        ),
    ] {
        assert_all_close(
            &format!("{label} {name}"),
            &values(got.clone()),
            &values(want.clone()),
            tol,
            tol,
        );
    }
    let (g1, g2) = (step.terms.loss().backward(), want.loss().backward());
    let mut pairs = Vec::new();
    let mut visitor = GradientPairs {
        grads: (&g1, &g2),
        pairs: &mut pairs,
    };
    gp.visit(&mut visitor);
    lik.visit(&mut visitor);
    assert!(pairs.len() >= 6, "{label}: {} parameters", pairs.len());
    for (i, (got, want)) in pairs.iter().enumerate() {
        assert_all_close(&format!("{label} gradient {i}"), got, want, tol, tol);
    }
}

/// Three copies of the origin under a unit-variance kernel and no base jitter: the optimistic
/// factor fails, the step is recomputed with retries and reports the jitter; NaN inducing
/// points, a NaN likelihood and wrong input widths give typed errors.
fn singular_and_bad_input(cx: &OneRead) {
    let (ad, dtype, tol, x, y) = (cx.ad.clone(), cx.dtype, cx.tol, cx.x.clone(), cx.y.clone());
    let (lik, elbo) = (&cx.lik, &cx.elbo);
    let ell = |f: &GaussianMarginals| lik.expected_log_likelihood_sum(f, y.clone());
    let singular = with_dtype(
        SvgpConfig::new(2, 3)
            .with_jitter(Some(0.0))
            .init(RbfConfig::new(2).init(&ad), &ad),
        dtype,
    )
    .with_inducing_points(Tensor::<2>::zeros([3, 2], (&ad, dtype.into())));
    let deferred = singular.forward_deferred(x.clone()).unwrap();
    assert_eq!(deferred.extra_jitter, vec![0.0], "nothing retried");
    assert!(!values(deferred.guard.unwrap())[0].is_finite());
    assert!(values(deferred.f.mean).iter().any(|m| m.is_nan()));
    let step = singular.elbo(x.clone(), elbo, ell).unwrap();
    assert!(
        step.output.extra_jitter[0] > 0.0,
        "{:?}",
        step.output.extra_jitter
    );
    let out = singular.forward(x.clone()).unwrap();
    assert_eq!(step.output.extra_jitter, out.extra_jitter);
    let want = elbo.from_terms(ell(&out.f), out.kl).unwrap().value.unwrap();
    let got = step.terms.value.unwrap();
    assert_all_close("recomputed value", &[got], &[want], tol, tol);
    assert!(want.is_finite());

    let z = tensor(vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.5], [3, 2], &ad, dtype);
    let nan_z = singular.with_inducing_points(z.clone().mask_fill(z.equal_elem(1.0), f64::NAN));
    match nan_z.elbo(x.clone(), elbo, ell) {
        Err(GpError::InducingCovariance(LinalgError::NonFinite { batch_index: 0 })) => {}
        other => panic!("expected NonFinite K_zz, got {other:?}"),
    }
    let kernel = ScaleKernelConfig::new().init(RbfConfig::new(2).init(&ad), &ad);
    let gp = with_dtype(SvgpConfig::new(2, 4).init(kernel, &ad), dtype);
    match gp.elbo(x.clone(), elbo, |f| ell(f) * f64::NAN) {
        Err(GpError::Elbo(ElboError::NonFinite {
            term: "expected log-likelihood",
            ..
        })) => {}
        other => panic!("expected a non-finite expected log-likelihood, got {other:?}"),
    }
    let wide = tensor(noise(64, 30), [10, 3], &ad, dtype);
    assert!(matches!(
        gp.elbo(wide, elbo, ell),
        Err(GpError::ShapeMismatch { .. })
    ));
}

/// A deep GP whose first layer has coincident inducing points and no base jitter: its guard, not
/// the last layer's, has to bring the step back to the checked path.
fn deep_gp_recomputes_a_singular_layer(cx: &OneRead) {
    let (ad, dtype, x, y) = (cx.ad.clone(), cx.dtype, cx.x.clone(), cx.y.clone());
    let (lik, elbo) = (&cx.lik, &cx.elbo);
    let mut dgp = with_dtype(
        DeepGpConfig::new(vec![2, 2, 1], 3).init(|d| RbfConfig::new(d).init(&ad), &ad),
        dtype,
    );
    let first = dgp.layers.remove(0);
    let first = Svgp {
        jitter: Some(0.0),
        ..first
    };
    dgp.layers.insert(
        0,
        first.with_inducing_points(Tensor::<2>::zeros([3, 2], (&ad, dtype.into()))),
    );
    let samples = 4;
    let ys = y.clone().repeat_dim(0, samples);
    let step = dgp
        .elbo(x.clone(), samples, elbo, |f| {
            lik.expected_log_likelihood_sum(f, ys.clone()) / samples as f64
        })
        .unwrap();
    let value = step.terms.value.unwrap();
    assert!(value.is_finite(), "deep GP ELBO {value}");
    assert!(values(step.output.f.variance).iter().all(|v| v.is_finite()));
    assert_eq!(step.output.f.mean.dims(), [samples * 10, 1]);
}
