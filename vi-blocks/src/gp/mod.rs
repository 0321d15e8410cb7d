//! Gaussian-process blocks: kernels ([`kernel`]), the inducing-point layer ([`Svgp`]) with
//! whitened or unwhitened strategies and uncertain inputs, likelihoods ([`likelihood`]) and
//! doubly stochastic deep GPs ([`DeepGp`]).
//!
//! A training step of sparse GP regression (Hensman et al. 2013), as GPyTorch's
//! `VariationalELBO`:
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use vi_blocks::gp::SvgpConfig;
//! use vi_blocks::gp::kernel::{RbfConfig, ScaleKernelConfig};
//! use vi_blocks::gp::likelihood::{GaussianLikelihoodConfig, Likelihood};
//! use vi_core::elbo::Elbo;
//! let device = Device::default().autodiff();
//! let kernel = ScaleKernelConfig::new().init(RbfConfig::new(1).init(&device), &device);
//! let gp = SvgpConfig::new(1, 16).init(kernel, &device);
//! let likelihood = GaussianLikelihoodConfig::new().init(&device);
//! let (x, y) = (Tensor::<2>::zeros([32, 1], &device), Tensor::<2>::ones([32, 1], &device));
//! let out = gp.forward(x).unwrap();
//! let ell = likelihood.expected_log_likelihood_sum(&out.f, y);
//! let terms = Elbo::new(1000).with_batch_size(32).from_terms(ell, out.kl).unwrap();
//! let grads = terms.loss().backward();
//! let g: Vec<f32> = gp.variational.loc.grad(&grads).unwrap().into_data().to_vec().unwrap();
//! assert_eq!(g.len(), 16);
//! ```

mod conditional;
mod deep_gp;
mod error;
pub mod kernel;
mod latent;
pub mod likelihood;
mod marginals;
mod mean;
mod svgp;

pub use conditional::Conditional;
pub use deep_gp::{DeepGp, DeepGpConfig, DeepGpElbo, DeepGpOutput};
pub use error::GpError;
pub use latent::{LatentInputs, LatentInputsConfig};
pub use marginals::GaussianMarginals;
pub use mean::{MeanConfig, MeanFunction, MeanKind};
pub use svgp::{
    AnyStrategy, InducingDistribution, InducingFamily, InducingPrior, JointPredictive, Svgp,
    SvgpConfig, SvgpElbo, SvgpOutput, Unwhitened, VariationalFamily, VariationalScale,
    VariationalStrategy, Whitened,
};
