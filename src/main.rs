//! The `unrollcheck` command line: parse the arguments, run a command of
//! [`unrollcheck::commands`] and map how it ended to the exit code (0 success, 1 a claim
//! violated, 2 bad input).

use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use unrollcheck::commands::{self, Outcome};
use unrollcheck::gate;
use unrollcheck::report::demo::DemoArgs;
use unrollcheck::reproduce::ReproduceArgs;
use unrollcheck::scenario::runner::Options;
use unrollcheck::scenario::shard::ShardSpec;

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
        /// Also run the long campaign of issue #14, verify/long.toml: n up to 50, condition
        /// numbers up to 1e4, K up to 2000, late starts T' = T + ωT (about 3 minutes on 2
        /// cores; the copy built into the binary when the file is absent).
        #[arg(long)]
        long: bool,
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
        /// Run shard I of N (1-based) of every scenario's instances and write its results only,
        /// to OUT/<scenario>.shard-I-of-N/; `unrollcheck merge` makes the report.
        #[arg(long, value_name = "I/N")]
        shard: Option<ShardSpec>,
    },
    /// Merge the results of `verify --shard` into the report a single run writes (byte for
    /// byte); exit codes as `verify`.
    Merge {
        /// Shard directories, or directories holding them (e.g. the --out of each shard).
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Output directory.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
    },
    /// The regression gate for other implementations: export instances, check traces.
    #[command(subcommand, long_about = gate::HELP)]
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

#[derive(Subcommand)]
enum GateCommand {
    /// Write the instances (DIR/manifest.json and DIR/<id>.npz).
    Export {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Take the instances from a scenario's grid (ridge and pseudo-Huber families), with
        /// its `k_max`, `t_fractions` and `omega` where it sets them (docs/gate.md).
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Seed of the default set.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Size class: small (m = 6, n = 3, K = 30) or large (m = 60, n = 50, K = 500); the
        /// horizon K applies to --scenario too when the scenario sets no `k_max`.
        #[arg(long, value_enum, default_value_t = gate::export::Size::Small)]
        size: gate::export::Size,
        /// Also export the accelerated methods (Chebyshev, Nesterov with constant momentum and
        /// with the convex schedule), after the default set (not with --scenario).
        #[arg(long, conflicts_with = "scenario")]
        accelerated: bool,
        /// Also export random contraction layers tanh(Wx + Uv + b) (input, bias or weights as
        /// parameter; no objective), after the default (and accelerated) set (not with
        /// --scenario).
        #[arg(long, conflicts_with = "scenario")]
        layers: bool,
        /// Also export proximal gradient and FISTA on the elastic net (beyond the paper),
        /// after the default set (and the accelerated methods); not with --scenario.
        #[arg(long, conflicts_with = "scenario")]
        proximal: bool,
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
        /// Write report.md into this directory (and print a summary instead of the report).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Check only these instance ids (comma-separated); every id must be in the manifest.
        #[arg(long, value_delimiter = ',', value_name = "ID,...")]
        only: Option<Vec<String>>,
        /// Skip instances that have no trace (reported as skipped) instead of exit code 2;
        /// still exit code 2 when no selected instance has a trace (nothing checked).
        #[arg(long)]
        allow_missing: bool,
        /// Memory limit in GiB: an instance whose estimated memory (its reference's trajectory
        /// and rows, the trace as read, from the manifest's sizes) exceeds it is refused before
        /// it is read (exit 2, naming it, with the estimate); a failing instance whose cause
        /// simulations would exceed it is judged without them.
        #[arg(long, value_name = "GIB", default_value_t = unrollcheck::budget::DEFAULT_MAX_MEMORY_GIB)]
        max_memory: f64,
    },
}

fn main() -> ExitCode {
    // On SIGINT, SIGTERM, SIGHUP: remove this process's temporary directories, exit 128 + signal.
    if let Err(e) = unrollcheck::report::interrupt::install() {
        eprintln!("unrollcheck: error: cannot handle signals: {e}");
        return ExitCode::from(2);
    }
    let out = &mut QuietStdout;
    let ended = match Cli::parse().command {
        None => commands::demo(&DemoArgs::default(), out),
        Some(Command::Demo(a)) => commands::demo(&a, out),
        Some(Command::List { scenario }) => commands::list(scenario.as_deref(), out),
        Some(Command::Verify { scenarios, quick, long, seed, jobs, out: dir, max_memory, shard }) => {
            let mut scenarios = scenarios;
            if long {
                scenarios.push(PathBuf::from(commands::LONG_CAMPAIGN));
            }
            let opt = Options { seed, quick, jobs, progress: true, max_memory: Some(max_memory), shard };
            commands::verify(&scenarios, &opt, &dir, out)
        }
        Some(Command::Merge { shards, out: dir }) => commands::merge(&shards, &dir, out),
        Some(Command::Gate(GateCommand::Export { out: dir, scenario, seed, size, accelerated, layers, proximal })) => {
            commands::gate_export(
                &dir,
                scenario.as_deref(),
                seed,
                size,
                commands::ExtraSets { accelerated, layers, proximal },
                out,
            )
        }
        Some(Command::Gate(GateCommand::Check {
            instances,
            traces,
            junit,
            out: dir,
            only,
            allow_missing,
            max_memory,
        })) => {
            let sel = gate::check::Selection { only, allow_missing, max_memory_gib: max_memory };
            commands::gate_check(&instances, &traces, &sel, junit.as_deref(), dir.as_deref(), out)
        }
        Some(Command::Replay { id, spec, scenario, max_memory }) => {
            commands::replay(&id, &spec, scenario.as_deref(), max_memory, out)
        }
        Some(Command::Check { spec, max_memory }) => commands::check(spec.as_deref(), max_memory, out),
        Some(Command::Reproduce(a)) => commands::reproduce(&a, out),
    };
    match ended {
        Ok(Outcome::Holds) => ExitCode::SUCCESS,
        Ok(Outcome::Violated) => ExitCode::from(1),
        Ok(Outcome::NoVerdict) => ExitCode::from(2),
        Err(e) => {
            eprintln!("unrollcheck: error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Standard output that ends the process quietly when it is closed (`unrollcheck list |
/// head`) instead of panicking on the broken pipe.
struct QuietStdout;

impl Write for QuietStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match std::io::stdout().write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(e),
            written => written.or_else(|_| std::process::exit(0)),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush().or_else(|_| std::process::exit(0))
    }
}
