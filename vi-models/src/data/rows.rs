//! Checking tables and input rows at a model's boundary: the number of columns, rows, targets
//! and labels, and that every value is finite. A model's `fit`, `predict` and `evaluate` run
//! these checks first, so a wrong shape or a NaN is a typed error naming the row, never a
//! truncated result or a NaN prediction.

use super::{ClassificationTable, Table};
use crate::error::ModelError;

/// Row-major input rows of `columns` features each: what a fitted model predicts at.
///
/// # Example
/// ```
/// use vi_models::data::Rows;
/// let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let rows = Rows::new(&x, 3);
/// assert_eq!((rows.len(), rows.columns()), (2, 3));
/// assert!(rows.check(3).is_ok());
/// // The same values read as rows of 2 features do not fit a model of 3.
/// assert!(Rows::new(&x, 2).check(3).is_err());
/// assert!(Rows::new(&[1.0, f64::NAN, 3.0], 3).check(3).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rows<'a> {
    values: &'a [f64],
    columns: usize,
}

impl<'a> Rows<'a> {
    /// The rows of `columns` features held in `values` (checked by [`Rows::check`]).
    pub fn new(values: &'a [f64], columns: usize) -> Self {
        Self { values, columns }
    }

    /// The values, row-major.
    pub fn values(&self) -> &'a [f64] {
        self.values
    }

    /// Features per row.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// Number of whole rows.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.columns).unwrap_or(0)
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Checks the rows against a model fitted on `features` columns and returns their number.
    ///
    /// # Errors
    /// [`ModelError::Columns`] for another number of columns, [`ModelError::Ragged`] when the
    /// values are not whole rows, [`ModelError::NonFinite`] naming the first NaN or infinite
    /// value's row and column.
    pub fn check(&self, features: usize) -> Result<usize, ModelError> {
        if self.columns != features {
            return Err(ModelError::Columns {
                found: self.columns,
                expected: features,
            });
        }
        if features == 0 || !self.values.len().is_multiple_of(features) {
            return Err(ModelError::Ragged {
                values: self.values.len(),
                features,
            });
        }
        finite("feature", self.values, features)?;
        Ok(self.len())
    }
}

/// [`ModelError::NonFinite`] for the first value of `values` (rows of `columns`) that is NaN or
/// infinite.
fn finite(what: &'static str, values: &[f64], columns: usize) -> Result<(), ModelError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(ModelError::NonFinite {
            what,
            row: i / columns,
            column: i % columns,
            value: values[i],
        }),
    }
}

impl Table {
    /// The feature rows.
    pub fn rows(&self) -> Rows<'_> {
        Rows::new(&self.x, self.d)
    }

    /// Checks that the table is `len()` rows of `d ≥ 1` finite features with one finite target
    /// each, and returns the number of rows.
    ///
    /// # Errors
    /// [`ModelError::Ragged`], [`ModelError::Count`] (targets that do not pair with the rows) or
    /// [`ModelError::NonFinite`] naming the row.
    ///
    /// # Example
    /// ```
    /// use vi_models::data::Table;
    /// let table = Table { x: vec![0.0, 1.0, 2.0, 3.0], y: vec![1.0, 2.0], d: 2 };
    /// assert_eq!(table.check().unwrap(), 2);
    /// let short = Table { y: vec![1.0], ..table.clone() };
    /// assert_eq!(short.check().unwrap_err().to_string(), "1 targets for 2 rows");
    /// ```
    pub fn check(&self) -> Result<usize, ModelError> {
        let rows = self.rows().check(self.d)?;
        check_targets(&self.y, rows)?;
        Ok(rows)
    }
}

/// Checks that `y` holds one finite target for each of `rows` rows.
///
/// # Errors
/// [`ModelError::Count`], or [`ModelError::NonFinite`] naming the row.
pub(crate) fn check_targets(y: &[f64], rows: usize) -> Result<(), ModelError> {
    if y.len() != rows {
        return Err(ModelError::Count {
            what: "targets",
            found: y.len(),
            rows,
        });
    }
    finite("target", y, 1)
}

impl ClassificationTable {
    /// The feature rows.
    pub fn rows(&self) -> Rows<'_> {
        Rows::new(&self.x, self.d)
    }

    /// Checks that the table is rows of `d ≥ 1` finite features with one label each, every
    /// label naming one of its classes, and returns the number of rows.
    ///
    /// # Errors
    /// [`ModelError::Ragged`], [`ModelError::Count`], [`ModelError::NonFinite`] or
    /// [`ModelError::Label`] naming the row.
    pub fn check(&self) -> Result<usize, ModelError> {
        let rows = self.rows().check(self.d)?;
        self.check_labels(rows)?;
        Ok(rows)
    }

    /// Checks that there is one label for each of `rows` rows, each naming one of the table's
    /// classes (the part of [`ClassificationTable::check`] beyond the features).
    pub(crate) fn check_labels(&self, rows: usize) -> Result<(), ModelError> {
        if self.labels.len() != rows {
            return Err(ModelError::Count {
                what: "labels",
                found: self.labels.len(),
                rows,
            });
        }
        let classes = self.classes();
        if let Some((row, &label)) = self.labels.iter().enumerate().find(|(_, l)| **l >= classes) {
            return Err(ModelError::Label {
                row,
                label,
                classes,
            });
        }
        Ok(())
    }

    /// The number of distinct labels present in the rows (what a classifier can learn from,
    /// whatever the label values are).
    pub fn distinct_labels(&self) -> usize {
        let mut seen = vec![false; self.classes()];
        for &l in &self.labels {
            if let Some(s) = seen.get_mut(l) {
                *s = true;
            }
        }
        seen.into_iter().filter(|&s| s).count()
    }
}
