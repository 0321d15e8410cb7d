//! Hand-written backward passes for the special-function extension under `Autodiff`.

use super::SpecialBackend;
use burn::backend::Autodiff;
use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind, unary},
};
use burn::backend::tensor::FloatTensor;

/// softplus: `ḡ σ(x)` by [`SpecialBackend::softplus_backward`]; the saved state is `(x, y)`.
#[derive(Debug)]
struct SoftplusBackward;

impl<B: SpecialBackend> Backward<B, 1> for SoftplusBackward {
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (x, y) = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            B::softplus_backward(x, y, grad)
        });
    }
}

impl<B: SpecialBackend, C: CheckpointStrategy> SpecialBackend for Autodiff<B, C> {
    fn softplus(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match SoftplusBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let x = x.into_primitive();
                let y = B::softplus(x.clone());
                prep.finish((x, y.clone()), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::softplus(x.into_primitive())),
        }
    }
}
