//! KL divergences `KL(p ‖ q) = E_p[ln p(x) − ln q(x)]`: closed forms dispatched on the pair of
//! types (a trait on the pair, like TensorFlow Probability's registry), and a Monte Carlo
//! estimate for any pair.
//!
//! | `p` ‖ `q` | closed form |
//! |---|---|
//! | [`Normal`] ‖ [`Normal`] | `Σ ln(σ_q/σ_p) + (σ_p² + (μ_p−μ_q)²)/(2σ_q²) − ½` |
//! | [`MultivariateNormal`] ‖ [`MultivariateNormal`] | `½[‖L_q⁻¹L_p‖²_F + ‖L_q⁻¹(μ_q−μ_p)‖² − n] + ln|L_q| − ln|L_p|`, one triangular solve |
//! | [`MultivariateNormal`] ‖ [`Normal`] (event `[n]`) | the same with `L_q = diag σ_q`, `O(n²)` |
//! | [`LowRankMultivariateNormal`] ‖ [`Normal`] | `tr = Σᵢ (Σⱼ Wᵢⱼ² + dᵢ)/σᵢ²`, `O(n k²)` |
//! | [`LowRankMultivariateNormal`] ‖ [`MultivariateNormal`] | `tr = ‖L_q⁻¹ [W, diag √d]‖²_F` |
//! | [`Bernoulli`] ‖ [`Bernoulli`] | `p ln(p/q) + (1−p) ln((1−p)/(1−q))` from logits |
//! | [`Categorical`] ‖ [`Categorical`] | `Σⱼ pⱼ (ln pⱼ − ln qⱼ)` |
//!
//! The fused special case every Bayesian layer needs, `KL(Π N(μᵢ, softplus(ρᵢ)²) ‖ N(0, s²))`
//! straight from the raw parameters, is [`crate::mean_field::kl_to_normal`]; the whitened
//! inducing-point KL `KL(N(m, L Lᵀ) ‖ N(0, I))` straight from the factor is
//! [`kl_to_standard_normal`].
//!
//! Batch shapes broadcast; event shapes must agree (use [`Distribution::expand`] and
//! [`Normal::to_event`] to shape a prior, as with Pyro's `expand(..).to_event(..)`).

use crate::cast::in_dtype;
use crate::distributions::shape::{broadcast_or_err, shaped};
use crate::distributions::{
    Bernoulli, Categorical, Distribution, DistributionError, LowRankMultivariateNormal,
    MultivariateNormal, Normal, Reparameterized,
};
use crate::linalg::{Side, Triangle, identity_like, solve_triangular};
use crate::sparse_gp::backend::SparseGpBackend;
use crate::special::{log_sigmoid, sigmoid};
use burn::backend::Dispatch;
use burn::tensor::Tensor;

/// `Σ_b KL(N(m_b, L_b L_bᵀ) ‖ N(0, I)) = Σ_b ½ (‖L_b‖²_F + ‖m_b‖² − n) − Σᵢ ln|(L_b)ᵢᵢ|` for means
/// `loc` `[.., n]` and lower-triangular factors `scale_tril` `[.., n, n]` with the same leading
/// dimensions (only the lower triangle is read), output `[1]`: the KL of a whitened variational
/// GP or of any full-rank Gaussian posterior against a standard normal prior. One op forward and
/// one backward ([`SparseGpBackend::standard_normal_kl`]) where the composition from Burn's
/// primitives tracks about a dozen; `m̄ = ḡ m` and `L̄ = ḡ (L − diag(1/Lᵢᵢ))` below the diagonal.
///
/// # Errors
/// [`DistributionError::ShapeMismatch`] when `scale_tril` is not `loc`'s shape with one more
/// dimension of its last size.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::kl::kl_to_standard_normal;
/// let device = Device::default();
/// let loc = Tensor::<1>::from_data([1.0, 0.0], &device);
/// let scale_tril = Tensor::<2>::from_data([[2.0, 0.0], [1.0, 1.0]], &device);
/// // ½ (4 + 1 + 1 + 1 − 2) − ln 2
/// let kl: f32 = kl_to_standard_normal(loc, scale_tril).unwrap().into_scalar();
/// assert!((kl - (2.5 - 2f32.ln())).abs() < 1e-6);
/// ```
pub fn kl_to_standard_normal<const D: usize, const D1: usize>(
    loc: Tensor<D>,
    scale_tril: Tensor<D1>,
) -> Result<Tensor<1>, DistributionError> {
    let (m, l) = (loc.dims(), scale_tril.dims());
    let n = m[D - 1];
    if D1 != D + 1 || m[..D - 1] != l[..D - 1] || l[D1 - 2] != n || l[D1 - 1] != n {
        return Err(DistributionError::ShapeMismatch {
            distribution: "KL to a standard normal",
            reason: format!(
                "scale_tril {l:?} must be [.., {n}, {n}] with the leading dimensions of loc {m:?}"
            ),
        });
    }
    let dtype = loc.dtype();
    Ok(Tensor::from_dispatch(
        <Dispatch as SparseGpBackend>::standard_normal_kl(
            loc.into_dispatch(),
            in_dtype(scale_tril, dtype).into_dispatch(),
        ),
    ))
}

/// A closed-form `KL(self ‖ q)`.
pub trait KlDivergence<Q: Distribution>: Distribution {
    /// `KL(self ‖ q)` per batch element, `[b]`, for two distributions with the same batch and
    /// event shapes (in the flat layout).
    ///
    /// # Errors
    /// [`DistributionError`] when a solve fails.
    fn kl_flat(&self, q: &Q) -> Result<Tensor<1>, DistributionError>;

    /// `KL(self ‖ q)` for each element of the broadcast batch shape (rank `R`; `[1]` for an
    /// unbatched pair).
    ///
    /// # Errors
    /// [`DistributionError::ShapeMismatch`] when the event shapes differ or the batch shapes do
    /// not broadcast.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use vi_core::distributions::Normal;
    /// use vi_core::kl::KlDivergence;
    /// let device = Device::default();
    /// let q = Normal::new(Tensor::<1>::from_data([1.0], &device), Tensor::<1>::ones([1], &device)).unwrap();
    /// let p = Normal::new(Tensor::<1>::zeros([1], &device), Tensor::<1>::ones([1], &device)).unwrap();
    /// let kl: Vec<f32> = q.kl::<1>(&p).unwrap().into_data().try_into_vec::<f32>().unwrap();
    /// assert!((kl[0] - 0.5).abs() < 1e-6);
    /// ```
    fn kl<const R: usize>(&self, q: &Q) -> Result<Tensor<R>, DistributionError> {
        let (p, q, batch) = align(self, q)?;
        Ok(shaped(p.kl_flat(&q)?, &batch, "kl"))
    }

    /// `KL(self ‖ q)` summed over the batch, shape `[1]`.
    ///
    /// # Errors
    /// As [`KlDivergence::kl`].
    fn kl_sum(&self, q: &Q) -> Result<Tensor<1>, DistributionError> {
        let (p, q, _) = align(self, q)?;
        Ok(p.kl_flat(&q)?.sum())
    }
}

/// The Monte Carlo estimate `1/S Σₛ [ln p(xₛ) − ln q(xₛ)]`, `xₛ ~ p` reparameterized (so it is
/// differentiable in both), for pairs without a closed form. Shape: the broadcast batch (rank
/// `R`). Unbiased; its standard error is `std(ln p − ln q)/√S`.
///
/// # Errors
/// As [`KlDivergence::kl`].
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::distributions::Normal;
/// use vi_core::kl::kl_monte_carlo;
/// let device = Device::default();
/// let p = Normal::new(Tensor::<1>::zeros([1], &device), Tensor::<1>::ones([1], &device)).unwrap();
/// let kl: Vec<f32> = kl_monte_carlo::<1, _, _>(&p, &p, 16).unwrap().into_data().try_into_vec::<f32>().unwrap();
/// assert!(kl[0].abs() < 1e-6);
/// ```
pub fn kl_monte_carlo<const R: usize, P: Reparameterized, Q: Distribution>(
    p: &P,
    q: &Q,
    samples: usize,
) -> Result<Tensor<R>, DistributionError> {
    let (p, q, batch) = align(p, q)?;
    let x = p.rsample_flat(samples);
    let log_ratio = p.log_prob_flat(x.clone())? - q.log_prob_flat(x)?;
    Ok(shaped(
        log_ratio.mean_dim(0).squeeze_dim::<1>(0),
        &batch,
        "kl",
    ))
}

/// Both distributions expanded to their common batch shape; event shapes must agree.
fn align<P: Distribution, Q: Distribution>(
    p: &P,
    q: &Q,
) -> Result<(P, Q, Vec<usize>), DistributionError> {
    if p.event_shape() != q.event_shape() {
        return Err(DistributionError::ShapeMismatch {
            distribution: P::NAME,
            reason: format!(
                "KL({} ‖ {}): event shapes {:?} and {:?} differ",
                P::NAME,
                Q::NAME,
                p.event_shape(),
                q.event_shape()
            ),
        });
    }
    let batch = broadcast_or_err(P::NAME, "KL batch", p.batch_shape(), q.batch_shape())?;
    Ok((p.expand(&batch)?, q.expand(&batch)?, batch))
}

/// `Σ_e` of a `[b, e]` tensor, `[b]`.
fn sum_event(t: Tensor<2>) -> Tensor<1> {
    t.sum_dim(1).squeeze_dim(1)
}

/// `Σ ln σ` over the event, `[b]`.
fn half_logdet_diag(scale: Tensor<2>) -> Tensor<1> {
    sum_event(scale.log())
}

impl KlDivergence<Normal> for Normal {
    fn kl_flat(&self, q: &Normal) -> Result<Tensor<1>, DistributionError> {
        let (mp, sp) = (self.loc_flat(), self.scale_flat());
        let (mq, sq) = (q.loc_flat(), q.scale_flat());
        let ratio = (sp / sq.clone()).square();
        let shift = ((mp - mq) / sq).square();
        Ok(sum_event(
            (ratio.clone() + shift - ratio.log())
                .sub_scalar(1.0)
                .mul_scalar(0.5),
        ))
    }
}

impl KlDivergence<MultivariateNormal> for MultivariateNormal {
    fn kl_flat(&self, q: &MultivariateNormal) -> Result<Tensor<1>, DistributionError> {
        let n = self.event_shape()[0];
        let diff = (q.loc_flat() - self.loc_flat()).unsqueeze_dim::<3>(2);
        // One solve for both the trace and the Mahalanobis term: L_q⁻¹ [L_p, μ_q − μ_p].
        let rhs = Tensor::cat(vec![self.scale_tril_flat(), diff], 2);
        let solved =
            solve_triangular(q.scale_tril_flat(), rhs, Triangle::Lower, false, Side::Left)?;
        let quadratic = solved.square().sum_dims_squeeze::<1, usize>(&[1, 2]);
        Ok(
            (quadratic.sub_scalar(n as f64)).mul_scalar(0.5) + q.half_logdet_flat()
                - self.half_logdet_flat(),
        )
    }
}

impl KlDivergence<Normal> for MultivariateNormal {
    fn kl_flat(&self, q: &Normal) -> Result<Tensor<1>, DistributionError> {
        let n = self.event_shape()[0];
        let sq = q.scale_flat();
        let scaled = self.scale_tril_flat() / sq.clone().unsqueeze_dim::<3>(2);
        let trace = scaled.square().sum_dims_squeeze::<1, usize>(&[1, 2]);
        let mahalanobis = sum_event(((self.loc_flat() - q.loc_flat()) / sq.clone()).square());
        Ok(
            (trace + mahalanobis).sub_scalar(n as f64).mul_scalar(0.5) + half_logdet_diag(sq)
                - self.half_logdet_flat(),
        )
    }
}

impl KlDivergence<Normal> for LowRankMultivariateNormal {
    fn kl_flat(&self, q: &Normal) -> Result<Tensor<1>, DistributionError> {
        let n = self.event_shape()[0];
        let (loc, _, _) = self.flat_parameters();
        let (mq, sq) = (q.loc_flat(), q.scale_flat());
        let trace = sum_event(self.variance_flat() / sq.clone().square());
        let mahalanobis = sum_event(((loc - mq) / sq.clone()).square());
        Ok(
            (trace + mahalanobis).sub_scalar(n as f64).mul_scalar(0.5) + half_logdet_diag(sq)
                - self.half_logdet_flat(),
        )
    }
}

impl KlDivergence<MultivariateNormal> for LowRankMultivariateNormal {
    fn kl_flat(&self, q: &MultivariateNormal) -> Result<Tensor<1>, DistributionError> {
        let n = self.event_shape()[0];
        let (loc, w, d) = self.flat_parameters();
        let sqrt_d = d.sqrt().unsqueeze_dim::<3>(2) * identity_like::<3, 3>(&w, n);
        let diff = (q.loc_flat() - loc).unsqueeze_dim::<3>(2);
        // L_q⁻¹ [W, diag √d, μ_q − μ_p]: its squared Frobenius norm is trace + Mahalanobis.
        let rhs = Tensor::cat(vec![w, sqrt_d, diff], 2);
        let solved =
            solve_triangular(q.scale_tril_flat(), rhs, Triangle::Lower, false, Side::Left)?;
        let quadratic = solved.square().sum_dims_squeeze::<1, usize>(&[1, 2]);
        Ok(
            quadratic.sub_scalar(n as f64).mul_scalar(0.5) + q.half_logdet_flat()
                - self.half_logdet_flat(),
        )
    }
}

impl KlDivergence<Bernoulli> for Bernoulli {
    fn kl_flat(&self, q: &Bernoulli) -> Result<Tensor<1>, DistributionError> {
        let (lp, lq) = (self.logits_flat(), q.logits_flat());
        let p = sigmoid(lp.clone());
        let one = p.clone() * (log_sigmoid(lp.clone()) - log_sigmoid(lq.clone()));
        let zero = sigmoid(lp.clone().neg()) * (log_sigmoid(lp.neg()) - log_sigmoid(lq.neg()));
        Ok(sum_event(one + zero))
    }
}

impl KlDivergence<Categorical> for Categorical {
    fn kl_flat(&self, q: &Categorical) -> Result<Tensor<1>, DistributionError> {
        let (c, cq) = (self.num_categories(), q.num_categories());
        if c != cq {
            return Err(DistributionError::ShapeMismatch {
                distribution: "Categorical",
                reason: format!("KL between {c} and {cq} categories"),
            });
        }
        let (lp, lq) = (self.log_probs_flat(), q.log_probs_flat());
        Ok(sum_event(lp.clone().exp() * (lp - lq)))
    }
}
