//! Small structural helpers shared by the routines: the diagonals of a stack of matrices and an
//! identity matching a tensor's dtype and device.

use burn::tensor::{FloatDType, Int, Tensor};

/// Diagonals `[batch, n]` of the `batch` matrices `n × n` of `m` (differentiable).
/// The diagonals of `batch` stacked `n × n` matrices (any leading shape), `[batch, n]`: one
/// gather, differentiable.
pub fn diagonals<const D: usize>(m: Tensor<D>, batch: usize, n: usize) -> Tensor<2> {
    let index = Tensor::<1, Int>::arange_step(0..(n * n) as i64, n + 1, &m.device());
    m.reshape([batch, n * n]).select(1, index)
}

/// The `n × n` identity of rank `D` (`[1, .., 1, n, n]`) with `like`'s dtype and device.
pub(crate) fn identity_like<const D: usize, const D2: usize>(
    like: &Tensor<D>,
    n: usize,
) -> Tensor<D2> {
    Tensor::<2>::eye(n, &like.device())
        .cast(FloatDType::from(like.dtype()))
        .unsqueeze::<D2>()
}
