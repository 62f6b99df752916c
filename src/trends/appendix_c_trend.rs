//! Appendix C's sentences as trend claims, on Appendix C's own protocol
//! ([`crate::reproduce::appendix_c`], the default spectral sweep of [`crate::reproduce::spectral`]).
//!
//! The protocol: least squares (24) with `u = (A, b)`, `A ∈ R^{M×N}` with U(0,1) entries, `b`
//! with N(0,1) entries, gradient descent from `x_0 = 0`, `K = min(⌈log 10⁻³ / log ρ*⌉, 1000)`,
//! the grid `T_j = ⌊0.1·j·K + 0.5⌋`, `j = 0, …, 8`, the budget reallocation
//! `K' = K + ωT`, `T' = T + ωT` (Section 4.3), a random unit tangent `v` and cotangent `w` per
//! draw. Per draw and `T_j` ([`DrawSummary`]): the final forward error
//! `F_j = ‖Ẋ_{T'}^{(K−T)}v − Dx*v‖`, the final reverse error `R_j = ‖wᵀŪ_{K'}^{(T')} − wᵀDx*‖`,
//! the peak `P_j = max_i ‖Ẋ_{T'}^{(i)}v − Dx*v‖` and the bound (22)
//! `h(T_j) = ρ^{K−T_j} ė_0 + (K−T_j) ρ^{K+ωT_j−1} Γ e_0` with the draw's own constants
//! ([`crate::bounds::Truncation`]).
//!
//! Each claim is a paired experiment over the `R` draws of each `N` (one row of the report per
//! `N`), so the statistics are those of every trend claim ([`super::runner`]: the sign test
//! with ties counted against both directions, the median effect with its order-statistic
//! interval, a pre-stated minimum effect, Bonferroni over every row and both directions):
//!
//! | claim | first value `a` | second value `b` | prediction |
//! |---|---|---|---|
//! | `appC.tmax_preferred` | `min_{j<8} F_j` (and `R_j`) | `F_8` (and `R_8`) | `b < a`: `T_max = T_8` is the best of the grid, in `log10(b/a)` |
//! | `appC.optimal_t_moves` | `0.1·argmin_j F_j` at the reference `N` (slowest rate) | the same at a smaller `N`, draw of the same index | `b < a`: the best `T/K` moves away from `T_max` |
//! | `appC.eq22_selects_t` | `min_j F_j` | `F_{j*}`, `j* = argmin_j h(T_j)` | `|log10(b/a)| ≤ band`: trusting (22) costs nothing |
//! | `appC.trunc_ineffective_small_step` | `F_0`, `R_0` (no truncation) | `F_j`, `R_j` at the level's `T_j` | `|log10(b/a)| ≤ band` |
//! | `sec4.truncation_helps` (`protocol = "appendix_c"`) | `P`, `F` at the first level | at the second level (`"optimal"`: `j*`) | `b < a` |
//!
//! `appC.optimal_t_moves` pairs draw `r` at the reference `N` with draw `r` at the other `N`:
//! the two are independent, so the pairs are independent and the sign test of the median
//! difference is valid (the pairing is arbitrary, not a confounder control).
//!
//! Draw `r` at dimension `N` is `Draw::sample(M, N, run_seed(seed, N, r))`, the draw of
//! `unrollcheck reproduce appendix-c --seed SEED` with the same `M`; the draws of a
//! dimension are computed once and shared by every experiment of the file that uses them, in
//! parallel (rayon), in a fixed order whatever the thread count.

use super::file::{AppendixC, Experiment, Level, Truncate};
use super::{ExampleCurves, ExperimentResult, MeasureStats, PairResult};
use crate::bounds::Truncation;
use crate::error::Result;
use crate::reproduce::appendix_c::Draw;
use crate::reproduce::appendix_c::{DrawRun, Engine, Protocol, StepSize, T_COUNT, run_draw, run_seed};
use crate::stats::{Quartiles, clopper_pearson, median};
use crate::unroll::argmin;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// What one draw gives at one step size, per `T_j` of its grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrawSummary {
    /// The draw's seed (`run_seed(seed, N, r)`).
    pub seed: u64,
    /// `K`.
    pub k: usize,
    /// `T_j`.
    pub ts: Vec<usize>,
    /// `F_j`: the final forward error.
    pub fwd: Vec<f64>,
    /// `R_j`: the final reverse error.
    pub rev: Vec<f64>,
    /// `P_j`: the largest forward error of the late start.
    pub peak: Vec<f64>,
    /// `h(T_j)`, the bound (22) with the draw's constants.
    pub h22: Vec<f64>,
    /// The integer minimiser of (22) over `0..=K` (Remark 12), for the report.
    pub t22: usize,
}

impl DrawSummary {
    /// The summary of step `step` of a run (computed with curves, for the peaks).
    pub fn of(run: &DrawRun, step: StepSize, seed: u64, omega: usize) -> Self {
        let s = run.steps.iter().find(|s| s.step == step).expect("run_draw runs both step sizes");
        let h = Truncation {
            rho: s.rho.value,
            edot0: s.edot0,
            gamma: s.gamma.value,
            e0: s.e0,
            k: run.k as f64,
            omega: omega as f64,
        };
        DrawSummary {
            seed,
            k: run.k,
            ts: run.ts.clone(),
            fwd: s.finals.iter().map(|f| f.fwd_err).collect(),
            rev: s.finals.iter().map(|f| f.rev_err).collect(),
            peak: s.fwd.iter().map(|c| c.iter().copied().fold(f64::NAN, f64::max)).collect(),
            h22: run.ts.iter().map(|&t| h.h22(t as f64)).collect(),
            t22: h.integer_argmin(),
        }
    }

    /// `argmin_j F_j`: the measured best truncation of the draw.
    pub fn best(&self) -> usize {
        argmin(&self.fwd)
    }

    /// `j* = argmin_j h(T_j)`: the grid truncation (22) selects.
    pub fn eq22_choice(&self) -> usize {
        argmin(&self.h22)
    }
}

/// The draws of a file: per `(M, N, ω, step)`, `R` summaries (the largest `R` any experiment
/// asks for; an experiment uses the first `runs`).
pub type Draws = BTreeMap<(usize, usize, usize, u8), Vec<DrawSummary>>;

fn step_key(s: StepSize) -> u8 {
    match s {
        StepSize::Optimal => 0,
        StepSize::OneThirdL => 1,
    }
}

fn key(ex: &Experiment, a: &AppendixC, n: usize) -> (usize, usize, usize, u8) {
    (ex.base.m, n, a.omega, step_key(a.step))
}

/// Runs every draw the appendix-C experiments of a file need, once each, in parallel.
pub fn compute_draws(experiments: &[Experiment], seed: u64) -> Result<Draws> {
    // (M, N, ω) → R: both step sizes come from one run_draw.
    let mut need: BTreeMap<(usize, usize, usize), usize> = BTreeMap::new();
    for ex in experiments {
        if let Some(a) = &ex.appendix_c {
            for &n in &a.dims {
                let r = need.entry((ex.base.m, n, a.omega)).or_insert(0);
                *r = (*r).max(a.runs);
            }
        }
    }
    let work: Vec<((usize, usize, usize), usize)> =
        need.iter().flat_map(|(&k, &runs)| (0..runs).map(move |r| (k, r))).collect();
    let done: Vec<[DrawSummary; 2]> = work
        .par_iter()
        .map(|&((m, n, omega), r)| {
            let p = Protocol { m, ns: vec![n], omega, ..Protocol::paper(1, seed) };
            p.validate()?;
            let s = run_seed(seed, n, r);
            let run = run_draw(&Draw::sample(m, n, s), &p, Engine::Spectral, true)?;
            Ok(StepSize::ALL.map(|step| DrawSummary::of(&run, step, s, omega)))
        })
        .collect::<Result<_>>()?;
    let mut out = Draws::new();
    for (((m, n, omega), _), pair) in work.into_iter().zip(done) {
        for (step, summary) in StepSize::ALL.into_iter().zip(pair) {
            out.entry((m, n, omega, step_key(step))).or_default().push(summary);
        }
    }
    Ok(out)
}

/// The grid index of a truncation level of draw `s`.
fn level_index(level: &Level, s: &DrawSummary) -> usize {
    match level {
        Level::Truncation(Truncate::Fraction(f)) => ((10.0 * f).round() as usize).min(T_COUNT - 1),
        Level::Truncation(Truncate::Optimal) => s.eq22_choice(),
        _ => 0,
    }
}

/// The pair `(a, b)` of measure `measure` on draw `s` (and, for `appC.optimal_t_moves`, the
/// draw `reference` of the same index at the reference `N`); see the module docs.
/// A draw with a non-finite error gives `(NaN, NaN)`: the pair is left out (and `n` shows
/// it), never judged.
pub fn pair_values(ex: &Experiment, measure: &str, s: &DrawSummary, reference: &DrawSummary) -> (f64, f64) {
    let finite = |d: &DrawSummary| d.fwd.iter().chain(&d.rev).chain(&d.peak).all(|v| v.is_finite());
    if !finite(s) || !finite(reference) {
        return (f64::NAN, f64::NAN);
    }
    let errors = |name: &str| match name {
        "final_rev_error" => &s.rev,
        "peak" => &s.peak,
        _ => &s.fwd,
    };
    match ex.claim.id {
        "appC.tmax_preferred" => {
            let e = errors(measure);
            let last = e.len() - 1;
            (e[..last].iter().copied().fold(f64::INFINITY, f64::min), e[last])
        }
        "appC.eq22_selects_t" => (s.fwd[s.best()], s.fwd[s.eq22_choice()]),
        "appC.optimal_t_moves" => (0.1 * reference.best() as f64, 0.1 * s.best() as f64),
        _ => {
            let e = errors(measure);
            (e[level_index(&ex.levels[0].0, s)], e[level_index(&ex.levels[1].0, s)])
        }
    }
}

/// The rows of an experiment: indices into its `dims` (`appC.optimal_t_moves` compares the
/// first with each of the others).
pub fn rows(ex: &Experiment) -> std::ops::Range<usize> {
    let dims = ex.appendix_c.as_ref().map_or(0, |a| a.dims.len());
    if ex.claim.id == "appC.optimal_t_moves" { 1..dims } else { 0..dims }
}

/// The results of one appendix-C experiment from the file's draws: one pair per draw index
/// `r`, `values[measure][2l]`, `values[measure][2l + 1]` the pair `(a, b)` of dimension
/// `dims[l]`; statistics per measure and row (`MeasureStats::level = l`).
pub fn evaluate(ex: &Experiment, index: usize, draws: &Draws, gamma: f64, min_effect: &[f64]) -> ExperimentResult {
    let a = ex.appendix_c.as_ref().expect("an appendix-C experiment");
    let per_dim: Vec<&[DrawSummary]> =
        a.dims.iter().map(|&n| &draws.get(&key(ex, a, n)).expect("computed by compute_draws")[..a.runs]).collect();
    let rows = rows(ex);
    let pairs: Vec<PairResult> = (0..a.runs)
        .map(|r| {
            let values = ex
                .claim
                .measures
                .iter()
                .map(|mu| {
                    let mut v = vec![f64::NAN; 2 * a.dims.len()];
                    for l in rows.clone() {
                        let (x, y) = pair_values(ex, mu.name, &per_dim[l][r], &per_dim[0][r]);
                        (v[2 * l], v[2 * l + 1]) = (x, y);
                    }
                    v
                })
                .collect();
            let notes = a
                .dims
                .iter()
                .zip(&per_dim)
                .flat_map(|(n, d)| {
                    let s = &d[r];
                    [
                        (format!("best T/K at N = {n}"), 0.1 * s.best() as f64),
                        (format!("T/K selected by (22) at N = {n}"), 0.1 * s.eq22_choice() as f64),
                    ]
                })
                .collect();
            PairResult { seed: r as u64, values, skipped: None, censored: 0, notes }
        })
        .collect();
    let mut stats = Vec::new();
    for (j, mu) in ex.claim.measures.iter().enumerate() {
        for l in rows.clone() {
            let ab: Vec<(f64, f64)> = pairs
                .iter()
                .map(|p| (p.values[j][2 * l], p.values[j][2 * l + 1]))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            let mut s: MeasureStats = super::paired::paired(mu, &ab, gamma, ex.expect, ex.band, min_effect[j]);
            s.level = l;
            stats.push(s);
        }
    }
    ExperimentResult {
        index,
        label: ex.label.clone(),
        claim: ex.claim.id,
        base: ex.base,
        levels: a.dims.iter().map(|n| format!("N={n}")).collect(),
        pairs,
        stats,
        example: Some(example(a, &per_dim, gamma)),
        scope: ex.scope,
    }
}

/// The figure and table of an experiment: per `N`, the median over draws of `F_j` against
/// `j` (a curve per `N`), and how the best `T` spreads over the draws.
fn example(a: &AppendixC, per_dim: &[&[DrawSummary]], gamma: f64) -> ExampleCurves {
    let curves = a
        .dims
        .iter()
        .zip(per_dim)
        .map(|(n, d)| {
            let med: Vec<f64> = (0..T_COUNT).map(|j| median(&d.iter().map(|s| s.fwd[j]).collect::<Vec<_>>())).collect();
            (format!("N = {n}: median final forward error"), 0, med)
        })
        .collect();
    let mut header: Vec<String> = vec!["N".into(), "K (median)".into()];
    header.extend((0..T_COUNT).map(|j| format!("best at 0.{j}K")));
    header.extend([
        "T_max best: share [CI]".to_string(),
        "(22) picks the best: share [CI]".to_string(),
        "best T/K: median [q25, q75]".to_string(),
        "(22) grid choice T/K: median".to_string(),
        "argmin of (22) over 0..K, /K: median".to_string(),
    ]);
    let rows = a
        .dims
        .iter()
        .zip(per_dim)
        .map(|(n, d)| {
            let r = d.len() as u64;
            let mut counts = [0u64; T_COUNT];
            for s in d.iter() {
                counts[s.best()] += 1;
            }
            let k = median(&d.iter().map(|s| s.k as f64).collect::<Vec<_>>());
            let mut row = vec![n.to_string(), format!("{k:.0}")];
            row.extend(counts.iter().map(|c| c.to_string()));
            let share = |c: u64| {
                let (lo, hi) = clopper_pearson(c, r, gamma);
                format!("{c}/{r} [{lo:.3}, {hi:.3}]")
            };
            row.push(share(counts[T_COUNT - 1]));
            row.push(share(d.iter().filter(|s| s.best() == s.eq22_choice()).count() as u64));
            let q = Quartiles::of(&d.iter().map(|s| 0.1 * s.best() as f64).collect::<Vec<_>>());
            row.push(format!("{:.1} [{:.1}, {:.1}]", q.median, q.q25, q.q75));
            row.push(format!("{:.1}", median(&d.iter().map(|s| 0.1 * s.eq22_choice() as f64).collect::<Vec<_>>())));
            row.push(format!("{:.2}", median(&d.iter().map(|s| s.t22 as f64 / s.k as f64).collect::<Vec<_>>())));
            row
        })
        .collect();
    ExampleCurves { seed: 0, curves, table: Some((header, rows)) }
}

/// What the first and the second value of a pair are, for figures and reports.
pub fn axis_labels(ex: &Experiment) -> (String, String) {
    let (x, y) = match ex.claim.id {
        "appC.tmax_preferred" => ("best error over T_0…T_7", "error at T_max = T_8"),
        "appC.eq22_selects_t" => ("best final forward error over the grid", "final forward error at (22)'s T_j"),
        "appC.optimal_t_moves" => ("best T/K at the reference N", "best T/K at the smaller N"),
        _ => return (format!("T/K = {}", ex.levels[0].1), format!("T/K = {}", ex.levels[1].1)),
    };
    (x.to_string(), y.to_string())
}
