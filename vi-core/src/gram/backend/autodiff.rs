//! Hand-written backward pass of the Gram extension under `Autodiff`.

use super::GramBackend;
use burn::backend::Autodiff;
use burn::backend::TensorMetadata;
use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::tensor::FloatTensor;
use burn::tensor::Shape;

/// Squared distances `D_ij = ‖aᵢ − bⱼ‖²`: the saved state is `(a, b)`.
#[derive(Debug)]
struct SquaredDistanceBackward;

impl<B: GramBackend> Backward<B, 2> for SquaredDistanceBackward {
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (a, b) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [parent_a, parent_b] = ops.parents;
        if let Some(node) = parent_b {
            let grad_t = B::float_swap_dims(grad.clone(), 1, 2);
            grads.register::<B>(node.id, distance_grad::<B>(b.clone(), a.clone(), grad_t));
        }
        if let Some(node) = parent_a {
            grads.register::<B>(node.id, distance_grad::<B>(a, b, grad));
        }
    }
}

/// `x̄ᵢ = 2 Σⱼ D̄ᵢⱼ (xᵢ − yⱼ) = 2 ((Σⱼ D̄ᵢⱼ) xᵢ − (D̄ y)ᵢ)` for `D_ij = ‖xᵢ − yⱼ‖²`, `D̄`
/// `[B, n, m]`, `y` `[B, m, d]`.
fn distance_grad<B: GramBackend>(
    x: FloatTensor<B>,
    y: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let rows = B::float_sum_dim(grad.clone(), 2);
    let pulled = B::float_matmul(grad, y);
    let difference = B::float_sub(B::float_mul(rows, x), pulled);
    B::float_mul_scalar(difference, 2f32.into())
}

/// RBF Gram matrix: the saved state is `(a, b, K)`.
#[derive(Debug)]
struct RbfGramBackward;

impl<B: GramBackend> Backward<B, 2> for RbfGramBackward {
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (a, b, k) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [parent_a, parent_b] = ops.parents;
        if let Some(node) = parent_b {
            let grad_b = B::rbf_gram_grad_right(a.clone(), b.clone(), k.clone(), grad.clone());
            grads.register::<B>(node.id, grad_b);
        }
        if let Some(node) = parent_a {
            grads.register::<B>(node.id, B::rbf_gram_grad_left(a, b, k, grad));
        }
    }
}

/// Scaled ARD Gram matrix: the saved state is `(a, b, ℓ, s, G)` with `G` the unit-scale Gram
/// matrix of the scaled inputs `a / ℓ`, `b / ℓ` (`K = s G`).
#[derive(Debug)]
struct ScaledRbfGramBackward;

/// `t` summed down to `shape` over the dimensions where `shape` has 1 (a broadcast parameter).
fn reduce_to<B: GramBackend>(mut t: FloatTensor<B>, shape: &Shape) -> FloatTensor<B> {
    for dim in 0..shape.num_dims() {
        if shape[dim] == 1 && t.shape()[dim] != 1 {
            t = B::float_sum_dim(t, dim);
        }
    }
    t
}

impl<B: GramBackend> Backward<B, 4> for ScaledRbfGramBackward {
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
    );

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (a, b, lengthscale, scale, gram) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [parent_a, parent_b, parent_l, parent_s] = ops.parents;
        let symmetric = matches!((&parent_a, &parent_b), (Some(x), Some(y)) if x.id == y.id);
        let (l_shape, s_shape) = (lengthscale.shape(), scale.shape());
        let want_b = parent_b.is_some() && !symmetric;
        let (grad_a, grad_b, grad_l, grad_s) =
            B::scaled_rbf_gram_backward(a, b, lengthscale, scale, gram, grad, symmetric, want_b);
        if let Some(node) = parent_l {
            grads.register::<B>(node.id, reduce_to::<B>(grad_l, &l_shape));
        }
        if let Some(node) = parent_s {
            grads.register::<B>(node.id, reduce_to::<B>(grad_s, &s_shape));
        }
        if let Some(node) = parent_a {
            grads.register::<B>(node.id, grad_a);
        }
        if let (Some(node), false) = (parent_b, symmetric) {
            grads.register::<B>(node.id, grad_b);
        }
    }
}

impl<B: GramBackend, C: CheckpointStrategy> GramBackend for Autodiff<B, C> {
    fn scaled_rbf_gram(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        lengthscale: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        match ScaledRbfGramBackward
            .prepare::<C>([a.node(), b.node(), lengthscale.node(), scale.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (a, b, lengthscale, scale) = (
                    a.into_primitive(),
                    b.into_primitive(),
                    lengthscale.into_primitive(),
                    scale.into_primitive(),
                );
                let (k, gram) = B::scaled_rbf_gram_with_unit(
                    a.clone(),
                    b.clone(),
                    lengthscale.clone(),
                    scale.clone(),
                );
                prep.finish((a, b, lengthscale, scale, gram), k)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::scaled_rbf_gram(
                a.into_primitive(),
                b.into_primitive(),
                lengthscale.into_primitive(),
                scale.into_primitive(),
            )),
        }
    }

    fn squared_distance(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        match SquaredDistanceBackward
            .prepare::<C>([a.node(), b.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (a, b) = (a.into_primitive(), b.into_primitive());
                let d = B::squared_distance(a.clone(), b.clone());
                prep.finish((a, b), d)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::squared_distance(a.into_primitive(), b.into_primitive()))
            }
        }
    }

    fn rbf_gram(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        match RbfGramBackward
            .prepare::<C>([a.node(), b.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (a, b) = (a.into_primitive(), b.into_primitive());
                let k = B::rbf_gram(a.clone(), b.clone());
                prep.finish((a, b, k.clone()), k)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::rbf_gram(a.into_primitive(), b.into_primitive()))
            }
        }
    }
}
