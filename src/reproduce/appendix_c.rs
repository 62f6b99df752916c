//! Appendix C of the paper, exactly: late start and truncation under a fixed budget on
//! least squares (24) with the whole data `u = (A, b)` as parameter.
//!
//! The protocol (one *run* = one draw):
//! - `M = 50`, `N ∈ {2, 5, 10, 20, 30, 40}`; `A ∈ R^{M×N}` with U(0,1) entries, `b` with
//!   N(0,1) entries, `u = (A, b)` (`A` row by row, then `b`), `λ = 0`;
//! - `L`, `m` the extreme eigenvalues of `AᵀA`; `α ∈ {2/(L+m), 1/(3L)}`;
//! - `K = min(⌈log(10⁻³)/log ρ*⌉, 1000)` with `ρ* = (L−m)/(L+m)` (for both step sizes);
//! - `T_j = ⌊0.1·j·K + 0.5⌋`, `j = 0, …, 8` (half-up rounding, which reproduces the `Ts` of
//!   the frozen reference `tests/data/appendix_c_subset.json`); `ω = 3`, `K' = K + ωT`,
//!   `T' = T + ωT` ([`crate::bounds::reallocate`]);
//! - a random unit tangent `v ∈ R^{MN+M}` and unit cotangent `w ∈ R^N`; `x_0 = 0`, `Ẋ_0 v = 0`;
//! - forward error `‖Ẋ_{T'}^{(j)} v − Dx* v‖` for `j = 0, …, K − T` (late start (20)), reverse
//!   error `‖wᵀŪ_{K'}^{(k)} − wᵀDx*‖` for `k = K', …, T'` (truncated sweep from `K'` to
//!   `T'`; for the figures at most [`REV_POINTS`] sampled `k`, [`rev_samples`]), iterate
//!   error `‖x_{K'} − x*‖`; medians over `R` runs.
//!
//! Per run and step size the iterates are computed **once**, up to `K + ω·T_max`, and shared
//! by the nine late starts and truncated sweeps, which are the engine's own loops
//! ([`late_start_jvp`], [`truncated_vjp`]: two buffers, no allocation per iteration). Runs
//! are independent and run in parallel (rayon); each run's draws come from its own seed
//! ([`run_seed`]), so results do not depend on the number of threads.
//!
//! The default [`Engine::Spectral`] works in the normal-equation parameters `θ = (AᵀA, Aᵀb)`
//! (see [`super::normal`]: the iteration depends on `(A, b)` only through `(AᵀA, Aᵀb)`, and
//! the chain rule moves the `(A, b)` ↔ `(H, g)` conversion out of the loops) and in the
//! eigenbasis of `AᵀA` ([`super::spectral`]: diagonal recursions, the late starts' forcing
//! and the truncated sweeps' `H̄` as blocked products, `O(N²)` pull-back norms, the iterates
//! kept only at checkpoints; about `17.6KN²` flops per step size). [`Engine::Blocked`]
//! advances the nine late starts together in the original coordinates, one matrix–matrix
//! product per step, with one adjoint sequence `B^j w` for the nine truncated sweeps
//! ([`super::blocked`]: about `37KN²` flops per step size instead of `50KN²`).
//! [`Engine::Factored`] runs the engine's one-direction loops on
//! `GradientDescent<NormalEquations>` (a step costs `4N²` flops instead of about
//! `10MN + 2N²`), the oracle of both; [`Engine::Direct`] runs them on the
//! engine's map on `(A, b)` (`GradientDescent<Ridge>` with `RidgeParam::Data`), the oracle
//! of all three (`tests/reproduce.rs`, `benches/appendix_c.rs`).
//!
//! Runs have different `K` when their `ρ*` differ (all `N ≥ 20` runs hit the cap `K = 1000`);
//! curves are then aggregated index by index ([`crate::stats::ragged_median`]) and drawn on the grid
//! of the median `K`.

use super::normal::{NormalEquations, PullBackNorm, pull_cotangent, pull_cotangent_into, push_tangent};
use crate::bounds::{Truncation, reallocate};
use crate::budget;
use crate::constants::{Constant, gamma};
use crate::error::{Error, Result};
use crate::linalg::kernels::sum_sq_diff;
use crate::map::{FixedPointMap, GradientDescent};
use crate::problem::ridge::{Ridge, RidgeParam};
use crate::problem::{Ball, Objective, draw};
use crate::stats::{Quartiles, median, quantile, ragged_median};
use crate::unroll::{Trajectory, argmax, argmin, late_start_jvp, truncated_vjp};
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;
use std::time::Instant;

/// The paper's dimensions `N` (appendix C).
pub const PAPER_N: [usize; 6] = [2, 5, 10, 20, 30, 40];
/// The `ρ` printed in the captions of Figures 3–14, per `N` of [`PAPER_N`].
pub const PAPER_RHO: [f64; 6] = [0.763526, 0.921979, 0.974362, 0.993876, 0.998509, 0.999722];
/// The largest `M` (and so `N`) accepted: `N = 2000` would need about `40·K·N²` flops
/// per step size and run (`3·10¹³` per run of ten at the cap `K = 1000`, hours) besides
/// the memory [`check_budget`] estimates.
pub const MAX_DIM: usize = 2000;
/// Number of truncation indices `T_j`, `j = 0, …, 8`.
pub const T_COUNT: usize = 9;
/// Most points of one reverse-mode error curve ([`rev_samples`]).
pub const REV_POINTS: usize = 40;

/// The step sizes of appendix C.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepSize {
    /// `α = 2/(L + m)` (Figures 3–8).
    Optimal,
    /// `α = 1/(3L)` (Figures 9–14).
    OneThirdL,
}

impl StepSize {
    /// Both, in the paper's order.
    pub const ALL: [StepSize; 2] = [StepSize::Optimal, StepSize::OneThirdL];

    /// `α` from the extreme eigenvalues `m`, `L` of `AᵀA`.
    pub fn alpha(self, m: f64, l: f64) -> f64 {
        match self {
            StepSize::Optimal => 2.0 / (l + m),
            StepSize::OneThirdL => 1.0 / (3.0 * l),
        }
    }

    /// `2/(L+m)` or `1/(3L)`.
    pub fn label(self) -> &'static str {
        match self {
            StepSize::Optimal => "2/(L+m)",
            StepSize::OneThirdL => "1/(3L)",
        }
    }

    /// A file-name fragment.
    pub fn slug(self) -> &'static str {
        match self {
            StepSize::Optimal => "alpha_2_over_L_plus_m",
            StepSize::OneThirdL => "alpha_1_over_3L",
        }
    }
}

/// Which map the loops run on (same numbers up to rounding): `--engine` of
/// `unrollcheck reproduce appendix-c` (the oracles can be run from the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// The normal equations in the eigenbasis of `AᵀA` ([`super::spectral`]): diagonal
    /// recursions, the forcing and `H̄` as blocked products, `O(N²)` norms, memory free of
    /// `K·N`; the default of `unrollcheck reproduce appendix-c`.
    Spectral,
    /// The normal equations with the nine directions blocked ([`super::blocked`]).
    Blocked,
    /// `GradientDescent<NormalEquations>` with tangent `Φv`, cotangent pulled back by `Φᵀ`,
    /// one direction at a time (the engine's loops).
    #[value(name = "loops")]
    Factored,
    /// `GradientDescent<Ridge>` with `RidgeParam::Data` (the map on `(A, b)` itself).
    Direct,
}

/// The protocol's parameters (the paper's: [`Protocol::paper`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Protocol {
    /// Rows `M`.
    pub m: usize,
    /// Dimensions `N`.
    pub ns: Vec<usize>,
    /// Runs `R` per `N`.
    pub runs: usize,
    /// Seed of every draw.
    pub seed: u64,
    /// Cost factor `ω` (an integer, so that `K'` and `T'` are).
    pub omega: usize,
    /// Cap on `K`.
    pub k_cap: usize,
    /// Target accuracy in `K = ⌈log(tol)/log ρ*⌉`.
    pub tol: f64,
}

impl Protocol {
    /// `M = 50`, `N ∈ {2, 5, 10, 20, 30, 40}`, `ω = 3`, `K ≤ 1000`, `tol = 10⁻³`.
    pub fn paper(runs: usize, seed: u64) -> Self {
        Protocol { m: 50, ns: PAPER_N.to_vec(), runs, seed, omega: 3, k_cap: 1000, tol: 1e-3 }
    }

    /// Rejects what cannot run: no runs, `M = 0`, `M` or `N` beyond [`MAX_DIM`], no `N`,
    /// `N = 0` or `N > M` (then `AᵀA` is singular), an `N` listed twice (the same draws,
    /// two rows), `K` cap 0, `tol ∉ (0, 1)`.
    pub fn validate(&self) -> Result<()> {
        if self.runs == 0 {
            return Err(Error::InvalidParameter { field: "runs", value: 0.0, reason: "must be at least 1" });
        }
        if self.m == 0 || self.m > MAX_DIM {
            return Err(Error::Input {
                location: "--m".into(),
                message: format!("M = {}: must be in 1..={MAX_DIM} (rows of A)", self.m),
            });
        }
        if self.ns.is_empty() {
            return Err(Error::InvalidParameter { field: "N", value: f64::NAN, reason: "give at least one dimension" });
        }
        if let Some(&n) = self.ns.iter().find(|&&n| n == 0 || n > self.m) {
            return Err(Error::Input {
                location: "--n".into(),
                message: format!("N = {n}: must be in 1..=M (M = {}, --m), else AᵀA is singular", self.m),
            });
        }
        if let Some((i, &n)) = self.ns.iter().enumerate().find(|&(i, n)| self.ns[..i].contains(n)) {
            return Err(Error::Input {
                location: "--n".into(),
                message: format!("N = {n} is listed twice (position {} of the list)", i + 1),
            });
        }
        if self.k_cap == 0 {
            return Err(Error::InvalidParameter { field: "k_cap", value: 0.0, reason: "must be at least 1" });
        }
        if !(self.tol > 0.0 && self.tol < 1.0) {
            return Err(Error::InvalidParameter { field: "tol", value: self.tol, reason: "must be in (0, 1)" });
        }
        Ok(())
    }
}

/// `K = min(⌈log(tol)/log ρ*⌉, cap)`, at least 1.
pub fn horizon(rho_star: f64, tol: f64, cap: usize) -> usize {
    let k = (tol.ln() / rho_star.ln()).ceil();
    if k.is_finite() && k < cap as f64 { (k as usize).max(1) } else { cap }
}

/// `T_j = ⌊0.1·j·K + 0.5⌋` for `j = 0, …, 8`.
pub fn truncations(k: usize) -> Vec<usize> {
    (0..T_COUNT).map(|j| (0.1 * j as f64 * k as f64 + 0.5).floor() as usize).collect()
}

/// The sampled offsets `i = K' − k` of a reverse-mode error curve over a sweep of `steps`
/// steps: all of `0, …, steps` when they are at most [`REV_POINTS`], else [`REV_POINTS`]
/// evenly spread offsets (rounded), always `0` (`k = K'`) and `steps` (`k = T'`).
pub fn rev_samples(steps: usize) -> Vec<usize> {
    if steps < REV_POINTS {
        return (0..=steps).collect();
    }
    let last = REV_POINTS - 1;
    (0..REV_POINTS).map(|s| (s * steps + last / 2) / last).collect()
}

/// The seed of run `run` at dimension `n` (SplitMix64 of the three).
pub fn run_seed(seed: u64, n: usize, run: usize) -> u64 {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    mix(seed ^ mix(((n as u64) << 32) ^ run as u64))
}

/// One draw: the data and the two directions.
#[derive(Debug, Clone)]
pub struct Draw {
    /// `A` (M×N), U(0,1) entries.
    pub a: DMatrix<f64>,
    /// `b`, N(0,1) entries.
    pub b: DVector<f64>,
    /// Unit tangent `v = (Ȧ, ḃ)` (`Ȧ` row by row, then `ḃ`).
    pub v: DVector<f64>,
    /// Unit cotangent `w ∈ R^N`.
    pub w: DVector<f64>,
}

impl Draw {
    /// Draws `A`, `b`, `v`, `w` in this order from one ChaCha8 stream seeded with `seed`.
    pub fn sample(m: usize, n: usize, seed: u64) -> Self {
        let mut rng = draw::rng(seed);
        let a = draw::uniform_matrix(m, n, &mut rng);
        let b = draw::normal_vector(m, 1.0, &mut rng);
        let v = draw::unit_vector(m * n + m, &mut rng);
        let w = draw::unit_vector(n, &mut rng);
        Draw { a, b, v, w }
    }
}

/// The final errors of one truncation `T` (the fields of the frozen reference).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FinalErrors {
    /// `T`.
    pub t: usize,
    /// `T' = T + ωT`.
    pub t_prime: usize,
    /// `K' = K + ωT`.
    pub k_prime: usize,
    /// `‖Ẋ_{T'}^{(K−T)} v − Dx* v‖`.
    pub fwd_err: f64,
    /// `‖wᵀŪ_{K'}^{(T')} − wᵀDx*‖`.
    pub rev_err: f64,
    /// `‖x_{K'} − x*‖`.
    pub iter_err: f64,
    /// `wᵀẊ_{T'}^{(K−T)} v`.
    pub wjv_fwd: f64,
    /// `wᵀŪ_{K'}^{(T')} v` (equal to `wjv_fwd` up to rounding, Section 4.1).
    pub wjv_rev: f64,
}

/// One run at one step size.
#[derive(Debug, Clone)]
pub struct StepRun {
    /// Which step size.
    pub step: StepSize,
    /// `α`.
    pub alpha: f64,
    /// The certified contraction modulus of the step in use, `max(|1 − αm|, |1 − αL|)`.
    pub rho: Constant,
    /// `Γ` of (18) from the engine's certified constants of the map on `(A, b)`.
    pub gamma: Constant,
    /// `ė_0 = ‖(Ẋ_0 − Dx*)v‖ = ‖Dx* v‖`.
    pub edot0: f64,
    /// `e_0 = ‖x_0 − x*‖ = ‖x*‖`.
    pub e0: f64,
    /// One entry per `T_j`.
    pub finals: Vec<FinalErrors>,
    /// `e_k` for `k = 0, …, K + ωT_max` (empty unless curves were asked for).
    pub e: Vec<f64>,
    /// Per `T_j`, the forward errors `ė_{T'}^{(i)}`, `i = 0, …, K − T` (empty unless asked).
    pub fwd: Vec<Vec<f64>>,
    /// Per `T_j`, the reverse errors `‖wᵀŪ_{K'}^{(k)} − wᵀDx*‖` as `(i, error)` with
    /// `i = K' − k` at the offsets [`rev_samples`]`(K − T)` (empty unless asked).
    pub rev: Vec<Vec<(usize, f64)>>,
    /// `argmax_i ė^{(i)}` without truncation (`T = 0`): `> 0` when the curse shows.
    pub k_dot: usize,
}

/// One run (one draw) at both step sizes.
#[derive(Debug, Clone)]
pub struct DrawRun {
    /// `L = λ_max(AᵀA)`.
    pub l: f64,
    /// `m = λ_min(AᵀA)`.
    pub m: f64,
    /// `ρ* = (L − m)/(L + m)`.
    pub rho_star: f64,
    /// `K`.
    pub k: usize,
    /// `T_j`.
    pub ts: Vec<usize>,
    /// One entry per step size ([`StepSize::ALL`]).
    pub steps: Vec<StepRun>,
}

/// Runs the protocol on one draw (both step sizes, all `T_j`).
pub fn run_draw(d: &Draw, p: &Protocol, engine: Engine, curves: bool) -> Result<DrawRun> {
    let (m_rows, n) = d.a.shape();
    if d.v.len() != m_rows * n + m_rows || d.w.len() != n {
        return Err(Error::Dimension { what: "directions v, w", expected: m_rows * n + m_rows, got: d.v.len() });
    }
    let ridge = Ridge::new(d.a.clone(), d.b.clone(), 0.0, RidgeParam::Data)?;
    let x_star = ridge.minimizer()?;
    let e0 = x_star.norm();
    let ball = Ball { center: x_star.clone(), radius: e0 };
    let curv = ridge.curvature(&ball);
    let (mu, l) = (curv.mu.value, curv.l.value);
    let rho_star = (l - mu) / (l + mu);
    let k = horizon(rho_star, p.tol, p.k_cap);
    let ts = truncations(k);
    let normal = NormalEquations::from_data(&d.a, &d.b)?;
    let targets = Targets::of(d, &normal, &x_star)?;

    // The blocked engine computes the iterates and adjoints of both step sizes together.
    let sequences = (engine == Engine::Blocked).then(|| {
        let t_max = ts.iter().copied().max().unwrap_or(0);
        let t_min = ts.iter().copied().min().unwrap_or(0);
        let (k_end, _) = reallocate(k as u64, t_max as u64, p.omega as u64);
        let alphas = StepSize::ALL.map(|s| s.alpha(mu, l));
        super::blocked::sequences_pair(&normal, alphas, k_end as usize, d.w.as_slice(), k - t_min)
    });
    // The spectral engine's eigen-decomposition and pull-back are shared by both step sizes.
    let mut spectral = match engine {
        Engine::Spectral => {
            let spec = super::spectral::Spectrum::new(&normal, targets.phi_v.as_slice())?;
            let (_, _, b_perp_sq) = super::normal::thin_qr(&d.a, &d.b);
            let n = d.a.ncols();
            let pull =
                super::spectral::PullBack::new(&spec, b_perp_sq, &targets.theta.as_slice()[n * n..], x_star.as_slice());
            Some((spec, pull))
        }
        _ => None,
    };
    let mut steps = Vec::with_capacity(2);
    for (si, step) in StepSize::ALL.into_iter().enumerate() {
        let alpha = step.alpha(mu, l);
        let direct = GradientDescent::new(ridge.clone(), alpha)?;
        let mc = direct.constants(&ball)?;
        let grid =
            TruncationGrid { k, ts: &ts, omega: p.omega, x_star: &x_star, target_v: &targets.v, w: &d.w, curves };
        let out = match engine {
            Engine::Spectral => {
                let (spec, pull) = spectral.as_mut().expect("computed for the spectral engine");
                sweep_spectral(d, alpha, &grid, spec, pull)
            }
            Engine::Blocked => {
                let (trajs, adjoints) = sequences.as_ref().expect("computed for the blocked engine");
                sweep_blocked(d, &normal, alpha, &grid, &targets, (&trajs[si], &adjoints[si]))
            }
            Engine::Factored => sweep_factored(d, &normal, alpha, &grid, &targets)?,
            Engine::Direct => sweep_direct(d, &direct, &grid, &targets),
        };
        steps.push(StepRun {
            step,
            alpha,
            rho: mc.rho,
            gamma: gamma(&mc),
            edot0: targets.v.norm(),
            e0,
            finals: out.finals,
            e: out.e,
            fwd: out.fwd,
            rev: out.rev,
            k_dot: out.k_dot,
        });
    }
    Ok(DrawRun { l, m: mu, rho_star, k, ts, steps })
}

/// The targets of one draw: `Dx* v` and `wᵀDx*`, through `Dx*(u) = Dx*(θ) Φ` with
/// `Dx*(θ) = −H⁻¹ D_θ∇f(x*)` in the normal-equation parameters `θ = (H, g)`.
struct Targets {
    /// `Φv`: the tangent `v` pushed to `θ`.
    phi_v: DVector<f64>,
    /// `Dx* v`.
    v: DVector<f64>,
    /// `wᵀDx*(θ) = (H̄*, ḡ*) = (−z x*ᵀ, z)` with `Hz = w`.
    theta: DVector<f64>,
}

impl Targets {
    fn of(d: &Draw, normal: &NormalEquations, x_star: &DVector<f64>) -> Result<Self> {
        let n = d.a.ncols();
        let chol = normal.h().clone().cholesky().ok_or_else(|| Error::Numerical("AᵀA not positive definite".into()))?;
        let phi_v = push_tangent(&d.a, &d.b, &d.v)?;
        let mut c = DVector::zeros(n);
        normal.mixed_jvp_acc(x_star.as_view(), phi_v.as_view(), 1.0, c.as_view_mut(), &mut normal.scratch());
        let v = -chol.solve(&c);
        let z = chol.solve(&d.w);
        let mut theta = DVector::zeros(n * n + n);
        normal.mixed_vjp_acc(x_star.as_view(), z.as_view(), -1.0, theta.as_view_mut(), &mut normal.scratch());
        Ok(Targets { phi_v, v, theta })
    }
}

/// The sweep on the normal equations (`θ = (AᵀA, Aᵀb)`, `O(N²)` per step), the reverse
/// errors pulled back to `u = (A, b)`.
fn sweep_factored(
    d: &Draw,
    normal: &NormalEquations,
    alpha: f64,
    grid: &TruncationGrid,
    targets: &Targets,
) -> Result<TruncationErrors> {
    let map = GradientDescent::new(normal.clone(), alpha)?;
    let (mut fin, mut curve) = (FinalPullBack::new(d, targets), CurvePullBack::new(d, targets));
    Ok(sweep(&map, grid, &targets.phi_v, &mut |ub| fin.apply(ub), &mut |ub| curve.apply(ub)))
}

/// The final pull-back of a factorised truncated sweep: `θ̄ ↦ (‖Φᵀ(θ̄ − θ̄*)‖, ⟨θ̄, Φv⟩)`
/// (`Φᵀ` formed, [`pull_cotangent_into`]); buffers allocated once.
struct FinalPullBack<'a> {
    d: &'a Draw,
    targets: &'a Targets,
    diff: DVector<f64>,
    pulled: DVector<f64>,
}

impl<'a> FinalPullBack<'a> {
    fn new(d: &'a Draw, targets: &'a Targets) -> Self {
        let (m_rows, n) = d.a.shape();
        FinalPullBack { d, targets, diff: DVector::zeros(n * n + n), pulled: DVector::zeros(m_rows * n + m_rows) }
    }

    fn apply(&mut self, ub: &DVector<f64>) -> (f64, f64) {
        self.diff.copy_from(ub);
        self.diff -= &self.targets.theta;
        pull_cotangent_into(&self.d.a, &self.d.b, self.diff.as_slice(), &mut self.pulled);
        (self.pulled.norm(), ub.dot(&self.targets.phi_v))
    }
}

/// The pull-back norm of the reverse curves: `θ̄ ↦ ‖Φᵀ(θ̄ − θ̄*)‖` by [`PullBackNorm`].
struct CurvePullBack<'a> {
    targets: &'a Targets,
    norm: PullBackNorm,
    diff: DVector<f64>,
}

impl<'a> CurvePullBack<'a> {
    fn new(d: &Draw, targets: &'a Targets) -> Self {
        let n = d.a.ncols();
        CurvePullBack { targets, norm: PullBackNorm::new(&d.a, &d.b), diff: DVector::zeros(n * n + n) }
    }

    fn apply(&mut self, ub: &DVector<f64>) -> f64 {
        self.diff.copy_from(ub);
        self.diff -= &self.targets.theta;
        self.norm.norm(self.diff.as_slice())
    }
}

/// The blocked sweep ([`super::blocked`]) on the normal equations, given the iterates up
/// to `K + ωT_max` and the reversed adjoints `B^j w` up to `K − T_min`
/// ([`super::blocked::sequences_pair`]): the same numbers as [`sweep_factored`] up to
/// rounding, the same observers.
fn sweep_blocked(
    d: &Draw,
    normal: &NormalEquations,
    alpha: f64,
    s: &TruncationGrid,
    targets: &Targets,
    (traj, adjoints): (&Trajectory, &DMatrix<f64>),
) -> TruncationErrors {
    let n = d.a.ncols();
    let (mut fin, mut curve) = (FinalPullBack::new(d, targets), CurvePullBack::new(d, targets));
    let e: Vec<f64> =
        if s.curves { (0..=traj.len()).map(|k| traj.x(k).metric_distance(s.x_star)).collect() } else { vec![] };
    let (budgets, steps) = s.budgets();
    let starts: Vec<(usize, usize)> = budgets.iter().zip(&steps).map(|(&(_, tp), &st)| (tp, st)).collect();
    let mut fwd: Vec<Vec<f64>> = steps.iter().map(|&st| Vec::with_capacity(st + 1)).collect();
    let mut xv_final = DMatrix::zeros(n, s.ts.len());
    let target = s.target_v.as_slice();
    super::blocked::late_starts(normal, alpha, traj, &starts, targets.phi_v.as_slice(), |i, j, y| {
        fwd[i].push(sum_sq_diff(y, target).sqrt());
        if j == steps[i] {
            xv_final.column_mut(i).copy_from_slice(y);
        }
    });
    let samples: Vec<Vec<usize>> = steps.iter().map(|&st| if s.curves { rev_samples(st) } else { vec![] }).collect();
    let mut revs: Vec<Vec<(usize, f64)>> = samples.iter().map(|p| Vec::with_capacity(p.len())).collect();
    let mut rev_final = vec![(f64::NAN, f64::NAN); s.ts.len()];
    super::blocked::truncated_sweeps(
        normal,
        alpha,
        traj,
        &budgets,
        adjoints,
        |i| samples[i].as_slice(),
        |i, o, ub| {
            if o == steps[i] {
                rev_final[i] = fin.apply(ub);
            }
            if s.curves {
                revs[i].push((o, if o == steps[i] { rev_final[i].0 } else { curve.apply(ub) }));
            }
        },
    );
    let k_dot = s.ts.iter().position(|&t| t == 0).map_or(0, |i| argmax(&fwd[i]));
    let finals = s.finals(&budgets, &fwd, &rev_final, |i| {
        (traj.x(budgets[i].0).metric_distance(s.x_star), s.w.dot(&xv_final.column(i)))
    });
    if !s.curves {
        fwd.clear();
        revs.clear();
    }
    TruncationErrors { finals, e, fwd, rev: revs, k_dot }
}

/// The spectral sweep ([`super::spectral`]) on the normal equations: the same numbers as
/// [`sweep_blocked`] up to rounding (and the eigen-decomposition's backward error), the
/// same outputs, every norm taken in the eigenbasis.
fn sweep_spectral(
    d: &Draw,
    alpha: f64,
    s: &TruncationGrid,
    spec: &super::spectral::Spectrum,
    pull: &mut super::spectral::PullBack,
) -> TruncationErrors {
    let (budgets, steps) = s.budgets();
    let t_max = s.ts.iter().copied().max().unwrap_or(0);
    let (k_end, _) = reallocate(s.k as u64, t_max as u64, s.omega as u64);
    let starts: Vec<(usize, usize)> = budgets.iter().zip(&steps).map(|(&(_, tp), &st)| (tp, st)).collect();
    let x_hat = spec.rotate(s.x_star.as_slice());
    let target = spec.rotate(s.target_v.as_slice());
    let w_hat = spec.rotate(d.w.as_slice());
    let mut e = Vec::with_capacity(k_end as usize + 1);
    let mut fwd: Vec<Vec<f64>> = steps.iter().map(|&st| Vec::with_capacity(st + 1)).collect();
    let mut wjv_fwd = vec![f64::NAN; s.ts.len()];
    let ckpt = super::spectral::forward(
        spec,
        alpha,
        k_end as usize,
        &starts,
        (&x_hat, &target),
        |_, ek| e.push(ek),
        |i, j, err, y| {
            fwd[i].push(err);
            if j == steps[i] {
                wjv_fwd[i] = y.iter().zip(&w_hat).map(|(a, b)| a * b).sum();
            }
        },
    );
    let samples: Vec<Vec<usize>> = steps.iter().map(|&st| if s.curves { rev_samples(st) } else { vec![] }).collect();
    let mut revs: Vec<Vec<(usize, f64)>> = samples.iter().map(|p| Vec::with_capacity(p.len())).collect();
    let mut rev_final = vec![(f64::NAN, f64::NAN); s.ts.len()];
    super::spectral::truncated_sweeps(
        &ckpt,
        &w_hat,
        &budgets,
        |i| samples[i].as_slice(),
        |i, o, hbar, gbar| {
            let err = pull.error(hbar, gbar);
            if o == steps[i] {
                rev_final[i] = (err, pull.pairing(hbar, gbar));
            }
            if s.curves {
                revs[i].push((o, err));
            }
        },
    );
    let k_dot = s.ts.iter().position(|&t| t == 0).map_or(0, |i| argmax(&fwd[i]));
    let finals = s.finals(&budgets, &fwd, &rev_final, |i| (e[budgets[i].0], wjv_fwd[i]));
    if !s.curves {
        e.clear();
        fwd.clear();
        revs.clear();
    }
    TruncationErrors { finals, e, fwd, rev: revs, k_dot }
}

/// The sweep on the data directly (`u = (A, b)`, `O(MN)` per step): the oracle of
/// [`sweep_factored`].
fn sweep_direct(
    d: &Draw,
    direct: &GradientDescent<Ridge>,
    grid: &TruncationGrid,
    targets: &Targets,
) -> TruncationErrors {
    let target_w = pull_cotangent(&d.a, &d.b, targets.theta.as_slice());
    let mut rev = |ub: &DVector<f64>| (ub.metric_distance(&target_w), ub.dot(&d.v));
    let mut rev_k = |ub: &DVector<f64>| ub.metric_distance(&target_w);
    sweep(direct, grid, &d.v, &mut rev, &mut rev_k)
}

/// The truncation grid of one run and its targets: `K`, the `T_j`, `ω` (so `K' = K + ωT`,
/// `T' = T + ωT`), `x*`, `Dx* v` and the cotangent `w`; `curves` asks for the error curves.
struct TruncationGrid<'a> {
    k: usize,
    ts: &'a [usize],
    omega: usize,
    x_star: &'a DVector<f64>,
    target_v: &'a DVector<f64>,
    w: &'a DVector<f64>,
    curves: bool,
}

impl TruncationGrid<'_> {
    /// Per `T_j`: the budget `(K', T')` and the steps `K − T` of its late start and sweep.
    fn budgets(&self) -> (Vec<(usize, usize)>, Vec<usize>) {
        let budgets = self
            .ts
            .iter()
            .map(|&t| {
                let (kp, tp) = reallocate(self.k as u64, t as u64, self.omega as u64);
                (kp as usize, tp as usize)
            })
            .collect();
        (budgets, self.ts.iter().map(|&t| self.k - t).collect())
    }

    /// The final numbers per `T_j` from the forward curves `fwd` (the last entry is the final
    /// error), the final reverse `(error, wᵀŪv)` and `iter_wjv(i) = (‖x_{K'} − x*‖, wᵀẊv)`.
    fn finals(
        &self,
        budgets: &[(usize, usize)],
        fwd: &[Vec<f64>],
        rev_final: &[(f64, f64)],
        iter_wjv: impl Fn(usize) -> (f64, f64),
    ) -> Vec<FinalErrors> {
        (0..self.ts.len())
            .map(|i| {
                let (iter_err, wjv_fwd) = iter_wjv(i);
                FinalErrors {
                    t: self.ts[i],
                    t_prime: budgets[i].1,
                    k_prime: budgets[i].0,
                    fwd_err: fwd[i][self.k - self.ts[i]],
                    rev_err: rev_final[i].0,
                    iter_err,
                    wjv_fwd,
                    wjv_rev: rev_final[i].1,
                }
            })
            .collect()
    }
}

/// The errors of one run over its truncation grid: the final numbers per `T_j`, and (with
/// curves) `e_k`, the late-started forward and the truncated reverse error curves, `k̇`.
struct TruncationErrors {
    finals: Vec<FinalErrors>,
    e: Vec<f64>,
    fwd: Vec<Vec<f64>>,
    rev: Vec<Vec<(usize, f64)>>,
    k_dot: usize,
}

/// The iterates once, then per `T_j` one late-started forward unroll and one truncated
/// reverse sweep. `rev(ub)` returns `(‖wᵀŪ − wᵀDx*‖, wᵀŪ v)` for the final `ub`;
/// `rev_k(ub)` returns `‖wᵀŪ − wᵀDx*‖` and is called, with curves, at the sampled offsets
/// [`rev_samples`] only (in the factorised engine both are pull-backs by `Φᵀ`: `rev`
/// forms `Φᵀθ̄`, `2MN²` flops, `rev_k` only its norm, [`PullBackNorm`], `N³`).
fn sweep<M: FixedPointMap>(
    map: &M,
    s: &TruncationGrid,
    tangent: &DVector<f64>,
    rev: &mut impl FnMut(&DVector<f64>) -> (f64, f64),
    rev_k: &mut impl FnMut(&DVector<f64>) -> f64,
) -> TruncationErrors {
    let n = map.dim_x();
    let t_max = s.ts.iter().copied().max().unwrap_or(0);
    let (k_end, _) = reallocate(s.k as u64, t_max as u64, s.omega as u64);
    let traj = Trajectory::run(map, &DVector::zeros(n), k_end as usize);
    let e: Vec<f64> =
        if s.curves { (0..=traj.len()).map(|k| traj.x(k).metric_distance(s.x_star)).collect() } else { vec![] };
    let zero = DVector::zeros(n);
    let mut xv_final = DVector::zeros(n);
    let mut finals = Vec::with_capacity(s.ts.len());
    let mut fwd = Vec::with_capacity(if s.curves { s.ts.len() } else { 0 });
    let mut revs = Vec::with_capacity(if s.curves { s.ts.len() } else { 0 });
    let mut k_dot = 0;
    for &t in s.ts {
        let (k_prime, t_prime) = reallocate(s.k as u64, t as u64, s.omega as u64);
        let (k_prime, t_prime) = (k_prime as usize, t_prime as usize);
        let steps = s.k - t;
        let mut curve = Vec::with_capacity(steps + 1);
        late_start_jvp(map, &traj, t_prime, steps, tangent.as_view(), zero.as_view(), |j, xv| {
            curve.push(xv.metric_distance(s.target_v));
            if j == steps {
                xv_final.copy_from(xv);
            }
        });
        let samples = if s.curves { rev_samples(steps) } else { vec![] };
        let mut rev_curve = Vec::with_capacity(samples.len());
        let mut next = samples.iter().copied().peekable();
        let (mut rev_err, mut wjv_rev) = (f64::NAN, f64::NAN);
        truncated_vjp(map, &traj, k_prime, t_prime, s.w.as_view(), |k, ub, _| {
            let i = k_prime - k;
            if k == t_prime {
                (rev_err, wjv_rev) = rev(ub);
            }
            if next.next_if_eq(&i).is_some() {
                rev_curve.push((i, if k == t_prime { rev_err } else { rev_k(ub) }));
            }
        });
        if t == 0 {
            k_dot = argmax(&curve);
        }
        finals.push(FinalErrors {
            t,
            t_prime,
            k_prime,
            fwd_err: curve[steps],
            rev_err,
            iter_err: traj.x(k_prime).metric_distance(s.x_star),
            wjv_fwd: s.w.dot(&xv_final),
            wjv_rev,
        });
        if s.curves {
            fwd.push(curve);
            revs.push(rev_curve);
        }
    }
    TruncationErrors { finals, e, fwd, rev: revs, k_dot }
}

/// Floating-point operations of one run, counted analytically from the loops' code (a
/// multiply–add is 2 flops).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Flops {
    /// The loops: iterates `2N² + 3N` per step, late-start JVP `4N² + 4N` plus the error
    /// `3N`, truncated VJP `4N² + 4N`, iterate errors `3N`.
    pub loops: f64,
    /// Per truncation: `Φᵀ` of the final cotangent (`2MN² + 4MN`) and the norms.
    pub finals: f64,
    /// Per run: `AᵀA` (twice), `Φv`, eigenvalues, the Cholesky solves (approximate).
    pub setup: f64,
    /// The reverse-mode curves: `‖Φᵀ(·)‖` at the sampled `k` other than `T'`
    /// (`N³ + 7N²` each, [`Flops::of_rev_curves`]); `0` without curves.
    pub curves: f64,
}

impl Flops {
    /// The count of one run of the factorised engine.
    pub fn of_run(m: usize, n: usize, k: usize, ts: &[usize], omega: usize) -> Self {
        let (m, n) = (m as f64, n as f64);
        let t_max = ts.iter().copied().max().unwrap_or(0);
        let k_end = (k + omega * t_max) as f64;
        let derivative_steps: f64 = ts.iter().map(|&t| (k - t) as f64).sum();
        let per_alpha = k_end * (2.0 * n * n + 3.0 * n) + (k_end + 1.0) * 3.0 * n // iterates and e_k
            + derivative_steps * (4.0 * n * n + 7.0 * n) // JVP + error
            + derivative_steps * (4.0 * n * n + 4.0 * n); // VJP
        let finals = ts.len() as f64 * (2.0 * m * n * n + 4.0 * m * n + 2.0 * (m * n + m) + 3.0 * n);
        let setup = 3.0 * 2.0 * m * n * n + 4.0 * m * n + 40.0 * n * n * n;
        Flops { loops: 2.0 * per_alpha, finals: 2.0 * finals, setup, curves: 0.0 }
    }

    /// The count of one run of the blocked engine ([`super::blocked`]): per step size the
    /// iterates and `e_k` as in [`Flops::of_run`], the forcing `C = αġ1ᵀ − αḢX`
    /// (`2N² + 2N` per column up to `K + ωT_max`), the late starts (`2N² + N` per direction
    /// and step, plus the error `3N`), the adjoints `B^j w` (`2N²` per step up to
    /// `K − T_min`) and `H̄`, `ḡ` (`2N² + 2N` per truncated step); finals and setup as in
    /// [`Flops::of_run`].
    pub fn of_blocked_run(m: usize, n: usize, k: usize, ts: &[usize], omega: usize) -> Self {
        let loop_count = Flops::of_run(m, n, k, ts, omega);
        let nf = n as f64;
        let t_max = ts.iter().copied().max().unwrap_or(0);
        let t_min = ts.iter().copied().min().unwrap_or(0);
        let k_end = (k + omega * t_max) as f64;
        let k_c = ts.iter().map(|&t| (k + omega * t) as f64).fold(0.0, f64::max);
        let derivative_steps: f64 = ts.iter().map(|&t| (k - t) as f64).sum();
        let per_alpha = k_end * (2.0 * nf * nf + 3.0 * nf) + (k_end + 1.0) * 3.0 * nf // iterates and e_k
            + k_c * (2.0 * nf * nf + 2.0 * nf) // C
            + derivative_steps * (2.0 * nf * nf + 4.0 * nf) // late starts + error
            + (k - t_min) as f64 * 2.0 * nf * nf // B^j w
            + derivative_steps * (2.0 * nf * nf + 2.0 * nf); // H̄, ḡ
        Flops { loops: 2.0 * per_alpha, ..loop_count }
    }

    /// The count of one run of the spectral engine ([`super::spectral`]), per step size:
    /// the iterates `z_k` (`2N` per step) and `e_k` (`3N`) up to `K_end = K + ωT_max`, the
    /// forcing (`2N² + N` per column up to `K_end`), the late starts (`2N` per direction and
    /// step, plus the error `3N`), `Ĥ̄` (`2N²` per truncated step), the powers `d^j ∘ ŵ` and
    /// `ĝ̄` (`2N`) and the regenerated iterates (at most `2N` per truncated step plus one
    /// window of [`super::spectral::CHUNK`] per truncation), the finals' norm and pairing
    /// (`11N²`); per run the setup of [`Flops::of_run`] (its `40N³` covers the eigenvalues
    /// and the Cholesky solves) plus `9N³` for the eigenvectors and `4N³` for `Ĥ̇ = VᵀḢV`.
    pub fn of_spectral_run(m: usize, n: usize, k: usize, ts: &[usize], omega: usize) -> Self {
        let (mf, nf) = (m as f64, n as f64);
        let t_max = ts.iter().copied().max().unwrap_or(0);
        let k_end = (k + omega * t_max) as f64;
        let derivative_steps: f64 = ts.iter().map(|&t| (k - t) as f64).sum();
        let chunk = super::spectral::CHUNK as f64;
        let per_alpha = k_end * 2.0 * nf + (k_end + 1.0) * 3.0 * nf // iterates and e_k
            + k_end * (2.0 * nf * nf + nf) // forcing
            + derivative_steps * 5.0 * nf // late starts + error
            + derivative_steps * (2.0 * nf * nf + 4.0 * nf) + ts.len() as f64 * chunk * 2.0 * nf // H̄, ĝ̄, z
            + ts.len() as f64 * 11.0 * nf * nf; // finals
        let setup = 3.0 * 2.0 * mf * nf * nf + 4.0 * mf * nf + (40.0 + 13.0) * nf * nf * nf;
        Flops { loops: 2.0 * per_alpha, finals: 0.0, setup, curves: 0.0 }
    }

    /// The count of the reverse-mode curves of one run ([`rev_samples`], both step sizes):
    /// the norm at every sampled `k` other than `T'`, `N³ + 7N²` each
    /// ([`super::normal::PullBackNorm`]), or `9N²` in the eigenbasis of the spectral engine.
    pub fn of_rev_curves(n: usize, k: usize, ts: &[usize], engine: Engine) -> Self {
        let n = n as f64;
        let points: usize = ts.iter().map(|&t| rev_samples(k - t).len() - 1).sum();
        let each = if engine == Engine::Spectral { 9.0 * n * n } else { n * n * n + 7.0 * n * n };
        Flops { curves: 2.0 * points as f64 * each, ..Flops::default() }
    }

    /// The sum of all four.
    pub fn total(&self) -> f64 {
        self.loops + self.finals + self.setup + self.curves
    }

    fn add(&mut self, o: &Flops) {
        self.loops += o.loops;
        self.finals += o.finals;
        self.setup += o.setup;
        self.curves += o.curves;
    }
}

/// The distribution of `ρ*` at one `N` against the paper's caption.
#[derive(Debug, Clone, PartialEq)]
pub struct RhoRow {
    /// `N`.
    pub n: usize,
    /// The caption's value (`NaN` for an `N` the paper does not use).
    pub paper: f64,
    /// Quartiles of the measured `ρ*`.
    pub q: Quartiles,
    /// Smallest and largest measured `ρ*`.
    pub range: (f64, f64),
    /// Fraction of draws with `ρ* ≤` the paper's value.
    pub rank: f64,
}

impl RhoRow {
    /// `true` when the paper's value lies in `[q25, q75]`.
    pub fn within_iqr(&self) -> bool {
        self.paper >= self.q.q25 && self.paper <= self.q.q75
    }

    /// How far the paper's value lies outside the IQR (`0` inside, negative below).
    pub fn miss(&self) -> f64 {
        if self.paper > self.q.q75 {
            self.paper - self.q.q75
        } else if self.paper < self.q.q25 {
            self.paper - self.q.q25
        } else {
            0.0
        }
    }
}

/// One cell of the `(N, α)` table: the aggregate of `R` runs under the truncation grid `T_j`.
#[derive(Debug, Clone)]
pub struct TruncationCell {
    /// `N`.
    pub n: usize,
    /// The step size.
    pub step: StepSize,
    /// `R`.
    pub runs: usize,
    /// The median `K` (lower median; integer).
    pub k: usize,
    /// Smallest and largest `K` over the runs.
    pub k_range: (usize, usize),
    /// `T_j` of the median `K`.
    pub ts: Vec<usize>,
    /// Median certified modulus `ρ` of the step in use.
    pub rho: f64,
    /// Median `Γ` and its scope (of the first run; all runs share it).
    pub gamma: Constant,
    /// Median `ė_0 = ‖Dx* v‖`.
    pub edot0: f64,
    /// Median `e_0 = ‖x*‖`.
    pub e0: f64,
    /// Per `T_j`: quartiles of the final forward error.
    pub fwd: Vec<Quartiles>,
    /// Per `T_j`: quartiles of the final reverse error.
    pub rev: Vec<Quartiles>,
    /// Per `T_j`: median final iterate error.
    pub iter: Vec<f64>,
    /// Per `T_j`: the bound (22) `h(T_j)` with the median constants and the median `K`.
    pub bound: Vec<f64>,
    /// Largest relative gap `|wᵀẊv − wᵀŪv|/max(|·|, 1e-300)` over runs and `T` (Section 4.1).
    pub fwd_rev_gap: f64,
    /// Fraction of runs whose untruncated forward error first grows (`k̇ > 0`).
    pub curse_share: f64,
    /// Median `e_k` (ragged median).
    pub e: Vec<f64>,
    /// Per `T_j`, the median forward curve (ragged median).
    pub fwd_curves: Vec<Vec<f64>>,
    /// Per `T_j`, the median reverse curve as `(i, error)`, `i = K' − k` at the offsets
    /// [`rev_samples`]`(K − T)` of the median `K` ([`sampled_median`]).
    pub rev_curves: Vec<Vec<(usize, f64)>>,
}

impl TruncationCell {
    /// `j` with the smallest median final forward error.
    pub fn best_measured(&self) -> usize {
        argmin(&self.fwd.iter().map(|q| q.median).collect::<Vec<_>>())
    }
    /// `j` with the smallest bound (22) on the grid `T_j`.
    pub fn best_bound(&self) -> usize {
        argmin(&self.bound)
    }
    /// The objective (22) with the median constants.
    pub fn truncation(&self, omega: usize) -> Truncation {
        Truncation {
            rho: self.rho,
            edot0: self.edot0,
            gamma: self.gamma.value,
            e0: self.e0,
            k: self.k as f64,
            omega: omega as f64,
        }
    }
    /// `(K', T')` of `T_j` for the median `K`.
    pub fn budget(&self, j: usize, omega: usize) -> (usize, usize) {
        let (kp, tp) = reallocate(self.k as u64, self.ts[j] as u64, omega as u64);
        (kp as usize, tp as usize)
    }
}

/// The whole reproduction.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The protocol run.
    pub protocol: Protocol,
    /// One row per `N`.
    pub rho: Vec<RhoRow>,
    /// One cell per `(N, α)`, `N` outer.
    pub cells: Vec<TruncationCell>,
    /// Analytic flop count of the whole sweep.
    pub flops: Flops,
    /// Wall-clock seconds of the computation (not of writing the report).
    pub seconds: f64,
    /// The engine that computed it.
    pub engine: Engine,
}

/// Runs the protocol: `R` runs per `N` in parallel, then aggregates.
pub fn sweep_protocol(p: &Protocol, engine: Engine) -> Result<Sweep> {
    sweep_protocol_with(p, engine, &|_| ())
}

/// The work of one run at dimension `N` in arbitrary units, for progress reports:
/// `N²(N + M)` (the loops' `K N²` at the cap, the curves' `N³` and the setup's `MN²`).
pub fn run_weight(m: usize, n: usize) -> u64 {
    let (m, n) = (m as u64, n as u64);
    n * n * (n + m)
}

/// [`sweep_protocol`], calling `done(n)` after each run at dimension `n` (from the worker
/// threads; e.g. to advance a progress bar by [`run_weight`]).
pub fn sweep_protocol_with(p: &Protocol, engine: Engine, done: &(dyn Fn(usize) + Sync)) -> Result<Sweep> {
    p.validate()?;
    let start = Instant::now();
    let mut rho = Vec::new();
    let mut cells = Vec::new();
    let mut flops = Flops::default();
    for &n in &p.ns {
        let runs: Vec<DrawRun> = (0..p.runs)
            .into_par_iter()
            .map(|r| {
                let run = run_draw(&Draw::sample(p.m, n, run_seed(p.seed, n, r)), p, engine, true);
                done(n);
                run
            })
            .collect::<Result<_>>()?;
        for r in &runs {
            flops.add(&match engine {
                Engine::Spectral => Flops::of_spectral_run(p.m, n, r.k, &r.ts, p.omega),
                Engine::Blocked => Flops::of_blocked_run(p.m, n, r.k, &r.ts, p.omega),
                _ => Flops::of_run(p.m, n, r.k, &r.ts, p.omega),
            });
            flops.add(&Flops::of_rev_curves(n, r.k, &r.ts, engine));
        }
        // The captions' ρ* are those of M = 50 draws.
        let paper = PAPER_N.iter().position(|&pn| pn == n && p.m == 50).map_or(f64::NAN, |i| PAPER_RHO[i]);
        let rhos: Vec<f64> = runs.iter().map(|r| r.rho_star).collect();
        rho.push(RhoRow {
            n,
            paper,
            q: Quartiles::of(&rhos),
            range: (quantile(&rhos, 0.0), quantile(&rhos, 1.0)),
            rank: rhos.iter().filter(|&&r| r <= paper).count() as f64 / rhos.len() as f64,
        });
        for (i, step) in StepSize::ALL.into_iter().enumerate() {
            cells.push(aggregate(n, step, &runs, i, p.omega));
        }
    }
    Ok(Sweep { protocol: p.clone(), rho, cells, flops, seconds: start.elapsed().as_secs_f64(), engine })
}

fn aggregate(n: usize, step: StepSize, runs: &[DrawRun], i: usize, omega: usize) -> TruncationCell {
    let col = |f: &dyn Fn(&StepRun) -> f64| -> Vec<f64> { runs.iter().map(|r| f(&r.steps[i])).collect() };
    let mut ks: Vec<usize> = runs.iter().map(|r| r.k).collect();
    ks.sort_unstable();
    let k = ks[(ks.len() - 1) / 2];
    let ts = truncations(k);
    let per_t = |f: &dyn Fn(&FinalErrors) -> f64| -> Vec<Quartiles> {
        (0..T_COUNT)
            .map(|j| Quartiles::of(&runs.iter().map(|r| f(&r.steps[i].finals[j])).collect::<Vec<_>>()))
            .collect()
    };
    let gamma0 = runs[0].steps[i].gamma;
    let mut cell = TruncationCell {
        n,
        step,
        runs: runs.len(),
        k,
        k_range: (ks[0], ks[ks.len() - 1]),
        ts: ts.clone(),
        rho: median(&col(&|s| s.rho.value)),
        gamma: Constant { value: median(&col(&|s| s.gamma.value)), scope: gamma0.scope },
        edot0: median(&col(&|s| s.edot0)),
        e0: median(&col(&|s| s.e0)),
        fwd: per_t(&|f| f.fwd_err),
        rev: per_t(&|f| f.rev_err),
        iter: per_t(&|f| f.iter_err).into_iter().map(|q| q.median).collect(),
        bound: vec![],
        fwd_rev_gap: runs
            .iter()
            .flat_map(|r| &r.steps[i].finals)
            .map(|f| (f.wjv_fwd - f.wjv_rev).abs() / f.wjv_fwd.abs().max(1e-300))
            .fold(0.0, f64::max),
        curse_share: runs.iter().filter(|r| r.steps[i].k_dot > 0).count() as f64 / runs.len() as f64,
        e: ragged_median(&runs.iter().map(|r| r.steps[i].e.as_slice()).collect::<Vec<_>>()),
        fwd_curves: (0..T_COUNT)
            .map(|j| {
                let curves: Vec<&[f64]> =
                    runs.iter().filter_map(|r| r.steps[i].fwd.get(j).map(Vec::as_slice)).collect();
                ragged_median(&curves)
            })
            .collect(),
        rev_curves: (0..T_COUNT)
            .map(|j| {
                let curves: Vec<&[(usize, f64)]> =
                    runs.iter().filter_map(|r| r.steps[i].rev.get(j).map(Vec::as_slice)).collect();
                sampled_median(&curves, &rev_samples(k - ts[j]))
            })
            .collect(),
    };
    let h = cell.truncation(omega);
    cell.bound = cell.ts.iter().map(|&t| h.h22(t as f64)).collect();
    cell
}

/// Median over sampled curves `(i, y)` (offsets increasing) at the offsets `grid`: each
/// curve is read at `i` exactly when sampled there, else interpolated linearly in `log y`
/// between its neighbouring samples (linearly in `y` if one of them is not positive); entry
/// `i` is the median over the curves that reach `i`, for as long as at least half do (as
/// [`ragged_median`]). Curves of runs with the median `K` are sampled on `grid` itself.
pub fn sampled_median(curves: &[&[(usize, f64)]], grid: &[usize]) -> Vec<(usize, f64)> {
    let mut out = Vec::with_capacity(grid.len());
    let mut column = Vec::with_capacity(curves.len());
    for &i in grid {
        column.clear();
        column.extend(curves.iter().filter_map(|c| read_at(c, i)));
        if column.is_empty() || 2 * column.len() < curves.len() {
            break;
        }
        out.push((i, median(&column)));
    }
    out
}

fn read_at(c: &[(usize, f64)], i: usize) -> Option<f64> {
    let hi = c.partition_point(|p| p.0 < i);
    let &(i1, y1) = c.get(hi)?;
    if i1 == i {
        return Some(y1);
    }
    let &(i0, y0) = c.get(hi.checked_sub(1)?)?;
    let t = (i - i0) as f64 / (i1 - i0) as f64;
    Some(if y0 > 0.0 && y1 > 0.0 { (y0.ln() + t * (y1.ln() - y0.ln())).exp() } else { y0 + t * (y1 - y0) })
}

impl Sweep {
    /// The rows of the paper's `N` whose caption value lies outside the measured IQR.
    pub fn rho_misses(&self) -> Vec<&RhoRow> {
        self.rho.iter().filter(|r| r.paper.is_finite() && !r.within_iqr()).collect()
    }
}

/// Checks `reproduce appendix-c` against `max_gib`: the curves kept per run (both step
/// sizes, every truncation, `K` up to the protocol's cap), for the runs of one `N`, plus
/// the working set of each worker thread at the largest `N` ([`worker_bytes`]).
pub fn check_budget(p: &Protocol, engine: Engine, max_gib: f64) -> Result<()> {
    let k = p.k_cap as f64;
    let t = T_COUNT as f64;
    let per_step = (1.0 + 0.8 * p.omega as f64) * k + 1.0 + t * (k + 1.0) + t * REV_POINTS as f64 * 2.0;
    let per_run = 8.0 * StepSize::ALL.len() as f64 * per_step;
    let n_max = p.ns.iter().copied().max().unwrap_or(0);
    let threads = rayon::current_num_threads() as f64;
    let bytes = p.runs as f64 * per_run + threads * worker_bytes(p, n_max, engine);
    let cause = format!(
        "{} runs per N (--runs), K up to {}, M = {} and N up to {n_max} on {threads} threads",
        p.runs, p.k_cap, p.m
    );
    budget::check("reproduce appendix-c", &cause, bytes, max_gib, budget::FLAG)
}

/// The bytes one worker thread holds while it runs one draw at dimension `n` with the
/// default, spectral engine ([`super::spectral`]; an upper estimate): about eight `M × N`
/// arrays (`A` and its copies in the maps, the QR of `A`, the tangent `v`), twelve `N × N`
/// ones (`H`, its eigenvectors `V`, `Ḣ`, `Ĥ̇`, `Ĥ̄`, the pull-back's target, temporaries), the
/// four `N × CHUNK` work buffers, the iterate checkpoints `N(K_end/CHUNK + 1)` and the
/// iterate errors `K_end + 1` (`K_end = K(1 + 0.8ω)`): `O(N² + MN)` — nothing of size `K·N`
/// (at `M = 500`, `N = 400`, `K = 1000` about 16 + 15 + 1 MB). The other engines hold the
/// iterates of both step sizes (`2N(K_end + 1)`) and, blocked, their adjoints up to `K`
/// and the forcing (`2N(K + 1) + N·K_end`): `O(K·N + MN + N²)`, 54 MB more there.
pub fn worker_bytes(p: &Protocol, n: usize, engine: Engine) -> f64 {
    let (m, n) = (p.m as f64, n as f64);
    let k = p.k_cap as f64;
    let k_end = k * (1.0 + 0.8 * p.omega as f64);
    let chunk = super::spectral::CHUNK as f64;
    let common = 8.0 * m * (n + 1.0) + 12.0 * n * n + k_end + 1.0 + 18.0 * n;
    8.0 * (common
        + match engine {
            Engine::Spectral => n * (4.0 * chunk + k_end / chunk + 1.0),
            Engine::Blocked => 2.0 * n * (k_end + 1.0) + 2.0 * n * (k + 1.0) + n * k_end,
            Engine::Factored | Engine::Direct => 2.0 * n * (k_end + 1.0),
        })
}
