//! Range checks of the settings in the models' configs, each failure a
//! [`ModelError::Setting`] naming the setting, its value and the allowed range.

use crate::error::ModelError;

/// A count that must be at least 1 (epochs, batch size, Monte Carlo samples, inducing points).
pub(crate) fn count(setting: &'static str, value: usize) -> Result<(), ModelError> {
    if value == 0 {
        return Err(ModelError::Setting {
            setting,
            value: 0.0,
            expected: "at least 1",
        });
    }
    Ok(())
}

/// A finite, positive real (learning rate, precision `τ`, lengthscale).
pub(crate) fn positive(setting: &'static str, value: f64) -> Result<(), ModelError> {
    if !(value.is_finite() && value > 0.0) {
        return Err(ModelError::Setting {
            setting,
            value,
            expected: "finite and > 0",
        });
    }
    Ok(())
}

/// A probability in `[0, 1)` (`open` false) or `(0, 1)` (`open` true).
pub(crate) fn probability(setting: &'static str, value: f64, open: bool) -> Result<(), ModelError> {
    let (valid, expected) = if open {
        (value > 0.0 && value < 1.0, "in (0, 1)")
    } else {
        ((0.0..1.0).contains(&value), "in [0, 1)")
    };
    if !valid {
        return Err(ModelError::Setting {
            setting,
            value,
            expected,
        });
    }
    Ok(())
}
