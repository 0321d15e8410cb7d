//! A tiny CLGP fixture and its ELBO written out with dense matrices in `f64`.

use burn::module::{Param, ParamId};
use burn::tensor::{Device, FloatDType, Tensor};
use vi_blocks::family::{FullRankGaussian, ScaleTransform, TrilTransform};
use vi_blocks::gp::kernel::{Rbf, ScaleKernel};
use vi_blocks::gp::{InducingFamily, LatentInputs, MeanFunction, Svgp, Whitened};
use vi_models::clgp::Clgp;
use vi_models::data::CategoricalTable;
use vi_tests::{noise, tensor};

pub fn param<const D: usize>(t: Tensor<D>) -> Param<Tensor<D>> {
    Param::initialized(ParamId::new(), t)
}

/// The parameters, as `[1 or P, ·, ·]` tensors: `m`, `ρ`, `Z`, `μ_u`, `R`, raw lengthscales, raw
/// outputscale, constant mean.
pub fn parameters(device: &Device, dtype: FloatDType) -> Vec<Tensor<3>> {
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

pub const N: usize = 5;

pub const Q: usize = 2;

pub const M: usize = 3;

pub const CATEGORIES: [usize; 2] = [2, 3];

pub const P: usize = 5;

/// Rows: row 1 misses variable 1, row 3 misses both (no KL(q(x₃))).
pub fn tiny_table() -> CategoricalTable {
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

pub fn model_from(v: &[Tensor<3>]) -> Clgp<ScaleKernel<Rbf>> {
    Clgp {
        latent: LatentInputs {
            loc: param(v[0].clone().reshape([N, Q])),
            rho: param(v[1].clone().reshape([N, Q])),
            transform: ScaleTransform::Softplus,
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
            variational: InducingFamily::FullRank(FullRankGaussian {
                loc: param(v[3].clone().reshape([P, M])),
                scale_raw: param(v[4].clone()),
                transform: TrilTransform::SignFlip,
            }),
            strategy: Whitened,
            jitter: Some(1e-6),
        },
        categories: CATEGORIES.to_vec(),
    }
}

pub fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Lower Cholesky factor of a dense `n × n` matrix.
pub fn cholesky_dense(a: &[f64], n: usize) -> Vec<f64> {
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
pub fn dense_elbo(
    v: &[Vec<f64>],
    table: &CategoricalTable,
    eps_x: &[f64],
    eps_f: &[f64],
) -> [f64; 3] {
    [
        dense_expected_log_likelihood(v, table, eps_x, eps_f),
        dense_kl_u(v),
        dense_kl_x(v, table),
    ]
}

/// The expected log-likelihood, averaged over the `S` samples of `eps_x` and `eps_f`: `f` at
/// `x = m + softplus(ρ) ε_x` from `a = L⁻¹ k(Z, x)` by forward substitution.
fn dense_expected_log_likelihood(
    v: &[Vec<f64>],
    table: &CategoricalTable,
    eps_x: &[f64],
    eps_f: &[f64],
) -> f64 {
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
    ell
}

/// KL(N(μ_p, L Lᵀ) ‖ N(0, I)) = ½ (tr S + μᵀμ − M − ln det S), summed over the outputs.
fn dense_kl_u(v: &[Vec<f64>]) -> f64 {
    let (mu, r) = (&v[3], &v[4]);
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
    kl_u
}

/// KL(q(xₙ) ‖ N(0, I)) summed over the rows with at least one observed entry.
fn dense_kl_x(v: &[Vec<f64>], table: &CategoricalTable) -> f64 {
    let (loc, rho) = (&v[0], &v[1]);
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
    kl_x
}
