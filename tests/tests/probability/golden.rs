//! torch.distributions' golden values (float64): distributions and KL divergences.

use burn::tensor::{Device, FloatDType, Tensor};
use vi_core::distributions::{Distribution, LowRankMultivariateNormal, MultivariateNormal, Normal};
use vi_core::kl::KlDivergence;
use vi_core::special::softplus;
use vi_tests::{Case, Golden, assert_close, device_tests, dtypes, tensor, tolerance, values};

device_tests!(golden_distributions, golden_kl,);

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
            match case.name() {
                "normal_broadcast" => normal_broadcast(&case, &ad, dtype, &check),
                n if n.starts_with("mvn_scale_tril") => {
                    mvn_scale_tril(&case, &ad, dtype, n.ends_with("batched"), &check)
                }
                "lowrank_mvn_batched" => lowrank_mvn_batched(&case, &ad, dtype, &check),
                other => panic!("unknown golden case {other}"),
            }
        }
    }
}

/// A golden check: label, values, whether they are gradients.
type Check<'a> = &'a dyn Fn(&str, Vec<f64>, bool);

/// A Normal with broadcast parameters: log_prob, entropy, gradients.
fn normal_broadcast(case: &Case<'_>, ad: &Device, dtype: FloatDType, check: Check) {
    let ad = ad.clone();
    let input = |key: &str| case.input(key);
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

/// A full-covariance MVN, batched or not: log_prob, entropy, covariance, gradients.
fn mvn_scale_tril(case: &Case<'_>, ad: &Device, dtype: FloatDType, batched: bool, check: Check) {
    let ad = ad.clone();
    let input = |key: &str| case.input(key);
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

/// A batched low-rank MVN: log_prob, entropy, covariance, gradients.
fn lowrank_mvn_batched(case: &Case<'_>, ad: &Device, dtype: FloatDType, check: Check) {
    let ad = ad.clone();
    let input = |key: &str| case.input(key);
    let loc = input("loc").to_tensor::<2>(&ad, dtype).require_grad();
    let w = input("cov_factor")
        .to_tensor::<3>(&ad, dtype)
        .require_grad();
    let diag = input("cov_diag").to_tensor::<2>(&ad, dtype).require_grad();
    let x = input("x").to_tensor::<3>(&ad, dtype).require_grad();
    let d = LowRankMultivariateNormal::new(loc.clone(), w.clone(), diag.clone()).unwrap();
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
            match case.name() {
                "normal_normal" => kl_normal_normal(&case, &ad, dtype, &check),
                "mvn_mvn_full" => kl_mvn_mvn(&case, &ad, dtype, &check),
                "mvn_standard_normal" => kl_mvn_standard_normal(&case, &ad, dtype, &check),
                "lowrank_mvn_to_mvn" => kl_lowrank_mvn_to_mvn(&case, &ad, dtype, &check),
                n if n.starts_with("meanfield_to_normal_prior") => {
                    kl_mean_field_to_normal_prior(&case, &ad, dtype, &check)
                }
                other => panic!("unknown golden case {other}"),
            }
        }
    }
}

/// Normal ‖ Normal: value, sum and gradients in all four parameters.
fn kl_normal_normal(case: &Case<'_>, ad: &Device, dtype: FloatDType, check: Check) {
    let ad = ad.clone();
    let leaf1 = |key: &str| case.input(key).to_tensor::<1>(&ad, dtype).require_grad();
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

/// MVN ‖ MVN (full covariances): value, sum and gradients in both sides.
fn kl_mvn_mvn(case: &Case<'_>, ad: &Device, dtype: FloatDType, check: Check) {
    let ad = ad.clone();
    let leaf2 = |key: &str| case.input(key).to_tensor::<2>(&ad, dtype).require_grad();
    let leaf3 = |key: &str| case.input(key).to_tensor::<3>(&ad, dtype).require_grad();
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

/// MVN ‖ N(0, I) as a diagonal Normal with event [M]: the whitened SVGP KL.
fn kl_mvn_standard_normal(case: &Case<'_>, ad: &Device, dtype: FloatDType, check: Check) {
    let ad = ad.clone();
    let leaf1 = |key: &str| case.input(key).to_tensor::<1>(&ad, dtype).require_grad();
    let leaf2 = |key: &str| case.input(key).to_tensor::<2>(&ad, dtype).require_grad();
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

/// LowRank MVN ‖ MVN: value and gradients in both sides.
fn kl_lowrank_mvn_to_mvn(case: &Case<'_>, ad: &Device, dtype: FloatDType, check: Check) {
    let ad = ad.clone();
    let leaf1 = |key: &str| case.input(key).to_tensor::<1>(&ad, dtype).require_grad();
    let leaf2 = |key: &str| case.input(key).to_tensor::<2>(&ad, dtype).require_grad();
    let (pl, pw, pd, ql, qs) = (
        leaf1("p_loc"),
        leaf2("p_cov_factor"),
        leaf1("p_cov_diag"),
        leaf1("q_loc"),
        leaf2("q_scale_tril"),
    );
    let p = LowRankMultivariateNormal::new(pl.clone(), pw.clone(), pd.clone()).unwrap();
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

/// A mean-field posterior over a 4×3 weight matrix, σ = softplus(ρ), against a scalar prior
/// expanded to the weights (Pyro's `expand(..).to_event(2)`).
fn kl_mean_field_to_normal_prior(case: &Case<'_>, ad: &Device, dtype: FloatDType, check: Check) {
    let ad = ad.clone();
    let leaf2 = |key: &str| case.input(key).to_tensor::<2>(&ad, dtype).require_grad();
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
