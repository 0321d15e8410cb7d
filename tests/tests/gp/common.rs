//! Helpers shared by the GP tests: parameters, pairwise inputs, host kernel matrices, an
//! object-safe kernel view, a small SVGP layer from raw tensors, gradient pairs.

use burn::module::{Param, ParamId};
use burn::tensor::{Device, FloatDType, Tensor};
use vi_blocks::family::{FullRankGaussian, MeanFieldGaussian, ScaleTransform, TrilTransform};
use vi_blocks::gp::kernel::{Kernel, Rbf, ScaleKernel};
use vi_blocks::gp::{
    AnyStrategy, InducingFamily, MeanFunction, Svgp, Unwhitened, VariationalFamily, Whitened,
};
use vi_tests::{noise, tensor, values};

pub fn param<const D: usize>(t: Tensor<D>) -> Param<Tensor<D>> {
    Param::initialized(ParamId::new(), t)
}

/// A parameter, a leaf of the autodiff graph when `track`.
pub fn tracked<const D: usize>(track: bool, t: Tensor<D>) -> Param<Tensor<D>> {
    param(if track { t.require_grad() } else { t })
}

/// Pairwise inputs `[1, n, d]` and `[1, m, d]` as host vectors and tensors.
pub fn inputs(
    device: &Device,
    dtype: FloatDType,
    n: usize,
    m: usize,
    d: usize,
) -> (Vec<f64>, Vec<f64>, Tensor<3>, Tensor<3>) {
    let a: Vec<f64> = noise(11, n * d).iter().map(|v| 1.5 * v).collect();
    let b: Vec<f64> = noise(12, m * d).iter().map(|v| 1.5 * v).collect();
    let (ta, tb) = (
        tensor(a.clone(), [1, n, d], device, dtype),
        tensor(b.clone(), [1, m, d], device, dtype),
    );
    (a, b, ta, tb)
}

/// Host reference: `k(a_i, b_j)` for a closure of the difference and the two points.
pub fn host_matrix(a: &[f64], b: &[f64], d: usize, k: impl Fn(&[f64], &[f64]) -> f64) -> Vec<f64> {
    let (n, m) = (a.len() / d, b.len() / d);
    let mut out = Vec::with_capacity(n * m);
    for i in 0..n {
        for j in 0..m {
            out.push(k(&a[i * d..(i + 1) * d], &b[j * d..(j + 1) * d]));
        }
    }
    out
}

/// Object-safe view of [`Kernel`] for the table-driven tests.
pub trait Kernel_ {
    fn dyn_matrix(&self, a: Tensor<3>, b: Tensor<3>) -> Tensor<3>;
    fn dyn_diagonal(&self, a: Tensor<3>) -> Tensor<2>;
}

impl<K: Kernel> Kernel_ for K {
    fn dyn_matrix(&self, a: Tensor<3>, b: Tensor<3>) -> Tensor<3> {
        self.matrix(a, b)
    }
    fn dyn_diagonal(&self, a: Tensor<3>) -> Tensor<2> {
        self.diagonal(a)
    }
}

/// A layer whose family and strategy are chosen at run time.
pub type DynSvgp = Svgp<ScaleKernel<Rbf>, InducingFamily, AnyStrategy>;

/// A small layer built from raw tensors (for finite differences).
pub fn layer_from(v: &[Tensor<3>], whiten: bool, family: VariationalFamily) -> DynSvgp {
    let [_, p, m] = v[1].dims();
    Svgp {
        kernel: ScaleKernel {
            base: Rbf {
                lengthscale_raw: param(v[3].clone()),
            },
            outputscale_raw: param(v[4].clone()),
        },
        mean: MeanFunction {
            constant: Some(param(v[5].clone().reshape([p]))),
            weight: None,
            outputs: p,
        },
        inducing_points: param(v[0].clone()),
        variational: match family {
            VariationalFamily::FullRank => InducingFamily::FullRank(FullRankGaussian {
                loc: param(v[1].clone().reshape([p, m])),
                scale_raw: param(v[2].clone()),
                transform: TrilTransform::SignFlip,
            }),
            VariationalFamily::MeanField => InducingFamily::MeanField(MeanFieldGaussian {
                loc: param(v[1].clone().reshape([p, m])),
                rho: param(
                    (v[2].clone()
                        * Tensor::<2>::eye(m, &v[2].device())
                            .cast(v[2].dtype())
                            .unsqueeze::<3>())
                    .sum_dim(2)
                    .reshape([p, m]),
                ),
                transform: ScaleTransform::Absolute,
            }),
        },
        strategy: strategy(whiten),
        jitter: Some(1e-6),
    }
}

/// The strategy `whiten` names.
pub fn strategy(whiten: bool) -> AnyStrategy {
    if whiten {
        Whitened.into()
    } else {
        Unwhitened.into()
    }
}

/// Each float parameter's gradients under two sets of gradients.
pub struct GradientPairs<'a> {
    pub grads: (&'a burn::tensor::Gradients, &'a burn::tensor::Gradients),
    pub pairs: &'a mut Vec<(Vec<f64>, Vec<f64>)>,
}

impl burn::module::ModuleVisitor for GradientPairs<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let grad = |g| values(param.val().grad(g).expect("a gradient"));
        self.pairs.push((grad(self.grads.0), grad(self.grads.1)));
    }
}
