//! Reports: the only renderer and writer of the crate, used by the command line and the
//! snapshot tests. The layers below compute; this one formats and writes.
//!
//! | module | what it renders |
//! |---|---|
//! | this module | scenario reports (`unrollcheck verify`), the atomic directory writers |
//! | [`trends`] | trend reports |
//! | [`fig2`], [`appendix_c`] | the reproductions (`unrollcheck reproduce`, [`reproduce`]) |
//! | [`demo`] | the text of `unrollcheck demo` |
//! | [`calibration`] | the section "Tolerance calibration" of a scenario report |
//! | [`figures`] | every SVG figure |
//!
//! `unrollcheck verify` writes, under `reports/<scenario>/`:
//! - `report.md`: the seed and configuration, one row per claim and variant (id, equation,
//!   statement, instances, holds / violated / not applicable, smallest margin, the worst
//!   instance and the command that replays it), the assumption failures, the figures;
//! - `results.json`: the same for machines, with a [`SCHEMA_VERSION`];
//! - `figures/*.svg`: error curves with the bounds (8), (19) and `k̇`, `k̄` (like the paper's
//!   Figure 2), late-start curves for several `T'` (like its appendix figures), and the
//!   distribution of margins per claim.
//!
//! A report is written to a temporary directory and moved into place at the end, so a
//! failed run never leaves a half-written report. An existing report directory is replaced
//! only when everything in it is something the writer puts there ([`Layout`]): a file of the
//! user's in it is refused, and nothing is removed. [`stable_summary`] is the part of a
//! report the snapshot tests pin: verdict counts and rounded margins, no raw paths.

pub mod appendix_c;
pub mod calibration;
pub mod demo;
pub mod fig2;
pub mod figures;
pub mod interrupt;
pub mod trends;

use crate::claims::{self, Role, Setting, Verdict, Witness};
use crate::error::{Error, Result};
use crate::reproduce::appendix_c::{Protocol, sweep_protocol_with};
use crate::reproduce::{ReproduceArgs, Target};
use crate::scenario::Scenario;
use crate::scenario::runner::ScenarioResults;
use crate::spec::{Norm, Spec};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Version of the `results.json` layout.
pub const SCHEMA_VERSION: u32 = 1;

/// The worst instance of a claim: the smallest margin, or the first violation.
#[derive(Debug, Clone, Serialize)]
pub struct Worst {
    /// Instance index in the scenario.
    pub index: usize,
    /// Its spec.
    pub spec: Spec,
    /// Its horizon `K`.
    #[serde(rename = "K")]
    pub k: usize,
    /// Its margin (`None` for a violation).
    pub margin: Option<f64>,
}

/// One row of the report: a claim in one variant over all instances.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimSummary {
    /// Claim id.
    pub claim: String,
    /// Variant.
    pub variant: String,
    /// Statement, control or reading.
    pub role: Role,
    /// Equation number.
    pub equation: String,
    /// Statement (of the variant, for controls and readings).
    pub statement: String,
    /// Instances checked.
    pub instances: usize,
    /// How many hold.
    pub holds: usize,
    /// How many are violated.
    pub violated: usize,
    /// How many are not applicable.
    pub not_applicable: usize,
    /// How many ended in a numerical failure (NaN or infinity: no verdict).
    pub numerical_failures: usize,
    /// How many of the `holds` were at rounding level only (not informative).
    pub uninformative: usize,
    /// The first numerical failure: instance index, spec and cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<(usize, Spec, String)>,
    /// Smallest margin among the instances where it holds informatively.
    pub min_margin: Option<f64>,
    /// The worst instance.
    pub worst: Option<Worst>,
    /// The first violation.
    pub witness: Option<Witness>,
    /// Not-applicable counts by assumption.
    pub assumption_failures: BTreeMap<String, usize>,
}

impl ClaimSummary {
    /// `true` when this row must hold (the paper's statement, a consistent reading, a
    /// custom claim) and does not everywhere it applies.
    pub fn fails(&self) -> bool {
        self.violated > 0 && !matches!(self.role, Role::Control | Role::Reading { expect_holds: false })
    }
    /// `true` when an instance ended in a numerical failure.
    pub fn numerical_failure(&self) -> bool {
        self.numerical_failures > 0
    }
    /// One word for the table.
    pub fn verdict_word(&self) -> &'static str {
        if self.numerical_failures > 0 && self.violated == 0 {
            return "**NUMERICAL FAILURE** (no verdict)";
        }
        match (self.violated > 0, self.holds > 0, self.role) {
            (true, _, Role::Control | Role::Reading { expect_holds: false }) => "violated (as it should)",
            (true, _, _) => "**VIOLATED**",
            (false, true, Role::Control | Role::Reading { expect_holds: false }) => "**not caught**",
            (false, true, _) => "holds",
            (false, false, _) => "not applicable",
        }
    }
}

fn describe(claim: &str, variant: &str) -> (String, String) {
    match claims::find(claim) {
        Some(c) => {
            let statement = match c.variant(variant) {
                Some(v) if v.name != "paper" => v.description.to_string(),
                _ => c.statement.to_string(),
            };
            (c.equation.to_string(), statement)
        }
        None => ("custom".to_string(), String::new()),
    }
}

/// Aggregates the verdicts per claim and variant, in the order of the first instance.
pub fn summarize(sc: &Scenario, res: &ScenarioResults) -> Vec<ClaimSummary> {
    let Some(first) = res.instances.first() else { return Vec::new() };
    first
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let (equation, mut statement) = describe(&row.claim, &row.variant);
            if let Some(c) = sc.custom.iter().find(|c| c.claim.id() == row.claim) {
                statement = c.claim.statement().to_string();
            }
            let mut s = ClaimSummary {
                claim: row.claim.clone(),
                variant: row.variant.clone(),
                role: row.role,
                equation,
                statement,
                instances: 0,
                holds: 0,
                violated: 0,
                not_applicable: 0,
                numerical_failures: 0,
                uninformative: 0,
                failure: None,
                min_margin: None,
                worst: None,
                witness: None,
                assumption_failures: BTreeMap::new(),
            };
            for inst in &res.instances {
                add(&mut s, (inst.index, inst.k), &inst.spec, &inst.rows[i].verdict);
            }
            s
        })
        .collect()
}

fn add(s: &mut ClaimSummary, (index, k): (usize, usize), spec: &Spec, v: &Verdict) {
    s.instances += 1;
    match v {
        Verdict::Holds { informative: false, .. } => {
            s.holds += 1;
            s.uninformative += 1;
        }
        Verdict::Holds { margin, .. } => {
            s.holds += 1;
            if s.witness.is_none() && s.min_margin.is_none_or(|m| *margin < m) {
                s.min_margin = Some(*margin);
                s.worst = Some(Worst { index, spec: *spec, k, margin: Some(*margin) });
            }
        }
        Verdict::Violated(w) => {
            s.violated += 1;
            if s.witness.is_none() {
                s.witness = Some((**w).clone());
                s.worst = Some(Worst { index, spec: *spec, k, margin: None });
            }
        }
        Verdict::NumericalFailure { cause, .. } => {
            s.numerical_failures += 1;
            if s.failure.is_none() {
                s.failure = Some((index, *spec, cause.clone()));
            }
        }
        Verdict::NotApplicable { assumption, .. } => {
            s.not_applicable += 1;
            *s.assumption_failures.entry(assumption.to_string()).or_default() += 1;
        }
    }
}

/// The command that replays one claim on one instance: the spec and the [`Setting`] of the
/// check (horizon, `k_max`, `ω`, late starts, tolerance safety factor), so that the replay
/// runs the same comparisons.
pub fn replay_command(sc: &Scenario, claim: &str, variant: &str, spec: &Spec, setting: &Setting) -> String {
    let what = serde_json::json!({"spec": spec, "setting": setting}).to_string();
    if claims::find(claim).is_some() {
        format!("unrollcheck replay {claim}/{variant} '{what}'")
    } else {
        format!("unrollcheck replay {claim} '{what}' --scenario {}", sc.path)
    }
}

fn fmt_margin(m: Option<f64>) -> String {
    m.map_or("—".to_string(), |m| format!("{m:.2e}"))
}

/// The margin cell: the smallest informative margin, or `not informative` when every
/// instance that holds held at rounding level only.
fn margin_cell(r: &ClaimSummary) -> String {
    match (r.min_margin, r.holds > 0 && r.uninformative == r.holds) {
        (None, true) => "not informative".to_string(),
        (m, _) => fmt_margin(m),
    }
}

/// `report.md`: the header, the claims table, the worst instances, the numerical and
/// assumption failures, then the sections of the adapted norm, the quadratic theory and the
/// calibration, and the list of figures.
pub fn markdown(sc: &Scenario, res: &ScenarioResults, rows: &[ClaimSummary], figures: &[String]) -> String {
    let mut md = String::new();
    let w = &mut md;
    header(w, sc, res, rows);
    claims_table(w, rows);
    worst_instances(w, sc, res, rows);
    numerical_failures(w, sc, res, rows);
    assumption_failures(w, rows);
    if res.instances.iter().any(|i| !i.spec.norm.is_euclidean()) {
        adapted_section(w, rows, res);
    }
    quadratic_section(w, res, figures);
    support_section(w, res);
    calibration::section(w, res);
    figure_list(w, figures);
    md
}

/// The title, the scenario's description and settings, and the overall verdict.
fn header(w: &mut String, sc: &Scenario, res: &ScenarioResults, rows: &[ClaimSummary]) {
    writeln!(w, "# unrollcheck report: `{}`\n", sc.file.name).ok();
    if !sc.file.description.is_empty() {
        writeln!(w, "{}\n", sc.file.description).ok();
    }
    writeln!(w, "- scenario file: `{}`", sc.path).ok();
    writeln!(
        w,
        "- seed: {}{}",
        res.seed,
        if res.quick { " (quick mode: one instance per grid point, K ≤ 120)" } else { "" }
    )
    .ok();
    writeln!(
        w,
        "- instances: {} ({} grid points)",
        res.instances.len(),
        res.instances.iter().map(|i| i.point).max().map_or(0, |p| p + 1)
    )
    .ok();
    writeln!(
        w,
        "- horizon: K chosen per instance with ρ^K ≤ {:e}, at most {}; late starts T' = {:?}·K; ω = {}",
        res.config.target, res.config.k_max, res.config.t_fractions, res.config.omega
    )
    .ok();
    writeln!(w, "- tolerance model: safety factor {} on the rounding estimates of `src/tol.rs`", res.config.tol.safety)
        .ok();
    writeln!(
        w,
        "- verdict: {}\n",
        if rows.iter().any(ClaimSummary::fails) { "**a claim is violated**" } else { "every applicable check holds" }
    )
    .ok();
}

/// One row per claim and variant: counts, smallest margin, verdict.
fn claims_table(w: &mut String, rows: &[ClaimSummary]) {
    writeln!(w, "## Claims\n").ok();
    writeln!(
        w,
        "| claim | eq. | variant | statement | instances | holds | violated | n/a | num. failure | smallest margin | verdict |"
    )
    .ok();
    writeln!(w, "|---|---|---|---|---|---|---|---|---|---|---|").ok();
    for r in rows {
        writeln!(
            w,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.claim,
            r.equation,
            r.variant,
            r.statement.replace('|', "\\|"),
            r.instances,
            r.holds,
            r.violated,
            r.not_applicable,
            r.numerical_failures,
            margin_cell(r),
            r.verdict_word()
        )
        .ok();
    }
}

/// Per claim, the instance with the smallest margin or the first violation, with its replay command.
fn worst_instances(w: &mut String, sc: &Scenario, res: &ScenarioResults, rows: &[ClaimSummary]) {
    writeln!(w, "\n## Worst instances\n").ok();
    writeln!(w, "The instance with the smallest margin, or the first violation, per claim; each command replays it.\n")
        .ok();
    for r in rows {
        if let Some(worst) = &r.worst {
            let what = match &r.witness {
                Some(wit) => format!("violated: {wit}"),
                None => format!("smallest margin {}", fmt_margin(worst.margin)),
            };
            writeln!(
                w,
                "- `{}` [{}], instance {}: {what}\n  `{}`",
                r.claim,
                r.variant,
                worst.index,
                replay_command(sc, &r.claim, &r.variant, &worst.spec, &Setting::of(worst.k, &res.config))
            )
            .ok();
        }
    }
}

/// The first NaN or infinity per claim (no verdict), with its replay command; nothing when none.
fn numerical_failures(w: &mut String, sc: &Scenario, res: &ScenarioResults, rows: &[ClaimSummary]) {
    let failures: Vec<&ClaimSummary> = rows.iter().filter(|r| r.numerical_failure()).collect();
    if failures.is_empty() {
        return;
    }
    writeln!(w, "\n## Numerical failures\n").ok();
    writeln!(
        w,
        "A NaN or an infinity on a side or in the tolerance: no verdict about the claim (never *holds*, never \
        *violated*). The first per claim:\n"
    )
    .ok();
    for r in failures {
        if let Some((index, spec, cause)) = &r.failure {
            let k = res.instances.get(*index).map_or(0, |i| i.k);
            writeln!(
                w,
                "- `{}` [{}], instance {index}: {cause}\n  `{}`",
                r.claim,
                r.variant,
                replay_command(sc, &r.claim, &r.variant, spec, &Setting::of(k, &res.config))
            )
            .ok();
        }
    }
}

/// Which assumption failed, how often, per claim that was not applicable somewhere.
fn assumption_failures(w: &mut String, rows: &[ClaimSummary]) {
    writeln!(w, "\n## Assumption failures\n").ok();
    writeln!(w, "Where an assumption fails the claim is *not applicable*: heavy-ball is not a contraction in the Euclidean norm (‖D_zA‖ ≥ 1, Remark 1(ii)) and the Chebyshev method is time-varying (A2.1); the classic Huber loss has a Hessian that jumps (no M_x, A2.2); pseudo-Huber and Huber are not quadratic, and on ridge data H(θ) does not commute with ∂_θH (the quadratic theory).\n").ok();
    for r in rows.iter().filter(|r| r.not_applicable > 0) {
        let reasons: Vec<String> = r.assumption_failures.iter().map(|(a, n)| format!("{a}: {n}")).collect();
        writeln!(w, "- `{}` [{}]: {}", r.claim, r.variant, reasons.join(", ")).ok();
    }
}

/// Links to the figures written beside the report.
fn figure_list(w: &mut String, figures: &[String]) {
    if !figures.is_empty() {
        writeln!(w, "\n## Figures\n").ok();
        for f in figures {
            writeln!(w, "- [{f}]({f})").ok();
        }
    }
}

/// The claims shown per instance in the adapted-norm section: the paper's rate and bounds.
const ADAPTED_COLUMNS: [&str; 3] = ["thm2.rate", "thm7.bound", "thm8.bound"];

/// How an instance's norm is named in reports.
pub fn norm_label(spec: &Spec, adapted: Option<&crate::map::AdaptedNorm>) -> String {
    match (spec.norm, adapted) {
        (Norm::Euclidean, _) => "euclidean".to_string(),
        (Norm::Adapted { eps }, Some(_)) => format!("adapted (eps {eps})"),
        (Norm::Adapted { .. }, None) => "adapted = euclidean (P = I)".to_string(),
    }
}

fn verdict_cell(v: &Verdict) -> String {
    match v {
        Verdict::Holds { informative: false, .. } => "holds (not informative)".to_string(),
        Verdict::Holds { margin, .. } => format!("holds ({margin:.1e})"),
        Verdict::Violated(_) => "**VIOLATED**".to_string(),
        Verdict::NumericalFailure { .. } => "**numerical failure**".to_string(),
        Verdict::NotApplicable { assumption, .. } => format!("n/a: {assumption}"),
    }
}

/// The section of a scenario with an adapted norm: verdicts per norm, and per instance the
/// constants in its norm next to the verdicts of (8), (19) and (21).
fn adapted_section(w: &mut String, rows: &[ClaimSummary], res: &ScenarioResults) {
    writeln!(w, "\n## Heavy-ball in an adapted norm (beyond the paper)\n").ok();
    writeln!(
        w,
        "Heavy-ball is not a contraction in the Euclidean norm (‖D_zA‖₂ ≥ 1, Remark 1(ii)), so the paper's \
        bounds are not applicable to it. In the norm ‖P⁻¹z‖ built from the 2×2 blocks of D_zA(z*) \
        (`src/map/adapted.rs`) it contracts with modulus ρ ≤ r + ε, r its spectral radius and ε = eps·(1 − r), \
        and the claims are checked on the conjugated map P⁻¹A(Pz', u) with ρ, M_x, M_u, κ and Γ computed in \
        that norm. This is a result beyond the paper: the bounds hold with these constants, which depend on P; \
        cond(P) grows near critical damping (a repeated root), where ε caps it. Instances that differ only in the \
        norm share their seed and their data.\n"
    )
    .ok();
    let mut labels: Vec<String> = Vec::new();
    for i in &res.instances {
        let l = norm_label(&i.spec, i.adapted.as_ref());
        if !labels.contains(&l) {
            labels.push(l);
        }
    }
    writeln!(w, "| claim | variant | {} |", labels.join(" | ")).ok();
    writeln!(w, "|---|---|{}", "---|".repeat(labels.len())).ok();
    for (r, row) in rows.iter().enumerate().filter(|(_, row)| row.role == Role::Paper) {
        let cells: Vec<String> = labels
            .iter()
            .map(|l| {
                let (mut h, mut v, mut n, mut f) = (0, 0, 0, 0);
                for i in res.instances.iter().filter(|i| &norm_label(&i.spec, i.adapted.as_ref()) == l) {
                    match &i.rows[r].verdict {
                        Verdict::Holds { .. } => h += 1,
                        Verdict::Violated(_) => v += 1,
                        Verdict::NotApplicable { .. } => n += 1,
                        Verdict::NumericalFailure { .. } => f += 1,
                    }
                }
                if f > 0 {
                    format!("holds {h}, violated {v}, n/a {n}, numerical failure {f}")
                } else {
                    format!("holds {h}, violated {v}, n/a {n}")
                }
            })
            .collect();
        writeln!(w, "| `{}` | {} | {} |", row.claim, row.variant, cells.join(" | ")).ok();
    }
    let cols: Vec<(usize, &str)> = ADAPTED_COLUMNS
        .iter()
        .filter_map(|c| rows.iter().position(|r| r.claim == *c && r.variant == "paper").map(|i| (i, *c)))
        .collect();
    writeln!(
        w,
        "\nPer instance (ρ, Γ in the instance's norm; ‖D_zA(z*)‖ in that norm, ≥ 1 in the Euclidean one; \
        margins in parentheses):\n"
    )
    .ok();
    let heads: Vec<String> = cols.iter().map(|(_, c)| format!("`{c}`")).collect();
    writeln!(
        w,
        "| # | family | method | step | seed | norm | r | ‖D_zA(z*)‖ | ρ | ε | cond(P) | Γ | {} |",
        heads.join(" | ")
    )
    .ok();
    writeln!(w, "|---|---|---|---|---|---|---|---|---|---|---|---|{}", "---|".repeat(cols.len())).ok();
    for i in &res.instances {
        let c = &i.constants;
        let fam = serde_json::to_value(i.spec.family).ok().map(|v| family_label(&v)).unwrap_or_default();
        let method = match i.spec.method {
            crate::spec::Method::GradientDescent => "gd".to_string(),
            crate::spec::Method::HeavyBall { beta } => format!("hb β={beta}"),
            crate::spec::Method::Chebyshev => "chebyshev".to_string(),
            crate::spec::Method::Nesterov => "nesterov".to_string(),
            crate::spec::Method::NesterovConvex => "nesterov_convex".to_string(),
            crate::spec::Method::Picard => "picard".to_string(),
            crate::spec::Method::ProxGd { .. } | crate::spec::Method::Fista { .. } => method_step_label(&i.spec).0,
        };
        let step = serde_json::to_value(i.spec.step).ok().map(|v| step_label(&v)).unwrap_or_default();
        let (eps, cond) = i.adapted.map_or(("—".to_string(), "1".to_string()), |a| {
            (format!("{:.2e}", a.eps_abs), format!("{:.2e}", a.cond_p))
        });
        let cells: Vec<String> = cols.iter().map(|(r, _)| verdict_cell(&i.rows[*r].verdict)).collect();
        writeln!(
            w,
            "| {} | {fam} | {method} | {step} | {} | {} | {:.4} | {:.4} | {:.4} | {eps} | {cond} | {:.3e} | {} |",
            i.index,
            i.spec.seed,
            norm_label(&i.spec, i.adapted.as_ref()),
            c.map.spectral_radius,
            c.map.jacobian_norm_at_fixed_point,
            c.rho(),
            c.gamma.value,
            cells.join(" | ")
        )
        .ok();
    }
}

fn step_label(v: &serde_json::Value) -> String {
    match v.get("rule").and_then(|r| r.as_str()) {
        Some("optimal") => "2/(L+μ)".into(),
        Some("inv_l") => "1/L".into(),
        Some("inv_three_l") => "1/(3L)".into(),
        Some("fraction_of_two_over_l") => format!("c={}·2/L", v.get("c").and_then(|c| c.as_f64()).unwrap_or(f64::NAN)),
        _ => "?".into(),
    }
}

fn restart_suffix(r: crate::spec::Restart) -> &'static str {
    match r {
        crate::spec::Restart::X0 => "",
        crate::spec::Restart::Identified => "_identified",
    }
}

/// The section of the proximal maps (beyond the paper): per instance, where the run from
/// `x_0` identified the support of `x*` (`k₀`), where it entered the ball on which the map
/// is affine (`k_a`), and, for the restarted instances, the index they start from.
fn support_section(w: &mut String, res: &ScenarioResults) {
    let rows: Vec<_> = res.instances.iter().filter_map(|i| Some((i, i.support?))).collect();
    if rows.is_empty() {
        return;
    }
    writeln!(w, "\n## Support identification (proximal maps, beyond the paper)\n").ok();
    writeln!(w, "Per instance: the run from x_0 (the spec's start) identifies the support at k₀, the first index from which the sign pattern of the pre-prox point z_k = y_k − α∇f(y_k) equals that of z* (over the run); it enters the ball ‖x − x*‖ < δ/(2q‖F‖) at k_a, from which no coordinate of z can cross its kink (δ = min_i ||z*_i| − αλ₁|, the strict-complementarity margin; q = ‖I − αH‖; ‖F‖ the read-out norm, 1 for prox-gd), so the map is affine along the run from k_a on (certified for prox-gd, a contraction; observed over the run for FISTA). `—`: not within the steps searched. Restarted instances (`*_identified`) start at x_{{k_a}} with the a.e. forward derivative Ẋ_{{k_a}} and have M_x = M_u = 0 on their ball.\n").ok();
    writeln!(w, "| instance | family | method | ‖x*‖₀ / n | δ | affine radius | k₀ | k_a | restarted at | K |").ok();
    writeln!(w, "|---|---|---|---|---|---|---|---|---|---|").ok();
    let opt = |k: Option<usize>| k.map_or("—".to_string(), |k| k.to_string());
    for (i, id) in rows {
        let family = serde_json::to_value(i.spec.family).ok().map(|v| family_label(&v)).unwrap_or_default();
        let (method, _) = method_step_label(&i.spec);
        writeln!(
            w,
            "| {} | {family} | {method} | {} / {} | {:.3e} | {:.3e} | {} | {} | {} | {} |",
            i.index,
            id.support,
            id.n,
            id.margin,
            id.affine_radius,
            opt(id.k0),
            opt(id.k_affine),
            opt(id.restarted_at),
            i.k
        )
        .ok();
    }
}

/// Short labels of a spec's method and step rule (file names, tables).
pub fn method_step_label(spec: &Spec) -> (String, String) {
    use crate::spec::{Method, StepRule};
    let method = match spec.method {
        Method::GradientDescent => "gd".to_string(),
        Method::HeavyBall { beta } => format!("heavy_ball_b{beta}"),
        Method::Chebyshev => "chebyshev".to_string(),
        Method::Nesterov => "nesterov".to_string(),
        Method::NesterovConvex => "nesterov_convex".to_string(),
        Method::Picard => "picard".to_string(),
        Method::ProxGd { restart } => format!("prox_gd{}", restart_suffix(restart)),
        Method::Fista { restart } => format!("fista{}", restart_suffix(restart)),
    };
    let step = match spec.step {
        StepRule::Optimal => "2_over_L_plus_m".to_string(),
        StepRule::InvL => "1_over_L".to_string(),
        StepRule::InvThreeL => "1_over_3L".to_string(),
        StepRule::FractionOfTwoOverL { c } => format!("c{c}"),
    };
    (method, step)
}

/// The section of the quadratic theory (Scieur et al. 2022): per grid point with a quadratic
/// figure, the spectrum, how far `H` is from commuting with `∂H`, and how far the identity
/// `scieur.jacobian` is from holding; then the residual-polynomial figures.
fn quadratic_section(w: &mut String, res: &ScenarioResults, figures: &[String]) {
    let points: Vec<_> =
        res.instances.iter().filter_map(|i| Some((i, i.figure.as_ref()?.quadratic.as_ref()?))).collect();
    if points.is_empty() {
        return;
    }
    writeln!(w, "\n## Quadratic theory (Scieur et al. 2022)\n").ok();
    writeln!(w, "Residual polynomials of gradient descent, heavy-ball and the Chebyshev method on the spectrum [μ, L] of H (first instance of each grid point). `scieur.jacobian` needs H(θ) to commute with ∂_θH; the last column is the observed relative residual max_t ‖lhs − rhs‖ / max_t ‖lhs‖ of the identity (rounding level where it applies; of order one on ridge data, where it does not).\n").ok();
    writeln!(
        w,
        "| point | family | method | step | μ | L | ‖[H, ∂H]‖ (relative) | scieur.jacobian relative residual |"
    )
    .ok();
    writeln!(w, "|---|---|---|---|---|---|---|---|").ok();
    for (inst, q) in &points {
        let family = serde_json::to_value(inst.spec.family).ok().map(|v| family_label(&v)).unwrap_or_default();
        let (method, step) = method_step_label(&inst.spec);
        writeln!(
            w,
            "| {} | {family} | {method} | {step} | {:.4e} | {:.4e} | {:.2e} | {:.2e} |",
            inst.point, q.interval.0, q.interval.1, q.commutator, q.jacobian_residual
        )
        .ok();
    }
    let poly: Vec<&String> = figures.iter().filter(|f| f.starts_with("figures/poly_")).collect();
    if !poly.is_empty() {
        writeln!(
            w,
            "\nFigures of |P_t(λ) − λP_t'(λ)| and |P_t'(λ)| over [μ, L] (eigenvalues of H as ticks at the bottom):\n"
        )
        .ok();
        for f in poly {
            writeln!(w, "![{f}]({f})").ok();
        }
    }
}

/// `results.json`.
pub fn json(sc: &Scenario, res: &ScenarioResults, rows: &[ClaimSummary]) -> serde_json::Value {
    let adapted = res.instances.iter().any(|i| !i.spec.norm.is_euclidean());
    let instances: Vec<serde_json::Value> = res
        .instances
        .iter()
        .map(|i| {
            let mut v = serde_json::json!({
                "index": i.index, "point": i.point, "spec": i.spec, "K": i.k,
                "verdicts": i.rows.iter().map(|r| serde_json::json!({"claim": r.claim, "variant": r.variant, "verdict": r.verdict})).collect::<Vec<_>>(),
            });
            if adapted {
                v["constants"] = serde_json::json!(i.constants);
                v["adapted_norm"] = serde_json::json!(i.adapted);
            }
            if let Some(id) = i.support {
                v["support"] = serde_json::json!(id);
                v["constants"] = serde_json::json!(i.constants);
            }
            v
        })
        .collect();
    serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "scenario": sc.file.name, "scenario_file": sc.path, "seed": res.seed, "quick": res.quick,
        "config": {"k_max": res.config.k_max, "target": res.config.target, "omega": res.config.omega, "t_fractions": res.config.t_fractions, "tolerance_safety": res.config.tol.safety},
        "passed": !rows.iter().any(ClaimSummary::fails),
        "claims": rows,
        "instances": instances,
    })
}

/// The stable content pinned by the snapshot tests: per claim and variant the counts, the
/// verdict word, and the smallest margin rounded to one significant digit in decades
/// (`~1e-3`), so that rounding noise does not move it but a flipped verdict does.
pub fn stable_summary(rows: &[ClaimSummary]) -> String {
    let mut out = String::new();
    for r in rows {
        let margin = r.min_margin.map_or("-".to_string(), |m| {
            if m <= 0.0 { "<=0".to_string() } else { format!("~1e{}", m.log10().floor() as i32) }
        });
        writeln!(
            out,
            "{:<22} {:<22} n={:<3} holds={:<3} violated={:<3} n/a={:<3} margin={:<7} {}",
            r.claim,
            r.variant,
            r.instances,
            r.holds,
            r.violated,
            r.not_applicable,
            margin,
            r.verdict_word()
        )
        .ok();
        if r.numerical_failures > 0 || r.uninformative > 0 {
            // Only when present, so that the pinned summaries of clean runs do not move.
            let last = out.pop();
            debug_assert_eq!(last, Some('\n'));
            writeln!(out, " (numerical failures {}, not informative {})", r.numerical_failures, r.uninformative).ok();
        }
    }
    out
}

/// Where a report was written.
#[derive(Debug, Clone)]
pub struct Written {
    /// The report directory.
    pub dir: PathBuf,
    /// The rows.
    pub rows: Vec<ClaimSummary>,
}

/// Refuses to write into `dir` unless it does not exist, is empty, or holds the file
/// `marker` whose text `ours` recognises as written by this tool (e.g. a report that starts
/// with the tool's own title): a command that writes into a directory it was given never
/// overwrites files it did not write.
pub fn ensure_ours(dir: &Path, marker: &str, ours: impl Fn(&str) -> bool) -> Result<()> {
    let mut entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(dir, e)),
    };
    if entries.next().is_none() {
        return Ok(());
    }
    let path = dir.join(marker);
    match std::fs::read_to_string(&path) {
        Ok(text) if ours(&text) => Ok(()),
        _ => Err(Error::Input {
            location: dir.display().to_string(),
            message: format!(
                "the directory exists, is not empty and was not written by unrollcheck (no `{marker}` of ours): \
                 nothing was written; choose another directory or empty it"
            ),
        }),
    }
}

pub(crate) fn io(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io { path: path.display().to_string(), message: e.to_string() }
}

/// Writes one file of a report; an I/O failure is an [`Error::Io`] naming the file.
pub(crate) fn write_file(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).map_err(|e| io(path, e))
}

/// Runs one reproduction (`unrollcheck reproduce …`): the computation of
/// [`crate::reproduce`], then its report and figures under `OUT/fig2/` or
/// `OUT/appendix_c/` ([`fig2::write`], [`appendix_c::write`]); returns the text to print.
pub fn reproduce(args: &ReproduceArgs) -> Result<String> {
    let max_gib = || crate::budget::check_limit(args.max_memory, crate::budget::FLAG);
    match &args.target {
        Target::Fig2 { seed, k, out } => {
            crate::reproduce::fig2::check_budget(*k, max_gib()?)?;
            let f = crate::reproduce::fig2::figure2(*seed, *k)?;
            let written = fig2::write(&f, out)?;
            Ok(fig2::summary(&f, &written))
        }
        Target::AppendixC { runs, seed, m, n, out, engine } => {
            let p = Protocol { m: *m, ns: n.clone(), ..Protocol::paper(*runs, *seed) };
            p.validate()?;
            crate::reproduce::appendix_c::check_budget(&p, *engine, max_gib()?)?;
            let bar = appendix_c_progress(&p);
            let weight = |n| crate::reproduce::appendix_c::run_weight(p.m, n);
            let sweep = sweep_protocol_with(&p, *engine, &|n| bar.inc(weight(n)));
            bar.finish_and_clear();
            let sweep = sweep?;
            let report = appendix_c::write(&sweep, out)?;
            Ok(appendix_c::printed(&sweep, &report))
        }
    }
}

/// Writes a report directory `out/<name>/` atomically: `fill` writes into a fresh temporary
/// directory inside `out` (with a `figures/` subdirectory), which is then renamed to
/// `out/<name>/`; on any error the temporary directory is removed and nothing half-written
/// is left.
///
/// `name` must be one plain path component ([`crate::scenario::is_plain_name`]). An
/// existing `out/<name>` is replaced only when everything in it is something a report
/// writer of this tool puts there ([`check_target`], [`Layout::Report`]): it is renamed
/// aside, checked again, the new report renamed into place, and only then is the old one
/// removed. No path this function did not create is ever removed.
pub(crate) fn write_dir(out: &Path, name: &str, fill: impl FnOnce(&Path) -> Result<()>) -> Result<PathBuf> {
    write_dir_as(out, name, Layout::Report, Some("figures"), fill)
}

/// The progress bar of `reproduce appendix-c` on stderr, in units of
/// [`crate::reproduce::appendix_c::run_weight`] (so its rate and ETA are meaningful across
/// `N`); hidden when stderr is not a terminal, so that nothing is printed into logs or
/// pipes and stdout is never touched.
fn appendix_c_progress(p: &Protocol) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let total: u64 = p.ns.iter().map(|&n| p.runs as u64 * crate::reproduce::appendix_c::run_weight(p.m, n)).sum();
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {percent:>3}% of the runs' work {elapsed} (eta {eta})")
    {
        bar.set_style(style);
    }
    bar
}

/// Writes a reproduction's directory `out/<name>/` (`fig2`, `appendix_c`) atomically like
/// [`write_dir`], without a `figures/` subdirectory made in advance; an existing `out/<name>`
/// is replaced only when it is empty or holds nothing but what a reproduction writes there
/// ([`Layout::Reproduction`]: a `report.md` whose text starts with `title`, and the figures
/// that report links to).
pub(crate) fn write_reproduction(
    out: &Path,
    name: &str,
    title: &str,
    fill: impl FnOnce(&Path) -> Result<()>,
) -> Result<PathBuf> {
    write_dir_as(out, name, Layout::Reproduction { title }, None, fill)
}

/// The atomic writer behind [`write_dir`], [`write_reproduction`] and [`write_shard`]:
/// `out/<name>` may be replaced only when it is absent or passes [`check_layout`] for
/// `layout`, which is checked before `fill`, again before the rename, and once more on the
/// old directory after it was renamed aside (so that a file added in between is never
/// removed); `subdir` is created in the temporary directory before `fill` runs. The
/// temporary directory is registered with [`interrupt`] (removed on SIGINT, SIGTERM,
/// SIGHUP) and the rename section runs under its lock, so a signal leaves either the old
/// directory or the new one, complete. What a killed run left in `out` for `name` is named
/// on stderr, not removed ([`interrupt`] says why).
fn write_dir_as(
    out: &Path,
    name: &str,
    layout: Layout,
    subdir: Option<&str>,
    fill: impl FnOnce(&Path) -> Result<()>,
) -> Result<PathBuf> {
    check_target_as(out, name, layout)?;
    let dir = out.join(name);
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    for left in interrupt::leftovers(out, name) {
        eprintln!(
            "unrollcheck: note: {} was left by an unrollcheck run that was killed (or is still writing there); \
             it is not removed automatically: delete it once no run writes into {}",
            left.display(),
            out.display()
        );
    }
    let tmp = {
        let mut owned = interrupt::lock();
        let tmp = fresh_dir(out, name, "tmp")?;
        owned.push(tmp.clone());
        tmp
    };
    let result = subdir
        .map_or(Ok(()), |s| std::fs::create_dir(tmp.join(s)).map_err(|e| io(&tmp, e)))
        .and_then(|()| fill(&tmp))
        .and_then(|()| check_target_as(out, name, layout));
    test_pause();
    // The rename section: a signal waits for it to end (see `interrupt`).
    let mut owned = interrupt::lock();
    let result = result.and_then(|()| replace(&tmp, &dir, out, name, layout));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    interrupt::forget(&mut owned, &tmp);
    drop(owned);
    interrupt::stop_if_interrupted();
    result.map(|()| dir)
}

/// For the tests of interruption only (`tests/safety.rs`): with the environment variable
/// `UNROLLCHECK_TEST_PAUSE_MS` set, the writer sleeps that long after it filled its
/// temporary directory and again inside the rename section, so that a test can send a
/// signal at either point. Unset (always, outside those tests), nothing happens.
pub(crate) fn test_pause() {
    static PAUSE: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    let pause = PAUSE.get_or_init(|| std::env::var("UNROLLCHECK_TEST_PAUSE_MS").ok()?.parse().ok());
    if let Some(ms) = *pause {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// What a directory written by one of the writers holds, entry by entry: the rule by which
/// an existing `OUT/<name>` is recognised as the tool's own earlier output, and so may be
/// replaced. Every writer is atomic, so a directory it wrote holds exactly its files; the
/// figure names depend on the run, so a figure is recognised by the `report.md` beside it,
/// which links every figure the writer drew.
#[derive(Debug, Clone, Copy)]
pub enum Layout<'a> {
    /// A scenario or trend report (`verify`, `merge`): `results.json` (a JSON object with a
    /// `schema_version` key) and `report.md` (starting with [`SCENARIO_TITLE`] or
    /// [`TREND_TITLE`]), both required, and `figures/` holding only `.svg` files whose path
    /// `figures/<file>` is the target of a Markdown link `](figures/<file>)` in that
    /// `report.md`.
    Report,
    /// A shard's directory (`verify --shard`): `results.json` (a JSON object with a
    /// `schema_version` and a `shard` key) and `shard.cbor`, both required.
    Shard,
    /// A reproduction (`reproduce fig2`, `reproduce appendix-c`): empty, or a `report.md`
    /// starting with `title` (required), the `.svg` files beside it and in `figures/` that
    /// it links to (`](figure2.svg)`, `](figures/N2_a.svg)`), and nothing else.
    Reproduction {
        /// The first line of the reproduction's report.
        title: &'a str,
    },
}

/// The first line of a scenario report starts with this.
pub const SCENARIO_TITLE: &str = "# unrollcheck report: `";

/// The first line of a trend report starts with this.
pub const TREND_TITLE: &str = "# Trend claims: ";

/// Checks that a scenario or trend report named `name` may be written under `out`: `name`
/// is one plain path component, and `out/<name>` either does not exist or holds nothing
/// but a report this tool wrote ([`Layout::Report`]). Otherwise an [`Error::Input`] naming
/// the first entry that is not the tool's; nothing is touched.
pub fn check_target(out: &Path, name: &str) -> Result<()> {
    check_target_as(out, name, Layout::Report)
}

/// [`check_target`] for a shard's directory `out/<name>` ([`Layout::Shard`]).
pub fn check_shard_target(out: &Path, name: &str) -> Result<()> {
    check_target_as(out, name, Layout::Shard)
}

/// [`check_target`] for any [`Layout`].
fn check_target_as(out: &Path, name: &str, layout: Layout) -> Result<()> {
    if !crate::scenario::is_plain_name(name) {
        return Err(Error::Input {
            location: format!("report name `{name}`"),
            message: "not a plain directory name (letters, digits, `-`, `_`, `.`, not starting with `.`)".into(),
        });
    }
    let dir = out.join(name);
    match std::fs::symlink_metadata(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(&dir, e)),
        Ok(_) => check_layout(&dir, layout),
    }
}

/// Checks that the existing `dir` holds nothing but what a writer of `layout` puts there
/// (the rule of [`Layout`]); otherwise an [`Error::Input`] naming `dir` and its first entry
/// (in byte order of the names, `figures/` entries where `figures` sorts) that is not the
/// tool's, or the marker file that is missing or not the tool's.
pub fn check_layout(dir: &Path, layout: Layout) -> Result<()> {
    let refuse = |why: String| Error::Input {
        location: dir.display().to_string(),
        message: format!(
            "exists and was not written by unrollcheck: {why}; not replaced, nothing was touched: move it away or \
             choose another --out"
        ),
    };
    let meta = std::fs::symlink_metadata(dir).map_err(|e| io(dir, e))?;
    if !meta.is_dir() {
        return Err(refuse("it is not a directory".into()));
    }
    let names = sorted_entries(dir)?;
    if names.is_empty() && matches!(layout, Layout::Reproduction { .. }) {
        return Ok(());
    }
    let report = read_regular(&dir.join("report.md"));
    let links = report.as_deref().map(link_targets).unwrap_or_default();
    let json_has = |keys: &[&str]| {
        read_regular(&dir.join("results.json"))
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|v| keys.iter().all(|k| v.get(k).is_some()))
    };
    // First every entry: the first one that is not the tool's is named.
    let linked_svg = |rel: &str| rel.ends_with(".svg") && links.iter().any(|l| l == rel);
    for name in names {
        let path = dir.join(&name);
        let shown = name.to_string_lossy().into_owned();
        let Some(name) = name.to_str() else { return Err(refuse(format!("`{shown}` is not a file it writes there"))) };
        let ok = match (layout, name) {
            (Layout::Report | Layout::Reproduction { .. }, "report.md") => true,
            (Layout::Report | Layout::Shard, "results.json") => true,
            (Layout::Shard, crate::scenario::shard::DATA_FILE) => true,
            (Layout::Report | Layout::Reproduction { .. }, "figures") if is_real_dir(&path) => {
                for inner in sorted_entries(&path)? {
                    let rel = format!("figures/{}", inner.to_string_lossy());
                    if !(is_regular(&path.join(&inner)) && inner.to_str().is_some() && linked_svg(&rel)) {
                        return Err(refuse(format!("`{rel}` is not a figure its `report.md` links to")));
                    }
                }
                continue;
            }
            (Layout::Reproduction { .. }, _) => linked_svg(name),
            _ => false,
        };
        if !(ok && is_regular(&path)) {
            let what = if is_real_dir(&path) { "a directory" } else { "a file" };
            return Err(refuse(format!("`{shown}` is {what} unrollcheck does not write there")));
        }
    }
    // Then the marker files: present, regular and read as the tool's.
    match layout {
        Layout::Report => {
            if !json_has(&["schema_version"]) {
                return Err(refuse("no `results.json` with a `schema_version`".into()));
            }
            if !report.as_deref().is_some_and(|t| t.starts_with(SCENARIO_TITLE) || t.starts_with(TREND_TITLE)) {
                return Err(refuse("no `report.md` starting with the title of an unrollcheck report".into()));
            }
        }
        Layout::Shard => {
            if !json_has(&["schema_version", "shard"]) {
                return Err(refuse("no `results.json` with a `schema_version` and a `shard`".into()));
            }
            if !is_regular(&dir.join(crate::scenario::shard::DATA_FILE)) {
                return Err(refuse(format!("no `{}`", crate::scenario::shard::DATA_FILE)));
            }
        }
        Layout::Reproduction { title } => {
            if !report.as_deref().is_some_and(|t| t.starts_with(title)) {
                return Err(refuse(format!("no `report.md` starting with `{title}`")));
            }
        }
    }
    Ok(())
}

/// The names in `dir`, sorted (by bytes).
fn sorted_entries(dir: &Path) -> Result<Vec<std::ffi::OsString>> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        names.push(e.map_err(|e| io(dir, e))?.file_name());
    }
    names.sort();
    Ok(names)
}

/// `true` for a regular file (not a symlink).
fn is_regular(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

/// `true` for a directory (not a symlink).
fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// The text of a regular file (not a symlink), if it reads as UTF-8.
fn read_regular(path: &Path) -> Option<String> {
    if is_regular(path) { std::fs::read_to_string(path).ok() } else { None }
}

/// The targets of the Markdown links and images of `md`: the text between `](` and the next
/// `)`.
fn link_targets(md: &str) -> Vec<String> {
    md.split("](").skip(1).filter_map(|rest| rest.split_once(')').map(|(target, _)| target.to_string())).collect()
}

/// Creates a new, empty directory `out/.<name>.<what>-<pid>-<nanos>-<n>` (never an existing
/// one: `create_dir` fails on a taken name and the next counter is tried).
fn fresh_dir(out: &Path, name: &str, what: &str) -> Result<PathBuf> {
    let path = fresh_name(out, name, what)?;
    std::fs::create_dir(&path).map_err(|e| io(&path, e))?;
    Ok(path)
}

/// A name `out/.<name>.<what>-<pid>-<nanos>-<n>` that does not exist yet.
fn fresh_name(out: &Path, name: &str, what: &str) -> Result<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    for _ in 0..1000 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = out.join(format!(".{name}.{what}-{}-{nanos}-{n}", std::process::id()));
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(path),
            Err(e) => return Err(io(&path, e)),
            Ok(_) => {}
        }
    }
    Err(io(out, "no free temporary name"))
}

/// Moves the finished `tmp` to `dir`: an existing `dir` (already checked to be ours) is
/// renamed aside first and checked again there ([`check_layout`]: renamed back and refused
/// if something foreign appeared since the first check), and removed only once `tmp` is in
/// place (renamed back on failure). Runs under the lock of [`interrupt`].
fn replace(tmp: &Path, dir: &Path, out: &Path, name: &str, layout: Layout) -> Result<()> {
    if std::fs::symlink_metadata(dir).is_err() {
        return std::fs::rename(tmp, dir).map_err(|e| io(dir, e));
    }
    let old = fresh_name(out, name, "old")?;
    std::fs::rename(dir, &old).map_err(|e| io(dir, e))?;
    if let Err(e) = check_layout(&old, layout) {
        let _ = std::fs::rename(&old, dir);
        // Named by its place, not by the name it had for a moment.
        return Err(check_layout(dir, layout).err().unwrap_or(e));
    }
    test_pause();
    if let Err(e) = std::fs::rename(tmp, dir) {
        let _ = std::fs::rename(&old, dir);
        return Err(io(dir, e));
    }
    std::fs::remove_dir_all(&old).map_err(|e| io(&old, e))
}

/// Writes `report.md`, `results.json` and the figures under `out/<scenario name>/`.
pub fn write(sc: &Scenario, res: &ScenarioResults, out: &Path) -> Result<Written> {
    let rows = summarize(sc, res);
    let dir = write_dir(out, &sc.file.name, |tmp| {
        let figures = write_figures(res, &rows, tmp)?;
        std::fs::write(tmp.join("report.md"), markdown(sc, res, &rows, &figures)).map_err(|e| io(tmp, e))?;
        let json = serde_json::to_string_pretty(&json(sc, res, &rows)).map_err(|e| io(tmp, e))?;
        std::fs::write(tmp.join("results.json"), json).map_err(|e| io(tmp, e))
    })?;
    Ok(Written { dir, rows })
}

/// Writes a shard's results under `out/<name>.shard-I-of-N/`: `shard.cbor` (the data the
/// merge reads) and a `results.json` that says what the shard is (no report, no figures:
/// those come from `unrollcheck merge`). Atomic, as [`write()`]; an existing directory of
/// that name is replaced only when it holds nothing but a shard's two files
/// ([`Layout::Shard`]).
pub fn write_shard(shard: &crate::scenario::shard::ShardFile, name: &str, out: &Path) -> Result<PathBuf> {
    let bytes = shard.to_bytes()?;
    let (lo, hi) = shard.shard.range(shard.total);
    let meta = serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "shard": {
            "scenario": name,
            "index": shard.shard.index,
            "count": shard.shard.count,
            "instances": [lo, hi],
            "total": shard.total,
            "seed": shard.seed,
            "quick": shard.quick,
            "version": shard.version,
        },
        "note": "results of one shard only: merge the shards with `unrollcheck merge` to get the report",
    });
    write_dir_as(out, &shard.shard.dir_name(name), Layout::Shard, None, |tmp| {
        std::fs::write(tmp.join(crate::scenario::shard::DATA_FILE), &bytes).map_err(|e| io(tmp, e))?;
        let json = serde_json::to_string_pretty(&meta).map_err(|e| io(tmp, e))?;
        std::fs::write(tmp.join("results.json"), json).map_err(|e| io(tmp, e))
    })
}

/// The figures: for the first instance of the first grid point of each family (and of each
/// family's heavy-ball in an adapted norm), its error curves and late-start curves; and the
/// margins of every claim.
fn write_figures(res: &ScenarioResults, rows: &[ClaimSummary], dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut seen = Vec::new();
    for inst in &res.instances {
        let Some(fig) = &inst.figure else { continue };
        let mut family = serde_json::to_value(inst.spec.family).ok().map(|v| family_label(&v)).unwrap_or_default();
        if inst.adapted.is_some() {
            // Heavy-ball in the adapted norm: its own figures (the errors are in ‖P⁻¹z‖).
            family.push_str("_adapted");
        }
        if seen.contains(&family) {
            continue;
        }
        seen.push(family.clone());
        let norm = match (inst.adapted, inst.spec.method) {
            (Some(a), crate::spec::Method::HeavyBall { beta }) => {
                format!(", heavy-ball β = {beta} in ‖P⁻¹z‖ (cond(P) = {:.1})", a.cond_p)
            }
            _ => String::new(),
        };
        let title = format!("{family}{norm}, point {}, seed {}", inst.point, inst.spec.seed);
        let curves = format!("figures/curves_{family}.svg");
        figures::error_curves(&dir.join(&curves), &title, &fig.curves, &fig.bound8, &fig.bound19)?;
        let late = format!("figures/late_start_{family}.svg");
        figures::late_start(&dir.join(&late), &title, &fig.curves.e, &fig.late)?;
        names.push(curves);
        names.push(late);
    }
    names.extend(write_polynomial_figures(res, dir)?);
    let margins: Vec<(String, Vec<f64>)> =
        rows.iter().filter(|r| r.role == Role::Paper).map(|r| (r.claim.clone(), margins_of(res, r))).collect();
    let title = "smallest margin per instance (at 1e-16: equal within rounding; crosses: violations)";
    figures::margins(&dir.join("figures/margins.svg"), title, &margins)?;
    names.push("figures/margins.svg".to_string());
    Ok(names)
}

/// The residual-polynomial figures: for the first grid point of each method and step rule
/// (on a family where `H` commutes with `∂H`, when there is one), `|P_t − λP_t'|` and `|P_t'|`.
fn write_polynomial_figures(res: &ScenarioResults, dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut seen = Vec::new();
    let candidates = res.instances.iter().filter_map(|i| Some((i, i.figure.as_ref()?.quadratic.as_ref()?)));
    let (commuting, other): (Vec<_>, Vec<_>) = candidates.partition(|(_, q)| q.commutator < 1e-12);
    for (inst, q) in commuting.into_iter().chain(other) {
        let key = method_step_label(&inst.spec);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key.clone());
        let family = serde_json::to_value(inst.spec.family).ok().map(|v| family_label(&v)).unwrap_or_default();
        let title = format!("{}, step {}, {family}, seed {}", key.0, key.1, inst.spec.seed);
        for (what, curves, label) in
            [("jacobian_factor", &q.jacobian_factor, "|P_t(λ) − λP_t'(λ)|"), ("derivative", &q.derivative, "|P_t'(λ)|")]
        {
            let name = format!("figures/poly_{what}_{}_{}.svg", key.0, key.1);
            figures::polynomial_curves(&dir.join(&name), &title, &q.lambdas, curves, &q.eigenvalues, label)?;
            names.push(name);
        }
    }
    Ok(names)
}

fn family_label(v: &serde_json::Value) -> String {
    let fam = v.get("family").and_then(|f| f.as_str()).unwrap_or("family");
    match v.get("param").and_then(|p| p.as_str()) {
        Some(p) => format!("{fam}_{p}"),
        None => fam.to_string(),
    }
}

fn margins_of(res: &ScenarioResults, row: &ClaimSummary) -> Vec<f64> {
    res.instances
        .iter()
        .flat_map(|i| i.rows.iter().filter(|r| r.claim == row.claim && r.variant == row.variant))
        .filter_map(|r| match &r.verdict {
            // A margin at or below 0 that still holds is an equality within the tolerance:
            // drawn at the rounding level, not as a violation.
            Verdict::Holds { informative: false, .. } => None,
            Verdict::Holds { margin, .. } => Some(margin.max(f64::EPSILON)),
            Verdict::Violated(_) => Some(f64::NEG_INFINITY),
            Verdict::NotApplicable { .. } | Verdict::NumericalFailure { .. } => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reports committed under `reports/` were written by this tool: each passes the
    /// rule of its [`Layout`], so `verify` and `reproduce` replace them (the control of the
    /// refusals in `tests/safety.rs`).
    #[test]
    fn the_committed_reports_are_recognised_as_the_tools() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports");
        let mut checked = 0;
        for entry in std::fs::read_dir(&root).unwrap() {
            let dir = entry.unwrap().path();
            if dir.join("results.json").is_file() {
                check_layout(&dir, Layout::Report).unwrap();
                checked += 1;
            }
        }
        assert!(checked >= 8, "only {checked} committed reports found under {}", root.display());
        let repro = root.join("reproduction");
        check_layout(&repro.join("fig2"), Layout::Reproduction { title: fig2::TITLE }).unwrap();
        check_layout(&repro.join("appendix_c"), Layout::Reproduction { title: appendix_c::TITLE }).unwrap();
        // Negative control: the same directories under the other rules are not accepted.
        let err = check_layout(&repro.join("fig2"), Layout::Reproduction { title: appendix_c::TITLE }).unwrap_err();
        assert!(err.to_string().contains("no `report.md` starting with"), "{err}");
        let err = check_layout(&root.join("paper"), Layout::Shard).unwrap_err();
        assert!(err.to_string().contains("`figures` is a directory unrollcheck does not write there"), "{err}");
    }

    #[test]
    fn link_targets_are_the_text_between_bracket_paren_and_paren() {
        let md = "- [figures/a.svg](figures/a.svg)\n![x](b.svg) text ](c) [no link] (d)";
        assert_eq!(link_targets(md), ["figures/a.svg", "b.svg", "c"]);
    }
}
