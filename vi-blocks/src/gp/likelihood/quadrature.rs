//! Gauss–Hermite quadrature for one-dimensional Gaussian expectations, and a stable `ln Φ`.

use crate::gp::GaussianMarginals;
use burn::tensor::{Tensor, TensorData};
use std::f64::consts::PI;

/// `E_{N(μ, σ²)}[g(f)] ≈ Σ_i w_i g(μ + √2 σ t_i) / √π` with the `Q`-point Gauss–Hermite rule
/// (exact for polynomials of degree `2Q − 1`; GPyTorch uses 20 points).
#[derive(Debug, Clone)]
pub struct GaussHermite {
    /// Nodes `t_i`.
    pub nodes: Vec<f64>,
    /// Weights `w_i` (for the weight function `e^{−t²}`; they sum to `√π`).
    pub weights: Vec<f64>,
}

impl GaussHermite {
    /// The `q`-point rule, by Newton's method on the Hermite polynomials (Golub–Welsch
    /// accuracy in `f64`; Numerical Recipes' `gauher`).
    ///
    /// # Panics
    /// When `q` is 0.
    pub fn new(q: usize) -> Self {
        assert!(q > 0, "Gauss–Hermite needs at least one node");
        let mut nodes = vec![0.0; q];
        let mut weights = vec![0.0; q];
        let n = q as f64;
        let pim4 = PI.powf(-0.25);
        let mut z = 0.0f64;
        for i in 0..q.div_ceil(2) {
            z = match i {
                0 => (2.0 * n + 1.0).sqrt() - 1.85575 * (2.0 * n + 1.0).powf(-1.0 / 6.0),
                1 => z - 1.14 * n.powf(0.426) / z,
                2 => 1.86 * z - 0.86 * nodes[0],
                3 => 1.91 * z - 0.91 * nodes[1],
                _ => 2.0 * z - nodes[i - 2],
            };
            let mut pp = 0.0;
            for _ in 0..100 {
                let (mut p1, mut p2) = (pim4, 0.0);
                for j in 0..q {
                    let p3 = p2;
                    p2 = p1;
                    let j = j as f64;
                    p1 = z * (2.0 / (j + 1.0)).sqrt() * p2 - (j / (j + 1.0)).sqrt() * p3;
                }
                pp = (2.0 * n).sqrt() * p2;
                let step = p1 / pp;
                z -= step;
                if step.abs() < 1e-15 {
                    break;
                }
            }
            nodes[i] = z;
            nodes[q - 1 - i] = -z;
            weights[i] = 2.0 / (pp * pp);
            weights[q - 1 - i] = weights[i];
        }
        Self { nodes, weights }
    }

    /// The 20-point rule (GPyTorch's default), computed once per process.
    pub fn twenty() -> &'static Self {
        static RULE: std::sync::OnceLock<GaussHermite> = std::sync::OnceLock::new();
        RULE.get_or_init(|| Self::new(20))
    }

    /// The points `μ + √2 σ t_i`, `[Q, N, P]`.
    pub fn points(&self, f: &GaussianMarginals) -> Tensor<3> {
        let q = self.nodes.len();
        let device = f.mean.device();
        // Made in the marginals' dtype directly: through the device's default float type first,
        // an `f64` rule would be rounded to `f32`.
        let t = Tensor::<3>::from_data(
            TensorData::new(self.nodes.clone(), [q, 1, 1]),
            (&device, f.mean.dtype()),
        );
        let sd = f
            .variance
            .clone()
            .sqrt()
            .mul_scalar(2f64.sqrt())
            .unsqueeze::<3>();
        t * sd + f.mean.clone().unsqueeze::<3>()
    }

    /// `ln w_i − ½ ln π`, `[Q, 1, 1]`: the log weights of the normalised rule.
    pub fn log_weights(&self, like: &Tensor<2>) -> Tensor<3> {
        let q = self.weights.len();
        let data: Vec<f64> = self
            .weights
            .iter()
            .map(|w| w.ln() - 0.5 * PI.ln())
            .collect();
        Tensor::<3>::from_data(
            TensorData::new(data, [q, 1, 1]),
            (&like.device(), like.dtype()),
        )
    }

    /// `E[g(f)]` for a function of the points `[Q, N, P]` → `[N, P]`.
    pub fn expectation(
        &self,
        f: &GaussianMarginals,
        g: impl Fn(Tensor<3>) -> Tensor<3>,
    ) -> Tensor<2> {
        let values = g(self.points(f));
        let w = self.log_weights(&f.mean).exp();
        (values * w).sum_dim(0).squeeze_dim(0)
    }

    /// `ln E[exp(h(f))]` for a log-density `h` of the points, computed with log-sum-exp.
    pub fn log_expectation(
        &self,
        f: &GaussianMarginals,
        h: impl Fn(Tensor<3>) -> Tensor<3>,
    ) -> Tensor<2> {
        let values = h(self.points(f)) + self.log_weights(&f.mean);
        vi_core::special::logsumexp(values, 0).squeeze_dim(0)
    }
}

/// `ln Φ(z)` for the standard normal CDF, accurate in both tails: `ln(½(1 + erf(z/√2)))` above
/// a threshold (−5 in `f64`, −3 otherwise, where `1 + erf` still has the digits) and below it
/// `ln φ(z) − ln R⁻¹(−z)` with Mills' ratio `R(x) = Φ(−x)/φ(x)` from Laplace's continued
/// fraction `1/(x + 1/(x + 2/(x + 3/(x + …))))` (40 terms).
pub fn log_normal_cdf<const D: usize>(z: Tensor<D>) -> Tensor<D> {
    let threshold = if z.dtype() == burn::tensor::DType::F64 {
        -5.0
    } else {
        -3.0
    };
    let tail = z.clone().lower_elem(threshold);
    let central = (z
        .clone()
        .clamp_min(threshold)
        .mul_scalar(std::f64::consts::FRAC_1_SQRT_2))
    .erf()
    .add_scalar(1.0)
    .mul_scalar(0.5)
    .log();
    let x = z.clamp_max(threshold).neg();
    let mut fraction = x.clone();
    for k in (1..=40).rev() {
        fraction = x.clone() + fraction.recip().mul_scalar(k as f64);
    }
    let asymptotic = x.square().mul_scalar(-0.5) - fraction.log() - 0.5 * (2.0 * PI).ln();
    central.mask_where(tail, asymptotic)
}
