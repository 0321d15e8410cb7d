//! Gram matrices of stationary kernels as single ops: the squared-exponential
//! `K_ij = exp(−½ ‖aᵢ − bⱼ‖²)` ([`rbf_gram`]), one op forward and one backward on every backend
//! ([`backend::GramBackend`]) where its composition from Burn's primitives tracks a dozen ops
//! and, on the CPU, calls the scalar `exp` of the C library per entry.

use crate::linalg::LinalgError;
use backend::GramBackend;
use burn::backend::Dispatch;
use burn::tensor::Tensor;

pub mod backend;

/// `K_ij = exp(−½ ‖aᵢ − bⱼ‖²)` for each batch element, `a` `[B, n, d]`, `b` `[B, m, d]` →
/// `[B, n, m]`: the RBF (squared-exponential) kernel of inputs already divided by their
/// lengthscales. A batch dimension of 1 broadcasts against the other's. Differentiable in both
/// inputs: with `W = K̄ ∘ K`, `āᵢ = Σⱼ Wᵢⱼ (bⱼ − aᵢ)` and `b̄ⱼ = Σᵢ Wᵢⱼ (aᵢ − bⱼ)`.
///
/// On the CPU the distances are summed directly (no `|a|² + |b|² − 2a·b` cancellation) and the
/// exponential is a vectorised polynomial (f32: within 2 ulp; results below `2⁻¹²⁶` are flushed
/// to zero). On CubeCL backends it is composed from matmul and elementwise ops.
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
    let ([ba, n, d], [bb, m, db]) = (a.dims(), b.dims());
    let mismatch = |reason: String| LinalgError::ShapeMismatch {
        op: "rbf_gram",
        reason,
    };
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
    let b = b.cast(a.dtype());
    let (a, b) = (a.expand([batch, n, d]), b.expand([batch, m, d]));
    Ok(Tensor::from_dispatch(<Dispatch as GramBackend>::rbf_gram(
        a.into_dispatch(),
        b.into_dispatch(),
    )))
}
