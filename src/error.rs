//! The one error type of the crate.
//!
//! Bad input (a non-contractive step size, a non-finite number, wrong dimensions) is an
//! [`Error`], never a panic; the binary maps it to exit code 2.

use thiserror::Error as ThisError;

/// Everything that can go wrong when building or running an instance.
#[derive(Debug, ThisError, Clone, PartialEq)]
pub enum Error {
    /// A numeric parameter is outside its domain (named by `field`).
    #[error("invalid {field}: {} ({reason})", short_number(*.value))]
    InvalidParameter {
        /// Which parameter (e.g. `alpha`, `delta`, `beta`).
        field: &'static str,
        /// The offending value.
        value: f64,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// Two objects do not fit together.
    #[error("dimension mismatch for {what}: expected {expected}, got {got}")]
    Dimension {
        /// What was being matched.
        what: &'static str,
        /// The expected size.
        expected: usize,
        /// The size received.
        got: usize,
    },
    /// A name that is not in a catalogue (claim id, variant).
    #[error("unknown {what}: {name}")]
    Unknown {
        /// What kind of name.
        what: &'static str,
        /// The name given.
        name: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Malformed input: a scenario file, an expression, a trace (`location` names the file
    /// and the field, line or position).
    #[error("{location}: {message}")]
    Input {
        /// File and field, line or position.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// A command's input is inconsistent as a whole (the message says what and where).
    #[error("{0}")]
    Command(String),
    /// A linear solve or an inner solver failed.
    #[error("numerical failure: {0}")]
    Numerical(String),
}

/// `x` as `{}` prints it, or in scientific notation (`1e300`, `1e-320`) where `{}` would
/// print more than [`SHORT_NUMBER_CHARS`] characters (a decimal of hundreds of digits):
/// every number `{}` prints within the limit prints as before.
pub fn short_number(x: f64) -> String {
    let s = x.to_string();
    if s.chars().count() > SHORT_NUMBER_CHARS { format!("{x:e}") } else { s }
}

/// The longest number [`short_number`] prints as `{}` does: far above the decimals of the
/// committed reports and messages, far below the hundreds of digits of `1e300`.
pub const SHORT_NUMBER_CHARS: usize = 25;

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Rejects a non-finite value or one outside `(lo, hi)` (open interval; use infinities
/// for a half-line).
pub(crate) fn check_open(field: &'static str, value: f64, lo: f64, hi: f64) -> Result<f64> {
    if !value.is_finite() {
        return Err(Error::InvalidParameter { field, value, reason: "must be finite" });
    }
    if value <= lo || value >= hi {
        return Err(Error::InvalidParameter { field, value, reason: "out of range" });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers print as `{}` does up to 25 characters (the committed outputs' numbers, e.g.
    /// `0.1`, `10000000000`, `0.000017930768071975463`) and in scientific notation beyond.
    #[test]
    fn short_number_keeps_short_decimals_and_shortens_long_ones() {
        for x in [0.1, 10.0, 1e10, 0.000017930768071975463, -2.5, 0.0, 1e24] {
            assert_eq!(short_number(x), x.to_string(), "{x}");
        }
        assert_eq!(short_number(1e300), "1e300");
        assert_eq!(short_number(1e-320), "1e-320");
        assert_eq!(short_number(-1.5e30), "-1.5e30");
        let e = Error::InvalidParameter { field: "lambda", value: 1e-320, reason: "why" };
        assert_eq!(e.to_string(), "invalid lambda: 1e-320 (why)");
    }
}
