//! SVG figures (plotters, SVG backend only). Placeholder: being written.

use crate::error::Result;
use crate::unroll::ErrorCurves;
use std::path::Path;

/// One curve of a late-start figure: the late-start index `T'` and the errors
/// `ė_{T'}^{(j)}` for `j = 0, 1, …` (plotted at algorithm iteration `T' + j`).
#[derive(Debug, Clone)]
pub struct LateStartCurve {
    /// The late-start index `T'`.
    pub t_prime: usize,
    /// Errors from `j = 0`.
    pub errors: Vec<f64>,
}

/// Figure 2 of the paper: `e_k`, `ė_k`, `ē_k` on a log axis with the bounds (8) and (19)
/// dashed, and vertical lines at `k̇`, `k̄`.
pub fn error_curves(path: &Path, title: &str, curves: &ErrorCurves, bound8: &[f64], bound19: &[f64]) -> Result<()> {
    let _ = (path, title, curves, bound8, bound19);
    Ok(())
}

/// Late-start curves for several `T'` (like the paper's appendix figures), with the iterate
/// error `e_k` dashed.
pub fn late_start(path: &Path, title: &str, e: &[f64], curves: &[LateStartCurve]) -> Result<()> {
    let _ = (path, title, e, curves);
    Ok(())
}

/// The distribution of margins per claim (one row per claim, one dot per instance).
pub fn margins(path: &Path, title: &str, rows: &[(String, Vec<f64>)]) -> Result<()> {
    let _ = (path, title, rows);
    Ok(())
}
