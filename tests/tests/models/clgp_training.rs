//! Training the Categorical Latent GP: imputation of a latent structure, and jitter retries.

use crate::common::{M, N, Q, tiny_table};
use burn::tensor::{Device, Tensor};
use vi_blocks::gp::Svgp;
use vi_blocks::gp::kernel::{RbfConfig, ScaleKernelConfig};
use vi_models::clgp::{
    CategoricalObservations, ClgpConfig, ClgpImputer, ClgpTraining, ImputationSplit, Imputer,
    MultinomialImputer, imputation_split, perplexity, train_clgp,
};
use vi_models::data::CategoricalTable;
use vi_tests::{device_tests, noise, values};

device_tests!(
    clgp_imputes_a_latent_structure,
    clgp_training_recovers_singular_inducing_points,
);

/// Data from a known generating process: `xₙ ~ N(0, I₂)`, variable `d`'s category `k` has a
/// prototype `c_dk` on a circle and `p(y_nd = k | xₙ) ∝ exp(−2 |xₙ − c_dk|²)`. The CLGP's
/// imputation perplexity must close at least half the gap between the multinomial baseline and
/// the oracle that knows `xₙ` and the generating probabilities.
fn clgp_imputes_a_latent_structure(device: Device) {
    let (n, d, k) = (200, 6, 4);
    let latent = LatentStructure::new(n, k);
    let probs = |row: usize, var: usize| latent.probs(row, var);
    let table = latent.table(d);
    let hideable: Vec<usize> = (0..d).collect();
    let split = imputation_split(&table, 0.2, &hideable, 5).unwrap();
    let oracle = perplexity(
        &split
            .hidden
            .iter()
            .map(|h| probs(h.row, h.variable)[h.value].ln())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let multinomial = MultinomialImputer::fit(&split.train)
        .perplexity(&split.hidden)
        .unwrap();
    let threshold = 0.5 * (oracle + multinomial);
    assert!(
        multinomial - oracle > 0.5,
        "the structure is too weak: {oracle} vs {multinomial}"
    );
    let clgp = clgp_perplexity(&device, &split);
    println!("perplexity: oracle {oracle:.3}, CLGP {clgp:.3}, multinomial {multinomial:.3}");
    assert!(
        clgp < threshold,
        "CLGP {clgp} vs threshold {threshold} (oracle {oracle}, multinomial {multinomial})"
    );
}

/// `xₙ ~ N(0, I₂)` and `k` categories per variable.
struct LatentStructure {
    x: Vec<[f64; 2]>,
    k: usize,
}

impl LatentStructure {
    fn new(n: usize, k: usize) -> Self {
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
        Self { x, k }
    }

    /// `p(y_nd = k | xₙ) ∝ exp(−2 |xₙ − c_dk|²)`, prototypes `c_dk` on a circle of radius 1.5.
    fn probs(&self, row: usize, var: usize) -> Vec<f64> {
        let (x, k) = (&self.x, self.k);
        let logits: Vec<f64> = (0..k)
            .map(|c| {
                let theta = std::f64::consts::TAU * c as f64 / k as f64 + 0.7 * var as f64;
                let (px, py) = (1.5 * theta.cos(), 1.5 * theta.sin());
                -2.0 * ((x[row][0] - px).powi(2) + (x[row][1] - py).powi(2))
            })
            .collect();
        let lse = logits.iter().map(|l| l.exp()).sum::<f64>().ln();
        logits.iter().map(|l| (l - lse).exp()).collect()
    }

    /// `n × d` codes drawn from [`LatentStructure::probs`].
    fn table(&self, d: usize) -> CategoricalTable {
        let (n, k) = (self.x.len(), self.k);
        let probs = |row: usize, var: usize| self.probs(row, var);
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
        CategoricalTable::from_codes(names, vec![k; d], codes).unwrap()
    }
}

/// Imputation perplexity of a CLGP trained on the split's training rows.
fn clgp_perplexity(device: &Device, split: &ImputationSplit) -> f64 {
    let ad = device.clone().autodiff();
    ad.seed(3);
    let kernel = ScaleKernelConfig::new().init(RbfConfig::new(2).init(&ad), &ad);
    let model = ClgpConfig::new()
        .with_num_inducing(10)
        .init(kernel, &split.train, &ad)
        .unwrap();
    let data = CategoricalObservations::new(&split.train, &ad);
    let training = ClgpTraining::new()
        .with_iterations(300)
        .with_learning_rate(0.05)
        .with_samples(2);
    let model = train_clgp(model, &data, &training, |_, _| {}).unwrap();
    ClgpImputer::new(&model, &split.hidden, 200)
        .unwrap()
        .perplexity(&split.hidden)
        .unwrap()
}

/// `train_clgp` reads `K_zz`'s factor check with the loss: coincident inducing points and no
/// base jitter make the one-read estimate NaN, and the step is recomputed with jitter retries.
fn clgp_training_recovers_singular_inducing_points(device: Device) {
    let ad = device.autodiff();
    ad.seed(5);
    let table = tiny_table();
    // A unit-variance kernel: K_zz is exactly the all-ones matrix.
    let mut model = ClgpConfig::new()
        .with_num_inducing(M)
        .init(RbfConfig::new(Q).init(&ad), &table, &ad)
        .unwrap();
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
