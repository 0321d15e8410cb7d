//! The Categorical Latent Gaussian Process (Gal, Chen & Ghahramani, ICML 2015) for distribution
//! estimation and imputation of multivariate categorical data, its training loop, the paper's
//! imputation protocol and its baselines.

mod baselines;
mod imputation;
mod init;
mod model;
mod training;

pub use baselines::{MixtureImputer, MultinomialImputer, UniformImputer};
pub use imputation::{HiddenEntry, ImputationSplit, Imputer, imputation_split, perplexity};
pub use model::{CategoricalObservations, CategoricalPredictive, Clgp, ClgpConfig, ClgpElbo};
pub use training::{ClgpImputer, ClgpTraining, train_clgp};
