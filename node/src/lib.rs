//! # credfed-node
//!
//! One region's node (DESIGN §1): configuration, the sled [`store`], the [`ingest`] pipeline,
//! the HTTP [`api`], the [`audit`] log, [`metrics`], and [`init`] (a ready region in one
//! command).
//!
//! ## Layout
//! - [`config`]: `node.toml` (unknown keys are errors naming key and file).
//! - [`store`]: the `Store` trait, its sled implementation, group commit (the only sled user).
//! - [`ingest`]: decode → verify → authorize → domain rules → dedupe → commit → audit, with one
//!   writer thread assigning feed seqs and audit indexes.
//! - [`query`]: read side; record status is derived on read.
//! - [`audit`] / [`export`]: checkpoints (C2SP signed note), RFC 9162 proofs, bundles.
//! - [`api`]: hyper 1 server, route table, handlers, OpenAPI.
//! - [`node`]: `start`/`run(config, shutdown)` so tests and the binary embed the same node.
//!
//! ## What a federation layer calls
//! - [`ingest::Ingest::submit`] / [`ingest::Ingest::enqueue`]: every received object.
//! - [`store::Store`]: `feed_range`, `feed_heads`, `object`, `meta` for serving peers.
//! - [`ingest::Ingest::audit`]: append `Sent`/`Withheld` events.
//! - [`audit::checkpoint`]: the current signed checkpoint (for cosigning).

pub mod api;
pub mod audit;
pub mod config;
pub mod demo;
pub mod export;
pub mod fed;
pub mod ingest;
pub mod init;
pub mod keyfile;
pub mod local_state;
pub mod metrics;
pub mod node;
pub mod query;
pub mod rebuild;
pub mod recovery;
pub mod setup;
pub mod state;
pub mod store;
pub mod tokens;

pub use node::{run, start, RunningNode, StartError};
