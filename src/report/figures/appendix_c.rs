//! The appendix-C figure: forward mode on the left, reverse mode on the right, like the
//! paper's Figures 3–14, with the medians of the sweep and the bound (22) at each budget.
//!
//! The conventions of [`super`]: the y axis is `log10` of the data with ticks at powers of
//! ten, values `≤ 0` or below `1e-18` are drawn at `1e-18`, `NaN`/`+∞` break a line; the
//! SVG is rendered into memory and written at once.

use super::axes::{log_point as clipped_log, pow10_label};
use super::{Area, DrawResult, E_COLOR, FLOOR_EXP, FONT, io_error, write_svg};
use crate::error::Result;
use crate::reproduce::appendix_c::{T_COUNT, TruncationCell};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

const BOUND_COLOR: RGBColor = RGBColor(110, 110, 110);
/// One colour per truncation index (matplotlib's "tab10" without blue, plus a dark red).
const T_PALETTE: [RGBColor; T_COUNT] = [
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// `log10 v` clipped at [`FLOOR_EXP`] (`NaN`/`+∞` skipped).
fn log_point(v: f64) -> Option<f64> {
    clipped_log(v, FLOOR_EXP)
}

/// Runs of plottable points `(x, log10 y)`, split at skipped values.
fn segments(points: impl Iterator<Item = (f64, f64)>) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![vec![]];
    for (x, y) in points {
        match log_point(y) {
            Some(ly) => out.last_mut().map(|s| s.push((x, ly))).unwrap_or_default(),
            None => out.push(vec![]),
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// The whole-decade `log10` range of the values (at least one decade).
fn decades(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) =
        values.filter_map(log_point).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (-1.0, 1.0);
    }
    let (lo, hi) = (lo.floor(), hi.ceil());
    if lo == hi { (lo - 1.0, hi + 1.0) } else { (lo, hi) }
}

fn decade_label(v: f64) -> String {
    if (v - v.round()).abs() > 1e-9 {
        return String::new();
    }
    pow10_label(v.round() as i32)
}

/// A curve on consecutive `k` (from `x0`), a solid polyline through points, a dashed line
/// or markers on a log axis.
enum Series<'a> {
    Line { x0: f64, ys: &'a [f64], color: RGBColor, dashed: bool },
    Path { pts: Vec<(f64, f64)>, color: RGBColor },
    Points { pts: Vec<(f64, f64)>, color: RGBColor, marker: Marker, joined: bool },
}

#[derive(Clone, Copy)]
enum Marker {
    Circle,
    Cross,
}

fn panel(area: &Area, caption: &str, x_max: f64, series: &[Series]) -> DrawResult {
    let values = series.iter().flat_map(|s| -> Vec<f64> {
        match s {
            Series::Line { ys, .. } => ys.to_vec(),
            Series::Path { pts, .. } | Series::Points { pts, .. } => pts.iter().map(|p| p.1).collect(),
        }
    });
    let (lo, hi) = decades(values);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 18))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(0.0..x_max.max(1.0), lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("iteration k")
        .y_desc("error")
        .y_labels((hi - lo) as usize + 1)
        .y_label_formatter(&|v| decade_label(*v))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .bold_line_style(RGBColor(215, 215, 215))
        .light_line_style(RGBColor(245, 245, 245))
        .draw()?;
    for s in series {
        match s {
            Series::Line { x0, ys, color, dashed } => {
                let style = ShapeStyle::from(color).stroke_width(2);
                for seg in segments(ys.iter().enumerate().map(|(i, &y)| (x0 + i as f64, y))) {
                    if *dashed {
                        chart.draw_series(DashedLineSeries::new(seg, 8, 5, style))?;
                    } else {
                        chart.draw_series(LineSeries::new(seg, style))?;
                    }
                }
            }
            Series::Path { pts, color } => {
                for seg in segments(pts.iter().copied()) {
                    chart.draw_series(LineSeries::new(seg, ShapeStyle::from(color).stroke_width(2)))?;
                }
            }
            Series::Points { pts, color, marker, joined } => {
                let style = ShapeStyle::from(color).stroke_width(2);
                for seg in segments(pts.iter().copied()) {
                    if *joined && seg.len() > 1 {
                        chart.draw_series(DashedLineSeries::new(seg.clone(), 6, 4, style))?;
                    }
                    match marker {
                        Marker::Circle => {
                            chart.draw_series(seg.into_iter().map(|p| Circle::new(p, 4, style.filled())))?;
                        }
                        Marker::Cross => {
                            chart.draw_series(seg.into_iter().map(|p| Cross::new(p, 5, style)))?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Writes the figure of one `(N, α)` cell.
pub fn appendix_c_figure(path: &Path, c: &TruncationCell, omega: usize) -> Result<()> {
    let budgets: Vec<(usize, usize)> = (0..T_COUNT).map(|j| c.budget(j, omega)).collect();
    let x_max = budgets.iter().map(|b| b.0).max().unwrap_or(1) as f64;
    let mut fwd = vec![Series::Line { x0: 0.0, ys: &c.e, color: E_COLOR, dashed: true }];
    for (j, curve) in c.fwd_curves.iter().enumerate() {
        fwd.push(Series::Line { x0: budgets[j].1 as f64, ys: curve, color: T_PALETTE[j], dashed: false });
    }
    for (j, &(kp, _)) in budgets.iter().enumerate() {
        if let Some(&e) = c.e.get(kp) {
            fwd.push(Series::Points {
                pts: vec![(kp as f64, e)],
                color: T_PALETTE[j],
                marker: Marker::Circle,
                joined: false,
            });
        }
    }
    let finals_f = budgets.iter().zip(&c.fwd).map(|(b, q)| (b.0 as f64, q.median)).collect();
    fwd.push(Series::Points { pts: finals_f, color: BLACK, marker: Marker::Circle, joined: true });
    let bound = budgets.iter().zip(&c.bound).map(|(b, &h)| (b.0 as f64, h)).collect();
    fwd.push(Series::Points { pts: bound, color: BOUND_COLOR, marker: Marker::Cross, joined: true });

    let mut rev = vec![Series::Line { x0: 0.0, ys: &c.e, color: E_COLOR, dashed: true }];
    for (j, curve) in c.rev_curves.iter().enumerate() {
        let kp = budgets[j].0 as f64;
        let pts = curve.iter().map(|&(i, y)| (kp - i as f64, y)).collect();
        rev.push(Series::Path { pts, color: T_PALETTE[j] });
    }
    for (j, (&(_, tp), q)) in budgets.iter().zip(&c.rev).enumerate() {
        rev.push(Series::Points {
            pts: vec![(tp as f64, q.median)],
            color: T_PALETTE[j],
            marker: Marker::Circle,
            joined: false,
        });
    }
    let finals_r = budgets.iter().zip(&c.rev).map(|(b, q)| (b.1 as f64, q.median)).collect();
    rev.push(Series::Points { pts: finals_r, color: BLACK, marker: Marker::Circle, joined: true });

    let title = format!(
        "Appendix C: N = {}, α = {}, median K = {}, median modulus of the step ρ = {:.6} (R = {})",
        c.n,
        c.step.label(),
        c.k,
        c.rho,
        c.runs
    );
    let legend: Vec<(String, RGBColor, bool)> = std::iter::once(("median e_k".to_string(), E_COLOR, true))
        .chain(c.ts.iter().enumerate().map(|(j, t)| (format!("T = {t}"), T_PALETTE[j], false)))
        .chain([
            ("final error (median)".to_string(), BLACK, true),
            ("bound (22) h(T) at K'".to_string(), BOUND_COLOR, true),
        ])
        .collect();
    let size = (1400u32, 640u32);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let drawn = (|| -> DrawResult {
            root.fill(&WHITE)?;
            let body = root.titled(&title, (FONT, 22))?;
            let (plots, legend_area) = body.split_vertically(size.1 - 110);
            let (left, right) = plots.split_horizontally(size.0 / 2);
            panel(&left, "(a) forward mode: late start from T' = T + ωT to K' = K + ωT", x_max, &fwd)?;
            panel(&right, "(b) reverse mode: truncated sweep from K' down to T'", x_max, &rev)?;
            draw_legend(&legend_area, &legend)?;
            root.present()
        })();
        drawn.map_err(|e| io_error(path, format!("drawing failed: {e}")))?;
    }
    write_svg(path, &svg)
}

/// The legend: entries in rows of six.
fn draw_legend(area: &Area, entries: &[(String, RGBColor, bool)]) -> DrawResult {
    for (i, (label, color, dashed)) in entries.iter().enumerate() {
        let (x, y) = (20 + 225 * (i % 6) as i32, 20 + 28 * (i / 6) as i32);
        let style = ShapeStyle::from(color).stroke_width(2);
        if *dashed {
            area.draw(&plotters::element::DashedPathElement::new(vec![(x, y), (x + 30, y)], 8, 5, style))?;
        } else {
            area.draw(&PathElement::new(vec![(x, y), (x + 30, y)], style))?;
        }
        let font = (FONT, 15).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(label.clone(), (x + 38, y), font))?;
    }
    Ok(())
}
