//! The collection behind [`super::total_kl`]: a visitor walks the module tree, and every value of
//! a type implemented through [`super::found::module_found_by_type!`] offers its term as it is
//! visited. The terms are gathered per thread, for the duration of one walk, so nothing is found
//! by a field's name: a user's field named `loc`, `rho` or `prior` is an ordinary parameter.

use super::visited::Visited;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use std::cell::RefCell;

/// One Gaussian variational parameter met during the walk: its posterior mean (the base of the
/// reparameterized parameter), its raw scale and its prior.
pub(crate) struct GaussianTerm {
    pub loc: Visited,
    pub rho: Visited,
    pub prior: crate::nn::Prior,
    /// The prior, encoded.
    pub encoded_prior: Tensor<1>,
}

/// What one walk found.
#[derive(Default)]
pub(crate) struct Found {
    /// Gaussian variational parameters, in visiting order.
    pub gaussian: Vec<GaussianTerm>,
    /// Other regularisers (e.g. concrete dropout's), `[1]` each.
    pub regularizers: Vec<Tensor<1>>,
}

#[derive(Default)]
struct Walk {
    found: Found,
    /// The base of the parameter visited last: Burn visits a reparameterized parameter's base
    /// just before entering its reparameterization. Kept as it is and turned into a [`Visited`]
    /// (a reshape for ranks above 2) only when a variational parameter claims it, so an
    /// ordinary parameter costs the walk no tracked op.
    last_base: Option<Box<dyn FnOnce() -> Visited>>,
}

thread_local! {
    static WALK: RefCell<Option<Walk>> = const { RefCell::new(None) };
}

/// Runs `module`'s visit with a collection open on this thread and returns what was offered.
pub(crate) fn collect<M: Module>(module: &M) -> Found {
    let previous = WALK.with(|walk| walk.borrow_mut().replace(Walk::default()));
    module.visit(&mut Tracker);
    let walk = WALK.with(|walk| std::mem::replace(&mut *walk.borrow_mut(), previous));
    walk.map(|walk| walk.found).unwrap_or_default()
}

/// Offers a variational parameter: paired with the base visited just before (its posterior
/// mean). Outside a collection, or with no base (the reparameterization visited on its own),
/// nothing happens.
pub(crate) fn offer_gaussian(
    rho: impl FnOnce(&Visited) -> Visited,
    prior: crate::nn::Prior,
    encoded_prior: Tensor<1>,
) {
    WALK.with(|walk| {
        if let Some(walk) = walk.borrow_mut().as_mut()
            && let Some(base) = walk.last_base.take()
        {
            let loc = base();
            let rho = rho(&loc);
            walk.found.gaussian.push(GaussianTerm {
                loc,
                rho,
                prior,
                encoded_prior,
            });
        }
    });
}

/// Offers a regulariser term; `term` is only evaluated during a collection.
pub(crate) fn offer_regularizer(term: impl FnOnce() -> Tensor<1>) {
    WALK.with(|walk| {
        if let Some(walk) = walk.borrow_mut().as_mut() {
            walk.found.regularizers.push(term());
        }
    });
}

/// The visitor of a collection: it only remembers the last base visited.
struct Tracker;

impl ModuleVisitor for Tracker {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        WALK.with(|walk| {
            if let Some(walk) = walk.borrow_mut().as_mut() {
                let base = param.val();
                walk.last_base = Some(Box::new(move || Visited::new(base)));
            }
        });
    }
}
