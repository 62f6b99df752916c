//! Scatters: the distribution of claim margins over instances (one row per claim) and
//! paired scatters of a trend measure at two levels.

use super::axes::{Axis, Chart, chart, lin_axis, log_axis, log_point, multiples, nice_step, pow10_label};
use super::{Area, DrawResult, E_COLOR, EDOT_COLOR, FLOOR_EXP, FONT, GRAY, Key, render};
use crate::error::Result;
use plotters::prelude::*;
use std::path::Path;

/// The smallest positive margin shown as itself (`log10`); smaller positive ones are clipped.
const MARGIN_FLOOR_EXP: f64 = -16.0;
/// The x position (`log10` units) of the column of non-positive margins.
const VIOLATION_X: f64 = -17.0;

/// The distribution of margins per claim (one row per claim, one dot per instance).
///
/// The x axis is `log10 max(margin, 1e-16)` (a margin above the axis' top is clipped to it);
/// a margin that is not positive (a violation or an equality at rounding level; also `NaN`)
/// is a red cross in a separate column `≤ 0` at the left edge. Rows are listed top to
/// bottom in input order; dots of one row are spread vertically (deterministically) so that
/// coinciding margins stay visible.
pub fn margins(path: &Path, title: &str, rows: &[(String, Vec<f64>)]) -> Result<()> {
    let x = margin_axis(rows.iter().flat_map(|r| r.1.iter().copied()));
    let y = row_axis(rows);
    let label_width = (rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0) as u32 * 8 + 40).max(70);
    let height = 160 + 30 * rows.len().max(4) as u32;
    let legend =
        [("margin > 0".to_string(), Key::Dot(E_COLOR)), ("margin ≤ 0 (violation)".to_string(), Key::Cross(EDOT_COLOR))];
    render(path, (1000, height), title, &legend, |area| {
        let mut chart = chart(area, &x, &y, ("margin (log scale)", "claim"), label_width)?;
        let sep = (VIOLATION_X + MARGIN_FLOOR_EXP) / 2.0;
        let style = ShapeStyle::from(&GRAY.mix(0.6)).stroke_width(1);
        chart.draw_series(DashedLineSeries::new(vec![(sep, y.range.start), (sep, y.range.end)], 4, 4, style))?;
        for (i, (_, margins)) in rows.iter().enumerate() {
            draw_margin_row(&mut chart, margins, (rows.len() - 1 - i) as f64, x.range.end)?;
        }
        Ok(())
    })
}

/// The margin axis: the column `≤ 0` at [`VIOLATION_X`], then decades from `1e-16` to the
/// largest finite positive margin (at least `1`).
fn margin_axis(margins: impl Iterator<Item = f64>) -> Axis {
    let top = margins.filter(|m| m.is_finite() && *m > 0.0).fold(1.0f64, f64::max).log10().ceil();
    let step = nice_step(top - MARGIN_FLOOR_EXP);
    let mut ticks = vec![(VIOLATION_X, "≤ 0".to_string())];
    ticks.extend(multiples(MARGIN_FLOOR_EXP, top, step).into_iter().map(|t| (t, pow10_label(t as i32))));
    let light =
        if step > 1.0 && top - MARGIN_FLOOR_EXP <= 40.0 { multiples(MARGIN_FLOOR_EXP, top, 1.0) } else { vec![] };
    Axis { range: VIOLATION_X - 0.6..top + 0.4, ticks, light }
}

/// One row per claim, the first at the top.
fn row_axis(rows: &[(String, Vec<f64>)]) -> Axis {
    let n = rows.len();
    let ticks = rows.iter().enumerate().map(|(i, r)| ((n - 1 - i) as f64, r.0.clone())).collect();
    Axis { range: -0.5..n.max(1) as f64 - 0.5, ticks, light: vec![] }
}

/// The dots of one claim row at height `y_row`; margins `≤ 0` (or `NaN`) as red crosses.
fn draw_margin_row(chart: &mut Chart, margins: &[f64], y_row: f64, x_max: f64) -> DrawResult {
    let jitter = |j: usize| ((j as f64 * 0.618_033_988_749_895).fract() - 0.5) * 0.5;
    let dot = ShapeStyle::from(&E_COLOR.mix(0.6)).filled();
    let cross = ShapeStyle::from(&EDOT_COLOR).stroke_width(2);
    let (pos, neg): (Vec<_>, Vec<_>) = margins.iter().enumerate().partition(|(_, m)| **m > 0.0);
    let place = |(j, m): (usize, &f64)| ((m.log10().max(MARGIN_FLOOR_EXP)).min(x_max), y_row + jitter(j));
    chart.draw_series(pos.into_iter().map(|p| Circle::new(place(p), 3, dot)))?;
    chart.draw_series(neg.into_iter().map(|(j, _)| Cross::new((VIOLATION_X, y_row + jitter(j)), 5, cross)))?;
    Ok(())
}

/// One panel of a paired scatter: a measure at the first level (x) against the second (y).
#[derive(Debug, Clone)]
pub struct PairedPanel {
    /// The measure's name (panel title).
    pub name: String,
    /// Log axes (positive measures) or linear axes.
    pub log: bool,
    /// `(first level, second level)` per pair.
    pub points: Vec<(f64, f64)>,
}

/// Paired scatter plots side by side, with the diagonal `y = x`: a point below the diagonal
/// is a pair whose measure fell from the first level to the second.
pub fn paired_scatter(path: &Path, title: &str, levels: (&str, &str), panels: &[PairedPanel]) -> Result<()> {
    let legend = [("pair".to_string(), Key::Dot(E_COLOR)), ("y = x (no change)".to_string(), Key::Dashed(GRAY))];
    let width = 420 * panels.len().max(1) as u32 + 200;
    render(path, (width, 520), title, &legend, |area| {
        let cells = area.split_evenly((1, panels.len().max(1)));
        for (cell, panel) in cells.iter().zip(panels) {
            draw_panel(cell, panel, levels)?;
        }
        Ok(())
    })
}

fn draw_panel(area: &Area, panel: &PairedPanel, levels: (&str, &str)) -> DrawResult {
    let pts: Vec<(f64, f64)> = panel
        .points
        .iter()
        .filter_map(
            |&(a, b)| if panel.log { Some((log_point(a, FLOOR_EXP)?, log_point(b, FLOOR_EXP)?)) } else { Some((a, b)) },
        )
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .collect();
    let axis = if panel.log { log_axis(panel.points.iter().flat_map(|p| [p.0, p.1])) } else { lin_axis(&pts) };
    let titled = area.titled(&panel.name, (FONT, 18))?;
    let mut chart = chart(&titled, &axis, &axis, (levels.0, levels.1), 70)?;
    let style = ShapeStyle::from(&GRAY.mix(0.8)).stroke_width(1);
    let (lo, hi) = (axis.range.start, axis.range.end);
    chart.draw_series(DashedLineSeries::new(vec![(lo, lo), (hi, hi)], 6, 4, style))?;
    let dot = ShapeStyle::from(&E_COLOR.mix(0.6)).filled();
    chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, dot)))?;
    Ok(())
}
