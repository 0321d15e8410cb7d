//! The imputation protocol of the CLGP paper: hide one observed entry of each test row, train on
//! everything else, and score the hidden values by perplexity.

use crate::data::{CategoricalTable, permutation, split_mix64};
use crate::error::ModelError;
use crate::metrics::MetricError;

/// An entry hidden from training: its row, variable and true level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HiddenEntry {
    /// Row of the table.
    pub row: usize,
    /// Variable index.
    pub variable: usize,
    /// The true level.
    pub value: usize,
}

/// A training table with some entries hidden, and those entries.
#[derive(Debug, Clone)]
pub struct ImputationSplit {
    /// The table with the hidden entries marked missing (test rows keep their other entries).
    pub train: CategoricalTable,
    /// The hidden entries, one per test row.
    pub hidden: Vec<HiddenEntry>,
}

/// A seeded split: `test_fraction` of the rows (those with an observed entry among `hideable`)
/// become test rows, and in each one uniformly chosen observed variable of `hideable` is hidden.
///
/// # Example
/// ```
/// use vi_models::clgp::imputation_split;
/// use vi_models::data::CategoricalTable;
/// let t = CategoricalTable::from_codes(vec!["a".into(), "b".into()], vec![2, 2],
///     (0..20).map(|i| Some(i % 2)).collect()).unwrap();
/// let split = imputation_split(&t, 0.2, &[0, 1], 1).unwrap();
/// assert_eq!(split.hidden.len(), 2);
/// for h in &split.hidden {
///     assert_eq!(split.train.get(h.row, h.variable), None);
///     assert_eq!(t.get(h.row, h.variable), Some(h.value));
/// }
/// assert!(imputation_split(&t, 0.0, &[0, 1], 1).is_err());
/// ```
///
/// # Errors
/// [`ModelError::Setting`] for a fraction outside `(0, 1)`; [`ModelError::NoRows`] when no
/// entry gets hidden (no row has an observed `hideable` variable, or the fraction rounds to no
/// rows).
pub fn imputation_split(
    table: &CategoricalTable,
    test_fraction: f64,
    hideable: &[usize],
    seed: u64,
) -> Result<ImputationSplit, ModelError> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(ModelError::Setting {
            setting: "test fraction",
            value: test_fraction,
            expected: "in (0, 1)",
        });
    }
    let mut state = seed;
    let candidates: Vec<usize> = permutation(table.rows(), &mut state)
        .into_iter()
        .filter(|&r| hideable.iter().any(|&v| table.get(r, v).is_some()))
        .collect();
    let tests = ((table.rows() as f64 * test_fraction).round() as usize).min(candidates.len());
    let mut train = table.clone();
    let mut hidden = Vec::with_capacity(tests);
    for &row in &candidates[..tests] {
        let observed: Vec<usize> = hideable
            .iter()
            .copied()
            .filter(|&v| table.get(row, v).is_some())
            .collect();
        let variable = observed[(split_mix64(&mut state) % observed.len() as u64) as usize];
        let value = table.get(row, variable).unwrap_or_default();
        train.hide(row, variable);
        hidden.push(HiddenEntry {
            row,
            variable,
            value,
        });
    }
    if hidden.is_empty() {
        return Err(ModelError::NoRows(
            "test rows with an observed entry to hide",
        ));
    }
    hidden.sort_by_key(|h| h.row);
    Ok(ImputationSplit { train, hidden })
}

/// `2^(−mean log₂ p) = exp(−mean ln p)` of the probabilities given to the true values
/// (`log_probabilities` natural logs).
///
/// # Errors
/// [`MetricError::Empty`] for no values.
///
/// # Example
/// ```
/// use vi_models::clgp::perplexity;
/// let p = perplexity(&[0.25f64.ln(), 0.25f64.ln()]).unwrap();
/// assert!((p - 4.0).abs() < 1e-12);
/// assert!(perplexity(&[]).is_err());
/// ```
pub fn perplexity(log_probabilities: &[f64]) -> Result<f64, MetricError> {
    if log_probabilities.is_empty() {
        return Err(MetricError::Empty);
    }
    let n = log_probabilities.len() as f64;
    Ok((-log_probabilities.iter().sum::<f64>() / n).exp())
}

/// A model that gives a distribution over a hidden entry's levels.
pub trait Imputer {
    /// `ln p(value)` for the hidden entry, given what training saw.
    fn log_probability(&self, entry: &HiddenEntry) -> f64;

    /// The perplexity over `hidden`.
    ///
    /// # Errors
    /// [`MetricError::Empty`] for no hidden entries.
    fn perplexity(&self, hidden: &[HiddenEntry]) -> Result<f64, MetricError> {
        let lp: Vec<f64> = hidden.iter().map(|h| self.log_probability(h)).collect();
        perplexity(&lp)
    }
}
