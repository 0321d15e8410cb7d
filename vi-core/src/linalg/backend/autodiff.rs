//! Hand-written backward passes for the extension under `Autodiff`.

use super::{LinalgBackend, compose};
use burn::backend::TensorMetadata;
use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind, unary},
};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend};
use burn::tensor::Shape;

/// Cholesky: the saved state is the factor `L`.
#[derive(Debug)]
struct CholeskyBackward;

impl<B: LinalgBackend> Backward<B, 1> for CholeskyBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let l = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            B::cholesky_backward(l, grad)
        });
    }
}

/// Triangular solve: the saved state is `(T, X, upper, transpose)`.
#[derive(Debug)]
struct SolveTriangularBackward;

impl<B: LinalgBackend> Backward<B, 2> for SolveTriangularBackward {
    type State = (FloatTensor<B>, FloatTensor<B>, bool, bool);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (t, x, upper, transpose) = ops.state;
        let want_t = ops.parents[0].is_some();
        let grad_x = grads.consume::<B>(&ops.node);
        let (grad_t, grad_b) =
            compose::solve_triangular_backward::<B>(t, x, grad_x, upper, transpose, want_t);
        let [parent_t, parent_b] = ops.parents;
        if let (Some(node), Some(grad)) = (parent_t, grad_t) {
            grads.register::<B>(node.id, grad);
        }
        if let Some(node) = parent_b {
            grads.register::<B>(node.id, grad_b);
        }
    }
}

/// Triangular matmul `C = op(T) B`: the saved state is `(T, B, upper, transpose)`;
/// `B̄ = op(T)ᵀ C̄` and `T̄ = tri(C̄ Bᵀ)` (`tri(B C̄ᵀ)` when transposed).
#[derive(Debug)]
struct TriangularMatmulBackward;

impl<B: LinalgBackend> Backward<B, 2> for TriangularMatmulBackward {
    type State = (FloatTensor<B>, FloatTensor<B>, bool, bool);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (t, b, upper, transpose) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [parent_t, parent_b] = ops.parents;
        if let Some(node) = parent_t {
            // `solve_triangular_grad_t` is `−tri(Ḡ Xᵀ)` (`−tri(X Ḡᵀ)` when transposed).
            let grad_t = B::solve_triangular_grad_t(grad.clone(), b, upper, transpose);
            grads.register::<B>(node.id, B::float_neg(grad_t));
        }
        if let Some(node) = parent_b {
            grads.register::<B>(node.id, B::triangular_matmul(t, grad, upper, !transpose));
        }
    }
}

/// Column norm change `‖op(T) bⱼ‖² − ‖bⱼ‖²`: the saved state is `(T, B, op(T) B, upper,
/// transpose)`.
#[derive(Debug)]
struct ColumnNormChangeBackward;

impl<B: LinalgBackend> Backward<B, 2> for ColumnNormChangeBackward {
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, bool, bool);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (t, b, product, upper, transpose) = ops.state;
        // ḡ `[.., 1, k]` broadcasts over the rows; P̄ = 2 (op(T) B) ∘ ḡ.
        let grad = grads.consume::<B>(&ops.node);
        let grad_product = B::float_mul_scalar(B::float_mul(product, grad.clone()), 2f32.into());
        let [parent_t, parent_b] = ops.parents;
        if let Some(node) = parent_t {
            // As for `op(T) B`: T̄ = tri(P̄ Bᵀ) (`tri(B P̄ᵀ)` transposed) = −solve_triangular_grad_t.
            let grad_t =
                B::solve_triangular_grad_t(grad_product.clone(), b.clone(), upper, transpose);
            grads.register::<B>(node.id, B::float_neg(grad_t));
        }
        if let Some(node) = parent_b {
            // B̄ = op(T)ᵀ P̄ − 2 B ∘ ḡ.
            let through = B::triangular_matmul(t, grad_product, upper, !transpose);
            let direct = B::float_mul_scalar(B::float_mul(b, grad), 2f32.into());
            grads.register::<B>(node.id, B::float_sub(through, direct));
        }
    }
}

/// `KL(N(m, L Lᵀ) ‖ N(0, I))`: the saved state is `(m, L)`; both gradients from
/// [`LinalgBackend::standard_normal_kl_backward`], or `m̄ = ḡ m` and `L̄` from
/// [`LinalgBackend::standard_normal_kl_grad_factor`] when only one is wanted.
#[derive(Debug)]
struct StandardNormalKlBackward;

impl<B: LinalgBackend> Backward<B, 2> for StandardNormalKlBackward {
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

/// [`LinalgBackend::column_signed_lower`]: linear in `x` with piecewise-constant signs, so
/// `x̄ = column_signed_lower(raw, ḡ)` and `raw` (through the signs) gets none; the saved state
/// is `raw`.
#[derive(Debug)]
struct ColumnSignedLowerBackward;

impl<B: LinalgBackend> Backward<B, 2> for ColumnSignedLowerBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        if let [_, Some(node)] = ops.parents {
            grads.register::<B>(node.id, B::column_signed_lower(ops.state, grad));
        }
    }
}

/// [`LinalgBackend::whitened_variance`]: the saved state is `(L, B, P, v)`; the reverse mode is
/// [`LinalgBackend::whitened_variance_backward`].
#[derive(Debug)]
struct WhitenedVarianceBackward;

impl<B: LinalgBackend> Backward<B, 3> for WhitenedVarianceBackward {
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

/// [`LinalgBackend::projected_mean`]: the saved state is `(W, A, whether C is one column)`; the
/// reverse mode is [`LinalgBackend::projected_mean_backward`] (a full `C`'s gradient is `Ȳ`).
#[derive(Debug)]
struct ProjectedMeanBackward;

impl<B: LinalgBackend> Backward<B, 3> for ProjectedMeanBackward {
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

impl<B: LinalgBackend, C: CheckpointStrategy> LinalgBackend for Autodiff<B, C> {
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

    fn column_norm_change(
        t: FloatTensor<Self>,
        b: FloatTensor<Self>,
        upper: bool,
        transpose: bool,
    ) -> FloatTensor<Self> {
        match ColumnNormChangeBackward
            .prepare::<C>([t.node(), b.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (t, b) = (t.into_primitive(), b.into_primitive());
                let product = B::triangular_matmul(t.clone(), b.clone(), upper, transpose);
                let change = B::column_squares_change(product.clone(), b.clone());
                prep.finish((t, b, product, upper, transpose), change)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::column_norm_change(
                t.into_primitive(),
                b.into_primitive(),
                upper,
                transpose,
            )),
        }
    }

    fn cholesky(a: FloatTensor<Self>, shift: f64) -> FloatTensor<Self> {
        match CholeskyBackward
            .prepare::<C>([a.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let l = B::cholesky(a.into_primitive(), shift);
                prep.finish(l.clone(), l)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::cholesky(a.into_primitive(), shift)),
        }
    }

    fn solve_triangular(
        t: FloatTensor<Self>,
        b: FloatTensor<Self>,
        upper: bool,
        transpose: bool,
    ) -> FloatTensor<Self> {
        match SolveTriangularBackward
            .prepare::<C>([t.node(), b.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let t = t.into_primitive();
                let x = B::solve_triangular(t.clone(), b.into_primitive(), upper, transpose);
                prep.finish((t, x.clone(), upper, transpose), x)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::solve_triangular(
                t.into_primitive(),
                b.into_primitive(),
                upper,
                transpose,
            )),
        }
    }

    fn triangular_matmul(
        t: FloatTensor<Self>,
        b: FloatTensor<Self>,
        upper: bool,
        transpose: bool,
    ) -> FloatTensor<Self> {
        match TriangularMatmulBackward
            .prepare::<C>([t.node(), b.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (t, b) = (t.into_primitive(), b.into_primitive());
                let c = B::triangular_matmul(t.clone(), b.clone(), upper, transpose);
                prep.finish((t, b, upper, transpose), c)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::triangular_matmul(
                t.into_primitive(),
                b.into_primitive(),
                upper,
                transpose,
            )),
        }
    }
}
