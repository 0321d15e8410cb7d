//! # vi-blocks
//!
//! Burn modules built on [`vi_core`]: variational families ([`family`]), Bayesian layers and
//! dropout that stays on at prediction time ([`nn`]), Gaussian-process layers ([`gp`]), and the KL of a whole model collected by
//! walking its module tree ([`kl::total_kl`]). Every block is an ordinary
//! `#[derive(Module)]` with a `Config` and `init(&device)`, so it nests inside models you already
//! have, trains with burn-optim and saves with Burn's recorders.
//!
//! ## Blocks
//!
//! | block | what | gradient | errors |
//! |---|---|---|---|
//! | [`family::MeanFieldGaussian`], [`family::FullRankGaussian`], [`family::LowRankGaussian`] | trainable variational families (`Config` + `init(&device)`) with batch dimensions (mean field: any rank; full rank and low rank: `[B, n]`) and their scale transforms ([`family::ScaleTransform`], [`family::TrilTransform`]); `distribution()` gives the vi-core distribution, `kl_to_standard_normal()` the closed form; initial sd 0.1 (Pyro's default); the same types are `Svgp`'s `q(u)` and `LatentInputs` | autodiff | — |
//! | [`nn::VariationalParam`] | the one Gaussian variational parameter: attached to a weight (its base is `μ`), it holds `ρ` and the prior; every read draws `μ + softplus(ρ) ε`; what `total_kl` finds, by type | autodiff | — |
//! | [`nn::BayesianLinear`] | mean-field Gaussian weights and bias (each a `VariationalParam`); estimators: weight sampling, local reparameterization (Kingma et al. 2015), flipout (Wen et al. 2018), posterior mean; prior `N(0, s²)` or Blundell's scale mixture; `kl()` | autodiff | — |
//! | [`nn::bayesianize`] | makes an existing Burn model (e.g. of `burn::nn::Linear`) Bayesian through Burn's parameter reparameterization: every selected weight gets a `VariationalParam`, current weights become posterior means, MOPED `σ = δ|w|` optional, `include` filter | autodiff | — |
//! | [`nn::ConcreteLinear`] | concrete dropout (Gal, Hron & Kendall 2017) with a learned rate before a linear layer, and its regulariser (found by type by `total_regularizer`) | autodiff | — |
//! | [`nn::McDropout`] | dropout that stays on at prediction time | — | — |
//! | [`kl::total_kl`], [`kl::total_regularizer`] | the KL (plus concrete-dropout regularisers) of any model, found by walking its module tree and matching the blocks' types, never field names: Bayesian layers nested at any depth in structs, `Vec`s and `Option`s, and bayesianized weights | autodiff | — |
//! | [`predict::predict_mc`], [`predict::predict_mc_classes`] | `T` stochastic passes → mean, variance (and samples); mean softmax probabilities and predictive entropy for classifiers | — | — |
//! | [`gp::kernel`] | `Rbf` (ARD), `Matern` (ν = ½, 3/2, 5/2), `Linear`, `Periodic`, `ScaleKernel`, `SumKernel`, `ProductKernel`; batched `K(X, X')` and `diag K(X)` over outputs, positive hyper-parameters through softplus; `Kernel::inducing_matrices` forms `K(Z, Z)`, `K(Z, X)` and `diag K(X)` with the hyper-parameters transformed once (`Rbf`, `ScaleKernel`) | autodiff (`Rbf` through `gram::rbf_gram`, `ScaleKernel(Rbf)` through `gram::scaled_rbf_gram`, `Matern` through `gram::squared_distance`) | `Rbf`: panics naming the shapes when `X` and `X'` differ in columns |
//! | [`gp::Svgp`] | inducing-point layer generic over its `q(u)` ([`gp::InducingDistribution`]: full rank or mean field, or [`gp::InducingFamily`] chosen at run time) and its strategy ([`gp::VariationalStrategy`]: [`gp::Whitened`] or [`gp::Unwhitened`] as GPyTorch's, or [`gp::AnyStrategy`]), learned `Z` shared or per output, constant/linear/zero mean, marginals or joint predictive, sampled inputs `X ~ q(X)`; `K_zz`'s jittered Cholesky once per step, reported extra jitter, KL in closed form (whitened full rank) or through vi-core; `Svgp::elbo` trains with one device read per step (the factor's check travels with the ELBO's; recomputed through `forward` when `K_zz` needs more jitter), `Svgp::forward_deferred` leaves that check to the caller (`SvgpOutput::guard`) | autodiff | `InducingCovariance(NotPositiveDefinite / NonFinite)`, `ShapeMismatch`, `Elbo(NonFinite / Invalid)` |
//! | [`gp::likelihood`] | `GaussianLikelihood` (closed-form expected log-likelihood; its minibatch sum, `expected_log_likelihood_sum`, through the fused Gaussian op plus one reduction), `BernoulliLikelihood` (probit/logit; Gauss–Hermite or MC; probit predictive in closed form), `SoftmaxLikelihood` (MC), `PoissonLikelihood` (closed form); predictive and log predictive density; `CategoricalColumns`: several categorical variables' log-probabilities from one row of logits | autodiff | — |
//! | [`gp::DeepGp`] | doubly stochastic deep GP (Salimbeni & Deisenroth 2017): SVGP layers fed sampled marginals, linear mean functions in hidden layers; `DeepGp::elbo` reads every layer's `K_zz` check with the ELBO | autodiff | as `Svgp` |
//! | [`gp::LatentInputs`] | `q(X) = Πₙ N(mₙ, diag sₙ²)` for latent-variable GPs (the mean-field family with a batch dimension), `KL(q(xₙ) ‖ N(0, I))` per row; feeds `Svgp::forward_sampled` | autodiff | — |
//! | [`gp::Conditional`] | `p(f(x) \| u = L_zz v) = N(Aᵀ v, k(x, x) − ‖a‖²)`, `A = L_zz⁻¹ K_zx`: the whitened projection for models that sample `u` themselves (`examples/seed_clgp.rs`) | autodiff | `InducingCovariance`, `ShapeMismatch` |
//! | [`gp::GaussianMarginals`] | independent Gaussian marginals `[N, P]` that every likelihood reads (from a GP layer, or a point mass from a network's sample) | autodiff | — |

pub mod dtype;
pub mod family;
pub mod gp;
pub mod kl;
pub mod nn;
pub mod predict;

pub use vi_core;
