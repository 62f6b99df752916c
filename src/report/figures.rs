//! SVG figures (plotters, SVG backend only).
//!
//! Three figures: the error curves of one run with the bounds (8) and (19) (the paper's
//! Figure 2), late-start curves for several `T'` (the paper's appendix C figures), and the
//! distribution of claim margins over instances.
//!
//! Conventions shared by all figures:
//! - logarithmic axes are drawn as `log10` of the data on a linear axis, with ticks at
//!   powers of ten labelled `1e-6`, …, `1` (plotters' own log labels are poor);
//! - a value below `1e-18` is drawn at `1e-18`, and so is a value `≤ 0` (or `−∞`), the axis
//!   then reaching down to `1e-18`; `NaN` and `+∞` are skipped and break the line;
//! - the legend is drawn in a panel right of the plot, so it never hides data;
//! - the SVG is rendered into memory and then written, so every failure (drawing or I/O)
//!   is an [`Error::Io`] naming the file, and the same input gives byte-identical output.
//!
//! Text is emitted as SVG `<text>` elements (no font files are read); widths are estimated.

use crate::error::{Error, Result};
use crate::unroll::ErrorCurves;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;
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

/// The smallest value a log axis shows (`log10`): lower values are clipped to it.
const FLOOR_EXP: f64 = -18.0;
/// The smallest positive margin shown as itself (`log10`); smaller positive ones are clipped.
const MARGIN_FLOOR_EXP: f64 = -16.0;
/// The x position (`log10` units) of the column of non-positive margins.
const VIOLATION_X: f64 = -17.0;
/// Font family of all text (resolved by the SVG viewer).
const FONT: &str = "sans-serif";

/// Colours of `e`, `ė`, `ē` (and of their bounds), of `e` in late-start figures, and of the
/// late-start curves (matplotlib's "tab10" without gray and olive).
const E_COLOR: RGBColor = RGBColor(31, 119, 180);
const EDOT_COLOR: RGBColor = RGBColor(214, 39, 40);
const EBAR_COLOR: RGBColor = RGBColor(44, 160, 44);
const GRAY: RGBColor = RGBColor(90, 90, 90);
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Axis, Axis>>;
type DrawResult<T = ()> = std::result::Result<T, DrawingAreaErrorKind<std::io::Error>>;

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

/// One curve of a residual-polynomial figure: `|φ_t(λ)|` on a grid of `λ` for one `t`.
#[derive(Debug, Clone)]
pub struct PolynomialCurve {
    /// The iteration `t`.
    pub t: usize,
    /// `|φ_t(λ_i)|` at the grid points.
    pub values: Vec<f64>,
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

/// A linear axis over `[lo, hi]` with about ten "nice" ticks.
fn float_axis(lo: f64, hi: f64) -> Axis {
    let span = hi - lo;
    let p = 10f64.powf((span / 10.0).log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * p).find(|s| span / s <= 10.0).unwrap_or(10.0 * p);
    let ticks = multiples(lo, hi, step).into_iter().map(|t| (t, format!("{}", (t / step).round() * step))).collect();
    Axis { range: lo..hi, ticks, light: vec![] }
}

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

/// A linear axis: its range, labelled ticks (bold grid lines) and unlabelled light grid
/// lines (a plotters coordinate with exactly these ticks).
#[derive(Clone)]
struct Axis {
    range: Range<f64>,
    ticks: Vec<(f64, String)>,
    light: Vec<f64>,
}

impl Ranged for Axis {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let t = ((v - self.range.start) / (self.range.end - self.range.start)).clamp(-1.0, 2.0);
        limit.0 + (f64::from(limit.1 - limit.0) * t).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() { self.light.clone() } else { self.ticks.iter().map(|t| t.0).collect() }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

impl Axis {
    /// The label of the tick at `v` (empty for any other value).
    fn label(&self, v: f64) -> String {
        self.ticks.iter().find(|t| (t.0 - v).abs() < 1e-9).map(|t| t.1.clone()).unwrap_or_default()
    }
}

/// A legend marker.
#[derive(Clone, Copy)]
enum Key {
    Line(RGBColor),
    Dashed(RGBColor),
    Dot(RGBColor),
    Cross(RGBColor),
}

/// A solid or dashed line marker.
fn line_key(color: RGBColor, dashed: bool) -> Key {
    if dashed { Key::Dashed(color) } else { Key::Line(color) }
}

/// The `i`-th palette colour (cycled).
fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// `10^n` as a short label: `1`, `10`, `1e2`, `1e-6`.
pub(crate) fn pow10_label(n: i32) -> String {
    match n {
        0 => "1".to_string(),
        1 => "10".to_string(),
        _ => format!("1e{n}"),
    }
}

/// A "nice" tick step (1, 2 or 5 times a power of ten) giving at most ~10 ticks over `span`.
fn nice_step(span: f64) -> f64 {
    let raw = (span / 10.0).max(1.0);
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * p).find(|s| *s >= raw).unwrap_or(10.0 * p)
}

/// Multiples of `step` in `[lo, hi]`.
fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// A linear integer axis `0..=max` (at least `0..=1`).
fn int_axis(max: f64) -> Axis {
    let hi = max.max(1.0);
    let ticks = multiples(0.0, hi, nice_step(hi)).into_iter().map(|t| (t, format!("{t:.0}"))).collect();
    Axis { range: 0.0..hi, ticks, light: vec![] }
}

/// The `log10` range of the plottable values (see [`log_point`]; a value `≤ 0` extends it
/// to [`FLOOR_EXP`], so clipped values sit at `1e-18`, not at some higher axis bottom),
/// widened to whole decades; `-1..1` when there is no such value.
fn log_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let exps = values.filter_map(|v| log_point(v, FLOOR_EXP));
    let (lo, hi) = exps.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), l| (lo.min(l), hi.max(l)));
    match (lo.floor(), hi.ceil()) {
        (lo, hi) if lo > hi => -1.0..1.0,
        (lo, hi) if lo == hi => lo - 1.0..hi + 1.0,
        (lo, hi) => lo..hi,
    }
}

/// A log axis (in `log10` units) covering `values`, ticks at powers of ten.
fn log_axis(values: impl Iterator<Item = f64>) -> Axis {
    let range = log_range(values);
    let step = nice_step(range.end - range.start);
    let ticks = multiples(range.start, range.end, step).into_iter().map(|t| (t, pow10_label(t as i32))).collect();
    Axis { light: log_minor(&range, step), range, ticks }
}

/// Light grid lines of a log axis: `2…9 × 10^n` over at most 6 decades, every decade over
/// at most 40 decades when ticks skip decades, else none.
fn log_minor(range: &Range<f64>, step: f64) -> Vec<f64> {
    let span = range.end - range.start;
    if step > 1.0 && span <= 40.0 {
        return multiples(range.start, range.end, 1.0);
    }
    if span > 6.0 {
        return vec![];
    }
    let decades = multiples(range.start, range.end - 1.0, 1.0);
    decades.into_iter().flat_map(|d| (2..10).map(move |m| d + f64::from(m).log10())).collect()
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

/// `log10 v` for plotting: `None` for `NaN`/`+∞` (skipped), `floor` for `v ≤ 0` (clipped).
pub(crate) fn log_point(v: f64, floor: f64) -> Option<f64> {
    if v.is_nan() || v == f64::INFINITY {
        None
    } else if v <= 0.0 {
        Some(floor)
    } else {
        Some(v.log10().max(floor))
    }
}

/// The runs of plottable points `(x0 + i, log10 v_i)`, split at skipped values.
fn log_segments(values: &[f64], x0: f64, floor: f64) -> Vec<Vec<(f64, f64)>> {
    let mut segments = vec![vec![]];
    for (i, &v) in values.iter().enumerate() {
        match log_point(v, floor) {
            Some(y) => segments.last_mut().map(|s| s.push((x0 + i as f64, y))).unwrap_or_default(),
            None => segments.push(vec![]),
        }
    }
    segments.retain(|s| !s.is_empty());
    segments
}

/// Renders into memory, then creates the parent directory and writes the file. The figure
/// grows taller than `size` when the legend needs it.
fn render(
    path: &Path,
    size: (u32, u32),
    title: &str,
    legend: &[(String, Key)],
    draw: impl FnOnce(&Area) -> DrawResult,
) -> Result<()> {
    let io = |message: String| Error::Io { path: path.display().to_string(), message };
    let size = (size.0, size.1.max(90 + 26 * legend.len() as u32));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let drawn = (|| -> DrawResult {
            root.fill(&WHITE)?;
            let body = root.titled(title, (FONT, 22))?;
            let (plot, side) = body.split_horizontally(size.0.saturating_sub(legend_width(legend)));
            draw(&plot)?;
            draw_legend(&side, legend)?;
            root.present()
        })();
        drawn.map_err(|e| io(format!("drawing failed: {e}")))?;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io(format!("cannot create directory: {e}")))?;
    }
    std::fs::write(path, svg).map_err(|e| io(e.to_string()))
}

/// The width of the legend panel in pixels: marker, gap, and an estimate of the longest
/// label at 16 px (no font metrics are available).
fn legend_width(legend: &[(String, Key)]) -> u32 {
    let chars = legend.iter().map(|l| l.0.chars().count()).max().unwrap_or(0) as u32;
    (60 + 9 * chars).clamp(120, 400)
}

/// A chart with the given axes, grid and tick labels; `descs` are the x and y captions.
fn chart<'a, 'b>(
    area: &'a Area<'b>,
    x: &Axis,
    y: &Axis,
    descs: (&str, &str),
    y_labels: u32,
) -> DrawResult<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(y_labels)
        .build_cartesian_2d(x.clone(), y.clone())?;
    chart
        .configure_mesh()
        .x_desc(descs.0)
        .y_desc(descs.1)
        .x_label_formatter(&|v| x.label(*v))
        .y_label_formatter(&|v| y.label(*v))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .bold_line_style(RGBColor(215, 215, 215))
        .light_line_style(RGBColor(240, 240, 240))
        .draw()?;
    Ok(chart)
}

/// One curve on a log y axis (solid or dashed), isolated points as dots.
fn draw_log_curve(chart: &mut Chart, values: &[f64], x0: f64, floor: f64, color: RGBColor, dashed: bool) -> DrawResult {
    let style = ShapeStyle::from(&color).stroke_width(2);
    for seg in log_segments(values, x0, floor) {
        if seg.len() == 1 {
            chart.draw_series(seg.into_iter().map(|p| Circle::new(p, 3, style.filled())))?;
        } else if dashed {
            chart.draw_series(DashedLineSeries::new(seg, 8, 5, style))?;
        } else {
            chart.draw_series(LineSeries::new(seg, style))?;
        }
    }
    Ok(())
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

/// The legend panel: one marker and label per line, top to bottom.
fn draw_legend(area: &Area, entries: &[(String, Key)]) -> DrawResult {
    for (i, (label, key)) in entries.iter().enumerate() {
        let y = 40 + 26 * i as i32;
        draw_key(area, *key, (8, y))?;
        let font = (FONT, 16).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(label.clone(), (44, y), font))?;
    }
    Ok(())
}

/// One legend marker, `(x, y)` its left centre.
fn draw_key(area: &Area, key: Key, (x, y): (i32, i32)) -> DrawResult {
    let line = |c: &RGBColor| ShapeStyle::from(c).stroke_width(2);
    match key {
        Key::Line(c) => area.draw(&PathElement::new(vec![(x, y), (x + 30, y)], line(&c))),
        Key::Dashed(c) => {
            area.draw(&plotters::element::DashedPathElement::new(vec![(x, y), (x + 30, y)], 8, 5, line(&c)))
        }
        Key::Dot(c) => area.draw(&Circle::new((x + 15, y), 4, ShapeStyle::from(&c.mix(0.6)).filled())),
        Key::Cross(c) => area.draw(&Cross::new((x + 15, y), 5, line(&c))),
    }
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

/// A linear axis covering both coordinates of `pts` (one axis for x and y, so the diagonal
/// is the diagonal), with "nice" ticks.
fn lin_axis(pts: &[(f64, f64)]) -> Axis {
    let (lo, hi) =
        pts.iter().flat_map(|p| [p.0, p.1]).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    let (lo, hi) = if lo > hi {
        (0.0, 1.0)
    } else if lo == hi {
        (lo - 1.0, hi + 1.0)
    } else {
        (lo, hi)
    };
    let pad = 0.05 * (hi - lo);
    let (lo, hi) = (lo - pad, hi + pad);
    let raw = (hi - lo) / 8.0;
    let p = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * p).find(|s| *s >= raw).unwrap_or(10.0 * p);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let ticks = multiples(lo, hi, step).into_iter().map(|t| (t, format!("{t:.decimals$}"))).collect();
    Axis { range: lo..hi, ticks, light: vec![] }
}
