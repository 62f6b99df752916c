//! Section 4.1: the late-started forward mode (20) and the truncated reverse sweep compute
//! the same quantity.
//!
//! **Subtlety 2** (`docs/claims-spec.md`): Section 4.1 writes the late-started output as
//! `Ẋ_{T'}^{(K')}`, while (20) and Section 4.3 make it `Ẋ_{T'}^{(K'−T')}`. Only the second
//! equals `Ū_{K'}^{(T')}`: the `literal_index` reading is checked and reported failing,
//! the consistent one (`paper` here) holding. Subtlety 1 (the initial derivative) applies
//! as in Remark 3: with `Dx_0 = G ≠ 0`, the truncated sweep needs `X̄^{(T')} G` added.
//!
//! At a late start `T' = K'` (a fraction 1 of `t_fractions`) both sweeps are empty: the
//! forward returns its start `G`, the reverse `Ū = 0` and `X̄ = I`, so the sides agree by
//! construction; the comparison is made (the `dx0_literal` reading still fails there) but
//! its margin is not scored (alone, *holds, not informative*). The control
//! `late_start_plus_one` has no start `T' + 1 ≤ K'` there: that `T'` is skipped, and with no
//! other late start the control is *not applicable* (naming `T' + 1 ≤ K'`).
//!
//! At `T' = 0` the `literal_index` reading coincides with the consistent one (`K' = K' − 0`)
//! and is skipped; with no late start `T' ≥ 1` (`t_fractions = [0.0]`, or fractions whose
//! `⌊f·K'⌋` is 0) the reading is *not applicable* (naming `T' ≥ 1`), not a vacuous *holds*.

use super::{Case, Checker, Claim, Config, Kind, PAPER, Point, Role, VariantInfo, Verdict};
use crate::linalg::spectral_norm;
use crate::tol::{EPS, Sweep};
use crate::unroll::reference::{self, DdMatrix, EPS_DD};

/// `sec41.trunc_fwd_rev`.
pub const TRUNC_FWD_REV: Claim = Claim {
    id: "sec41.trunc_fwd_rev",
    equation: "Sec. 4.1, (20)",
    statement: "Ẋ_{T'}^{(K'−T')} = Ū_{K'}^{(T')} (late-started forward equals truncated reverse)",
    kind: Kind::Equality,
    requires: &[],
    variants: &[
        PAPER,
        VariantInfo {
            name: "literal_index",
            role: Role::Reading { expect_holds: false },
            description: "Ẋ_{T'}^{(K')} = Ū_{K'}^{(T')}, the index as printed in Section 4.1 (fails for T' > 0)",
        },
        VariantInfo {
            name: "dx0_literal",
            role: Role::Reading { expect_holds: false },
            description: "Dx_0 = G ≠ 0 with the reverse sweep exactly as (12) (fails)",
        },
        VariantInfo {
            name: "dx0_adjoint_term",
            role: Role::Reading { expect_holds: true },
            description: "Dx_0 = G ≠ 0 with X̄_{K'}^{(T')} G added to the truncated sweep",
        },
        VariantInfo {
            name: "late_start_plus_one",
            role: Role::Control,
            description: "forward started at T'+1 (a planted off-by-one)",
        },
    ],
    run: trunc_fwd_rev,
};

fn trunc_fwd_rev(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let inst = &case.inst;
    let k_end = case.k;
    let g = if variant.starts_with("dx0") { case.warm_start_derivative() } else { inst.dx0.clone() };
    // The literal reading needs iterates up to T' + K': the case's long linearization.
    let lin = case.lin();
    let growth = case.window_growth();
    let t_primes = case.t_primes(cfg);
    // The planted off-by-one starts at T' + 1: there is no such start at T' = K' (a
    // fraction 1 of t_fractions), where the control is skipped; with no other T' it says
    // nothing on this instance.
    let plus_one = variant == "late_start_plus_one";
    if plus_one && t_primes.iter().all(|&t| t >= k_end) {
        return Verdict::NotApplicable {
            assumption: "T' + 1 ≤ K'",
            reason: format!(
                "the control starts the forward sweep at T' + 1 = {} beyond K' = {k_end} (every late start of t_fractions is T' = K')",
                k_end + 1
            ),
            observed: None,
        };
    }
    // The literal index Ẋ_{T'}^{(K')} is Ẋ_{T'}^{(K'−T')} at T' = 0: the reading differs from
    // the consistent one only at a late start T' ≥ 1, and with none it says nothing.
    if variant == "literal_index" && t_primes.iter().all(|&t| t == 0) {
        return Verdict::NotApplicable {
            assumption: "T' ≥ 1",
            reason: format!(
                "the literal index Ẋ_{{T'}}^{{(K')}} differs from Ẋ_{{T'}}^{{(K'−T')}} only at a late start T' ≥ 1, and every late start ⌊f·K'⌋ of t_fractions is T' = 0 (K' = {k_end})"
            ),
            observed: None,
        };
    }
    let mut ch = Checker::new(TRUNC_FWD_REV.id, variant, case.spec);
    for t in t_primes.into_iter().filter(|&t| (t > 0 || variant != "literal_index") && (t < k_end || !plus_one)) {
        let (start, steps) = match variant {
            "literal_index" => (t, k_end),
            "late_start_plus_one" => (t + 1, k_end - t - 1),
            _ => (t, k_end - t),
        };
        let fwd = lin.late_start_jacobians(start, steps, &g);
        let ends = case.truncated_ends(k_end, t);
        let (ubars, xbar, rd) = (&ends.ubars, &ends.xbar, &ends.dd);
        let rev = if variant == "dx0_adjoint_term" { &ubars[0] + xbar * &g } else { ubars[0].clone() };
        // Both sweeps again in double-double on the same B_k, C_k (src/unroll/reference.rs).
        let fwd_dd = reference::late_start_jacobians_dd(lin, start, steps, &g);
        let rev_dd = if variant == "dx0_adjoint_term" {
            rd.ubars[0].clone().plus(&DdMatrix::right_mul(&rd.xbar, &g))
        } else {
            rd.ubars[0].clone()
        };
        let last = &fwd[steps];
        let xdot: Vec<f64> = fwd.iter().map(spectral_norm).collect();
        let (bf, cf) = case.jacobian_norms(start..start + steps);
        let (br, cr) = case.jacobian_norms(t..k_end);
        let ubar_max = spectral_norm(&rev).max(spectral_norm(last));
        let fwd_sweep = Sweep { b: &bf, c: &cf, norms: &xdot };
        let rev_sweep = Sweep { b: &br, c: &cr, norms: &rd.xbar_norms };
        let dd_bound = cfg.tol.fwd_rev(case.dim(), growth, fwd_sweep, rev_sweep, ubar_max) * (EPS_DD / EPS);
        let tol = cfg.tol.fwd_rev_measured(fwd_dd[steps].distance(last), rev_dd.distance(&rev), dd_bound);
        let point = Point { k: k_end, t: Some(t) };
        if steps == 0 && t == k_end {
            // T' = K': both sweeps are empty (the forward returns its start, the reverse
            // Ū = 0 and X̄ = I), so the two sides agree by construction: checked, but a
            // margin of this comparison says nothing about (20).
            ch.equal_unscored(point, spectral_norm(&(last - rev)), tol);
        } else {
            ch.equal(point, spectral_norm(&(last - rev)), tol);
        }
    }
    super::unless_warm_start(case, variant, ch.verdict())
}
