//! CubeCL kernel (wgpu, cuda) of the optimizer extension: one launch per parameter tensor
//! instead of the dozen element-wise ops of the composed update.

use super::AdamScalars;
use crate::cube::{address_type, empty_like, float_elem_type, launch_dims};
use burn::backend::tensor::FloatTensor;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use cubecl::prelude::*;

/// One Adam step per entry, in the order of the composed update (each scalar rounded to `F` as
/// Burn's scalar ops round theirs); writes `θ`, `m` and `v` to three new buffers.
#[cube(launch, address_type = "dynamic")]
#[allow(clippy::too_many_arguments)]
fn adam_kernel<F: Float>(
    param: &[F],
    grad: &[F],
    moment_1: &[F],
    moment_2: &[F],
    param_out: &mut [F],
    moment_1_out: &mut [F],
    moment_2_out: &mut [F],
    scalars: Sequence<InputScalar>,
    len: usize,
    #[comptime] decayed: bool,
    #[define(F)] _dtype: ElemType,
) {
    let i = ABSOLUTE_POS;
    if i >= len {
        terminate!();
    }
    let beta_1 = scalars[0].get::<F>();
    let keep_1 = scalars[1].get::<F>();
    let beta_2 = scalars[2].get::<F>();
    let keep_2 = scalars[3].get::<F>();
    let correction = scalars[4].get::<F>();
    let epsilon = scalars[5].get::<F>();
    let lr = scalars[6].get::<F>();
    let p = param[i];
    let mut g = grad[i];
    if decayed {
        g = p * scalars[7].get::<F>() + g;
    }
    let m = moment_1[i] * beta_1 + g * keep_1;
    let v = moment_2[i] * beta_2 + g * g * keep_2;
    moment_1_out[i] = m;
    moment_2_out[i] = v;
    param_out[i] = p - (m * correction) / (v.sqrt() + epsilon) * lr;
}

/// [`super::OptimBackend::adam_step`]: [`adam_kernel`] over the contiguous inputs.
pub(crate) fn adam_step(
    param: FloatTensor<CubeBackend>,
    grad: FloatTensor<CubeBackend>,
    moment_1: FloatTensor<CubeBackend>,
    moment_2: FloatTensor<CubeBackend>,
    s: AdamScalars,
) -> (
    FloatTensor<CubeBackend>,
    FloatTensor<CubeBackend>,
    FloatTensor<CubeBackend>,
) {
    let [param, grad, moment_1, moment_2] = [param, grad, moment_1, moment_2].map(into_contiguous);
    assert!(
        [&grad, &moment_1, &moment_2]
            .iter()
            .all(|t| t.meta.shape() == param.meta.shape()),
        "adam_step needs a gradient and moments of the parameter's shape"
    );
    let outputs = [&param, &moment_1, &moment_2].map(empty_like);
    let len = param.meta.shape().num_elements();
    if len == 0 {
        let [p, m, v] = outputs;
        return (p, m, v);
    }
    let elem_type = float_elem_type(&param);
    let mut scalars = SequenceArg::new();
    for value in [
        s.beta_1,
        1.0 - s.beta_1,
        s.beta_2,
        1.0 - s.beta_2,
        s.correction,
        s.epsilon,
    ] {
        scalars.push(InputScalar::new(value as f64, elem_type));
    }
    scalars.push(InputScalar::new(s.lr, elem_type));
    scalars.push(InputScalar::new(s.weight_decay as f64, elem_type));
    let (count, cube_dim) = launch_dims(&param, len);
    let [p, m, v] = outputs;
    let address_type = address_type(&[&param, &grad, &moment_1, &moment_2, &p, &m, &v]);
    adam_kernel::launch(
        &p.client,
        count,
        cube_dim,
        address_type,
        param.clone().into_buffer_arg(),
        grad.clone().into_buffer_arg(),
        moment_1.clone().into_buffer_arg(),
        moment_2.clone().into_buffer_arg(),
        p.clone().into_buffer_arg(),
        m.clone().into_buffer_arg(),
        v.clone().into_buffer_arg(),
        scalars,
        len,
        s.weight_decay != 0.0,
        elem_type,
    );
    (p, m, v)
}
