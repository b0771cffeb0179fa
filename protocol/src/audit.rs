//! Audit-log events (DESIGN §6): the leaf bytes of every node's RFC 9162 audit tree.
//!
//! Each leaf is the canonical CBOR encoding of one [`AuditEvent`]; the leaf hash is
//! `SHA-256(0x00 || leaf_bytes)` (see [`crate::merkle`]). Events name objects by id and bytes by
//! hash, never by content: no body field of a `shared`/`restricted` record, no token and no
//! person-digest secret ever enters the log.

use serde::{Deserialize, Serialize};

use crate::cbor::{self, CborError};
use crate::envelope::ObjectId;
use crate::RegionId;

/// Largest leaf accepted when decoding.
pub const MAX_LEAF_LEN: usize = 4096;

/// Where an object came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// The HTTP API, by a token (token id only, never the token).
    Http {
        /// Token id.
        token_id: String,
    },
    /// Gossip from a peer (PeerId text and its region, when known).
    Gossip {
        /// libp2p PeerId.
        peer: String,
    },
    /// A sync response from a peer.
    Sync {
        /// libp2p PeerId.
        peer: String,
    },
    /// The node itself (receipts, delegations written at init).
    Local,
}

/// One audit-log event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AuditEvent {
    /// An object passed every check and was committed.
    Accepted {
        /// Node clock, Unix seconds.
        at: u64,
        /// Object id.
        id: ObjectId,
        /// Origin region of the object.
        origin: RegionId,
        /// Feed position, when the feed entry is known (always for own objects).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
        /// Who delivered it.
        source: Source,
    },
    /// This node originated an object: it is at `seq` of its own feed.
    Published {
        /// Node clock.
        at: u64,
        /// Object id.
        id: ObjectId,
        /// Own feed position.
        seq: u64,
        /// Hash of the signed feed entry.
        entry_hash: ObjectId,
    },
    /// Bytes were refused.
    Rejected {
        /// Node clock.
        at: u64,
        /// SHA-256 of the refused bytes.
        bytes_hash: ObjectId,
        /// Reason code (e.g. `not_origin`).
        code: String,
        /// Human reason (no body fields).
        reason: String,
        /// Who delivered it.
        source: Source,
    },
    /// An object was quarantined for the origin administrator (backdating rule).
    Quarantined {
        /// Node clock.
        at: u64,
        /// Object id.
        id: ObjectId,
        /// Reason code.
        code: String,
    },
    /// A body was sent to a peer region.
    Sent {
        /// Node clock.
        at: u64,
        /// Object id.
        id: ObjectId,
        /// Receiving region.
        region: RegionId,
    },
    /// A body was withheld from a peer region (not entitled).
    Withheld {
        /// Node clock.
        at: u64,
        /// Object id.
        id: ObjectId,
        /// The non-entitled region.
        region: RegionId,
    },
    /// A query was served.
    QueryServed {
        /// Node clock.
        at: u64,
        /// Token id.
        token_id: String,
        /// Route template, e.g. `GET /v1/subjects/{subject}/records`.
        route: String,
        /// SHA-256 of the subject key queried, when the query names a subject.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject_digest: Option<ObjectId>,
    },
    /// An administrative change (trust, policy, tokens, keys, peers).
    AdminChange {
        /// Node clock.
        at: u64,
        /// Token id (or `local` for CLI/offline changes).
        token_id: String,
        /// Action, e.g. `trust.pin`.
        action: String,
        /// Non-secret detail, e.g. the region pinned and the key fingerprint.
        detail: String,
    },
}

impl AuditEvent {
    /// Canonical leaf bytes.
    pub fn encode(&self) -> Vec<u8> {
        cbor::to_canonical(self, "audit event").expect("audit events encode")
    }

    /// Strictly decodes leaf bytes.
    ///
    /// # Errors
    /// [`CborError`].
    pub fn decode(bytes: &[u8]) -> Result<AuditEvent, CborError> {
        cbor::from_canonical(bytes, MAX_LEAF_LEN, "audit event")
    }

    /// Node clock time of the event.
    pub fn at(&self) -> u64 {
        match self {
            AuditEvent::Accepted { at, .. }
            | AuditEvent::Published { at, .. }
            | AuditEvent::Rejected { at, .. }
            | AuditEvent::Quarantined { at, .. }
            | AuditEvent::Sent { at, .. }
            | AuditEvent::Withheld { at, .. }
            | AuditEvent::QueryServed { at, .. }
            | AuditEvent::AdminChange { at, .. } => *at,
        }
    }

    /// Short kind name (`accepted`, `rejected`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            AuditEvent::Accepted { .. } => "accepted",
            AuditEvent::Published { .. } => "published",
            AuditEvent::Rejected { .. } => "rejected",
            AuditEvent::Quarantined { .. } => "quarantined",
            AuditEvent::Sent { .. } => "sent",
            AuditEvent::Withheld { .. } => "withheld",
            AuditEvent::QueryServed { .. } => "query_served",
            AuditEvent::AdminChange { .. } => "admin_change",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip() {
        let evs = vec![
            AuditEvent::Accepted {
                at: 1,
                id: ObjectId([1; 32]),
                origin: "xinyang".parse().unwrap(),
                seq: Some(3),
                source: Source::Http { token_id: "ab12".into() },
            },
            AuditEvent::Rejected {
                at: 2,
                bytes_hash: ObjectId([2; 32]),
                code: "not_origin".into(),
                reason: "x".into(),
                source: Source::Gossip { peer: "12D3".into() },
            },
            AuditEvent::QueryServed {
                at: 3,
                token_id: "t".into(),
                route: "GET /v1/health".into(),
                subject_digest: None,
            },
        ];
        for e in evs {
            assert_eq!(AuditEvent::decode(&e.encode()).unwrap(), e);
        }
    }
}
