//! The paper's right-hand sides, each written once, used by the claims, the scenario
//! runner, the reproductions, the reports and the demo alike:
//!
//! - (8) `e_k ≤ ρ^k e_0`: [`bound_8`];
//! - (19) `ė_k ≤ ρ^k ė_0 + kρ^{k−1}Γe_0`: [`bound_19`] (integer powers);
//! - (21) `ė_{T'}^{(k)} ≤ ρ^k ė_0 + kρ^{k+T'−1}Γe_0`: [`rhs_21`] (real `k`, `T'`; at `T' = 0`
//!   it is (19) evaluated with real powers, which is how the claims and the scenario
//!   figures evaluate (19));
//! - (22) `h(T) = ρ^{K−T} ė_0 + (K−T) ρ^{K+ωT−1} Γ e_0`, its relaxed form of A.5, the printed
//!   `h'`, `h''` and the minimisers: [`Truncation`];
//! - the budget of Section 4.3, `K' = K + ωT`, `T' = T + ωT`: [`reallocate`];
//! - `h'`, `h''` by symbolic differentiation (exmex): [`symbolic_h_derivatives`].
//!
//! Each function keeps the exact order of floating-point operations of the code it
//! replaced, so every output is bit for bit what it was.

use crate::error::{Error, Result};
use crate::tol::ToleranceModel;
use exmex::prelude::*;
use num_dual::DualNum;

/// (8): `ρ^k e_0`.
pub fn bound_8(rho: f64, k: usize, e0: f64) -> f64 {
    rho.powi(k as i32) * e0
}

/// (19): `ρ^k ė_0 + kρ^{k−1}Γe_0`, with integer powers.
pub fn bound_19(rho: f64, k: usize, edot0: f64, gamma: f64, e0: f64) -> f64 {
    rho.powi(k as i32) * edot0 + k as f64 * rho.powi(k as i32 - 1) * gamma * e0
}

/// A term of (21) or (22) as its named factors, multiplied left to right ([`product`]);
/// written once here for the value and for the underflow checks of
/// [`crate::claims::eq22`], which name the first partial product that underflows.
pub type Factors<const N: usize> = [(&'static str, f64); N];

/// The product of `factors`, left to right (from `1.0`, an exact first step).
pub fn product(factors: &[(&'static str, f64)]) -> f64 {
    factors.iter().fold(1.0, |p, (_, f)| p * f)
}

/// The two terms of (21), `ρ^k ė_0` and `kρ^{k+T'−1} Γ e_0`, as factors.
pub fn rhs_21_terms(k: f64, t_prime: f64, rho: f64, edot0: f64, gamma: f64, e0: f64) -> (Factors<2>, Factors<4>) {
    (
        [("ρ^k", rho.powf(k)), ("ė_0", edot0)],
        [("k", k), ("ρ^{k+T'−1}", rho.powf(k + t_prime - 1.0)), ("Γ", gamma), ("e_0", e0)],
    )
}

/// The right-hand side of (21): `ρ^k ė_0 + kρ^{k+T'−1} Γ e_0` (real `k`, `T'` allowed, as
/// in (22); the curse term is 0 at `k = 0`).
pub fn rhs_21(k: f64, t_prime: f64, rho: f64, edot0: f64, gamma: f64, e0: f64) -> f64 {
    let (first, curse) = rhs_21_terms(k, t_prime, rho, edot0, gamma, e0);
    product(&first) + if k == 0.0 { 0.0 } else { product(&curse) }
}

/// `(K', T')` for a truncation `T` of `K` with integer cost factor `ω`.
pub fn reallocate(k: u64, t: u64, omega: u64) -> (u64, u64) {
    (k + omega * t, t + omega * t)
}

/// The index `⌊x⌋` of a count computed in floating point, when it is one: `x` finite, `≥ 0`
/// and at most `2^52` (where every integer is a float), else `None`. The checked
/// replacement of `x as usize`, which saturates a huge or infinite `x` to `usize::MAX` (and
/// `NaN` to 0) and then overflows the index arithmetic that follows.
pub fn index_of(x: f64) -> Option<usize> {
    const LIMIT: f64 = 4_503_599_627_370_496.0; // 2^52
    // The cast is exact: `x.floor()` is an integer in [0, 2^52].
    (0.0..=LIMIT).contains(&x).then(|| x.floor() as usize)
}

/// The objective `h` of (22) for given constants.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Truncation {
    /// `ρ ∈ (0, 1)`.
    pub rho: f64,
    /// `ė_0`.
    pub edot0: f64,
    /// `Γ`.
    pub gamma: f64,
    /// `e_0`.
    pub e0: f64,
    /// The budget `K`.
    pub k: f64,
    /// The cost factor `ω`.
    pub omega: f64,
}

impl Truncation {
    /// `A = ρ^K ė_0`.
    pub fn a(&self) -> f64 {
        self.rho.powf(self.k) * self.edot0
    }
    /// `B = ρ^{K−1} Γ e_0`.
    pub fn b(&self) -> f64 {
        self.rho.powf(self.k - 1.0) * self.gamma * self.e0
    }
    /// `δ = −ln ρ`.
    pub fn delta(&self) -> f64 {
        -self.rho.ln()
    }
    /// (22) as printed: `ρ^{K−T} ė_0 + (K−T) ρ^{K+ωT−1} Γ e_0`.
    pub fn h22(&self, t: f64) -> f64 {
        let (first, curse) = self.h22_terms(t);
        product(&first) + product(&curse)
    }
    /// The two terms of (22), `ρ^{K−T} ė_0` and `(K−T) ρ^{K+ωT−1} Γ e_0`, as factors.
    pub fn h22_terms(&self, t: f64) -> (Factors<2>, Factors<4>) {
        (
            [("ρ^{K−T}", self.rho.powf(self.k - t)), ("ė_0", self.edot0)],
            [
                ("(K−T)", self.k - t),
                ("ρ^{K+ωT−1}", self.rho.powf(self.k + self.omega * t - 1.0)),
                ("Γ", self.gamma),
                ("e_0", self.e0),
            ],
        )
    }
    /// The relaxed form of A.5, generic over dual numbers.
    pub fn relaxed<D: DualNum<Primitive = f64> + Copy>(&self, t: D) -> D {
        let (a, b, d) = (self.a(), self.b(), self.delta());
        (t * d).exp() * a + (-t + self.k) * (t * (-self.omega * d)).exp() * b
    }
    /// The printed `h'(T)`.
    pub fn d1_printed(&self, t: f64) -> f64 {
        let (a, b, d, w) = (self.a(), self.b(), self.delta(), self.omega);
        a * d * (d * t).exp() + b * (-w * d * t).exp() * (-1.0 - w * d * (self.k - t))
    }
    /// The printed `h''(T)`.
    pub fn d2_printed(&self, t: f64) -> f64 {
        let (a, b, d, w) = (self.a(), self.b(), self.delta(), self.omega);
        a * d * d * (d * t).exp() + b * w * d * (-w * d * t).exp() * (2.0 + w * d * (self.k - t))
    }
    /// The size of the terms of `h`, `h'`, `h''` at `T` (for rounding: cancellation
    /// happens between terms, so errors scale with the terms, not the result).
    pub fn term_scale(&self, t: f64) -> f64 {
        let (a, b, d, w) = (self.a(), self.b(), self.delta(), self.omega);
        let x = 1.0 + d + d * d;
        (a * (d * t).exp() + b * (-w * d * t).exp() * (1.0 + (self.k - t)) * (1.0 + w * d * (1.0 + self.k))) * x
    }
    /// The relaxed minimiser on `[0, K]` by bisection on the printed `h'` (increasing, as
    /// `h` is convex).
    pub fn relaxed_argmin(&self) -> f64 {
        if self.d1_printed(0.0) >= 0.0 {
            return 0.0;
        }
        if self.d1_printed(self.k) <= 0.0 {
            return self.k;
        }
        let (mut lo, mut hi) = (0.0, self.k);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if self.d1_printed(mid) < 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }
    /// The integer minimiser of (22) over `{0, …, K}` (first one).
    pub fn integer_argmin(&self) -> usize {
        let vals: Vec<f64> = (0..=self.k as usize).map(|t| self.h22(t as f64)).collect();
        crate::unroll::argmin(&vals)
    }
    /// `Some(cause)` when `A = ρ^K ė_0` or `B = ρ^{K−1}Γe_0` is positive (`ρ > 0` and
    /// `ė_0 > 0`, resp. `Γe_0 > 0`) but computed below the smallest normal `f64`
    /// (`f64::MIN_POSITIVE ≈ 2.2e-308`: 0 or subnormal). Its relative precision is then
    /// lost, and the relaxed form `Ae^{δT} + B(K−T)e^{−ωδT}` and the printed `h'`, `h''`
    /// multiply it by up to `e^{δK} = ρ^{−K}`: they cannot be computed in `f64` (the
    /// printed (22) is unaffected, as it never forms `ρ^K`).
    pub fn underflow(&self) -> Option<String> {
        let (a, b) = (self.a(), self.b());
        let lost = |v: f64, positive: bool| positive && v < f64::MIN_POSITIVE;
        let terms = [
            ("A = ρ^K ė_0", a, self.rho > 0.0 && self.edot0 > 0.0),
            ("B = ρ^{K−1}Γe_0", b, self.rho > 0.0 && self.gamma > 0.0 && self.e0 > 0.0),
        ];
        let names: Vec<String> = terms
            .iter()
            .filter(|(_, v, positive)| lost(*v, *positive))
            .map(|(n, v, _)| format!("{n} = {v:e}"))
            .collect();
        (!names.is_empty()).then(|| {
            format!(
                "{} underflows below the smallest normal f64 ({:e}; ρ = {:e}, K = {}, ė_0 = {:e}, Γe_0 = {:e}): the relaxed h and its derivatives cannot be computed",
                names.join(", "),
                f64::MIN_POSITIVE,
                self.rho,
                self.k,
                self.edot0,
                self.gamma * self.e0
            )
        })
    }
    /// The rounding of `h` and its derivatives at `T`.
    pub fn tol(&self, tol: &ToleranceModel, t: f64) -> f64 {
        tol.closed_form(self.term_scale(t), self.rho, self.k * (1.0 + self.omega))
    }
}

/// The relaxed objective of A.5 as an exmex expression in `A, B, K, T, delta, omega`.
pub const H_RELAXED: &str = "A*exp(delta*T) + B*(K-T)*exp(-omega*delta*T)";

/// [`H_RELAXED`] and its first two derivatives in `T`, built once.
#[derive(Debug)]
struct HExprs {
    h: FlatEx<f64>,
    d1: FlatEx<f64>,
    d2: FlatEx<f64>,
    names: Vec<String>,
    t_slot: usize,
}

fn h_exprs() -> Result<&'static HExprs> {
    static EXPRS: std::sync::OnceLock<Result<HExprs>> = std::sync::OnceLock::new();
    let built = EXPRS.get_or_init(|| {
        on_big_stack(|| {
            let ex = |e: exmex::ExError| Error::Numerical(format!("symbolic h of (22): {}", e.msg()));
            let h = FlatEx::<f64>::parse(H_RELAXED).map_err(ex)?;
            let names = h.var_names().to_vec();
            let t_slot = names.iter().position(|n| n == "T").expect("T is a variable of H_RELAXED");
            let d1 = h.clone().partial(t_slot).map_err(ex)?;
            let d2 = d1.clone().partial(t_slot).map_err(ex)?;
            Ok(HExprs { h, d1, d2, names, t_slot })
        })?
    });
    built.as_ref().map_err(Clone::clone)
}

/// `h(T) = Ae^{δT} + B(K−T)e^{−ωδT}` of A.5 and its first two derivatives in `T`, obtained
/// by exmex's symbolic differentiation ([`Differentiate::partial`]) rather than by hand.
#[derive(Debug, Clone)]
pub struct SymbolicH {
    exprs: &'static HExprs,
    /// The values of the variables in exmex's order (`T` is set per evaluation).
    values: Vec<f64>,
}

impl SymbolicH {
    fn at(&self, e: &FlatEx<f64>, t: f64) -> f64 {
        let mut v = self.values.clone();
        v[self.exprs.t_slot] = t;
        e.eval(&v).unwrap_or(f64::NAN)
    }
    /// `h(T)`.
    pub fn h(&self, t: f64) -> f64 {
        self.at(&self.exprs.h, t)
    }
    /// `h'(T)`, differentiated symbolically.
    pub fn d1(&self, t: f64) -> f64 {
        self.at(&self.exprs.d1, t)
    }
    /// `h''(T)`, differentiated symbolically.
    pub fn d2(&self, t: f64) -> f64 {
        self.at(&self.exprs.d2, t)
    }
}

/// [`H_RELAXED`] with the constants of `h`, differentiated twice in `T` (the expressions
/// are built once; only the constants change).
pub fn symbolic_h_derivatives(h: &Truncation) -> Result<SymbolicH> {
    let exprs = h_exprs()?;
    let values = exprs
        .names
        .iter()
        .map(|n| match n.as_str() {
            "A" => h.a(),
            "B" => h.b(),
            "K" => h.k,
            "delta" => h.delta(),
            "omega" => h.omega,
            _ => 0.0, // T, set per evaluation
        })
        .collect();
    Ok(SymbolicH { exprs, values })
}

/// Stack for exmex's parsing and differentiation.
const EXMEX_STACK: usize = 64 << 20;

/// Runs `f` on a thread with a stack of [`EXMEX_STACK`] bytes: exmex's differentiation
/// recurses with large frames (several megabytes for (22)'s `h''` when compiled without
/// optimisation, more than a test or rayon thread has).
pub(crate) fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T> {
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("exmex".into())
            .stack_size(EXMEX_STACK)
            .spawn_scoped(s, f)
            .map_err(|e| Error::Numerical(format!("cannot start a thread for exmex: {e}")))?;
        Ok(handle.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    })
}
