//! The covariance-function trait and the helpers its implementations share.

use burn::module::{Module, ModuleDisplay, Param};
use burn::tensor::{Device, Tensor};
use vi_core::special::{inverse_softplus_f64, softplus};

/// A covariance function on batched inputs.
pub trait Kernel: Module + ModuleDisplay {
    /// `K(x1, x2)`, shape `[b, n, m]`, for `x1` `[b1, n, d]` and `x2` `[b2, m, d]`; the batch
    /// dimensions (and the hyper-parameters') broadcast.
    fn matrix(&self, x1: Tensor<3>, x2: Tensor<3>) -> Tensor<3>;

    /// `diag K(x, x)`, shape `[b, n]`, without forming the matrix.
    fn diagonal(&self, x: Tensor<3>) -> Tensor<2>;

    /// `s · K(x1, x2)` for output scales `s` `[1 or b, 1, 1]` (what [`ScaleKernel`] asks of
    /// the kernel it wraps); kernels with a fused form ([`Rbf`]) override it.
    fn scaled_matrix(&self, x1: Tensor<3>, x2: Tensor<3>, scale: Tensor<3>) -> Tensor<3> {
        self.matrix(x1, x2) * scale
    }

    /// `s · diag K(x, x)` for output scales `s` `[1 or b, 1, 1]` (what [`ScaleKernel`] asks of
    /// the kernel it wraps); unit-variance stationary kernels override it with `s` broadcast
    /// (no ones tensor and no product).
    fn scaled_diagonal(&self, x: Tensor<3>, scale: Tensor<3>) -> Tensor<2> {
        let b = scale.dims()[0];
        self.diagonal(x) * scale.reshape([b, 1])
    }

    /// `K(x, x)`, `[b, n, n]`.
    fn gram(&self, x: Tensor<3>) -> Tensor<3> {
        self.matrix(x.clone(), x)
    }

    /// `(K(z, z), K(z, x), diag K(x, x))`: the three matrices an inducing-point layer forms for
    /// inducing inputs `z` and a batch `x`. Kernels with transformed hyper-parameters ([`Rbf`],
    /// [`ScaleKernel`]) override it to transform them once for all three (one softplus forward
    /// and one backward per parameter instead of one per matrix).
    fn inducing_matrices(&self, z: Tensor<3>, x: Tensor<3>) -> (Tensor<3>, Tensor<3>, Tensor<2>) {
        (
            self.gram(z.clone()),
            self.matrix(z, x.clone()),
            self.diagonal(x),
        )
    }

    /// [`Kernel::inducing_matrices`] times the output scales `s` `[1 or b, 1, 1]` (what
    /// [`ScaleKernel`] asks of the kernel it wraps).
    fn scaled_inducing_matrices(
        &self,
        z: Tensor<3>,
        x: Tensor<3>,
        scale: Tensor<3>,
    ) -> (Tensor<3>, Tensor<3>, Tensor<2>) {
        (
            self.scaled_matrix(z.clone(), z.clone(), scale.clone()),
            self.scaled_matrix(z, x.clone(), scale.clone()),
            self.scaled_diagonal(x, scale),
        )
    }
}

/// A raw parameter `[batch, 1, dims]` filled with `softplus⁻¹(value)`.
pub(crate) fn positive_param(
    batch: usize,
    dims: usize,
    value: f64,
    device: &Device,
) -> Param<Tensor<3>> {
    assert!(
        value > 0.0,
        "initial value {value} of a positive hyper-parameter is not > 0"
    );
    Param::from_tensor(Tensor::<3>::full(
        [batch, 1, dims],
        inverse_softplus_f64(value),
        device,
    ))
}

/// `softplus(raw)`.
pub(crate) fn positive(raw: &Param<Tensor<3>>) -> Tensor<3> {
    softplus(raw.val())
}

/// `diag K = 1`, `[b, n]`, of a unit-variance stationary kernel whose hyper-parameter `param`
/// sets the kernel batch.
pub(crate) fn unit_diagonal(x: &Tensor<3>, param: &Param<Tensor<3>>) -> Tensor<2> {
    let [b, n, _] = x.dims();
    let batch = batch_of(b, param.dims()[0]);
    Tensor::ones([batch, n], (&x.device(), x.dtype()))
}

/// `s · diag K = s`, `[b, n]`, of a unit-variance stationary kernel: the scales `[1 or b, 1, 1]`
/// broadcast over the inputs (a view: one op and its reduction in the reverse mode).
pub(crate) fn scaled_unit_diagonal(
    x: &Tensor<3>,
    param: &Param<Tensor<3>>,
    scale: Tensor<3>,
) -> Tensor<2> {
    let [b, n, _] = x.dims();
    let scales = scale.dims()[0];
    let batch = batch_of(batch_of(b, param.dims()[0]), scales);
    scale.reshape([scales, 1]).expand([batch, n])
}

/// The larger of two broadcastable batch sizes.
pub(crate) fn batch_of(a: usize, b: usize) -> usize {
    if a == 1 { b } else { a }
}

/// `x` broadcast to `batch` along the first dimension.
pub(crate) fn expand_batch(x: Tensor<3>, batch: usize) -> Tensor<3> {
    let [b, n, d] = x.dims();
    if b == batch {
        x
    } else {
        x.expand([batch, n, d])
    }
}
