//! # credfed-admin
//!
//! The administrator's and auditor's tool (DESIGN §1, §6, §8): offline key ceremonies
//! (`keygen`, `delegate`, `revoke`, `fingerprint`), a node's trust anchors, peers, tokens and
//! policy, record submission and lookup, USCC checks, audit checkpoints (with a remembered
//! checkpoint per region and consistency proofs), audit export and **offline** verification
//! through [`credfed_protocol::bundle::verify_bundle`], and store diagnosis.
//!
//! ## Layout
//! - [`cli`]: the command line; [`exit`]: exit codes and the error type;
//!   [`output`]: human or `--json` output; [`client`]: the typed HTTP client;
//!   [`keyfile`]: key files in the node's format; [`time_arg`]: time arguments.
//! - `cmd/`: one file per command group (`keys`, `trust`, `node` (peers, tokens, policy, feeds,
//!   compliance), `report` (the monthly compliance report), `records` (records, subject), `import` (`records import` of national-format
//!   files), `uscc`, `audit`, `store`).
//!
//! Exit codes: 0 ok, 1 verification/validation failure, 2 usage or inconsistency warning,
//! 3 connection/HTTP error.

pub mod cli;
pub mod client;
mod cmd;
pub mod exit;
pub mod keyfile;
pub mod output;
pub mod time_arg;

use std::process::ExitCode;
use std::time::Duration;

use cli::{Cli, Cmd};
use client::Client;
use exit::{CliResult, Exit};
use output::Out;

/// What a command needs from the global flags.
pub(crate) struct Ctx {
    pub out: Out,
    node: String,
    token: Option<String>,
    timeout: Duration,
}

impl Ctx {
    /// A client for `--node` with `--token`.
    pub fn client(&self) -> CliResult<Client> {
        Client::new(&self.node, self.token.clone(), self.timeout)
    }
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let ctx = Ctx {
        out: Out { json: cli.json },
        node: cli.node,
        token: cli.token.filter(|t| !t.is_empty()),
        timeout: Duration::from_secs(cli.timeout.max(1)),
    };
    let result = match cli.cmd {
        Cmd::Keygen(a) => cmd::keys::keygen(&ctx, a),
        Cmd::Delegate(a) => cmd::keys::delegate(&ctx, a),
        Cmd::Revoke(a) => cmd::keys::revoke(&ctx, a),
        Cmd::Fingerprint(a) => cmd::keys::fingerprint(&ctx, a),
        Cmd::Trust(c) => cmd::trust::run(&ctx, c),
        Cmd::Peers(c) => cmd::node::peers(&ctx, c),
        Cmd::Tokens(c) => cmd::node::tokens(&ctx, c),
        Cmd::Policy(c) => cmd::node::policy(&ctx, c),
        Cmd::Feeds => cmd::node::feeds(&ctx),
        Cmd::Compliance => cmd::node::compliance(&ctx),
        Cmd::Report(c) => cmd::report::run(&ctx, c),
        Cmd::Records(c) => cmd::records::records(&ctx, c),
        Cmd::Subject(c) => cmd::records::subject(&ctx, c),
        Cmd::Changes(c) => cmd::changes::run(&ctx, c),
        Cmd::Uscc(c) => cmd::uscc::run(&ctx, c),
        Cmd::Audit(c) => cmd::audit::run(&ctx, c),
        Cmd::Store(c) => cmd::store::run(&ctx, c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.reported {
                if ctx.out.json {
                    let v =
                        serde_json::json!({ "error": { "exit": e.exit as u8, "message": format!("{:#}", e.error) } });
                    println!("{v}");
                }
                eprintln!("error: {:#}", e.error);
            }
            debug_assert!(e.exit != Exit::Ok);
            ExitCode::from(e.exit as u8)
        }
    }
}
