//! `store check|rebuild`: diagnose a node's store directory.

use std::path::PathBuf;

use clap::Subcommand;

use crate::exit::{CliError, CliResult};
use crate::Ctx;

/// `store …`.
#[derive(Subcommand, Debug)]
pub enum StoreCmd {
    /// Open a (stopped) node's store and diagnose it.
    Check {
        /// The node directory (holding node.toml) or its store directory.
        dir: PathBuf,
    },
    /// Refill a fresh store from peers.
    Rebuild {
        /// The node directory.
        dir: PathBuf,
        /// Fetch everything from the federation's peers.
        #[arg(long, required = true)]
        from_peers: bool,
    },
}

/// Runs `store …`.
pub fn run(_ctx: &Ctx, cmd: StoreCmd) -> CliResult {
    match cmd {
        StoreCmd::Check { .. } => Err(CliError::usage("not available yet: store check needs the node library")),
        StoreCmd::Rebuild { .. } => Err(CliError::usage(
            "not available yet: store rebuild --from-peers needs the federation sync layer (anti-entropy from peers)",
        )),
    }
}
