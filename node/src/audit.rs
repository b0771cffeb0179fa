//! The audit log's read side: signed checkpoints, entries, RFC 9162 proofs (DESIGN §6,
//! RELIABILITY F5). Leaves are appended only by the ingest writer.
//!
//! * A checkpoint covers only leaves a completed flush made durable, so a crash can never
//!   "unsign" history.
//! * Before signing, every leaf added since the last checkpoint is re-hashed from its stored
//!   bytes and compared with the stored leaf hash; the root is rebuilt from the previous
//!   checkpoint's frontier and, when sizes match, compared with the writer's frontier. Any
//!   mismatch refuses the signature and raises `credfed_audit_leaf_mismatch`.
//! * Each new checkpoint extends the previous one's frontier, so it is consistent with it by
//!   construction.
//!
//! [`export`] builds the self-contained bundle an auditor verifies offline.
//!
//! Checkpoints are C2SP `tlog-checkpoint` bodies (origin `credfed/<region>/audit`) in a C2SP
//! signed note whose key name is the region id, signed by the node key.

pub mod export;

use std::sync::atomic::Ordering;

use credfed_protocol::audit::AuditEvent;

use crate::ingest::Ingest;
use crate::state::State;
use crate::store::{AuditLeaf, CheckpointState, MetaWrite, Store, StoreError};
use credfed_protocol::checkpoint::{sign_checkpoint, Checkpoint};
use credfed_protocol::merkle::{
    leaf_hash, try_consistency_proof_by, try_inclusion_proof_by, Frontier, Hash, ProofError,
};

/// Most entries returned by one `entries` call.
pub const MAX_ENTRIES: u64 = 1000;

/// Audit-log failures.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored leaf does not hash to its recorded hash: refusing to sign.
    #[error("audit leaf {index} does not match its stored hash; refusing to sign a checkpoint")]
    LeafMismatch {
        /// The leaf.
        index: u64,
    },
    /// The rebuilt root differs from the writer's frontier.
    #[error("rebuilt audit root differs from the stored frontier at size {size}; refusing to sign")]
    RootMismatch {
        /// Size compared.
        size: u64,
    },
    /// Bad proof parameters.
    #[error("{0}")]
    Range(String),
    /// A leaf index below the tree size is missing.
    #[error("audit leaf {0} is missing")]
    Missing(u64),
    /// A witness holds a larger checkpoint of this log than the log: it was rolled back.
    #[error(
        "this audit log was rolled back: {witness} cosigned size {witnessed}, the log held {ours}; no checkpoint is \
         signed any more (rebuild the store: credfed-admin store rebuild --from-peers --force)"
    )]
    RolledBack {
        /// Witness region.
        witness: String,
        /// Size it cosigned.
        witnessed: u64,
        /// Our size then.
        ours: u64,
    },
}

impl From<ProofError> for AuditError {
    fn from(e: ProofError) -> AuditError {
        AuditError::Range(e.to_string())
    }
}

fn leaf(store: &dyn Store, i: u64) -> Result<AuditLeaf, AuditError> {
    store.audit_leaf(i)?.ok_or(AuditError::Missing(i))
}

/// Size covered by the latest signed checkpoint, or the durable size.
pub fn durable_size(state: &State) -> u64 {
    state.durable_audit_size.load(Ordering::SeqCst)
}

/// Returns a signed checkpoint covering every durable leaf, signing a fresh one when the tree
/// grew. Blocking.
///
/// # Errors
/// [`AuditError`]; on a leaf or root mismatch nothing is signed.
pub fn checkpoint(state: &State, ingest: &Ingest) -> Result<CheckpointState, AuditError> {
    let _guard = state.checkpoint_lock.lock().unwrap_or_else(|p| p.into_inner());
    let store = &*state.store;
    let size = durable_size(state);
    let prev = store.checkpoint()?;
    if let Some(p) = &prev {
        if p.size >= size {
            return Ok(p.clone());
        }
    }
    // After a rollback the last checkpoint signed before it is still served (it is true of the
    // old prefix); a new one would diverge from what witnesses hold (RELIABILITY F5).
    if let Some(r) = state.rollback.lock().unwrap_or_else(|p| p.into_inner()).clone() {
        return match prev {
            Some(p) => Ok(p),
            None => Err(AuditError::RolledBack { witness: r.witness, witnessed: r.witnessed, ours: r.ours }),
        };
    }
    let mut frontier = match &prev {
        Some(p) => Frontier::from_parts(p.frontier_size, p.frontier_nodes.clone())
            .map_err(|_| StoreError::Corrupt("checkpoint frontier".into()))?,
        None => Frontier::new(),
    };
    for i in frontier.size()..size {
        let l = leaf(store, i)?;
        if leaf_hash(&l.bytes) != l.hash {
            state.metrics.audit_leaf_mismatch.inc();
            tracing::error!(index = i, "audit leaf hash mismatch: refusing to sign");
            return Err(AuditError::LeafMismatch { index: i });
        }
        frontier.push(l.hash).map_err(AuditError::from)?;
    }
    let root = frontier.root();
    let current = store.audit_frontier()?;
    if current.size() == size && current.root() != root {
        state.metrics.audit_leaf_mismatch.inc();
        return Err(AuditError::RootMismatch { size });
    }
    let origin = credfed_protocol::bundle::log_origin(state.region.as_str(), state.audit_epoch);
    let cp = Checkpoint { origin, size, root, extensions: Vec::new() };
    let note = sign_checkpoint(&cp, state.region.as_str(), &state.node_key)
        .map_err(|e| AuditError::Range(e.to_string()))?
        .to_text();
    let st =
        CheckpointState { note, size, root, frontier_size: frontier.size(), frontier_nodes: frontier.nodes().to_vec() };
    ingest.admin_blocking(vec![MetaWrite::Checkpoint(st.clone())], None).map_err(|e| StoreError::Io(e.to_string()))?;
    Ok(st)
}

/// Entries `[start, end)` (capped at [`MAX_ENTRIES`] and the durable size).
///
/// # Errors
/// [`AuditError`].
pub fn entries(state: &State, start: u64, end: u64) -> Result<Vec<(AuditLeaf, Option<AuditEvent>)>, AuditError> {
    let end = end.min(durable_size(state)).min(start.saturating_add(MAX_ENTRIES));
    let mut out = Vec::new();
    for i in start..end {
        let l = leaf(&*state.store, i)?;
        let ev = AuditEvent::decode(&l.bytes).ok();
        out.push((l, ev));
    }
    Ok(out)
}

/// Root of the first `size` leaves (O(size) reads; uses the checkpoint when sizes match).
///
/// # Errors
/// [`AuditError`].
pub fn root_at(state: &State, size: u64) -> Result<Hash, AuditError> {
    if let Some(cp) = state.store.checkpoint()? {
        if cp.size == size {
            return Ok(cp.root);
        }
    }
    let mut f = Frontier::new();
    for i in 0..size {
        f.push(leaf(&*state.store, i)?.hash)?;
    }
    Ok(f.root())
}

fn check_size(state: &State, size: u64) -> Result<(), AuditError> {
    let d = durable_size(state);
    if size > d {
        return Err(AuditError::Range(format!("size {size} is beyond the log size {d}")));
    }
    Ok(())
}

/// Inclusion proof of leaf `index` in the tree of `size` leaves, with that tree's root.
///
/// # Errors
/// [`AuditError::Range`] for bad parameters.
pub fn inclusion(state: &State, index: u64, size: u64) -> Result<(Vec<Hash>, Hash, Hash), AuditError> {
    check_size(state, size)?;
    let store = &*state.store;
    let proof = try_inclusion_proof_by(size, index, |i| leaf(store, i).map(|l| l.hash))?;
    Ok((proof, leaf(store, index)?.hash, root_at(state, size)?))
}

/// Consistency proof from `from` to `to` leaves, with both roots.
///
/// # Errors
/// [`AuditError::Range`] for bad parameters.
pub fn consistency(state: &State, from: u64, to: u64) -> Result<(Vec<Hash>, Hash, Hash), AuditError> {
    let proof = consistency_proof(state, from, to)?;
    Ok((proof, root_at(state, from)?, root_at(state, to)?))
}

/// Only the consistency proof from `from` to `to` leaves (for peers, who hold both roots
/// signed already).
///
/// # Errors
/// [`AuditError::Range`] for bad parameters.
pub fn consistency_proof(state: &State, from: u64, to: u64) -> Result<Vec<Hash>, AuditError> {
    check_size(state, to)?;
    let store = &*state.store;
    try_consistency_proof_by(from, to, |i| leaf(store, i).map(|l| l.hash))
}
