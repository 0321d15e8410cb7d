//! CubeCL kernels (wgpu, cuda) for the sparse-GP extension: one launch forward and one or two
//! backward per fused op (see each file). Inputs are made contiguous first; the element type is
//! chosen at launch from the tensor's dtype.

mod kl;
mod projection;
mod signed;
mod whitened;

pub(crate) use kl::{
    standard_normal_kl, standard_normal_kl_backward, standard_normal_kl_grad_factor,
};
pub(crate) use projection::{projected_mean, projected_mean_backward};
pub(crate) use signed::column_signed_lower;
pub(crate) use whitened::{whitened_variance, whitened_variance_backward};
