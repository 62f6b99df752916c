//! The truncation objective (22), its convexity (Lemma 11, proof A.5) and its discrete
//! minimiser (Remark 12).
//!
//! `h(T) = ρ^{K−T} ė_0 + (K−T) ρ^{K+ωT−1} Γ e_0`, written in A.5 as
//! `h(T) = A e^{δT} + B (K−T) e^{−ωδT}` with `A = ρ^K ė_0`, `B = ρ^{K−1}Γe_0`, `δ = −ln ρ`, and
//! `h'(T) = Aδe^{δT} + Be^{−ωδT}(−1 − ωδ(K−T))`,
//! `h''(T) = Aδ²e^{δT} + Bωδe^{−ωδT}(2 + ωδ(K−T))`.
//!
//! - `eq22.objective`: (22) equals (21) at `k = K−T`, `T' = T + ωT`, and the relaxed form;
//! - `lem11.convex`: `h` is convex on `[0, K]` (second differences of `h` itself, not the
//!   printed `h''`), strictly where the lemma says so;
//! - `lem11.derivatives`: the printed `h'`, `h''` equal the derivatives of `h` computed by
//!   dual numbers (num-dual) and by symbolic differentiation (exmex);
//! - both are a *numerical failure* where `A` or `B` underflows
//!   ([`Truncation::underflow`]: positive, but below the smallest normal `f64`, as when
//!   `ρ^K < 2.2e-308` for a tiny `ρ`), where the printed `h''` to be strictly positive is
//!   itself below it, or where the tolerance of `lem11.derivatives` is: an underflowed
//!   quantity has lost its relative precision, so its sign or size is rounding, never a
//!   witness;
//! - `rem12.discrete`: the integer minimiser of (22) is the floor or ceiling of the
//!   relaxed minimiser (its control, `⌈T*⌉ + 2`, is *not applicable* where that point lies
//!   beyond `K`);
//! - `eq22.objective` and `rem12.discrete` (every variant, the controls included) are a
//!   numerical failure where underflow can decide them. `A` or `B` underflowing is one, as
//!   above. A term of (22), (21) or the relaxed form that underflows at a checked `T`
//!   (`(K−T)ρ^{K+ωT−1}Γe_0` with `ρ^{K+ωT−1} < 2.2e-308`, as for `ρ ≈ 1e-15` and `K = 10`,
//!   or one of its partial products, in the order the formula multiplies them) is off by at
//!   most `η = 2·f64::MIN_POSITIVE·max(1, R)`, `R` the product of its remaining factors: a
//!   comparison `|d| ≤ τ` is evidence only where `|d| + η ≤ τ` or `|d| − η > τ` (the sum of
//!   the `η` of its terms), and the integer minimiser `T_int` of `rem12.discrete` only where
//!   every `T` with an underflowed term (or every `T`, when `T_int` has one) lies above it by
//!   more than `η_T + η_{T_int} + τ`. A tolerance below the smallest normal `f64` stands for
//!   any value in `[0, f64::MIN_POSITIVE]` (in `rem12.discrete`, a failure), and a term of the
//!   printed `h'` that underflows at the relaxed minimiser, both being positive, is a failure. A term
//!   that is exactly 0 (`ė_0 = 0`, `K − T = 0`, `Γe_0 = 0`) is no underflow. Otherwise `0 = 0`
//!   of two underflowed sides reads *holds*, and a control *not caught*, from rounding alone;
//!   where the normal terms dominate (a first term `ρ^{K−T}ė_0` far above the underflowed
//!   curse term) the verdict stands.

use super::{Assumption, Case, Checker, Claim, Config, Kind, PAPER, Point, Role, VariantInfo, Verdict};
use crate::bounds::{Truncation, rhs_21, rhs_21_terms, symbolic_h_derivatives};
use crate::linalg::spectral_norm;
use crate::tol::ToleranceModel;
use num_dual::second_derivative;

fn from_case(case: &Case, cfg: &Config) -> Truncation {
    let c = &case.inst.constants;
    Truncation {
        rho: c.rho(),
        edot0: spectral_norm(&(&case.inst.dx0 - &case.inst.dx_star)),
        gamma: c.gamma.value,
        e0: case.inst.e0(),
        k: case.k as f64,
        omega: cfg.omega,
    }
}

fn rho_open(h: &Truncation) -> Option<Verdict> {
    (!(h.rho > 0.0 && h.rho < 1.0)).then(|| Verdict::NotApplicable {
        assumption: "ρ ∈ (0,1)",
        reason: format!("ρ = {}", h.rho),
        observed: None,
    })
}

const REQUIRES: &[Assumption] = &[Assumption::Contraction, Assumption::Smoothness];

/// `eq22.objective`.
pub const OBJECTIVE: Claim = Claim {
    id: "eq22.objective",
    equation: "(22)",
    statement: "h(T) = ρ^{K−T} ė_0 + (K−T) ρ^{K+ωT−1} Γ e_0 is (21) at k = K−T, T' = T+ωT, and equals Ae^{δT} + B(K−T)e^{−ωδT}",
    kind: Kind::Identity,
    requires: REQUIRES,
    variants: &[
        PAPER,
        VariantInfo {
            name: "t_prime_equals_t",
            role: Role::Control,
            description: "(21) evaluated at T' = T instead of T + ωT",
        },
    ],
    run: |case, cfg, v| objective(&from_case(case, cfg), &cfg.tol, v, case.spec),
};

/// Checks `eq22.objective` for the constants `h`.
pub fn objective(h: &Truncation, tol: &ToleranceModel, variant: &str, spec: Option<crate::spec::Spec>) -> Verdict {
    if let Some(v) = rho_open(h) {
        return v;
    }
    let mut ch = Checker::new(OBJECTIVE.id, variant, spec);
    // The relaxed form is built from A and B.
    if let Some(cause) = h.underflow() {
        ch.fail(Point { k: 0, t: None }, cause);
        return ch.verdict();
    }
    for t in 0..=h.k as usize {
        let t = t as f64;
        let tp = if variant == "t_prime_equals_t" { t } else { t + h.omega * t };
        let point = Point { k: t as usize, t: None };
        let tau = h.tol(tol, t);
        let v22 = h.h22(t);
        let v21 = rhs_21(h.k - t, tp, h.rho, h.edot0, h.gamma, h.e0);
        let relaxed = h.relaxed(t);
        // A term that underflowed is off by up to its bound η: the comparison is evidence
        // only where no value within η decides it otherwise (in a control, neither a catch
        // nor a miss from rounding alone).
        let lost_22: Vec<Lost> = terms_22(h, t).iter().filter_map(Term::lost).collect();
        let lost_21: Vec<Lost> = terms_21(h, t, tp).iter().filter_map(Term::lost).collect();
        let lost_relaxed: Vec<Lost> = terms_relaxed(h, t).iter().filter_map(Term::lost).collect();
        for (diff, lost, what) in [
            (v22 - v21, [&lost_22, &lost_21], "(22) = (21)"),
            (v22 - relaxed, [&lost_22, &lost_relaxed], "(22) = the relaxed h"),
        ] {
            match undecided(diff, tau, lost.into_iter().flatten()) {
                None => ch.equal(point, diff, tau),
                // The underflowed term first: it is what makes the tolerance subnormal too.
                Some(Some(cause)) => ch.fail(point, cause.message(t, what)),
                Some(None) => ch.fail(point, underflowed("the rounding tolerance of (22)", tau, t)),
            }
        }
    }
    ch.verdict()
}

/// A term that underflowed: the first partial product below the smallest normal `f64`, and
/// `η`, a bound on the error of the term it makes.
struct Lost {
    /// The partial product, named by its factors, and the term.
    name: String,
    /// Its computed value.
    value: f64,
    /// `η = 2·f64::MIN_POSITIVE·max(1, R)`, `R` the product of the remaining factors: the
    /// partial product is below `f64::MIN_POSITIVE` computed and (to rounding) exact, both
    /// `≥ 0`, so they differ by less than `f64::MIN_POSITIVE`, which the remaining factors
    /// scale to `f64::MIN_POSITIVE·R` (to relative rounding); the second `f64::MIN_POSITIVE`
    /// bounds that rounding and the absolute `2^-1074` of each later product that may
    /// underflow again (at most four factors: `4·2^-1074 ≪ f64::MIN_POSITIVE = 2^-1022`).
    eta: f64,
}

impl Lost {
    /// The cause of a numerical failure at `T = t` for the comparison `what` it decides.
    fn message(&self, t: f64, what: &str) -> String {
        format!(
            "{}; its error, up to η = {:.3e}, decides the comparison {what}",
            underflowed(&self.name, self.value, t),
            self.eta
        )
    }
}

/// `Some` when the equality `|diff| ≤ τ` could read otherwise for the exact terms and
/// tolerance, naming the first term that underflowed (`None` inside: the tolerance alone).
/// With `η` the sum of the bounds of the terms that underflowed and `[τ_lo, τ_hi]` the range
/// of the exact tolerance (`τ` itself when it is a normal `f64`; `[0, f64::MIN_POSITIVE]`
/// when it is subnormal, its relative precision lost), the comparison is decided where
/// `|diff| + η ≤ τ_lo` (holds) or `|diff| − η > τ_hi` (violated): `None`, and `|diff| ≤ τ`
/// reads the same. A NaN or an infinity is left to the checker (a numerical failure naming it).
fn undecided<'a>(diff: f64, tau: f64, lost: impl Iterator<Item = &'a Lost>) -> Option<Option<&'a Lost>> {
    if !(diff.is_finite() && tau.is_finite()) {
        return None;
    }
    let lost: Vec<&Lost> = lost.collect();
    let eta: f64 = lost.iter().map(|l| l.eta).sum();
    let (lo, hi) = if tau > 0.0 && tau < f64::MIN_POSITIVE { (0.0, f64::MIN_POSITIVE) } else { (tau, tau) };
    let decided = diff.abs() + eta <= lo || diff.abs() - eta > hi;
    (!decided).then(|| lost.first().copied())
}

/// A term of a formula of this module, positive in exact arithmetic or exactly 0, as the
/// product of its factors, which the formula multiplies left to right.
struct Term {
    /// The term as printed, with the formula it belongs to.
    name: String,
    /// `false` when the term is exactly 0 (a factor such as `ė_0`, `K − T` or `Γe_0` is 0).
    positive: bool,
    /// The factors in the order the formula multiplies them, each with its name.
    factors: Vec<(&'static str, f64)>,
}

impl Term {
    /// The first partial product of the term (a positive number in exact arithmetic) below
    /// the smallest normal `f64`, with the error bound of the term ([`Lost`]); `None` when
    /// every partial product is a normal `f64` or the term is exactly 0.
    fn lost(&self) -> Option<Lost> {
        if !self.positive {
            return None;
        }
        let mut p = 1.0;
        for (i, (_, f)) in self.factors.iter().enumerate() {
            p *= f;
            if p < f64::MIN_POSITIVE {
                let rest: f64 = self.factors[i + 1..].iter().map(|(_, f)| f.abs()).product();
                let name = if i + 1 == self.factors.len() {
                    self.name.clone()
                } else {
                    let partial: String = self.factors[..=i].iter().map(|(n, _)| *n).collect();
                    format!("the partial product {partial} of {}", self.name)
                };
                return Some(Lost { name, value: p, eta: 2.0 * f64::MIN_POSITIVE * rest.max(1.0) });
            }
        }
        None
    }
}

/// The terms of (22) at `T = t`, the factors [`Truncation::h22`] multiplies.
fn terms_22(h: &Truncation, t: f64) -> [Term; 2] {
    let (first, curse) = h.h22_terms(t);
    [
        Term { name: "the term ρ^{K−T}ė_0 of (22)".into(), positive: h.edot0 > 0.0, factors: first.to_vec() },
        Term {
            name: "the term (K−T)ρ^{K+ωT−1}Γe_0 of (22)".into(),
            positive: h.k - t > 0.0 && h.gamma > 0.0 && h.e0 > 0.0,
            factors: curse.to_vec(),
        },
    ]
}

/// The terms of (21) at `k = K − t` and `T' = t_prime`, the factors [`rhs_21`] multiplies.
fn terms_21(h: &Truncation, t: f64, t_prime: f64) -> [Term; 2] {
    let k = h.k - t;
    let (first, curse) = rhs_21_terms(k, t_prime, h.rho, h.edot0, h.gamma, h.e0);
    [
        Term {
            name: format!("the term ρ^kė_0 of (21) at k = {k}"), positive: h.edot0 > 0.0, factors: first.to_vec()
        },
        Term {
            name: format!("the term kρ^{{k+T'−1}}Γe_0 of (21) at k = {k}, T' = {t_prime}"),
            positive: k > 0.0 && h.gamma > 0.0 && h.e0 > 0.0,
            factors: curse.to_vec(),
        },
    ]
}

/// The terms of the relaxed form `Ae^{δT} + B(K−T)e^{−ωδT}` at `T = t`, as
/// [`Truncation::relaxed`] computes them (`A`, `B` themselves are checked by
/// [`Truncation::underflow`]).
fn terms_relaxed(h: &Truncation, t: f64) -> [Term; 2] {
    let d = h.delta();
    [
        Term {
            name: "the term Ae^{δT} of the relaxed h".into(),
            positive: h.edot0 > 0.0,
            factors: vec![("e^{δT}", (t * d).exp()), ("A", h.a())],
        },
        Term {
            name: "the term B(K−T)e^{−ωδT} of the relaxed h".into(),
            positive: h.k - t > 0.0 && h.gamma > 0.0 && h.e0 > 0.0,
            factors: vec![("(K−T)", h.k - t), ("e^{−ωδT}", (t * (-h.omega * d)).exp()), ("B", h.b())],
        },
    ]
}

/// `lem11.convex`.
pub const CONVEX: Claim = Claim {
    id: "lem11.convex",
    equation: "Lemma 11",
    statement: "for ρ ∈ (0,1), h relaxed to [0, K] is convex; strictly if ė_0 > 0, or e_0 > 0 and Γ > 0",
    kind: Kind::Inequality,
    requires: REQUIRES,
    variants: &[PAPER, VariantInfo { name: "concave", role: Role::Control, description: "h is concave (−h'' ≥ 0)" }],
    run: |case, cfg, v| convex(&from_case(case, cfg), &cfg.tol, v, case.spec),
};

/// Grid points on `[0, K]` for the relaxed checks.
const GRID: usize = 200;

/// Checks `lem11.convex`: second differences of `h` are `≥ −τ` on a grid, and the printed
/// `h''` is `> 0` where strict convexity is claimed.
pub fn convex(h: &Truncation, tol: &ToleranceModel, variant: &str, spec: Option<crate::spec::Spec>) -> Verdict {
    if let Some(v) = rho_open(h) {
        return v;
    }
    let sign = if variant == "concave" { -1.0 } else { 1.0 };
    let s = h.k / GRID as f64;
    let strict = h.edot0 > 0.0 || (h.e0 > 0.0 && h.gamma > 0.0);
    let mut ch = Checker::new(CONVEX.id, variant, spec);
    if let Some(cause) = h.underflow() {
        ch.fail(Point { k: 0, t: None }, cause);
        return ch.verdict();
    }
    for i in 1..GRID {
        let t = i as f64 * s;
        let second = h.relaxed(t - s) - 2.0 * h.relaxed(t) + h.relaxed(t + s);
        let point = Point { k: i, t: None };
        ch.leq(point, 0.0, sign * second, 4.0 * h.tol(tol, t));
        if strict {
            // Strictly positive: h'' > 0 (the printed formula, checked against dual numbers
            // by lem11.derivatives), as a normal f64. Below the smallest normal f64 the
            // value is underflow, whose sign proves nothing either way.
            let d2 = h.d2_printed(t);
            // Its terms Aδ²e^{δT} and Bωδe^{−ωδT}(2 + ωδ(K−T)) are positive for A > 0, or
            // B > 0 and ω > 0 (A, B themselves normal: checked above).
            let positive = h.a() > 0.0 || (h.b() > 0.0 && h.omega > 0.0);
            if positive && d2.abs() < f64::MIN_POSITIVE {
                ch.fail(point, underflowed("h''(T)", d2, t));
            } else {
                ch.leq(point, 0.0, sign * d2 - f64::MIN_POSITIVE, 0.0);
            }
        }
    }
    ch.verdict()
}

/// The cause of a numerical failure: `what` at `T = t` is `value`, below the smallest
/// normal `f64`.
fn underflowed(what: &str, value: f64, t: f64) -> String {
    format!(
        "{what} = {value:e} at T = {t} underflows below the smallest normal f64 ({:e}): its relative precision is lost",
        f64::MIN_POSITIVE
    )
}

/// `lem11.derivatives`.
pub const DERIVATIVES: Claim = Claim {
    id: "lem11.derivatives",
    equation: "proof A.5",
    statement: "the printed h' and h'' (A = ρ^K ė_0, B = ρ^{K−1}Γe_0, δ = −ln ρ) are the derivatives of h",
    kind: Kind::Identity,
    requires: REQUIRES,
    variants: &[
        PAPER,
        VariantInfo {
            name: "sign_flip",
            role: Role::Control,
            description: "h' with (1 − ωδ(K−T)) in place of (−1 − ωδ(K−T))",
        },
    ],
    run: |case, cfg, v| derivatives(&from_case(case, cfg), &cfg.tol, v, case.spec),
};

/// Checks `lem11.derivatives` against num-dual's second-order dual numbers and against
/// exmex's symbolic derivatives of `h` ([`crate::bounds::symbolic_h_derivatives`]).
pub fn derivatives(h: &Truncation, tol: &ToleranceModel, variant: &str, spec: Option<crate::spec::Spec>) -> Verdict {
    if let Some(v) = rho_open(h) {
        return v;
    }
    let sym = symbolic_h_derivatives(h).ok();
    let mut ch = Checker::new(DERIVATIVES.id, variant, spec);
    if let Some(cause) = h.underflow() {
        ch.fail(Point { k: 0, t: None }, cause);
        return ch.verdict();
    }
    for i in 0..=GRID {
        let t = i as f64 * h.k / GRID as f64;
        let point = Point { k: i, t: None };
        // A tolerance below the smallest normal f64 has lost its relative precision (the
        // spacing of subnormals is 4.9e-324 whatever the value): the identity cannot be
        // resolved there.
        let tau = h.tol(tol, t);
        if tau > 0.0 && tau < f64::MIN_POSITIVE {
            ch.fail(point, underflowed("the rounding tolerance of h', h''", tau, t));
            continue;
        }
        let (_, d1, d2) = second_derivative(|x| h.relaxed(x), t);
        let mut p1 = h.d1_printed(t);
        if variant == "sign_flip" {
            // (1 − ωδ(K−T)) instead of (−1 − ωδ(K−T)): adds 2B e^{−ωδT}.
            p1 += 2.0 * h.b() * (-h.omega * h.delta() * t).exp();
        }
        ch.equal(point, p1 - d1, h.tol(tol, t));
        ch.equal(point, h.d2_printed(t) - d2, h.tol(tol, t));
        // Symbolic: NaN (reported violated) if exmex could not build the derivatives.
        let (s1, s2) = sym.as_ref().map_or((f64::NAN, f64::NAN), |s| (s.d1(t), s.d2(t)));
        ch.equal(point, p1 - s1, h.tol(tol, t));
        ch.equal(point, h.d2_printed(t) - s2, h.tol(tol, t));
    }
    ch.verdict()
}

/// `rem12.discrete`.
pub const DISCRETE: Claim = Claim {
    id: "rem12.discrete",
    equation: "Rem. 12",
    statement: "the integer minimiser of (22) is the floor or the ceiling of the relaxed minimiser",
    kind: Kind::Equality,
    requires: REQUIRES,
    variants: &[
        PAPER,
        VariantInfo {
            name: "shift_two",
            role: Role::Control,
            description: "the integer minimiser is two more than the ceiling (a planted off-by-two)",
        },
    ],
    run: |case, cfg, v| discrete(&from_case(case, cfg), &cfg.tol, v, case.spec),
};

/// Checks `rem12.discrete`: the integer minimiser is `⌊T*⌋` or `⌈T*⌉`, or ties with them
/// to rounding. The control `shift_two` predicts `⌈T*⌉ + 2`; it is *not applicable*
/// (naming `⌈T*⌉ + 2 ≤ K`) when that point lies beyond `K`, where (22) is not defined
/// (e.g. `T* = K`: every step truncated is best, as when `ė_0 = 0`).
pub fn discrete(h: &Truncation, tol: &ToleranceModel, variant: &str, spec: Option<crate::spec::Spec>) -> Verdict {
    if let Some(v) = rho_open(h) {
        return v;
    }
    if let Some(cause) = discrete_underflow(h, tol) {
        let mut ch = Checker::new(DISCRETE.id, variant, spec);
        ch.fail(cause.0, cause.1);
        return ch.verdict();
    }
    let t_star = h.relaxed_argmin();
    let t_int = h.integer_argmin();
    let (lo, hi) = (t_star.floor(), t_star.ceil().min(h.k));
    let predicted = if variant == "shift_two" {
        // (22) is defined on 0..=K only: past K the planted off-by-two names no integer to
        // compare with, and the control says nothing on this instance.
        if hi + 2.0 > h.k {
            return Verdict::NotApplicable {
                assumption: "⌈T*⌉ + 2 ≤ K",
                reason: format!(
                    "the shifted minimiser ⌈T*⌉ + 2 = {} lies beyond K = {} (T* = {t_star:.6e}): (22) is defined on 0..=K only",
                    hi + 2.0,
                    h.k
                ),
                observed: None,
            };
        }
        [hi + 2.0, hi + 2.0]
    } else {
        // 0 ≤ ⌊T*⌋ ≤ ⌈T*⌉ ∧ K ≤ K, since T* ∈ [0, K].
        [lo, hi]
    };
    let mut ch = Checker::new(DISCRETE.id, variant, spec);
    let best = h.h22(predicted[0]).min(h.h22(predicted[1]));
    let point = Point { k: t_int, t: None };
    if predicted.contains(&(t_int as f64)) {
        ch.equal(point, 0.0, 0.0);
    } else {
        // A different integer is fine only when it ties with the predicted one to rounding.
        ch.leq(point, best, h.h22(t_int as f64), h.tol(tol, t_int as f64));
    }
    ch.verdict()
}

/// The first quantity of `rem12.discrete` whose underflow can decide its verdict, with its
/// point: `A` or `B` ([`Truncation::underflow`]); a term of the printed `h'` at the relaxed
/// minimiser `T*` (where the bisection decides its sign); the tolerance at the integer
/// minimiser `T_int`; a term of (22) at an integer `T` whose error bound `η_T` ([`Lost`])
/// lets `T` compete with `T_int`: the verdict (the minimiser, and a tie to rounding with the
/// predicted points) is the exact terms' wherever every `T ≠ T_int` with `η_T + η_{T_int} > 0`
/// has `h(T) − η_T > h(T_int) + η_{T_int} + τ`.
fn discrete_underflow(h: &Truncation, tol: &ToleranceModel) -> Option<(Point, String)> {
    if let Some(cause) = h.underflow() {
        return Some((Point { k: 0, t: None }, cause));
    }
    let t_star = h.relaxed_argmin();
    let (a, b, d, w) = (h.a(), h.b(), h.delta(), h.omega);
    let terms_d1 = [
        Term {
            name: "the term Aδe^{δT} of h' at the relaxed minimiser".into(),
            positive: h.edot0 > 0.0,
            factors: vec![("A", a), ("δ", d), ("e^{δT}", (d * t_star).exp())],
        },
        Term {
            name: "the term Be^{−ωδT}(1 + ωδ(K−T)) of h' at the relaxed minimiser".into(),
            positive: h.gamma > 0.0 && h.e0 > 0.0,
            factors: vec![
                ("B", b),
                ("e^{−ωδT}", (-w * d * t_star).exp()),
                ("(1 + ωδ(K−T))", 1.0 + w * d * (h.k - t_star)),
            ],
        },
    ];
    // With one term exactly 0 the sign of h' is the other's on all of [0, K] (T* = 0 or K),
    // whatever its value: only two positive terms can be decided by underflow.
    if terms_d1.iter().all(|t| t.positive)
        && let Some(lost) = terms_d1.iter().find_map(Term::lost)
    {
        return Some((Point { k: t_star.floor() as usize, t: None }, underflowed(&lost.name, lost.value, t_star)));
    }
    let t_int = h.integer_argmin();
    let tau = h.tol(tol, t_int as f64);
    if tau > 0.0 && tau < f64::MIN_POSITIVE {
        return Some((Point { k: t_int, t: None }, underflowed("the rounding tolerance of (22)", tau, t_int as f64)));
    }
    let lost = |t: usize| terms_22(h, t as f64).iter().filter_map(Term::lost).collect::<Vec<Lost>>();
    let eta = |l: &[Lost]| l.iter().map(|l| l.eta).sum::<f64>();
    let at_int = lost(t_int);
    let (v_int, eta_int) = (h.h22(t_int as f64), eta(&at_int));
    for t in (0..=h.k as usize).filter(|&t| t != t_int) {
        let at_t = lost(t);
        let eta_t = eta(&at_t);
        if eta_t + eta_int > 0.0 && h.h22(t as f64) - eta_t <= v_int + eta_int + tau {
            let (first, at) = if eta_t > 0.0 { (&at_t[0], t) } else { (&at_int[0], t_int) };
            let cause = format!(
                "{}; its error, up to η = {:.3e}, lets T = {t} compete with the integer minimiser T = {t_int}",
                underflowed(&first.name, first.value, at as f64),
                first.eta
            );
            return Some((Point { k: at, t: None }, cause));
        }
    }
    None
}
