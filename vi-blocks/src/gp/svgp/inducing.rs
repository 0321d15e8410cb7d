//! The variational distribution `q(u)` of an [`super::Svgp`] (GPyTorch's
//! `_VariationalDistribution`): the families of [`crate::family`] with one batch dimension for the
//! outputs, `[P, M]`.

use super::output::VariationalScale;
use crate::family::{
    FullRankGaussian, FullRankGaussianConfig, MeanFieldGaussian, ScaleTransform, TrilTransform,
};
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use vi_core::linalg::diagonals;

/// A Gaussian `q(u_p) = N(m_p, S_p)` over the `M` inducing values of each of `P` outputs.
pub trait InducingDistribution: Module {
    /// `N(0, I)` for `outputs` × `size` values, in this family's parameterisation for an SVGP.
    fn standard(outputs: usize, size: usize, device: &Device) -> Self;

    /// `m`, `[P, M]`.
    fn loc(&self) -> Tensor<2>;

    /// `S`'s factor: `L` `[P, M, M]` or the standard deviations `[P, M]`.
    fn scale(&self) -> VariationalScale;

    /// `P`.
    fn outputs(&self) -> usize {
        self.loc().dims()[0]
    }

    /// The family at `N(mean, L Lᵀ)` (`[P, M]`, `[P, M, M]`), or as near as it reaches (the
    /// diagonal of `L` for the mean field), with new parameters.
    fn set(self, mean: Tensor<2>, cholesky: Tensor<3>) -> Self;
}

/// The diagonal of `[P, M, M]`, `[P, M]`.
fn diagonal(l: Tensor<3>) -> Tensor<2> {
    let [p, m, _] = l.dims();
    diagonals(l, p, m)
}

/// `softplus⁻¹(x) = ln(eˣ − 1)` elementwise.
fn inverse_softplus<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    x.exp().sub_scalar(1.0).log()
}

impl InducingDistribution for FullRankGaussian {
    /// `L = tril(R)` with sign-flipped columns, `R = I` (GPyTorch's
    /// `CholeskyVariationalDistribution`).
    fn standard(outputs: usize, size: usize, device: &Device) -> Self {
        FullRankGaussianConfig::new(size)
            .with_batch(outputs)
            .with_init_scale(1.0)
            .with_transform(TrilTransform::SignFlip)
            .init(device)
    }

    fn loc(&self) -> Tensor<2> {
        self.loc.val()
    }

    fn scale(&self) -> VariationalScale {
        VariationalScale::Tril(self.scale_tril())
    }

    fn set(self, mean: Tensor<2>, cholesky: Tensor<3>) -> Self {
        let raw = match self.transform {
            TrilTransform::SignFlip => cholesky,
            TrilTransform::SoftplusDiagonal => {
                let [p, m, _] = cholesky.dims();
                let eye = Tensor::<2>::eye(m, &cholesky.device())
                    .cast(cholesky.dtype())
                    .unsqueeze::<3>();
                let diag = inverse_softplus(diagonal(cholesky.clone())).reshape([p, 1, m]);
                cholesky.tril(-1) + eye * diag
            }
        };
        FullRankGaussian {
            loc: Param::from_tensor(mean),
            scale_raw: Param::from_tensor(raw),
            ..self
        }
    }
}

impl InducingDistribution for MeanFieldGaussian<2> {
    /// `S = diag(s²)` with `s = |ρ|`, `ρ = 1` (GPyTorch's `MeanFieldVariationalDistribution`).
    fn standard(outputs: usize, size: usize, device: &Device) -> Self {
        MeanFieldGaussian::new(
            Tensor::zeros([outputs, size], device),
            Tensor::ones([outputs, size], device),
            ScaleTransform::Absolute,
        )
    }

    fn loc(&self) -> Tensor<2> {
        self.loc.val()
    }

    fn scale(&self) -> VariationalScale {
        VariationalScale::Diagonal(MeanFieldGaussian::scale(self))
    }

    fn set(self, mean: Tensor<2>, cholesky: Tensor<3>) -> Self {
        let s = diagonal(cholesky);
        let rho = match self.transform {
            ScaleTransform::Absolute => s,
            ScaleTransform::Softplus => inverse_softplus(s),
        };
        MeanFieldGaussian::new(mean, rho, self.transform)
    }
}

/// Which family `q(u)` takes, as a setting (e.g. of a model's configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VariationalFamily {
    /// [`FullRankGaussian`].
    FullRank,
    /// [`MeanFieldGaussian`].
    MeanField,
}

impl VariationalFamily {
    /// `N(0, I)` in the chosen family.
    pub fn standard(self, outputs: usize, size: usize, device: &Device) -> InducingFamily {
        match self {
            VariationalFamily::FullRank => {
                InducingFamily::FullRank(FullRankGaussian::standard(outputs, size, device))
            }
            VariationalFamily::MeanField => {
                InducingFamily::MeanField(MeanFieldGaussian::standard(outputs, size, device))
            }
        }
    }
}

/// Either family, chosen at run time by a [`VariationalFamily`].
#[derive(Module, Debug)]
pub enum InducingFamily {
    /// Full rank.
    FullRank(FullRankGaussian),
    /// Mean field.
    MeanField(MeanFieldGaussian<2>),
}

impl InducingDistribution for InducingFamily {
    /// Full rank.
    fn standard(outputs: usize, size: usize, device: &Device) -> Self {
        VariationalFamily::FullRank.standard(outputs, size, device)
    }

    fn loc(&self) -> Tensor<2> {
        match self {
            InducingFamily::FullRank(q) => q.loc(),
            InducingFamily::MeanField(q) => InducingDistribution::loc(q),
        }
    }

    fn scale(&self) -> VariationalScale {
        match self {
            InducingFamily::FullRank(q) => InducingDistribution::scale(q),
            InducingFamily::MeanField(q) => InducingDistribution::scale(q),
        }
    }

    fn set(self, mean: Tensor<2>, cholesky: Tensor<3>) -> Self {
        match self {
            InducingFamily::FullRank(q) => InducingFamily::FullRank(q.set(mean, cholesky)),
            InducingFamily::MeanField(q) => InducingFamily::MeanField(q.set(mean, cholesky)),
        }
    }
}
