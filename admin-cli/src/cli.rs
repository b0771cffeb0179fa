//! The command line (clap derive). Each command group's arguments live in its `cmd/` file.

use clap::{Parser, Subcommand};

use crate::cmd::{audit, changes, keys, node, records, report, store, trust, uscc};
use crate::exit::EXIT_CODES_HELP;

/// credfed administration and audit tool.
#[derive(Parser, Debug)]
#[command(name = "credfed-admin", version, about, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Print JSON instead of human-readable text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Node API base URL (plain http).
    #[arg(long, global = true, env = "CREDFED_NODE", default_value = "http://127.0.0.1:8440")]
    pub node: String,
    /// API bearer token (scope admin, audit, query or submit as the command needs).
    #[arg(long, global = true, env = "CREDFED_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Seconds to wait for the node.
    #[arg(long, global = true, default_value_t = 60)]
    pub timeout: u64,
    /// The command.
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Commands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Generate a key (root, node or authority): secret to a 0600 file, public key printed.
    Keygen(keys::KeygenArgs),
    /// Sign a delegation with a region root key (offline).
    Delegate(keys::DelegateArgs),
    /// Sign a revocation with a region root key (offline).
    Revoke(keys::RevokeArgs),
    /// Print a public key's fingerprint (to compare out of band before pinning).
    Fingerprint(keys::FingerprintArgs),
    /// Pinned trust anchors of a node.
    #[command(subcommand)]
    Trust(trust::TrustCmd),
    /// Peers of a node.
    #[command(subcommand)]
    Peers(node::PeersCmd),
    /// API tokens of a node.
    #[command(subcommand)]
    Tokens(node::TokensCmd),
    /// Local policy of a node.
    #[command(subcommand)]
    Policy(node::PolicyCmd),
    /// Submit or show records.
    #[command(subcommand)]
    Records(records::RecordsCmd),
    /// Follow a node's change stream (NDJSON on stdout).
    #[command(subcommand)]
    Changes(changes::ChangesCmd),
    /// Records about a subject.
    #[command(subcommand)]
    Subject(records::SubjectCmd),
    /// Feed heads per origin and equivocation proofs.
    Feeds,
    /// Timeliness and rule compliance per region and category.
    Compliance,
    /// Reports a 信用办 files: `report compliance --month YYYY-MM --format html|csv|json`.
    #[command(subcommand)]
    Report(report::ReportCmd),
    /// Unified Social Credit Codes.
    #[command(subcommand)]
    Uscc(uscc::UsccCmd),
    /// Audit: checkpoints, export, offline verification.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// A node's store directory.
    #[command(subcommand)]
    Store(store::StoreCmd),
}
