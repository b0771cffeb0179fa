//! Answering peers' sync requests (DESIGN §3–§4, RELIABILITY F16). The entitlement check runs
//! on every answer: a `public` body goes to every admitted region; a `shared` body only from
//! its origin node to the regions the origin's policy entitles (and back to its origin from
//! anyone, for a rebuild); a `restricted` body never leaves its origin. Anything else travels as a `withheld` feed entry, so feeds stay complete.

use std::collections::BTreeMap;

use credfed_protocol::audit::AuditEvent;
use credfed_protocol::cbor::ByteBuf;
use credfed_protocol::envelope::ObjectId;
use credfed_protocol::feed::SignedFeedEntry;
use credfed_protocol::keys::PublicKey;
use credfed_protocol::wire::{FeedItem, SyncRequest, SyncResponse, MAX_RANGE, MAX_TIPS};
use credfed_protocol::RegionId;

use super::witness;
use crate::ingest::Ingest;
use crate::state::classify::entitled;
use crate::state::evidence::equivocations;
use crate::state::State;
use crate::store::{Store, StoreError};

fn error(code: &str, message: impl Into<String>) -> SyncResponse {
    SyncResponse::Error { code: code.into(), message: message.into() }
}

/// Answers one request (blocking: store reads).
pub fn handle(ingest: &Ingest, region: RegionId, from_key: Option<PublicKey>, req: SyncRequest) -> SyncResponse {
    let st = ingest.state();
    let kind = match &req {
        SyncRequest::Heads => "heads",
        SyncRequest::Range { .. } => "range",
        SyncRequest::Objects { .. } => "objects",
        SyncRequest::Checkpoint => "checkpoint",
        SyncRequest::Tips => "tips",
        SyncRequest::Witnessed => "witnessed",
        SyncRequest::Consistency { .. } => "consistency",
        SyncRequest::Cosign { .. } => "cosign",
    };
    st.metrics.sync_served.get_or_create(&crate::metrics::Metrics::label("kind", kind)).inc();
    let r = match req {
        SyncRequest::Heads => heads(st),
        SyncRequest::Range { origin, from, to } => range(ingest, &region, &origin, from, to),
        SyncRequest::Objects { ids } => objects(ingest, &region, &ids),
        SyncRequest::Checkpoint => {
            crate::audit::checkpoint(st, ingest).map(|cp| SyncResponse::Checkpoint { note: cp.note }).map_err(|e| {
                tracing::warn!(error = %e, "checkpoint for a peer failed");
                StoreError::Io(e.to_string())
            })
        }
        SyncRequest::Tips => tips(st),
        SyncRequest::Witnessed => super::compare::witnessed(&*st.store),
        SyncRequest::Consistency { log, from, to } => Ok(super::compare::prove(ingest, &log, from, to)),
        SyncRequest::Cosign { checkpoint, proof, from_size } => match from_key {
            Some(k) => Ok(witness::cosign(ingest, &region, &k, &checkpoint, &proof, from_size)),
            None => Ok(error("bad_peer", "peer id is not an ed25519 node key")),
        },
    };
    r.unwrap_or_else(|e| error("storage_unavailable", e.to_string()))
}

fn heads(st: &State) -> Result<SyncResponse, StoreError> {
    let heads: BTreeMap<RegionId, u64> = st.store.feed_heads()?.into_iter().map(|h| (h.origin, h.seq)).collect();
    Ok(SyncResponse::Heads { heads, equivocations: equivocations(&*st.store)? })
}

/// The signed head entry of every feed held, as stored (at most [`MAX_TIPS`]).
///
/// # Errors
/// [`StoreError`].
pub(super) fn tip_entries(store: &dyn Store) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut entries = Vec::new();
    for h in store.feed_heads()?.into_iter().filter(|h| h.seq > 0).take(MAX_TIPS) {
        if let Some((_, bytes)) = store.feed_range(&h.origin, h.seq, h.seq)?.into_iter().next() {
            entries.push(bytes);
        }
    }
    Ok(entries)
}

fn tips(st: &State) -> Result<SyncResponse, StoreError> {
    Ok(SyncResponse::Tips { entries: tip_entries(&*st.store)?.into_iter().map(ByteBuf).collect() })
}

fn range(
    ingest: &Ingest,
    region: &RegionId,
    origin: &RegionId,
    from: u64,
    to: u64,
) -> Result<SyncResponse, StoreError> {
    let st = ingest.state();
    let to = to.min(from.saturating_add(MAX_RANGE - 1));
    let mut items = Vec::new();
    for (_, bytes) in st.store.feed_range(origin, from, to)? {
        let Ok(e) = SignedFeedEntry::open(&bytes) else {
            return Err(StoreError::Corrupt(format!("stored feed entry of {origin}")));
        };
        let id = e.entry.envelope_id;
        let body = entitled(st, region, &id)?;
        account(ingest, origin, region, &id, body.is_some());
        items.push(FeedItem { entry: ByteBuf(bytes), withheld: body.is_none(), envelope: body.map(ByteBuf) });
    }
    Ok(SyncResponse::Entries { items })
}

fn objects(ingest: &Ingest, region: &RegionId, ids: &[ObjectId]) -> Result<SyncResponse, StoreError> {
    let st = ingest.state();
    let mut envelopes = Vec::new();
    for id in ids {
        let Some(meta) = st.store.meta(id)? else { continue };
        let body = entitled(st, region, id)?;
        account(ingest, &meta.origin, region, id, body.is_some());
        if let Some(b) = body {
            envelopes.push(ByteBuf(b));
        }
    }
    Ok(SyncResponse::Objects { envelopes })
}

/// Audits what this node sends of its own region's objects, and every withholding of them.
fn account(ingest: &Ingest, origin: &RegionId, to: &RegionId, id: &ObjectId, sent: bool) {
    let st = ingest.state();
    if origin != &st.region {
        return;
    }
    let at = st.now();
    ingest.audit(if sent {
        AuditEvent::Sent { at, id: *id, region: to.clone() }
    } else {
        AuditEvent::Withheld { at, id: *id, region: to.clone() }
    });
}
