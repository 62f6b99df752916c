//! The quadratic theory of Scieur et al. (2022): residual polynomials against independent
//! oracles, their maxima over `[μ, L]`, and the Chebyshev method as a time-varying map.
//!
//! Oracles: closed forms evaluated with dual numbers (`num_dual::second_derivative`):
//! gradient descent `(1 − hλ)^t`; Chebyshev `cos(t·acos y)/cosh(t·acosh σ)`,
//! `y = (L+μ−2λ)/(L−μ)`; heavy-ball `β^{t/2}(U_t(s) − √β U_{t−1}(s))`, `s = (1+β−αλ)/(2√β)`,
//! with `U_t(cos θ) = sin((t+1)θ)/sin θ` (for `|s| < 1`). The matrix recurrence is the oracle
//! of the eigendecomposition and the method's own iterates the oracle of the polynomials.
//!
//! Tolerances (documented, not tuned): the recurrence side is the rounding model of
//! `claims::scieur` (per-step products of length 3, propagated by the recurrence from
//! `(0, 1)`, one factor `t + 1` per derivative order for the propagation of lower orders);
//! the closed-form side is `16ε` times the value scale times the condition number of the
//! closed form, `((t + 1)/√(1 − y²))^{order + 1} |dy/dλ|^order` (the `acos` and the
//! `t`-fold angle).

use nalgebra::{DMatrix, DVector};
use num_dual::{DualNum, second_derivative};
use proptest::prelude::*;
use unrollcheck::claims::scieur::propagated;
use unrollcheck::map::{Chebyshev, FixedPointMap};
use unrollcheck::problem::ridge::{Ridge, RidgeParam};
use unrollcheck::problem::{Objective, draw};
use unrollcheck::quadratic::maxima::{self, Which};
use unrollcheck::quadratic::{Fault, Polynomial, Spectral, Values};
use unrollcheck::tol::{EPS, ToleranceModel};
use unrollcheck::unroll::Trajectory;

const SAFETY: f64 = 16.0;

/// The rounding of `P_t`, `P_t'`, `P_t''` by the recurrence at `λ` (see the module docs).
fn recurrence_tol(poly: &Polynomial, lambda: f64, vals: &[Values]) -> Vec<[f64; 3]> {
    let tol = ToleranceModel::default();
    let t_max = vals.len() - 1;
    let w: Vec<f64> = (0..t_max)
        .map(|j| {
            let c = poly.coefficients(j);
            let prev = if j > 0 { vals[j - 1] } else { Values::default() };
            let m = [vals[j].p, vals[j].dp, vals[j].d2p, prev.p, prev.dp, prev.d2p]
                .iter()
                .fold(0.0f64, |a, v| a.max(v.abs()));
            tol.product(3, ((c.c - c.d * lambda).abs() + c.b.abs() + 2.0 * c.d.abs()) * m)
        })
        .collect();
    let amp = propagated(poly, Fault::None, &[lambda], &w);
    (0..=t_max)
        .map(|t| {
            let k = (t + 1) as f64;
            let d = poly.coefficients(t).d.abs().max(1.0);
            [amp[t], k * d * amp[t], k * k * d * d * amp[t]]
        })
        .collect()
}

fn closed_tol(scale: f64, cond: f64, dy: f64) -> [f64; 3] {
    [0, 1, 2].map(|o| SAFETY * EPS * scale * cond.powi(o + 1) * dy.powi(o))
}

fn cheb_closed<D: DualNum<Primitive = f64> + Copy>(lambda: D, mu: f64, l: f64, t: usize) -> D {
    let y = (lambda * (-2.0) + (l + mu)) / (l - mu);
    let sigma: f64 = (l + mu) / (l - mu);
    (y.acos() * t as f64).cos() / (t as f64 * sigma.acosh()).cosh()
}

fn hb_closed<D: DualNum<Primitive = f64> + Copy>(lambda: D, alpha: f64, beta: f64, t: usize) -> D {
    let s = (lambda * (-alpha) + (1.0 + beta)) / (2.0 * beta.sqrt());
    let theta = s.acos();
    let u = |k: i64| if k < 0 { theta * 0.0 } else { (theta * (k + 1) as f64).sin() / theta.sin() };
    (u(t as i64) - u(t as i64 - 1) * beta.sqrt()) * beta.powf(t as f64 / 2.0)
}

fn assert_close(what: &str, t: usize, rec: &Values, oracle: (f64, f64, f64), tol: [f64; 3]) {
    let got = [rec.p, rec.dp, rec.d2p];
    let want = [oracle.0, oracle.1, oracle.2];
    for o in 0..3 {
        assert!(
            (got[o] - want[o]).abs() <= tol[o],
            "{what}: t = {t}, derivative order {o}: recurrence {:e}, closed form {:e}, tolerance {:e}",
            got[o],
            want[o],
            tol[o]
        );
    }
}

fn differs(rec: &Values, oracle: (f64, f64, f64), tol: [f64; 3]) -> bool {
    (rec.p - oracle.0).abs() > tol[0] || (rec.dp - oracle.1).abs() > tol[1]
}

const T_MAX: usize = 40;

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, rng_seed: proptest::test_runner::RngSeed::Fixed(8), failure_persistence: None, ..ProptestConfig::default() })]

    /// Chebyshev: the recurrence (normalised by the closed-form ω) against cos/cosh.
    #[test]
    fn chebyshev_recurrence_matches_closed_form(mu in 0.05..2.0f64, ratio in 1.2..50.0f64, y in -0.9..0.9f64) {
        let l = mu * ratio;
        let lambda = 0.5 * (l + mu) - 0.5 * (l - mu) * y;
        let poly = Polynomial::Chebyshev { mu, l };
        let vals = poly.sequence(lambda, T_MAX);
        let rtol = recurrence_tol(&poly, lambda, &vals);
        let dy = 2.0 / (l - mu);
        for t in 0..=T_MAX {
            let oracle = second_derivative(|x| cheb_closed(x, mu, l, t), lambda);
            let scale = 1.0 / (t as f64 * ((l + mu) / (l - mu)).acosh()).cosh();
            let ct = closed_tol(scale, (t + 1) as f64 / (1.0 - y * y).sqrt(), dy);
            assert_close("chebyshev", t, &vals[t], oracle, [0, 1, 2].map(|o| rtol[t][o] + ct[o]));
        }
    }

    /// Heavy-ball with the lift x_{−1} = x_0 against β^{t/2}(U_t − √β U_{t−1}).
    #[test]
    fn heavy_ball_recurrence_matches_closed_form(alpha in 0.01..1.0f64, beta in 0.05..0.95f64, s in -0.9..0.9f64) {
        let lambda = (1.0 + beta - 2.0 * beta.sqrt() * s) / alpha;
        let poly = Polynomial::HeavyBall { alpha, beta };
        let vals = poly.sequence(lambda, T_MAX);
        let rtol = recurrence_tol(&poly, lambda, &vals);
        let ds = alpha / (2.0 * beta.sqrt());
        for t in 0..=T_MAX {
            let oracle = second_derivative(|x| hb_closed(x, alpha, beta, t), lambda);
            let scale = beta.powf(t as f64 / 2.0) * (t + 1) as f64 * 2.0;
            let ct = closed_tol(scale, (t + 1) as f64 / (1.0 - s * s).sqrt(), ds);
            assert_close("heavy-ball", t, &vals[t], oracle, [0, 1, 2].map(|o| rtol[t][o] + ct[o]));
        }
    }

    /// Gradient descent against (1 − hλ)^t.
    #[test]
    fn gradient_descent_recurrence_matches_power(h in 0.01..1.0f64, x in 0.0..2.0f64) {
        let lambda = x / h;
        let poly = Polynomial::GradientDescent { h };
        let vals = poly.sequence(lambda, T_MAX);
        let rtol = recurrence_tol(&poly, lambda, &vals);
        for t in 0..=T_MAX {
            let oracle = second_derivative(|z| (z * (-h) + 1.0).powi(t as i32), lambda);
            let ct = closed_tol(1.0f64.max((1.0 - x).abs().powi(t as i32)), (t + 1) as f64, h);
            assert_close("gradient descent", t, &vals[t], oracle, [0, 1, 2].map(|o| rtol[t][o] + ct[o]));
        }
    }

    /// The closed form of ω_{t+1} agrees with the ratio recurrence ω_{t+1} = 1/(1 − ω_t/(4σ²)).
    #[test]
    fn chebyshev_omega_closed_form_matches_ratio_recurrence(mu in 0.05..2.0f64, ratio in 1.0..1e4f64) {
        let l = mu * ratio;
        let s2 = ((l - mu) / (l + mu)).powi(2);
        let mut w = 2.0 / (2.0 - s2); // ω_2
        for t in 1..200 {
            let closed = Polynomial::chebyshev_omega(mu, l, t);
            prop_assert!((closed - w).abs() <= SAFETY * EPS * (t as f64) * w, "t = {t}: {closed} vs {w}");
            w = 1.0 / (1.0 - w * s2 / 4.0);
        }
    }
}

/// Negative control: a recurrence with a wrong sign or a coefficient off by 1e-6 is caught
/// by the same comparison, for every method (at some `t ≤ T_MAX` of one draw).
#[test]
fn wrong_recurrences_are_caught() {
    let (mu, l, alpha, beta, h) = (0.3, 7.0, 0.2, 0.5, 0.2);
    for fault in [Fault::WrongSign, Fault::WrongCoefficient] {
        let y: f64 = 0.37;
        let lambda = 0.5 * (l + mu) - 0.5 * (l - mu) * y;
        let cheb = Polynomial::Chebyshev { mu, l };
        let bad = cheb.sequence_with(lambda, T_MAX, fault);
        let rtol = recurrence_tol(&cheb, lambda, &cheb.sequence(lambda, T_MAX));
        let caught = (0..=T_MAX).any(|t| {
            let scale = 1.0 / (t as f64 * ((l + mu) / (l - mu)).acosh()).cosh();
            let ct = closed_tol(scale, (t + 1) as f64 / (1.0 - y * y).sqrt(), 2.0 / (l - mu));
            let tol = [0, 1, 2].map(|o| rtol[t][o] + ct[o]);
            differs(&bad[t], second_derivative(|x| cheb_closed(x, mu, l, t), lambda), tol)
        });
        assert!(caught, "chebyshev {fault:?} not caught");

        let s: f64 = -0.4;
        let lambda = (1.0 + beta - 2.0 * beta.sqrt() * s) / alpha;
        let hb = Polynomial::HeavyBall { alpha, beta };
        let bad = hb.sequence_with(lambda, T_MAX, fault);
        let rtol = recurrence_tol(&hb, lambda, &hb.sequence(lambda, T_MAX));
        let caught = (0..=T_MAX).any(|t| {
            let ct = closed_tol(beta.powf(t as f64 / 2.0) * 2.0 * (t + 1) as f64, (t + 1) as f64 / 0.9f64.sqrt(), 1.0);
            let tol = [0, 1, 2].map(|o| rtol[t][o] + ct[o]);
            differs(&bad[t], second_derivative(|x| hb_closed(x, alpha, beta, t), lambda), tol)
        });
        assert!(caught, "heavy-ball {fault:?} not caught");

        let gd = Polynomial::GradientDescent { h };
        let lambda = 3.0;
        let bad = gd.sequence_with(lambda, T_MAX, fault);
        let rtol = recurrence_tol(&gd, lambda, &gd.sequence(lambda, T_MAX));
        let caught = (0..=T_MAX).any(|t| {
            let tol = [0, 1, 2].map(|o| rtol[t][o] + closed_tol(1.0, (t + 1) as f64, h)[o]);
            differs(&bad[t], second_derivative(|z| (z * (-h) + 1.0).powi(t as i32), lambda), tol)
        });
        assert!(caught, "gradient descent {fault:?} not caught");
        println!("{fault:?}: caught for Chebyshev, heavy-ball and gradient descent");
    }
}

fn random_spd(n: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = draw::rng(seed);
    let a = draw::uniform_matrix(n + 3, n, &mut rng);
    a.transpose() * &a + DMatrix::identity(n, n) * 0.1
}

/// At symmetric matrices: the eigendecomposition against the matrix recurrence, for `P_t`
/// and `P_t'`, with the tolerance of a Lipschitz bound (`max|P_t'|`, `max|P_t''|` over the
/// spectrum, times the eigendecomposition's backward error) plus the recurrence's rounding.
#[test]
fn matrix_polynomials_by_eigendecomposition_match_the_matrix_recurrence() {
    let tol = ToleranceModel::default();
    for seed in 0..6 {
        let n = 2 + seed as usize % 4;
        let h = random_spd(n, seed);
        let sp = Spectral::new(&h).expect("converges");
        let (mu, l) = (sp.eigenvalues.min(), sp.eigenvalues.max());
        let polys = [
            Polynomial::GradientDescent { h: 2.0 / (l + mu) },
            Polynomial::HeavyBall { alpha: 1.0 / l, beta: 0.6 },
            Polynomial::Chebyshev { mu, l },
        ];
        for poly in polys {
            for t in [0, 1, 2, 5, 17, 40] {
                let (p_rec, dp_rec) = poly.at_matrix(t, &h);
                let vals: Vec<Values> = sp.eigenvalues.iter().map(|&x| poly.eval(t, x)).collect();
                let p_eig = sp.apply(&vals.iter().map(|v| v.p).collect::<Vec<_>>(), &DMatrix::identity(n, n));
                let dp_eig = sp.apply(&vals.iter().map(|v| v.dp).collect::<Vec<_>>(), &DMatrix::identity(n, n));
                let lip = |w: Which| maxima::max_abs(|x| w.of(&poly.eval(t, x), x), mu, l, t).upper;
                let d2 = maxima::max_abs(|x| poly.eval(t, x).d2p, mu, l, t).upper;
                let backward = tol.product(n, l) * (n as f64).sqrt();
                let amp = (t + 1) as f64 * (1.0 + l) * 3.0;
                let tp = lip(Which::Derivative) * backward + tol.product(n, amp * lip(Which::Residual).max(1.0));
                let td = d2 * backward + tol.product(n, amp * (t + 1) as f64 * lip(Which::Derivative).max(1.0));
                let (ep, ed) = ((&p_rec - &p_eig).amax(), (&dp_rec - &dp_eig).amax());
                assert!(ep <= tp, "{poly:?} t = {t}: |P_t(H)| differs by {ep:e} > {tp:e}");
                assert!(ed <= td, "{poly:?} t = {t}: |P_t'(H)| differs by {ed:e} > {td:e}");
            }
        }
    }
}

/// The maxima: the certificate bounds a brute-force maximum on 200 001 points, the refined
/// value is attained and close to it; Chebyshev's max |P_t| is 1/T_t(σ).
#[test]
fn maxima_are_reliable_and_certified() {
    let (mu, l) = (0.4, 9.0);
    let polys = [
        Polynomial::GradientDescent { h: 1.0 / (3.0 * l) },
        Polynomial::HeavyBall { alpha: 2.0 / (l + mu), beta: 0.5 },
        Polynomial::Chebyshev { mu, l },
    ];
    for poly in polys {
        for which in [Which::Residual, Which::Derivative, Which::JacobianFactor] {
            let all = maxima::max_abs_all(&poly, which, mu, l, 30);
            for t in [1, 3, 10, 30] {
                let brute = (0..=200_000)
                    .map(|i| mu + (l - mu) * i as f64 / 200_000.0)
                    .map(|x| which.of(&poly.eval(t, x), x).abs())
                    .fold(0.0, f64::max);
                let m = all[t];
                let attained = which.of(&poly.eval(t, m.at), m.at).abs();
                assert!(
                    m.upper >= brute * (1.0 - 1e-12),
                    "{poly:?} {which:?} t = {t}: certificate {} < brute force {brute}",
                    m.upper
                );
                assert!(
                    m.value >= brute * (1.0 - 1e-9),
                    "{poly:?} {which:?} t = {t}: refined {} below brute force {brute}",
                    m.value
                );
                assert!((attained - m.value).abs() <= 1e-12 * m.value.max(1e-300), "not attained");
            }
        }
    }
    let cheb = Polynomial::Chebyshev { mu, l };
    let sigma: f64 = (l + mu) / (l - mu);
    for (t, m) in maxima::max_abs_all(&cheb, Which::Residual, mu, l, 25).iter().enumerate() {
        let exact = 1.0 / (t as f64 * sigma.acosh()).cosh();
        // The recurrence's propagated rounding at the maximiser, and cosh of t·acosh σ.
        let rec = recurrence_tol(&cheb, m.at, &cheb.sequence(m.at, t))[t][0];
        let tol = rec + SAFETY * EPS * (t + 1) as f64 * exact;
        assert!((m.value - exact).abs() <= tol, "t = {t}: {} vs 1/T_t(σ) = {exact}", m.value);
    }
}

/// Negative control: the endpoint values and a coarse grid underestimate the maximum of
/// `|P_t − λP_t'|` of heavy-ball (an interior maximum), so a bound built on them is unsafe.
#[test]
fn endpoint_and_coarse_maxima_are_unsafe_for_heavy_ball() {
    let (mu, l) = (0.4, 9.0);
    let hb = Polynomial::HeavyBall { alpha: 2.0 / (l + mu), beta: 0.5 };
    let all = maxima::max_abs_all(&hb, Which::JacobianFactor, mu, l, 40);
    let worst = |f: &dyn Fn(usize) -> f64| (1..=40).map(|t| f(t) / all[t].value).fold(f64::INFINITY, f64::min);
    let ends = worst(&|t| maxima::endpoints(&hb, Which::JacobianFactor, mu, l, t));
    let coarse = worst(&|t| maxima::coarse(&hb, Which::JacobianFactor, mu, l, t));
    println!("heavy-ball: endpoints reach {ends:.3} of the maximum, a 5-point grid {coarse:.3}");
    assert!(ends < 0.9 && coarse < 0.9, "endpoints {ends}, coarse {coarse}");
}

fn chebyshev_on_ridge(seed: u64, param: RidgeParam) -> (Chebyshev<Ridge>, DVector<f64>) {
    let mut rng = draw::rng(seed);
    let (m, n) = (7, 3);
    let a = draw::uniform_matrix(m, n, &mut rng);
    let b = draw::normal_vector(m, 1.0, &mut rng);
    let f = Ridge::new(a, b, 0.2, param).unwrap();
    let h = f.hessian(DVector::zeros(n).as_view());
    let sp = Spectral::new(&h).expect("converges");
    let map = Chebyshev::new(f, sp.eigenvalues.min(), sp.eigenvalues.max()).unwrap();
    let z = DVector::from_iterator(2 * n, draw::normal_vector(2 * n, 1.0, &mut rng).iter().cloned());
    (map, z)
}

/// The time-indexed JVP and VJP of the Chebyshev map: the dot-product test at several `k`,
/// and the JVP against central differences of `step_at(k)` (the map is affine in `z` on
/// ridge, so the differences are exact up to rounding `ε·‖A_k‖/h`); the JVP of the wrong
/// index `k + 1` fails the same comparison (negative control).
#[test]
fn chebyshev_map_is_differentiated_at_the_right_index() {
    let tol = ToleranceModel::default();
    for param in [RidgeParam::Weight, RidgeParam::Targets, RidgeParam::Data] {
        let (map, z) = chebyshev_on_ridge(11, param);
        let (nz, p) = (map.dim_x(), map.dim_u());
        let mut rng = draw::rng(12);
        let dz = draw::normal_vector(nz, 1.0, &mut rng);
        let du = draw::normal_vector(p, 1.0, &mut rng);
        let w = draw::normal_vector(nz, 1.0, &mut rng);
        let mut s = map.scratch();
        for k in [0, 1, 2, 7, 30] {
            let mut jv = DVector::zeros(nz);
            map.jvp_at(k, z.as_view(), dz.as_view(), du.as_view(), jv.as_view_mut(), &mut s);
            let (mut xb, mut ub) = (DVector::zeros(nz), DVector::zeros(p));
            map.vjp_at(k, z.as_view(), w.as_view(), xb.as_view_mut(), ub.as_view_mut(), &mut s);
            let scale = (map.d_x_at(k, z.as_view()).amax() * dz.amax() + map.d_u_at(k, z.as_view()).amax() * du.amax())
                * w.amax();
            let dot = (jv.dot(&w) - dz.dot(&xb) - du.dot(&ub)).abs();
            assert!(
                dot <= tol.product(2 * (nz + p), scale * (nz + p) as f64),
                "{param:?} k = {k}: dot-product test off by {dot:e}"
            );
            // Central differences in z of step_at(k) along dz (du = 0).
            let hstep = 1e-3;
            let step = |zz: &DVector<f64>| {
                let mut out = DVector::zeros(nz);
                map.step_at(k, zz.as_view(), out.as_view_mut(), &mut map.scratch());
                out
            };
            let fd = (step(&(&z + &dz * hstep)) - step(&(&z - &dz * hstep))) / (2.0 * hstep);
            let zero = DVector::zeros(p);
            let jvp_of = |idx: usize| {
                let mut out = DVector::zeros(nz);
                map.jvp_at(idx, z.as_view(), dz.as_view(), zero.as_view(), out.as_view_mut(), &mut map.scratch());
                out
            };
            let bound = tol.product(nz, step(&z).amax() + z.amax() + hstep * dz.amax() * 10.0) / hstep;
            let err = (jvp_of(k) - &fd).amax();
            assert!(err <= bound, "{param:?} k = {k}: jvp_at vs differences {err:e} > {bound:e}");
            // ω_{k+1} converges to ω_∞: the index is observable in the first steps only.
            if k <= 7 {
                let wrong = (jvp_of(k + 1) - &fd).amax();
                assert!(wrong > bound, "{param:?} k = {k}: the index k + 1 was not told apart ({wrong:e})");
            }
        }
    }
}

/// The method's own iterates are an oracle for the polynomials: on a ridge problem with
/// `x* = 0` (targets `b = 0`), `x_t = P_t(H)x_0`, coordinate by coordinate in the eigenbasis.
#[test]
fn chebyshev_iterates_follow_the_residual_polynomial() {
    let mut rng = draw::rng(5);
    let (m, n) = (9, 4);
    let a = draw::uniform_matrix(m, n, &mut rng);
    let f = Ridge::new(a, DVector::zeros(m), 0.3, RidgeParam::Targets).unwrap();
    let h = f.hessian(DVector::zeros(n).as_view());
    let sp = Spectral::new(&h).expect("converges");
    let (mu, l) = (sp.eigenvalues.min(), sp.eigenvalues.max());
    let map = Chebyshev::new(f, mu, l).unwrap();
    let x0 = draw::normal_vector(n, 1.0, &mut rng);
    let traj = Trajectory::run(&map, &map.capabilities().lift.apply(&x0), 60);
    let poly = Polynomial::Chebyshev { mu, l };
    for t in [1, 2, 3, 10, 60] {
        let phi: Vec<f64> = sp.eigenvalues.iter().map(|&x| poly.eval(t, x).p).collect();
        let want = sp.apply(&phi, &DMatrix::from_column_slice(n, 1, x0.as_slice()));
        let got = traj.x(t).rows(0, n).into_owned();
        let err = (got - want.column(0)).norm();
        assert!(err <= 1e-12 * x0.norm(), "t = {t}: x_t − P_t(H)x_0 = {err:e}");
    }
}
