//! Every lemma and theorem as a check: one entry point, [`check`], used by the tests, the
//! scenario runner and the command line (the gate reuses the [`Checker`] on traces).
//!
//! A check runs one claim (by its stable id from `docs/claims-spec.md`) in one *variant* on one
//! [`Case`] and returns a [`Verdict`]:
//! - *holds*, with the smallest margin `(rhs − lhs)/|rhs|` over every iteration and where
//!   it occurred (for equalities `|a − b| ≤ τ`, the margin is the unused fraction of `τ`);
//! - *violated*, with a [`Witness`]: claim, variant, spec and seed, iteration, both sides
//!   and the tolerance — everything needed to replay;
//! - *not applicable*, naming the assumption (A2.1, A2.2) that failed on the instance and
//!   what happened anyway.
//!
//! Variants: `paper` is the statement; *controls* are deliberately false variants (e.g.
//! (19) without its curse term) that the same machinery must report violated; *readings*
//! are the two sides of a subtlety of `docs/claims-spec.md` (initial derivative, truncated output
//! index), each reported as what it is.
//!
//! One file per paper result: [`thm2`], [`rem1`], [`rem3`], [`lem4`], [`lem6`], [`thm7`],
//! [`thm8`], [`sec41`], [`sec43`], [`eq22`] (with Lemma 11 and Remark 12); the local
//! versions of (19) and (21) of Remarks 5(i) and 9(iii) in [`rem5`] and [`rem9`]; and the
//! quadratic theory of Scieur et al. (2022) in [`scieur`].

pub mod case;
pub mod certify;
pub mod eq22;
pub mod lem4;
pub mod lem6;
pub mod rem1;
pub mod rem3;
pub mod rem5;
pub mod rem9;
pub mod scieur;
pub mod sec41;
pub mod sec43;
pub mod thm2;
pub mod thm7;
pub mod thm8;
pub mod verdict;

pub use case::{Case, Config, LateStart, OMEGA_MAX, SettingError};
pub use verdict::{Certification, Checker, Point, Relation, Setting, Verdict, Witness};

use crate::error::{Error, Result};
use serde::Serialize;

/// [`Checker::leq`], or [`Checker::leq_unscored`] at `k = 0`, where a bound that starts
/// from its own left-hand side (`e_0 ≤ ρ⁰e_0`) holds with margin 0 by construction.
pub fn scored(k: usize) -> fn(&mut Checker, Point, f64, f64, f64) {
    if k == 0 { Checker::leq_unscored } else { Checker::leq }
}

/// What kind of statement a claim is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `lhs ≤ rhs`, possibly for every iteration.
    Inequality,
    /// Two computed quantities are equal (to rounding).
    Equality,
    /// Two formulas are the same function.
    Identity,
    /// A lemma about arbitrary sequences or constants.
    PureLemma,
    /// Integer arithmetic, checked exactly.
    ExactArithmetic,
    /// An asymptotic statement (a rate), read off the run at its last informative iterate.
    Asymptotic,
}

/// An assumption a claim relies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Assumption {
    /// A2.1: `A(·, u)` is a contraction in the Euclidean norm (`ρ < 1`).
    #[serde(rename = "A2.1")]
    Contraction,
    /// A2.2: `M_x`, `M_u`, `κ` finite.
    #[serde(rename = "A2.2")]
    Smoothness,
    /// The inner problem is a quadratic (`∇²f` does not depend on `x`: `M_x = 0`) and the
    /// method a polynomial method (gradient descent, heavy-ball, Chebyshev), Scieur et al. 2022.
    #[serde(rename = "quadratic")]
    Quadratic,
    /// `H(θ)` commutes with its derivative `∂_θH` (every coordinate), so that
    /// `∂[P_t(H)] = P_t'(H)∂H` (Scieur et al. 2022).
    #[serde(rename = "commuting")]
    Commuting,
    /// Strict complementarity of a proximal map's fixed point: no coordinate of the pre-prox
    /// point `z*` lies on a kink of the prox, `δ = min_i ||z*_i| − αλ₁| > 0`, so that
    /// `u ↦ x*(u)` is differentiable ([`crate::map::proximal`]). Holds trivially for the
    /// smooth maps.
    #[serde(rename = "strict complementarity")]
    StrictComplementarity,
}

impl Assumption {
    /// The paper's name.
    pub fn name(&self) -> &'static str {
        match self {
            Assumption::Contraction => "A2.1",
            Assumption::Smoothness => "A2.2",
            Assumption::Quadratic => "quadratic",
            Assumption::Commuting => "commuting",
            Assumption::StrictComplementarity => "strict complementarity",
        }
    }
}

/// The role of a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The paper's statement.
    Paper,
    /// A deliberately false variant: must be reported violated.
    Control,
    /// One reading of a subtlety; `expect_holds` says what the reading predicts.
    Reading {
        /// `true` when this reading is the consistent one.
        expect_holds: bool,
    },
}

/// One variant of a claim.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct VariantInfo {
    /// Its name (`paper`, `no_curse_term`, ...).
    pub name: &'static str,
    /// Paper statement, control or reading.
    pub role: Role,
    /// What it states.
    pub description: &'static str,
}

/// The paper's statement, the first variant of every claim.
pub const PAPER: VariantInfo = VariantInfo { name: "paper", role: Role::Paper, description: "as stated in the paper" };

/// The reading with the sharper constant `Γ♯ = M_x‖Dx*‖ + M_u` of the proof of Lemma 6
/// in place of `Γ` (shared by every bound that carries `Γ`).
pub const GAMMA_SHARP: VariantInfo = VariantInfo {
    name: "gamma_sharp",
    role: Role::Reading { expect_holds: true },
    description: "with Γ♯ = M_x‖Dx*‖ + M_u in place of Γ",
};

/// A claim of the catalogue.
#[derive(Clone, Copy)]
pub struct Claim {
    /// Stable id (`thm7.bound`).
    pub id: &'static str,
    /// Equation or result number (`(19)`).
    pub equation: &'static str,
    /// The statement, in the paper's notation.
    pub statement: &'static str,
    /// Its kind.
    pub kind: Kind,
    /// Assumptions it relies on (empty for pure algebra and AD identities).
    pub requires: &'static [Assumption],
    /// Its variants; the first is [`PAPER`].
    pub variants: &'static [VariantInfo],
    /// Runs one variant on a case (assumptions already established).
    pub run: fn(&Case, &Config, &str) -> Verdict,
}

impl Claim {
    /// The families it applies to, as prose for `unrollcheck list`.
    pub fn applies_to(&self) -> &'static str {
        if self.requires.contains(&Assumption::Commuting) {
            return "gradient descent, heavy-ball and Chebyshev on ridge with the weight or the targets as parameter; ridge data (H and ∂H do not commute), pseudo-Huber and Huber (not quadratic): not applicable";
        }
        if self.requires.contains(&Assumption::Quadratic) {
            return "gradient descent, heavy-ball and Chebyshev on ridge (every parameter); pseudo-Huber, Huber and the contraction layers: not applicable (not quadratic)";
        }
        match (self.requires.contains(&Assumption::Contraction), self.requires.contains(&Assumption::Smoothness)) {
            (false, _) => {
                "every family and method (gradient descent, heavy-ball, Chebyshev; ridge, pseudo-Huber, Huber; the contraction layers)"
            }
            (true, false) => {
                "gradient descent with a contractive step on ridge, pseudo-Huber and Huber, and the contraction layers; heavy-ball and Chebyshev: not applicable (A2.1 fails in the Euclidean norm; Chebyshev is time-varying)"
            }
            (true, true) => {
                "gradient descent with a contractive step on ridge and pseudo-Huber, and the contraction layers; heavy-ball, Chebyshev (A2.1) and classic Huber (A2.2): not applicable"
            }
        }
    }

    /// Looks up a variant by name.
    pub fn variant(&self, name: &str) -> Option<&'static VariantInfo> {
        self.variants.iter().find(|v| v.name == name)
    }
}

impl std::fmt::Debug for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim").field("id", &self.id).finish()
    }
}

/// Every claim of the covered kinds, in the paper's order.
pub fn all() -> &'static [Claim] {
    static ALL: std::sync::OnceLock<Vec<Claim>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        vec![
            rem1::JACOBIAN_BOUND,
            thm2::RATE,
            thm2::IMPLICIT,
            rem3::FWD_REV,
            lem4::UNROLLED,
            lem4::GEOMETRIC,
            thm7::RECURSION,
            lem6::DXSTAR_BOUND,
            lem6::GAMMA,
            thm7::BOUND,
            thm7::LINEAR,
            rem5::LOCAL,
            thm8::BOUND,
            thm8::BUDGET,
            rem9::LOCAL,
            sec41::TRUNC_FWD_REV,
            sec43::BUDGET,
            eq22::OBJECTIVE,
            eq22::CONVEX,
            eq22::DERIVATIVES,
            eq22::DISCRETE,
            scieur::RESIDUAL,
            scieur::JACOBIAN,
            scieur::RATE_BOUND,
        ]
    })
}

/// Finds a claim by id.
pub fn find(id: &str) -> Option<&'static Claim> {
    all().iter().find(|c| c.id == id)
}

/// Checks one claim in one variant on one case: the one entry point of the suite.
///
/// Assumptions are established first: when one fails the verdict is *not applicable*,
/// carrying what the check observed anyway.
pub fn check(claim_id: &str, variant: &str, case: &Case, cfg: &Config) -> Result<Verdict> {
    let claim = find(claim_id).ok_or_else(|| Error::Unknown { what: "claim id", name: claim_id.to_string() })?;
    claim.variant(variant).ok_or_else(|| Error::Unknown { what: "variant", name: format!("{claim_id}/{variant}") })?;
    let failed = claim.requires.iter().find_map(|a| case.assumption_failure(*a).map(|r| (*a, r)));
    let observed = certify::attach((claim.run)(case, cfg, variant), claim, variant, case, cfg);
    Ok(with_setting(
        match failed {
            None => observed,
            Some((assumption, reason)) => {
                Verdict::NotApplicable { assumption: assumption.name(), reason, observed: Some(Box::new(observed)) }
            }
        },
        case,
        cfg,
    ))
}

/// The paper's statement of Remark 3 and Section 4.1 assumes a constant start
/// (`Dx_0 = 0`). On a case whose own start depends on `u` (`Dx_0 ≠ 0`: the proximal maps
/// restarted at support identification with the run's derivative, [`crate::spec::Restart`])
/// the verdict of `variant` is *not applicable* (naming `Dx_0 = 0`) and carries what was
/// observed; the readings `dx0_*` with their own `G` and the controls are unchanged.
pub(crate) fn unless_warm_start(case: &Case, variant: &str, observed: Verdict) -> Verdict {
    if variant != "paper" || case.inst.dx0.iter().all(|v| *v == 0.0) {
        return observed;
    }
    Verdict::NotApplicable {
        assumption: "Dx_0 = 0",
        reason: format!(
            "the start depends on u (‖Dx_0‖_max = {:.3e}: a restart with the run's derivative); the consistent reading with Dx_0 ≠ 0 is the variant dx0_adjoint_term",
            case.inst.dx0.amax()
        ),
        observed: Some(Box::new(observed)),
    }
}

/// Completes the witness of a violation (if any) with the setting of the check.
pub fn with_setting(mut v: Verdict, case: &Case, cfg: &Config) -> Verdict {
    if let Some(w) = v.witness_mut() {
        w.setting = Some(Setting::of(case.k, cfg));
    }
    v
}

/// One row of [`check_all`]: a claim, a variant and its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Claim id.
    pub claim: &'static str,
    /// Variant name.
    pub variant: &'static str,
    /// Its role.
    pub role: Role,
    /// The verdict.
    pub verdict: Verdict,
}

impl Outcome {
    /// `true` when the verdict is what the variant's role predicts: the paper's statement
    /// and consistent readings hold (or are not applicable), controls and inconsistent
    /// readings are violated (or not applicable). A numerical failure is never expected.
    pub fn as_expected(&self) -> bool {
        let expect_holds = match self.role {
            Role::Paper => true,
            Role::Control => false,
            Role::Reading { expect_holds } => expect_holds,
        };
        !self.verdict.numerical_failure() && (self.verdict.not_applicable() || (self.verdict.holds() == expect_holds))
    }
}

/// Runs every claim in every variant on one case.
pub fn check_all(case: &Case, cfg: &Config) -> Vec<Outcome> {
    all()
        .iter()
        .flat_map(|c| c.variants.iter().map(move |v| (c, v)))
        .map(|(c, v)| Outcome {
            claim: c.id,
            variant: v.name,
            role: v.role,
            verdict: check(c.id, v.name, case, cfg).expect("ids come from the catalogue"),
        })
        .collect()
}

/// The catalogue as text, for `unrollcheck list`.
pub fn catalogue() -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for c in all() {
        let kind = serde_json::to_value(c.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        writeln!(out, "{:<22} {:<18} {:<16} {}", c.id, c.equation, kind, c.statement).ok();
        writeln!(out, "{:<22} applies to: {}", "", c.applies_to()).ok();
        for v in &c.variants[1..] {
            let role = match v.role {
                Role::Control => "control".to_string(),
                Role::Reading { expect_holds } => {
                    format!("reading ({})", if expect_holds { "holds" } else { "fails" })
                }
                Role::Paper => "paper".to_string(),
            };
            writeln!(out, "{:<22} {role:<18} {:<16} {}", "", v.name, v.description).ok();
        }
    }
    out
}
