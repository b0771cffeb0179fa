//! `credfed-admin`: parse the command line, run, map the outcome to an exit code
//! (0 ok, 1 verification/validation failure, 2 usage or inconsistency warning,
//! 3 connection/HTTP error). All logic lives in the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    credfed_admin::run(credfed_admin::cli::Cli::parse())
}
