//! quickcheck trials of the pure lemmas on arbitrary sequences and constants:
//! `lem4.unrolled`, `lem4.geometric` (sequences obeying (14), including equality),
//! `eq22.objective`, `lem11.convex`, `lem11.derivatives`, `rem12.discrete` (arbitrary
//! `ρ, ė_0, Γ, e_0, K, ω`) and `sec43.budget` (arbitrary `K`, `ω`). Each has its
//! deliberately false control, which quickcheck must refute. Seeds are fixed.

use libtest_mimic::{Failed, Trial};
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use unrollcheck::bounds::Truncation;
use unrollcheck::claims::eq22;
use unrollcheck::claims::lem4::{self, Sequences};
use unrollcheck::claims::{Verdict, sec43};
use unrollcheck::tol::ToleranceModel;

fn unit(g: &mut Gen) -> f64 {
    f64::from(u32::arbitrary(g)) / f64::from(u32::MAX)
}

/// Non-negative sequences obeying (14): `ė_{k+1} = ρė_k + Γe_k − s_k` with slack
/// `s_k ∈ [0, ρė_k + Γe_k]`, zero (equality in (14)) for about half the steps; with
/// `geometric`, also `e_{k+1} = f_k ρ e_k`, `f_k ∈ [0, 1]` (equality for about half).
#[derive(Debug, Clone)]
pub struct Seq14 {
    edot: Vec<f64>,
    e: Vec<f64>,
    rho: f64,
    gamma: f64,
}

impl Seq14 {
    fn draw(g: &mut Gen, geometric: bool) -> Self {
        let len = 1 + usize::arbitrary(g) % 60;
        let rho = unit(g) * 0.999;
        let gamma = if bool::arbitrary(g) { 10.0 * unit(g) } else { 0.0 };
        let mut e = vec![10.0 * unit(g)];
        for k in 1..len {
            let next = if geometric {
                let f = if bool::arbitrary(g) { 1.0 } else { unit(g) };
                f * rho * e[k - 1]
            } else {
                10.0 * unit(g)
            };
            e.push(next);
        }
        let mut edot = vec![10.0 * unit(g)];
        for k in 1..len {
            let rhs = rho * edot[k - 1] + gamma * e[k - 1];
            let slack = if bool::arbitrary(g) { 0.0 } else { unit(g) * rhs };
            edot.push(rhs - slack);
        }
        Seq14 { edot, e, rho, gamma }
    }
    fn seq(&self) -> Sequences<'_> {
        Sequences { edot: &self.edot, e: &self.e, rho: self.rho, gamma: self.gamma, noise: 0.0, noise_e: 0.0 }
    }
    fn prefixes(&self) -> Box<dyn Iterator<Item = Self>> {
        let me = self.clone();
        Box::new((1..self.edot.len()).rev().map(move |len| Seq14 {
            edot: me.edot[..len].to_vec(),
            e: me.e[..len].to_vec(),
            ..me.clone()
        }))
    }
}

/// Sequences for `lem4.unrolled` (arbitrary `e_k`).
#[derive(Debug, Clone)]
pub struct Unrolled(Seq14);
/// Sequences for `lem4.geometric` (`e_{k+1} ≤ ρ e_k`).
#[derive(Debug, Clone)]
pub struct Geometric(Seq14);

impl Arbitrary for Unrolled {
    fn arbitrary(g: &mut Gen) -> Self {
        Unrolled(Seq14::draw(g, false))
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        Box::new(self.0.prefixes().map(Unrolled))
    }
}

impl Arbitrary for Geometric {
    fn arbitrary(g: &mut Gen) -> Self {
        Geometric(Seq14::draw(g, true))
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        Box::new(self.0.prefixes().map(Geometric))
    }
}

/// Constants of (22) in the domain where `ρ^{K(1+ω)}` is a normal `f64`
/// (`K(1+ω)|ln ρ| ≤ 600`), so the printed formulas are representable.
#[derive(Debug, Clone)]
pub struct Consts(Truncation);

impl Arbitrary for Consts {
    fn arbitrary(g: &mut Gen) -> Self {
        let k = (1 + usize::arbitrary(g) % 1000) as f64;
        let free = 1.0 + 4.0 * unit(g);
        let omega = *g.choose(&[2.0, 2.5, 3.0, 4.0, free]).unwrap();
        let ln_min = -600.0 / (k * (1.0 + omega));
        let rho = (ln_min * (1.0 - unit(g)).max(1e-9)).exp().clamp(1e-300, 1.0 - 1e-12);
        let nonneg = |g: &mut Gen| if bool::arbitrary(g) { 10.0 * unit(g) } else { 0.0 };
        let (edot0, gamma, e0) = (nonneg(g), nonneg(g), nonneg(g));
        Consts(Truncation { rho, edot0, gamma, e0, k, omega })
    }
}

/// A budget `(K, ω)` with integer `ω`.
#[derive(Debug, Clone)]
pub struct Budget(u64, u64);

impl Arbitrary for Budget {
    fn arbitrary(g: &mut Gen) -> Self {
        Budget(u64::arbitrary(g) % 300, 1 + u64::arbitrary(g) % 8)
    }
}

const TOL: ToleranceModel = ToleranceModel { safety: 16.0 };

/// Holds → passed; violated → failed; not applicable → error (the generator promised the
/// premises); a numerical failure → error (no verdict).
fn judge(v: Verdict) -> TestResult {
    match v {
        Verdict::Holds { .. } => TestResult::passed(),
        Verdict::Violated(w) => TestResult::error(format!("{w}")),
        v @ Verdict::NumericalFailure { .. } => TestResult::error(format!("{v}")),
        v @ Verdict::NotApplicable { .. } => TestResult::error(format!("premise not met: {v}")),
    }
}

/// A control's verdict: violated → error with the witness (the refutation [`refuted`] looks for); holds →
/// passed; not applicable → discarded (the control's own premise, e.g. `rem12.discrete`'s
/// shifted point inside `[0, K]`, is not met: no evidence either way); a numerical failure →
/// error, which [`refuted`] does not count as a refutation.
fn judge_control(v: Verdict) -> TestResult {
    match v {
        Verdict::NotApplicable { .. } => TestResult::discard(),
        v => judge(v),
    }
}

macro_rules! pure_fns {
    ($($name:ident: $ty:ty => $judge:ident |$x:ident| $body:expr;)*) => {
        $(fn $name($x: $ty) -> TestResult { $judge($body) })*
    };
}

pure_fns! {
    unrolled_paper: Unrolled => judge |s| lem4::unrolled(&s.0.seq(), &TOL, "paper", None);
    unrolled_control: Unrolled => judge_control |s| lem4::unrolled(&s.0.seq(), &TOL, "no_gamma_sum", None);
    geometric_paper: Geometric => judge |s| lem4::geometric(&s.0.seq(), &TOL, "paper", None);
    geometric_control: Geometric => judge_control |s| lem4::geometric(&s.0.seq(), &TOL, "no_k_factor", None);
    objective_paper: Consts => judge |c| eq22::objective(&c.0, &TOL, "paper", None);
    objective_control: Consts => judge_control |c| eq22::objective(&c.0, &TOL, "t_prime_equals_t", None);
    convex_paper: Consts => judge |c| eq22::convex(&c.0, &TOL, "paper", None);
    convex_control: Consts => judge_control |c| eq22::convex(&c.0, &TOL, "concave", None);
    derivatives_paper: Consts => judge |c| eq22::derivatives(&c.0, &TOL, "paper", None);
    derivatives_control: Consts => judge_control |c| eq22::derivatives(&c.0, &TOL, "sign_flip", None);
    discrete_paper: Consts => judge |c| eq22::discrete(&c.0, &TOL, "paper", None);
    discrete_control: Consts => judge_control |c| eq22::discrete(&c.0, &TOL, "shift_two", None);
    budget_paper: Budget => judge |b| sec43::budget(b.0, &[b.1], "paper", None);
    budget_control: Budget => judge_control |b| sec43::budget(b.0, &[b.1], "t_prime_equals_t", None);
}

fn tests() -> u64 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(500)
}

fn qc(seed: u64) -> QuickCheck {
    QuickCheck::new().tests(tests()).max_tests(10 * tests()).rng(Gen::from_size_and_seed(100, seed))
}

fn holds<A: Arbitrary + std::fmt::Debug>(name: &str, seed: u64, f: fn(A) -> TestResult) -> Trial {
    Trial::test(format!("{name}::paper::pure"), move || match qc(seed).quicktest(f) {
        Ok(_) => Ok(()),
        Err(r) => Err(Failed::from(format!("{r:?}"))),
    })
}

fn refuted<A: Arbitrary + std::fmt::Debug>(name: &str, control: &str, seed: u64, f: fn(A) -> TestResult) -> Trial {
    let label = format!("{name}[{control}]");
    Trial::test(format!("{name}::control::{control}::pure"), move || match qc(seed).quicktest(f) {
        // Only a violation refutes a control: a numerical failure (or a premise not met) is
        // no verdict, and a control "caught" by one could not fail at all.
        Err(r) if format!("{r:?}").contains(&format!("{label} violated")) => {
            println!("caught {label}: {r:?}");
            Ok(())
        }
        Err(r) => Err(Failed::from(format!("{label} ended without a verdict, not in a violation: {r:?}"))),
        Ok(n) => Err(Failed::from(format!("{label} survived {n} tests: the check cannot fail"))),
    })
}

/// Every pure trial.
pub fn trials() -> Vec<Trial> {
    vec![
        holds("lem4.unrolled", 1, unrolled_paper),
        refuted("lem4.unrolled", "no_gamma_sum", 2, unrolled_control),
        holds("lem4.geometric", 3, geometric_paper),
        refuted("lem4.geometric", "no_k_factor", 4, geometric_control),
        holds("eq22.objective", 5, objective_paper),
        refuted("eq22.objective", "t_prime_equals_t", 6, objective_control),
        holds("lem11.convex", 7, convex_paper),
        refuted("lem11.convex", "concave", 8, convex_control),
        holds("lem11.derivatives", 9, derivatives_paper),
        refuted("lem11.derivatives", "sign_flip", 10, derivatives_control),
        holds("rem12.discrete", 11, discrete_paper),
        refuted("rem12.discrete", "shift_two", 12, discrete_control),
        holds("sec43.budget", 13, budget_paper),
        refuted("sec43.budget", "t_prime_equals_t", 14, budget_control),
    ]
}
