//! vi-core's distributions, KL divergences, special functions and ELBO estimators against golden
//! values (torch.distributions, float64), statrs, closed forms, finite differences and Monte Carlo
//! estimates with standard-error tolerances, on every compiled backend.

use burn::tensor::{Device, FloatDType, Tensor};
use vi_core::distributions::{
    Bernoulli, Categorical, Delta, Distribution, DistributionError, LowRankMultivariateNormal,
    MultivariateNormal, Normal, Reparameterized,
};
use vi_core::elbo::{Elbo, ElboError, Estimator};
use vi_core::gradcheck::gradcheck;
use vi_core::gradient_variance::{ParameterGroup, gradient_variance};
use vi_core::kl::{KlDivergence, kl_monte_carlo, kl_to_standard_normal};
use vi_core::likelihood::{gaussian_expected_log_likelihood, gaussian_log_likelihood};
use vi_core::linalg::LinalgError;
use vi_core::mean_field::{
    MeanFieldDraw, kl_to_normal, kl_to_normal_pair, sample as mean_field_sample, sampled_linear,
};
use vi_core::random::{random, random_like};
use vi_core::special::{
    digamma, digamma_f64, lgamma, lgamma_f64, log_sigmoid, logsumexp, softplus, softplus_log_scale,
};
use vi_tests::{
    Golden, assert_all_close, assert_close, by_dtype, device_tests, dtypes, gradcheck_config,
    noise, random_spd, tensor, tolerance, values,
};

device_tests!(
    golden_distributions,
    golden_kl,
    special_functions,
    kl_closed_forms_without_golden,
    monte_carlo_moments_entropy_kl,
    kl_properties,
    gradcheck_densities_and_kl,
    elbo_estimators_agree,
    sticking_the_landing,
    bad_input_errors,
    bulk_random_tensors,
    mean_field_sample_op,
    mean_field_sampled_linear_op,
    gaussian_log_likelihood_op,
    gaussian_expected_log_likelihood_op,
    kl_to_standard_normal_op,
);

/// `ln √(2π)`.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Every case of `distributions.json`: log_prob, entropy, covariance and gradients of
/// `Σ log_prob` with respect to every input.
fn golden_distributions(device: Device) {
    let golden = Golden::load("distributions.json");
    let ad = device.clone().autodiff();
    for dtype in dtypes(&device) {
        for case in golden.cases() {
            // Batch element 1 of this case is an f64-only stress case (see the golden README).
            if dtype != FloatDType::F64 && case.name() == "mvn_scale_tril_batched" {
                continue;
            }
            let name = format!("{} [{dtype:?}]", case.name());
            let check = |label: &str, got: Vec<f64>, gradient: bool| {
                let want = case.output(label);
                let (rtol, atol) = tolerance(&case, &want, dtype, gradient);
                assert_close(&format!("{name} {label}"), &got, &want, rtol, atol);
            };
            let input = |key: &str| case.input(key);
            match case.name() {
                "normal_broadcast" => {
                    let loc = input("loc").to_tensor::<1>(&ad, dtype).require_grad();
                    let scale = input("scale").to_tensor::<1>(&ad, dtype).require_grad();
                    let x = input("x").to_tensor::<2>(&ad, dtype).require_grad();
                    let d = Normal::new(loc.clone(), scale.clone()).unwrap();
                    let lp: Tensor<2> = d.log_prob(x.clone()).unwrap();
                    let grads = lp.clone().sum().backward();
                    check("log_prob", values(lp.clone()), false);
                    check("log_prob_sum", values(lp.sum()), false);
                    check("entropy", values(d.entropy::<1>()), false);
                    check("grad_loc", values(loc.grad(&grads).unwrap()), true);
                    check("grad_scale", values(scale.grad(&grads).unwrap()), true);
                    check("grad_x", values(x.grad(&grads).unwrap()), true);
                }
                n if n.starts_with("mvn_scale_tril") => {
                    let batched = n.ends_with("batched");
                    let (lp, entropy, cov, grads_of) = if batched {
                        let loc = input("loc").to_tensor::<2>(&ad, dtype).require_grad();
                        let l = input("scale_tril")
                            .to_tensor::<3>(&ad, dtype)
                            .require_grad();
                        let x = input("x").to_tensor::<3>(&ad, dtype).require_grad();
                        let d = MultivariateNormal::new(loc.clone(), l.clone()).unwrap();
                        let lp: Tensor<2> = d.log_prob(x.clone()).unwrap();
                        let grads = lp.clone().sum().backward();
                        (
                            values(lp),
                            values(d.entropy::<1>()),
                            values(d.covariance::<3>()),
                            [
                                values(loc.grad(&grads).unwrap()),
                                values(l.grad(&grads).unwrap()),
                                values(x.grad(&grads).unwrap()),
                            ],
                        )
                    } else {
                        let loc = input("loc").to_tensor::<1>(&ad, dtype).require_grad();
                        let l = input("scale_tril")
                            .to_tensor::<2>(&ad, dtype)
                            .require_grad();
                        let x = input("x").to_tensor::<2>(&ad, dtype).require_grad();
                        let d = MultivariateNormal::new(loc.clone(), l.clone()).unwrap();
                        let lp: Tensor<1> = d.log_prob(x.clone()).unwrap();
                        let grads = lp.clone().sum().backward();
                        (
                            values(lp),
                            values(d.entropy::<1>()),
                            values(d.covariance::<2>()),
                            [
                                values(loc.grad(&grads).unwrap()),
                                values(l.grad(&grads).unwrap()),
                                values(x.grad(&grads).unwrap()),
                            ],
                        )
                    };
                    check("log_prob_sum", vec![lp.iter().sum()], false);
                    check("log_prob", lp, false);
                    check("entropy", entropy, false);
                    check("covariance_matrix", cov, false);
                    let [gl, gs, gx] = grads_of;
                    check("grad_loc", gl, true);
                    check("grad_scale_tril", gs, true);
                    check("grad_x", gx, true);
                }
                "lowrank_mvn_batched" => {
                    let loc = input("loc").to_tensor::<2>(&ad, dtype).require_grad();
                    let w = input("cov_factor")
                        .to_tensor::<3>(&ad, dtype)
                        .require_grad();
                    let diag = input("cov_diag").to_tensor::<2>(&ad, dtype).require_grad();
                    let x = input("x").to_tensor::<3>(&ad, dtype).require_grad();
                    let d = LowRankMultivariateNormal::new(loc.clone(), w.clone(), diag.clone())
                        .unwrap();
                    let lp: Tensor<2> = d.log_prob(x.clone()).unwrap();
                    let grads = lp.clone().sum().backward();
                    check("log_prob", values(lp.clone()), false);
                    check("log_prob_sum", values(lp.sum()), false);
                    check("entropy", values(d.entropy::<1>()), false);
                    check("covariance_matrix", values(d.covariance::<3>()), false);
                    check("grad_loc", values(loc.grad(&grads).unwrap()), true);
                    check("grad_cov_factor", values(w.grad(&grads).unwrap()), true);
                    check("grad_cov_diag", values(diag.grad(&grads).unwrap()), true);
                    check("grad_x", values(x.grad(&grads).unwrap()), true);
                }
                other => panic!("unknown golden case {other}"),
            }
        }
    }
}

/// Every case of `kl.json`: values and gradients w.r.t. both sides.
fn golden_kl(device: Device) {
    let golden = Golden::load("kl.json");
    let ad = device.clone().autodiff();
    for dtype in dtypes(&device) {
        for case in golden.cases() {
            let name = format!("{} [{dtype:?}]", case.name());
            let check = |label: &str, got: Vec<f64>, gradient: bool| {
                let want = case.output(label);
                let (rtol, atol) = tolerance(&case, &want, dtype, gradient);
                assert_close(&format!("{name} {label}"), &got, &want, rtol, atol);
            };
            let leaf1 = |key: &str| case.input(key).to_tensor::<1>(&ad, dtype).require_grad();
            let leaf2 = |key: &str| case.input(key).to_tensor::<2>(&ad, dtype).require_grad();
            let leaf3 = |key: &str| case.input(key).to_tensor::<3>(&ad, dtype).require_grad();
            match case.name() {
                "normal_normal" => {
                    let (pl, ps, ql, qs) = (
                        leaf1("p_loc"),
                        leaf1("p_scale"),
                        leaf1("q_loc"),
                        leaf1("q_scale"),
                    );
                    let p = Normal::new(pl.clone(), ps.clone()).unwrap();
                    let q = Normal::new(ql.clone(), qs.clone()).unwrap();
                    let kl: Tensor<1> = p.kl(&q).unwrap();
                    let grads = kl.clone().sum().backward();
                    check("kl", values(kl.clone()), false);
                    check("kl_sum", values(p.kl_sum(&q).unwrap()), false);
                    for (key, t) in [
                        ("p_loc", &pl),
                        ("p_scale", &ps),
                        ("q_loc", &ql),
                        ("q_scale", &qs),
                    ] {
                        check(
                            &format!("grad_{key}"),
                            values(t.grad(&grads).unwrap()),
                            true,
                        );
                    }
                }
                "mvn_mvn_full" => {
                    let (pl, ps, ql, qs) = (
                        leaf2("p_loc"),
                        leaf3("p_scale_tril"),
                        leaf2("q_loc"),
                        leaf3("q_scale_tril"),
                    );
                    let p = MultivariateNormal::new(pl.clone(), ps.clone()).unwrap();
                    let q = MultivariateNormal::new(ql.clone(), qs.clone()).unwrap();
                    let kl: Tensor<1> = p.kl(&q).unwrap();
                    let grads = kl.clone().sum().backward();
                    check("kl", values(kl), false);
                    check("kl_sum", values(p.kl_sum(&q).unwrap()), false);
                    check("grad_p_loc", values(pl.grad(&grads).unwrap()), true);
                    check("grad_p_scale_tril", values(ps.grad(&grads).unwrap()), true);
                    check("grad_q_loc", values(ql.grad(&grads).unwrap()), true);
                    check("grad_q_scale_tril", values(qs.grad(&grads).unwrap()), true);
                }
                "mvn_standard_normal" => {
                    // MVN ‖ N(0, I) as a diagonal Normal with event [M]: the whitened SVGP KL.
                    let (loc, l) = (leaf1("loc"), leaf2("scale_tril"));
                    let m = loc.dims()[0];
                    let q = MultivariateNormal::new(loc.clone(), l.clone()).unwrap();
                    let options = (&ad, dtype.into());
                    let prior = Normal::new(
                        Tensor::<1>::zeros([m], options),
                        Tensor::<1>::ones([m], options),
                    )
                    .unwrap()
                    .to_event(1)
                    .unwrap();
                    let kl: Tensor<1> = q.kl(&prior).unwrap();
                    let grads = kl.clone().backward();
                    check("kl", values(kl), false);
                    check("grad_loc", values(loc.grad(&grads).unwrap()), true);
                    check("grad_scale_tril", values(l.grad(&grads).unwrap()), true);
                }
                "lowrank_mvn_to_mvn" => {
                    let (pl, pw, pd, ql, qs) = (
                        leaf1("p_loc"),
                        leaf2("p_cov_factor"),
                        leaf1("p_cov_diag"),
                        leaf1("q_loc"),
                        leaf2("q_scale_tril"),
                    );
                    let p =
                        LowRankMultivariateNormal::new(pl.clone(), pw.clone(), pd.clone()).unwrap();
                    let q = MultivariateNormal::new(ql.clone(), qs.clone()).unwrap();
                    let kl: Tensor<1> = p.kl(&q).unwrap();
                    let grads = kl.clone().backward();
                    check("kl", values(kl), false);
                    check("grad_p_loc", values(pl.grad(&grads).unwrap()), true);
                    check("grad_p_cov_factor", values(pw.grad(&grads).unwrap()), true);
                    check("grad_p_cov_diag", values(pd.grad(&grads).unwrap()), true);
                    check("grad_q_loc", values(ql.grad(&grads).unwrap()), true);
                    check("grad_q_scale_tril", values(qs.grad(&grads).unwrap()), true);
                }
                n if n.starts_with("meanfield_to_normal_prior") => {
                    // A mean-field posterior over a 4×3 weight matrix, σ = softplus(ρ), against
                    // a scalar prior expanded to the weights (Pyro's `expand(..).to_event(2)`).
                    let (mu, rho) = (leaf2("mu"), leaf2("rho"));
                    let sigma = softplus(rho.clone());
                    let [r, c] = mu.dims();
                    let prior = Normal::new(
                        tensor(case.input("prior_loc").data, [1], &ad, dtype),
                        tensor(case.input("prior_scale").data, [1], &ad, dtype),
                    )
                    .unwrap()
                    .expand(&[r, c])
                    .unwrap();
                    let q = Normal::new(mu.clone(), sigma.clone()).unwrap();
                    let elementwise: Tensor<2> = q.kl(&prior).unwrap();
                    check("kl_elementwise", values(elementwise), false);
                    check("sigma", values(sigma.clone()), false);
                    let q = q.to_event(2).unwrap();
                    let kl: Tensor<1> = q.kl(&prior.to_event(2).unwrap()).unwrap();
                    let grads = kl.clone().backward();
                    check("kl", values(kl), false);
                    check("grad_mu", values(mu.grad(&grads).unwrap()), true);
                    check("grad_rho", values(rho.grad(&grads).unwrap()), true);
                }
                other => panic!("unknown golden case {other}"),
            }
        }
    }
}

/// lgamma/digamma against statrs (tensor and `f64` versions), the tensor gradient of lgamma
/// against digamma, and the stable functions at extreme arguments against host formulas.
fn special_functions(device: Device) {
    let dtype = dtypes(&device)[0];
    let (rtol, atol) = by_dtype(dtype, (1e-13, 1e-13), (2e-5, 2e-5));
    let xs: Vec<f64> = (0..60).map(|i| 0.05 * 1.2f64.powi(i)).collect(); // 0.05 … ~2.5e3
    for &x in &xs {
        let (lg, dg) = (
            statrs::function::gamma::ln_gamma(x),
            statrs::function::gamma::digamma(x),
        );
        assert!(
            (lgamma_f64(x) - lg).abs() <= 1e-13 * (1.0 + lg.abs()),
            "lgamma_f64({x})"
        );
        assert!(
            (digamma_f64(x) - dg).abs() <= 1e-13 * (1.0 + dg.abs()),
            "digamma_f64({x})"
        );
    }
    for &x in &[-0.5, -1.5, -2.25, 0.3] {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        let reflected = lgamma_f64(x) + lgamma_f64(1.0 - x);
        let want = (std::f64::consts::PI / (std::f64::consts::PI * x).sin())
            .abs()
            .ln();
        assert!((reflected - want).abs() < 1e-12, "lgamma reflection at {x}");
        let dg = digamma_f64(1.0 - x) - digamma_f64(x);
        let want = std::f64::consts::PI / (std::f64::consts::PI * x).tan();
        assert!((dg - want).abs() < 1e-11, "digamma reflection at {x}");
    }
    let ad = device.clone().autodiff();
    let x = tensor(xs.clone(), [xs.len()], &ad, dtype).require_grad();
    let lg = lgamma(x.clone());
    let grads = lg.clone().sum().backward();
    let want_lg: Vec<f64> = xs
        .iter()
        .map(|&x| statrs::function::gamma::ln_gamma(x))
        .collect();
    let want_dg: Vec<f64> = xs
        .iter()
        .map(|&x| statrs::function::gamma::digamma(x))
        .collect();
    let scale = |w: &[f64]| w.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    assert_all_close(
        "lgamma",
        &values(lg),
        &want_lg,
        rtol,
        atol * scale(&want_lg),
    );
    assert_all_close(
        "d lgamma / dx",
        &values(x.grad(&grads).unwrap()),
        &want_dg,
        rtol,
        atol * scale(&want_dg),
    );
    assert_all_close(
        "digamma",
        &values(digamma(x.detach())),
        &want_dg,
        rtol,
        atol * scale(&want_dg),
    );

    // softplus / log_sigmoid / logsumexp at extremes, against host f64 formulas.
    let z = vec![
        -800.0, -40.0, -17.5, -1.0, 0.0, 1e-3, 1.0, 17.5, 40.0, 800.0,
    ];
    let zt = tensor(z.clone(), [z.len()], &device, dtype);
    let sp = |v: f64| {
        if v > 0.0 {
            v + (-v).exp().ln_1p()
        } else {
            v.exp().ln_1p()
        }
    };
    let want: Vec<f64> = z.iter().map(|&v| sp(v)).collect();
    let got = values(softplus(zt.clone()));
    assert_all_close("softplus", &got, &want, rtol, 1e-300);
    // Its derivative σ(x), also tiny (not 0) far left and exactly 1 far right.
    let zd = tensor(z.clone(), [z.len()], &ad, dtype).require_grad();
    let grads = softplus(zd.clone()).sum().backward();
    let sigmoid = |v: f64| (-sp(-v)).exp();
    let want: Vec<f64> = z.iter().map(|&v| sigmoid(v)).collect();
    assert_all_close(
        "d softplus / dx",
        &values(zd.grad(&grads).unwrap()),
        &want,
        rtol,
        1e-300,
    );
    // ½ ln(softplus(x) + floor) and its derivative ½ σ(x) / (softplus(x) + floor), with a
    // floor and (where softplus stays positive in f64) without.
    for floor in [1e-4, 0.0] {
        let z: Vec<f64> = z
            .iter()
            .copied()
            .filter(|&v| floor > 0.0 || v > -100.0)
            .collect();
        let zd = tensor(z.clone(), [z.len()], &ad, dtype).require_grad();
        let y = softplus_log_scale(zd.clone(), floor);
        let grads = (y.clone() * tensor(vec![1.5; z.len()], [z.len()], &ad, dtype))
            .sum()
            .backward();
        let want: Vec<f64> = z.iter().map(|&v| 0.5 * (sp(v) + floor).ln()).collect();
        assert_all_close(
            &format!("softplus_log_scale floor={floor}"),
            &values(y),
            &want,
            rtol,
            1e-300,
        );
        let want: Vec<f64> = z
            .iter()
            .map(|&v| 1.5 * 0.5 * sigmoid(v) / (sp(v) + floor))
            .collect();
        assert_all_close(
            &format!("d softplus_log_scale / dx floor={floor}"),
            &values(zd.grad(&grads).unwrap()),
            &want,
            rtol,
            1e-300,
        );
    }
    let want: Vec<f64> = z.iter().map(|&v| -sp(-v)).collect();
    assert_all_close(
        "log_sigmoid",
        &values(log_sigmoid(zt.clone())),
        &want,
        rtol,
        1e-300,
    );
    let rows = [
        vec![1000.0, 1000.0, 999.0],
        vec![-1000.0, -1001.0, -2000.0],
        vec![0.5, -0.25, 2.0],
    ];
    let flat: Vec<f64> = rows.concat();
    let got = values(logsumexp(tensor(flat, [3, 3], &device, dtype), 1));
    let want: Vec<f64> = rows
        .iter()
        .map(|r| {
            let m = r.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            m + r.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
        })
        .collect();
    assert_all_close("logsumexp", &got, &want, rtol, 1e-12);
    let all_neg_inf = tensor(vec![f64::NEG_INFINITY; 2], [1, 2], &device, dtype);
    assert_eq!(values(logsumexp(all_neg_inf, 1)), vec![f64::NEG_INFINITY]);
}

/// Random inputs of a given shape, scaled and shifted.
fn rand<const D: usize>(
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
fn rand_tril(seed: u64, batch: usize, n: usize, device: &Device, dtype: FloatDType) -> Tensor<3> {
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

/// The closed forms the golden file does not cover, against independent paths: LowRank ‖ Normal
/// through the dense covariance (MVN ‖ Normal), and Bernoulli/Categorical against host formulas.
fn kl_closed_forms_without_golden(device: Device) {
    let dtype = dtypes(&device)[0];
    let (rtol, atol) = by_dtype(dtype, (1e-10, 1e-10), (1e-4, 1e-4));
    let (b, n, k) = (3, 5, 2);
    let loc = rand(1, [b, n], &device, dtype, 1.0, 0.0);
    let w = rand(2, [b, n, k], &device, dtype, 0.7, 0.0);
    let d = rand(3, [b, n], &device, dtype, 0.3, 0.6);
    let low_rank = LowRankMultivariateNormal::new(loc.clone(), w, d).unwrap();
    let dense = MultivariateNormal::from_covariance(loc, low_rank.covariance::<3>()).unwrap();
    let q = Normal::new(
        rand(4, [b, n], &device, dtype, 0.5, 0.0),
        rand(5, [b, n], &device, dtype, 0.2, 1.0),
    )
    .unwrap()
    .to_event(1)
    .unwrap();
    let got = values(low_rank.kl::<1>(&q).unwrap());
    let want = values(dense.kl::<1>(&q).unwrap());
    assert_all_close("KL(LowRank ‖ Normal) vs dense", &got, &want, rtol, atol);
    // log_prob and entropy of the low-rank form against the dense one.
    let x = rand(6, [4, b, n], &device, dtype, 2.0, 0.0);
    assert_all_close(
        "LowRank log_prob vs dense",
        &values(low_rank.log_prob::<3, 2>(x.clone()).unwrap()),
        &values(dense.log_prob::<3, 2>(x).unwrap()),
        rtol,
        atol,
    );
    assert_all_close(
        "LowRank entropy vs dense",
        &values(low_rank.entropy::<1>()),
        &values(dense.entropy::<1>()),
        rtol,
        atol,
    );

    // from_precision: the covariance is the inverse of the precision.
    let precision = tensor(random_spd(31, 2, 4, 0.7), [2, 4, 4], &device, dtype);
    let loc = rand(32, [2, 4], &device, dtype, 1.0, 0.0);
    let from_precision =
        MultivariateNormal::from_precision(loc.clone(), precision.clone()).unwrap();
    let identity: Vec<f64> = values(from_precision.covariance::<3>().matmul(precision));
    let eye: Vec<f64> = (0..32)
        .map(|i| if i % 16 % 5 == 0 { 1.0 } else { 0.0 })
        .collect();
    assert_all_close(
        "from_precision: Σ Λ = I",
        &identity,
        &eye,
        rtol,
        10.0 * atol,
    );

    let (lp, lq) = (
        noise(7, 6).iter().map(|v| v * 6.0).collect::<Vec<_>>(),
        noise(8, 6).iter().map(|v| v * 6.0).collect::<Vec<_>>(),
    );
    let p = Bernoulli::new(tensor(lp.clone(), [2, 3], &device, dtype)).unwrap();
    let q = Bernoulli::new(tensor(lq.clone(), [2, 3], &device, dtype)).unwrap();
    let sig = |l: f64| 1.0 / (1.0 + (-l).exp());
    let want: Vec<f64> = lp
        .iter()
        .zip(&lq)
        .map(|(&a, &b)| {
            let (p, q) = (sig(a), sig(b));
            p * (p / q).ln() + (1.0 - p) * ((1.0 - p) / (1.0 - q)).ln()
        })
        .collect();
    let x = vec![1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
    let want_lp: Vec<f64> = lp
        .iter()
        .zip(&x)
        .map(|(&l, &x)| {
            if x == 1.0 {
                sig(l).ln()
            } else {
                (1.0 - sig(l)).ln()
            }
        })
        .collect();
    assert_all_close(
        "Bernoulli log_prob",
        &values(
            p.log_prob::<2, 2>(tensor(x, [2, 3], &device, dtype))
                .unwrap(),
        ),
        &want_lp,
        rtol,
        atol,
    );
    assert_all_close(
        "KL(Bernoulli ‖ Bernoulli)",
        &values(p.kl::<2>(&q).unwrap()),
        &want,
        rtol,
        atol,
    );

    let (c, batch) = (4, 3);
    let (lp, lq) = (
        noise(9, batch * c),
        noise(10, batch * c)
            .iter()
            .map(|v| v * 3.0)
            .collect::<Vec<_>>(),
    );
    let p = Categorical::new(tensor(lp.clone(), [batch, c], &device, dtype)).unwrap();
    let q = Categorical::new(tensor(lq.clone(), [batch, c], &device, dtype)).unwrap();
    let softmax = |l: &[f64]| {
        let z: f64 = l.iter().map(|v| v.exp()).sum();
        l.iter().map(|v| v.exp() / z).collect::<Vec<_>>()
    };
    let want: Vec<f64> = (0..batch)
        .map(|i| {
            let (pp, qq) = (
                softmax(&lp[i * c..(i + 1) * c]),
                softmax(&lq[i * c..(i + 1) * c]),
            );
            pp.iter().zip(&qq).map(|(a, b)| a * (a / b).ln()).sum()
        })
        .collect();
    assert_all_close(
        "KL(Categorical ‖ Categorical)",
        &values(p.kl::<1>(&q).unwrap()),
        &want,
        rtol,
        atol,
    );
    let h: Vec<f64> = (0..batch)
        .map(|i| {
            -softmax(&lp[i * c..(i + 1) * c])
                .iter()
                .map(|a| a * a.ln())
                .sum::<f64>()
        })
        .collect();
    assert_all_close(
        "Categorical entropy",
        &values(p.entropy::<1>()),
        &h,
        rtol,
        atol,
    );
}

/// Mean and standard error of samples.
fn mean_se(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Asserts `|estimate − want| ≤ 5 s.e. + slack` (slack covers f32 rounding).
fn assert_within_se(label: &str, samples: &[f64], want: f64, slack: f64) {
    let (mean, se) = mean_se(samples);
    assert!(
        (mean - want).abs() <= 5.0 * se + slack,
        "{label}: Monte Carlo mean {mean} ± {se} (s.e.) vs {want}"
    );
}

/// `rsample` moments, entropy vs −E[log q], closed-form KL vs Monte Carlo KL, sampled Bernoulli and
/// Categorical frequencies: all within 5 standard errors.
fn monte_carlo_moments_entropy_kl(device: Device) {
    device.seed(20261125);
    let dtype = dtypes(&device)[0];
    let slack = by_dtype(dtype, 1e-9, 1e-3);
    let s = 4000;
    let (b, n, k) = (2, 3, 2);
    let loc = rand(11, [b, n], &device, dtype, 1.0, 0.0);
    let mvn = MultivariateNormal::new(loc.clone(), rand_tril(12, b, n, &device, dtype)).unwrap();
    let low_rank = LowRankMultivariateNormal::new(
        loc.clone(),
        rand(13, [b, n, k], &device, dtype, 0.8, 0.0),
        rand(14, [b, n], &device, dtype, 0.2, 0.5),
    )
    .unwrap();
    let normal = Normal::new(loc, rand(15, [b, n], &device, dtype, 0.3, 1.0))
        .unwrap()
        .to_event(1)
        .unwrap();

    // Moments: every coordinate's sample mean and variance.
    fn moments<T: Reparameterized>(label: &str, d: &T, s: usize, slack: f64) {
        let x: Tensor<3> = d.rsample(s);
        let [_, b, n] = x.dims();
        let xs = values(x);
        let (mean, var) = (values(d.mean::<2>()), values(d.variance::<2>()));
        for j in 0..b * n {
            let col: Vec<f64> = (0..s).map(|i| xs[i * b * n + j]).collect();
            assert_within_se(&format!("{label} mean[{j}]"), &col, mean[j], slack);
            let sq: Vec<f64> = col.iter().map(|v| (v - mean[j]).powi(2)).collect();
            assert_within_se(&format!("{label} variance[{j}]"), &sq, var[j], slack);
        }
    }
    moments("MVN", &mvn, s, slack);
    moments("LowRank", &low_rank, s, slack);
    moments("Normal", &normal, s, slack);

    // Entropy = −E[log q].
    fn entropy<T: Reparameterized>(label: &str, d: &T, s: usize, slack: f64) {
        let lp = values(d.log_prob::<3, 2>(d.sample::<3>(s)).unwrap());
        let h = values(d.entropy::<1>());
        let b = h.len();
        for (j, &hj) in h.iter().enumerate() {
            let col: Vec<f64> = (0..s).map(|i| -lp[i * b + j]).collect();
            assert_within_se(&format!("{label} entropy[{j}]"), &col, hj, slack);
        }
    }
    entropy("MVN", &mvn, s, slack);
    entropy("LowRank", &low_rank, s, slack);
    entropy("Normal", &normal, s, slack);

    // Closed-form KL = E_p[log p − log q].
    fn kl_mc<P: Reparameterized + KlDivergence<Q>, Q: Distribution>(
        label: &str,
        p: &P,
        q: &Q,
        s: usize,
        slack: f64,
    ) {
        let x: Tensor<3> = p.sample(s);
        let ratio = values(p.log_prob::<3, 2>(x.clone()).unwrap() - q.log_prob::<3, 2>(x).unwrap());
        let kl = values(p.kl::<1>(q).unwrap());
        let b = kl.len();
        for (j, &kj) in kl.iter().enumerate() {
            let col: Vec<f64> = (0..s).map(|i| ratio[i * b + j]).collect();
            assert_within_se(&format!("{label} KL[{j}]"), &col, kj, slack);
        }
        // The library's own Monte Carlo estimator agrees with the closed form too.
        let estimate = values(kl_monte_carlo::<1, P, Q>(p, q, s).unwrap());
        let (_, se) = mean_se(&(0..s).map(|i| ratio[i * b]).collect::<Vec<_>>());
        assert!(
            (estimate[0] - kl[0]).abs() <= 5.0 * se + slack,
            "{label}: kl_monte_carlo {} vs {}",
            estimate[0],
            kl[0]
        );
    }
    kl_mc(
        "MVN‖MVN",
        &mvn,
        &MultivariateNormal::new(
            rand(16, [n], &device, dtype, 0.5, 0.0),
            rand_tril(17, 1, n, &device, dtype).reshape([n, n]),
        )
        .unwrap(),
        s,
        slack,
    );
    kl_mc("MVN‖Normal", &mvn, &normal, s, slack);
    kl_mc("LowRank‖Normal", &low_rank, &normal, s, slack);
    kl_mc("LowRank‖MVN", &low_rank, &mvn, s, slack);
    kl_mc(
        "Normal‖Normal",
        &normal,
        &Normal::new(
            rand(18, [b, n], &device, dtype, 0.5, 0.0),
            rand(19, [b, n], &device, dtype, 0.3, 1.2),
        )
        .unwrap()
        .to_event(1)
        .unwrap(),
        s,
        slack,
    );

    // Discrete samplers: frequencies match the probabilities.
    let bern = Bernoulli::new(tensor(vec![-1.0, 0.5, 2.0], [3], &device, dtype)).unwrap();
    let draws = values(bern.sample::<2>(s));
    let p = values(bern.mean::<1>());
    for j in 0..3 {
        let col: Vec<f64> = (0..s).map(|i| draws[i * 3 + j]).collect();
        assert!(col.iter().all(|v| *v == 0.0 || *v == 1.0));
        assert_within_se(&format!("Bernoulli frequency[{j}]"), &col, p[j], slack);
    }
    let cat = Categorical::new(tensor(vec![0.0, 1.0, -1.0, 0.5], [1, 4], &device, dtype)).unwrap();
    let draws = values(cat.sample::<2>(s));
    let probs: Vec<f64> = values(cat.log_probs::<2>())
        .iter()
        .map(|v| v.exp())
        .collect();
    for (c, &pc) in probs.iter().enumerate() {
        let hits: Vec<f64> = draws
            .iter()
            .map(|&v| if v as usize == c { 1.0 } else { 0.0 })
            .collect();
        assert_within_se(&format!("Categorical frequency[{c}]"), &hits, pc, slack);
    }
}

/// KL ≥ 0, and KL(q ‖ q) = 0, over random parameters of every closed-form pair.
fn kl_properties(device: Device) {
    let dtype = dtypes(&device)[0];
    let zero_tol = by_dtype(dtype, 1e-10, 2e-4);
    for seed in 0..6u64 {
        let s = 100 * seed;
        let (b, n) = (3, 4);
        let mvn = |t| {
            MultivariateNormal::new(
                rand(s + t, [b, n], &device, dtype, 1.0, 0.0),
                rand_tril(s + t + 1, b, n, &device, dtype),
            )
            .unwrap()
        };
        let normal = |t| {
            Normal::new(
                rand(s + t, [b, n], &device, dtype, 1.0, 0.0),
                rand(s + t + 1, [b, n], &device, dtype, 0.4, 1.0),
            )
            .unwrap()
            .to_event(1)
            .unwrap()
        };
        let low_rank = |t| {
            LowRankMultivariateNormal::new(
                rand(s + t, [b, n], &device, dtype, 1.0, 0.0),
                rand(s + t + 1, [b, n, 2], &device, dtype, 1.0, 0.0),
                rand(s + t + 2, [b, n], &device, dtype, 0.2, 0.5),
            )
            .unwrap()
        };
        let bern = |t| Bernoulli::new(rand(s + t, [b, n], &device, dtype, 4.0, 0.0)).unwrap();
        let cat = |t| Categorical::new(rand(s + t, [b, n], &device, dtype, 3.0, 0.0)).unwrap();
        let nonneg = |label: &str, kl: Vec<f64>| {
            assert!(kl.iter().all(|v| *v >= -zero_tol), "{label} < 0: {kl:?}")
        };
        let zero = |label: &str, kl: Vec<f64>| {
            assert!(
                kl.iter().all(|v| v.abs() <= zero_tol),
                "{label}(q‖q) ≠ 0: {kl:?}"
            )
        };
        nonneg("MVN‖MVN", values(mvn(1).kl::<1>(&mvn(5)).unwrap()));
        zero("MVN‖MVN", values(mvn(1).kl::<1>(&mvn(1)).unwrap()));
        nonneg("MVN‖Normal", values(mvn(1).kl::<1>(&normal(5)).unwrap()));
        nonneg(
            "Normal‖Normal",
            values(normal(1).kl::<1>(&normal(5)).unwrap()),
        );
        zero(
            "Normal‖Normal",
            values(normal(1).kl::<1>(&normal(1)).unwrap()),
        );
        nonneg(
            "LowRank‖Normal",
            values(low_rank(1).kl::<1>(&normal(5)).unwrap()),
        );
        nonneg("LowRank‖MVN", values(low_rank(1).kl::<1>(&mvn(5)).unwrap()));
        nonneg("Bernoulli", values(bern(1).kl::<2>(&bern(5)).unwrap()));
        zero("Bernoulli", values(bern(1).kl::<2>(&bern(1)).unwrap()));
        nonneg("Categorical", values(cat(1).kl::<1>(&cat(5)).unwrap()));
        zero("Categorical", values(cat(1).kl::<1>(&cat(1)).unwrap()));
        // A low-rank distribution equal to an MVN has zero KL to it.
        let lr = low_rank(1);
        let dense =
            MultivariateNormal::from_covariance(lr.mean::<2>(), lr.covariance::<3>()).unwrap();
        zero("LowRank‖MVN(same)", values(lr.kl::<1>(&dense).unwrap()));
    }
}

/// Finite differences through log_prob, entropy and the KLs, w.r.t. every parameter.
fn gradcheck_densities_and_kl(device: Device) {
    let ad = device.autodiff();
    let config = gradcheck_config(&ad);
    let dtype = config.dtype;
    let n = 3;
    let l = rand_tril(21, 1, n, &ad, dtype).reshape([n, n]);
    let loc = rand(22, [1, n], &ad, dtype, 1.0, 0.0);
    let x = rand(23, [4, n], &ad, dtype, 1.5, 0.0);
    let w = rand(24, [n, 2], &ad, dtype, 0.8, 0.0);
    let d = rand(25, [1, n], &ad, dtype, 0.2, 0.7);
    let q_loc = rand(26, [1, n], &ad, dtype, 1.0, 0.0);
    let q_l = rand_tril(27, 1, n, &ad, dtype).reshape([n, n]);
    let report = gradcheck(
        |v| {
            let q =
                MultivariateNormal::new_unchecked(v[0].clone().reshape([n]), v[1].clone()).unwrap();
            let p =
                MultivariateNormal::new_unchecked(v[3].clone().reshape([n]), v[4].clone()).unwrap();
            q.log_prob::<2, 1>(v[2].clone()).unwrap().sum()
                + q.entropy::<1>()
                + q.kl::<1>(&p).unwrap()
        },
        &[
            loc.clone(),
            l.clone(),
            x.clone(),
            q_loc.clone(),
            q_l.clone(),
        ],
        &config,
    );
    assert!(report.passed(), "MVN log_prob + entropy + KL:\n{report}");
    let report = gradcheck(
        |v| {
            let p = LowRankMultivariateNormal::new_unchecked(
                v[0].clone().reshape([n]),
                v[1].clone(),
                v[2].clone().reshape([n]),
            )
            .unwrap();
            let q =
                MultivariateNormal::new_unchecked(v[4].clone().reshape([n]), v[5].clone()).unwrap();
            let r = Normal::new_unchecked(
                v[4].clone().reshape([n]),
                v[2].clone().reshape([n]).add_scalar(0.3),
            )
            .unwrap()
            .to_event(1)
            .unwrap();
            p.log_prob::<2, 1>(v[3].clone()).unwrap().sum()
                + p.entropy::<1>()
                + p.kl::<1>(&q).unwrap()
                + p.kl::<1>(&r).unwrap()
        },
        &[loc.clone(), w, d.clone(), x.clone(), q_loc, q_l],
        &config,
    );
    assert!(
        report.passed(),
        "LowRank log_prob + entropy + KLs:\n{report}"
    );
    let report = gradcheck(
        |v| {
            let p = Normal::new_unchecked(v[0].clone(), v[1].clone()).unwrap();
            let q = Normal::new_unchecked(v[1].clone(), v[1].clone().add_scalar(0.5)).unwrap();
            let b = Bernoulli::new(v[0].clone()).unwrap();
            let c = Categorical::new(v[0].clone()).unwrap();
            let c2 = Categorical::new(v[1].clone()).unwrap();
            p.log_prob::<2, 2>(v[2].clone()).unwrap().sum()
                + p.entropy::<2>().sum()
                + p.kl::<2>(&q).unwrap().sum()
                + b.entropy::<2>().sum()
                + b.log_prob::<2, 2>(v[3].clone()).unwrap().sum()
                + c.entropy::<1>().sum()
                + c.kl::<1>(&c2).unwrap().sum()
        },
        &[
            loc.clone(),
            d.clone(),
            x.clone().narrow(0, 0, 1),
            tensor(vec![1.0, 0.0, 1.0], [1, n], &ad, dtype),
        ],
        &config,
    );
    assert!(report.passed(), "Normal, Bernoulli, Categorical:\n{report}");
    let positive = tensor(vec![0.3, 1.7, 4.2], [n], &ad, dtype);
    let report = gradcheck(
        |v| lgamma(v[0].clone()).sum() + digamma(v[0].clone()).sum(),
        &[positive],
        &config,
    );
    assert!(report.passed(), "lgamma + digamma:\n{report}");
}

/// A conjugate linear-Gaussian model with a closed-form posterior and evidence: ω ~ N(0, I₂),
/// yᵢ | ω ~ N(aᵢᵀω, σ²).
struct Conjugate {
    a: Vec<[f64; 2]>,
    y: Vec<f64>,
    noise_var: f64,
}

impl Conjugate {
    fn new() -> Self {
        let a: Vec<[f64; 2]> = (0..6)
            .map(|i| {
                let t = i as f64 / 5.0;
                [1.0, 2.0 * t - 1.0]
            })
            .collect();
        let y = vec![0.3, -0.1, 0.8, 1.1, 0.6, 1.9];
        Self {
            a,
            y,
            noise_var: 0.5,
        }
    }

    /// Posterior mean and covariance (2×2, row-major).
    fn posterior(&self) -> ([f64; 2], [f64; 4]) {
        let mut prec = [1.0, 0.0, 0.0, 1.0];
        let mut rhs = [0.0; 2];
        for (a, y) in self.a.iter().zip(&self.y) {
            for i in 0..2 {
                rhs[i] += a[i] * y / self.noise_var;
                for j in 0..2 {
                    prec[i * 2 + j] += a[i] * a[j] / self.noise_var;
                }
            }
        }
        let det = prec[0] * prec[3] - prec[1] * prec[2];
        let cov = [prec[3] / det, -prec[1] / det, -prec[2] / det, prec[0] / det];
        let mean = [
            cov[0] * rhs[0] + cov[1] * rhs[1],
            cov[2] * rhs[0] + cov[3] * rhs[1],
        ];
        (mean, cov)
    }

    /// `ln p(y)`: y ~ N(0, A Aᵀ + σ² I).
    fn log_evidence(&self) -> f64 {
        let n = self.y.len();
        let mut k = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                k[i * n + j] = self.a[i][0] * self.a[j][0]
                    + self.a[i][1] * self.a[j][1]
                    + if i == j { self.noise_var } else { 0.0 };
            }
        }
        // Cholesky on the host.
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let s: f64 =
                    k[i * n + j] - (0..j).map(|m| l[i * n + m] * l[j * n + m]).sum::<f64>();
                l[i * n + j] = if i == j { s.sqrt() } else { s / l[j * n + j] };
            }
        }
        let mut z = vec![0.0; n];
        for i in 0..n {
            z[i] = (self.y[i] - (0..i).map(|m| l[i * n + m] * z[m]).sum::<f64>()) / l[i * n + i];
        }
        -0.5 * z.iter().map(|v| v * v).sum::<f64>()
            - (0..n).map(|i| l[i * n + i].ln()).sum::<f64>()
            - n as f64 * HALF_LN_2PI
    }

    /// `ln p(y | ω_t)` for particles `[T, 2]`, shape `[T]`.
    fn log_likelihood(&self, omega: Tensor<2>) -> Tensor<1> {
        let device = omega.device();
        let dtype = FloatDType::from(omega.dtype());
        let n = self.y.len();
        let a = tensor(
            self.a.iter().flatten().copied().collect(),
            [n, 2],
            &device,
            dtype,
        );
        let y = tensor(self.y.clone(), [1, n], &device, dtype);
        let mean = omega.matmul(a.transpose()); // [T, n]
        let sq = (y - mean).square().div_scalar(2.0 * self.noise_var);
        (sq.neg() - (0.5 * self.noise_var.ln() + HALF_LN_2PI))
            .sum_dim(1)
            .squeeze_dim(1)
    }
}

/// On the conjugate model: all estimators agree in expectation at the exact posterior (ELBO =
/// ln p(y) exactly, every particle), IWAE ≥ ELBO and tends to ln p(y) away from it, and a `Delta`
/// posterior gives the log joint (MAP).
fn elbo_estimators_agree(device: Device) {
    device.seed(7);
    let dtype = dtypes(&device)[0];
    let tol = by_dtype(dtype, 1e-9, 2e-3);
    let model = Conjugate::new();
    let (mean, cov) = model.posterior();
    let evidence = model.log_evidence();
    let prior = Normal::new(
        Tensor::<1>::zeros([2], (&device, dtype.into())),
        Tensor::<1>::ones([2], (&device, dtype.into())),
    )
    .unwrap()
    .to_event(1)
    .unwrap();
    let posterior = MultivariateNormal::from_covariance(
        tensor(mean.to_vec(), [2], &device, dtype),
        tensor(cov.to_vec(), [2, 2], &device, dtype),
    )
    .unwrap();
    for estimator in [
        Estimator::AnalyticKl,
        Estimator::MonteCarloKl,
        Estimator::StickingTheLanding,
        Estimator::Iwae,
    ] {
        let elbo = Elbo::new(model.y.len())
            .with_num_particles(16)
            .with_estimator(estimator);
        let terms = elbo
            .estimate(&posterior, &prior, |w| model.log_likelihood(w))
            .unwrap();
        let value = values(terms.elbo)[0];
        if estimator == Estimator::AnalyticKl {
            // The ELL is stochastic even at the optimum; only ELL − KL is exact in expectation.
            let mut draws = Vec::new();
            for _ in 0..200 {
                draws.push(
                    values(
                        elbo.estimate(&posterior, &prior, |w| model.log_likelihood(w))
                            .unwrap()
                            .elbo,
                    )[0],
                );
            }
            assert_within_se("analytic-KL ELBO at the posterior", &draws, evidence, tol);
        } else {
            // ln p(y|ω) + ln p(ω) − ln q(ω) = ln p(y) for every ω when q is the posterior.
            assert!(
                (value - evidence).abs() < tol * 10.0,
                "{estimator:?}: {value} vs ln p(y) = {evidence}"
            );
        }
    }
    // Away from the posterior: IWAE(T) ≥ ELBO on average, both ≤ ln p(y), IWAE(256) close to it.
    let q = MultivariateNormal::new(
        tensor(vec![0.0, 0.5], [2], &device, dtype),
        tensor(vec![0.5, 0.0, 0.1, 0.4], [2, 2], &device, dtype),
    )
    .unwrap();
    let run = |estimator, particles| {
        let elbo = Elbo::new(model.y.len())
            .with_num_particles(particles)
            .with_estimator(estimator);
        (0..100)
            .map(|_| {
                values(
                    elbo.estimate(&q, &prior, |w| model.log_likelihood(w))
                        .unwrap()
                        .elbo,
                )[0]
            })
            .collect::<Vec<_>>()
    };
    let (plain, plain_se) = mean_se(&run(Estimator::AnalyticKl, 1));
    let (iwae, iwae_se) = mean_se(&run(Estimator::Iwae, 64));
    assert!(
        plain < evidence && iwae <= evidence + 5.0 * iwae_se,
        "bounds: ELBO {plain}, IWAE {iwae}, ln p(y) {evidence}"
    );
    assert!(
        iwae > plain + 5.0 * (plain_se + iwae_se),
        "IWAE(64) {iwae} is not tighter than the ELBO {plain}"
    );
    // Analytic and Monte Carlo KL estimate the same ELBO.
    assert_within_se(
        "MC-KL ELBO",
        &run(Estimator::MonteCarloKl, 4),
        plain,
        5.0 * plain_se + tol,
    );

    // A prior with a smaller batch than the posterior broadcasts: its joint log density is one
    // value per particle, and the Monte Carlo KL estimates the closed form.
    let q = Normal::new(
        tensor(vec![0.1, 0.2, 0.3], [3], &device, dtype),
        tensor(vec![0.5, 0.6, 0.7], [3], &device, dtype),
    )
    .unwrap();
    let scalar_prior = Normal::new(
        tensor(vec![0.0], [1], &device, dtype),
        tensor(vec![1.0], [1], &device, dtype),
    )
    .unwrap();
    let z: Tensor<2> = q.rsample(5);
    let zs = values(z.clone());
    let want: Vec<f64> = (0..5)
        .map(|t| {
            (0..3)
                .map(|i| -0.5 * zs[t * 3 + i].powi(2) - HALF_LN_2PI)
                .sum()
        })
        .collect();
    assert_all_close(
        "broadcast prior log_prob_joint",
        &values(scalar_prior.log_prob_joint(z).unwrap()),
        &want,
        1e-5,
        1e-5,
    );
    let elbo = Elbo::new(1)
        .with_num_particles(64)
        .with_estimator(Estimator::MonteCarloKl);
    let kl_draws: Vec<f64> = (0..50)
        .map(|_| {
            let terms = elbo
                .estimate_sampled(&q, &scalar_prior, |w: Tensor<2>| {
                    w.sum_dim(1).squeeze_dim::<1>(1).mul_scalar(0.0)
                })
                .unwrap();
            values(terms.kl)[0]
        })
        .collect();
    let closed = values(q.kl_sum(&scalar_prior).unwrap())[0];
    assert_within_se("MC KL with a broadcast prior", &kl_draws, closed, tol);

    // MAP: a Delta posterior's ELBO is ln p(y | v) + ln p(v).
    let v = tensor(vec![0.2, 0.4], [2], &device, dtype);
    let map = Delta::new(v.clone()).to_event(1).unwrap();
    let elbo = Elbo::new(model.y.len()).with_estimator(Estimator::MonteCarloKl);
    let got = values(
        elbo.estimate_sampled(&map, &prior, |w| model.log_likelihood(w))
            .unwrap()
            .elbo,
    )[0];
    let joint = values(model.log_likelihood(v.clone().reshape([1, 2])))[0]
        + values(prior.log_prob::<1, 1>(v).unwrap())[0];
    assert!(
        (got - joint).abs() < tol,
        "MAP ELBO {got} vs log joint {joint}"
    );
    assert!(matches!(
        Elbo::new(6).estimate_sampled(&map, &prior, |w| model.log_likelihood(w)),
        Err(ElboError::NoClosedForm { .. })
    ));
    // Minibatch scaling and KL annealing: ELL = N/B · mean_t ll_t, ELBO = ELL − β KL.
    let ll = tensor(vec![-3.0, -5.0], [2], &device, dtype);
    let kl = tensor(vec![1.5], [1], &device, dtype);
    let terms = Elbo::new(12)
        .with_batch_size(4)
        .with_kl_weight(0.5)
        .from_terms(ll, kl)
        .unwrap();
    assert!((values(terms.expected_log_likelihood.clone())[0] + 12.0).abs() < tol);
    assert!((values(terms.elbo.clone())[0] + 12.75).abs() < tol);
    // The value the finiteness check read, and the per-point loss as one op.
    let value = terms.value.expect("checked by default");
    assert!((value + 12.75).abs() < tol, "read-back ELBO {value}");
    assert!((values(terms.scaled_loss(1.0 / 12.0))[0] - 12.75 / 12.0).abs() < tol);
    let unchecked = Elbo::new(12)
        .with_check_finite(false)
        .from_terms(
            tensor(vec![-3.0], [1], &device, dtype),
            tensor(vec![1.5], [1], &device, dtype),
        )
        .unwrap();
    assert_eq!(unchecked.value, None);
    // A guard read with the ELBO: finite, the same terms and value as `from_terms`; not finite,
    // no terms (the caller recomputes), even where the ELBO itself is NaN; a checked term still
    // named when the guard passes; read even with the finiteness check off.
    let t1 = |v: f64| tensor(vec![v], [1], &device, dtype);
    let elbo = Elbo::new(12).with_batch_size(4).with_kl_weight(0.5);
    let guarded = elbo
        .from_terms_guarded(
            tensor(vec![-3.0, -5.0], [2], &device, dtype),
            t1(1.5),
            tensor(vec![1.0, 2.0, 3.0], [3], &device, dtype),
        )
        .unwrap()
        .expect("finite guard");
    let guarded_value = guarded.value.expect("checked by default");
    assert!(
        (guarded_value - value).abs() < tol,
        "guarded ELBO {guarded_value}"
    );
    assert!((values(guarded.elbo)[0] + 12.75).abs() < tol);
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        for (ll, checked) in [(-3.0, true), (f64::NAN, true), (-3.0, false)] {
            let out = Elbo::new(12)
                .with_check_finite(checked)
                .from_terms_guarded(t1(ll), t1(1.5), tensor(vec![1.0, bad], [2], &device, dtype))
                .unwrap();
            assert!(out.is_none(), "guard {bad}, ll {ll}, checked {checked}");
        }
    }
    match Elbo::new(12).from_terms_guarded(t1(-3.0), t1(f64::NAN), t1(1.0)) {
        Err(ElboError::NonFinite { term: "KL", .. }) => {}
        other => panic!("NaN KL behind a finite guard: {other:?}"),
    }
    let unchecked = Elbo::new(12)
        .with_check_finite(false)
        .from_terms_guarded(t1(f64::NAN), t1(1.5), t1(1.0))
        .unwrap()
        .expect("finite guard");
    assert_eq!(unchecked.value, None);
}

/// Sticking the landing: unbiased (its mean gradient matches the plain Monte Carlo estimator's
/// within standard errors) and with (near) zero variance at the exact posterior, where the plain
/// estimator's variance is not.
fn sticking_the_landing(device: Device) {
    device.seed(11);
    let ad = device.autodiff();
    let dtype = dtypes(&ad)[0];
    let model = Conjugate::new();
    let (mean, cov) = model.posterior();
    let l00 = cov[0].sqrt();
    let l10 = cov[2] / l00;
    let l11 = (cov[3] - l10 * l10).sqrt();
    let prior = Normal::new(
        Tensor::<1>::zeros([2], (&ad, dtype.into())),
        Tensor::<1>::ones([2], (&ad, dtype.into())),
    )
    .unwrap()
    .to_event(1)
    .unwrap();
    let repeats = if vi_tests::is_wgpu(&ad) { 60 } else { 200 };
    let probe = |loc: Vec<f64>, tril: Vec<f64>, estimator| {
        let loc = tensor(loc, [2], &ad, dtype).require_grad();
        let scale = tensor(tril, [2, 2], &ad, dtype).require_grad();
        let groups = [
            ParameterGroup::new("loc").with(&loc),
            ParameterGroup::new("scale_tril").with(&scale),
        ];
        let elbo = Elbo::new(model.y.len()).with_estimator(estimator);
        gradient_variance(repeats, &groups, || {
            let q = MultivariateNormal::new_unchecked(loc.clone(), scale.clone()).unwrap();
            elbo.estimate(&q, &prior, |w| model.log_likelihood(w))
                .unwrap()
                .loss()
        })
        .unwrap()
    };
    // At the posterior.
    let optimum = (mean.to_vec(), vec![l00, 0.0, l10, l11]);
    let stl = probe(
        optimum.0.clone(),
        optimum.1.clone(),
        Estimator::StickingTheLanding,
    );
    let plain = probe(optimum.0, optimum.1, Estimator::MonteCarloKl);
    let tiny: f64 = by_dtype(dtype, 1e-16, 1e-6);
    for (s, p) in stl.iter().zip(&plain) {
        assert!(
            p.variance > 1e-3,
            "plain estimator's {} variance {} should be positive",
            p.name,
            p.variance
        );
        assert!(
            s.variance <= tiny.max(1e-6 * p.variance),
            "STL variance of {} at the optimum: {} (plain {})",
            s.name,
            s.variance,
            p.variance
        );
    }
    // Away from it: same mean gradient within standard errors.
    let point = (vec![0.1, 0.9], vec![0.6, 0.0, -0.2, 0.5]);
    let stl = probe(
        point.0.clone(),
        point.1.clone(),
        Estimator::StickingTheLanding,
    );
    let plain = probe(point.0, point.1, Estimator::MonteCarloKl);
    for (s, p) in stl.iter().zip(&plain) {
        for j in 0..s.mean.len() {
            let se =
                ((s.coordinate_variance[j] + p.coordinate_variance[j]) / repeats as f64).sqrt();
            assert!(
                (s.mean[j] - p.mean[j]).abs() <= 5.0 * se + 1e-3,
                "{}[{j}]: STL mean gradient {} vs plain {} (s.e. {se})",
                s.name,
                s.mean[j],
                p.mean[j]
            );
        }
    }
}

/// Invalid parameters and shapes give typed errors that name the problem.
/// `mean_field::sample` against `μ + ln(1 + e^ρ) ε` in f64 (ρ from −30 to 30, where a naive
/// softplus or sigmoid would overflow), finite differences through it and the KL together, and
/// its shape error.
fn mean_field_sample_op(device: Device) {
    for dtype in dtypes(&device) {
        let n = 64;
        let loc = noise(1, n);
        let rho: Vec<f64> = (0..n)
            .map(|i| -30.0 + 60.0 * i as f64 / (n - 1) as f64)
            .collect();
        let eps = noise(2, n);
        let want: Vec<f64> = (0..n)
            .map(|i| loc[i] + (rho[i].max(0.0) + (-rho[i].abs()).exp().ln_1p()) * eps[i])
            .collect();
        let t = |v: &[f64]| tensor(v.to_vec(), [8, 8], &device, dtype);
        let got = values(mean_field_sample(t(&loc), t(&rho), t(&eps)).unwrap());
        let tol = by_dtype(dtype, 1e-12, 2e-6);
        assert_all_close(
            &format!("mean-field sample [{dtype:?}]"),
            &got,
            &want,
            tol,
            tol,
        );
    }
    let ad = device.clone().autodiff();
    let config = gradcheck_config(&ad);
    let dtype = config.dtype;
    let eps = tensor(noise(3, 6), [2, 3], &ad, dtype);
    let prior = tensor(vec![0.8], [1], &ad, dtype);
    let report = gradcheck(
        |v| {
            let w = mean_field_sample(v[0].clone(), v[1].clone(), eps.clone()).unwrap();
            (w.clone() * w).sum() + kl_to_normal(v[0].clone(), v[1].clone(), prior.clone()).unwrap()
        },
        &[
            tensor(noise(4, 6), [2, 3], &ad, dtype),
            tensor(noise(5, 6), [2, 3], &ad, dtype),
        ],
        &config,
    );
    assert!(report.passed(), "mean-field sample + KL:\n{report}");
    // The pair KL (a weight matrix and a bias vector) in all four inputs, against the sum of two.
    let report = gradcheck(
        |v| {
            let bias = (v[2].clone().reshape([3]), v[3].clone().reshape([3]));
            kl_to_normal_pair((v[0].clone(), v[1].clone()), bias, prior.clone()).unwrap()
        },
        &[
            tensor(noise(6, 6), [2, 3], &ad, dtype),
            tensor(noise(7, 6), [2, 3], &ad, dtype),
            tensor(noise(8, 3), [1, 3], &ad, dtype),
            tensor(noise(9, 3), [1, 3], &ad, dtype),
        ],
        &config,
    );
    assert!(report.passed(), "mean-field pair KL:\n{report}");
    let t = |seed: u64, dims: [usize; 2]| tensor(noise(seed, dims[0] * dims[1]), dims, &ad, dtype);
    let (w, b) = ((t(6, [2, 3]), t(7, [2, 3])), (t(8, [1, 3]), t(9, [1, 3])));
    let pair = kl_to_normal_pair(w.clone(), b.clone(), prior.clone()).unwrap();
    let sum = kl_to_normal(w.0, w.1, prior.clone()).unwrap()
        + kl_to_normal(b.0, b.1, prior.clone()).unwrap();
    assert_all_close(
        "pair KL = sum of two",
        &values(pair),
        &values(sum),
        1e-6,
        1e-6,
    );
    let dtype = dtypes(&device)[0];
    match mean_field_sample(
        tensor(vec![0.0; 3], [3], &device, dtype),
        tensor(vec![0.0; 3], [3], &device, dtype),
        tensor(vec![0.0; 4], [4], &device, dtype),
    ) {
        Err(DistributionError::ShapeMismatch { reason, .. }) => {
            assert!(reason.contains("[4]"), "{reason}")
        }
        other => panic!("mean-field sample of mismatched shapes: {other:?}"),
    }
}

/// `mean_field::sampled_linear` against `x (μ + softplus(ρ) ε) + (μ_b + softplus(ρ_b) ε_b)`
/// computed by hand in f64 (with leading batch dimensions), finite differences in all five
/// inputs, the bias-free form, and its shape errors.
fn mean_field_sampled_linear_op(device: Device) {
    let (rows, i, o) = (6, 4, 3);
    let softplus = |r: f64| r.max(0.0) + (-r.abs()).exp().ln_1p();
    let (x, loc, rho, eps) = (
        noise(10, rows * i),
        noise(11, i * o),
        noise(12, i * o),
        noise(13, i * o),
    );
    let (bias_loc, bias_rho, bias_eps) = (noise(14, o), noise(15, o), noise(16, o));
    let w: Vec<f64> = (0..i * o)
        .map(|k| loc[k] + softplus(rho[k]) * eps[k])
        .collect();
    let b: Vec<f64> = (0..o)
        .map(|j| bias_loc[j] + softplus(bias_rho[j]) * bias_eps[j])
        .collect();
    let want = |bias: bool| -> Vec<f64> {
        (0..rows * o)
            .map(|k| {
                let (r, j) = (k / o, k % o);
                let dot: f64 = (0..i).map(|l| x[r * i + l] * w[l * o + j]).sum();
                dot + if bias { b[j] } else { 0.0 }
            })
            .collect()
    };
    for dtype in dtypes(&device) {
        let matrix = |v: &[f64]| tensor(v.to_vec(), [i, o], &device, dtype);
        let vector = |v: &[f64]| tensor(v.to_vec(), [o], &device, dtype);
        let weight = MeanFieldDraw {
            loc: matrix(&loc),
            rho: matrix(&rho),
            noise: matrix(&eps),
        };
        let bias = MeanFieldDraw {
            loc: vector(&bias_loc),
            rho: vector(&bias_rho),
            noise: vector(&bias_eps),
        };
        let xs = tensor(x.clone(), [2, rows / 2, i], &device, dtype);
        let tol = by_dtype(dtype, 1e-12, 1e-5);
        let got = sampled_linear(xs.clone(), weight.clone(), Some(bias)).unwrap();
        assert_eq!(got.dims(), [2, rows / 2, o]);
        assert_all_close(
            &format!("sampled linear [{dtype:?}]"),
            &values(got),
            &want(true),
            tol,
            tol,
        );
        let got = values(sampled_linear(xs, weight, None).unwrap());
        assert_all_close(
            &format!("sampled linear, no bias [{dtype:?}]"),
            &got,
            &want(false),
            tol,
            tol,
        );
    }
    let ad = device.clone().autodiff();
    let config = gradcheck_config(&ad);
    let dtype = config.dtype;
    let (weight_noise, bias_noise) = (
        tensor(eps.clone(), [i, o], &ad, dtype),
        tensor(bias_eps.clone(), [o], &ad, dtype),
    );
    let report = gradcheck(
        |v| {
            let weight = MeanFieldDraw {
                loc: v[1].clone(),
                rho: v[2].clone(),
                noise: weight_noise.clone(),
            };
            let bias = MeanFieldDraw {
                loc: v[3].clone().reshape([o]),
                rho: v[4].clone().reshape([o]),
                noise: bias_noise.clone(),
            };
            let x = v[0].clone().reshape([2, rows / 2, i]);
            let y = sampled_linear(x, weight, Some(bias)).unwrap();
            (y.clone() * y).sum()
        },
        &[
            tensor(x.clone(), [rows, i], &ad, dtype),
            tensor(loc.clone(), [i, o], &ad, dtype),
            tensor(rho.clone(), [i, o], &ad, dtype),
            tensor(bias_loc.clone(), [1, o], &ad, dtype),
            tensor(bias_rho.clone(), [1, o], &ad, dtype),
        ],
        &config,
    );
    assert!(report.passed(), "sampled linear:\n{report}");
    let dtype = dtypes(&device)[0];
    let zeros = |dims: [usize; 2]| tensor(vec![0.0; dims[0] * dims[1]], dims, &device, dtype);
    let draw = |rho: [usize; 2]| MeanFieldDraw {
        loc: zeros([i, o]),
        rho: zeros(rho),
        noise: zeros([i, o]),
    };
    let expect_mismatch = |result, needle: &str| match result {
        Err(DistributionError::ShapeMismatch { reason, .. }) => {
            assert!(reason.contains(needle), "{reason}")
        }
        other => panic!("sampled linear with a bad shape: {other:?}"),
    };
    expect_mismatch(
        sampled_linear(zeros([rows, i]), draw([i, o + 1]), None),
        "rho",
    );
    expect_mismatch(
        sampled_linear(zeros([rows, i + 1]), draw([i, o]), None),
        "inputs",
    );
    let bias = MeanFieldDraw {
        loc: tensor(vec![0.0; o + 1], [o + 1], &device, dtype),
        rho: tensor(vec![0.0; o + 1], [o + 1], &device, dtype),
        noise: tensor(vec![0.0; o + 1], [o + 1], &device, dtype),
    };
    expect_mismatch(
        sampled_linear(zeros([rows, i]), draw([i, o]), Some(bias)),
        "outputs",
    );
}

/// `likelihood::gaussian_log_likelihood` against `Σ ln N(y | μ, e^{2s})` by hand in f64 (a
/// shared and a per-element scale), finite differences in `y`, `μ` and `s`, and its shape errors.
fn gaussian_log_likelihood_op(device: Device) {
    let n = 150; // more than two of the CPU kernel's chunks
    let (y, mean) = (noise(20, n), noise(21, n));
    let per_element: Vec<f64> = noise(22, n).iter().map(|v| 0.3 * v).collect();
    let want = |s: &dyn Fn(usize) -> f64| -> f64 {
        (0..n)
            .map(|i| {
                let z = (y[i] - mean[i]) * (-s(i)).exp();
                -0.5 * z * z - s(i) - HALF_LN_2PI
            })
            .sum()
    };
    for dtype in dtypes(&device) {
        let t = |v: &[f64]| tensor(v.to_vec(), [n / 2, 2], &device, dtype);
        let tol = by_dtype(dtype, 1e-12, 2e-5);
        let shared = tensor(vec![-0.4], [1], &device, dtype);
        let got = values(gaussian_log_likelihood(t(&y), t(&mean), shared).unwrap());
        assert_all_close(
            &format!("Gaussian ll, shared scale [{dtype:?}]"),
            &got,
            &[want(&|_| -0.4)],
            tol,
            tol,
        );
        let got = values(gaussian_log_likelihood(t(&y), t(&mean), t(&per_element)).unwrap());
        let want_each = want(&|i| per_element[i]);
        assert_all_close(
            &format!("Gaussian ll, per element [{dtype:?}]"),
            &got,
            &[want_each],
            tol,
            tol,
        );
    }
    let ad = device.clone().autodiff();
    let config = gradcheck_config(&ad);
    let dtype = config.dtype;
    for shared in [true, false] {
        let report = gradcheck(
            |v| {
                if shared {
                    gaussian_log_likelihood(v[0].clone(), v[1].clone(), v[2].clone().reshape([1]))
                } else {
                    gaussian_log_likelihood(v[0].clone(), v[1].clone(), v[2].clone())
                }
                .unwrap()
            },
            &[
                tensor(y[..12].to_vec(), [4, 3], &ad, dtype),
                tensor(mean[..12].to_vec(), [4, 3], &ad, dtype),
                if shared {
                    tensor(vec![0.2], [1, 1], &ad, dtype)
                } else {
                    tensor(per_element[..12].to_vec(), [4, 3], &ad, dtype)
                },
            ],
            &config,
        );
        assert!(
            report.passed(),
            "Gaussian ll (shared scale {shared}):\n{report}"
        );
    }
    let dtype = dtypes(&device)[0];
    let zeros = |dims: [usize; 2]| tensor(vec![0.0; dims[0] * dims[1]], dims, &device, dtype);
    for (mean, scale, needle) in [([3, 2], [1, 1], "differ"), ([3, 1], [2, 1], "one value")] {
        match gaussian_log_likelihood(zeros([3, 1]), zeros(mean), zeros(scale)) {
            Err(DistributionError::ShapeMismatch { reason, .. }) => {
                assert!(reason.contains(needle), "{reason}")
            }
            other => panic!("Gaussian ll with bad shapes: {other:?}"),
        }
    }
}

/// `likelihood::gaussian_expected_log_likelihood` against
/// `Σ −½ ((y − μ)² + v) e^{−2s} − s − ½ ln 2π` by hand in f64 (a shared and a per-element scale;
/// [`expected_log_likelihood_values`]), finite differences in `y`, `μ`, `v` and `s`, and its shape
/// error for the variances.
fn gaussian_expected_log_likelihood_op(device: Device) {
    // More than two of the CPU kernel's chunks and several elements per unit of CubeCL's one-cube
    // sum; then past that sum's limit (2²⁰ elements), where Burn's reduction takes over.
    for n in [1030, (1 << 20) + 2] {
        expected_log_likelihood_values(&device, n);
    }
    let n = 12;
    let (y, mean) = (noise(23, n), noise(24, n));
    let variance: Vec<f64> = noise(25, n).iter().map(|v| 0.1 + v.abs()).collect();
    let per_element: Vec<f64> = noise(26, n).iter().map(|v| 0.3 * v).collect();
    let ad = device.clone().autodiff();
    let config = gradcheck_config(&ad);
    let dtype = config.dtype;
    for shared in [true, false] {
        let report = gradcheck(
            |v| {
                let scale = if shared {
                    v[3].clone().reshape([1, 1])
                } else {
                    v[3].clone()
                };
                gaussian_expected_log_likelihood(v[0].clone(), v[1].clone(), v[2].clone(), scale)
                    .unwrap()
            },
            &[
                tensor(y[..12].to_vec(), [4, 3], &ad, dtype),
                tensor(mean[..12].to_vec(), [4, 3], &ad, dtype),
                tensor(variance[..12].to_vec(), [4, 3], &ad, dtype),
                if shared {
                    tensor(vec![0.2], [1, 1], &ad, dtype)
                } else {
                    tensor(per_element[..12].to_vec(), [4, 3], &ad, dtype)
                },
            ],
            &config,
        );
        assert!(
            report.passed(),
            "Gaussian ell (shared scale {shared}):\n{report}"
        );
    }
    let dtype = dtypes(&device)[0];
    let zeros = |dims: [usize; 2]| tensor(vec![0.0; dims[0] * dims[1]], dims, &device, dtype);
    match gaussian_expected_log_likelihood(
        zeros([3, 1]),
        zeros([3, 1]),
        zeros([2, 1]),
        zeros([1, 1]),
    ) {
        Err(DistributionError::ShapeMismatch { reason, .. }) => {
            assert!(reason.contains("variance"), "{reason}")
        }
        other => panic!("Gaussian ell with bad variance shape: {other:?}"),
    }
}

/// `gaussian_expected_log_likelihood`'s value for `n` elements against the sum by hand in f64,
/// with a shared and a per-element scale, and its gradients times an upstream `ḡ = 0.7`:
/// `μ̄ᵢ = ḡ rᵢ wᵢ`, `ȳᵢ = −μ̄ᵢ`, `v̄ᵢ = −½ ḡ wᵢ`, `s̄ᵢ = ḡ ((rᵢ² + vᵢ) wᵢ − 1)` (summed for the
/// shared scale), with `r = y − μ` and `w = e^{−2s}`.
fn expected_log_likelihood_values(device: &Device, n: usize) {
    let (y, mean) = (noise(23, n), noise(24, n));
    let variance: Vec<f64> = noise(25, n).iter().map(|v| 0.1 + v.abs()).collect();
    let per_element: Vec<f64> = noise(26, n).iter().map(|v| 0.3 * v).collect();
    let upstream = 0.7;
    let ad = device.clone().autodiff();
    for dtype in dtypes(device) {
        let t = |v: &[f64]| tensor(v.to_vec(), [n / 2, 2], &ad, dtype).require_grad();
        let (tol, grad_tol) = by_dtype(dtype, (1e-12, 1e-12), (2e-5, 1e-5));
        for shared in [true, false] {
            let s = |i: usize| if shared { -0.4 } else { per_element[i] };
            let label = |what: &str| {
                format!("Gaussian ell {what}, n={n}, shared scale {shared} [{dtype:?}]")
            };
            let log_scale = if shared {
                tensor(vec![-0.4], [1, 1], &ad, dtype).require_grad()
            } else {
                t(&per_element)
            };
            let inputs = [t(&y), t(&mean), t(&variance)];
            let got = gaussian_expected_log_likelihood(
                inputs[0].clone(),
                inputs[1].clone(),
                inputs[2].clone(),
                log_scale.clone(),
            )
            .unwrap();
            let want: f64 = (0..n)
                .map(|i| {
                    let r = y[i] - mean[i];
                    -0.5 * (r * r + variance[i]) * (-2.0 * s(i)).exp() - s(i) - HALF_LN_2PI
                })
                .sum();
            assert_all_close(&label("value"), &values(got.clone()), &[want], tol, tol);
            let grads = got.mul_scalar(upstream).backward();
            let grad = |x: &Tensor<2>| values(x.grad(&grads).unwrap());
            let w = |i: usize| (-2.0 * s(i)).exp();
            let grad_mean: Vec<f64> = (0..n).map(|i| upstream * (y[i] - mean[i]) * w(i)).collect();
            let grad_y: Vec<f64> = grad_mean.iter().map(|g| -g).collect();
            let grad_variance: Vec<f64> = (0..n).map(|i| -0.5 * upstream * w(i)).collect();
            let grad_scale: Vec<f64> = (0..n)
                .map(|i| {
                    let r = y[i] - mean[i];
                    upstream * ((r * r + variance[i]) * w(i) - 1.0)
                })
                .collect();
            assert_all_close(&label("ȳ"), &grad(&inputs[0]), &grad_y, grad_tol, grad_tol);
            assert_all_close(
                &label("μ̄"),
                &grad(&inputs[1]),
                &grad_mean,
                grad_tol,
                grad_tol,
            );
            assert_all_close(
                &label("v̄"),
                &grad(&inputs[2]),
                &grad_variance,
                grad_tol,
                grad_tol,
            );
            if shared {
                let got = values(log_scale.grad(&grads).unwrap());
                let want: f64 = grad_scale.iter().sum();
                assert_all_close(&label("s̄"), &got, &[want], tol, tol);
            } else {
                assert_all_close(
                    &label("s̄"),
                    &grad(&log_scale),
                    &grad_scale,
                    grad_tol,
                    grad_tol,
                );
            }
        }
    }
}

/// `kl::kl_to_standard_normal` against the formula by hand in f64 (a negative diagonal entry, an
/// upper triangle that must be ignored) and against the MVN ‖ Normal closed form, which goes
/// through a triangular solve; finite differences in both inputs; its shape error.
fn kl_to_standard_normal_op(device: Device) {
    let (p, n) = (3, 5);
    let loc = noise(30, p * n);
    // Lower triangle from noise, |diagonal| ≥ 0.5 (one negative), junk above the diagonal.
    let factor: Vec<f64> = noise(31, p * n * n)
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let (i, j) = ((index / n) % n, index % n);
            match i.cmp(&j) {
                std::cmp::Ordering::Greater => *v,
                std::cmp::Ordering::Equal if index == 2 * (n + 1) => -(0.5 + v.abs()),
                std::cmp::Ordering::Equal => 0.5 + v.abs(),
                std::cmp::Ordering::Less => 7.0,
            }
        })
        .collect();
    let lower = |index: usize| (index / n) % n >= index % n;
    let squares: f64 = loc.iter().map(|v| v * v).sum::<f64>()
        + (0..p * n * n)
            .filter(|&k| lower(k))
            .map(|k| factor[k] * factor[k])
            .sum::<f64>();
    let log_diagonal: f64 = (0..p * n)
        .map(|k| factor[(k / n) * n * n + (k % n) * (n + 1)].abs().ln())
        .sum();
    let want = 0.5 * (squares - (p * n) as f64) - log_diagonal;
    for dtype in dtypes(&device) {
        let tol = by_dtype(dtype, 1e-12, 2e-5);
        let m = tensor(loc.clone(), [p, n], &device, dtype);
        let l = tensor(factor.clone(), [p, n, n], &device, dtype);
        let got = values(kl_to_standard_normal(m.clone(), l.clone()).unwrap());
        assert_all_close(
            &format!("KL to N(0, I) [{dtype:?}]"),
            &got,
            &[want],
            tol,
            tol,
        );
        // The same KL through MultivariateNormal ‖ Normal (positive diagonal, lower triangle).
        let positive: Vec<f64> = factor
            .iter()
            .enumerate()
            .map(|(k, v)| if lower(k) { v.abs() } else { 0.0 })
            .collect();
        let q = MultivariateNormal::new(
            m.clone(),
            tensor(positive.clone(), [p, n, n], &device, dtype),
        )
        .unwrap();
        let zero = tensor(vec![0.0; p * n], [p, n], &device, dtype);
        let prior = Normal::new(zero.clone(), zero.ones_like())
            .unwrap()
            .to_event(1)
            .unwrap();
        let by_solve = values(q.kl_sum(&prior).unwrap());
        let fused =
            values(kl_to_standard_normal(m, tensor(positive, [p, n, n], &device, dtype)).unwrap());
        assert_all_close(
            &format!("KL to N(0, I) vs MVN ‖ Normal [{dtype:?}]"),
            &fused,
            &by_solve,
            10.0 * tol,
            10.0 * tol,
        );
    }
    // Many entries per unit of CubeCL's one-cube sum (2 · 40² = 3200): against MVN ‖ Normal.
    let (p2, n2) = (2, 40);
    let loc2 = noise(32, p2 * n2);
    let factor2: Vec<f64> = noise(33, p2 * n2 * n2)
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let (i, j) = ((index / n2) % n2, index % n2);
            match i.cmp(&j) {
                std::cmp::Ordering::Greater => 0.2 * v,
                std::cmp::Ordering::Equal => 0.5 + v.abs(),
                std::cmp::Ordering::Less => 0.0,
            }
        })
        .collect();
    for dtype in dtypes(&device) {
        let tol = by_dtype(dtype, 1e-10, 1e-4);
        let m = tensor(loc2.clone(), [p2, n2], &device, dtype);
        let l = tensor(factor2.clone(), [p2, n2, n2], &device, dtype);
        let zero = tensor(vec![0.0; p2 * n2], [p2, n2], &device, dtype);
        let prior = Normal::new(zero.clone(), zero.ones_like())
            .unwrap()
            .to_event(1)
            .unwrap();
        let by_solve = values(
            MultivariateNormal::new(m.clone(), l.clone())
                .unwrap()
                .kl_sum(&prior)
                .unwrap(),
        );
        assert_all_close(
            &format!("KL to N(0, I), n = {n2} [{dtype:?}]"),
            &values(kl_to_standard_normal(m, l).unwrap()),
            &by_solve,
            tol,
            tol,
        );
    }
    let ad = device.clone().autodiff();
    let config = gradcheck_config(&ad);
    let dtype = config.dtype;
    let report = gradcheck(
        |v| kl_to_standard_normal(v[0].clone(), v[1].clone().reshape([2, n, n])).unwrap(),
        &[
            tensor(loc[..2 * n].to_vec(), [2, n], &ad, dtype),
            tensor(factor[..2 * n * n].to_vec(), [2 * n, n], &ad, dtype),
        ],
        &config,
    );
    assert!(report.passed(), "KL to N(0, I):\n{report}");
    let dtype = dtypes(&device)[0];
    match kl_to_standard_normal(
        tensor(vec![0.0; 6], [2, 3], &device, dtype),
        tensor(vec![0.0; 24], [2, 3, 4], &device, dtype),
    ) {
        Err(DistributionError::ShapeMismatch { reason, .. }) => {
            assert!(reason.contains("[2, 3, 4]"), "{reason}")
        }
        other => panic!("KL to N(0, I) with bad shapes: {other:?}"),
    }
}

fn bad_input_errors(device: Device) {
    let dtype = dtypes(&device)[0];
    let t = |v: Vec<f64>, n: usize| tensor(v, [n], &device, dtype);
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
    // NaN in the objective is caught and named.
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

/// `vi_core::random`: normal draws against statrs' CDF (Kolmogorov–Smirnov distance) and their
/// moments, uniform and Bernoulli draws against their moments (5 standard errors), in every
/// dtype; shapes and dtypes follow `like`; the draws are untracked leaves under autodiff.
fn bulk_random_tensors(device: Device) {
    use burn::tensor::Distribution as Noise;
    use statrs::distribution::{ContinuousCDF, Normal as StatNormal};
    let n = 40_000usize;
    for dtype in dtypes(&device) {
        let like = Tensor::<2>::zeros([200, n / 200], (&device, burn::tensor::DType::from(dtype)));
        let z = random_like(&like, Noise::Normal(1.5, 2.0));
        assert_eq!((z.dims(), z.dtype()), (like.dims(), like.dtype()));
        let mut z = values(z);
        let (mean, var) = moments(&z);
        let se = (4.0 / n as f64).sqrt();
        assert!(
            (mean - 1.5).abs() < 5.0 * se,
            "normal mean {mean} [{dtype:?}]"
        );
        assert!(
            (var / 4.0 - 1.0).abs() < 5.0 * (2.0 / n as f64).sqrt(),
            "normal variance {var}"
        );
        z.sort_by(f64::total_cmp);
        let cdf = StatNormal::new(1.5, 2.0).unwrap();
        let ks = z
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let f = cdf.cdf(*x);
                (f - i as f64 / n as f64)
                    .abs()
                    .max((f - (i + 1) as f64 / n as f64).abs())
            })
            .fold(0.0, f64::max);
        // The 0.1 % critical value of the KS statistic is 1.95/√n.
        assert!(
            ks < 1.95 / (n as f64).sqrt(),
            "KS distance {ks} [{dtype:?}]"
        );
        let u = values(random(
            [n],
            Noise::Uniform(-1.0, 3.0),
            (&device, burn::tensor::DType::from(dtype)),
        ));
        assert!(u.iter().all(|x| (-1.0..3.0).contains(x)));
        let (mean, var) = moments(&u);
        assert!(
            (mean - 1.0).abs() < 5.0 * (var / n as f64).sqrt(),
            "uniform mean {mean}"
        );
        assert!(
            (var / (16.0 / 12.0) - 1.0).abs() < 0.05,
            "uniform variance {var}"
        );
        let b = values(random(
            [n],
            Noise::Bernoulli(0.3),
            (&device, burn::tensor::DType::from(dtype)),
        ));
        assert!(b.iter().all(|x| *x == 0.0 || *x == 1.0));
        let (mean, _) = moments(&b);
        assert!(
            (mean - 0.3).abs() < 5.0 * (0.21 / n as f64).sqrt(),
            "Bernoulli mean {mean}"
        );
    }
    let ad = device.autodiff();
    let x = Tensor::<1>::ones([8], &ad).require_grad();
    let eps = random_like(&x, Noise::Normal(0.0, 1.0));
    let grads = (x.clone() * eps.clone()).sum().backward();
    assert_all_close(
        "∂(x·ε)/∂x = ε",
        &values(x.grad(&grads).unwrap()),
        &values(eps),
        0.0,
        0.0,
    );
}

fn moments(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (
        mean,
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0),
    )
}
