//! Hand-written backward pass of the Gram extension under `Autodiff`.

use super::GramBackend;
use burn::backend::Autodiff;
use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::tensor::FloatTensor;

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

impl<B: GramBackend, C: CheckpointStrategy> GramBackend for Autodiff<B, C> {
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
