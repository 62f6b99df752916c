//! Remark 3: forward and reverse mode compute the same Jacobian, `Ẋ_K = Ū_K^{(0)}`, for
//! every horizon `K`.
//!
//! **Subtlety 1** (`docs/claims-spec.md`): recursion (12) has no term for `Dx_0(u)`, while forward
//! mode starts from it. With a warm start `x_0(u)` whose derivative `G ≠ 0`, the literal
//! reading `Ẋ_K = Ū_K^{(0)}` fails, and the consistent one `Ẋ_K = Ū_K^{(0)} + X̄_K^{(0)} G`
//! holds. Both readings are checked and reported as what they are.

use super::{Case, Checker, Claim, Config, Kind, PAPER, Point, Role, VariantInfo, Verdict};
use crate::linalg::spectral_norm;
use crate::tol::{EPS, Sweep};
use crate::unroll::reference::{self, DdMatrix, EPS_DD};
use nalgebra::DMatrix;

/// `rem3.fwd_rev`.
pub const FWD_REV: Claim = Claim {
    id: "rem3.fwd_rev",
    equation: "Rem. 3",
    statement: "Ẋ_K = Ū_K^{(0)} for every K (with Dx_0 = 0)",
    kind: Kind::Equality,
    requires: &[],
    variants: &[
        PAPER,
        VariantInfo {
            name: "dx0_literal",
            role: Role::Reading { expect_holds: false },
            description: "Dx_0 = G ≠ 0, reverse mode exactly as (12): Ẋ_K = Ū_K^{(0)} (fails: (12) has no Dx_0 term)",
        },
        VariantInfo {
            name: "dx0_adjoint_term",
            role: Role::Reading { expect_holds: true },
            description: "Dx_0 = G ≠ 0, reverse mode with X̄_K^{(0)} G added: Ẋ_K = Ū_K^{(0)} + X̄_K^{(0)} G",
        },
        VariantInfo {
            name: "off_by_one",
            role: Role::Control,
            description: "Ẋ_K = Ū_K^{(1)} (the sweep stops one step early)",
        },
    ],
    run: fwd_rev,
};

/// The horizons checked: every `K ≤ 20`, then a doubling sequence up to the case's `K`.
pub fn horizons(k_max: usize) -> Vec<usize> {
    let mut ks: Vec<usize> = (1..=k_max.min(20)).collect();
    let mut k = 40;
    while k < k_max {
        ks.push(k);
        k *= 2;
    }
    if k_max > 20 {
        ks.push(k_max);
    }
    ks
}

fn fwd_rev(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let inst = &case.inst;
    let run = case.run();
    let lin = case.lin();
    let with_g = variant.starts_with("dx0");
    let g = if with_g { case.warm_start_derivative() } else { inst.dx0.clone() };
    let fwd_g;
    let fwd: &[DMatrix<f64>] = if with_g {
        fwd_g = lin.late_start_jacobians(0, case.k, &g);
        &fwd_g
    } else {
        &run.fwd
    };
    // The same recursions in double-double on the same B_k, C_k: the reference that
    // measures each side's rounding (src/unroll/reference.rs).
    let fwd_dd = reference::late_start_jacobians_dd(lin, 0, case.k, &g);
    let (b, c) = case.jacobian_norms(0..case.k);
    let xdot: Vec<f64> = fwd.iter().map(spectral_norm).collect();
    let growth = case.window_growth();
    let mut ch = Checker::new(FWD_REV.id, variant, case.spec);
    for k in horizons(case.k) {
        let ends = case.truncated_ends(k, 0);
        let (ubars, xbar, rd) = (&ends.ubars, &ends.xbar, &ends.dd);
        let (rev, rev_dd) = match variant {
            "off_by_one" => (ubars[1].clone(), rd.ubars[1].clone()),
            "dx0_adjoint_term" => (&ubars[0] + xbar * &g, rd.ubars[0].clone().plus(&DdMatrix::right_mul(&rd.xbar, &g))),
            _ => (ubars[0].clone(), rd.ubars[0].clone()),
        };
        // Reverse mode with the X̄G term has one more product, of size ‖X̄‖‖G‖ ≤ ‖Ẋ_K‖-ish:
        // it is covered by the forward sweep's bound from Ẋ_0 = G.
        let ubar_max = spectral_norm(&rev).max(spectral_norm(&fwd[k]));
        let fwd_sweep = Sweep { b: &b[..k], c: &c[..k], norms: &xdot[..=k] };
        let rev_sweep = Sweep { b: &b[..k], c: &c[..k], norms: &rd.xbar_norms };
        let dd_bound = cfg.tol.fwd_rev(case.dim(), growth, fwd_sweep, rev_sweep, ubar_max) * (EPS_DD / EPS);
        let tol = cfg.tol.fwd_rev_measured(fwd_dd[k].distance(&fwd[k]), rev_dd.distance(&rev), dd_bound);
        ch.equal(Point { k, t: Some(k) }, spectral_norm(&(&fwd[k] - rev)), tol);
    }
    super::unless_warm_start(case, variant, ch.verdict())
}
