//! The one type of a Gaussian variational parameter, shared by the Bayesian layers and
//! [`super::bayesianize`].

use super::prior::Prior;
use crate::kl::{Visited, module_found_by_type, offer_gaussian};
use burn::module::{Module, Param, Reparameterization, Reparameterizer};
use burn::tensor::{Distribution as Noise, FloatDType, Shape, Tensor};
use vi_core::distributions::{DistributionError, Normal};
use vi_core::random::random_like;
use vi_core::special::softplus;

/// Raw scales `ρ` stored at their parameter's rank (1 to 4), or flattened beyond.
#[derive(Module, Debug)]
pub enum RawScale {
    /// A vector's (a bias).
    Rank1(Param<Tensor<1>>),
    /// A matrix's (a linear layer's weights).
    Rank2(Param<Tensor<2>>),
    /// A rank-3 tensor's (a 1-d convolution's kernels).
    Rank3(Param<Tensor<3>>),
    /// A rank-4 tensor's (a 2-d convolution's kernels).
    Rank4(Param<Tensor<4>>),
    /// Any higher rank, flattened.
    Flat(Param<Tensor<1>>),
}

/// `t` rewrapped at rank `E` (equal to `D` by the caller's check): no tracked op.
fn same_rank<const D: usize, const E: usize>(t: Tensor<D>) -> Tensor<E> {
    debug_assert_eq!(D, E);
    Tensor::from_dispatch(t.into_dispatch())
}

impl RawScale {
    /// `rho` stored at its own rank, as a new trained parameter.
    pub fn new<const D: usize>(rho: Tensor<D>) -> Self {
        Self::from_param(Param::from_tensor(rho))
    }

    /// The parameter `rho` stored at its own rank (its id kept).
    pub fn from_param<const D: usize>(rho: Param<Tensor<D>>) -> Self {
        let id = rho.id;
        match D {
            1 => RawScale::Rank1(Param::initialized(id, same_rank(rho.val()))),
            2 => RawScale::Rank2(Param::initialized(id, same_rank(rho.val()))),
            3 => RawScale::Rank3(Param::initialized(id, same_rank(rho.val()))),
            4 => RawScale::Rank4(Param::initialized(id, same_rank(rho.val()))),
            _ => RawScale::Flat(Param::initialized(id, rho.val().reshape([-1]))),
        }
    }

    /// `ρ` at rank `D` with `shape` (its parameter's): reshaped only when stored flattened.
    pub fn at<const D: usize>(&self, shape: Shape) -> Tensor<D> {
        match self {
            RawScale::Rank1(p) if D == 1 => same_rank(p.val()),
            RawScale::Rank2(p) if D == 2 => same_rank(p.val()),
            RawScale::Rank3(p) if D == 3 => same_rank(p.val()),
            RawScale::Rank4(p) if D == 4 => same_rank(p.val()),
            RawScale::Rank1(p) | RawScale::Flat(p) => p.val().reshape(shape),
            RawScale::Rank2(p) => p.val().reshape(shape),
            RawScale::Rank3(p) => p.val().reshape(shape),
            RawScale::Rank4(p) => p.val().reshape(shape),
        }
    }

    /// `ρ` as the KL reads it, at the rank of `loc` where they share it.
    fn visited_like(&self, loc: &Visited) -> Visited {
        match (self, loc) {
            (RawScale::Rank1(p), Visited::Vector(_)) => Visited::Vector(p.val()),
            (RawScale::Rank2(p), Visited::Matrix(_)) => Visited::Matrix(p.val()),
            (RawScale::Rank1(p) | RawScale::Flat(p), _) => Visited::Flat(p.val()),
            (RawScale::Rank2(p), _) => Visited::Flat(p.val().reshape([-1])),
            (RawScale::Rank3(p), _) => Visited::Flat(p.val().reshape([-1])),
            (RawScale::Rank4(p), _) => Visited::Flat(p.val().reshape([-1])),
        }
    }
}

/// A Gaussian variational parameter: attached to a weight `w` (a `Param` whose stored value, its
/// base, is the posterior mean `μ`), it holds the raw scales `ρ` and the prior of
/// `q(w) = N(μ, softplus(ρ)²)`. Each read of the weight (`Param::val`) draws
/// `w = μ + softplus(ρ) ⊙ ε`; `Param::base` is `μ`.
///
/// [`crate::kl::total_kl`] finds every weight carrying one, by this type, wherever it sits in a
/// model: [`super::BayesianLinear`]'s weights and bias, and every weight [`super::bayesianize`]
/// made Bayesian.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::kl::total_kl;
/// use vi_blocks::nn::{Prior, VariationalParam};
/// let device = Device::default();
/// let loc = Tensor::<2>::zeros([3, 2], &device);
/// let rho = Tensor::<2>::full([3, 2], -3.0, &device);
/// let w = VariationalParam::attach(loc, rho, Prior::Normal { scale: 1.0 });
/// assert!(!w.val().equal(w.val()).all().into_scalar::<bool>()); // a new draw per read
/// let q = VariationalParam::of(&w).unwrap();
/// assert_eq!(q.rho::<2>(w.base().shape()).dims(), [3, 2]);
/// assert!(total_kl(&w).unwrap().into_scalar::<f32>() > 0.0);
/// ```
#[derive(Debug, Clone)]
pub struct VariationalParam {
    /// `ρ`, `σ = softplus(ρ)`.
    pub rho: RawScale,
    /// The prior as the KL ops read it ([`Prior::encode`], constant): on the weight's device
    /// from the start, so a training step uploads nothing.
    pub encoded_prior: Param<Tensor<1>>,
    /// The prior of every element (a setting: not saved in records).
    pub prior: Prior,
}

module_found_by_type!(VariationalParam { rho, encoded_prior } skip { prior } offer(this) {
    offer_gaussian(
        |loc| this.rho.visited_like(loc),
        this.prior,
        this.encoded_prior.val(),
    );
});

impl Reparameterization for VariationalParam {
    const NAME: &'static str = "variational";

    fn apply<const D: usize>(&self, base: Tensor<D>) -> Tensor<D> {
        let sigma = softplus(self.rho.at::<D>(base.shape()));
        let eps = random_like(&base, Noise::Normal(0.0, 1.0));
        base + sigma * eps
    }
}

impl VariationalParam {
    /// A parameter with posterior mean `loc`, raw scales `rho` (same shape) and `prior`.
    ///
    /// # Panics
    /// When `loc` and `rho` differ in shape.
    pub fn attach<const D: usize>(
        loc: Tensor<D>,
        rho: Tensor<D>,
        prior: Prior,
    ) -> Param<Tensor<D>> {
        Self::attach_params(Param::from_tensor(loc), Param::from_tensor(rho), prior)
    }

    /// As [`VariationalParam::attach`] with the parameters `loc` and `rho` as they are (ids and
    /// tracking kept).
    ///
    /// # Panics
    /// When `loc` and `rho` differ in shape.
    pub fn attach_params<const D: usize>(
        loc: Param<Tensor<D>>,
        rho: Param<Tensor<D>>,
        prior: Prior,
    ) -> Param<Tensor<D>> {
        assert_eq!(
            loc.lazy_shape(),
            rho.lazy_shape(),
            "VariationalParam: ρ must have μ's shape"
        );
        let like = loc.val();
        let param = Self::new(RawScale::from_param(rho), prior, &like);
        loc.apply_reparameterization(Attach(Some(param)))
    }

    /// The variational parameter of raw scales `rho` and `prior`, for a weight like `like`
    /// (whose device and dtype the encoded prior takes).
    pub fn new<const D: usize>(rho: RawScale, prior: Prior, like: &Tensor<D>) -> Self {
        let encoded = prior.encode(&like.device(), FloatDType::from(like.dtype()));
        Self {
            rho,
            encoded_prior: Param::from_tensor(encoded).set_require_grad(false),
            prior,
        }
    }

    /// The variational parameter a weight carries, if any.
    pub fn of<const D: usize>(weight: &Param<Tensor<D>>) -> Option<&VariationalParam> {
        weight.reparameterization::<VariationalParam>()
    }

    /// `ρ` at rank `D` with `shape` (the weight's).
    pub fn rho<const D: usize>(&self, shape: Shape) -> Tensor<D> {
        self.rho.at(shape)
    }

    /// `q(w) = N(μ, softplus(ρ)²)` of `weight` (the parameter this is attached to) as a
    /// [`Normal`] with event the last dimension: the mean-field family
    /// ([`crate::family::MeanFieldGaussian`]'s parameterisation), attached to a weight.
    ///
    /// # Errors
    /// [`DistributionError`] when `weight` does not have `ρ`'s number of elements.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use vi_blocks::nn::{Prior, VariationalParam};
    /// use vi_core::distributions::Distribution;
    /// let device = Device::default();
    /// let (loc, rho) = (Tensor::<2>::zeros([3, 2], &device), Tensor::<2>::zeros([3, 2], &device));
    /// let w = VariationalParam::attach(loc, rho, Prior::Normal { scale: 1.0 });
    /// let q = VariationalParam::of(&w).unwrap().distribution(&w).unwrap();
    /// let var: Vec<f32> = q.variance::<2>().into_data().to_vec().unwrap();
    /// let ln2 = 2f32.ln();
    /// assert!(var.len() == 6 && var.iter().all(|v| (v - ln2 * ln2).abs() < 1e-6)); // softplus(0)²
    /// ```
    pub fn distribution<const D: usize>(
        &self,
        weight: &Param<Tensor<D>>,
    ) -> Result<Normal, DistributionError> {
        let loc = weight.base();
        let rho_len = self.rho.num_params();
        if rho_len != loc.shape().num_elements() {
            return Err(DistributionError::ShapeMismatch {
                distribution: "VariationalParam",
                reason: format!("ρ has {rho_len} elements, the weight {:?}", loc.dims()),
            });
        }
        let scale = softplus(self.rho::<D>(loc.shape()));
        Normal::new_unchecked(loc, scale)?.to_event(1)
    }
}

/// Attaches one prepared [`VariationalParam`] to the first parameter it maps.
pub(crate) struct Attach(pub(crate) Option<VariationalParam>);

impl Reparameterizer for Attach {
    type Reparam = VariationalParam;

    fn reparameterize<const D: usize>(
        &mut self,
        _path: &str,
        param: Param<Tensor<D>>,
    ) -> (Param<Tensor<D>>, Option<VariationalParam>) {
        (param, self.0.take())
    }
}
