//! `gate check`: compares every trace with the reference, iteration by iteration, under the
//! tolerance model; runs the applicable claims on the submitted sequences; checks forward
//! against reverse inside the trace; and names the cause of a failure that
//! [`super::cause`] confirms by simulation. Unreadable input is recorded per file, after
//! every readable instance has been checked (exit code 2).

use super::cause::{Diagnosis, QUANTITIES, SIMULATION_LIMIT, Setup, Submitted, Tolerance, TraceRows, diagnose};
use super::export::{Entry, MANIFEST_VERSION, Manifest, rebuild};
use super::implicit::{self, IMPLICIT, ImplicitRows, ImplicitSetup};
use super::npz::{Array, Npz};
use super::precision::{self, judgeable};
use crate::bounds::rhs_21;
use crate::claims::{Checker, Point, Verdict};
use crate::error::{Error, Result};
use crate::spec::DynInstance;
use crate::tol::ToleranceModel;
use crate::unroll::{Trajectory, late_start_jvp, truncated_vjp};
use nalgebra::DVector;
use rayon::prelude::*;
use serde::Serialize;
use std::path::Path;

/// What a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A row out of its tolerance, or the wrong number of rows: evidence of a bug, whose
    /// cause is simulated ([`super::cause`]).
    #[default]
    Mismatch,
    /// The array's (or the equality's) tolerance is not below half the size of its reference
    /// ([`precision::judgeable`]): the comparison certifies less than one bit, so the array
    /// is not judged, and not passed. `expected` is the reference's size, `tol` the
    /// tolerance; `error` is 0. Not a bug class: no cause is simulated for it.
    Unjudgeable,
    /// A final is not the last row of its array (`jvp_final` of `jvp`, `vjp_final` of
    /// `vjp`), beyond the two arrays' tolerances: the trace contradicts itself. `expected` is
    /// the array's last row's entry, `got` the final's, `tol` the sum of the two tolerances.
    /// Not a bug class: this finding is not given to the cause simulations (the final's own
    /// mismatch with the reference is: [`super::cause::BugClass::LiteralIndex`] writes a
    /// final that is not the last row).
    NotLastRow,
}

impl FindingKind {
    fn is_mismatch(&self) -> bool {
        *self == FindingKind::Mismatch
    }
}

/// A quantity that left its tolerance, or has the wrong number of rows; or (see [`kind`])
/// one that cannot be judged, or a final that is not the last row of its array.
///
/// [`kind`]: Finding::kind
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What the finding is (omitted from the JSON for a [`FindingKind::Mismatch`]).
    #[serde(skip_serializing_if = "FindingKind::is_mismatch")]
    pub kind: FindingKind,
    /// The array (`x`, `jvp`, `vjp`, `jvp_final`, `vjp_final`, or an implicit one:
    /// `implicit_jvp`, `implicit_vjp`, `hypergrad`).
    pub quantity: String,
    /// The first row out of tolerance (0 for a final).
    pub row: usize,
    /// The algorithm iteration `k` of that row (`x`: `k = row`; `jvp`: `k = T' + row`;
    /// `vjp`: `k = K' − row`; `jvp_final`: `K'`; `vjp_final`: `T'`; an implicit array is
    /// at `x*`, and its `iteration` is `K'`, the last iterate).
    pub iteration: usize,
    /// The column of the entry that differs most in that row.
    pub column: usize,
    /// The reference value of that entry.
    pub expected: f64,
    /// The submitted value.
    pub got: f64,
    /// `‖row − reference row‖` (the row's Euclidean distance, not the entry's).
    pub error: f64,
    /// The tolerance of that row.
    pub tol: f64,
    /// `(expected, submitted)` number of rows, when they differ (then no row is compared).
    pub rows: Option<(usize, usize)>,
    /// The array is stored as float32 (for a final not the last row of its array: either).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub float32: bool,
}

/// The array whose last row a final is (`jvp_final`: `jvp`; `vjp_final`: `vjp`).
fn array_of(final_: &str) -> &str {
    final_.strip_suffix("_final").unwrap_or(final_)
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some((want, got)) = self.rows {
            return write!(f, "`{}`: {got} rows, expected {want}", self.quantity);
        }
        match self.kind {
            FindingKind::Mismatch => {}
            FindingKind::Unjudgeable => {
                let what = "its reference's norm";
                return write!(
                    f,
                    "`{}` cannot be judged{}: its tolerance {:.2e} is not below half {what}, {:.2e} (less than one \
                     correct bit certified: an all-zero or negated value would pass){}",
                    self.quantity,
                    if self.float32 { " at float32 precision" } else { "" },
                    self.tol,
                    self.expected.abs(),
                    if self.float32 { "; submit it as float64" } else { "" }
                );
            }
            FindingKind::NotLastRow => {
                let array = array_of(&self.quantity);
                return write!(
                    f,
                    "`{}` is not the last row of `{array}` (row {}, k = {}): entry {}: `{array}` has {:e}, `{}` has \
                     {:e} (‖{} − last row‖ = {:.2e} > tol {:.2e}, the two arrays' tolerances)",
                    self.quantity,
                    self.row,
                    self.iteration,
                    self.column,
                    self.expected,
                    self.quantity,
                    self.got,
                    self.quantity,
                    self.error,
                    self.tol
                );
            }
        }
        if IMPLICIT.contains(&self.quantity.as_str()) {
            write!(f, "`{}` (at x*), entry {}", self.quantity, self.column)?;
        } else if self.quantity.ends_with("_final") {
            write!(f, "`{}` (k = {}), entry {}", self.quantity, self.iteration, self.column)?;
        } else {
            write!(
                f,
                "`{}` row {} (k = {}), entry ({}, {})",
                self.quantity, self.row, self.iteration, self.row, self.column
            )?;
        }
        // Shortest round-trip digits: two values that differ print differently. The error is
        // the row's Euclidean distance, the entry's own difference is printed beside it.
        let whole = if self.quantity.ends_with("_final") || IMPLICIT.contains(&self.quantity.as_str()) {
            format!("‖{} − reference‖", self.quantity)
        } else {
            "‖row − reference row‖".to_string()
        };
        write!(
            f,
            ": expected {:e}, got {:e} (entry off by {:.2e}; {whole} = {:.2e} > tol {:.2e})",
            self.expected,
            self.got,
            self.got - self.expected,
            self.error,
            self.tol
        )
    }
}

/// The claim id of forward = reverse inside a trace.
pub const FWD_REV: &str = "sec41.trunc_fwd_rev";

/// Forward = reverse inside a trace, `w · jvp_final = vjp_final · v`, with its numbers.
#[derive(Debug, Clone, Serialize)]
pub struct FwdRev {
    /// `w · jvp_final`.
    pub forward: f64,
    /// `vjp_final · v`.
    pub reverse: f64,
    /// `|forward − reverse| / max(|forward|, |reverse|)`.
    pub relative: f64,
    /// The tolerance on `|forward − reverse|`.
    pub tol: f64,
}

/// The outcome of one instance.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Outcome {
    /// Instance id.
    pub id: String,
    /// Some array of the trace was stored as float32 (each array is judged at the precision
    /// it is stored in).
    pub float32: bool,
    /// Quantities out of tolerance (the first row of each), in the order of the format.
    pub findings: Vec<Finding>,
    /// The cause of the findings, confirmed by simulation (`None` when there is none).
    pub cause: Option<Diagnosis>,
    /// Why no cause was simulated for the findings (an instance above
    /// [`super::cause::SIMULATION_LIMIT`]).
    pub cause_not_simulated: Option<String>,
    /// Claims checked on the submitted sequences (none when a row count is wrong).
    pub claims: Vec<(String, Verdict)>,
    /// Forward = reverse inside the trace, with its numbers.
    pub fwd_rev: Option<FwdRev>,
    /// The optional implicit arrays the trace holds, with their tolerances.
    pub implicit: Option<ImplicitChecked>,
    /// How each float32 array was judged (none for a float64 trace).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub precision: Vec<Judged>,
    /// The instance or its trace could not be read (exit 2): where and why.
    pub error: Option<InputError>,
    /// No trace, and `--allow-missing` was given: not checked.
    pub skipped: bool,
}

impl Outcome {
    /// Checked, with no finding, no violated claim and no claim ended in a numerical failure.
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && !self.skipped
            && self.findings.is_empty()
            && !self.claims.iter().any(|(_, v)| v.violated() || v.numerical_failure())
    }

    /// Checked and not passed.
    pub fn failed(&self) -> bool {
        self.error.is_none() && !self.skipped && !self.passed()
    }

    /// The first failure, as the report and the JUnit file give it.
    pub fn first_failure(&self) -> String {
        if let Some(e) = &self.error {
            return format!("unreadable: {e}");
        }
        if self.skipped {
            return "no trace (skipped: --allow-missing)".into();
        }
        match self.findings.first() {
            Some(f) => f.to_string(),
            None => {
                let claims = self.failed_claims();
                if claims.is_empty() {
                    "—".into()
                } else {
                    format!("claim {} on the submitted sequences", claims.join(", "))
                }
            }
        }
    }

    /// The cause of the first failure (the same comparison as [`Outcome::first_failure`]).
    /// Findings that are not a bug class ([`FindingKind::Unjudgeable`],
    /// [`FindingKind::NotLastRow`]) are named as what they are, beside the simulated cause of
    /// the others.
    pub fn cause_text(&self) -> String {
        let notes: Vec<String> = self
            .findings
            .iter()
            .filter_map(|f| match f.kind {
                FindingKind::Mismatch => None,
                FindingKind::Unjudgeable => Some(format!(
                    "not judged: the tolerance of `{}` is not below half its reference{}",
                    f.quantity,
                    if f.float32 { " at float32 precision (submit float64)" } else { "" }
                )),
                FindingKind::NotLastRow => Some(format!(
                    "the trace contradicts itself: `{}` is not the last row of `{}` (no bug class simulated)",
                    f.quantity,
                    array_of(&f.quantity)
                )),
            })
            .collect();
        if !notes.is_empty() {
            let bugs = self.findings.iter().any(|f| f.kind.is_mismatch());
            let rest = match (&self.cause, &self.cause_not_simulated) {
                (Some(d), _) if !d.confirmed.is_empty() || !d.unexplained.is_empty() => Some(d.to_string()),
                (_, Some(why)) if bugs => Some(format!("cause not simulated ({why})")),
                _ => None,
            };
            let first_is_note = self.findings.first().is_some_and(|f| !f.kind.is_mismatch());
            let mut parts = notes;
            if let Some(rest) = rest {
                if first_is_note { parts.push(rest) } else { parts.insert(0, rest) }
            }
            return parts.join("; ");
        }
        match (&self.cause, self.failed()) {
            (Some(d), _) => d.to_string(),
            (None, true) => match &self.cause_not_simulated {
                Some(why) => format!("cause not simulated ({why}): {}", self.first_failure()),
                None => format!("cause unknown: {}", self.first_failure()),
            },
            (None, false) => "—".into(),
        }
    }

    fn failed_claims(&self) -> Vec<String> {
        self.claims.iter().filter(|(_, v)| v.violated() || v.numerical_failure()).map(|(id, _)| id.clone()).collect()
    }
}

/// How one float32 array was judged: its largest tolerance relative to its reference, and
/// its largest error relative to its tolerance (the report's section "float32 arrays").
#[derive(Debug, Clone, Serialize)]
pub struct Judged {
    /// The array.
    pub quantity: String,
    /// The largest row tolerance over the reference's size (the array's largest row norm;
    /// a final's or an implicit array's own norm).
    pub tol_relative: f64,
    /// The largest `‖row − reference row‖ / tol` over its rows (above 1: out of tolerance).
    pub error_over_tol: f64,
}

/// The implicit arrays of a trace that were checked, and the numbers of their tolerance
/// ([`super::implicit`]).
#[derive(Debug, Clone, Serialize)]
pub struct ImplicitChecked {
    /// The arrays present (of `implicit_jvp`, `implicit_vjp`, `hypergrad`).
    pub arrays: Vec<String>,
    /// `κ₂(I − B)` at `x*`.
    pub cond: f64,
    /// The tolerance of each array present (absolute, at the precision it is stored in).
    pub tol: Vec<f64>,
    /// `‖Dx* v‖`, `‖wᵀDx*‖` or `‖hypergrad‖` of the reference, for each array present.
    pub scale: Vec<f64>,
}

/// Unreadable input: where (file, array or key) and why.
#[derive(Debug, Clone, Serialize)]
pub struct InputError {
    /// The file and the array or key.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl From<Error> for InputError {
    fn from(e: Error) -> Self {
        match e {
            Error::Input { location, message } => InputError { location, message },
            Error::Io { path, message } => InputError { location: path, message },
            other => InputError { location: "gate".into(), message: other.to_string() },
        }
    }
}

/// All outcomes.
#[derive(Debug, Clone, Serialize, Default)]
pub struct GateReport {
    /// One per selected manifest instance.
    pub outcomes: Vec<Outcome>,
    /// Unreadable input not tied to one instance (the manifest, an unknown trace, an
    /// unknown `--only` id).
    pub errors: Vec<InputError>,
}

impl GateReport {
    /// Every checked instance passed and nothing was unreadable.
    pub fn passed(&self) -> bool {
        self.exit_code() == 0
    }

    /// 2 when some input was unreadable, else 1 when some instance failed, else 0.
    pub fn exit_code(&self) -> u8 {
        if !self.errors.is_empty() || self.outcomes.iter().any(|o| o.error.is_some()) {
            2
        } else if self.outcomes.iter().any(Outcome::failed) {
            1
        } else {
            0
        }
    }

    /// The first unreadable input, as an error.
    pub fn first_error(&self) -> Option<Error> {
        self.errors
            .iter()
            .chain(self.outcomes.iter().filter_map(|o| o.error.as_ref()))
            .next()
            .map(|e| Error::Input { location: e.location.clone(), message: e.message.clone() })
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
    // An id names an instance's trace, its report row and its `--only` selection: two
    // entries with one id would be checked against one trace, or one of them silently not.
    let mut seen = std::collections::HashSet::new();
    if let Some(e) = manifest.instances.iter().find(|e| !seen.insert(e.id.as_str())) {
        return Err(Error::Input {
            location: format!("{}: instance `{}`", path.display(), e.id),
            message: "duplicate instance id: each id must appear once in the manifest".into(),
        });
    }
    Ok(manifest)
}

/// Which instances `gate check` checks, and within what memory.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Only these ids (`--only`); every one must be in the manifest.
    pub only: Option<Vec<String>>,
    /// An instance without a trace is skipped, not unreadable input (`--allow-missing`).
    pub allow_missing: bool,
    /// The memory limit in GiB (`--max-memory`): an instance whose [`reference_bytes`]
    /// exceed it is refused (exit 2) before anything of it is read or computed.
    pub max_memory_gib: f64,
}

impl Default for Selection {
    fn default() -> Self {
        Selection { only: None, allow_missing: false, max_memory_gib: crate::budget::DEFAULT_MAX_MEMORY_GIB }
    }
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The bytes of `count` rows of length `len` held as a `Vec<DVector<f64>>`: 8 per entry
/// plus [`crate::budget::MATRIX_IN_VEC`] per row (its header, and a `Vec` grown by doubling).
fn rows_bytes(count: f64, len: f64) -> f64 {
    count * (8.0 * len + crate::budget::MATRIX_IN_VEC)
}

/// The bytes of the rows of one trace as the reference (or one simulated bug) computes them
/// ([`TraceRows`]): `x` (`K' + 1` rows of `n`), `jvp` (`R = K' − T' + 1` rows of `n`), `vjp`
/// (`R` rows of `p`) and the two finals.
fn trace_rows_bytes(e: &Entry) -> f64 {
    let (n, p, kp) = (e.n as f64, e.p as f64, e.k_prime as f64);
    let r = kp - e.t_prime.min(e.k_prime) as f64 + 1.0;
    rows_bytes(kp + 1.0, n) + rows_bytes(r, n) + rows_bytes(r, p) + rows_bytes(2.0, n + p)
}

/// The bytes of reading the trace of `e` with the shapes of the manifest (the eight arrays
/// of the format at [`super::npz::READ_BYTES_PER_ENTRY`] each).
fn trace_file_bytes(e: &Entry) -> f64 {
    let (n, p, kp) = (e.n as f64, e.p as f64, e.k_prime as f64);
    let r = kp - e.t_prime.min(e.k_prime) as f64 + 1.0;
    super::npz::READ_BYTES_PER_ENTRY * ((kp + 1.0) * n + r * (n + p) + 2.0 * (n + p) + n + 2.0 * p)
}

/// The bytes of reading the instance file of `e` with the shapes of the manifest (`A`, `b`;
/// for a layer `W`, `U`, `bias`, `input`; `x0`, `v`, `w` and at most 16 scalars, at
/// [`super::npz::READ_BYTES_PER_ENTRY`] each).
fn instance_file_bytes(e: &Entry) -> f64 {
    let (m, cols, n, p) = (e.m as f64, e.n_cols as f64, e.n as f64, e.p as f64);
    super::npz::READ_BYTES_PER_ENTRY * (m * (cols + 1.0) + cols * (cols + m + 1.0) + 2.0 * n + p + 16.0)
}

/// An upper bound on the bytes `gate check` allocates to judge the instance `e` *without*
/// simulating a cause, from the manifest's sizes alone (`M`, `N`, `n`, `p`, `K'`, `T'`),
/// before anything is read: the instance file and the trace as read
/// ([`super::npz::READ_BYTES_PER_ENTRY`] per entry); the rebuilt instance
/// ([`crate::budget::instance_bytes`]: data, `x*`, `Dx*` and the matrices of its constants);
/// the reference trajectory (`K' + 1` iterates, a dense `n × (K' + 1)` matrix) and the
/// reference rows ([`TraceRows`]: `x`, `jvp`, `vjp` as `Vec`s of vectors); and the implicit
/// arrays' tolerance (the dense `I − B`, its LU factors and transpose, its SVD, `n × n`
/// each: `8n²`). `gate check` refuses (exit 2) an instance above `--max-memory`.
pub fn reference_bytes(e: &Entry) -> f64 {
    let (m, n, p, kp) = (e.m as f64, e.n as f64, e.p as f64, e.k_prime as f64);
    instance_file_bytes(e)
        + trace_file_bytes(e)
        + crate::budget::instance_bytes(n, p, m)
        + 8.0 * (kp + 1.0) * n
        + trace_rows_bytes(e)
        + 8.0 * (8.0 * n * n + 4.0 * (n + p))
}

/// The most candidate simulations of one failing instance kept at once by
/// [`super::cause::diagnose`] (each a full [`TraceRows`]): `sign_c`, `b_next`, four late
/// starts, `no_transpose`, `adjoint_order`, `nonzero_start`, [`FROZEN_WINDOWS`] frozen
/// windows, `detached`, two literal indices, `dropped_warm_start`, `stale_momentum`,
/// `step_size`, `momentum` (24), and the one a fit of `α` or `β` computes at a time.
///
/// [`FROZEN_WINDOWS`]: super::cause
pub const SIMULATED_TRACES: f64 = 25.0;

/// An upper bound on the bytes the cause simulations of a failing instance add to
/// [`reference_bytes`]: [`SIMULATED_TRACES`] traces ([`TraceRows`]); the trajectories they
/// run along (the reference's to `K' + 1` and its copy, one to `T' + K'` for the literal
/// index and its copy, and one for a dropped warm start, a stale state or a fitted scalar
/// with its copy: `8n(6(K' + 2) + 2(T' + K' + 1))`), the literal index's forward rows
/// (`K' + 1` of `n`), and the dense Jacobians `B_k`, `C_k` of three of them when they are
/// formed ([`super::cause::DENSE_LIMIT`] numbers each, plus a header per matrix).
pub fn simulation_bytes(e: &Entry) -> f64 {
    let (n, p, kp, tp) = (e.n as f64, e.p as f64, e.k_prime as f64, e.t_prime as f64);
    let dense = if (kp + 2.0) * n * (n + p) <= super::cause::DENSE_LIMIT as f64 {
        3.0 * (8.0 * (kp + 2.0) * n * (n + p) + 2.0 * (kp + 2.0) * crate::budget::MATRIX_IN_VEC)
    } else {
        0.0
    };
    SIMULATED_TRACES * trace_rows_bytes(e)
        + 8.0 * n * (6.0 * (kp + 2.0) + 2.0 * (tp + kp + 1.0))
        + rows_bytes(kp + 1.0, n)
        + dense
}

/// The memory plan of one selected instance: refused, or judged with or without cause
/// simulations, and the bytes it may hold at once.
struct Plan {
    refused: Option<Error>,
    simulate: bool,
    bytes: f64,
}

fn plan(e: &Entry, manifest: &Path, max_gib: f64) -> Plan {
    let base = reference_bytes(e);
    let what = format!("{}: instance `{}`", manifest.display(), e.id);
    let cause = format!(
        "K' = {}, T' = {}, n = {}, p = {}, M = {}, N = {}: the reference's trajectory, rows and the trace as read",
        e.k_prime, e.t_prime, e.n, e.p, e.m, e.n_cols
    );
    if let Err(refused) = crate::budget::check(&what, &cause, base, max_gib, crate::budget::FLAG) {
        return Plan { refused: Some(refused), simulate: false, bytes: 0.0 };
    }
    let full = base + simulation_bytes(e);
    let simulate = full <= max_gib * GIB;
    Plan { refused: None, simulate, bytes: if simulate { full } else { base } }
}

/// Checks every trace in `traces` against the instances in `instances` and returns the
/// first unreadable input (missing or corrupt files, wrong shapes or dtypes, NaN, unknown
/// traces) as an `Err`. [`run`] checks all the others too.
pub fn check(instances: &Path, traces: &Path) -> Result<GateReport> {
    let report = run(instances, traces, &Selection::default());
    match report.first_error() {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// Checks the selected traces; unreadable input is recorded in the report (exit code 2)
/// after every readable instance has been checked.
pub fn run(instances: &Path, traces: &Path, sel: &Selection) -> GateReport {
    let mut report = GateReport::default();
    let manifest = match read_manifest(instances) {
        Ok(m) => m,
        Err(e) => {
            report.errors.push(e.into());
            return report;
        }
    };
    if let Some(only) = &sel.only {
        for id in only.iter().filter(|id| !manifest.instances.iter().any(|e| &e.id == *id)) {
            report.errors.push(InputError {
                location: format!("--only {id}"),
                message: format!("no instance `{id}` in {}", instances.join("manifest.json").display()),
            });
        }
    }
    if let Err(e) = unknown_traces(&manifest, traces) {
        report.errors.push(e.into());
    }
    let max_gib = match crate::budget::check_limit(sel.max_memory_gib, crate::budget::FLAG) {
        Ok(g) => g,
        Err(e) => {
            report.errors.push(e.into());
            return report;
        }
    };
    let selected: Vec<&Entry> =
        manifest.instances.iter().filter(|e| sel.only.as_ref().is_none_or(|o| o.contains(&e.id))).collect();
    // The memory each instance may need, from the manifest's sizes, before anything is read.
    let manifest_path = instances.join("manifest.json");
    let plans: Vec<Plan> = selected.iter().map(|e| plan(e, &manifest_path, max_gib)).collect();
    let judge = |(entry, plan): (&&Entry, &Plan)| {
        let trace_path = traces.join(&entry.trace.file);
        let outcome = if let Some(refused) = &plan.refused {
            Err(refused.clone())
        } else if sel.allow_missing && !trace_path.exists() {
            Ok(Outcome { id: entry.id.clone(), skipped: true, ..Outcome::default() })
        } else {
            // Each file may take what the plan counted for it and what is left of the limit.
            let spare = max_gib * GIB - plan.bytes;
            Npz::read_within(&instances.join(&entry.file), instance_file_bytes(entry) + spare)
                .and_then(|file| Ok((file, Npz::read_within(&trace_path, trace_file_bytes(entry) + spare)?)))
                .and_then(|(file, trace)| check_one(entry, &file, &trace, plan.simulate))
        };
        outcome.unwrap_or_else(|e| Outcome { id: entry.id.clone(), error: Some(e.into()), ..Outcome::default() })
    };
    // The instances are independent: judged in parallel, reported in the manifest's order,
    // on as many threads as the largest plans fit in the limit together (the outcomes do not
    // depend on the thread count).
    let mut largest: Vec<f64> = plans.iter().map(|p| p.bytes).collect();
    largest.sort_by(|a, b| b.total_cmp(a));
    let fits = |t: usize| largest.iter().take(t).sum::<f64>() <= max_gib * GIB;
    let pairs: Vec<(&&Entry, &Plan)> = selected.iter().zip(&plans).collect();
    let outcomes: Vec<Outcome> = match crate::budget::fitting_threads(rayon::current_num_threads(), fits)
        .and_then(|t| rayon::ThreadPoolBuilder::new().num_threads(t).build().ok())
    {
        Some(pool) => pool.install(|| pairs.par_iter().map(|&p| judge(p)).collect()),
        None => pairs.par_iter().map(|&p| judge(p)).collect(),
    };
    // `--allow-missing` makes a subset checkable, not an empty one: a gate that checked no
    // trace at all (an empty or wrong traces directory) must not pass.
    if sel.allow_missing && !outcomes.is_empty() && outcomes.iter().all(|o| o.skipped) {
        report.errors.push(InputError {
            location: traces.display().to_string(),
            message: format!(
                "no trace for any of the {} selected instances: nothing was checked (--allow-missing skips some \
                 missing traces, not all)",
                outcomes.len()
            ),
        });
    }
    report.outcomes.extend(outcomes);
    report
}

fn unknown_traces(manifest: &Manifest, traces: &Path) -> Result<()> {
    let dir = std::fs::read_dir(traces).map_err(|e| io(traces, e))?;
    let mut names: Vec<String> = dir.flatten().map(|f| f.file_name().to_string_lossy().to_string()).collect();
    names.sort();
    for name in names {
        if name.ends_with(".npz") && !manifest.instances.iter().any(|e| e.trace.file == name) {
            return Err(Error::Input {
                location: traces.join(&name).display().to_string(),
                message: "a trace for an unknown instance (not in manifest.json)".into(),
            });
        }
    }
    Ok(())
}

fn reference(inst: &DynInstance, traj: &Trajectory, e: &Entry, v: &DVector<f64>, w: &DVector<f64>) -> TraceRows {
    let x = (0..=e.k_prime).map(|k| traj.x(k).into_owned()).collect();
    let mut jvp = Vec::with_capacity(e.k_prime - e.t_prime + 1);
    let zero = DVector::zeros(e.n);
    late_start_jvp(&inst.map, traj, e.t_prime, e.k_prime - e.t_prime, v.as_view(), zero.as_view(), |_, xv| {
        jvp.push(xv.clone())
    });
    let mut vjp = Vec::with_capacity(e.k_prime - e.t_prime + 1);
    truncated_vjp(&inst.map, traj, e.k_prime, e.t_prime, w.as_view(), |_, ub, _| vjp.push(ub.clone()));
    let (jvp_final, vjp_final) = (jvp[jvp.len() - 1].clone(), vjp[vjp.len() - 1].clone());
    TraceRows { x, jvp, vjp, jvp_final, vjp_final }
}

/// Compares `got` with the reference rows `want`: the first row out of tolerance, or the
/// wrong number of rows.
fn compare(
    name: &str,
    got: &Array,
    want: &[DVector<f64>],
    iteration: impl Fn(usize) -> usize,
    tol: impl Fn(usize) -> f64,
) -> Option<Finding> {
    let rows = if got.shape.len() == 2 { got.shape[0] } else { 1 };
    if rows != want.len() {
        let row = rows.min(want.len());
        return Some(Finding {
            quantity: name.into(),
            row,
            iteration: iteration(row),
            column: 0,
            expected: want.len() as f64,
            got: rows as f64,
            error: 0.0,
            tol: 0.0,
            rows: Some((want.len(), rows)),
            kind: FindingKind::Mismatch,
            float32: got.float32,
        });
    }
    want.iter().enumerate().find_map(|(i, r)| {
        let row = if got.shape.len() == 2 { got.row(i) } else { &got.data[..] };
        let diff: Vec<f64> = row.iter().zip(r.iter()).map(|(a, b)| a - b).collect();
        let error = diff.iter().map(|d| d * d).sum::<f64>().sqrt();
        // A NaN error is a mismatch, never a pass.
        (error.is_nan() || error > tol(i)).then(|| {
            let column = crate::unroll::argmax(&diff.iter().map(|d| d.abs()).collect::<Vec<_>>());
            Finding {
                quantity: name.into(),
                row: i,
                iteration: iteration(i),
                column,
                expected: r[column],
                got: row[column],
                error,
                tol: tol(i),
                rows: None,
                kind: FindingKind::Mismatch,
                float32: got.float32,
            }
        })
    })
}

/// The largest `‖row − reference row‖ / tol(row)` of `got` (rows of the reference's shape).
fn error_over_tol(got: &Array, want: &[DVector<f64>], tol: impl Fn(usize) -> f64) -> f64 {
    want.iter()
        .enumerate()
        .map(|(i, r)| {
            let row = if got.shape.len() == 2 { got.row(i) } else { &got.data[..] };
            row.iter().zip(r.iter()).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt() / tol(i)
        })
        .fold(0.0, f64::max)
}

/// The [`FindingKind::Unjudgeable`] finding of `quantity` when its largest tolerance `tol` is
/// not below half its reference's size `reference` ([`precision::judgeable`]).
fn unjudgeable(quantity: &str, iteration: usize, tol: f64, reference: f64, float32: bool) -> Option<Finding> {
    (!judgeable(tol, reference)).then(|| Finding {
        kind: FindingKind::Unjudgeable,
        quantity: quantity.into(),
        row: 0,
        iteration,
        column: 0,
        expected: reference,
        got: 0.0,
        error: 0.0,
        tol,
        rows: None,
        float32,
    })
}

/// The [`FindingKind::NotLastRow`] finding when the final `fin` (`jvp_final`, `vjp_final`)
/// differs from the last row of its array `rows` by more than `tol`, the sum of the two
/// arrays' tolerances (the format defines the final as that row). `None` when the shapes do
/// not allow the comparison (a wrong row count is its own finding).
fn not_last_row(name: &str, fin: &Array, rows: &Array, iteration: usize, tol: f64) -> Option<Finding> {
    let last = rows.shape.first().copied().filter(|&r| r > 0 && rows.shape.len() == 2)? - 1;
    let row = rows.row(last);
    if row.len() != fin.data.len() {
        return None;
    }
    let diff: Vec<f64> = fin.data.iter().zip(row).map(|(a, b)| a - b).collect();
    let error = diff.iter().map(|d| d * d).sum::<f64>().sqrt();
    (error.is_nan() || error > tol).then(|| {
        let column = crate::unroll::argmax(&diff.iter().map(|d| d.abs()).collect::<Vec<_>>());
        Finding {
            kind: FindingKind::NotLastRow,
            quantity: name.into(),
            row: last,
            iteration,
            column,
            expected: row[column],
            got: fin.data[column],
            error,
            tol,
            rows: None,
            float32: fin.float32 || rows.float32,
        }
    })
}

/// The trace arrays with the dtype, dimensions and columns the format requires and finite
/// entries; the number of rows of `x`, `jvp` and `vjp` is checked by the comparison.
fn submitted<'a>(trace: &'a Npz, e: &Entry) -> Result<Submitted<'a>> {
    let s = &e.trace.arrays;
    Ok([
        trace.get_rows("x", s.x[1])?,
        trace.get_rows("jvp", s.jvp[1])?,
        trace.get_rows("vjp", s.vjp[1])?,
        trace.get("jvp_final", &s.jvp_final)?,
        trace.get("vjp_final", &s.vjp_final)?,
    ])
}

/// The arrays a trace may hold: [`QUANTITIES`] and the optional [`IMPLICIT`] ones. Any other
/// name is refused (a misspelled optional array would otherwise silently not be checked).
pub fn known_arrays() -> Vec<&'static str> {
    QUANTITIES.iter().chain(IMPLICIT.iter()).copied().collect()
}

fn unknown_arrays(trace: &Npz) -> Result<()> {
    let known = known_arrays();
    match trace.names().find(|name| !known.contains(name)) {
        None => Ok(()),
        Some(name) => Err(Error::Input {
            location: format!("{}: array `{name}`", trace.path()),
            message: format!(
                "unknown array: a trace holds {} and optionally {} (docs/gate.md, \"Traces\"); remove or rename it \
                 (a misspelled array would not be checked)",
                QUANTITIES.map(|q| format!("`{q}`")).join(", "),
                IMPLICIT.map(|q| format!("`{q}`")).join(", ")
            ),
        }),
    }
}

/// The arrays of an instance file that set its step: what a refusal for divergence names.
fn step_arrays(e: &Entry) -> &'static str {
    match (e.family.as_str(), e.method.as_str()) {
        ("layer", _) => "W",
        (_, "chebyshev") => "mu`, `L",
        (_, "heavy_ball" | "nesterov" | "fista") => "alpha`, `beta",
        _ => "alpha",
    }
}

/// Refuses an instance whose iteration does not converge to its fixed point, or whose
/// reference is not finite: no verdict is given against a reference that diverged.
/// `B = D_x A(x*, u)` (of the limit map for a time-varying method) must have a spectral radius
/// `< 1` — the condition for the iterates near `x*` to converge to it, which every exported
/// instance meets (a Euclidean contraction, `ρ < 1`, is more: heavy-ball and Nesterov do not
/// have it in the Euclidean norm) — and every row of the reference must be finite.
fn convergent(e: &Entry, file: &Npz, inst: &DynInstance) -> Result<()> {
    let radius = inst.constants.map.spectral_radius;
    let scalars: Vec<String> = ["alpha", "beta", "mu", "L"]
        .iter()
        .filter_map(|q| file.raw(q).filter(|a| a.shape.is_empty()).map(|a| format!("{q} = {:e}", a.scalar())))
        .collect();
    if radius.is_nan() || radius >= 1.0 {
        return Err(Error::Input {
            location: format!("{}: array `{}`", file.path(), step_arrays(e)),
            message: format!(
                "out of the convergence range: the spectral radius of B = D_x A(x*, u) at the fixed point is {radius:e} \
                 (it must be < 1 for the iterates to converge to x*){}; the reference diverges, so the instance is \
                 not judged",
                if scalars.is_empty() { String::new() } else { format!(" with {}", scalars.join(", ")) }
            ),
        });
    }
    if let Some((what, value)) = [("x*", inst.x_star.as_slice()), ("Dx*", inst.dx_star.as_slice())]
        .into_iter()
        .find_map(|(what, values)| values.iter().find(|v| !v.is_finite()).map(|v| (what, *v)))
    {
        return Err(Error::Input {
            location: format!("{}: array `{}`", file.path(), step_arrays(e)),
            message: format!("the reference's {what} holds {value}: not finite, so the instance is not judged"),
        });
    }
    Ok(())
}

/// The shortest run whose convergence to `x*` [`reaches_fixed_point`] judges: its two last
/// quarters must hold at least two steps each.
pub const SHORTEST_JUDGED_RUN: usize = 8;

/// Whether the reference run `traj` (of `k_prime` steps) reaches the fixed point `x*`:
/// `None` when it does, else what it does instead. The spectral radius `r < 1` of
/// `B = D_x A(x*, u)` (the rule before it) only says that iterates *near* `x*` converge to it; a
/// run from `x_0` may settle elsewhere (a momentum method on a non-quadratic objective can
/// have a stable cycle: the large `--accelerated` set's Chebyshev instance on pseudo-Huber
/// settled 1.6 from `x*`). With `e_k = ‖x_k − x*‖`, the run's distance to `x*` must shrink
/// over its end: the largest `e_k` over its last quarter, `k ∈ [⌈3K'/4⌉, K']`, at most `√r`
/// times the largest over the quarter before, `k ∈ [⌊K'/2⌋, ⌈3K'/4⌉]` — half of one
/// contraction step over a quarter of the run (the maxima over windows, so that the phase
/// of an oscillation or of a cycle does not count). A run converging to `x*` at the
/// contraction's rate shrinks it by `r^{K'/4}`, i.e. `K'/4 ≥ 2` steps' worth; a stalled run
/// (a cycle, another attractor) by nothing: the cut at half a step is far from both (on the
/// exported sets and the `verify/` scenarios the converging runs make at least 0.84 of a
/// step's worth, the Chebyshev cycle 0.014). A run already within rounding of `x*` passes:
/// `e_k` at most twice the rounding model's bound for a recursion of `K'` steps on
/// quantities of the size of the iterates, plus the fixed point's error bound
/// `x_star_error` (a warm start, `x_0 = x*`, never moves). Runs shorter than
/// [`SHORTEST_JUDGED_RUN`] steps are not judged by it.
pub fn reaches_fixed_point(inst: &DynInstance, traj: &Trajectory, k_prime: usize) -> Option<String> {
    if k_prime < SHORTEST_JUDGED_RUN {
        return None;
    }
    let dist: Vec<f64> = (0..=k_prime).map(|k| (traj.x(k) - &inst.x_star).norm()).collect();
    let (half, quarter) = (k_prime / 2, (3 * k_prime).div_ceil(4));
    let largest = |a: usize, b: usize| dist[a..=b].iter().copied().fold(0.0f64, f64::max);
    let (before, last) = (largest(half, quarter), largest(quarter, k_prime));
    let scale = (0..=k_prime).map(|k| traj.x(k).norm()).fold(inst.x_star.norm(), f64::max);
    let rho = if inst.constants.contraction() { inst.constants.rho() } else { 1.0 };
    let rounding = 2.0 * ToleranceModel::default().recursion(k_prime, inst.x0.len(), scale, rho) + inst.x_star_error;
    let r = inst.constants.map.spectral_radius;
    if last <= rounding || last <= r.sqrt() * before {
        return None;
    }
    Some(format!(
        "the reference run does not reach x*: its largest distance to x* over the last quarter (k = {quarter}..{k_prime}) \
         is {last:.3e}, over the quarter before (k = {half}..{quarter}) {before:.3e}, a ratio {:.4} above √r = {:.4} \
         (r = {r:.4}, the spectral radius at x*: half of one contraction step over a quarter of the run), with \
         ‖x_0 − x*‖ = {:.3e} and the last step ‖x_{{K'}} − x_{{K'−1}}‖ = {:.3e}; the iteration settles away from x* \
         (a cycle or another attractor), so the instance is not judged",
        last / before,
        r.sqrt(),
        dist[0],
        (traj.x(k_prime) - traj.x(k_prime - 1)).norm()
    ))
}

/// Refuses a reference (or a tolerance) that is not finite, naming the first row that is not.
fn finite_reference(e: &Entry, file: &Npz, r: &TraceRows, tol: &Tolerance) -> Result<()> {
    for q in ["x", "jvp", "vjp"] {
        let rows = r.rows(q);
        let bad = rows
            .iter()
            .enumerate()
            .find(|(i, row)| row.iter().any(|v| !v.is_finite()) || !tol.row(q, *i, false).is_finite());
        if let Some((i, row)) = bad {
            let what =
                if row.iter().any(|v| !v.is_finite()) { "overflowed (not finite)" } else { "has no finite tolerance" };
            return Err(Error::Input {
                location: format!("{}: array `{}`", file.path(), step_arrays(e)),
                message: format!(
                    "the reference `{q}` {what} at row {i}: the iteration diverges with this instance's data, so it \
                     is not judged"
                ),
            });
        }
    }
    Ok(())
}

fn check_one(e: &Entry, file: &Npz, trace: &Npz, simulate: bool) -> Result<Outcome> {
    // The trace first (its names, dtypes, columns, finite entries): nothing is computed for
    // a trace that cannot be judged.
    unknown_arrays(trace)?;
    let sub = submitted(trace, e)?;
    let mut float32 = sub.iter().any(|a| a.float32);
    // The optional implicit arrays: each present one must have its shape (else exit 2).
    let present: Vec<(&str, &Array)> = IMPLICIT
        .iter()
        .zip([e.n, e.p, e.p])
        .filter(|(q, _)| trace.raw(q).is_some())
        .map(|(&q, len)| trace.get(q, &[len]).map(|a| (q, a)))
        .collect::<Result<_>>()?;
    let (inst, v, w) = rebuild(e, file)?;
    convergent(e, file, &inst)?;
    let traj = Trajectory::run(&inst.map, &inst.x0, e.k_prime);
    if let Some(why) = reaches_fixed_point(&inst, &traj, e.k_prime) {
        let location = format!("{}: arrays `x0`, `{}`", file.path(), step_arrays(e));
        return Err(Error::Input { location, message: why });
    }
    let r = reference(&inst, &traj, e, &v, &w);
    let rho = if inst.constants.contraction() { inst.constants.rho() } else { 1.0 };
    let norm_max = |rows: &[DVector<f64>]| rows.iter().map(|r| r.norm()).fold(f64::MIN_POSITIVE, f64::max);
    let tol = Tolerance {
        model: ToleranceModel::default(),
        d: e.n + e.p,
        d32: precision::step_length(e.m, e.n_cols),
        rho,
        scale: [norm_max(&r.x).max(inst.x_star.norm()), norm_max(&r.jvp), norm_max(&r.vjp)],
        last: e.k_prime - e.t_prime,
    };
    finite_reference(e, file, &r, &tol)?;
    let (tp, kp) = (e.t_prime, e.k_prime);
    let iteration = |q: &str, i: usize| match q {
        "x" => i,
        "jvp" => tp + i,
        "vjp" => kp.saturating_sub(i),
        "jvp_final" => kp,
        _ => tp,
    };
    // Each array is judged at the precision it is stored in: one array cast to float32 does
    // not loosen the tolerance of the others (a float64 array claims float64 accuracy).
    let mut findings: Vec<Finding> = Vec::new();
    let mut judged: Vec<Judged> = Vec::new();
    for (i, (&q, a)) in QUANTITIES.iter().zip(sub.iter()).enumerate() {
        let want = r.rows(q);
        let found = compare(q, a, want, |i| iteration(q, i), |i| tol.row(q, i, a.float32));
        let shaped = found.as_ref().is_none_or(|f| f.rows.is_none());
        findings.extend(found);
        if !shaped {
            continue;
        }
        // A comparison that certifies less than one bit judges nothing: not passed.
        let (largest, size) = if q.ends_with("_final") {
            (tol.row(q, 0, a.float32), want[0].norm())
        } else {
            (tol.largest(q, want.len(), a.float32), tol.scale(q))
        };
        findings.extend(unjudgeable(q, iteration(q, want.len().saturating_sub(1)), largest, size, a.float32));
        if a.float32 {
            let ratio = error_over_tol(a, want, |i| tol.row(q, i, true));
            judged.push(Judged { quantity: q.into(), tol_relative: largest / size, error_over_tol: ratio });
        }
        // A final is the last row of its array (the format): within the two tolerances.
        if i >= 3 {
            let rows = sub[i - 2];
            let (array, last) = (array_of(q), rows.shape.first().copied().unwrap_or(0).saturating_sub(1));
            let both = tol.row(q, 0, a.float32) + tol.row(array, last, rows.float32);
            findings.extend(not_last_row(q, a, rows, iteration(array, last), both));
        }
    }
    float32 |= present.iter().any(|(_, a)| a.float32);
    let mut implicit_checked = None;
    let mut implicit_ref = None;
    if !present.is_empty() {
        let d_step = precision::step_length(e.m, e.n_cols);
        let itol = implicit::tolerance(
            &*inst.map,
            &inst.x_star,
            inst.x_star_error,
            &inst.constants,
            (e.n_cols, d_step),
            (&v, &w),
        )?;
        let reference = ImplicitRows::reference(&inst.dx_star, &inst.x_star, e.n_cols, &v, &w);
        if let Some(q) = IMPLICIT.iter().find(|q| !itol.of(q, false).is_finite()) {
            return Err(Error::Input {
                location: format!("{}: array `{}`", file.path(), step_arrays(e)),
                message: format!(
                    "the tolerance of `{q}` is not finite (κ₂(I − B) = {:e}): the implicit arrays cannot be judged",
                    itol.cond
                ),
            });
        }
        for &(q, a) in &present {
            let (want, t) = (reference.rows(q), itol.of(q, a.float32));
            findings.extend(compare(q, a, want, |_| kp, |_| t));
            findings.extend(unjudgeable(q, kp, t, want[0].norm(), a.float32));
            if a.float32 {
                let ratio = error_over_tol(a, want, |_| t);
                judged.push(Judged { quantity: q.into(), tol_relative: t / want[0].norm(), error_over_tol: ratio });
            }
        }
        implicit_checked = Some(ImplicitChecked {
            arrays: present.iter().map(|(q, _)| q.to_string()).collect(),
            cond: itol.cond,
            tol: present.iter().map(|(q, a)| itol.of(q, a.float32)).collect(),
            scale: present.iter().map(|(q, _)| reference.rows(q)[0].norm()).collect(),
        });
        implicit_ref = Some((itol, reference));
    }
    // The simulations' work grows with the dense Jacobians' size: bounded, as the report says.
    let dense = (e.k_prime + 1) * e.n * (e.n + e.p);
    // Only mismatches are evidence of a bug class: an array that cannot be judged is not, nor
    // is a final that is not the last row of its array (the trace contradicts itself; the
    // final's own mismatch is simulated: a bug class may write such a final, [literal_index]).
    let bugs: Vec<&str> = findings.iter().filter(|f| f.kind.is_mismatch()).map(|f| f.quantity.as_str()).collect();
    let cause_not_simulated = (!bugs.is_empty() && (dense > SIMULATION_LIMIT || !simulate)).then(|| {
        if dense > SIMULATION_LIMIT {
            format!(
                "its Jacobians B_k, C_k hold {dense} numbers, above the {SIMULATION_LIMIT} up to which causes are \
                 simulated"
            )
        } else {
            format!(
                "the simulations would need an estimated {:.2} GiB more, beyond the --max-memory limit",
                simulation_bytes(e) / GIB
            )
        }
    });
    let cause = (!bugs.is_empty() && cause_not_simulated.is_none()).then(|| {
        let (unrolled, implicit_failing): (Vec<&str>, Vec<&str>) = bugs.iter().partition(|q| !IMPLICIT.contains(q));
        let mut d = Diagnosis::default();
        if !unrolled.is_empty() {
            let setup = Setup { entry: e, file, map: &inst.map, x0: &inst.x0, v: &v, w: &w, tol: &tol };
            d = diagnose(&setup, &r, &sub, &unrolled);
        }
        if let (false, Some((itol, reference))) = (implicit_failing.is_empty(), &implicit_ref) {
            let x_last = &r.x[e.k_prime];
            let setup = ImplicitSetup {
                map: &*inst.map,
                x_star: &inst.x_star,
                x_last,
                half: e.n_cols,
                v: &v,
                w: &w,
                tol: itol,
            };
            let di = implicit::diagnose(&setup, reference, &present, &implicit_failing);
            if unrolled.is_empty() {
                d = di;
            } else {
                d.confirmed.extend(di.confirmed);
                d.unexplained.extend(di.unexplained);
            }
        }
        d
    });
    if findings.iter().any(|f| f.rows.is_some()) {
        // The claims index the rows by iteration: not run on arrays of the wrong length.
        return Ok(Outcome {
            id: e.id.clone(),
            float32,
            findings,
            cause,
            cause_not_simulated,
            implicit: implicit_checked,
            precision: judged,
            ..Outcome::default()
        });
    }
    let [x, jvp, _, jvp_final, vjp_final] = sub;
    let reference = r.jvp_final.dot(&w);
    let (claims, fwd_rev) = trace_claims(e, &inst, x, jvp, (jvp_final, vjp_final), (&v, &w), reference);
    Ok(Outcome {
        id: e.id.clone(),
        float32,
        findings,
        cause,
        cause_not_simulated,
        claims,
        fwd_rev: Some(fwd_rev),
        implicit: implicit_checked,
        precision: judged,
        ..Outcome::default()
    })
}

/// The tolerance of a claim reading `arrays`: its float64 tolerance `float64`, plus, when one
/// of them is stored as float32, the float32 bound `float32()` of the client's recursion
/// ([`precision::float32_recursion`]). A claim's tolerance is the rounding of the arrays *it
/// reads* (their recursion and their storage): another array of the trace stored as float32
/// does not enter it.
pub fn claim_tol(arrays: &[&Array], float64: f64, float32: impl Fn() -> f64) -> f64 {
    if arrays.iter().any(|a| a.float32) { float64 + float32() } else { float64 }
}

/// The claims on the submitted sequences: (8) on the iterates, (21) on the late-started
/// JVPs (`‖(Ẋ − Dx*)v‖ ≤ ‖Ẋ − Dx*‖` for a unit `v`), and forward = reverse inside the trace.
/// Each at the precision of the arrays it reads ([`claim_tol`]): `thm2.rate` reads `x`,
/// `thm8.bound` reads `jvp`, `sec41.trunc_fwd_rev` reads `jvp_final` and `vjp_final`.
/// Forward = reverse whose tolerance is not below half `|w · Dv|` of the reference
/// (`reference`, [`precision::judgeable`]) is not judged: *not applicable*, never *holds*
/// (the finals it reads are judged against the reference and against the last rows of
/// their arrays: a wrong final fails there).
fn trace_claims(
    e: &Entry,
    inst: &DynInstance,
    x: &Array,
    jvp: &Array,
    finals: (&Array, &Array),
    vw: (&DVector<f64>, &DVector<f64>),
    reference: f64,
) -> (Vec<(String, Verdict)>, FwdRev) {
    let model = ToleranceModel::default();
    let c = &inst.constants;
    let d32 = precision::step_length(e.m, e.n_cols);
    let mut out = Vec::new();
    let (jf, vf) = finals;
    let a: f64 = jf.data.iter().zip(vw.1.iter()).map(|(p, q)| p * q).sum();
    let b: f64 = vf.data.iter().zip(vw.0.iter()).map(|(p, q)| p * q).sum();
    let scale = jf.data.iter().map(|v| v.abs()).sum::<f64>() + vf.data.iter().map(|v| v.abs()).sum::<f64>();
    let tol = claim_tol(&[jf, vf], model.recursion(e.k_prime, e.n + e.p, scale, 1.0), || {
        precision::float32_recursion(e.k_prime, d32, scale, 1.0)
    });
    let relative = (a - b).abs() / a.abs().max(b.abs()).max(f64::MIN_POSITIVE);
    let numbers = FwdRev { forward: a, reverse: b, relative, tol };
    let float32 = jf.float32 || vf.float32;
    let verdict = if !judgeable(tol, reference.abs()) {
        Verdict::NotApplicable {
            assumption: "a tolerance below half the reference",
            reason: format!(
                "not judged{}: the tolerance {tol:.2e} of w · jvp_final = vjp_final · v is not below half |w · Dv| = \
                 {:.2e} of the reference (w · jvp_final = {a:.17e}, vjp_final · v = {b:.17e})",
                if float32 { " at float32 precision" } else { "" },
                reference.abs()
            ),
            observed: None,
        }
    } else {
        let mut ch = Checker::new(FWD_REV, "trace", None);
        ch.equal(Point { k: e.k_prime, t: Some(e.t_prime) }, a - b, tol);
        ch.verdict()
    };
    out.push((FWD_REV.to_string(), verdict));
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
        return (out, numbers);
    }
    let (rho, gamma) = (c.rho(), c.gamma.value);
    let xs = &inst.x_star;
    let e_k = |k: usize| x.row(k).iter().zip(xs.iter()).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
    let sx = xs.norm() + e_k(0);
    let mut rate = Checker::new("thm2.rate", "trace", None);
    // From k = 1: at k = 0 both sides are e_0 by definition (a margin of 0 that says nothing).
    for k in 1..=e.k_prime {
        let tol = claim_tol(&[x], 2.0 * model.recursion(k, e.n + e.p, sx, rho) + 2.0 * inst.x_star_error, || {
            precision::float32_recursion(k, d32, sx, rho)
        });
        rate.leq(Point { k, t: None }, e_k(k), rho.powi(k as i32) * e_k(0), tol);
    }
    out.push(("thm2.rate".into(), rate.verdict()));
    let target = &inst.dx_star * vw.0;
    let mut bound = Checker::new("thm8.bound", "trace", None);
    // From j = 1: at j = 0, ‖Dx* v‖ ≤ ‖Dx*‖ holds by definition (with equality for p = 1).
    for j in 1..jvp.shape[0] {
        let err = jvp.row(j).iter().zip(target.iter()).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
        let rhs = rhs_21(j as f64, e.t_prime as f64, rho, c.dx_star_norm, gamma, e_k(0));
        let size = c.dx_star_norm.max(err);
        let tol = claim_tol(&[jvp], 2.0 * model.recursion(j, e.n + e.p, size, rho), || {
            precision::float32_recursion(j, d32, size, rho)
        });
        bound.leq(Point { k: j, t: Some(e.t_prime) }, err, rhs, tol);
    }
    out.push(("thm8.bound".into(), bound.verdict()));
    (out, numbers)
}

/// Writes the Markdown report `md` as `dir/report.md` (refusing a directory holding output
/// that is not a gate report) and the JUnit XML of `report` to `junit`, when asked (refusing
/// a path that is not absent or a JUnit report of the gate: [`check_targets`]). Each file is
/// written to a temporary file beside it and renamed into place, so that it is never
/// half-written.
pub fn write(report: &GateReport, md: &str, dir: Option<&Path>, junit: Option<&Path>) -> Result<()> {
    check_targets(dir, junit)?;
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Io { path: dir.display().to_string(), message: e.to_string() })?;
        write_atomically(&dir.join("report.md"), md)?;
    }
    if let Some(path) = junit {
        write_atomically(path, &self::junit(report)?)?;
    }
    Ok(())
}

/// Checks, before anything runs and again before writing, where `gate check` will write:
/// `dir` (`--out`) must be absent, empty or hold a gate report (a `report.md` starting with
/// [`TITLE`]); `junit` (`--junit`) must be absent or a regular file holding a JUnit report
/// this tool wrote ([`is_own_junit`]). Otherwise an [`Error::Input`] naming the flag and the
/// path; nothing is touched.
pub fn check_targets(dir: Option<&Path>, junit: Option<&Path>) -> Result<()> {
    if let Some(dir) = dir {
        crate::report::ensure_ours(dir, "report.md", |t| t.starts_with(TITLE))?;
    }
    let Some(path) = junit else { return Ok(()) };
    let refuse = |why: &str| Error::Input {
        location: "--junit".to_string(),
        message: format!("{}: {why}; nothing was written: choose another path or remove it", path.display()),
    };
    // The `--out` directory is the report's: the JUnit file inside it (its `report.md`, or
    // any other path there) or in its place would overwrite the report or be taken for it.
    if let Some(dir) = dir
        && resolved(path).starts_with(resolved(dir))
    {
        return Err(Error::Input {
            location: "--junit".to_string(),
            message: format!(
                "{}: is the --out directory {} or inside it, which holds the report this run writes; nothing was \
                 written: write the JUnit file outside it",
                path.display(),
                dir.display()
            ),
        });
    }
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(refuse(&e.to_string())),
        Ok(m) if m.is_dir() => Err(refuse("is a directory, not the path of the JUnit XML file to write")),
        Ok(m) if !m.is_file() => Err(refuse("is not a regular file (a symbolic link or a special file)")),
        Ok(_) => match std::fs::read_to_string(path) {
            Ok(text) if is_own_junit(&text) => Ok(()),
            _ => Err(refuse(&format!(
                "exists and is not a JUnit report of `unrollcheck gate check` (it does not start with \
                 `{JUNIT_XML_DECLARATION}` and `{JUNIT_ROOT}`), so it is not overwritten"
            ))),
        },
    }
}

/// `path` made absolute, with `.` and `..` resolved and symbolic links resolved in the part
/// of it that exists (so that two spellings of one path compare equal, whether or not the
/// file exists yet).
fn resolved(path: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = std::path::PathBuf::new();
    for c in absolute.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
        // A prefix that exists is replaced by its canonical form (symbolic links resolved).
        if let Ok(real) = std::fs::canonicalize(&out) {
            out = real;
        }
    }
    out
}

/// The first line of the JUnit XML the gate writes.
pub const JUNIT_XML_DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// The start of the second line of the JUnit XML the gate writes (its root element).
pub const JUNIT_ROOT: &str = r#"<testsuites name="unrollcheck" "#;

/// The start of the gate's test suite in its JUnit XML (the third line, indented).
const JUNIT_SUITE: &str = r#"<testsuite name="unrollcheck-gate" "#;

/// `true` when `text` is a JUnit report as [`junit`] writes it: its first line is
/// [`JUNIT_XML_DECLARATION`], its second starts with [`JUNIT_ROOT`], and its third, once
/// indented, starts with the gate's suite `<testsuite name="unrollcheck-gate" `. A file of
/// another tool (another root name or suite name), or anything else, is not.
pub fn is_own_junit(text: &str) -> bool {
    let mut lines = text.lines();
    lines.next() == Some(JUNIT_XML_DECLARATION)
        && lines.next().is_some_and(|l| l.starts_with(JUNIT_ROOT))
        && lines.next().is_some_and(|l| l.trim_start().starts_with(JUNIT_SUITE))
}

/// Writes `text` to `path` through a temporary file in the same directory
/// (`.<file name>.tmp-<pid>-<nanos>`, created new), renamed over `path`; the temporary file
/// is removed on failure.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let io = |p: &Path, e: std::io::Error| Error::Io { path: p.display().to_string(), message: e.to_string() };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}-{nanos}", std::process::id()));
    // `create_new`: never a file that exists; only the file created here is ever removed.
    // Created and renamed under the interrupt lock, registered in between: a signal removes
    // it (`report::interrupt`).
    let mut file = {
        let mut owned = crate::report::interrupt::lock();
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp).map_err(|e| io(&tmp, e))?;
        owned.push(tmp.clone());
        file
    };
    let written = std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| io(&tmp, e)).and_then(|()| {
        crate::report::test_pause();
        let mut owned = crate::report::interrupt::lock();
        let renamed = std::fs::rename(&tmp, path).map_err(|e| io(path, e));
        if renamed.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        crate::report::interrupt::forget(&mut owned, &tmp);
        renamed
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
        crate::report::interrupt::forget(&mut crate::report::interrupt::lock(), &tmp);
    }
    crate::report::interrupt::stop_if_interrupted();
    written
}

/// The first line of a gate report (how a later run recognises its own `--out`).
pub const TITLE: &str = "# unrollcheck gate report";

/// The Markdown report of a gate run.
pub fn markdown(report: &GateReport) -> String {
    use std::fmt::Write;
    let mut md = format!("{TITLE}\n\n");
    writeln!(md, "{}\n", headline(report)).ok();
    if !report.errors.is_empty() {
        writeln!(md, "Unreadable input (exit code 2):\n").ok();
        for e in &report.errors {
            writeln!(md, "- {e}").ok();
        }
        writeln!(md).ok();
    }
    writeln!(md, "| instance | precision | result | first failure | cause |\n|---|---|---|---|---|").ok();
    for o in &report.outcomes {
        let claims = o.failed_claims();
        let result = if o.error.is_some() {
            "**UNREADABLE**".to_string()
        } else if o.skipped {
            "skipped".into()
        } else if o.passed() {
            "pass".into()
        } else if claims.is_empty() {
            "**FAIL**".into()
        } else {
            format!("**FAIL** (claims: {})", claims.join(", "))
        };
        let precision = if o.float32 { "float32" } else { "float64" };
        let cells = [o.first_failure(), o.cause_text()].map(|c| c.replace('|', "\\|"));
        writeln!(md, "| `{}` | {precision} | {result} | {} | {} |", o.id, cells[0], cells[1]).ok();
    }
    if report.outcomes.iter().any(|o| o.implicit.is_some()) {
        writeln!(md, "\n## Implicit differentiation\n").ok();
        for o in &report.outcomes {
            if let Some(i) = &o.implicit {
                let each: Vec<String> = (0..i.arrays.len())
                    .map(|j| format!("`{}` (tol {:.1e}, norm {:.2e})", i.arrays[j], i.tol[j], i.scale[j]))
                    .collect();
                writeln!(md, "- `{}`: κ₂(I − B) = {:.2e}; {}", o.id, i.cond, each.join(", ")).ok();
            }
        }
    }
    if report.outcomes.iter().any(|o| !o.precision.is_empty()) {
        writeln!(
            md,
            "\n## float32 arrays\n\nEach float32 array's largest tolerance relative to its reference (the \
             probabilistic float32 model, `gate::precision`; at 0.5 or above it cannot be judged) and its largest \
             error relative to that tolerance (above 1: out of tolerance).\n"
        )
        .ok();
        for o in report.outcomes.iter().filter(|o| !o.precision.is_empty()) {
            let each: Vec<String> = o
                .precision
                .iter()
                .map(|j| format!("`{}` (tol {:.1e}, error/tol {:.1e})", j.quantity, j.tol_relative, j.error_over_tol))
                .collect();
            writeln!(md, "- `{}`: {}", o.id, each.join(", ")).ok();
        }
    }
    writeln!(md, "\n## Claims on the submitted sequences\n").ok();
    for o in &report.outcomes {
        for (id, v) in &o.claims {
            match (&o.fwd_rev, id.as_str(), v.holds()) {
                // An equality that holds: its largest relative difference, not a margin.
                (Some(n), "sec41.trunc_fwd_rev", true) => writeln!(
                    md,
                    "- `{}` `{id}`: holds: w · jvp_final = {:.17e}, vjp_final · v = {:.17e}, largest relative \
                     difference {:.1e} (tol {:.1e} absolute)",
                    o.id, n.forward, n.reverse, n.relative, n.tol
                ),
                _ => writeln!(md, "- `{}` `{id}`: {}", o.id, claim_text(o, id, v)),
            }
            .ok();
        }
    }
    md
}

/// A claim's verdict as the report and the JUnit file give it: a violated forward = reverse
/// with both sides and their relative difference.
fn claim_text(o: &Outcome, id: &str, v: &Verdict) -> String {
    match (&o.fwd_rev, id == FWD_REV && v.violated()) {
        (Some(n), true) => format!(
            "{v}: w · jvp_final = {:.17e}, vjp_final · v = {:.17e}, largest relative difference {:.1e} (tol {:.1e} \
             absolute)",
            n.forward, n.reverse, n.relative, n.tol
        ),
        _ => v.to_string(),
    }
}

/// One line: how many instances pass, fail, are unreadable or skipped, and the exit code.
pub fn headline(report: &GateReport) -> String {
    let count = |f: fn(&Outcome) -> bool| report.outcomes.iter().filter(|o| f(o)).count();
    let (pass, fail) = (count(Outcome::passed), count(Outcome::failed));
    let (unreadable, skipped) = (count(|o| o.error.is_some()), count(|o| o.skipped));
    let mut line = format!("{pass} of {} instances pass", report.outcomes.len());
    for (n, what) in [(fail, "fail"), (unreadable, "unreadable"), (skipped, "skipped (no trace)")] {
        if n > 0 {
            line += &format!(", {n} {what}");
        }
    }
    if !report.errors.is_empty() {
        line += &format!(", {} other input error(s)", report.errors.len());
    }
    format!("{line} (exit code {}).", report.exit_code())
}

/// The summary `gate check --out` prints: the headline and one line per instance that did
/// not pass (first failure and cause), and where the report is.
pub fn summary(report: &GateReport, report_path: &Path) -> String {
    let mut out = format!("unrollcheck gate: {}\n", headline(report));
    for e in &report.errors {
        out += &format!("  unreadable: {e}\n");
    }
    for o in report.outcomes.iter().filter(|o| !o.passed() && !o.skipped) {
        out += &format!("  {}: {}", o.id, o.first_failure());
        if o.failed() {
            out += &format!(" — {}", o.cause_text());
        }
        out += "\n";
    }
    out + &format!("report: {}\n", report_path.display())
}

/// The JUnit XML of a gate run: one test suite, one test case per instance and check
/// (`<id>::compare` with the same first failure and cause as the report; an unreadable
/// instance is an error, a skipped one skipped), and `gate::input` per other input error.
pub fn junit(report: &GateReport) -> Result<String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new("unrollcheck-gate");
    let mut add = |name: String, status: TestCaseStatus| {
        let mut case = TestCase::new(name, status);
        case.set_classname("gate");
        suite.add_test_case(case);
    };
    let non_success = |kind, message: String| {
        let mut s = TestCaseStatus::non_success(kind);
        s.set_message(message);
        s
    };
    for e in &report.errors {
        add("gate::input".into(), non_success(NonSuccessKind::Error, e.to_string()));
    }
    for o in &report.outcomes {
        let status = if o.error.is_some() {
            non_success(NonSuccessKind::Error, o.first_failure())
        } else if o.skipped {
            TestCaseStatus::skipped()
        } else if o.findings.is_empty() {
            TestCaseStatus::success()
        } else {
            non_success(NonSuccessKind::Failure, format!("{}; cause: {}", o.first_failure(), o.cause_text()))
        };
        add(format!("{}::compare", o.id), status);
        for (id, v) in &o.claims {
            let status = if v.violated() || v.numerical_failure() {
                non_success(NonSuccessKind::Failure, claim_text(o, id, v))
            } else if v.not_applicable() {
                TestCaseStatus::skipped()
            } else {
                TestCaseStatus::success()
            };
            add(format!("{}::{id}", o.id), status);
        }
    }
    let mut r = Report::new("unrollcheck");
    r.add_test_suite(suite);
    r.to_string().map_err(|e| Error::Io { path: "junit".into(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`junit`] writes is recognised as the gate's own (also with no instance at all),
    /// and JUnit files of other tools or other text are not.
    #[test]
    fn own_junit_reports_are_recognised_and_others_are_not() {
        let empty = GateReport { outcomes: Vec::new(), errors: Vec::new() };
        let xml = junit(&empty).unwrap();
        assert!(is_own_junit(&xml), "the gate's own JUnit XML is not recognised:\n{xml}");
        let other = xml.replace(r#"name="unrollcheck-gate""#, r#"name="pytest""#);
        assert!(!is_own_junit(&other), "another suite is taken for the gate's:\n{other}");
        let other = xml.replace(r#"<testsuites name="unrollcheck""#, r#"<testsuites name="cargo-nextest""#);
        assert!(!is_own_junit(&other), "another tool's report is taken for the gate's:\n{other}");
        for text in ["", "important\n", r#"{"schema_version": 1}"#, JUNIT_XML_DECLARATION] {
            assert!(!is_own_junit(text), "{text:?} is taken for the gate's JUnit report");
        }
    }
}
