//! SVG figures (plotters, SVG backend only): the one plotting stack of the crate.
//!
//! | module | figures |
//! |---|---|
//! | [`curves`] | error curves with the bounds (8) and (19) (the paper's Figure 2), late-start curves, residual polynomials, trend levels |
//! | [`scatter`] | the distribution of claim margins over instances, paired scatters of trend measures |
//! | [`appendix_c`] | the appendix-C figure: forward and reverse mode side by side (the paper's Figures 3–14) |
//! | `axes` | the shared axes, ticks, `log10` clipping and chart frame |
//!
//! Conventions shared by all figures:
//! - logarithmic axes are drawn as `log10` of the data on a linear axis, with ticks at
//!   powers of ten labelled `1e-6`, …, `1` (plotters' own log labels are poor);
//! - a value below `1e-18` is drawn at `1e-18`, and so is a value `≤ 0` (or `−∞`), the axis
//!   then reaching down to `1e-18`; `NaN` and `+∞` are skipped and break the line;
//! - the legend is drawn in a panel right of the plot (below the plots in the appendix-C
//!   figure), so it never hides data;
//! - the SVG is rendered into memory and then written, so every failure (drawing or I/O)
//!   is an [`Error::Io`] naming the file, and the same input gives byte-identical output.
//!
//! Text is emitted as SVG `<text>` elements (no font files are read); widths are estimated.

pub mod appendix_c;
mod axes;
pub mod curves;
pub mod scatter;

pub use appendix_c::appendix_c_figure;
pub use curves::{error_curves, late_start, level_curves, polynomial_curves};
pub use scatter::{PairedPanel, margins, paired_scatter};

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// The smallest value a log axis shows (`log10`): lower values are clipped to it.
const FLOOR_EXP: f64 = -18.0;
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
type DrawResult<T = ()> = std::result::Result<T, DrawingAreaErrorKind<std::io::Error>>;

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

/// Renders into memory, then writes the file ([`write_svg`]). The figure grows taller than
/// `size` when the legend needs it.
fn render(
    path: &Path,
    size: (u32, u32),
    title: &str,
    legend: &[(String, Key)],
    draw: impl FnOnce(&Area) -> DrawResult,
) -> Result<()> {
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
        drawn.map_err(|e| io_error(path, format!("drawing failed: {e}")))?;
    }
    write_svg(path, &svg)
}

/// An [`Error::Io`] naming the figure's file.
fn io_error(path: &Path, message: String) -> Error {
    Error::Io { path: path.display().to_string(), message }
}

/// Creates the parent directory of `path` and writes the rendered SVG. The directories are
/// created under the lock of [`super::interrupt`]: a writer's temporary directory that the
/// signal handler removed is never made anew by a figure being written at that moment.
fn write_svg(path: &Path, svg: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _no_signal_clean_up_meanwhile = super::interrupt::lock();
        std::fs::create_dir_all(dir).map_err(|e| io_error(path, format!("cannot create directory: {e}")))?;
    }
    std::fs::write(path, svg).map_err(|e| io_error(path, e.to_string()))
}

/// The width of the legend panel in pixels: marker, gap, and an estimate of the longest
/// label at 16 px (no font metrics are available).
fn legend_width(legend: &[(String, Key)]) -> u32 {
    let chars = legend.iter().map(|l| l.0.chars().count()).max().unwrap_or(0) as u32;
    (60 + 9 * chars).clamp(120, 400)
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
