//! vi-models on every compiled backend: the Categorical Latent GP's ELBO against a dense
//! computation written out here in `f64`, finite differences through the whole model, masking,
//! and imputation on data drawn from a known 2-D latent structure; the classifiers against the
//! Bayes classifier of a known mixture; learned observation noise.

use burn::module::{Param, ParamId};
use burn::tensor::{Device, FloatDType, Tensor};
use vi_blocks::gp::kernel::{Rbf, RbfConfig, ScaleKernel, ScaleKernelConfig};
use vi_blocks::gp::{LatentInputs, MeanFunction, Svgp};
use vi_core::gradcheck::gradcheck;
use vi_models::classification::{
    BnnClassifierConfig, BnnClassifierNetConfig, BnnMethod, ClassProbabilities,
    SvgpClassificationModelConfig, SvgpClassifierConfig,
};
use vi_models::clgp::{
    CategoricalObservations, Clgp, ClgpConfig, ClgpImputer, ClgpTraining, Imputer,
    MultinomialImputer, imputation_split, perplexity, train_clgp,
};
use vi_models::data::{CategoricalTable, Table};
use vi_models::regression::{
    BbbNetConfig, BbbRegressorConfig, ConcreteDropoutNetConfig, ConcreteDropoutRegressorConfig,
};
use vi_tests::{
    assert_all_close, by_dtype, device_tests, dtypes, gaussian, gradcheck_config, noise, tensor,
    three_blobs, values,
};

device_tests!(
    clgp_elbo_matches_dense_computation,
    gradcheck_clgp,
    clgp_imputes_a_latent_structure,
    clgp_training_recovers_singular_inducing_points,
    classifiers_approach_the_bayes_classifier,
    learned_noise_recovers_the_noise_level,
);

fn param<const D: usize>(t: Tensor<D>) -> Param<Tensor<D>> {
    Param::initialized(ParamId::new(), t)
}

const N: usize = 5;
const Q: usize = 2;
const M: usize = 3;
const CATEGORIES: [usize; 2] = [2, 3];
const P: usize = 5;

/// Rows: row 1 misses variable 1, row 3 misses both (no KL(q(x₃))).
fn tiny_table() -> CategoricalTable {
    let codes = vec![
        Some(0),
        Some(2),
        Some(1),
        None,
        Some(1),
        Some(0),
        None,
        None,
        Some(0),
        Some(1),
    ];
    CategoricalTable::from_codes(vec!["a".into(), "b".into()], CATEGORIES.to_vec(), codes).unwrap()
}

/// The parameters, as `[1 or P, ·, ·]` tensors: `m`, `ρ`, `Z`, `μ_u`, `R`, raw lengthscales, raw
/// outputscale, constant mean.
fn parameters(device: &Device, dtype: FloatDType) -> Vec<Tensor<3>> {
    let mut chol: Vec<f64> = noise(5, P * M * M).iter().map(|v| 0.3 * v).collect();
    for o in 0..P {
        for i in 0..M {
            chol[o * M * M + i * M + i] = 0.7 + 0.1 * i as f64;
        }
    }
    vec![
        tensor(noise(1, N * Q), [1, N, Q], device, dtype),
        tensor(
            noise(2, N * Q).iter().map(|v| v - 1.0).collect(),
            [1, N, Q],
            device,
            dtype,
        ),
        tensor(
            noise(3, M * Q).iter().map(|v| 1.5 * v).collect(),
            [1, M, Q],
            device,
            dtype,
        ),
        tensor(noise(4, P * M), [1, P, M], device, dtype),
        tensor(chol, [P, M, M], device, dtype),
        tensor(vec![0.2, -0.3], [1, 1, Q], device, dtype),
        tensor(vec![0.4], [1, 1, 1], device, dtype),
        tensor(noise(6, P), [1, 1, P], device, dtype),
    ]
}

fn model_from(v: &[Tensor<3>]) -> Clgp<ScaleKernel<Rbf>> {
    Clgp {
        latent: LatentInputs {
            loc: param(v[0].clone().reshape([N, Q])),
            rho: param(v[1].clone().reshape([N, Q])),
        },
        gp: Svgp {
            kernel: ScaleKernel {
                base: Rbf {
                    lengthscale_raw: param(v[5].clone()),
                },
                outputscale_raw: param(v[6].clone()),
            },
            mean: MeanFunction {
                constant: Some(param(v[7].clone().reshape([P]))),
                weight: None,
                outputs: P,
            },
            inducing_points: param(v[2].clone()),
            variational_mean: param(v[3].clone().reshape([P, M])),
            variational_scale_tril: Some(param(v[4].clone())),
            variational_stddev: None,
            whiten: true,
            jitter: Some(1e-6),
        },
        categories: CATEGORIES.to_vec(),
    }
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Lower Cholesky factor of a dense `n × n` matrix.
fn cholesky_dense(a: &[f64], n: usize) -> Vec<f64> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = a[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
            l[i * n + j] = if i == j { s.sqrt() } else { s / l[j * n + j] };
        }
    }
    l
}

/// The three ELBO terms for the noise `eps_x` `[S, N, Q]`, `eps_f` `[S·N, P]`, written out with
/// dense matrices and explicit sums over rows, variables, samples and inducing points.
fn dense_elbo(v: &[Vec<f64>], table: &CategoricalTable, eps_x: &[f64], eps_f: &[f64]) -> [f64; 3] {
    let (loc, rho, z, mu, r, ls, os, c) = (&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    let lengthscale: Vec<f64> = ls.iter().map(|&x| softplus(x)).collect();
    let outputscale = softplus(os[0]);
    let k = |a: &[f64], b: &[f64]| {
        let d2: f64 = (0..Q)
            .map(|q| ((a[q] - b[q]) / lengthscale[q]).powi(2))
            .sum();
        outputscale * (-0.5 * d2).exp()
    };
    let jitter = 1e-6;
    let mut kzz = vec![0.0; M * M];
    for i in 0..M {
        for j in 0..M {
            kzz[i * M + j] =
                k(&z[i * Q..i * Q + Q], &z[j * Q..j * Q + Q]) + if i == j { jitter } else { 0.0 };
        }
    }
    let lzz = cholesky_dense(&kzz, M);
    let s_count = eps_x.len() / (N * Q);
    let mut ell = 0.0;
    for s in 0..s_count {
        for n in 0..N {
            let x: Vec<f64> = (0..Q)
                .map(|q| loc[n * Q + q] + softplus(rho[n * Q + q]) * eps_x[(s * N + n) * Q + q])
                .collect();
            // a = L⁻¹ k(Z, x) by forward substitution.
            let mut a = [0.0; M];
            for i in 0..M {
                let kzx = k(&z[i * Q..i * Q + Q], &x);
                a[i] = (kzx - (0..i).map(|j| lzz[i * M + j] * a[j]).sum::<f64>()) / lzz[i * M + i];
            }
            let explained: f64 = a.iter().map(|v| v * v).sum();
            let f: Vec<f64> = (0..P)
                .map(|p| {
                    let mean = c[p] + (0..M).map(|i| a[i] * mu[p * M + i]).sum::<f64>();
                    // Lᵀ a with L = tril(R_p) (positive diagonal here).
                    let added: f64 = (0..M)
                        .map(|j| {
                            (j..M)
                                .map(|i| r[p * M * M + i * M + j] * a[i])
                                .sum::<f64>()
                                .powi(2)
                        })
                        .sum();
                    let var = outputscale + jitter - explained + added;
                    mean + var.sqrt() * eps_f[(s * N + n) * P + p]
                })
                .collect();
            let mut offset = 0;
            for (d, &kd) in CATEGORIES.iter().enumerate() {
                if let Some(y) = table.get(n, d) {
                    let logits = &f[offset..offset + kd];
                    let lse = logits.iter().map(|l| l.exp()).sum::<f64>().ln();
                    ell += logits[y] - lse;
                }
                offset += kd;
            }
        }
    }
    ell /= s_count as f64;
    // KL(N(μ_p, L Lᵀ) ‖ N(0, I)) = ½ (tr S + μᵀμ − M − ln det S).
    let mut kl_u = 0.0;
    for p in 0..P {
        let l = |i: usize, j: usize| {
            if j <= i {
                r[p * M * M + i * M + j]
            } else {
                0.0
            }
        };
        let trace: f64 = (0..M)
            .flat_map(|i| (0..M).map(move |j| (i, j)))
            .map(|(i, j)| l(i, j).powi(2))
            .sum();
        let mm: f64 = (0..M).map(|i| mu[p * M + i].powi(2)).sum();
        let logdet: f64 = (0..M).map(|i| 2.0 * l(i, i).ln()).sum();
        kl_u += 0.5 * (trace + mm - M as f64 - logdet);
    }
    let mut kl_x = 0.0;
    for n in 0..N {
        if (0..CATEGORIES.len()).all(|d| table.get(n, d).is_none()) {
            continue;
        }
        for q in 0..Q {
            let (m, s) = (loc[n * Q + q], softplus(rho[n * Q + q]));
            kl_x += 0.5 * (s * s + m * m - 1.0) - s.ln();
        }
    }
    [ell, kl_u, kl_x]
}

/// The model's ELBO terms equal the dense computation for fixed noise; an entry that turns
/// missing removes exactly its log-probability, and the all-missing row adds no KL(q(x)).
fn clgp_elbo_matches_dense_computation(device: Device) {
    for dtype in dtypes(&device) {
        let rtol = by_dtype(dtype, 1e-9, 2e-4);
        let table = tiny_table();
        let data = CategoricalObservations::new(&table, &device);
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

        // Hide entry (0, 1): the ELL loses exactly that entry's term.
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
            (got_fewer - got[0]).abs() > 1e-3,
            "hiding an entry changed nothing"
        );

        // Row 3 is all missing: observing one of its entries adds its KL(q(x₃)) (> 0 here).
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
            &[got[2] + row3],
            rtol,
            rtol,
        );
    }
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

/// Data from a known generating process: `xₙ ~ N(0, I₂)`, variable `d`'s category `k` has a
/// prototype `c_dk` on a circle and `p(y_nd = k | xₙ) ∝ exp(−2 |xₙ − c_dk|²)`. The CLGP's
/// imputation perplexity must close at least half the gap between the multinomial baseline and
/// the oracle that knows `xₙ` and the generating probabilities.
fn clgp_imputes_a_latent_structure(device: Device) {
    let (n, d, k) = (200, 6, 4);
    let x = noise(11, n * 2)
        .chunks(2)
        .map(|u| {
            // Box–Muller from two uniforms in (−1, 1).
            let (u1, u2) = ((u[0] + 1.0) / 2.0 * 0.999_999 + 1e-7, (u[1] + 1.0) / 2.0);
            let r = (-2.0 * u1.ln()).sqrt();
            [
                r * (std::f64::consts::TAU * u2).cos(),
                r * (std::f64::consts::TAU * u2).sin(),
            ]
        })
        .collect::<Vec<_>>();
    let probs = |row: usize, var: usize| -> Vec<f64> {
        let logits: Vec<f64> = (0..k)
            .map(|c| {
                let theta = std::f64::consts::TAU * c as f64 / k as f64 + 0.7 * var as f64;
                let (px, py) = (1.5 * theta.cos(), 1.5 * theta.sin());
                -2.0 * ((x[row][0] - px).powi(2) + (x[row][1] - py).powi(2))
            })
            .collect();
        let lse = logits.iter().map(|l| l.exp()).sum::<f64>().ln();
        logits.iter().map(|l| (l - lse).exp()).collect()
    };
    let u = noise(12, n * d);
    let codes: Vec<Option<usize>> = (0..n * d)
        .map(|i| {
            let p = probs(i / d, i % d);
            let target = (u[i] + 1.0) / 2.0;
            let mut acc = 0.0;
            Some(
                p.iter()
                    .position(|pk| {
                        acc += pk;
                        target < acc
                    })
                    .unwrap_or(k - 1),
            )
        })
        .collect();
    let names = (0..d).map(|v| format!("v{v}")).collect();
    let table = CategoricalTable::from_codes(names, vec![k; d], codes).unwrap();
    let hideable: Vec<usize> = (0..d).collect();
    let split = imputation_split(&table, 0.2, &hideable, 5);
    let oracle = perplexity(
        &split
            .hidden
            .iter()
            .map(|h| probs(h.row, h.variable)[h.value].ln())
            .collect::<Vec<_>>(),
    );
    let multinomial = MultinomialImputer::fit(&split.train).perplexity(&split.hidden);
    let threshold = 0.5 * (oracle + multinomial);
    assert!(
        multinomial - oracle > 0.5,
        "the structure is too weak: {oracle} vs {multinomial}"
    );

    let ad = device.autodiff();
    ad.seed(3);
    let kernel = ScaleKernelConfig::new().init(RbfConfig::new(2).init(&ad), &ad);
    let model = ClgpConfig::new()
        .with_num_inducing(10)
        .init(kernel, &split.train, &ad);
    let data = CategoricalObservations::new(&split.train, &ad);
    let training = ClgpTraining::new()
        .with_iterations(300)
        .with_learning_rate(0.05)
        .with_samples(2);
    let model = train_clgp(model, &data, &training, |_, _| {}).unwrap();
    let clgp = ClgpImputer::new(&model, &split.hidden, 200)
        .unwrap()
        .perplexity(&split.hidden);
    println!("perplexity: oracle {oracle:.3}, CLGP {clgp:.3}, multinomial {multinomial:.3}");
    assert!(
        clgp < threshold,
        "CLGP {clgp} vs threshold {threshold} (oracle {oracle}, multinomial {multinomial})"
    );
}

/// `train_clgp` reads `K_zz`'s factor check with the loss: coincident inducing points and no
/// base jitter make the one-read estimate NaN, and the step is recomputed with jitter retries.
fn clgp_training_recovers_singular_inducing_points(device: Device) {
    let ad = device.autodiff();
    ad.seed(5);
    let table = tiny_table();
    // A unit-variance kernel: K_zz is exactly the all-ones matrix.
    let mut model =
        ClgpConfig::new()
            .with_num_inducing(M)
            .init(RbfConfig::new(Q).init(&ad), &table, &ad);
    model.gp = Svgp {
        jitter: Some(0.0),
        ..model.gp
    }
    .with_inducing_points(Tensor::<2>::zeros([M, Q], &ad));
    let deferred = model
        .gp
        .forward_deferred(Tensor::zeros([N, Q], &ad))
        .unwrap();
    assert!(
        !values(deferred.guard.unwrap())[0].is_finite(),
        "K_zz factorised"
    );
    let data = CategoricalObservations::new(&table, &ad);
    // One step: the retried factor's gradients at coincident points are huge, so later steps
    // would only test the optimiser.
    let training = ClgpTraining::new().with_iterations(1).with_samples(2);
    let mut losses = Vec::new();
    train_clgp(model, &data, &training, |_, loss| losses.push(loss)).unwrap();
    assert_eq!(losses.len(), 1);
    assert!(losses[0].is_finite(), "{losses:?}");
}

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
    .evaluate(&test.labels);
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

/// With `learn_noise`, Bayes-by-backprop and concrete dropout recover the noise precision of
/// `y = sin(x) + 0.1 ε` (τ = 100) to within a factor of two, starting from τ = 1.
fn learned_noise_recovers_the_noise_level(device: Device) {
    let n = 400;
    let x: Vec<f64> = (0..n).map(|i| 4.0 * i as f64 / n as f64).collect();
    let e = gaussian(31, n);
    let train = Table {
        y: x.iter().zip(&e).map(|(v, e)| v.sin() + 0.1 * e).collect(),
        x,
        d: 1,
    };
    let bbb = BbbRegressorConfig::new(BbbNetConfig::new(32, 1.0).with_learn_noise(true))
        .with_epochs(150)
        .with_batch_size(50)
        .with_mc_samples(10)
        .fit(&train, &device, |_, _| {})
        .unwrap();
    let concrete = ConcreteDropoutRegressorConfig::new(
        ConcreteDropoutNetConfig::new(32, 1.0).with_learn_noise(true),
    )
    .with_epochs(150)
    .with_batch_size(50)
    .with_learning_rate(1e-2)
    .with_mc_samples(10)
    .fit(&train, &device, |_, _| {})
    .unwrap();
    for (name, tau) in [("BBB", bbb.tau), ("concrete", concrete.tau)] {
        println!("{name}: learned tau {tau:.1} (true 100)");
        assert!((50.0..200.0).contains(&tau), "{name}: learned tau {tau}");
    }
}
