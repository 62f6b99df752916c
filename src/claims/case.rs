//! A [`Case`]: one instance under check, with its horizon `K` and the dense run (iterates,
//! forward and reverse Jacobians, error curves) computed once and shared by every claim.

use super::Assumption;
use crate::error::Result;
use crate::linalg::spectral_norm;
use crate::map::FixedPointMap;
use crate::problem::draw;
use crate::quadratic::QuadraticView;
use crate::spec::{DynInstance, Spec};
use crate::tol::EPS;
use crate::tol::ToleranceModel;
use crate::unroll::implicit::{Conditioning, conditioning};
use crate::unroll::reference::{self, EPS_DD, ReverseDd};
use crate::unroll::refined::AffineDd;
use crate::unroll::{ErrorCurves, Linearization, Trajectory};
use nalgebra::{DMatrix, DVector};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// How claims are run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The tolerance model.
    pub tol: ToleranceModel,
    /// The largest horizon `K`.
    pub k_max: usize,
    /// `K` is the first iteration where `ρ^K ≤ target` (capped by `k_max`).
    pub target: f64,
    /// Cost factor `ω` of Section 4.3.
    pub omega: f64,
    /// Late-start indices `T'` as fractions of `K`.
    pub t_fractions: Vec<f64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tol: ToleranceModel::default(),
            k_max: 300,
            target: 1e-8,
            omega: 3.0,
            t_fractions: vec![0.0, 0.1, 0.25, 0.5],
        }
    }
}

impl Config {
    /// The configuration a [`super::Setting`] was taken from (the horizon `K` is checked
    /// separately, against the case's own choice).
    pub fn from_setting(s: &super::Setting) -> Self {
        Config {
            tol: ToleranceModel { safety: s.tolerance_safety },
            k_max: s.k_max,
            target: s.target,
            omega: s.omega,
            t_fractions: s.t_fractions.clone(),
        }
    }
}

/// The largest cost factor `ω` a configuration accepts (scenario key `omega`, a replay
/// setting's `omega`; the same bound as a trend file's `experiment.omega`). `thm8.budget`
/// runs one trajectory of `K + ⌊0.8K⌋ω` iterations ([`crate::budget::omega_bytes`]): at
/// `ω = 100` and `K = 300` that is 24 300 iterations, the work of the rest of a case.
pub const OMEGA_MAX: f64 = 100.0;

/// A configuration value out of range: the key it was read from and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingError {
    /// `k_max`, `target`, `omega`, `t_fractions`, `tolerance_safety` or `K`.
    pub key: &'static str,
    /// What is wrong, with the value.
    pub message: String,
}

impl SettingError {
    fn new(key: &'static str, message: String) -> Self {
        SettingError { key, message }
    }
}

impl Config {
    /// Checks every value of the configuration, in a fixed order (so a setting with several
    /// errors always reports the same one first): the one validation of scenario files
    /// (keys `k_max`, `omega`, `t_fractions`), `replay` settings and `check`.
    ///
    /// - `k_max ≥ 1` (its size is bounded by the memory estimate, [`crate::budget`]);
    /// - `target ∈ (0, 1)` (`K` is the first `k` with `ρ^k ≤ target`: `ln target < 0` and
    ///   finite);
    /// - `omega` finite, `≥ 0` and `≤` [`OMEGA_MAX`];
    /// - `t_fractions` not empty, each finite and in `[0, 1]` (a late start after `K` has
    ///   no derivative steps within the horizon);
    /// - `tolerance_safety` finite and `> 0` (a tolerance `≤ 0` would call rounding a
    ///   violation).
    pub fn validate(&self) -> std::result::Result<(), SettingError> {
        if self.k_max == 0 {
            return Err(SettingError::new("k_max", "must be at least 1".into()));
        }
        if !(self.target > 0.0 && self.target < 1.0) {
            return Err(SettingError::new(
                "target",
                format!("{}: must lie in (0, 1) (K is the first k with ρ^k ≤ target)", shown(self.target)),
            ));
        }
        if !(self.omega.is_finite() && (0.0..=OMEGA_MAX).contains(&self.omega)) {
            let estimate = if self.omega.is_finite() && self.omega > OMEGA_MAX {
                format!(
                    "; thm8.budget would run K + ⌊0.8K⌋ω ≈ {:.3e} iterations at K = k_max = {}",
                    crate::budget::omega_horizon(self.k_max as f64, self.omega),
                    self.k_max
                )
            } else {
                String::new()
            };
            return Err(SettingError::new(
                "omega",
                format!("{}: must be a finite number in [0, {OMEGA_MAX}]{estimate}", shown(self.omega)),
            ));
        }
        if self.t_fractions.is_empty() {
            return Err(SettingError::new(
                "t_fractions",
                "no late starts: give at least one fraction (0 is the full run)".into(),
            ));
        }
        if let Some(v) = self.t_fractions.iter().find(|v| !(v.is_finite() && (0.0..=1.0).contains(*v))) {
            return Err(SettingError::new("t_fractions", format!("{v} is not a fraction of K in [0, 1]")));
        }
        let safety = self.tol.safety;
        if !(safety.is_finite() && safety > 0.0) {
            return Err(SettingError::new(
                "tolerance_safety",
                format!("{}: must be a finite number > 0 (the factor on the rounding estimates)", shown(safety)),
            ));
        }
        Ok(())
    }
}

/// A value as written when it is moderate (`3`, `-16`, `0.5`), else in scientific notation
/// (`1e300`), so that a message never spells out 300 digits.
fn shown(v: f64) -> String {
    if v == 0.0 || (1e-4..1e6).contains(&v.abs()) { format!("{v}") } else { format!("{v:e}") }
}

impl super::Setting {
    /// Checks the setting: its configuration ([`Config::validate`]) and its horizon, which
    /// a case chooses within `[10, max(k_max, 10)]` (whether it is the one this build
    /// chooses for the spec is checked once the case is built).
    pub fn validate(&self) -> std::result::Result<(), SettingError> {
        Config::from_setting(self).validate()?;
        let hi = self.k_max.max(10);
        if !(10..=hi).contains(&self.k) {
            return Err(SettingError::new(
                "K",
                format!(
                    "the horizon K = {} lies outside [10, max(k_max, 10)] = [10, {hi}], where a case chooses it",
                    self.k
                ),
            ));
        }
        Ok(())
    }

    /// The setting of a check with horizon `k` under `cfg`: what a replay needs besides the
    /// spec.
    pub fn of(k: usize, cfg: &Config) -> Self {
        super::Setting {
            k,
            k_max: cfg.k_max,
            target: cfg.target,
            omega: cfg.omega,
            t_fractions: cfg.t_fractions.clone(),
            tolerance_safety: cfg.tol.safety,
        }
    }
}

/// The dense run of a case.
#[derive(Debug)]
pub struct Unrolled {
    /// `x_0, …, x_K`.
    pub traj: Trajectory,
    /// `Ẋ_0, …, Ẋ_K` from `Ẋ_0 = Dx_0`.
    pub fwd: Vec<DMatrix<f64>>,
    /// `Ū_K^{(0)}, …, Ū_K^{(K)}` (index `k`).
    pub rev: Vec<DMatrix<f64>>,
    /// `e_k`, `ė_k`, `ē_k` (spectral norms).
    pub curves: ErrorCurves,
}

/// The ends of one truncated reverse sweep (12) from `K'` down to `T'`
/// ([`Case::truncated_ends`]).
#[derive(Debug)]
pub struct TruncatedEnds {
    /// `Ū_{K'}^{(T')}` and, when `T' < K'`, `Ū_{K'}^{(T'+1)}`.
    pub ubars: Vec<DMatrix<f64>>,
    /// `X̄_{K'}^{(T')}`.
    pub xbar: DMatrix<f64>,
    /// The same sweep in double-double, its `ubars` cut as above (`xbar_norms` whole).
    pub dd: ReverseDd,
}

/// How a late-started forward run (20) from `Dx_0` was computed (a key of
/// [`Case::late_start_errors_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LateStart {
    /// On the case's linearization ([`Case::late_start_jacobians`]).
    Linearized,
    /// With `B_k`, `C_k` formed one iterate at a time along a longer trajectory
    /// (`thm8.budget`, late starts beyond `2K`).
    Streamed,
}

/// A late-started run: how it was computed, `T'` and the number of steps.
pub type LateStartKey = (LateStart, usize, usize);

/// A cache's lock; a panic elsewhere leaves its contents valid (they are only ever
/// completed entries), so a poisoned lock is used as is.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One instance under check.
pub struct Case {
    /// The spec it was built from (for witnesses and replay), if any.
    pub spec: Option<Spec>,
    /// The instance.
    pub inst: DynInstance,
    /// The horizon `K`.
    pub k: usize,
    run: OnceLock<Unrolled>,
    long: OnceLock<(Trajectory, Linearization)>,
    scales: OnceLock<Scales>,
    growth: OnceLock<f64>,
    quadratic: OnceLock<Option<QuadraticView>>,
    conditioning: OnceLock<Option<Conditioning>>,
    /// `‖B_j‖`, `‖C_j‖` for `j = 0, 1, …`, as far as they were asked for.
    norms: Mutex<(Vec<f64>, Vec<f64>)>,
    /// The truncated reverse sweeps asked for, by `(K', T')`.
    truncated: Mutex<HashMap<(usize, usize), Arc<TruncatedEnds>>>,
    /// The errors of the late-started runs asked for, by `(how, T', steps)`.
    late_errors: Mutex<HashMap<LateStartKey, Arc<Vec<f64>>>>,
    /// The double-double unrolling this case's run was rounded from, for a case built by
    /// [`Case::refined`] (certification): then the case's tolerances are those of rounding
    /// its results once, not of computing them in `f64`.
    refined: Option<Box<AffineDd>>,
}

impl Case {
    /// Builds the instance of `spec` and chooses its horizon.
    pub fn from_spec(spec: &Spec, cfg: &Config) -> Result<Self> {
        Ok(Case::new(spec.build()?, Some(*spec), cfg))
    }

    /// Wraps an instance; `K` is the first `k` with `r^k ≤ target`, `r` the contraction
    /// modulus (or the spectral radius when there is none), within `[10, k_max]`.
    pub fn new(inst: DynInstance, spec: Option<Spec>, cfg: &Config) -> Self {
        let c = &inst.constants;
        let r = if c.contraction() { c.rho() } else { c.map.spectral_radius };
        let k = if r > 0.0 && r < 1.0 { (cfg.target.ln() / r.ln()).ceil() as usize } else { cfg.k_max };
        Case {
            spec,
            inst,
            k: k.clamp(10, cfg.k_max.max(10)),
            run: OnceLock::new(),
            long: OnceLock::new(),
            scales: OnceLock::new(),
            growth: OnceLock::new(),
            quadratic: OnceLock::new(),
            conditioning: OnceLock::new(),
            norms: Mutex::default(),
            truncated: Mutex::default(),
            late_errors: Mutex::default(),
            refined: None,
        }
    }

    /// The case of `inst` at horizon `k` whose unrolling is recomputed in double-double
    /// ([`AffineDd`], `2K + 1` steps, as [`Self::long`]) and rounded once: the iterates, `x*`,
    /// `Dx*`, forward and reverse mode and the error curves. `inst` is rebuilt from the same
    /// spec as the original case; its `x*`, `Dx*` are replaced. `None` when the map is not
    /// affine in the state or `I − B` is singular in double-double.
    pub fn refined(mut inst: DynInstance, spec: Option<Spec>, k: usize) -> Option<Self> {
        let dd = AffineDd::unroll(&inst.map, &inst.x0, 2 * k + 1)?;
        inst.x_star = DVector::from_column_slice(dd.x_star.to_f64().as_slice());
        inst.dx_star = dd.dx_star.to_f64();
        inst.x_star_error = 0.0;
        let columns: Vec<DVector<f64>> =
            dd.xs.iter().map(|x| DVector::from_column_slice(x.to_f64().as_slice())).collect();
        let long_traj = Trajectory::from_columns(DMatrix::from_columns(&columns));
        let lin = Linearization::from_parts(dd.b.clone(), dd.c.iter().map(|c| c.to_f64()).collect());
        let fwd_dd = dd.late_start(0, k, &inst.dx0);
        let (rev_dd, _) = dd.truncated(k, 0);
        let curves = ErrorCurves {
            e: dd.xs[..=k].iter().map(|x| x.distance_dd(&dd.x_star)).collect(),
            edot: fwd_dd.iter().map(|j| j.distance_dd(&dd.dx_star)).collect(),
            ebar: rev_dd.iter().map(|j| j.distance_dd(&dd.dx_star)).collect(),
        };
        let run = Unrolled {
            traj: Trajectory::from_columns(DMatrix::from_columns(&columns[..=k])),
            fwd: fwd_dd.iter().map(|j| j.to_f64()).collect(),
            rev: rev_dd.iter().map(|j| j.to_f64()).collect(),
            curves,
        };
        let case = Case {
            spec,
            inst,
            k,
            run: OnceLock::from(run),
            long: OnceLock::from((long_traj, lin)),
            scales: OnceLock::new(),
            growth: OnceLock::new(),
            quadratic: OnceLock::new(),
            conditioning: OnceLock::new(),
            norms: Mutex::default(),
            truncated: Mutex::default(),
            late_errors: Mutex::default(),
            refined: Some(Box::new(dd)),
        };
        Some(case)
    }

    /// `true` for a case built by [`Self::refined`].
    pub fn is_refined(&self) -> bool {
        self.refined.is_some()
    }

    /// Late-started forward iterates (20) on this case's linearization, from `Ẋ^{(0)} = dx0`
    /// (in double-double and rounded, for a refined case).
    pub fn late_start_jacobians(&self, t_prime: usize, steps: usize, dx0: &DMatrix<f64>) -> Vec<DMatrix<f64>> {
        match &self.refined {
            Some(dd) => dd.late_start(t_prime, steps, dx0).iter().map(|j| j.to_f64()).collect(),
            None => self.lin().late_start_jacobians(t_prime, steps, dx0),
        }
    }

    /// `ė_{T'}^{(k)} = ‖Ẋ_{T'}^{(k)} − Dx*‖`, `k = 0, …, steps`, of the late-started run (20)
    /// from `Ẋ_{T'}^{(0)} = Dx_0` at `T' = t_prime` on this case's linearization (computed
    /// once per case and `(T', steps)`: the variants of `thm8.bound` and `rem9.local` differ
    /// in their right-hand sides only).
    pub fn late_start_errors(&self, t_prime: usize, steps: usize) -> Arc<Vec<f64>> {
        self.late_start_errors_with((LateStart::Linearized, t_prime, steps), || {
            self.late_start_jacobians(t_prime, steps, &self.inst.dx0)
        })
    }

    /// [`Self::late_start_errors`] of a run computed `how` (the key's first part) by
    /// `jacobians` (`Ẋ_{T'}^{(0)}, …, Ẋ_{T'}^{(steps)}`), called only when this key was not
    /// computed before.
    pub fn late_start_errors_with(
        &self,
        key: LateStartKey,
        jacobians: impl FnOnce() -> Vec<DMatrix<f64>>,
    ) -> Arc<Vec<f64>> {
        if let Some(errors) = lock(&self.late_errors).get(&key) {
            return Arc::clone(errors);
        }
        let dx_star = &self.inst.dx_star;
        let errors = Arc::new(jacobians().iter().map(|j| spectral_norm(&(j - dx_star))).collect());
        Arc::clone(lock(&self.late_errors).entry(key).or_insert(errors))
    }

    /// The dense run (computed on first use).
    pub fn run(&self) -> &Unrolled {
        self.run.get_or_init(|| {
            let inst = &self.inst;
            let traj = inst.run(self.k);
            let lin = self.lin();
            let fwd = lin.late_start_jacobians(0, self.k, &inst.dx0);
            let (rev, _) = lin.truncated_jacobians(self.k, 0);
            let e = traj.errors(&inst.x_star);
            let edot = fwd.iter().map(|j| spectral_norm(&(j - &inst.dx_star))).collect();
            let ebar = rev.iter().map(|j| spectral_norm(&(j - &inst.dx_star))).collect();
            Unrolled { traj, fwd, rev, curves: ErrorCurves { e, edot, ebar } }
        })
    }

    /// The iterates `x_0, …, x_{2K+1}` (long enough for the literal reading of Section 4.1,
    /// which runs `K'` derivative steps from `T' ≤ K`) and the Jacobians `B_k`, `C_k` at
    /// them, computed once. The first `K + 1` iterates are those of [`Self::run`].
    pub fn long(&self) -> &(Trajectory, Linearization) {
        self.long.get_or_init(|| {
            let traj = self.inst.run(2 * self.k + 1);
            let lin = Linearization::along(&self.inst.map, &traj, 2 * self.k + 1);
            (traj, lin)
        })
    }

    /// The Jacobians `B_k`, `C_k`, `k = 0..=2K`.
    pub fn lin(&self) -> &Linearization {
        &self.long().1
    }

    /// The objective's dimension `n` (the first block of the state).
    pub fn n_objective(&self) -> usize {
        self.inst.map.capabilities().objective.map_or(self.inst.map.dim_x(), |f| f.dim_x())
    }

    /// The quadratic structure (`H`, its spectrum, `∂_jH`, the residual polynomial) at `x*`,
    /// when the map exposes its objective and polynomial (computed once).
    pub fn quadratic(&self) -> Option<&QuadraticView> {
        self.quadratic
            .get_or_init(|| {
                let caps = self.inst.map.capabilities();
                let (f, poly) = (caps.objective?, caps.polynomial?);
                let x_star = self.inst.x_star.rows(0, self.n_objective()).into_owned();
                QuadraticView::new(f, poly, &x_star)
            })
            .as_ref()
    }

    /// `Some(reason)` when the assumption fails on this instance.
    pub fn assumption_failure(&self, a: Assumption) -> Option<String> {
        let c = &self.inst.constants;
        match a {
            Assumption::Contraction if self.inst.map.capabilities().time_varying => Some(format!(
                "the map changes with the iteration (time-varying, {}): no single contraction A(·, u); ‖D_x A_k‖ ≥ 1 (‖D_x A_∞(x*)‖ = {:.6}, spectral radius {:.6})",
                self.inst.map.name(),
                c.map.jacobian_norm_at_fixed_point,
                c.map.spectral_radius
            )),
            Assumption::Quadratic => self.quadratic_failure(),
            Assumption::Commuting => self.commuting_failure(),
            Assumption::StrictComplementarity => self.complementarity_failure(),
            Assumption::Contraction if !c.contraction() => Some(format!(
                "‖D_x A‖ ≤ ρ = {:.6} ≥ 1 (‖D_x A(x*)‖ = {:.6}, spectral radius {:.6})",
                c.rho(),
                c.map.jacobian_norm_at_fixed_point,
                c.map.spectral_radius
            )),
            Assumption::Smoothness => c.map.smoothness_failure(),
            _ => None,
        }
    }

    fn quadratic_failure(&self) -> Option<String> {
        if self.quadratic().is_none() {
            return Some(format!("{} is not a polynomial method with an exposed objective", self.inst.map.name()));
        }
        let m_x = self.inst.constants.map.m_x.value;
        (m_x != 0.0).then(|| format!("f is not quadratic: ∇²f varies with x (M_x = {m_x:.3e})"))
    }

    /// Strict complementarity of a proximal map's fixed point (smooth maps: `None`). The
    /// margin `δ = min_i ||z*_i| − αλ₁|` is computed from `x̂*`, off the exact `x*` by at most
    /// `x_star_error`; `z = Fx − α∇f(Fx)` moves by at most `q‖F‖` times that (`q‖F‖ =
    /// δ/affine_radius`), and its evaluation rounds by `product(d, step_scale)`. A margin of
    /// 0 fails; a positive margin within that rounding cannot be certified: either way
    /// `u ↦ x*(u)` may have a kink at `u` and Dx* is not its derivative.
    fn complementarity_failure(&self) -> Option<String> {
        let id = self.inst.map.capabilities().support?;
        let delta = id.margin;
        let q = if id.affine_radius.is_finite() && id.affine_radius > 0.0 { delta / id.affine_radius } else { 0.0 };
        let rounding =
            q * self.inst.x_star_error + crate::tol::ToleranceModel::default().product(self.dim(), self.step_scale());
        if delta > rounding {
            return None;
        }
        let where_ = format!("|S| = {} of n = {}", id.support, id.n);
        Some(if delta == 0.0 {
            format!(
                "δ = min_i ||z*_i| − αλ₁| = 0: a coordinate of the pre-prox point z* = x* − α∇f(x*) lies on the kink of the soft threshold ({where_}), so u ↦ x*(u) has no derivative at u and (6) has nothing to equal"
            )
        } else {
            format!(
                "δ = min_i ||z*_i| − αλ₁| = {delta:.3e} is within the rounding of the computed z* = x* − α∇f(x*) ({rounding:.3e}): a coordinate of z* may lie on the kink of the soft threshold ({where_}), so strict complementarity cannot be certified and u ↦ x*(u) may have no derivative at u"
            )
        })
    }

    fn commuting_failure(&self) -> Option<String> {
        let q = self.quadratic()?;
        let comm = q.commutator();
        let threshold = crate::tol::ToleranceModel::default().product(q.h.nrows(), 2.0);
        (comm > threshold).then(|| {
            format!(
                "H(θ) does not commute with ∂_θH: max_j ‖H∂_jH − ∂_jH H‖/(‖H‖‖∂_jH‖) = {comm:.3e} > {threshold:.1e}"
            )
        })
    }

    /// `‖B_j‖` and `‖C_j‖` at the iterates `x_j`, `j ∈ range` (within `0..=2K`; each
    /// computed once per case).
    pub fn jacobian_norms(&self, range: std::ops::Range<usize>) -> (Vec<f64>, Vec<f64>) {
        let lin = self.lin();
        let mut norms = lock(&self.norms);
        let (b, c) = &mut *norms;
        for j in b.len()..range.end {
            b.push(spectral_norm(lin.b(j)));
            c.push(spectral_norm(lin.c(j)));
        }
        (b[range.clone()].to_vec(), c[range].to_vec())
    }

    /// The truncated reverse sweep (12) from `K' = k_end` down to `T' = stop` on this
    /// case's linearization, in `f64` and again in double-double on the same `B_k`, `C_k`
    /// (computed once per case and `(K', T')`: the forward = reverse checks of every
    /// variant read the same sweep).
    pub fn truncated_ends(&self, k_end: usize, stop: usize) -> Arc<TruncatedEnds> {
        if let Some(ends) = lock(&self.truncated).get(&(k_end, stop)) {
            return Arc::clone(ends);
        }
        let lin = self.lin();
        let (mut ubars, xbar) = lin.truncated_jacobians(k_end, stop);
        ubars.truncate(2);
        let mut dd = reference::truncated_jacobians_dd(lin, k_end, stop);
        dd.ubars.truncate(2);
        let ends = Arc::new(TruncatedEnds { ubars, xbar, dd });
        Arc::clone(lock(&self.truncated).entry((k_end, stop)).or_insert(ends))
    }

    /// `M = max_{i ≤ j} ‖B_{j−1}⋯B_i‖` over the long linearization `0..=2K` (computed once):
    /// the amplification of rounding errors by the derivative recursions
    /// ([`crate::unroll::reference::window_growth`]).
    pub fn window_growth(&self) -> f64 {
        *self.growth.get_or_init(|| {
            let lin = self.lin();
            crate::unroll::reference::window_growth(lin, 0..lin.len())
        })
    }

    /// The late-start indices `T' = ⌊f·K⌋` for the configured fractions.
    pub fn t_primes(&self, cfg: &Config) -> Vec<usize> {
        let mut t: Vec<usize> = cfg.t_fractions.iter().map(|f| (f * self.k as f64).floor() as usize).collect();
        t.dedup();
        t
    }

    /// A derivative `Dx_0 = G ≠ 0` of a warm start `x_0(u) = x_0 + G(u − u_0)`, drawn from
    /// the spec's seed: used by the readings of subtlety 1.
    pub fn warm_start_derivative(&self) -> DMatrix<f64> {
        let seed = self.spec.map(|s| s.seed).unwrap_or(0) ^ WARM_START_SALT;
        let mut rng = draw::rng(seed);
        let (n, p) = (self.inst.map.dim_x(), self.inst.map.dim_u());
        DMatrix::from_iterator(n, p, draw::normal_vector(n * p, 1.0, &mut rng).iter().cloned())
    }

    /// The effective length of the products of one unrolling step: `n + p`, times
    /// `cond(P)` in an adapted norm, where a step `P⁻¹A(Pz')` rounds `Pz'` and `A(Pz')` at
    /// their own scale and `P⁻¹` (with `‖P‖ = 1`) amplifies that rounding by up to `cond(P)`.
    pub fn dim(&self) -> usize {
        crate::instance::rounding_dim(&self.inst.map)
    }

    /// The scale of the iterates: `max_k ‖x_k‖` and `‖x*‖`.
    pub fn x_scale(&self) -> f64 {
        self.scales().x
    }

    /// The scale of one step's rounding: `max_k` of the step magnitude
    /// ([`crate::map::FixedPointMap::step_magnitude`]) at `x_k` and at `x*`, at least
    /// [`Self::x_scale`]. This, not `‖x_k‖`, sets the floor that the iterates' error
    /// settles at (issue #12: on logistic regression the gradient's terms are 30× `‖x*‖`
    /// and `e_k` rose above a tolerance built on `‖x_k‖`).
    pub fn step_scale(&self) -> f64 {
        self.scales().step
    }

    /// The scale of the derivative iterates: `max_k ‖Ẋ_k‖`, `‖Dx*‖`, `‖Ū^{(k)}‖` (each
    /// bounded by its largest entry times the square root of its smaller dimension).
    pub fn j_scale(&self) -> f64 {
        self.scales().j
    }

    fn scales(&self) -> Scales {
        *self.scales.get_or_init(|| {
            let run = self.run();
            let x = run.traj.as_matrix().column_iter().map(|c| c.norm()).fold(self.inst.x_star.norm(), f64::max);
            let (map, mut s) = (&self.inst.map, self.inst.map.scratch());
            let at_fixed_point = map.step_magnitude(self.k, self.inst.x_star.as_view(), &mut s);
            let step = run
                .traj
                .as_matrix()
                .column_iter()
                .enumerate()
                .map(|(k, c)| map.step_magnitude(k, c, &mut s))
                .fold(at_fixed_point.max(x), f64::max);
            let j = run
                .fwd
                .iter()
                .chain(run.rev.iter())
                .map(|j| j.amax() * (j.nrows().min(j.ncols()) as f64).sqrt())
                .fold(self.inst.constants.dx_star_norm, f64::max);
            Scales { x, j, step }
        })
    }

    /// The conditioning of the solve for `x*`: an a-priori bound on `cond(I − B)`,
    /// `(1 + ρ)/(1 − ρ)` under A2.1 (`‖B‖ ≤ ρ` gives `‖I − B‖ ≤ 1 + ρ` and
    /// `‖(I − B)^{-1}‖ ≤ 1/(1 − ρ)`), else `1/max(1 − r, 10⁻³)` with `r` the spectral radius
    /// (an estimate). `x*` is computed by each family's own solver (a Cholesky solve with
    /// `∇²f`, Newton's method, proximal gradient), whose system is not `I − B` itself, so the
    /// rounding of `x*` ([`Self::tol_iterate`], and the finite differences of
    /// `thm2.implicit`) keeps this bound; the solve for `Dx*`, which factors `I − B`
    /// itself, uses the computed [`Self::implicit_cond`].
    pub fn solve_cond(&self) -> f64 {
        let c = &self.inst.constants;
        if c.contraction() { (1.0 + c.rho()) / (1.0 - c.rho()) } else { 1.0 / (1.0 - c.map.spectral_radius).max(1e-3) }
    }

    /// Upper bounds on `‖(I − B)^{-1}‖` and `cond(I − B)` at `x̂*`, from the singular values
    /// of the computed `I − B` with their own rounding accounted for
    /// ([`crate::unroll::implicit::conditioning`]; computed once). `None` when they cannot
    /// be computed or `I − B` is singular to working accuracy.
    pub fn conditioning(&self) -> Option<Conditioning> {
        *self.conditioning.get_or_init(|| conditioning(&self.inst.map, &self.inst.x_star, self.dim()))
    }

    /// `cond(I − B)` for the LU solve `Dx* = (I − B)^{-1}C`: the computed bound
    /// ([`Self::conditioning`]), or the a-priori [`Self::solve_cond`] where that is
    /// smaller (under A2.1 both are bounds) or the computed one is not available. Without
    /// A2.1 the computed bound is used alone (the a-priori one is then only an estimate):
    /// a custom claim on `ė` is scored there, e.g. heavy-ball at `β = 1 − 10⁻⁸`, whose
    /// adapted modulus rounds to `1 + 4·10⁻⁹`.
    ///
    /// `1/(1 − ρ)` bounds `‖(I − B)^{-1}‖` but can overstate it without limit: for gradient
    /// descent with a step near `2/L`, `ρ = |1 − αL| → 1` comes from the oscillating top
    /// eigen-direction, where `I − B = αH` has eigenvalue `≈ 2`, and `cond(I − B) =
    /// cond(H)` stays moderate (the false `edot[0] <= 0` that held at `c = 1 − 10⁻¹⁰`).
    pub fn implicit_cond(&self) -> f64 {
        let a_priori = self.solve_cond();
        match self.conditioning() {
            Some(k) if self.inst.constants.contraction() => k.cond.min(a_priori),
            Some(k) => k.cond,
            None => a_priori,
        }
    }

    /// A bound on `‖(I − B(y))^{-1}‖` for every `y` with `‖y − x̂*‖ ≤ δ*` (the segment from the
    /// computed fixed point to the exact one): with `σ⁻¹ ≥ ‖(I − B(x̂*))^{-1}‖` computed
    /// ([`Self::conditioning`]) and `‖B(y) − B(x̂*)‖ ≤ M_x δ*` (A2.2), the Neumann series
    /// gives `σ⁻¹/(1 − σ⁻¹M_xδ*)` when `σ⁻¹M_xδ* < 1`. Under A2.1, `1/(1 − ρ)` is a bound on
    /// the whole ball of the constants (which holds the segment), used where smaller or
    /// where the computed bound is not available. Without A2.1 there is no a-priori bound
    /// (`1/10⁻³⁰⁰` where the computed one is not available, as before).
    pub fn inverse_norm_near_x_star(&self) -> f64 {
        let c = &self.inst.constants;
        let a_priori = 1.0 / (1.0 - self.rho_or_one()).max(1e-300);
        let m_x = Self::finite_m_x(c.map.m_x.value);
        let shift = if m_x == 0.0 { 0.0 } else { m_x * self.inst.x_star_error };
        let computed = self
            .conditioning()
            .map(|k| k.inverse_norm)
            .filter(|inv| (inv * shift).is_finite() && inv * shift < 1.0)
            .map(|inv| inv / (1.0 - inv * shift));
        match computed {
            Some(inv) => inv.min(a_priori),
            None => a_priori,
        }
    }

    /// Tolerance on `e_k`: the recursion (4), the solve for `x*`, and twice the error
    /// `δ*` of the computed fixed point (it enters both `e_k` and the `e_0` of bounds).
    ///
    /// For a refined case: one rounding of the results and of their norms,
    /// `product(d, max‖x_k‖)`, plus the recursion bound at the double-double unit roundoff.
    pub fn tol_iterate(&self, cfg: &Config, k: usize) -> f64 {
        let (d, s, step) = (self.dim(), self.x_scale(), self.step_scale());
        if self.is_refined() {
            return cfg.tol.product(d, s) + cfg.tol.recursion(k, d, step, self.rho_or_one()) * (EPS_DD / EPS);
        }
        cfg.tol.recursion(k, d, step, self.rho_or_one())
            + cfg.tol.solve(d, self.solve_cond(), s)
            + 2.0 * self.inst.x_star_error
    }

    /// Tolerance on `ė_k` or `ē_k`: the recursion (9)/(12) ([`Self::tol_jacobian_recursion`])
    /// and the error of the computed `Dx*` ([`Self::tol_dx_star`]).
    ///
    /// The computed iterates `x̃_j` are off the exact ones by `δx_j`, at most the recursion
    /// term of [`Self::tol_iterate`] (`recursion(j, d, step_scale, ρ)`; the solve and `δ*`
    /// terms there concern `x*`, not the path), and (9)/(12) evaluate `B_j`, `C_j` at
    /// them: each step adds `‖B(x̃_j)Ẋ_j + C(x̃_j) − B(x_j)Ẋ_j − C(x_j)‖ ≤ (M_x‖Ẋ_j‖ + M_u)δx_j`,
    /// carried by the contraction, so
    /// `≤ (M_x·j_scale + M_u)·recursion(k, d, step_scale, ρ)·min(k + 1, 1/(1 − ρ))`.
    /// (Issue #12: on logistic regression, where `M_x‖Ẋ‖ ≈ 33`, an iterate error of
    /// `1.2e-15` moved `ė_7` to `3.9e-14`, above a tolerance without this term.) Where
    /// `M_x` is not finite (Huber: `D_xA` jumps at the kink and is constant between), only
    /// `M_u` applies; a rounding error that moves a residual across the kink is outside
    /// the model (the map is not differentiable there). These sums of `ρ^j` over errors
    /// made at every step are genuinely of size `min(k + 1, 1/(1 − ρ))`.
    ///
    /// For a refined case: as [`Self::tol_iterate`], at the scale of the derivatives (the
    /// iterates and derivatives are both double-double results rounded once).
    pub fn tol_jacobian(&self, cfg: &Config, k: usize) -> f64 {
        let (d, s) = (self.dim(), self.j_scale());
        if self.is_refined() {
            return cfg.tol.product(d, s) + cfg.tol.recursion(k, d, s, self.rho_or_one()) * (EPS_DD / EPS);
        }
        self.tol_jacobian_recursion(cfg, k) + self.tol_dx_star(cfg)
    }

    /// The error of the computed `Dx*` at the scale of the derivatives
    /// ([`Self::dx_star_error`] with `S =` [`Self::j_scale`]).
    pub fn tol_dx_star(&self, cfg: &Config) -> f64 {
        self.dx_star_error(cfg, self.j_scale())
    }

    /// The error of the computed `Dx* = (I − B̂)^{-1}Ĉ` at `x̂*` against the exact `Dx*` at
    /// `x*`, for a quantity of size `scale`:
    ///
    /// - the LU solve, `solve(d, cond, scale)` with `cond` [`Self::implicit_cond`] (the
    ///   computed `cond(I − B)`, not the a-priori `(1 + ρ)/(1 − ρ)`);
    /// - the error `δ*` of `x̂*`, propagated: along the segment from `x*` to `x̂*`,
    ///   `ΔDx* = (I − B)^{-1}(ΔB·Dx* + ΔC)` with `‖ΔB‖ ≤ M_x δ*`, `‖ΔC‖ ≤ M_u δ*`, so
    ///   `‖ΔDx*‖ ≤ ‖(I − B)^{-1}‖·Γ♯·δ*` with `Γ♯ = M_x‖Dx*‖ + M_u` (`M_x` taken as 0 where
    ///   it is not finite, `finite_m_x`; the term is 0 where `M_u` is not finite,
    ///   as in [`Self::tol_jacobian_recursion`]) and `‖(I − B)^{-1}‖`
    ///   bounded along the segment by [`Self::inverse_norm_near_x_star`]. On an
    ///   ill-conditioned ridge weight (`λ ≪ σ_min(A)²`, or `m < n`) `δ* ≈ ε·cond(H)·‖x*‖`
    ///   and `‖(I − B)^{-1}‖Γ♯ = ‖H^{-1}‖`: the error of `Dx* = −H^{-1}x*` is
    ///   `≈ ε·cond(H)²‖x*‖/L`, conditioned twice, and this term carries it.
    ///
    /// A proximal map is affine on the ball of its affine radius around `x*`: where `δ*` is
    /// inside it, `Dx*` is the same at `x̂*` and `x*` (`Γ♯` of that ball is 0).
    ///
    /// For a refined case (`Dx*` solved in double-double and rounded once):
    /// `product(d, scale)` plus the solve at the double-double unit roundoff.
    pub fn dx_star_error(&self, cfg: &Config, scale: f64) -> f64 {
        let d = self.dim();
        let solve = cfg.tol.solve(d, self.implicit_cond(), scale);
        if self.is_refined() {
            return cfg.tol.product(d, scale) + solve * (EPS_DD / EPS);
        }
        let delta = self.inst.x_star_error;
        let affine = self.inst.map.capabilities().support.is_some_and(|s| 2.0 * delta < s.affine_radius);
        let from_x_star = if delta == 0.0 || affine {
            0.0
        } else {
            let c = &self.inst.constants;
            let m_x = Self::finite_m_x(c.map.m_x.value);
            let gamma_sharp = if m_x == 0.0 { c.map.m_u.value } else { m_x * c.dx_star_norm + c.map.m_u.value };
            if gamma_sharp.is_finite() { gamma_sharp * delta * self.inverse_norm_near_x_star() } else { 0.0 }
        };
        solve + from_x_star
    }

    /// `M_x`, or 0 where it is not finite: as in [`Self::tol_jacobian_recursion`], where
    /// `D_xA` jumps at a kink and is constant between (Huber), a rounding error that moves
    /// a point across the kink is outside the model (and so is the whole `δ*` term of
    /// [`Self::dx_star_error`] where `M_u` is not finite: `D_uA` jumps there).
    fn finite_m_x(m_x: f64) -> f64 {
        if m_x.is_finite() { m_x } else { 0.0 }
    }

    /// The part of [`Self::tol_jacobian`] that bounds the error of the computed `Ẋ_k`
    /// itself (not of `Dx*`): the recursion, and the iterates' error carried through
    /// `M_x`, `M_u`. Calibrated end to end on logistic regression
    /// (`jacobians_end_to_end` in [`crate::calibration`]).
    pub fn tol_jacobian_recursion(&self, cfg: &Config, k: usize) -> f64 {
        let (d, s, rho) = (self.dim(), self.j_scale(), self.rho_or_one());
        if self.is_refined() {
            return cfg.tol.product(d, s) + cfg.tol.recursion(k, d, s, rho) * (EPS_DD / EPS);
        }
        let c = &self.inst.constants.map;
        let m_x = if c.m_x.value.is_finite() { c.m_x.value } else { 0.0 };
        let lipschitz = m_x * s + c.m_u.value;
        let from_iterates = if lipschitz > 0.0 && lipschitz.is_finite() {
            lipschitz * cfg.tol.recursion(k, d, self.step_scale(), rho) * ToleranceModel::amplification(k, rho)
        } else {
            0.0
        };
        cfg.tol.recursion(k, d, s, rho) + from_iterates
    }

    /// `ρ`, or 1 when A2.1 fails (no contraction to damp rounding).
    pub fn rho_or_one(&self) -> f64 {
        let r = self.inst.constants.rho();
        if r < 1.0 { r } else { 1.0 }
    }
}

/// The scales of [`Case::x_scale`], [`Case::j_scale`] and [`Case::step_scale`].
#[derive(Debug, Clone, Copy)]
struct Scales {
    x: f64,
    j: f64,
    step: f64,
}

/// A fixed salt, so that the warm-start derivative is independent of the instance's draws.
const WARM_START_SALT: u64 = 0x5eed_d0d0_0000_0001;
