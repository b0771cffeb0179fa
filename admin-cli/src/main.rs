//! `credfed-admin`: parse the command line, run, map the outcome to an exit code
//! (0 ok, 1 verification/validation failure, 2 usage or inconsistency warning,
//! 3 connection/HTTP error). All logic lives in the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    // Logs only when asked for (`RUST_LOG=info credfed-admin store rebuild …` shows the node
    // it runs); stdout stays the command's own output.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    credfed_admin::run(credfed_admin::cli::Cli::parse())
}
