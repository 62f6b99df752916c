//! Verdicts, witnesses and the accumulator that turns per-iteration comparisons into a
//! verdict.

use crate::spec::Spec;
use serde::Serialize;

/// Where a comparison was made: iteration `k` and, for truncated runs, the late-start
/// index `T'` (or the horizon `K` for claims indexed by it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Point {
    /// Iteration index.
    pub k: usize,
    /// Late-start index `T'` or horizon, when the claim has one.
    pub t: Option<usize>,
}

/// Everything needed to replay a violation.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Witness {
    /// Claim id.
    pub claim: String,
    /// Variant name.
    pub variant: String,
    /// The instance's spec (seed included), when it came from one.
    pub spec: Option<Spec>,
    /// Where.
    pub point: Point,
    /// Left-hand side (for equalities: `|a − b|`).
    pub lhs: f64,
    /// Right-hand side (for equalities: 0).
    pub rhs: f64,
    /// The tolerance `τ` of the model.
    pub tol: f64,
    /// The relation that failed: `<=` (`lhs ≤ rhs + τ`), `>=` (`lhs ≥ rhs − τ`) or `==`
    /// (`|a − b| ≤ τ`, with `lhs = |a − b|`, `rhs = 0`).
    pub relation: Relation,
    /// `true` for a claim with no iteration index (the point is not shown).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub k_free: bool,
    /// Everything besides the spec that determines the check (horizon, `k_max`, `ω`, late
    /// starts, tolerance safety factor), set by [`crate::claims::check`]: with it,
    /// `unrollcheck replay` reproduces the verdict and the numbers exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setting: Option<Setting>,
    /// For a violated paper statement or holding reading: whether the violation survives
    /// the recomputation of the unrolling in double-double ([`crate::claims::certify`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification: Option<Certification>,
}

/// The double-double re-evaluation of a violation at its witness point
/// ([`crate::claims::certify`]).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Certification {
    /// The violation survives: the recomputed sides still violate the relation beyond the
    /// rounding of the recomputation (`tol`).
    Certified {
        /// The recomputed left-hand side.
        lhs: f64,
        /// The recomputed right-hand side.
        rhs: f64,
        /// The tolerance of the recomputation.
        tol: f64,
    },
    /// The recomputed sides satisfy the relation: the `f64` violation is rounding (and the
    /// tolerance model was too tight there).
    WithinRounding {
        /// The recomputed left-hand side.
        lhs: f64,
        /// The recomputed right-hand side.
        rhs: f64,
        /// The tolerance of the recomputation.
        tol: f64,
    },
    /// No recomputation was possible, and why.
    NotCertified {
        /// Why (e.g. the map is not affine in the state).
        reason: String,
    },
}

impl std::fmt::Display for Certification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Certification::Certified { lhs, rhs, tol } => write!(
                f,
                "certified: in double-double lhs = {lhs:.17e}, rhs = {rhs:.17e}, tol = {tol:.3e} (still violated)"
            ),
            Certification::WithinRounding { lhs, rhs, tol } => write!(
                f,
                "within rounding: in double-double lhs = {lhs:.17e}, rhs = {rhs:.17e}, tol = {tol:.3e} (holds; the f64 tolerance was too tight)"
            ),
            Certification::NotCertified { reason } => write!(f, "not certified: {reason}"),
        }
    }
}

/// The comparison recorded at a probed point: `(lhs, rhs, tol, relation)` of the worst one.
type Probed = (f64, f64, f64, Relation);

thread_local! {
    /// The point being probed on this thread and the worst comparison found there
    /// ([`probe`]). Claims run single-threaded, so every [`Checker`] a claim makes on this
    /// thread sees the probe.
    static PROBE: std::cell::RefCell<Option<(Point, Option<Probed>)>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` (a claim) while recording the comparisons its checkers make at `at`; returns
/// `f`'s result and the worst comparison there (largest excess `small − large − τ`), if any.
pub(crate) fn probe<R>(at: Point, f: impl FnOnce() -> R) -> (R, Option<Probed>) {
    PROBE.with(|p| *p.borrow_mut() = Some((at, None)));
    let out = f();
    let found = PROBE.with(|p| p.borrow_mut().take()).and_then(|(_, found)| found);
    (out, found)
}

/// `small − large − τ` of a comparison (positive: violated).
pub(crate) fn excess(lhs: f64, rhs: f64, tol: f64, relation: Relation) -> f64 {
    match relation {
        Relation::Leq | Relation::Eq => lhs - rhs - tol,
        Relation::Geq => rhs - lhs - tol,
    }
}

fn record_probe(point: Point, lhs: f64, rhs: f64, tol: f64, relation: Relation) {
    PROBE.with(|p| {
        if let Some((at, found)) = p.borrow_mut().as_mut()
            && *at == point
        {
            let worse = found.is_none_or(|(l, r, t, rel)| excess(lhs, rhs, tol, relation) > excess(l, r, t, rel));
            if worse {
                *found = Some((lhs, rhs, tol, relation));
            }
        }
    });
}

/// The relation of one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Relation {
    /// `lhs ≤ rhs + τ`.
    #[serde(rename = "<=")]
    Leq,
    /// `lhs ≥ rhs − τ`.
    #[serde(rename = ">=")]
    Geq,
    /// `|a − b| ≤ τ`.
    #[serde(rename = "==")]
    Eq,
}

/// What determines a check besides the instance's [`Spec`]: the chosen horizon `K` and the
/// claim configuration ([`crate::claims::Config`]) it was run with. Carried by witnesses
/// and printed in replay commands, so that a replay runs the same check.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    /// The horizon `K` the case chose (a replay that chooses another `K` is refused).
    #[serde(rename = "K")]
    pub k: usize,
    /// The largest horizon (after `--quick`, which caps it at 120).
    pub k_max: usize,
    /// `K` is the first iteration with `ρ^K ≤ target`.
    pub target: f64,
    /// Cost factor `ω` of Section 4.3.
    pub omega: f64,
    /// Late-start fractions of `K`.
    pub t_fractions: Vec<f64>,
    /// The tolerance model's safety factor.
    pub tolerance_safety: f64,
}

impl Witness {
    /// Where, in words: `at k = 3, T' = 1`, or nothing for a claim without an index.
    fn place(&self) -> String {
        if self.k_free {
            return String::new();
        }
        format!(" at k = {}{}", self.point.k, self.point.t.map(|t| format!(", T' = {t}")).unwrap_or_default())
    }
}

impl std::fmt::Display for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (claim, variant, place) = (&self.claim, &self.variant, self.place());
        match self.relation {
            Relation::Leq => write!(
                f,
                "{claim}[{variant}] violated{place}: lhs = {:.17e} > rhs + tol = {:.17e} + {:.3e}",
                self.lhs, self.rhs, self.tol
            )?,
            Relation::Geq => write!(
                f,
                "{claim}[{variant}] violated{place}: lhs = {:.17e} < rhs - tol = {:.17e} - {:.3e}",
                self.lhs, self.rhs, self.tol
            )?,
            Relation::Eq => write!(
                f,
                "{claim}[{variant}] violated{place}: |lhs - rhs| = {:.17e} > tol = {:.3e}",
                self.lhs, self.tol
            )?,
        }
        if let Some(c) = &self.certification {
            write!(f, " [{c}]")?;
        }
        if let Some(s) = &self.spec {
            write!(f, "; spec = {}", serde_json::to_string(s).unwrap_or_default())?;
        }
        Ok(())
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Every comparison held.
    Holds {
        /// How many comparisons were made.
        checked: usize,
        /// The smallest margin `(rhs − lhs)/|rhs|` (equalities: `(τ − |a−b|)/τ`) over the
        /// informative comparisons.
        margin: f64,
        /// Where the smallest margin occurred.
        at: Point,
        /// `false` when every comparison was at rounding level (both sides within the
        /// tolerance of 0, e.g. every error of a run started at `x_0 = x*`): the check held
        /// but says nothing, and `margin` is not evidence.
        #[serde(default = "true_", skip_serializing_if = "is_true")]
        informative: bool,
    },
    /// A comparison failed.
    Violated(Box<Witness>),
    /// A side or the tolerance was NaN or infinite, or a quantity of the check underflowed
    /// (below the smallest normal `f64`): no verdict about the claim can be drawn (never
    /// *holds*, never *violated*).
    NumericalFailure {
        /// What was not finite, with the numbers.
        cause: String,
        /// Where.
        at: Point,
    },
    /// An assumption failed on this instance.
    NotApplicable {
        /// Which (`A2.1`, `A2.2`).
        #[serde(deserialize_with = "interned")]
        assumption: Name,
        /// Why, with the numbers.
        reason: String,
        /// What the check observed anyway.
        observed: Option<Box<Verdict>>,
    },
}

fn is_true(b: &bool) -> bool {
    *b
}

fn true_() -> bool {
    true
}

/// A name fixed at compile time (an assumption, a calibration kind). Written through this
/// alias so that serde reads it with [`interned`] instead of borrowing from the input.
pub type Name = &'static str;

/// Reads a [`Name`] back from a shard file: each distinct string is leaked once and shared
/// (the names are a handful of assumption and kind names, so the memory is bounded).
pub fn interned<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let name = <String as serde::Deserialize>::deserialize(d)?;
    let mut names = NAMES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&known) = names.get(name.as_str()) {
        return Ok(known);
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    Ok(leaked)
}

impl Verdict {
    /// `true` for *holds*.
    pub fn holds(&self) -> bool {
        matches!(self, Verdict::Holds { .. })
    }
    /// `true` for *violated*.
    pub fn violated(&self) -> bool {
        matches!(self, Verdict::Violated(_))
    }
    /// `true` for *not applicable*.
    pub fn not_applicable(&self) -> bool {
        matches!(self, Verdict::NotApplicable { .. })
    }
    /// `true` for *numerical failure*.
    pub fn numerical_failure(&self) -> bool {
        matches!(self, Verdict::NumericalFailure { .. })
    }
    /// The witness of a violation.
    pub fn witness(&self) -> Option<&Witness> {
        match self {
            Verdict::Violated(w) => Some(w),
            _ => None,
        }
    }
    /// The witness of a violation, to complete.
    pub(crate) fn witness_mut(&mut self) -> Option<&mut Witness> {
        match self {
            Verdict::Violated(w) => Some(w),
            Verdict::NotApplicable { observed: Some(o), .. } => o.witness_mut(),
            _ => None,
        }
    }
    /// One word: `holds`, `violated`, `numerical failure`, `not applicable`.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Holds { .. } => "holds",
            Verdict::Violated(w) => match w.certification {
                Some(Certification::Certified { .. }) => "violated (certified)",
                Some(Certification::WithinRounding { .. }) => "violated (within rounding)",
                _ => "violated",
            },
            Verdict::NumericalFailure { .. } => "numerical failure",
            Verdict::NotApplicable { .. } => "not applicable",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Holds { checked, margin, at, informative } => {
                if !informative {
                    return write!(f, "holds, not informative ({checked} comparisons, every one at rounding level)");
                }
                write!(f, "holds ({checked} comparisons, smallest margin {margin:.3e} at k = {}", at.k)?;
                if let Some(t) = at.t {
                    write!(f, ", T' = {t}")?;
                }
                write!(f, ")")
            }
            Verdict::Violated(w) => write!(f, "{w}"),
            Verdict::NumericalFailure { cause, at } => {
                write!(f, "numerical failure at k = {}", at.k)?;
                if let Some(t) = at.t {
                    write!(f, ", T' = {t}")?;
                }
                write!(f, ": {cause} (no verdict about the claim)")
            }
            Verdict::NotApplicable { assumption, reason, observed } => {
                write!(f, "not applicable: {assumption} fails ({reason})")?;
                if let Some(o) = observed {
                    write!(f, "; observed anyway: {}", o.word())?;
                }
                Ok(())
            }
        }
    }
}

/// Accumulates comparisons `lhs ≤ rhs + tol` into a verdict.
///
/// - A NaN or an infinity on either side or in the tolerance makes the verdict a
///   *numerical failure* (it overrides any violation: a run that overflowed proves nothing);
///   so does a quantity the check finds not computable ([`Checker::fail`]: e.g. one that
///   underflowed below the smallest normal `f64`, which is rounding, never a witness).
/// - A comparison whose two sides both lie within the tolerance of 0 is at rounding level:
///   it is checked but its margin is not scored; when every comparison is such, the verdict
///   is *holds, not informative*.
#[derive(Debug, Clone)]
pub struct Checker {
    claim: &'static str,
    variant: String,
    spec: Option<Spec>,
    checked: usize,
    scored: usize,
    margin: f64,
    at: Point,
    violation: Option<Witness>,
    failure: Option<(String, Point)>,
    k_free: bool,
}

impl Checker {
    /// A fresh accumulator for `claim` in `variant` on the instance of `spec`.
    pub fn new(claim: &'static str, variant: &str, spec: Option<Spec>) -> Self {
        Checker {
            claim,
            variant: variant.to_string(),
            spec,
            checked: 0,
            scored: 0,
            margin: f64::INFINITY,
            at: Point { k: 0, t: None },
            violation: None,
            failure: None,
            k_free: false,
        }
    }

    /// Marks the claim as having no iteration index: witnesses do not name a `k`.
    pub fn k_free(mut self) -> Self {
        self.k_free = true;
        self
    }

    /// `false` (and records a numerical failure) when a value is NaN or infinite.
    fn finite(&mut self, point: Point, values: &[(&str, f64)]) -> bool {
        match values.iter().find(|(_, v)| !v.is_finite()) {
            None => true,
            Some((name, v)) => {
                if self.failure.is_none() {
                    let all: Vec<String> = values.iter().map(|(n, x)| format!("{n} = {x:e}")).collect();
                    self.failure = Some((format!("{name} is {v} ({})", all.join(", ")), point));
                }
                false
            }
        }
    }

    /// Records a numerical failure at `point` (the first one is kept): a quantity of the
    /// check could not be computed (e.g. it underflowed below the smallest normal `f64`,
    /// where its relative precision is lost), so no comparison involving it is evidence.
    /// Like a NaN, it overrides any violation.
    pub fn fail(&mut self, point: Point, cause: String) {
        self.checked += 1;
        if self.failure.is_none() {
            self.failure = Some((cause, point));
        }
    }

    fn score(&mut self, point: Point, margin: f64) {
        self.scored += 1;
        if margin < self.margin {
            self.margin = margin;
            self.at = point;
        }
    }

    fn compare(&mut self, point: Point, lhs: f64, rhs: f64, tol: f64, relation: Relation) {
        self.checked += 1;
        if !self.finite(point, &[("lhs", lhs), ("rhs", rhs), ("tol", tol)]) {
            return;
        }
        // `small ≤ large + τ`, oriented by the relation.
        record_probe(point, lhs, rhs, tol, relation);
        let (small, large) = if relation == Relation::Geq { (rhs, lhs) } else { (lhs, rhs) };
        if small > large + tol && self.violation.is_none() {
            self.violation = Some(self.witness(point, lhs, rhs, tol, relation));
        }
        if lhs.abs() <= tol && rhs.abs() <= tol {
            return; // rounding level: says nothing about the bound
        }
        let margin = if large != 0.0 {
            (large - small) / large.abs()
        } else if small <= 0.0 {
            0.0
        } else {
            -small / tol.max(f64::MIN_POSITIVE)
        };
        self.score(point, margin);
    }

    /// Records `lhs ≤ rhs + tol` at `point`; the first violation is kept.
    pub fn leq(&mut self, point: Point, lhs: f64, rhs: f64, tol: f64) {
        self.compare(point, lhs, rhs, tol, Relation::Leq);
    }

    /// Records `lhs ≥ rhs − tol` at `point` (the witness keeps the sides as written).
    pub fn geq(&mut self, point: Point, lhs: f64, rhs: f64, tol: f64) {
        self.compare(point, lhs, rhs, tol, Relation::Geq);
    }

    /// Records `lhs ≤ rhs + tol` at `point` without scoring its margin: for comparisons that
    /// are equalities by construction (a bound at `k = 0`, where it reads `e_0 ≤ e_0`), whose
    /// margin 0 says nothing about the bound.
    pub fn leq_unscored(&mut self, point: Point, lhs: f64, rhs: f64, tol: f64) {
        let (margin, at, scored) = (self.margin, self.at, self.scored);
        self.leq(point, lhs, rhs, tol);
        (self.margin, self.at, self.scored) = (margin, at, scored);
    }

    /// Records the equality `|diff| ≤ tol` at `point`; the margin is `(tol − |diff|)/tol`.
    pub fn equal(&mut self, point: Point, diff: f64, tol: f64) {
        self.checked += 1;
        if !self.finite(point, &[("|lhs - rhs|", diff), ("tol", tol)]) {
            return;
        }
        let d = diff.abs();
        record_probe(point, d, 0.0, tol, Relation::Eq);
        if d > tol && self.violation.is_none() {
            self.violation = Some(self.witness(point, d, 0.0, tol, Relation::Eq));
        }
        let margin = if tol > 0.0 {
            (tol - d) / tol
        } else if d == 0.0 {
            0.0
        } else {
            f64::NEG_INFINITY
        };
        self.score(point, margin);
    }

    /// Records the equality `|diff| ≤ tol` at `point` without scoring its margin: for
    /// equalities that hold by construction (two empty sweeps, both returning their start),
    /// whose margin says nothing about the claim. A violation is still recorded.
    pub fn equal_unscored(&mut self, point: Point, diff: f64, tol: f64) {
        let (margin, at, scored) = (self.margin, self.at, self.scored);
        self.equal(point, diff, tol);
        (self.margin, self.at, self.scored) = (margin, at, scored);
    }

    /// Records a yes/no fact (exact arithmetic): `lhs == rhs`.
    pub fn exact(&mut self, point: Point, lhs: f64, rhs: f64) {
        self.equal(point, lhs - rhs, 0.0);
    }

    fn witness(&self, point: Point, lhs: f64, rhs: f64, tol: f64, relation: Relation) -> Witness {
        Witness {
            claim: self.claim.to_string(),
            variant: self.variant.clone(),
            spec: self.spec,
            point,
            lhs,
            rhs,
            tol,
            relation,
            k_free: self.k_free,
            setting: None,
            certification: None,
        }
    }

    /// The verdict.
    pub fn verdict(self) -> Verdict {
        if let Some((cause, at)) = self.failure {
            return Verdict::NumericalFailure { cause, at };
        }
        match self.violation {
            Some(w) => Verdict::Violated(Box::new(w)),
            None if self.scored == 0 => {
                Verdict::Holds { checked: self.checked, margin: 1.0, at: Point { k: 0, t: None }, informative: false }
            }
            None => {
                Verdict::Holds { checked: self.checked, margin: self.margin.min(1.0), at: self.at, informative: true }
            }
        }
    }
}
