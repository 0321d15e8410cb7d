//! Parameter validation with one read-back per constructor. Each constraint is reduced on the
//! device to one scalar that is exactly 0 when it holds (`Σ 0·x` is NaN as soon as one entry is
//! NaN or infinite; `any(x ≤ 0)` counts violations of positivity); all scalars are read together.
//! Only when one fails are the offending entries counted, for the message.

use super::error::DistributionError;
use burn::tensor::{FloatDType, Tensor};

/// What a parameter must satisfy.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Constraint {
    /// Finite.
    Real,
    /// Finite and `> 0`.
    Positive,
}

/// One parameter's pending check.
pub(crate) struct Check<const D: usize> {
    name: &'static str,
    tensor: Tensor<D>,
    constraint: Constraint,
}

/// A check of `t` against `constraint` (nothing is computed yet).
pub(crate) fn check<const D: usize>(
    name: &'static str,
    t: &Tensor<D>,
    constraint: Constraint,
) -> Check<D> {
    Check {
        name,
        tensor: t.clone().detach(),
        constraint,
    }
}

impl<const D: usize> Check<D> {
    /// `[1]`, 0 iff the constraint holds.
    fn violation(&self) -> Tensor<1> {
        let t = self.tensor.clone();
        let non_finite = t.clone().mul_scalar(0.0).sum().cast(FloatDType::F32);
        match self.constraint {
            Constraint::Real => non_finite,
            Constraint::Positive => {
                non_finite + t.lower_equal_elem(0.0).any().float().cast(FloatDType::F32)
            }
        }
    }

    /// The error naming the parameter, with the number of offending entries.
    fn error(&self, distribution: &'static str) -> DistributionError {
        let t = self.tensor.clone();
        let total = t.shape().num_elements();
        let ok = match self.constraint {
            Constraint::Real => t.is_finite(),
            Constraint::Positive => t.clone().is_finite().bool_and(t.greater_elem(0.0)),
        };
        let good: i64 = ok.int().sum().into_scalar();
        let what = match self.constraint {
            Constraint::Real => "finite",
            Constraint::Positive => "finite and > 0",
        };
        DistributionError::InvalidParameter {
            distribution,
            parameter: self.name,
            reason: format!(
                "{} of {total} entries are not {what}",
                total - good as usize
            ),
        }
    }
}

/// Object-safe view of a [`Check`] of any rank.
pub(crate) trait Pending {
    fn violation(&self) -> Tensor<1>;
    fn error(&self, distribution: &'static str) -> DistributionError;
}

impl<const D: usize> Pending for Check<D> {
    fn violation(&self) -> Tensor<1> {
        Check::violation(self)
    }
    fn error(&self, distribution: &'static str) -> DistributionError {
        Check::error(self, distribution)
    }
}

/// Reads every check's scalar at once and reports the first that fails.
pub(crate) fn validate(
    distribution: &'static str,
    checks: &[&dyn Pending],
) -> Result<(), DistributionError> {
    if checks.is_empty() {
        return Ok(());
    }
    let flags: Vec<f32> = Tensor::cat(checks.iter().map(|c| c.violation()).collect(), 0)
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("float flags");
    match checks.iter().zip(flags).find(|(_, flag)| *flag != 0.0) {
        Some((check, _)) => Err(check.error(distribution)),
        None => Ok(()),
    }
}
