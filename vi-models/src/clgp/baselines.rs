//! The baselines of the CLGP paper's imputation experiment, computed on the host.

use super::imputation::{HiddenEntry, Imputer, imputation_split};
use crate::data::{CategoricalTable, uniform01};
use crate::error::ModelError;
use crate::settings;

/// Every level equally likely: perplexity `K_d`.
#[derive(Debug, Clone)]
pub struct UniformImputer {
    categories: Vec<usize>,
}

impl UniformImputer {
    /// For the variables of `table`.
    pub fn new(table: &CategoricalTable) -> Self {
        Self {
            categories: table.categories(),
        }
    }
}

impl Imputer for UniformImputer {
    fn log_probability(&self, entry: &HiddenEntry) -> f64 {
        -(self.categories[entry.variable] as f64).ln()
    }
}

/// Independent multinomials per variable with Laplace smoothing:
/// `p(k) = (count_k + 1) / (observed + K_d)`.
#[derive(Debug, Clone)]
pub struct MultinomialImputer {
    log_probs: Vec<Vec<f64>>,
}

impl MultinomialImputer {
    /// Counts of the observed entries of `train`.
    pub fn fit(train: &CategoricalTable) -> Self {
        let log_probs = train
            .categories()
            .iter()
            .enumerate()
            .map(|(v, &k)| {
                let mut counts = vec![1.0f64; k];
                for row in 0..train.rows() {
                    if let Some(c) = train.get(row, v) {
                        counts[c] += 1.0;
                    }
                }
                let total: f64 = counts.iter().sum();
                counts.iter().map(|c| (c / total).ln()).collect()
            })
            .collect();
        Self { log_probs }
    }
}

impl Imputer for MultinomialImputer {
    fn log_probability(&self, entry: &HiddenEntry) -> f64 {
        self.log_probs[entry.variable][entry.value]
    }
}

/// A mixture of products of multinomials, `p(y) = Σ_c π_c Π_d θ_{c,d}(y_d)`, fitted by EM with
/// add-one (Dirichlet(2)) smoothing of `π` and `θ`, missing entries marginalised out; the best of
/// several seeded restarts. A hidden entry is predicted from its row's observed entries:
/// `p(y_d = k | y_obs) = Σ_c p(c | y_obs) θ_{c,d}(k)`.
#[derive(Debug, Clone)]
pub struct MixtureImputer {
    train: CategoricalTable,
    log_weights: Vec<f64>,
    /// `log θ[c][d][k]`.
    log_theta: Vec<Vec<Vec<f64>>>,
}

fn log_sum_exp(v: &[f64]) -> f64 {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    max + v.iter().map(|x| (x - max).exp()).sum::<f64>().ln()
}

impl MixtureImputer {
    /// EM with `components` components, `iterations` per restart, `restarts` seeded restarts.
    ///
    /// # Errors
    /// [`ModelError::Setting`] for zero components, iterations or restarts.
    pub fn fit(
        train: &CategoricalTable,
        components: usize,
        iterations: usize,
        restarts: usize,
        seed: u64,
    ) -> Result<Self, ModelError> {
        settings::count("mixture components", components)?;
        settings::count("EM iterations", iterations)?;
        settings::count("EM restarts", restarts)?;
        let mut state = seed;
        let mut best: Option<(f64, Self)> = None;
        for _ in 0..restarts {
            let (ll, model) = Self::fit_once(train, components, iterations, &mut state);
            if best.as_ref().is_none_or(|(b, _)| ll > *b) {
                best = Some((ll, model));
            }
        }
        best.map(|(_, m)| m)
            .ok_or(ModelError::NoRows("EM restarts"))
    }

    /// Chooses the number of components from `candidates` by the perplexity of a validation
    /// split of `train` (one entry hidden in 20 % of its rows), then fits on all of `train`.
    ///
    /// # Errors
    /// [`ModelError::Setting`] for no candidates or a zero candidate; as
    /// [`imputation_split`] for the validation split.
    pub fn fit_selected(
        train: &CategoricalTable,
        candidates: &[usize],
        hideable: &[usize],
        seed: u64,
    ) -> Result<(usize, Self), ModelError> {
        settings::count("mixture candidates", candidates.len())?;
        let validation = imputation_split(train, 0.2, hideable, seed ^ 0xa11ce)?;
        let mut best: Option<(usize, f64)> = None;
        for &c in candidates {
            let m = Self::fit(&validation.train, c, 200, 5, seed)?;
            let p = m.perplexity(&validation.hidden)?;
            if best.is_none_or(|(_, b)| p < b) {
                best = Some((c, p));
            }
        }
        let chosen = best.map_or(1, |(c, _)| c);
        Ok((chosen, Self::fit(train, chosen, 200, 5, seed)?))
    }

    fn row_log_joint(&self, row: usize, skip: Option<usize>) -> Vec<f64> {
        self.log_weights
            .iter()
            .enumerate()
            .map(|(c, lw)| {
                lw + (0..self.train.variables())
                    .filter(|&v| Some(v) != skip)
                    .filter_map(|v| self.train.get(row, v).map(|k| self.log_theta[c][v][k]))
                    .sum::<f64>()
            })
            .collect()
    }

    fn fit_once(
        train: &CategoricalTable,
        c: usize,
        iterations: usize,
        state: &mut u64,
    ) -> (f64, Self) {
        let (n, categories) = (train.rows(), train.categories());
        let mut resp: Vec<Vec<f64>> = (0..n)
            .map(|_| {
                let r: Vec<f64> = (0..c).map(|_| 0.1 + uniform01(state)).collect();
                let s: f64 = r.iter().sum();
                r.into_iter().map(|v| v / s).collect()
            })
            .collect();
        let mut model = Self {
            train: train.clone(),
            log_weights: vec![0.0; c],
            log_theta: Vec::new(),
        };
        let mut previous = f64::NEG_INFINITY;
        let mut ll = previous;
        for _ in 0..iterations.max(1) {
            // M step.
            let totals: Vec<f64> = (0..c).map(|j| resp.iter().map(|r| r[j]).sum()).collect();
            model.log_weights = totals
                .iter()
                .map(|t| ((t + 1.0) / (n as f64 + c as f64)).ln())
                .collect();
            model.log_theta = (0..c)
                .map(|j| {
                    categories
                        .iter()
                        .enumerate()
                        .map(|(v, &k)| {
                            let mut counts = vec![1.0f64; k];
                            for (row, r) in resp.iter().enumerate() {
                                if let Some(level) = train.get(row, v) {
                                    counts[level] += r[j];
                                }
                            }
                            let total: f64 = counts.iter().sum();
                            counts.iter().map(|x| (x / total).ln()).collect()
                        })
                        .collect()
                })
                .collect();
            // E step.
            ll = 0.0;
            for (row, r) in resp.iter_mut().enumerate() {
                let joint = model.row_log_joint(row, None);
                let norm = log_sum_exp(&joint);
                ll += norm;
                for (ri, j) in r.iter_mut().zip(&joint) {
                    *ri = (j - norm).exp();
                }
            }
            if (ll - previous).abs() < 1e-9 * ll.abs() {
                break;
            }
            previous = ll;
        }
        (ll, model)
    }
}

impl Imputer for MixtureImputer {
    fn log_probability(&self, entry: &HiddenEntry) -> f64 {
        let joint = self.row_log_joint(entry.row, Some(entry.variable));
        let terms: Vec<f64> = joint
            .iter()
            .enumerate()
            .map(|(c, j)| j + self.log_theta[c][entry.variable][entry.value])
            .collect();
        log_sum_exp(&terms) - log_sum_exp(&joint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two clusters of rows that agree on every variable: given the other entries, a mixture
    /// predicts a hidden one almost surely, the multinomial at its marginal rate.
    #[test]
    fn mixture_recovers_clusters_the_multinomial_cannot() {
        let codes: Vec<Option<usize>> = (0..60)
            .flat_map(|r| std::iter::repeat_n(Some(if r % 2 == 0 { 0 } else { 3 }), 4))
            .collect();
        let names = (0..4).map(|i| format!("v{i}")).collect();
        let table = CategoricalTable::from_codes(names, vec![4; 4], codes).unwrap();
        let split = imputation_split(&table, 0.2, &[0, 1, 2, 3], 3).unwrap();
        let uniform = UniformImputer::new(&split.train)
            .perplexity(&split.hidden)
            .unwrap();
        let multinomial = MultinomialImputer::fit(&split.train)
            .perplexity(&split.hidden)
            .unwrap();
        let (c, mixture) =
            MixtureImputer::fit_selected(&split.train, &[1, 2, 4], &[0, 1, 2, 3], 0).unwrap();
        let mixture = mixture.perplexity(&split.hidden).unwrap();
        assert!((uniform - 4.0).abs() < 1e-12);
        // Level frequencies 1/2, 1/2 (with Laplace smoothing slightly less): perplexity ≈ 2.
        assert!((multinomial - 2.0).abs() < 0.2, "{multinomial}");
        assert!(c >= 2 && mixture < 1.2, "{c} components: {mixture}");
    }
}
