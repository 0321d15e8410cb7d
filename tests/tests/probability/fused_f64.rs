//! The fused kernels (Gram distances, the sparse GP's projected mean and whitened variances with
//! the latter's gradients, Gaussian likelihoods, the whitened KL, the mean-field sample and KL)
//! in `f64` against sums by hand, at 1e-12, on every device that has `f64`, wgpu
//! included (`dtypes` tests wgpu in `f32` only). Inputs are offset by 10³, where `f32` would keep
//! four decimals of them, so a kernel that computes in the wrong precision fails.
//!
//! What is skipped, and why: a device without `f64` skips the whole test; one whose `f64` `exp`
//! and `ln` are not `f64` ([`vi_tests::f64_transcendentals`] measures it) skips the cases that
//! need them (the likelihoods, both KLs, the mean-field sample) and says so. Vulkan's `exp`/`log`
//! are 32-bit only, and lavapipe's `f64` ones return garbage (`exp(0) ≈ 5e-315`), so on lavapipe
//! this test checks the distances and the sparse GP kernels, and the others run on flex and
//! ndarray.

use burn::tensor::{Device, FloatDType};
use vi_core::gram::squared_distance;
use vi_core::kl::kl_to_standard_normal;
use vi_core::likelihood::{gaussian_expected_log_likelihood, gaussian_log_likelihood};
use vi_core::mean_field::{kl_to_normal, sample};
use vi_core::sparse_gp::{projected_mean, whitened_variance};
use vi_tests::{
    assert_all_close, device_tests, f64_transcendentals, has_f64, noise, tensor, values,
};

device_tests!(fused_kernels_in_f64);

const F64: FloatDType = FloatDType::F64;
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

fn fused_kernels_in_f64(device: Device) {
    if !has_f64(&device, "fused_kernels_in_f64") {
        return;
    }
    distances(&device);
    sparse_gp(&device);
    if !f64_transcendentals(&device) {
        eprintln!(
            "fused_kernels_in_f64: likelihood, KL and mean-field cases skipped, the device's f64 \
             exp and ln are not f64 ({device:?})"
        );
        return;
    }
    likelihoods(&device);
    whitened_kl(&device);
    mean_field(&device);
}

/// `‖aᵢ − bⱼ‖²` of points near 10³ apart by about 1: `f32` inputs would lose `1e-4` of each.
fn distances(device: &Device) {
    let (n, m, d) = (9, 70, 3);
    let a: Vec<f64> = noise(1, n * d).iter().map(|v| 1e3 + v).collect();
    let b: Vec<f64> = noise(2, m * d).iter().map(|v| 1e3 + v).collect();
    let got = values(
        squared_distance(
            tensor(a.clone(), [1, n, d], device, F64),
            tensor(b.clone(), [1, m, d], device, F64),
        )
        .unwrap(),
    );
    let want: Vec<f64> = (0..n * m)
        .map(|ij| {
            let (i, j) = (ij / m, ij % m);
            (0..d).map(|c| (a[i * d + c] - b[j * d + c]).powi(2)).sum()
        })
        .collect();
    assert_all_close("squared_distance [f64]", &got, &want, 1e-12, 1e-12);
}

/// Both Gaussian likelihoods with `y`, `μ` near 10³ and a per-element log scale: the residuals
/// and the sum over 3000 elements (several cubes' worth).
fn likelihoods(device: &Device) {
    let n = 3000;
    let y: Vec<f64> = noise(3, n).iter().map(|v| 1e3 + v).collect();
    let mean: Vec<f64> = noise(4, n).iter().map(|v| 1e3 + 0.5 * v).collect();
    let variance: Vec<f64> = noise(5, n).iter().map(|v| 0.1 + v.abs()).collect();
    let t = |v: &[f64]| tensor(v.to_vec(), [n / 2, 2], device, F64);
    let s: Vec<f64> = noise(13, n).iter().map(|v| 0.3 * v).collect();
    let r2 = |i: usize| (y[i] - mean[i]).powi(2);
    let want_ll: f64 = (0..n)
        .map(|i| -0.5 * r2(i) * (-2.0 * s[i]).exp() - s[i] - HALF_LN_2PI)
        .sum();
    let got = values(gaussian_log_likelihood(t(&y), t(&mean), t(&s)).unwrap());
    assert_all_close("Gaussian ll [f64]", &got, &[want_ll], 1e-12, 1e-12);
    let want_ell: f64 = (0..n)
        .map(|i| -0.5 * (r2(i) + variance[i]) * (-2.0 * s[i]).exp() - s[i] - HALF_LN_2PI)
        .sum();
    let got =
        values(gaussian_expected_log_likelihood(t(&y), t(&mean), t(&variance), t(&s)).unwrap());
    assert_all_close("Gaussian ell [f64]", &got, &[want_ell], 1e-12, 1e-12);
}

/// `Σ KL(N(m, L Lᵀ) ‖ N(0, I)) = ½ Σ (m² + ‖L‖²_F − n) − Σ ln |Lᵢᵢ|`, the off-diagonal entries
/// 1 + 10⁻⁹ apart in their ninth digit.
fn whitened_kl(device: &Device) {
    let (p, n) = (4, 6);
    let loc: Vec<f64> = noise(6, p * n).iter().map(|v| 3.0 * v).collect();
    let factor: Vec<f64> = noise(7, p * n * n)
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let (i, j) = ((index / n) % n, index % n);
            match i.cmp(&j) {
                std::cmp::Ordering::Greater => 1.0 + 1e-9 * v,
                std::cmp::Ordering::Equal => 0.5 + v.abs(),
                std::cmp::Ordering::Less => 0.0,
            }
        })
        .collect();
    let got = values(
        kl_to_standard_normal(
            tensor(loc.clone(), [p, n], device, F64),
            tensor(factor.clone(), [p, n, n], device, F64),
        )
        .unwrap(),
    );
    let sum_sq = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>();
    let log_diagonal: f64 = (0..p * n)
        .map(|k| factor[(k / n) * n * n + (k % n) * (n + 1)].ln())
        .sum();
    let want = 0.5 * (sum_sq(&loc) + sum_sq(&factor) - (p * n) as f64) - log_diagonal;
    assert_all_close("whitened KL [f64]", &got, &[want], 1e-12, 1e-12);
}

/// `Y = C + W A` with one projection per row and offsets near 10³; `v = σ₀² + ‖Lᵀ b‖² − ‖b‖²`
/// with prior variances near 10³, and its gradients for an upstream `ḡ`: with `P = Lᵀ B`,
/// `L̄ = 2 tril(B diag(ḡ) Pᵀ)`, `B̄ = 2 (L P − B) diag(ḡ)`, `σ̄₀² = ḡ`.
fn sparse_gp(device: &Device) {
    let (p, m, n) = (3, 5, 40);
    let w = noise(14, p * m);
    let a = noise(15, p * m * n);
    let c: Vec<f64> = noise(16, p * n).iter().map(|v| 1e3 + v).collect();
    let got = values(
        projected_mean(
            tensor(w.clone(), [p, m], device, F64),
            tensor(a.clone(), [p, m, n], device, F64),
            Some(tensor(c.clone(), [p, n], device, F64)),
        )
        .unwrap(),
    );
    let want: Vec<f64> = (0..p * n)
        .map(|pn| {
            let (r, j) = (pn / n, pn % n);
            c[pn]
                + (0..m)
                    .map(|k| w[r * m + k] * a[(r * m + k) * n + j])
                    .sum::<f64>()
        })
        .collect();
    assert_all_close("projected mean [f64]", &got, &want, 1e-12, 1e-12);

    let (n, k) = (6, 30);
    let l: Vec<f64> = noise(17, n * n)
        .iter()
        .enumerate()
        .map(|(i, v)| if i % n <= i / n { *v } else { 0.0 })
        .collect();
    let b = noise(18, n * k);
    let prior: Vec<f64> = noise(19, k).iter().map(|v| 1e3 + v).collect();
    let upstream = noise(20, k);
    let ad = device.clone().autodiff();
    let leaf = |v: &[f64], shape: [usize; 2]| tensor(v.to_vec(), shape, &ad, F64).require_grad();
    let (lt, bt) = (leaf(&l, [n, n]), leaf(&b, [n, k]));
    let pt = tensor(prior.clone(), [k], &ad, F64).require_grad();
    let v = whitened_variance(lt.clone(), bt.clone(), pt.clone()).unwrap();
    let grads = (v.clone() * tensor(upstream.clone(), [k], &ad, F64))
        .sum()
        .backward();
    // P = Lᵀ B.
    let proj: Vec<f64> = (0..n * k)
        .map(|ij| (0..n).map(|r| l[r * n + ij / k] * b[r * k + ij % k]).sum())
        .collect();
    let want: Vec<f64> = (0..k)
        .map(|j| {
            let col = |x: &[f64]| (0..n).map(|i| x[i * k + j].powi(2)).sum::<f64>();
            prior[j] + col(&proj) - col(&b)
        })
        .collect();
    assert_all_close("whitened variance [f64]", &values(v), &want, 1e-12, 1e-12);
    let want_l: Vec<f64> = (0..n * n)
        .map(|ri| {
            let (r, i) = (ri / n, ri % n);
            if i > r {
                return 0.0;
            }
            2.0 * (0..k)
                .map(|j| b[r * k + j] * upstream[j] * proj[i * k + j])
                .sum::<f64>()
        })
        .collect();
    let want_b: Vec<f64> = (0..n * k)
        .map(|rj| {
            let (r, j) = (rj / k, rj % k);
            let lp: f64 = (0..n).map(|i| l[r * n + i] * proj[i * k + j]).sum();
            2.0 * (lp - b[rj]) * upstream[j]
        })
        .collect();
    let grad = |t: &burn::tensor::Tensor<2>| values(t.grad(&grads).unwrap());
    assert_all_close(
        "whitened variance, L̄ [f64]",
        &grad(&lt),
        &want_l,
        1e-12,
        1e-12,
    );
    assert_all_close(
        "whitened variance, B̄ [f64]",
        &grad(&bt),
        &want_b,
        1e-12,
        1e-12,
    );
    let prior_grad = values(pt.grad(&grads).unwrap());
    assert_all_close(
        "whitened variance, σ̄₀² [f64]",
        &prior_grad,
        &upstream,
        1e-12,
        1e-12,
    );
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `μ + softplus(ρ) ε` with `μ` near 10³ and `softplus(ρ) ε` near 10⁻³;
/// `KL(Π N(μᵢ, σᵢ²) ‖ N(0, s²)) = Σ ln(s/σᵢ) + (σᵢ² + μᵢ²)/2s² − ½`.
fn mean_field(device: &Device) {
    let n = 2000;
    let loc: Vec<f64> = noise(8, n).iter().map(|v| 1e3 + v).collect();
    let rho: Vec<f64> = noise(9, n).iter().map(|v| -7.0 + v).collect();
    let eps = noise(10, n);
    let t = |v: &[f64]| tensor(v.to_vec(), [n], device, F64);
    let got = values(sample(t(&loc), t(&rho), t(&eps)).unwrap());
    let want: Vec<f64> = (0..n).map(|i| loc[i] + softplus(rho[i]) * eps[i]).collect();
    assert_all_close("mean-field sample [f64]", &got, &want, 1e-12, 0.0);
    let small: Vec<f64> = noise(11, n).iter().map(|v| 0.5 * v).collect();
    let rho: Vec<f64> = noise(12, n).iter().map(|v| -1.0 + v).collect();
    let s = 0.8_f64;
    let got = values(kl_to_normal(t(&small), t(&rho), tensor(vec![s], [1], device, F64)).unwrap());
    let want: f64 = (0..n)
        .map(|i| {
            let sigma = softplus(rho[i]);
            (s / sigma).ln() + (sigma * sigma + small[i] * small[i]) / (2.0 * s * s) - 0.5
        })
        .sum();
    assert_all_close("mean-field KL [f64]", &got, &[want], 1e-12, 0.0);
}
