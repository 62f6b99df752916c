//! `gate check`: compares every trace with the reference, iteration by iteration, under the
//! tolerance model; runs the applicable claims on the submitted sequences; checks forward
//! against reverse inside the trace; and names a likely cause for each failure.

use super::export::{Entry, MANIFEST_VERSION, Manifest, rebuild};
use super::npz::{Array, Npz};
use crate::bounds::rhs_21;
use crate::claims::{Checker, Point, Verdict};
use crate::error::{Error, Result};
use crate::spec::DynInstance;
use crate::tol::ToleranceModel;
use crate::unroll::{Linearization, Trajectory, late_start_jvp, truncated_vjp};
use nalgebra::DVector;
use serde::Serialize;
use std::path::Path;

/// A quantity that left its tolerance.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The array (`x`, `jvp`, `vjp`, `jvp_final`, `vjp_final`).
    pub quantity: String,
    /// Algorithm iteration `k` of the first row out of tolerance.
    pub iteration: usize,
    /// The entry that differs most there.
    pub component: usize,
    /// The reference value of that entry.
    pub expected: f64,
    /// The submitted value.
    pub got: f64,
    /// `‖row − reference row‖`.
    pub error: f64,
    /// The tolerance of that row.
    pub tol: f64,
    /// A recognised bug class, when one matches.
    pub cause: Option<String>,
}

/// The outcome of one instance.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Instance id.
    pub id: String,
    /// Some array of the trace was stored as float32 (each array is judged at the precision
    /// it is stored in).
    pub float32: bool,
    /// Quantities out of tolerance (the first row of each).
    pub findings: Vec<Finding>,
    /// Claims checked on the submitted sequences.
    pub claims: Vec<(String, Verdict)>,
}

impl Outcome {
    /// No finding, no violated claim and no claim ended in a numerical failure.
    pub fn passed(&self) -> bool {
        self.findings.is_empty() && !self.claims.iter().any(|(_, v)| v.violated() || v.numerical_failure())
    }
}

/// All outcomes.
#[derive(Debug, Clone, Serialize)]
pub struct GateReport {
    /// One per manifest instance.
    pub outcomes: Vec<Outcome>,
}

impl GateReport {
    /// Every instance passed.
    pub fn passed(&self) -> bool {
        self.outcomes.iter().all(Outcome::passed)
    }
}

fn io(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io { path: path.display().to_string(), message: e.to_string() }
}

/// Reads the manifest of an instances directory.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| Error::Input { location: path.display().to_string(), message: e.to_string() })?;
    if manifest.schema_version != MANIFEST_VERSION {
        return Err(Error::Input {
            location: format!("{}: key `schema_version`", path.display()),
            message: format!(
                "schema_version {} is not supported: this unrollcheck reads version {MANIFEST_VERSION} (re-export the \
                 instances with `unrollcheck gate export`)",
                manifest.schema_version
            ),
        });
    }
    Ok(manifest)
}

/// Checks every trace in `traces` against the instances in `instances`. Unreadable input
/// (missing or corrupt files, wrong shapes or dtypes, NaN, unknown traces) is an `Err`.
pub fn check(instances: &Path, traces: &Path) -> Result<GateReport> {
    let manifest = read_manifest(instances)?;
    unknown_traces(&manifest, traces)?;
    let mut outcomes = Vec::new();
    for entry in &manifest.instances {
        let file = Npz::read(&instances.join(&entry.file))?;
        let trace = Npz::read(&traces.join(&entry.trace.file))?;
        outcomes.push(check_one(entry, &file, &trace)?);
    }
    Ok(GateReport { outcomes })
}

fn unknown_traces(manifest: &Manifest, traces: &Path) -> Result<()> {
    let dir = std::fs::read_dir(traces).map_err(|e| io(traces, e))?;
    for f in dir.flatten() {
        let name = f.file_name().to_string_lossy().to_string();
        if name.ends_with(".npz") && !manifest.instances.iter().any(|e| e.trace.file == name) {
            return Err(Error::Input {
                location: f.path().display().to_string(),
                message: "a trace for an unknown instance (not in manifest.json)".into(),
            });
        }
    }
    Ok(())
}

/// The reference rows: iterates, late-started JVPs, truncated VJPs (rows from `K'` down).
struct Reference {
    x: Vec<DVector<f64>>,
    jvp: Vec<DVector<f64>>,
    vjp: Vec<DVector<f64>>,
}

fn reference(inst: &DynInstance, traj: &Trajectory, e: &Entry, v: &DVector<f64>, w: &DVector<f64>) -> Reference {
    let x = (0..=e.k_prime).map(|k| traj.x(k).into_owned()).collect();
    let mut jvp = Vec::with_capacity(e.k_prime - e.t_prime + 1);
    let zero = DVector::zeros(e.n);
    late_start_jvp(&inst.map, traj, e.t_prime, e.k_prime - e.t_prime, v.as_view(), zero.as_view(), |_, xv| {
        jvp.push(xv.clone())
    });
    let mut vjp = Vec::with_capacity(e.k_prime - e.t_prime + 1);
    truncated_vjp(&inst.map, traj, e.k_prime, e.t_prime, w.as_view(), |_, ub, _| vjp.push(ub.clone()));
    Reference { x, jvp, vjp }
}

/// The tolerance of row `j` of a recursion of `j` steps on quantities of size `scale`;
/// float32 traces get the model with float32's unit roundoff.
fn row_tol(model: &ToleranceModel, j: usize, d: usize, scale: f64, rho: f64, float32: bool) -> f64 {
    let unit = if float32 { f64::from(f32::EPSILON) / f64::EPSILON } else { 1.0 };
    2.0 * model.recursion(j, d, scale, rho) * unit
}

/// Compares rows; `iteration(i)` is the algorithm iteration of row `i`.
fn compare(
    name: &str,
    got: &Array,
    want: &[DVector<f64>],
    iteration: impl Fn(usize) -> usize,
    tol: impl Fn(usize) -> f64,
) -> Option<Finding> {
    want.iter().enumerate().find_map(|(i, r)| {
        let row = if got.shape.len() == 2 { got.row(i) } else { &got.data[..] };
        let diff: Vec<f64> = row.iter().zip(r.iter()).map(|(a, b)| a - b).collect();
        let error = diff.iter().map(|d| d * d).sum::<f64>().sqrt();
        // A NaN error is a mismatch, never a pass.
        (error.is_nan() || error > tol(i)).then(|| {
            let component = crate::unroll::argmax(&diff.iter().map(|d| d.abs()).collect::<Vec<_>>());
            Finding {
                quantity: name.into(),
                iteration: iteration(i),
                component,
                expected: r[component],
                got: row[component],
                error,
                tol: tol(i),
                cause: None,
            }
        })
    })
}

fn shapes_ok<'a>(trace: &'a Npz, e: &Entry) -> Result<[&'a Array; 5]> {
    let s = &e.trace.arrays;
    Ok([
        trace.get("x", &s.x)?,
        trace.get("jvp", &s.jvp)?,
        trace.get("vjp", &s.vjp)?,
        trace.get("jvp_final", &s.jvp_final)?,
        trace.get("vjp_final", &s.vjp_final)?,
    ])
}

fn check_one(e: &Entry, file: &Npz, trace: &Npz) -> Result<Outcome> {
    let (inst, v, w) = rebuild(e, file)?;
    // An off-by-one truncation shows as one row too many or too few: a failure with its
    // cause, not unreadable input.
    if let Some(f) = off_by_one_rows(e, trace) {
        return Ok(Outcome { id: e.id.clone(), float32: false, findings: vec![f], claims: Vec::new() });
    }
    let [x, jvp, vjp, jvp_final, vjp_final] = shapes_ok(trace, e)?;
    let float32 = [x, jvp, vjp, jvp_final, vjp_final].iter().any(|a| a.float32);
    let traj = Trajectory::run(&inst.map, &inst.x0, e.k_prime);
    let r = reference(&inst, &traj, e, &v, &w);
    let model = ToleranceModel::default();
    let rho = if inst.constants.contraction() { inst.constants.rho() } else { 1.0 };
    let d = e.n + e.p;
    let norm_max = |rows: &[DVector<f64>]| rows.iter().map(|r| r.norm()).fold(f64::MIN_POSITIVE, f64::max);
    let (sx, sj, sv) = (norm_max(&r.x).max(inst.x_star.norm()), norm_max(&r.jvp), norm_max(&r.vjp));
    let mut findings = Vec::new();
    // Each array is judged at the precision it is stored in: one array cast to float32 does
    // not loosen the tolerance of the others (a float64 array claims float64 accuracy).
    findings.extend(compare("x", x, &r.x, |i| i, |i| row_tol(&model, i, d, sx, rho, x.float32)));
    let (tp, kp) = (e.t_prime, e.k_prime);
    findings.extend(compare("jvp", jvp, &r.jvp, |i| tp + i, |i| row_tol(&model, i, d, sj, rho, jvp.float32)));
    findings.extend(compare("vjp", vjp, &r.vjp, |i| kp - i, |i| row_tol(&model, i, d, sv, rho, vjp.float32)));
    let last = r.jvp.len() - 1;
    findings.extend(compare(
        "jvp_final",
        jvp_final,
        &r.jvp[last..],
        |_| kp,
        |_| row_tol(&model, last, d, sj, rho, jvp_final.float32),
    ));
    findings.extend(compare(
        "vjp_final",
        vjp_final,
        &r.vjp[last..],
        |_| tp,
        |_| row_tol(&model, last, d, sv, rho, vjp_final.float32),
    ));
    for f in &mut findings {
        let stored32 = trace.raw(&f.quantity).is_some_and(|a| a.float32);
        let want: &[DVector<f64>] = if f.quantity.starts_with("jvp") { &r.jvp } else { &r.vjp };
        f.cause = likely_cause(e, &inst, &traj, (&v, &w), f, trace, (stored32, want));
    }
    // The claims compare x, jvp and both finals with each other: a float32 one among them
    // brings float32 storage rounding into the comparison (the arrays themselves were each
    // judged at their own precision above).
    let claims_float32 = [x, jvp, jvp_final, vjp_final].iter().any(|a| a.float32);
    let claims = trace_claims(e, &inst, x, jvp, (jvp_final, vjp_final), (&v, &w), claims_float32);
    Ok(Outcome { id: e.id.clone(), float32, findings, claims })
}

fn off_by_one_rows(e: &Entry, trace: &Npz) -> Option<Finding> {
    let want = e.trace.arrays.jvp[0];
    ["jvp", "vjp"].into_iter().find_map(|name| {
        let a = trace.raw(name)?;
        let rows = *a.shape.first()?;
        (rows + 1 == want || rows == want + 1).then(|| Finding {
            quantity: name.into(),
            iteration: e.t_prime,
            component: 0,
            expected: want as f64,
            got: rows as f64,
            error: 1.0,
            tol: 0.0,
            cause: Some(format!(
                "off-by-one truncation index: {rows} rows where K'−T'+1 = {want} (late start at T' = {} expected)",
                e.t_prime
            )),
        })
    })
}

/// Tries the recognisable bug classes on the first failing row.
#[allow(clippy::too_many_arguments)]
fn likely_cause(
    e: &Entry,
    inst: &DynInstance,
    traj: &Trajectory,
    vw: (&DVector<f64>, &DVector<f64>),
    f: &Finding,
    trace: &Npz,
    (float32, want): (bool, &[DVector<f64>]),
) -> Option<String> {
    let (v, w) = vw;
    if f.quantity == "x" {
        return None;
    }
    let is_fwd = f.quantity.starts_with("jvp");
    let got = DVector::from_column_slice(trace.raw(if is_fwd { "jvp_final" } else { "vjp_final" })?.data.as_slice());
    let lin = Linearization::along(&inst.map, traj, e.k_prime + 1);
    let correct = variant_final(e, &lin, (v, w), is_fwd, (e.t_prime, 0, 1.0));
    let scale = correct.norm().max(got.norm()).max(f64::MIN_POSITIVE);
    let close = |a: &DVector<f64>, b: &DVector<f64>| (a - b).norm() <= 1e-6 * scale;
    // A bug class explains the failure when its output matches the trace and differs from
    // the correct output (on ridge, B_{k+1} = B_k: that class cannot be told apart there).
    let found = bug_classes(e).into_iter().find(|(_, how)| {
        let c = variant_final(e, &lin, (v, w), is_fwd, *how);
        close(&c, &got) && !close(&c, &correct)
    });
    if let Some((name, _)) = found {
        return Some(name.to_string());
    }
    let rows = trace.raw(&f.quantity.replace("_final", ""))?;
    if let Some(j) = frozen_from(rows, want) {
        return Some(format!(
            "the derivative freezes from row {j} on (the iterate had converged, the derivative had not)"
        ));
    }
    // float32 data in a float64 array: every value of the failing array is a float32 number
    // (a float64 computation with a wrong constant is not, whatever the size of its error).
    let array = trace.raw(&f.quantity)?;
    let single = array.data.iter().all(|&x| f64::from(x as f32) == x);
    (!float32 && single).then(|| "float32 rounding: single-precision values in a float64 array".to_string())
}

/// The recognisable bug classes, as `(start, shift of B's index, sign of C)`.
fn bug_classes(e: &Entry) -> Vec<(&'static str, (usize, usize, f64))> {
    let tp = e.t_prime;
    let mut out = vec![
        ("sign error in C_k (D_u A)", (tp, 0, -1.0)),
        ("B_{k+1} used for B_k", (tp, 1, 1.0)),
        ("off-by-one truncation index: started at T'+1", (tp + 1, 0, 1.0)),
    ];
    if tp > 0 {
        out.push(("off-by-one truncation index: started at T'−1", (tp - 1, 0, 1.0)));
    }
    out
}

/// The final derivative (`jvp_final` or `vjp_final`) of a sweep from `start` using
/// `B_{k+shift}` and `sign·C_k` (the correct one is `(T', 0, 1)`).
fn variant_final(
    e: &Entry,
    lin: &Linearization,
    vw: (&DVector<f64>, &DVector<f64>),
    fwd: bool,
    how: (usize, usize, f64),
) -> DVector<f64> {
    let (start, shift, sign) = how;
    let (v, w) = vw;
    if fwd {
        let mut xv = DVector::zeros(e.n);
        for k in start..e.k_prime {
            xv = lin.b(k + shift) * &xv + lin.c(k) * v * sign;
        }
        xv
    } else {
        let (mut xb, mut ub) = (w.clone(), DVector::zeros(e.p));
        for k in (start..e.k_prime).rev() {
            ub += lin.c(k).tr_mul(&xb) * sign;
            xb = lin.b(k + shift).tr_mul(&xb);
        }
        ub
    }
}

/// The first row from which the rows stop changing, when the reference still changes
/// after it (a derivative that has converged with the reference is not frozen).
fn frozen_from(a: &Array, want: &[DVector<f64>]) -> Option<usize> {
    let rows = *a.shape.first()?;
    let same = |i: usize| a.row(i) == a.row(i - 1);
    let first = (1..rows).rev().take_while(|&i| same(i)).last()?;
    let (from, last) = (want.get(first - 1)?, want.last()?);
    let scale = last.norm().max(f64::MIN_POSITIVE);
    ((last - from).norm() > 1e-9 * scale).then_some(first)
}

/// The claims on the submitted sequences: (8) on the iterates, (21) on the late-started
/// JVPs (`‖(Ẋ − Dx*)v‖ ≤ ‖Ẋ − Dx*‖` for a unit `v`), and forward = reverse inside the trace.
fn trace_claims(
    e: &Entry,
    inst: &DynInstance,
    x: &Array,
    jvp: &Array,
    finals: (&Array, &Array),
    vw: (&DVector<f64>, &DVector<f64>),
    float32: bool,
) -> Vec<(String, Verdict)> {
    let model = ToleranceModel::default();
    let unit = if float32 { f64::from(f32::EPSILON) / f64::EPSILON } else { 1.0 };
    let c = &inst.constants;
    let mut out = Vec::new();
    let fwd_rev = {
        let (jf, vf) = finals;
        let a: f64 = jf.data.iter().zip(vw.1.iter()).map(|(p, q)| p * q).sum();
        let b: f64 = vf.data.iter().zip(vw.0.iter()).map(|(p, q)| p * q).sum();
        let mut ch = Checker::new("sec41.trunc_fwd_rev", "trace", None);
        let scale = jf.data.iter().map(|v| v.abs()).sum::<f64>() + vf.data.iter().map(|v| v.abs()).sum::<f64>();
        ch.equal(
            Point { k: e.k_prime, t: Some(e.t_prime) },
            a - b,
            model.recursion(e.k_prime, e.n + e.p, scale, 1.0) * unit,
        );
        ch.verdict()
    };
    out.push(("sec41.trunc_fwd_rev".to_string(), fwd_rev));
    if !(c.contraction() && c.smooth()) {
        let reason = if c.contraction() { "A2.2" } else { "A2.1" };
        for id in ["thm2.rate", "thm8.bound"] {
            out.push((
                id.into(),
                Verdict::NotApplicable {
                    assumption: reason,
                    reason: "see the instance's constants".into(),
                    observed: None,
                },
            ));
        }
        return out;
    }
    let (rho, gamma) = (c.rho(), c.gamma.value);
    let xs = &inst.x_star;
    let e_k = |k: usize| x.row(k).iter().zip(xs.iter()).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
    let sx = xs.norm() + e_k(0);
    let mut rate = Checker::new("thm2.rate", "trace", None);
    for k in 0..=e.k_prime {
        let tol = (2.0 * model.recursion(k, e.n + e.p, sx, rho) + 2.0 * inst.x_star_error) * unit;
        rate.leq(Point { k, t: None }, e_k(k), rho.powi(k as i32) * e_k(0), tol);
    }
    out.push(("thm2.rate".into(), rate.verdict()));
    let target = &inst.dx_star * vw.0;
    let mut bound = Checker::new("thm8.bound", "trace", None);
    for j in 0..jvp.shape[0] {
        let err = jvp.row(j).iter().zip(target.iter()).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
        let rhs = rhs_21(j as f64, e.t_prime as f64, rho, c.dx_star_norm, gamma, e_k(0));
        let tol = 2.0 * model.recursion(j, e.n + e.p, c.dx_star_norm.max(err), rho) * unit;
        bound.leq(Point { k: j, t: Some(e.t_prime) }, err, rhs, tol);
    }
    out.push(("thm8.bound".into(), bound.verdict()));
    out
}

/// Writes the Markdown report `md` as `dir/report.md` (refusing a directory holding output
/// that is not a gate report) and the JUnit XML of `report` to `junit`, when asked.
pub fn write(report: &GateReport, md: &str, dir: Option<&Path>, junit: Option<&Path>) -> Result<()> {
    if let Some(dir) = dir {
        crate::report::ensure_ours(dir, "report.md", |t| t.starts_with(TITLE))?;
        std::fs::create_dir_all(dir)
            .and_then(|_| std::fs::write(dir.join("report.md"), md))
            .map_err(|e| Error::Io { path: dir.display().to_string(), message: e.to_string() })?;
    }
    if let Some(path) = junit {
        let xml = self::junit(report)?;
        std::fs::write(path, xml)
            .map_err(|e| Error::Io { path: path.display().to_string(), message: e.to_string() })?;
    }
    Ok(())
}

/// The first line of a gate report (how a later run recognises its own `--out`).
pub const TITLE: &str = "# unrollcheck gate report";

/// The Markdown report of a gate run.
pub fn markdown(report: &GateReport) -> String {
    use std::fmt::Write;
    let mut md = format!("{TITLE}\n\n");
    let passed = report.outcomes.iter().filter(|o| o.passed()).count();
    writeln!(md, "{passed} of {} instances pass.\n", report.outcomes.len()).ok();
    writeln!(md, "| instance | precision | result | first failure | likely cause |\n|---|---|---|---|---|").ok();
    for o in &report.outcomes {
        let first = o.findings.first().map_or("—".to_string(), |f| {
            format!(
                "`{}` at k = {}, entry {}: expected {:.6e}, got {:.6e} (error {:.2e} > tol {:.2e})",
                f.quantity, f.iteration, f.component, f.expected, f.got, f.error, f.tol
            )
        });
        let cause = o.findings.iter().find_map(|f| f.cause.clone()).unwrap_or_else(|| "—".into());
        let claims: Vec<String> =
            o.claims.iter().filter(|(_, v)| v.violated() || v.numerical_failure()).map(|(id, _)| id.clone()).collect();
        let result = if o.passed() {
            "pass".to_string()
        } else if claims.is_empty() {
            "**FAIL**".into()
        } else {
            format!("**FAIL** (claims: {})", claims.join(", "))
        };
        writeln!(
            md,
            "| `{}` | {} | {result} | {first} | {cause} |",
            o.id,
            if o.float32 { "float32" } else { "float64" }
        )
        .ok();
    }
    writeln!(md, "\n## Claims on the submitted sequences\n").ok();
    for o in &report.outcomes {
        for (id, v) in &o.claims {
            writeln!(md, "- `{}` `{id}`: {v}", o.id).ok();
        }
    }
    md
}

/// The JUnit XML of a gate run: one test suite, one test case per instance and check.
pub fn junit(report: &GateReport) -> Result<String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new("unrollcheck-gate");
    for o in &report.outcomes {
        let status = match o.findings.first() {
            None => TestCaseStatus::success(),
            Some(f) => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!(
                    "{} at k = {}: expected {:e}, got {:e}; cause: {}",
                    f.quantity,
                    f.iteration,
                    f.expected,
                    f.got,
                    f.cause.clone().unwrap_or_else(|| "unknown".into())
                ));
                s
            }
        };
        let mut case = TestCase::new(format!("{}::compare", o.id), status);
        case.set_classname("gate");
        suite.add_test_case(case);
        for (id, v) in &o.claims {
            let status = if v.violated() || v.numerical_failure() {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(v.to_string());
                s
            } else if v.not_applicable() {
                TestCaseStatus::skipped()
            } else {
                TestCaseStatus::success()
            };
            let mut case = TestCase::new(format!("{}::{id}", o.id), status);
            case.set_classname("gate");
            suite.add_test_case(case);
        }
    }
    let mut r = Report::new("unrollcheck");
    r.add_test_suite(suite);
    r.to_string().map_err(|e| Error::Io { path: "junit".into(), message: e.to_string() })
}
