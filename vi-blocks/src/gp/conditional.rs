//! The conditional `p(f(x) | u)` of a GP given its values at inducing points, whitened: the
//! projection every sparse GP is built from, for models that sample `u` themselves.

use super::error::GpError;
use super::kernel::Kernel;
use burn::tensor::{Distribution as Noise, Tensor};
use vi_core::linalg::{JitterConfig, Side, Triangle, cholesky_jittered, solve_triangular};
use vi_core::random::random_like;

/// `p(f(x) | u = L_zz v) = N(Aᵀ v, k(x, x) − diag(AᵀA))` with `A = L_zz⁻¹ K_zx` and
/// `L_zz L_zzᵀ = K_zz + jitter·I` (Titsias 2009; Hensman et al. 2015 whiten `u` through `L_zz`).
///
/// # Example
/// ```
/// use burn::tensor::{Device, Distribution, Tensor};
/// use vi_blocks::gp::Conditional;
/// use vi_blocks::gp::kernel::RbfConfig;
/// let device = Device::default();
/// let kernel = RbfConfig::new(2).init(&device);
/// let z = Tensor::<3>::random([1, 6, 2], Distribution::Normal(0.0, 1.0), &device);
/// let x = Tensor::<2>::random([5, 2], Distribution::Normal(0.0, 1.0), &device);
/// let f = Conditional::new(&kernel, z, x, 1e-4).unwrap();
/// let v = Tensor::<3>::zeros([1, 3, 6], &device);       // one draw, P = 3 outputs
/// assert_eq!(f.mean(v.clone()).dims(), [5, 3]);
/// assert_eq!(f.sample(v).dims(), [5, 3]);
/// let var: Vec<f32> = f.variance.into_data().to_vec().unwrap();
/// assert!(var.iter().all(|&s| (0.0..=1.0 + 1e-4).contains(&s)));
/// ```
#[derive(Debug, Clone)]
pub struct Conditional {
    /// `A = L_zz⁻¹ K_zx`, `[M, N]`.
    pub a: Tensor<2>,
    /// `k(x, x) − ‖aₙ‖²` (clamped at 0), `[N]`.
    pub variance: Tensor<1>,
}

impl Conditional {
    /// The conditional at inputs `x` `[N, d]` given inducing points `z` `[1, M, d]`, with
    /// `jitter` added to `K_zz` (retried with 10×, 100×, … that jitter should it fail).
    ///
    /// # Errors
    /// [`GpError::InducingCovariance`] when `K_zz` cannot be factorised even with jitter;
    /// [`GpError::ShapeMismatch`] when `z` is not `[1, M, d]` with `x`'s `d`.
    pub fn new<K: Kernel>(
        kernel: &K,
        z: Tensor<3>,
        x: Tensor<2>,
        jitter: f64,
    ) -> Result<Self, GpError> {
        let ([b, m, d], [n, dx]) = (z.dims(), x.dims());
        if b != 1 || d != dx {
            return Err(GpError::ShapeMismatch {
                block: "Conditional",
                reason: format!("inducing points {:?} for inputs {:?}", [b, m, d], [n, dx]),
            });
        }
        let retry = JitterConfig::retrying_from(jitter);
        let x = x.unsqueeze::<3>();
        let factor = cholesky_jittered(kernel.gram(z.clone()), &retry)
            .map_err(GpError::InducingCovariance)?;
        let kzx = kernel.matrix(z, x.clone());
        let a = solve_triangular(factor.factor, kzx, Triangle::Lower, false, Side::Left)?;
        let variance = kernel.diagonal(x).reshape([n]) - a.clone().square().sum_dim(1).reshape([n]);
        Ok(Self {
            a: a.reshape([m, n]),
            variance: variance.clamp_min(0.0),
        })
    }

    /// `E[f(x) | v] = Aᵀ vᵀ` for `S` draws of the whitened inducing values `v` `[S, P, M]`, the
    /// rows of `x` taken as `S` consecutive groups (sample-major: draw `s` serves rows
    /// `s·N/S .. (s+1)·N/S`; `S = 1`: one draw for every row): `[N, P]`.
    ///
    /// # Panics
    /// When `S` does not divide the number of rows or `v` has another `M`.
    pub fn mean(&self, v: Tensor<3>) -> Tensor<2> {
        let ([m, n], [s, p, mv]) = (self.a.dims(), v.dims());
        assert!(
            mv == m && s > 0 && n % s == 0,
            "Conditional: {s} draws of {mv} inducing values for {n} rows and M = {m}"
        );
        let a = self.a.clone().reshape([m, s, n / s]).swap_dims(0, 1); // [S, M, N/S]
        v.matmul(a).swap_dims(1, 2).reshape([n, p])
    }

    /// One draw of `f(x) | v` per row, `[N, P]`, with `v` as in [`Conditional::mean`];
    /// independent across inputs and outputs.
    ///
    /// # Panics
    /// As [`Conditional::mean`].
    pub fn sample(&self, v: Tensor<3>) -> Tensor<2> {
        let mean = self.mean(v);
        let eps = random_like(&mean, Noise::Normal(0.0, 1.0));
        mean + eps * self.variance.clone().sqrt().unsqueeze_dim(1)
    }
}
