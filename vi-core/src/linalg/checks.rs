//! Shape checks and the single read-back that turns kernel flags into typed errors.

use super::error::LinalgError;
use super::matrix::diagonals;
use burn::tensor::{Int, Tensor};

/// `(batch, n)` of a stack of square matrices, or a [`LinalgError::ShapeMismatch`].
pub(crate) fn square<const D: usize>(
    op: &'static str,
    a: &Tensor<D>,
) -> Result<(usize, usize), LinalgError> {
    let dims = a.dims();
    if D < 2 {
        return Err(LinalgError::ShapeMismatch {
            op,
            reason: format!("expected a tensor of rank ≥ 2 ([.., n, n]), got shape {dims:?}"),
        });
    }
    let (rows, cols) = (dims[D - 2], dims[D - 1]);
    if rows != cols {
        return Err(LinalgError::ShapeMismatch {
            op,
            reason: format!("expected square matrices [.., n, n], got shape {dims:?}"),
        });
    }
    Ok((dims[..D - 2].iter().product(), rows))
}

/// The last diagonal entry of each factor of `l` `[.., n, n]`, `[batch]` (detached): a failed
/// pivot leaves every later diagonal entry non-finite (see `LinalgBackend::cholesky`), so it is
/// finite exactly when the element's factorisation succeeded. Zeros for `n = 0`.
pub(crate) fn last_pivots<const D: usize>(l: &Tensor<D>, batch: usize, n: usize) -> Tensor<1> {
    if n == 0 {
        return Tensor::zeros([batch], (&l.device(), l.dtype()));
    }
    l.clone()
        .detach()
        .reshape([batch, n * n])
        .slice([0..batch, n * n - 1..n * n])
        .reshape([batch])
}

/// Per batch element of a `[.., n, n]` input `a` and its factor `l`: whether the lower triangle of
/// `a` (the part the factorisation reads) had a non-finite entry, and how many diagonal entries of
/// `l` are finite.
///
/// A non-finite entry in the lower triangle always makes some pivot non-finite or non-positive,
/// so the common case costs one read-back of each element's last diagonal entry; the
/// per-element detail is only computed when something failed.
pub(crate) struct FactorStatus {
    pub non_finite_input: Vec<bool>,
    pub finite_pivots: Vec<usize>,
}

impl FactorStatus {
    pub(crate) fn read<const D: usize>(
        a: &Tensor<D>,
        l: &Tensor<D>,
        batch: usize,
        n: usize,
    ) -> Self {
        let all_good = Self {
            non_finite_input: vec![false; batch],
            finite_pivots: vec![n; batch],
        };
        if batch == 0 || n == 0 {
            return all_good;
        }
        // One value per element read back (one small copy).
        let last = last_pivots(l, batch, n).into_data().convert::<f64>();
        if last
            .as_slice::<f64>()
            .is_ok_and(|t| t.iter().all(|v| v.is_finite()))
        {
            return all_good;
        }
        let diagonal = diagonals(l.clone().detach(), batch, n);
        let finite = diagonal.is_finite().int();
        let bad_input = a
            .clone()
            .detach()
            .tril(0)
            .reshape([batch, n * n])
            .is_finite()
            .bool_not()
            .any_dim(1)
            .int();
        let flags = read_ints(Tensor::cat(vec![bad_input, finite.sum_dim(1)], 1));
        Self {
            non_finite_input: flags.chunks(2).map(|f| f[0] != 0).collect(),
            finite_pivots: flags.chunks(2).map(|f| f[1] as usize).collect(),
        }
    }

    /// The first error, if any element failed.
    pub(crate) fn first_error(&self, n: usize, jitter_tried: f64) -> Option<LinalgError> {
        if let Some(batch_index) = self.non_finite_input.iter().position(|&bad| bad) {
            return Some(LinalgError::NonFinite { batch_index });
        }
        self.finite_pivots
            .iter()
            .position(|&p| p < n)
            .map(|batch_index| LinalgError::NotPositiveDefinite {
                batch_index,
                minor: self.finite_pivots[batch_index] + 1,
                jitter_tried,
            })
    }
}

fn read_ints<const D: usize>(t: Tensor<D, Int>) -> Vec<i64> {
    t.into_data()
        .convert::<i64>()
        .try_into_vec()
        .expect("integer status flags")
}
