//! # vi-core
//!
//! The mathematics of variational inference on [Burn](https://burn.dev), with no notion of layers:
//! batched differentiable linear algebra ([`linalg`]), probability distributions
//! ([`distributions`]), closed-form KL divergences ([`kl`]), the fused ops of
//! mean-field layers ([`mean_field`]), kernel Gram matrices ([`gram`]), bulk random tensors
//! ([`random`]), the fused ops of sparse GPs ([`sparse_gp`]), ELBO estimators ([`elbo`]), a
//! gradient-variance probe ([`gradient_variance`]), stable special functions ([`special`]) and a
//! finite-difference gradient checker ([`gradcheck`]).
//!
//! Backends are chosen with Cargo features (`flex` by default, `ndarray`, `wgpu`, `cuda`, `fusion`,
//! `autotune`) and a [`burn::tensor::Device`] at run time; the same code runs on all of them.
//!
//! ## Blocks
//!
//! | block | what | gradient | errors |
//! |---|---|---|---|
//! | [`linalg::cholesky`] | `L` with `A = L Lᵀ`, any leading batch dims | Murray (2016), symmetric convention | `NotPositiveDefinite { batch_index, minor, jitter_tried }`, `NonFinite { batch_index }`, `ShapeMismatch` |
//! | [`linalg::cholesky_jittered`] | GPyTorch-style `psd_safe_cholesky`: jitter 1e-6 (f32) / 1e-8 (f64) ×10 per try, only for the failing elements; reports the jitter per element; `JitterConfig::base` is added to every diagonal inside the factorisation (no identity matrix formed or added; `Svgp`'s `K_zz` jitter) | as above | as above |
//! | [`linalg::cholesky_deferred`] | the factor of `A + shift·I` with nothing read back, and its guard (each element's last pivot, finite exactly when it factorised) for the caller to read with a later result (`Elbo::from_terms_guarded`) | as above | `ShapeMismatch` |
//! | [`linalg::solve_triangular`] | `op(T) X = B` or `X op(T) = B`, lower/upper, transposed, broadcast batch | adjoint solve | `ShapeMismatch` |
//! | [`linalg::triangular_matmul`] | `op(T) B` or `B op(T)` reading only `T`'s triangle; half a GEMM's flops on the CPU (faer's triangular kernels) | both adjoints by hand | `ShapeMismatch` |
//! | [`linalg::column_norm_change`] | `‖op(T) bⱼ‖² − ‖bⱼ‖²` per column, one tracked op: a whitened sparse GP's `diag(Aᵀ S A) − diag(Aᵀ A)` | hand-written through the triangular primitives | `ShapeMismatch` |
//! | [`sparse_gp::whitened_variance`] | a whitened sparse GP's marginal variances `max(σ₀² + ‖Lᵀ bⱼ‖² − ‖bⱼ‖², 0)` per column, one tracked op (`SparseGpBackend::whitened_variance`: composed on flex/ndarray, one CubeCL launch, one cube per column); `Svgp`'s full-rank whitened variances | hand-written (`SparseGpBackend::whitened_variance_backward`: two CubeCL kernels); no gradient through the clamp | `ShapeMismatch` (factor, rows, prior variances' broadcast) |
//! | [`sparse_gp::projected_mean`] | `C + W A` row by row, `W` `[P, M]`, `A` `[1 or P, M, N]`, offsets broadcast from `[1 or P, 1 or N]`: a sparse GP's predictive mean `m(x) + Aᵀ m_u` as one op (`SparseGpBackend::projected_mean`: composed on flex/ndarray, one CubeCL launch); `Svgp`'s mean | hand-written (`SparseGpBackend::projected_mean_backward`: one CubeCL kernel, a cube per row of `A`) | `ShapeMismatch` |
//! | [`sparse_gp::tril_nonnegative_diagonal`] | `tril(R)` with each column of a negative diagonal entry negated: the Cholesky factor with a non-negative diagonal from an unconstrained parameter (the full-rank `q(u)` of `Svgp`), one op (`SparseGpBackend::column_signed_lower`: a host pass, one CubeCL kernel) | the same op on `Ḡ` | `ShapeMismatch` |
//! | [`linalg::cholesky_solve`], [`linalg::cholesky_inverse`] | `A⁻¹ B`, `A⁻¹` from `L` | through the solves | `ShapeMismatch` |
//! | [`linalg::logdet_from_cholesky`], [`linalg::logdet`], [`linalg::inverse`] | `2 Σ log Lᵢᵢ`, from `A` | `A⁻¹` | as `cholesky` |
//! | [`distributions::Normal`] | diagonal Gaussian, broadcast `loc`/`scale`, `to_event(k)` for mean-field, `expand` | reparameterized | `InvalidParameter { parameter }`, `ShapeMismatch` |
//! | [`distributions::MultivariateNormal`] | `loc` + `scale_tril`; `from_covariance` (jittered Cholesky), `from_precision` | reparameterized; one batched solve per `log_prob` | as above, `Linalg(NotPositiveDefinite { batch_index, .. })` |
//! | [`distributions::LowRankMultivariateNormal`] | `W Wᵀ + diag(d)`; `log_prob`/`entropy` in O(n k²) (Woodbury, determinant lemma) | reparameterized | as above |
//! | [`distributions::Bernoulli`], [`distributions::Categorical`], [`distributions::Delta`] | logits-parameterized discrete laws; point mass for MAP | score-free (`sample`), `Delta` reparameterized | as above |
//! | [`kl::KlDivergence`], [`kl::kl_monte_carlo`] | closed forms on the pair of types: Normal‖Normal, MVN‖MVN, MVN‖Normal, LowRank‖Normal, LowRank‖MVN, Bernoulli‖Bernoulli, Categorical‖Categorical; `kl_monte_carlo` for any pair | autodiff through the closed forms | `ShapeMismatch` (event shapes, batch broadcast) |
//! | [`kl::kl_to_standard_normal`] | `Σ KL(N(m, L Lᵀ) ‖ N(0, I))` straight from batched factors, one fused op (`SparseGpBackend::standard_normal_kl`: one host pass summed in f64 on flex/ndarray, one CubeCL launch that also sums): the whitened SVGP's KL | hand-written `ḡ m`, `ḡ (L − diag(1/Lᵢᵢ))` | `ShapeMismatch` |
//! | [`elbo::Elbo`] | `N/B`-scaled expected log-likelihood − β KL with `T` particles; estimators `AnalyticKl`, `MonteCarloKl`, `StickingTheLanding` (Roeder et al. 2017), `Iwae` (Burda et al. 2016); `from_terms` for layer-wise models, `from_terms_guarded` reading a guard tensor in the same transaction (`read_guarded`; `None` when it is not finite); the finiteness check's read-back kept as `ElboTerms::value` (log it without a second device round trip), `scaled_loss(1/N)` the per-point loss as one op | — | `NonFinite { term }`, `NoClosedForm`, `Invalid` |
//! | [`gradient_variance::gradient_variance`] | repeat a stochastic gradient R times; mean, variance and SNR per parameter group | — | `MissingGradient { group }`, `NonFinite { repeat }` |
//! | [`special`] | `softplus` (one kernel per backend: `SpecialBackend`, and one for its reverse mode), `softplus_log_scale` (`½ ln(softplus(x) + floor)`, the Gaussian likelihood's log noise scale; one CubeCL kernel each way), `log1p`, `sigmoid`, `log_sigmoid`, `logsumexp`, `lgamma`, `digamma` (tensor, differentiable; `f64` versions) | softplus: hand-written `σ(x) = exp(x − softplus(x))` (`SpecialBackend::softplus_backward`); the rest autodiff | — |
//! | [`mean_field::kl_to_normal`], [`mean_field::kl_to_normal_pair`] | `KL(Π N(μᵢ, softplus(ρᵢ)²) ‖ N(0, s²))` from the raw parameters of any rank, one fused op (`MeanFieldBackend`: vectorised host loop on flex/ndarray, composed on CubeCL); the pair form takes a layer's weights and bias in one op — the KL of every Bayesian layer | hand-written `μ/s²`, `(σ/s² − 1/σ) σ'(ρ)` | `ShapeMismatch` |
//! | [`mean_field::sample`] | `w = μ + softplus(ρ) ⊙ ε` as one fused op (same extension) | hand-written `ḡ`, `ḡ ε sigmoid(ρ)` | `ShapeMismatch` |
//! | [`mean_field::sampled_linear`] | a Bayesian linear layer's `x W + b` with `W`, `b` sampled from their mean-field posteriors, one tracked op (same extension): `BayesianLinear`'s weight-sampling estimator | hand-written `ḡ Wᵀ`, `xᵀ ḡ` through the sample, `Σ ḡ` for the bias | `ShapeMismatch` |
//! | [`likelihood::gaussian_log_likelihood`] | `Σ ln N(yᵢ \| μᵢ, e^{2sᵢ})` with one shared or a per-element log scale, one fused op (`LikelihoodBackend`: host loop summed in f64 on flex/ndarray, one CubeCL launch that also sums): the data term of BNN regression | hand-written in `y`, `μ`, `s` | `ShapeMismatch` |
//! | [`likelihood::gaussian_expected_log_likelihood`] | `Σ E_{f ~ N(μᵢ, vᵢ)} ln N(yᵢ \| f, e^{2sᵢ}) = Σ −½ ((yᵢ − μᵢ)² + vᵢ) e^{−2sᵢ} − sᵢ − ½ ln 2π`, the same op with the marginal variances: the data term of SVGP regression (`GaussianLikelihood::expected_log_likelihood_sum`) | hand-written in `y`, `μ`, `v`, `s` | `ShapeMismatch` |
//! | [`optim::FusedAdam`] | Burn's `Adam` (same configuration, same numbers step for step, Burn's `AdamState` as its state) with each parameter's update as one op (`OptimBackend`: one in-place pass on flex/ndarray, Burn's op order composed on CubeCL); plugs into `ModuleOptimizer` (clipping, groups, schedulers). No AMSGrad | — | — |
//! | [`gram::squared_distance`] | `‖aᵢ − bⱼ‖²` for batched inputs as one op from the differences (the RBF Gram's loops and kernel without the exponential): `D(x, x)` exactly symmetric with a zero diagonal, no cancellation for near-duplicates; the Matérn kernels' distances | composed from a row sum, a product and a matrix product per input | `ShapeMismatch` |
//! | [`gram::rbf_gram`] | `exp(−½‖aᵢ − bⱼ‖²)` for batched, lengthscale-scaled inputs as one op (`GramBackend`: direct distance sums and a vectorised `exp` on flex/ndarray, one kernel on CubeCL) | hand-written, both inputs | `ShapeMismatch` |
//! | [`gram::scaled_rbf_gram`] | `s · exp(−½ Σ (aᵢ − bⱼ)²/ℓ²)` from raw inputs, ARD lengthscales and an output scale as one op (`ScaleKernel(Rbf)` uses it; one CubeCL kernel, the inputs divided by `ℓ` in it) | hand-written in all four (`GramBackend::scaled_rbf_gram_backward`: on CubeCL one gradient kernel and one that sums `ℓ̄`'s and `s̄`'s row shares, plus one for `b̄` when two inputs both need gradients) | `ShapeMismatch` |
//! | [`random::random`], [`random::random_like`] | bulk random tensors for reparameterised sampling (`RandomBackend`): on flex/ndarray a key from the backend's own stream (so `device.seed` replays them) and xoshiro256++/ziggurat in fixed chunks; Burn's kernels on CubeCL. Every sampler in the toolbox uses it | untracked | — |
//! | [`gradcheck::gradcheck`] | central differences (f64) against autodiff, worst abs/rel error per input | — | — |
//!
//! ## How it dispatches
//!
//! [`linalg::backend::LinalgBackend`] is a Burn backend extension
//! (`#[backend_extension(Flex, NdArray, Cube, Fusion, Autodiff)]`) with five primitives —
//! `cholesky`, `solve_triangular`, `triangular_matmul`, `solve_triangular_grad_t` and
//! `cholesky_backward` — and composite ops built from them (`column_norm_change`,
//! `whitened_variance`). The CPU backends run them with rayon over the batch: matrices up to
//! order 64 in batch-packed SIMD kernels (eight matrices interleaved entry by entry, one AVX2 FMA
//! per step of the textbook algorithm across the batch; the factorisation up to order 512 when the
//! batch fills a group of eight), other ones with [faer](https://docs.rs/faer) per matrix, and
//! Murray's blocked reverse mode for the Cholesky backward pass. The CubeCL backends (wgpu, cuda)
//! run shared-memory kernels for matrices up to order 64 — one launch factors, solves or
//! differentiates a whole batch, each cube holding whole matrices — and blocked algorithms above
//! (those kernels on the diagonal blocks, the rest in Burn's matmul); `Autodiff` carries
//! hand-written backward passes built from the same primitives. Non-PD and non-finite input is
//! detected from each factor's last diagonal entry, read back once per call (a failed pivot makes
//! every later one non-finite), never by a host round trip per column. The same pattern fuses the
//! hot spots of variational layers into single ops: softplus (`SpecialBackend`), the mean-field
//! sample, layer and KL (`MeanFieldBackend`), the Gaussian likelihoods (`LikelihoodBackend`), the
//! RBF Gram matrices (`GramBackend`), Adam's update (`OptimBackend`) and bulk random tensors
//! (`RandomBackend`).

mod cast;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod cube;
pub mod device;
pub mod distributions;
pub mod elbo;
pub mod gradcheck;
pub mod gradient_variance;
pub mod gram;
mod host;
pub mod kl;
pub mod likelihood;
pub mod linalg;
pub mod mean_field;
pub mod optim;
pub mod random;
mod shapes;
pub mod sparse_gp;
pub mod special;
