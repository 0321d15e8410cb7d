//! Gram matrices of stationary kernels as single ops: the squared distances ([`squared_distance`])
//! and the squared-exponential
//! `K_ij = exp(−½ ‖aᵢ − bⱼ‖²)` ([`rbf_gram`]), one op forward and one backward on every backend
//! ([`backend::GramBackend`]) where its composition from Burn's primitives tracks a dozen ops
//! and, on the CPU, calls the scalar `exp` of the C library per entry; [`scaled_rbf_gram`] adds
//! ARD lengthscales and an output scale to the same op.

use crate::cast::in_dtype;
use crate::linalg::LinalgError;
use backend::GramBackend;
use burn::backend::Dispatch;
use burn::tensor::Tensor;

pub mod backend;

/// `D_ij = ‖aᵢ − bⱼ‖²` for each batch element, `a` `[B, n, d]`, `b` `[B, m, d]` → `[B, n, m]`:
/// the squared distances that stationary kernels other than the RBF (Matérn) are functions of.
/// A batch dimension of 1 broadcasts against the other's. Formed from the differences, one op
/// (one CubeCL kernel): no `|a|² + |b|² − 2a·b` cancellation, so `D(x, x)` is exactly symmetric
/// with a zero diagonal and near-duplicate points keep their small distances. Differentiable in
/// both inputs, `āᵢ = 2 Σⱼ D̄ᵢⱼ (aᵢ − bⱼ)` and `b̄ⱼ = 2 Σᵢ D̄ᵢⱼ (bⱼ − aᵢ)` (a row sum, a product
/// and a matrix product each).
///
/// # Errors
/// [`LinalgError::ShapeMismatch`] when `a` and `b` differ in `d` or their batch dimensions do not
/// broadcast.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::gram::squared_distance;
/// let device = Device::default();
/// let a = Tensor::<3>::from_data([[[0.0, 0.0], [1.0, 0.0]]], &device);
/// let b = Tensor::<3>::from_data([[[0.0, 2.0]]], &device);
/// let d: Vec<f32> = squared_distance(a, b).unwrap().into_data().to_vec().unwrap();
/// assert_eq!(d, vec![4.0, 5.0]);
/// ```
pub fn squared_distance(a: Tensor<3>, b: Tensor<3>) -> Result<Tensor<3>, LinalgError> {
    let (a, b) = common_batch("squared_distance", a, b, 1)?;
    Ok(Tensor::from_dispatch(
        <Dispatch as GramBackend>::squared_distance(a.into_dispatch(), b.into_dispatch()),
    ))
}

/// `K_ij = exp(−½ ‖aᵢ − bⱼ‖²)` for each batch element, `a` `[B, n, d]`, `b` `[B, m, d]` →
/// `[B, n, m]`: the RBF (squared-exponential) kernel of inputs already divided by their
/// lengthscales. A batch dimension of 1 broadcasts against the other's. Differentiable in both
/// inputs: with `W = K̄ ∘ K`, `āᵢ = Σⱼ Wᵢⱼ (bⱼ − aᵢ)` and `b̄ⱼ = Σᵢ Wᵢⱼ (aᵢ − bⱼ)`.
///
/// On the CPU the distances are summed directly (no `|a|² + |b|² − 2a·b` cancellation) and the
/// exponential is a vectorised polynomial (f32: within 2 ulp; results below `2⁻¹²⁶` are flushed
/// to zero). On CubeCL backends it is one kernel, and each input's gradient another.
///
/// # Errors
/// [`LinalgError::ShapeMismatch`] when `a` and `b` differ in `d` or their batch dimensions do not
/// broadcast.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::gram::rbf_gram;
/// let device = Device::default();
/// let a = Tensor::<3>::from_data([[[0.0, 0.0], [1.0, 0.0]]], &device);
/// let b = Tensor::<3>::from_data([[[0.0, 2.0]]], &device);
/// let k: Vec<f32> = rbf_gram(a, b).unwrap().into_data().to_vec().unwrap();
/// assert!((k[0] - (-2f32).exp()).abs() < 1e-7 && (k[1] - (-2.5f32).exp()).abs() < 1e-7);
/// ```
pub fn rbf_gram(a: Tensor<3>, b: Tensor<3>) -> Result<Tensor<3>, LinalgError> {
    let (a, b) = common_batch("rbf_gram", a, b, 1)?;
    Ok(Tensor::from_dispatch(<Dispatch as GramBackend>::rbf_gram(
        a.into_dispatch(),
        b.into_dispatch(),
    )))
}

/// `K_ij = s · exp(−½ Σ_c (a_ic − b_jc)² / ℓ_c²)`: the ARD squared-exponential kernel with its
/// output scale (GPyTorch's `ScaleKernel(RBFKernel(ard_num_dims = d))`) for raw inputs `a`
/// `[B, n, d]` and `b` `[B, m, d]` (a batch of 1 broadcasts), lengthscales `ℓ` `[1 or B, 1, d]`
/// (`[.., 1, 1]`: one shared) and output scales `s` `[1 or B, 1, 1]` → `[B, n, m]`.
///
/// [`rbf_gram`] of `a / ℓ` and `b / ℓ` times `s` as one tracked op instead of four (one CubeCL
/// kernel, the inputs divided by `ℓ` in it): its backward pass
/// ([`backend::GramBackend::scaled_rbf_gram_backward`]; on CubeCL a gradient kernel per input
/// that needs one and a kernel summing `ℓ̄`'s and `s̄`'s row shares) takes the Gram gradients of
/// the scaled inputs `ã`, `b̃` and derives the rest from them,
/// `ā = ā̃ / ℓ`, `ℓ̄ = −(Σᵢ ā̃ᵢ ãᵢ + Σⱼ b̄̃ⱼ b̃ⱼ) / ℓ`, `s̄ = Σ K̄ ∘ G` with `G` the unscaled matrix (summed over broadcast
/// dimensions).
///
/// # Errors
/// [`LinalgError::ShapeMismatch`] as [`rbf_gram`], and for lengthscales or scales of another
/// shape.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::gram::scaled_rbf_gram;
/// let device = Device::default();
/// let a = Tensor::<3>::from_data([[[0.0, 0.0]]], &device);
/// let b = Tensor::<3>::from_data([[[2.0, 3.0]]], &device);
/// let lengthscale = Tensor::<3>::from_data([[[2.0, 3.0]]], &device);
/// let scale = Tensor::<3>::from_data([[[1.5]]], &device);
/// let k: Vec<f32> = scaled_rbf_gram(a, b, lengthscale, scale).unwrap().into_data().to_vec().unwrap();
/// assert!((k[0] - 1.5 * (-1f32).exp()).abs() < 1e-6);
/// ```
pub fn scaled_rbf_gram(
    a: Tensor<3>,
    b: Tensor<3>,
    lengthscale: Tensor<3>,
    scale: Tensor<3>,
) -> Result<Tensor<3>, LinalgError> {
    let (lengthscale_batch, scale_batch) = (lengthscale.dims()[0], scale.dims()[0]);
    let (a, b) = common_batch("scaled_rbf_gram", a, b, lengthscale_batch.max(scale_batch))?;
    let [batch, _, d] = a.dims();
    let fits = |dims: [usize; 3], columns: &[usize]| {
        (dims[0] == 1 || dims[0] == batch) && dims[1] == 1 && columns.contains(&dims[2])
    };
    if !fits(lengthscale.dims(), &[1, d]) || !fits(scale.dims(), &[1]) {
        return Err(LinalgError::ShapeMismatch {
            op: "scaled_rbf_gram",
            reason: format!(
                "lengthscale {:?} must be [1 or {batch}, 1, 1 or {d}] and scale {:?} \
                 [1 or {batch}, 1, 1] for inputs of batch {batch} and {d} columns",
                lengthscale.dims(),
                scale.dims()
            ),
        });
    }
    let dtype = a.dtype();
    Ok(Tensor::from_dispatch(
        <Dispatch as GramBackend>::scaled_rbf_gram(
            a.into_dispatch(),
            b.into_dispatch(),
            in_dtype(lengthscale, dtype).into_dispatch(),
            in_dtype(scale, dtype).into_dispatch(),
        ),
    ))
}

/// `a` and `b` expanded to their common batch (at least `at_least`, the batch of parameters
/// that broadcast against them), `b` in `a`'s dtype.
fn common_batch(
    op: &'static str,
    a: Tensor<3>,
    b: Tensor<3>,
    at_least: usize,
) -> Result<(Tensor<3>, Tensor<3>), LinalgError> {
    let ([ba, n, d], [bb, m, db]) = (a.dims(), b.dims());
    let mismatch = |reason: String| LinalgError::ShapeMismatch { op, reason };
    if d != db {
        return Err(mismatch(format!(
            "inputs {:?} and {:?} differ in their last dimension",
            a.dims(),
            b.dims()
        )));
    }
    let batch = match (ba, bb) {
        (x, y) if x == y => x,
        (1, y) => y,
        (x, 1) => x,
        _ => {
            return Err(mismatch(format!(
                "batch dimensions of {:?} and {:?} do not broadcast",
                a.dims(),
                b.dims()
            )));
        }
    };
    // A batch of 1 broadcasts to the parameters' batch; another mismatch is caught by the caller.
    let batch = if batch == 1 { at_least } else { batch };
    // Each op only where needed: a tensor passed as both inputs stays one autodiff node, which
    // the reverse mode recognises (one gradient for `K(x, x)`).
    let b = in_dtype(b, a.dtype());
    let expand = |t: Tensor<3>, rows: usize| {
        if t.dims()[0] == batch {
            t
        } else {
            t.expand([batch, rows, d])
        }
    };
    Ok((expand(a, n), expand(b, m)))
}
