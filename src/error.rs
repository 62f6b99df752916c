//! The one error type of the crate.
//!
//! Bad input (a non-contractive step size, a non-finite number, wrong dimensions) is an
//! [`Error`], never a panic; the binary maps it to exit code 2.

use thiserror::Error as ThisError;

/// Everything that can go wrong when building or running an instance.
#[derive(Debug, ThisError, Clone, PartialEq)]
pub enum Error {
    /// A numeric parameter is outside its domain (named by `field`).
    #[error("invalid {field}: {value} ({reason})")]
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
