//! # credfed-node
//!
//! One region's node (DESIGN §1): configuration, the sled [`store`], the [`ingest`] pipeline,
//! the HTTP [`api`], the [`audit`] log, [`metrics`], and [`init`] (a ready region in one
//! command).
//!
//! ## Layout: layers that only point down
//! | layer | modules | what |
//! |---|---|---|
//! | base | [`config`], [`keyfile`], [`metrics`] | `node.toml`, key files, Prometheus registry |
//! | store | [`store`] | the `Store` trait, its sled implementation, group commit (the only sled user) |
//! | state | [`state`] | shared [`state::State`]; what is derived from stored objects (status, classification, receipts, evidence, recovery marker); tokens |
//! | ingest | [`ingest`] | decode → verify → authorize → domain rules → sequence → commit → audit leaves, one writer thread |
//! | audit | [`audit`] | checkpoints (C2SP signed note), RFC 9162 proofs, bundles |
//! | drivers | [`api`], [`console`], [`fed`] | HTTP API (hyper); the web console under `/console/` (over the API's handlers); federation (gossip, anti-entropy, witnessing, recovery) |
//! | assembly | [`node`], [`init`], [`setup`], [`demo`], [`rebuild`] | a running node; a new region; a local federation; a rebuilt store |
//!
//! A module imports only from its own layer or below; `node/tests/layering.rs` fails on a
//! back-edge or an import cycle between files.
//!
// Layers, lowest first; a module imports only from its own layer or below
// (node/tests/layering.rs fails on a back-edge or a cycle).
// base
pub mod config;
pub mod keyfile;
pub mod metrics;
// store: bytes, sled, batches, group commit
pub mod store;
// state: shared state and what is derived from stored objects
pub mod state;
// ingest: validate → authorize → sequence → commit → audit leaves
pub mod ingest;
// audit log read side and checkpoints
pub mod audit;
// drivers
pub mod api;
pub mod console;
pub mod fed;
// assembly: a running node, a new region, a local federation, a rebuilt store
pub mod demo;
pub mod init;
pub mod node;
pub mod rebuild;
pub mod setup;

pub use node::{run, start, RunningNode, StartError};
