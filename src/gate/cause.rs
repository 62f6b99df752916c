//! Causes confirmed by simulation: for a failing trace, `gate check` re-runs its own
//! reference with each known bug planted and names the bug whose simulated trace matches
//! the submitted one within the tolerance the reference comparison uses.
//!
//! The reference computes, along the iterates `x_{k+1} = A(x_k, u)` (4) with
//! `B_k = D_x A(x_k, u)`, `C_k = D_u A(x_k, u)` (10), the late-started forward mode (20)
//! `Ẋ^{(j+1)} v = B_{T'+j} Ẋ^{(j)} v + C_{T'+j} v` from `Ẋ^{(0)} v = 0`, `j < K' − T'`, and
//! the truncated reverse sweep (12) `Ū^{(k)} = Ū^{(k+1)} + X̄^{(k+1)} C_k`,
//! `X̄^{(k)} = X̄^{(k+1)} B_k` from `X̄^{(K')} = wᵀ`, `Ū^{(K')} = 0`, down to `k = T'`. Each
//! [`BugClass`] changes exactly one thing:
//!
//! | class | simulated change |
//! |---|---|
//! | [`BugClass::SignC`] | `−C_k` for `C_k`, both modes |
//! | [`BugClass::BNext`] | `B_{k+1}` for `B_k`, both modes |
//! | [`BugClass::LateStartPlusOne`], [`BugClass::LateStartMinusOne`] | the late start and the end of the sweep at `T' ± 1`: either with the rows that index implies (`K' − T' ∓ 1 + 1`, every array following from `T' ± 1`), or with `K' − T' + 1` rows (the forward mode `K' − T'` steps from `x_{T'±1}`; the sweep stopped at `T' + 1` repeats its last row) |
//! | [`BugClass::LiteralIndex`] | `jvp_final = Ẋ_{T'}^{(K')} v`, the index of Section 4.1 read literally: `K'` steps from `x_{T'}` (iterates continued past `x_{K'}`), the rows either as the reference or all `K' + 1` of them |
//! | [`BugClass::Frozen`] | no derivative update (either mode) at the steps `k` where `‖x_{k+1} − x_k‖ ≤ ε(1 + ‖x_k‖)`, or at every step from the first such `k` on; `ε` is fitted: every threshold between two observed ratios that the submitted rows allow (a frozen step copies its row), the 8 closest to the submitted trace's unchanged rows; a threshold that freezes every derivative step `[T', K')` only where the run is stationary or step 0 is not frozen (below) |
//! | [`BugClass::Detached`] | `C_k = 0` in both modes (the parameter is not differentiated through: `stop_gradient`, `.detach()`), so every derivative row is 0; simulated only when every failing derivative array is exactly 0 |
//! | [`BugClass::Float32Iterates`] | the iterates in float32: `x` holds single-precision numbers and every failing array agrees with the reference at float32 tolerance |
//! | [`BugClass::DroppedWarmStart`] | the iteration started from `x_0 = 0` instead of the instance's `x0` |
//! | [`BugClass::NonZeroStart`] | `Ẋ^{(0)} v ≠ 0` (resp. `Ū^{(K')} ≠ 0`): the recursions started from the submitted first row |
//! | [`BugClass::NoTranspose`] | `X̄ ← B_k X̄` instead of `B_kᵀ X̄` in the sweep (invisible where `B_k` is symmetric: gradient descent) |
//! | [`BugClass::AdjointOrder`] | Algorithm 1 as printed: `X̄^{(k)}` updated first, then `Ū^{(k)} = Ū^{(k+1)} + X̄^{(k)} C_k` |
//! | [`BugClass::StaleMomentum`] | heavy-ball started from `z_0 = (x_0, x_{−1})`, `x_{−1}` left from a previous run: fitted from the submitted `x_1` (`x_1 = x_0 − α∇f(x_0) + β(x_0 − x_{−1})`) |
//! | [`BugClass::StepSize`], [`BugClass::Momentum`] | the iteration and both modes with another `α` (resp. `β`), fitted to the submitted `x` by a log-spaced scan and a golden-section search on `Σ_k ‖x_k − x_k(α)‖²` (to the failing derivative arrays when `x` passes and the run is stationary, `x_0 = x*`; when `x` passes and moves, `α` and `β` are right and not fitted) |
//! | [`BugClass::ImplicitTranspose`], [`BugClass::ImplicitSign`], [`BugClass::ImplicitAtIterate`] | the optional implicit arrays only: see [`super::implicit`] |
//!
//! **A derivative that is identically zero.** Freezing every derivative step of `[T', K')`
//! and `C_k = 0` give the same trace: every row of `jvp` and `vjp` is the start, 0. The
//! freeze class is a derivative frozen *once the iterates have converged*; such a window is
//! simulated only where that can be so:
//! - on a *stationary* run (every `x_k` within its tolerance of `x_0`: a warm start
//!   `x_0 = x*`), whose iterates have converged from the start (every `ε` above rounding
//!   freezes every step);
//! - where step 0 is not frozen (`r_0 > ε`): the convergence test failed before it passed,
//!   and the freeze began at or before the late start `T' > 0`, out of the trace's sight.
//!
//! On an untruncated run whose iterates move, freezing every step would need the test to pass
//! at `k = 0`, before anything converged (the fitted `ε` is then `r_0`, e.g. 0.16): not a
//! freeze, and the cause is [`BugClass::Detached`], which fits nothing. Where the window is
//! simulated, [`BugClass::Frozen`] is named (it is tried first: a planted freeze keeps its
//! name) and its fitted value says that a detached parameter writes the same trace; on a
//! truncated run whose iterates move, only when the fitted `ε` is that of a convergence
//! test, at most [`CONVERGENCE_TEST`] (1 % per step; the planted freezes fit `10⁻¹⁰` to
//! `10⁻³`). Above it (4 % to 36 % per step on the default set's truncated instances, whose
//! iterates are far from converged at `T'`) the cause is [`BugClass::Detached`], and its
//! note gives the smallest `ε` of a freeze that writes the same trace. Both
//! need every failing derivative array to be exactly 0 (a frozen client copies its rows bit
//! for bit, a detached parameter carries no arithmetic): a derivative scaled to `10⁻³⁰⁰` of
//! the reference is within tolerance of 0 but is neither, and gets no cause from them.
//!
//! **Confirmed.** A simulated array *matches* a submitted one when it has the submitted
//! shape and every row is within that row's tolerance (float32 tolerance for an array
//! stored as float32, and for [`BugClass::Float32Iterates`]). A class is confirmed only
//! when its simulated trace matches the submitted trace on every array it is compared on:
//! the failing arrays *and the arrays that passed* (a simulation that would change a
//! passing array is ruled out: a freeze at `K' − 1` changes the last row of `jvp`, a
//! detached parameter zeroes every derivative array). When one class matches every
//! failing array it is the cause. Otherwise (two bugs, e.g. one per mode) the failing
//! arrays are taken in groups that are one recursion, `x`, (`jvp`, `jvp_final`), (`vjp`,
//! `vjp_final`) (a final is its array's last row), and a group gets the closest class
//! that matches all its failing members, among the classes *without* a parameter fitted to
//! the trace ([`is_fitted`]: the freeze's `ε`, `α`, `β`, the stale `x_{−1}`; with a free
//! parameter a class can fit one n-vector by accident, so it must explain every failing
//! array); an array no class explains is "cause unknown", with the classes that reproduce
//! some failing array but were ruled out, and why. The distance reported is the largest
//! `‖row − simulated row‖` over the largest simulated row norm, over the failing arrays.
//! Until 2026-11-28 each failing array was matched alone: a final written from the row
//! before the last was "confirmed \[freeze\]" (ε fitted up to 9 %) although the passing
//! `jvp` rules it out, and one float32 momentum restart got four single-array classes.
//!
//! The simulated sweeps apply `B_k`, `C_k` as dense matrices formed once per instance when
//! they hold at most [`DENSE_LIMIT`] numbers (the small set), else through the map's own
//! JVP and VJP at the iterates (the large set); both give the reference's sweeps to
//! rounding. Instances above [`SIMULATION_LIMIT`] are judged without simulations ("cause
//! not simulated").

use super::export::{Entry, rebuild_map};
use super::npz::{Array, Npz};
use crate::map::FixedPointMap;
use crate::problem::Scratch;
use crate::tol::ToleranceModel;
use crate::unroll::{Linearization, Trajectory};
use nalgebra::DVector;
use serde::Serialize;
use std::cell::RefCell;

/// The trace arrays, in the order of the format.
pub const QUANTITIES: [&str; 5] = ["x", "jvp", "vjp", "jvp_final", "vjp_final"];

/// The rows of a trace as the reference, or a simulated bug, computes them.
#[derive(Debug, Clone)]
pub struct TraceRows {
    /// Iterates `x_0, …, x_{K'}`.
    pub x: Vec<DVector<f64>>,
    /// Late-started forward JVPs, `j = 0..K'−T'`.
    pub jvp: Vec<DVector<f64>>,
    /// Truncated reverse sweep, `k = K'` down to `T'`.
    pub vjp: Vec<DVector<f64>>,
    /// The output of the forward mode.
    pub jvp_final: DVector<f64>,
    /// The output of the reverse mode.
    pub vjp_final: DVector<f64>,
}

impl TraceRows {
    /// The rows of `quantity` (one of [`QUANTITIES`]; a final is one row).
    pub fn rows(&self, quantity: &str) -> &[DVector<f64>] {
        match quantity {
            "x" => &self.x,
            "jvp" => &self.jvp,
            "vjp" => &self.vjp,
            "jvp_final" => std::slice::from_ref(&self.jvp_final),
            _ => std::slice::from_ref(&self.vjp_final),
        }
    }
}

/// A known bug class (module docs: what each one simulates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "&'static str")]
pub enum BugClass {
    /// The sign of `C_k` flipped.
    SignC,
    /// `B_{k+1}` used for `B_k`.
    BNext,
    /// Late start / end of the sweep at `T' + 1`.
    LateStartPlusOne,
    /// Late start / end of the sweep at `T' − 1`.
    LateStartMinusOne,
    /// The literal index `Ẋ_{T'}^{(K')}` of Section 4.1.
    LiteralIndex,
    /// A derivative frozen once the iterate converged.
    Frozen,
    /// The derivative identically zero: the parameter is not differentiated through.
    Detached,
    /// Iterates in float32.
    Float32Iterates,
    /// The warm start `x0` dropped (started from 0).
    DroppedWarmStart,
    /// A non-zero initial derivative.
    NonZeroStart,
    /// No transpose in the reverse sweep.
    NoTranspose,
    /// The adjoint order of Algorithm 1 as printed.
    AdjointOrder,
    /// A heavy-ball state left over from a previous run.
    StaleMomentum,
    /// A wrong step size `α` (fitted).
    StepSize,
    /// A wrong momentum `β` (fitted).
    Momentum,
    /// Implicit differentiation solved with `(I − B)ᵀ` for `I − B` ([`super::implicit`]).
    ImplicitTranspose,
    /// Implicit differentiation without the minus sign of `−(∂_xF)^{-1}∂_uF`.
    ImplicitSign,
    /// Implicit differentiation at the last iterate `x_{K'}` instead of `x*`.
    ImplicitAtIterate,
}

impl From<BugClass> for &'static str {
    fn from(c: BugClass) -> Self {
        c.id()
    }
}

impl BugClass {
    /// Every class, in the order they are tried.
    pub const ALL: [BugClass; 18] = [
        BugClass::SignC,
        BugClass::BNext,
        BugClass::LateStartPlusOne,
        BugClass::LateStartMinusOne,
        BugClass::LiteralIndex,
        BugClass::Frozen,
        BugClass::Detached,
        BugClass::Float32Iterates,
        BugClass::DroppedWarmStart,
        BugClass::NonZeroStart,
        BugClass::NoTranspose,
        BugClass::AdjointOrder,
        BugClass::StaleMomentum,
        BugClass::StepSize,
        BugClass::Momentum,
        BugClass::ImplicitTranspose,
        BugClass::ImplicitSign,
        BugClass::ImplicitAtIterate,
    ];

    /// The class's id in the report (`[sign_c]`) and in `examples/gate_numpy.py --bug`.
    pub fn id(self) -> &'static str {
        match self {
            BugClass::SignC => "sign_c",
            BugClass::BNext => "b_next",
            BugClass::LateStartPlusOne => "late_plus_one",
            BugClass::LateStartMinusOne => "late_minus_one",
            BugClass::LiteralIndex => "literal_index",
            BugClass::Frozen => "freeze",
            BugClass::Detached => "detached",
            BugClass::Float32Iterates => "float32_iterates",
            BugClass::DroppedWarmStart => "dropped_warm_start",
            BugClass::NonZeroStart => "nonzero_start",
            BugClass::NoTranspose => "no_transpose",
            BugClass::AdjointOrder => "adjoint_order",
            BugClass::StaleMomentum => "stale_momentum",
            BugClass::StepSize => "step_size",
            BugClass::Momentum => "momentum",
            BugClass::ImplicitTranspose => "implicit_transpose",
            BugClass::ImplicitSign => "implicit_sign",
            BugClass::ImplicitAtIterate => "implicit_at_iterate",
        }
    }

    /// What the simulation changed, as the report says it ("matches our reference with …").
    pub fn describe(self) -> &'static str {
        match self {
            BugClass::SignC => "the sign of C_k flipped",
            BugClass::BNext => "B_{k+1} used for B_k",
            BugClass::LateStartPlusOne => "the late start (and the end of the sweep) at T'+1 instead of T'",
            BugClass::LateStartMinusOne => "the late start (and the end of the sweep) at T'−1 instead of T'",
            BugClass::LiteralIndex => {
                "the literal index Ẋ_{T'}^{(K')} of Section 4.1 (K' derivative steps from x_{T'}) instead of Ẋ_{T'}^{(K'−T')}"
            }
            BugClass::Frozen => "the derivative frozen once the iterate converged",
            BugClass::Detached => {
                "the derivative identically zero (the parameter is not differentiated through: detached, stop_gradient, so C_k = 0)"
            }
            BugClass::Float32Iterates => "iterates in float32 (within float32 tolerance of our reference)",
            BugClass::DroppedWarmStart => "the warm start dropped: iterated from x_0 = 0 instead of x0",
            BugClass::NonZeroStart => "a non-zero initial derivative (Ẋ^{(0)} v ≠ 0, or Ū^{(K')} ≠ 0)",
            BugClass::NoTranspose => "no transpose in the reverse sweep (B_k instead of B_kᵀ)",
            BugClass::AdjointOrder => {
                "the adjoint order of Algorithm 1 as printed (X̄^{(k)} C_k instead of X̄^{(k+1)} C_k)"
            }
            BugClass::StaleMomentum => "a heavy-ball state left over from a previous run",
            BugClass::StepSize => "a wrong step size",
            BugClass::Momentum => "a wrong momentum",
            BugClass::ImplicitTranspose => "the implicit system solved with (I − B)ᵀ instead of I − B",
            BugClass::ImplicitSign => "the minus sign of the implicit function theorem dropped (−Dx*)",
            BugClass::ImplicitAtIterate => "B, C and the outer loss at the last iterate x_{K'} instead of x*",
        }
    }
}

/// A class confirmed for some failing arrays.
#[derive(Debug, Clone, Serialize)]
pub struct Confirmed {
    /// The class.
    pub class: BugClass,
    /// The fitted value, when the class has one (`α = …`, `ε = …`), as the report says it.
    pub fitted: Option<String>,
    /// The fitted number (`α`, `β`, `ε`, `‖x_{−1} − x_0‖`), when there is one.
    pub value: Option<f64>,
    /// The failing arrays it reproduces.
    pub quantities: Vec<String>,
    /// The largest relative distance between the submitted and the simulated rows.
    pub distance: f64,
}

impl std::fmt::Display for Confirmed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (q, class) = (self.quantities.join(", "), self.class);
        write!(f, "confirmed [{}] ({q}): matches our reference with {}", class.id(), class.describe())?;
        if let Some(v) = &self.fitted {
            write!(f, ", {v}")?;
        }
        write!(f, ", to {:.0e}", self.distance)
    }
}

/// The cause of a failing instance: the confirmed classes (the one covering the first
/// failing array first) and the failing arrays no class reproduces.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diagnosis {
    /// Confirmed classes.
    pub confirmed: Vec<Confirmed>,
    /// Failing arrays that no class reproduces.
    pub unexplained: Vec<String>,
    /// The first failing array is among the unexplained ones (the report then says so first).
    pub first_unexplained: bool,
    /// When some array is unexplained: the classes that reproduce a failing array but are
    /// ruled out, and why (a simulation that changes an array that passed; a fitted value
    /// that fits some failing arrays only; a final without its array).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ruled_out: Vec<String>,
}

impl Diagnosis {
    /// The class covering `quantity`, if any.
    pub fn class_of(&self, quantity: &str) -> Option<BugClass> {
        self.confirmed.iter().find(|c| c.quantities.iter().any(|q| q == quantity)).map(|c| c.class)
    }
}

impl std::fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<String> = self.confirmed.iter().map(|c| c.to_string()).collect();
        if !self.unexplained.is_empty() {
            let mut unknown = format!(
                "cause unknown: no known bug class reproduces {}",
                self.unexplained.iter().map(|q| format!("`{q}`")).collect::<Vec<_>>().join(", ")
            );
            // Never a ';' (the separator of the causes of several arrays).
            if !self.ruled_out.is_empty() {
                unknown += &format!(" (ruled out: {})", self.ruled_out.join(", "));
            }
            if self.first_unexplained { parts.insert(0, unknown) } else { parts.push(unknown) }
        }
        write!(f, "{}", parts.join("; "))
    }
}

/// The most numbers the dense Jacobians `B_k`, `C_k` (`(K' + 1)·n·(n + p)`) of an instance
/// may hold to be formed once and shared by its simulations: 2.5·10⁵ (2 MB), about 25 times
/// the largest instance of the default (small) set. Above it the simulations apply the
/// map's own products at the iterates instead ([`FixedPointMap::jvp_at`],
/// [`FixedPointMap::vjp_at`]): the large set's `C_k` of `u = (A, b)` would hold 1.2·10⁸
/// numbers, its products cost `O(mn)`.
pub const DENSE_LIMIT: usize = 250_000;

/// The largest instance whose causes are simulated, counted as its dense Jacobians'
/// `(K' + 1)·n·(n + p)` numbers (the work of a sweep on a dense map): 5·10⁸, twice the
/// large set's largest (`n = 100`, `p = 3060`, `K' = 800`: 2.5·10⁸). A failing instance
/// needs a few dozen simulations (a few hundred when `α`, `β` are fitted to its derivative
/// arrays, from a warm start): on the large set with every instance failing, `gate check`
/// takes about 13 s of CPU time. Above the limit the trace is still judged, and the report
/// says "cause not simulated" with the first failure instead of a cause.
pub const SIMULATION_LIMIT: usize = 500_000_000;

/// The tolerance of each row: row `j` of a recursion of `j` steps on quantities of the size
/// of the reference's, at the precision the array is stored in (float64: twice the
/// worst-case model of [`crate::tol`], for two float64 computations; float32: the
/// probabilistic model of [`super::precision`] plus the reference's float64 bound).
#[derive(Debug, Clone)]
pub struct Tolerance {
    /// The rounding model.
    pub(crate) model: ToleranceModel,
    /// The effective length of a step's products in the float64 model (`n + p`).
    pub(crate) d: usize,
    /// The length of the products a step forms, in the float32 model
    /// ([`super::precision::step_length`]).
    pub(crate) d32: usize,
    /// The contraction factor amplifying the rounding of a recursion.
    pub(crate) rho: f64,
    /// The size of the reference's rows of `x`, `jvp`, `vjp`.
    pub(crate) scale: [f64; 3],
    /// The index of the last row (that of the finals).
    pub(crate) last: usize,
}

impl Tolerance {
    /// The tolerance of row `i` of `quantity`; float32 arrays get the float32 model
    /// ([`super::precision`]).
    pub fn row(&self, quantity: &str, i: usize, float32: bool) -> f64 {
        self.row_at_scale(quantity, i, float32, self.scale(quantity))
    }

    /// The size of the reference's rows of `quantity` (the largest row norm).
    pub fn scale(&self, quantity: &str) -> f64 {
        match quantity {
            "x" => self.scale[0],
            "jvp" | "jvp_final" => self.scale[1],
            _ => self.scale[2],
        }
    }

    /// The tolerance of row `i` of `quantity` for rows of size `scale` (a simulated bug
    /// whose rows are larger than the reference's, e.g. a diverging step size).
    pub fn row_at_scale(&self, quantity: &str, i: usize, float32: bool, scale: f64) -> f64 {
        let j = if quantity.ends_with("_final") { self.last } else { i };
        let reference = self.model.recursion(j, self.d, scale, self.rho);
        if float32 {
            super::precision::float32_recursion(j, self.d32, scale, self.rho) + reference
        } else {
            2.0 * reference
        }
    }

    /// The largest tolerance of `quantity` (that of its last row, whose recursion is the
    /// longest), for `rows` rows.
    pub fn largest(&self, quantity: &str, rows: usize, float32: bool) -> f64 {
        self.row(quantity, rows.saturating_sub(1), float32)
    }
}

/// What the simulations need about one instance.
pub struct Setup<'a> {
    /// The manifest entry.
    pub entry: &'a Entry,
    /// The instance file (to rebuild the map with another `α`, `β`).
    pub file: &'a Npz,
    /// The reference map.
    pub map: &'a dyn FixedPointMap,
    /// `x0`, `v`, `w` of the instance.
    pub x0: &'a DVector<f64>,
    /// Tangent.
    pub v: &'a DVector<f64>,
    /// Cotangent.
    pub w: &'a DVector<f64>,
    /// The tolerance of each row (as the reference comparison uses it).
    pub tol: &'a Tolerance,
}

/// The submitted arrays, in the order of [`QUANTITIES`].
pub type Submitted<'a> = [&'a Array; 5];

/// The largest relative row distance between `got` and `want`, and whether every row is
/// within `tol(row)`; `None` when the shapes differ.
pub fn distance(got: &Array, want: &[DVector<f64>], tol: impl Fn(usize) -> f64) -> Option<(f64, bool)> {
    let cols = want.first().map_or(0, |r| r.len());
    let rows_ok =
        if got.shape.len() == 2 { got.shape[0] == want.len() && got.shape[1] == cols } else { want.len() == 1 };
    if !rows_ok || got.data.len() != want.len() * cols {
        return None;
    }
    let scale = want.iter().map(|r| r.norm()).fold(f64::MIN_POSITIVE, f64::max);
    let (mut worst, mut within) = (0.0f64, true);
    for (i, r) in want.iter().enumerate() {
        let row = &got.data[i * cols..(i + 1) * cols];
        let e = row.iter().zip(r.iter()).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
        within &= e <= tol(i); // NaN is never within
        worst = if e.is_nan() { f64::NAN } else { worst.max(e / scale) };
    }
    Some((worst, within))
}

/// One planted-bug simulation: the class, its fitted value and its trace.
struct Candidate {
    class: BugClass,
    fitted: Option<(String, f64)>,
    rows: TraceRows,
}

/// The derivative sweeps with one change each (the reference is [`Sweep::reference`]).
#[derive(Clone)]
struct Sweep {
    sign: f64,
    shift: usize,
    transpose: bool,
    printed_order: bool,
    fwd_start: usize,
    fwd_steps: usize,
    d0: Option<DVector<f64>>,
    rev_stop: usize,
    rev_pad: usize,
    u0: Option<DVector<f64>>,
    frozen: Vec<bool>,
}

impl Sweep {
    fn reference(e: &Entry) -> Self {
        Sweep {
            sign: 1.0,
            shift: 0,
            transpose: true,
            printed_order: false,
            fwd_start: e.t_prime,
            fwd_steps: e.k_prime - e.t_prime,
            d0: None,
            rev_stop: e.t_prime,
            rev_pad: 0,
            u0: None,
            frozen: Vec::new(),
        }
    }

    fn frozen(&self, k: usize) -> bool {
        self.frozen.get(k).copied().unwrap_or(false)
    }

    fn forward(&self, lin: &Jacobians, v: &DVector<f64>) -> Vec<DVector<f64>> {
        let mut rows = vec![self.d0.clone().unwrap_or_else(|| DVector::zeros(lin.dim_x()))];
        for j in 0..self.fwd_steps {
            let k = self.fwd_start + j;
            let last = &rows[j];
            let next = if self.frozen(k) {
                last.clone()
            } else {
                lin.b_mul(k + self.shift, last) + lin.c_mul(k, v) * self.sign
            };
            rows.push(next);
        }
        rows
    }

    fn reverse(&self, lin: &Jacobians, k_end: usize, w: &DVector<f64>) -> Vec<DVector<f64>> {
        let (mut xb, mut ub) = (w.clone(), self.u0.clone().unwrap_or_else(|| DVector::zeros(lin.dim_u())));
        let mut rows = vec![ub.clone()];
        for k in (self.rev_stop..k_end).rev() {
            if !self.frozen(k) {
                let step = |xb: &DVector<f64>| {
                    if self.transpose { lin.bt_mul(k + self.shift, xb) } else { lin.b_mul(k + self.shift, xb) }
                };
                if self.printed_order {
                    xb = step(&xb);
                    ub += lin.ct_mul(k, &xb) * self.sign;
                } else {
                    ub += lin.ct_mul(k, &xb) * self.sign;
                    xb = step(&xb);
                }
            }
            rows.push(ub.clone());
        }
        for _ in 0..self.rev_pad {
            rows.push(ub.clone());
        }
        rows
    }
}

/// `B_k`, `C_k` along a trajectory, as the simulated sweeps apply them: dense matrices formed
/// once and shared by every simulation when they hold at most [`DENSE_LIMIT`] numbers,
/// else the map's own products ([`FixedPointMap::jvp_at`], [`FixedPointMap::vjp_at`]) at
/// the stored iterates, formed on demand (the large set's `C_k` of `u = (A, b)` alone would
/// hold 1.2·10⁸ numbers; its products cost `O(mn)` each).
enum Jacobians<'a> {
    /// Every `B_k`, `C_k`.
    Dense(Linearization),
    /// The map at the iterates `x_k` of `traj`.
    Products { map: &'a dyn FixedPointMap, traj: Trajectory, scratch: RefCell<Scratch> },
}

impl Jacobians<'_> {
    fn dim_x(&self) -> usize {
        match self {
            Jacobians::Dense(lin) => lin.b(0).nrows(),
            Jacobians::Products { map, .. } => map.dim_x(),
        }
    }

    fn dim_u(&self) -> usize {
        match self {
            Jacobians::Dense(lin) => lin.c(0).ncols(),
            Jacobians::Products { map, .. } => map.dim_u(),
        }
    }

    /// `B_k d` (`with_b`) or `C_k d` as one JVP at `x_k`.
    fn jvp(&self, k: usize, d: &DVector<f64>, with_b: bool) -> DVector<f64> {
        let Jacobians::Products { map, traj, scratch } = self else { unreachable!("only for products") };
        let (zx, zu) = (DVector::zeros(map.dim_x()), DVector::zeros(map.dim_u()));
        let (dx, du) = if with_b { (d, &zu) } else { (&zx, d) };
        let mut out = DVector::zeros(map.dim_x());
        map.jvp_at(k, traj.x(k), dx.as_view(), du.as_view(), out.as_view_mut(), &mut scratch.borrow_mut());
        out
    }

    /// `B_kᵀ w` (`x̄`) or `C_kᵀ w` (`ū`) as one VJP at `x_k`.
    fn vjp(&self, k: usize, w: &DVector<f64>, want_x: bool) -> DVector<f64> {
        let Jacobians::Products { map, traj, scratch } = self else { unreachable!("only for products") };
        let (mut xb, mut ub) = (DVector::zeros(map.dim_x()), DVector::zeros(map.dim_u()));
        map.vjp_at(k, traj.x(k), w.as_view(), xb.as_view_mut(), ub.as_view_mut(), &mut scratch.borrow_mut());
        if want_x { xb } else { ub }
    }

    fn b_mul(&self, k: usize, d: &DVector<f64>) -> DVector<f64> {
        match self {
            Jacobians::Dense(lin) => lin.b(k) * d,
            Jacobians::Products { .. } => self.jvp(k, d, true),
        }
    }

    fn bt_mul(&self, k: usize, w: &DVector<f64>) -> DVector<f64> {
        match self {
            Jacobians::Dense(lin) => lin.b(k).tr_mul(w),
            Jacobians::Products { .. } => self.vjp(k, w, true),
        }
    }

    fn c_mul(&self, k: usize, v: &DVector<f64>) -> DVector<f64> {
        match self {
            Jacobians::Dense(lin) => lin.c(k) * v,
            Jacobians::Products { .. } => self.jvp(k, v, false),
        }
    }

    fn ct_mul(&self, k: usize, w: &DVector<f64>) -> DVector<f64> {
        match self {
            Jacobians::Dense(lin) => lin.c(k).tr_mul(w),
            Jacobians::Products { .. } => self.vjp(k, w, false),
        }
    }
}

/// The iterates and Jacobians of `map` from `x0` over `iterations` steps (the Jacobians at
/// `x_0, …, x_{iterations}`: dense when they fit in [`DENSE_LIMIT`] numbers).
fn along<'a>(map: &'a dyn FixedPointMap, x0: &DVector<f64>, iterations: usize) -> Option<(Trajectory, Jacobians<'a>)> {
    let traj = Trajectory::run(map, x0, iterations);
    if traj.as_matrix().iter().any(|v| !v.is_finite()) {
        return None;
    }
    let (n, p) = (map.dim_x(), map.dim_u());
    let lin = if (iterations + 1) * n * (n + p) <= DENSE_LIMIT {
        Jacobians::Dense(Linearization::along(map, &traj, iterations + 1))
    } else {
        Jacobians::Products { map, traj: traj.clone(), scratch: RefCell::new(map.scratch()) }
    };
    Some((traj, lin))
}

fn rows_of(traj: &Trajectory, count: usize) -> Vec<DVector<f64>> {
    (0..count).map(|k| traj.x(k).into_owned()).collect()
}

/// A trace from given iterates and sweeps.
fn trace(s: &Setup, traj: &Trajectory, lin: &Jacobians, sweep: &Sweep) -> TraceRows {
    let e = s.entry;
    let jvp = sweep.forward(lin, s.v);
    let vjp = sweep.reverse(lin, e.k_prime, s.w);
    let (jvp_final, vjp_final) = (jvp[jvp.len() - 1].clone(), vjp[vjp.len() - 1].clone());
    TraceRows { x: rows_of(traj, e.k_prime + 1), jvp, vjp, jvp_final, vjp_final }
}

/// Every candidate simulation for the failing arrays of one instance.
fn candidates(s: &Setup, submitted: &Submitted, failing: &[&str]) -> Vec<Candidate> {
    let e = s.entry;
    let (tp, kp) = (e.t_prime, e.k_prime);
    let mut out = Vec::new();
    // The reference iterates, one step further for B_{k+1} at k = K' − 1 and the late start
    // at T' + 1 with K' − T' steps.
    let Some((traj, lin)) = along(s.map, s.x0, kp + 1) else { return out };
    let base = Sweep::reference(e);
    let push = |class, fitted: Option<(String, f64)>, sweep: &Sweep, out: &mut Vec<Candidate>| {
        out.push(Candidate { class, fitted, rows: trace(s, &traj, &lin, sweep) });
    };
    push(BugClass::SignC, None, &Sweep { sign: -1.0, ..base.clone() }, &mut out);
    push(BugClass::BNext, None, &Sweep { shift: 1, ..base.clone() }, &mut out);
    // Late start at T' + 1: every array following from T' + 1, or K' − T' + 1 rows.
    if tp < kp {
        let consistent = Sweep { fwd_start: tp + 1, fwd_steps: kp - tp - 1, rev_stop: tp + 1, ..base.clone() };
        push(BugClass::LateStartPlusOne, None, &consistent, &mut out);
        let fixed = Sweep { fwd_start: tp + 1, rev_stop: tp + 1, rev_pad: 1, ..base.clone() };
        push(BugClass::LateStartPlusOne, None, &fixed, &mut out);
    }
    if tp > 0 {
        let consistent = Sweep { fwd_start: tp - 1, fwd_steps: kp - tp + 1, rev_stop: tp - 1, ..base.clone() };
        push(BugClass::LateStartMinusOne, None, &consistent, &mut out);
        push(BugClass::LateStartMinusOne, None, &Sweep { fwd_start: tp - 1, ..base.clone() }, &mut out);
    }
    push(BugClass::NoTranspose, None, &Sweep { transpose: false, ..base.clone() }, &mut out);
    push(BugClass::AdjointOrder, None, &Sweep { printed_order: true, ..base.clone() }, &mut out);
    // A non-zero start: the recursions run from the submitted first rows.
    let first = |a: &Array, len: usize| {
        (a.shape.len() == 2 && a.shape[1] == len && a.shape[0] > 0).then(|| DVector::from_column_slice(a.row(0)))
    };
    let (d0, u0) = (first(submitted[1], e.n), first(submitted[2], e.p));
    if d0.as_ref().is_some_and(|d| d.norm() > 0.0) || u0.as_ref().is_some_and(|u| u.norm() > 0.0) {
        let (nd, nu) = (d0.as_ref().map_or(0.0, |d| d.norm()), u0.as_ref().map_or(0.0, |u| u.norm()));
        let fitted =
            format!("started from the submitted first rows (‖Ẋ^{{(0)}} v‖ = {nd:.3e}, ‖Ū^{{(K')}}‖ = {nu:.3e})");
        push(BugClass::NonZeroStart, Some((fitted, nd.max(nu))), &Sweep { d0, u0, ..base.clone() }, &mut out);
    }
    // Whether the iterates move beyond their tolerance (a warm start `x_0 = x*` does not).
    let moves = (1..=kp).any(|k| (traj.x(k) - traj.x(0)).norm() > s.tol.row("x", k, false));
    // Every failing derivative array exactly 0 (and at least one fails).
    let derivatives: Vec<&str> = failing.iter().copied().filter(|q| *q != "x").collect();
    let zero = !derivatives.is_empty()
        && derivatives
            .iter()
            .all(|q| submitted[QUANTITIES.iter().position(|n| n == q).unwrap_or(0)].data.iter().all(|v| *v == 0.0));
    // A window freezing every derivative step of a run that moves (a truncated run, the
    // freeze before `T'`) at an `ε` above a convergence test's is no candidate of its own:
    // the detached class's note gives its smallest `ε` (module docs).
    let mut before_late_start: Option<f64> = None;
    frozen_candidates(s, &traj, &base, submitted, failing, (zero, !moves), &mut |fitted, sweep| {
        if moves && fitted.1 > CONVERGENCE_TEST && sweep.frozen[tp..kp].iter().all(|&f| f) {
            before_late_start = Some(before_late_start.map_or(fitted.1, |b| b.min(fitted.1)));
        } else {
            push(BugClass::Frozen, Some(fitted), sweep, &mut out)
        }
    });
    // After the frozen windows: where both write the same trace and the freeze is admitted,
    // the freeze is named (module docs).
    if zero {
        let note = before_late_start.map(|eps| {
            let text = format!(
                "a freeze before the late start T' writes the same trace at ε = {eps:.2e} (above the {CONVERGENCE_TEST:.0e} of a convergence test)"
            );
            (text, eps)
        });
        push(BugClass::Detached, note, &Sweep { sign: 0.0, ..base.clone() }, &mut out);
    }
    // The literal index: K' derivative steps from x_{T'}, the iterates continued past x_{K'}.
    if tp > 0
        && let Some((long, long_lin)) = along(s.map, s.x0, tp + kp)
    {
        let literal = Sweep { fwd_steps: kp, ..base.clone() }.forward(&long_lin, s.v);
        let mut rows = trace(s, &traj, &lin, &base);
        rows.x = rows_of(&long, kp + 1);
        rows.jvp_final = literal[kp].clone();
        out.push(Candidate { class: BugClass::LiteralIndex, fitted: None, rows: rows.clone() });
        rows.jvp = literal;
        out.push(Candidate { class: BugClass::LiteralIndex, fitted: None, rows });
    }
    // Other iterates: x_0 = 0, a stale heavy-ball state, a fitted α or β.
    if s.x0.norm() > 0.0 {
        let zero = DVector::zeros(e.n);
        if let Some((t, l)) = along(s.map, &zero, kp + 1) {
            out.push(Candidate { class: BugClass::DroppedWarmStart, fitted: None, rows: trace(s, &t, &l, &base) });
        }
    }
    if failing.contains(&"x") {
        out.extend(stale_momentum(s, submitted[0], &base));
    }
    // A passing `x` pins `α` and `β` wherever the iterates move (within their tolerance, a
    // wrong scalar changes them); only a stationary run (`x_0 = x*`) leaves them to the
    // derivative arrays.
    if failing.contains(&"x") || !moves {
        out.extend(fitted_step(s, submitted, failing, &base));
    }
    out
}

/// The largest threshold `ε` of a convergence test `‖x_{k+1} − x_k‖ ≤ ε(1 + ‖x_k‖)` the
/// freeze class is named for where a detached parameter writes the same trace on a run that
/// moves: a relative change of 1 % per step. A convention, not a tolerance: both classes
/// explain such a trace exactly, the name goes to the likelier, and the other is in the
/// report (module docs, "A derivative that is identically zero").
pub const CONVERGENCE_TEST: f64 = 1e-2;

/// At most this many frozen windows are simulated for one failing instance (those the
/// submitted rows allow, the closest first to the steps where the rows do not change).
const FROZEN_WINDOWS: usize = 8;

/// The frozen-derivative simulations: no update where `r_k = ‖x_{k+1} − x_k‖/(1 + ‖x_k‖)`
/// is at most a threshold `ε` (every threshold between two observed ratios), or from the
/// first such step on; only those that change a derivative step in `[T', K')`. A window
/// that freezes *every* step of `[T', K')` only when `zero` (every failing derivative array
/// is exactly 0) and the freeze came once the iterates had converged: the run is
/// `stationary`, or step 0 is not frozen (module docs, "A derivative that is identically
/// zero").
///
/// A window is simulated only when each failing `jvp`, `vjp` array allows it: a frozen step
/// copies its row, so a match needs `‖row_{i+1} − row_i‖ ≤ tol_i + tol_{i+1}` there (at
/// the largest size a matching simulated row can have). Of those, the [`FROZEN_WINDOWS`]
/// that differ least from the set of steps whose submitted rows are exactly unchanged are
/// simulated: a frozen client copies its rows bit for bit, and the large set has up to
/// `2(K' − T')` windows (a simulation each).
fn frozen_candidates(
    s: &Setup,
    traj: &Trajectory,
    base: &Sweep,
    submitted: &Submitted,
    failing: &[&str],
    (zero, stationary): (bool, bool),
    emit: &mut dyn FnMut((String, f64), &Sweep),
) {
    let (tp, kp) = (s.entry.t_prime, s.entry.k_prime);
    let ratio: Vec<f64> = (0..kp).map(|k| (traj.x(k + 1) - traj.x(k)).norm() / (1.0 + traj.x(k).norm())).collect();
    // At each step k ∈ [T', K'): whether a failing row array's change across step k rules a
    // frozen step out, and whether some failing row array is exactly unchanged there.
    let mut contradicted = vec![false; kp];
    let mut unchanged = vec![false; kp];
    for (q, len) in [("jvp", s.entry.n), ("vjp", s.entry.p)] {
        let a = submitted[QUANTITIES.iter().position(|n| *n == q).unwrap_or(0)];
        if !failing.contains(&q) || a.shape != [kp - tp + 1, len] {
            continue;
        }
        let largest = (0..=kp - tp).map(|i| a.row(i).iter().map(|v| v * v).sum::<f64>().sqrt()).fold(0.0, f64::max);
        let size = s.tol.scale(q).max(2.0 * largest);
        let tol = |i| s.tol.row_at_scale(q, i, a.float32, size);
        for k in tp..kp {
            // The rows on either side of step k: forward j = k − T', reverse K' − k.
            let (i, j) = if q == "jvp" { (k - tp, k - tp + 1) } else { (kp - k - 1, kp - k) };
            let change = a.row(i).iter().zip(a.row(j)).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt();
            unchanged[k] |= change == 0.0;
            // A NaN change allows no frozen step.
            contradicted[k] |= change.is_nan() || change > tol(i) + tol(j);
        }
    }
    let mut thresholds: Vec<f64> = ratio[tp..].to_vec();
    thresholds.sort_by(f64::total_cmp);
    thresholds.dedup();
    let mut seen = std::collections::HashSet::new();
    let mut windows = Vec::new();
    for eps in thresholds {
        let each: Vec<bool> = ratio.iter().map(|&r| r <= eps).collect();
        let from = each.iter().position(|&f| f).unwrap_or(kp);
        let suffix: Vec<bool> = (0..kp).map(|k| k >= from).collect();
        for (set, how) in [(each, "at every step"), (suffix, "from the first such step on")] {
            let window = set[tp..].to_vec();
            let whole = window.iter().all(|&f| f);
            if !window.iter().any(|&f| f) || (whole && !(zero && (stationary || !set[0]))) || !seen.insert(window) {
                continue;
            }
            if (tp..kp).any(|k| set[k] && contradicted[k]) {
                continue;
            }
            let distance = (tp..kp).filter(|&k| set[k] != unchanged[k]).count();
            windows.push((distance, windows.len(), eps, how, set));
        }
    }
    windows.sort_by_key(|w| (w.0, w.1));
    windows.truncate(FROZEN_WINDOWS);
    windows.sort_by_key(|w| w.1);
    for (_, _, eps, how, set) in windows {
        let first = (tp..kp).find(|&k| set[k]).unwrap_or(kp);
        // Never a ';' (a separator of the report's cause column).
        let same = if (tp..kp).all(|k| set[k]) {
            ", every derivative step frozen: a detached parameter [detached] writes the same trace"
        } else {
            ""
        };
        let fitted = format!(
            "frozen {how} where ‖x_{{k+1}} − x_k‖ ≤ ε(1 + ‖x_k‖), ε fitted = {eps:.2e} (first frozen step k = {first}{same})"
        );
        emit((fitted, eps), &Sweep { frozen: set, ..base.clone() });
    }
}

/// Heavy-ball with `z_0 = (x_0, x_{−1})`: `x_{−1}` from the submitted `x_1`, since the top
/// half of `A(z_0)` is that of `A((x_0, x_0))` plus `β(x_0 − x_{−1})`.
fn stale_momentum(s: &Setup, x: &Array, base: &Sweep) -> Option<Candidate> {
    let e = s.entry;
    let (_, beta) = s.map.capabilities().step_parameters;
    if e.method != "heavy_ball" || beta <= 0.0 || x.shape != [e.k_prime + 1, e.n] || e.k_prime == 0 {
        return None;
    }
    let half = e.n / 2;
    let x0 = s.x0.rows(0, half).into_owned();
    let plain = DVector::from_iterator(e.n, x0.iter().chain(x0.iter()).copied());
    let mut top = DVector::zeros(e.n);
    s.map.step_at(0, plain.as_view(), top.as_view_mut(), &mut s.map.scratch());
    let x1 = DVector::from_column_slice(&x.row(1)[..half]);
    let stale = &x0 - (x1 - top.rows(0, half)) / beta;
    let z0 = DVector::from_iterator(e.n, x0.iter().chain(stale.iter()).copied());
    let (traj, lin) = along(s.map, &z0, e.k_prime + 1)?;
    let mut rows = trace(s, &traj, &lin, base);
    // Row 0 as recorded: the stale state, or the instance's x0.
    if x.row(0) == s.x0.as_slice() {
        rows.x[0] = s.x0.clone();
    }
    let gap = (&stale - &x0).norm();
    let fitted = format!("x_{{−1}} fitted from x_1, ‖x_{{−1}} − x_0‖ = {gap:.3e}");
    Some(Candidate { class: BugClass::StaleMomentum, fitted: Some((fitted, gap)), rows })
}

/// The `α` (and for heavy-ball the `β`) that best explains the submitted iterates (or,
/// when `x` passes from a warm start `x_0 = x*`, where it does not depend on them, the
/// failing derivative arrays):
/// a scan, then a golden-section search in the bracket around the best scanned value.
fn fitted_step(s: &Setup, submitted: &Submitted, failing: &[&str], base: &Sweep) -> Vec<Candidate> {
    let e = s.entry;
    let (alpha, beta) = s.map.capabilities().step_parameters;
    let simulate = |a: f64, b: f64, derivatives: bool| -> Option<TraceRows> {
        let map = rebuild_map(e, s.file, a, b).ok()?;
        if derivatives {
            let (traj, lin) = along(map.as_ref(), s.x0, e.k_prime + 1)?;
            Some(trace(s, &traj, &lin, base))
        } else {
            let traj = Trajectory::run(map.as_ref(), s.x0, e.k_prime);
            let x = rows_of(&traj, e.k_prime + 1);
            Some(TraceRows {
                x,
                jvp: Vec::new(),
                vjp: Vec::new(),
                jvp_final: DVector::zeros(0),
                vjp_final: DVector::zeros(0),
            })
        }
    };
    // Σ ‖row − simulated row‖² / (largest submitted row norm)² over the arrays fitted to.
    let fitted_to: Vec<&str> = if failing.contains(&"x") { vec!["x"] } else { failing.to_vec() };
    let derivatives = fitted_to != ["x"];
    let mismatch = |a: f64, b: f64| -> f64 {
        let Some(rows) = simulate(a, b, derivatives) else { return f64::INFINITY };
        let mut total = 0.0;
        for q in &fitted_to {
            let (got, want) = (submitted[QUANTITIES.iter().position(|n| n == q).unwrap_or(0)], rows.rows(q));
            let cols = want.first().map_or(0, |r| r.len());
            if got.data.len() != want.len() * cols {
                return f64::INFINITY;
            }
            // The submitted rows' size: the same for every trial value.
            let scale = got
                .data
                .chunks(cols.max(1))
                .map(|r| r.iter().map(|v| v * v).sum::<f64>())
                .fold(f64::MIN_POSITIVE, f64::max);
            let sq: f64 = want
                .iter()
                .enumerate()
                .map(|(i, r)| r.iter().zip(&got.data[i * cols..]).map(|(p, q)| (p - q) * (p - q)).sum::<f64>())
                .sum();
            total += sq / scale;
        }
        if total.is_finite() { total } else { f64::INFINITY }
    };
    let mut out = Vec::new();
    // Chebyshev's step and weights follow from [μ, L], not from `alpha`, `beta`: nothing to fit.
    if e.method == "chebyshev" {
        return out;
    }
    let emit = |class: BugClass, a: f64, b: f64, fitted: (String, f64), out: &mut Vec<Candidate>| {
        if let Some(rows) = simulate(a, b, true) {
            out.push(Candidate { class, fitted: Some(fitted), rows });
        }
    };
    let scan: Vec<f64> = (-40..=40).map(|i| alpha * 2f64.powf(f64::from(i) / 20.0)).collect();
    let a = fit(&scan, |a| mismatch(a, beta));
    emit(BugClass::StepSize, a, beta, (format!("α fitted = {a:.17e} instead of {alpha:.17e}"), a), &mut out);
    if e.method == "heavy_ball" || e.method == "nesterov" {
        let scan: Vec<f64> = (0..100).map(|i| f64::from(i) / 100.0).collect();
        let b = fit(&scan, |b| mismatch(alpha, b)).clamp(0.0, 1.0 - 1e-12);
        emit(BugClass::Momentum, alpha, b, (format!("β fitted = {b:.17e} instead of {beta:.17e}"), b), &mut out);
    }
    out
}

/// The minimiser of `f`: the best of `scan` (increasing), refined by golden-section search
/// between its neighbours.
fn fit(scan: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let values: Vec<f64> = scan.iter().map(|&t| f(t)).collect();
    let best = (0..scan.len()).min_by(|&i, &j| values[i].total_cmp(&values[j])).unwrap_or(0);
    let (mut a, mut b) = (scan[best.saturating_sub(1)], scan[(best + 1).min(scan.len() - 1)]);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..200 {
        if b - a <= 1e-17 * (a.abs() + b.abs()) {
            break;
        }
        if fc < fd {
            (b, d, fd) = (d, c, fc);
            c = b - g * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    let mid = (a + b) / 2.0;
    if f(mid) <= values[best] { mid } else { scan[best] }
}

/// The iterates `x_1, x_2, …` are float32 numbers (`x_0` may be the instance's, as given).
fn single(a: &Array) -> bool {
    let cols = a.shape.get(1).copied().unwrap_or(0);
    a.float32 || (a.data.len() > cols && a.data[cols..].iter().all(|&x| f64::from(x as f32) == x))
}

fn index_in(failing: &[&str], q: &str) -> usize {
    failing.iter().position(|&f| f == q).unwrap_or(0)
}

/// Whether `class` has a parameter fitted to the submitted trace (`ε` of a freeze, `α`, `β`,
/// the stale `x_{−1}`): with a free parameter a class can fit one array by accident, so it is
/// confirmed only when it explains every failing array (module docs, "Confirmed").
pub fn is_fitted(class: BugClass) -> bool {
    matches!(class, BugClass::Frozen | BugClass::StepSize | BugClass::Momentum | BugClass::StaleMomentum)
}

/// The arrays that are one recursion: a final is the last row of its array (format), so a
/// class reproduces the failing members of a group together or not at all.
fn group(q: &str) -> &'static [&'static str] {
    match q {
        "jvp" | "jvp_final" => &["jvp", "jvp_final"],
        "vjp" | "vjp_final" => &["vjp", "vjp_final"],
        _ => &["x"],
    }
}

/// A candidate's class, fitted value and distance to each failing array it reproduces.
type Scored = (BugClass, Option<(String, f64)>, Vec<Option<f64>>);

/// Names the cause of the failures in `failing` (arrays of `submitted` out of tolerance of
/// `reference`, first failure first) by simulating every [`BugClass`]: a class is confirmed
/// only when its simulated trace also matches every array that passed (module docs).
pub fn diagnose(s: &Setup, reference: &TraceRows, submitted: &Submitted, failing: &[&str]) -> Diagnosis {
    let index = |q: &str| QUANTITIES.iter().position(|&n| n == q).unwrap_or(0);
    let passing: Vec<&str> = QUANTITIES.iter().copied().filter(|q| !failing.contains(q)).collect();
    // The distance of a simulated array to the submitted one, when every row is within its
    // tolerance (at the size of the simulated rows when they are larger than the reference's).
    let within = |q: &str, rows: &[DVector<f64>], float32_iterates: bool| -> Option<f64> {
        let a = submitted[index(q)];
        let size = rows.iter().map(|r| r.norm()).fold(s.tol.scale(q), f64::max);
        let tol = |i| s.tol.row_at_scale(q, i, a.float32 || float32_iterates, size);
        distance(a, rows, tol).and_then(|(d, ok)| ok.then_some(d))
    };
    // Per candidate: the distance to each failing array it reproduces; a candidate that
    // changes an array that passed is ruled out (the first such array noted).
    let mut scored: Vec<Scored> = Vec::new();
    let mut ruled_out: Vec<(BugClass, &str)> = Vec::new();
    let mut consider = |class: BugClass, fitted: Option<(String, f64)>, rows: &TraceRows, f32it: bool| {
        let per: Vec<Option<f64>> = failing.iter().map(|&q| within(q, rows.rows(q), f32it)).collect();
        if per.iter().all(Option::is_none) {
            return;
        }
        match passing.iter().find(|&&q| within(q, rows.rows(q), f32it).is_none()) {
            Some(&q) => {
                if !ruled_out.iter().any(|(c, _)| *c == class) {
                    ruled_out.push((class, q));
                }
            }
            None => scored.push((class, fitted, per)),
        }
    };
    for c in candidates(s, submitted, failing) {
        consider(c.class, c.fitted, &c.rows, false);
    }
    // Iterates in float32: the reference itself, at float32 tolerance, when x holds
    // single-precision numbers (and the reference's iterates do not).
    let ref_single = reference.x.iter().skip(1).all(|r| r.iter().all(|&v| f64::from(v as f32) == v));
    if single(submitted[0]) && !ref_single {
        consider(BugClass::Float32Iterates, None, reference, true);
    }
    let worst = |per: &[Option<f64>]| per.iter().flatten().fold(0.0f64, |m, &d| m.max(d));
    // One class for every failing array: the closest.
    if let Some((class, fitted, per)) = scored
        .iter()
        .filter(|(_, _, per)| per.iter().all(Option::is_some))
        .min_by(|a, b| worst(&a.2).total_cmp(&worst(&b.2)))
    {
        return Diagnosis {
            confirmed: vec![Confirmed {
                class: *class,
                fitted: fitted.as_ref().map(|f| f.0.clone()),
                value: fitted.as_ref().map(|f| f.1),
                quantities: failing.iter().map(|q| q.to_string()).collect(),
                distance: worst(per),
            }],
            unexplained: Vec::new(),
            first_unexplained: false,
            ruled_out: Vec::new(),
        };
    }
    // Otherwise per group of arrays (`x`; `jvp` with `jvp_final`; `vjp` with `vjp_final`), in
    // the order of the failures: the closest class without a fitted parameter that
    // reproduces every failing array of the group (two bugs, e.g. one per mode).
    let mut d = Diagnosis::default();
    for (i, q) in failing.iter().enumerate() {
        let members: Vec<usize> = (0..failing.len()).filter(|&j| group(q).contains(&failing[j])).collect();
        let best = scored
            .iter()
            .filter(|(c, _, _)| !is_fitted(*c))
            .filter_map(|(c, f, per)| {
                let dists: Option<Vec<f64>> = members.iter().map(|&j| per[j]).collect();
                Some((c, f, per[i]?, dists?.into_iter().fold(0.0f64, f64::max)))
            })
            .min_by(|a, b| a.3.total_cmp(&b.3));
        match best {
            Some((class, fitted, dist, _)) => {
                let text = fitted.as_ref().map(|f| f.0.clone());
                match d.confirmed.iter_mut().find(|c| c.class == *class && c.fitted == text) {
                    Some(c) => {
                        c.quantities.push(q.to_string());
                        c.distance = c.distance.max(dist);
                    }
                    None => d.confirmed.push(Confirmed {
                        class: *class,
                        fitted: text,
                        value: fitted.as_ref().map(|f| f.1),
                        quantities: vec![q.to_string()],
                        distance: dist,
                    }),
                }
            }
            None => {
                d.first_unexplained |= i == 0;
                d.unexplained.push(q.to_string())
            }
        }
    }
    // Why the classes that reproduce some unexplained array are not its cause.
    if !d.unexplained.is_empty() {
        let named = |c: BugClass, notes: &[String]| {
            d.confirmed.iter().any(|k| k.class == c) || notes.iter().any(|n| n.starts_with(&format!("[{}]", c.id())))
        };
        let mut notes: Vec<String> = Vec::new();
        for (c, q) in &ruled_out {
            if !named(*c, &notes) {
                notes.push(format!("[{}] changes `{q}`, which passed", c.id()));
            }
        }
        for (c, _, per) in &scored {
            let Some(i) =
                (0..failing.len()).find(|&i| per[i].is_some() && d.unexplained.iter().any(|u| u == failing[i]))
            else {
                continue;
            };
            if named(*c, &notes) {
                continue;
            }
            let q = failing[i];
            let note = if is_fitted(*c) {
                format!("[{}] fits `{q}` but not every failing array", c.id())
            } else {
                match failing.iter().find(|&&m| m != q && group(q).contains(&m) && per[index_in(failing, m)].is_none())
                {
                    Some(m) => format!("[{}] reproduces `{q}` but not `{m}`", c.id()),
                    None => continue,
                }
            };
            notes.push(note);
        }
        d.ruled_out = notes;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unroll::{late_start_jvp, truncated_vjp};

    fn array(rows: usize, cols: usize, data: Vec<f64>) -> Array {
        Array { shape: vec![rows, cols], data, float32: false }
    }

    /// The report's cause column separates the causes of several arrays by `"; "` (the
    /// `Display` of a diagnosis), and `.ci/run` reads a row with one confirmed cause as one
    /// without `;`: a class's description must hold none (the `detached` one did).
    #[test]
    fn no_description_holds_the_cause_separator() {
        for class in BugClass::ALL {
            assert!(!class.describe().contains(';'), "[{}]: {}", class.id(), class.describe());
        }
    }

    /// The golden-section fit finds the minimiser between two scanned values to rounding;
    /// a minimiser outside the scan gives the scan's nearest end (no extrapolation).
    #[test]
    fn fit_finds_the_minimiser_of_a_bracketed_scan() {
        let scan: Vec<f64> = (0..=20).map(|i| f64::from(i) / 10.0).collect();
        let t = fit(&scan, |t| (t - 1.234_567_89).powi(2));
        assert!((t - 1.234_567_89).abs() < 1e-8, "{t}");
        let t = fit(&scan, |t| (t - 5.0).powi(2));
        assert!((1.9..=2.0).contains(&t), "{t}");
    }

    /// `distance`: no match for another shape, a match for the same rows, none for a row
    /// beyond its tolerance, and a NaN is never within.
    #[test]
    fn distance_needs_the_shape_and_every_row() {
        let want = vec![DVector::from_vec(vec![1.0, 0.0]), DVector::from_vec(vec![0.0, 2.0])];
        let same = array(2, 2, vec![1.0, 0.0, 0.0, 2.0]);
        assert_eq!(distance(&same, &want, |_| 1e-12), Some((0.0, true)));
        assert_eq!(distance(&array(1, 2, vec![1.0, 0.0]), &want, |_| 1.0), None);
        assert_eq!(distance(&array(2, 1, vec![1.0, 0.0]), &want, |_| 1.0), None);
        let off = array(2, 2, vec![1.0, 0.0, 0.0, 2.0 + 1e-6]);
        let (d, ok) = distance(&off, &want, |_| 1e-9).unwrap();
        assert!(!ok && (d - 0.5e-6).abs() < 1e-15, "{d}");
        assert!(distance(&off, &want, |_| 1e-5).unwrap().1);
        let nan = array(2, 2, vec![1.0, 0.0, 0.0, f64::NAN]);
        assert!(!distance(&nan, &want, |_| f64::INFINITY).unwrap().1);
    }

    /// The unperturbed dense sweeps the simulations use reproduce the engine's matrix-free
    /// reference (late_start_jvp, truncated_vjp) to rounding, on heavy-ball pseudo-Huber
    /// with a late start, and so do the sweeps through the map's products; the control: a
    /// flipped sign of C_k does not.
    #[test]
    fn the_unperturbed_sweeps_are_the_reference() {
        let (spec, _) = crate::gate::export::default_set(2026)[15];
        let inst = spec.build().unwrap();
        let (tp, kp) = (6, 20);
        let (n, p) = (inst.map.dim_x(), inst.map.dim_u());
        let v = DVector::from_fn(p, |i, _| 1.0 / (1.0 + i as f64));
        let w = DVector::from_fn(n, |i, _| (i as f64 - 1.5) / 3.0);
        let (traj, lin) = along(&inst.map, &inst.x0, kp + 1).unwrap();
        let base = Sweep {
            sign: 1.0,
            shift: 0,
            transpose: true,
            printed_order: false,
            fwd_start: tp,
            fwd_steps: kp - tp,
            d0: None,
            rev_stop: tp,
            rev_pad: 0,
            u0: None,
            frozen: Vec::new(),
        };
        let (mut jvp, mut vjp) = (Vec::new(), Vec::new());
        let zero = DVector::zeros(n);
        late_start_jvp(&inst.map, &traj, tp, kp - tp, v.as_view(), zero.as_view(), |_, r| jvp.push(r.clone()));
        truncated_vjp(&inst.map, &traj, kp, tp, w.as_view(), |_, u, _| vjp.push(u.clone()));
        let close = |a: &[DVector<f64>], b: &[DVector<f64>]| {
            let scale = b.iter().map(|r| r.norm()).fold(1.0, f64::max);
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).norm() <= 1e-13 * scale)
        };
        assert!(close(&base.forward(&lin, &v), &jvp) && close(&base.reverse(&lin, kp, &w), &vjp));
        let flipped = Sweep { sign: -1.0, ..base.clone() };
        assert!(!close(&flipped.forward(&lin, &v), &jvp) && !close(&flipped.reverse(&lin, kp, &w), &vjp));
        // The map's products (the path above DENSE_LIMIT) give the same sweeps, the reference
        // and each change to the sweep alike.
        assert!(matches!(lin, Jacobians::Dense(_)));
        let products =
            Jacobians::Products { map: &inst.map, traj: traj.clone(), scratch: RefCell::new(inst.map.scratch()) };
        assert!(close(&base.forward(&products, &v), &jvp) && close(&base.reverse(&products, kp, &w), &vjp));
        for changed in [
            flipped,
            Sweep { shift: 1, ..base.clone() },
            Sweep { transpose: false, ..base.clone() },
            Sweep { printed_order: true, ..base.clone() },
        ] {
            assert!(close(&changed.forward(&products, &v), &changed.forward(&lin, &v)));
            assert!(close(&changed.reverse(&products, kp, &w), &changed.reverse(&lin, kp, &w)));
        }
    }
}
