//! Algorithm 1 of appendix B: outer gradient descent on `u ↦ ℓ(x^{(K_r)}(u))` with
//! reverse-mode hypergradients, warm- or cold-started inner solves, and at every outer
//! iteration the comparison with the exact hypergradient and with explicit truncation.

use super::problem::{HyperProblem, InnerAt};
use crate::error::{Error, Result};
use crate::map::FixedPointMap;
use crate::problem::Ball;
use crate::unroll::Trajectory;
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

/// How the inner solver starts at outer iteration `r ≥ 1` (at `r = 0` both use `x_0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// `x^{(0)}(u^{(r+1)}) = x^{(K_r)}(u^{(r)})`, a constant in `u` (`Dx_0 = 0`), as in
    /// Algorithm 1.
    Warm,
    /// `x^{(0)}(u^{(r)}) = x_0` at every outer iteration.
    Cold,
}

/// The inner iteration budget `K_r`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "budget", rename_all = "snake_case")]
pub enum InnerBudget {
    /// `K_r = k` at every outer iteration (the claim compares equal budgets).
    Fixed {
        /// `k ≥ 1`.
        k: usize,
    },
    /// Algorithm 1's rule: stop at the first `k ≥ 1` with `‖x_k − x_{k−1}‖ ≤ ε`, or at `k_max`.
    Tolerance {
        /// `ε > 0`.
        eps: f64,
        /// `k_max ≥ 1`.
        k_max: usize,
    },
}

/// The parameters of Algorithm 1 and of the per-iteration comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Algorithm1 {
    /// `R ≥ 1`, the number of outer iterations.
    pub outer_iterations: usize,
    /// The inner budget `K_r`.
    pub budget: InnerBudget,
    /// The constant outer step `τ > 0`.
    pub tau: f64,
    /// The lower bound of the ridge weight: `u^{(r+1)} = max(u_min, u^{(r)} − τ d^{(r)})`
    /// componentwise (a projected gradient step; Algorithm 1 without projection whenever the
    /// bound is inactive, which [`OuterRecord::projected`] reports).
    pub u_min: f64,
    /// Warm or cold starts.
    pub start: Start,
    /// With [`Start::Warm`]: also compute, at every `u^{(r)}`, the cold-start hypergradient
    /// and the explicit truncations matched to the warm `e_0` ([`Comparison`]).
    pub compare: bool,
    /// The search for `T'` runs the cold iterates for at most this many iterations.
    pub search_max: usize,
}

impl Algorithm1 {
    /// `R` outer iterations, a fixed budget `K`, step `τ`; warm starts with the comparison,
    /// `u_min = 10⁻⁶`, `T'` searched up to `10⁴` iterations.
    ///
    /// ```
    /// use unrollcheck::bilevel::{Algorithm1, BilevelSpec, Start, run};
    /// let problem = BilevelSpec::ridge(1).build().unwrap();
    /// let warm = run(&problem, &Algorithm1::new(5, 20, 0.05)).unwrap();
    /// let cold = run(&problem, &Algorithm1 { start: Start::Cold, ..Algorithm1::new(5, 20, 0.05) }).unwrap();
    /// // At r = 0 both start from x_0 at u^(0): the same hypergradient.
    /// assert_eq!(warm.records[0].estimate.hypergradient, cold.records[0].estimate.hypergradient);
    /// assert!(warm.records[4].estimate.e0 < cold.records[4].estimate.e0);
    /// ```
    pub fn new(outer_iterations: usize, k: usize, tau: f64) -> Self {
        Algorithm1 {
            outer_iterations,
            budget: InnerBudget::Fixed { k },
            tau,
            u_min: 1e-6,
            start: Start::Warm,
            compare: true,
            search_max: 10_000,
        }
    }

    /// Rejects `R = 0`, `K = 0`, `τ ≤ 0`, `ε ≤ 0`, non-finite values, a zero search bound.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, value: f64, reason| Err(Error::InvalidParameter { field, value, reason });
        if self.outer_iterations == 0 {
            return bad("outer iterations R", 0.0, "must be >= 1");
        }
        match self.budget {
            InnerBudget::Fixed { k: 0 } => return bad("inner iterations K", 0.0, "must be >= 1"),
            InnerBudget::Tolerance { k_max: 0, .. } => return bad("inner k_max", 0.0, "must be >= 1"),
            InnerBudget::Tolerance { eps, .. } if !(eps.is_finite() && eps > 0.0) => {
                return bad("inner tolerance eps", eps, "must be finite and > 0");
            }
            _ => {}
        }
        if !(self.tau.is_finite() && self.tau > 0.0) {
            return bad("outer step tau", self.tau, "must be finite and > 0");
        }
        if !self.u_min.is_finite() {
            return bad("u_min", self.u_min, "must be finite");
        }
        if self.search_max == 0 {
            return bad("search_max", 0.0, "must be >= 1");
        }
        Ok(())
    }
}

/// One hypergradient estimate at `u^{(r)}` and the inner run it came from: `K'` forward
/// iterations from `x_0`, the reverse sweep (12) from `K'` down to `T'`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Forward iterations `K'`.
    pub iterations: usize,
    /// Where the reverse sweep stops, `T'` (`0`: the full sweep).
    pub stop: usize,
    /// `e_0 = ‖x_0 − x*(u)‖`, the inner initial error.
    pub e0: f64,
    /// `‖x_{T'} − x*(u)‖`, the error of the first differentiated iterate.
    pub e_stop: f64,
    /// `‖x_{K'} − x*(u)‖`.
    pub e_end: f64,
    /// The estimate `ū^{(T')}` (with `x̄^{(K')} = ∇ℓ(x_{K'})`).
    pub hypergradient: Vec<f64>,
    /// `‖ū^{(T')} − Dx*ᵀ∇ℓ(x*)‖`.
    pub error: f64,
    /// `error / ‖Dx*ᵀ∇ℓ(x*)‖` (`+∞` when the exact hypergradient is zero).
    pub relative_error: f64,
    /// `ℓ(x_{K'})`.
    pub loss: f64,
}

/// Explicit truncation of the cold run matched to the warm start (Section 5.2, "implicit
/// truncation"): `T'` is the first index at which the cold iterate error `e_k` is at most
/// the warm start's `e_0`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImplicitTruncation {
    /// The warm start's `e_0`.
    pub warm_e0: f64,
    /// `T'`, or `None` when the cold iterates did not reach `warm_e0` within the search.
    pub t_prime: Option<usize>,
    /// The smallest cold iterate error seen in the search (`e_{T'}` when found).
    pub cold_e_min: f64,
    /// Reading "shifted" (the primary one): the warm run's `K` iterations stand for the cold
    /// iterations `T', …, T' + K`, since both start from a point at distance about `e_0`.
    /// The cold run goes to `K' = T' + K` and the sweep stops at `T'`: `K` derivative steps,
    /// the warm start's derivative budget.
    pub shifted: Option<Estimate>,
    /// `warm error / shifted error` (`None` when the latter is zero or absent).
    pub shifted_ratio: Option<f64>,
    /// Reading "same forward budget" (Section 4.3): the cold run of `K` iterations with the
    /// sweep stopped at `T'` (`K − T'` derivative steps); only when `T' < K`.
    pub same_forward: Option<Estimate>,
    /// `warm error / same-forward error`.
    pub same_forward_ratio: Option<f64>,
}

/// At the warm run's `u^{(r)}`: the cold-start hypergradient with the same budget, and the
/// implicit-truncation match.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Cold start `x_0`, the same `K_r`, full sweep.
    pub cold: Estimate,
    /// Explicit truncations of the cold run at the matched `T'`.
    pub implicit_truncation: ImplicitTruncation,
}

/// One outer iteration `r` of Algorithm 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OuterRecord {
    /// The outer iteration `r`.
    pub r: usize,
    /// `u^{(r)}`.
    pub u: Vec<f64>,
    /// The inner step size `α(u^{(r)})`.
    pub alpha: f64,
    /// The certified global modulus `ρ(u^{(r)})` of the inner map (A2.1; `≥ 1` for
    /// heavy-ball in the Euclidean norm).
    pub rho: f64,
    /// The spectral radius of `D_xA(x*(u^{(r)}), u^{(r)})` (the asymptotic rate).
    pub spectral_radius: f64,
    /// The exact hypergradient `Dx*(u^{(r)})ᵀ∇ℓ(x*(u^{(r)}))`.
    pub exact: Vec<f64>,
    /// `ℓ(x*(u^{(r)}))`, the validation loss at the exact inner solution.
    pub loss_star: f64,
    /// The inner initial point `x^{(0)}(u^{(r)})` (map state).
    pub x0: Vec<f64>,
    /// The run's own estimate `d^{(r)}` (`K' = K_r`, `T' = 0`).
    pub estimate: Estimate,
    /// `true` when the bound `u_min` was active in the step to `u^{(r+1)}`.
    pub projected: bool,
    /// The warm/cold/truncation comparison (warm runs with `compare`).
    pub comparison: Option<Comparison>,
}

/// A run of Algorithm 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Algorithm1Run {
    /// Warm or cold.
    pub start: Start,
    /// One record per outer iteration.
    pub records: Vec<OuterRecord>,
    /// `u^{(R)}`.
    pub u_final: Vec<f64>,
}

impl Algorithm1Run {
    /// The hypergradient errors `‖d^{(r)} − exact‖`, `r = 0..R`.
    pub fn errors(&self) -> Vec<f64> {
        self.records.iter().map(|r| r.estimate.error).collect()
    }
    /// The inner initial errors `e_0`, `r = 0..R`.
    pub fn e0s(&self) -> Vec<f64> {
        self.records.iter().map(|r| r.estimate.e0).collect()
    }
}

/// A warm-started run (with the comparison) and a cold-started run of its own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Study {
    /// The parameters (of the warm run; the cold run differs only in `start`, `compare`).
    pub config: Algorithm1,
    /// The warm-started run.
    pub warm: Algorithm1Run,
    /// The cold-started run (its own outer trajectory).
    pub cold: Algorithm1Run,
}

/// Runs Algorithm 1 warm-started (with the comparison) and cold-started, from the same
/// `u^{(0)}` and `x_0`.
pub fn warm_and_cold(problem: &HyperProblem, config: &Algorithm1) -> Result<Study> {
    let warm_cfg = Algorithm1 { start: Start::Warm, compare: true, ..*config };
    let cold_cfg = Algorithm1 { start: Start::Cold, compare: false, ..*config };
    Ok(Study { config: warm_cfg, warm: run(problem, &warm_cfg)?, cold: run(problem, &cold_cfg)? })
}

/// Runs Algorithm 1.
pub fn run(problem: &HyperProblem, config: &Algorithm1) -> Result<Algorithm1Run> {
    config.validate()?;
    let mut u = problem.u0();
    if let Some(&v) = u.iter().find(|&&v| v < config.u_min) {
        return Err(Error::InvalidParameter { field: "u0", value: v, reason: "below u_min" });
    }
    let mut carried: Option<DVector<f64>> = None;
    let mut records = Vec::with_capacity(config.outer_iterations);
    for r in 0..config.outer_iterations {
        let at = problem.at(&u)?;
        let cold = problem.cold_start(&at);
        let x0 = match (config.start, carried.take()) {
            (Start::Warm, Some(x)) => x,
            _ => cold.clone(),
        };
        let k = inner_iterations(at.map.as_ref(), &x0, config.budget);
        let traj = Trajectory::run(&at.map, &x0, k);
        let estimate = estimate(problem, &at, &traj, k, 0)?;
        let comparison = match (config.start, config.compare) {
            (Start::Warm, true) => Some(compare(problem, &at, &cold, k, &estimate, config.search_max)?),
            _ => None,
        };
        let d = DVector::from_column_slice(&estimate.hypergradient);
        let step = &u - config.tau * d;
        let projected = step.iter().any(|&v| v < config.u_min);
        let consts = at.map.constants(&Ball { center: at.x_star.clone(), radius: f64::INFINITY })?;
        records.push(OuterRecord {
            r,
            u: u.as_slice().to_vec(),
            alpha: at.alpha,
            rho: consts.rho.value,
            spectral_radius: consts.spectral_radius,
            exact: at.exact.as_slice().to_vec(),
            loss_star: at.loss_star,
            x0: x0.as_slice().to_vec(),
            estimate,
            projected,
            comparison,
        });
        carried = Some(traj.x(k).into_owned());
        u = step.map(|v| v.max(config.u_min));
    }
    Ok(Algorithm1Run { start: config.start, records, u_final: u.as_slice().to_vec() })
}

/// `K_r`: fixed, or Algorithm 1's stopping rule (two buffers, no allocation per iteration).
fn inner_iterations(map: &dyn FixedPointMap, x0: &DVector<f64>, budget: InnerBudget) -> usize {
    let (eps, k_max) = match budget {
        InnerBudget::Fixed { k } => return k,
        InnerBudget::Tolerance { eps, k_max } => (eps, k_max),
    };
    let mut s = map.scratch();
    let (mut x, mut next) = (x0.clone(), x0.clone());
    for k in 1..=k_max {
        map.step(x.as_view(), next.as_view_mut(), &mut s);
        x -= &next; // x_{k−1} − x_k, in place
        let moved = x.norm();
        std::mem::swap(&mut x, &mut next);
        if moved <= eps || !moved.is_finite() {
            return k;
        }
    }
    k_max
}

/// The estimate `ū^{(T')}` of a trajectory (`K' = k_end`, `T' = stop`) and its errors.
pub fn estimate(
    problem: &HyperProblem,
    at: &InnerAt,
    traj: &Trajectory,
    k_end: usize,
    stop: usize,
) -> Result<Estimate> {
    let d = problem.hypergradient(at, traj, k_end, stop)?;
    if d.iter().any(|v| !v.is_finite()) {
        return Err(Error::Numerical(format!("non-finite hypergradient at u = {:?}", at.u.as_slice())));
    }
    let error = (&d - &at.exact).norm();
    let err_at = |k: usize| (traj.x(k) - &at.x_star).norm();
    Ok(Estimate {
        iterations: k_end,
        stop,
        e0: err_at(0),
        e_stop: err_at(stop),
        e_end: err_at(k_end),
        hypergradient: d.as_slice().to_vec(),
        error,
        relative_error: error / at.exact.norm(),
        loss: problem.outer_loss(traj.x(k_end)),
    })
}

/// The cold estimate with budget `k` and the explicit truncations matched to the warm `e_0`.
fn compare(
    problem: &HyperProblem,
    at: &InnerAt,
    cold: &DVector<f64>,
    k: usize,
    warm: &Estimate,
    search_max: usize,
) -> Result<Comparison> {
    let traj = Trajectory::run(&at.map, cold, k);
    let cold_estimate = estimate(problem, at, &traj, k, 0)?;
    let (t_prime, cold_e_min) = first_below(at.map.as_ref(), cold, &at.x_star, warm.e0, search_max);
    let ratio = |e: &Estimate| (e.error > 0.0).then(|| warm.error / e.error);
    let shifted = match t_prime {
        Some(t) => Some(estimate(problem, at, &Trajectory::run(&at.map, cold, t + k), t + k, t)?),
        None => None,
    };
    let same_forward = match t_prime {
        Some(t) if t < k => Some(estimate(problem, at, &traj, k, t)?),
        _ => None,
    };
    let implicit_truncation = ImplicitTruncation {
        warm_e0: warm.e0,
        t_prime,
        cold_e_min,
        shifted_ratio: shifted.as_ref().and_then(ratio),
        shifted,
        same_forward_ratio: same_forward.as_ref().and_then(ratio),
        same_forward,
    };
    Ok(Comparison { cold: cold_estimate, implicit_truncation })
}

/// The first `k ≤ search_max` with `‖x_k − x*‖ ≤ target` for the iterates of `map` from
/// `x0`, and the smallest error seen (`e_k` at that `k` when found). Two buffers, no
/// allocation per iteration.
///
/// ```
/// use unrollcheck::bilevel::{BilevelSpec, first_below};
/// let p = BilevelSpec::ridge(1).build().unwrap();
/// let at = p.at(&p.u0()).unwrap();
/// let x0 = p.cold_start(&at);
/// let e0 = (&x0 - &at.x_star).norm();
/// assert_eq!(first_below(at.map.as_ref(), &x0, &at.x_star, e0, 10), (Some(0), e0));
/// let (t, e) = first_below(at.map.as_ref(), &x0, &at.x_star, 1e-3 * e0, 10_000);
/// assert!(t.unwrap() > 0 && e <= 1e-3 * e0);
/// ```
pub fn first_below(
    map: &dyn FixedPointMap,
    x0: &DVector<f64>,
    x_star: &DVector<f64>,
    target: f64,
    search_max: usize,
) -> (Option<usize>, f64) {
    let mut s = map.scratch();
    let (mut x, mut next) = (x0.clone(), x0.clone());
    let mut best = f64::INFINITY;
    for k in 0..=search_max {
        if k > 0 {
            map.step(x.as_view(), next.as_view_mut(), &mut s);
            std::mem::swap(&mut x, &mut next);
        }
        let e = x.iter().zip(x_star.iter()).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
        best = best.min(e);
        if e <= target {
            return (Some(k), e);
        }
    }
    (None, best)
}
