//! Which ELBO gradient estimator is quietest? Bayesian linear regression with a full-rank Gaussian
//! posterior: the exact posterior is known, so we measure each estimator's gradient variance both
//! away from it and at it (where "sticking the landing" has zero variance).
//!
//! ```text
//! cargo run --release -p vi-examples --example estimators
//! ```

use burn::tensor::{Device, Distribution as Noise, FloatDType, Tensor};
use vi_core::distributions::{MultivariateNormal, Normal};
use vi_core::elbo::{Elbo, Estimator};
use vi_core::gradient_variance::{ParameterGroup, gradient_variance};
use vi_core::linalg::{
    Side, Triangle, cholesky, cholesky_inverse, cholesky_solve, solve_triangular,
};

const N: usize = 50;
const D: usize = 5;
const NOISE_VAR: f64 = 0.25;
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device = Device::flex();
    device.seed(1);
    let ad = device.clone().autodiff();
    let dtype = FloatDType::F64;
    let options = (&ad, dtype.into());

    // Data: y = X w + ε.
    let x = Tensor::<2>::random([N, D], Noise::Normal(0.0, 1.0), options);
    let w_true = Tensor::<2>::random([D, 1], Noise::Normal(0.0, 1.0), options);
    let y = x.clone().matmul(w_true)
        + Tensor::<2>::random([N, 1], Noise::Normal(0.0, NOISE_VAR.sqrt()), options);

    // Exact posterior with prior N(0, I): Λ = I + XᵀX/σ², μ = Λ⁻¹ Xᵀy/σ², Σ = Λ⁻¹.
    let precision = x
        .clone()
        .transpose()
        .matmul(x.clone())
        .div_scalar(NOISE_VAR)
        + Tensor::<2>::eye(D, &ad).cast(dtype);
    let l_precision = cholesky(precision)?;
    let mean = cholesky_solve(
        l_precision.clone(),
        x.clone()
            .transpose()
            .matmul(y.clone())
            .div_scalar(NOISE_VAR),
    )?;
    let scale_tril = cholesky(cholesky_inverse(l_precision)?)?;

    let prior = Normal::new(
        Tensor::<1>::zeros([D], options),
        Tensor::<1>::ones([D], options),
    )?
    .to_event(1)?;
    let log_likelihood = |w: Tensor<2>| -> Tensor<1> {
        let residual = y.clone().transpose() - w.matmul(x.clone().transpose()); // [T, N]
        (residual.square().div_scalar(-2.0 * NOISE_VAR) - (0.5 * NOISE_VAR.ln() + HALF_LN_2PI))
            .sum_dim(1)
            .squeeze_dim(1)
    };

    let points = [
        (
            "away from the posterior",
            mean.clone().mul_scalar(0.5),
            scale_tril.clone().mul_scalar(2.0),
        ),
        ("at the exact posterior", mean.clone(), scale_tril.clone()),
    ];
    let estimators = [
        (Estimator::AnalyticKl, 1),
        (Estimator::MonteCarloKl, 1),
        (Estimator::StickingTheLanding, 1),
        (Estimator::AnalyticKl, 8),
        (Estimator::StickingTheLanding, 8),
        (Estimator::Iwae, 8),
    ];
    let repeats = 400;
    for (label, loc0, tril0) in points {
        println!("\n{label} ({repeats} repeats; gradient of −ELBO)");
        println!(
            "| estimator | T | loc: ‖E g‖ | loc: Σ Var g | loc: SNR | scale: ‖E g‖ | scale: Σ Var g | scale: SNR |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for (estimator, particles) in estimators {
            let loc = loc0.clone().reshape([D]).detach().require_grad();
            let tril = tril0.clone().detach().require_grad();
            let groups = [
                ParameterGroup::new("loc").with(&loc),
                ParameterGroup::new("scale_tril").with(&tril),
            ];
            let elbo = Elbo::new(N)
                .with_num_particles(particles)
                .with_estimator(estimator);
            let stats = gradient_variance(repeats, &groups, || {
                let q =
                    MultivariateNormal::new_unchecked(loc.clone(), tril.clone()).expect("shapes");
                elbo.estimate(&q, &prior, log_likelihood)
                    .expect("finite ELBO")
                    .loss()
            })?;
            let (l, s) = (&stats[0], &stats[1]);
            println!(
                "| {estimator:?} | {particles} | {:.3e} | {:.3e} | {:.2} | {:.3e} | {:.3e} | {:.2} |",
                l.mean_norm, l.variance, l.snr, s.mean_norm, s.variance, s.snr
            );
        }
    }
    // The exact posterior's ELBO equals ln p(y); check it against the marginal likelihood.
    let q = MultivariateNormal::new(mean.reshape([D]), scale_tril.clone())?;
    let elbo = Elbo::new(N)
        .with_num_particles(64)
        .with_estimator(Estimator::StickingTheLanding);
    let value: f64 = elbo
        .estimate(&q, &prior, log_likelihood)?
        .elbo
        .into_scalar();
    let k = x.clone().matmul(x.transpose())
        + Tensor::<2>::eye(N, &ad).cast(dtype).mul_scalar(NOISE_VAR);
    let l = cholesky(k)?;
    let z = solve_triangular(l.clone(), y, Triangle::Lower, false, Side::Left)?;
    let log_evidence: f64 = (z.square().sum().mul_scalar(-0.5)
        - vi_core::linalg::logdet_from_cholesky::<2, 1>(l)?.mul_scalar(0.5)
        - N as f64 * HALF_LN_2PI)
        .into_scalar();
    println!("\nELBO at the exact posterior {value:.6} vs ln p(y) {log_evidence:.6}");
    Ok(())
}
