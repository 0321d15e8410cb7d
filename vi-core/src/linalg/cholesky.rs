//! Batched Cholesky factorisation, plain and with GPyTorch-style jitter retries.

use super::backend::LinalgBackend;
use super::checks::{FactorStatus, last_pivots, square};
use super::error::LinalgError;
use burn::backend::Dispatch;
use burn::tensor::{Bool, DType, IndexingUpdateOp, Int, Tensor, TensorData};

/// The kernel call on `a + shift · I` without checks; failures show up as NaN columns (see
/// [`LinalgBackend`]).
pub(crate) fn cholesky_raw<const D: usize>(a: Tensor<D>, shift: f64) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as LinalgBackend>::cholesky(
        a.into_dispatch(),
        shift,
    ))
}

/// Lower Cholesky factor `L` (`A = L Lᵀ`, positive diagonal) of each matrix of `a` `[.., n, n]`.
///
/// Only the lower triangle of `a` is read. Differentiable (Murray 2016); gradients follow the
/// symmetric convention of torch and JAX. One small status tensor is read back per call.
///
/// # Errors
/// [`LinalgError::ShapeMismatch`] unless `a` is `[.., n, n]`; [`LinalgError::NonFinite`] for NaN or
/// ±∞ input; [`LinalgError::NotPositiveDefinite`] naming the first failing batch element and minor.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// let device = Device::default();
/// let a = Tensor::<2>::from_data([[4.0, 2.0], [2.0, 5.0]], &device);
/// let l = vi_core::linalg::cholesky(a).unwrap();
/// l.into_data().assert_approx_eq::<f32>(&[[2.0, 0.0], [1.0, 2.0]].into(), Default::default());
/// ```
pub fn cholesky<const D: usize>(a: Tensor<D>) -> Result<Tensor<D>, LinalgError> {
    let (batch, n) = square("cholesky", &a)?;
    let l = cholesky_raw(a.clone(), 0.0);
    match FactorStatus::read(&a, &l, batch, n).first_error(n, 0.0) {
        Some(error) => Err(error),
        None => Ok(l),
    }
}

/// A factor of `A + shift · I` whose success has not been read back: see [`cholesky_deferred`].
#[derive(Debug, Clone)]
pub struct DeferredCholesky<const D: usize> {
    /// `L` per batch element (differentiable as [`cholesky`]'s); an element whose
    /// factorisation failed holds NaN from the failing pivot on.
    pub factor: Tensor<D>,
    /// Each batch element's last diagonal entry of `L`, `[batch]`, detached: all finite exactly
    /// when every element factorised (a failed pivot leaves every later pivot non-finite).
    pub guard: Tensor<1>,
}

/// The factor of `A + shift · I` with no read-back: the check is left to the caller, who reads
/// [`DeferredCholesky::guard`] together with a later result (one device round trip per step,
/// e.g. [`crate::elbo::Elbo::from_terms_guarded`]) and falls back to [`cholesky_jittered`]
/// when it is not finite.
///
/// # Errors
/// [`LinalgError::ShapeMismatch`] unless `a` is `[.., n, n]` (nothing else is checked).
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// let device = Device::default();
/// let a = Tensor::<2>::from_data([[4.0, 2.0], [2.0, 5.0]], &device);
/// let pending = vi_core::linalg::cholesky_deferred(a, 0.0).unwrap();
/// let guard: f32 = pending.guard.into_scalar();
/// assert!(guard.is_finite());
/// pending.factor.into_data().assert_approx_eq::<f32>(&[[2.0, 0.0], [1.0, 2.0]].into(), Default::default());
/// ```
pub fn cholesky_deferred<const D: usize>(
    a: Tensor<D>,
    shift: f64,
) -> Result<DeferredCholesky<D>, LinalgError> {
    let (batch, n) = square("cholesky_deferred", &a)?;
    let factor = cholesky_raw(a, shift);
    let guard = last_pivots(&factor, batch, n);
    Ok(DeferredCholesky { factor, guard })
}

/// Settings of [`cholesky_jittered`], after GPyTorch's `psd_safe_cholesky`.
#[derive(Debug, Clone, PartialEq)]
pub struct JitterConfig {
    /// Jitter always added to the diagonal, before any retry (GPyTorch's `add_jitter` on
    /// `K_zz`); inside the factorisation, so it costs no addition of an identity matrix.
    pub base: f64,
    /// First jitter added to the diagonal of a failing matrix; `None` picks `1e-8` for `f64` input
    /// and `1e-6` otherwise.
    pub initial: Option<f64>,
    /// Factor between successive tries.
    pub growth: f64,
    /// Number of jittered attempts after the plain one.
    pub max_tries: usize,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            base: 0.0,
            initial: None,
            growth: 10.0,
            max_tries: 3,
        }
    }
}

impl JitterConfig {
    /// `base` always added, and should that fail, retries from `10 · base` (`1e-8` when `base`
    /// is 0) growing tenfold: how a sparse GP factors `K_zz`.
    pub fn retrying_from(base: f64) -> Self {
        Self {
            base,
            initial: Some(if base > 0.0 { 10.0 * base } else { 1e-8 }),
            ..Self::default()
        }
    }
}

/// A factor from [`cholesky_jittered`] with the jitter each batch element needed.
#[derive(Debug, Clone)]
pub struct JitteredCholesky<const D: usize> {
    /// `L` with `L Lᵀ = A + (base + jitter) I` per batch element.
    pub factor: Tensor<D>,
    /// Jitter added to each batch element beyond [`JitterConfig::base`] (row-major over the batch
    /// dimensions); `0` where the first factorisation succeeded.
    pub jitter: Vec<f64>,
}

/// Cholesky factor of `A + base · I` that retries only the failing batch elements with growing
/// diagonal jitter `εₜ = initial · growthᵗ`, `t = 0..max_tries` (the added jitter is
/// `(base + εₜ) I`, not cumulative).
///
/// The successful elements keep their plain factor; gradients flow through every element as for
/// [`cholesky`] (with respect to `A`, the jitter being a constant).
///
/// # Errors
/// As [`cholesky`]; [`LinalgError::NotPositiveDefinite`] carries the largest jitter tried.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_core::linalg::{JitterConfig, cholesky_jittered};
/// let device = Device::default();
/// // Rank one: positive semi-definite but singular.
/// let a = Tensor::<2>::from_data([[1.0, 1.0], [1.0, 1.0]], &device);
/// let out = cholesky_jittered(a, &JitterConfig::default()).unwrap();
/// assert!(out.jitter[0] > 0.0);
/// ```
pub fn cholesky_jittered<const D: usize>(
    a: Tensor<D>,
    config: &JitterConfig,
) -> Result<JitteredCholesky<D>, LinalgError> {
    let (batch, n) = square("cholesky_jittered", &a)?;
    let dims = a.dims();
    let l = cholesky_raw(a.clone(), config.base);
    let status = FactorStatus::read(&a, &l, batch, n);
    if let Some(error @ LinalgError::NonFinite { .. }) = status.first_error(n, 0.0) {
        return Err(error);
    }
    let mut failing: Vec<usize> = (0..batch)
        .filter(|&i| status.finite_pivots[i] < n)
        .collect();
    let mut jitter = vec![0.0; batch];
    if failing.is_empty() {
        return Ok(JitteredCholesky { factor: l, jitter });
    }

    let device = a.device();
    let initial = config
        .initial
        .unwrap_or(if a.dtype() == DType::F64 { 1e-8 } else { 1e-6 });
    let flat_a = a.reshape([batch, n, n]);
    // Failing elements restart from zero so that NaN never enters the sum below.
    let failing_mask = Tensor::<3, Bool>::from_data(
        TensorData::new(
            (0..batch)
                .map(|i| status.finite_pivots[i] < n)
                .collect::<Vec<_>>(),
            [batch, 1, 1],
        ),
        &device,
    )
    .expand([batch, n, n]);
    let mut flat_l = l.reshape([batch, n, n]).mask_fill(failing_mask, 0.0);

    let mut last_minors = Vec::new();
    let mut last_jitter = 0.0;
    for attempt in 0..config.max_tries {
        last_jitter = initial * config.growth.powi(attempt as i32);
        let index = index_tensor(&failing, &device);
        let retried = flat_a.clone().select(0, index);
        let l_try = cholesky_raw(retried.clone(), config.base + last_jitter);
        let minors = FactorStatus::read(&retried, &l_try, failing.len(), n).finite_pivots;
        let (done, remaining): (Vec<usize>, Vec<usize>) =
            (0..failing.len()).partition(|&k| minors[k] == n);
        if !done.is_empty() {
            let rows = l_try.select(0, index_tensor(&done, &device));
            let targets: Vec<usize> = done.iter().map(|&k| failing[k]).collect();
            for &target in &targets {
                jitter[target] = last_jitter;
            }
            flat_l = flat_l.select_assign(
                0,
                index_tensor(&targets, &device),
                rows,
                IndexingUpdateOp::Add,
            );
        }
        last_minors = remaining.iter().map(|&k| minors[k]).collect();
        failing = remaining.into_iter().map(|k| failing[k]).collect();
        if failing.is_empty() {
            return Ok(JitteredCholesky {
                factor: flat_l.reshape(dims),
                jitter,
            });
        }
    }
    Err(LinalgError::NotPositiveDefinite {
        batch_index: failing[0],
        minor: last_minors
            .first()
            .map_or(status.finite_pivots[failing[0]], |&m| m)
            + 1,
        jitter_tried: last_jitter,
    })
}

fn index_tensor(indices: &[usize], device: &burn::tensor::Device) -> Tensor<1, Int> {
    let values: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    Tensor::<1, Int>::from_data(TensorData::new(values, [indices.len()]), device)
}
