//! Multivariate categorical data with missing entries (e.g. the Wisconsin breast-cancer file).

use super::error::DataError;
use super::files::data_file;
use std::path::{Path, PathBuf};

/// `N` rows of `D` categorical variables; entry `(n, d)` is a level index in `0..K_d` or missing.
///
/// # Example
/// ```
/// use vi_models::data::CategoricalTable;
/// let t = CategoricalTable::from_codes(
///     vec!["a".into(), "b".into()], vec![2, 3], vec![Some(0), Some(2), None, Some(1)],
/// ).unwrap();
/// assert_eq!((t.rows(), t.variables()), (2, 2));
/// assert_eq!((t.get(1, 0), t.get(1, 1)), (None, Some(1)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CategoricalTable {
    /// Variable names, `D`.
    pub names: Vec<String>,
    /// The labels of each variable's levels (level `k` of variable `d` is `levels[d][k]`).
    pub levels: Vec<Vec<String>>,
    /// Row-major `N × D` level indices, `None` where missing.
    pub codes: Vec<Option<usize>>,
}

impl CategoricalTable {
    /// Reads a comma-separated file with a header line: every column but those named in `drop`
    /// is a variable; `?` or an empty field is missing. A variable's levels are its distinct
    /// observed values, by value however they are written: fields are trimmed, and fields that
    /// are numbers are one level when their values are equal (`1`, `1.0`, `01`, `1e0`; the
    /// level's label is the number's shortest form, `1`). Levels are sorted numerically when
    /// they all are numbers, else by label. `path` may be the file or a folder holding exactly
    /// one `*.data` or `*.csv` file.
    ///
    /// # Errors
    /// [`DataError::Io`] when the file cannot be read (or the folder holds no single data file),
    /// [`DataError::Malformed`] naming the line of a row with the wrong number of fields, and
    /// [`DataError::Inconsistent`] for a file without rows, a `drop` name absent from the header,
    /// or a variable that is never observed.
    pub fn load(path: impl AsRef<Path>, drop: &[&str]) -> Result<Self, DataError> {
        let path = data_file(path.as_ref(), &["data", "csv"])?;
        let text = std::fs::read_to_string(&path).map_err(|source| DataError::Io {
            path: path.clone(),
            source,
        })?;
        let inconsistent = |reason: String| DataError::Inconsistent {
            path: path.clone(),
            reason,
        };
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines
            .next()
            .ok_or_else(|| inconsistent("the file is empty".into()))?;
        let header: Vec<&str> = header.split(',').map(str::trim).collect();
        for name in drop {
            if !header.contains(name) {
                return Err(inconsistent(format!(
                    "no column named {name:?} in the header {header:?}"
                )));
            }
        }
        let keep: Vec<usize> = (0..header.len())
            .filter(|&c| !drop.contains(&header[c]))
            .collect();
        let mut raw: Vec<Option<String>> = Vec::new();
        for (index, line) in lines {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != header.len() {
                return Err(DataError::Malformed {
                    path: path.clone(),
                    line: index + 1,
                    reason: format!(
                        "{} fields where the header has {}",
                        fields.len(),
                        header.len()
                    ),
                });
            }
            raw.extend(keep.iter().map(|&c| match fields[c] {
                "" | "?" => None,
                v => Some(v.to_string()),
            }));
        }
        let d = keep.len();
        if raw.is_empty() || d == 0 {
            return Err(inconsistent("no rows or no variables".into()));
        }
        let raw: Vec<Option<Level>> = raw.iter().map(|v| v.as_deref().map(Level::of)).collect();
        let mut levels = Vec::with_capacity(d);
        for (v, name) in keep.iter().map(|&c| header[c]).enumerate() {
            let mut values: Vec<&Level> = raw.iter().skip(v).step_by(d).flatten().collect();
            if values.iter().all(|l| matches!(l, Level::Number(_))) {
                values.sort_by(|a, b| a.number().total_cmp(&b.number()));
            } else {
                values.sort_by_key(|l| l.label());
            }
            values.dedup();
            if values.is_empty() {
                return Err(inconsistent(format!("variable {name:?} is never observed")));
            }
            levels.push(values);
        }
        let codes = raw
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_ref()
                    .map(|l| levels[i % d].iter().position(|k| *k == l).unwrap_or(0))
            })
            .collect();
        let levels = levels
            .into_iter()
            .map(|variable| variable.into_iter().map(Level::label).collect())
            .collect();
        Ok(Self {
            names: keep.iter().map(|&c| header[c].to_string()).collect(),
            levels,
            codes,
        })
    }

    /// A table from level indices (row-major `N × D`); level labels are `"0"`, `"1"`, ….
    ///
    /// # Errors
    /// [`DataError::Inconsistent`] when the sizes disagree or a code is out of range.
    pub fn from_codes(
        names: Vec<String>,
        categories: Vec<usize>,
        codes: Vec<Option<usize>>,
    ) -> Result<Self, DataError> {
        let d = names.len();
        let inconsistent = |reason: String| DataError::Inconsistent {
            path: PathBuf::from("<codes>"),
            reason,
        };
        if categories.len() != d || d == 0 || !codes.len().is_multiple_of(d) {
            return Err(inconsistent(format!(
                "{d} names, {} category counts and {} codes",
                categories.len(),
                codes.len()
            )));
        }
        if let Some((i, k)) = codes
            .iter()
            .enumerate()
            .find_map(|(i, c)| c.filter(|&k| k >= categories[i % d]).map(|k| (i, k)))
        {
            return Err(inconsistent(format!(
                "code {k} at row {}, variable {} is not below {}",
                i / d,
                i % d,
                categories[i % d]
            )));
        }
        Ok(Self {
            names,
            levels: categories
                .iter()
                .map(|&k| (0..k).map(|l| l.to_string()).collect())
                .collect(),
            codes,
        })
    }

    /// Number of rows `N`.
    pub fn rows(&self) -> usize {
        self.codes.len() / self.variables()
    }

    /// Number of variables `D`.
    pub fn variables(&self) -> usize {
        self.names.len()
    }

    /// `K_d` for every variable.
    pub fn categories(&self) -> Vec<usize> {
        self.levels.iter().map(Vec::len).collect()
    }

    /// The level index at `(row, variable)`, `None` where missing.
    pub fn get(&self, row: usize, variable: usize) -> Option<usize> {
        self.codes[row * self.variables() + variable]
    }

    /// Marks `(row, variable)` missing.
    pub fn hide(&mut self, row: usize, variable: usize) {
        let d = self.variables();
        self.codes[row * d + variable] = None;
    }

    /// The index of the variable called `name`.
    pub fn variable(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared_file() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/breast_cancer_wisconsin")
    }

    #[test]
    fn wisconsin_loads_with_missing_entries() {
        let t = CategoricalTable::load(shared_file(), &["id"]).unwrap();
        assert_eq!(t.variables(), 10);
        assert_eq!(t.rows(), 699);
        assert_eq!(t.levels[9], vec!["2".to_string(), "4".to_string()]);
        assert_eq!(t.categories(), [10, 10, 10, 10, 10, 10, 10, 10, 9, 2]); // no "9" in i
        // The file's documented 16 missing values, all in attribute f (bare nuclei).
        assert_eq!(t.codes.iter().filter(|c| c.is_none()).count(), 16);
        let f = t.variable("f").unwrap();
        assert!((0..t.rows()).filter(|&r| t.get(r, f).is_none()).count() == 16);
    }

    #[test]
    fn malformed_rows_name_their_line() {
        let dir = std::env::temp_dir().join(format!("vi-cat-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bad.csv");
        std::fs::write(&file, "x,y\n1,2\n3\n").unwrap();
        let err = CategoricalTable::load(&file, &[]).unwrap_err().to_string();
        assert!(
            err.contains("bad.csv:3") && err.contains("1 fields"),
            "{err}"
        );
        let err = CategoricalTable::load(&file, &["id"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no column named \"id\""), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn codes_out_of_range_are_rejected() {
        let err = CategoricalTable::from_codes(vec!["a".into()], vec![2], vec![Some(2)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("code 2 at row 0"), "{err}");
    }
}

/// An observed field as a level: a number by its value, anything else by its trimmed text.
#[derive(Debug, Clone)]
enum Level {
    /// The value, `-0` folded into `0` and every NaN into one (so `==` is the levels' identity:
    /// two NaN fields are one level).
    Number(f64),
    Text(String),
}

impl PartialEq for Level {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Number(a), Self::Number(b)) => a.total_cmp(b).is_eq(),
            (Self::Text(a), Self::Text(b)) => a == b,
            _ => false,
        }
    }
}

impl Level {
    fn of(field: &str) -> Self {
        match field.trim().parse::<f64>() {
            Ok(v) if v.is_nan() => Self::Number(f64::NAN),
            Ok(v) => Self::Number(if v == 0.0 { 0.0 } else { v }),
            Err(_) => Self::Text(field.trim().to_string()),
        }
    }

    fn number(&self) -> f64 {
        match self {
            Self::Number(v) => *v,
            Self::Text(_) => f64::NAN,
        }
    }

    /// The number's shortest form (`1`, `0.5`, `NaN`), or the text.
    fn label(&self) -> String {
        match self {
            Self::Number(v) => v.to_string(),
            Self::Text(t) => t.clone(),
        }
    }
}
