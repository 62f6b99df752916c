//! The report of a trend file: `report.md`, `results.json` and SVG figures under
//! `out/<name>/`, written into a temporary directory and renamed (never half-written).

use super::figures::{self, PairedPanel};
use super::{io, write_dir};
use crate::error::Result;
use crate::trends::file::{Expect, Trends};
use crate::trends::{Design, Direction, ExperimentResult, MeasureStats, Scale, TrendResults};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The version of a trend report's `results.json` (its `schema_version` key, which also
/// marks the directory as written by this tool).
pub const SCHEMA_VERSION: u32 = 1;

/// `results.json`: the version first, then the results.
#[derive(serde::Serialize)]
struct Versioned<'a> {
    schema_version: u32,
    #[serde(flatten)]
    results: &'a TrendResults,
}

/// Writes the report; returns its directory.
pub fn write(t: &Trends, res: &TrendResults, out: &Path) -> Result<PathBuf> {
    write_dir(out, &t.file.name, |tmp| {
        let figs = write_figures(t, res, tmp)?;
        std::fs::write(tmp.join("report.md"), markdown(t, res, &figs)).map_err(|e| io(tmp, e))?;
        let json = serde_json::to_string_pretty(&Versioned { schema_version: SCHEMA_VERSION, results: res })
            .map_err(|e| io(tmp, e))?;
        std::fs::write(tmp.join("results.json"), json).map_err(|e| io(tmp, e))
    })
}

/// The figures of each experiment: the paired scatter of its measures and the curves of its
/// first pair. Returns, per experiment, the relative paths written.
fn write_figures(t: &Trends, res: &TrendResults, dir: &Path) -> Result<Vec<Vec<String>>> {
    let mut all = Vec::new();
    for ex in &res.experiments {
        let mut names = Vec::new();
        let stem = format!("figures/{:02}_{}", ex.index, ex.claim.replace('.', "_"));
        let title = format!("{} ({} pairs, seed {})", ex.label, ex.pairs.len(), res.seed);
        let file_ex = &t.experiments[ex.index];
        if file_ex.appendix_c.is_some() {
            let rows = crate::trends::appendix_c_trend::rows(file_ex);
            let panels: Vec<PairedPanel> = ex
                .stats
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let j = i / rows.len();
                    PairedPanel {
                        name: format!("{} @ {}", s.measure, ex.levels[s.level]),
                        log: s.scale == Scale::LogRatio,
                        points: ex
                            .pairs
                            .iter()
                            .map(|p| (p.values[j][2 * s.level], p.values[j][2 * s.level + 1]))
                            .collect(),
                    }
                })
                .collect();
            let (x, y) = crate::trends::appendix_c_trend::axis_labels(file_ex);
            let name = format!("{stem}_pairs.svg");
            let title = format!("{} ({} draws per N, seed {})", ex.label, ex.pairs.len(), res.seed);
            figures::paired_scatter(&dir.join(&name), &title, (&x, &y), &panels)?;
            names.push(name);
            if let Some(example) = &ex.example {
                let name = format!("{stem}_grid.svg");
                let title = format!("{}: median final forward error over the grid", ex.label);
                figures::level_curves(&dir.join(&name), &title, "j (T_j = j·K/10)", &example.curves)?;
                names.push(name);
            }
            all.push(names);
            continue;
        }
        let proportion = crate::trends::find(ex.claim).is_some_and(|c| c.design == Design::Proportion);
        if ex.levels.len() == 2 && !proportion {
            let panels: Vec<PairedPanel> = ex
                .stats
                .iter()
                .enumerate()
                .map(|(j, s)| PairedPanel {
                    name: s.measure.to_string(),
                    log: s.scale == Scale::LogRatio,
                    points: ex.pairs.iter().map(|p| (p.values[j][0], p.values[j][1])).collect(),
                })
                .collect();
            let name = format!("{stem}_pairs.svg");
            figures::paired_scatter(&dir.join(&name), &title, (&ex.levels[0], &ex.levels[1]), &panels)?;
            names.push(name);
        }
        if let Some(example) = &ex.example {
            let name = format!("{stem}_curves.svg");
            let x_desc = if ex.claim == "sec5.warm_start" { "outer iteration r" } else { "iteration k" };
            let title = format!("{}: seed {}", ex.label, example.seed);
            figures::level_curves(&dir.join(&name), &title, x_desc, &example.curves)?;
            names.push(name);
        }
        all.push(names);
    }
    Ok(all)
}

fn fmt_p(p: f64) -> String {
    if p.is_nan() {
        "—".into()
    } else if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

fn fmt_effect(s: &MeasureStats) -> String {
    if let Some((prop, lo, hi)) = s.proportion {
        return format!("{prop:.3} [{lo:.3}, {hi:.3}]");
    }
    let unit = if s.scale == Scale::LogRatio { " (log10 ratio)" } else { "" };
    match s.effect {
        Some(c) => format!("{:.3} [{:.3}, {:.3}]{unit}", c.median, c.lo, c.hi),
        None => "—".into(),
    }
}

fn predicted(s: &MeasureStats, design: Design) -> String {
    match (design, s.predicted, s.no_effect_band) {
        (Design::Proportion, _, _) => "occurs in most instances".into(),
        (_, _, Some(band)) => format!("no effect (within ±{band})"),
        (_, Direction::Lower, None) => format!("lower at 2nd level{}", by_at_least(s)),
        (_, Direction::Higher, None) => format!("higher at 2nd level{}", by_at_least(s)),
        (_, Direction::Same, None) => "the same at both levels".into(),
    }
}

/// `, by ≥ δ` with the measure's minimum effect `δ`.
fn by_at_least(s: &MeasureStats) -> String {
    s.min_effect.map_or(String::new(), |d| format!(", by ≥ {d}"))
}

/// The report in Markdown.
pub fn markdown(t: &Trends, res: &TrendResults, figs: &[Vec<String>]) -> String {
    let mut md = String::new();
    let gamma = res.level / res.tests as f64;
    writeln!(md, "# Trend claims: {}\n", t.file.name).ok();
    if !t.file.description.is_empty() {
        writeln!(md, "{}\n", t.file.description.trim()).ok();
    }
    writeln!(
        md,
        "Seed **{}**, **{}** pairs per experiment (one seed each; both levels of a pair share it), family-wise \
         level α = {} split over {} two-sided tests (Bonferroni, both directions counted: each direction of \
         each test at γ/2 = {:.2e}; the intervals are at confidence 1 − γ = 1 − {:.2e}, and exclude 0 exactly \
         when a sign test rejects). Reproduce with `unrollcheck verify {} --seed {}`.\n",
        res.seed,
        res.pairs,
        res.level,
        res.tests,
        gamma / 2.0,
        gamma,
        t.path,
        res.seed
    )
    .ok();
    md.push_str(HOW_TO_READ);
    writeln!(md, "\n## Summary\n").ok();
    writeln!(
        md,
        "| claim | experiment | measure | prediction | n | agree / disagree / tie | agreeing | p (claim) | p (opposite) | effect [CI] | verdict |"
    )
    .ok();
    writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|").ok();
    for ex in &res.experiments {
        let design = crate::trends::find(ex.claim).map_or(Design::PairedCurse, |c| c.design);
        let rows_by_level = design == Design::Proportion || t.experiments[ex.index].appendix_c.is_some();
        for s in &ex.stats {
            let measure =
                if rows_by_level { format!("{} @ {}", s.measure, ex.levels[s.level]) } else { s.measure.to_string() };
            writeln!(
                md,
                "| `{}` | {} | {} | {} | {} | {} / {} / {} | {} | {} | {} | {} | **{}** |",
                ex.claim,
                ex.label,
                measure,
                predicted(s, design),
                s.n,
                s.agree,
                s.disagree,
                s.ties,
                if s.n > 0 { format!("{:.0} %", 100.0 * s.agree as f64 / s.n as f64) } else { "—".into() },
                fmt_p(s.p_claim),
                fmt_p(s.p_opposite),
                fmt_effect(s),
                s.verdict
            )
            .ok();
        }
    }
    by_claim(&mut md, res);
    for (ex, figs) in res.experiments.iter().zip(figs) {
        section(&mut md, t, ex, figs);
    }
    md.push_str(MEASURES);
    md
}

fn section(md: &mut String, t: &Trends, ex: &ExperimentResult, figs: &[String]) {
    let Some(claim) = crate::trends::find(ex.claim) else { return };
    let file_ex = &t.experiments[ex.index];
    writeln!(md, "\n## {}\n", ex.label).ok();
    writeln!(md, "`{}` ({}): {}.\n", claim.id, claim.section, claim.statement).ok();
    if file_ex.appendix_c.is_some() {
        writeln!(md, "- rows: {} ({})", ex.levels.join(", "), claim.levels).ok();
    } else {
        writeln!(md, "- levels: {} ({})", ex.levels.join(" → "), claim.levels).ok();
        writeln!(md, "- base instance: `{}`", serde_json::to_string(&ex.base).unwrap_or_default()).ok();
    }
    if let Some(a) = &file_ex.appendix_c {
        writeln!(
            md,
            "- protocol: Appendix C (least squares (24), `u = (A, b)`, `x_0 = 0`, M = {}, α = {}, ω = {}, \
             `K = min(⌈log 10⁻³/log ρ*⌉, 1000)`, `T_j = ⌊0.1·j·K + 0.5⌋`), R = {} draws per N; draw r at N is \
             `run_seed({}, N, r)`, the draws of `unrollcheck reproduce appendix-c --seed {} --runs {}`; a pair is \
             the draw index r",
            file_ex.base.m,
            a.step.label(),
            a.omega,
            a.runs,
            t.file.seed,
            t.file.seed,
            a.runs
        )
        .ok();
        let (x, y) = crate::trends::appendix_c_trend::axis_labels(file_ex);
        writeln!(md, "- first value: {x}; second value: {y}").ok();
    } else if claim.design == Design::PairedBudget {
        writeln!(md, "- budget K = {}, ω = {}", file_ex.budget, file_ex.omega).ok();
    }
    if claim.design == Design::PairedBilevel {
        let spec = crate::trends::bilevel_trend::problem_spec(file_ex, 0);
        writeln!(
            md,
            "- Algorithm 1: R = {} outer iterations, inner budget K = {} per outer iteration, τ = {}, u ≥ 1e-6; \
             problem `{}` (the seed is the pair's); `truncation_match` predicted within ±{} (log10). \
             Caveat: when `u` barely moves between outer iterations the warm start nearly *is* the cold \
             iterate `x_{{T'}}`, so a match is partly built in; it is informative where `u` moves (early `r`, larger `τ`)",
            file_ex.outer,
            file_ex.budget,
            file_ex.tau,
            serde_json::to_string(&spec).unwrap_or_default(),
            file_ex.band
        )
        .ok();
    }
    if let Expect::NoEffect { band } = file_ex.expect {
        writeln!(md, "- prediction: **no effect**, i.e. the effect's interval inside ±{band}").ok();
    }
    let skipped: Vec<_> = ex.pairs.iter().filter_map(|p| p.skipped.as_ref().map(|s| (p.seed, s))).collect();
    if !skipped.is_empty() {
        writeln!(md, "- {} pairs left out, e.g. seed {}: {}", skipped.len(), skipped[0].0, skipped[0].1).ok();
    }
    let censored: usize = ex.pairs.iter().map(|p| p.censored).sum();
    if censored > 0 {
        writeln!(md, "- {censored} runs peaked at their horizon (k̇, growth are then lower bounds)").ok();
    }
    let notes = if file_ex.appendix_c.is_some() { String::new() } else { note_summary(ex) };
    if !notes.is_empty() {
        writeln!(md, "- {notes}").ok();
    }
    writeln!(md, "\n{}\n", what_the_data_say(ex)).ok();
    for f in figs {
        writeln!(md, "![{f}]({f})\n").ok();
    }
    if let Some((header, rows)) = ex.example.as_ref().and_then(|e| e.table.as_ref()) {
        let seed = ex.example.as_ref().map_or(0, |e| e.seed);
        if file_ex.appendix_c.is_some() {
            writeln!(
                md,
                "Which T is best, per N over the R draws: how many draws have their lowest final forward error at \
                 each `T_j` (`best at 0.jK`), the share whose best is `T_max = T_8` and the share where the grid \
                 minimiser of (22) (the draw's own constants) is the best, each with its Clopper–Pearson interval at \
                 1 − γ; the best `T/K` (median and quartiles); the `T/K` (22) selects on the grid; and the integer \
                 minimiser of (22) over `0..K` divided by K (Remark 12):\n"
            )
            .ok();
        } else {
            writeln!(md, "Every outer iteration of the warm-started run of seed {seed}:\n").ok();
        }
        writeln!(md, "| {} |", header.join(" | ")).ok();
        writeln!(md, "|{}", "---|".repeat(header.len())).ok();
        for r in rows {
            writeln!(md, "| {} |", r.join(" | ")).ok();
        }
        md.push('\n');
    }
}

/// Medians of the per-pair notes (e.g. the truncation index `T` used).
fn note_summary(ex: &ExperimentResult) -> String {
    let Some(first) = ex.pairs.iter().find(|p| !p.notes.is_empty()) else { return String::new() };
    let mut parts = Vec::new();
    for (i, (name, _)) in first.notes.iter().enumerate() {
        let mut v: Vec<f64> =
            ex.pairs.iter().filter_map(|p| p.notes.get(i).map(|n| n.1)).filter(|v| v.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        if let (Some(lo), Some(hi)) = (v.first(), v.last()) {
            parts.push(format!("{name}: median {:.4}, range [{lo:.4}, {hi:.4}]", v[v.len() / 2]));
        }
    }
    parts.join("; ")
}

/// One sentence on the verdicts of an experiment, saying when they depend on the measure
/// (or, for proportions, on the level).
pub fn what_the_data_say(ex: &ExperimentResult) -> String {
    let proportion = ex.stats.iter().any(|s| s.proportion.is_some());
    let by_level = proportion || ex.levels.iter().any(|l| l.starts_with("N="));
    let mut by: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for s in &ex.stats {
        let name = if by_level { format!("{} @ {}", s.measure, ex.levels[s.level]) } else { s.measure.to_string() };
        by.entry(s.verdict).or_default().push(name);
    }
    let parts: Vec<String> = by.iter().map(|(v, m)| format!("**{v}** by {}", m.join(", "))).collect();
    let depends = match (by.len() > 1, proportion, by_level) {
        (false, _, _) => "",
        (true, true, _) => " The verdict depends on the setting (here: the initialisation).",
        (true, false, true) => " The verdict depends on the dimension N (the rate) or the measure.",
        (true, false, false) => " The verdict depends on the measure.",
    };
    format!("What the data say: {}.{depends}", parts.join("; "))
}

/// Per claim: the verdicts of all its experiments, and whether they agree.
fn by_claim(md: &mut String, res: &TrendResults) {
    writeln!(md, "\n## Verdicts by setting\n").ok();
    // Said only where it applies, so that the reports of the paper's settings are unchanged.
    let outside_only = if res.settings.iter().any(|s| s.paper.is_empty()) {
        "; a claim and measure with no row in the paper's setting get the same rule over the rows outside it, \
         said of that setting (**supported outside the paper's setting (not tested in it)**, and so on)"
    } else {
        ""
    };
    md.push_str(&format!(
        "Each claim and measure over the rows of its experiments in the setting the paper states the claim for \
         (`setting = \"paper\"` in the file) and outside it (`setting = \"outside\"`): **supported** (every row, \
         both settings), **supported in the paper's setting only** (every row in the paper's setting, not every \
         row outside), **contradicted** (more rows in the paper's setting contradicted than supported), **not \
         supported** (otherwise){outside_only}. Counts are rows (one per experiment, or per N on the appendix-C \
         protocol).\n\n"
    ));
    writeln!(md, "| claim | measure | paper's setting | outside | verdict |").ok();
    writeln!(md, "|---|---|---|---|---|").ok();
    let counts = |v: &[&str]| -> String {
        if v.is_empty() {
            return "—".into();
        }
        let mut c: std::collections::BTreeMap<&str, usize> = Default::default();
        for x in v {
            *c.entry(x).or_default() += 1;
        }
        c.iter().map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", ")
    };
    for s in &res.settings {
        let measure = if s.no_effect { format!("{} (no effect)", s.measure) } else { s.measure.to_string() };
        writeln!(
            md,
            "| `{}` | {measure} | {} | {} | **{}** |",
            s.claim,
            counts(&s.paper),
            counts(&s.outside),
            s.verdict
        )
        .ok();
    }
    writeln!(md, "\n## By claim\n").ok();
    for claim in crate::trends::catalogue() {
        let exs: Vec<&ExperimentResult> = res.experiments.iter().filter(|e| e.claim == claim.id).collect();
        if exs.is_empty() {
            continue;
        }
        let verdicts: std::collections::BTreeSet<&str> =
            exs.iter().flat_map(|e| e.stats.iter().map(|s| s.verdict)).collect();
        let summary = match verdicts.len() {
            1 => format!("**{}** in every experiment and by every measure", verdicts.iter().next().unwrap_or(&"")),
            _ => format!(
                "mixed ({}): the verdict depends on the experiment (family, initialisation, step) or the measure, see below",
                verdicts.iter().copied().collect::<Vec<_>>().join(", ")
            ),
        };
        writeln!(md, "- `{}` ({}): {summary}.", claim.id, claim.section).ok();
        for e in exs {
            let v: Vec<String> = e.stats.iter().map(|s| format!("{} {}", s.measure, s.verdict)).collect();
            let scope = match e.scope {
                Some(crate::trends::file::Scope::Paper) => " [paper's setting]",
                Some(crate::trends::file::Scope::Outside) => " [outside]",
                None => "",
            };
            writeln!(md, "  - {}{scope}: {}", e.label, v.join(", ")).ok();
        }
    }
}

/// A stable, line-per-test summary for snapshot tests: verdicts and counts, no floats
/// beyond two significant digits of the p-values and of the median effect and its interval.
pub fn stable_summary(res: &TrendResults) -> String {
    let mut out = String::new();
    for ex in &res.experiments {
        for s in &ex.stats {
            let effect = s.effect.map_or("—".into(), |c| format!("{:.1e} [{:.1e}, {:.1e}]", c.median, c.lo, c.hi));
            writeln!(
                out,
                "{} | {} | {}@{} | n={} {}/{}/{} | p={:.1e} | effect {} | {}",
                ex.claim, ex.label, s.measure, s.level, s.n, s.agree, s.disagree, s.ties, s.p_claim, effect, s.verdict
            )
            .ok();
        }
    }
    for s in &res.settings {
        let no_effect = if s.no_effect { " (no effect)" } else { "" };
        writeln!(
            out,
            "setting | {} | {}{no_effect} | paper {:?} | outside {:?} | {}",
            s.claim, s.measure, s.paper, s.outside, s.verdict
        )
        .ok();
    }
    out
}

const HOW_TO_READ: &str = "\
How to read this report: each experiment draws an instance per seed and computes its curse \
measures at two levels of one factor (the same data, the same initial direction). A pair \
*agrees* when a measure moves the way the claim predicts, *disagrees* when it moves the other \
way and *ties* when the two values agree to 1e-9 relative (below what the computation \
resolves); `agreeing` is the fraction of all pairs that agree. The effect is the median of \
`log10(second/first)` (ratio measures) or of `second − first` (counts and areas), a tie counting \
as exactly 0, with a distribution-free interval. `p (claim)` is the one-sided sign-test \
p-value for agreement, `p (opposite)` for disagreement, both over all pairs (a tie counts as \
not moving that way), so a p-value below γ/2 is the same event as an interval that excludes 0. \
Verdicts: **supported** (significant in the predicted direction and the median effect at \
least the measure's pre-stated minimum, shown as `by ≥ δ`), **contradicted** (the same in the \
opposite direction), **negligible effect** (significant, but the median effect below the \
minimum), **not supported** (neither direction significant). For proportions the effect \
column is the fraction with its Clopper–Pearson interval, supported when it lies above 1/2.\n";

const MEASURES: &str = "\n## Curse measures\n\n\
| measure | definition | milder curse |\n|---|---|---|\n\
| `grows` | `k̇ > 0`, `k̇ = argmax_k ė_k` | false |\n\
| `dips` | `k̄ > 0`, `k̄ = argmin_k ē_k` | — |\n\
| `growth` | `max_k ė_k / ė_0` | smaller |\n\
| `k_dot` | time to the peak `k̇` | smaller |\n\
| `excess_area` | `Σ_k (ė_k − ρ^k ė_0)₊ / ė_0`, the area between `ė_k` and the curse-free decay of (19) with `Γ = 0` | smaller |\n\
| `burn_in` | first `k` after which `ė_j ≤ ė_0` for all `j ≥ k` | smaller |\n\
| `asymptotic_rate` | `(ė_K/ė_{⌈K/2⌉})^{1/(K−⌈K/2⌉)}` | smaller is faster |\n\
| `peak` | curse experiments: `max_k ė_k` (absolute); budgeted ones: `max_j ė_{T'}^{(j)}` (Sec. 4.3) | smaller |\n\
| `peak_excess` | `max_k ė_k − ė_0` (absolute) | smaller |\n\
| `bound_peak` | `max_k (ρ^k ė_0 + kρ^{k−1}Γe_0)`, the peak of the bound (19) over the run | smaller |\n\
| `final_error` | the budgeted output's error `ė_{T'}^{(K−T)}` (Appendix C: `‖Ẋ_{T'}^{(K−T)}v − Dx*v‖`) | smaller |\n\
| `final_rev_error` | Appendix C: the truncated reverse sweep's error `‖wᵀŪ_{K'}^{(T')} − wᵀDx*‖` | smaller |\n\
| `best_t_fraction` | Appendix C: `T/K` of the grid point with the lowest final forward error of a draw | — |\n\
| `eq22_regret` | Appendix C: `log10` of the final forward error at the grid minimiser of (22) over the draw's lowest | 0 when (22) selects the best `T` |\n\
| `hypergradient_error` | `‖d_r − ∇(ℓ∘x*)(u_r)‖` per outer iteration of Algorithm 1, median over r ≥ 1 | smaller |\n\n\
Curse runs use the horizon `K = ⌈ln 1e-8 / ln ρ⌉` (at most `k_max`), `ė_0 = ‖Dx*‖` (constant `x_0`).\n";
