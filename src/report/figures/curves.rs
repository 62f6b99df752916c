//! Curves on a log y axis: the error curves of one run with the bounds (8) and (19) (the
//! paper's Figure 2, used by scenario reports and `reproduce fig2`), late-start curves for
//! several `T'`, residual polynomials over the spectrum, and the levels of a trend experiment.

use super::axes::{Axis, Chart, chart, draw_log_curve, float_axis, int_axis, log_axis, log_point};
use super::{DrawResult, E_COLOR, EBAR_COLOR, EDOT_COLOR, FONT, GRAY, color, line_key, render};
use crate::error::Result;
use crate::scenario::runner::{LateStartCurve, PolynomialCurve};
use crate::unroll::ErrorCurves;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Figure 2 of the paper: `e_k`, `ė_k`, `ē_k` on a log axis with the bounds (8) and (19)
/// dashed, and vertical lines at `k̇`, `k̄`.
///
/// `bound8[k]` and `bound19[k]` are plotted at `k` in the colours of `e` and `ė`; an empty
/// slice omits that bound. The vertical lines are drawn when `k̇` (`k̄`) indexes `ė` (`ē`).
pub fn error_curves(path: &Path, title: &str, curves: &ErrorCurves, bound8: &[f64], bound19: &[f64]) -> Result<()> {
    let series: [(&[f64], RGBColor, bool, &str); 5] = [
        (&curves.e, E_COLOR, false, "e_k"),
        (&curves.edot, EDOT_COLOR, false, "ė_k"),
        (&curves.ebar, EBAR_COLOR, false, "ē_k"),
        (bound8, E_COLOR, true, "bound (8)"),
        (bound19, EDOT_COLOR, true, "bound (19)"),
    ];
    let series: Vec<_> = series.into_iter().filter(|s| !s.0.is_empty() || !s.2).collect();
    let k_max = series.iter().map(|s| s.0.len()).max().unwrap_or(0).saturating_sub(1);
    let x = int_axis(k_max as f64);
    let y = log_axis(series.iter().flat_map(|s| s.0.iter().copied()));
    let marks = [
        (curves.k_dot(), curves.edot.len(), EDOT_COLOR, "k\u{307}"),
        (curves.k_bar(), curves.ebar.len(), EBAR_COLOR, "k\u{304}"),
    ];
    let legend: Vec<_> = series.iter().map(|s| (s.3.to_string(), line_key(s.1, s.2))).collect();
    render(path, (1000, 600), title, &legend, |area| {
        let mut chart = chart(area, &x, &y, ("k", "error"), 70)?;
        for s in &series {
            draw_log_curve(&mut chart, s.0, 0.0, y.range.start, s.1, s.2)?;
        }
        for (row, &(k, len, color, name)) in marks.iter().enumerate() {
            if k < len {
                draw_vline(&mut chart, &x, &y, k as f64, &format!("{name} = {k}"), color, row)?;
            }
        }
        Ok(())
    })
}

/// Late-start curves for several `T'` (like the paper's appendix figures), with the iterate
/// error `e_k` dashed.
///
/// Curve `i` is solid in the `i`-th colour of an 8-colour palette (cycled), its `j`-th error
/// at `x = T' + j`, with legend `T' = …`.
pub fn late_start(path: &Path, title: &str, e: &[f64], curves: &[LateStartCurve]) -> Result<()> {
    let ends = curves.iter().map(|c| c.t_prime + c.errors.len().saturating_sub(1));
    let k_max = ends.chain(std::iter::once(e.len().saturating_sub(1))).max().unwrap_or(0);
    let x = int_axis(k_max as f64);
    let y = log_axis(e.iter().chain(curves.iter().flat_map(|c| &c.errors)).copied());
    let mut legend = vec![("e_k".to_string(), line_key(GRAY, true))];
    legend.extend(curves.iter().enumerate().map(|(i, c)| (format!("T' = {}", c.t_prime), line_key(color(i), false))));
    render(path, (1000, 600), title, &legend, |area| {
        let mut chart = chart(area, &x, &y, ("iteration k = T' + j", "error"), 70)?;
        draw_log_curve(&mut chart, e, 0.0, y.range.start, GRAY, true)?;
        for (i, c) in curves.iter().enumerate() {
            draw_log_curve(&mut chart, &c.errors, c.t_prime as f64, y.range.start, color(i), false)?;
        }
        Ok(())
    })
}

/// `|φ_t(λ)|` over the spectrum `[μ, L]` for a few `t` (log y axis), with the eigenvalues
/// of `H` marked as ticks at the bottom: the figures of the quadratic theory
/// (`φ = P_t − λP_t'` and `φ = P_t'`).
pub fn polynomial_curves(
    path: &Path,
    title: &str,
    lambdas: &[f64],
    curves: &[PolynomialCurve],
    eigenvalues: &[f64],
    y_label: &str,
) -> Result<()> {
    let (lo, hi) = (lambdas.first().copied().unwrap_or(0.0), lambdas.last().copied().unwrap_or(1.0));
    let x = float_axis(lo, if hi > lo { hi } else { lo + 1.0 });
    let y = log_axis(curves.iter().flat_map(|c| c.values.iter().copied()));
    let legend: Vec<_> =
        curves.iter().enumerate().map(|(i, c)| (format!("t = {}", c.t), line_key(color(i), false))).collect();
    render(path, (1000, 600), title, &legend, |area| {
        let mut chart = chart(area, &x, &y, ("λ (spectrum of H)", y_label), 70)?;
        for (i, c) in curves.iter().enumerate() {
            let pts: Vec<(f64, f64)> = lambdas
                .iter()
                .zip(&c.values)
                .filter_map(|(&l, &v)| log_point(v, y.range.start).map(|yy| (l, yy)))
                .collect();
            chart.draw_series(LineSeries::new(pts, ShapeStyle::from(&color(i)).stroke_width(2)))?;
        }
        let tick = ShapeStyle::from(&GRAY).stroke_width(2);
        let height = 0.04 * (y.range.end - y.range.start);
        for &l in eigenvalues {
            chart.draw_series(LineSeries::new(vec![(l, y.range.start), (l, y.range.start + height)], tick))?;
        }
        Ok(())
    })
}

/// Curves of several levels of an experiment on a log y axis (trend reports): curve `i` is
/// `(label, x0, values)`, its `j`-th value at `x = x0 + j`, solid in the `i`-th colour.
pub fn level_curves(path: &Path, title: &str, x_desc: &str, curves: &[(String, usize, Vec<f64>)]) -> Result<()> {
    let k_max = curves.iter().map(|c| c.1 + c.2.len().saturating_sub(1)).max().unwrap_or(0);
    let x = int_axis(k_max as f64);
    let y = log_axis(curves.iter().flat_map(|c| c.2.iter().copied()));
    let legend: Vec<_> = curves.iter().enumerate().map(|(i, c)| (c.0.clone(), line_key(color(i), false))).collect();
    render(path, (1000, 600), title, &legend, |area| {
        let mut chart = chart(area, &x, &y, (x_desc, "error"), 70)?;
        for (i, c) in curves.iter().enumerate() {
            draw_log_curve(&mut chart, &c.2, c.1 as f64, y.range.start, color(i), false)?;
        }
        Ok(())
    })
}

/// A vertical line at `k` labelled at the top (label row `row`, to stay clear of others).
fn draw_vline(chart: &mut Chart, x: &Axis, y: &Axis, k: f64, label: &str, color: RGBColor, row: usize) -> DrawResult {
    let style = ShapeStyle::from(&color.mix(0.8)).stroke_width(1);
    chart.draw_series(LineSeries::new(vec![(k, y.range.start), (k, y.range.end)], style))?;
    let right = k > x.range.start + 0.75 * (x.range.end - x.range.start);
    let (h, dx) = if right { (HPos::Right, -5) } else { (HPos::Left, 5) };
    let font = (FONT, 16).into_font().color(&color).pos(Pos::new(h, VPos::Top));
    let text = EmptyElement::at((k, y.range.end)) + Text::new(label.to_string(), (dx, 4 + 20 * row as i32), font);
    chart.draw_series(std::iter::once(text))?;
    Ok(())
}
