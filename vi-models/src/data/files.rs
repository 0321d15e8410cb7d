//! Finding a data set's file inside its folder.

use super::error::DataError;

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
