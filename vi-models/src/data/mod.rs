//! Data sets in the layouts the experiments use, read with errors that name the file and line.

mod categorical;
mod classification;
mod error;
mod files;
mod random;
mod rows;
mod standardize;
mod standardized;
mod uci;

pub use categorical::CategoricalTable;
pub use classification::ClassificationTable;
pub use error::DataError;
pub use random::permutation;
pub(crate) use random::{split_mix64, uniform01};
pub use rows::Rows;
pub(crate) use rows::check_targets;
pub use standardize::Standardizer;
pub use standardized::StandardizedTable;
pub use uci::{Split, Table, UciDataset};
