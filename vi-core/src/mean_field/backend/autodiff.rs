//! The hand-written backward pass of the mean-field extension under `Autodiff`.

use super::{MeanFieldBackend, compose};
use burn::backend::Autodiff;
use burn::backend::TensorMetadata;
use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::tensor::FloatTensor;
use burn::tensor::Shape;

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

/// The KL to `N(0, s²)`: `∂/∂μ` and `∂/∂ρ` from [`MeanFieldBackend::kl_to_normal_grad_loc`] and
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
            let grad_loc = B::kl_to_normal_grad_loc(loc, scale.clone(), grad.clone());
            grads.register::<B>(node.id, grad_loc);
        }
        if let Some(node) = parent_rho {
            grads.register::<B>(node.id, B::kl_to_normal_grad_rho(rho, scale, grad));
        }
    }
}

/// A Bayesian linear layer with sampled weight and bias, `y = x W + b`, `W = μ + softplus(ρ) ⊙ ε`,
/// `b = μ_b + softplus(ρ_b) ⊙ ε_b`: with `ḡ` as rows and `x` as rows, `∂/∂x = ḡ Wᵀ`,
/// `∂/∂μ = xᵀ ḡ`, `∂/∂ρ` = [`MeanFieldBackend::sample_grad_rho`] of it, `∂/∂μ_b = Σ_rows ḡ` and
/// `∂/∂ρ_b` likewise; the noise gets no gradient. Parents `[x, μ, ρ, μ_b, ρ_b]`.
#[derive(Debug)]
struct SampledLinearBackward;

/// The saved state of [`SampledLinearBackward`].
#[derive(Debug, Clone)]
struct SampledLinearState<B: MeanFieldBackend> {
    /// `x` as rows `[r, i]`, and its shape.
    x_rows: FloatTensor<B>,
    x_shape: Shape,
    /// The weight sample `W`.
    weight: FloatTensor<B>,
    /// `(ρ, ε)` of the weight and of the bias.
    rho_noise: [FloatTensor<B>; 2],
    bias_rho_noise: [FloatTensor<B>; 2],
}

impl<B: MeanFieldBackend> Backward<B, 5> for SampledLinearBackward {
    type State = SampledLinearState<B>;

    fn backward(self, ops: Ops<Self::State, 5>, grads: &mut Gradients, _: &mut Checkpointer) {
        let state = ops.state;
        let grad = compose::rows::<B>(grads.consume::<B>(&ops.node));
        let [
            parent_x,
            parent_loc,
            parent_rho,
            parent_bias_loc,
            parent_bias_rho,
        ] = ops.parents;
        let [rho, noise] = state.rho_noise;
        let [bias_rho, bias_noise] = state.bias_rho_noise;
        if parent_loc.is_some() || parent_rho.is_some() {
            let grad_weight = B::float_matmul(B::float_transpose(state.x_rows), grad.clone());
            if let Some(node) = parent_rho {
                let grad_rho = B::sample_grad_rho(rho, noise, grad_weight.clone());
                grads.register::<B>(node.id, grad_rho);
            }
            if let Some(node) = parent_loc {
                grads.register::<B>(node.id, grad_weight);
            }
        }
        if parent_bias_loc.is_some() || parent_bias_rho.is_some() {
            let outputs = bias_rho.shape()[0];
            let grad_bias =
                B::float_reshape(B::float_sum_dim(grad.clone(), 0), Shape::new([outputs]));
            if let Some(node) = parent_bias_rho {
                let grad_rho = B::sample_grad_rho(bias_rho, bias_noise, grad_bias.clone());
                grads.register::<B>(node.id, grad_rho);
            }
            if let Some(node) = parent_bias_loc {
                grads.register::<B>(node.id, grad_bias);
            }
        }
        if let Some(node) = parent_x {
            let grad_x = B::float_matmul(grad, B::float_transpose(state.weight));
            grads.register::<B>(node.id, B::float_reshape(grad_x, state.x_shape));
        }
    }
}

/// The KL of two parameter groups to one `N(0, s²)`: each group's gradients as in
/// [`KlToNormalBackward`]. Parents `[μ_a, ρ_a, μ_b, ρ_b]`; the saved state is the four and `s`.
#[derive(Debug)]
struct KlToNormalPairBackward;

impl<B: MeanFieldBackend> Backward<B, 4> for KlToNormalPairBackward {
    type State = ([FloatTensor<B>; 4], FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let ([loc_a, rho_a, loc_b, rho_b], scale) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [parent_loc_a, parent_rho_a, parent_loc_b, parent_rho_b] = ops.parents;
        for (parent, loc) in [(parent_loc_a, loc_a), (parent_loc_b, loc_b)] {
            if let Some(node) = parent {
                let grad_loc = B::kl_to_normal_grad_loc(loc, scale.clone(), grad.clone());
                grads.register::<B>(node.id, grad_loc);
            }
        }
        for (parent, rho) in [(parent_rho_a, rho_a), (parent_rho_b, rho_b)] {
            if let Some(node) = parent {
                let grad_rho = B::kl_to_normal_grad_rho(rho, scale.clone(), grad.clone());
                grads.register::<B>(node.id, grad_rho);
            }
        }
    }
}

impl<B: MeanFieldBackend, C: CheckpointStrategy> MeanFieldBackend for Autodiff<B, C> {
    fn kl_to_normal_pair(
        loc_a: FloatTensor<Self>,
        rho_a: FloatTensor<Self>,
        loc_b: FloatTensor<Self>,
        rho_b: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [loc_a.node(), rho_a.node(), loc_b.node(), rho_b.node()];
        let scale = scale.into_primitive();
        let inputs = [loc_a, rho_a, loc_b, rho_b].map(|t| t.into_primitive());
        match KlToNormalPairBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let [loc_a, rho_a, loc_b, rho_b] = inputs.clone();
                let kl = B::kl_to_normal_pair(loc_a, rho_a, loc_b, rho_b, scale.clone());
                prep.finish((inputs, scale), kl)
            }
            OpsKind::UnTracked(prep) => {
                let [loc_a, rho_a, loc_b, rho_b] = inputs;
                prep.finish(B::kl_to_normal_pair(loc_a, rho_a, loc_b, rho_b, scale))
            }
        }
    }

    fn sampled_linear(
        x: FloatTensor<Self>,
        loc: FloatTensor<Self>,
        rho: FloatTensor<Self>,
        noise: FloatTensor<Self>,
        bias_loc: FloatTensor<Self>,
        bias_rho: FloatTensor<Self>,
        bias_noise: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [
            x.node(),
            loc.node(),
            rho.node(),
            bias_loc.node(),
            bias_rho.node(),
        ];
        let (noise, bias_noise) = (noise.into_primitive(), bias_noise.into_primitive());
        let (x, loc, rho) = (
            x.into_primitive(),
            loc.into_primitive(),
            rho.into_primitive(),
        );
        let (bias_loc, bias_rho) = (bias_loc.into_primitive(), bias_rho.into_primitive());
        match SampledLinearBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out_shape = compose::linear_shape(&x.shape(), &loc.shape());
                let x_shape = x.shape();
                let x_rows = compose::rows::<B>(x);
                let weight = B::sample(loc, rho.clone(), noise.clone());
                let bias = B::sample(bias_loc, bias_rho.clone(), bias_noise.clone());
                let y = compose::linear_rows::<B>(x_rows.clone(), weight.clone(), bias);
                let state = SampledLinearState {
                    x_rows,
                    x_shape,
                    weight,
                    rho_noise: [rho, noise],
                    bias_rho_noise: [bias_rho, bias_noise],
                };
                prep.finish(state, B::float_reshape(y, out_shape))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::sampled_linear(
                x, loc, rho, noise, bias_loc, bias_rho, bias_noise,
            )),
        }
    }

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
