//! The hand-written backward pass of the mean-field extension under `Autodiff`.

use super::MeanFieldBackend;
use burn::backend::Autodiff;
use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::tensor::FloatTensor;

/// The sample `μ + softplus(ρ) ⊙ ε`: `∂/∂μ = ḡ`, `∂/∂ρ` from
/// [`MeanFieldBackend::sample_grad_rho`]; the noise gets no gradient. The saved state is `(ρ, ε)`.
#[derive(Debug)]
struct SampleBackward;

impl<B: MeanFieldBackend> Backward<B, 2> for SampleBackward {
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (rho, noise) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [parent_loc, parent_rho] = ops.parents;
        if let Some(node) = parent_rho {
            grads.register::<B>(node.id, B::sample_grad_rho(rho, noise, grad.clone()));
        }
        if let Some(node) = parent_loc {
            grads.register::<B>(node.id, grad);
        }
    }
}

/// The KL to `N(0, s²)`: `∂/∂μ = ḡ μ/s²`, `∂/∂ρ` from
/// [`MeanFieldBackend::kl_to_normal_grad_rho`]; the prior scale gets no gradient. The saved
/// state is `(μ, ρ, s)`.
#[derive(Debug)]
struct KlToNormalBackward;

impl<B: MeanFieldBackend> Backward<B, 2> for KlToNormalBackward {
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (loc, rho, scale) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [parent_loc, parent_rho] = ops.parents;
        if let Some(node) = parent_loc {
            let inv_s2 = B::float_recip(B::float_mul(scale.clone(), scale.clone()));
            let grad_loc = B::float_mul(loc, B::float_mul(grad.clone(), inv_s2));
            grads.register::<B>(node.id, grad_loc);
        }
        if let Some(node) = parent_rho {
            grads.register::<B>(node.id, B::kl_to_normal_grad_rho(rho, scale, grad));
        }
    }
}

impl<B: MeanFieldBackend, C: CheckpointStrategy> MeanFieldBackend for Autodiff<B, C> {
    fn sample(
        loc: FloatTensor<Self>,
        rho: FloatTensor<Self>,
        noise: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let noise = noise.into_primitive();
        match SampleBackward
            .prepare::<C>([loc.node(), rho.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let rho = rho.into_primitive();
                let w = B::sample(loc.into_primitive(), rho.clone(), noise.clone());
                prep.finish((rho, noise), w)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::sample(loc.into_primitive(), rho.into_primitive(), noise))
            }
        }
    }

    fn kl_to_normal(
        loc: FloatTensor<Self>,
        rho: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let scale = scale.into_primitive();
        match KlToNormalBackward
            .prepare::<C>([loc.node(), rho.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (loc, rho) = (loc.into_primitive(), rho.into_primitive());
                let kl = B::kl_to_normal(loc.clone(), rho.clone(), scale.clone());
                prep.finish((loc, rho, scale), kl)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::kl_to_normal(
                loc.into_primitive(),
                rho.into_primitive(),
                scale,
            )),
        }
    }
}
