//! Audit export: a self-contained CBOR bundle (DESIGN §6) an auditor verifies offline.
//!
//! Contents: the signed checkpoint note, every leaf hash up to its size (so the root can be
//! recomputed), the leaves `[from, to)`, the envelopes and own-feed entries those leaves name,
//! every delegation and revocation held, and the pinned anchors.

use credfed_protocol::audit::AuditEvent;
use credfed_protocol::cbor::ByteBuf;
use credfed_protocol::envelope::ObjectId;
use credfed_protocol::ObjectType;
use std::collections::BTreeMap;

use super::AuditError;
use crate::ingest::Ingest;

pub use credfed_protocol::bundle::{Bundle, BUNDLE_VERSION};

/// Builds the bundle for leaves `[from, to)` under a fresh checkpoint.
///
/// # Errors
/// [`AuditError::Range`] for a bad range; storage and audit-log integrity failures.
pub fn bundle(ingest: &Ingest, from: u64, to: Option<u64>) -> Result<Vec<u8>, AuditError> {
    let st = ingest.state();
    let store = &*st.store;
    let cp = super::checkpoint(st, ingest)?;
    let to = to.unwrap_or(cp.size).min(cp.size);
    if from > to {
        return Err(AuditError::Range(format!("from {from} > to {to}")));
    }
    let mut b = Bundle {
        version: BUNDLE_VERSION,
        region: st.region.clone(),
        node_key: st.node_key.public(),
        checkpoint: cp.note.clone(),
        leaf_hashes: Vec::with_capacity(cp.size as usize),
        from,
        leaves: Vec::new(),
        envelopes: Vec::new(),
        feed_entries: Vec::new(),
        trust_objects: Vec::new(),
        anchors: BTreeMap::new(),
    };
    let mut named: Vec<ObjectId> = Vec::new();
    let mut seqs: Vec<u64> = Vec::new();
    for i in 0..cp.size {
        let l = store.audit_leaf(i)?.ok_or(AuditError::Missing(i))?;
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
            // Include the target too, so the auditor can re-check origin-only rules.
            if let Some(to) = o.meta.target.map(|t| store.object(&t)).transpose()?.flatten() {
                b.envelopes.push(ByteBuf(to.envelope));
            }
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
        b.anchors.insert(r, k);
    }
    b.envelopes.sort();
    b.envelopes.dedup();
    Ok(b.encode())
}
