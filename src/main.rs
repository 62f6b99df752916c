//! The `unrollcheck` command line: parse, call the library, map errors to exit codes
//! (0 success, 1 a claim violated, 2 bad input).

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use unrollcheck::claims::{self, Case, Config};
use unrollcheck::demo::{self, DemoArgs};
use unrollcheck::spec::Spec;

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
    /// Print every claim id with its equation, kind, statement, families and variants.
    List,
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
        Some(Command::List) => {
            print!("{}", claims::catalogue());
            ExitCode::SUCCESS
        }
        Some(Command::Check { spec }) => check_cmd(spec.as_deref()),
    }
}

fn demo_cmd(args: &DemoArgs) -> ExitCode {
    match demo::run(args) {
        Ok(text) => {
            print!("{text}");
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
    println!("spec {}  K = {}", serde_json::to_string(&spec).unwrap_or_default(), case.k);
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
        println!("{mark} {:<22} {:<20} {}", o.claim, o.variant, o.verdict);
    }
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("unrollcheck: error: {msg}");
    ExitCode::from(2)
}
