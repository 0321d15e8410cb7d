//! The Categorical Latent Gaussian Process (Gal, Chen & Ghahramani, ICML 2015), assembled from
//! [`LatentInputs`] (`q(X)`), an [`Svgp`] layer with shared inducing inputs and kernel, and a
//! softmax per variable.

use super::init::{category_log_frequencies, latent_means_by_pca};
use crate::data::{CategoricalTable, permutation};
use crate::error::ModelError;
use crate::settings;
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution as Noise, Int, Tensor, TensorData};
use vi_blocks::gp::kernel::Kernel;
use vi_blocks::gp::likelihood::CategoricalColumns;
use vi_blocks::gp::{
    GpError, InducingFamily, LatentInputs, LatentInputsConfig, Svgp, SvgpConfig, VariationalFamily,
    Whitened,
};
use vi_core::elbo::read_guarded;

/// Configuration of a [`Clgp`].
#[derive(Config, Debug)]
pub struct ClgpConfig {
    /// Latent dimension `Q`.
    #[config(default = 2)]
    pub latent_dim: usize,
    /// Inducing points `M`, shared by all variables.
    #[config(default = 20)]
    pub num_inducing: usize,
    /// `q(U_d)` per category column: full-rank Cholesky over `M` or mean-field.
    #[config(default = "VariationalFamily::FullRank")]
    pub family: VariationalFamily,
    /// Initial standard deviation of `q(X)`.
    #[config(default = 0.1)]
    pub latent_init_scale: f64,
    /// Seed of the initial inducing-point choice.
    #[config(default = 0)]
    pub seed: u64,
}

/// The CLGP: latent `X ~ q(X) = Πₙ N(mₙ, diag sₙ²)` with prior `N(0, I)`; for variable `d` with
/// `K_d` categories, `K_d` GP outputs `F_d` with the shared kernel and inducing inputs `Z` and
/// `q(U_d) = N(μ, LLᵀ)` per column; `p(y_nd = k | F) = softmax(F_nd)_k`.
///
/// `ELBO = Σ_{n,d observed} E_q[log softmax(F_nd)_{y_nd}] − Σ_d KL(q(U_d) ‖ p(U_d))
///        − Σ_{n with an observed entry} KL(q(xₙ) ‖ N(0, I))`,
/// estimated with `S` reparameterized draws of `X` and of `F | X` (the SVGP marginals).
/// With a [`Linear`](vi_blocks::gp::kernel::Linear) kernel (and `M = Q`) it is the linear latent
/// Gaussian model (LLGM).
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use vi_blocks::gp::kernel::{RbfConfig, ScaleKernelConfig};
/// use vi_models::clgp::{CategoricalObservations, ClgpConfig};
/// use vi_models::data::CategoricalTable;
/// let device = Device::default();
/// let table = CategoricalTable::from_codes(
///     vec!["a".into(), "b".into()], vec![2, 3],
///     vec![Some(0), Some(2), Some(1), None, Some(0), Some(1)],
/// ).unwrap();
/// let kernel = ScaleKernelConfig::new().init(RbfConfig::new(2).init(&device), &device);
/// let clgp = ClgpConfig::new().with_num_inducing(3).init(kernel, &table, &device).unwrap();
/// let data = CategoricalObservations::new(&table, &device);
/// let elbo: f32 = clgp.elbo(&data, 4).unwrap().elbo().into_scalar();
/// assert!(elbo.is_finite() && elbo < 0.0);
/// ```
#[derive(Module, Debug)]
pub struct Clgp<K> {
    /// `q(X)`.
    pub latent: LatentInputs,
    /// The GP from the latent space to the `P = Σ_d K_d` logits.
    pub gp: Svgp<K, InducingFamily>,
    /// `K_d` per variable.
    pub categories: Vec<usize>,
}

/// A [`CategoricalTable`] as device tensors: targets as logit columns, and masks.
#[derive(Debug, Clone)]
pub struct CategoricalObservations {
    /// `[N, D]`: the logit column `offset_d + y_nd` of each entry (`offset_d` where missing).
    pub targets: Tensor<2, Int>,
    /// `[N, D]`: 1 where observed, 0 where missing.
    pub mask: Tensor<2>,
    /// `[N]`: 1 for a row with at least one observed entry.
    pub observed_rows: Tensor<1>,
}

/// The three terms of the CLGP's ELBO (each `[1]`).
#[derive(Debug, Clone)]
pub struct ClgpElbo {
    /// `Σ E_q[log p(y_nd | F_nd)]` over the observed entries.
    pub expected_log_likelihood: Tensor<1>,
    /// `Σ_d KL(q(U_d) ‖ p(U_d))`.
    pub kl_inducing: Tensor<1>,
    /// `Σₙ KL(q(xₙ) ‖ N(0, I))` over rows with an observed entry.
    pub kl_latent: Tensor<1>,
}

impl ClgpElbo {
    /// The ELBO.
    pub fn elbo(&self) -> Tensor<1> {
        self.expected_log_likelihood.clone() - self.kl_inducing.clone() - self.kl_latent.clone()
    }
}

/// Predictive category probabilities for some rows: `[R, P]`, variable `d` in the columns
/// `offset_d .. offset_d + K_d`.
#[derive(Debug, Clone)]
pub struct CategoricalPredictive {
    /// Row-major `[R, P]` probabilities.
    pub probabilities: Vec<f64>,
    /// `K_d` per variable.
    pub categories: Vec<usize>,
}

impl CategoricalPredictive {
    /// `p(y_{row, variable} = k)` for `k` in `0..K_d`, `row` indexing the rows asked for.
    pub fn distribution(&self, row: usize, variable: usize) -> &[f64] {
        let p: usize = self.categories.iter().sum();
        let offset: usize = self.categories[..variable].iter().sum();
        let start = row * p + offset;
        &self.probabilities[start..start + self.categories[variable]]
    }
}

impl CategoricalObservations {
    /// The tensors of `table` on `device`.
    pub fn new(table: &CategoricalTable, device: &Device) -> Self {
        let (n, d) = (table.rows(), table.variables());
        let offset = CategoricalColumns::new(table.categories()).offsets();
        let targets: Vec<i64> = table
            .codes
            .iter()
            .enumerate()
            .map(|(i, c)| (offset[i % d] + c.unwrap_or(0)) as i64)
            .collect();
        let mask: Vec<f32> = table
            .codes
            .iter()
            .map(|c| if c.is_some() { 1.0 } else { 0.0 })
            .collect();
        let observed: Vec<f32> = mask
            .chunks(d)
            .map(|row| {
                if row.iter().any(|&m| m > 0.0) {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        Self {
            targets: Tensor::from_data(TensorData::new(targets, [n, d]), device),
            mask: Tensor::from_data(TensorData::new(mask, [n, d]), device),
            observed_rows: Tensor::from_data(TensorData::new(observed, [n]), device),
        }
    }
}

impl ClgpConfig {
    /// The model for `table`: `q(X)` means from PCA of the one-hot rows (unit variance per
    /// latent dimension), `Z` at `M` of those means, the constant prior means at the centred
    /// log category frequencies, and `q(U)` at the prior (whitened).
    ///
    /// # Errors
    /// [`ModelError::Setting`] for no latent dimensions or inducing points, or an initial
    /// scale that is not finite and positive; [`ModelError::NoRows`] for an empty table.
    pub fn init<K: Kernel>(
        &self,
        kernel: K,
        table: &CategoricalTable,
        device: &Device,
    ) -> Result<Clgp<K>, ModelError> {
        settings::count("latent dimensions", self.latent_dim)?;
        settings::count("inducing points", self.num_inducing)?;
        settings::positive("latent initial scale", self.latent_init_scale)?;
        if table.rows() == 0 {
            return Err(ModelError::NoRows("rows in the categorical table"));
        }
        let (n, q, m) = (table.rows(), self.latent_dim, self.num_inducing);
        let categories = table.categories();
        let p: usize = categories.iter().sum();
        let means = latent_means_by_pca(table, q, self.seed);
        let mut state = self.seed;
        let mut z = Vec::with_capacity(m * q);
        let order = permutation(n, &mut state);
        for i in 0..m {
            z.extend_from_slice(&means[order[i % n] * q..order[i % n] * q + q]);
        }
        let z = Tensor::<2>::from_data(TensorData::new(z, [m, q]).convert::<f32>(), device)
            + Tensor::random([m, q], Noise::Normal(0.0, 0.05), device);
        let family = self.family.standard(p, m, device);
        let mut gp = SvgpConfig::new(q, m)
            .with_outputs(p)
            .init_with(kernel, family, Whitened, device)
            .with_inducing_points(z);
        let constant = category_log_frequencies(table);
        gp.mean.constant = Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(constant, [p]).convert::<f32>(),
            device,
        )));
        let latent = LatentInputsConfig::new(n, q)
            .with_init_scale(self.latent_init_scale)
            .init(device)
            .with_means(Tensor::from_data(
                TensorData::new(means, [n, q]).convert::<f32>(),
                device,
            ));
        Ok(Clgp {
            latent,
            gp,
            categories,
        })
    }
}

impl<K: Kernel> Clgp<K> {
    /// The number of GP outputs `P = Σ_d K_d`.
    pub fn outputs(&self) -> usize {
        self.categories.iter().sum()
    }

    /// The ELBO estimated with `samples` draws of `X` and `F`.
    ///
    /// # Errors
    /// [`GpError`] when `K_zz` cannot be factorised, or the data does not match the model.
    pub fn elbo(
        &self,
        data: &CategoricalObservations,
        samples: usize,
    ) -> Result<ClgpElbo, GpError> {
        let (eps_x, eps_f) = self.noise(samples);
        self.elbo_with_noise(data, eps_x, eps_f)
    }

    /// Standard-normal draws `ε_x` `[S, N, Q]` and `ε_f` `[S·N, P]` for an ELBO estimate.
    fn noise(&self, samples: usize) -> (Tensor<3>, Tensor<2>) {
        let s = samples.max(1);
        let [n, q] = self.latent.loc.dims();
        let like = (&self.latent.loc.device(), self.latent.loc.dtype());
        let eps_x = vi_core::random::random([s, n, q], Noise::Normal(0.0, 1.0), like);
        let eps_f = vi_core::random::random([s * n, self.outputs()], Noise::Normal(0.0, 1.0), like);
        (eps_x, eps_f)
    }

    /// `scale · ELBO` (the training loss) and its value, read back in one device round trip
    /// together with `K_zz`'s factor check ([`Svgp::forward_deferred`]); when `K_zz` needs more
    /// than the configured jitter, recomputed from the same draws with the factor checked.
    ///
    /// # Errors
    /// As [`Clgp::elbo`].
    pub(crate) fn scaled_elbo(
        &self,
        data: &CategoricalObservations,
        samples: usize,
        scale: f64,
    ) -> Result<(Tensor<1>, f64), GpError> {
        let (eps_x, eps_f) = self.noise(samples);
        let (terms, guard) = self.elbo_from(data, eps_x.clone(), eps_f.clone(), true)?;
        let loss = terms.elbo().mul_scalar(scale);
        let guard = guard.expect("a deferred forward holds its guard");
        if let Some(value) = read_guarded(loss.clone(), guard) {
            return Ok((loss, value));
        }
        let loss = self
            .elbo_from(data, eps_x, eps_f, false)?
            .0
            .elbo()
            .mul_scalar(scale);
        let value = loss.clone().detach().into_scalar::<f64>();
        Ok((loss, value))
    }

    /// The ELBO estimate for given standard-normal draws: `X_s = m + s ⊙ ε_x[s]` (`ε_x`
    /// `[S, N, Q]`) and `F = μ(X) + σ(X) ⊙ ε_f` (`ε_f` `[S·N, P]`, sample-major rows).
    ///
    /// # Errors
    /// As [`Clgp::elbo`], and [`GpError::ShapeMismatch`] for noise or data of the wrong shape.
    pub fn elbo_with_noise(
        &self,
        data: &CategoricalObservations,
        eps_x: Tensor<3>,
        eps_f: Tensor<2>,
    ) -> Result<ClgpElbo, GpError> {
        self.elbo_from(data, eps_x, eps_f, false)
            .map(|(terms, _)| terms)
    }

    /// [`Clgp::elbo_with_noise`], with `K_zz`'s factor checked or (`deferred`) its guard returned.
    fn elbo_from(
        &self,
        data: &CategoricalObservations,
        eps_x: Tensor<3>,
        eps_f: Tensor<2>,
        deferred: bool,
    ) -> Result<(ClgpElbo, Option<Tensor<1>>), GpError> {
        let [n, q] = self.latent.loc.dims();
        let [s, nx, qx] = eps_x.dims();
        let d = self.categories.len();
        let mismatch = |reason: String| GpError::ShapeMismatch {
            block: "Clgp",
            reason,
        };
        if (nx, qx) != (n, q) || eps_f.dims() != [s * n, self.outputs()] {
            return Err(mismatch(format!(
                "noise {:?} and {:?} for {n} rows, Q = {q}, P = {}",
                eps_x.dims(),
                eps_f.dims(),
                self.outputs()
            )));
        }
        if data.targets.dims() != [n, d] {
            return Err(mismatch(format!(
                "targets {:?} for {n} rows of {d} variables",
                data.targets.dims()
            )));
        }
        let x = eps_x * self.latent.scale().unsqueeze() + self.latent.loc.val().unsqueeze();
        let x = x.reshape([s * n, q]);
        let out = if deferred {
            self.gp.forward_deferred(x)?
        } else {
            self.gp.forward(x)?
        };
        let f = out.f.mean + out.f.variance.sqrt() * eps_f;
        let columns = CategoricalColumns::new(self.categories.clone());
        let log_p = columns.log_prob(f, data.targets.clone().repeat_dim(0, s));
        let dtype = self.latent.loc.dtype();
        let observed = data.mask.clone().cast(dtype).unsqueeze::<3>(); // [1, N, D]
        let kl_latent = self.latent.kl_to_prior()? * data.observed_rows.clone().cast(dtype);
        let terms = ClgpElbo {
            expected_log_likelihood: (log_p.reshape([s, n, d]) * observed)
                .sum()
                .mul_scalar(1.0 / s as f64),
            kl_inducing: out.kl.sum(),
            kl_latent: kl_latent.sum(),
        };
        Ok((terms, out.guard))
    }

    /// Predictive probabilities of every variable at `rows` (of the training table), averaged
    /// over `samples` draws of `xₙ ~ q(xₙ)` and `F | xₙ`.
    ///
    /// # Errors
    /// As [`Clgp::elbo`].
    pub fn predict(
        &self,
        rows: &[usize],
        samples: usize,
    ) -> Result<CategoricalPredictive, GpError> {
        let (r, p, q) = (rows.len(), self.outputs(), self.latent.loc.dims()[1]);
        let prior = self.gp.inducing_prior()?;
        let q_x = self.latent.select(rows)?;
        let columns = CategoricalColumns::new(self.categories.clone());
        let mut total = vec![0.0f64; r * p];
        let chunk = (65_536 / r.max(1)).clamp(1, 256);
        let mut done = 0;
        while done < samples.max(1) {
            let s = chunk.min(samples.max(1) - done);
            let x = vi_core::distributions::Reparameterized::rsample::<3>(&q_x, s);
            let f = self.gp.marginals(&prior, x.reshape([s * r, q]))?.sample(1);
            let f = f.reshape([s * r, p]);
            let mean = columns.probabilities(f).reshape([s, r, p]).sum_dim(0);
            let values = mean
                .into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .unwrap_or_default();
            for (t, v) in total.iter_mut().zip(values) {
                *t += v;
            }
            done += s;
        }
        let scale = 1.0 / done as f64;
        Ok(CategoricalPredictive {
            probabilities: total.into_iter().map(|v| v * scale).collect(),
            categories: self.categories.clone(),
        })
    }

    /// The means of `q(X)`, row-major `[N, Q]`.
    pub fn latent_means(&self) -> Vec<f64> {
        self.latent
            .loc
            .val()
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .unwrap_or_default()
    }
}
