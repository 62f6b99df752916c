//! The `unrollcheck` command line: parse, call the library, map errors to exit codes
//! (0 success, 1 a claim violated, 2 bad input).

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use unrollcheck::claims::{self, Case, Config};
use unrollcheck::demo::{self, DemoArgs};
use unrollcheck::report;
use unrollcheck::scenario::{PAPER_TOML, Scenario, run as scenario_run};
use unrollcheck::spec::Spec;

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
        /// Worker threads (results do not depend on it).
        #[arg(long)]
        jobs: Option<usize>,
        /// Output directory.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
    },
    /// Re-run one claim (ID or ID/VARIANT) on one instance spec and print both sides.
    Replay {
        /// Claim id, optionally with `/variant` (default `paper`).
        id: String,
        /// The instance spec as JSON (from a report or a witness).
        spec: String,
        /// The scenario defining a custom claim id.
        #[arg(long)]
        scenario: Option<PathBuf>,
    },
    /// Check every claim (all variants) on one instance given as a JSON spec; exit 1 when a
    /// statement of the paper (or a consistent reading) is violated.
    Check {
        /// The instance spec as JSON, e.g. the `spec` of a witness. Default: the Figure 2
        /// instance with seed 0.
        #[arg(long)]
        spec: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => demo_cmd(&DemoArgs::default()),
        Some(Command::Demo(a)) => demo_cmd(&a),
        Some(Command::List { scenario }) => list_cmd(scenario.as_deref()),
        Some(Command::Verify { scenarios, quick, seed, jobs, out }) => {
            verify_cmd(&scenarios, &scenario_run::Options { seed, quick, jobs, progress: true }, &out)
        }
        Some(Command::Replay { id, spec, scenario }) => replay_cmd(&id, &spec, scenario.as_deref()),
        Some(Command::Check { spec }) => check_cmd(spec.as_deref()),
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

fn check_cmd(spec: Option<&str>) -> ExitCode {
    let spec = match spec.map(serde_json::from_str::<Spec>) {
        None => Spec::figure2(0),
        Some(Ok(s)) => s,
        Some(Err(e)) => return fail(&format!("--spec: {e}")),
    };
    let cfg = Config::default();
    let case = match Case::from_spec(&spec, &cfg) {
        Ok(c) => c,
        Err(e) => return fail(&format!("--spec: {e}")),
    };
    outln!("spec {}  K = {}", serde_json::to_string(&spec).unwrap_or_default(), case.k);
    let mut failed = 0;
    for o in claims::check_all(&case, &cfg) {
        // `!`: a statement the paper makes (or a consistent reading) is violated;
        // `?`: a control or inconsistent reading was not caught on this instance.
        let mark = match (o.as_expected(), o.role) {
            (true, _) => " ",
            (false, claims::Role::Control | claims::Role::Reading { expect_holds: false }) => "?",
            (false, _) => "!",
        };
        failed += usize::from(mark == "!");
        outln!("{mark} {:<22} {:<20} {}", o.claim, o.variant, o.verdict);
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

fn verify_cmd(paths: &[PathBuf], opt: &scenario_run::Options, out: &std::path::Path) -> ExitCode {
    let default = [PathBuf::from("verify/paper.toml")];
    let paths = if paths.is_empty() { &default[..] } else { paths };
    let mut scenarios = Vec::new();
    for p in paths {
        match load(p) {
            Ok(sc) => scenarios.push(sc),
            Err(code) => return code,
        }
    }
    let mut failed = false;
    for sc in &scenarios {
        let written = scenario_run::run(sc, opt).and_then(|res| report::write(sc, &res, out));
        match written {
            Ok(w) => {
                let bad: Vec<String> =
                    w.rows.iter().filter(|r| r.fails()).map(|r| format!("{}[{}]", r.claim, r.variant)).collect();
                outln!("{}: {} rows, report in {}", sc.file.name, w.rows.len(), w.dir.join("report.md").display());
                if !bad.is_empty() {
                    outln!("{}: violated: {}", sc.file.name, bad.join(", "));
                    failed = true;
                }
            }
            Err(e) => return fail(&e.to_string()),
        }
    }
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn replay_cmd(id: &str, spec: &str, scenario: Option<&std::path::Path>) -> ExitCode {
    let spec: Spec = match serde_json::from_str(spec) {
        Ok(s) => s,
        Err(e) => return fail(&format!("SPEC: {e}")),
    };
    let (claim, variant) = id.split_once('/').unwrap_or((id, "paper"));
    let sc = match scenario.map(load).transpose() {
        Ok(sc) => sc,
        Err(code) => return code,
    };
    let cfg = Config { omega: sc.as_ref().map_or(3.0, Scenario::omega), ..Config::default() };
    let case = match Case::from_spec(&spec, &cfg) {
        Ok(c) => c,
        Err(e) => return fail(&format!("SPEC: {e}")),
    };
    let verdict = match (claims::find(claim), sc.as_ref().and_then(|s| s.custom.iter().find(|c| c.claim.id() == claim)))
    {
        (Some(_), _) => claims::check(claim, variant, &case, &cfg),
        (None, Some(custom)) => Ok(scenario_run::check_custom(custom, &case, &cfg)),
        (None, None) => {
            return fail(&format!("unknown claim id `{claim}` (see `unrollcheck list`; custom ids need --scenario)"));
        }
    };
    match verdict {
        Ok(v) => {
            outln!("{claim} [{variant}] on {} (K = {}): {v}", serde_json::to_string(&spec).unwrap_or_default(), case.k);
            if v.violated() { ExitCode::from(1) } else { ExitCode::SUCCESS }
        }
        Err(e) => fail(&e.to_string()),
    }
}
