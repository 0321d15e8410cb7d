use super::error::DataError;
use std::path::{Path, PathBuf};

/// A UCI regression set in the layout of Hernández-Lobato & Adams (2015) and Gal & Ghahramani
/// (2016): `data.txt` (whitespace-separated rows), `index_features.txt`, `index_target.txt`
/// (column indices), `index_train_k.txt` / `index_test_k.txt` (row indices per split) and the
/// optional protocol files `n_hidden.txt`, `n_epochs.txt`, `n_splits.txt`, `tau_values.txt`,
/// `dropout_rates.txt`.
#[derive(Debug, Clone)]
pub struct UciDataset {
    /// The folder.
    pub dir: PathBuf,
    /// All columns of `data.txt`, row-major.
    pub data: Vec<f64>,
    /// Columns per row of `data.txt`.
    pub columns: usize,
    /// Feature columns.
    pub features: Vec<usize>,
    /// Target column.
    pub target: usize,
    /// Number of splits.
    pub splits: usize,
    /// Hidden units of the published network, if given.
    pub n_hidden: Option<usize>,
    /// Published epochs, if given.
    pub n_epochs: Option<usize>,
    /// Grid of model precisions `τ`.
    pub tau_values: Vec<f64>,
    /// Grid of dropout rates.
    pub dropout_rates: Vec<f64>,
}

/// Features `[n, d]` (row-major) and targets `[n]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Row-major features.
    pub x: Vec<f64>,
    /// Targets.
    pub y: Vec<f64>,
    /// Feature count `d`.
    pub d: usize,
}

impl Table {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// The rows `index`, in that order.
    pub fn select(&self, index: &[usize]) -> Table {
        let d = self.d;
        Table {
            x: index
                .iter()
                .flat_map(|&r| self.x[r * d..(r + 1) * d].iter().copied())
                .collect(),
            y: index.iter().map(|&r| self.y[r]).collect(),
            d,
        }
    }
}

/// One train/test split.
#[derive(Debug, Clone)]
pub struct Split {
    /// Training rows.
    pub train: Table,
    /// Test rows.
    pub test: Table,
}

fn read(path: &Path) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Whitespace-separated numbers of each non-empty line, with their 1-based line numbers.
fn numbers(path: &Path) -> Result<Vec<(usize, Vec<f64>)>, DataError> {
    let text = read(path)?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row = line
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| DataError::Malformed {
                        path: path.to_path_buf(),
                        line: i + 1,
                        reason: format!("`{t}` is not a finite number"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        rows.push((i + 1, row));
    }
    Ok(rows)
}

/// One non-negative integer per line (`12` or `12.0`), each below `limit`.
fn indices(path: &Path, limit: usize, what: &str) -> Result<Vec<usize>, DataError> {
    numbers(path)?
        .into_iter()
        .flat_map(|(line, row)| row.into_iter().map(move |v| (line, v)))
        .map(|(line, v)| {
            if v < 0.0 || v.fract() != 0.0 || v as usize >= limit {
                Err(DataError::Malformed {
                    path: path.to_path_buf(),
                    line,
                    reason: format!("{v} is not a {what} index below {limit}"),
                })
            } else {
                Ok(v as usize)
            }
        })
        .collect()
}

/// The single value of an optional protocol file.
fn optional_values(path: &Path) -> Result<Vec<f64>, DataError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    Ok(numbers(path)?
        .into_iter()
        .flat_map(|(_, row)| row)
        .collect())
}

fn optional_count(path: &Path) -> Result<Option<usize>, DataError> {
    match optional_values(path)?.as_slice() {
        [] => Ok(None),
        [v] if *v >= 0.0 && v.fract() == 0.0 => Ok(Some(*v as usize)),
        other => Err(DataError::Malformed {
            path: path.to_path_buf(),
            line: 1,
            reason: format!("expected one non-negative integer, found {other:?}"),
        }),
    }
}

impl UciDataset {
    /// Reads the folder.
    ///
    /// # Errors
    /// [`DataError`] naming the file (and line) that is missing or malformed: ragged rows of
    /// `data.txt`, a column index beyond its width, no split files.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, DataError> {
        let dir = dir.as_ref().to_path_buf();
        let data_path = dir.join("data.txt");
        let rows = numbers(&data_path)?;
        let columns =
            rows.first()
                .map(|(_, r)| r.len())
                .ok_or_else(|| DataError::Inconsistent {
                    path: data_path.clone(),
                    reason: "no rows".into(),
                })?;
        let mut data = Vec::with_capacity(rows.len() * columns);
        for (line, row) in rows {
            if row.len() != columns {
                return Err(DataError::Malformed {
                    path: data_path,
                    line,
                    reason: format!("{} columns where the first row has {columns}", row.len()),
                });
            }
            data.extend(row);
        }
        let features = indices(&dir.join("index_features.txt"), columns, "column")?;
        let target = match indices(&dir.join("index_target.txt"), columns, "column")?.as_slice() {
            [t] => *t,
            other => {
                return Err(DataError::Inconsistent {
                    path: dir.join("index_target.txt"),
                    reason: format!("expected one target column, found {}", other.len()),
                });
            }
        };
        let splits = match optional_count(&dir.join("n_splits.txt"))? {
            Some(k) => k,
            None => (0..)
                .take_while(|k| dir.join(format!("index_train_{k}.txt")).exists())
                .count(),
        };
        if splits == 0 {
            return Err(DataError::Inconsistent {
                path: dir.join("index_train_0.txt"),
                reason: "no splits (index_train_0.txt missing)".into(),
            });
        }
        Ok(Self {
            n_hidden: optional_count(&dir.join("n_hidden.txt"))?,
            n_epochs: optional_count(&dir.join("n_epochs.txt"))?,
            tau_values: optional_values(&dir.join("tau_values.txt"))?,
            dropout_rates: optional_values(&dir.join("dropout_rates.txt"))?,
            dir,
            data,
            columns,
            features,
            target,
            splits,
        })
    }

    /// The folder's name (the data set's).
    pub fn name(&self) -> String {
        self.dir
            .file_name()
            .map_or_else(|| "data".into(), |n| n.to_string_lossy().into_owned())
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.len() / self.columns
    }

    /// The rows `index` as a table.
    fn table(&self, index: &[usize]) -> Table {
        let mut x = Vec::with_capacity(index.len() * self.features.len());
        let mut y = Vec::with_capacity(index.len());
        for &r in index {
            let row = &self.data[r * self.columns..(r + 1) * self.columns];
            x.extend(self.features.iter().map(|&c| row[c]));
            y.push(row[self.target]);
        }
        Table {
            x,
            y,
            d: self.features.len(),
        }
    }

    /// Split `k` (`index_train_k.txt` / `index_test_k.txt`).
    ///
    /// # Errors
    /// [`DataError`] when an index file is missing, malformed, empty or points beyond the data.
    pub fn split(&self, k: usize) -> Result<Split, DataError> {
        let rows = self.rows();
        let mut index = Vec::with_capacity(2);
        for part in ["train", "test"] {
            let path = self.dir.join(format!("index_{part}_{k}.txt"));
            let rows = indices(&path, rows, "row")?;
            if rows.is_empty() {
                return Err(DataError::Inconsistent {
                    path,
                    reason: format!("split {k} has no {part} rows"),
                });
            }
            index.push(rows);
        }
        Ok(Split {
            train: self.table(&index[0]),
            test: self.table(&index[1]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared_uci(set: &str) -> PathBuf {
        let dir = std::env::var("VI_SHARED_DIR").map_or_else(
            |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
            PathBuf::from,
        );
        let dir = dir.join("data").join("uci").join(set);
        assert!(dir.is_dir(), "shared data not found: {}", dir.display());
        dir
    }

    /// A copy of yacht in a fresh folder, with `edit` applied to one file.
    fn broken(name: &str, file: &str, edit: impl Fn(String) -> String) -> PathBuf {
        let src = shared_uci("yacht");
        let dir = std::env::temp_dir().join(format!("vi-models-uci-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&src).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        std::fs::write(dir.join(file), edit(text)).unwrap();
        dir
    }

    #[test]
    fn loads_the_shared_sets_and_their_splits() {
        for set in [
            "bostonHousing",
            "concrete",
            "energy",
            "wine-quality-red",
            "yacht",
        ] {
            let data = UciDataset::load(shared_uci(set)).unwrap();
            assert_eq!(data.splits, 20, "{set}");
            let split = data.split(0).unwrap();
            assert_eq!(split.train.len() + split.test.len(), data.rows(), "{set}");
            assert_eq!(split.train.x.len(), split.train.len() * data.features.len());
            assert!(!data.features.contains(&data.target), "{set}");
            assert!(!data.tau_values.is_empty() && !data.dropout_rates.is_empty());
        }
    }

    #[test]
    fn malformed_files_name_file_and_line() {
        let dir = broken("ragged", "data.txt", |t| {
            let mut lines: Vec<String> = t.lines().map(String::from).collect();
            lines[2] = "1 2 3".into();
            lines.join("\n")
        });
        let err = UciDataset::load(&dir).unwrap_err().to_string();
        assert!(
            err.contains("data.txt:3") && err.contains("3 columns"),
            "{err}"
        );

        let dir = broken("index", "index_train_0.txt", |t| format!("{t}\n99999\n"));
        let err = UciDataset::load(&dir)
            .unwrap()
            .split(0)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("index_train_0.txt") && err.contains("99999"),
            "{err}"
        );

        let dir = broken("target", "index_target.txt", |_| "0\n1\n".into());
        let err = UciDataset::load(&dir).unwrap_err().to_string();
        assert!(err.contains("one target column"), "{err}");

        let dir = broken("empty", "index_test_0.txt", |_| "\n".into());
        let err = UciDataset::load(&dir)
            .unwrap()
            .split(0)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("index_test_0.txt") && err.contains("no test rows"),
            "{err}"
        );

        let err = UciDataset::load(dir.join("missing"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing/data.txt"), "{err}");
    }
}
