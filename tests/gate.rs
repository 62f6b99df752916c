//! Self-test of the gate: correct traces pass; each planted bug class is rejected with the
//! right quantity, iteration and cause; bad input is a clear error (exit code 2 in the CLI).

#[path = "support/signal.rs"]
mod signal;
use nalgebra::DVector;
use std::path::{Path, PathBuf};
use unrollcheck::Error;
use unrollcheck::gate::cause::{BugClass, Confirmed};
use unrollcheck::gate::check::{GateReport, Outcome, check, read_manifest};
use unrollcheck::gate::export::{Entry, Size, accelerated_set, default_set, export, layers_set, sized_set};
use unrollcheck::gate::npz::{self, Npz};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("unrollcheck-gate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A planted bug. The traces are written by [`client`], an implementation of the format
/// written for this test from the module docs alone (its own gradients, Hessian-vector
/// products and mixed derivatives; none of the engine's maps or unrolling code).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Bug {
    None,
    SignC,
    BNext,
    /// The late start and the end of the sweep at `T' + shift`: with the rows that index
    /// implies, or (`fixed_rows`) with `K' − T' + 1` rows as `examples/gate_numpy.py` does.
    LateStart {
        shift: isize,
        fixed_rows: bool,
    },
    /// `jvp_final = Ẋ_{T'}^{(K')} v` (the iterates run on past `x_{K'}`).
    LiteralIndex,
    /// No derivative update where `‖x_{k+1} − x_k‖ < eps (1 + ‖x_k‖)` (or from the first such
    /// step on, `suffix`).
    Freeze {
        eps: f64,
        suffix: bool,
    },
    /// A correct float64 computation, every value rounded to float32, saved as float64.
    Float32,
    /// A correct computation saved as float32.
    Float32Dtype,
    /// Every iterate rounded to float32 (derivatives in float64 along them).
    Float32Iterates,
    /// Started from `x_0 = 0`.
    DroppedWarmStart,
    /// `Ẋ^{(0)} v = 0.1 w` (a non-zero start of the forward mode).
    NonZeroStart,
    /// `X̄ ← B_k X̄` in the sweep.
    NoTranspose,
    /// `X̄` updated before `Ū` (Algorithm 1 as printed).
    AdjointOrder,
    /// Heavy-ball from `z_0 = (x_0, x_0 + 0.3)`, recorded as such.
    StaleMomentum,
    /// `α` multiplied by this factor.
    StepSize(f64),
    /// `β` replaced by this value.
    Momentum(f64),
    /// A correct unrolled trace with the implicit arrays, computed as in [`Implicit`].
    Implicit(Implicit),
}

/// How [`client::implicit`] computes the optional implicit arrays.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Implicit {
    Correct,
    /// `(I − B)ᵀ` for `I − B` and the other way round.
    Transpose,
    /// The minus sign of `−(∂_xF)^{-1}∂_uF` dropped.
    Sign,
    /// At the last iterate `x_{K'}` instead of `x*`.
    AtIterate,
}

/// An independent implementation of the gate's format: `f(x, u) = Σ φ(a_iᵀx − b_i) +
/// (λ/2)‖x‖²`, gradient descent or heavy-ball, `B = D_x A`, `C = D_u A` and their transposes
/// written out by hand (a port of `examples/gate_numpy.py`).
mod client {
    use nalgebra::{DMatrix, DVector};

    pub struct Objective {
        pub huber: bool,
        pub param: String,
        pub a: DMatrix<f64>,
        pub b: DVector<f64>,
        pub lam: f64,
        pub delta: f64,
    }

    impl Objective {
        fn dphi(&self, r: f64) -> f64 {
            if self.huber { r / (1.0 + (r / self.delta).powi(2)).sqrt() } else { r }
        }
        fn d2phi(&self, r: f64) -> f64 {
            if self.huber { (1.0 + (r / self.delta).powi(2)).powf(-1.5) } else { 1.0 }
        }
        fn r(&self, x: &DVector<f64>) -> DVector<f64> {
            &self.a * x - &self.b
        }
        fn grad(&self, x: &DVector<f64>) -> DVector<f64> {
            self.a.tr_mul(&self.r(x).map(|r| self.dphi(r))) + x * self.lam
        }
        fn hvp(&self, x: &DVector<f64>, d: &DVector<f64>) -> DVector<f64> {
            let s = self.r(x).map(|r| self.d2phi(r)).component_mul(&(&self.a * d));
            self.a.tr_mul(&s) + d * self.lam
        }
        fn split(&self, u: &DVector<f64>) -> (DMatrix<f64>, DVector<f64>) {
            let (m, n) = self.a.shape();
            (DMatrix::from_row_slice(m, n, &u.as_slice()[..m * n]), DVector::from_column_slice(&u.as_slice()[m * n..]))
        }
        /// `D_u ∇_x f(x, u) du`.
        fn mixed_jvp(&self, x: &DVector<f64>, du: &DVector<f64>) -> DVector<f64> {
            let r = self.r(x);
            let h = r.map(|r| self.d2phi(r));
            match self.param.as_str() {
                "weight" => x * du[0],
                "targets" => -self.a.tr_mul(&h.component_mul(du)),
                _ => {
                    let (da, db) = self.split(du);
                    da.tr_mul(&r.map(|r| self.dphi(r))) + self.a.tr_mul(&h.component_mul(&(&da * x - db)))
                }
            }
        }
        /// `(D_u ∇_x f(x, u))ᵀ w`.
        fn mixed_vjp(&self, x: &DVector<f64>, w: &DVector<f64>) -> DVector<f64> {
            let r = self.r(x);
            let s = r.map(|r| self.d2phi(r)).component_mul(&(&self.a * w));
            match self.param.as_str() {
                "weight" => DVector::from_element(1, x.dot(w)),
                "targets" => -s,
                _ => {
                    let ga = r.map(|r| self.dphi(r)) * w.transpose() + &s * x.transpose();
                    let mut out: Vec<f64> =
                        ga.row_iter().flat_map(|row| row.iter().copied().collect::<Vec<_>>()).collect();
                    out.extend(s.iter().map(|v| -v));
                    DVector::from_vec(out)
                }
            }
        }
    }

    /// Gradient descent (`heavy = false`) or heavy-ball on `z = (x_1, x_2)`.
    pub struct Map {
        pub f: Objective,
        pub heavy: bool,
        pub alpha: f64,
        pub beta: f64,
    }

    fn halves(z: &DVector<f64>) -> (DVector<f64>, DVector<f64>) {
        let n = z.len() / 2;
        (z.rows(0, n).into_owned(), z.rows(n, n).into_owned())
    }

    fn join(a: &DVector<f64>, b: &DVector<f64>) -> DVector<f64> {
        DVector::from_iterator(a.len() + b.len(), a.iter().chain(b.iter()).copied())
    }

    impl Map {
        pub fn step(&self, z: &DVector<f64>) -> DVector<f64> {
            if !self.heavy {
                return z - self.f.grad(z) * self.alpha;
            }
            let (x1, x2) = halves(z);
            join(&(&x1 - self.f.grad(&x1) * self.alpha + (&x1 - x2) * self.beta), &x1)
        }
        /// `B dz`.
        pub fn b(&self, z: &DVector<f64>, dz: &DVector<f64>) -> DVector<f64> {
            if !self.heavy {
                return dz - self.f.hvp(z, dz) * self.alpha;
            }
            let ((x1, _), (d1, d2)) = (halves(z), halves(dz));
            join(&(&d1 * (1.0 + self.beta) - d2 * self.beta - self.f.hvp(&x1, &d1) * self.alpha), &d1)
        }
        /// `Bᵀ w`.
        pub fn bt(&self, z: &DVector<f64>, w: &DVector<f64>) -> DVector<f64> {
            if !self.heavy {
                return self.b(z, w);
            }
            let ((x1, _), (w1, w2)) = (halves(z), halves(w));
            join(&(&w1 * (1.0 + self.beta) - self.f.hvp(&x1, &w1) * self.alpha + w2), &(&w1 * -self.beta))
        }
        /// `C du`.
        pub fn c(&self, z: &DVector<f64>, du: &DVector<f64>) -> DVector<f64> {
            if !self.heavy {
                return self.f.mixed_jvp(z, du) * -self.alpha;
            }
            let (x1, _) = halves(z);
            let top = self.f.mixed_jvp(&x1, du) * -self.alpha;
            join(&top, &DVector::zeros(top.len()))
        }
        /// `Cᵀ w`.
        pub fn ct(&self, z: &DVector<f64>, w: &DVector<f64>) -> DVector<f64> {
            if !self.heavy {
                return self.f.mixed_vjp(z, w) * -self.alpha;
            }
            let ((x1, _), (w1, _)) = (halves(z), halves(w));
            self.f.mixed_vjp(&x1, &w1) * -self.alpha
        }
    }

    /// The matrix of `d ↦ op(d)` on `R^size`.
    fn dense(size: usize, op: impl Fn(&DVector<f64>) -> DVector<f64>) -> DMatrix<f64> {
        let cols: Vec<DVector<f64>> =
            (0..size).map(|i| op(&DVector::from_fn(size, |j, _| f64::from(u8::from(i == j))))).collect();
        DMatrix::from_columns(&cols)
    }

    /// The implicit arrays of the format (`implicit_jvp`, `implicit_vjp`, `hypergrad`): `x*`
    /// by Newton's method on `∇f = 0` from the last iterate, then solves with `I − B` at
    /// `x*` (the state `(x*, x*)` for heavy-ball); `bug` plants one implicit bug class.
    pub fn implicit(
        map: &Map,
        x_last: &DVector<f64>,
        v: &DVector<f64>,
        w: &DVector<f64>,
        bug: super::Implicit,
    ) -> [DVector<f64>; 3] {
        let (n, nn, p) = (x_last.len(), map.f.a.ncols(), v.len());
        let z = if bug == super::Implicit::AtIterate {
            x_last.clone()
        } else {
            let mut x = x_last.rows(0, nn).into_owned();
            let mut last = f64::INFINITY;
            for _ in 0..100 {
                let h = dense(nn, |d| map.f.hvp(&x, d));
                let step = h.lu().solve(&map.f.grad(&x)).unwrap();
                x -= &step;
                if step.norm() == 0.0 || step.norm() >= last {
                    break;
                }
                last = step.norm();
            }
            if map.heavy { join(&x, &x) } else { x }
        };
        let b = dense(n, |d| map.b(&z, d));
        let c = dense(p, |d| map.c(&z, d));
        let mut m = DMatrix::identity(n, n) - b;
        if bug == super::Implicit::Transpose {
            m = m.transpose();
        }
        let outer = DVector::from_fn(n, |i, _| if i < nn { z[i] } else { 0.0 });
        let sign = if bug == super::Implicit::Sign { -1.0 } else { 1.0 };
        let jvp = m.clone().lu().solve(&(&c * v)).unwrap() * sign;
        let mt = m.transpose().lu();
        let vjp = c.tr_mul(&mt.solve(w).unwrap()) * sign;
        let hyper = c.tr_mul(&mt.solve(&outer).unwrap()) * sign;
        [jvp, vjp, hyper]
    }
}

/// Writes the trace of `entry` as the outside implementation [`client`] would, with `bug`
/// planted.
fn write_trace(instances: &Path, traces: &Path, e: &Entry, bug: Bug) {
    let d = Npz::read(&instances.join(&e.file)).unwrap();
    let get = |name: &str| d.raw(name).unwrap().data.clone();
    let scalar = |name: &str| get(name)[0];
    let f = client::Objective {
        huber: e.family == "pseudo_huber",
        param: e.param.clone(),
        a: nalgebra::DMatrix::from_row_slice(e.m, e.n_cols, &get("A")),
        b: DVector::from_vec(get("b")),
        lam: scalar("lam"),
        delta: scalar("delta"),
    };
    let (mut alpha, mut beta) = (scalar("alpha"), scalar("beta"));
    match bug {
        Bug::StepSize(factor) => alpha *= factor,
        Bug::Momentum(b) if e.method == "heavy_ball" => beta = b,
        _ => {}
    }
    let map = client::Map { f, heavy: e.method == "heavy_ball", alpha, beta };
    let (x0, v, w) = (DVector::from_vec(get("x0")), DVector::from_vec(get("v")), DVector::from_vec(get("w")));
    let x0 = match bug {
        Bug::DroppedWarmStart => DVector::zeros(e.n),
        Bug::StaleMomentum if map.heavy => {
            let half = e.n / 2;
            DVector::from_iterator(e.n, (0..e.n).map(|i| if i < half { x0[i] } else { x0[i] + 0.3 }))
        }
        _ => x0,
    };
    let (tp, kp) = (e.t_prime, e.k_prime);
    // The index the late start and the sweep use, and the forward steps taken.
    let (start, steps, stop, pad) = match bug {
        Bug::LateStart { shift, fixed_rows } => {
            let s = (tp as isize + shift).max(0) as usize;
            if fixed_rows { (s, kp - tp, s.max(tp), s.saturating_sub(tp)) } else { (s, kp - s, s, 0) }
        }
        _ => (tp, kp - tp, tp, 0),
    };
    let extra = if bug == Bug::LiteralIndex { tp + 1 } else { 2 };
    let mut xs = vec![x0];
    for k in 0..kp + extra {
        let next = map.step(&xs[k]);
        xs.push(if bug == Bug::Float32Iterates { next.map(|v| f64::from(v as f32)) } else { next });
    }
    let frozen = |k: usize| match bug {
        Bug::Freeze { eps, suffix } => {
            let conv = |k: usize| (&xs[k + 1] - &xs[k]).norm() < eps * (1.0 + xs[k].norm());
            if suffix { (0..=k).any(conv) } else { conv(k) }
        }
        _ => false,
    };
    let sign = if bug == Bug::SignC { -1.0 } else { 1.0 };
    let shift = usize::from(bug == Bug::BNext);
    let forward = |steps: usize| {
        let d0 = if bug == Bug::NonZeroStart { &w * 0.1 } else { DVector::zeros(e.n) };
        let mut jvp = vec![d0];
        for j in 0..steps {
            let (k, last) = (start + j, &jvp[j]);
            let next = if frozen(k) { last.clone() } else { map.b(&xs[k + shift], last) + map.c(&xs[k], &v) * sign };
            jvp.push(next);
        }
        jvp
    };
    let jvp = forward(steps);
    let jvp_final = if bug == Bug::LiteralIndex { forward(kp).pop().unwrap() } else { jvp.last().unwrap().clone() };
    let (mut xb, mut ub) = (w.clone(), DVector::zeros(e.p));
    let mut vjp = vec![ub.clone()];
    for k in (stop..kp).rev() {
        if !frozen(k) {
            let z = &xs[k + shift];
            let step = |xb: &DVector<f64>| if bug == Bug::NoTranspose { map.b(z, xb) } else { map.bt(z, xb) };
            if bug == Bug::AdjointOrder {
                xb = step(&xb);
                ub += map.ct(&xs[k], &xb) * sign;
            } else {
                ub += map.ct(&xs[k], &xb) * sign;
                xb = step(&xb);
            }
        }
        vjp.push(ub.clone());
    }
    for _ in 0..pad {
        vjp.push(ub.clone());
    }
    let round = |x: f64| if matches!(bug, Bug::Float32 | Bug::Float32Dtype) { f64::from(x as f32) } else { x };
    let flat = |rows: &[DVector<f64>]| {
        rows.iter().flat_map(|r| r.iter().map(|x| round(*x)).collect::<Vec<_>>()).collect::<Vec<_>>()
    };
    let xs = &xs[..=kp];
    let vl = vjp.last().unwrap().clone();
    let mut arrays = vec![
        ("x", vec![xs.len(), e.n], flat(xs)),
        ("jvp", vec![jvp.len(), e.n], flat(&jvp)),
        ("vjp", vec![vjp.len(), e.p], flat(&vjp)),
        ("jvp_final", vec![e.n], flat(&[jvp_final])),
        ("vjp_final", vec![e.p], flat(&[vl])),
    ];
    if let Bug::Implicit(how) = bug {
        let [ij, iv, ih] = client::implicit(&map, &xs[kp], &v, &w, how);
        arrays.push(("implicit_jvp", vec![e.n], flat(&[ij])));
        arrays.push(("implicit_vjp", vec![e.p], flat(&[iv])));
        arrays.push(("hypergrad", vec![e.p], flat(&[ih])));
    }
    npz::write_as(&traces.join(&e.trace.file), &arrays, bug == Bug::Float32Dtype).unwrap();
}

/// Exports the default set and writes traces with `bug` planted in every instance.
fn run_with(name: &str, bug: Bug) -> (PathBuf, PathBuf, GateReport) {
    let d = dir(name);
    let (inst, traces) = (d.join("instances"), d.join("traces"));
    std::fs::create_dir_all(&traces).unwrap();
    export(&default_set(2026), &inst).unwrap();
    for e in &read_manifest(&inst).unwrap().instances {
        write_trace(&inst, &traces, e, bug);
    }
    let report = check(&inst, &traces).unwrap();
    (inst, traces, report)
}

#[test]
fn correct_traces_pass_every_check() {
    let (_, _, report) = run_with("ok", Bug::None);
    assert_eq!(report.outcomes.len(), 22);
    for o in &report.outcomes {
        assert!(o.passed(), "{}: {:?}", o.id, o.findings);
        assert!(o.claims.iter().any(|(id, v)| id == "sec41.trunc_fwd_rev" && v.holds()));
    }
}

/// The one class confirmed for every failing array of `o` (none when nothing failed, when
/// no class or several classes explain the failures).
fn confirmed(o: &Outcome) -> Option<&Confirmed> {
    let d = o.cause.as_ref()?;
    (d.confirmed.len() == 1 && d.unexplained.is_empty()).then(|| &d.confirmed[0])
}

/// Plants `bug` in every instance: each instance in `must_fail` fails, every failing one
/// has `class` as its confirmed cause (in the report's text and the JUnit message too), and
/// every other one passes (where the bug changes nothing, e.g. `B_{k+1}` on ridge).
fn assert_confirmed(name: &str, bug: Bug, class: BugClass, must_fail: impl Fn(&str) -> bool) -> GateReport {
    let (_, _, report) = run_with(name, bug);
    let junit = unrollcheck::gate::check::junit(&report).unwrap();
    let mut failed = 0;
    for o in &report.outcomes {
        assert!(o.passed() || o.failed(), "{name}: {} unreadable: {:?}", o.id, o.error);
        if must_fail(&o.id) {
            assert!(o.failed(), "{name}: {} passed with the bug planted", o.id);
        }
        if o.passed() {
            assert!(o.cause.is_none(), "{name}: {} passed but has a cause", o.id);
            continue;
        }
        failed += 1;
        let c =
            confirmed(o).unwrap_or_else(|| panic!("{name}: {}: no single confirmed cause: {}", o.id, o.cause_text()));
        assert_eq!(c.class, class, "{name}: {}: {}", o.id, o.cause_text());
        assert!(o.cause_text().starts_with("confirmed"), "{}", o.cause_text());
        assert!(junit.contains(&xml_escaped(&o.cause_text())), "{name}: the JUnit message differs from the report");
    }
    assert!(failed > 0, "{name}: the planted bug failed nowhere");
    report
}

fn xml_escaped(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

fn everywhere(_: &str) -> bool {
    true
}

fn truncated(id: &str) -> bool {
    id.contains("_truncated")
}

fn heavy_ball(id: &str) -> bool {
    id.contains("heavy_ball")
}

#[test]
fn correct_traces_get_no_cause() {
    let (_, _, report) = run_with("nocause", Bug::None);
    assert!(report.outcomes.iter().all(|o| o.passed() && o.cause.is_none() && o.cause_text() == "—"));
}

#[test]
fn a_random_perturbation_is_cause_unknown() {
    let (inst, traces, _) = run_with("random", Bug::None);
    // A fixed pseudo-random pattern (no RNG in the test body): no bug class produces it.
    edit_rows(&inst, &traces, "jvp", |i, row| {
        for (j, x) in row.iter_mut().enumerate() {
            *x += 1e-3 * ((i * 7 + j * 13) as f64).sin();
        }
    });
    let report = check(&inst, &traces).unwrap();
    for o in &report.outcomes {
        assert!(o.failed(), "{}", o.id);
        let d = o.cause.as_ref().expect("a diagnosis");
        assert!(d.confirmed.is_empty() && d.unexplained == ["jvp"], "{}: {}", o.id, o.cause_text());
        assert!(o.cause_text().starts_with("cause unknown") && o.cause_text().contains("`jvp`"), "{}", o.cause_text());
    }
}

#[test]
fn sign_of_c_is_confirmed() {
    let report = assert_confirmed("sign", Bug::SignC, BugClass::SignC, everywhere);
    let o = &report.outcomes[0];
    assert!(o.cause_text().contains("the sign of C_k flipped, to "), "{}", o.cause_text());
}

#[test]
fn b_next_is_confirmed_where_it_changes_the_trace() {
    // On ridge B_k does not depend on x, and warm starts never move: B_{k+1} = B_k there.
    let moving_huber = |id: &str| id.contains("pseudo_huber") && !id.ends_with("_warm");
    let report = assert_confirmed("bnext", Bug::BNext, BugClass::BNext, moving_huber);
    for o in &report.outcomes {
        assert_eq!(o.passed(), !moving_huber(&o.id), "{}", o.id);
    }
}

#[test]
fn late_start_at_t_prime_plus_one_is_confirmed() {
    let fixed = Bug::LateStart { shift: 1, fixed_rows: true };
    assert_confirmed("late1", fixed, BugClass::LateStartPlusOne, everywhere);
    let report = assert_confirmed(
        "late1rows",
        Bug::LateStart { shift: 1, fixed_rows: false },
        BugClass::LateStartPlusOne,
        everywhere,
    );
    // One row fewer: a finding (exit 1) naming both row counts, not unreadable input.
    let f = &report.outcomes[0].findings.iter().find(|f| f.quantity == "jvp").unwrap();
    assert!(f.rows.is_some_and(|(want, got)| got + 1 == want), "{f:?}");
}

#[test]
fn late_start_at_t_prime_minus_one_is_confirmed() {
    assert_confirmed("latem1", Bug::LateStart { shift: -1, fixed_rows: false }, BugClass::LateStartMinusOne, truncated);
    // With K' − T' + 1 rows only the forward mode moves, by one index: invisible where C_k
    // and B_k do not depend on x (ridge with the targets as parameter).
    let visible = |id: &str| truncated(id) && !id.contains("ridge_targets");
    assert_confirmed("latem1f", Bug::LateStart { shift: -1, fixed_rows: true }, BugClass::LateStartMinusOne, visible);
}

#[test]
fn the_literal_index_is_confirmed() {
    let report = assert_confirmed("literal", Bug::LiteralIndex, BugClass::LiteralIndex, truncated);
    // Untruncated, Ẋ_0^{(K')} is the right output: those pass (the control).
    assert!(report.outcomes.iter().filter(|o| !truncated(&o.id)).all(|o| o.passed()));
}

#[test]
fn a_frozen_derivative_is_confirmed_with_its_threshold() {
    // examples/gate_numpy.py's test, step by step: the warm starts freeze from the start.
    let report = assert_confirmed("freeze", Bug::Freeze { eps: 1e-8, suffix: false }, BugClass::Frozen, |id| {
        id.ends_with("_warm")
    });
    for o in report.outcomes.iter().filter(|o| o.failed()) {
        assert!(o.cause_text().contains("ε fitted"), "{}", o.cause_text());
    }
    // Frozen from the first loosely converged step on.
    assert_confirmed("freeze2", Bug::Freeze { eps: 1e-2, suffix: true }, BugClass::Frozen, |_| false);
}

#[test]
fn float32_iterates_are_confirmed() {
    assert_confirmed("f32it", Bug::Float32Iterates, BugClass::Float32Iterates, everywhere);
    // A float64 computation rounded to float32 and saved as float64: the same diagnosis.
    assert_confirmed("f32", Bug::Float32, BugClass::Float32Iterates, |_| false);
}

#[test]
fn a_dropped_warm_start_is_confirmed() {
    assert_confirmed("nowarm", Bug::DroppedWarmStart, BugClass::DroppedWarmStart, everywhere);
}

#[test]
fn a_non_zero_initial_derivative_is_confirmed() {
    assert_confirmed("xdot0", Bug::NonZeroStart, BugClass::NonZeroStart, everywhere);
}

#[test]
fn no_transpose_in_the_sweep_is_confirmed_on_heavy_ball() {
    // Gradient descent has a symmetric B_k: the missing transpose changes nothing there.
    let report = assert_confirmed("notr", Bug::NoTranspose, BugClass::NoTranspose, heavy_ball);
    assert!(report.outcomes.iter().filter(|o| !heavy_ball(&o.id)).all(|o| o.passed()));
}

#[test]
fn the_adjoint_order_of_algorithm_1_as_printed_is_confirmed() {
    assert_confirmed("adjoint", Bug::AdjointOrder, BugClass::AdjointOrder, |id| !id.ends_with("_warm"));
}

#[test]
fn a_stale_heavy_ball_state_is_confirmed() {
    let report = assert_confirmed("stale", Bug::StaleMomentum, BugClass::StaleMomentum, heavy_ball);
    for o in report.outcomes.iter().filter(|o| o.failed()) {
        // x_0 + 0.3 in each of the N = 3 entries: ‖x_{−1} − x_0‖ = 0.3 √3.
        let gap = confirmed(o).unwrap().value.unwrap();
        assert!((gap - 0.3 * 3f64.sqrt()).abs() < 1e-9, "{}: {gap}", o.id);
    }
}

#[test]
fn a_wrong_step_size_is_confirmed_with_the_fitted_value() {
    for (name, factor) in [("alpha6", 1.0 + 1e-6), ("alpha10", 1.1)] {
        let (inst, _, report) = run_with(name, Bug::StepSize(factor));
        let manifest = read_manifest(&inst).unwrap();
        for (o, e) in report.outcomes.iter().zip(&manifest.instances) {
            let c = confirmed(o).unwrap_or_else(|| panic!("{name}: {}: {}", o.id, o.cause_text()));
            assert_eq!(c.class, BugClass::StepSize, "{name}: {}: {}", o.id, o.cause_text());
            let alpha = Npz::read(&inst.join(&e.file)).unwrap().raw("alpha").unwrap().data[0];
            let fitted = c.value.unwrap();
            assert!(
                (fitted / (alpha * factor) - 1.0).abs() < 1e-9,
                "{name}: {}: α {fitted} vs {}",
                o.id,
                alpha * factor
            );
        }
    }
}

#[test]
fn a_wrong_momentum_is_confirmed_with_the_fitted_value() {
    let report = assert_confirmed("beta", Bug::Momentum(0.45), BugClass::Momentum, heavy_ball);
    for o in report.outcomes.iter().filter(|o| o.failed()) {
        assert!((confirmed(o).unwrap().value.unwrap() - 0.45).abs() < 1e-9, "{}", o.cause_text());
    }
}

/// Two bugs, one per mode: each failing array gets its own confirmed class.
#[test]
fn one_bug_per_mode_gets_one_cause_per_mode() {
    let (inst, traces, _) = run_with("twobugs", Bug::SignC);
    let good = dir("twobugs_good");
    let (good_inst, good_traces) = (good.join("instances"), good.join("traces"));
    std::fs::create_dir_all(&good_traces).unwrap();
    export(&default_set(2026), &good_inst).unwrap();
    // The forward arrays with the sign bug, the reverse ones with the adjoint order.
    for e in &read_manifest(&inst).unwrap().instances {
        write_trace(&good_inst, &good_traces, e, Bug::AdjointOrder);
        let (sign, adj) =
            (Npz::read(&traces.join(&e.trace.file)).unwrap(), Npz::read(&good_traces.join(&e.trace.file)).unwrap());
        let arrays: Vec<(&str, Vec<usize>, Vec<f64>)> = ["x", "jvp", "vjp", "jvp_final", "vjp_final"]
            .into_iter()
            .map(|n| {
                let a = if n.starts_with("jvp") { sign.raw(n) } else { adj.raw(n) }.unwrap();
                (n, a.shape.clone(), a.data.clone())
            })
            .collect();
        npz::write(&traces.join(&e.trace.file), &arrays).unwrap();
    }
    let report = check(&inst, &traces).unwrap();
    let o = report.outcomes.iter().find(|o| o.id.contains("heavy_ball_pseudo_huber_targets_truncated")).unwrap();
    let d = o.cause.as_ref().unwrap();
    assert_eq!(d.class_of("jvp"), Some(BugClass::SignC), "{}", o.cause_text());
    assert_eq!(d.class_of("vjp"), Some(BugClass::AdjointOrder), "{}", o.cause_text());
    assert!(d.unexplained.is_empty(), "{}", o.cause_text());
}

/// Rewrites array `name` of every trace with `f(trace)` (same shape).
fn set_array(inst: &Path, traces: &Path, name: &str, f: impl Fn(&Npz) -> Vec<f64>) {
    for e in &read_manifest(inst).unwrap().instances {
        let path = traces.join(&e.trace.file);
        let old = Npz::read(&path).unwrap();
        let new = f(&old);
        let arrays: Vec<(&str, Vec<usize>, Vec<f64>)> = old
            .names()
            .map(|n| {
                let a = old.raw(n).unwrap();
                (n, a.shape.clone(), if n == name { new.clone() } else { a.data.clone() })
            })
            .collect();
        npz::write(&path, &arrays).unwrap();
    }
}

/// Row `i` of a 2-D array counted from the end (`1`: the last).
fn row_from_end(t: &Npz, name: &str, i: usize) -> Vec<f64> {
    let a = t.raw(name).unwrap();
    let (rows, cols) = (a.shape[0], a.shape[1]);
    a.data[(rows - i) * cols..(rows - i + 1) * cols].to_vec()
}

/// A deterministic pattern no bug class writes (no RNG in the test body).
fn noise(i: usize, row: &mut [f64]) {
    for (j, x) in row.iter_mut().enumerate() {
        *x += 1e-3 * ((i * 7 + j * 13) as f64).sin();
    }
}

/// Every instance of `report` fails, and no class is confirmed for `arrays` (each is
/// unexplained).
fn assert_unexplained(report: &GateReport, arrays: &[&str], what: &str) {
    for o in &report.outcomes {
        assert!(o.failed(), "{what}: {} passed", o.id);
        let d = o.cause.as_ref().expect("a diagnosis");
        for q in arrays {
            assert!(d.class_of(q).is_none(), "{what}: {}: `{q}` got a cause: {}", o.id, o.cause_text());
            assert!(d.unexplained.iter().any(|u| u == q), "{what}: {}: {}", o.id, o.cause_text());
        }
    }
}

/// Adversarial pass (F7): a final written from the row before the last (`jvp_final =
/// jvp[-2]`, all else right) was "confirmed [freeze]" with a fitted ε of up to 9 %, and
/// `vjp_final = vjp[-2]` "[late_plus_one]"; the trace's own passing arrays rule both out (a
/// freeze at K' − 1 changes the last `jvp` row, a sweep ending at T' + 1 the last `vjp`
/// row). A class is confirmed only when its simulation matches the arrays that passed too.
#[test]
fn a_final_from_the_previous_row_has_no_cause() {
    for q in ["jvp", "vjp"] {
        let (inst, traces, _) = run_with(&format!("final_prev_{q}"), Bug::None);
        set_array(&inst, &traces, &format!("{q}_final"), |t| row_from_end(t, q, 2));
        let report = check(&inst, &traces).unwrap();
        assert_unexplained(&report, &[&format!("{q}_final")], q);
        for o in &report.outcomes {
            assert!(o.cause_text().starts_with("cause unknown"), "{}", o.cause_text());
            assert_eq!(o.cause.as_ref().unwrap().unexplained, [format!("{q}_final")], "{}", o.cause_text());
        }
    }
}

/// Adversarial pass (F7, second variant): the rows of `vjp` (resp. `jvp`) left as zeros
/// with the other derivative arrays right were "confirmed [detached]" (or `[freeze]`),
/// which zeroes every derivative array; the passing `jvp` (resp. `vjp`) and final rule it
/// out. The control (every derivative array 0) keeps its cause:
/// `an_identically_zero_derivative_is_a_detached_parameter_not_a_freeze`.
#[test]
fn derivative_rows_left_zero_are_not_a_detached_parameter() {
    for q in ["vjp", "jvp"] {
        let (inst, traces, _) = run_with(&format!("rows_zero_{q}"), Bug::None);
        edit_rows(&inst, &traces, q, |_, row| row.iter_mut().for_each(|x| *x = 0.0));
        let report = check(&inst, &traces).unwrap();
        assert_unexplained(&report, &[q], q);
        for o in &report.outcomes {
            assert!(o.cause.as_ref().unwrap().confirmed.is_empty(), "{}: {}", o.id, o.cause_text());
        }
    }
}

/// Adversarial pass (F6): a class with a parameter fitted to the trace (α here) was
/// confirmed for the arrays it happened to fit while the others stayed unexplained. A
/// wrong step size with the reverse arrays also disturbed (a second bug no class
/// explains): `α` fitted to `x` reproduces `x`, `jvp`, `jvp_final` but not `vjp`, so
/// nothing is confirmed. Control: the step size alone is confirmed with its fitted value
/// (`a_wrong_step_size_is_confirmed_with_the_fitted_value`).
#[test]
fn a_fitted_class_must_explain_every_failing_array() {
    let (inst, traces, _) = run_with("fit_partial", Bug::StepSize(1.0 + 1e-6));
    edit_rows(&inst, &traces, "vjp", noise);
    set_array(&inst, &traces, "vjp_final", |t| row_from_end(t, "vjp", 1));
    let report = check(&inst, &traces).unwrap();
    for o in &report.outcomes {
        assert!(o.failed(), "{}", o.id);
        let d = o.cause.as_ref().unwrap();
        assert!(d.confirmed.is_empty(), "{}: {}", o.id, o.cause_text());
    }
    // Somewhere the fitted α is named as ruled out (it reproduces x where x fails).
    assert!(
        report.outcomes.iter().any(|o| o.cause_text().contains("[step_size] fits `x` but not every failing array")),
        "{}",
        report.outcomes[0].cause_text()
    );
}

/// Adversarial pass (F6): a final reproduced by a class whose simulation does not
/// reproduce the final's own array (`late_plus_one` for `jvp_final` with `jvp`
/// unexplained). A final is the last row of its array: a class explains both or neither.
/// Here a late start at T' + 1 with the earlier `jvp` rows disturbed: the reverse arrays
/// keep their cause, the forward ones have none.
#[test]
fn a_final_is_not_explained_without_its_array() {
    let (inst, traces, _) = run_with("final_alone", Bug::LateStart { shift: 1, fixed_rows: true });
    let rows = read_manifest(&inst).unwrap().instances.iter().map(|e| e.trace.arrays.jvp[0]).collect::<Vec<_>>();
    let last = rows.iter().copied().min().unwrap() - 1;
    edit_rows(&inst, &traces, "jvp", |i, row| {
        if i < last {
            noise(i, row)
        }
    });
    let report = check(&inst, &traces).unwrap();
    // (On ridge with the targets as parameter, B_k and C_k do not depend on x: the late
    // start leaves the forward rows as they were and `jvp_final` passes.)
    assert_unexplained(&report, &["jvp"], "late start");
    for o in &report.outcomes {
        let d = o.cause.as_ref().unwrap();
        assert_eq!(d.class_of("jvp_final"), None, "{}: {}", o.id, o.cause_text());
        assert_eq!(d.class_of("vjp"), Some(BugClass::LateStartPlusOne), "{}: {}", o.id, o.cause_text());
        assert_eq!(d.class_of("vjp_final"), Some(BugClass::LateStartPlusOne), "{}: {}", o.id, o.cause_text());
    }
}

fn expect_input_error(result: Result<GateReport, Error>, needle: &str) {
    match result {
        Err(Error::Input { location, message }) => {
            assert!(format!("{location} {message}").contains(needle), "{location}: {message}")
        }
        Err(Error::Io { path, message }) => assert!(format!("{path} {message}").contains(needle), "{path}: {message}"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("bad input accepted"),
    }
}

#[test]
fn bad_input_is_a_clear_error_naming_file_and_array() {
    let (inst, traces, _) = run_with("bad", Bug::None);
    let m = read_manifest(&inst).unwrap();
    let e = &m.instances[0];
    let path = traces.join(&e.trace.file);
    let good = std::fs::read(&path).unwrap();
    // Truncated file.
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    expect_input_error(check(&inst, &traces), &e.trace.file);
    // Wrong shape.
    npz::write(&path, &[("x", vec![2, 2], vec![0.0; 4])]).unwrap();
    expect_input_error(check(&inst, &traces), "shape");
    // NaN.
    std::fs::write(&path, &good).unwrap();
    let mut arrays = Vec::new();
    let npzf = Npz::read(&path).unwrap();
    for name in ["x", "jvp", "vjp", "jvp_final", "vjp_final"] {
        let a = npzf.raw(name).unwrap();
        let mut data = a.data.clone();
        if name == "vjp" {
            data[3] = f64::NAN;
        }
        arrays.push((name, a.shape.clone(), data));
    }
    npz::write(&path, &arrays).unwrap();
    expect_input_error(check(&inst, &traces), "vjp");
    // Missing trace.
    std::fs::remove_file(&path).unwrap();
    expect_input_error(check(&inst, &traces), &e.trace.file);
    // A trace for an unknown instance.
    std::fs::write(&path, &good).unwrap();
    std::fs::write(traces.join("zz_unknown.npz"), &good).unwrap();
    expect_input_error(check(&inst, &traces), "unknown instance");
}

#[test]
fn a_float32_trace_gets_a_float32_tolerance_and_is_said_to_be_float32() {
    let (_, _, report) = run_with("f32dtype", Bug::Float32Dtype);
    for o in &report.outcomes {
        assert!(o.float32, "{} not recognised as float32", o.id);
        assert!(o.passed(), "{}: a correct float32 trace must pass: {:?}", o.id, o.findings);
    }
    assert!(unrollcheck::gate::check::markdown(&report).contains("float32"));
    // Negative control: the same float32 trace with a planted sign error still fails.
    let (_, _, bad) = run_with("f32sign", Bug::SignC);
    assert!(bad.outcomes.iter().all(|o| !o.passed()));
}

#[test]
fn a_wrong_dtype_is_named() {
    let (inst, traces, _) = run_with("dtype", Bug::None);
    let e = &read_manifest(&inst).unwrap().instances[0];
    let path = traces.join(&e.trace.file);
    let mut npzw = npyz::npz::NpzWriter::create(&path).unwrap();
    use npyz::WriterBuilder;
    let mut w = npzw.array::<i64>("x", Default::default()).unwrap().default_dtype().shape(&[2]).begin_nd().unwrap();
    w.extend([1i64, 2]).unwrap();
    w.finish().unwrap();
    drop(npzw);
    expect_input_error(check(&inst, &traces), "dtype");
}

/// `gate check --out DIR` never overwrites a foreign `DIR/report.md` (exit 2, the file left
/// as it was); into a fresh directory, or over its own report, it writes (the control).
#[test]
fn check_out_never_overwrites_a_foreign_report() {
    let (inst, traces, _) = run_with("cli_out", Bug::None);
    let out = inst.parent().unwrap().join("report");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("report.md"), "mine").unwrap();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_unrollcheck"))
            .args(["gate", "check", "--instances"])
            .arg(&inst)
            .arg("--traces")
            .arg(&traces)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("runs")
    };
    let o = run();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(out.join("report.md")).unwrap(), "mine");
    std::fs::remove_file(out.join("report.md")).unwrap();
    for _ in 0..2 {
        let o = run();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(std::fs::read_to_string(out.join("report.md")).unwrap().starts_with("# unrollcheck gate report"));
    }
}

/// An instance whose trace claim ends in a numerical failure (no verdict) does not pass;
/// control: the same instance with the claim holding passes.
#[test]
fn a_numerical_failure_of_a_trace_claim_fails_the_instance() {
    use unrollcheck::claims::{Point, Verdict};
    let outcome =
        |v: Verdict| Outcome { id: "x".into(), claims: vec![("sec41.trunc_fwd_rev".into(), v)], ..Outcome::default() };
    let nf = Verdict::NumericalFailure { cause: "tol is inf".into(), at: Point { k: 3, t: None } };
    assert!(!outcome(nf).passed());
    let holds = Verdict::Holds { checked: 1, margin: 0.5, at: Point { k: 3, t: None }, informative: true };
    assert!(outcome(holds).passed());
}

/// Rewrites the trace `path` array by array: `how(name)` gives the dtype (`<f8`, `>f8`,
/// `<f4`, `>f4`) and whether to store it in Fortran order; `lie` writes Fortran data under
/// a C-order header (the negative control: the layout must be read from the header).
fn rewrite(path: &Path, how: impl Fn(&str) -> (&'static str, bool), lie: bool) {
    use npyz::WriterBuilder;
    let old = Npz::read(path).unwrap();
    let mut npzw = npyz::npz::NpzWriter::create(path).unwrap();
    for name in ["x", "jvp", "vjp", "jvp_final", "vjp_final"] {
        let a = old.raw(name).unwrap();
        let (dtype, fortran) = how(name);
        let data: Vec<f64> = if fortran && a.shape.len() == 2 {
            let (r, c) = (a.shape[0], a.shape[1]);
            (0..r * c).map(|f| a.data[(f % r) * c + f / r]).collect()
        } else {
            a.data.clone()
        };
        let shape: Vec<u64> = a.shape.iter().map(|&d| d as u64).collect();
        let order = if fortran && !lie { npyz::Order::Fortran } else { npyz::Order::C };
        let dt = npyz::DType::Plain(dtype.parse().unwrap());
        if dtype.ends_with('4') {
            let w = npzw.array::<f32>(name, Default::default()).unwrap().dtype(dt).order(order).shape(&shape);
            let mut w = w.begin_nd().unwrap();
            w.extend(data.iter().map(|&x| x as f32)).unwrap();
            w.finish().unwrap();
        } else {
            let w = npzw.array::<f64>(name, Default::default()).unwrap().dtype(dt).order(order).shape(&shape);
            let mut w = w.begin_nd().unwrap();
            w.extend(data.iter().copied()).unwrap();
            w.finish().unwrap();
        }
    }
}

/// Issue #13, defect 1: a correct trace saved in Fortran order (`np.savez(x=X.T)` after a
/// transpose) or big-endian is read as written, and passes.
#[test]
fn fortran_order_and_big_endian_traces_are_read_as_written() {
    let (inst, traces, _) = run_with("layout", Bug::None);
    for e in &read_manifest(&inst).unwrap().instances {
        rewrite(&traces.join(&e.trace.file), |name| if name == "x" { (">f8", true) } else { ("<f8", true) }, false);
    }
    let report = check(&inst, &traces).unwrap();
    for o in &report.outcomes {
        assert!(o.passed(), "{}: a correct Fortran-order / big-endian trace must pass: {:?}", o.id, o.findings);
    }
    // Negative control: the same bytes under a C-order header are a different array.
    for e in &read_manifest(&inst).unwrap().instances {
        rewrite(&traces.join(&e.trace.file), |_| ("<f8", true), true);
    }
    let report = check(&inst, &traces).unwrap();
    assert!(report.outcomes.iter().any(|o| !o.passed()), "transposed data must not pass");
}

/// Issue #13, defect 2: each array is judged at the precision it is stored in. A float64
/// trace with float32-level errors fails; casting only `vjp_final` to float32 does not
/// loosen the other arrays (it passed before: one float32 array switched the whole instance
/// to float32 tolerance). A correct trace stored wholly as big-endian float32 passes.
#[test]
fn one_float32_array_does_not_loosen_the_others() {
    let (inst, traces, report) = run_with("loophole", Bug::Float32);
    assert!(report.outcomes.iter().any(|o| !o.passed()), "float32 errors in float64 arrays must fail");
    let failing: Vec<String> = report.outcomes.iter().filter(|o| !o.passed()).map(|o| o.id.clone()).collect();
    for e in &read_manifest(&inst).unwrap().instances {
        rewrite(
            &traces.join(&e.trace.file),
            |name| if name == "vjp_final" { ("<f4", false) } else { ("<f8", false) },
            false,
        );
    }
    let after = check(&inst, &traces).unwrap();
    for o in after.outcomes.iter().filter(|o| failing.contains(&o.id)) {
        assert!(!o.passed(), "{}: casting vjp_final to float32 must not make the float64 arrays pass", o.id);
        assert!(o.float32, "{}: the trace holds a float32 array", o.id);
    }
    let (inst, traces, _) = run_with("f32be", Bug::Float32Dtype);
    for e in &read_manifest(&inst).unwrap().instances {
        rewrite(&traces.join(&e.trace.file), |_| (">f4", false), false);
    }
    for o in &check(&inst, &traces).unwrap().outcomes {
        assert!(o.passed() && o.float32, "{}: a correct big-endian float32 trace must pass: {:?}", o.id, o.findings);
    }
}

/// Issue #13, defect 3: a manifest of another schema version, or whose indices disagree
/// with its instance files, is bad input (exit 2), not a list of meaningless mismatches.
#[test]
fn manifest_version_and_indices_are_checked() {
    let (inst, traces, _) = run_with("manifest", Bug::None);
    let path = inst.join("manifest.json");
    let good = std::fs::read_to_string(&path).unwrap();
    for version in ["0", "2"] {
        std::fs::write(&path, good.replacen("\"schema_version\": 1", &format!("\"schema_version\": {version}"), 1))
            .unwrap();
        expect_input_error(check(&inst, &traces), "schema_version");
    }
    let mut m: serde_json::Value = serde_json::from_str(&good).unwrap();
    let kp = m["instances"][0]["K_prime"].as_u64().unwrap();
    m["instances"][0]["K_prime"] = serde_json::json!(kp + 1);
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    expect_input_error(check(&inst, &traces), "K_prime");
    std::fs::write(&path, &good).unwrap();
    assert!(check(&inst, &traces).unwrap().outcomes.iter().all(|o| o.passed()), "the control passes");
}

/// Rewrites array `name` of every trace with `f(row index, row)`.
fn edit_rows(inst: &Path, traces: &Path, name: &str, f: impl Fn(usize, &mut [f64])) {
    for e in &read_manifest(inst).unwrap().instances {
        let path = traces.join(&e.trace.file);
        let old = Npz::read(&path).unwrap();
        let arrays: Vec<(&str, Vec<usize>, Vec<f64>)> = old
            .names()
            .map(|n| {
                let a = old.raw(n).unwrap();
                let mut data = a.data.clone();
                if n == name {
                    let cols = a.shape.get(1).copied().unwrap_or(data.len());
                    for (i, row) in data.chunks_mut(cols).enumerate() {
                        f(i, row);
                    }
                }
                (n, a.shape.clone(), data)
            })
            .collect();
        npz::write(&path, &arrays).unwrap();
    }
}

/// Issue #13, defect 4: the named cause must be the failure's. A float64 trace whose
/// derivative is off by a relative 1e-6 is not "float32 rounding" (its values are not
/// float32 numbers), and a derivative started from a wrong `Ẋ_0` that converges with the
/// reference is not "freezing". The controls: the real float32 and freeze bugs keep their names.
#[test]
fn causes_are_not_guessed_from_the_size_of_the_error() {
    let (inst, traces, _) = run_with("cause_scale", Bug::None);
    edit_rows(&inst, &traces, "jvp", |_, row| row.iter_mut().for_each(|x| *x *= 1.0 + 1e-6));
    edit_rows(&inst, &traces, "jvp_final", |_, row| row.iter_mut().for_each(|x| *x *= 1.0 + 1e-6));
    let report = check(&inst, &traces).unwrap();
    assert!(report.outcomes.iter().any(|o| !o.passed()), "a 1e-6 error must fail");
    for o in &report.outcomes {
        assert!(!o.cause_text().contains("float32"), "{}: {}", o.id, o.cause_text());
    }
    let (inst, traces, _) = run_with("cause_start", Bug::None);
    edit_rows(&inst, &traces, "jvp", |i, row| {
        if i == 0 {
            row.iter_mut().for_each(|x| *x += 0.5);
        }
    });
    let report = check(&inst, &traces).unwrap();
    assert!(report.outcomes.iter().all(|o| !o.passed()), "a wrong first row must fail");
    for o in &report.outcomes {
        assert!(!o.cause_text().contains("frozen"), "{}: {}", o.id, o.cause_text());
    }
    let (_, _, f32report) = run_with("cause_f32", Bug::Float32);
    assert!(f32report.outcomes.iter().any(|o| o.cause_text().contains("float32")));
}

/// Every derivative array of every trace multiplied by `factor` (0: zeroed, as a client
/// that detaches the parameter writes them).
fn scale_derivatives(inst: &Path, traces: &Path, factor: f64) {
    for q in ["jvp", "vjp", "jvp_final", "vjp_final"] {
        edit_rows(inst, traces, q, |_, row| row.iter_mut().for_each(|x| *x *= factor));
    }
}

/// How the gate must name an all-zero derivative (every derivative row 0) on instance `o`
/// (`src/gate/cause.rs`, module docs): `[freeze]` on the warm starts (`x_0 = x*`, converged
/// from the start); on a truncated instance `[freeze]` when the freeze before `T'` fits a
/// convergence test's `ε ≤ 10⁻²`, and `[detached]` above it, each noting the other;
/// `[detached]` alone on the untruncated runs that move. Returns the class it checked.
fn assert_zero_named(o: &Outcome) -> BugClass {
    use unrollcheck::gate::cause::CONVERGENCE_TEST;
    let c = confirmed(o).unwrap_or_else(|| panic!("{}: no single cause: {}", o.id, o.cause_text()));
    let (text, eps) = (o.cause_text(), c.value.unwrap_or(f64::NAN));
    let freeze_notes_detached =
        text.contains("every derivative step frozen: a detached parameter [detached] writes the same trace");
    let detached_notes_freeze = text.contains("a freeze before the late start T' writes the same trace at ε = ");
    let ok = if o.id.ends_with("_warm") {
        c.class == BugClass::Frozen && freeze_notes_detached
    } else if truncated(&o.id) {
        (c.class == BugClass::Frozen && freeze_notes_detached && eps <= CONVERGENCE_TEST)
            || (c.class == BugClass::Detached && detached_notes_freeze && eps > CONVERGENCE_TEST)
    } else {
        c.class == BugClass::Detached && c.value.is_none() && !detached_notes_freeze
    };
    assert!(ok, "{}: an all-zero derivative misnamed: {text}", o.id);
    c.class
}

/// The adversarial passes: zeroed derivatives (a detached parameter) were blamed on a
/// "freeze once converged" from step 0 with a fitted ε of 16 % — a convergence test that
/// fired before anything converged — and, on the truncated instances, from before the late
/// start at ε of 4 % to 36 %. An identically zero derivative is its own class where a freeze
/// cannot explain it (the untruncated runs that move) or needs more than a convergence
/// test's `ε`; where a freeze writes the same trace otherwise it keeps the name (the planted
/// freezes do) and says so. Every form occurs on the default set (the control of each).
#[test]
fn an_identically_zero_derivative_is_a_detached_parameter_not_a_freeze() {
    let (inst, traces, _) = run_with("zero_derivative", Bug::None);
    scale_derivatives(&inst, &traces, 0.0);
    let report = check(&inst, &traces).unwrap();
    let mut named = std::collections::BTreeSet::new();
    for o in &report.outcomes {
        assert!(o.failed(), "{}: a zero derivative must fail", o.id);
        named.insert((o.id.ends_with("_warm"), truncated(&o.id), assert_zero_named(o).id()));
    }
    for form in
        [(true, false, "freeze"), (false, true, "freeze"), (false, true, "detached"), (false, false, "detached")]
    {
        assert!(named.contains(&form), "no instance named {form:?}: {named:?}");
    }
}

/// The all-zero derivative of a truncated run whose iterates move: a freeze that began
/// before the late start `T'` writes it too. Above a convergence test's `ε` (`K = 30`: the
/// window needs `ε` = 4 % per step) the gate names `[detached]` and notes the freeze; at a
/// convergence test's (a freeze planted at `ε = 10⁻⁶` on a run of `K = 300`, `T' = 240`:
/// every derivative step frozen) it names the freeze and notes the detached parameter.
#[test]
fn an_all_zero_window_after_a_late_start_is_named_by_the_fitted_threshold() {
    use unrollcheck::gate::export::export_with_horizon;
    let set = default_set(2026);
    let one = [set.iter().copied().find(|(_, truncated)| *truncated).expect("a truncated instance")];
    for (k, class) in [(30, BugClass::Detached), (300, BugClass::Frozen)] {
        let d = dir(&format!("zero_after_late_start_{k}"));
        let (inst, traces) = (d.join("instances"), d.join("traces"));
        std::fs::create_dir_all(&traces).unwrap();
        let manifest = export_with_horizon(&one, &inst, k).unwrap();
        let e = &manifest.instances[0];
        write_trace(&inst, &traces, e, Bug::Freeze { eps: 1e-6, suffix: false });
        scale_derivatives(&inst, &traces, 0.0);
        let o = &check(&inst, &traces).unwrap().outcomes[0];
        assert!(o.failed(), "K = {k}, {}: the zero window must fail", o.id);
        let c = confirmed(o).unwrap_or_else(|| panic!("K = {k}: no single cause: {}", o.cause_text()));
        assert_eq!(c.class, class, "K = {k}: {}", o.cause_text());
        let other = match class {
            BugClass::Detached => "a freeze before the late start T' writes the same trace at ε = 4.",
            _ => "every derivative step frozen: a detached parameter [detached] writes the same trace",
        };
        assert!(o.cause_text().contains(other), "K = {k}: {}", o.cause_text());
    }
}

/// A derivative scaled to 1e-300 (or 1e-320, subnormal) of the reference lies within
/// tolerance of 0 but is neither frozen nor identically zero: no freeze, no detached
/// parameter. The control: the genuine freeze keeps its name (below, and
/// `a_frozen_derivative_is_confirmed_with_its_threshold`).
#[test]
fn a_tiny_derivative_is_neither_frozen_nor_detached() {
    for (name, factor) in [("tiny_derivative", 1e-300), ("subnormal_derivative", 1e-320)] {
        let (inst, traces, _) = run_with(name, Bug::None);
        scale_derivatives(&inst, &traces, factor);
        let report = check(&inst, &traces).unwrap();
        for o in &report.outcomes {
            assert!(o.failed(), "{name}: {} must fail", o.id);
            let classes: Vec<BugClass> = o.cause.iter().flat_map(|d| d.confirmed.iter().map(|c| c.class)).collect();
            assert!(
                !classes.contains(&BugClass::Frozen) && !classes.contains(&BugClass::Detached),
                "{name}: {}: {}",
                o.id,
                o.cause_text()
            );
        }
    }
    // Control: a genuine freeze on the warm starts is still named freeze.
    let (_, _, report) = run_with("tiny_control", Bug::Freeze { eps: 1e-8, suffix: false });
    let warm: Vec<&Outcome> = report.outcomes.iter().filter(|o| o.id.ends_with("_warm")).collect();
    assert!(!warm.is_empty());
    for o in warm {
        assert_eq!(confirmed(o).map(|c| c.class), Some(BugClass::Frozen), "{}: {}", o.id, o.cause_text());
    }
}

fn gate_check_cli(inst: &Path, traces: &Path, extra: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_unrollcheck"))
        .args(["gate", "check", "--instances"])
        .arg(inst)
        .arg("--traces")
        .arg(traces)
        .args(extra)
        .output()
        .expect("runs")
}

/// Issue #13, defect 5: on exit 2 the report and the JUnit file are still written, every
/// readable instance is checked, and the unreadable file is an error naming it; `--out`
/// prints a summary, not the report. Control: the same run without the bad file exits 0.
#[test]
fn unreadable_input_still_gets_a_report_and_junit() {
    let (inst, traces, _) = run_with("exit2", Bug::None);
    let out = inst.parent().unwrap().join("report");
    let junit = inst.parent().unwrap().join("junit.xml");
    let e = &read_manifest(&inst).unwrap().instances[3];
    let path = traces.join(&e.trace.file);
    let good = std::fs::read(&path).unwrap();
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    let args = ["--out", out.to_str().unwrap(), "--junit", junit.to_str().unwrap()];
    let o = gate_check_cli(&inst, &traces, &args);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("21 of 22 instances pass, 1 unreadable (exit code 2)"), "{stdout}");
    assert!(stdout.contains(&e.trace.file) && !stdout.contains("| instance |"), "a summary, not the report: {stdout}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert_eq!(md.matches("| pass |").count(), 21, "{md}");
    assert!(md.contains("**UNREADABLE**") && md.contains(&e.trace.file), "{md}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<error") && xml.contains(&e.trace.file), "{xml}");
    std::fs::write(&path, &good).unwrap();
    let o = gate_check_cli(&inst, &traces, &args);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(!std::fs::read_to_string(&junit).unwrap().contains("<error"));
}

/// `--only` checks a subset (an unknown id is exit 2); `--allow-missing` skips instances
/// without a trace (without it, a missing trace is exit 2).
#[test]
fn a_subset_can_be_checked() {
    let (inst, traces, _) = run_with("subset", Bug::None);
    let ids: Vec<String> = read_manifest(&inst).unwrap().instances.iter().map(|e| e.id.clone()).collect();
    let o = gate_check_cli(&inst, &traces, &["--only", &format!("{},{}", ids[0], ids[5])]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("2 of 2 instances pass"));
    let o = gate_check_cli(&inst, &traces, &["--only", "no_such_id"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no instance `no_such_id`"));
    for e in &read_manifest(&inst).unwrap().instances[1..] {
        std::fs::remove_file(traces.join(&e.trace.file)).unwrap();
    }
    let o = gate_check_cli(&inst, &traces, &[]);
    assert_eq!(o.status.code(), Some(2), "a missing trace without --allow-missing");
    let o = gate_check_cli(&inst, &traces, &["--allow-missing"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stdout).contains("1 of 22 instances pass, 21 skipped (no trace)"));
    // Each skipped instance is named on its row (cargo-mutants: an unnamed skip was missed).
    let stdout = String::from_utf8_lossy(&o.stdout);
    for id in &ids[1..] {
        let row =
            stdout.lines().find(|l| l.contains(&format!("`{id}`"))).unwrap_or_else(|| panic!("no row names {id}"));
        assert!(row.to_lowercase().contains("skip"), "{row}");
    }
    // `--allow-missing` with no trace for any selected instance checked nothing: exit 2,
    // the report saying so (a CI gate must not pass on an empty traces directory).
    let nothing = |o: &std::process::Output| {
        assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stdout));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("nothing was checked"),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
    };
    nothing(&gate_check_cli(&inst, &traces, &["--allow-missing", "--only", &ids[1]]));
    std::fs::remove_file(traces.join(&read_manifest(&inst).unwrap().instances[0].trace.file)).unwrap();
    nothing(&gate_check_cli(&inst, &traces, &["--allow-missing"]));
}

/// Two manifest entries with one id are refused (exit 2), naming the manifest and the id.
/// Control: the manifest as exported is read.
#[test]
fn a_duplicate_instance_id_is_refused() {
    let d = dir("dup");
    let (inst, traces) = (d.join("instances"), d.join("traces"));
    std::fs::create_dir_all(&traces).unwrap();
    export(&default_set(2026), &inst).unwrap();
    let manifest = read_manifest(&inst).expect("control: the exported manifest is read");
    let (first, second) = (&manifest.instances[0].id, &manifest.instances[1].id);
    let path = inst.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace(&format!("\"id\": \"{second}\""), &format!("\"id\": \"{first}\""))).unwrap();
    let e = read_manifest(&inst).expect_err("a duplicate id").to_string();
    assert!(
        e.contains("manifest.json") && e.contains(&format!("instance `{first}`")) && e.contains("duplicate"),
        "{e}"
    );
    let o = gate_check_cli(&inst, &traces, &["--allow-missing"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("duplicate instance id"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// Rows and `k` both, entries as `(row, column)` (also for NaN), and the equality forward =
/// reverse printed with its largest relative difference, not a margin of 0.
#[test]
fn the_report_gives_rows_iterations_and_entries() {
    let (inst, traces, report) = run_with("rows", Bug::SignC);
    let md = unrollcheck::gate::check::markdown(&report);
    // Truncated instance 01: T' = 24, so row 1 of jvp is k = 25.
    assert!(md.contains("`jvp` row 1 (k = 25), entry (1, "), "{md}");
    let good = run_with("rows_ok", Bug::None).2;
    let md = unrollcheck::gate::check::markdown(&good);
    assert!(md.contains("largest relative difference") && !md.contains("margin 0.000e0"), "{md}");
    assert!(!md.lines().any(|l| l.contains("trunc_fwd_rev") && l.contains("margin")), "{md}");
    edit_rows(&inst, &traces, "vjp", |i, row| {
        if i == 2 && row.len() > 1 {
            row[1] = f64::NAN;
        }
    });
    expect_input_error(check(&inst, &traces), "entry (2, 1) is NaN");
}

/// `examples/gate_numpy.py --bug NAME`, an independent NumPy client: every planted bug is
/// rejected (exit code 1), and every instance it fails names `[NAME]` as its one confirmed
/// cause; where the bug changes nothing (e.g. `b_next` on ridge) the instance passes. The
/// control: its traces without a bug pass. Needs python3 with NumPy (as `.ci/run` does);
/// without them the test says so and checks nothing.
#[test]
fn the_numpy_clients_planted_bugs_are_confirmed() {
    let numpy = std::process::Command::new("python3").args(["-c", "import numpy"]).status();
    if !numpy.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: python3 with NumPy is not available");
        return;
    }
    let d = dir("numpy");
    let inst = d.join("instances");
    // The default set and the accelerated one (Chebyshev, Nesterov: time-varying and
    // momentum maps), as `gate export --accelerated` writes them.
    let set: Vec<_> = default_set(2026).into_iter().chain(accelerated_set(2026, Size::Small)).collect();
    export(&set, &inst).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gate_numpy.py");
    let run = |traces: &Path, bug: Option<&str>| {
        let mut c = std::process::Command::new("python3");
        c.arg(&script).arg(&inst).arg(traces);
        if let Some(b) = bug {
            c.args(["--bug", b]);
        }
        assert!(c.output().unwrap().status.success(), "{bug:?}");
        run_report(&inst, traces)
    };
    let ok = run(&d.join("ok"), None);
    assert_eq!(ok.exit_code(), 0, "{}", unrollcheck::gate::check::markdown(&ok));
    assert_eq!(ok.outcomes.len(), 34);
    assert!(ok.outcomes.iter().all(|o| o.implicit.is_some()), "the client writes the implicit arrays");
    for class in BugClass::ALL {
        let report = run(&d.join(class.id()), Some(class.id()));
        assert_eq!(report.exit_code(), 1, "{}", class.id());
        // Each bug that can show on the accelerated methods does (the control for them).
        let accelerated_failing =
            report.outcomes.iter().filter(|o| o.failed() && (o.id.contains("chebyshev") || o.id.contains("nesterov")));
        let invisible = [BugClass::StaleMomentum, BugClass::Frozen]; // heavy-ball only; converged iterates only
        assert!(invisible.contains(&class) || accelerated_failing.count() > 0, "{}", class.id());
        assert_named_as_planted(&report, class);
    }
}

/// Every failing instance of `report` names the planted `class` as its one confirmed cause,
/// except a planted `detached`, named as [`assert_zero_named`] says (a derivative frozen
/// once converged writes the same all-zero trace on some instances).
fn assert_named_as_planted(report: &GateReport, class: BugClass) {
    for o in report.outcomes.iter().filter(|o| o.failed()) {
        let c = confirmed(o).unwrap_or_else(|| panic!("{}: {}: {}", class.id(), o.id, o.cause_text()));
        if class == BugClass::Detached {
            assert_zero_named(o);
            continue;
        }
        assert_eq!(c.class, class, "{}: {}", o.id, o.cause_text());
    }
    if class == BugClass::Detached {
        assert!(
            report.outcomes.iter().any(|o| confirmed(o).is_some_and(|c| c.class == BugClass::Detached)),
            "detached is named nowhere"
        );
    }
}

/// The random contraction layers of `gate export --layers` (issue #16; no objective): the
/// NumPy client's traces pass on all six (input, bias, weights; untruncated and truncated),
/// and each planted bug class that can show on a map without step size or momentum is
/// rejected on at least one layer with that class confirmed as the cause, on every failing
/// instance; the three that cannot (`step_size`, `momentum`: no `α`, `β`; `stale_momentum`:
/// heavy-ball only) leave the traces passing. Needs python3 with NumPy.
#[test]
fn the_numpy_client_passes_the_layers_and_its_planted_bugs_are_confirmed() {
    let numpy = std::process::Command::new("python3").args(["-c", "import numpy"]).status();
    if !numpy.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: python3 with NumPy is not available");
        return;
    }
    let d = dir("numpy_layers");
    let inst = d.join("instances");
    let m = export(&layers_set(2026, Size::Small), &inst).unwrap();
    assert!(m.instances.iter().all(|e| e.family == "layer" && e.method == "picard"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gate_numpy.py");
    let run = |traces: &Path, bug: Option<&str>| {
        let mut c = std::process::Command::new("python3");
        c.arg(&script).arg(&inst).arg(traces);
        if let Some(b) = bug {
            c.args(["--bug", b]);
        }
        assert!(c.output().unwrap().status.success(), "{bug:?}");
        run_report(&inst, traces)
    };
    let ok = run(&d.join("ok"), None);
    assert_eq!(ok.exit_code(), 0, "{}", unrollcheck::gate::check::markdown(&ok));
    assert_eq!(ok.outcomes.len(), 6);
    assert!(ok.outcomes.iter().all(|o| o.implicit.is_some()), "the client writes the implicit arrays");
    let invisible = [BugClass::StaleMomentum, BugClass::StepSize, BugClass::Momentum];
    for class in BugClass::ALL {
        let report = run(&d.join(class.id()), Some(class.id()));
        if invisible.contains(&class) {
            assert_eq!(report.exit_code(), 0, "{}: {}", class.id(), unrollcheck::gate::check::markdown(&report));
            continue;
        }
        assert_eq!(report.exit_code(), 1, "{}", class.id());
        assert_named_as_planted(&report, class);
    }
}

fn run_report(inst: &Path, traces: &Path) -> GateReport {
    unrollcheck::gate::check::run(inst, traces, &Default::default())
}

/// `gate export` refuses instances `gate check` could not judge (exit 2 at export, naming
/// the instance), and accepts the default set and the tight data of (19).
#[test]
fn export_refuses_what_the_checker_cannot_rebuild() {
    use unrollcheck::gate::export::check_exportable;
    use unrollcheck::problem::logistic::LogisticParam;
    use unrollcheck::problem::robust::RobustParam;
    use unrollcheck::spec::{Data, Family, Method, Spec};
    let base = Spec::figure2(1);
    for (spec, what) in [
        (Spec { family: Family::Huber { param: RobustParam::Weight, delta: 0.5 }, ..base }, "classic Huber"),
        (Spec { family: Family::Logistic { param: LogisticParam::Weight }, ..base }, "logistic regression"),
    ] {
        match check_exportable(&[(base, false), (spec, true)]) {
            Err(Error::Input { message, .. }) => {
                assert!(message.contains(what) && message.contains("\"seed\":1"), "{message}")
            }
            other => panic!("{spec:?}: {other:?}"),
        }
    }
    check_exportable(&default_set(0)).expect("the default set is exportable");
    for method in [Method::Chebyshev, Method::Nesterov, Method::NesterovConvex] {
        check_exportable(&[(Spec { method, ..base }, true)]).expect("the accelerated methods are exportable");
    }
    check_exportable(&[(Spec { data: Data::Tight, x0_sigma: None, ..base }, false)]).expect("tight data");
}

/// The large size class (`n = 50`, `K = 500`): a correct trace passes, and a failing one gets
/// its cause confirmed by simulations through the map's products (its dense Jacobians are
/// above `DENSE_LIMIT`; until 2026-11-26 it got "cause not simulated"). The small class
/// simulates with dense Jacobians (the other tests).
#[test]
fn large_instances_are_judged_and_their_causes_confirmed() {
    use unrollcheck::gate::cause::{DENSE_LIMIT, SIMULATION_LIMIT};
    use unrollcheck::gate::export::export_with_horizon;
    let (m, n, k) = Size::Large.dims();
    let large = sized_set(2026, Size::Large);
    assert!(large.iter().all(|(s, _)| (s.m, s.n) == (m, n)) && large.len() == default_set(2026).len());
    // One instance: gradient descent, ridge weight, untruncated.
    let one = [large[0]];
    for (name, bug, class) in [
        ("large_ok", Bug::None, None),
        ("large_sign", Bug::SignC, Some(BugClass::SignC)),
        ("large_adjoint", Bug::AdjointOrder, Some(BugClass::AdjointOrder)),
        // The iterates of this slow run: r_k from 0.04 to 0.09, so ε = 0.05 freezes the first
        // steps; up to 2K = 1000 windows, only the few the submitted rows allow are run.
        ("large_freeze", Bug::Freeze { eps: 0.05, suffix: false }, Some(BugClass::Frozen)),
    ] {
        let d = dir(name);
        let (inst, traces) = (d.join("instances"), d.join("traces"));
        std::fs::create_dir_all(&traces).unwrap();
        let manifest = export_with_horizon(&one, &inst, k).unwrap();
        let e = &manifest.instances[0];
        assert_eq!((e.n, e.k, e.k_prime), (n, k, k));
        let dense = (e.k_prime + 1) * e.n * (e.n + e.p);
        assert!(dense > DENSE_LIMIT && dense <= SIMULATION_LIMIT);
        write_trace(&inst, &traces, e, bug);
        let o = &check(&inst, &traces).unwrap().outcomes[0];
        match class {
            None => assert!(o.passed(), "{:?}", o.findings),
            Some(class) => {
                assert!(o.failed() && o.cause_not_simulated.is_none(), "{name}: {}", o.cause_text());
                assert_eq!(confirmed(o).map(|c| c.class), Some(class), "{}", o.cause_text());
            }
        }
    }
}

/// Implicit differentiation (`implicit_jvp`, `implicit_vjp`, `hypergrad`, optional): correct
/// arrays computed by linear solves pass, with a tolerance from `κ₂(I − B)` reported per
/// instance; a trace without them passes too (the other tests). Negative control: a relative
/// error of 1e-7 in one of them fails on every instance, with no known cause.
#[test]
fn correct_implicit_arrays_pass_and_a_small_error_does_not() {
    let (inst, traces, report) = run_with("implicit_ok", Bug::Implicit(Implicit::Correct));
    for o in &report.outcomes {
        assert!(o.passed(), "{}: {:?}", o.id, o.findings);
        let i = o.implicit.as_ref().expect("implicit arrays checked");
        assert_eq!(i.arrays, ["implicit_jvp", "implicit_vjp", "hypergrad"]);
        // The tolerance is rounding-sized: at most 1.3e-9 relative on the default set.
        assert!(i.cond >= 1.0 && i.tol.iter().zip(&i.scale).all(|(t, s)| *t < 1e-8 * s), "{}: {i:?}", o.id);
    }
    assert!(unrollcheck::gate::check::markdown(&report).contains("κ₂(I − B)"));
    for name in ["implicit_jvp", "implicit_vjp", "hypergrad"] {
        run_with("implicit_ok", Bug::Implicit(Implicit::Correct));
        edit_rows(&inst, &traces, name, |_, row| row.iter_mut().for_each(|x| *x *= 1.0 + 1e-7));
        let report = check(&inst, &traces).unwrap();
        for o in &report.outcomes {
            assert!(o.failed() && o.findings[0].quantity == name, "{name}: {}: {:?}", o.id, o.findings);
            assert!(o.cause_text().starts_with("cause unknown"), "{name}: {}", o.cause_text());
        }
    }
}

/// Each implicit bug class is rejected with its cause confirmed: the transposed system on
/// heavy-ball (on gradient descent `I − B` is symmetric and the bug changes nothing), the
/// dropped minus sign everywhere, the implicit derivative at the last iterate except on the
/// warm starts (where `x_{K'} = x*`). The unrolled arrays are correct, so they pass.
#[test]
fn implicit_bugs_are_confirmed() {
    let not_warm = |id: &str| !id.ends_with("_warm");
    for (name, how, class, must_fail) in [
        ("imp_t", Implicit::Transpose, BugClass::ImplicitTranspose, heavy_ball as fn(&str) -> bool),
        ("imp_s", Implicit::Sign, BugClass::ImplicitSign, everywhere),
        ("imp_x", Implicit::AtIterate, BugClass::ImplicitAtIterate, not_warm),
    ] {
        let report = assert_confirmed(name, Bug::Implicit(how), class, must_fail);
        for o in report.outcomes.iter().filter(|o| o.failed()) {
            assert!(o.findings.iter().all(|f| f.quantity.starts_with("implicit") || f.quantity == "hypergrad"));
            assert!(o.first_failure().contains("(at x*)"), "{}", o.first_failure());
        }
        if how == Implicit::Transpose {
            assert!(report.outcomes.iter().all(|o| o.failed() == heavy_ball(&o.id)), "{name}");
        }
    }
}

/// An implicit array of the wrong shape is unreadable input (exit 2 in the CLI) naming the
/// file and the array; the control: the same trace without it passes (exit 0).
#[test]
fn an_implicit_array_of_the_wrong_shape_is_exit_2() {
    let (inst, traces, _) = run_with("imp_shape", Bug::Implicit(Implicit::Correct));
    let e = &read_manifest(&inst).unwrap().instances[0];
    let path = traces.join(&e.trace.file);
    let old = Npz::read(&path).unwrap();
    let mut arrays: Vec<(&str, Vec<usize>, Vec<f64>)> = old
        .names()
        .filter(|n| *n != "hypergrad")
        .map(|n| (n, old.raw(n).unwrap().shape.clone(), old.raw(n).unwrap().data.clone()))
        .collect();
    npz::write(&path, &arrays).unwrap();
    assert_eq!(gate_check_cli(&inst, &traces, &[]).status.code(), Some(0), "a missing optional array is fine");
    arrays.push(("hypergrad", vec![e.p + 1], vec![0.0; e.p + 1]));
    npz::write(&path, &arrays).unwrap();
    expect_input_error(check(&inst, &traces), "hypergrad");
    let o = gate_check_cli(&inst, &traces, &[]);
    assert_eq!(o.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains(&e.trace.file) && stdout.contains("`hypergrad`") && stdout.contains("shape"), "{stdout}");
}

/// `gate export --accelerated` appends the Chebyshev and Nesterov instances after the
/// default set, whose files and manifest entries stay byte for byte as without the flag
/// (the reports and `.ci/run` depend on them).
#[test]
fn the_accelerated_export_leaves_the_default_set_as_it_was() {
    let d = dir("accel_export");
    let (plain, accel) = (d.join("plain"), d.join("accel"));
    let m = export(&default_set(2026), &plain).unwrap();
    let set: Vec<_> = default_set(2026).into_iter().chain(accelerated_set(2026, Size::Small)).collect();
    let ma = export(&set, &accel).unwrap();
    assert_eq!(ma.instances.len(), m.instances.len() + 12);
    assert_eq!(ma.instances[..m.instances.len()], m.instances[..]);
    for e in &m.instances {
        assert_eq!(
            std::fs::read(plain.join(&e.file)).unwrap(),
            std::fs::read(accel.join(&e.file)).unwrap(),
            "{}",
            e.id
        );
    }
    let methods: Vec<&str> = ma.instances[m.instances.len()..].iter().map(|e| e.method.as_str()).collect();
    for method in ["chebyshev", "nesterov", "nesterov_convex"] {
        assert_eq!(methods.iter().filter(|m| **m == method).count(), 4, "{methods:?}");
    }
    // Chebyshev instances carry their interval [μ, L]; the others have no such arrays.
    for e in &ma.instances {
        let f = Npz::read(&accel.join(&e.file)).unwrap();
        assert_eq!(f.raw("mu").is_some() && f.raw("L").is_some(), e.method == "chebyshev", "{}", e.id);
    }
}

/// The same export gives the same bytes whenever it runs: every `.npz` entry carries zip's
/// epoch (1980-01-01 00:00), not the clock (before, two exports two seconds apart differed
/// in their timestamps only). Control: an entry written with the writer's default options
/// carries the current time, which the check tells apart.
#[test]
fn exported_files_do_not_depend_on_the_clock() {
    let d = dir("clock");
    let m = export(&default_set(2026), &d.join("instances")).unwrap();
    let stamps = |path: &Path| -> Vec<(u16, u8, u8, u8, u8, u8)> {
        let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        (0..z.len())
            .map(|i| {
                let t = z.by_index(i).unwrap().last_modified();
                (t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second())
            })
            .collect()
    };
    for e in &m.instances {
        let s = stamps(&d.join("instances").join(&e.file));
        assert!(!s.is_empty() && s.iter().all(|&t| t == (1980, 1, 1, 0, 0, 0)), "{}: {s:?}", e.id);
    }
    let control = d.join("clock.npz");
    {
        use npyz::WriterBuilder;
        let mut npz = npyz::npz::NpzWriter::create(&control).unwrap();
        let mut w = npz.array::<f64>("x", Default::default()).unwrap().default_dtype().shape(&[1]).begin_nd().unwrap();
        w.extend([1.0]).unwrap();
        w.finish().unwrap();
    }
    assert!(stamps(&control).iter().all(|t| t.0 >= 2026), "{:?}", stamps(&control));
}

/// Edits entry `i` of the manifest and its instance file: `K = K' = k` (untruncated), and the
/// trace shapes that follow, so that the manifest is consistent (the trace is left as it is).
fn set_horizon(inst: &Path, i: usize, k: usize) -> Entry {
    let path = inst.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let e = &mut m["instances"][i];
    assert_eq!(e["T"], 0, "an untruncated instance");
    let (n, p) = (e["n"].as_u64().unwrap() as usize, e["p"].as_u64().unwrap() as usize);
    e["K"] = serde_json::json!(k);
    e["K_prime"] = serde_json::json!(k);
    e["trace"]["arrays"]["x"] = serde_json::json!([k + 1, n]);
    e["trace"]["arrays"]["jvp"] = serde_json::json!([k + 1, n]);
    e["trace"]["arrays"]["vjp"] = serde_json::json!([k + 1, p]);
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let entry: Entry = serde_json::from_value(m["instances"][i].clone()).unwrap();
    edit_scalars(&inst.join(&entry.file), &[("K", k as f64), ("K_prime", k as f64)]);
    entry
}

/// Rewrites the scalars `edits` of the instance file `path`, every other array as it was.
fn edit_scalars(path: &Path, edits: &[(&str, f64)]) {
    let old = Npz::read(path).unwrap();
    let arrays: Vec<(&str, Vec<usize>, Vec<f64>)> = old
        .names()
        .map(|n| {
            let a = old.raw(n).unwrap();
            let data = edits.iter().find(|(q, _)| *q == n).map_or_else(|| a.data.clone(), |(_, v)| vec![*v]);
            (n, a.shape.clone(), data)
        })
        .collect();
    npz::write(path, &arrays).unwrap();
}

fn with_limit(gib: f64) -> unrollcheck::gate::check::Selection {
    unrollcheck::gate::check::Selection { max_memory_gib: gib, ..Default::default() }
}

/// An instance whose reference would not fit in `--max-memory` is refused (exit 2) before it
/// is read, naming the instance and the estimate: `K = K' = 10⁹` (the reporter's case, 80 s
/// and an OOM kill at 22.8 GB before) is refused at once under the default 4 GiB. The control:
/// the same instance at `K = 10⁵` is refused just below its estimate ([`reference_bytes`]) and
/// judged just above it — its trace of 31 rows is a finding (exit 1), with its cause not
/// simulated, whose memory the limit does not cover.
#[test]
fn an_instance_beyond_the_memory_limit_is_refused_with_its_estimate() {
    use unrollcheck::gate::check::{reference_bytes, run, simulation_bytes};
    let (inst, traces, _) = run_with("memory", Bug::None);
    let e = set_horizon(&inst, 0, 1_000_000_000);
    let start = std::time::Instant::now();
    let report = run(&inst, &traces, &Default::default());
    assert!(start.elapsed().as_secs() < 30, "refused at once, not after running: {:?}", start.elapsed());
    assert_eq!(report.exit_code(), 2);
    let err = report.outcomes[0].error.as_ref().expect("refused");
    let text = err.to_string();
    for needle in [&format!("instance `{}`", e.id), "estimated peak memory", "--max-memory", "K' = 1000000000"] {
        assert!(text.contains(needle), "the refusal names {needle:?}: {text}");
    }
    assert!(report.outcomes[1..].iter().all(|o| o.passed()), "the other instances are still judged");
    // The CLI: exit 2, the instance named on stdout.
    let o = gate_check_cli(&inst, &traces, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stdout).contains("estimated peak memory"));
    // Control: K = 1e5, refused just below its estimate and judged just above it.
    let e = set_horizon(&inst, 0, 100_000);
    let gib = reference_bytes(&e) / 1024f64.powi(3);
    let below = run(&inst, &traces, &with_limit(0.99 * gib));
    assert!(below.outcomes[0].error.as_ref().is_some_and(|e| e.to_string().contains("estimated peak memory")));
    assert!(1.01 * gib < (reference_bytes(&e) + simulation_bytes(&e)) / 1024f64.powi(3));
    let above = run(&inst, &traces, &with_limit(1.01 * gib));
    let o = &above.outcomes[0];
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(above.exit_code(), 1);
    assert!(o.first_failure().contains("`x`: 31 rows, expected 100001"), "{}", o.first_failure());
    assert!(
        o.cause_text().contains("cause not simulated") && o.cause_text().contains("--max-memory"),
        "{}",
        o.cause_text()
    );
    // A limit that is not a positive number of GiB is refused.
    for bad in ["0", "-1", "nan"] {
        let o = gate_check_cli(&inst, &traces, &[&format!("--max-memory={bad}")]);
        assert_eq!(o.status.code(), Some(2), "--max-memory {bad}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("--max-memory"), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

/// A trace whose arrays declare more entries than the memory left for it is refused before
/// its data is read (a compressed archive of a few bytes can declare 10⁹ rows). Control: the
/// same archive declaring one row is read (and is then unreadable for its own reasons).
#[test]
fn a_trace_declaring_huge_arrays_is_refused_before_it_is_read() {
    let (inst, traces, _) = run_with("hugetrace", Bug::None);
    let e = &read_manifest(&inst).unwrap().instances[0];
    let path = traces.join(&e.trace.file);
    // An archive whose `x.npy` header declares 2³² rows (about 100 GB) and holds 4 entries:
    // refused before anything is allocated for the declared rows.
    let npy = |rows: u64| {
        let dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {}), }}", e.n);
        let mut header = dict.into_bytes();
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(b' ');
        }
        header.push(b'\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header);
        bytes.extend([0u8; 32]);
        bytes
    };
    let write = |rows: u64| {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        zip.start_file("x.npy", zip::write::FileOptions::default()).unwrap();
        std::io::Write::write_all(&mut zip, &npy(rows)).unwrap();
        zip.finish().unwrap();
    };
    write(1u64 << 32);
    let report = unrollcheck::gate::check::run(&inst, &traces, &Default::default());
    let err = report.outcomes[0].error.as_ref().expect("refused").to_string();
    assert!(err.contains(&e.trace.file) && err.contains("`x`") && err.contains("--max-memory"), "{err}");
    // Control: a header of a size that fits is read (and the 4 entries are then too few).
    write(1);
    let report = unrollcheck::gate::check::run(&inst, &traces, &Default::default());
    let err = report.outcomes[0].error.as_ref().expect("still unreadable").to_string();
    assert!(!err.contains("--max-memory"), "{err}");
}

/// A step size out of the convergence range (`alpha = 1e10`: the reference diverges to NaN)
/// is refused (exit 2) naming the file and `alpha`, instead of a FAIL against a NaN
/// reference with an infinite tolerance. Control: the file as exported passes.
#[test]
fn a_diverging_instance_is_refused_not_judged() {
    let (inst, traces, _) = run_with("diverge", Bug::None);
    let m = read_manifest(&inst).unwrap();
    for (i, alpha) in [(0, 1e10), (2, 1e10), (0, 2.5)] {
        let e = &m.instances[i];
        let path = inst.join(&e.file);
        let good = std::fs::read(&path).unwrap();
        let a0 = Npz::read(&path).unwrap().raw("alpha").unwrap().scalar();
        // Control first: the instance as exported passes.
        assert!(run_report(&inst, &traces).outcomes[i].passed());
        // 2.5: past 2/L for gradient descent (alpha = 2/(L + μ) exported), a finite
        // divergence: still refused.
        let alpha = if alpha < 10.0 { alpha * a0 } else { alpha };
        edit_scalars(&path, &[("alpha", alpha)]);
        let report = run_report(&inst, &traces);
        assert_eq!(report.exit_code(), 2, "alpha = {alpha}: {}", unrollcheck::gate::check::markdown(&report));
        let o = &report.outcomes[i];
        let err = o.error.as_ref().unwrap_or_else(|| panic!("{}: {}", e.id, o.first_failure())).to_string();
        assert!(err.contains(&e.file) && err.contains("`alpha") && err.contains("convergence range"), "{err}");
        assert!(!unrollcheck::gate::check::markdown(&report).contains("NaN"), "no NaN in the report");
        std::fs::write(&path, good).unwrap();
    }
}

/// Adversarial pass (F3): `gate export --size large --accelerated` (seed 2026) exported
/// `25_chebyshev_pseudo_huber_targets_truncated`, whose float64 Chebyshev run settles on a
/// stable cycle away from `x*` (the spectral radius at `x*` only says that iterates near it
/// converge), and the official float32 client, which reaches `x*`, was rejected there. Such
/// an instance is now drawn again in a default set (same id), refused by `--scenario`'s
/// export (exit 2, naming it, nothing written) and by `gate check` (exit 2, naming the file).
/// Controls: the redrawn instance reaches `x*`, and so does every instance of the small
/// default set and of the large one (whose files stay as they were:
/// `the_accelerated_export_leaves_the_default_set_as_it_was`).
#[test]
fn an_instance_whose_reference_does_not_reach_x_star_is_not_exported_or_judged() {
    use unrollcheck::gate::check::reaches_fixed_point;
    use unrollcheck::gate::export::{export_budgets, export_unjudged, export_with_horizon, redrawn};
    use unrollcheck::unroll::Trajectory;
    let (k, t) = (500, 100);
    let k_prime = k + 3 * t;
    let (spec, truncated) = accelerated_set(2026, Size::Large)[3];
    assert!(truncated && format!("{:?}", spec.method).contains("Chebyshev"), "{spec:?}");
    let run = |spec: &unrollcheck::spec::Spec| {
        let inst = spec.build().unwrap();
        let traj = Trajectory::run(&inst.map, &inst.x0, k_prime);
        reaches_fixed_point(&inst, &traj, k_prime)
    };
    let why = run(&spec).expect("the cycle is detected");
    assert!(why.contains("does not reach x*") && why.contains("√r"), "{why}");
    // The first redraw reaches x* (the derived seed is deterministic).
    assert_eq!(run(&redrawn(&spec, 1)), None, "the redrawn instance");
    for (s, truncated) in default_set(2026) {
        let kp = if truncated { 30 + 3 * 6 } else { 30 };
        let inst = s.build().unwrap();
        assert_eq!(reaches_fixed_point(&inst, &Trajectory::run(&inst.map, &inst.x0, kp), kp), None, "{s:?}");
    }
    // A default set draws it again: same size, same id, a file that reaches x*.
    let d = dir("cycle");
    let m = export_with_horizon(&[(spec, true)], &d.join("redrawn"), k).unwrap();
    assert_eq!(m.instances[0].id, "00_chebyshev_pseudo_huber_targets_truncated");
    // --scenario refuses it before writing anything.
    match export_budgets(&[(spec, t)], &d.join("scenario"), (k, 3)) {
        Err(Error::Input { location, message }) => {
            assert!(
                location.contains("--scenario") && location.contains("00_chebyshev_pseudo_huber_targets_truncated")
            );
            assert!(message.contains("does not reach x*"), "{message}");
        }
        other => panic!("not refused: {other:?}"),
    }
    assert!(!d.join("scenario").exists(), "nothing written");
    // gate check refuses the instance as an earlier export wrote it (exit 2, naming the file).
    let (inst, traces) = (d.join("old"), d.join("traces"));
    let e = export_unjudged(&[(spec, t)], &inst, (k, 3)).unwrap().instances.remove(0);
    std::fs::create_dir_all(&traces).unwrap();
    let s = &e.trace.arrays;
    let zeros = |shape: &[usize]| (shape.to_vec(), vec![0.0; shape.iter().product()]);
    let arrays: Vec<(&str, Vec<usize>, Vec<f64>)> = [
        ("x", zeros(&s.x)),
        ("jvp", zeros(&s.jvp)),
        ("vjp", zeros(&s.vjp)),
        ("jvp_final", zeros(&s.jvp_final)),
        ("vjp_final", zeros(&s.vjp_final)),
    ]
    .into_iter()
    .map(|(n, (shape, data))| (n, shape, data))
    .collect();
    npz::write(&traces.join(&e.trace.file), &arrays).unwrap();
    let report = run_report(&inst, &traces);
    assert_eq!(report.exit_code(), 2);
    let err = report.outcomes[0].error.as_ref().expect("refused").to_string();
    assert!(err.contains(&e.file) && err.contains("does not reach x*") && err.contains("`x0`"), "{err}");
}

/// SIGINT while `--junit` is being written (the file filled in its temporary
/// `.junit.xml.tmp-…`, the writer pausing before the rename): the process ends with 130 and
/// leaves neither the temporary file nor a `junit.xml`. Seen to fail when the temporary file
/// is not registered for the clean-up (it stayed). Control: without a signal the same run
/// writes `junit.xml` and leaves no temporary file.
#[test]
fn an_interrupted_junit_write_leaves_no_temporary_file() {
    let (inst, traces, _) = run_with("junit_sigint", Bug::None);
    let out = dir("junit_sigint_out");
    std::fs::create_dir_all(&out).unwrap();
    let junit = out.join("junit.xml");
    let temporary = |d: &Path| -> Vec<String> {
        std::fs::read_dir(d).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()
    };
    for signal in [true, false] {
        let mut child = signal::default_signals(&mut std::process::Command::new(env!("CARGO_BIN_EXE_unrollcheck")))
            .args(["gate", "check", "--instances"])
            .arg(&inst)
            .arg("--traces")
            .arg(&traces)
            .arg("--junit")
            .arg(&junit)
            .env("UNROLLCHECK_TEST_PAUSE_MS", if signal { "2000" } else { "0" })
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let (status, sent) = signal::signal_when(&mut child, "INT", || {
            signal && temporary(&out).iter().any(|n| n.starts_with(".junit.xml.tmp-"))
        });
        assert_eq!(temporary(&out).iter().filter(|n| n.contains(".tmp-")).count(), 0, "left: {:?}", temporary(&out));
        if signal {
            assert!(sent, "the temporary JUnit file never appeared");
            assert_eq!(status.code(), Some(130), "{status:?}");
            assert!(!junit.exists(), "an interrupted run wrote junit.xml");
        } else {
            assert_eq!(status.code(), Some(0), "{status:?}");
            assert!(junit.exists());
        }
    }
}

/// `--junit` inside the `--out` directory (its `report.md`, another file there, or the
/// directory itself) is refused before anything runs (exit 2), the report left as it was;
/// before, `--junit DIR/report.md` overwrote the report with XML (exit 0). Control: beside
/// it, both are written.
#[test]
fn junit_inside_the_report_directory_is_refused() {
    let (inst, traces, _) = run_with("junit_in_out", Bug::None);
    let d = inst.parent().unwrap();
    let out = d.join("rep");
    let o = gate_check_cli(&inst, &traces, &["--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let spelled = format!("{}/../rep/./report.md", out.display());
    for junit in [out.join("report.md"), out.join("junit.xml"), out.clone(), PathBuf::from(spelled)] {
        let o = gate_check_cli(&inst, &traces, &["--out", out.to_str().unwrap(), "--junit", junit.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "--junit {}", junit.display());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("--junit") && stderr.contains("--out directory"), "{stderr}");
        assert_eq!(std::fs::read_to_string(out.join("report.md")).unwrap(), report, "the report is left as it was");
        assert!(!out.join("junit.xml").exists());
    }
    // The reporter's case: a fresh --out directory and --junit its report.md.
    let fresh = d.join("fresh");
    let o = gate_check_cli(
        &inst,
        &traces,
        &["--out", fresh.to_str().unwrap(), "--junit", fresh.join("report.md").to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(!fresh.exists(), "nothing written");
    let junit = d.join("junit.xml");
    let o = gate_check_cli(&inst, &traces, &["--out", out.to_str().unwrap(), "--junit", junit.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read_to_string(&junit).unwrap().starts_with("<?xml"));
}

/// An array of a trace that the format does not define (`implicit_JVP`, a typo of the
/// optional `implicit_jvp`, or `extra`) is refused (exit 2) naming the trace file, the array
/// and the known names; before, it was silently ignored and the misspelled array never
/// checked (exit 0). Control: the trace with the implicit arrays spelled right passes.
#[test]
fn an_unknown_trace_array_is_refused() {
    let (inst, traces, report) = run_with("unknown_array", Bug::Implicit(Implicit::Correct));
    assert_eq!(report.exit_code(), 0);
    let e = &read_manifest(&inst).unwrap().instances[1];
    let path = traces.join(&e.trace.file);
    let good = Npz::read(&path).unwrap();
    for (from, to) in [("implicit_jvp", "implicit_JVP"), ("x", "x"), ("hypergrad", "extra")] {
        let mut arrays: Vec<(&str, Vec<usize>, Vec<f64>)> = good
            .names()
            .map(|n| {
                (if n == from { to } else { n }, good.raw(n).unwrap().shape.clone(), good.raw(n).unwrap().data.clone())
            })
            .collect();
        if from == "x" {
            arrays.push(("extra", vec![1], vec![0.0]));
        }
        npz::write(&path, &arrays).unwrap();
        let name = if from == "x" { "extra" } else { to };
        let o = gate_check_cli(&inst, &traces, &[]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        let stdout = String::from_utf8_lossy(&o.stdout);
        for needle in
            [e.trace.file.as_str(), &format!("array `{name}`"), "unknown array", "`implicit_jvp`", "`hypergrad`"]
        {
            assert!(stdout.contains(needle), "{needle:?} in {stdout}");
        }
    }
}

/// `sec41.trunc_fwd_rev` compares `jvp_final` with `vjp_final`: its tolerance is at their
/// precision. Casting only `x` of a trace to float32 left it at float32 rounding (5.2e-3
/// instead of 9.8e-12 on `01_gd_ridge_weight_truncated`) although both finals are float64.
/// Control: casting `jvp_final` to float32 does raise it, by float32's unit roundoff.
#[test]
fn the_forward_reverse_tolerance_follows_the_finals_dtypes() {
    let (inst, traces, report) = run_with("fwdrev_dtype", Bug::None);
    let tol_of = |r: &GateReport, i: usize| r.outcomes[i].fwd_rev.as_ref().unwrap().tol;
    let m = read_manifest(&inst).unwrap();
    let i = m.instances.iter().position(|e| e.id == "01_gd_ridge_weight_truncated").unwrap();
    let f64_tol = tol_of(&report, i);
    let path = traces.join(&m.instances[i].trace.file);
    rewrite(&path, |name| if name == "x" { ("<f4", false) } else { ("<f8", false) }, false);
    let after = check(&inst, &traces).unwrap();
    assert!(after.outcomes[i].passed() && after.outcomes[i].float32, "{:?}", after.outcomes[i].findings);
    assert_eq!(tol_of(&after, i), f64_tol, "x in float32 does not change the tolerance of jvp_final = vjp_final");
    rewrite(&path, |name| if name == "jvp_final" { ("<f4", false) } else { ("<f8", false) }, false);
    let after = check(&inst, &traces).unwrap();
    // The float64 tolerance plus the float32 model's (gate::precision), whose product of
    // length M + N + 4 errs by (λ/2)√d ε₃₂ per unit of scale where float64's errs by c d ε,
    // at the scale of the rounded final (which moves it by at most float32's unit roundoff).
    let e = &m.instances[i];
    let per =
        unrollcheck::gate::precision::float32_product(unrollcheck::gate::precision::step_length(e.m, e.n_cols), 1.0)
            / unrollcheck::tol::ToleranceModel::default().product(e.n + e.p, 1.0);
    let ratio = tol_of(&after, i) / (f64_tol * (1.0 + per));
    assert!((ratio - 1.0).abs() <= f64::from(f32::EPSILON), "a float32 final: float32 rounding ({ratio})");
}

/// `examples/gate_numpy.py --float32` passes its own gate on every set (`--accelerated
/// --layers --proximal`) and saves every array as float32. Before, the Chebyshev instances
/// failed: their implicit arrays were saved as float64 while computed partly in float32 (a
/// float64 weight `ω` promoting the arrays), so they were judged at float64 tolerance. The
/// float64 traces of the same client pass too (the control). Needs python3 with NumPy.
#[test]
fn the_numpy_clients_float32_traces_pass_on_every_set() {
    let numpy = std::process::Command::new("python3").args(["-c", "import numpy"]).status();
    if !numpy.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: python3 with NumPy is not available");
        return;
    }
    use unrollcheck::gate::export::proximal_set;
    let d = dir("numpy_f32");
    let inst = d.join("instances");
    let set: Vec<_> = default_set(2026)
        .into_iter()
        .chain(accelerated_set(2026, Size::Small))
        .chain(layers_set(2026, Size::Small))
        .chain(proximal_set(2026, Size::Small))
        .collect();
    let m = export(&set, &inst).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gate_numpy.py");
    for float32 in [true, false] {
        let traces = d.join(if float32 { "f32" } else { "f64" });
        let mut c = std::process::Command::new("python3");
        c.arg(&script).arg(&inst).arg(&traces);
        if float32 {
            c.arg("--float32");
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let report = run_report(&inst, &traces);
        assert_eq!(report.exit_code(), 0, "float32 {float32}: {}", unrollcheck::gate::check::markdown(&report));
        assert_eq!(report.outcomes.len(), m.instances.len());
        for e in &m.instances {
            let t = Npz::read(&traces.join(&e.trace.file)).unwrap();
            for n in t.names() {
                assert_eq!(t.raw(n).unwrap().float32, float32, "{}: `{n}` stored in the run's precision", e.id);
            }
        }
    }
}

/// `gate export --scenario` takes the scenario's budget (docs/gate.md): its `k_max` as the
/// horizon, a truncated instance per distinct `T = ⌊f·K⌋ > 0` of its `t_fractions`, and its
/// integer `omega` in `T' = T + ωT`, `K' = K + ωT`; `gate check` judges those instances with
/// that `ω` (correct traces pass, a late start at `T' + 1` is confirmed as such). Control:
/// the same grid without the keys has the horizon given (`--size`'s), `T = round(K/5)` and
/// `ω = 3`; a fractional `omega` is refused at its line and key.
#[test]
fn a_scenario_budget_is_exported_and_checked_with_its_omega() {
    use unrollcheck::gate::export::{export_budgets, scenario_budget};
    use unrollcheck::scenario::Scenario;
    let grid = "claims = [\"thm7.bound\"]\n[grid]\nfamily = [\"ridge_weight\", \"pseudo_huber_targets\"]\n\
                m = [6]\nn = [2]\nstep = [\"2/(L+m)\"]\nmethod = [\"gd\", \"heavy_ball\"]\n";
    let head = "name = \"budget\"\nseed = 3\ninstances = 1\n";
    let keys = "k_max = 40\nomega = 2.0\nt_fractions = [0.0, 0.1, 0.5, 0.52]\n";
    let sc = Scenario::parse("b.toml", &format!("{head}{keys}{grid}")).unwrap();
    let (items, (k, omega)) = scenario_budget(&sc, 30).unwrap();
    assert_eq!((k, omega), (40, 2));
    let ts: Vec<usize> = items.iter().map(|(_, t)| *t).collect();
    assert_eq!(ts, [0, 4, 20].repeat(4), "T = ⌊f·K⌋: 0 untruncated, 0.52·40 = 20.8 → 20 once");
    for bug in [Bug::None, Bug::LateStart { shift: 1, fixed_rows: true }] {
        let d = dir(&format!("budget-{}", bug != Bug::None));
        let (inst, traces) = (d.join("instances"), d.join("traces"));
        std::fs::create_dir_all(&traces).unwrap();
        let manifest = export_budgets(&items, &inst, (k, omega)).unwrap();
        for (e, (_, t)) in manifest.instances.iter().zip(&items) {
            assert_eq!((e.k, e.t, e.omega, e.t_prime, e.k_prime), (40, *t, 2, 3 * t, 40 + 2 * t), "{}", e.id);
            write_trace(&inst, &traces, e, bug);
        }
        let report = check(&inst, &traces).unwrap();
        assert_eq!(report.outcomes.len(), 12);
        for o in &report.outcomes {
            if bug == Bug::None {
                assert!(o.passed(), "{}: {:?}", o.id, o.findings);
                assert!(o.claims.iter().any(|(id, v)| id == "sec41.trunc_fwd_rev" && v.holds()), "{}", o.id);
            } else {
                let c = confirmed(o).unwrap_or_else(|| panic!("{}: {}", o.id, o.cause_text()));
                assert_eq!(c.class, BugClass::LateStartPlusOne, "{}: {}", o.id, o.cause_text());
            }
        }
    }
    // Control: without the keys, the horizon given, T = round(K/5), ω = 3.
    let plain = Scenario::parse("b.toml", &format!("{head}{grid}")).unwrap();
    let (items, budget) = scenario_budget(&plain, 30).unwrap();
    assert_eq!(budget, (30, 3));
    assert_eq!(items.iter().map(|(_, t)| *t).collect::<Vec<_>>(), [0, 6].repeat(4));
    // A fractional ω has no integer T' = T + ωT: refused at its line and key.
    let half = Scenario::parse("b.toml", &format!("{head}omega = 2.5\n{grid}")).unwrap();
    let e = scenario_budget(&half, 30).unwrap_err().to_string();
    assert!(e.contains("b.toml: line 4, column 9, key `omega`: omega = 2.5 is not exported"), "{e}");
}

/// Rewrites the trace at `path`: every array through `edit` (name, shape, entries), then
/// stored as float32 where `float32(name)`, else float64.
fn modify(path: &Path, edit: impl Fn(&str, &[usize], &mut Vec<f64>), float32: impl Fn(&str) -> bool) {
    use npyz::WriterBuilder;
    let old = Npz::read(path).unwrap();
    let names: Vec<String> = old.names().map(|n| n.to_string()).collect();
    let mut npzw = npyz::npz::NpzWriter::create(path).unwrap();
    for name in &names {
        let a = old.raw(name).unwrap();
        let mut data = a.data.clone();
        edit(name, &a.shape, &mut data);
        let shape: Vec<u64> = a.shape.iter().map(|&d| d as u64).collect();
        if float32(name) {
            let dt = npyz::DType::Plain("<f4".parse().unwrap());
            let w = npzw.array::<f32>(name, Default::default()).unwrap().dtype(dt).shape(&shape);
            let mut w = w.begin_nd().unwrap();
            w.extend(data.iter().map(|&x| x as f32)).unwrap();
            w.finish().unwrap();
        } else {
            let dt = npyz::DType::Plain("<f8".parse().unwrap());
            let w = npzw.array::<f64>(name, Default::default()).unwrap().dtype(dt).shape(&shape);
            let mut w = w.begin_nd().unwrap();
            w.extend(data.iter().copied()).unwrap();
            w.finish().unwrap();
        }
    }
}

const DERIVATIVES: [&str; 4] = ["jvp", "vjp", "jvp_final", "vjp_final"];

/// An edit of one trace array: its name, shape and entries.
type Edit<'a> = &'a dyn Fn(&str, &[usize], &mut Vec<f64>);

/// Adversarial finding F1: the float32 tolerance was the float64 worst case (with
/// `d = n + p = 3110` on ridge data) times 2²⁹, larger than the arrays it judged: on the large
/// set float32 derivative arrays all zero, 1 % off, or with the reverse output negated
/// passed. Now each fails, and correct float32 traces still pass (the negative control,
/// with every array's error at most a fraction of its tolerance). Seen to fail on the old
/// code (the zero and scaled traces passed).
#[test]
fn wrong_float32_traces_fail_on_the_large_set_and_correct_ones_pass() {
    let d = dir("f32large");
    let (inst, traces) = (d.join("instances"), d.join("traces"));
    std::fs::create_dir_all(&traces).unwrap();
    export(&sized_set(2026, Size::Large), &inst).unwrap();
    let m = read_manifest(&inst).unwrap();
    let ids = [
        "08_gd_ridge_data",
        "09_gd_ridge_data_truncated",
        "11_heavy_ball_ridge_data_truncated",
        "12_gd_pseudo_huber_weight",
        "20_gd_ridge_data_warm",
    ];
    let chosen: Vec<&Entry> = m.instances.iter().filter(|e| ids.contains(&e.id.as_str())).collect();
    assert_eq!(chosen.len(), ids.len());
    let sel = unrollcheck::gate::check::Selection {
        only: Some(ids.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    };
    let write = |edit: Edit| {
        for e in &chosen {
            write_trace(&inst, &traces, e, Bug::None);
            modify(&traces.join(&e.trace.file), edit, |_| true);
        }
        unrollcheck::gate::check::run(&inst, &traces, &sel)
    };
    // The control: correct, stored as float32.
    let report = write(&|_, _, _| {});
    assert_eq!(report.exit_code(), 0, "{}", unrollcheck::gate::check::markdown(&report));
    for o in &report.outcomes {
        assert_eq!(o.precision.len(), 5, "{}: every array judged in float32", o.id);
        for j in &o.precision {
            assert!(j.error_over_tol < 1.0 && j.tol_relative < 0.5, "{}: `{}`: {j:?}", o.id, j.quantity);
        }
    }
    let zero = |name: &str, _: &[usize], data: &mut Vec<f64>| {
        if DERIVATIVES.contains(&name) {
            data.iter_mut().for_each(|v| *v = 0.0)
        }
    };
    let scaled = |name: &str, _: &[usize], data: &mut Vec<f64>| {
        if DERIVATIVES.contains(&name) {
            data.iter_mut().for_each(|v| *v *= 0.99)
        }
    };
    // The reverse output negated: `vjp_final` and the last row of `vjp` with it.
    let negated = |name: &str, shape: &[usize], data: &mut Vec<f64>| {
        let len = data.len();
        let from = if name == "vjp" { len - shape[1] } else { 0 };
        if name == "vjp" || name == "vjp_final" {
            data[from..].iter_mut().for_each(|v| *v = -*v)
        }
    };
    let edits: [(&str, Edit); 3] =
        [("all zero", &zero), ("scaled by 0.99", &scaled), ("reverse output negated", &negated)];
    for (what, edit) in edits {
        let report = write(edit);
        for o in &report.outcomes {
            assert!(o.failed(), "{what}: {} passed: {}", o.id, unrollcheck::gate::check::markdown(&report));
            let holds = o.claims.iter().any(|(id, v)| id == "sec41.trunc_fwd_rev" && v.holds());
            let fwd = o.fwd_rev.as_ref().unwrap();
            assert!(
                !(holds && fwd.forward * fwd.reverse < 0.0),
                "{what}: {}: forward = reverse holds for opposite signs",
                o.id
            );
        }
    }
}

/// Adversarial finding F8: the format defines `vjp_final` as the last row of `vjp` (and
/// `jvp_final` of `jvp`), and the gate did not check it. A final that differs from that row
/// is a finding naming both arrays, not given to the cause simulations (the trace
/// contradicts itself; the final's own mismatch still is, as [literal_index] writes such a
/// final); correct traces have none (the control). Seen to fail on the old code (no such finding:
/// `vjp_final` negated and stored as float32 was judged only against the reference).
#[test]
fn a_final_that_is_not_the_last_row_of_its_array_is_a_finding_without_a_bug_class() {
    use unrollcheck::gate::check::FindingKind;
    let (inst, traces, report) = run_with("finals", Bug::None);
    assert!(report.outcomes.iter().all(|o| o.findings.is_empty()), "the control fails");
    let m = read_manifest(&inst).unwrap();
    // vjp_final negated, stored as float32; every other array float64.
    for e in &m.instances {
        modify(
            &traces.join(&e.trace.file),
            |name, _, data| {
                if name == "vjp_final" {
                    data.iter_mut().for_each(|v| *v = -*v)
                }
            },
            |name| name == "vjp_final",
        );
    }
    let report = check(&inst, &traces).unwrap();
    for o in &report.outcomes {
        assert!(o.failed(), "{}: passed with vjp_final negated", o.id);
        let f = o.findings.iter().find(|f| f.kind == FindingKind::NotLastRow).unwrap_or_else(|| {
            panic!("{}: no finding that vjp_final is not the last row of vjp: {:?}", o.id, o.findings)
        });
        assert_eq!(f.quantity, "vjp_final");
        assert!(f.to_string().contains("`vjp_final` is not the last row of `vjp`"), "{f}");
        assert!(o.cause_text().contains("`vjp_final` is not the last row of `vjp`"), "{}", o.cause_text());
    }
    // jvp_final from the row before the last (float64): the same finding for jvp.
    let (inst, traces, _) = run_with("finals_prev", Bug::None);
    let m = read_manifest(&inst).unwrap();
    for e in &m.instances {
        let t = Npz::read(&traces.join(&e.trace.file)).unwrap();
        let jvp = t.raw("jvp").unwrap();
        let prev = jvp.row(jvp.shape[0] - 2).to_vec();
        modify(
            &traces.join(&e.trace.file),
            |name, _, data| {
                if name == "jvp_final" {
                    *data = prev.clone()
                }
            },
            |_| false,
        );
    }
    let report = check(&inst, &traces).unwrap();
    let flagged =
        report.outcomes.iter().filter(|o| o.findings.iter().any(|f| f.kind == FindingKind::NotLastRow)).count();
    let failed = report.outcomes.iter().filter(|o| o.failed()).count();
    assert!(
        failed > 0 && flagged == failed,
        "{flagged} flagged of {failed} failing: {}",
        unrollcheck::gate::check::markdown(&report)
    );
}

/// Adversarial finding F4: a failing row printed "expected -1.148381e-1, got -1.148381e-1"
/// (7 digits), and a violated forward = reverse did not print its two sides. Now the entry
/// prints with round-trip digits and its own difference beside the row's error, and the
/// violated equality with both sides. Seen to fail on the old code.
#[test]
fn a_failing_entry_and_a_violated_forward_reverse_print_what_differs() {
    let (inst, traces, _) = run_with("digits", Bug::None);
    let m = read_manifest(&inst).unwrap();
    let e = &m.instances[0];
    // The reverse output off by 1e-9 relative: `vjp` from row 1 on and `vjp_final`.
    modify(
        &traces.join(&e.trace.file),
        |name, shape, data| {
            let from = if name == "vjp" { shape[1] } else { 0 };
            if name == "vjp" || name == "vjp_final" {
                data[from..].iter_mut().for_each(|v| *v *= 1.0 + 1e-9)
            }
        },
        |_| false,
    );
    let report = check(&inst, &traces).unwrap();
    let o = &report.outcomes[0];
    let f = &o.findings[0];
    assert_eq!(f.quantity, "vjp");
    let text = f.to_string();
    assert_ne!(format!("{:e}", f.expected), format!("{:e}", f.got));
    assert!(text.contains(&format!("expected {:e}, got {:e}", f.expected, f.got)), "{text}");
    assert!(text.contains("entry off by") && text.contains("‖row − reference row‖"), "{text}");
    let (_, v) = o.claims.iter().find(|(id, _)| id == "sec41.trunc_fwd_rev").unwrap();
    assert!(v.violated(), "{v}");
    let md = unrollcheck::gate::check::markdown(&report);
    let start = format!("- `{}` `sec41.trunc_fwd_rev`", e.id);
    let line = md.lines().find(|l| l.starts_with(&start)).unwrap();
    assert!(line.contains("w · jvp_final = ") && line.contains("vjp_final · v = "), "{line}");
    let junit = unrollcheck::gate::check::junit(&report).unwrap();
    assert!(junit.contains("vjp_final · v = "), "the JUnit message omits the sides");
}

/// A float32 array whose tolerance is not below half its reference's norm cannot be judged
/// (the implicit arrays of the large set, `κ₂(I − B)` about 4·10³, in float32): the instance
/// fails with "cannot be judged at float32 precision ... submit it as float64", with no bug
/// class; the same trace in float64 passes (the control). Before, it passed with a tolerance
/// of 5 to 7000 times the array's norm.
#[test]
fn a_float32_array_that_cannot_be_judged_fails_and_the_float64_one_passes() {
    use unrollcheck::gate::check::FindingKind;
    let d = dir("unjudgeable");
    let (inst, traces) = (d.join("instances"), d.join("traces"));
    std::fs::create_dir_all(&traces).unwrap();
    export(&sized_set(2026, Size::Large), &inst).unwrap();
    let m = read_manifest(&inst).unwrap();
    let e = m.instances.iter().find(|e| e.id == "00_gd_ridge_weight").unwrap();
    let sel = unrollcheck::gate::check::Selection { only: Some(vec![e.id.clone()]), ..Default::default() };
    write_trace(&inst, &traces, e, Bug::Implicit(Implicit::Correct));
    let report = unrollcheck::gate::check::run(&inst, &traces, &sel);
    assert_eq!(report.exit_code(), 0, "{}", unrollcheck::gate::check::markdown(&report));
    modify(&traces.join(&e.trace.file), |_, _, _| {}, |_| true);
    let report = unrollcheck::gate::check::run(&inst, &traces, &sel);
    let o = &report.outcomes[0];
    assert!(o.failed());
    let f = o.findings.iter().find(|f| f.kind == FindingKind::Unjudgeable).expect("an unjudgeable array");
    assert!(f.quantity.starts_with("implicit") || f.quantity == "hypergrad", "{f}");
    assert!(f.tol >= 0.5 * f.expected, "{f}");
    assert!(f.to_string().contains("cannot be judged at float32 precision"), "{f}");
    assert!(o.cause_text().contains("submit float64") && !o.cause_text().contains("confirmed ["), "{}", o.cause_text());
}
