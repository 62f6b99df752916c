//! Certified violations: a violated paper statement or holding reading, re-evaluated with
//! the unrolling recomputed in double-double.
//!
//! A *violated* verdict says `lhs > rhs + τ` in `f64`, with `τ` the tolerance model's bound on
//! rounding ([`crate::tol`]). The model is calibrated ([`crate::calibration`]) but it is a
//! model. So a violation of a statement that is expected to hold is re-evaluated:
//!
//! 1. the case is rebuilt from its spec and its unrolling — iterates, `x*`, `Dx*`, forward
//!    and reverse mode, the error curves — is recomputed in double-double on the map's own
//!    affine data ([`crate::unroll::refined`]) and rounded once ([`Case::refined`]);
//! 2. the claim runs again on that case, whose tolerances are now those of one rounding of
//!    the results (the claim's own closed forms and products keep their calibrated
//!    tolerances, at the default safety factor or the configured one if larger);
//! 3. the comparison at the witness point is read back: still violated → *violated
//!    (certified)*; satisfied → *violated (within rounding)*, with both figures — the `f64`
//!    violation is rounding, and the tolerance model was too tight there.
//!
//! Only maps that are affine in the state (quadratic objectives) have a double-double
//! unrolling; on the others the witness says *not certified* and why. Controls and readings
//! expected to fail are not certified: their violation is the expected outcome.

use super::verdict::{Certification, excess, probe};
use super::{Case, Claim, Config, Role, Verdict, Witness};
use crate::tol::ToleranceModel;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
/// The memory one certification may take (several can run at once, one per thread).
const MAX_BYTES: f64 = 0.5 * GIB;

/// `true` when a violation of `role` is certified (a paper statement or a reading expected
/// to hold).
pub fn wanted(role: Role) -> bool {
    matches!(role, Role::Paper | Role::Reading { expect_holds: true })
}

/// Re-evaluates the violation `w` of `claim` in `variant` on `case` in double-double.
pub fn certify(claim: &Claim, variant: &str, case: &Case, cfg: &Config, w: &Witness) -> Certification {
    let not = |reason: String| Certification::NotCertified { reason };
    let Some(spec) = case.spec else {
        return not("the instance has no spec to rebuild it from".into());
    };
    let m_x = case.inst.constants.map.m_x.value;
    if case.inst.map.capabilities().objective.is_none() || m_x != 0.0 {
        return not(format!(
            "{} is not affine in the state (M_x = {m_x:e}): its iterates have no double-double evaluation",
            case.inst.map.name()
        ));
    }
    // The double-double run keeps `2K + 2` iterates and `2K + 1` matrices `C_k` (n×p) of
    // 16-byte entries, plus their rounded copies: refuse rather than risk the allocation.
    let (n, p) = (case.inst.map.dim_x(), case.inst.map.dim_u());
    let bytes = (2 * case.k + 2) as f64 * (n * (p + 1)) as f64 * (16.0 + 8.0);
    if bytes > MAX_BYTES {
        return not(format!(
            "the double-double recomputation would need about {:.1} GiB (n = {n}, p = {p}, K = {}), above its {:.1} GiB limit",
            bytes / GIB,
            case.k,
            MAX_BYTES / GIB
        ));
    }
    let inst = match spec.build() {
        Ok(inst) => inst,
        Err(e) => return not(format!("the instance could not be rebuilt: {e}")),
    };
    let Some(refined) = Case::refined(inst, case.spec, case.k) else {
        return not("I − B is singular in double-double".into());
    };
    let cfg =
        Config { tol: ToleranceModel { safety: cfg.tol.safety.max(ToleranceModel::default().safety) }, ..cfg.clone() };
    let (_, found) = probe(w.point, || (claim.run)(&refined, &cfg, variant));
    let Some((lhs, rhs, tol, relation)) = found else {
        return not("the recomputation made no comparison at the witness point".into());
    };
    if ![lhs, rhs, tol].iter().all(|v| v.is_finite()) {
        return not(format!("the recomputation is not finite (lhs = {lhs:e}, rhs = {rhs:e}, tol = {tol:e})"));
    }
    if excess(lhs, rhs, tol, relation) > 0.0 {
        Certification::Certified { lhs, rhs, tol }
    } else {
        Certification::WithinRounding { lhs, rhs, tol }
    }
}

/// Attaches the certification to a violated verdict of a statement expected to hold.
pub fn attach(mut v: Verdict, claim: &Claim, variant: &str, case: &Case, cfg: &Config) -> Verdict {
    let role = claim.variant(variant).map(|i| i.role);
    if let (Some(role), Verdict::Violated(w)) = (role, &mut v)
        && wanted(role)
        && w.certification.is_none()
    {
        w.certification = Some(certify(claim, variant, case, cfg, w));
    }
    v
}
