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

impl MapConstants {
    /// `Some(reason)` when A2.2 fails (a constant is infinite), naming the property each
    /// infinite constant stands for: `M_x = ∞`, `x ↦ D_x A` is not Lipschitz; `M_u = ∞`,
    /// `x ↦ D_u A` is not Lipschitz; `κ = ∞`, `D_u A` is unbounded. The numbers print as
    /// [`crate::error::short_number`] does (`5e299`, not a 300-digit integer).
    ///
    /// The text for `M_x = ∞` alone is the one the reports have carried since A2.2 was first
    /// named (`…: a constant is infinite (x ↦ D_x A is not Lipschitz)`).
    pub fn smoothness_failure(&self) -> Option<String> {
        use crate::error::short_number;
        let properties: Vec<&str> = [
            (self.m_x.value, "x ↦ D_x A is not Lipschitz"),
            (self.m_u.value, "x ↦ D_u A is not Lipschitz"),
            (self.kappa.value, "D_u A is unbounded"),
        ]
        .iter()
        .filter(|(v, _)| !v.is_finite())
        .map(|(_, p)| *p)
        .collect();
        (!properties.is_empty()).then(|| {
            format!(
                "M_x = {}, M_u = {}, κ = {}: a constant is infinite ({})",
                short_number(self.m_x.value),
                short_number(self.m_u.value),
                short_number(self.kappa.value),
                properties.join("; ")
            )
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn map(m_x: f64, m_u: f64, kappa: f64) -> MapConstants {
        MapConstants {
            rho: Constant::global(0.5),
            m_x: Constant::global(m_x),
            m_u: Constant::global(m_u),
            kappa: Constant::global(kappa),
            spectral_radius: 0.5,
            jacobian_norm_at_fixed_point: 0.5,
        }
    }

    /// Each infinite constant names its own property (an infinite `κ` used to be explained
    /// as "x ↦ D_x A is not Lipschitz", although `κ` bounds `‖D_u A‖` and `M_x` was 0), and a
    /// huge finite constant prints short (`M_u = 5e299`, not 300 digits). Control: `M_x = ∞`
    /// alone keeps the reports' text, and finite constants give no failure.
    #[test]
    fn an_infinite_constant_names_its_own_property() {
        let kappa = map(0.0, 0.19, f64::INFINITY).smoothness_failure().expect("κ = ∞ fails A2.2");
        assert_eq!(kappa, "M_x = 0, M_u = 0.19, κ = inf: a constant is infinite (D_u A is unbounded)");
        let m_u = map(0.0, f64::INFINITY, 1.0).smoothness_failure().expect("M_u = ∞ fails A2.2");
        assert!(m_u.ends_with("(x ↦ D_u A is not Lipschitz)"), "{m_u}");
        let huge = map(0.0, 4.999999999999999e299, f64::INFINITY).smoothness_failure().expect("fails");
        assert!(huge.contains("M_u = 4.999999999999999e299,"), "{huge}");
        assert_eq!(
            map(f64::INFINITY, 0.25, 3.0).smoothness_failure().as_deref(),
            Some("M_x = inf, M_u = 0.25, κ = 3: a constant is infinite (x ↦ D_x A is not Lipschitz)")
        );
        assert_eq!(map(0.0, 0.25, 3.0).smoothness_failure(), None);
    }
}
