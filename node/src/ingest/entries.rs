//! Origin-feed entries received from peers (DESIGN §4): applied strictly in feed order, each
//! signed by a node key its region delegated, each chained to the head held; a second entry at
//! a held position is an equivocation, kept as proof.

use std::collections::HashMap;

use credfed_protocol::envelope::ObjectId;
use credfed_protocol::feed::{Equivocation, SignedFeedEntry};
use credfed_protocol::trust::TrustState;
use credfed_protocol::{RegionId, Role};

use super::{ErrorClass, IngestError};
use crate::store::{FedNs, MetaWrite, Store, StoreError};

/// Where an entry stands against the feed held.
pub(super) enum EntryCheck {
    /// `seq` = head + 1 and chained: store it.
    New,
    /// The identical entry is already held.
    Held,
}

/// Feed heads by origin, cached by the writer.
pub(super) type Heads = HashMap<RegionId, (u64, ObjectId)>;

/// Loads every origin's head.
pub(super) fn load_heads(store: &dyn Store) -> Result<Heads, StoreError> {
    Ok(store.feed_heads()?.into_iter().map(|h| (h.origin, (h.seq, h.hash))).collect())
}

fn err(class: ErrorClass, code: &str, msg: String) -> IngestError {
    IngestError::new(class, code, msg).field("entry")
}

/// A refused entry, with the equivocation proof to store when that is why.
pub(super) struct EntryRefused {
    /// The error to answer.
    pub err: Box<IngestError>,
    /// Proof to keep (`FedNs::Equivocation`).
    pub proof: Option<Box<MetaWrite>>,
}

impl From<IngestError> for EntryRefused {
    fn from(err: IngestError) -> EntryRefused {
        EntryRefused { err: Box::new(err), proof: None }
    }
}

/// Checks a peer-delivered entry: delegated node signer (as of its publication time), position,
/// chain. An entry at a held position with different bytes is refused with the equivocation
/// proof to store. `own` is the region whose feed only this node extends (`None` while
/// recovering, when our own entries come from peers).
pub(super) fn check(
    e: &SignedFeedEntry,
    own: Option<&RegionId>,
    heads: &Heads,
    trust: &TrustState,
    store: &dyn Store,
) -> Result<EntryCheck, EntryRefused> {
    let origin = &e.entry.origin;
    let at = e.entry.published_at;
    let signer_ok = trust.delegation(&e.signer, origin, at).is_some_and(|k| {
        k.delegation.role == Role::Node
            && k.delegation.not_before <= at
            && at < k.delegation.not_after
            && k.revoked_from.is_none_or(|r| at < r)
    });
    if !signer_ok {
        return Err(EntryRefused::from(err(
            ErrorClass::Rule,
            "entry_not_delegated",
            format!("feed entry {origin}/{} is not signed by a node key delegated by {origin}", e.entry.seq),
        )));
    }
    let head = heads.get(origin).copied();
    let held_seq = head.map_or(0, |(s, _)| s);
    if e.entry.seq <= held_seq {
        let stored = store.feed_range(origin, e.entry.seq, e.entry.seq).map_err(IngestError::from)?;
        let Some((_, bytes)) = stored.first() else {
            return Err(
                err(ErrorClass::Unavailable, "storage_unavailable", format!("feed {origin} entry missing")).into()
            );
        };
        let held = SignedFeedEntry::open(bytes)
            .map_err(|x| err(ErrorClass::Unavailable, "storage_unavailable", format!("stored entry: {x}")))?;
        if held.hash == e.hash {
            return Ok(EntryCheck::Held);
        }
        let proof = Equivocation::detect(&held, e);
        let write = proof.map(|p| {
            let key = [origin.as_str().as_bytes(), &[0], &p.seq.to_be_bytes()].concat();
            MetaWrite::Fed(FedNs::Equivocation, key, Some(credfed_protocol::wire::encode(&p)))
        });
        let code = if own == Some(origin) { "own_feed_conflict" } else { "equivocation" };
        let msg = format!("{origin} signed two different entries at seq {}", e.entry.seq);
        return Err(EntryRefused { err: Box::new(err(ErrorClass::Conflict, code, msg)), proof: write.map(Box::new) });
    }
    if own == Some(origin) {
        let msg = format!("entry {} of our own feed is not ours", e.entry.seq);
        return Err(err(ErrorClass::Rule, "own_feed_conflict", msg).into());
    }
    if e.entry.seq > held_seq + 1 {
        let msg =
            format!("{origin} entry {} arrived before entries {}..{}", e.entry.seq, held_seq + 1, e.entry.seq - 1);
        return Err(err(ErrorClass::Pending, "feed_gap", msg).into());
    }
    if e.entry.prev != head.map(|(_, h)| h) {
        let msg = format!("{origin} entry {} does not chain to the entry held at {held_seq}", e.entry.seq);
        return Err(err(ErrorClass::Conflict, "feed_broken_chain", msg).into());
    }
    Ok(EntryCheck::New)
}
