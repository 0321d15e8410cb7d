//! Doubly stochastic deep GPs (Salimbeni & Deisenroth 2017): SVGP layers stacked, each fed
//! reparameterized draws of the previous layer's marginals.

use super::error::GpError;
use super::kernel::Kernel;
use super::marginals::GaussianMarginals;
use super::mean::MeanKind;
use super::svgp::{Svgp, SvgpConfig, SvgpOutput};
use crate::family::FullRankGaussian;
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use vi_core::elbo::{Elbo, ElboTerms};

/// Configuration of a [`DeepGp`].
#[derive(Config, Debug)]
pub struct DeepGpConfig {
    /// Widths `[d_in, h_1, …, d_out]`: `dims.len() − 1` layers.
    pub dims: Vec<usize>,
    /// Inducing points per layer.
    pub num_inducing: usize,
    /// Initial standard deviation of the hidden layers' whitened `q(v)` (small, so that the
    /// stack starts near its mean functions, as Salimbeni & Deisenroth do).
    #[config(default = 1e-5)]
    pub hidden_init_scale: f64,
}

/// A deep GP `f = f_L ∘ … ∘ f_1`: hidden layers have linear mean functions (identity at
/// initialisation) and the last a constant mean; every layer is a whitened full-rank [`Svgp`]
/// with its inducing points shared across its outputs.
///
/// The ELBO is `E_{q}[ln p(y | f_L)] − Σ_l KL_l`, estimated with `S` samples propagated through
/// the layers ([`DeepGp::forward`]).
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::gp::DeepGpConfig;
/// use vi_blocks::gp::kernel::{RbfConfig, ScaleKernelConfig};
/// let device = Device::default();
/// let dgp = DeepGpConfig::new(vec![3, 2, 1], 8).init(
///     |input_dim| ScaleKernelConfig::new().init(RbfConfig::new(input_dim).init(&device), &device),
///     &device,
/// );
/// let out = dgp.forward(Tensor::<2>::ones([4, 3], &device), 5).unwrap();
/// assert_eq!(out.f.mean.dims(), [5 * 4, 1]);
/// let kl: f32 = out.kl.into_scalar();
/// assert!(kl >= 0.0);
/// ```
#[derive(Module, Debug)]
pub struct DeepGp<K> {
    /// The layers, input first.
    pub layers: Vec<Svgp<K>>,
}

/// One minibatch's ELBO from [`DeepGp::elbo`]: the stack's output and the checked terms.
#[derive(Debug, Clone)]
pub struct DeepGpElbo {
    /// The last layer's marginals and the total KL, as [`DeepGp::forward`] returns them.
    pub output: DeepGpOutput,
    /// The ELBO's terms, checked and read as [`Elbo::from_terms`] does.
    pub terms: ElboTerms,
}

/// The last layer's marginals for every propagated sample, and the total KL.
#[derive(Debug, Clone)]
pub struct DeepGpOutput {
    /// `q(f_L)` per sample, `[S·N, P]` (sample-major: row `s·N + n`).
    pub f: GaussianMarginals,
    /// `Σ_l KL(q(U_l) ‖ p(U_l))`, `[1]`.
    pub kl: Tensor<1>,
    /// Number of samples `S`.
    pub samples: usize,
}

impl DeepGpOutput {
    /// Moments of the predictive mixture `1/S Σ_s N(μ_s, v_s)`: mean `E[μ]` and variance
    /// `E[v] + Var[μ]`, each `[N, P]`.
    pub fn mixture_moments(&self) -> GaussianMarginals {
        let [rows, p] = self.f.mean.dims();
        let s = self.samples;
        let mean = self.f.mean.clone().reshape([s, rows / s, p]);
        let var = self.f.variance.clone().reshape([s, rows / s, p]);
        let mu = mean.clone().mean_dim(0);
        let spread = (mean - mu.clone()).square().mean_dim(0);
        GaussianMarginals {
            mean: mu.squeeze_dim(0),
            variance: (var.mean_dim(0) + spread).squeeze_dim(0),
        }
    }
}

impl DeepGpConfig {
    /// The stack; `kernel(input_dim)` builds each layer's kernel.
    ///
    /// # Panics
    /// When `dims` has fewer than two entries.
    pub fn init<K: Kernel>(&self, kernel: impl Fn(usize) -> K, device: &Device) -> DeepGp<K> {
        assert!(
            self.dims.len() >= 2,
            "DeepGpConfig: dims needs [d_in, .., d_out]"
        );
        let last = self.dims.len() - 2;
        let layers = (0..=last)
            .map(|l| {
                let (d_in, d_out) = (self.dims[l], self.dims[l + 1]);
                let mean = if l == last {
                    MeanKind::Constant
                } else {
                    MeanKind::Linear
                };
                let layer = SvgpConfig::new(d_in, self.num_inducing)
                    .with_outputs(d_out)
                    .with_mean(mean)
                    .init(kernel(d_in), device);
                if l == last {
                    layer
                } else {
                    let m = self.num_inducing;
                    let scale = Tensor::<2>::eye(m, device)
                        .mul_scalar(self.hidden_init_scale)
                        .unsqueeze::<3>()
                        .repeat_dim(0, d_out);
                    Svgp {
                        variational: FullRankGaussian {
                            scale_raw: Param::from_tensor(scale),
                            ..layer.variational
                        },
                        ..layer
                    }
                }
            })
            .collect();
        DeepGp { layers }
    }
}

impl<K: Kernel> DeepGp<K> {
    /// Propagates `S` samples of the inputs `[N, d]` through the layers: each hidden layer's
    /// marginals are sampled (`h = μ + √v ε`) and fed to the next; returns the last layer's
    /// marginals per sample and the summed KL.
    ///
    /// # Errors
    /// As [`Svgp::forward`], from any layer.
    pub fn forward(&self, x: Tensor<2>, samples: usize) -> Result<DeepGpOutput, GpError> {
        self.propagate(x, samples, Svgp::forward)
            .map(|(out, _)| out)
    }

    /// One minibatch's ELBO with a single device round trip per step, as [`Svgp::elbo`]:
    /// `log_likelihood(q(f_L))` returns `ln p(Y_batch | ·)` per sample `[S]` or summed `[1]`,
    /// combined as by [`Elbo::from_terms`], and every layer's `K_zz` check is read with the
    /// ELBO. Should a `K_zz` need more than the configured jitter, the step is recomputed
    /// through [`DeepGp::forward`] (fresh samples, jitter retries, typed errors).
    ///
    /// # Errors
    /// As [`DeepGp::forward`]; [`GpError::Elbo`] as [`Elbo::from_terms`].
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use vi_blocks::gp::DeepGpConfig;
    /// use vi_blocks::gp::kernel::RbfConfig;
    /// use vi_blocks::gp::likelihood::{GaussianLikelihoodConfig, Likelihood};
    /// use vi_core::elbo::Elbo;
    /// let device = Device::default();
    /// let dgp = DeepGpConfig::new(vec![3, 2, 1], 8)
    ///     .init(|input_dim| RbfConfig::new(input_dim).init(&device), &device);
    /// let noise = GaussianLikelihoodConfig::new().init(&device);
    /// let (x, y) = (Tensor::<2>::ones([4, 3], &device), Tensor::<2>::zeros([4, 1], &device));
    /// let samples = 5;
    /// let step = dgp
    ///     .elbo(x, samples, &Elbo::new(4), |f| {
    ///         noise.expected_log_likelihood_sum(f, y.clone().repeat_dim(0, samples)) / samples as f64
    ///     })
    ///     .unwrap();
    /// assert!(step.terms.value.unwrap().is_finite());
    /// ```
    pub fn elbo(
        &self,
        x: Tensor<2>,
        samples: usize,
        elbo: &Elbo,
        log_likelihood: impl Fn(&GaussianMarginals) -> Tensor<1>,
    ) -> Result<DeepGpElbo, GpError> {
        let (output, guards) = self.propagate(x.clone(), samples, Svgp::forward_deferred)?;
        let ell = log_likelihood(&output.f);
        if let Some(terms) =
            elbo.from_terms_guarded(ell, output.kl.clone(), Tensor::cat(guards, 0))?
        {
            return Ok(DeepGpElbo { output, terms });
        }
        let output = self.forward(x, samples)?;
        let terms = elbo.from_terms(log_likelihood(&output.f), output.kl.clone())?;
        Ok(DeepGpElbo { output, terms })
    }

    /// Propagates the samples with `layer_forward` per layer, collecting the layers' guards.
    fn propagate(
        &self,
        x: Tensor<2>,
        samples: usize,
        layer_forward: impl Fn(&Svgp<K>, Tensor<2>) -> Result<SvgpOutput, GpError>,
    ) -> Result<(DeepGpOutput, Vec<Tensor<1>>), GpError> {
        let [n, d] = x.dims();
        let samples = samples.max(1);
        let mut h = x
            .unsqueeze::<3>()
            .expand([samples, n, d])
            .reshape([samples * n, d]);
        let mut kl = Tensor::<1>::zeros([1], (&h.device(), h.dtype()));
        let mut guards = Vec::new();
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            let out = layer_forward(layer, h)?;
            guards.extend(out.guard);
            kl = kl + out.kl;
            if l == last {
                let output = DeepGpOutput {
                    f: out.f,
                    kl,
                    samples,
                };
                return Ok((output, guards));
            }
            let [rows, p] = out.f.mean.dims();
            h = out.f.sample(1).reshape([rows, p]);
        }
        unreachable!("a DeepGp has at least one layer")
    }
}
