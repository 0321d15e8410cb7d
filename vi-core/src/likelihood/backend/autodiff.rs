//! The hand-written backward pass of the likelihood extension under `Autodiff`.

use super::LikelihoodBackend;
use burn::backend::Autodiff;
use burn::backend::autodiff::{
    NodeId,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::tensor::FloatTensor;

/// `Σ ln N(y | μ, e^{2s})`: `∂/∂μ` from [`LikelihoodBackend::gaussian_log_likelihood_grad_mean`],
/// `∂/∂y` its negative, `∂/∂s` from [`LikelihoodBackend::gaussian_log_likelihood_grad_log_scale`].
/// Parents `[y, μ, s]`; the saved state is `(y, μ, s)`.
#[derive(Debug)]
struct GaussianLogLikelihoodBackward;

impl<B: LikelihoodBackend> Backward<B, 3> for GaussianLogLikelihoodBackward {
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (y, mean, log_scale) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [parent_y, parent_mean, parent_log_scale] = ops.parents;
        if let Some(node) = parent_log_scale {
            let grad_s = B::gaussian_log_likelihood_grad_log_scale(
                y.clone(),
                mean.clone(),
                log_scale.clone(),
                grad.clone(),
            );
            grads.register::<B>(node.id, grad_s);
        }
        let ids = [
            parent_y.map(|node| node.id),
            parent_mean.map(|node| node.id),
        ];
        register_mean_and_data::<B>(grads, ids, (y, mean, log_scale, grad));
    }
}

/// `Σ E_{f ~ N(μ, v)} ln N(y | f, e^{2s})`: `∂/∂μ` as for the log-likelihood, `∂/∂y` its
/// negative, `∂/∂v = −½ e^{−2s}` and `∂/∂s`, all three from
/// [`LikelihoodBackend::gaussian_expected_log_likelihood_backward`] when the variance or the
/// scale is tracked. Parents `[y, μ, v, s]`; the saved state is `(y, μ, v, s)`.
#[derive(Debug)]
struct GaussianExpectedLogLikelihoodBackward;

impl<B: LikelihoodBackend> Backward<B, 4> for GaussianExpectedLogLikelihoodBackward {
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
    );

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (y, mean, variance, log_scale) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [parent_y, parent_mean, parent_variance, parent_log_scale] = ops.parents;
        let ids = [
            parent_y.map(|node| node.id),
            parent_mean.map(|node| node.id),
        ];
        if parent_variance.is_none() && parent_log_scale.is_none() {
            register_mean_and_data::<B>(grads, ids, (y, mean, log_scale, grad));
            return;
        }
        let (grad_mean, grad_v, grad_s) =
            B::gaussian_expected_log_likelihood_backward(y, mean, variance, log_scale, grad);
        if let Some(node) = parent_variance {
            grads.register::<B>(node.id, grad_v);
        }
        if let Some(node) = parent_log_scale {
            grads.register::<B>(node.id, grad_s);
        }
        if let [Some(id), _] = ids {
            grads.register::<B>(id, B::float_neg(grad_mean.clone()));
        }
        if let [_, Some(id)] = ids {
            grads.register::<B>(id, grad_mean);
        }
    }
}

/// `μ̄ = ḡ (y − μ) e^{−2s}` ([`LikelihoodBackend::gaussian_log_likelihood_grad_mean`]) and
/// `ȳ = −μ̄`, registered for whichever of `[y, μ]` is tracked: the same for the log-likelihood and
/// its expectation (the variance does not depend on `μ`).
fn register_mean_and_data<B: LikelihoodBackend>(
    grads: &mut Gradients,
    [parent_y, parent_mean]: [Option<NodeId>; 2],
    (y, mean, log_scale, grad): (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
    ),
) {
    if parent_y.is_none() && parent_mean.is_none() {
        return;
    }
    let grad_mean = B::gaussian_log_likelihood_grad_mean(y, mean, log_scale, grad);
    if let Some(id) = parent_y {
        grads.register::<B>(id, B::float_neg(grad_mean.clone()));
    }
    if let Some(id) = parent_mean {
        grads.register::<B>(id, grad_mean);
    }
}

impl<B: LikelihoodBackend, C: CheckpointStrategy> LikelihoodBackend for Autodiff<B, C> {
    fn gaussian_expected_log_likelihood(
        y: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        log_scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        match GaussianExpectedLogLikelihoodBackward
            .prepare::<C>([y.node(), mean.node(), variance.node(), log_scale.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (y, mean, v, s) = (
                    y.into_primitive(),
                    mean.into_primitive(),
                    variance.into_primitive(),
                    log_scale.into_primitive(),
                );
                let value = B::gaussian_expected_log_likelihood(
                    y.clone(),
                    mean.clone(),
                    v.clone(),
                    s.clone(),
                );
                prep.finish((y, mean, v, s), value)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::gaussian_expected_log_likelihood(
                y.into_primitive(),
                mean.into_primitive(),
                variance.into_primitive(),
                log_scale.into_primitive(),
            )),
        }
    }

    fn gaussian_log_likelihood(
        y: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        log_scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        match GaussianLogLikelihoodBackward
            .prepare::<C>([y.node(), mean.node(), log_scale.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (y, mean, s) = (
                    y.into_primitive(),
                    mean.into_primitive(),
                    log_scale.into_primitive(),
                );
                let value = B::gaussian_log_likelihood(y.clone(), mean.clone(), s.clone());
                prep.finish((y, mean, s), value)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::gaussian_log_likelihood(
                y.into_primitive(),
                mean.into_primitive(),
                log_scale.into_primitive(),
            )),
        }
    }
}
