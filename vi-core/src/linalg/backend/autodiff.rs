//! Hand-written backward passes for the extension under `Autodiff`.

use super::{LinalgBackend, compose};
use burn::backend::Autodiff;
use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind, unary},
};
use burn::backend::tensor::FloatTensor;

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

impl<B: LinalgBackend, C: CheckpointStrategy> LinalgBackend for Autodiff<B, C> {
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
