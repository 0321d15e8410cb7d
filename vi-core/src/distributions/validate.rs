//! Parameter validation with one read-back per constructor: each constraint is reduced to a count
//! of satisfying entries on the device, and the counts are read together.

use super::DistributionError;
use burn::tensor::{Int, Tensor};

/// What a parameter must satisfy.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Constraint {
    /// Finite.
    Real,
    /// Finite and `> 0`.
    Positive,
}

/// One parameter's pending check.
pub(crate) struct Check {
    name: &'static str,
    satisfied: Tensor<1, Int>,
    total: usize,
    constraint: Constraint,
}

/// Counts the entries of `t` that satisfy `constraint` (on the device; nothing is read yet).
pub(crate) fn check<const D: usize>(
    name: &'static str,
    t: &Tensor<D>,
    constraint: Constraint,
) -> Check {
    let t = t.clone().detach();
    let total = t.shape().num_elements();
    let ok = match constraint {
        Constraint::Real => t.is_finite(),
        Constraint::Positive => t.clone().is_finite().bool_and(t.greater_elem(0.0)),
    };
    Check {
        name,
        satisfied: ok.int().sum(),
        total,
        constraint,
    }
}

/// Reads every count at once and names the first parameter that fails.
pub(crate) fn validate(
    distribution: &'static str,
    checks: Vec<Check>,
) -> Result<(), DistributionError> {
    if checks.is_empty() {
        return Ok(());
    }
    let counts = Tensor::cat(checks.iter().map(|c| c.satisfied.clone()).collect(), 0);
    let counts: Vec<i64> = counts
        .into_data()
        .convert::<i64>()
        .try_into_vec::<i64>()
        .expect("integer counts");
    for (check, &count) in checks.iter().zip(&counts) {
        if count as usize != check.total {
            let bad = check.total - count as usize;
            let what = match check.constraint {
                Constraint::Real => "finite",
                Constraint::Positive => "finite and > 0",
            };
            return Err(DistributionError::InvalidParameter {
                distribution,
                parameter: check.name,
                reason: format!("{bad} of {} entries are not {what}", check.total),
            });
        }
    }
    Ok(())
}
