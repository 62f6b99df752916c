//! Running a scenario: every instance of the grid, every selected claim, in parallel over
//! instances (rayon). Results come back in the order of the grid whatever the number of
//! threads, and every instance's seed is derived from the scenario's, so the same seed gives
//! the same results on any machine.

use super::expr::{CustomClaim, LateStart, Quantities};
use super::{MethodName, Scenario, ScenarioFile};
use crate::bounds::{bound_8, rhs_21};
use crate::budget;
use crate::claims::{self, Assumption, Case, Config, Role, Verdict};
use crate::constants::Constants;
use crate::error::{Error, Result};
use crate::linalg::spectral_norm;
use crate::map::{AdaptedNorm, FixedPointMap};
use crate::spec::Spec;
use crate::unroll::ErrorCurves;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A custom claim of a scenario with the assumptions it relies on.
#[derive(Debug, Clone)]
pub struct Custom {
    /// The parsed relation.
    pub claim: CustomClaim,
    /// Its assumptions.
    pub requires: Vec<Assumption>,
    /// Its role: the paper's (must hold), or a reading with `expect_holds` given.
    pub role: Role,
}

/// Parses the `[[custom]]` entries of a scenario.
pub fn parse_custom(path: &str, text: &str, file: &ScenarioFile) -> Result<Vec<Custom>> {
    let mut out: Vec<Custom> = Vec::new();
    let spans = super::KeySpans::of(text);
    for (i, c) in file.custom.iter().enumerate() {
        if !is_custom_id(&c.id) {
            let message = format!(
                "custom claim id `{}` must be 1 to 100 letters, digits, `.`, `_` or `-` (it is part of the replay command)",
                c.id
            );
            return Err(match spans.custom.get(i).and_then(|s| s.id.as_ref()) {
                Some(span) => super::at(path, text, "custom.id", span, message),
                None => Error::Input { location: format!("{path}: [[custom]] {}, key `custom.id`", i + 1), message },
            });
        }
        if claims::find(&c.id).is_some() || out.iter().any(|o| o.claim.id() == c.id) {
            return Err(super::at(
                path,
                text,
                "custom.statement",
                &c.statement,
                format!("custom claim id `{}` is already taken", c.id),
            ));
        }
        let claim = CustomClaim::parse(path, &c.id, c.statement.get_ref()).map_err(|e| match e {
            // The parser names the position in the statement; add the line and the key.
            Error::Input { location, message } => {
                let within = location.strip_prefix(path).map_or(location.as_str(), |l| l.trim_start_matches(": "));
                super::at(path, text, "custom.statement", &c.statement, format!("{within}: {message}"))
            }
            other => other,
        })?;
        let mut requires = Vec::new();
        for r in &c.requires {
            requires.push(match r.get_ref().as_str() {
                "A2.1" => Assumption::Contraction,
                "A2.2" => Assumption::Smoothness,
                "quadratic" => Assumption::Quadratic,
                "commuting" => Assumption::Commuting,
                other => {
                    return Err(super::at(
                        path,
                        text,
                        "custom.requires",
                        r,
                        format!("unknown assumption `{other}` (A2.1, A2.2, quadratic or commuting)"),
                    ));
                }
            });
        }
        let role = c.expect_holds.map_or(Role::Paper, |expect_holds| Role::Reading { expect_holds });
        out.push(Custom { claim, requires, role });
    }
    Ok(out)
}

/// `true` for a custom claim id that is safe in a replay command: 1 to 100 letters, digits,
/// `.`, `_` or `-`.
pub fn is_custom_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 100 && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// One instance per grid point and a shorter horizon.
    pub quick: bool,
    /// Worker threads (default: rayon's choice).
    pub jobs: Option<usize>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// The memory limit in GiB (default [`crate::budget::DEFAULT_MAX_MEMORY_GIB`]).
    pub max_memory: Option<f64>,
    /// Run only this slice of the instances ([`super::shard`]); the results then hold the
    /// slice, with the instances' indices in the whole run.
    pub shard: Option<ShardSpec>,
}

/// Which slice of a run ([`super::shard`]): shard `index` of `count`, 1-based (`--shard 2/3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    /// `I`, in `1..=count`.
    pub index: usize,
    /// `N ≥ 1`.
    pub count: usize,
}

impl std::str::FromStr for ShardSpec {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("`{s}` is not I/N with 1 <= I <= N (e.g. 2/3)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) =
            (i.trim().parse::<usize>().map_err(|_| bad())?, n.trim().parse::<usize>().map_err(|_| bad())?);
        if index == 0 || index > count { Err(bad()) } else { Ok(ShardSpec { index, count }) }
    }
}

impl ShardSpec {
    /// The global instance indices `[lo, hi)` of this shard among `total`.
    pub fn range(&self, total: usize) -> (usize, usize) {
        let at = |i: usize| ((i as u128 * total as u128) / self.count as u128) as usize;
        (at(self.index - 1), at(self.index))
    }

    /// The report directory name of this shard of scenario `name`: `<name>.shard-I-of-N`.
    pub fn dir_name(&self, name: &str) -> String {
        format!("{name}.shard-{}-of-{}", self.index, self.count)
    }
}

/// One verdict of one instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// Claim id (built-in or custom).
    pub claim: String,
    /// Variant.
    pub variant: String,
    /// Paper statement, control or reading.
    pub role: Role,
    /// The verdict.
    pub verdict: Verdict,
}

/// One curve of a late-start figure: the late-start index `T'` and the errors
/// `ė_{T'}^{(j)}` for `j = 0, 1, …` (plotted at algorithm iteration `T' + j`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LateStartCurve {
    /// The late-start index `T'`.
    pub t_prime: usize,
    /// Errors from `j = 0`.
    pub errors: Vec<f64>,
}

/// One curve of a residual-polynomial figure: `|φ_t(λ)|` on a grid of `λ` for one `t`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolynomialCurve {
    /// The iteration `t`.
    pub t: usize,
    /// `|φ_t(λ_i)|` at the grid points.
    pub values: Vec<f64>,
}

/// What the figures of one grid point need.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FigureData {
    /// The error curves of the point's first instance.
    pub curves: ErrorCurves,
    /// Bound (8) per `k`.
    pub bound8: Vec<f64>,
    /// Bound (19) per `k` (empty when A2.1/A2.2 fail).
    pub bound19: Vec<f64>,
    /// Late-start errors for several `T'`.
    pub late: Vec<LateStartCurve>,
    /// The residual polynomials over the spectrum, when the instance is a quadratic and the
    /// scenario checks a `scieur.*` claim.
    pub quadratic: Option<QuadraticFigure>,
}

/// What the figures and the report section of the quadratic theory need (one grid point).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuadraticFigure {
    /// `[μ, L]`, the spectrum of `H`.
    pub interval: (f64, f64),
    /// The eigenvalues of `H`.
    pub eigenvalues: Vec<f64>,
    /// The grid of `λ` over `[μ, L]`.
    pub lambdas: Vec<f64>,
    /// `|P_t(λ) − λP_t'(λ)|` for a few `t`.
    pub jacobian_factor: Vec<PolynomialCurve>,
    /// `|P_t'(λ)|` for the same `t`.
    pub derivative: Vec<PolynomialCurve>,
    /// `max_t ‖[H, ∂_jH]‖` relative (0 when `H(θ)` commutes with `∂_θH`).
    pub commutator: f64,
    /// `max_t ‖lhs − rhs‖ / max_t ‖lhs‖` of `scieur.jacobian` (its statement), observed
    /// whether or not it applies: how far the identity is from holding.
    pub jacobian_residual: f64,
}

/// The results of one instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceResult {
    /// Position in the scenario's instance list.
    pub index: usize,
    /// Its grid point.
    pub point: usize,
    /// Its spec (seed included).
    pub spec: Spec,
    /// Horizon `K`.
    pub k: usize,
    /// Every verdict.
    pub rows: Vec<Row>,
    /// The certified constants, in the instance's norm.
    pub constants: Constants,
    /// The adapted norm the instance is measured in (`None`: Euclidean).
    pub adapted: Option<AdaptedNorm>,
    /// Figure data (first instance of each grid point only).
    pub figure: Option<FigureData>,
    /// The calibration of the tolerance model against double-double rounding (first
    /// instance of each grid point only; [`crate::calibration`]).
    pub calibration: Option<Vec<crate::calibration::KindStats>>,
    /// Where the run identified the support of `x*` (the proximal maps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<crate::map::proximal::Identification>,
}

/// The results of a scenario run.
#[derive(Debug, Clone)]
pub struct ScenarioResults {
    /// The seed used.
    pub seed: u64,
    /// Quick mode.
    pub quick: bool,
    /// The claim configuration.
    pub config: Config,
    /// One entry per instance, in grid order.
    pub instances: Vec<InstanceResult>,
}

/// Runs a scenario.
pub fn run_scenario(sc: &Scenario, opt: &Options) -> Result<ScenarioResults> {
    crate::budget::check_jobs(opt.jobs, "--jobs")?;
    let max_gib = crate::budget::check_limit(
        opt.max_memory.unwrap_or(crate::budget::DEFAULT_MAX_MEMORY_GIB),
        crate::budget::FLAG,
    )?;
    check_budget(sc, opt.quick, opt.jobs, max_gib)?;
    let specs = sc.specs(opt.seed, opt.quick);
    let config = sc.config(opt.quick);
    let (lo, hi) = opt.shard.map_or((0, specs.len()), |s| s.range(specs.len()));
    let bar = progress_bar((hi - lo) as u64, opt.progress);
    let work = |(index, (point, spec)): (usize, &(usize, Spec))| -> Result<InstanceResult> {
        let first = index == 0 || specs[index - 1].0 != *point;
        let r = run_instance(sc, &config, (index, *point, first), spec);
        bar.inc(1);
        r
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opt.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::Numerical(format!("thread pool: {e}")))?;
    let instances: Result<Vec<InstanceResult>> =
        pool.install(|| specs[lo..hi].par_iter().enumerate().map(|(i, s)| work((lo + i, s))).collect());
    bar.finish_and_clear();
    Ok(ScenarioResults { seed: opt.seed.unwrap_or(sc.file.seed), quick: opt.quick, config, instances: instances? })
}

fn progress_bar(len: u64, show: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !show || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} instances {elapsed}") {
        bar.set_style(style);
    }
    bar
}

/// The variants a scenario runs: the statement and the readings, plus the controls when asked.
fn runs_variant(role: Role, controls: bool) -> bool {
    controls || role != Role::Control
}

/// An instance that cannot be built: at its grid point; when `x_0 = x* + σg` is not finite
/// (`σ` near the largest float), also at the line and key of the `grid.x0` entry.
fn build_error(sc: &Scenario, point: usize, spec: &Spec, e: Error) -> Error {
    let message = format!("the instance cannot be built: {e}");
    let entry = sc.file.grid.x0.iter().enumerate().find(|(_, x)| match x.get_ref() {
        super::X0::Sigma(s) => Some(*s) == spec.x0_sigma,
        super::X0::Named(_) => false,
    });
    match (&e, entry) {
        (Error::InvalidParameter { field: "x0", .. }, Some((i, x))) => super::at(
            &sc.path,
            &sc.text,
            &format!("grid.x0[{i}]"),
            x,
            format!(
                "grid point {point}: σ = {} is too large for x_0 = x* + σg; {message}",
                crate::error::short_number(spec.x0_sigma.unwrap_or(f64::NAN))
            ),
        ),
        _ => Error::Input {
            location: format!("{}: grid point {point} ({})", sc.path, serde_json::to_string(spec).unwrap_or_default()),
            message,
        },
    }
}

/// Runs one instance; `at` is its index, its grid point and whether it is the point's first.
fn run_instance(sc: &Scenario, cfg: &Config, at: (usize, usize, bool), spec: &Spec) -> Result<InstanceResult> {
    let (index, point, first) = at;
    let case = Case::from_spec(spec, cfg).map_err(|e| build_error(sc, point, spec, e))?;
    let mut rows = Vec::new();
    for id in &sc.claims {
        let claim = claims::find(id).expect("validated at load");
        for v in claim.variants.iter().filter(|v| runs_variant(v.role, sc.file.controls)) {
            let verdict = claims::check(id, v.name, &case, cfg)?;
            rows.push(Row { claim: id.to_string(), variant: v.name.to_string(), role: v.role, verdict });
        }
    }
    for c in &sc.custom {
        rows.push(Row {
            claim: c.claim.id().to_string(),
            variant: "custom".into(),
            role: c.role,
            verdict: check_custom(c, &case, cfg),
        });
    }
    let quadratic = sc.claims.iter().any(|c| c.starts_with("scieur."));
    let figure = first.then(|| figure_data(&case, cfg, quadratic));
    let calibration = first.then(|| crate::calibration::calibrate(&case, cfg));
    let caps = case.inst.map.capabilities();
    let (constants, adapted, support) = (case.inst.constants, caps.adapted_norm, caps.support);
    Ok(InstanceResult { index, point, spec: *spec, k: case.k, rows, constants, adapted, figure, calibration, support })
}

/// Checks a custom claim on a case, after its assumptions.
pub fn check_custom(c: &Custom, case: &Case, cfg: &Config) -> Verdict {
    let run = case.run();
    let k = case.k;
    let tol_iterate: Vec<f64> = (0..=k).map(|j| case.tol_iterate(cfg, j)).collect();
    let tol_jacobian: Vec<f64> = (0..=k).map(|j| case.tol_jacobian(cfg, j)).collect();
    let mut q = quantities(case, cfg, &run.curves, &tol_iterate, &tol_jacobian);
    if c.claim.uses_late_start() {
        q.late_starts = late_starts(case, cfg);
    }
    if c.claim.variables().iter().any(|v| v == "affine_radius") && case.inst.map.capabilities().support.is_none() {
        // `affine_radius` exists for the proximal maps only: elsewhere the claim does not
        // apply (it is NaN there, which would read as a numerical failure).
        let reason = format!(
            "`{}` uses affine_radius, the radius of the ball on which a proximal map is affine; this instance's map ({}) is not proximal",
            c.claim.statement(),
            case.inst.map.name()
        );
        return claims::with_setting(
            Verdict::NotApplicable { assumption: "proximal map", reason, observed: None },
            case,
            cfg,
        );
    }
    let observed = c.claim.check(&q, &cfg.tol, case.spec);
    let verdict = match c.requires.iter().find_map(|a| case.assumption_failure(*a).map(|r| (*a, r))) {
        None => observed,
        Some((a, reason)) => {
            Verdict::NotApplicable { assumption: a.name(), reason, observed: Some(Box::new(observed)) }
        }
    };
    claims::with_setting(verdict, case, cfg)
}

/// The named quantities of a case for custom claims.
pub fn quantities<'a>(
    case: &Case,
    cfg: &Config,
    curves: &'a ErrorCurves,
    tol_iterate: &'a [f64],
    tol_jacobian: &'a [f64],
) -> Quantities<'a> {
    let c = &case.inst.constants;
    Quantities {
        scalars: vec![
            ("rho", c.rho()),
            ("Gamma", c.gamma.value),
            ("Gamma_sharp", c.gamma_sharp.value),
            ("kappa", c.map.kappa.value),
            ("M_x", c.map.m_x.value),
            ("M_u", c.map.m_u.value),
            ("K", case.k as f64),
            ("omega", cfg.omega),
            ("dxstar_norm", c.dx_star_norm),
            ("e0", case.inst.e0()),
            ("affine_radius", case.inst.map.capabilities().support.map_or(f64::NAN, |s| s.affine_radius)),
        ],
        sequences: vec![
            ("e", &curves.e, tol_iterate),
            ("edot", &curves.edot, tol_jacobian),
            ("ebar", &curves.ebar, tol_jacobian),
        ],
        late_starts: Vec::new(),
    }
}

/// The late starts of a case for custom claims using `Tp` or `edot_late`: for every `T'`
/// of [`Case::t_primes`], `ė_{T'}^{(k)} = ‖Ẋ_{T'}^{(k)} − Dx*‖` for `k = 0, …, K − T'`
/// (spectral norm, `Ẋ_{T'}^{(0)} = Dx_0`), each with the tolerance of a Jacobian after `k`
/// steps, as `thm8.bound` uses them.
pub fn late_starts(case: &Case, cfg: &Config) -> Vec<LateStart> {
    let inst = &case.inst;
    case.t_primes(cfg)
        .into_iter()
        .map(|t_prime| {
            let jacobians = case.late_start_jacobians(t_prime, case.k - t_prime, &inst.dx0);
            LateStart {
                t_prime,
                edot: jacobians.iter().map(|j| spectral_norm(&(j - &inst.dx_star))).collect(),
                tol: (0..jacobians.len()).map(|k| case.tol_jacobian(cfg, k)).collect(),
            }
        })
        .collect()
}

/// Iterations shown in the residual-polynomial figures.
fn figure_ts(k: usize) -> Vec<usize> {
    let mut ts: Vec<usize> = [1, 5, 20, 50].into_iter().filter(|&t| t <= k).collect();
    ts.push(k);
    ts.dedup();
    ts
}

fn quadratic_figure(case: &Case, cfg: &Config) -> Option<QuadraticFigure> {
    let q = case.quadratic()?;
    let (mu, l) = (q.mu, q.l);
    let lambdas: Vec<f64> = (0..=400).map(|i| mu + (l - mu) * i as f64 / 400.0).collect();
    let ts = figure_ts(case.k);
    let seqs: Vec<_> = lambdas.iter().map(|&x| q.poly.sequence(x, case.k)).collect();
    let curve = |f: &dyn Fn(&crate::quadratic::Values, f64) -> f64| -> Vec<PolynomialCurve> {
        ts.iter()
            .map(|&t| PolynomialCurve {
                t,
                values: seqs.iter().zip(&lambdas).map(|(s, &x)| f(&s[t], x).abs()).collect(),
            })
            .collect()
    };
    let sides = claims::scieur::jacobian_sides(case, cfg, "paper")?;
    let diff = sides.lhs.iter().zip(&sides.rhs).map(|(a, b)| spectral_norm(&(a - b))).fold(0.0, f64::max);
    let scale = sides.lhs.iter().map(spectral_norm).fold(0.0, f64::max);
    Some(QuadraticFigure {
        interval: (mu, l),
        eigenvalues: q.spectral.eigenvalues.iter().copied().collect(),
        jacobian_factor: curve(&|v, x| v.jacobian_factor(x)),
        derivative: curve(&|v, _| v.dp),
        lambdas,
        commutator: q.commutator(),
        jacobian_residual: if scale > 0.0 { diff / scale } else { diff },
    })
}

fn figure_data(case: &Case, cfg: &Config, quadratic: bool) -> FigureData {
    let run = case.run();
    let c = &case.inst.constants;
    let (rho, gamma) = (c.rho(), c.gamma.value);
    let (e0, edot0) = (run.curves.e[0], run.curves.edot[0]);
    let bound8 = (0..=case.k).map(|k| bound_8(rho, k, e0)).collect();
    let bound19 = if c.contraction() && c.smooth() {
        (0..=case.k).map(|k| rhs_21(k as f64, 0.0, rho, edot0, gamma, e0)).collect()
    } else {
        Vec::new()
    };
    let late = case
        .t_primes(cfg)
        .into_iter()
        .map(|t| {
            let jac = case.lin().late_start_jacobians(t, case.k - t, &case.inst.dx0);
            LateStartCurve {
                t_prime: t,
                errors: jac.iter().map(|j| spectral_norm(&(j - &case.inst.dx_star))).collect(),
            }
        })
        .collect();
    let quadratic = if quadratic { quadratic_figure(case, cfg) } else { None };
    FigureData { curves: run.curves.clone(), bound8, bound19, late, quadratic }
}

/// Checks a scenario run (`quick` as in `verify --quick`, `jobs` worker threads) against
/// `max_gib` before anything is allocated: per worker thread the largest instance of the
/// grid at the horizon cap `k_max`, plus what is kept per instance.
pub fn check_budget(sc: &Scenario, quick: bool, jobs: Option<usize>, max_gib: f64) -> Result<()> {
    let a = &sc.axes;
    let instances = sc.instance_count(quick);
    let k = sc.k_max(quick) as f64;
    let m = a.m.iter().copied().max().unwrap_or(1) as f64;
    let n = a.n.iter().copied().max().unwrap_or(1) as f64;
    let doubled = a.methods.iter().any(|&x| !matches!(x, MethodName::GradientDescent | MethodName::Picard));
    let state = if doubled { 2.0 * n } else { n };
    let p = a.families.iter().map(|f| f.parameter_dim(m, n)).fold(1.0, f64::max);
    let threads = budget::threads(jobs).min(instances.max(1)) as f64;
    let omega = sc.omega();
    let dims = budget::CaseDims { n: state, n_objective: n, p, m };
    let late_starts = sc.t_fractions().len() as f64;
    let bytes = threads * budget::case_bytes(dims, k, omega, late_starts)
        + budget::SYMBOLIC_BYTES
        + instances as f64 * budget::RESULT_BYTES_PER_INSTANCE;
    let cause = format!(
        "{instances} instances (key `instances` × grid points), horizon up to K = {k} (key `k_max`), cost factor \
         omega = {omega} (key `omega`: thm8.budget runs {:.0} iterations), state dimension {state}, parameter \
         dimension {p} (keys `grid.m`, `grid.n`, `grid.family`), {threads} threads (--jobs)",
        budget::omega_horizon(k, omega)
    );
    budget::check(&format!("{}: scenario `{}`", sc.path, sc.file.name), &cause, bytes, max_gib, budget::FLAG)
}
