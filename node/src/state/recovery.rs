//! Recovery mode: a store rebuilt from peers (DESIGN §5, RELIABILITY F2).
//!
//! Every region holds signed copies of what it was sent, this region's own feed included. A
//! fresh store that carries the recovery marker (written by `credfed_node::rebuild`) runs the node
//! in **recovery mode** until it holds its own feed again:
//!
//! * entries of our own feed are taken from peers like any origin's (in order, chained, signed
//!   by a node key our root delegated) instead of being refused as `own_feed_conflict`;
//! * nothing new enters our own feed: local submissions are refused with `recovering` (503) and
//!   no receipts are issued, so a new entry can never take a sequence number our region already
//!   used (that would be an equivocation of our own making);
//! * our own trust objects (imported from `local-state.json` / `anchor.json`) are held without
//!   a feed position until their entries arrive.
//!
//! Recovery ends when heads were heard from `min_peers` peers and, for every origin we trust,
//! our head reached the highest head any of them reported ([`Recovery::status`]). The
//! federation driver (`fed::recovery`) enters and ends it, each in one audited commit.

use std::collections::{BTreeMap, HashMap};

use credfed_protocol::RegionId;
use serde::{Deserialize, Serialize};

use crate::store::{fed_dec, fed_enc, FedNs, MetaWrite, Store, StoreError};

/// Key of the marker in [`FedNs::Recovery`].
pub const MARKER_KEY: &[u8] = b"marker";
/// Key of the audit-log epoch in [`FedNs::Recovery`] (absent: epoch 1).
pub const EPOCH_KEY: &[u8] = b"epoch";
/// Key of the rollback record in [`FedNs::Recovery`].
pub const ROLLBACK_KEY: &[u8] = b"rollback";

/// Evidence that this node's audit log was rolled back (RELIABILITY F5 `audit_rollback`): a
/// witness had cosigned a larger checkpoint of our log than the log now holds (a store restored
/// from an old copy). The node then never signs another checkpoint of this log — anything it
/// signed would diverge from what the witness holds; `store rebuild --force` starts a new log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollback {
    /// The witness region.
    pub witness: String,
    /// The size it had cosigned.
    pub witnessed: u64,
    /// Our log size when it was noticed.
    pub ours: u64,
    /// When (Unix seconds).
    pub at: u64,
}

/// The persistent recovery marker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// Distinct peers whose heads must be heard before recovery may end.
    pub min_peers: u32,
    /// When the rebuild started (Unix seconds).
    pub started_at: u64,
    /// Where the damaged store was moved (empty when there was none).
    pub previous: String,
}

/// Recovery progress held in memory (heads heard per peer); rebuilt from nothing on restart.
#[derive(Clone, Debug)]
pub struct Recovery {
    /// The marker.
    pub marker: Marker,
    heard: HashMap<String, BTreeMap<RegionId, u64>>,
}

impl Recovery {
    /// Fresh progress for `marker`.
    pub fn new(marker: Marker) -> Recovery {
        Recovery { marker, heard: HashMap::new() }
    }

    /// Records the heads `peer` reported.
    pub fn observe(&mut self, peer: &str, heads: &BTreeMap<RegionId, u64>) {
        self.heard.insert(peer.to_owned(), heads.clone());
    }

    /// Where recovery stands, given our own heads; feeds of origins that are not `trusted`
    /// cannot be fetched and do not hold recovery up.
    pub fn status(&self, ours: &BTreeMap<RegionId, u64>, trusted: impl Fn(&RegionId) -> bool) -> Status {
        let mut origins = BTreeMap::new();
        for (origin, seq) in self.heard.values().flatten() {
            if !trusted(origin) {
                continue;
            }
            let e = origins.entry(origin.clone()).or_insert((0, ours.get(origin).copied().unwrap_or(0)));
            e.0 = e.0.max(*seq);
        }
        let peers_heard = self.heard.len();
        let complete =
            peers_heard >= self.marker.min_peers as usize && origins.values().all(|(theirs, ours)| ours >= theirs);
        Status { min_peers: self.marker.min_peers, peers_heard, origins, complete }
    }
}

/// Where recovery stands.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// Peers needed.
    pub min_peers: u32,
    /// Peers heard so far.
    pub peers_heard: usize,
    /// Per origin: the highest head a peer reported, and ours.
    pub origins: BTreeMap<RegionId, (u64, u64)>,
    /// Whether recovery may end.
    pub complete: bool,
}

/// Reads the marker.
///
/// # Errors
/// [`StoreError`].
pub fn marker(store: &dyn Store) -> Result<Option<Marker>, StoreError> {
    Ok(store.fed_get(FedNs::Recovery, MARKER_KEY)?.and_then(|v| fed_dec(&v)))
}

/// The audit-log epoch of this store: 1 for a store made by `init`, n ≥ 2 for one rebuilt from
/// peers (its log starts again under `credfed/<region>/audit/<n>`, see
/// [`credfed_protocol::bundle::log_origin`]).
///
/// # Errors
/// [`StoreError`]; a malformed value is `Corrupt`.
pub fn epoch(store: &dyn Store) -> Result<u32, StoreError> {
    match store.fed_get(FedNs::Recovery, EPOCH_KEY)? {
        None => Ok(1),
        Some(v) => {
            v.as_slice().try_into().map(u32::from_be_bytes).map_err(|_| StoreError::Corrupt("audit-log epoch".into()))
        }
    }
}

/// The write that sets the audit-log epoch.
pub fn epoch_write(epoch: u32) -> MetaWrite {
    MetaWrite::Fed(FedNs::Recovery, EPOCH_KEY.to_vec(), Some(epoch.to_be_bytes().to_vec()))
}

/// Reads the rollback record.
///
/// # Errors
/// [`StoreError`].
pub fn rollback(store: &dyn Store) -> Result<Option<Rollback>, StoreError> {
    Ok(store.fed_get(FedNs::Recovery, ROLLBACK_KEY)?.and_then(|v| fed_dec(&v)))
}

/// The write that records a rollback.
pub fn rollback_write(r: &Rollback) -> MetaWrite {
    MetaWrite::Fed(FedNs::Recovery, ROLLBACK_KEY.to_vec(), Some(fed_enc(r)))
}

/// The write that sets (`Some`) or clears (`None`) the marker.
pub fn marker_write(m: Option<&Marker>) -> MetaWrite {
    MetaWrite::Fed(FedNs::Recovery, MARKER_KEY.to_vec(), m.map(fed_enc))
}
