//! The hot loops allocate nothing per iteration.
//!
//! A counting global allocator (`tests/support/counting_alloc.rs`) counts the allocations
//! made on the measuring thread only, so parallel tests do not see each other's.
//!
//! For each directional unroll (`late_start_jvp`/`forward_jvp`,
//! `truncated_vjp`/`reverse_vjp`) and for `Trajectory::run`, the number of allocations is
//! measured for `K = 10` and `K = 1000` on the same instance, with an observer that does
//! not allocate. Equal counts mean the count does not depend on `K`: zero allocations per
//! iteration. The blocked and spectral kernels of the appendix-C sweep (`reproduce::blocked`,
//! `reproduce::spectral`) are measured the same way. A negative control (an observer that clones each iterate) shows the counter
//! sees per-iteration allocations.

use nalgebra::DVector;
use unrollcheck::map::{FixedPointMap, GradientDescent};
use unrollcheck::problem::draw;
use unrollcheck::problem::logistic::LogisticParam;
use unrollcheck::problem::ridge::{Ridge, RidgeParam};
use unrollcheck::problem::robust::RobustParam;
use unrollcheck::spec::{Data, Family, Method, Norm, Spec, StepRule};
use unrollcheck::unroll::{Trajectory, forward_jvp, late_start_jvp, reverse_vjp, truncated_vjp};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::count;

const SHORT: usize = 10;
const LONG: usize = 1000;

/// Allocation counts of the four directional unrolls and of `Trajectory::run`, for
/// `K = SHORT` and `K = LONG`, asserted equal.
/// `replay` says how to rebuild the instance when an assertion fails.
fn assert_constant_allocations<M: FixedPointMap + ?Sized>(replay: &str, map: &M, x0: &DVector<f64>) {
    let name = map.name();
    let (n, p) = (map.dim_x(), map.dim_u());
    let mut rng = draw::rng(7);
    let v = draw::unit_vector(p, &mut rng);
    let w = draw::unit_vector(n, &mut rng);
    let zero = DVector::zeros(n);
    let short = Trajectory::run(map, x0, SHORT);
    let long = Trajectory::run(map, x0, LONG);

    let fwd = |t: &Trajectory| {
        let mut acc = 0.0;
        count(|| forward_jvp(map, t, v.as_view(), zero.as_view(), |_, x| acc += x.norm()))
    };
    let late = |t: &Trajectory| {
        let mut acc = 0.0;
        let (t_prime, steps) = (t.len() / 2, t.len() - t.len() / 2);
        count(|| late_start_jvp(map, t, t_prime, steps, v.as_view(), zero.as_view(), |_, x| acc += x.norm()))
    };
    let rev = |t: &Trajectory| {
        let mut acc = 0.0;
        count(|| reverse_vjp(map, t, w.as_view(), |_, u, x| acc += u.norm() + x.norm()))
    };
    let trunc = |t: &Trajectory| {
        let mut acc = 0.0;
        count(|| truncated_vjp(map, t, t.len(), t.len() / 2, w.as_view(), |_, u, x| acc += u.norm() + x.norm()))
    };
    let run = |k: usize| count(|| Trajectory::run(map, x0, k));

    let rows = [
        ("forward_jvp", fwd(&short), fwd(&long)),
        ("late_start_jvp", late(&short), late(&long)),
        ("reverse_vjp", rev(&short), rev(&long)),
        ("truncated_vjp", trunc(&short), trunc(&long)),
        ("Trajectory::run", run(SHORT), run(LONG)),
    ];
    for (what, a, b) in rows {
        println!("{name}: {what}: {a} allocations at K = {SHORT}, {b} at K = {LONG}");
        assert_eq!(
            a, b,
            "{name}: {what} allocates {a} times at K = {SHORT} but {b} times at K = {LONG}: \
             it allocates inside its loop (instance: {replay})"
        );
    }
}

/// The appendix-C family of the benchmark: ridge with `u = (A, b)`, `M = 50`, `N = 40`,
/// gradient descent with `α = 2/(L + m)`, `x_0 = 0`.
fn appendix_c() -> (GradientDescent<Ridge>, DVector<f64>) {
    let (m, n) = (50, 40);
    let mut rng = draw::rng(2026);
    let a = draw::uniform_matrix(m, n, &mut rng);
    let b = draw::normal_vector(m, 1.0, &mut rng);
    let (lo, hi) = unrollcheck::linalg::symmetric_extremes(&(a.transpose() * &a));
    let f = Ridge::new(a, b, 0.0, RidgeParam::Data).unwrap();
    (GradientDescent::new(f, 2.0 / (lo + hi)).unwrap(), DVector::zeros(n))
}

#[test]
fn appendix_c_unrolls_allocate_nothing_per_iteration() {
    let (map, x0) = appendix_c();
    assert_constant_allocations("appendix_c(): M = 50, N = 40, seed 2026", &map, &x0);
}

#[test]
fn every_family_and_method_allocates_nothing_per_iteration() {
    let families = [
        Family::Ridge { param: RidgeParam::Weight },
        Family::Ridge { param: RidgeParam::Targets },
        Family::Ridge { param: RidgeParam::Data },
        Family::PseudoHuber { param: RobustParam::Weight, delta: 0.5 },
        Family::PseudoHuber { param: RobustParam::Targets, delta: 0.5 },
        Family::Huber { param: RobustParam::Targets, delta: 0.5 },
        Family::Logistic { param: LogisticParam::Weight },
        Family::Logistic { param: LogisticParam::SampleWeights },
        Family::Logistic { param: LogisticParam::Data },
    ];
    let methods = [
        Method::GradientDescent,
        Method::HeavyBall { beta: 0.5 },
        Method::Chebyshev,
        Method::Nesterov,
        Method::NesterovConvex,
    ];
    // Heavy-ball and Nesterov in the adapted norm ‖P⁻¹z‖ too (their products go through
    // scratch buffers, Nesterov's extrapolated point through its own).
    let adapted = [(methods[1], Norm::Adapted { eps: 0.1 }), (methods[3], Norm::Adapted { eps: 0.1 })];
    let cases = methods.into_iter().map(|m| (m, Norm::Euclidean)).chain(adapted);
    let cases: Vec<_> = cases.collect();
    for family in families {
        for &(method, norm) in &cases {
            let spec = Spec {
                family,
                method,
                m: 12,
                n: 5,
                data: Data::Paper,
                lambda: 0.1,
                step: StepRule::InvL,
                x0_sigma: Some(1.0),
                seed: 3,
                norm,
            };
            let inst = spec.build().unwrap();
            assert_constant_allocations(&format!("{spec:?}"), &inst.map, &inst.x0);
        }
    }
}

/// The random contraction layer (issue #16; no objective, method `picard`), for each
/// parameter: its step, JVP and VJP work in the two scratch buffers of its `Scratch`.
#[test]
fn the_layer_allocates_nothing_per_iteration() {
    use unrollcheck::map::layer::LayerParam;
    for param in [LayerParam::Input, LayerParam::Bias, LayerParam::Weights] {
        let spec = Spec {
            family: Family::Layer { param, rho_w: 0.9 },
            method: Method::Picard,
            m: 4,
            n: 6,
            data: Data::Paper,
            lambda: 0.1,
            step: StepRule::Optimal,
            x0_sigma: Some(1.0),
            seed: 3,
            norm: Norm::Euclidean,
        };
        let inst = spec.build().unwrap();
        assert_constant_allocations(&format!("{spec:?}"), &inst.map, &inst.x0);
    }
}

/// Proximal gradient and FISTA on the elastic net (every parameter; from `x_0` and
/// restarted at support identification): the soft threshold, its mask and FISTA's
/// extrapolated point go through the map's scratch buffers.
#[test]
fn proximal_maps_allocate_nothing_per_iteration() {
    use unrollcheck::map::proximal::ElasticNetParam;
    use unrollcheck::spec::Restart;
    for param in [ElasticNetParam::L1, ElasticNetParam::Targets, ElasticNetParam::L2] {
        for restart in [Restart::X0, Restart::Identified] {
            for method in [Method::ProxGd { restart }, Method::Fista { restart }] {
                let spec = Spec {
                    family: Family::ElasticNet { param, l1: 0.3 },
                    method,
                    m: 12,
                    n: 5,
                    data: Data::Paper,
                    lambda: 0.1,
                    step: StepRule::InvL,
                    x0_sigma: Some(1.0),
                    seed: 3,
                    norm: Norm::Euclidean,
                };
                let inst = spec.build().unwrap();
                assert_constant_allocations(&format!("{spec:?}"), &inst.map, &inst.x0);
            }
        }
    }
}

/// The blocked appendix-C kernels (`reproduce::blocked`: the iterates and adjoints of both
/// step sizes, the nine late starts advanced together, the nine truncated sweeps from one
/// adjoint sequence, with sampled offsets) make as many allocations for `K = 10` as for
/// `K = 1000` on the normal equations of the benchmark's instance (`M = 50`, `N = 40`).
#[test]
fn blocked_appendix_c_kernels_allocate_nothing_per_iteration() {
    use unrollcheck::problem::normal::{NormalEquations, push_tangent};
    use unrollcheck::reproduce::appendix_c::rev_samples;
    use unrollcheck::reproduce::blocked;
    let (m, n) = (50, 40);
    let mut rng = draw::rng(2026);
    let a = draw::uniform_matrix(m, n, &mut rng);
    let b = draw::normal_vector(m, 1.0, &mut rng);
    let v = draw::unit_vector(m * n + m, &mut rng);
    let w = draw::unit_vector(n, &mut rng);
    let normal = NormalEquations::from_data(&a, &b).unwrap();
    let phi_v = push_tangent(&a, &b, &v).unwrap();
    let (lo, hi) = normal.extremes();
    let alphas = [2.0 / (lo + hi), 1.0 / (3.0 * hi)];
    // The protocol's grid for a horizon K: T_j = jK/10, K' = K + 3T, T' = 4T.
    let grid = |k: usize| -> Vec<(usize, usize)> { (0..9).map(|j| (k + 3 * (j * k / 10), 4 * (j * k / 10))).collect() };
    let counts = |k: usize| {
        let budgets = grid(k);
        let k_end = budgets.iter().map(|b| b.0).max().unwrap();
        let seq = count(|| drop(blocked::sequences_pair(&normal, alphas, k_end, w.as_slice(), k)));
        let (trajs, wrs) = blocked::sequences_pair(&normal, alphas, k_end, w.as_slice(), k);
        let starts: Vec<(usize, usize)> = budgets.iter().map(|&(kp, tp)| (tp, kp - tp)).collect();
        let mut acc = 0.0;
        let fwd = count(|| {
            blocked::late_starts(&normal, alphas[0], &trajs[0], &starts, phi_v.as_slice(), |_, _, y| acc += y[0])
        });
        let samples: Vec<Vec<usize>> = starts.iter().map(|&(_, s)| rev_samples(s)).collect();
        let rev = count(|| {
            blocked::truncated_sweeps(
                &normal,
                alphas[0],
                &trajs[0],
                &budgets,
                &wrs[0],
                |i| samples[i].as_slice(),
                |_, _, ub| acc += ub[0],
            )
        });
        assert!(acc.is_finite());
        [("sequences_pair", seq), ("late_starts", fwd), ("truncated_sweeps", rev)]
    };
    let (short, long) = (counts(SHORT), counts(LONG));
    for ((what, a), (_, b)) in short.into_iter().zip(long) {
        println!("blocked: {what}: {a} allocations at K = {SHORT}, {b} at K = {LONG}");
        assert_eq!(a, b, "blocked {what} allocates {a} times at K = {SHORT} but {b} times at K = {LONG}");
    }
}

/// The spectral appendix-C kernels (`reproduce::spectral`: the iterates and the nine late
/// starts in the eigenbasis, the nine truncated sweeps from the iterate checkpoints, with
/// sampled offsets, and the pull-back norm at each) make as many allocations for `K = 10`
/// as for `K = 1000` on the normal equations of the benchmark's instance.
#[test]
fn spectral_appendix_c_kernels_allocate_nothing_per_iteration() {
    use unrollcheck::problem::normal::{NormalEquations, push_tangent, thin_qr};
    use unrollcheck::reproduce::appendix_c::rev_samples;
    use unrollcheck::reproduce::spectral;
    let (m, n) = (50, 40);
    let mut rng = draw::rng(2026);
    let a = draw::uniform_matrix(m, n, &mut rng);
    let b = draw::normal_vector(m, 1.0, &mut rng);
    let v = draw::unit_vector(m * n + m, &mut rng);
    let w = draw::unit_vector(n, &mut rng);
    let normal = NormalEquations::from_data(&a, &b).unwrap();
    let phi_v = push_tangent(&a, &b, &v).unwrap();
    let (lo, hi) = normal.extremes();
    let alpha = 2.0 / (lo + hi);
    let spec = spectral::Spectrum::new(&normal, phi_v.as_slice()).unwrap();
    let w_hat = spec.rotate(w.as_slice());
    let target = vec![0.5; n];
    let mut pull = spectral::PullBack::new(&spec, thin_qr(&a, &b).2, &target, &target);
    let grid = |k: usize| -> Vec<(usize, usize)> { (0..9).map(|j| (k + 3 * (j * k / 10), 4 * (j * k / 10))).collect() };
    let mut counts = |k: usize| {
        let budgets = grid(k);
        let k_end = budgets.iter().map(|b| b.0).max().unwrap();
        let starts: Vec<(usize, usize)> = budgets.iter().map(|&(kp, tp)| (tp, kp - tp)).collect();
        let (mut acc, mut acc_e) = (0.0, 0.0);
        let fwd = count(|| {
            drop(spectral::forward(
                &spec,
                alpha,
                k_end,
                &starts,
                (&target, &target),
                |_, e| acc_e += e,
                |_, _, e, y| acc += e + y[0],
            ))
        });
        assert!(acc_e.is_finite());
        let ckpt = spectral::forward(&spec, alpha, k_end, &starts, (&target, &target), |_, _| (), |_, _, _, _| ());
        let samples: Vec<Vec<usize>> = starts.iter().map(|&(_, s)| rev_samples(s)).collect();
        let rev = count(|| {
            spectral::truncated_sweeps(
                &ckpt,
                &w_hat,
                &budgets,
                |i| samples[i].as_slice(),
                |_, _, h, g| acc += pull.error(h, g) + pull.pairing(h, g),
            )
        });
        assert!(acc.is_finite());
        [("forward", fwd), ("truncated_sweeps", rev)]
    };
    let (short, long) = (counts(SHORT), counts(LONG));
    for ((what, a), (_, b)) in short.into_iter().zip(long) {
        println!("spectral: {what}: {a} allocations at K = {SHORT}, {b} at K = {LONG}");
        assert_eq!(a, b, "spectral {what} allocates {a} times at K = {SHORT} but {b} times at K = {LONG}");
    }
}

/// Negative control: an observer that clones each iterate allocates once per iteration,
/// and the counter sees it.
#[test]
fn counter_detects_per_iteration_allocation() {
    let (map, x0) = appendix_c();
    let (n, p) = (map.dim_x(), map.dim_u());
    let v = DVector::from_element(p, 1.0 / (p as f64).sqrt());
    let w = DVector::from_element(n, 1.0 / (n as f64).sqrt());
    let zero = DVector::zeros(n);
    let short = Trajectory::run(&map, &x0, SHORT);
    let long = Trajectory::run(&map, &x0, LONG);

    let fwd = |t: &Trajectory| {
        let mut kept = Vec::with_capacity(LONG + 1);
        let c = count(|| forward_jvp(&map, t, v.as_view(), zero.as_view(), |_, x| kept.push(x.clone())));
        assert_eq!(kept.len(), t.len() + 1);
        c
    };
    let rev = |t: &Trajectory| {
        let mut kept = Vec::with_capacity(LONG + 1);
        let c = count(|| reverse_vjp(&map, t, w.as_view(), |_, u, _| kept.push(u.clone())));
        assert_eq!(kept.len(), t.len() + 1);
        c
    };
    for (what, a, b) in [("forward_jvp", fwd(&short), fwd(&long)), ("reverse_vjp", rev(&short), rev(&long))] {
        println!("cloning observer: {what}: {a} allocations at K = {SHORT}, {b} at K = {LONG}");
        assert!(
            b >= a + (LONG - SHORT),
            "{what}: a cloning observer gave {a} allocations at K = {SHORT} and {b} at \
             K = {LONG}: the counter misses per-iteration allocations"
        );
    }
}
