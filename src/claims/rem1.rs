//! Remark 1(i): under A2.1 the Jacobian is bounded by the contraction modulus,
//! `‖B_k‖ = ‖D_x A(x_k, u)‖ ≤ ρ`, at every iterate and at random points of the ball
//! `‖x − x*‖ ≤ e_0` where a local `ρ` is certified.

use super::{Assumption, Case, Checker, Claim, Config, Kind, PAPER, Point, Role, VariantInfo, Verdict};
use crate::linalg::spectral_norm;
use crate::map::FixedPointMap;
use crate::problem::draw;

/// `rem1.jacobian_bound`.
pub const JACOBIAN_BOUND: Claim = Claim {
    id: "rem1.jacobian_bound",
    equation: "Rem. 1(i)",
    statement: "‖B_k‖ ≤ ρ at every iterate (and at random points of the ball e_0 around x*)",
    kind: Kind::Inequality,
    requires: &[Assumption::Contraction],
    variants: &[
        PAPER,
        VariantInfo {
            name: "rho_99pc",
            role: Role::Control,
            description: "‖B_k‖ ≤ 0.99 ρ (tight on ridge, where ‖B_k‖ = ρ)",
        },
    ],
    run: jacobian_bound,
};

/// Random points on the ball around `x*`, one per index (`k` past `K` in the witness).
const RANDOM_POINTS: usize = 8;

fn jacobian_bound(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let inst = &case.inst;
    let rho = inst.constants.rho() * if variant == "rho_99pc" { 0.99 } else { 1.0 };
    let n = inst.map.dim_x();
    let mut ch = Checker::new(JACOBIAN_BOUND.id, variant, case.spec);
    let mut judge = |k: usize, b: &nalgebra::DMatrix<f64>| {
        let norm = spectral_norm(b);
        ch.leq(Point { k, t: None }, norm, rho, cfg.tol.product(n, 1.0 + b.amax() * n as f64));
    };
    for k in 0..=case.k {
        judge(k, case.lin().b(k));
    }
    let mut rng = draw::rng(case.spec.map(|s| s.seed).unwrap_or(0).wrapping_add(1));
    let radius = inst.e0();
    for i in 0..RANDOM_POINTS {
        let dir = draw::unit_vector(n, &mut rng);
        let frac = (i + 1) as f64 / RANDOM_POINTS as f64;
        let x = &inst.x_star + dir * (radius * frac);
        judge(case.k + 1 + i, &inst.map.d_x(x.as_view()));
    }
    ch.verdict()
}
