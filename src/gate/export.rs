//! `gate export`: the instances an outside implementation runs, as `.npz` files and a
//! `manifest.json` (format in the [module docs](super)).
//!
//! The default set covers gradient descent and heavy-ball on ridge (ridge weight, targets,
//! `(A, b)`) and pseudo-Huber (weight, targets), each untruncated (`T = 0`) and truncated
//! (`T = 0.2K`, `T' = T + ωT`, `K' = K + ωT`, the budget of Section 4.3), plus two
//! warm-started instances (`x_0 = x*`).

use super::npz::{self, Npz};
use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::map::layer::{Layer, LayerParam};
use crate::map::nesterov::Schedule;
use crate::map::{Chebyshev, FixedPointMap, GradientDescent, HeavyBall, Nesterov};
use crate::problem::draw;
use crate::problem::ridge::{Ridge, RidgeParam};
use crate::problem::robust::{Loss, Robust, RobustParam};
use crate::spec::{Data, DynInstance, Family, Method, Norm, Spec, StepRule};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of `manifest.json`.
pub const MANIFEST_VERSION: u32 = 1;

/// The shapes a trace must have.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TraceShapes {
    /// `x`: (K'+1, n).
    pub x: [usize; 2],
    /// `jvp`: (K'−T'+1, n).
    pub jvp: [usize; 2],
    /// `vjp`: (K'−T'+1, p).
    pub vjp: [usize; 2],
    /// `jvp_final`: (n,).
    pub jvp_final: [usize; 1],
    /// `vjp_final`: (p,).
    pub vjp_final: [usize; 1],
}

/// One instance of the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// Identifier (file stem).
    pub id: String,
    /// The instance file.
    pub file: String,
    /// `ridge` or `pseudo_huber`.
    pub family: String,
    /// `weight`, `targets` or `data`.
    pub param: String,
    /// `gd` or `heavy_ball`.
    pub method: String,
    /// Rows of `A`.
    #[serde(rename = "M")]
    pub m: usize,
    /// Columns of `A`.
    #[serde(rename = "N")]
    pub n_cols: usize,
    /// State dimension.
    pub n: usize,
    /// Parameter dimension.
    pub p: usize,
    /// Horizon `K`.
    #[serde(rename = "K")]
    pub k: usize,
    /// Truncation `T`.
    #[serde(rename = "T")]
    pub t: usize,
    /// Late-start index `T' = T + ωT`.
    #[serde(rename = "T_prime")]
    pub t_prime: usize,
    /// Algorithm iterations `K' = K + ωT`.
    #[serde(rename = "K_prime")]
    pub k_prime: usize,
    /// Cost factor `ω`.
    pub omega: usize,
    /// The trace it must produce.
    pub trace: TraceSpec,
}

/// The trace file of an instance and its array shapes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TraceSpec {
    /// File name in the traces directory.
    pub file: String,
    /// Shapes.
    pub arrays: TraceShapes,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`].
    pub schema_version: u32,
    /// Where the format is documented.
    pub format: String,
    /// The instances.
    pub instances: Vec<Entry>,
}

/// Horizon of the exported instances of the default (small) size class.
pub const K: usize = 30;

/// The size classes of `gate export`: the default set is small, so that `gate check` on it
/// takes well under a second; the large class tests a client at the sizes of appendix C
/// and beyond, where rounding and speed matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Size {
    /// `m = 6`, `n = 3`, `K = 30`.
    #[default]
    Small,
    /// `m = 60`, `n = 50`, `K = 500` (late starts up to `T' = 400`, `K' = 800`).
    Large,
}

impl Size {
    /// `(m, n, K)`.
    pub fn dims(self) -> (usize, usize, usize) {
        match self {
            Size::Small => (6, 3, K),
            Size::Large => (60, 50, 500),
        }
    }
}
/// Cost factor `ω`.
pub const OMEGA: usize = 3;

/// The horizon and the cost factor `(K, ω)` of an export.
pub type Budget = (usize, usize);

/// The default instance set (small): specs and whether each is truncated.
pub fn default_set(seed: u64) -> Vec<(Spec, bool)> {
    sized_set(seed, Size::Small)
}

/// The default instance set in a size class: specs and whether each is truncated.
pub fn sized_set(seed: u64, size: Size) -> Vec<(Spec, bool)> {
    let (m, n, _) = size.dims();
    let families = [
        Family::Ridge { param: RidgeParam::Weight },
        Family::Ridge { param: RidgeParam::Targets },
        Family::Ridge { param: RidgeParam::Data },
        Family::PseudoHuber { param: RobustParam::Weight, delta: 0.5 },
        Family::PseudoHuber { param: RobustParam::Targets, delta: 0.5 },
    ];
    let mut out = Vec::new();
    for (i, family) in families.into_iter().enumerate() {
        for (j, method) in [Method::GradientDescent, Method::HeavyBall { beta: 0.5 }].into_iter().enumerate() {
            for truncated in [false, true] {
                let s = crate::spec::instance_seed(seed, i * 2 + j, usize::from(truncated));
                let step = if matches!(method, Method::HeavyBall { .. }) { StepRule::InvL } else { StepRule::Optimal };
                let spec = instance_spec(family, method, step, (m, n), Some(3.0), s);
                out.push((spec, truncated));
            }
        }
    }
    // Warm starts (x_0 = x*, as in bilevel optimisation with warm starts): the iterate has
    // converged from the start, which exposes a derivative that freezes once it has.
    for (i, family) in [families[2], families[4]].into_iter().enumerate() {
        let seed = crate::spec::instance_seed(seed, 100 + i, 0);
        let spec = instance_spec(family, Method::GradientDescent, StepRule::Optimal, (m, n), Some(0.0), seed);
        out.push((spec, false));
    }
    out
}

/// The random contraction layers of `gate export --layers` (issue #16; no objective),
/// appended after the default (and accelerated) set: `A(x, u) = tanh(Wx + Uv + b)` with
/// `‖W‖₂ = 0.9`, the parameter the input `v`, the bias `b` or the weights `U`, each
/// untruncated and truncated, `x_0 = x* + 3g`. The manifest's `M` is the input length (6;
/// 10 in the large size class, where the weights' `p = nm` would otherwise be 3000) and `N`
/// the state dimension. Not in the default set, whose export stays as it was.
pub fn layers_set(seed: u64, size: Size) -> Vec<(Spec, bool)> {
    let (m, n, _) = size.dims();
    let m = m.min(10);
    let mut out = Vec::new();
    for (i, param) in [LayerParam::Input, LayerParam::Bias, LayerParam::Weights].into_iter().enumerate() {
        for truncated in [false, true] {
            let spec = instance_spec(
                Family::Layer { param, rho_w: 0.9 },
                Method::Picard,
                StepRule::Optimal,
                (m, n),
                Some(3.0),
                crate::spec::instance_seed(seed, 300 + i, usize::from(truncated)),
            );
            out.push((spec, truncated));
        }
    }
    out
}

/// The accelerated instances of `gate export --accelerated`, appended to the default set:
/// the Chebyshev semi-iterative method (time-varying weights `ω_k`), Nesterov's method
/// with the constant momentum of the strongly convex case, and with the convex schedule
/// `β_k = k/(k + 3)` (time-varying), each on ridge (weight) and pseudo-Huber (targets),
/// untruncated and truncated; Chebyshev tuned to the curvature interval `[μ, L]`, Nesterov
/// with `α = 1/L`. Not in the default set, whose export stays as it was.
pub fn accelerated_set(seed: u64, size: Size) -> Vec<(Spec, bool)> {
    let (m, n, _) = size.dims();
    let families =
        [Family::Ridge { param: RidgeParam::Weight }, Family::PseudoHuber { param: RobustParam::Targets, delta: 0.5 }];
    let mut out = Vec::new();
    for (j, method) in [Method::Chebyshev, Method::Nesterov, Method::NesterovConvex].into_iter().enumerate() {
        for (i, family) in families.into_iter().enumerate() {
            for truncated in [false, true] {
                let s = crate::spec::instance_seed(seed, 200 + 2 * j + i, usize::from(truncated));
                // Chebyshev is tuned to [μ, L] with h = 2/(L + μ); Nesterov's method needs
                // α ≤ 1/L (with 2/(L + μ) it diverges).
                let step = if method == Method::Chebyshev { StepRule::Optimal } else { StepRule::InvL };
                let spec = instance_spec(family, method, step, (m, n), Some(3.0), s);
                out.push((spec, truncated));
            }
        }
    }
    out
}

/// The proximal instances of `gate export --proximal` (beyond the paper; issue #16, item 4),
/// appended to the default set: proximal gradient and FISTA (constant momentum) on the
/// elastic net with `λ₁ = 0.3‖Aᵀb‖_∞` as parameter and with the targets as parameter,
/// untruncated and truncated, `α = 1/L`, from `x_0 = x* + 3g` (the support changes along
/// the run: the a.e. derivative of the soft threshold is what the traces must match). The
/// files carry the absolute `l1`. Not in the default set, whose export stays as it was.
pub fn proximal_set(seed: u64, size: Size) -> Vec<(Spec, bool)> {
    use crate::map::proximal::ElasticNetParam;
    use crate::spec::Restart;
    let (m, n, _) = size.dims();
    let mut out = Vec::new();
    let methods = [Method::ProxGd { restart: Restart::X0 }, Method::Fista { restart: Restart::X0 }];
    for (j, method) in methods.into_iter().enumerate() {
        for (i, param) in [ElasticNetParam::L1, ElasticNetParam::Targets].into_iter().enumerate() {
            for truncated in [false, true] {
                let spec = instance_spec(
                    Family::ElasticNet { param, l1: 0.3 },
                    method,
                    StepRule::InvL,
                    (m, n),
                    Some(3.0),
                    crate::spec::instance_seed(seed, 300 + 2 * j + i, usize::from(truncated)),
                );
                out.push((spec, truncated));
            }
        }
    }
    out
}

/// A spec of the exported sets: the paper's data (U(0,1)/N(0,1)), `λ = 0.1`, the Euclidean
/// norm; the rest as given.
fn instance_spec(
    family: Family,
    method: Method,
    step: StepRule,
    (m, n): (usize, usize),
    x0_sigma: Option<f64>,
    seed: u64,
) -> Spec {
    Spec { family, method, m, n, data: Data::Paper, lambda: 0.1, step, x0_sigma, seed, norm: Norm::Euclidean }
}

fn names(spec: &Spec) -> (String, String, String) {
    let (family, param) = match spec.family {
        Family::Ridge { param } => ("ridge", format!("{param:?}").to_lowercase()),
        Family::PseudoHuber { param, .. } => ("pseudo_huber", format!("{param:?}").to_lowercase()),
        Family::Huber { param, .. } => ("huber", format!("{param:?}").to_lowercase()),
        Family::Logistic { param } => ("logistic", format!("{param:?}").to_lowercase()),
        Family::Layer { param, .. } => ("layer", param.name().to_string()),
        Family::ElasticNet { param, .. } => ("elastic_net", format!("{param:?}").to_lowercase()),
    };
    let method = match spec.method {
        Method::HeavyBall { .. } => "heavy_ball",
        Method::Chebyshev => "chebyshev",
        Method::GradientDescent => "gd",
        Method::Nesterov => "nesterov",
        Method::NesterovConvex => "nesterov_convex",
        Method::Picard => "picard",
        Method::ProxGd { .. } => "prox_gd",
        Method::Fista { .. } => "fista",
    };
    (family.to_string(), param, method.to_string())
}

/// The instances `gate export --scenario` writes for a scenario, with their horizon and cost
/// factor: each spec of the scenario's grid (quick, one instance per point) untruncated and
/// truncated. The budget is the scenario's where it sets it:
///
/// - the horizon `K` is its `k_max`, else `default_k` (that of `--size`);
/// - the truncations are `T = ⌊f·K⌋` for each of its `t_fractions` (`T = 0` is the
///   untruncated instance, repeated values once), else `T = round(K/5)`;
/// - `ω` is its `omega`, else the gate's [`OMEGA`]; the indices `T' = T + ωT`, `K' = K + ωT`
///   of the format are integers, so a fractional `omega` is refused (exit 2, at its line and
///   key) rather than rounded in silence.
pub fn scenario_budget(sc: &crate::scenario::Scenario, default_k: usize) -> Result<(Vec<(Spec, usize)>, Budget)> {
    let omega = match &sc.file.omega {
        None => OMEGA,
        Some(w) => match crate::bounds::index_of(*w.get_ref()).filter(|&i| i as f64 == *w.get_ref()) {
            Some(w) => w,
            None => {
                return Err(crate::scenario::at(
                    &sc.path,
                    &sc.text,
                    "omega",
                    w,
                    format!(
                        "omega = {} is not exported: the gate's instances have the integer indices T' = T + ωT, \
                         K' = K + ωT; use an integer omega",
                        w.get_ref()
                    ),
                ));
            }
        },
    };
    let k = sc.file.k_max.as_ref().map_or(default_k, |k| *k.get_ref());
    let mut ts: Vec<usize> = match &sc.file.t_fractions {
        Some(f) => f.get_ref().iter().map(|f| (f * k as f64).floor() as usize).filter(|&t| t > 0).collect(),
        None => vec![(k as f64 * 0.2).round() as usize],
    };
    ts.sort_unstable();
    ts.dedup();
    let items = sc
        .specs(None, true)
        .into_iter()
        .flat_map(|(_, s)| std::iter::once((s, 0)).chain(ts.iter().map(move |&t| (s, t))))
        .collect();
    Ok((items, (k, omega)))
}

/// Refuses a set with an instance `gate check` could not judge: the classic Huber family
/// (its Hessian jumps, so the derivatives of the unrolled iteration are not those of a
/// smooth map) and logistic regression (the instance format carries no labels or sample
/// weights). Exit 2 at export, rather than traces nobody can check.
pub fn check_exportable<T>(set: &[(Spec, T)]) -> Result<()> {
    for (s, _) in set {
        let why = match s.family {
            Family::Huber { .. } => "the classic Huber family is not exported",
            Family::Logistic { .. } => {
                "logistic regression is not exported yet (the instance format has no labels and sample weights)"
            }
            _ => continue,
        };
        return Err(Error::Input {
            location: "gate export".to_string(),
            message: format!("{why} ({})", serde_json::to_string(s).unwrap_or_default()),
        });
    }
    Ok(())
}

/// Writes the instances of `set` to `out` with the horizon [`K`] and returns the manifest.
pub fn export(set: &[(Spec, bool)], out: &Path) -> Result<Manifest> {
    export_with_horizon(set, out, K)
}

/// Writes the instances of `set` to `out` with the horizon `k` (`T = 0.2k` for a truncated
/// instance, the gate's `ω` = [`OMEGA`]) and returns the manifest.
pub fn export_with_horizon(set: &[(Spec, bool)], out: &Path, k: usize) -> Result<Manifest> {
    let t = |truncated: bool| if truncated { (k as f64 * 0.2).round() as usize } else { 0 };
    let items: Vec<(Spec, usize)> = set.iter().map(|&(spec, truncated)| (spec, t(truncated))).collect();
    export_budgets(&items, out, (k, OMEGA))
}

/// Writes the instances `items` (a spec and its truncation `T`, `0` for an untruncated
/// instance) to `out` with the horizon `k` and the cost factor `omega`: each instance runs to
/// `K' = K + ωT` and its late starts begin at `T' = T + ωT` (Section 4.3's budget). Returns
/// the manifest.
pub fn export_budgets(items: &[(Spec, usize)], out: &Path, (k, omega): Budget) -> Result<Manifest> {
    crate::report::ensure_ours(out, "manifest.json", |t| serde_json::from_str::<Manifest>(t).is_ok())?;
    std::fs::create_dir_all(out).map_err(|e| Error::Io { path: out.display().to_string(), message: e.to_string() })?;
    let mut entries = Vec::new();
    for (i, &(ref spec, t)) in items.iter().enumerate() {
        // Traces are in the original coordinates: an adapted norm only changes how the
        // suite measures errors, not the iteration another implementation runs.
        let spec = &Spec { norm: Norm::Euclidean, ..*spec };
        let inst = spec.build()?;
        let (family, param, method) = names(spec);
        let truncated = t > 0;
        let (n, p) = (inst.map.dim_x(), inst.map.dim_u());
        let (t_prime, k_prime) = (t + omega * t, k + omega * t);
        let warm = if spec.x0_sigma == Some(0.0) { "_warm" } else { "" };
        let id = format!("{i:02}_{method}_{family}_{param}{}{warm}", if truncated { "_truncated" } else { "" });
        let file = format!("{id}.npz");
        let rows = k_prime - t_prime + 1;
        let trace = TraceSpec {
            file: file.clone(),
            arrays: TraceShapes { x: [k_prime + 1, n], jvp: [rows, n], vjp: [rows, p], jvp_final: [n], vjp_final: [p] },
        };
        let mut rng = draw::rng(spec.seed ^ 0x6a7e);
        let (v, w) = (draw::unit_vector(p, &mut rng), draw::unit_vector(n, &mut rng));
        write_instance(&out.join(&file), spec, &inst, &v, &w, (omega, [k, t, t_prime, k_prime]))?;
        entries.push(Entry {
            id,
            file,
            family,
            param,
            method,
            m: spec.m,
            n_cols: spec.n,
            n,
            p,
            k,
            t,
            t_prime,
            k_prime,
            omega,
            trace,
        });
    }
    let manifest = Manifest {
        schema_version: MANIFEST_VERSION,
        format: "see `unrollcheck gate --help` and src/gate/mod.rs".into(),
        instances: entries,
    };
    let json = serde_json::to_string_pretty(&manifest)
        .map_err(|e| Error::Io { path: "manifest.json".into(), message: e.to_string() })?;
    let path = out.join("manifest.json");
    std::fs::write(&path, json).map_err(|e| Error::Io { path: path.display().to_string(), message: e.to_string() })?;
    Ok(manifest)
}

fn write_instance(
    path: &Path,
    spec: &Spec,
    inst: &DynInstance,
    v: &DVector<f64>,
    w: &DVector<f64>,
    (omega, ints): (usize, [usize; 4]),
) -> Result<()> {
    if let Family::Layer { param, rho_w } = spec.family {
        return write_layer_instance(path, spec, (param, rho_w), inst, v, w, (omega, ints));
    }
    let mut rng = draw::rng(spec.seed);
    let (a, b) = spec.data.draw(spec.m, spec.n, &mut rng)?;
    let delta = match spec.family {
        Family::PseudoHuber { delta, .. } | Family::Huber { delta, .. } => delta,
        Family::Ridge { .. } | Family::Logistic { .. } | Family::Layer { .. } | Family::ElasticNet { .. } => 0.0,
    };
    let (alpha, beta) = step_and_momentum(inst);
    let a_rows: Vec<f64> = a.row_iter().flat_map(|r| r.iter().copied().collect::<Vec<_>>()).collect();
    let scalar = |x: f64| (vec![], vec![x]);
    let mut arrays: Vec<(&str, Vec<usize>, Vec<f64>)> = vec![
        ("A", vec![spec.m, spec.n], a_rows),
        ("b", vec![spec.m], b.as_slice().to_vec()),
        ("x0", vec![inst.x0.len()], inst.x0.as_slice().to_vec()),
        ("v", vec![v.len()], v.as_slice().to_vec()),
        ("w", vec![w.len()], w.as_slice().to_vec()),
    ];
    // The elastic net's ℓ₁ weight λ₁ = l1·‖Aᵀb‖_∞ (as Spec::build computes it; only in
    // elastic-net instances).
    if let Family::ElasticNet { l1, .. } = spec.family {
        arrays.push(("l1", vec![], vec![l1 * (a.transpose() * &b).amax()]));
    }
    // The Chebyshev method's interval [μ, L], from which its weights ω_k follow (only in
    // Chebyshev instances: the files of the other methods are as they were).
    if let Some(crate::quadratic::Polynomial::Chebyshev { mu, l }) = inst.map.capabilities().polynomial {
        arrays.push(("mu", vec![], vec![mu]));
        arrays.push(("L", vec![], vec![l]));
    }
    for (name, value) in
        [("lam", spec.lambda), ("delta", delta), ("alpha", alpha), ("beta", beta), ("omega", omega as f64)]
            .into_iter()
            .chain(["K", "T", "T_prime", "K_prime"].into_iter().zip(ints.map(|i| i as f64)))
    {
        let (shape, data) = scalar(value);
        arrays.push((name, shape, data));
    }
    npz::write(path, &arrays)
}

/// A layer instance: `W` (N×N) and `U` (N×M) row by row, `bias` (N), `input` (M), `x0`,
/// `v`, `w`, and the scalars `omega`, `K`, `T`, `T_prime`, `K_prime` (no `A`, `b`, `lam`,
/// `delta`, `alpha`, `beta`: the layer has no objective and no step). The layer is drawn
/// again from the spec's seed, as [`Spec::build`] drew it.
fn write_layer_instance(
    path: &Path,
    spec: &Spec,
    (param, rho_w): (LayerParam, f64),
    inst: &DynInstance,
    v: &DVector<f64>,
    w: &DVector<f64>,
    (omega, ints): (usize, [usize; 4]),
) -> Result<()> {
    let layer = Layer::draw(spec.n, spec.m, rho_w, param, &mut draw::rng(spec.seed))?;
    let rows =
        |m: &DMatrix<f64>| m.row_iter().flat_map(|r| r.iter().copied().collect::<Vec<_>>()).collect::<Vec<f64>>();
    let mut arrays: Vec<(&str, Vec<usize>, Vec<f64>)> = vec![
        ("W", vec![spec.n, spec.n], rows(&layer.w)),
        ("U", vec![spec.n, spec.m], rows(&layer.u_mat)),
        ("bias", vec![spec.n], layer.bias.as_slice().to_vec()),
        ("input", vec![spec.m], layer.input.as_slice().to_vec()),
        ("x0", vec![inst.x0.len()], inst.x0.as_slice().to_vec()),
        ("v", vec![v.len()], v.as_slice().to_vec()),
        ("w", vec![w.len()], w.as_slice().to_vec()),
    ];
    for (name, value) in [("omega", omega as f64)]
        .into_iter()
        .chain(["K", "T", "T_prime", "K_prime"].into_iter().zip(ints.map(|i| i as f64)))
    {
        arrays.push((name, vec![], vec![value]));
    }
    npz::write(path, &arrays)
}

/// The layer of an instance file (`family = "layer"`).
fn rebuild_layer(entry: &Entry, file: &Npz) -> Result<Box<dyn FixedPointMap>> {
    let (m, n) = (entry.m, entry.n_cols);
    let param = match entry.param.as_str() {
        "input" => LayerParam::Input,
        "bias" => LayerParam::Bias,
        "weights" => LayerParam::Weights,
        other => return Err(bad_entry(entry, format!("unknown layer parameter `{other}`"))),
    };
    if entry.method != "picard" {
        return Err(bad_entry(entry, format!("the layer takes the method `picard`, not `{}`", entry.method)));
    }
    let w = DMatrix::from_row_slice(n, n, &file.get("W", &[n, n])?.data);
    let u = DMatrix::from_row_slice(n, m, &file.get("U", &[n, m])?.data);
    let bias = DVector::from_column_slice(&file.get("bias", &[n])?.data);
    let input = DVector::from_column_slice(&file.get("input", &[m])?.data);
    let map: Box<dyn FixedPointMap> = Box::new(Layer::new(w, u, bias, input, param)?);
    if map.dim_u() != entry.p || map.dim_x() != entry.n {
        return Err(bad_entry(entry, format!("n = {}, p = {} do not match the data", entry.n, entry.p)));
    }
    Ok(map)
}

/// The step size and momentum of a built instance, read back from its map's Jacobian:
/// `B = I − αH` for gradient descent; heavy-ball's top-right block is `−βI`.
fn step_and_momentum(inst: &DynInstance) -> (f64, f64) {
    inst.map.capabilities().step_parameters
}

/// The map and initial point described by an instance file (what the outside
/// implementation saw), rebuilt independently of any seed.
pub fn rebuild(entry: &Entry, file: &Npz) -> Result<(DynInstance, DVector<f64>, DVector<f64>)> {
    let scalar = |name: &str| file.get(name, &[]).map(|a| a.scalar());
    let map = if entry.family == "layer" {
        rebuild_layer(entry, file)?
    } else {
        rebuild_map(entry, file, scalar("alpha")?, scalar("beta")?)?
    };
    let x0 = DVector::from_column_slice(&file.get("x0", &[entry.n])?.data);
    let v = DVector::from_column_slice(&file.get("v", &[entry.p])?.data);
    let w = DVector::from_column_slice(&file.get("w", &[entry.n])?.data);
    check_indices(entry, file)?;
    Ok((Instance::new(map, x0)?, v, w))
}

/// The map of an instance file with the step size `alpha` and momentum `beta` given here
/// instead of the file's (what an implementation with a wrong step size iterates; `gate
/// check` fits them when it confirms a cause).
pub fn rebuild_map(entry: &Entry, file: &Npz, alpha: f64, beta: f64) -> Result<Box<dyn FixedPointMap>> {
    if entry.family == "layer" {
        return rebuild_layer(entry, file); // no step size or momentum to fit
    }
    let (m, n) = (entry.m, entry.n_cols);
    let a = file.get("A", &[m, n])?;
    let a = DMatrix::from_row_slice(m, n, &a.data);
    let b = DVector::from_column_slice(&file.get("b", &[m])?.data);
    let scalar = |name: &str| file.get(name, &[]).map(|a| a.scalar());
    let (lam, delta) = (scalar("lam")?, scalar("delta")?);
    let map: Box<dyn FixedPointMap> = match (entry.family.as_str(), entry.param.as_str()) {
        ("ridge", param) => {
            let param = match param {
                "weight" => RidgeParam::Weight,
                "targets" => RidgeParam::Targets,
                "data" => RidgeParam::Data,
                other => return Err(bad_entry(entry, format!("unknown ridge parameter `{other}`"))),
            };
            boxed_map(Ridge::new(a, b, lam, param)?, entry, file, alpha, beta)?
        }
        ("pseudo_huber", param) => {
            let param = match param {
                "weight" => RobustParam::Weight,
                "targets" => RobustParam::Targets,
                other => return Err(bad_entry(entry, format!("unknown pseudo-Huber parameter `{other}`"))),
            };
            boxed_map(Robust::new(a, b, lam, Loss::PseudoHuber { delta }, param)?, entry, file, alpha, beta)?
        }
        ("elastic_net", param) => {
            use crate::map::proximal::{ElasticNetParam, Proximal};
            let param = match param {
                "l1" => ElasticNetParam::L1,
                "targets" => ElasticNetParam::Targets,
                "l2" => ElasticNetParam::L2,
                other => return Err(bad_entry(entry, format!("unknown elastic-net parameter `{other}`"))),
            };
            let momentum = match entry.method.as_str() {
                "prox_gd" => None,
                "fista" => Some(beta),
                other => return Err(bad_entry(entry, format!("`{other}` does not run on the elastic net"))),
            };
            let f = Ridge::new(a, b, lam, RidgeParam::Targets)?;
            Box::new(Proximal::new(f, scalar("l1")?, alpha, param, momentum)?)
        }
        (other, _) => return Err(bad_entry(entry, format!("unknown family `{other}`"))),
    };
    if map.dim_u() != entry.p || map.dim_x() != entry.n {
        return Err(bad_entry(entry, format!("n = {}, p = {} do not match the data", entry.n, entry.p)));
    }
    Ok(map)
}

/// The manifest's `K`, `T`, `T_prime`, `K_prime`, `omega` must agree with the instance file
/// and with each other (`T' = T + ωT`, `K' = K + ωT`), and the trace shapes must follow
/// from them: a manifest edited by hand (or mixed with another export) is bad input, not a
/// list of meaningless mismatches.
fn check_indices(entry: &Entry, file: &Npz) -> Result<()> {
    for (name, value) in [("K", entry.k), ("T", entry.t), ("T_prime", entry.t_prime), ("K_prime", entry.k_prime)] {
        let stored = file.get(name, &[])?.scalar();
        if stored != value as f64 {
            return Err(bad_entry(entry, format!("{name} = {value}, but {} holds {name} = {stored}", file.path())));
        }
    }
    let (t, w) = (entry.t, entry.omega);
    if entry.t_prime != t + w * t || entry.k_prime != entry.k + w * t || entry.t_prime > entry.k_prime {
        return Err(bad_entry(
            entry,
            format!(
                "T_prime = {}, K_prime = {} do not follow from K = {}, T = {t}, omega = {w} (T' = T + ωT, K' = K + ωT)",
                entry.t_prime, entry.k_prime, entry.k
            ),
        ));
    }
    let rows = entry.k_prime - entry.t_prime + 1;
    let want = TraceShapes {
        x: [entry.k_prime + 1, entry.n],
        jvp: [rows, entry.n],
        vjp: [rows, entry.p],
        jvp_final: [entry.n],
        vjp_final: [entry.p],
    };
    if entry.trace.arrays != want {
        return Err(bad_entry(
            entry,
            format!("trace shapes {:?} do not follow from K_prime, T_prime, n, p: {want:?}", entry.trace.arrays),
        ));
    }
    Ok(())
}

fn boxed_map<O: crate::problem::Objective + 'static>(
    f: O,
    entry: &Entry,
    file: &Npz,
    alpha: f64,
    beta: f64,
) -> Result<Box<dyn FixedPointMap>> {
    Ok(match entry.method.as_str() {
        "gd" => Box::new(GradientDescent::new(f, alpha)?),
        "heavy_ball" => Box::new(HeavyBall::new(f, alpha, beta)?),
        // Tuned to [μ, L] (the file's `mu`, `L`; its `alpha` is h = 2/(L + μ)).
        "chebyshev" => {
            let (mu, l) = (file.get("mu", &[])?.scalar(), file.get("L", &[])?.scalar());
            Box::new(Chebyshev::new(f, mu, l)?)
        }
        "nesterov" => Box::new(Nesterov::new(f, alpha, Schedule::StronglyConvex { beta })?),
        "nesterov_convex" => Box::new(Nesterov::new(f, alpha, Schedule::Convex)?),
        other => return Err(bad_entry(entry, format!("unknown method `{other}`"))),
    })
}

fn bad_entry(entry: &Entry, message: String) -> Error {
    Error::Input { location: format!("manifest.json: instance `{}`", entry.id), message }
}
