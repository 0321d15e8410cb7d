//! The hand-written backward passes of the sparse-GP extension under `Autodiff`.

use super::SparseGpBackend;
use burn::backend::TensorMetadata;
use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend};
use burn::tensor::Shape;

/// `KL(N(m, L Lᵀ) ‖ N(0, I))`: the saved state is `(m, L)`; both gradients from
/// [`SparseGpBackend::standard_normal_kl_backward`], or `m̄ = ḡ m` and `L̄` from
/// [`SparseGpBackend::standard_normal_kl_grad_factor`] when only one is wanted.
#[derive(Debug)]
struct StandardNormalKlBackward;

impl<B: SparseGpBackend> Backward<B, 2> for StandardNormalKlBackward {
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (loc, l) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [parent_loc, parent_l] = ops.parents;
        if let (Some(node_loc), Some(node_l)) = (&parent_loc, &parent_l) {
            let (grad_loc, grad_l) = B::standard_normal_kl_backward(loc, l, grad);
            grads.register::<B>(node_loc.id, grad_loc);
            grads.register::<B>(node_l.id, grad_l);
            return;
        }
        if let Some(node) = parent_loc {
            let rank = loc.shape().num_dims();
            let g = B::float_reshape(grad.clone(), Shape::from(vec![1; rank]));
            grads.register::<B>(node.id, B::float_mul(loc, g));
        }
        if let Some(node) = parent_l {
            grads.register::<B>(node.id, B::standard_normal_kl_grad_factor(l, grad));
        }
    }
}

/// [`SparseGpBackend::column_signed_lower`]: linear in `x` with piecewise-constant signs, so
/// `x̄ = column_signed_lower(raw, ḡ)` and `raw` (through the signs) gets none; the saved state
/// is `raw`.
#[derive(Debug)]
struct ColumnSignedLowerBackward;

impl<B: SparseGpBackend> Backward<B, 2> for ColumnSignedLowerBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        if let [_, Some(node)] = ops.parents {
            grads.register::<B>(node.id, B::column_signed_lower(ops.state, grad));
        }
    }
}

/// [`SparseGpBackend::whitened_variance`]: the saved state is `(L, B, P, v)`; the reverse mode is
/// [`SparseGpBackend::whitened_variance_backward`].
#[derive(Debug)]
struct WhitenedVarianceBackward;

impl<B: SparseGpBackend> Backward<B, 3> for WhitenedVarianceBackward {
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (l, b, product, variance) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let (grad_l, grad_b, grad_prior) =
            B::whitened_variance_backward(l, b, product, variance, grad);
        let [parent_l, parent_b, parent_prior] = ops.parents;
        for (parent, grad) in [
            (parent_l, grad_l),
            (parent_b, grad_b),
            (parent_prior, grad_prior),
        ] {
            if let Some(node) = parent {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

/// [`SparseGpBackend::projected_mean`]: the saved state is `(W, A, whether C is one column)`; the
/// reverse mode is [`SparseGpBackend::projected_mean_backward`] (a full `C`'s gradient is `Ȳ`).
#[derive(Debug)]
struct ProjectedMeanBackward;

impl<B: SparseGpBackend> Backward<B, 3> for ProjectedMeanBackward {
    type State = (FloatTensor<B>, FloatTensor<B>, bool);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (weights, proj, column_offset) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [parent_weights, parent_proj, parent_offset] = ops.parents;
        let full_offset = (!column_offset).then(|| grad.clone());
        let (grad_weights, grad_proj, row_sums) = B::projected_mean_backward(weights, proj, grad);
        for (parent, grad) in [
            (parent_weights, grad_weights),
            (parent_proj, grad_proj),
            (parent_offset, full_offset.unwrap_or(row_sums)),
        ] {
            if let Some(node) = parent {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

impl<B: SparseGpBackend, C: CheckpointStrategy> SparseGpBackend for Autodiff<B, C> {
    fn projected_mean(
        weights: FloatTensor<Self>,
        proj: FloatTensor<Self>,
        offset: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let column_offset = offset.shape()[1] == 1;
        match ProjectedMeanBackward
            .prepare::<C>([weights.node(), proj.node(), offset.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (weights, proj) = (weights.into_primitive(), proj.into_primitive());
                let out = B::projected_mean(weights.clone(), proj.clone(), offset.into_primitive());
                prep.finish((weights, proj, column_offset), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::projected_mean(
                weights.into_primitive(),
                proj.into_primitive(),
                offset.into_primitive(),
            )),
        }
    }

    fn whitened_variance(
        l: FloatTensor<Self>,
        b: FloatTensor<Self>,
        prior_variance: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let prepared = WhitenedVarianceBackward
            .prepare::<C>([l.node(), b.node(), prior_variance.node()])
            .compute_bound()
            .stateful();
        let (l, b) = (l.into_primitive(), b.into_primitive());
        let (variance, product) =
            B::whitened_variance(l.clone(), b.clone(), prior_variance.into_primitive());
        // The product is returned untracked: only the variances carry gradients.
        let untracked = Self::from_inner(product.clone());
        match prepared {
            OpsKind::Tracked(prep) => {
                let state = (l, b, product, variance.clone());
                (prep.finish(state, variance), untracked)
            }
            OpsKind::UnTracked(prep) => (prep.finish(variance), untracked),
        }
    }

    fn column_signed_lower(raw: FloatTensor<Self>, x: FloatTensor<Self>) -> FloatTensor<Self> {
        match ColumnSignedLowerBackward
            .prepare::<C>([raw.node(), x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (raw, x) = (raw.into_primitive(), x.into_primitive());
                let out = B::column_signed_lower(raw.clone(), x);
                prep.finish(raw, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::column_signed_lower(
                raw.into_primitive(),
                x.into_primitive(),
            )),
        }
    }

    fn standard_normal_kl(loc: FloatTensor<Self>, l: FloatTensor<Self>) -> FloatTensor<Self> {
        match StandardNormalKlBackward
            .prepare::<C>([loc.node(), l.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (loc, l) = (loc.into_primitive(), l.into_primitive());
                let kl = B::standard_normal_kl(loc.clone(), l.clone());
                prep.finish((loc, l), kl)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::standard_normal_kl(
                loc.into_primitive(),
                l.into_primitive(),
            )),
        }
    }
}
