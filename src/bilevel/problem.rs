//! The hyperparameter problem (23): an inner objective `f(x, u)` on training data whose
//! parameter `u` is a ridge weight, and the outer loss `ℓ(x) = ½‖A_val x − b_val‖²` on
//! validation data.
//!
//! At each parameter value the inner map is rebuilt ([`HyperProblem::at`]): the step size
//! follows the rule ([`StepRule`]) from the certified *global* `[μ, L]` of `f(·, u)`, so it
//! changes with `u`. Within one outer iteration `α` is a constant of the map `A(·, u)`: the
//! derivatives `B_k`, `C_k` are those of the map with `α` frozen at `α(u^r)` (the paper's
//! `A` has a fixed step). At the fixed point the choice does not matter (`∇f(x*, u) = 0`
//! kills the `α'(u)` term), so the exact hypergradient is the same either way.

use crate::error::{Error, Result};
use crate::map::{FixedPointMap, GradientDescent, HeavyBall};
use crate::problem::ridge::{Ridge, RidgeParam};
use crate::problem::robust::{Loss, Robust, RobustParam};
use crate::problem::{Ball, Objective, VecView, draw};
use crate::spec::{Method, StepRule};
use crate::unroll::{Trajectory, implicit_jacobian, truncated_vjp};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// An inner objective that can be rebuilt at another parameter value `u` and turned into a
/// fixed-point map there (object safe, so that one [`HyperProblem`] holds any family).
pub trait InnerObjective: Send + Sync {
    /// The family's name, e.g. `ridge[weight]`.
    fn name(&self) -> String;
    /// Dimension `n` of `x`.
    fn dim_x(&self) -> usize;
    /// Dimension `p` of `u`.
    fn dim_u(&self) -> usize;
    /// The parameter value the objective was built with.
    fn param(&self) -> DVector<f64>;
    /// The map of `method` on `f(·, u)` with the step of `step` from its global `[μ, L]`,
    /// and that step size.
    fn map_at(&self, u: &DVector<f64>, method: Method, step: StepRule) -> Result<(Box<dyn FixedPointMap>, f64)>;
}

/// Rejects a non-finite or negative value.
fn check_nonnegative(field: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(Error::InvalidParameter { field, value, reason: "must be finite and >= 0" })
    }
}

/// Builds the map on `f` with the step from the global curvature of `f`.
fn build_map<O: Objective + 'static>(f: O, method: Method, step: StepRule) -> Result<(Box<dyn FixedPointMap>, f64)> {
    let n = f.dim_x();
    let curv = f.curvature(&Ball { center: DVector::zeros(n), radius: f64::INFINITY });
    let alpha = step.alpha(curv.mu.value, curv.l.value);
    let map: Box<dyn FixedPointMap> = match method {
        Method::GradientDescent => Box::new(GradientDescent::new(f, alpha)?),
        Method::HeavyBall { beta } => Box::new(HeavyBall::new(f, alpha, beta)?),
        Method::Chebyshev => {
            return Err(crate::Error::InvalidParameter {
                field: "method",
                value: f64::NAN,
                reason: "the Chebyshev method (time-varying) is not an inner method of Algorithm 1 here",
            });
        }
        Method::Nesterov | Method::NesterovConvex => {
            return Err(crate::Error::InvalidParameter {
                field: "method",
                value: f64::NAN,
                reason: "Nesterov's method is not an inner method of Algorithm 1 here",
            });
        }
        Method::Picard => {
            return Err(crate::Error::InvalidParameter {
                field: "method",
                value: f64::NAN,
                reason: "picard iterates the layer families, which have no objective",
            });
        }
        Method::ProxGd { .. } | Method::Fista { .. } => {
            return Err(crate::Error::InvalidParameter {
                field: "method",
                value: f64::NAN,
                reason: "the proximal methods (elastic net only) are not inner methods of Algorithm 1 here",
            });
        }
    };
    Ok((map, alpha))
}

/// `InnerObjective` for objectives whose inherent `with_param` re-parameterises them.
macro_rules! inner_objective {
    ($($t:ty),*) => {$(
        impl InnerObjective for $t {
            fn name(&self) -> String {
                Objective::name(self)
            }
            fn dim_x(&self) -> usize {
                Objective::dim_x(self)
            }
            fn dim_u(&self) -> usize {
                Objective::dim_u(self)
            }
            fn param(&self) -> DVector<f64> {
                Objective::param(self)
            }
            fn map_at(&self, u: &DVector<f64>, method: Method, step: StepRule) -> Result<(Box<dyn FixedPointMap>, f64)> {
                build_map(self.with_param(u)?, method, step)
            }
        }
    )*};
}

inner_objective!(Ridge, Robust);

/// The inner family of a [`BilevelSpec`]; the parameter is the ridge weight `u = λ` (p = 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum InnerFamily {
    /// `½‖Ax − b‖² + (u/2)‖x‖²`.
    RidgeWeight,
    /// `Σ φ_δ(a_iᵀx − b_i) + (u/2)‖x‖²` with the pseudo-Huber loss.
    PseudoHuberWeight {
        /// `δ > 0`.
        delta: f64,
    },
}

/// The cold start `x_0` of the inner solver (in the objective's space; lifted to the map's
/// state).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "x0", rename_all = "snake_case")]
pub enum ColdStart {
    /// `x_0 = 0`.
    Origin,
    /// `x_0` with i.i.d. N(0, σ²) entries, drawn from the spec's seed.
    Normal {
        /// `σ ≥ 0`.
        sigma: f64,
    },
}

/// Everything needed to rebuild a [`HyperProblem`] bit for bit.
///
/// Draws, in this order, from one generator seeded with `seed`: the training matrix `A`
/// (`m×n`, U(0,1) entries as in appendix C), the validation matrix `A_val` (`m_val×n`,
/// U(0,1)), a ground truth `x_true` (N(0,1)), the training noise and the validation noise
/// (N(0, noise²)), and last the cold start (when [`ColdStart::Normal`]). Targets are
/// `b = A x_true + noise` and `b_val = A_val x_true + noise`: a planted model, so that the
/// validation loss has a genuine trade-off in the ridge weight (with pure-noise targets, as
/// in appendix C, the best weight is `+∞`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BilevelSpec {
    /// The inner family.
    pub family: InnerFamily,
    /// The inner method.
    pub method: Method,
    /// The inner step rule, applied at every `u^r`.
    pub step: StepRule,
    /// Training rows `M`.
    pub m: usize,
    /// Validation rows.
    pub m_val: usize,
    /// Dimension `N` of `x`.
    pub n: usize,
    /// Standard deviation of the target noise.
    pub noise: f64,
    /// The initial ridge weight `u^{(0)} > 0`.
    pub u0: f64,
    /// The cold start.
    pub x0: ColdStart,
    /// The seed of every draw.
    pub seed: u64,
}

impl BilevelSpec {
    /// The default setting: ridge weight, gradient descent with `α = 2/(L + μ)`, `M = 40`,
    /// `N = 10`, 40 validation rows, noise 1, `u^{(0)} = 1`, `x_0 = 0`.
    ///
    /// ```
    /// use unrollcheck::bilevel::BilevelSpec;
    /// let p = BilevelSpec::ridge(7).build().unwrap();
    /// let at = p.at(&p.u0()).unwrap();
    /// assert_eq!(at.exact.len(), 1);
    /// assert!(at.loss_star.is_finite());
    /// ```
    pub fn ridge(seed: u64) -> Self {
        BilevelSpec {
            family: InnerFamily::RidgeWeight,
            method: Method::GradientDescent,
            step: StepRule::Optimal,
            m: 40,
            m_val: 40,
            n: 10,
            noise: 1.0,
            u0: 1.0,
            x0: ColdStart::Origin,
            seed,
        }
    }

    /// Draws the data and builds the problem.
    pub fn build(&self) -> Result<HyperProblem> {
        if self.m == 0 || self.n == 0 || self.m_val == 0 {
            return Err(Error::Dimension { what: "bilevel dimensions m, m_val, n", expected: 1, got: 0 });
        }
        check_nonnegative("noise", self.noise)?;
        crate::error::check_open("u0", self.u0, 0.0, f64::INFINITY)?;
        let mut rng = draw::rng(self.seed);
        let a = draw::uniform_matrix(self.m, self.n, &mut rng);
        let a_val = draw::uniform_matrix(self.m_val, self.n, &mut rng);
        let x_true = draw::normal_vector(self.n, 1.0, &mut rng);
        let b = &a * &x_true + draw::normal_vector(self.m, self.noise, &mut rng);
        let b_val = &a_val * &x_true + draw::normal_vector(self.m_val, self.noise, &mut rng);
        let x0 = match self.x0 {
            ColdStart::Origin => DVector::zeros(self.n),
            ColdStart::Normal { sigma } => {
                check_nonnegative("x0 sigma", sigma)?;
                draw::normal_vector(self.n, sigma, &mut rng)
            }
        };
        let inner: Box<dyn InnerObjective> = match self.family {
            InnerFamily::RidgeWeight => Box::new(Ridge::new(a, b, self.u0, RidgeParam::Weight)?),
            InnerFamily::PseudoHuberWeight { delta } => {
                Box::new(Robust::new(a, b, self.u0, Loss::PseudoHuber { delta }, RobustParam::Weight)?)
            }
        };
        HyperProblem::new(inner, a_val, b_val, self.method, self.step, x0)
    }
}

/// The bilevel problem (23): inner family, validation data, inner method and step rule,
/// and the cold start `x_0`.
pub struct HyperProblem {
    inner: Box<dyn InnerObjective>,
    a_val: DMatrix<f64>,
    b_val: DVector<f64>,
    /// `A_valᵀA_val` and `A_valᵀb_val`, so that `∇ℓ(x) = A_valᵀA_val x − A_valᵀb_val`.
    hv: DMatrix<f64>,
    gv: DVector<f64>,
    method: Method,
    step: StepRule,
    x0: DVector<f64>,
}

/// Everything about the inner problem at one parameter value `u` that does not depend on
/// the inner iterates: the map, `x*(u)`, the exact hypergradient.
pub struct InnerAt {
    /// The parameter `u`.
    pub u: DVector<f64>,
    /// The map `A(·, u)` (step size frozen at `α(u)`).
    pub map: Box<dyn FixedPointMap>,
    /// The step size `α(u)`.
    pub alpha: f64,
    /// `x*(u)` in the map's state space.
    pub x_star: DVector<f64>,
    /// The exact hypergradient `Dx*(u)ᵀ∇ℓ(x*(u))` from the implicit Jacobian (6).
    pub exact: DVector<f64>,
    /// `ℓ(x*(u))`, the validation loss of the exact inner solution.
    pub loss_star: f64,
}

impl HyperProblem {
    /// Checks the dimensions: `A_val` has `n` columns, `b_val` as many rows as `A_val`, `x_0`
    /// has `n` entries, all finite.
    pub fn new(
        inner: Box<dyn InnerObjective>,
        a_val: DMatrix<f64>,
        b_val: DVector<f64>,
        method: Method,
        step: StepRule,
        x0: DVector<f64>,
    ) -> Result<Self> {
        let n = inner.dim_x();
        if a_val.ncols() != n {
            return Err(Error::Dimension { what: "validation matrix columns", expected: n, got: a_val.ncols() });
        }
        if b_val.len() != a_val.nrows() {
            return Err(Error::Dimension { what: "validation targets", expected: a_val.nrows(), got: b_val.len() });
        }
        if x0.len() != n {
            return Err(Error::Dimension { what: "x0", expected: n, got: x0.len() });
        }
        if a_val.iter().chain(b_val.iter()).chain(x0.iter()).any(|v| !v.is_finite()) {
            return Err(Error::InvalidParameter {
                field: "A_val, b_val, x0",
                value: f64::NAN,
                reason: "entries must be finite",
            });
        }
        let hv = a_val.tr_mul(&a_val);
        let gv = a_val.tr_mul(&b_val);
        Ok(HyperProblem { inner, a_val, b_val, hv, gv, method, step, x0 })
    }

    /// The inner family's name.
    pub fn name(&self) -> String {
        self.inner.name()
    }
    /// Dimension `n` of `x` (the map's state may be larger: `2n` for heavy-ball).
    pub fn dim_x(&self) -> usize {
        self.inner.dim_x()
    }
    /// The initial parameter `u^{(0)}` (the one the inner objective was built with).
    pub fn u0(&self) -> DVector<f64> {
        self.inner.param()
    }
    /// The cold start `x_0` (objective space).
    pub fn x0(&self) -> &DVector<f64> {
        &self.x0
    }
    /// The validation data `(A_val, b_val)`.
    pub fn validation(&self) -> (&DMatrix<f64>, &DVector<f64>) {
        (&self.a_val, &self.b_val)
    }

    /// `ℓ(x) = ½‖A_val x − b_val‖²`, read on the first `n` entries of a state `z`.
    pub fn outer_loss(&self, z: VecView) -> f64 {
        let x = z.rows(0, self.dim_x());
        0.5 * (&self.a_val * x - &self.b_val).norm_squared()
    }

    /// `∇ℓ` at a state `z`, as a state cotangent (zero beyond the first `n` entries).
    pub fn outer_gradient(&self, z: VecView) -> DVector<f64> {
        let n = self.dim_x();
        let mut g = DVector::zeros(z.len());
        let mut head = g.rows_mut(0, n);
        head.copy_from(&self.gv);
        head.gemv(1.0, &self.hv, &z.rows(0, n), -1.0);
        g
    }

    /// The map, `x*(u)` and the exact hypergradient at `u` (which must be finite).
    pub fn at(&self, u: &DVector<f64>) -> Result<InnerAt> {
        if let Some(&v) = u.iter().find(|v| !v.is_finite()) {
            return Err(Error::InvalidParameter { field: "u", value: v, reason: "must be finite" });
        }
        let (map, alpha) = self.inner.map_at(u, self.method, self.step)?;
        let x_star = map.fixed_point()?;
        let dx_star = implicit_jacobian(&map, &x_star)?;
        let exact = dx_star.tr_mul(&self.outer_gradient(x_star.as_view()));
        let loss_star = self.outer_loss(x_star.as_view());
        Ok(InnerAt { u: u.clone(), map, alpha, x_star, exact, loss_star })
    }

    /// The cold start lifted to the map's state.
    pub fn cold_start(&self, at: &InnerAt) -> DVector<f64> {
        at.map.capabilities().lift.apply(&self.x0)
    }

    /// The truncated reverse-mode hypergradient `ū^{(T')}` of a trajectory: the sweep (12)
    /// from `x̄^{(K')} = ∇ℓ(x_{K'})` with `K' = k_end` down to `T' = stop`. With `stop = 0`
    /// and `k_end = K` this is `d^{(r)} = ∇(ℓ∘x^{(K)})(u)` of Algorithm 1 for a constant `x_0`.
    ///
    /// Algorithm 1 as printed updates `x̄` before adding `x̄C_k`; this follows (12), where the
    /// term of step `k` is `x̄^{(k+1)}C_k` (the printed order would compute
    /// `Σ_k ∇ℓᵀB^{K−k}C_k`, which does not converge to `Dx*ᵀ∇ℓ`).
    ///
    /// Errors (no panic) unless `stop ≤ k_end ≤ K`.
    pub fn hypergradient(&self, at: &InnerAt, traj: &Trajectory, k_end: usize, stop: usize) -> Result<DVector<f64>> {
        if stop > k_end || k_end > traj.len() {
            return Err(Error::InvalidParameter {
                field: "truncation index T'",
                value: stop as f64,
                reason: "need T' <= K' <= K",
            });
        }
        let w = self.outer_gradient(traj.x(k_end));
        let mut d = DVector::zeros(at.map.dim_u());
        truncated_vjp(&at.map, traj, k_end, stop, w.as_view(), |k, ubar, _| {
            if k == stop {
                d.copy_from(ubar);
            }
        });
        Ok(d)
    }
}
