//! The `unrollcheck` command line: parse, call the library, map errors to exit codes
//! (0 success, 1 a claim violated, 2 bad input).

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use unrollcheck::claims::{self, Case, Config};
use unrollcheck::gate;
use unrollcheck::report;
use unrollcheck::report::demo::{self, DemoArgs};
use unrollcheck::reproduce::ReproduceArgs;
use unrollcheck::scenario::{PAPER_TOML, Scenario, run as scenario_run};
use unrollcheck::spec::Spec;
use unrollcheck::trends;

/// `print!` that ends the process quietly when stdout is closed (`unrollcheck list | head`)
/// instead of panicking on the broken pipe.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if write!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

/// `println!` with the same behaviour as [`out!`].
macro_rules! outln {
    ($($arg:tt)*) => {{
        out!($($arg)*);
        out!("\n");
    }};
}

#[derive(Parser)]
#[command(
    name = "unrollcheck",
    version,
    about = "Checks the theory of differentiating through iterative algorithms by experiment"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Unroll one default instance (ridge, weight parameter, Figure 2 setting) and print
    /// its constants, the curse indices and the error curves.
    Demo(DemoArgs),
    /// Print every claim id with its equation, kind, statement, families and variants
    /// (with --scenario, also the scenario's custom claims).
    List {
        /// A scenario file whose custom claims to list.
        #[arg(long)]
        scenario: Option<PathBuf>,
    },
    /// Run scenario files and write reports (Markdown, JSON, SVG) under OUT/<scenario>/;
    /// exit 0 when every applicable check holds, 1 when one is violated, 2 on bad input.
    Verify {
        /// Scenario files (default: verify/paper.toml, or the copy built into the binary).
        scenarios: Vec<PathBuf>,
        /// One instance per grid point and K at most 120.
        #[arg(long)]
        quick: bool,
        /// Override the scenarios' seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Worker threads (results do not depend on it; at most 4 × the available cores,
        /// within 16..=256).
        #[arg(long)]
        jobs: Option<usize>,
        /// Output directory.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
        /// Memory limit in GiB: a scenario or trend file whose estimated peak memory (per
        /// worker thread the largest instance at the horizon cap, plus the results) exceeds
        /// it is refused before anything runs (exit 2).
        #[arg(long, value_name = "GIB", default_value_t = unrollcheck::budget::DEFAULT_MAX_MEMORY_GIB)]
        max_memory: f64,
    },
    /// The regression gate for other implementations: export instances, check traces.
    #[command(subcommand, long_about = GATE_HELP)]
    Gate(GateCommand),
    /// Re-run one claim (ID or ID/VARIANT) on one instance spec and print both sides.
    Replay {
        /// Claim id, optionally with `/variant` (default `paper`).
        id: String,
        /// The instance spec as JSON (from a report or a witness).
        spec: String,
        /// The scenario defining a custom claim id.
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Memory limit in GiB (a spec whose estimated peak memory exceeds it is refused).
        #[arg(long, value_name = "GIB", default_value_t = unrollcheck::budget::DEFAULT_MAX_MEMORY_GIB)]
        max_memory: f64,
    },
    /// Check every claim (all variants) on one instance given as a JSON spec; exit 1 when a
    /// statement of the paper (or a consistent reading) is violated.
    Check {
        /// The instance spec as JSON, e.g. the `spec` of a witness. Default: the Figure 2
        /// instance with seed 0.
        #[arg(long)]
        spec: Option<String>,
        /// Memory limit in GiB (a spec whose estimated peak memory exceeds it is refused).
        #[arg(long, value_name = "GIB", default_value_t = unrollcheck::budget::DEFAULT_MAX_MEMORY_GIB)]
        max_memory: f64,
    },
    /// Reproduce an experiment of the paper (fig2, appendix-c) and write its report and
    /// figures; exit 2 on bad input.
    Reproduce(ReproduceArgs),
}

const GATE_HELP: &str = "The regression gate for other implementations of unrolled, truncated or implicit \
differentiation.

  unrollcheck gate export --out DIR          instances: DIR/manifest.json and DIR/<id>.npz
  <your implementation>                      one trace TRACES/<id>.npz per instance
  unrollcheck gate check --instances DIR --traces TRACES [--junit FILE] [--out REPORT]

An instance .npz holds (float64, C order): A (M,N), b (M,), lam, delta, alpha, beta, omega,
K, T, T_prime, K_prime (scalars), x0 (n,), v (p,) a unit tangent, w (n,) a unit cotangent.
f(x,u) = sum_i phi(a_i.x - b_i) + lam/2 |x|^2, phi = r^2/2 (ridge) or the pseudo-Huber loss;
u = lam (param weight, p=1), b (targets, p=M) or (A row by row, b) (data, p=MN+M).
Gradient descent x <- x - alpha grad f; heavy-ball on z=(x1,x2): (x1 - alpha grad f(x1)
+ beta (x1 - x2), x1), n = 2N.

A trace .npz holds (float64, or float32 judged with a float32 tolerance):
  x          (K'+1, n)      iterates x_0 .. x_K'
  jvp        (K'-T'+1, n)   late-started forward JVPs Xdot_T'^(j) v, j = 0..K'-T', from 0
  vjp        (K'-T'+1, p)   truncated reverse sweep: row i = w^T Ubar_K'^(K'-i), i.e. from
                            k = K' (zeros) down to k = T'
  jvp_final  (n,)           Xdot_T'^(K'-T') v   (not Xdot_T'^(K') v: see Section 4.1)
  vjp_final  (p,)           w^T Ubar_K'^(T')
with a constant x_0 (Dx_0 = 0), so w . jvp_final = vjp_final . v. Untruncated: T = T' = 0.

check compares every row with the reference under the tolerance model, runs (8), (21) and
forward = reverse on the submitted sequences, and names a likely cause for a failure (sign
of C_k, B_k+1 for B_k, off-by-one truncation index, a derivative that freezes, float32
rounding). Exit 0: all pass; 1: a check fails; 2: unreadable input.";

#[derive(Subcommand)]
enum GateCommand {
    /// Write the instances (DIR/manifest.json and DIR/<id>.npz).
    Export {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Take the instances from a scenario's grid (ridge and pseudo-Huber families).
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Seed of the default set.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
    /// Compare traces with the instances; write a Markdown report (and JUnit XML).
    Check {
        /// The exported instances.
        #[arg(long)]
        instances: PathBuf,
        /// The traces, one <id>.npz per instance.
        #[arg(long)]
        traces: PathBuf,
        /// Write a JUnit XML file.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Write report.md into this directory.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => demo_cmd(&DemoArgs::default()),
        Some(Command::Demo(a)) => demo_cmd(&a),
        Some(Command::List { scenario }) => list_cmd(scenario.as_deref()),
        Some(Command::Verify { scenarios, quick, seed, jobs, out, max_memory }) => verify_cmd(
            &scenarios,
            &scenario_run::Options { seed, quick, jobs, progress: true, max_memory: Some(max_memory) },
            &out,
        ),
        Some(Command::Gate(GateCommand::Export { out, scenario, seed })) => {
            gate_export(&out, scenario.as_deref(), seed)
        }
        Some(Command::Gate(GateCommand::Check { instances, traces, junit, out })) => {
            gate_check(&instances, &traces, junit.as_deref(), out.as_deref())
        }
        Some(Command::Replay { id, spec, scenario, max_memory }) => {
            replay_cmd(&id, &spec, scenario.as_deref(), max_memory)
        }
        Some(Command::Check { spec, max_memory }) => check_cmd(spec.as_deref(), max_memory),
        Some(Command::Reproduce(a)) => reproduce_cmd(&a),
    }
}

fn demo_cmd(args: &DemoArgs) -> ExitCode {
    match demo::run(args) {
        Ok(text) => {
            out!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn reproduce_cmd(args: &ReproduceArgs) -> ExitCode {
    match report::reproduce(args) {
        Ok(text) => {
            outln!("{}", text.trim_end());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn check_cmd(spec: Option<&str>, max_memory: f64) -> ExitCode {
    let parsed = spec.map(|t| serde_json::from_str(t).map_err(|e| e.to_string()).and_then(|v| Spec::from_json(&v)));
    let spec = match parsed {
        None => Spec::figure2(0),
        Some(Ok(s)) => s,
        Some(Err(e)) => return fail(&format!("--spec: {e}")),
    };
    let cfg = Config::default();
    let budget = unrollcheck::budget::check_limit(max_memory, unrollcheck::budget::FLAG)
        .and_then(|gib| unrollcheck::budget::check_spec(&spec, cfg.k_max, gib));
    if let Err(e) = budget {
        return fail(&e.to_string());
    }
    let case = match Case::from_spec(&spec, &cfg) {
        Ok(c) => c,
        Err(e) => return fail(&format!("--spec: {e}")),
    };
    outln!("spec {}  K = {}", serde_json::to_string(&spec).unwrap_or_default(), case.k);
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
        outln!("{mark} {:<22} {:<20} {}", o.claim, o.variant, o.verdict);
    }
    if numerical > 0 {
        return fail(&format!("{numerical} checks ended in a numerical failure (NaN or infinity): no verdict"));
    }
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("unrollcheck: error: {msg}");
    ExitCode::from(2)
}

fn load(path: &std::path::Path) -> Result<Scenario, ExitCode> {
    let loaded = if path == std::path::Path::new("verify/paper.toml") && !path.exists() {
        Scenario::parse("verify/paper.toml (built in)", PAPER_TOML)
    } else {
        Scenario::load(path)
    };
    loaded.map_err(|e| fail(&e.to_string()))
}

fn list_cmd(scenario: Option<&std::path::Path>) -> ExitCode {
    out!("{}", claims::catalogue());
    if let Some(path) = scenario {
        let sc = match load(path) {
            Ok(sc) => sc,
            Err(code) => return code,
        };
        for c in &sc.custom {
            outln!("{:<22} {:<18} {:<16} {}", c.claim.id(), "custom", sc.path, c.claim.statement());
        }
    }
    ExitCode::SUCCESS
}

/// A file given to `verify`: a claim scenario or a trend file (`kind = "trends"`).
enum Verifiable {
    Scenario(Box<Scenario>),
    Trends(Box<trends::file::Trends>),
}

impl Verifiable {
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

fn load_verifiable(path: &std::path::Path) -> Result<Verifiable, ExitCode> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    if trends::file::is_trends(&text) {
        return trends::file::Trends::load(path)
            .map(|t| Verifiable::Trends(Box::new(t)))
            .map_err(|e| fail(&e.to_string()));
    }
    load(path).map(|s| Verifiable::Scenario(Box::new(s)))
}

fn verify_cmd(paths: &[PathBuf], opt: &scenario_run::Options, out: &std::path::Path) -> ExitCode {
    let max_gib = opt.max_memory.unwrap_or(unrollcheck::budget::DEFAULT_MAX_MEMORY_GIB);
    let limits = unrollcheck::budget::check_jobs(opt.jobs, "--jobs")
        .and_then(|()| unrollcheck::budget::check_limit(max_gib, unrollcheck::budget::FLAG));
    if let Err(e) = limits {
        return fail(&e.to_string());
    }
    let default = [PathBuf::from("verify/paper.toml")];
    let paths = if paths.is_empty() { &default[..] } else { paths };
    let mut loaded = Vec::new();
    for p in paths {
        match load_verifiable(p) {
            Ok(v) => loaded.push(v),
            Err(code) => return code,
        }
    }
    // Every report directory is checked before anything runs: two files writing the same
    // OUT/<name>, or an OUT/<name> this tool did not write, is bad input.
    for (i, v) in loaded.iter().enumerate() {
        let name = v.name();
        if let Some(j) = loaded[..i].iter().position(|w| w.name() == name) {
            return fail(&format!(
                "{} and {} both have name = \"{name}\" (one report directory {}): rename one",
                loaded[j].path(),
                v.path(),
                out.join(name).display()
            ));
        }
        if let Err(e) = report::check_target(out, name) {
            return fail(&format!("{}: {e}", v.path()));
        }
        let budget = match v {
            Verifiable::Scenario(sc) => scenario_run::check_budget(sc, opt.quick, opt.jobs, max_gib),
            Verifiable::Trends(t) => {
                let pairs = trend_pairs(t, opt);
                trends::run::check_budget(t, pairs, opt.jobs, max_gib)
            }
        };
        if let Err(e) = budget {
            return fail(&e.to_string());
        }
    }
    let mut failed = false;
    for v in &loaded {
        let result = match v {
            Verifiable::Scenario(sc) => verify_scenario(sc, opt, out),
            Verifiable::Trends(t) => verify_trends(t, opt, out).map(|()| false),
        };
        match result {
            Ok(bad) => failed |= bad,
            Err(e) => return fail(&e.to_string()),
        }
    }
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// Runs a claim scenario; `Ok(true)` when a check it expects to hold is violated.
fn verify_scenario(sc: &Scenario, opt: &scenario_run::Options, out: &std::path::Path) -> unrollcheck::Result<bool> {
    let w = scenario_run::run(sc, opt).and_then(|res| report::write(sc, &res, out))?;
    let bad: Vec<String> = w.rows.iter().filter(|r| r.fails()).map(|r| format!("{}[{}]", r.claim, r.variant)).collect();
    outln!("{}: {} rows, report in {}", sc.file.name, w.rows.len(), w.dir.join("report.md").display());
    if !bad.is_empty() {
        outln!("{}: violated: {}", sc.file.name, bad.join(", "));
    }
    let nf: Vec<String> =
        w.rows.iter().filter(|r| r.numerical_failure()).map(|r| format!("{}[{}]", r.claim, r.variant)).collect();
    if !nf.is_empty() {
        outln!("{}: numerical failure (no verdict): {}", sc.file.name, nf.join(", "));
        if !sc.file.allow_numerical_failure {
            return Err(unrollcheck::Error::Input {
                location: sc.path.clone(),
                message: format!(
                    "{} checks ended in a numerical failure (NaN or infinity; see the report); \
                    set `allow_numerical_failure = true` to accept them",
                    nf.len()
                ),
            });
        }
    }
    Ok(!bad.is_empty())
}

/// The pairs per experiment of a trend file: its `pairs`, at most 20 with `--quick`.
fn trend_pairs(t: &trends::file::Trends, opt: &scenario_run::Options) -> usize {
    let pairs = *t.file.pairs.get_ref();
    if opt.quick { pairs.min(20) } else { pairs }
}

/// Runs a trend file (its verdicts are findings, not pass/fail: the exit code is 0 unless
/// the input is bad). `--quick` uses at most 20 pairs per experiment (fewer could never reach the corrected level).
fn verify_trends(
    t: &trends::file::Trends,
    opt: &scenario_run::Options,
    out: &std::path::Path,
) -> unrollcheck::Result<()> {
    let res = trends::run::run(t, opt.seed, Some(trend_pairs(t, opt)), opt.jobs)?;
    let dir = report::trends::write(t, &res, out)?;
    outln!("{}: {} experiments, report in {}", t.file.name, res.experiments.len(), dir.join("report.md").display());
    for ex in &res.experiments {
        let verdicts: Vec<String> = ex.stats.iter().map(|s| format!("{} {}", s.measure, s.verdict)).collect();
        outln!("  {}: {}", ex.label, verdicts.join(", "));
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

fn replay_cmd(id: &str, spec: &str, scenario: Option<&std::path::Path>, max_memory: f64) -> ExitCode {
    let parsed = match serde_json::from_str::<serde_json::Value>(spec) {
        Ok(v) if v.get("spec").is_some() => serde_json::from_value::<ReplayInput>(v.clone())
            .map_err(|e| e.to_string())
            .and_then(|r| Spec::from_json(&v["spec"]).map(|_| r)),
        Ok(v) => Spec::from_json(&v).map(|spec| ReplayInput { spec, setting: None }),
        Err(e) => Err(e.to_string()),
    };
    let ReplayInput { spec, setting } = match parsed {
        Ok(r) => r,
        Err(e) => return fail(&format!("SPEC: {e}")),
    };
    let (claim, variant) = id.split_once('/').unwrap_or((id, "paper"));
    let sc = match scenario.map(load).transpose() {
        Ok(sc) => sc,
        Err(code) => return code,
    };
    let cfg = match &setting {
        Some(s) => Config::from_setting(s),
        None => Config { omega: sc.as_ref().map_or(3.0, Scenario::omega), ..Config::default() },
    };
    let budget = unrollcheck::budget::check_limit(max_memory, unrollcheck::budget::FLAG)
        .and_then(|gib| unrollcheck::budget::check_spec(&spec, cfg.k_max, gib));
    if let Err(e) = budget {
        return fail(&e.to_string());
    }
    let case = match Case::from_spec(&spec, &cfg) {
        Ok(c) => c,
        Err(e) => return fail(&format!("SPEC: {e}")),
    };
    if let Some(s) = &setting
        && s.k != case.k
    {
        return fail(&format!(
            "SPEC: the setting's horizon K = {} differs from the K = {} this build chooses for the spec",
            s.k, case.k
        ));
    }
    let verdict = match (claims::find(claim), sc.as_ref().and_then(|s| s.custom.iter().find(|c| c.claim.id() == claim)))
    {
        (Some(_), _) => claims::check(claim, variant, &case, &cfg),
        (None, Some(custom)) => Ok(scenario_run::check_custom(custom, &case, &cfg)),
        (None, None) => {
            return fail(&format!("unknown claim id `{claim}` (see `unrollcheck list`; custom ids need --scenario)"));
        }
    };
    let shown = if claims::find(claim).is_some() { variant } else { "custom" };
    match verdict {
        Ok(v) => {
            outln!("{claim} [{shown}] on {} (K = {}): {v}", serde_json::to_string(&spec).unwrap_or_default(), case.k);
            if v.numerical_failure() {
                ExitCode::from(2)
            } else if v.violated() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn gate_export(out: &std::path::Path, scenario: Option<&std::path::Path>, seed: u64) -> ExitCode {
    let set = match scenario {
        None => gate::export::default_set(seed),
        Some(path) => {
            let sc = match load(path) {
                Ok(sc) => sc,
                Err(code) => return code,
            };
            match sc.specs(None, true) {
                Ok(specs) => specs.into_iter().flat_map(|(_, s)| [(s, false), (s, true)]).collect(),
                Err(e) => return fail(&e.to_string()),
            }
        }
    };
    if let Some((s, _)) = set.iter().find(|(s, _)| matches!(s.family, unrollcheck::spec::Family::Huber { .. })) {
        return fail(&format!(
            "gate export: the classic Huber family is not exported ({})",
            serde_json::to_string(s).unwrap_or_default()
        ));
    }
    match gate::export::export(&set, out) {
        Ok(m) => {
            outln!("exported {} instances to {}", m.instances.len(), out.display());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn gate_check(
    instances: &std::path::Path,
    traces: &std::path::Path,
    junit: Option<&std::path::Path>,
    out: Option<&std::path::Path>,
) -> ExitCode {
    let report = match gate::check::check(instances, traces) {
        Ok(r) => r,
        Err(e) => return fail(&e.to_string()),
    };
    let md = gate::check::markdown(&report);
    if let Some(dir) = out {
        if let Err(e) = report::ensure_ours(dir, "report.md", |t| t.starts_with(gate::check::TITLE)) {
            return fail(&e.to_string());
        }
        let written = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(dir.join("report.md"), &md));
        if let Err(e) = written {
            return fail(&format!("{}: {e}", dir.display()));
        }
    }
    if let Some(path) = junit {
        let xml = gate::check::junit(&report).and_then(|x| {
            std::fs::write(path, x)
                .map_err(|e| unrollcheck::Error::Io { path: path.display().to_string(), message: e.to_string() })
        });
        if let Err(e) = xml {
            return fail(&e.to_string());
        }
    }
    out!("{md}");
    if report.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
