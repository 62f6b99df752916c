//! The `unrollcheck` command line: parse, call the library, map errors to exit codes
//! (0 success, 2 bad input).

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use unrollcheck::demo::{self, DemoArgs};

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Demo(a)) => a,
        None => DemoArgs::default(),
    };
    match demo::run(&args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("unrollcheck: error: {e}");
            ExitCode::from(2)
        }
    }
}
