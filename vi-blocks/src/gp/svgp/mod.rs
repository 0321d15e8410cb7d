//! The inducing-point layer (SVGP; Hensman, Matthews & Ghahramani 2015), with the variational
//! distribution over `U` separate from the strategy that links it to `f`, as in GPyTorch.

mod inducing;
mod output;
mod strategy;

pub use inducing::{InducingDistribution, InducingFamily, VariationalFamily};
pub use output::{InducingPrior, JointPredictive, SvgpElbo, SvgpOutput, VariationalScale};
pub use strategy::{AnyStrategy, Unwhitened, VariationalStrategy, Whitened};

use super::error::GpError;
use super::kernel::Kernel;
use super::marginals::GaussianMarginals;
use super::mean::{MeanConfig, MeanFunction, MeanKind};
use crate::family::FullRankGaussian;
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{DType, Device, Distribution as Noise, Tensor};
use output::per_output;
use vi_core::distributions::{Normal, Reparameterized};
use vi_core::elbo::Elbo;
use vi_core::linalg::{
    JitterConfig, Side, Triangle, cholesky_deferred, cholesky_jittered, solve_triangular,
};
use vi_core::sparse_gp::projected_mean;

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
/// Generic, as GPyTorch separates them, over the variational distribution `Q` of `q(u)`
/// ([`FullRankGaussian`] by default, [`crate::family::MeanFieldGaussian`], or
/// [`InducingFamily`] chosen at run time) and the strategy `S` ([`Whitened`] by default,
/// [`Unwhitened`], or [`AnyStrategy`]).
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
pub struct Svgp<K, Q = FullRankGaussian, S = Whitened> {
    /// The prior covariance.
    pub kernel: K,
    /// The prior mean.
    pub mean: MeanFunction,
    /// `Z`, `[1 or P, M, d]`.
    pub inducing_points: Param<Tensor<3>>,
    /// `q(u)`, `[P, M]`.
    pub variational: Q,
    /// How `q(u)` links to `f`.
    #[module(skip)]
    pub strategy: S,
    /// Jitter added to `K_zz` (`None`: by dtype).
    #[module(skip)]
    pub jitter: Option<f64>,
}

impl SvgpConfig {
    /// The layer with the default `q(u)` (full rank) and strategy (whitened): see
    /// [`SvgpConfig::init_with`].
    pub fn init<K: Kernel>(&self, kernel: K, device: &Device) -> Svgp<K> {
        let q = FullRankGaussian::standard(self.outputs, self.num_inducing, device);
        self.init_with(kernel, q, Whitened, device)
    }

    /// The layer with inducing points drawn from `N(0, I)` (set them from data with
    /// [`Svgp::with_inducing_points`]), `m = 0`, and `q(u)` started at the prior by the strategy
    /// (`S = I` whitened, `S = K_zz` unwhitened). `variational` is `Q::standard(outputs,
    /// num_inducing, device)` or any `q(u)` of that shape.
    ///
    /// # Panics
    /// When `variational` is not `[outputs, num_inducing]`.
    pub fn init_with<K: Kernel, Q: InducingDistribution, S: VariationalStrategy>(
        &self,
        kernel: K,
        variational: Q,
        strategy: S,
        device: &Device,
    ) -> Svgp<K, Q, S> {
        let (p, m, d) = (self.outputs, self.num_inducing, self.input_dim);
        assert_eq!(
            variational.loc().dims(),
            [p, m],
            "SvgpConfig::init_with: q(u) must be [outputs, num_inducing]"
        );
        let z_batch = if self.shared_inducing { 1 } else { p };
        let z = Tensor::<3>::random([z_batch, m, d], Noise::Normal(0.0, 1.0), device);
        let layer = Svgp {
            kernel,
            mean: MeanConfig::new(d, p).with_kind(self.mean).init(device),
            inducing_points: Param::from_tensor(z),
            variational,
            strategy,
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

impl<K: Kernel, Q: InducingDistribution, S: VariationalStrategy> Svgp<K, Q, S> {
    /// Number of outputs `P`.
    pub fn outputs(&self) -> usize {
        self.variational.outputs()
    }

    /// Number of inducing points `M`.
    pub fn num_inducing(&self) -> usize {
        self.inducing_points.dims()[1]
    }

    /// Replaces the inducing points (`[M, d]` is shared, `[1 or P, M, d]` as stored); `q(u)` is
    /// restarted as the strategy requires (an unwhitened `q(u)` at the prior `N(m(Z), K_zz)` of
    /// the new points).
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
        if let Ok(prior) = layer.inducing_prior() {
            layer.variational = layer.strategy.restart(layer.variational, &prior);
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
        let retry = JitterConfig::retrying_from(jitter);
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
            q_scale: self.variational.scale(),
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

    /// `(A = L_zz⁻¹ K_zx, P)` with the strategy's projection `P`, both `[b, M, N]`.
    fn projections(
        &self,
        prior: &InducingPrior,
        kzx: Tensor<3>,
    ) -> Result<(Tensor<3>, Tensor<3>), GpError> {
        let b = kzx.dims()[0];
        let chol = per_output(prior.cholesky.clone(), b);
        let a = solve_triangular(chol.clone(), kzx, Triangle::Lower, false, Side::Left)?;
        let proj = self.strategy.projection(chol, a.clone())?;
        Ok((a, proj))
    }

    /// `m(x) + Pᵀ m̃`, `[P, N]`: one op (`sparse_gp::projected_mean`).
    fn predictive_mean(
        &self,
        prior: &InducingPrior,
        proj: &Tensor<3>,
        x: Tensor<3>,
    ) -> Result<Tensor<2>, GpError> {
        let m = self.strategy.centred_mean(self.variational.loc(), prior);
        Ok(projected_mean(m, proj.clone(), self.mean.compact(x))?)
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
        kxx: Tensor<2>,
    ) -> Result<GaussianMarginals, GpError> {
        let p = self.outputs();
        let (a, proj) = self.projections(prior, kzx)?;
        let n = a.dims()[2];
        let mean = self.predictive_mean(prior, &proj, x)?;
        let kxx = kxx.add_scalar(self.strategy.prior_jitter(prior.jitter));
        let variance = self.strategy.variance(&prior.q_scale, a, proj, kxx, p)?;
        Ok(GaussianMarginals {
            mean: mean.swap_dims(0, 1),
            variance: variance.expand([p, n]).swap_dims(0, 1),
        })
    }

    /// The joint predictive over a small batch `[N, d]`: per output mean `[P, N]` and covariance
    /// `[P, N, N]` (`K_xx − AᵀA + Pᵀ S P`, plus the strategy's jitter).
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
        let eye = Tensor::<2>::eye(n, &a.device())
            .cast(a.dtype())
            .unsqueeze::<3>();
        let kxx = self.kernel.gram(x) + eye.mul_scalar(self.strategy.prior_jitter(prior.jitter));
        let scaled = prior.q_scale.scaled_projection(proj)?;
        let cov = kxx - a.clone().swap_dims(1, 2).matmul(a)
            + scaled.clone().swap_dims(1, 2).matmul(scaled);
        Ok(JointPredictive {
            mean,
            covariance: per_output(cov, p),
        })
    }

    /// `Σ_p KL(q(u_p) ‖ p(u_p))`, `[1]`, by the strategy: whitened,
    /// `½ (‖L‖²_F + ‖m‖² − M) − Σᵢ ln Lᵢᵢ` per output (full rank, one fused op) or Normal ‖ Normal
    /// (mean field); unwhitened, vi-core's MVN ‖ MVN sharing `L_zz`.
    ///
    /// # Errors
    /// [`GpError::Distribution`] when `m` and `q(u)`'s scale disagree in shape.
    pub fn kl(&self, prior: &InducingPrior) -> Result<Tensor<1>, GpError> {
        self.strategy
            .kl(self.variational.loc(), prior.q_scale.clone(), prior)
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
