//! Labelled feature tables for classification, read from scikit-learn's CSV layout.

use super::error::DataError;
use super::files::data_file;
use super::random::permutation;
use crate::error::ModelError;
use std::io::Read;
use std::path::Path;

/// Labels are below this: a label names a class, and every class up to the largest label gets a
/// name (a label of 10¹⁵ asked for that many).
const MAX_CLASSES: usize = 1 << 20;

/// Rows of `d` numeric features with a class label each.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationTable {
    /// Features, row-major `N × d`.
    pub x: Vec<f64>,
    /// Features per row.
    pub d: usize,
    /// Class of each row, `0..classes`.
    pub labels: Vec<usize>,
    /// The name of each class (`"0"`, `"1"`, … when the file names none).
    pub class_names: Vec<String>,
}

impl ClassificationTable {
    /// Reads a comma-separated file (gzip-compressed when its name ends in `.gz`) whose rows are
    /// `d` features followed by an integer label, optionally after scikit-learn's header line
    /// `n_samples,n_features,name_0,name_1,…` (recognised by having a different number of
    /// fields from the rows). `path` may be the file or a folder holding exactly one `*.csv` or
    /// `*.csv.gz`.
    ///
    /// # Errors
    /// [`DataError::Io`] when the file cannot be read or decompressed;
    /// [`DataError::Malformed`] naming the line of a row with the wrong number of fields, a
    /// value that is not a finite number, or a label that is not an integer in `0..2²⁰`;
    /// [`DataError::Inconsistent`] when there are no rows, the header's counts disagree with
    /// the rows, or a label has no name in the header.
    ///
    /// # Example
    /// ```
    /// let path = std::env::temp_dir().join("vi_models_classification_doc.csv");
    /// std::fs::write(&path, "3,2,no,yes\n0.5,1.0,0\n1.5,2.0,1\n2.5,3.0,1\n").unwrap();
    /// let table = vi_models::data::ClassificationTable::load(&path).unwrap();
    /// assert_eq!((table.len(), table.d, table.classes()), (3, 2, 2));
    /// assert_eq!(table.class_names, vec!["no", "yes"]);
    /// std::fs::write(&path, "0.5,1.0,0\n1.5,x,1\n").unwrap();
    /// let error = vi_models::data::ClassificationTable::load(&path).unwrap_err();
    /// assert!(error.to_string().contains(":2:"), "{error}");
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Self, DataError> {
        let path = data_file(path.as_ref(), &["csv"])?;
        let io = |source| DataError::Io {
            path: path.clone(),
            source,
        };
        let bytes = std::fs::read(&path).map_err(io)?;
        let mut text = String::new();
        if path.extension().is_some_and(|e| e == "gz") {
            flate2::read::GzDecoder::new(bytes.as_slice())
                .read_to_string(&mut text)
                .map_err(io)?;
        } else {
            text = String::from_utf8(bytes)
                .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
        }
        let malformed = |line: usize, reason: String| DataError::Malformed {
            path: path.clone(),
            line,
            reason,
        };
        let inconsistent = |reason: String| DataError::Inconsistent {
            path: path.clone(),
            reason,
        };
        let lines: Vec<(usize, Vec<&str>)> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i + 1, l.split(',').map(str::trim).collect()))
            .collect();
        let has_header = lines.len() > 1 && lines[0].1.len() != lines[1].1.len();
        let (header, rows) = if has_header {
            (Some(&lines[0]), &lines[1..])
        } else {
            (None, &lines[..])
        };
        let width = rows
            .first()
            .map(|r| r.1.len())
            .ok_or_else(|| inconsistent("no rows".into()))?;
        if width < 2 {
            return Err(malformed(
                rows[0].0,
                "a row needs features and a label".into(),
            ));
        }
        let d = width - 1;
        let (mut x, mut labels) = (Vec::with_capacity(rows.len() * d), Vec::new());
        for (line, fields) in rows {
            if fields.len() != width {
                return Err(malformed(
                    *line,
                    format!("{} fields where the first row has {width}", fields.len()),
                ));
            }
            for (column, field) in fields[..d].iter().enumerate() {
                match field.parse::<f64>() {
                    Ok(v) if v.is_finite() => x.push(v),
                    _ => {
                        return Err(malformed(
                            *line,
                            format!("feature {column} is {field:?}, not a finite number"),
                        ));
                    }
                }
            }
            let label = fields[d]
                .parse::<f64>()
                .ok()
                .filter(|v| *v >= 0.0 && v.fract() == 0.0 && *v < MAX_CLASSES as f64);
            labels.push(label.ok_or_else(|| {
                malformed(
                    *line,
                    format!(
                        "the label {:?} is not a class index (an integer in 0..{MAX_CLASSES})",
                        fields[d]
                    ),
                )
            })? as usize);
        }
        let classes = labels.iter().max().map_or(0, |m| m + 1);
        let class_names = match header {
            None => (0..classes).map(|c| c.to_string()).collect(),
            Some((_, h)) => {
                let counts = (h[0].parse::<usize>(), h.get(1).map(|v| v.parse::<usize>()));
                if counts != (Ok(rows.len()), Some(Ok(d))) {
                    return Err(inconsistent(format!(
                        "the header announces {:?} rows of {:?} features; the file has {} of {d}",
                        h[0],
                        h.get(1),
                        rows.len()
                    )));
                }
                let names: Vec<String> = h[2..].iter().map(|s| s.to_string()).collect();
                if names.len() < classes {
                    return Err(inconsistent(format!(
                        "label {} has no name in the header ({} names)",
                        classes - 1,
                        names.len()
                    )));
                }
                names
            }
        };
        Ok(Self {
            x,
            d,
            labels,
            class_names,
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.class_names.len()
    }

    /// The rows `index`, in that order.
    pub fn select(&self, index: &[usize]) -> Self {
        Self {
            x: index
                .iter()
                .flat_map(|&i| self.x[i * self.d..(i + 1) * self.d].iter().copied())
                .collect(),
            d: self.d,
            labels: index.iter().map(|&i| self.labels[i]).collect(),
            class_names: self.class_names.clone(),
        }
    }

    /// A seeded stratified split: `test_fraction` of each class (rounded) goes to the test set.
    /// Returns `(train, test)`.
    ///
    /// # Example
    /// ```
    /// use vi_models::data::ClassificationTable;
    /// let table = ClassificationTable {
    ///     x: (0..10).map(f64::from).collect(), d: 1,
    ///     labels: vec![0, 0, 0, 0, 0, 0, 0, 0, 1, 1], class_names: vec!["a".into(), "b".into()],
    /// };
    /// let (train, test) = table.stratified_split(0.5, 1).unwrap();
    /// assert_eq!((train.len(), test.len()), (5, 5));
    /// assert_eq!(test.labels.iter().filter(|&&l| l == 1).count(), 1);
    /// assert!(table.stratified_split(1.0, 1).is_err());
    /// ```
    ///
    /// # Errors
    /// [`ModelError::Setting`] for a fraction outside `(0, 1)`.
    pub fn stratified_split(
        &self,
        test_fraction: f64,
        seed: u64,
    ) -> Result<(Self, Self), ModelError> {
        if !(test_fraction > 0.0 && test_fraction < 1.0) {
            return Err(ModelError::Setting {
                setting: "test fraction",
                value: test_fraction,
                expected: "in (0, 1)",
            });
        }
        let mut state = seed;
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for class in 0..self.classes() {
            let rows: Vec<usize> = (0..self.len())
                .filter(|&i| self.labels[i] == class)
                .collect();
            let rows: Vec<usize> = permutation(rows.len(), &mut state)
                .into_iter()
                .map(|i| rows[i])
                .collect();
            let cut = (rows.len() as f64 * test_fraction).round() as usize;
            test.extend_from_slice(&rows[..cut]);
            train.extend_from_slice(&rows[cut..]);
        }
        train.sort_unstable();
        test.sort_unstable();
        Ok((self.select(&train), self.select(&test)))
    }
}
