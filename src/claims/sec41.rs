//! Section 4.1: the late-started forward mode (20) and the truncated reverse sweep compute
//! the same quantity.
//!
//! **Subtlety 2** (`docs/claims-spec.md`): Section 4.1 writes the late-started output as
//! `Ẋ_{T'}^{(K')}`, while (20) and Section 4.3 make it `Ẋ_{T'}^{(K'−T')}`. Only the second
//! equals `Ū_{K'}^{(T')}`: the `literal_index` reading is checked and reported failing,
//! the consistent one (`paper` here) holding. Subtlety 1 (the initial derivative) applies
//! as in Remark 3: with `Dx_0 = G ≠ 0`, the truncated sweep needs `X̄^{(T')} G` added.

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
    let mut ch = Checker::new(TRUNC_FWD_REV.id, variant, case.spec);
    for t in case.t_primes(cfg).into_iter().filter(|&t| t > 0 || variant != "literal_index") {
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
        ch.equal(Point { k: k_end, t: Some(t) }, spectral_norm(&(last - rev)), tol);
    }
    super::unless_warm_start(case, variant, ch.verdict())
}
