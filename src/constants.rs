//! Certified constants of Assumptions 2.1 and 2.2 and the constant `Γ` of (18).
//!
//! Every constant is a [`Constant`]: a value and its [`Scope`], *global* (valid for all
//! `x`) or *local* (valid on the ball `‖x − x*‖ ≤ radius`, which, for a contraction,
//! holds every iterate started at distance `radius` from `x*`). Reports say which was used
//! (subtlety 4 of `docs/claims-spec.md`).
//!
//! - `ρ`: the contraction modulus of the step *in use* (subtlety 3): for gradient descent
//!   on an objective whose Hessian spectrum lies in `[μ, L]`, `ρ = max(|1 − αμ|, |1 − αL|)`.
//! - `M_x`, `M_u`: Lipschitz constants of `x ↦ D_x A`, `x ↦ D_u A`; `κ ≥ ‖D_u A‖`.
//! - (18): `Γ = M_x κ/(1 − ρ) + M_u`; the sharper `Γ♯ = M_x ‖Dx*‖ + M_u`.

use serde::Serialize;

/// Where a constant is valid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum Scope {
    /// For every `x`.
    Global,
    /// On the ball `‖x − x*‖ ≤ radius`.
    Local {
        /// The radius of the ball (`e_0`).
        radius: f64,
    },
}

/// A certified constant with its scope. `value` may be `+∞` (e.g. `M_x` of the classic
/// Huber loss, whose Hessian jumps).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Constant {
    /// The bound.
    pub value: f64,
    /// Where it holds.
    #[serde(flatten)]
    pub scope: Scope,
}

impl Constant {
    /// A global constant.
    pub fn global(value: f64) -> Self {
        Constant { value, scope: Scope::Global }
    }
    /// A constant valid on the ball of the given radius around `x*`.
    pub fn local(value: f64, radius: f64) -> Self {
        Constant { value, scope: Scope::Local { radius } }
    }
    /// `+∞`: the property fails globally.
    pub fn infinite() -> Self {
        Constant::global(f64::INFINITY)
    }
    /// `true` when finite.
    pub fn is_finite(&self) -> bool {
        self.value.is_finite()
    }
    /// `a · self`, keeping the scope.
    pub fn scale(self, a: f64) -> Self {
        Constant { value: a * self.value, ..self }
    }
    /// The narrower of two scopes (local wins).
    pub fn join_scope(a: Scope, b: Scope) -> Scope {
        match (a, b) {
            (Scope::Global, s) | (s, Scope::Global) => s,
            (Scope::Local { radius: r1 }, Scope::Local { radius: r2 }) => Scope::Local { radius: r1.min(r2) },
        }
    }
    /// `true` when local.
    pub fn is_local(&self) -> bool {
        matches!(self.scope, Scope::Local { .. })
    }
}

/// The constants a fixed-point map certifies itself (see [`crate::map::FixedPointMap::constants`]).
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
pub struct MapConstants {
    /// A bound on `sup_x ‖D_x A(x, u)‖₂` (Euclidean operator norm). A2.1 holds when `< 1`.
    pub rho: Constant,
    /// Lipschitz constant of `x ↦ D_x A`.
    pub m_x: Constant,
    /// Lipschitz constant of `x ↦ D_u A`.
    pub m_u: Constant,
    /// Bound on `‖D_u A‖`.
    pub kappa: Constant,
    /// Spectral radius of `D_x A(x*, u)` (the asymptotic rate; < 1 for heavy-ball even
    /// when A2.1 fails).
    pub spectral_radius: f64,
    /// `‖D_x A(x*, u)‖₂` at the fixed point (≥ 1 for heavy-ball, Remark 1(ii)).
    pub jacobian_norm_at_fixed_point: f64,
}

/// All the constants of one instance, with `Γ` of (18) and `Γ♯`.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
pub struct Constants {
    /// The map's own constants.
    #[serde(flatten)]
    pub map: MapConstants,
    /// `‖Dx*‖₂`.
    pub dx_star_norm: f64,
    /// `Γ = M_x κ/(1 − ρ) + M_u` (18); `+∞` when A2.1 or A2.2 fails.
    pub gamma: Constant,
    /// `Γ♯ = M_x ‖Dx*‖ + M_u`, the sharper constant of the proof of Lemma 6.
    pub gamma_sharp: Constant,
}

impl Constants {
    /// Derives `Γ` and `Γ♯` from the map's constants and `‖Dx*‖`.
    pub fn new(map: MapConstants, dx_star_norm: f64) -> Self {
        Constants { map, dx_star_norm, gamma: gamma(&map), gamma_sharp: gamma_sharp(&map, dx_star_norm) }
    }
    /// Shorthand for `ρ`.
    pub fn rho(&self) -> f64 {
        self.map.rho.value
    }
    /// `true` when A2.1 holds (`ρ < 1`).
    pub fn contraction(&self) -> bool {
        self.map.rho.value < 1.0
    }
    /// `true` when A2.2 holds (all three constants finite).
    pub fn smooth(&self) -> bool {
        self.map.m_x.is_finite() && self.map.m_u.is_finite() && self.map.kappa.is_finite()
    }
}

/// `Γ = M_x κ/(1 − ρ) + M_u` of (18); `+∞` when `ρ ≥ 1`.
///
/// ```
/// use unrollcheck::constants::{gamma, Constant, MapConstants};
/// let c = MapConstants {
///     rho: Constant::global(0.5), m_x: Constant::global(2.0), m_u: Constant::global(1.0),
///     kappa: Constant::global(3.0), spectral_radius: 0.5, jacobian_norm_at_fixed_point: 0.5,
/// };
/// assert_eq!(gamma(&c).value, 2.0 * 3.0 / 0.5 + 1.0);
/// ```
pub fn gamma(c: &MapConstants) -> Constant {
    // With M_x = 0 the first term vanishes whatever κ is, so κ's scope does not matter.
    let used = if c.m_x.value == 0.0 {
        vec![c.rho.scope, c.m_u.scope]
    } else {
        vec![c.rho.scope, c.m_x.scope, c.m_u.scope, c.kappa.scope]
    };
    let scope = used.into_iter().fold(Scope::Global, Constant::join_scope);
    let value = if c.rho.value >= 1.0 {
        f64::INFINITY
    } else if c.m_x.value == 0.0 {
        c.m_u.value // M_x = 0 makes the first term vanish even when κ is infinite
    } else {
        c.m_x.value * c.kappa.value / (1.0 - c.rho.value) + c.m_u.value
    };
    Constant { value, scope }
}

/// `Γ♯ = M_x ‖Dx*‖ + M_u`.
pub fn gamma_sharp(c: &MapConstants, dx_star_norm: f64) -> Constant {
    let scope = Constant::join_scope(c.m_x.scope, c.m_u.scope);
    let value = if c.m_x.value == 0.0 { c.m_u.value } else { c.m_x.value * dx_star_norm + c.m_u.value };
    Constant { value, scope }
}
