//! The KL divergence of a whole model, collected by walking its module tree.
//!
//! [`total_kl`] visits any Burn module (a user's own struct, nested at any depth, inside `Vec`s
//! and `Option`s, next to ordinary layers) and sums the KL of every variational parameter it
//! holds: every weight carrying a [`VariationalParam`] (the posterior `N(μ, softplus(ρ)²)` and its
//! prior), whether it belongs to a [`crate::nn::BayesianLinear`] or was made Bayesian by
//! [`crate::nn::bayesianize`]. [`total_regularizer`] adds the regulariser of every
//! [`crate::nn::ConcreteLinear`]. Both find these blocks by their type, never by a field's name:
//! a user's own parameter named `loc`, `rho` or `prior` is not counted, and a renamed field is not
//! dropped.
//!
//! [`VariationalParam`]: crate::nn::VariationalParam

mod found;
mod registry;
mod visited;

pub(crate) use found::module_found_by_type;
pub(crate) use registry::{offer_gaussian, offer_regularizer};
pub(crate) use visited::Visited;

use burn::module::Module;
use burn::tensor::Tensor;
use registry::{Found, GaussianTerm};
use visited::kl_pair;

/// Sum of the KL divergences of every Bayesian parameter group in `module`, `[1]`
/// (differentiable), or `None` when the module has none.
///
/// # Example
/// ```
/// use burn::module::Module;
/// use burn::nn::{Linear, LinearConfig};
/// use burn::tensor::Device;
/// use vi_blocks::kl::total_kl;
/// use vi_blocks::nn::{BayesianLinear, BayesianLinearConfig};
///
/// #[derive(Module, Debug)]
/// struct Net { encoder: Linear, heads: Vec<BayesianLinear> }
///
/// let device = Device::default();
/// let net = Net {
///     encoder: LinearConfig::new(3, 4).init(&device),
///     heads: vec![BayesianLinearConfig::new(4, 1).init(&device); 2],
/// };
/// let kl = total_kl(&net).unwrap(); // KL(head 0) + KL(head 1)
/// let by_hand = net.heads[0].kl() + net.heads[1].kl();
/// let (kl, by_hand): (f32, f32) = (kl.into_scalar(), by_hand.into_scalar());
/// assert!((kl - by_hand).abs() <= 1e-5 * by_hand);
/// ```
pub fn total_kl<M: Module>(module: &M) -> Option<Tensor<1>> {
    gaussian_kl(registry::collect(module))
}

/// [`total_kl`] plus the regulariser of every concrete-dropout layer
/// ([`crate::nn::ConcreteLinear`]): the whole penalty of a model trained with variational
/// layers and concrete dropout, `[1]`, or `None` when there is none.
///
/// # Example
/// ```
/// use burn::module::Module;
/// use burn::tensor::Device;
/// use vi_blocks::kl::total_regularizer;
/// use vi_blocks::nn::{BayesianLinear, BayesianLinearConfig, ConcreteLinear, ConcreteLinearConfig};
///
/// #[derive(Module, Debug)]
/// struct Net { hidden: ConcreteLinear, out: BayesianLinear }
///
/// let device = Device::default();
/// let net = Net {
///     hidden: ConcreteLinearConfig::new(3, 8, 1e-4, 1e-3).init(&device),
///     out: BayesianLinearConfig::new(8, 1).init(&device),
/// };
/// let total: f32 = total_regularizer(&net).unwrap().into_scalar();
/// let by_hand: f32 = (net.hidden.regularizer() + net.out.kl()).into_scalar();
/// assert!((total - by_hand).abs() <= 1e-5 * by_hand.abs().max(1.0));
/// ```
pub fn total_regularizer<M: Module>(module: &M) -> Option<Tensor<1>> {
    let mut found = registry::collect(module);
    let others = std::mem::take(&mut found.regularizers);
    others
        .into_iter()
        .chain(gaussian_kl(found))
        .reduce(|a, b| a + b)
}

/// The KL of every Gaussian variational parameter found, two parameters with the same prior per
/// fused op (a layer's weights and bias).
fn gaussian_kl(found: Found) -> Option<Tensor<1>> {
    let mut terms = found.gaussian.into_iter().peekable();
    let mut total: Option<Tensor<1>> = None;
    while let Some(first) = terms.next() {
        let prior = first.encoded_prior;
        let kl = match terms.next_if(|next| next.prior == first.prior) {
            Some(GaussianTerm { loc, rho, .. }) => {
                kl_pair((first.loc, first.rho), (loc, rho), prior)
            }
            None => first.loc.kl(first.rho, prior),
        };
        total = Some(match total {
            Some(total) => total + kl,
            None => kl,
        });
    }
    total
}
