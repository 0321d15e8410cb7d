//! How a family's unconstrained parameters become its scale.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use vi_core::sparse_gp::tril_nonnegative_diagonal;
use vi_core::special::{inverse_softplus_f64, softplus};

/// From raw values `ρ` to standard deviations `σ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ScaleTransform {
    /// `σ = softplus(ρ) = ln(1 + eᵖ)`: smooth, positive (Pyro's and GPyTorch's default).
    #[default]
    Softplus,
    /// `σ = |ρ|`: `ρ` and `−ρ` give the same distribution (GPyTorch's
    /// `MeanFieldVariationalDistribution`).
    Absolute,
}

impl ScaleTransform {
    /// `σ` from `ρ`.
    pub fn forward<const D: usize>(&self, raw: Tensor<D>) -> Tensor<D> {
        match self {
            ScaleTransform::Softplus => softplus(raw),
            ScaleTransform::Absolute => raw.abs(),
        }
    }

    /// A `ρ` giving `σ = scale > 0`.
    pub fn inverse(&self, scale: f64) -> f64 {
        match self {
            ScaleTransform::Softplus => inverse_softplus_f64(scale),
            ScaleTransform::Absolute => scale,
        }
    }
}

/// From an unconstrained square `R` to a lower-triangular factor `L` with a positive diagonal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum TrilTransform {
    /// `L = tril(R, −1) + diag(softplus(diag R))`.
    #[default]
    SoftplusDiagonal,
    /// `L = tril(R)` with every column whose diagonal entry is negative negated (`L Lᵀ`
    /// unchanged; GPyTorch's `CholeskyVariationalDistribution`). One fused op.
    SignFlip,
}

impl TrilTransform {
    /// `L` from `R`, `[B, n, n]`.
    pub fn forward(&self, raw: Tensor<3>) -> Tensor<3> {
        match self {
            TrilTransform::SoftplusDiagonal => {
                let [b, n, _] = raw.dims();
                let eye = Tensor::<2>::eye(n, &raw.device())
                    .cast(raw.dtype())
                    .unsqueeze::<3>();
                let diag = softplus((raw.clone() * eye.clone()).sum_dim(2)).reshape([b, 1, n]);
                raw.tril(-1) + eye * diag
            }
            TrilTransform::SignFlip => {
                tril_nonnegative_diagonal(raw).expect("a [B, n, n] parameter is square")
            }
        }
    }

    /// The raw diagonal value giving `Lᵢᵢ = scale > 0`.
    pub fn inverse_diagonal(&self, scale: f64) -> f64 {
        match self {
            TrilTransform::SoftplusDiagonal => inverse_softplus_f64(scale),
            TrilTransform::SignFlip => scale,
        }
    }
}
