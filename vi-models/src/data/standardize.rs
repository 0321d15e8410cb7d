/// Per-column standardisation `(x − mean) / std` with statistics of a training set; columns with
/// zero spread are left centred (std taken as 1), as in Gal's UCI code.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Standardizer {
    /// Column means.
    pub mean: Vec<f64>,
    /// Column standard deviations (population, `ddof = 0`, as numpy's default).
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Statistics of the `cols` columns of row-major `data`.
    ///
    /// # Example
    /// ```
    /// use vi_models::data::Standardizer;
    /// let s = Standardizer::fit(&[1.0, 10.0, 3.0, 10.0], 2);
    /// assert_eq!(s.mean, vec![2.0, 10.0]);
    /// assert_eq!(s.std, vec![1.0, 1.0]); // the constant column keeps std 1
    /// assert_eq!(s.transform(&[3.0, 11.0]), vec![1.0, 1.0]);
    /// ```
    pub fn fit(data: &[f64], cols: usize) -> Self {
        let rows = (data.len() / cols.max(1)).max(1) as f64;
        let mut mean = vec![0.0; cols];
        for row in data.chunks(cols) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v / rows;
            }
        }
        let mut var = vec![0.0; cols];
        for row in data.chunks(cols) {
            for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (v - m).powi(2) / rows;
            }
        }
        let std = var
            .into_iter()
            .map(|v| if v > 0.0 { v.sqrt() } else { 1.0 })
            .collect();
        Self { mean, std }
    }

    /// Standardised copy of row-major `data`.
    pub fn transform(&self, data: &[f64]) -> Vec<f64> {
        let cols = self.mean.len();
        data.iter()
            .enumerate()
            .map(|(i, v)| (v - self.mean[i % cols]) / self.std[i % cols])
            .collect()
    }

    /// Back to the original units (`x · std + mean`).
    pub fn inverse(&self, data: &[f64]) -> Vec<f64> {
        let cols = self.mean.len();
        data.iter()
            .enumerate()
            .map(|(i, v)| v * self.std[i % cols] + self.mean[i % cols])
            .collect()
    }
}
