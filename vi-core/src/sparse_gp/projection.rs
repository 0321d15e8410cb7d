//! A sparse GP's predictive mean as one op.

use super::backend::SparseGpBackend;
use crate::cast::in_dtype;
use crate::linalg::LinalgError;
use burn::backend::Dispatch;
use burn::tensor::Tensor;

/// `Y = C + W A` row by row: `Y[p, n] = C[p, n] + Σₖ W[p, k] A[p, k, n]` for the weights `W`
/// `[P, M]`, a projection `A` `[1 or P, M, N]` (one shared by every row of `W`, or one per row)
/// and offsets `C` `[1 or P, 1 or N]` (broadcast; `None` for zero); output `[P, N]`.
///
/// A sparse GP's predictive mean `m(x) + Aᵀ m_u` for `P` outputs, with `A = L_zz⁻¹ K_zx` when
/// whitened. One tracked op (`SparseGpBackend::projected_mean`): on CubeCL one launch forward and
/// one backward, where a matrix product and a broadcast sum take two and their reverse three.
/// Differentiable: `W̄ = Ȳ Aᵀ` per row, `Ā = W ⊗ Ȳ` (summed over the rows for a shared `A`),
/// `C̄ = Ȳ` summed over its broadcast dimensions.
///
/// # Errors
/// [`LinalgError::ShapeMismatch`] when `W` has no rows, `A`'s middle dimension is not `M`, its batch neither 1
/// nor `P`, or the offsets do not broadcast to `[P, N]`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::sparse_gp::projected_mean;
/// let device = Device::default();
/// let w = Tensor::<2>::from_data([[1.0, 2.0]], &device);
/// let a = Tensor::<3>::from_data([[[1.0, 0.0, 3.0], [0.5, 1.0, 0.0]]], &device);
/// let c = Tensor::<2>::from_data([[10.0]], &device);
/// let y = projected_mean(w, a, Some(c)).unwrap();
/// y.into_data().assert_approx_eq::<f32>(&[[12.0, 12.0, 13.0]].into(), Default::default());
/// ```
pub fn projected_mean(
    weights: Tensor<2>,
    proj: Tensor<3>,
    offset: Option<Tensor<2>>,
) -> Result<Tensor<2>, LinalgError> {
    let ([p, m], [b, rows, n]) = (weights.dims(), proj.dims());
    let mismatch = |reason: String| LinalgError::ShapeMismatch {
        op: "projected_mean",
        reason,
    };
    if p == 0 {
        return Err(mismatch(format!(
            "weights {:?} need at least one row",
            weights.dims()
        )));
    }
    if rows != m || (b != 1 && b != p) {
        return Err(mismatch(format!(
            "projection {:?} must be [1 or {p}, {m}, N] for weights {:?}",
            proj.dims(),
            weights.dims()
        )));
    }
    if let Some(offset) = &offset {
        let [op, on] = offset.dims();
        if (op != 1 && op != p) || (on != 1 && on != n) {
            return Err(mismatch(format!(
                "offsets {:?} do not broadcast to [{p}, {n}]",
                offset.dims()
            )));
        }
    }
    // A cast or an expand only where one is needed: each would be one more tracked op.
    let dtype = weights.dtype();
    let proj = in_dtype(proj, dtype);
    let Some(offset) = offset else {
        let product = if b == 1 {
            weights.matmul(proj.reshape([m, n]))
        } else {
            weights.reshape([p, 1, m]).matmul(proj).reshape([p, n])
        };
        return Ok(product);
    };
    let [op, on] = offset.dims();
    let offset = in_dtype(offset, dtype);
    let offset = if op == p {
        offset
    } else {
        offset.expand([p, on])
    };
    Ok(Tensor::from_dispatch(
        <Dispatch as SparseGpBackend>::projected_mean(
            weights.into_dispatch(),
            proj.into_dispatch(),
            offset.into_dispatch(),
        ),
    ))
}
