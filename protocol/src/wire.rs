//! Messages between nodes (DESIGN §4): one gossipsub topic carrying [`GossipMessage`]s, and a
//! request-response protocol carrying [`SyncRequest`] / [`SyncResponse`], all in canonical CBOR
//! with size caps checked before decoding.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cbor::{self, ByteBuf, CborError};
use crate::envelope::{ObjectId, MAX_ENVELOPE_LEN};
use crate::feed::{Equivocation, MAX_FEED_ENTRY_LEN};
use crate::RegionId;

/// The gossipsub topic.
pub const GOSSIP_TOPIC: &str = "/credfed/v1/objects";
/// The request-response protocol name.
pub const SYNC_PROTOCOL: &str = "/credfed/sync/1";
/// Largest gossip message: one entry plus one envelope plus framing.
pub const MAX_GOSSIP_LEN: usize = MAX_ENVELOPE_LEN + MAX_FEED_ENTRY_LEN + 256;
/// Most entries in one range response.
pub const MAX_RANGE: u64 = 128;
/// Most ids in one object request.
pub const MAX_IDS: usize = 128;
/// Most entries in one `tips` answer.
pub const MAX_TIPS: usize = 1024;
/// Most notes in one `witnessed` answer.
pub const MAX_WITNESSED: usize = 256;
/// Largest sync request.
pub const MAX_REQUEST_LEN: usize = 64 * 1024;
/// Largest sync response.
pub const MAX_RESPONSE_LEN: usize = (MAX_RANGE as usize) * (MAX_GOSSIP_LEN + 16) + 4096;

/// A feed entry pushed on gossip, with its envelope when the body is `public`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GossipMessage {
    /// Signed feed entry (envelope bytes).
    pub entry: ByteBuf,
    /// The object envelope (public bodies only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope: Option<ByteBuf>,
}

/// One feed position in a range response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedItem {
    /// Signed feed entry.
    pub entry: ByteBuf,
    /// The envelope, when the requester is entitled to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope: Option<ByteBuf>,
    /// Set when the body exists but the requester is not entitled to it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
}

/// Request-response requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SyncRequest {
    /// "Which feed heads do you hold?"
    Heads,
    /// Entries `from..=to` of `origin`'s feed (at most [`MAX_RANGE`]).
    Range {
        /// Origin.
        origin: RegionId,
        /// First seq.
        from: u64,
        /// Last seq (inclusive).
        to: u64,
    },
    /// Envelopes by id (at most [`MAX_IDS`]).
    Objects {
        /// Ids wanted.
        ids: Vec<ObjectId>,
    },
    /// Ask the peer to cosign our checkpoint (signed-note text), proving consistency with the
    /// last one it cosigned.
    Cosign {
        /// Our signed checkpoint.
        checkpoint: String,
        /// Consistency proof from the peer's last cosigned size (hashes).
        proof: Vec<ByteBuf>,
        /// The size the proof starts from (0 when none).
        from_size: u64,
    },
    /// The peer's latest signed checkpoint with its cosignatures.
    Checkpoint,
    /// The signed head entry of every feed the peer holds, so that two nodes at the same head
    /// see whether they hold the same entry there (equivocation, RELIABILITY F8).
    Tips,
    /// The checkpoints of other nodes' audit logs the peer last cosigned, one signed note per
    /// log, so that witnesses can compare what each was shown (split view, RELIABILITY F5).
    Witnessed,
    /// A consistency proof between two sizes of the peer's own audit log `log` (its checkpoint
    /// origin line), for a witness comparing two checkpoints of that log it holds.
    Consistency {
        /// The log's checkpoint origin line.
        log: String,
        /// The smaller size.
        from: u64,
        /// The larger size.
        to: u64,
    },
}

/// Request-response answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SyncResponse {
    /// Highest contiguous seq held per origin, plus equivocation proofs held.
    Heads {
        /// origin → highest seq.
        heads: BTreeMap<RegionId, u64>,
        /// Known equivocations.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        equivocations: Vec<Equivocation>,
    },
    /// Feed items in seq order.
    Entries {
        /// Items.
        items: Vec<FeedItem>,
    },
    /// Envelopes found (ids the peer does not hold or may not send are omitted).
    Objects {
        /// Envelope bytes.
        envelopes: Vec<ByteBuf>,
    },
    /// A cosignature line for the requested checkpoint.
    Cosigned {
        /// The signed-note signature line.
        signature: String,
    },
    /// A signed checkpoint with cosignatures (signed-note text).
    Checkpoint {
        /// Note text.
        note: String,
    },
    /// The signed head entry per origin.
    Tips {
        /// Signed feed entries, at most [`MAX_TIPS`].
        entries: Vec<ByteBuf>,
    },
    /// The latest checkpoint note cosigned per log (signed by the log's node, without
    /// cosignatures).
    Witnessed {
        /// Signed notes, at most [`MAX_WITNESSED`].
        notes: Vec<String>,
    },
    /// An RFC 9162 consistency proof (hashes).
    Consistency {
        /// Proof hashes.
        proof: Vec<ByteBuf>,
    },
    /// Refusal with a stable code.
    Error {
        /// Code, e.g. `not_entitled`, `rate_limited`, `inconsistent`.
        code: String,
        /// Human text.
        message: String,
    },
}

/// Encodes any wire message canonically.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    cbor::to_canonical(msg, "wire message").expect("wire messages encode")
}

/// Decodes a gossip message (cap checked first).
///
/// # Errors
/// [`CborError`].
pub fn decode_gossip(bytes: &[u8]) -> Result<GossipMessage, CborError> {
    cbor::from_canonical(bytes, MAX_GOSSIP_LEN, "gossip message")
}

/// Decodes a sync request (cap checked first), refusing oversize ranges and id lists.
///
/// # Errors
/// [`CborError`].
pub fn decode_request(bytes: &[u8]) -> Result<SyncRequest, CborError> {
    let req: SyncRequest = cbor::from_canonical(bytes, MAX_REQUEST_LEN, "sync request")?;
    match &req {
        SyncRequest::Range { from, to, .. } if *from == 0 || to < from || to - from >= MAX_RANGE => {
            Err(CborError::Shape {
                what: "sync request",
                detail: format!("range {from}..={to} must be within 1.. and at most {MAX_RANGE} long"),
            })
        }
        SyncRequest::Objects { ids } if ids.len() > MAX_IDS => {
            Err(CborError::Shape { what: "sync request", detail: format!("{} ids, limit {MAX_IDS}", ids.len()) })
        }
        SyncRequest::Consistency { from, to, .. } if from > to => Err(CborError::Shape {
            what: "sync request",
            detail: format!("consistency from size {from} to the smaller size {to}"),
        }),
        _ => Ok(req),
    }
}

/// Decodes a sync response (cap checked first).
///
/// # Errors
/// [`CborError`].
pub fn decode_response(bytes: &[u8]) -> Result<SyncResponse, CborError> {
    cbor::from_canonical(bytes, MAX_RESPONSE_LEN, "sync response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_caps() {
        let reqs = vec![
            SyncRequest::Heads,
            SyncRequest::Range { origin: "luan".parse().unwrap(), from: 1, to: 128 },
            SyncRequest::Objects { ids: vec![ObjectId([1; 32])] },
            SyncRequest::Checkpoint,
            SyncRequest::Tips,
            SyncRequest::Witnessed,
            SyncRequest::Consistency { log: "credfed/luan/audit".into(), from: 3, to: 9 },
        ];
        for r in reqs {
            assert_eq!(decode_request(&encode(&r)).unwrap(), r);
        }
        let too_long = SyncRequest::Range { origin: "luan".parse().unwrap(), from: 1, to: 129 };
        assert!(decode_request(&encode(&too_long)).is_err());
        let backwards = SyncRequest::Consistency { log: "credfed/luan/audit".into(), from: 9, to: 3 };
        assert!(decode_request(&encode(&backwards)).is_err());
        let zero = SyncRequest::Range { origin: "luan".parse().unwrap(), from: 0, to: 3 };
        assert!(decode_request(&encode(&zero)).is_err());
        assert!(matches!(decode_gossip(&vec![0u8; MAX_GOSSIP_LEN + 1]), Err(CborError::TooLarge { .. })));
        let resp =
            SyncResponse::Entries { items: vec![FeedItem { entry: ByteBuf(vec![1]), envelope: None, withheld: true }] };
        assert_eq!(decode_response(&encode(&resp)).unwrap(), resp);
        let resp = SyncResponse::Witnessed { notes: vec!["credfed/luan/audit\n1\n…\n".into()] };
        assert_eq!(decode_response(&encode(&resp)).unwrap(), resp);
        let resp = SyncResponse::Consistency { proof: vec![ByteBuf(vec![7; 32])] };
        assert_eq!(decode_response(&encode(&resp)).unwrap(), resp);
    }

    /// The CBOR of the witness-comparison messages (docs/PROTOCOL.md §7.3).
    #[test]
    fn newer_messages_encode_as_documented() {
        assert_eq!(hex::encode(encode(&SyncRequest::Witnessed)), "697769746e6573736564");
        assert_eq!(hex::encode(encode(&SyncRequest::Tips)), "6474697073");
        let tips = SyncResponse::Tips { entries: vec![ByteBuf(vec![1, 2])] };
        assert_eq!(hex::encode(encode(&tips)), "a16474697073a167656e747269657381420102");
        let c = SyncRequest::Consistency { log: "credfed/luan/audit".into(), from: 3, to: 9 };
        assert_eq!(
            hex::encode(encode(&c)),
            "a16b636f6e73697374656e6379a362746f09636c6f6772637265646665642f6c75616e2f61756469746466726f6d03"
        );
    }
}
