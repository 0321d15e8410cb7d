//! Several categorical variables side by side in one row of logits (the CLGP's observation
//! model; Gal, Chen & Ghahramani 2015).

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};
use vi_core::special::logsumexp;

/// `D` categorical variables whose logits share a row: variable `d` owns the `K_d` columns
/// `offset_d .. offset_d + K_d` of `F` `[R, P = Σ_d K_d]`, and
/// `p(y_d = k | F) = softmax(F[offset_d .. offset_d + K_d])_k`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Int, Tensor, TensorData};
/// use vi_blocks::gp::likelihood::CategoricalColumns;
/// let device = Device::default();
/// let columns = CategoricalColumns::new(vec![2, 3]);
/// let logits = Tensor::<2>::zeros([1, 5], &device);
/// // Targets as logit columns: variable 0 is category 1 (column 1), variable 1 category 0 (column 2).
/// let targets = Tensor::<2, Int>::from_data(TensorData::new(vec![1i64, 2], [1, 2]), &device);
/// let lp: Vec<f32> = columns.log_prob(logits, targets).into_data().to_vec().unwrap();
/// assert!((lp[0] - 0.5f32.ln()).abs() < 1e-6 && (lp[1] - (1.0f32 / 3.0).ln()).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoricalColumns {
    categories: Vec<usize>,
}

impl CategoricalColumns {
    /// Variables with `K_d = categories[d]`.
    pub fn new(categories: Vec<usize>) -> Self {
        Self { categories }
    }

    /// `K_d` per variable.
    pub fn categories(&self) -> &[usize] {
        &self.categories
    }

    /// `P = Σ_d K_d`.
    pub fn columns(&self) -> usize {
        self.categories.iter().sum()
    }

    /// `offset_d` per variable.
    pub fn offsets(&self) -> Vec<usize> {
        self.categories
            .iter()
            .scan(0, |acc, &k| {
                let o = *acc;
                *acc += k;
                Some(o)
            })
            .collect()
    }

    /// `ln p(y_rd | F_r)` `[R, D]` from logits `[R, P]` and targets `[R, D]` given as logit
    /// columns (`offset_d + y_rd`).
    pub fn log_prob(&self, logits: Tensor<2>, targets: Tensor<2, Int>) -> Tensor<2> {
        let [rows, _] = logits.dims();
        let normalisers: Vec<Tensor<2>> = self
            .offsets()
            .iter()
            .zip(&self.categories)
            .map(|(&o, &k)| logsumexp(logits.clone().slice([0..rows, o..o + k]), 1))
            .collect();
        logits.gather(1, targets) - Tensor::cat(normalisers, 1)
    }

    /// Every variable's category probabilities, `[R, P]`.
    pub fn probabilities(&self, logits: Tensor<2>) -> Tensor<2> {
        let [rows, _] = logits.dims();
        let probabilities: Vec<Tensor<2>> = self
            .offsets()
            .iter()
            .zip(&self.categories)
            .map(|(&o, &k)| log_softmax(logits.clone().slice([0..rows, o..o + k]), 1).exp())
            .collect();
        Tensor::cat(probabilities, 1)
    }
}
