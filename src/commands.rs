//! The commands of the `unrollcheck` binary, below its argument parsing: each runs the
//! library, writes its text to the given output and returns an [`Outcome`] (or an
//! [`Error`]), which the binary maps to its exit code in one place: 0 when every check
//! holds, 1 when one is violated, 2 on bad input (an error) or when a check has no verdict.

use crate::claims::{self, Case, Config};
use crate::error::{Error, Result};
use crate::gate;
use crate::report;
use crate::report::demo::{self, DemoArgs};
use crate::reproduce::ReproduceArgs;
use crate::scenario::shard::{self, ShardFile};
use crate::scenario::{LONG_TOML, PAPER_TOML, Scenario, runner};
use crate::spec::Spec;
use crate::trends;
use std::io::Write;
use std::path::{Path, PathBuf};

/// How a command ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every check holds (exit 0).
    Holds,
    /// A check expected to hold is violated (exit 1).
    Violated,
    /// A check ended in a numerical failure: no verdict (exit 2, nothing more to say).
    NoVerdict,
}

impl Outcome {
    fn violated_if(bad: bool) -> Self {
        if bad { Outcome::Violated } else { Outcome::Holds }
    }
}

/// Writes to the command's output. Write errors are the binary's to handle (it ends the
/// process quietly when stdout is closed), so they are not reported here.
macro_rules! say {
    ($o:expr, $($arg:tt)*) => {{
        let _ = write!($o, $($arg)*);
    }};
}

/// [`say!`] with a newline.
macro_rules! sayln {
    ($o:expr, $($arg:tt)*) => {{
        say!($o, $($arg)*);
        say!($o, "\n");
    }};
}

/// A message that is the whole error (no file or field to name).
fn plain(message: String) -> Error {
    Error::Command(message)
}

/// An error prefixed with the argument it concerns (`--spec: …`, `SPEC: …`).
fn about(arg: &str, e: impl std::fmt::Display) -> Error {
    Error::Input { location: arg.to_string(), message: e.to_string() }
}

/// A spec given as `arg` whose instance cannot be built: where `x_0 = x* + σg` is not finite,
/// at the key of `σ` (`x0_key`, as a scenario's `grid.x0`), else at `arg`.
fn build_error(arg: &str, x0_key: &str, spec: &Spec, e: Error) -> Error {
    match e {
        Error::InvalidParameter { field: "x0", .. } => about(
            &format!("{arg}: key `{x0_key}`"),
            format!(
                "σ = {} is too large for x_0 = x* + σg; the instance cannot be built: {e}",
                crate::error::short_number(spec.x0_sigma.unwrap_or(f64::NAN))
            ),
        ),
        e => about(arg, e),
    }
}

/// `unrollcheck demo`.
pub fn demo(args: &DemoArgs, out: &mut dyn Write) -> Result<Outcome> {
    let text = demo::run(args)?;
    say!(out, "{text}");
    Ok(Outcome::Holds)
}

/// `unrollcheck reproduce`.
pub fn reproduce(args: &ReproduceArgs, out: &mut dyn Write) -> Result<Outcome> {
    let text = crate::report::reproduce(args)?;
    sayln!(out, "{}", text.trim_end());
    Ok(Outcome::Holds)
}

/// `unrollcheck check`: every claim on one instance.
pub fn check(spec: Option<&str>, max_memory: f64, out: &mut dyn Write) -> Result<Outcome> {
    let parsed = spec.map(|t| crate::input::json_value(t).and_then(|v| Spec::from_json(&v)));
    let spec = match parsed {
        None => Spec::figure2(0),
        Some(Ok(s)) => s,
        Some(Err(e)) => return Err(about("--spec", e)),
    };
    let cfg = Config::default();
    cfg.validate().map_err(|e| about(&format!("--spec: setting key `{}`", e.key), e.message))?;
    crate::budget::check_limit(max_memory, crate::budget::FLAG).and_then(|gib| {
        crate::budget::check_spec(&spec, (cfg.k_max, cfg.omega, cfg.t_fractions.len()), gib, "--spec")
    })?;
    let case = Case::from_spec(&spec, &cfg).map_err(|e| build_error("--spec", "x0_sigma", &spec, e))?;
    sayln!(out, "spec {}  K = {}", serde_json::to_string(&spec).unwrap_or_default(), case.k);
    let (mut failed, mut numerical) = (0, 0);
    for o in claims::check_all(&case, &cfg) {
        // `!`: a statement the paper makes (or a consistent reading) is violated;
        // `?`: a control or inconsistent reading was not caught on this instance.
        let mark = match (o.as_expected(), o.role) {
            (true, _) => " ",
            (false, claims::Role::Control | claims::Role::Reading { expect_holds: false }) => "?",
            (false, _) => "!",
        };
        failed += usize::from(mark == "!");
        numerical += usize::from(o.verdict.numerical_failure());
        sayln!(out, "{mark} {:<22} {:<20} {}", o.claim, o.variant, o.verdict);
    }
    if numerical > 0 {
        return Err(plain(format!(
            "{numerical} checks ended in a numerical failure (a NaN, an infinity, an underflow, or an oracle that cannot decide): no verdict"
        )));
    }
    Ok(Outcome::violated_if(failed > 0))
}

/// Loads a scenario file (`verify/paper.toml` and `verify/long.toml` fall back to the copies
/// built into the binary).
fn load(path: &Path) -> Result<Scenario> {
    if path == Path::new("verify/paper.toml") && !path.exists() {
        Scenario::parse("verify/paper.toml (built in)", PAPER_TOML)
    } else if path == Path::new(LONG_CAMPAIGN) && !path.exists() {
        Scenario::parse("verify/long.toml (built in)", LONG_TOML)
    } else {
        Scenario::load(path)
    }
}

/// `unrollcheck list`: the claims catalogue (and a scenario's custom claims). The file is
/// loaded before anything is printed, so a bad one prints nothing (exit 2); a trend file
/// has no custom claims, which the last line says, with the trend claims it runs.
pub fn list(scenario: Option<&Path>, out: &mut dyn Write) -> Result<Outcome> {
    let file = scenario.map(Verifiable::load).transpose()?;
    say!(out, "{}", claims::catalogue());
    sayln!(out, "\ntrend claims (paired experiments over random instances: unrollcheck verify verify/trends.toml)");
    for c in trends::catalogue() {
        sayln!(out, "{:<22} {:<18} {:<16} {}", c.id, c.section, "trend", c.statement);
    }
    match &file {
        Some(Verifiable::Scenario(sc)) => {
            for c in &sc.custom {
                sayln!(out, "{:<22} {:<18} {:<16} {}", c.claim.id(), "custom", sc.path, c.claim.statement());
            }
        }
        Some(Verifiable::Trends(t)) => {
            let mut ids: Vec<&str> = Vec::new();
            for e in &t.experiments {
                if !ids.contains(&e.claim.id) {
                    ids.push(e.claim.id);
                }
            }
            sayln!(
                out,
                "\n{}: a trend file has no custom claims (it runs the trend claims {})",
                t.path,
                ids.join(", ")
            );
        }
        None => {}
    }
    Ok(Outcome::Holds)
}

/// A file given to `verify`: a claim scenario or a trend file (`kind = "trends"`).
enum Verifiable {
    Scenario(Box<Scenario>),
    Trends(Box<trends::file::Trends>),
}

impl Verifiable {
    /// Loads a claim scenario or, when the file says `kind = "trends"`, a trend file.
    fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if trends::file::is_trends(&text) {
            return trends::file::Trends::load(path).map(|t| Verifiable::Trends(Box::new(t)));
        }
        load(path).map(|s| Verifiable::Scenario(Box::new(s)))
    }

    /// Its `name` (the report directory).
    fn name(&self) -> &str {
        match self {
            Verifiable::Scenario(sc) => &sc.file.name,
            Verifiable::Trends(t) => &t.file.name,
        }
    }

    /// The file it came from.
    fn path(&self) -> &str {
        match self {
            Verifiable::Scenario(sc) => &sc.path,
            Verifiable::Trends(t) => &t.path,
        }
    }
}

/// The scenario `verify --long` adds: the long campaign of issue #14.
pub const LONG_CAMPAIGN: &str = "verify/long.toml";

/// `unrollcheck verify`: runs scenario and trend files and writes their reports.
pub fn verify(paths: &[PathBuf], opt: &runner::Options, dir: &Path, out: &mut dyn Write) -> Result<Outcome> {
    let max_gib = opt.max_memory.unwrap_or(crate::budget::DEFAULT_MAX_MEMORY_GIB);
    crate::budget::check_jobs(opt.jobs, "--jobs")
        .and_then(|()| crate::budget::check_limit(max_gib, crate::budget::FLAG))?;
    let default = [PathBuf::from("verify/paper.toml")];
    let paths = if paths.is_empty() { &default[..] } else { paths };
    let loaded = paths.iter().map(|p| Verifiable::load(p)).collect::<Result<Vec<_>>>()?;
    // Every report directory is checked before anything runs: two files writing the same
    // OUT/<name>, or an OUT/<name> this tool did not write, is bad input.
    for (i, v) in loaded.iter().enumerate() {
        let name = v.name();
        if let Some(j) = loaded[..i].iter().position(|w| w.name() == name) {
            return Err(plain(format!(
                "{} and {} both have name = \"{name}\" (one report directory {}): rename one",
                loaded[j].path(),
                v.path(),
                dir.join(name).display()
            )));
        }
        match opt.shard {
            Some(s) => report::check_shard_target(dir, &s.dir_name(name)),
            None => report::check_target(dir, name),
        }
        .map_err(|e| about(v.path(), e))?;
        if let (Some(_), Verifiable::Trends(t)) = (opt.shard, v) {
            return Err(about(
                &t.path,
                "a trend file cannot be sharded (its paired experiments and their statistics are run whole): \
                 run it without --shard",
            ));
        }
    }
    // Without --jobs, a run whose memory estimate exceeds the limit only because of the
    // number of cores runs on fewer threads (the same bytes, more time) instead of refusing.
    let budget = |v: &Verifiable, jobs: Option<usize>| match v {
        Verifiable::Scenario(sc) => runner::check_budget(sc, opt.quick, jobs, max_gib),
        Verifiable::Trends(t) => trends::runner::check_budget(t, trend_pairs(t, opt), jobs, max_gib),
    };
    let lowered = opt.jobs.is_none().then(|| crate::budget::threads(None)).and_then(|default| {
        crate::budget::fitting_threads(default, |t| loaded.iter().all(|v| budget(v, Some(t)).is_ok()))
            .map(|t| (default, t))
    });
    let opt = &match lowered {
        Some((default, t)) => {
            eprintln!(
                "unrollcheck: note: running on {t} worker threads instead of {default}: the memory estimate at \
                 {default} threads exceeds the limit of {max_gib} GiB ({}); --jobs sets the thread count",
                crate::budget::FLAG
            );
            runner::Options { jobs: Some(t), ..opt.clone() }
        }
        None => opt.clone(),
    };
    for v in &loaded {
        budget(v, opt.jobs)?;
    }
    let mut failed = false;
    for v in &loaded {
        failed |= match v {
            Verifiable::Scenario(sc) => verify_scenario(sc, opt, dir, out)?,
            Verifiable::Trends(t) => verify_trends(t, opt, dir, out).map(|()| false)?,
        };
    }
    Ok(Outcome::violated_if(failed))
}

/// Runs a claim scenario; `Ok(true)` when a check it expects to hold is violated. A shard
/// (`--shard I/N`) writes its results only and judges nothing: the merge does.
fn verify_scenario(sc: &Scenario, opt: &runner::Options, dir: &Path, out: &mut dyn Write) -> Result<bool> {
    let res = runner::run_scenario(sc, opt)?;
    if let Some(shard) = opt.shard {
        let total = sc.instance_count(opt.quick);
        let (lo, hi) = shard.range(total);
        let written = report::write_shard(&ShardFile::new(sc, res, shard, total), &sc.file.name, dir)?;
        sayln!(
            out,
            "{}: shard {}/{}: instances {lo}..{hi} of {total}, results in {}",
            sc.file.name,
            shard.index,
            shard.count,
            written.display()
        );
        return Ok(false);
    }
    report_scenario(sc, &res, dir, out)
}

/// `unrollcheck merge`: the shards found under `roots` (shard directories, or directories
/// directly holding them), merged per scenario into the report a single run writes.
pub fn merge(roots: &[PathBuf], dir: &Path, out: &mut dyn Write) -> Result<Outcome> {
    let found = shard::find(roots)?;
    let shards = found.into_iter().map(|d| ShardFile::read(&d).map(|s| (d, s))).collect::<Result<Vec<_>>>()?;
    let merged = shard::merge(shards)?;
    for m in &merged {
        report::check_target(dir, &m.scenario.file.name).map_err(|e| about(&m.scenario.path, e))?;
    }
    let mut failed = false;
    for m in &merged {
        failed |= report_scenario(&m.scenario, &m.results, dir, out)?;
    }
    Ok(Outcome::violated_if(failed))
}

/// Writes a scenario's report and prints its summary; `Ok(true)` when a check it expects to
/// hold is violated.
fn report_scenario(sc: &Scenario, res: &runner::ScenarioResults, dir: &Path, out: &mut dyn Write) -> Result<bool> {
    let w = report::write(sc, res, dir)?;
    let bad: Vec<String> = w.rows.iter().filter(|r| r.fails()).map(|r| format!("{}[{}]", r.claim, r.variant)).collect();
    sayln!(out, "{}: {} rows, report in {}", sc.file.name, w.rows.len(), w.dir.join("report.md").display());
    if !bad.is_empty() {
        sayln!(out, "{}: violated: {}", sc.file.name, bad.join(", "));
    }
    let nf: Vec<String> =
        w.rows.iter().filter(|r| r.numerical_failure()).map(|r| format!("{}[{}]", r.claim, r.variant)).collect();
    if !nf.is_empty() {
        sayln!(out, "{}: numerical failure (no verdict): {}", sc.file.name, nf.join(", "));
        if !sc.file.allow_numerical_failure {
            return Err(Error::Input {
                location: sc.path.clone(),
                message: format!(
                    "{} checks ended in a numerical failure (a NaN, an infinity, an underflow, or an oracle that cannot decide; see the report); \
                    set `allow_numerical_failure = true` to accept them",
                    nf.len()
                ),
            });
        }
    }
    Ok(!bad.is_empty())
}

/// The pairs per experiment of a trend file: its `pairs`, at most 20 with `--quick`.
fn trend_pairs(t: &trends::file::Trends, opt: &runner::Options) -> usize {
    let pairs = *t.file.pairs.get_ref();
    if opt.quick { pairs.min(20) } else { pairs }
}

/// Runs a trend file (its verdicts are findings, not pass/fail: the outcome holds unless
/// the input is bad). `--quick` uses at most 20 pairs per experiment (fewer could never
/// reach the corrected level).
fn verify_trends(t: &trends::file::Trends, opt: &runner::Options, dir: &Path, out: &mut dyn Write) -> Result<()> {
    let res = trends::runner::run_trends(t, opt.seed, Some(trend_pairs(t, opt)), opt.jobs)?;
    let dir = crate::report::trends::write(t, &res, dir)?;
    sayln!(
        out,
        "{}: {} experiments, report in {}",
        t.file.name,
        res.experiments.len(),
        dir.join("report.md").display()
    );
    for ex in &res.experiments {
        let verdicts: Vec<String> = ex.stats.iter().map(|s| format!("{} {}", s.measure, s.verdict)).collect();
        sayln!(out, "  {}: {}", ex.label, verdicts.join(", "));
    }
    Ok(())
}

/// What `replay` takes: a spec, or a spec with the setting of the check (as printed in
/// reports and witnesses).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayInput {
    spec: Spec,
    setting: Option<claims::Setting>,
}

/// `unrollcheck replay`: one claim (`ID` or `ID/VARIANT`) on one instance spec.
pub fn replay(id: &str, spec: &str, scenario: Option<&Path>, max_memory: f64, out: &mut dyn Write) -> Result<Outcome> {
    let value = crate::input::json_value(spec);
    // `{"spec": …, "setting": …}`: the spec's keys are under `spec.`.
    let x0_key = if value.as_ref().is_ok_and(|v| v.get("spec").is_some()) { "spec.x0_sigma" } else { "x0_sigma" };
    let parsed = match value {
        Ok(v) if v.get("spec").is_some() => crate::input::json_from_value::<ReplayInput>(&v)
            .map_err(|(key, message)| crate::input::keyed(&key, message))
            .and_then(|r| Spec::from_json(&v["spec"]).map_err(|e| e.replacen("key `", "key `spec.", 1)).map(|_| r)),
        Ok(v) => Spec::from_json(&v).map(|spec| ReplayInput { spec, setting: None }),
        Err(e) => Err(e),
    };
    let ReplayInput { spec, setting } = parsed.map_err(|e| about("SPEC", e))?;
    let (claim, variant) = id.split_once('/').unwrap_or((id, "paper"));
    let sc = scenario.map(load).transpose()?;
    // The setting is validated as a scenario's keys are (one validation, `Config::validate`),
    // before anything is built.
    if let Some(s) = &setting {
        s.validate().map_err(|e| about(&format!("SPEC: setting.{}", e.key), e.message))?;
    }
    let cfg = match &setting {
        Some(s) => Config::from_setting(s),
        None => Config { omega: sc.as_ref().map_or(3.0, Scenario::omega), ..Config::default() },
    };
    crate::budget::check_limit(max_memory, crate::budget::FLAG)
        .and_then(|gib| crate::budget::check_spec(&spec, (cfg.k_max, cfg.omega, cfg.t_fractions.len()), gib, "SPEC"))?;
    let case = Case::from_spec(&spec, &cfg).map_err(|e| build_error("SPEC", x0_key, &spec, e))?;
    if let Some(s) = &setting
        && s.k != case.k
    {
        return Err(about(
            "SPEC",
            format!(
                "the setting's horizon K = {} differs from the K = {} this build chooses for the spec",
                s.k, case.k
            ),
        ));
    }
    let verdict = match (claims::find(claim), sc.as_ref().and_then(|s| s.custom.iter().find(|c| c.claim.id() == claim)))
    {
        (Some(_), _) => claims::check(claim, variant, &case, &cfg)?,
        (None, Some(custom)) => runner::check_custom(custom, &case, &cfg),
        (None, None) => {
            return Err(plain(format!(
                "unknown claim id `{claim}` (see `unrollcheck list`; custom ids need --scenario)"
            )));
        }
    };
    let shown = if claims::find(claim).is_some() { variant } else { "custom" };
    sayln!(
        out,
        "{claim} [{shown}] on {} (K = {}): {verdict}",
        serde_json::to_string(&spec).unwrap_or_default(),
        case.k
    );
    Ok(if verdict.numerical_failure() { Outcome::NoVerdict } else { Outcome::violated_if(verdict.violated()) })
}

/// The instance sets `gate export` appends to the default set (not with a scenario, except
/// as each flag's help says).
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtraSets {
    /// `--accelerated`: Chebyshev and Nesterov.
    pub accelerated: bool,
    /// `--layers`: random contraction layers.
    pub layers: bool,
    /// `--proximal`: proximal gradient and FISTA on the elastic net.
    pub proximal: bool,
}

/// `unrollcheck gate export`: the default instance set, or a scenario's grid (quick).
pub fn gate_export(
    dir: &Path,
    scenario: Option<&Path>,
    seed: u64,
    size: gate::export::Size,
    sets: ExtraSets,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let m = match scenario {
        // The extra sets conflict with --scenario (clap).
        Some(path) => {
            let (items, budget) = gate::export::scenario_budget(&load(path)?, size.dims().2)?;
            gate::export::check_exportable(&items)?;
            gate::export::export_budgets(&items, dir, budget)?
        }
        None => {
            let ExtraSets { accelerated, layers, proximal } = sets;
            let mut set = gate::export::sized_set(seed, size);
            if accelerated {
                set.extend(gate::export::accelerated_set(seed, size));
            }
            if layers {
                set.extend(gate::export::layers_set(seed, size));
            }
            if proximal {
                set.extend(gate::export::proximal_set(seed, size));
            }
            gate::export::check_exportable(&set)?;
            gate::export::export_with_horizon(&set, dir, size.dims().2)?
        }
    };
    sayln!(out, "exported {} instances to {}", m.instances.len(), dir.display());
    Ok(Outcome::Holds)
}

/// `unrollcheck gate check`: compares the selected traces with the instances; writes the
/// Markdown report to `dir/report.md` (then prints a summary) or prints it, and writes the
/// JUnit XML when asked, on every exit code: 0 all pass, 1 a check fails, 2 some input is
/// unreadable (reported after every readable instance was checked).
pub fn gate_check(
    instances: &Path,
    traces: &Path,
    sel: &gate::check::Selection,
    junit: Option<&Path>,
    dir: Option<&Path>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    crate::budget::check_limit(sel.max_memory_gib, crate::budget::FLAG)?;
    gate::check::check_targets(dir, junit)?;
    let report = gate::check::run(instances, traces, sel);
    let md = gate::check::markdown(&report);
    gate::check::write(&report, &md, dir, junit)?;
    match dir {
        Some(d) => say!(out, "{}", gate::check::summary(&report, &d.join("report.md"))),
        None => say!(out, "{md}"),
    }
    Ok(match report.exit_code() {
        0 => Outcome::Holds,
        1 => Outcome::Violated,
        _ => Outcome::NoVerdict,
    })
}
