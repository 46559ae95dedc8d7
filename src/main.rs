//! The `casevault` command line: parse, then call into the library. No logic here.
//!
//! The definitions, the dispatch and the handlers live in `src/cli/`; this file parses,
//! runs and maps the outcome to the exit code (a failure prints one `casevault: …` line
//! and exits 1).
use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    match cli::run(cli::Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("casevault: {e}");
            ExitCode::FAILURE
        }
    }
}
