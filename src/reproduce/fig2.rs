//! Figures 1–2 of the paper: gradient descent on ridge least squares
//! `f(x, u) = ½‖Ax − b‖² + (u/2)‖x‖²` with the ridge weight `u` as parameter; the errors
//! `e_k` (8), `ė_k` (11), `ē_k` (13) with the bounds (8) and (19), and the curse indices
//! `k̇ = argmax ė_k`, `k̄ = argmin ē_k`.
//!
//! The instance is [`Spec::figure2`]: `M = 50`, `N = 10`, U(0,1)/N(0,1) data, `u = 0.1`,
//! `α = 2/(L + μ)`, Jacobians `Ẋ_k ∈ R^{N×1}` in full (spectral norms = Euclidean norms, since
//! `p = 1`). **The paper does not state its initial point.** `Spec::figure2` uses
//! `x_0 = x* + σg` with `g` standard normal and `σ = 10`; since `x_0` is then a constant
//! (`Dx_0 = 0`), `ė_0 = ‖Dx*‖`. Because `D_uA(x) = −αx` and `e_k` scale with the distance
//! `‖x_0 − x*‖`, the curse term of (19) does too: [`X0_SETTINGS`] repeats the run for
//! `σ ∈ {0.1, 1, 10, 100}` and for `x_0 = 0`, and counts over [`SEEDS`] seeds how often the
//! curse shows (`k̇ > 0`).

use crate::budget;
use crate::constants::{Constant, Constants, Scope};
use crate::error::{Error, Result};
use crate::report::figures;
use crate::spec::Spec;
use crate::unroll::ErrorCurves;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The first line of the report (how a later run recognises its own directory).
const TITLE: &str = "# Figures 1–2 reproduced: the curse of unrolling on ridge least squares";

/// The initial points compared: `x_0 = x* + σg` for four `σ`, and `x_0 = 0`.
pub const X0_SETTINGS: [(&str, Option<f64>); 5] = [
    ("x* + N(0, 0.1²)", Some(0.1)),
    ("x* + N(0, 1²)", Some(1.0)),
    ("x* + N(0, 10²) (default)", Some(10.0)),
    ("x* + N(0, 100²)", Some(100.0)),
    ("0", None),
];

/// Seeds per initial point for the share of instances showing the curse.
pub const SEEDS: u64 = 20;

/// One initial point: the run at the chosen seed, and the curse over [`SEEDS`] seeds.
#[derive(Debug, Clone)]
pub struct X0Row {
    /// How `x_0` is chosen.
    pub label: &'static str,
    /// `σ`, or `None` for `x_0 = 0`.
    pub sigma: Option<f64>,
    /// `e_0`.
    pub e0: f64,
    /// `ė_0 = ‖Dx*‖`.
    pub edot0: f64,
    /// `k̇`.
    pub k_dot: usize,
    /// `k̄`.
    pub k_bar: usize,
    /// `max_k ė_k / ė_0` (`> 1` when the forward error first grows).
    pub peak: f64,
    /// Fraction of the seeds `seed, …, seed + SEEDS − 1` with `k̇ > 0`.
    pub share: f64,
    /// Median `k̇` over those seeds.
    pub k_dot_median: f64,
    /// The curves at the chosen seed.
    pub curves: ErrorCurves,
}

/// The reproduction of Figure 2.
#[derive(Debug, Clone)]
pub struct Fig2 {
    /// The instance.
    pub spec: Spec,
    /// `K`.
    pub k: usize,
    /// Certified constants.
    pub constants: Constants,
    /// `e_0`.
    pub e0: f64,
    /// `e_k`, `ė_k`, `ē_k` for `k = 0, …, K`.
    pub curves: ErrorCurves,
    /// (8): `ρ^k e_0`.
    pub bound8: Vec<f64>,
    /// (19): `ρ^k ė_0 + kρ^{k−1}Γe_0`.
    pub bound19: Vec<f64>,
    /// One row per entry of [`X0_SETTINGS`].
    pub rows: Vec<X0Row>,
}

/// The bounds (8) and (19) for `k = 0, …, K`.
pub fn bounds(rho: f64, gamma: f64, e0: f64, edot0: f64, k: usize) -> (Vec<f64>, Vec<f64>) {
    let b8 = (0..=k).map(|i| rho.powi(i as i32) * e0).collect();
    let b19 = (0..=k).map(|i| rho.powi(i as i32) * edot0 + i as f64 * rho.powi(i as i32 - 1) * gamma * e0).collect();
    (b8, b19)
}

/// Runs the Figure 2 instance for `K` iterations, and the initial-point comparison.
pub fn figure2(seed: u64, k: usize) -> Result<Fig2> {
    if k == 0 {
        return Err(Error::InvalidParameter { field: "k", value: 0.0, reason: "must be at least 1" });
    }
    let spec = Spec::figure2(seed);
    let inst = spec.build()?;
    let curves = inst.error_curves(k);
    let c = inst.constants;
    let e0 = inst.e0();
    let (bound8, bound19) = bounds(c.rho(), c.gamma.value, e0, curves.edot[0], k);
    let mut rows = Vec::new();
    for (label, sigma) in X0_SETTINGS {
        let mut k_dots = Vec::new();
        let mut main = None;
        for s in seed..seed + SEEDS {
            let inst = Spec { x0_sigma: sigma, ..Spec::figure2(s) }.build()?;
            let curves = inst.error_curves(k);
            k_dots.push(curves.k_dot() as f64);
            if s == seed {
                main = Some((inst.e0(), curves));
            }
        }
        let (e0, curves) = main.expect("the chosen seed is the first one");
        let edot0 = curves.edot[0];
        let peak = curves.edot.iter().copied().fold(0.0, f64::max) / edot0;
        rows.push(X0Row {
            label,
            sigma,
            e0,
            edot0,
            k_dot: curves.k_dot(),
            k_bar: curves.k_bar(),
            peak,
            share: k_dots.iter().filter(|&&kd| kd > 0.0).count() as f64 / k_dots.len() as f64,
            k_dot_median: super::median(&k_dots),
            curves,
        });
    }
    Ok(Fig2 { spec, k, constants: c, e0, curves, bound8, bound19, rows })
}

fn fmt_const(c: &Constant) -> String {
    match c.scope {
        Scope::Global => format!("{:.6e} (global)", c.value),
        Scope::Local { radius } => format!("{:.6e} (local, ball radius {radius:.3e})", c.value),
    }
}

fn slug(sigma: Option<f64>) -> String {
    match sigma {
        Some(s) => format!("x0_sigma_{}", format!("{s}").replace('.', "p")),
        None => "x0_zero".to_string(),
    }
}

impl Fig2 {
    /// Indices for the table: a dozen from 0 to K, denser at the start.
    fn table_rows(&self) -> Vec<usize> {
        let mut rows: Vec<usize> =
            [0, 1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 1000].into_iter().filter(|&r| r <= self.k).collect();
        if rows.last() != Some(&self.k) {
            rows.push(self.k);
        }
        rows
    }

    /// The Markdown report (`figures`: SVG paths relative to it, the main one first).
    pub fn markdown(&self, figures: &[String]) -> String {
        let c = &self.constants;
        let mut s = String::new();
        let w = &mut s;
        writeln!(w, "{TITLE}\n").ok();
        writeln!(
            w,
            "Generated by `unrollcheck reproduce fig2 --seed {} --k {}`. Gradient descent on \
             `f(x, u) = ½‖Ax − b‖² + (u/2)‖x‖²`, parameter the ridge weight u = {}, M = {}, N = {}, A with U(0,1) \
             entries, b with N(0,1) entries (seed {}), α = 2/(L + μ), K = {}. Jacobians in full (p = 1): \
             `ė_k = ‖Ẋ_k − Dx*‖`, `ē_k = ‖Ū_K^(k) − Dx*‖`.\n",
            self.spec.seed, self.k, self.spec.lambda, self.spec.m, self.spec.n, self.spec.seed, self.k
        )
        .ok();
        writeln!(
            w,
            "**Initial point.** The paper does not state `x_0`. This reproduction uses `x_0 = x* + σg`, g standard \
             normal, σ = 10 (`Spec::figure2`); `x_0` does not depend on u, so `Dx_0 = 0` and `ė_0 = ‖Dx*‖`. The \
             section *Dependence on x_0* shows how the curse depends on that choice.\n"
        )
        .ok();
        if let Some(f) = figures.first() {
            writeln!(w, "![Figure 2]({f})\n").ok();
        }
        writeln!(w, "## Certified constants\n").ok();
        writeln!(w, "| constant | value |\n|---|---|").ok();
        writeln!(w, "| ρ | {} |", fmt_const(&c.map.rho)).ok();
        writeln!(w, "| M_x | {} |", fmt_const(&c.map.m_x)).ok();
        writeln!(w, "| M_u | {} |", fmt_const(&c.map.m_u)).ok();
        writeln!(w, "| κ | {} |", fmt_const(&c.map.kappa)).ok();
        writeln!(w, "| Γ (18) | {} |", fmt_const(&c.gamma)).ok();
        writeln!(w, "| ‖Dx*‖ = ė_0 | {:.6e} |", self.curves.edot[0]).ok();
        writeln!(w, "| e_0 | {:.6e} |", self.e0).ok();
        writeln!(
            w,
            "\nWith the ridge weight as parameter `D_uA(x) = −αx`, so `M_x = 0`, `M_u = α` and `Γ = M_u = α` \
             (global; κ is local but does not enter Γ).\n"
        )
        .ok();
        writeln!(
            w,
            "**Curse indices:** k̇ = {} (argmax of ė_k), k̄ = {} (argmin of ē_k).\n",
            self.curves.k_dot(),
            self.curves.k_bar()
        )
        .ok();
        writeln!(w, "| k | e_k | bound (8) | ė_k | bound (19) | ē_k |\n|---|---|---|---|---|---|").ok();
        for k in self.table_rows() {
            writeln!(
                w,
                "| {k} | {:.4e} | {:.4e} | {:.4e} | {:.4e} | {:.4e} |",
                self.curves.e[k], self.bound8[k], self.curves.edot[k], self.bound19[k], self.curves.ebar[k]
            )
            .ok();
        }
        writeln!(w, "\n## Dependence on x_0\n").ok();
        writeln!(
            w,
            "Same data (seed {}), K = {}, five initial points; the last two columns over the {} seeds {}…{}.\n",
            self.spec.seed,
            self.k,
            SEEDS,
            self.spec.seed,
            self.spec.seed + SEEDS - 1
        )
        .ok();
        writeln!(
            w,
            "| x_0 | e_0 | ė_0 | k̇ | k̄ | max ė_k / ė_0 | curse (k̇ > 0)? | seeds with k̇ > 0 | median k̇ over seeds |"
        )
        .ok();
        writeln!(w, "|---|---|---|---|---|---|---|---|---|").ok();
        for r in &self.rows {
            writeln!(
                w,
                "| {} | {:.3e} | {:.3e} | {} | {} | {:.3} | {} | {:.0} % | {} |",
                r.label,
                r.e0,
                r.edot0,
                r.k_dot,
                r.k_bar,
                r.peak,
                if r.k_dot > 0 { "yes" } else { "no" },
                100.0 * r.share,
                r.k_dot_median
            )
            .ok();
        }
        writeln!(
            w,
            "\nThe forward recursion is `Ẋ_{{k+1}} − Dx* = B(Ẋ_k − Dx*) − α(x_k − x*)`: the driving term is \
             proportional to `x_k − x*`, i.e. to the initial distance, while `ė_0 = ‖Dx*‖` is not. So a close \
             start (small σ) gives a monotone decrease (no curse), and the curse grows with e_0 (Section 3.4.3); \
             for large σ the shape of `ė_k/e_0` no longer depends on σ, so k̇ settles. `x_0 = 0` is the natural \
             cold start of a solver; e_0 is then `‖x*‖`.\n"
        )
        .ok();
        for f in figures.iter().skip(1) {
            writeln!(w, "- [{f}]({f})").ok();
        }
        s
    }

    /// The text printed by `unrollcheck reproduce fig2`.
    pub fn summary(&self, written: &[PathBuf]) -> String {
        let mut s = String::new();
        let w = &mut s;
        if let Some(p) = written.first() {
            writeln!(w, "figure 2: report in {}", p.display()).ok();
        }
        writeln!(
            w,
            "seed {}  K {}  rho {:.6}  Gamma {:.6e}  e0 {:.4e}  edot0 {:.4e}",
            self.spec.seed,
            self.k,
            self.constants.rho(),
            self.constants.gamma.value,
            self.e0,
            self.curves.edot[0]
        )
        .ok();
        writeln!(w, "k_dot = {}  k_bar = {}", self.curves.k_dot(), self.curves.k_bar()).ok();
        writeln!(w, "\n{:<26} {:>10} {:>6} {:>6} {:>10} {:>12}", "x0", "e0", "k_dot", "k_bar", "peak", "k_dot>0 share")
            .ok();
        for r in &self.rows {
            writeln!(
                w,
                "{:<26} {:>10.3e} {:>6} {:>6} {:>10.3} {:>11.0} %",
                r.label,
                r.e0,
                r.k_dot,
                r.k_bar,
                r.peak,
                100.0 * r.share
            )
            .ok();
        }
        s
    }
}

/// Writes `OUT/fig2/report.md`, `OUT/fig2/figure2.svg` and one figure per initial point;
/// returns the paths, the report first.
pub fn write(f: &Fig2, out: &Path) -> Result<Vec<PathBuf>> {
    let dir = out.join("fig2");
    crate::report::ensure_ours(&dir, "report.md", |t| t.starts_with(TITLE))?;
    let mut rel = vec!["figure2.svg".to_string()];
    let title = format!(
        "Figure 2: ridge weight, M = {}, N = {}, seed {}, x0 = x* + N(0, 10²)",
        f.spec.m, f.spec.n, f.spec.seed
    );
    figures::error_curves(&dir.join(&rel[0]), &title, &f.curves, &f.bound8, &f.bound19)?;
    let (rho, gamma) = (f.constants.rho(), f.constants.gamma.value);
    for r in &f.rows {
        let name = format!("figure2_{}.svg", slug(r.sigma));
        let (b8, b19) = bounds(rho, gamma, r.e0, r.edot0, f.k);
        let title = format!("Figure 2 with x0 = {} (seed {})", r.label, f.spec.seed);
        figures::error_curves(&dir.join(&name), &title, &r.curves, &b8, &b19)?;
        rel.push(name);
    }
    let report = dir.join("report.md");
    std::fs::write(&report, f.markdown(&rel))
        .map_err(|e| Error::Io { path: report.display().to_string(), message: e.to_string() })?;
    let mut written = vec![report];
    written.extend(rel.iter().map(|r| dir.join(r)));
    Ok(written)
}

/// Checks `reproduce fig2 --k K` against `max_gib`: the error curves of one instance at a
/// time (iterates, forward and reverse Jacobians) and the curves kept for the figures.
pub fn check_budget(k: usize, max_gib: f64) -> Result<()> {
    let (n, p) = budget::dims(&Spec::figure2(0));
    let k = k as f64;
    let kept = 8.0 * (k + 1.0) * (3.0 * (1.0 + X0_SETTINGS.len() as f64) + 2.0);
    let bytes = budget::curves_bytes(n, p, k) + kept;
    budget::check("reproduce fig2", &format!("K = {k} iterations (--k)"), bytes, max_gib, budget::FLAG)
}
