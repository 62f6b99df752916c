//! Calibration of the tolerance model ([`crate::tol`]) against measured rounding.
//!
//! For one [`Case`], each kind of tolerance is compared with the rounding error it bounds,
//! measured against a double-double recomputation ([`crate::unroll::reference`], unit
//! roundoff `≈ 2⁻¹⁰⁴`) of the same quantity from the same `f64` data:
//!
//! | kind | `f64` quantity | reference | tolerance |
//! | --- | --- | --- | --- |
//! | `product` | one step `B_k Ẋ_k + C_k` | the same in dd | `product(d, ‖B_k‖‖Ẋ_k‖ + ‖C_k‖)` |
//! | `recursion_iterates` | `x_k` of (4) (every family but Chebyshev's and Nesterov's maps: gradient descent and heavy-ball in the Euclidean norm; proximal gradient and FISTA on the elastic net; the random contraction layer, with `tanh` in dd) | the map in dd from `x_0` | `recursion(k, d, step_scale, ρ)` |
//! | `recursion_jacobians` | `Ẋ_k` (9) and `Ū_K^{(k)}` (12) | the recursions in dd on the same `B_j`, `C_j` | `recursion(k, d, j_scale, ρ)` |
//! | `solve` | `Dx* = (I − B)^{-1}C` (LU) | Gaussian elimination in dd | `solve(d, cond, j_scale)`, `cond` the computed [`Case::implicit_cond`] |
//! | `closed_form` | `ρ^k e_0`, `k ρ^{k−1} Γ e_0` | the same in dd | `closed_form(value, ρ, k)` |
//! | `fwd_rev` | `‖Ẋ_k − Ẋ_k^{dd}‖ + ‖Ū_k^{(0)} − Ū_k^{(0),dd}‖` | — | `fwd_rev(d, M, …)` |
//! | `jacobians_end_to_end` | `Ẋ_k` (9) along the `f64` iterates (logistic, gradient descent) | (9) in dd along the dd iterates | [`Case::tol_jacobian_recursion`] |
//!
//! `d` is [`Case::dim`], `ρ` is [`Case::rho_or_one`]. Each sample gives the ratio
//! `tolerance / measured`; a measured error below `ε·scale` (the size of the quantity) is
//! floored there, since a tolerance cannot be asked to be tighter than one rounding of the
//! result. A ratio `< 1` is a *soundness failure* of the model; the median ratio is its
//! *tightness*. `step_scale` is [`Case::step_scale`], the magnitude of one step's terms
//! (issue #12: on logistic regression it is up to 200× `‖x_k‖`, and the iterates' rounding
//! floor follows it). Not covered: `x*` (its solver differs by family).

use crate::claims::{Case, Config};
use crate::linalg::spectral_norm;
use crate::problem::draw;
use crate::problem::logistic::{Logistic, LogisticParam};
use crate::problem::robust::Loss;
use crate::spec::{Family, Method};
use crate::tol::{EPS, Sweep};
use crate::unroll::reference::{self, DdMatrix};
use nalgebra::{DMatrix, DVector};
use serde::Serialize;
use twofloat::TwoFloat;

/// The statistics of `tolerance / measured` for one kind of tolerance on one case.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct KindStats {
    /// The kind (`product`, `recursion_iterates`, `recursion_jacobians`, `solve`,
    /// `closed_form`, `fwd_rev`).
    #[serde(deserialize_with = "crate::claims::verdict::interned")]
    pub kind: crate::claims::verdict::Name,
    /// How many samples.
    pub samples: usize,
    /// The smallest ratio (`< 1`: unsound somewhere).
    pub min: f64,
    /// The median ratio (tightness).
    pub median: f64,
    /// The largest ratio.
    pub max: f64,
    /// How many samples had `tolerance < measured`.
    pub unsound: usize,
}

/// The ratios of one kind, as collected.
#[derive(Debug, Clone, Default)]
pub struct Ratios {
    values: Vec<f64>,
}

impl Ratios {
    /// Records a sample: `tol` against `measured`, floored at `ε·scale`.
    pub fn push(&mut self, tol: f64, measured: f64, scale: f64) {
        let floor = EPS * scale.abs();
        let m = measured.max(floor);
        // An exact zero computed exactly (`m = 0`) has nothing to bound.
        if m > 0.0 {
            self.values.push(tol / m);
        }
    }

    /// Merges another collection.
    pub fn extend(&mut self, other: &Ratios) {
        self.values.extend_from_slice(&other.values);
    }

    /// The statistics (`None` without samples).
    pub fn stats(&self, kind: &'static str) -> Option<KindStats> {
        if self.values.is_empty() {
            return None;
        }
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        Some(KindStats {
            kind,
            samples: v.len(),
            min: v[0],
            median: v[v.len() / 2],
            max: v[v.len() - 1],
            unsound: v.iter().filter(|&&r| r < 1.0 || r.is_nan()).count(),
        })
    }
}

/// The kinds, in report order.
pub const KINDS: [&str; 7] =
    ["product", "recursion_iterates", "recursion_jacobians", "solve", "closed_form", "fwd_rev", "jacobians_end_to_end"];

/// The ratios of every kind on one case (same order as [`KINDS`]; a kind that does not
/// apply to the case has no samples).
pub fn ratios(case: &Case, cfg: &Config) -> Vec<Ratios> {
    vec![
        product(case, cfg),
        iterates(case, cfg),
        jacobians(case, cfg),
        solve(case, cfg),
        closed_form(case, cfg),
        fwd_rev(case, cfg),
        jacobians_end_to_end(case, cfg),
    ]
}

/// Per-kind statistics of one case.
pub fn calibrate(case: &Case, cfg: &Config) -> Vec<KindStats> {
    ratios(case, cfg).iter().zip(KINDS).filter_map(|(r, k)| r.stats(k)).collect()
}

/// The steps sampled along a run of `k` steps: every step up to 20, then every 10th.
fn sampled(k: usize) -> impl Iterator<Item = usize> {
    (0..k).filter(move |&j| j < 20 || j % 10 == 0 || j + 1 == k)
}

fn product(case: &Case, cfg: &Config) -> Ratios {
    let (lin, run, d) = (case.lin(), case.run(), case.dim());
    let mut r = Ratios::default();
    for j in sampled(case.k) {
        let (b, c, x) = (lin.b(j), lin.c(j), &run.fwd[j]);
        let computed = b * x + c;
        let exact = DdMatrix::left_mul(b, &DdMatrix::from_f64(x)).add_f64(c);
        let scale = spectral_norm(b) * spectral_norm(x) + spectral_norm(c);
        r.push(cfg.tol.product(d, scale), exact.distance(&computed), spectral_norm(&computed));
    }
    r
}

fn jacobians(case: &Case, cfg: &Config) -> Ratios {
    let (lin, run, d, s, rho) = (case.lin(), case.run(), case.dim(), case.j_scale(), case.rho_or_one());
    let mut r = Ratios::default();
    let fwd_dd = reference::late_start_jacobians_dd(lin, 0, case.k, &case.inst.dx0);
    let rev_dd = reference::truncated_jacobians_dd(lin, case.k, 0);
    for (k, ((fd, f), (rd, rv))) in fwd_dd.iter().zip(&run.fwd).zip(rev_dd.ubars.iter().zip(&run.rev)).enumerate() {
        r.push(cfg.tol.recursion(k, d, s, rho), fd.distance(f), spectral_norm(f));
        r.push(cfg.tol.recursion(case.k - k, d, s, rho), rd.distance(rv), spectral_norm(rv));
    }
    r
}

fn fwd_rev(case: &Case, cfg: &Config) -> Ratios {
    let (lin, run, d) = (case.lin(), case.run(), case.dim());
    let growth = case.window_growth();
    let (b, c) = case.jacobian_norms(0..case.k);
    let xdot: Vec<f64> = run.fwd.iter().map(spectral_norm).collect();
    let fwd_dd = reference::late_start_jacobians_dd(lin, 0, case.k, &case.inst.dx0);
    let mut r = Ratios::default();
    for k in crate::claims::rem3::horizons(case.k) {
        let ends = case.truncated_ends(k, 0);
        let (ubars, rd) = (&ends.ubars, &ends.dd);
        let ubar_max = spectral_norm(&ubars[0]).max(xdot[k]);
        let fwd = Sweep { b: &b[..k], c: &c[..k], norms: &xdot[..=k] };
        let rev = Sweep { b: &b[..k], c: &c[..k], norms: &rd.xbar_norms };
        let tol = cfg.tol.fwd_rev(d, growth, fwd, rev, ubar_max);
        let measured = fwd_dd[k].distance(&run.fwd[k]) + rd.ubars[0].distance(&ubars[0]);
        r.push(tol, measured, ubar_max);
    }
    r
}

fn closed_form(case: &Case, cfg: &Config) -> Ratios {
    let c = &case.inst.constants;
    let (rho, gamma, e0) = (c.rho(), c.gamma.value, case.inst.e0());
    let mut r = Ratios::default();
    if !(rho > 0.0 && rho.is_finite() && gamma.is_finite()) {
        return r;
    }
    for k in 0..=case.k {
        let value = rho.powi(k as i32) * e0;
        let exact = TwoFloat::from(rho).powi(k as i32) * e0;
        r.push(cfg.tol.closed_form(value, rho, k as f64), f64::from(exact - value).abs(), value);
        if k > 0 {
            let value = k as f64 * rho.powi(k as i32 - 1) * gamma * e0;
            let exact = TwoFloat::from(rho).powi(k as i32 - 1) * (k as f64) * gamma * e0;
            r.push(cfg.tol.closed_form(value, rho, k as f64), f64::from(exact - value).abs(), value);
        }
    }
    r
}

fn solve(case: &Case, cfg: &Config) -> Ratios {
    let inst = &case.inst;
    let mut r = Ratios::default();
    if inst.map.capabilities().time_varying {
        return r;
    }
    let b = inst.map.d_x(inst.x_star.as_view());
    let c = inst.map.d_u(inst.x_star.as_view());
    let Some(x) = reference::solve_i_minus(&b, &DdMatrix::from_f64(&c)) else { return r };
    let computed = &inst.dx_star;
    let tol = cfg.tol.solve(case.dim(), case.implicit_cond(), case.j_scale());
    r.push(tol, x.distance(computed), spectral_norm(computed));
    r
}

/// The ridge data `(AᵀA, Aᵀb, λ)` of a ridge spec, redrawn from its seed exactly as
/// [`crate::spec::Spec::build`] draws it (the same `f64` operations, so the same bits).
fn ridge_data(case: &Case) -> Option<(DMatrix<f64>, DVector<f64>, f64)> {
    let spec = case.spec?;
    if !matches!(spec.family, Family::Ridge { .. }) || !spec.norm.is_euclidean() {
        return None;
    }
    let mut rng = draw::rng(spec.seed);
    let (a, b) = spec.data.draw(spec.m, spec.n, &mut rng).ok()?;
    Some((a.transpose() * &a, a.transpose() * &b, spec.lambda))
}

/// `x_k` of (4) in double-double: ridge ([`ridge_iterates`]) or a non-quadratic family
/// ([`smooth_iterates`]), gradient descent and heavy-ball in the Euclidean norm.
fn iterates(case: &Case, cfg: &Config) -> Ratios {
    match case.spec.map(|s| s.family) {
        Some(Family::Ridge { .. }) => ridge_iterates(case, cfg),
        Some(Family::ElasticNet { l1, .. }) => proximal_iterates(case, cfg, l1),
        Some(Family::Layer { param, rho_w }) => layer_iterates(case, cfg, param, rho_w),
        _ => smooth_iterates(case, cfg).map(|(r, _)| r).unwrap_or_default(),
    }
}

/// `x_k` of (4) in double-double for ridge with gradient descent or heavy-ball (Euclidean
/// norm): the map's own formula, `x + a(AᵀA x) − a Aᵀb + (aλ) x` with `a = −α` (and
/// `+ β x − β x_prev` for heavy-ball), on its `f64` coefficients taken as exact.
fn ridge_iterates(case: &Case, cfg: &Config) -> Ratios {
    let mut r = Ratios::default();
    let Some(spec) = case.spec else { return r };
    let beta = match spec.method {
        Method::GradientDescent => None,
        Method::HeavyBall { beta } => Some(beta),
        Method::Chebyshev | Method::Nesterov | Method::NesterovConvex | Method::Picard => return r,
        Method::ProxGd { .. } | Method::Fista { .. } => return r,
    };
    let Some((ata, atb, lambda)) = ridge_data(case) else { return r };
    let (alpha, _) = case.inst.map.capabilities().step_parameters;
    let (a, al) = (-alpha, -alpha * lambda);
    let n = ata.nrows();
    let traj = &case.run().traj;
    let dd = |v: DVector<f64>| -> Vec<TwoFloat> { v.iter().map(|&x| TwoFloat::from(x)).collect() };
    let x0 = traj.x(0).into_owned();
    let mut x = dd(x0.rows(0, n).into_owned());
    let mut prev = if beta.is_some() { dd(x0.rows(n, n).into_owned()) } else { x.clone() };
    let (d, s, rho) = (case.dim(), case.step_scale(), case.rho_or_one());
    for k in 1..=case.k {
        let next: Vec<TwoFloat> = (0..n)
            .map(|i| {
                let h: TwoFloat = (0..n).fold(TwoFloat::from(0.0), |acc, j| acc + x[j] * ata[(i, j)]);
                x[i] + h * a - TwoFloat::new_mul(a, atb[i]) + x[i] * al
            })
            .collect();
        let computed = traj.x(k);
        let err = advance(&mut x, &mut prev, next, beta, |i| computed[i]);
        r.push(cfg.tol.recursion(k, d, s, rho), err, computed.norm());
    }
    r
}

/// `x_k` of proximal gradient and FISTA on the elastic net in double-double: the maps' own
/// formula (`src/map/proximal.rs`), `y = (1 + β)x − βx₋` (FISTA; `y = x` for prox-gd),
/// `z = y + a(AᵀA y) − a Aᵀb + (aλ₂) y` with `a = −α`, then the soft threshold at the `f64`
/// product `αλ₁` (continuous and 1-Lipschitz, so a branch taken differently near a kink
/// moves the value by no more than the difference of the `z`), on the `f64` coefficients
/// taken as exact. From the run's own `x_0` (also for a restart at identification).
fn proximal_iterates(case: &Case, cfg: &Config, l1_fraction: f64) -> Ratios {
    let mut r = Ratios::default();
    let Some(spec) = case.spec else { return r };
    let mut rng = draw::rng(spec.seed);
    let Ok((a_mat, b)) = spec.data.draw(spec.m, spec.n, &mut rng) else { return r };
    let (ata, atb) = (a_mat.transpose() * &a_mat, a_mat.transpose() * &b);
    let (alpha, beta) = case.inst.map.capabilities().step_parameters;
    let fista = matches!(spec.method, Method::Fista { .. });
    let t = TwoFloat::from(alpha * (l1_fraction * atb.amax()));
    let (a, al) = (-alpha, -alpha * spec.lambda);
    let n = ata.nrows();
    let traj = &case.run().traj;
    let x0 = traj.x(0).into_owned();
    let mut x: Vec<TwoFloat> = x0.rows(0, n).iter().map(|&v| TwoFloat::from(v)).collect();
    let mut prev: Vec<TwoFloat> =
        if fista { x0.rows(n, n).iter().map(|&v| TwoFloat::from(v)).collect() } else { x.clone() };
    let (d, s, rho) = (case.dim(), case.step_scale(), case.rho_or_one());
    for k in 1..=case.k {
        let y: Vec<TwoFloat> =
            if fista { (0..n).map(|i| x[i] * (1.0 + beta) - prev[i] * beta).collect() } else { x.clone() };
        let next: Vec<TwoFloat> = (0..n)
            .map(|i| {
                let h: TwoFloat = (0..n).fold(TwoFloat::from(0.0), |acc, j| acc + y[j] * ata[(i, j)]);
                let z = y[i] + h * a - TwoFloat::new_mul(a, atb[i]) + y[i] * al;
                if z > t {
                    z - t
                } else if z < -t {
                    z + t
                } else {
                    TwoFloat::from(0.0)
                }
            })
            .collect();
        prev = std::mem::replace(&mut x, next);
        let computed = traj.x(k);
        let err = (0..n).map(|i| f64::from(x[i] - computed[i]).powi(2)).sum::<f64>().sqrt();
        r.push(cfg.tol.recursion(k, d, s, rho), err, computed.norm());
    }
    r
}

/// `x_k` of the random contraction layer in double-double: the map's own formula
/// (`src/map/layer.rs`), `z = Wx + Uv + b` with the `f64` coefficients of the layer redrawn
/// from the spec's seed (as [`crate::spec::Spec::build`] draws them) taken as exact, then
/// [`reference::tanh_dd`], from the run's `x_0`.
fn layer_iterates(case: &Case, cfg: &Config, param: crate::map::layer::LayerParam, rho_w: f64) -> Ratios {
    let mut r = Ratios::default();
    let Some(spec) = case.spec else { return r };
    let mut rng = draw::rng(spec.seed);
    let Ok(layer) = crate::map::layer::Layer::draw(spec.n, spec.m, rho_w, param, &mut rng) else { return r };
    let n = spec.n;
    // The constant part U v + b of z, in double-double.
    let offset: Vec<TwoFloat> = (0..n)
        .map(|i| {
            (0..layer.input.len()).fold(TwoFloat::from(layer.bias[i]), |acc, j| {
                acc + TwoFloat::new_mul(layer.u_mat[(i, j)], layer.input[j])
            })
        })
        .collect();
    let traj = &case.run().traj;
    let mut x: Vec<TwoFloat> = traj.x(0).iter().map(|&v| TwoFloat::from(v)).collect();
    let (d, s, rho) = (case.dim(), case.step_scale(), case.rho_or_one());
    for k in 1..=case.k {
        x = (0..n).map(|i| reference::tanh_dd((0..n).fold(offset[i], |acc, j| acc + x[j] * layer.w[(i, j)]))).collect();
        let computed = traj.x(k);
        let err = (0..n).map(|i| f64::from(x[i] - computed[i]).powi(2)).sum::<f64>().sqrt();
        r.push(cfg.tol.recursion(k, d, s, rho), err, computed.norm());
    }
    r
}

/// Completes one double-double step of (4) from its gradient part `next` (heavy-ball:
/// `+ βx − βx₋`), advances `(x, prev)`, and returns the distance of the new `x` to the
/// `f64` iterate `computed`.
fn advance(
    x: &mut Vec<TwoFloat>,
    prev: &mut Vec<TwoFloat>,
    mut next: Vec<TwoFloat>,
    beta: Option<f64>,
    computed: impl Fn(usize) -> f64,
) -> f64 {
    if let Some(beta) = beta {
        for i in 0..next.len() {
            next[i] += x[i] * beta - prev[i] * beta;
        }
    }
    *prev = std::mem::replace(x, next);
    (0..x.len()).map(|i| f64::from(x[i] - computed(i)).powi(2)).sum::<f64>().sqrt()
}

/// The data of a non-quadratic spec, redrawn from its seed exactly as
/// [`crate::spec::Spec::build`] draws it: `A`, the labels or targets, the sample weights
/// (logistic) and `λ`.
struct SmoothData {
    a: DMatrix<f64>,
    b: DVector<f64>,
    w: DVector<f64>,
    lambda: f64,
    kind: SmoothKind,
}

#[derive(Clone, Copy)]
enum SmoothKind {
    Logistic(LogisticParam),
    Robust(Loss),
}

impl SmoothData {
    fn of(case: &Case) -> Option<Self> {
        let spec = case.spec?;
        if !spec.norm.is_euclidean() {
            return None;
        }
        let mut rng = draw::rng(spec.seed);
        let (a, b) = spec.data.draw(spec.m, spec.n, &mut rng).ok()?;
        let _x0_direction = draw::normal_vector(spec.n, 1.0, &mut rng);
        let (b, w, kind) = match spec.family {
            Family::Logistic { param } => {
                (Logistic::labels(&b), draw::sample_weights(spec.m, &mut rng), SmoothKind::Logistic(param))
            }
            Family::PseudoHuber { delta, .. } => {
                (b, DVector::from_element(spec.m, 1.0), SmoothKind::Robust(Loss::PseudoHuber { delta }))
            }
            Family::Huber { delta, .. } => {
                (b, DVector::from_element(spec.m, 1.0), SmoothKind::Robust(Loss::Huber { delta }))
            }
            Family::Ridge { .. } | Family::Layer { .. } | Family::ElasticNet { .. } => return None,
        };
        Some(SmoothData { a, b, w, lambda: spec.lambda, kind })
    }

    /// `t = Ax` (logistic: `y ⊙ Ax`; robust: `Ax − b`) in double-double.
    fn inner(&self, x: &[TwoFloat]) -> Vec<TwoFloat> {
        (0..self.a.nrows())
            .map(|i| {
                let ax = (0..x.len()).fold(TwoFloat::from(0.0), |acc, j| acc + x[j] * self.a[(i, j)]);
                match self.kind {
                    SmoothKind::Logistic(_) => ax * self.b[i],
                    SmoothKind::Robust(_) => ax - self.b[i],
                }
            })
            .collect()
    }

    /// The loss derivative `r_i` with `∇f = Aᵀr + λx`, in double-double.
    fn d1(&self, i: usize, t: TwoFloat) -> TwoFloat {
        let one = TwoFloat::from(1.0);
        match self.kind {
            // w_i y_i ℓ'(t), ℓ'(t) = −1/(1 + e^t).
            SmoothKind::Logistic(_) => -(one / (one + reference::exp_dd(t))) * (self.w[i] * self.b[i]),
            SmoothKind::Robust(Loss::PseudoHuber { delta }) => {
                let q = t / delta;
                t / (one + q * q).sqrt()
            }
            SmoothKind::Robust(Loss::Huber { delta }) => {
                if t > TwoFloat::from(delta) {
                    TwoFloat::from(delta)
                } else if t < TwoFloat::from(-delta) {
                    TwoFloat::from(-delta)
                } else {
                    t
                }
            }
        }
    }

    /// The curvature weight `w_i ℓ''(t)` of `∇²f = Aᵀ diag(w ℓ''(t)) A + λI` (logistic).
    fn d2(&self, i: usize, t: TwoFloat) -> TwoFloat {
        let e = reference::exp_dd(-t.abs());
        let one = TwoFloat::from(1.0);
        e / ((one + e) * (one + e)) * self.w[i]
    }

    /// `Aᵀ v` in double-double.
    fn tr_mul(&self, v: &[TwoFloat]) -> Vec<TwoFloat> {
        (0..self.a.ncols())
            .map(|j| (0..self.a.nrows()).fold(TwoFloat::from(0.0), |acc, i| acc + v[i] * self.a[(i, j)]))
            .collect()
    }
}

/// The iterates `x_k` of a non-quadratic gradient-descent or heavy-ball case in
/// double-double (the map's own formula, `x + a Aᵀr(x) + (aλ)x` with `a = −α`, plus
/// `βx − βx₋` for heavy-ball, on its `f64` data taken as exact), against the `f64` run;
/// returns the ratios and the double-double iterates (for [`jacobians_end_to_end`]).
fn smooth_iterates(case: &Case, cfg: &Config) -> Option<(Ratios, Vec<Vec<TwoFloat>>)> {
    let data = SmoothData::of(case)?;
    let beta = match case.spec?.method {
        Method::GradientDescent => None,
        Method::HeavyBall { beta } => Some(beta),
        Method::Chebyshev | Method::Nesterov | Method::NesterovConvex | Method::Picard => return None,
        Method::ProxGd { .. } | Method::Fista { .. } => return None,
    };
    let (alpha, _) = case.inst.map.capabilities().step_parameters;
    let (a, al) = (-alpha, -alpha * data.lambda);
    let n = data.a.ncols();
    let traj = &case.run().traj;
    let x0 = traj.x(0);
    let mut x: Vec<TwoFloat> = x0.rows(0, n).iter().map(|&v| TwoFloat::from(v)).collect();
    let mut prev: Vec<TwoFloat> =
        if beta.is_some() { x0.rows(n, n).iter().map(|&v| TwoFloat::from(v)).collect() } else { x.clone() };
    let (d, s, rho) = (case.dim(), case.step_scale(), case.rho_or_one());
    let mut r = Ratios::default();
    let mut path = vec![x.clone()];
    for k in 1..=case.k {
        let t = data.inner(&x);
        let resid: Vec<TwoFloat> = t.iter().enumerate().map(|(i, &ti)| data.d1(i, ti)).collect();
        let g = data.tr_mul(&resid);
        let next: Vec<TwoFloat> = (0..n).map(|i| x[i] + g[i] * a + x[i] * al).collect();
        let computed = traj.x(k);
        let err = advance(&mut x, &mut prev, next, beta, |i| computed[i]);
        r.push(cfg.tol.recursion(k, d, s, rho), err, computed.norm());
        path.push(x.clone());
    }
    Some((r, path))
}

/// End to end, on logistic regression with gradient descent (weight or sample-weight
/// parameter): `Ẋ_k` of (9) in double-double *along the double-double iterates* (so
/// `B_j = I − α∇²f(x_j)`, `C_j = −αD_u∇f(x_j)` at the exact `x_j`) against the `f64` run,
/// which evaluates them at its own rounded iterates; bounded by
/// [`Case::tol_jacobian_recursion`] (the recursion plus the iterates' error carried
/// through `M_x`, `M_u`). This is the path of the false violation of issue #12.
fn jacobians_end_to_end(case: &Case, cfg: &Config) -> Ratios {
    let mut r = Ratios::default();
    let Some(data) = SmoothData::of(case) else { return r };
    let param = match (data.kind, case.spec.map(|s| s.method)) {
        (
            SmoothKind::Logistic(p @ (LogisticParam::Weight | LogisticParam::SampleWeights)),
            Some(Method::GradientDescent),
        ) => p,
        _ => return r,
    };
    let Some((_, path)) = smooth_iterates(case, cfg) else { return r };
    let (alpha, _) = case.inst.map.capabilities().step_parameters;
    let (a, al) = (-alpha, -alpha * data.lambda);
    let (n, p) = (data.a.ncols(), case.inst.map.dim_u());
    let run = case.run();
    let mut xdot: Vec<Vec<TwoFloat>> =
        (0..p).map(|c| (0..n).map(|i| TwoFloat::from(case.inst.dx0[(i, c)])).collect()).collect();
    for k in 1..=case.k {
        let x = &path[k - 1];
        let t = data.inner(x);
        for (c, col) in xdot.iter_mut().enumerate() {
            // ∇²f v = Aᵀ diag(w ℓ''(t)) A v + λv.
            let av: Vec<TwoFloat> = (0..data.a.nrows())
                .map(|i| (0..n).fold(TwoFloat::from(0.0), |acc, j| acc + col[j] * data.a[(i, j)]) * data.d2(i, t[i]))
                .collect();
            let hv = data.tr_mul(&av);
            // D_u∇f e_c: x (weight), or a_c y_c ℓ'(t_c) (sample weight c).
            let mixed: Vec<TwoFloat> = match param {
                LogisticParam::Weight => x.clone(),
                _ => {
                    let one = TwoFloat::from(1.0);
                    let d1 = -(one / (one + reference::exp_dd(t[c]))) * data.b[c];
                    (0..n).map(|j| d1 * data.a[(c, j)]).collect()
                }
            };
            *col = (0..n).map(|i| col[i] + hv[i] * a + col[i] * al + mixed[i] * a).collect();
        }
        let computed = &run.fwd[k];
        let err = (0..n)
            .flat_map(|i| (0..p).map(move |c| (i, c)))
            .map(|(i, c)| f64::from(xdot[c][i] - computed[(i, c)]).powi(2))
            .sum::<f64>()
            .sqrt();
        r.push(case.tol_jacobian_recursion(cfg, k), err, spectral_norm(computed));
    }
    r
}
