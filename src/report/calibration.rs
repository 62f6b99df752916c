//! The report section "Tolerance calibration": per kind of tolerance, how far the tolerance
//! model sits above the rounding error measured against double-double
//! ([`crate::calibration`]), on the first instance of each grid point.

use crate::calibration::{KINDS, KindStats};
use crate::scenario::runner::ScenarioResults;
use std::fmt::Write;

/// Appends the section (nothing when no instance carries calibration data).
pub fn section(w: &mut String, res: &ScenarioResults) {
    let stats: Vec<&Vec<KindStats>> = res.instances.iter().filter_map(|i| i.calibration.as_ref()).collect();
    if stats.is_empty() {
        return;
    }
    writeln!(w, "\n## Tolerance calibration\n").ok();
    writeln!(
        w,
        "Each tolerance of the model (`src/tol.rs`) against the rounding error it bounds, measured by \
        recomputing the same quantity in double-double from the same `f64` data (`src/calibration.rs`), on \
        the first instance of each of {} grid points. A ratio tolerance/measured below 1 would be an unsound \
        tolerance; the median shows how tight it is (measured errors are floored at ε·|value|).\n",
        stats.len()
    )
    .ok();
    writeln!(w, "| kind | instances | samples | min ratio | median of medians | max ratio | unsound |").ok();
    writeln!(w, "|---|---|---|---|---|---|---|").ok();
    for kind in KINDS {
        let per: Vec<&KindStats> = stats.iter().filter_map(|s| s.iter().find(|k| k.kind == kind)).collect();
        if per.is_empty() {
            writeln!(w, "| {kind} | 0 | 0 | – | – | – | – |").ok();
            continue;
        }
        let mut medians: Vec<f64> = per.iter().map(|k| k.median).collect();
        medians.sort_by(f64::total_cmp);
        let min = per.iter().map(|k| k.min).fold(f64::INFINITY, f64::min);
        let max = per.iter().map(|k| k.max).fold(0.0, f64::max);
        writeln!(
            w,
            "| {kind} | {} | {} | {min:.2e} | {:.2e} | {max:.2e} | {} |",
            per.len(),
            per.iter().map(|k| k.samples).sum::<usize>(),
            medians[medians.len() / 2],
            per.iter().map(|k| k.unsound).sum::<usize>()
        )
        .ok();
    }
}
