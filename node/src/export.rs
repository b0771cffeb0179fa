//! Audit export: a self-contained CBOR bundle (DESIGN §6) an auditor verifies offline.
//!
//! Contents: the signed checkpoint note, every leaf hash up to its size (so the root can be
//! recomputed), the leaves `[from, to)`, the envelopes and own-feed entries those leaves name,
//! every delegation and revocation held, and the pinned anchors.

use credfed_protocol::audit::AuditEvent;
use credfed_protocol::cbor::ByteBuf;
use credfed_protocol::envelope::ObjectId;
use credfed_protocol::ObjectType;
use serde::{Deserialize, Serialize};

use crate::api::error::ApiError;
use crate::audit;
use crate::ingest::Ingest;

/// Bundle format version.
pub const BUNDLE_VERSION: u64 = 1;

/// The bundle.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Bundle {
    /// Format version.
    pub version: u64,
    /// Exporting region (the checkpoint's key name).
    pub region: String,
    /// Node public key (32 bytes) that signed the checkpoint and feed entries.
    pub node_key: ByteBuf,
    /// Signed checkpoint note.
    pub checkpoint: String,
    /// Every leaf hash `[0, size)`.
    pub leaf_hashes: Vec<ByteBuf>,
    /// First leaf index included.
    pub from: u64,
    /// Leaf bytes `[from, to)`.
    pub leaves: Vec<ByteBuf>,
    /// Envelopes named by the included leaves.
    pub envelopes: Vec<ByteBuf>,
    /// Signed own-feed entries named by the included leaves.
    pub feed_entries: Vec<ByteBuf>,
    /// Delegation and revocation envelopes.
    pub trust_objects: Vec<ByteBuf>,
    /// Pinned anchors: (region, root key).
    pub anchors: Vec<(String, ByteBuf)>,
}

/// Builds the bundle for leaves `[from, to)` under a fresh checkpoint.
///
/// # Errors
/// 422 for a bad range, 503 for storage trouble.
pub fn bundle(ingest: &Ingest, from: u64, to: Option<u64>) -> Result<Vec<u8>, ApiError> {
    let st = ingest.state();
    let store = &*st.store;
    let cp = audit::checkpoint(st, ingest)?;
    let to = to.unwrap_or(cp.size).min(cp.size);
    if from > to {
        return Err(ApiError::unprocessable("invalid_range", format!("from {from} > to {to}")));
    }
    let mut b = Bundle {
        version: BUNDLE_VERSION,
        region: st.region.to_string(),
        node_key: ByteBuf(st.node_key.public().as_bytes().to_vec()),
        checkpoint: cp.note.clone(),
        leaf_hashes: Vec::with_capacity(cp.size as usize),
        from,
        leaves: Vec::new(),
        envelopes: Vec::new(),
        feed_entries: Vec::new(),
        trust_objects: Vec::new(),
        anchors: Vec::new(),
    };
    let mut named: Vec<ObjectId> = Vec::new();
    let mut seqs: Vec<u64> = Vec::new();
    for i in 0..cp.size {
        let l = store.audit_leaf(i)?.ok_or_else(|| ApiError::unavailable(format!("audit leaf {i} missing")))?;
        b.leaf_hashes.push(ByteBuf(l.hash.to_vec()));
        if i >= from && i < to {
            match AuditEvent::decode(&l.bytes) {
                Ok(AuditEvent::Accepted { id, .. }) => named.push(id),
                Ok(AuditEvent::Published { seq, .. }) => seqs.push(seq),
                _ => {}
            }
            b.leaves.push(ByteBuf(l.bytes));
        }
    }
    for id in named {
        if let Some(o) = store.object(&id)? {
            b.envelopes.push(ByteBuf(o.envelope));
        }
    }
    for s in seqs {
        for (_, e) in store.feed_range(&st.region, s, s)? {
            b.feed_entries.push(ByteBuf(e));
        }
    }
    for t in [ObjectType::Delegation, ObjectType::Revocation] {
        for id in store.by_type(t)? {
            if let Some(o) = store.object(&id)? {
                b.trust_objects.push(ByteBuf(o.envelope));
            }
        }
    }
    for (r, k) in store.anchors()? {
        b.anchors.push((r.to_string(), ByteBuf(k.as_bytes().to_vec())));
    }
    let mut out = Vec::new();
    ciborium::ser::into_writer(&b, &mut out).map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(out)
}
