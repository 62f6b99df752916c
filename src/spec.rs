//! Instance specifications and the deterministic builder from spec to [`Instance`].
//!
//! A [`Spec`] is a handful of numbers (family, method, dimensions, data draw, step rule,
//! initial distance, seed); [`Spec::build`] turns it into an instance, drawing every
//! random number from the spec's seed. Generating specs rather than matrices is what makes
//! failures shrink to small specs and replay exactly (docs/style.md, habit 2).
//! [`instance_seed`] derives the seed of each instance of a scenario grid, a trend or the
//! gate's instance set from one seed.

use crate::error::{Error, Result, check_open};
use crate::instance::Instance;
use crate::map::layer::{Layer, LayerParam};
use crate::map::nesterov::{Schedule, strongly_convex_momentum};
use crate::map::proximal::{ElasticNetParam, Proximal};
use crate::map::{Adapted, Chebyshev, FixedPointMap, GradientDescent, HeavyBall, Nesterov};
use crate::problem::logistic::{Logistic, LogisticParam};
use crate::problem::ridge::{Ridge, RidgeParam};
use crate::problem::robust::{Loss, Robust, RobustParam};
use crate::problem::{Ball, Objective, draw};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// The inner objective and its parameter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case", deny_unknown_fields)]
pub enum Family {
    /// Ridge least squares (parameter: weight, targets or data).
    Ridge {
        /// Which parameter.
        param: RidgeParam,
    },
    /// Pseudo-Huber regression with a ridge term.
    PseudoHuber {
        /// Which parameter.
        param: RobustParam,
        /// `δ > 0`.
        delta: f64,
    },
    /// Classic Huber regression with a ridge term (A2.2 fails).
    Huber {
        /// Which parameter.
        param: RobustParam,
        /// `δ > 0`.
        delta: f64,
    },
    /// Weighted logistic regression with an ℓ2 penalty (beyond the paper): labels
    /// `sign(b_i)`, sample weights U(0.5, 1.5) drawn after the other draws.
    Logistic {
        /// Which parameter.
        param: LogisticParam,
    },
    /// A random contraction layer `A(x, u) = tanh(Wx + Uv + b)` with `‖W‖₂ = ρ_W`, no
    /// objective behind it (beyond the paper; [`crate::map::layer`]): state dimension `n`,
    /// input length `m`. It takes the method [`Method::Picard`] only; `data`, `lambda` and
    /// `step` do not enter its draw.
    Layer {
        /// Which parameter: the input `v`, the bias `b` or the weights `U`.
        param: LayerParam,
        /// `ρ_W = ‖W‖₂ ∈ (0, 1)`.
        rho_w: f64,
    },
    /// The elastic net `½‖Ax − b‖² + (λ/2)‖x‖² + λ₁‖x‖₁` (beyond the paper; the methods
    /// [`Method::ProxGd`] and [`Method::Fista`] only): the smooth part is ridge with the
    /// spec's `λ` as `λ₂`, and `λ₁ = l1·‖Aᵀb‖_∞`, a fraction of the smallest weight for
    /// which `x* = 0`, so that for `l1 ∈ (0, 1)` the support is neither empty nor (for
    /// large enough `l1`) full. No draw beyond `(A, b)` and the start's direction.
    ElasticNet {
        /// Which parameter: `λ₁` or the targets `b`.
        param: ElasticNetParam,
        /// `λ₁` as a fraction of `‖Aᵀb‖_∞`.
        l1: f64,
    },
}

impl Family {
    /// `true` for the layer families, which have no objective.
    pub fn is_layer(&self) -> bool {
        matches!(self, Family::Layer { .. })
    }
}

/// Where the run of a proximal method starts (beyond the paper).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// At `x_0` of the spec, with `Dx_0 = 0`.
    #[default]
    X0,
    /// At the iterate `x_{k_a}` of the run from `x_0` from which the map is affine along
    /// the run (support identified, within the ball of [`crate::map::proximal`]), with the
    /// a.e. forward derivative `Ẋ_{k_a}` as initial derivative.
    Identified,
}

/// The fixed-point method.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Method {
    /// Gradient descent `A_α`.
    GradientDescent,
    /// Heavy-ball `A_{α,β}`.
    HeavyBall {
        /// Momentum `β ∈ [0, 1)`.
        beta: f64,
    },
    /// The Chebyshev semi-iterative method (time-varying), tuned to `[μ, L̂]` with
    /// `L̂ = max(μ, 2/α − μ)` for the step `α` of the step rule, so that its first step is a
    /// gradient step of size `α` (`α = 2/(L + μ)` gives the textbook method on the certified
    /// spectrum, smaller steps an overestimated `L̂`).
    Chebyshev,
    /// Nesterov's accelerated gradient with the constant momentum of the strongly convex
    /// method, `β = (1 − √(αμ))/(1 + √(αμ))` (`(√L − √μ)/(√L + √μ)` for `α = 1/L`) for the step
    /// `α` of the step rule and the certified `μ` (beyond the paper).
    Nesterov,
    /// Nesterov's accelerated gradient with the convex schedule `β_k = (k' − 1)/(k' + 2)`,
    /// `k' = k + 1` (time-varying; beyond the paper).
    NesterovConvex,
    /// The plain iteration `x_{k+1} = A(x_k, u)` of a map given as such (the layer
    /// families; beyond the paper): the only method they take, and only they take it.
    Picard,
    /// Proximal gradient `x⁺ = prox_{αλ₁‖·‖₁}(x − α∇f(x))` on the elastic net (beyond the
    /// paper; [`crate::map::proximal`]).
    ProxGd {
        /// Where the run starts.
        #[serde(default)]
        restart: Restart,
    },
    /// FISTA on the elastic net with the constant momentum of the strongly convex method,
    /// `β = (1 − √(αμ))/(1 + √(αμ))` (beyond the paper).
    Fista {
        /// Where the run starts.
        #[serde(default)]
        restart: Restart,
    },
}

impl Method {
    /// `true` for the proximal methods, which run on the elastic net only.
    pub fn is_proximal(&self) -> bool {
        matches!(self, Method::ProxGd { .. } | Method::Fista { .. })
    }
}

impl Family {
    /// `true` for the elastic net, which only the proximal methods run on.
    pub fn is_elastic_net(&self) -> bool {
        matches!(self, Family::ElasticNet { .. })
    }
}

/// The largest number of steps searched for support identification.
pub const IDENTIFICATION_STEPS: usize = 100_000;

/// How `(A, b)` is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "data", rename_all = "snake_case", deny_unknown_fields)]
pub enum Data {
    /// The paper's appendix C: `A` with U(0,1) entries, `b` with N(0,1) entries.
    Paper,
    /// Singular values of `A` geometrically spaced in `[s_min, s_max]`, random rotations;
    /// `b` with N(0,1) entries.
    Spectrum {
        /// Smallest singular value.
        s_min: f64,
        /// Largest singular value.
        s_max: f64,
    },
    /// A tight instance of (19)–(21): `A` as in [`Data::Paper`] (`m ≥ n`), and `b = A v`
    /// with `v` the unit eigenvector of `AᵀA` for its smallest eigenvalue `σ²`, so that the
    /// ridge solution `x* = σ²/(σ² + λ) v` lies along the slowest direction of gradient
    /// descent. With the ridge weight as parameter, `x_0 = 0` and a step `α ≤ 2/(L + μ)`
    /// (so `ρ = 1 − αμ`, `μ = σ² + λ`), `x_k − x* = −ρ^k x*`, `C_k = −αx_k` and
    /// `Ẋ_k − Dx* = −ρ^k Dx* + kρ^{k−1}α x*`, two terms along `v` with the same sign: (19)
    /// holds with equality, `ė_k = ρ^k ė_0 + kρ^{k−1}Γe_0` with `Γ = M_u = α`, and so do (14),
    /// (17) and (21).
    Tight,
}

impl Data {
    /// Draws `(A, b)` for an `m × n` instance from `rng`: `A` first, then `b`
    /// ([`Data::Tight`] draws no `b`).
    pub fn draw(self, m: usize, n: usize, rng: &mut draw::ChaCha8Rng) -> Result<(DMatrix<f64>, DVector<f64>)> {
        match self {
            Data::Paper => {
                let a = draw::uniform_matrix(m, n, rng);
                Ok((a, draw::normal_vector(m, 1.0, rng)))
            }
            Data::Spectrum { s_min, s_max } => {
                if !(s_min > 0.0 && s_max >= s_min && s_max.is_finite()) || m < n {
                    return Err(Error::InvalidParameter {
                        field: "spectrum",
                        value: s_min,
                        reason: "need 0 < s_min <= s_max and m >= n",
                    });
                }
                let a = draw::controlled_spectrum(m, n, s_min, s_max, rng);
                Ok((a, draw::normal_vector(m, 1.0, rng)))
            }
            Data::Tight => {
                if m < n {
                    return Err(Error::InvalidParameter {
                        field: "tight",
                        value: m as f64,
                        reason: "need m >= n (AᵀA regular)",
                    });
                }
                let a = draw::uniform_matrix(m, n, rng);
                let eig = crate::linalg::symmetric_eigen(&(a.transpose() * &a))?;
                let slowest = eig.eigenvalues.imin();
                let b = &a * eig.eigenvectors.column(slowest);
                Ok((a, b))
            }
        }
    }
}

/// The step-size rule, from the certified `[μ, L]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum StepRule {
    /// `α = 2/(L + μ)`, the optimal step of gradient descent.
    Optimal,
    /// `α = 1/L`.
    InvL,
    /// `α = 1/(3L)`, the paper's suboptimal step.
    InvThreeL,
    /// `α = c · 2/L` for a factor `c` (contractive for `c ∈ (0, 1)`; `c ≥ 1` is not).
    FractionOfTwoOverL {
        /// The factor `c`.
        c: f64,
    },
}

impl StepRule {
    /// The step size for the spectrum `[μ, L]`.
    pub fn alpha(&self, mu: f64, l: f64) -> f64 {
        match *self {
            StepRule::Optimal => 2.0 / (l + mu),
            StepRule::InvL => 1.0 / l,
            StepRule::InvThreeL => 1.0 / (3.0 * l),
            StepRule::FractionOfTwoOverL { c } => 2.0 * c / l,
        }
    }
}

/// The norm the state is measured in (and the claims are checked in).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "norm", rename_all = "snake_case", deny_unknown_fields)]
pub enum Norm {
    /// The Euclidean norm of the paper.
    #[default]
    Euclidean,
    /// Heavy-ball (and constant-momentum Nesterov) in the adapted norm `‖P⁻¹z‖` of
    /// [`crate::map::adapted`] (beyond the paper), giving up the share `eps ∈ [0, 1)` of the
    /// spectral gap. Gradient descent is unchanged: its Jacobian is symmetric, so its adapted
    /// norm is the Euclidean one (`P = I`); the time-varying maps (Chebyshev, Nesterov's
    /// convex schedule) have none and stay Euclidean.
    Adapted {
        /// The share of the spectral gap `1 − r` given up: block norms `≤ r + eps·(1 − r)`.
        eps: f64,
    },
}

impl Norm {
    /// `true` for the Euclidean norm (the default, omitted from serialised specs).
    pub fn is_euclidean(&self) -> bool {
        *self == Norm::Euclidean
    }
}

/// Everything needed to rebuild an instance, bit for bit. Unknown keys are rejected (a
/// misspelt `seed` must not silently replay another instance).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The objective.
    pub family: Family,
    /// The method.
    pub method: Method,
    /// Rows `M` of `A`.
    pub m: usize,
    /// Columns `N` of `A` (the dimension of `x`).
    pub n: usize,
    /// How `(A, b)` is drawn.
    pub data: Data,
    /// The ridge weight `λ` (the parameter's value for the `weight` families).
    pub lambda: f64,
    /// The step size rule.
    pub step: StepRule,
    /// `x_0 = x* + σ g` with `g` standard normal: the initial distance scale (`0` starts at
    /// the solution); `None` starts at `x_0 = 0`.
    pub x0_sigma: Option<f64>,
    /// The seed of every draw.
    pub seed: u64,
    /// The norm (default Euclidean; the draws do not depend on it).
    #[serde(default, skip_serializing_if = "Norm::is_euclidean")]
    pub norm: Norm,
}

/// An instance with a type-erased map, as built from a [`Spec`].
pub type DynInstance = Instance<Box<dyn FixedPointMap>>;

impl Spec {
    /// A spec from JSON, refusing unknown keys at the top level and inside its nested
    /// objects (`family`, `method`, `data`, `step`, `norm`): serde's `deny_unknown_fields`
    /// does not reach the unit variants of internally tagged enums (`{"method":
    /// "gradient_descent", "beta": 0.5}` would silently drop `beta`), so every key of a
    /// nested object must reappear when the parsed spec is written back.
    ///
    /// A type error names its key (`key `seed`: invalid type: floating point `1.5`, expected
    /// u64`), and the values are checked by [`Spec::validate`], the rules of the scenario
    /// grid (`key `m`: 0 is out of range 1..=200`).
    pub fn from_json(value: &serde_json::Value) -> std::result::Result<Spec, String> {
        use crate::input::keyed;
        let spec: Spec = crate::input::json_from_value(value).map_err(|(key, message)| keyed(&key, message))?;
        let back = serde_json::to_value(spec).map_err(|e| e.to_string())?;
        for field in ["family", "method", "data", "step", "norm"] {
            let Some(given) = value.get(field).and_then(|v| v.as_object()) else { continue };
            let known = back.get(field).and_then(|v| v.as_object());
            for key in given.keys() {
                if !known.is_some_and(|k| k.contains_key(key)) && key != field && !(field == "step" && key == "rule") {
                    return Err(format!("unknown field `{key}` in `{field}`"));
                }
            }
        }
        spec.validate().map_err(|(key, message)| keyed(key, message))?;
        Ok(spec)
    }

    /// The paper's Figures 1–2 setting: ridge with the weight as parameter, `M = 50`,
    /// `N = 10`, U(0,1)/N(0,1) data, `λ = 0.1`, `α = 2/(L + m)`, `x_0` with N(0, 10²) entries
    /// (a choice: the paper does not state its initial point).
    pub fn figure2(seed: u64) -> Self {
        Spec {
            family: Family::Ridge { param: RidgeParam::Weight },
            method: Method::GradientDescent,
            m: 50,
            n: 10,
            data: Data::Paper,
            lambda: 0.1,
            step: StepRule::Optimal,
            x0_sigma: Some(10.0),
            seed,
            norm: Norm::Euclidean,
        }
    }

    /// Draws the data and builds the instance.
    pub fn build(&self) -> Result<DynInstance> {
        if self.m == 0 || self.n == 0 {
            return Err(Error::Dimension { what: "spec dimensions m, n", expected: 1, got: 0 });
        }
        if self.family.is_elastic_net() != self.method.is_proximal() {
            return Err(Error::InvalidParameter {
                field: "method",
                value: f64::NAN,
                reason: "the proximal methods (prox_gd, fista) run on the elastic net only, and the elastic net only under them",
            });
        }
        let mut rng = draw::rng(self.seed);
        if let Family::Layer { param, rho_w } = self.family {
            return self.build_layer(param, rho_w, &mut rng);
        }
        if self.method == Method::Picard {
            return Err(Error::InvalidParameter {
                field: "method",
                value: f64::NAN,
                reason: "picard iterates a map given as such: only the layer families take it",
            });
        }
        let (a, b) = self.data.draw(self.m, self.n, &mut rng)?;
        let g = draw::normal_vector(self.n, 1.0, &mut rng);
        match self.family {
            Family::Ridge { param } => self.finish(Ridge::new(a, b, self.lambda, param)?, g),
            Family::PseudoHuber { param, delta } => {
                self.finish(Robust::new(a, b, self.lambda, Loss::PseudoHuber { delta }, param)?, g)
            }
            Family::Huber { param, delta } => {
                self.finish(Robust::new(a, b, self.lambda, Loss::Huber { delta }, param)?, g)
            }
            Family::Logistic { param } => {
                let w = draw::sample_weights(self.m, &mut rng);
                self.finish(Logistic::new(a, Logistic::labels(&b), w, self.lambda, param)?, g)
            }
            Family::Layer { .. } => unreachable!("built by Spec::build_layer"),
            Family::ElasticNet { param, l1 } => {
                check_open("l1", l1, 0.0, f64::INFINITY)?;
                let l1 = l1 * (a.transpose() * &b).amax();
                self.finish_proximal(Ridge::new(a, b, self.lambda, RidgeParam::Targets)?, l1, param, g)
            }
        }
    }

    /// The layer of [`Family::Layer`]: `n` state, `m` input, drawn by [`Layer::draw`], then
    /// `g` for `x_0 = x* + σg` (or `x_0 = 0`); `Dx_0 = 0`.
    fn build_layer(&self, param: LayerParam, rho_w: f64, rng: &mut draw::ChaCha8Rng) -> Result<DynInstance> {
        if self.method != Method::Picard {
            return Err(Error::InvalidParameter {
                field: "method",
                value: f64::NAN,
                reason: "the layer families have no objective: their only method is picard",
            });
        }
        let layer = Layer::draw(self.n, self.m, rho_w, param, rng)?;
        let g = draw::normal_vector(self.n, 1.0, rng);
        let x0 = match self.x0_sigma {
            Some(sigma) => layer.solve()? + sigma * g,
            None => DVector::zeros(self.n),
        };
        let map: Box<dyn FixedPointMap> = Box::new(layer);
        Instance::new(map, x0)
    }

    /// The proximal methods on the elastic net: `x*` from [`Proximal::new`], the start
    /// `x_0 = x* + σg` as for the other families, and the support identification of the
    /// run from it; with [`Restart::Identified`], the instance starts at `x_{k_a}` with the
    /// forward derivative `Ẋ_{k_a}` (a.e.) of the run from `x_0`.
    fn finish_proximal(&self, f: Ridge, l1: f64, param: ElasticNetParam, g: DVector<f64>) -> Result<DynInstance> {
        let ball = Ball { center: DVector::zeros(self.n), radius: f64::INFINITY };
        let curv = f.curvature(&ball);
        let alpha = self.step.alpha(curv.mu.value, curv.l.value);
        let (momentum, restart) = match self.method {
            Method::ProxGd { restart } => (None, restart),
            Method::Fista { restart } => (Some(strongly_convex_momentum(alpha, curv.mu.value)), restart),
            _ => unreachable!("checked in build"),
        };
        let map = Proximal::new(f, l1, alpha, param, momentum)?;
        let x0 = match self.x0_sigma {
            Some(sigma) => map.solution() + sigma * g,
            None => DVector::zeros(self.n),
        };
        let x0 = map.capabilities().lift.apply(&x0);
        let mut id = map.identify(&x0, IDENTIFICATION_STEPS);
        let p = map.dim_u();
        if restart == Restart::X0 {
            let map: Box<dyn FixedPointMap> = Box::new(map.with_identification(id));
            return Instance::with_dx0(map, x0.clone(), DMatrix::zeros(x0.len(), p));
        }
        let Some(k_a) = id.k_affine else {
            return Err(Error::Numerical(format!(
                "{}: the run from x0 does not enter the affine ball around x* within {} steps",
                map.name(),
                id.steps
            )));
        };
        let traj = crate::unroll::Trajectory::run(&map, &x0, k_a);
        let lin = crate::unroll::Linearization::along(&map, &traj, k_a);
        let dx = lin.late_start_jacobians(0, k_a, &DMatrix::zeros(x0.len(), p)).pop().expect("k_a + 1 matrices");
        id.restarted_at = Some(k_a);
        let start = traj.x(k_a).into_owned();
        let map: Box<dyn FixedPointMap> = Box::new(map.with_identification(id));
        Instance::with_dx0(map, start, dx)
    }

    fn finish<O: Objective + 'static>(&self, f: O, g: DVector<f64>) -> Result<DynInstance> {
        let x_star = f.minimizer()?;
        let x0 = match self.x0_sigma {
            Some(sigma) => &x_star + sigma * g,
            None => DVector::zeros(self.n),
        };
        let ball = Ball { radius: (&x0 - &x_star).norm(), center: x_star };
        let curv = f.curvature(&ball);
        let alpha = self.step.alpha(curv.mu.value, curv.l.value);
        let map: Box<dyn FixedPointMap> = match self.method {
            Method::GradientDescent => Box::new(GradientDescent::new(f, alpha)?),
            Method::HeavyBall { beta } => {
                let hb = HeavyBall::new(f, alpha, beta)?;
                match self.norm {
                    Norm::Euclidean => Box::new(hb),
                    Norm::Adapted { eps } => Box::new(Adapted::new(hb, eps)?),
                }
            }
            Method::Chebyshev => {
                let mu = curv.mu.value;
                Box::new(Chebyshev::new(f, mu, (2.0 / alpha - mu).max(mu))?)
            }
            Method::Nesterov => {
                let beta = strongly_convex_momentum(alpha, curv.mu.value);
                let nag = Nesterov::new(f, alpha, Schedule::StronglyConvex { beta })?;
                match self.norm {
                    Norm::Euclidean => Box::new(nag),
                    Norm::Adapted { eps } => Box::new(Adapted::new(nag, eps)?),
                }
            }
            Method::NesterovConvex => Box::new(Nesterov::new(f, alpha, Schedule::Convex)?),
            Method::Picard => unreachable!("refused by Spec::build before the objective is drawn"),
            Method::ProxGd { .. } | Method::Fista { .. } => unreachable!("checked in build"),
        };
        let x0 = map.capabilities().lift.apply(&x0);
        let p = map.dim_u();
        Instance::with_dx0(map, x0.clone(), DMatrix::zeros(x0.len(), p))
    }
}

/// The rules the values of a spec obey, written once: [`Spec::validate`] applies them to a
/// spec given as JSON (`check --spec`, `replay`), the scenario grid
/// ([`crate::scenario::axes`]) and the trend files to each value where it is written. Each
/// returns the message of a refusal, with the value; the caller adds the file or flag, the
/// line and the key.
pub mod rules {
    /// The largest dimension `M` or `N` (`grid.m`, `grid.n`, a spec's `m`, `n`).
    pub const MAX_DIM: usize = 200;

    /// A dimension `M` or `N`: in `1..=`[`MAX_DIM`].
    pub fn dimension(d: usize) -> Result<(), String> {
        if (1..=MAX_DIM).contains(&d) { Ok(()) } else { Err(format!("{d} is out of range 1..={MAX_DIM}")) }
    }

    /// A finite number `≥ 0`.
    pub fn nonnegative(x: f64) -> Result<(), String> {
        if x.is_finite() && x >= 0.0 { Ok(()) } else { Err(format!("{x} must be a finite number >= 0")) }
    }

    /// The largest curvature scale a spec may ask for: the step sizes are `2/(L + μ)`,
    /// `1/L`, `c·2/L`, and `L + μ ≥ 2λ` (and `≥ 2 s_min²`, with `L ≥ s_max²`) must be a
    /// finite number; a quarter of the largest double leaves a factor 2 for the rest of
    /// the curvature (the data's `‖A‖²` is at most `M·N ≤ 4·10⁴` for the paper's draw).
    pub const MAX_CURVATURE: f64 = f64::MAX / 4.0;

    /// The ridge weight `λ`: finite, `≥ 0` and at most [`MAX_CURVATURE`] (beyond it the
    /// curvature `L + μ` overflows and no step size is left).
    pub fn lambda(x: f64) -> Result<(), String> {
        nonnegative(x)?;
        if x <= MAX_CURVATURE {
            Ok(())
        } else {
            Err(format!(
                "{x:e} is too large: the curvature L + μ >= 2λ must be a finite number (λ <= {MAX_CURVATURE:e})"
            ))
        }
    }

    /// A finite number `> 0` (the Huber scale `δ`, the elastic net's `l1`, a step factor `c`).
    pub fn positive(x: f64) -> Result<(), String> {
        if x.is_finite() && x > 0.0 { Ok(()) } else { Err(format!("{x} must be a finite number > 0")) }
    }

    /// A number in `[0, 1)` (the momentum `β`, the adapted norm's `eps`).
    pub fn unit_interval(x: f64) -> Result<(), String> {
        if (0.0..1.0).contains(&x) { Ok(()) } else { Err(format!("{x} must lie in [0, 1)")) }
    }

    /// A number in `(0, 1)` (the layers' `ρ_W`).
    pub fn open_unit_interval(x: f64) -> Result<(), String> {
        if x > 0.0 && x < 1.0 { Ok(()) } else { Err(format!("{x} must lie in (0, 1)")) }
    }

    /// The standard deviation `σ` of `x_0 = x* + σg`: finite and `≥ 0` (`0` starts at `x*`).
    pub fn x0_sigma(s: f64) -> Result<(), String> {
        if s.is_finite() && s >= 0.0 {
            Ok(())
        } else {
            Err(format!("{s} is not a standard deviation: it must be a finite number >= 0"))
        }
    }

    /// A singular value range `[s_min, s_max]`: `0 < s_min <= s_max`, finite.
    pub fn spectrum(lo: f64, hi: f64) -> Result<(), String> {
        if !(lo > 0.0 && hi >= lo && hi.is_finite()) {
            Err(format!("[{lo}, {hi}] must satisfy 0 < s_min <= s_max"))
        } else if hi * hi > MAX_CURVATURE {
            Err(format!(
                "s_max = {hi:e} is too large: the curvature L >= s_max² must be a finite number (s_max² <= {MAX_CURVATURE:e})"
            ))
        } else {
            Ok(())
        }
    }
}

impl Spec {
    /// Checks every value of the spec by [`rules`], and that the method runs on the family
    /// (the layer families take `picard` only and only they take it; the elastic net takes
    /// the proximal methods only and only it takes them): the first refusal as `(key,
    /// message)`, the key as in the JSON form (`m`, `family.delta`, `method`).
    pub fn validate(&self) -> std::result::Result<(), (&'static str, String)> {
        let field = |key: &'static str, r: std::result::Result<(), String>| r.map_err(|m| (key, m));
        field("m", rules::dimension(self.m))?;
        field("n", rules::dimension(self.n))?;
        field("lambda", rules::lambda(self.lambda))?;
        if let Some(s) = self.x0_sigma {
            field("x0_sigma", rules::x0_sigma(s))?;
        }
        match self.family {
            Family::PseudoHuber { delta, .. } | Family::Huber { delta, .. } => {
                field("family.delta", rules::positive(delta))?
            }
            Family::Layer { rho_w, .. } => field("family.rho_w", rules::open_unit_interval(rho_w))?,
            Family::ElasticNet { l1, .. } => field("family.l1", rules::positive(l1))?,
            Family::Ridge { .. } | Family::Logistic { .. } => {}
        }
        if let Method::HeavyBall { beta } = self.method {
            field("method.beta", rules::unit_interval(beta))?;
        }
        if let Data::Spectrum { s_min, s_max } = self.data {
            field("data", rules::spectrum(s_min, s_max))?;
        }
        if let StepRule::FractionOfTwoOverL { c } = self.step {
            field("step.c", rules::positive(c))?;
        }
        if let Norm::Adapted { eps } = self.norm {
            field("norm.eps", rules::unit_interval(eps))?;
        }
        let method = serde_json::to_value(self.method).ok().and_then(|v| v["method"].as_str().map(str::to_string));
        let method = method.unwrap_or_default();
        if self.family.is_layer() != (self.method == Method::Picard) {
            let why = if self.family.is_layer() {
                format!(
                    "`{method}` needs an objective, which the layer families have none of: they take method `picard` only"
                )
            } else {
                "`picard` iterates the layer families only (family `layer`), not an objective".to_string()
            };
            return Err(("method", why));
        }
        if self.family.is_elastic_net() != self.method.is_proximal() {
            let why = if self.family.is_elastic_net() {
                format!("the elastic net runs under the proximal methods only (`prox_gd`, `fista`), not `{method}`")
            } else {
                format!("`{method}` runs on the elastic net only (family `elastic_net`)")
            };
            return Err(("method", why));
        }
        Ok(())
    }
}

/// Seed of instance `i` of grid point `p`: SplitMix64 of the scenario seed and the indices,
/// so instances are independent of the order in which they are run.
pub fn instance_seed(seed: u64, point: usize, instance: usize) -> u64 {
    let mut z = seed ^ ((point as u64) << 32 | instance as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
