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

/// `½ ln(softplus(x) + floor)`: by [`SpecialBackend::softplus_log_scale_backward`]; the saved
/// state is `(x, y)`.
#[derive(Debug)]
struct SoftplusLogScaleBackward;

impl<B: SpecialBackend> Backward<B, 1> for SoftplusLogScaleBackward {
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (x, y) = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            B::softplus_log_scale_backward(x, y, grad)
        });
    }
}

impl<B: SpecialBackend, C: CheckpointStrategy> SpecialBackend for Autodiff<B, C> {
    fn softplus_log_scale(x: FloatTensor<Self>, floor: f64) -> FloatTensor<Self> {
        match SoftplusLogScaleBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let x = x.into_primitive();
                let y = B::softplus_log_scale(x.clone(), floor);
                prep.finish((x, y.clone()), y)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::softplus_log_scale(x.into_primitive(), floor))
            }
        }
    }

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
