//! Heavy-ball in the adapted norm `‖P⁻¹z‖` (beyond the paper, `src/map/adapted.rs`):
//! the construction, its negative controls, and how `cond(P)` behaves near critical damping.
//!
//! - the conjugated map's Jacobian is `P⁻¹D_zA P`, its norm is the largest block norm and
//!   lies between the spectral radius `r` and `r + ε` (dense products against the blocks);
//! - negative controls: the spectral radius used as `ρ` with Euclidean errors, the adapted
//!   norm's constants with Euclidean errors, a basis built for another momentum, the
//!   identity basis, and `ε = 0` at a critically damped block must each be violated or
//!   refused;
//! - `cond(P)` grows as `β` approaches critical damping, without bound for `ε = 0` and capped
//!   for `ε > 0`.
//!
//! The claims themselves are checked in the adapted norm by `tests/claims.rs`
//! (`<id>::<variant>::adapted_norm`).

#[path = "claims_support/strategies.rs"]
#[allow(dead_code)]
mod strategies;

use nalgebra::{DMatrix, DVector, Matrix2};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use unrollcheck::claims::{self, Case, Config, Verdict};
use unrollcheck::constants::{Constant, MapConstants};
use unrollcheck::instance::Instance;
use unrollcheck::linalg::{spectral_norm, spectral_radius};
use unrollcheck::map::adapted::{BlockForm, block_basis};
use unrollcheck::map::{Adapted, FixedPointMap, HeavyBall};
use unrollcheck::problem::ridge::{Ridge, RidgeParam};
use unrollcheck::problem::{Ball, Objective, Scratch, VecView, VecViewMut};
use unrollcheck::spec::{DynInstance, Norm, Spec};
use unrollcheck::tol::EPS;

/// The rounding of a dense product of length `d` with operands of norm `scale` (the
/// tolerance model's estimate 1 with its safety factor 16).
fn product_tol(d: usize, scale: f64) -> f64 {
    16.0 * EPS * d as f64 * scale
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// (a) On random heavy-ball ridge instances: `ρ' = ‖P⁻¹DP‖` computed densely (through the
    /// conjugated map's products) equals the largest block norm, lies in `[r, r + ε]`, the
    /// spectral radius is unchanged, and the Euclidean twin has `‖D_zA‖ ≥ 1`. Same draws:
    /// the Euclidean and adapted `e_0` satisfy `e_0 ≤ e_0' ≤ cond(P)·e_0` (`‖P‖ = 1`).
    #[test]
    fn conjugated_jacobian_is_the_block_normal_form(spec in strategies::heavy_ball_ridge(), eps in 0.02..0.5f64) {
        let euclid = spec.build().unwrap();
        let adapted = strategies::adapted(&spec, eps).build().unwrap();
        let info = adapted.map.capabilities().adapted_norm.expect("heavy-ball in the adapted norm");
        let d = adapted.map.d_x(adapted.x_star.as_view());
        let dense = spectral_norm(&d);
        let tol = product_tol(d.nrows(), info.cond_p * (1.0 + euclid.constants.map.jacobian_norm_at_fixed_point));
        prop_assert!((dense - info.block_norm).abs() <= tol, "dense {dense} vs blocks {}", info.block_norm);
        prop_assert!(dense <= info.spectral_radius + info.eps_abs + tol);
        prop_assert!(dense >= info.spectral_radius - tol);
        prop_assert!(adapted.constants.rho() >= dense && adapted.constants.rho() <= dense + tol);
        prop_assert!((spectral_radius(&d).unwrap() - euclid.constants.map.spectral_radius).abs() <= tol.max(1e-9));
        prop_assert!(euclid.constants.map.jacobian_norm_at_fixed_point >= 1.0);
        prop_assert!(adapted.constants.rho() < 1.0 && euclid.constants.rho() >= 1.0);
        let (e0, e0a) = (euclid.e0(), adapted.e0());
        prop_assert!(e0a >= e0 * (1.0 - 1e-9) && e0a <= info.cond_p * e0 * (1.0 + 1e-9) + 1e-12, "{e0} {e0a}");
    }

    /// Every block basis keeps its block norm within `τ` whenever `τ` exceeds the block's
    /// root modulus, and has `‖V‖ = 1`.
    #[test]
    fn block_bases_meet_their_bound(alpha_h in 0.01..1.99f64, beta in 0.0..0.99f64, slack in 1e-6..0.5f64) {
        let t = 1.0 + beta - alpha_h;
        let r = unrollcheck::map::heavy_ball::hb_root_modulus(1.0, beta, alpha_h);
        let tau = r + slack * (1.0 - r).max(1e-3);
        let (v, _) = block_basis(t, beta, tau);
        let tm = Matrix2::new(t, -beta, 1.0, 0.0);
        let vi = v.try_inverse().unwrap();
        let norm = (vi * tm * v).svd(false, false).singular_values[0];
        let cond = v.svd(false, false).singular_values[0] / v.svd(false, false).singular_values[1];
        prop_assert!(norm <= tau + 1e-12 * cond, "norm {norm} > tau {tau} (r = {r})");
        prop_assert!((v.svd(false, false).singular_values[0] - 1.0).abs() < 1e-12);
    }
}

/// A one-unknown ridge problem with Hessian `h = ‖a‖² + λ` and heavy-ball step `α = αh/h`.
fn scalar_heavy_ball(alpha_h: f64, beta: f64) -> HeavyBall<Ridge> {
    let a = DMatrix::from_column_slice(3, 1, &[1.0, 0.5, -0.25]);
    let b = DVector::from_column_slice(&[1.0, -1.0, 2.0]);
    let f = Ridge::new(a, b, 0.1, RidgeParam::Weight).unwrap();
    let h = f.hessian(DVector::zeros(1).as_view())[(0, 0)];
    HeavyBall::new(f, alpha_h / h, beta).unwrap()
}

/// (d) `cond(P)` grows as `β` approaches critical damping (`αh = 1/4`: `β* = 1/4`, where the
/// roots of `s² − (3/4 + β)s + β` coincide), from above (complex roots) and from below (real
/// roots). With `ε = 0` it grows without bound and the norm is refused at `β*` itself; with
/// `ε > 0` the triangular form caps it.
#[test]
fn cond_p_grows_towards_critical_damping() {
    let cond = |beta: f64, eps: f64| {
        Adapted::new(scalar_heavy_ball(0.25, beta), eps).map(|m| m.capabilities().adapted_norm.unwrap())
    };
    for side in [-1.0, 1.0] {
        let exact: Vec<f64> = (1..=6).map(|k| cond(0.25 + side * 10f64.powi(-k), 0.0).unwrap().cond_p).collect();
        println!("eps = 0, beta = 1/4 {} 10^-k, k = 1..6: cond(P) = {exact:?}", if side < 0.0 { "-" } else { "+" });
        assert!(exact.windows(2).all(|w| w[1] > 1.5 * w[0]), "cond(P) does not grow: {exact:?}");
        let capped: Vec<_> = (1..=6).map(|k| cond(0.25 + side * 10f64.powi(-k), 0.1).unwrap()).collect();
        let c: Vec<f64> = capped.iter().map(|a| a.cond_p).collect();
        println!("eps = 0.1: cond(P) = {c:?}");
        assert!(c.windows(2).all(|w| w[1] >= w[0] * (1.0 - 1e-9)), "not monotone: {c:?}");
        assert!(c.iter().all(|&x| x < 1e3), "not capped: {c:?}");
        assert!(capped.iter().all(|a| a.block_norm <= a.spectral_radius + a.eps_abs + 1e-12));
    }
    let at = cond(0.25, 0.1).unwrap();
    println!("at beta = 1/4, eps = 0.1: cond(P) = {:.3e}, form counts: triangular {}", at.cond_p, at.triangular_blocks);
    assert_eq!(at.triangular_blocks, 1, "a critically damped block needs the ε-scaled triangular form");
    // Negative control: ε = 0 at the Jordan block, no certificate.
    match cond(0.25, 0.0) {
        Err(e) => {
            println!("eps = 0 at beta = 1/4: {e}");
            assert!(e.to_string().contains("cond(P)"));
        }
        Ok(a) => panic!("ε = 0 at a Jordan block was accepted: cond(P) = {:.3e}", a.cond_p),
    }
}

/// The block forms are the ones the module docs promise.
#[test]
fn block_forms_by_discriminant() {
    // Distinct real roots far apart: diagonal, cond moderate; complex roots: rotation.
    assert_eq!(block_basis(1.5, 0.1, 1.0).1, BlockForm::Diagonal);
    assert_eq!(block_basis(0.5, 0.5, 0.8).1, BlockForm::Rotation);
    // Repeated root s = 1/2 (t = 1, β = 1/4): only the triangular form has finite cond.
    let (v, form) = block_basis(1.0, 0.25, 0.55);
    assert_eq!(form, BlockForm::Triangular);
    assert!(v.determinant().abs() > 1e-3);
}

/// A block critically damped up to rounding with a complex-signed discriminant
/// (`t² − 4c = −4.4·10⁻¹⁶`, the μ-block of Nesterov's strongly convex momentum, found by the
/// proptest `*::adapted_norm_nesterov`): every rotation form stays above `τ`, the
/// triangular form of the repeated root reaches it (before the fallback, the engine's basis
/// for this block had norm ≈ 2 and the adapted norm certified nothing). Negative control: the
/// unscaled rotation to equal diagonal is far above `τ`, so the check can fail.
#[test]
fn nearly_critical_complex_block_takes_the_triangular_form() {
    let (t, c): (f64, f64) = (1.706_707_303_467_447_4, 0.728_212_454_927_281_5);
    let disc = t * t - 4.0 * c;
    assert!(disc < 0.0 && disc > -1e-14, "t² − 4c = {disc:e}");
    let tau = c.sqrt() + 0.0147;
    let tm = nalgebra::Matrix2::new(t, -c, 1.0, 0.0);
    let norm = |v: &nalgebra::Matrix2<f64>| (v.try_inverse().unwrap() * tm * v).singular_values().max();
    let (v, form) = block_basis(t, c, tau);
    assert_eq!(form, BlockForm::Triangular);
    assert!(norm(&v) <= tau * (1.0 + 1e-9), "block norm {} > τ = {tau}", norm(&v));
    // The bare rotation to equal diagonal (δ = 1) is not adapted at all.
    let theta = 0.5 * (-(tm[(0, 0)] - tm[(1, 1)])).atan2(tm[(0, 1)] + tm[(1, 0)]);
    let rot = nalgebra::Matrix2::new(theta.cos(), -theta.sin(), theta.sin(), theta.cos());
    assert!(norm(&rot) > 1.5 * tau, "{}", norm(&rot));
}

/// A map that delegates to another but reports given constants: the negative controls of
/// "the constants of one norm with the errors of another".
struct WithConstants {
    inner: Box<dyn FixedPointMap>,
    constants: MapConstants,
}

impl FixedPointMap for WithConstants {
    fn dim_x(&self) -> usize {
        self.inner.dim_x()
    }
    fn dim_u(&self) -> usize {
        self.inner.dim_u()
    }
    fn name(&self) -> String {
        format!("with_constants({})", self.inner.name())
    }
    fn scratch(&self) -> Scratch {
        self.inner.scratch()
    }
    fn step_at(&self, k: usize, x: VecView, out: VecViewMut, s: &mut Scratch) {
        self.inner.step_at(k, x, out, s)
    }
    fn step_magnitude(&self, k: usize, x: VecView, s: &mut Scratch) -> f64 {
        self.inner.step_magnitude(k, x, s)
    }
    fn jvp_at(&self, k: usize, x: VecView, dx: VecView, du: VecView, out: VecViewMut, s: &mut Scratch) {
        self.inner.jvp_at(k, x, dx, du, out, s)
    }
    fn vjp_at(&self, k: usize, x: VecView, w: VecView, xbar_out: VecViewMut, ubar_acc: VecViewMut, s: &mut Scratch) {
        self.inner.vjp_at(k, x, w, xbar_out, ubar_acc, s)
    }
    fn fixed_point(&self) -> unrollcheck::Result<DVector<f64>> {
        self.inner.fixed_point()
    }
    fn constants(&self, _ball: &Ball) -> unrollcheck::Result<MapConstants> {
        Ok(self.constants)
    }
}

/// Runs `claim` on the Euclidean heavy-ball instance of `spec` with the constants `pick`
/// chooses, and returns the verdict.
fn euclidean_with(spec: &Spec, claim: &str, pick: impl Fn(&DynInstance, &DynInstance) -> MapConstants) -> Verdict {
    let cfg = Config { k_max: 150, ..Config::default() };
    let euclid = spec.build().unwrap();
    let adapted = Spec { norm: Norm::Adapted { eps: 0.1 }, ..*spec }.build().unwrap();
    let constants = pick(&euclid, &adapted);
    let map = WithConstants { inner: euclid.map, constants };
    let inst = Instance::new(Box::new(map) as Box<dyn FixedPointMap>, euclid.x0).unwrap();
    claims::check(claim, "paper", &Case::new(inst, Some(*spec), &cfg), &cfg).unwrap()
}

/// Searches the heavy-ball ridge specs for a violation of `claim` under the given constants.
fn find_violation(claim: &str, pick: impl Fn(&DynInstance, &DynInstance) -> MapConstants + Copy) -> Verdict {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..256 {
        let spec = strategies::heavy_ball_ridge().new_tree(&mut runner).unwrap().current();
        let v = euclidean_with(&spec, claim, pick);
        if matches!(v, Verdict::Violated(_)) {
            return v;
        }
    }
    panic!("{claim} was never violated: the control cannot fail");
}

/// (c) Negative control: heavy-ball's spectral radius `r < 1` used as `ρ` with errors in the
/// Euclidean norm. `ρ^k` is the asymptotic rate, not a bound: (8) is violated.
#[test]
fn spectral_radius_as_rho_in_the_euclidean_norm_is_violated() {
    let v = find_violation("thm2.rate", |e, _| MapConstants {
        rho: Constant::global(e.constants.map.spectral_radius),
        ..e.constants.map
    });
    println!("caught: {v}");
}

/// (c) Negative control: the adapted norm's constants `ρ'`, `M_u'`, `κ'` with the errors
/// measured in the Euclidean norm: (19) is violated (its constants hold in `‖P⁻¹z‖` only).
#[test]
fn adapted_constants_with_euclidean_errors_are_violated() {
    let v = find_violation("thm7.bound", |_, a| a.constants.map);
    println!("caught: {v}");
}

/// (c) Negative control: an adapted norm built for another momentum (or the identity basis,
/// the Euclidean norm) does not make this heavy-ball contract: `ρ' ≥ 1`, no certificate, and
/// the claims are not applicable.
#[test]
fn a_basis_that_does_not_adapt_gives_no_certificate() {
    let cfg = Config { k_max: 150, ..Config::default() };
    let (alpha_h, x0) = (0.5, DVector::from_column_slice(&[3.0]));
    let right = Adapted::new(scalar_heavy_ball(alpha_h, 0.9), 0.1).unwrap();
    let other = Adapted::new(scalar_heavy_ball(alpha_h, 0.05), 0.1).unwrap();
    let bases = [
        ("basis of β = 0.05", other.p().clone(), other.p_inv().clone()),
        ("identity", DMatrix::identity(2, 2), DMatrix::identity(2, 2)),
    ];
    let good = right.clone();
    let z0 = good.capabilities().lift.apply(&x0);
    let inst = Instance::new(Box::new(good) as Box<dyn FixedPointMap>, z0).unwrap();
    println!("adapted basis: ρ' = {:.4}", inst.constants.rho());
    assert!(inst.constants.rho() < 1.0);
    let case = Case::new(inst, None, &cfg);
    assert!(claims::check("thm2.rate", "paper", &case, &cfg).unwrap().holds());
    for (what, p, p_inv) in bases {
        let wrong = right.clone().with_basis(p, p_inv);
        let z0 = wrong.capabilities().lift.apply(&x0);
        let inst = Instance::new(Box::new(wrong) as Box<dyn FixedPointMap>, z0).unwrap();
        println!("{what}: ρ' = {:.4}", inst.constants.rho());
        assert!(inst.constants.rho() >= 1.0, "{what}: ρ' = {} < 1", inst.constants.rho());
        let case = Case::new(inst, None, &cfg);
        let v = claims::check("thm2.rate", "paper", &case, &cfg).unwrap();
        assert!(matches!(v, Verdict::NotApplicable { assumption: "A2.1", .. }), "{what}: {v}");
    }
}

/// The conjugation is exact where it can be: `P⁻¹P = I` and the conjugated Jacobian is
/// `P⁻¹DP`, on a 4-unknown instance near critical damping.
#[test]
fn conjugation_matches_dense_products() {
    let spec = Spec { method: unrollcheck::spec::Method::HeavyBall { beta: 0.5 }, m: 12, n: 4, ..Spec::figure2(5) };
    let inst = spec.build().unwrap();
    let (alpha, beta) = inst.map.capabilities().step_parameters;
    let f = Ridge::new(
        DMatrix::from_fn(12, 4, |i, j| ((i * 7 + j * 3) % 5) as f64 / 5.0 + 0.1),
        DVector::from_fn(12, |i, _| (i as f64).sin()),
        0.1,
        RidgeParam::Weight,
    )
    .unwrap();
    let hb = HeavyBall::new(f, alpha, beta).unwrap();
    let adapted = Adapted::new(hb.clone(), 0.1).unwrap();
    let (p, p_inv) = (adapted.p(), adapted.p_inv());
    let cond = adapted.capabilities().adapted_norm.unwrap().cond_p;
    let eye = p_inv * p;
    assert!((eye - DMatrix::identity(8, 8)).amax() <= product_tol(8, cond));
    let z = adapted.fixed_point().unwrap();
    let conj = adapted.d_x(z.as_view());
    let direct = p_inv * hb.d_x((p * &z).as_view()) * p;
    assert!((conj - direct).amax() <= product_tol(8, cond * 3.0));
}
