//! Data sets in the layouts the experiments use, read with errors that name the file and line.

mod categorical;
mod classification;
mod error;
mod standardize;
mod standardized;
mod uci;

pub use categorical::CategoricalTable;
pub use classification::ClassificationTable;
pub use error::DataError;
pub use standardize::Standardizer;
pub use standardized::StandardizedTable;
pub use uci::{Split, Table, UciDataset};

/// A seeded random permutation of `0..n` (Fisher–Yates driven by SplitMix64; `state` advances),
/// the same on every platform.
///
/// # Example
/// ```
/// let (mut a, mut b) = (7, 7);
/// let p = vi_models::data::permutation(5, &mut a);
/// assert_eq!(p, vi_models::data::permutation(5, &mut b));
/// let mut sorted = p.clone();
/// sorted.sort();
/// assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
/// ```
pub fn permutation(n: usize, state: &mut u64) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        p.swap(i, (split_mix64(state) % (i as u64 + 1)) as usize);
    }
    p
}

/// The next value of the SplitMix64 generator (`state` advances).
pub(crate) fn split_mix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform draw in `[0, 1)` from SplitMix64.
pub(crate) fn uniform01(state: &mut u64) -> f64 {
    (split_mix64(state) >> 11) as f64 / (1u64 << 53) as f64
}

/// `path` itself, or the single file in the folder `path` whose name ends in one of
/// `extensions` (a `.gz` file counts by the extension before it too).
pub(crate) fn data_file(
    path: &std::path::Path,
    extensions: &[&str],
) -> Result<std::path::PathBuf, DataError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io)? {
        let p = entry.map_err(io)?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let name = name.strip_suffix(".gz").unwrap_or(name);
        if extensions.iter().any(|e| name.ends_with(&format!(".{e}"))) {
            files.push(p);
        }
    }
    match files.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "expected exactly one data file (*.{}) in the folder, found {}",
                extensions.join(", *."),
                files.len()
            ),
        ))),
    }
}
