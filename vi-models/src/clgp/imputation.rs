//! The imputation protocol of the CLGP paper: hide one observed entry of each test row, train on
//! everything else, and score the hidden values by perplexity.

use crate::data::{CategoricalTable, permutation, split_mix64};

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
/// let split = imputation_split(&t, 0.2, &[0, 1], 1);
/// assert_eq!(split.hidden.len(), 2);
/// for h in &split.hidden {
///     assert_eq!(split.train.get(h.row, h.variable), None);
///     assert_eq!(t.get(h.row, h.variable), Some(h.value));
/// }
/// ```
pub fn imputation_split(
    table: &CategoricalTable,
    test_fraction: f64,
    hideable: &[usize],
    seed: u64,
) -> ImputationSplit {
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
    hidden.sort_by_key(|h| h.row);
    ImputationSplit { train, hidden }
}

/// `2^(−mean log₂ p) = exp(−mean ln p)` of the probabilities given to the true values
/// (`log_probabilities` natural logs).
pub fn perplexity(log_probabilities: &[f64]) -> f64 {
    let n = log_probabilities.len().max(1) as f64;
    (-log_probabilities.iter().sum::<f64>() / n).exp()
}

/// A model that gives a distribution over a hidden entry's levels.
pub trait Imputer {
    /// `ln p(value)` for the hidden entry, given what training saw.
    fn log_probability(&self, entry: &HiddenEntry) -> f64;

    /// The perplexity over `hidden`.
    fn perplexity(&self, hidden: &[HiddenEntry]) -> f64 {
        let lp: Vec<f64> = hidden.iter().map(|h| self.log_probability(h)).collect();
        perplexity(&lp)
    }
}
