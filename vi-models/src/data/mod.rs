//! Data sets in the layouts the experiments use, read with errors that name the file and line.

mod error;
mod standardize;
mod uci;

pub use error::DataError;
pub use standardize::Standardizer;
pub use uci::{Split, Table, UciDataset};
