//! A parameter at its own rank, so that a KL reads it without a tracked reshape (one autodiff
//! node per parameter per step otherwise); flattened only where a vector is needed.

use crate::nn::{mean_field_kl, mean_field_kl_pair};
use burn::tensor::Tensor;

/// A float tensor of rank 1, 2, or any other rank flattened.
#[derive(Clone, Debug)]
pub(crate) enum Visited {
    Vector(Tensor<1>),
    Matrix(Tensor<2>),
    /// Any other rank, flattened.
    Flat(Tensor<1>),
}

impl Visited {
    pub(crate) fn new<const D: usize>(tensor: Tensor<D>) -> Self {
        // The rank is checked before the primitive is rewrapped with it.
        match D {
            1 => Visited::Vector(Tensor::from_dispatch(tensor.into_dispatch())),
            2 => Visited::Matrix(Tensor::from_dispatch(tensor.into_dispatch())),
            _ => Visited::Flat(tensor.reshape([-1])),
        }
    }

    pub(crate) fn flat(self) -> Tensor<1> {
        match self {
            Visited::Vector(t) | Visited::Flat(t) => t,
            Visited::Matrix(t) => t.reshape([-1]),
        }
    }

    /// The mean-field KL of `N(self, softplus(rho)²)` to `prior` (encoded), at the parameters'
    /// rank when both share it.
    pub(crate) fn kl(self, rho: Self, prior: Tensor<1>) -> Tensor<1> {
        match (self, rho) {
            (Visited::Matrix(loc), Visited::Matrix(rho)) => mean_field_kl(loc, rho, prior),
            (loc, rho) => mean_field_kl(loc.flat(), rho.flat(), prior),
        }
    }
}

/// The mean-field KL of two `(loc, rho)` groups under one prior, summed in one fused op (at
/// the parameters' ranks for a weight matrix with its bias vector).
pub(crate) fn kl_pair(
    first: (Visited, Visited),
    second: (Visited, Visited),
    prior: Tensor<1>,
) -> Tensor<1> {
    use Visited::{Matrix, Vector};
    match (first, second) {
        ((Matrix(loc_w), Matrix(rho_w)), (Vector(loc_b), Vector(rho_b)))
        | ((Vector(loc_b), Vector(rho_b)), (Matrix(loc_w), Matrix(rho_w))) => {
            mean_field_kl_pair((loc_w, rho_w), (loc_b, rho_b), prior)
        }
        ((Matrix(loc_a), Matrix(rho_a)), (Matrix(loc_b), Matrix(rho_b))) => {
            mean_field_kl_pair((loc_a, rho_a), (loc_b, rho_b), prior)
        }
        ((loc_a, rho_a), (loc_b, rho_b)) => mean_field_kl_pair(
            (loc_a.flat(), rho_a.flat()),
            (loc_b.flat(), rho_b.flat()),
            prior,
        ),
    }
}
