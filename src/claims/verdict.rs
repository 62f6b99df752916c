//! Verdicts, witnesses and the accumulator that turns per-iteration comparisons into a
//! verdict.

use crate::spec::Spec;
use serde::Serialize;

/// Where a comparison was made: iteration `k` and, for truncated runs, the late-start
/// index `T'` (or the horizon `K` for claims indexed by it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    /// Iteration index.
    pub k: usize,
    /// Late-start index `T'` or horizon, when the claim has one.
    pub t: Option<usize>,
}

/// Everything needed to replay a violation.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
}

impl std::fmt::Display for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}[{}] violated at k = {}{}: lhs = {:.17e} > rhs + tol = {:.17e} + {:.3e}",
            self.claim,
            self.variant,
            self.point.k,
            self.point.t.map(|t| format!(", T' = {t}")).unwrap_or_default(),
            self.lhs,
            self.rhs,
            self.tol
        )?;
        if let Some(s) = &self.spec {
            write!(f, "; spec = {}", serde_json::to_string(s).unwrap_or_default())?;
        }
        Ok(())
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Every comparison held.
    Holds {
        /// How many comparisons were made.
        checked: usize,
        /// The smallest margin `(rhs − lhs)/|rhs|` (equalities: `(τ − |a−b|)/τ`).
        margin: f64,
        /// Where the smallest margin occurred.
        at: Point,
    },
    /// A comparison failed.
    Violated(Box<Witness>),
    /// An assumption failed on this instance.
    NotApplicable {
        /// Which (`A2.1`, `A2.2`).
        assumption: &'static str,
        /// Why, with the numbers.
        reason: String,
        /// What the check observed anyway.
        observed: Option<Box<Verdict>>,
    },
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
    /// The witness of a violation.
    pub fn witness(&self) -> Option<&Witness> {
        match self {
            Verdict::Violated(w) => Some(w),
            _ => None,
        }
    }
    /// One word: `holds`, `violated`, `not applicable`.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Holds { .. } => "holds",
            Verdict::Violated(_) => "violated",
            Verdict::NotApplicable { .. } => "not applicable",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Holds { checked, margin, at } => {
                write!(f, "holds ({checked} comparisons, smallest margin {margin:.3e} at k = {}", at.k)?;
                if let Some(t) = at.t {
                    write!(f, ", T' = {t}")?;
                }
                write!(f, ")")
            }
            Verdict::Violated(w) => write!(f, "{w}"),
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
#[derive(Debug, Clone)]
pub struct Checker {
    claim: &'static str,
    variant: String,
    spec: Option<Spec>,
    checked: usize,
    margin: f64,
    at: Point,
    violation: Option<Witness>,
}

impl Checker {
    /// A fresh accumulator for `claim` in `variant` on the instance of `spec`.
    pub fn new(claim: &'static str, variant: &str, spec: Option<Spec>) -> Self {
        Checker {
            claim,
            variant: variant.to_string(),
            spec,
            checked: 0,
            margin: f64::INFINITY,
            at: Point { k: 0, t: None },
            violation: None,
        }
    }

    /// Records `lhs ≤ rhs + tol` at `point`; the first violation is kept. NaN on either
    /// side is a violation.
    pub fn leq(&mut self, point: Point, lhs: f64, rhs: f64, tol: f64) {
        self.checked += 1;
        let ok = lhs <= rhs + tol;
        if !ok && self.violation.is_none() {
            self.violation = Some(self.witness(point, lhs, rhs, tol));
        }
        let margin = if rhs != 0.0 {
            (rhs - lhs) / rhs.abs()
        } else if lhs <= 0.0 {
            0.0
        } else {
            -lhs / tol.max(f64::MIN_POSITIVE)
        };
        if margin < self.margin || margin.is_nan() {
            self.margin = margin;
            self.at = point;
        }
    }

    /// Records `lhs ≤ rhs + tol` at `point` without scoring its margin: for comparisons that
    /// are equalities by construction (a bound at `k = 0`, where it reads `e_0 ≤ e_0`), whose
    /// margin 0 says nothing about the bound.
    pub fn leq_unscored(&mut self, point: Point, lhs: f64, rhs: f64, tol: f64) {
        let (margin, at) = (self.margin, self.at);
        self.leq(point, lhs, rhs, tol);
        if self.violation.is_none() {
            (self.margin, self.at) = (margin, at);
        }
    }

    /// Records the equality `|diff| ≤ tol` at `point`; the margin is `(tol − |diff|)/tol`.
    pub fn equal(&mut self, point: Point, diff: f64, tol: f64) {
        self.checked += 1;
        let d = diff.abs();
        if (d.is_nan() || d > tol) && self.violation.is_none() {
            self.violation = Some(self.witness(point, d, 0.0, tol));
        }
        let margin = if tol > 0.0 {
            (tol - d) / tol
        } else if d == 0.0 {
            0.0
        } else {
            f64::NEG_INFINITY
        };
        if margin < self.margin || margin.is_nan() {
            self.margin = margin;
            self.at = point;
        }
    }

    /// Records a yes/no fact (exact arithmetic): `lhs == rhs`.
    pub fn exact(&mut self, point: Point, lhs: f64, rhs: f64) {
        self.equal(point, lhs - rhs, 0.0);
    }

    fn witness(&self, point: Point, lhs: f64, rhs: f64, tol: f64) -> Witness {
        Witness { claim: self.claim.to_string(), variant: self.variant.clone(), spec: self.spec, point, lhs, rhs, tol }
    }

    /// The verdict.
    pub fn verdict(self) -> Verdict {
        match self.violation {
            Some(w) => Verdict::Violated(Box::new(w)),
            None => Verdict::Holds { checked: self.checked, margin: self.margin.min(1.0), at: self.at },
        }
    }
}
