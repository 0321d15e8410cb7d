//! Batch-shape bookkeeping shared by the distributions.
//!
//! Every distribution stores its parameters flattened to a fixed rank: batch dimensions folded into
//! one leading axis `b`, event dimensions folded into the last `e`. These helpers move between that
//! layout and the user's shapes, broadcasting batch dimensions the way NumPy and torch do.

use super::error::DistributionError;
use burn::tensor::{Device, Int, Tensor};

/// Number of elements of a shape (1 for `[]`).
pub(crate) fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The broadcast of two shapes (right-aligned, size 1 stretches), if they are compatible.
pub(crate) fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let at = |s: &[usize], i: usize| (i + s.len()).checked_sub(rank).map_or(1, |j| s[j]);
    (0..rank)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// Like [`broadcast_shapes`], with an error naming the distribution and what was combined.
pub(crate) fn broadcast_or_err(
    distribution: &'static str,
    what: &str,
    a: &[usize],
    b: &[usize],
) -> Result<Vec<usize>, DistributionError> {
    broadcast_shapes(a, b).ok_or_else(|| DistributionError::ShapeMismatch {
        distribution,
        reason: format!("{what}: shapes {a:?} and {b:?} do not broadcast"),
    })
}

/// Expands the leading (flattened batch) axis of `t` from `from` to `to` (`from` must broadcast
/// to `to`). A no-op when they are equal; otherwise a differentiable `select`.
pub(crate) fn expand_batch<const D: usize>(
    t: Tensor<D>,
    from: &[usize],
    to: &[usize],
) -> Tensor<D> {
    if numel(from) == numel(to) {
        return t; // only size-1 axes differ: the flat layout is the same
    }
    let device = t.device();
    t.select(0, broadcast_index(from, to, &device))
}

/// For each flat position of `to`, the flat position of `from` it reads.
pub(crate) fn broadcast_index(from: &[usize], to: &[usize], device: &Device) -> Tensor<1, Int> {
    let offset = to.len() - from.len();
    let mut strides = vec![0usize; to.len()];
    let mut stride = 1;
    for (i, &size) in from.iter().enumerate().rev() {
        strides[i + offset] = if size == 1 { 0 } else { stride };
        stride *= size;
    }
    let total = numel(to);
    let mut index = Vec::with_capacity(total);
    let mut coord = vec![0usize; to.len()];
    for _ in 0..total {
        index.push(
            coord
                .iter()
                .zip(&strides)
                .map(|(c, s)| c * s)
                .sum::<usize>() as i64,
        );
        for axis in (0..to.len()).rev() {
            coord[axis] += 1;
            if coord[axis] < to[axis] {
                break;
            }
            coord[axis] = 0;
        }
    }
    Tensor::<1, Int>::from_data(index.as_slice(), device)
}

/// Reshapes `t` to `dims` (or `[1]` when `dims` is empty), checking the requested rank.
///
/// # Panics
/// When `R` is not `max(dims.len(), 1)`: the caller asked for the wrong output rank.
pub(crate) fn shaped<const K: usize, const R: usize>(
    t: Tensor<K>,
    dims: &[usize],
    what: &str,
) -> Tensor<R> {
    let dims: Vec<usize> = if dims.is_empty() {
        vec![1]
    } else {
        dims.to_vec()
    };
    let array: [usize; R] = dims.clone().try_into().unwrap_or_else(|_| {
        panic!(
            "{what} has shape {dims:?} (rank {}), but rank {R} was requested",
            dims.len()
        )
    });
    t.reshape(array)
}
