//! Evidence lower bound estimators:
//! `L(θ) = E_q[ln p(Y | ω)] − β KL(q_θ(ω) ‖ p(ω)) ≤ ln p(Y)`, estimated with `T` reparameterized
//! particles `ω_t ~ q_θ` and minibatch scaling of the likelihood by `N / B`.
//!
//! | [`Estimator`] | KL term | gradient |
//! |---|---|---|
//! | `AnalyticKl` | closed form | lowest variance when a closed form exists |
//! | `MonteCarloKl` | `1/T Σ ln q(ω_t) − ln p(ω_t)` | any pair |
//! | `StickingTheLanding` | as `MonteCarloKl`, with `ln q` evaluated at detached `θ` | drops the zero-mean score term (Roeder et al. 2017): zero variance when `q` is the exact posterior |
//! | `Iwae` | inside `ln 1/T Σ_t w_t` | the importance-weighted bound of Burda et al. (2016), tighter with `T` |
//!
//! Every term is checked for NaN/Inf in the step that produced it ([`ElboError::NonFinite`] names
//! the term).

use crate::distributions::{Distribution, DistributionError, Reparameterized};
use crate::kl::KlDivergence;
use crate::special::logsumexp;
use burn::tensor::{Tensor, Transaction};

/// How the ELBO and its gradient are estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Estimator {
    /// Monte Carlo expected log-likelihood, closed-form KL.
    AnalyticKl,
    /// Monte Carlo expected log-likelihood and KL.
    MonteCarloKl,
    /// Monte Carlo KL with the score-function term removed ("sticking the landing").
    StickingTheLanding,
    /// The importance-weighted bound with `num_particles` samples.
    Iwae,
}

/// Why an ELBO could not be estimated.
#[derive(Debug, thiserror::Error)]
pub enum ElboError {
    /// A term of the objective is NaN or infinite.
    #[error("the ELBO's {term} is not finite ({value})")]
    NonFinite { term: &'static str, value: f64 },
    /// `AnalyticKl` asked of a pair with no closed-form KL.
    #[error(
        "estimator {estimator:?} needs a closed-form KL; use MonteCarloKl or StickingTheLanding"
    )]
    NoClosedForm { estimator: Estimator },
    /// A configuration or a returned shape that cannot work.
    #[error("invalid ELBO setup: {reason}")]
    Invalid { reason: String },
    /// A distribution failed (shapes, a solve).
    #[error(transparent)]
    Distribution(#[from] DistributionError),
}

/// The ELBO's value and terms, as differentiable scalars (shape `[1]`).
#[derive(Debug, Clone)]
pub struct ElboTerms {
    /// The bound (to maximize).
    pub elbo: Tensor<1>,
    /// `N/B · 1/T Σ_t ln p(Y_batch | ω_t)`.
    pub expected_log_likelihood: Tensor<1>,
    /// The KL estimate (unweighted).
    pub kl: Tensor<1>,
    /// The ELBO's value as read back by the finiteness check (`None` when
    /// [`Elbo::check_finite`] is off): log it from here rather than reading the loss again, which
    /// would cost a second device round trip per step.
    pub value: Option<f64>,
}

impl ElboTerms {
    /// `−elbo`, the loss to minimize.
    pub fn loss(&self) -> Tensor<1> {
        self.elbo.clone().neg()
    }

    /// `−scale · elbo` as one op: `scaled_loss(1.0 / N)` is the loss per data point that
    /// GPyTorch's `VariationalELBO` reports, at a better-conditioned step size than the sum.
    pub fn scaled_loss(&self, scale: f64) -> Tensor<1> {
        self.elbo.clone().mul_scalar(-scale)
    }
}

/// An ELBO estimator.
///
/// # Example
/// Conjugate Gaussian: `ω ~ N(0, 1)`, `y | ω ~ N(ω, 1)`.
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::distributions::Normal;
/// use vi_core::elbo::{Elbo, Estimator};
/// let device = Device::default();
/// let q = Normal::new(Tensor::<1>::from_data([0.5], &device), Tensor::<1>::from_data([0.7], &device)).unwrap();
/// let prior = Normal::new(Tensor::<1>::zeros([1], &device), Tensor::<1>::ones([1], &device)).unwrap();
/// let y = 1.0;
/// let elbo = Elbo::new(1).with_num_particles(8).with_estimator(Estimator::StickingTheLanding);
/// let terms = elbo
///     .estimate(&q, &prior, |w: Tensor<2>| {
///         (w.neg().add_scalar(y).square().mul_scalar(-0.5) - 0.918_938_5).sum_dim(1).squeeze_dim(1)
///     })
///     .unwrap();
/// let loss = terms.loss(); // backward() on an autodiff device
/// assert!(loss.into_scalar::<f32>().is_finite());
/// ```
#[derive(Debug, Clone)]
pub struct Elbo {
    /// Size `N` of the whole data set.
    pub num_data: usize,
    /// Size `B` of the minibatch the likelihood is evaluated on (the likelihood is scaled by
    /// `N / B`).
    pub batch_size: usize,
    /// Number `T` of particles.
    pub num_particles: usize,
    /// Weight `β` of the KL term (anneal it from 0 to 1 for warm-up).
    pub kl_weight: f64,
    /// The estimator.
    pub estimator: Estimator,
    /// Whether to read the terms back and fail on NaN/Inf (one small read per step).
    pub check_finite: bool,
}

impl Elbo {
    /// Full-batch, one particle, `β = 1`, analytic KL, finiteness checked.
    pub fn new(num_data: usize) -> Self {
        Self {
            num_data,
            batch_size: num_data,
            num_particles: 1,
            kl_weight: 1.0,
            estimator: Estimator::AnalyticKl,
            check_finite: true,
        }
    }

    /// Sets the minibatch size `B`.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets the number of particles `T`.
    pub fn with_num_particles(mut self, num_particles: usize) -> Self {
        self.num_particles = num_particles;
        self
    }

    /// Sets the KL weight `β`.
    pub fn with_kl_weight(mut self, kl_weight: f64) -> Self {
        self.kl_weight = kl_weight;
        self
    }

    /// Sets the estimator.
    pub fn with_estimator(mut self, estimator: Estimator) -> Self {
        self.estimator = estimator;
        self
    }

    /// Turns the NaN/Inf check on or off.
    pub fn with_check_finite(mut self, check_finite: bool) -> Self {
        self.check_finite = check_finite;
        self
    }

    /// `N / B`.
    pub fn likelihood_scale(&self) -> f64 {
        self.num_data as f64 / self.batch_size as f64
    }

    /// Estimates the ELBO of `q` against `prior`. `log_likelihood` receives the particles
    /// `[T] + batch + event` (rank `S`) and returns `ln p(Y_batch | ω_t)` summed over the
    /// minibatch, shape `[T]`.
    ///
    /// # Errors
    /// [`ElboError::NonFinite`] naming the term, [`ElboError::Invalid`] for a zero batch or
    /// particle count or a log-likelihood of the wrong shape, [`ElboError::Distribution`] from
    /// the distributions.
    pub fn estimate<const S: usize, Q, P, F>(
        &self,
        q: &Q,
        prior: &P,
        log_likelihood: F,
    ) -> Result<ElboTerms, ElboError>
    where
        Q: Reparameterized + KlDivergence<P>,
        P: Distribution,
        F: FnOnce(Tensor<S>) -> Tensor<1>,
    {
        self.run(q, prior, log_likelihood, Some(&|| Ok(q.kl_sum(prior)?)))
    }

    /// As [`Elbo::estimate`] for pairs without a closed-form KL (a [`crate::distributions::Delta`]
    /// for MAP, a custom prior): every estimator except `AnalyticKl`.
    ///
    /// # Errors
    /// As [`Elbo::estimate`], and [`ElboError::NoClosedForm`] with `AnalyticKl`.
    pub fn estimate_sampled<const S: usize, Q, P, F>(
        &self,
        q: &Q,
        prior: &P,
        log_likelihood: F,
    ) -> Result<ElboTerms, ElboError>
    where
        Q: Reparameterized,
        P: Distribution,
        F: FnOnce(Tensor<S>) -> Tensor<1>,
    {
        self.run(q, prior, log_likelihood, None)
    }

    /// Combines terms computed elsewhere (a model whose blocks each hold a posterior and report
    /// their own KL): `ln p(Y_batch | ω_t)` per particle `[T]` and the total KL `[1]`.
    ///
    /// # Errors
    /// As [`Elbo::estimate`].
    pub fn from_terms(
        &self,
        log_likelihood: Tensor<1>,
        kl: Tensor<1>,
    ) -> Result<ElboTerms, ElboError> {
        let terms = self.combine(log_likelihood, kl)?;
        self.finish(terms, false)
    }

    /// As [`Elbo::from_terms`], reading `guard` in the same device round trip as the ELBO
    /// ([`read_guarded`]): `guard` is finite exactly when the terms were computed from valid
    /// intermediates (e.g. the
    /// [`DeferredCholesky::guard`](crate::linalg::DeferredCholesky::guard) of a factor the
    /// terms depend on). `Ok(None)` when it is not: the terms are invalid and the caller
    /// recomputes them on a checked path. The guard is read even when `check_finite` is off.
    ///
    /// # Errors
    /// [`ElboError::Invalid`] for a configuration that cannot work (before anything is read);
    /// when the guard is finite, [`ElboError::NonFinite`] as [`Elbo::from_terms`].
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use vi_core::elbo::Elbo;
    /// let device = Device::default();
    /// let (ll, kl) = (Tensor::<1>::from_data([-3.0], &device), Tensor::<1>::from_data([0.5], &device));
    /// let guard = Tensor::<1>::from_data([1.0, f32::NAN], &device);
    /// assert!(Elbo::new(10).from_terms_guarded(ll.clone(), kl.clone(), guard).unwrap().is_none());
    /// let terms = Elbo::new(10).from_terms_guarded(ll, kl, Tensor::ones([2], &device)).unwrap();
    /// assert_eq!(terms.unwrap().value, Some(-3.5));
    /// ```
    pub fn from_terms_guarded(
        &self,
        log_likelihood: Tensor<1>,
        kl: Tensor<1>,
        guard: Tensor<1>,
    ) -> Result<Option<ElboTerms>, ElboError> {
        let terms = self.combine(log_likelihood, kl)?;
        let Some(value) = read_guarded(terms.elbo.clone(), guard) else {
            return Ok(None);
        };
        if !self.check_finite {
            return Ok(Some(terms));
        }
        self.judge(terms, value, false).map(Some)
    }

    /// [`Elbo::from_terms`]'s bound, unchecked.
    fn combine(&self, log_likelihood: Tensor<1>, kl: Tensor<1>) -> Result<ElboTerms, ElboError> {
        self.check_config()?;
        let ell = log_likelihood.mul_scalar(self.likelihood_scale());
        // The mean over particles (nothing to average for one).
        let ell = if ell.dims() == [1] { ell } else { ell.mean() };
        let elbo = ell.clone() - self.weighted(kl.clone());
        Ok(ElboTerms {
            elbo,
            expected_log_likelihood: ell,
            kl,
            value: None,
        })
    }

    #[allow(clippy::type_complexity)]
    fn run<const S: usize, Q, P, F>(
        &self,
        q: &Q,
        prior: &P,
        log_likelihood: F,
        analytic_kl: Option<&dyn Fn() -> Result<Tensor<1>, ElboError>>,
    ) -> Result<ElboTerms, ElboError>
    where
        Q: Reparameterized,
        P: Distribution,
        F: FnOnce(Tensor<S>) -> Tensor<1>,
    {
        self.check_config()?;
        let particles = self.num_particles;
        let omega = q.rsample::<S>(particles);
        let ll = log_likelihood(omega.clone());
        if ll.dims() != [particles] {
            return Err(ElboError::Invalid {
                reason: format!(
                    "log_likelihood returned shape {:?}; expected [{particles}] (one value per particle)",
                    ll.dims()
                ),
            });
        }
        let ll = ll.mul_scalar(self.likelihood_scale());
        let ell = ll.clone().mean();
        let log_ratio = || -> Result<Tensor<1>, ElboError> {
            let log_q = match self.estimator {
                Estimator::StickingTheLanding => q.detach().log_prob_joint(omega.clone())?,
                _ => q.log_prob_joint(omega.clone())?,
            };
            Ok(log_q - prior.log_prob_joint(omega.clone())?)
        };
        let terms = match self.estimator {
            Estimator::AnalyticKl => {
                let kl = analytic_kl.ok_or(ElboError::NoClosedForm {
                    estimator: self.estimator,
                })?()?;
                ElboTerms {
                    elbo: ell.clone() - self.weighted(kl.clone()),
                    expected_log_likelihood: ell,
                    kl,
                    value: None,
                }
            }
            Estimator::MonteCarloKl | Estimator::StickingTheLanding => {
                let kl = log_ratio()?.mean();
                ElboTerms {
                    elbo: ell.clone() - self.weighted(kl.clone()),
                    expected_log_likelihood: ell,
                    kl,
                    value: None,
                }
            }
            Estimator::Iwae => {
                let ratio = log_ratio()?;
                let log_weights = ll - self.weighted(ratio.clone());
                let elbo = logsumexp(log_weights, 0).sub_scalar((particles as f64).ln());
                ElboTerms {
                    elbo,
                    expected_log_likelihood: ell,
                    kl: ratio.mean(),
                    value: None,
                }
            }
        };
        self.finish(terms, self.estimator == Estimator::Iwae)
    }

    /// `w · kl` (no op at the usual `w = 1`).
    fn weighted<const D: usize>(&self, kl: Tensor<D>) -> Tensor<D> {
        if self.kl_weight == 1.0 {
            kl
        } else {
            kl.mul_scalar(self.kl_weight)
        }
    }

    fn check_config(&self) -> Result<(), ElboError> {
        let reason = if self.num_particles == 0 {
            "num_particles is 0".to_string()
        } else if self.batch_size == 0 || self.batch_size > self.num_data {
            format!(
                "batch_size {} must be in 1..={}",
                self.batch_size, self.num_data
            )
        } else if !self.kl_weight.is_finite() || self.kl_weight < 0.0 {
            format!("kl_weight {} must be finite and ≥ 0", self.kl_weight)
        } else {
            return Ok(());
        };
        Err(ElboError::Invalid { reason })
    }

    /// Reads the ELBO back (when `check_finite`) into [`ElboTerms::value`] and, should it not
    /// be finite, the terms to name the first non-finite one.
    fn finish(&self, terms: ElboTerms, iwae_bound: bool) -> Result<ElboTerms, ElboError> {
        if !self.check_finite {
            return Ok(terms);
        }
        let value = read_scalar(&terms.elbo);
        self.judge(terms, value, iwae_bound)
    }

    /// Checks the terms given the ELBO's `value` as read back: `ELBO = E[ln p] − w KL` is finite
    /// exactly when both terms are (a non-finite term makes it ±∞ or NaN, even at w = 0), and
    /// only otherwise are the terms read to name one. IWAE's bound (`iwae_bound`) can stay
    /// finite when a particle's term is not, so its terms are always read.
    fn judge(
        &self,
        mut terms: ElboTerms,
        value: f64,
        iwae_bound: bool,
    ) -> Result<ElboTerms, ElboError> {
        terms.value = Some(value);
        if !iwae_bound && value.is_finite() {
            return Ok(terms);
        }
        for (term, tensor) in [
            ("expected log-likelihood", &terms.expected_log_likelihood),
            ("KL", &terms.kl),
        ] {
            let value = read_scalar(tensor);
            if !value.is_finite() {
                return Err(ElboError::NonFinite { term, value });
            }
        }
        if !value.is_finite() {
            return Err(ElboError::NonFinite {
                term: "ELBO",
                value,
            });
        }
        Ok(terms)
    }
}

fn read_scalar(t: &Tensor<1>) -> f64 {
    t.clone().detach().into_scalar::<f64>()
}

/// The first entry of `value` and whether every entry of `guard` is finite, read back in one
/// device round trip (a [`Transaction`]): `Some(value)` when the guard passes, `None` when it
/// does not (then `value` was computed from invalid intermediates and means nothing). Both are
/// read detached.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// let device = Device::default();
/// let loss = Tensor::<1>::from_data([2.5], &device);
/// let ok = vi_core::elbo::read_guarded(loss.clone(), Tensor::ones([3], &device));
/// assert_eq!(ok, Some(2.5));
/// let guard = Tensor::<1>::from_data([1.0, f32::INFINITY], &device);
/// assert_eq!(vi_core::elbo::read_guarded(loss, guard), None);
/// ```
pub fn read_guarded(value: Tensor<1>, guard: Tensor<1>) -> Option<f64> {
    let [value, guard]: [_; 2] = Transaction::default()
        .register(value.detach())
        .register(guard.detach())
        .execute()
        .try_into()
        .expect("two tensors registered, two read");
    guard
        .iter::<f64>()
        .all(f64::is_finite)
        .then(|| value.iter::<f64>().next().unwrap_or(f64::NAN))
}
