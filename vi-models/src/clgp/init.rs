//! Starting values for the CLGP, computed on the host.

use crate::data::{CategoricalTable, permutation};

/// The one-hot rows of `table` projected on their first `q` principal components, each scaled
/// to unit variance: `[N, Q]` row-major. A missing entry contributes zeros (the column mean after
/// centring). Components by power iteration with deflation on the `P × P` covariance.
pub(crate) fn latent_means_by_pca(table: &CategoricalTable, q: usize, seed: u64) -> Vec<f64> {
    let (n, d) = (table.rows(), table.variables());
    let categories = table.categories();
    let p: usize = categories.iter().sum();
    let mut onehot = vec![0.0f64; n * p];
    for row in 0..n {
        let mut offset = 0;
        for (v, &k) in categories.iter().enumerate() {
            if let Some(c) = table.get(row, v) {
                onehot[row * p + offset + c] = 1.0;
            }
            offset += k;
        }
    }
    debug_assert_eq!(table.codes.len(), n * d);
    for c in 0..p {
        let mean = (0..n).map(|r| onehot[r * p + c]).sum::<f64>() / n as f64;
        for r in 0..n {
            onehot[r * p + c] -= mean;
        }
    }
    let mut cov = vec![0.0f64; p * p];
    for r in 0..n {
        let x = &onehot[r * p..(r + 1) * p];
        for i in 0..p {
            if x[i] != 0.0 {
                for j in 0..p {
                    cov[i * p + j] += x[i] * x[j];
                }
            }
        }
    }
    let mut state = seed ^ 0x5eed;
    let mut components: Vec<Vec<f64>> = Vec::with_capacity(q);
    for _ in 0..q {
        // A deterministic, seeded start that is not orthogonal to the leading direction.
        let order = permutation(p, &mut state);
        let mut v: Vec<f64> = order.iter().map(|&i| 1.0 + i as f64 / p as f64).collect();
        for _ in 0..500 {
            let mut w: Vec<f64> = (0..p)
                .map(|i| (0..p).map(|j| cov[i * p + j] * v[j]).sum())
                .collect();
            for c in &components {
                let dot: f64 = w.iter().zip(c).map(|(a, b)| a * b).sum();
                w.iter_mut().zip(c).for_each(|(a, b)| *a -= dot * b);
            }
            let norm = w.iter().map(|a| a * a).sum::<f64>().sqrt();
            if norm < 1e-12 {
                break;
            }
            v = w.into_iter().map(|a| a / norm).collect();
        }
        components.push(v);
    }
    let mut scores = vec![0.0f64; n * q];
    for (k, c) in components.iter().enumerate() {
        let column: Vec<f64> = (0..n)
            .map(|r| (0..p).map(|i| onehot[r * p + i] * c[i]).sum())
            .collect();
        let sd = (column.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt();
        let sd = if sd > 1e-12 { sd } else { 1.0 };
        for r in 0..n {
            scores[r * q + k] = column[r] / sd;
        }
    }
    scores
}

/// Per variable, `log((count + 1) / (observed + K_d))` centred over its categories: `[P]`.
pub(crate) fn category_log_frequencies(table: &CategoricalTable) -> Vec<f64> {
    let mut out = Vec::new();
    for (v, &k) in table.categories().iter().enumerate() {
        let mut counts = vec![1.0f64; k];
        for row in 0..table.rows() {
            if let Some(c) = table.get(row, v) {
                counts[c] += 1.0;
            }
        }
        let logs: Vec<f64> = counts.iter().map(|c| c.ln()).collect();
        let mean = logs.iter().sum::<f64>() / k as f64;
        out.extend(logs.iter().map(|l| l - mean));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pca_separates_two_clusters_and_has_unit_variance() {
        // Rows 0..20 are all level 0, rows 20..40 all level 1, in three variables.
        let codes: Vec<Option<usize>> = (0..40)
            .flat_map(|r| std::iter::repeat_n(Some(usize::from(r >= 20)), 3))
            .collect();
        let t = CategoricalTable::from_codes(
            vec!["a".into(), "b".into(), "c".into()],
            vec![2, 2, 2],
            codes,
        )
        .unwrap();
        let x = latent_means_by_pca(&t, 1, 0);
        let var = x.iter().map(|v| v * v).sum::<f64>() / 40.0;
        assert!((var - 1.0).abs() < 1e-9, "{var}");
        assert!((x[0] - x[39]).abs() > 1.9 && (x[0] - x[19]).abs() < 1e-9);
    }

    #[test]
    fn log_frequencies_are_centred_laplace_estimates() {
        let t = CategoricalTable::from_codes(
            vec!["a".into()],
            vec![3],
            vec![Some(0), Some(0), Some(2), None],
        )
        .unwrap();
        let f = category_log_frequencies(&t);
        let expected = [3.0f64.ln(), 0.0, 2.0f64.ln()];
        let mean = expected.iter().sum::<f64>() / 3.0;
        for (a, b) in f.iter().zip(expected) {
            assert!((a - (b - mean)).abs() < 1e-12);
        }
    }
}
