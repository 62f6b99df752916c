//! The shared axes of the figures: a plotters coordinate with exactly the ticks we want,
//! integer, "nice" linear and `log10` axes, the clipping rule of log axes, and the chart
//! frame with its grid.

use super::{Area, DrawResult, FLOOR_EXP, FONT};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use std::ops::Range;

pub(super) type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Axis, Axis>>;

/// A linear axis: its range, labelled ticks (bold grid lines) and unlabelled light grid
/// lines (a plotters coordinate with exactly these ticks).
#[derive(Clone)]
pub(super) struct Axis {
    pub(super) range: Range<f64>,
    pub(super) ticks: Vec<(f64, String)>,
    pub(super) light: Vec<f64>,
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
    pub(super) fn label(&self, v: f64) -> String {
        self.ticks.iter().find(|t| (t.0 - v).abs() < 1e-9).map(|t| t.1.clone()).unwrap_or_default()
    }
}

/// `10^n` as a short label: `1`, `10`, `1e2`, `1e-6`.
pub(super) fn pow10_label(n: i32) -> String {
    match n {
        0 => "1".to_string(),
        1 => "10".to_string(),
        _ => format!("1e{n}"),
    }
}

/// A "nice" tick step (1, 2 or 5 times a power of ten) giving at most ~10 ticks over `span`.
pub(super) fn nice_step(span: f64) -> f64 {
    let raw = (span / 10.0).max(1.0);
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * p).find(|s| *s >= raw).unwrap_or(10.0 * p)
}

/// Multiples of `step` in `[lo, hi]`.
pub(super) fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// A linear integer axis `0..=max` (at least `0..=1`).
pub(super) fn int_axis(max: f64) -> Axis {
    let hi = max.max(1.0);
    let ticks = multiples(0.0, hi, nice_step(hi)).into_iter().map(|t| (t, format!("{t:.0}"))).collect();
    Axis { range: 0.0..hi, ticks, light: vec![] }
}

/// The `log10` range of the plottable values (see [`log_point`]; a value `≤ 0` extends it
/// to [`FLOOR_EXP`], so clipped values sit at `1e-18`, not at some higher axis bottom),
/// widened to whole decades; `-1..1` when there is no such value.
pub(super) fn log_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let exps = values.filter_map(|v| log_point(v, FLOOR_EXP));
    let (lo, hi) = exps.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), l| (lo.min(l), hi.max(l)));
    match (lo.floor(), hi.ceil()) {
        (lo, hi) if lo > hi => -1.0..1.0,
        (lo, hi) if lo == hi => lo - 1.0..hi + 1.0,
        (lo, hi) => lo..hi,
    }
}

/// A log axis (in `log10` units) covering `values`, ticks at powers of ten.
pub(super) fn log_axis(values: impl Iterator<Item = f64>) -> Axis {
    let range = log_range(values);
    let step = nice_step(range.end - range.start);
    let ticks = multiples(range.start, range.end, step).into_iter().map(|t| (t, pow10_label(t as i32))).collect();
    Axis { light: log_minor(&range, step), range, ticks }
}

/// Light grid lines of a log axis: `2…9 × 10^n` over at most 6 decades, every decade over
/// at most 40 decades when ticks skip decades, else none.
pub(super) fn log_minor(range: &Range<f64>, step: f64) -> Vec<f64> {
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

/// A linear axis over `[lo, hi]` with about ten "nice" ticks.
pub(super) fn float_axis(lo: f64, hi: f64) -> Axis {
    let span = hi - lo;
    let p = 10f64.powf((span / 10.0).log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * p).find(|s| span / s <= 10.0).unwrap_or(10.0 * p);
    let ticks = multiples(lo, hi, step).into_iter().map(|t| (t, format!("{}", (t / step).round() * step))).collect();
    Axis { range: lo..hi, ticks, light: vec![] }
}

/// `log10 v` for plotting: `None` for `NaN`/`+∞` (skipped), `floor` for `v ≤ 0` (clipped).
pub(super) fn log_point(v: f64, floor: f64) -> Option<f64> {
    if v.is_nan() || v == f64::INFINITY {
        None
    } else if v <= 0.0 {
        Some(floor)
    } else {
        Some(v.log10().max(floor))
    }
}

/// The runs of plottable points `(x0 + i, log10 v_i)`, split at skipped values.
pub(super) fn log_segments(values: &[f64], x0: f64, floor: f64) -> Vec<Vec<(f64, f64)>> {
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

/// A chart with the given axes, grid and tick labels; `descs` are the x and y captions.
pub(super) fn chart<'a, 'b>(
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
pub(super) fn draw_log_curve(
    chart: &mut Chart,
    values: &[f64],
    x0: f64,
    floor: f64,
    color: RGBColor,
    dashed: bool,
) -> DrawResult {
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

/// A linear axis covering both coordinates of `pts` (one axis for x and y, so the diagonal
/// is the diagonal), with "nice" ticks.
pub(super) fn lin_axis(pts: &[(f64, f64)]) -> Axis {
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
