//! A whitened sparse GP's marginal variances as one op.

use super::backend::SparseGpBackend;
use crate::linalg::{LinalgError, Side, broadcast_batch, check_operands};
use burn::backend::Dispatch;
use burn::tensor::Tensor;

/// A whitened sparse GP's marginal variances: `vⱼ = max(σ₀²ⱼ + ‖Lᵀ bⱼ‖² − ‖bⱼ‖², 0)` for every
/// column `bⱼ` of `B` `[.., n, k]`, with `L` `[.., n, n]` lower triangular (only that triangle is
/// read) and the prior variances `σ₀²` `[.., k]`; output `[.., k]`. With `B = A = L_zz⁻¹ K_zx` and
/// `S = L Lᵀ` the covariance of the whitened inducing outputs it is
/// `diag(K_xx) − diag(Aᵀ A) + diag(Aᵀ S A)` (Hensman et al. 2015), clamped where rounding makes it
/// negative. One tracked op: on CubeCL one launch forward and two backward. Leading batch
/// dimensions broadcast, the prior variances' too. Differentiable: with `P = Lᵀ B` and
/// `g = ḡ ∘ [v > 0]` (no gradient through the clamp), `L̄ = 2 tril(B diag(g) Pᵀ)`,
/// `B̄ = 2 (L P − B) diag(g)` and `σ̄₀² = g`.
///
/// # Errors
/// [`LinalgError::ShapeMismatch`] when `l` is not square, `b` has not as many rows as `l`, or
/// the batch dimensions or the prior variances do not broadcast.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::sparse_gp::whitened_variance;
/// let device = Device::default();
/// let l = Tensor::<2>::from_data([[2.0, 0.0], [1.0, 1.0]], &device);
/// let b = Tensor::<2>::from_data([[1.0, 0.1], [1.0, 0.0]], &device);
/// let prior = Tensor::<1>::from_data([1.0, -1.0], &device);
/// // Lᵀ b₁ = [3, 1]: 1 + 9 + 1 − 2 = 9; Lᵀ b₂ = [0.2, 0]: −1 + 0.04 − 0.01 < 0, clamped.
/// let v = whitened_variance(l, b, prior).unwrap();
/// v.into_data().assert_approx_eq::<f32>(&[9.0, 0.0].into(), Default::default());
/// ```
pub fn whitened_variance<const D: usize, const D1: usize>(
    l: Tensor<D>,
    b: Tensor<D>,
    prior_variance: Tensor<D1>,
) -> Result<Tensor<D1>, LinalgError> {
    const {
        assert!(
            D1 + 1 == D,
            "the variances have one dimension fewer than the matrices"
        )
    };
    let op = "whitened_variance";
    check_operands(op, &l, &b, Side::Left)?;
    let (l, b) = broadcast_batch(op, l, b)?;
    let mut dims = b.dims().to_vec();
    dims.remove(D - 2);
    let columns: [usize; D1] = dims.clone().try_into().expect("one dimension fewer");
    let prior_dims = prior_variance.dims();
    if prior_dims
        .iter()
        .zip(&columns)
        .any(|(&p, &c)| p != c && p != 1)
    {
        return Err(LinalgError::ShapeMismatch {
            op,
            reason: format!(
                "prior variances {prior_dims:?} do not broadcast to the columns {columns:?} of B {:?}",
                b.dims()
            ),
        });
    }
    let prior: Tensor<D> = prior_variance.expand(columns).unsqueeze_dim(D - 2);
    let (variance, _) = <Dispatch as SparseGpBackend>::whitened_variance(
        l.into_dispatch(),
        b.into_dispatch(),
        prior.into_dispatch(),
    );
    Ok(Tensor::<D>::from_dispatch(variance).reshape(columns))
}
