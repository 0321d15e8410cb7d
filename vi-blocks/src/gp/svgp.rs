//! The inducing-point layer (SVGP; Hensman, Matthews & Ghahramani 2015), with the variational
//! distribution over `U` separate from the strategy that links it to `f`, as in GPyTorch.

use super::error::GpError;
use super::kernel::Kernel;
use super::mean::{MeanConfig, MeanFunction, MeanKind};
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{DType, Device, Distribution as Noise, Tensor};
use serde::{Deserialize, Serialize};
use vi_core::distributions::{MultivariateNormal, Normal, Reparameterized};
use vi_core::elbo::{Elbo, ElboTerms};
use vi_core::kl::{KlDivergence, kl_to_standard_normal};
use vi_core::linalg::{
    JitterConfig, Side, Triangle, cholesky_deferred, cholesky_jittered, solve_triangular,
    triangular_matmul,
};
use vi_core::sparse_gp::{projected_mean, tril_nonnegative_diagonal, whitened_variance};

/// The family of `q(U)` (per output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VariationalFamily {
    /// `q(u) = N(m, L Lᵀ)` with a full lower-triangular `L` (GPyTorch's
    /// `CholeskyVariationalDistribution`).
    FullRank,
    /// `q(u) = N(m, diag(s²))` (GPyTorch's `MeanFieldVariationalDistribution`).
    MeanField,
}

/// Configuration of an [`Svgp`] layer.
#[derive(Config, Debug)]
pub struct SvgpConfig {
    /// Input dimension `d`.
    pub input_dim: usize,
    /// Number of inducing points `M`.
    pub num_inducing: usize,
    /// Number of independent outputs `P` (latent functions).
    #[config(default = 1)]
    pub outputs: usize,
    /// Whitened strategy `u = chol(K_zz) v`, `p(v) = N(0, I)` (GPyTorch's `VariationalStrategy`);
    /// otherwise `q(u)` directly with `p(u) = N(m(Z), K_zz)` (`UnwhitenedVariationalStrategy`).
    #[config(default = true)]
    pub whiten: bool,
    /// The family of `q`.
    #[config(default = "VariationalFamily::FullRank")]
    pub family: VariationalFamily,
    /// One set of inducing points for all outputs (`[1, M, d]`) or one per output (`[P, M, d]`).
    #[config(default = true)]
    pub shared_inducing: bool,
    /// Whether the inducing locations are trained.
    #[config(default = true)]
    pub learn_inducing_locations: bool,
    /// The prior mean.
    #[config(default = "MeanKind::Constant")]
    pub mean: MeanKind,
    /// Jitter always added to `K_zz` (and, whitened, to `diag K_xx`); `None` is GPyTorch's
    /// default, `1e-6` in `f64` and `1e-4` otherwise. Should `K_zz + jitter·I` still fail, the
    /// Cholesky retries with 10×, 100×, 1000× that jitter and reports it.
    pub jitter: Option<f64>,
}

/// A sparse variational GP layer with `P` independent outputs:
/// `q(f(x)) = ∫ p(f(x) | u) q(u) du` per output, with `q(u) = N(m, S)` on `M` inducing points `Z`.
///
/// Whitened (`u = L_zz v`, `A = L_zz⁻¹ K_zx`): `μ = m(x) + Aᵀ m`,
/// `σ² = k(x,x) − diag(AᵀA) + diag(Aᵀ S A)`, `KL = KL(N(m, S) ‖ N(0, I))`.
/// Unwhitened (`B = K_zz⁻¹ K_zx`): `μ = m(x) + Bᵀ(m − m(Z))`,
/// `σ² = k(x,x) − diag(AᵀA) + diag(Bᵀ S B)`, `KL = KL(N(m, S) ‖ N(m(Z), K_zz))`.
/// `K_zz`'s Cholesky is computed once per step ([`Svgp::inducing_prior`]) and shared by the
/// predictive and the KL.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::gp::SvgpConfig;
/// use vi_blocks::gp::kernel::{RbfConfig, ScaleKernelConfig};
/// let device = Device::default();
/// let kernel = ScaleKernelConfig::new().init(RbfConfig::new(2).init(&device), &device);
/// let gp = SvgpConfig::new(2, 8).init(kernel, &device);
/// let out = gp.forward(Tensor::<2>::ones([5, 2], &device)).unwrap();
/// assert_eq!(out.f.mean.dims(), [5, 1]);
/// let kl: f32 = out.kl.into_scalar();
/// assert!(kl.abs() < 1e-4); // q(v) starts at the prior N(0, I)
/// ```
#[derive(Module, Debug)]
pub struct Svgp<K> {
    /// The prior covariance.
    pub kernel: K,
    /// The prior mean.
    pub mean: MeanFunction,
    /// `Z`, `[1 or P, M, d]`.
    pub inducing_points: Param<Tensor<3>>,
    /// `m`, `[P, M]`.
    pub variational_mean: Param<Tensor<2>>,
    /// Full rank: `S = L Lᵀ` with `L = tril(R)`, `R` `[P, M, M]` unconstrained (a column whose
    /// diagonal entry is negative is flipped, which leaves `S` unchanged).
    pub variational_scale_tril: Option<Param<Tensor<3>>>,
    /// Mean field: `S = diag(s²)`, `s` `[P, M]`.
    pub variational_stddev: Option<Param<Tensor<2>>>,
    /// Whitened strategy.
    #[module(skip)]
    pub whiten: bool,
    /// Jitter added to `K_zz` (`None`: by dtype).
    #[module(skip)]
    pub jitter: Option<f64>,
}

impl SvgpConfig {
    /// The layer with inducing points drawn from `N(0, I)` (set them from data with
    /// [`Svgp::with_inducing_points`]), `m = 0`, and `S = I` (whitened) or `S = K_zz`
    /// (unwhitened): `q(u)` starts at the prior.
    pub fn init<K: Kernel>(&self, kernel: K, device: &Device) -> Svgp<K> {
        let (p, m, d) = (self.outputs, self.num_inducing, self.input_dim);
        let z_batch = if self.shared_inducing { 1 } else { p };
        let z = Tensor::<3>::random([z_batch, m, d], Noise::Normal(0.0, 1.0), device);
        let full_rank = self.family == VariationalFamily::FullRank;
        let layer = Svgp {
            kernel,
            mean: MeanConfig::new(d, p).with_kind(self.mean).init(device),
            inducing_points: Param::from_tensor(z),
            variational_mean: Param::from_tensor(Tensor::zeros([p, m], device)),
            variational_scale_tril: full_rank.then(|| {
                Param::from_tensor(
                    Tensor::<2>::eye(m, device)
                        .unsqueeze::<3>()
                        .repeat_dim(0, p),
                )
            }),
            variational_stddev: (!full_rank)
                .then(|| Param::from_tensor(Tensor::ones([p, m], device))),
            whiten: self.whiten,
            jitter: self.jitter,
        };
        let z = layer.inducing_points.val();
        let layer = layer.with_inducing_points(z);
        if self.learn_inducing_locations {
            layer
        } else {
            let z = layer.inducing_points.clone().set_require_grad(false);
            Svgp {
                inducing_points: z,
                ..layer
            }
        }
    }
}

/// `K_zz`'s factor and the prior mean at `Z`, computed once per step.
#[derive(Debug, Clone)]
pub struct InducingPrior {
    /// `L_zz` with `L_zz L_zzᵀ = K_zz + jitter·I`, `[1 or P, M, M]`.
    pub cholesky: Tensor<3>,
    /// `m(Z)`, `[P, M]`.
    pub mean: Tensor<2>,
    /// The jitter added to every `K_zz`.
    pub jitter: f64,
    /// Further jitter each `K_zz` needed (0 where none), one per batch element.
    pub extra_jitter: Vec<f64>,
    /// `q(u)`'s scale, built once per step and shared by the predictive and the KL.
    pub q_scale: VariationalScale,
}

/// The scale of `q(u)`: a lower-triangular factor with a positive diagonal (full rank) or the
/// standard deviations (mean field).
#[derive(Debug, Clone)]
pub enum VariationalScale {
    /// `L`, `[P, M, M]`, `S = L Lᵀ`.
    Tril(Tensor<3>),
    /// `s`, `[P, M]`, `S = diag(s²)`.
    Diagonal(Tensor<2>),
}

/// Independent Gaussian marginals `q(f_{n,p}) = N(mean, variance)`, each `[N, P]`.
#[derive(Debug, Clone)]
pub struct GaussianMarginals {
    /// Means, `[N, P]`.
    pub mean: Tensor<2>,
    /// Variances, `[N, P]`.
    pub variance: Tensor<2>,
}

impl GaussianMarginals {
    /// A point mass at `mean` (zero variance), e.g. one sampled output of a Bayesian network, so
    /// that a likelihood's expected log-likelihood is its log-density at `mean`.
    pub fn point(mean: Tensor<2>) -> Self {
        Self {
            variance: mean.zeros_like(),
            mean,
        }
    }

    /// `S` reparameterized draws `mean + √variance · ε`, `[S, N, P]`.
    pub fn sample(&self, samples: usize) -> Tensor<3> {
        let [n, p] = self.mean.dims();
        let eps = vi_core::random::random(
            [samples, n, p],
            Noise::Normal(0.0, 1.0),
            (&self.mean.device(), self.mean.dtype()),
        );
        eps * self.variance.clone().sqrt().unsqueeze::<3>() + self.mean.clone().unsqueeze::<3>()
    }
}

/// A layer's output for one step.
#[derive(Debug, Clone)]
pub struct SvgpOutput {
    /// `q(f(x))`, `[N, P]`.
    pub f: GaussianMarginals,
    /// `Σ_p KL(q(u_p) ‖ p(u_p))`, `[1]`.
    pub kl: Tensor<1>,
    /// Jitter beyond the configured one that `K_zz` needed (0 where none), per batch element.
    pub extra_jitter: Vec<f64>,
    /// `None` from [`Svgp::forward`], which checked `K_zz`'s factor. From
    /// [`Svgp::forward_deferred`], the factor's unread guard `[1 or P]`
    /// ([`vi_core::linalg::DeferredCholesky::guard`]): finite exactly when `K_zz` factorised at
    /// the configured jitter.
    pub guard: Option<Tensor<1>>,
}

/// One minibatch's ELBO from [`Svgp::elbo`]: the layer's output and the checked terms.
#[derive(Debug, Clone)]
pub struct SvgpElbo {
    /// The marginals, KL and jitter report, as [`Svgp::forward`] returns them.
    pub output: SvgpOutput,
    /// The ELBO's terms, checked and read as [`Elbo::from_terms`] does.
    pub terms: ElboTerms,
}

/// A joint predictive over a (small) batch: per output `N(mean, covariance)`.
#[derive(Debug, Clone)]
pub struct JointPredictive {
    /// `[P, N]`.
    pub mean: Tensor<2>,
    /// `[P, N, N]`.
    pub covariance: Tensor<3>,
}

impl JointPredictive {
    /// The predictive as a [`MultivariateNormal`] (batch `[P]`, event `[N]`) through the
    /// jittered Cholesky.
    ///
    /// # Errors
    /// When the covariance is not positive definite even with jitter.
    pub fn distribution(&self) -> Result<MultivariateNormal, GpError> {
        Ok(MultivariateNormal::from_covariance(
            self.mean.clone(),
            self.covariance.clone(),
        )?)
    }
}

/// `t` `[b, r, c]` broadcast to `p` along the batch.
fn per_output(t: Tensor<3>, p: usize) -> Tensor<3> {
    let [b, r, c] = t.dims();
    if b == p { t } else { t.expand([p, r, c]) }
}

impl<K: Kernel> Svgp<K> {
    /// Number of outputs `P`.
    pub fn outputs(&self) -> usize {
        self.variational_mean.dims()[0]
    }

    /// Number of inducing points `M`.
    pub fn num_inducing(&self) -> usize {
        self.variational_mean.dims()[1]
    }

    /// Replaces the inducing points (`[M, d]` is shared, `[1 or P, M, d]` as stored); an
    /// unwhitened `q(u)` is reset to the prior `N(m(Z), K_zz)` at the new points.
    ///
    /// # Panics
    /// When `z` is not `[M, d]` or `[1 or P, M, d]` for this layer's `M`, `d` and `P`.
    pub fn with_inducing_points<const D: usize>(self, z: Tensor<D>) -> Self {
        let [_, m, d] = self.inducing_points.dims();
        let p = self.outputs();
        let dims = z.dims();
        let batch = match (D, &dims[..]) {
            (2, [zm, zd]) if (*zm, *zd) == (m, d) => 1,
            (3, [zb, zm, zd]) if (*zm, *zd) == (m, d) && (*zb == 1 || *zb == p) => *zb,
            _ => panic!(
                "Svgp::with_inducing_points: got {dims:?}, need [{m}, {d}] or [1 or {p}, {m}, {d}]"
            ),
        };
        let z = z.reshape([batch, m, d]).detach();
        let require_grad = self.inducing_points.is_require_grad();
        let mut layer = Self {
            inducing_points: Param::from_tensor(z).set_require_grad(require_grad),
            ..self
        };
        if !layer.whiten
            && let Ok(prior) = layer.inducing_prior()
        {
            let p = layer.outputs();
            layer.variational_mean = Param::from_tensor(prior.mean.clone().detach());
            let l = per_output(prior.cholesky.detach(), p);
            if layer.variational_scale_tril.is_some() {
                layer.variational_scale_tril = Some(Param::from_tensor(l));
            } else {
                let diag = (l.clone()
                    * Tensor::<2>::eye(m, &l.device()).cast(l.dtype()).unsqueeze())
                .sum_dim(2)
                .reshape([p, m]);
                layer.variational_stddev = Some(Param::from_tensor(diag));
            }
        }
        layer
    }

    /// The jitter always added to `K_zz`.
    pub fn base_jitter(&self, dtype: DType) -> f64 {
        self.jitter
            .unwrap_or(if dtype == DType::F64 { 1e-6 } else { 1e-4 })
    }

    /// `K_zz`'s Cholesky factor and `m(Z)`: the part of a step that does not depend on `x`.
    ///
    /// # Errors
    /// [`GpError::InducingCovariance`] when `K_zz` is not positive definite even with jitter
    /// (e.g. duplicated inducing points with a tiny base jitter).
    pub fn inducing_prior(&self) -> Result<InducingPrior, GpError> {
        self.inducing_prior_from(self.kernel.gram(self.inducing_points.val()))
    }

    /// [`Svgp::inducing_prior`] from `K_zz` formed by the caller.
    fn inducing_prior_from(&self, kzz: Tensor<3>) -> Result<InducingPrior, GpError> {
        let jitter = self.base_jitter(self.inducing_points.dtype());
        let retry = JitterConfig {
            base: jitter,
            initial: Some(if jitter > 0.0 { 10.0 * jitter } else { 1e-8 }),
            ..JitterConfig::default()
        };
        let factor = cholesky_jittered(kzz, &retry).map_err(GpError::InducingCovariance)?;
        Ok(self.prior_with(factor.factor, jitter, factor.jitter))
    }

    /// The [`InducingPrior`] around `K_zz`'s factor with `jitter` and `extra_jitter` added.
    fn prior_with(
        &self,
        cholesky: Tensor<3>,
        jitter: f64,
        extra_jitter: Vec<f64>,
    ) -> InducingPrior {
        let z = self.inducing_points.val();
        InducingPrior {
            cholesky,
            jitter,
            mean: self.mean.evaluate(z),
            extra_jitter,
            q_scale: self.variational_scale(),
        }
    }

    /// `L` of `S = L Lᵀ` for the full-rank family, `[P, M, M]`, diagonal made positive.
    /// `q(u)`'s scale from the raw parameters: `tril(R)` with negative-diagonal columns flipped,
    /// or `|s|`.
    fn variational_scale(&self) -> VariationalScale {
        if let Some(raw) = &self.variational_scale_tril {
            VariationalScale::Tril(
                tril_nonnegative_diagonal(raw.val()).expect("a [P, M, M] parameter is square"),
            )
        } else if let Some(s) = &self.variational_stddev {
            VariationalScale::Diagonal(s.val().abs())
        } else {
            unreachable!("an Svgp holds one variational family")
        }
    }

    fn check_inputs(&self, x: &Tensor<2>) -> Result<(), GpError> {
        let d = self.inducing_points.dims()[2];
        if x.dims()[1] != d {
            return Err(GpError::ShapeMismatch {
                block: "Svgp",
                reason: format!(
                    "inputs {:?} need {d} columns (the inducing points')",
                    x.dims()
                ),
            });
        }
        Ok(())
    }

    /// `(A = L_zz⁻¹ K_zx, P)` with the projection `P = A` (whitened) or `K_zz⁻¹ K_zx`, both
    /// `[b, M, N]`.
    fn projections(
        &self,
        prior: &InducingPrior,
        kzx: Tensor<3>,
    ) -> Result<(Tensor<3>, Tensor<3>), GpError> {
        let b = kzx.dims()[0];
        let chol = per_output(prior.cholesky.clone(), b);
        let a = solve_triangular(chol.clone(), kzx, Triangle::Lower, false, Side::Left)?;
        let proj = if self.whiten {
            a.clone()
        } else {
            solve_triangular(chol, a.clone(), Triangle::Lower, true, Side::Left)?
        };
        Ok((a, proj))
    }

    /// `m(x) + projᵀ (m or m − m(Z))`, `[P, N]`: one op (`sparse_gp::projected_mean`).
    fn predictive_mean(
        &self,
        prior: &InducingPrior,
        proj: &Tensor<3>,
        x: Tensor<3>,
    ) -> Result<Tensor<2>, GpError> {
        let mut m = self.variational_mean.val();
        if !self.whiten {
            m = m - prior.mean.clone();
        }
        Ok(projected_mean(m, proj.clone(), self.mean.compact(x))?)
    }

    /// `Lᵀ proj` (full rank, a triangular matmul) or `s ⊙ proj` (mean field), `[P, M, N]`.
    fn scaled_projection(
        &self,
        prior: &InducingPrior,
        proj: Tensor<3>,
    ) -> Result<Tensor<3>, GpError> {
        Ok(match &prior.q_scale {
            VariationalScale::Tril(l) => triangular_matmul(
                l.clone(),
                per_output(proj, self.outputs()),
                Triangle::Lower,
                true,
                Side::Left,
            )?,
            VariationalScale::Diagonal(s) => proj * s.clone().unsqueeze_dim::<3>(2),
        })
    }

    /// Marginals `q(f(x))` `[N, P]` at inputs `[N, d]`, given this step's [`InducingPrior`].
    ///
    /// # Errors
    /// [`GpError::ShapeMismatch`] for inputs with the wrong number of columns.
    pub fn marginals(
        &self,
        prior: &InducingPrior,
        x: Tensor<2>,
    ) -> Result<GaussianMarginals, GpError> {
        self.check_inputs(&x)?;
        let x = x.unsqueeze::<3>();
        let kzx = self.kernel.matrix(self.inducing_points.val(), x.clone());
        let kxx = self.kernel.diagonal(x.clone());
        self.marginals_from(prior, x, kzx, kxx)
    }

    /// [`Svgp::marginals`] at checked inputs `x` `[1, N, d]` from `K_zx` and `diag K_xx` formed
    /// by the caller.
    fn marginals_from(
        &self,
        prior: &InducingPrior,
        x: Tensor<3>,
        kzx: Tensor<3>,
        mut kxx: Tensor<2>,
    ) -> Result<GaussianMarginals, GpError> {
        let p = self.outputs();
        let (a, proj) = self.projections(prior, kzx)?;
        let n = a.dims()[2];
        let mean = self.predictive_mean(prior, &proj, x)?;
        if self.whiten {
            kxx = kxx.add_scalar(prior.jitter);
        }
        let variance = match (&prior.q_scale, self.whiten) {
            // k(x, x) − diag(Aᵀ A) + diag(Aᵀ S A) = k(x, x) + ‖Lᵀ aₙ‖² − ‖aₙ‖², one op.
            (VariationalScale::Tril(l), true) => whitened_variance(l.clone(), a, kxx)?,
            _ => {
                let explained = a.square().sum_dim(1).reshape([0, n]);
                let added = self
                    .scaled_projection(prior, proj)?
                    .square()
                    .sum_dim(1)
                    .reshape([p, n]);
                (kxx + added - explained).clamp_min(0.0)
            }
        };
        Ok(GaussianMarginals {
            mean: mean.swap_dims(0, 1),
            variance: variance.expand([p, n]).swap_dims(0, 1),
        })
    }

    /// The joint predictive over a small batch `[N, d]`: per output mean `[P, N]` and covariance
    /// `[P, N, N]` (`K_xx − AᵀA + projᵀ S proj`, plus the jitter when whitened).
    ///
    /// # Errors
    /// As [`Svgp::forward`].
    pub fn predict_joint(&self, x: Tensor<2>) -> Result<JointPredictive, GpError> {
        self.check_inputs(&x)?;
        let prior = self.inducing_prior()?;
        let p = self.outputs();
        let x = x.unsqueeze::<3>();
        let kzx = self.kernel.matrix(self.inducing_points.val(), x.clone());
        let (a, proj) = self.projections(&prior, kzx)?;
        let mean = self.predictive_mean(&prior, &proj, x.clone())?;
        let n = a.dims()[2];
        let mut kxx = self.kernel.gram(x);
        if self.whiten {
            let eye = Tensor::<2>::eye(n, &a.device())
                .cast(a.dtype())
                .unsqueeze::<3>();
            kxx = kxx + eye.mul_scalar(prior.jitter);
        }
        let scaled = self.scaled_projection(&prior, proj)?;
        let cov = kxx - a.clone().swap_dims(1, 2).matmul(a)
            + scaled.clone().swap_dims(1, 2).matmul(scaled);
        Ok(JointPredictive {
            mean,
            covariance: per_output(cov, p),
        })
    }

    /// `Σ_p KL(q(u_p) ‖ p(u_p))`, `[1]`: whitened, `½ (‖L‖²_F + ‖m‖² − M) − Σᵢ ln Lᵢᵢ` per output
    /// (full rank, vi-core's fused [`kl_to_standard_normal`]) or vi-core's Normal ‖ Normal (mean
    /// field); unwhitened, vi-core's MVN ‖ MVN sharing `L_zz`.
    ///
    /// # Errors
    /// [`GpError::Distribution`] when `m` and `q(u)`'s scale disagree in shape.
    pub fn kl(&self, prior: &InducingPrior) -> Result<Tensor<1>, GpError> {
        let (p, m) = (self.outputs(), self.num_inducing());
        let loc = self.variational_mean.val();
        let scale = match prior.q_scale.clone() {
            VariationalScale::Tril(l) => l,
            VariationalScale::Diagonal(s) => {
                if self.whiten {
                    let q = Normal::new_unchecked(loc.clone(), s)?.to_event(1)?;
                    let zero = loc.zeros_like();
                    let prior =
                        Normal::new_unchecked(zero.clone(), zero.ones_like())?.to_event(1)?;
                    return Ok(q.kl_sum(&prior)?);
                }
                let eye = Tensor::<2>::eye(m, &s.device())
                    .cast(s.dtype())
                    .unsqueeze::<3>();
                eye * s.unsqueeze_dim::<3>(1)
            }
        };
        if self.whiten {
            // ½ (‖L‖²_F + ‖m‖² − M) − Σᵢ ln Lᵢᵢ per output, one fused op.
            return Ok(kl_to_standard_normal(loc, scale)?);
        }
        let q = MultivariateNormal::new_unchecked(loc, scale)?;
        let chol = per_output(prior.cholesky.clone(), p);
        let prior = MultivariateNormal::new_unchecked(prior.mean.clone(), chol)?;
        Ok(q.kl_sum(&prior)?)
    }

    /// One step's marginals `q(f(x))` at inputs `[N, d]` and the KL, with one Cholesky of `K_zz`.
    ///
    /// # Errors
    /// [`GpError::InducingCovariance`] when `K_zz` cannot be factorised even with jitter;
    /// [`GpError::ShapeMismatch`] for inputs with the wrong number of columns.
    pub fn forward(&self, x: Tensor<2>) -> Result<SvgpOutput, GpError> {
        let (x, kzz, kzx, kxx) = self.step_matrices(x)?;
        let prior = self.inducing_prior_from(kzz)?;
        self.output_from(prior, x, kzx, kxx)
    }

    /// Checked inputs `[1, N, d]` and the three kernel matrices at once (the hyper-parameters'
    /// transforms shared): `K_zz`, `K_zx`, `diag K_xx`.
    #[allow(clippy::type_complexity)]
    fn step_matrices(
        &self,
        x: Tensor<2>,
    ) -> Result<(Tensor<3>, Tensor<3>, Tensor<3>, Tensor<2>), GpError> {
        self.check_inputs(&x)?;
        let x = x.unsqueeze::<3>();
        let (kzz, kzx, kxx) = self
            .kernel
            .inducing_matrices(self.inducing_points.val(), x.clone());
        Ok((x, kzz, kzx, kxx))
    }

    /// As [`Svgp::forward`] with `K_zz` factorised at the configured jitter and nothing read
    /// back: [`SvgpOutput::guard`] holds the factor's check, which the caller reads together with
    /// a later result (one device round trip per step, as [`Svgp::elbo`] does) and, when it is
    /// not finite, recomputes through [`Svgp::forward`]. Until then the output may hold NaN.
    ///
    /// # Errors
    /// As [`Svgp::forward`], except that `K_zz`'s factor is not checked.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor, Transaction};
    /// use vi_blocks::gp::SvgpConfig;
    /// use vi_blocks::gp::kernel::RbfConfig;
    /// let device = Device::default();
    /// let gp = SvgpConfig::new(2, 8).init(RbfConfig::new(2).init(&device), &device);
    /// let out = gp.forward_deferred(Tensor::<2>::ones([5, 2], &device)).unwrap();
    /// let objective = out.f.mean.clone().sum() - out.kl.clone(); // any result that needs K_zz
    /// let [value, guard] = Transaction::default()
    ///     .register(objective)
    ///     .register(out.guard.unwrap())
    ///     .execute()
    ///     .try_into()
    ///     .unwrap();
    /// assert!(guard.iter::<f64>().all(f64::is_finite)); // else: recompute with gp.forward
    /// assert!(value.iter::<f64>().all(f64::is_finite));
    /// ```
    pub fn forward_deferred(&self, x: Tensor<2>) -> Result<SvgpOutput, GpError> {
        let (x, kzz, kzx, kxx) = self.step_matrices(x)?;
        let batch = kzz.dims()[0];
        let jitter = self.base_jitter(self.inducing_points.dtype());
        let factor = cholesky_deferred(kzz, jitter).map_err(GpError::InducingCovariance)?;
        let prior = self.prior_with(factor.factor, jitter, vec![0.0; batch]);
        let output = self.output_from(prior, x, kzx, kxx)?;
        Ok(SvgpOutput {
            guard: Some(factor.guard),
            ..output
        })
    }

    fn output_from(
        &self,
        prior: InducingPrior,
        x: Tensor<3>,
        kzx: Tensor<3>,
        kxx: Tensor<2>,
    ) -> Result<SvgpOutput, GpError> {
        let f = self.marginals_from(&prior, x, kzx, kxx)?;
        let kl = self.kl(&prior)?;
        Ok(SvgpOutput {
            f,
            kl,
            extra_jitter: prior.extra_jitter,
            guard: None,
        })
    }

    /// One minibatch's ELBO with a single device round trip per step, for training:
    /// `log_likelihood(q(f(x)))` returns the batch's `Σₙ E_q[ln p(yₙ | fₙ)]` `[1]` (e.g.
    /// [`Likelihood::expected_log_likelihood_sum`](super::likelihood::Likelihood::expected_log_likelihood_sum)),
    /// and the terms are combined as by [`Elbo::from_terms`].
    ///
    /// [`Svgp::forward`] reads back whether `K_zz` factorised before going on; here the factor's
    /// check travels with the ELBO's finiteness check ([`Elbo::from_terms_guarded`]). Should
    /// `K_zz` need more than the configured jitter, the step is recomputed through
    /// [`Svgp::forward`] (jitter retries, reported in `extra_jitter`, and its typed errors), so the
    /// result is that of `forward` followed by `Elbo::from_terms` (`log_likelihood` then runs
    /// twice: a Monte Carlo likelihood draws afresh).
    ///
    /// # Errors
    /// As [`Svgp::forward`]; [`GpError::Elbo`] as [`Elbo::from_terms`].
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use vi_blocks::gp::SvgpConfig;
    /// use vi_blocks::gp::kernel::RbfConfig;
    /// use vi_blocks::gp::likelihood::{GaussianLikelihoodConfig, Likelihood};
    /// use vi_core::elbo::Elbo;
    /// let device = Device::default();
    /// let gp = SvgpConfig::new(2, 8).init(RbfConfig::new(2).init(&device), &device);
    /// let noise = GaussianLikelihoodConfig::new().init(&device);
    /// let x = Tensor::<2>::ones([5, 2], &device);
    /// let y = Tensor::<2>::zeros([5, 1], &device);
    /// let elbo = Elbo::new(100).with_batch_size(5);
    /// let step = gp
    ///     .elbo(x, &elbo, |f| noise.expected_log_likelihood_sum(f, y.clone()))
    ///     .unwrap();
    /// assert!(step.terms.value.unwrap().is_finite());
    /// let loss = step.terms.scaled_loss(1.0 / 100.0); // backward() on an autodiff device
    /// ```
    pub fn elbo(
        &self,
        x: Tensor<2>,
        elbo: &Elbo,
        log_likelihood: impl Fn(&GaussianMarginals) -> Tensor<1>,
    ) -> Result<SvgpElbo, GpError> {
        let mut output = self.forward_deferred(x.clone())?;
        let guard = output
            .guard
            .take()
            .expect("a deferred output holds its guard");
        let ell = log_likelihood(&output.f);
        if let Some(terms) = elbo.from_terms_guarded(ell, output.kl.clone(), guard)? {
            return Ok(SvgpElbo { output, terms });
        }
        let output = self.forward(x)?;
        let terms = elbo.from_terms(log_likelihood(&output.f), output.kl.clone())?;
        Ok(SvgpElbo { output, terms })
    }

    /// As [`Svgp::forward`] at uncertain inputs `X ~ q(X)` (batch `[N, d]`): `S` reparameterized
    /// draws of `X`, marginals `[S·N, P]` (sample-major: row `s·N + n`).
    ///
    /// # Errors
    /// As [`Svgp::forward`].
    pub fn forward_sampled(&self, q_x: &Normal, samples: usize) -> Result<SvgpOutput, GpError> {
        let x = q_x.rsample::<3>(samples);
        let [s, n, d] = x.dims();
        self.forward(x.reshape([s * n, d]))
    }
}
