//! Exit codes and the error type every command returns.

use std::fmt;

/// Process exit codes (documented in `--help` and `docs/OPERATIONS.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything succeeded / verified.
    Ok = 0,
    /// A verification or validation failure (bad signature, invalid USCC, failed bundle…).
    Failed = 1,
    /// Usage error (bad arguments, unreadable input file) or an inconsistency warning
    /// (a node showed a checkpoint inconsistent with one remembered earlier).
    Usage = 2,
    /// Could not reach the node, or it answered with an HTTP error.
    Connection = 3,
}

/// The `--help` text describing the exit codes.
pub const EXIT_CODES_HELP: &str = "Exit codes:
  0  success; everything verified
  1  verification or validation failure (signature, bundle, USCC, fingerprint mismatch…)
  2  usage error, or an inconsistency warning (a node's checkpoint is not consistent with the
     one remembered earlier: possible split view or rollback)
  3  connection or HTTP error (node unreachable, or it answered 4xx/5xx)";

/// A command failure with the exit code it maps to.
pub struct CliError {
    /// Exit code.
    pub exit: Exit,
    /// What went wrong.
    pub error: anyhow::Error,
    /// Already reported on stdout (e.g. a failed verification report): print nothing more.
    pub reported: bool,
}

impl CliError {
    /// A failure with an exit code.
    pub fn new(exit: Exit, error: impl Into<anyhow::Error>) -> CliError {
        CliError { exit, error: error.into(), reported: false }
    }
    /// Exit 1.
    pub fn failed(msg: impl fmt::Display) -> CliError {
        CliError::new(Exit::Failed, anyhow::anyhow!("{msg}"))
    }
    /// Exit 2.
    pub fn usage(msg: impl fmt::Display) -> CliError {
        CliError::new(Exit::Usage, anyhow::anyhow!("{msg}"))
    }
    /// Exit 3.
    pub fn connection(msg: impl fmt::Display) -> CliError {
        CliError::new(Exit::Connection, anyhow::anyhow!("{msg}"))
    }
    /// An exit code whose explanation was already printed.
    pub fn reported(exit: Exit) -> CliError {
        CliError { exit, error: anyhow::anyhow!("see above"), reported: true }
    }
}

impl fmt::Debug for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {:#}", self.exit, self.error)
    }
}

/// Any other error (I/O on an input file, bad JSON…) is a usage error.
impl<E: Into<anyhow::Error>> From<E> for CliError {
    fn from(e: E) -> CliError {
        CliError::new(Exit::Usage, e)
    }
}

/// `Result` of a command.
pub type CliResult<T = ()> = Result<T, CliError>;

/// Attaches an exit code and context to any error.
pub trait ExitContext<T> {
    /// Maps the error to `exit` with a context line.
    fn exit_ctx(self, exit: Exit, ctx: impl fmt::Display) -> CliResult<T>;
}

impl<T, E: Into<anyhow::Error>> ExitContext<T> for Result<T, E> {
    fn exit_ctx(self, exit: Exit, ctx: impl fmt::Display) -> CliResult<T> {
        self.map_err(|e| CliError::new(exit, e.into().context(ctx.to_string())))
    }
}
