//! What the node plugs into the swarm ([`NetApp`]) and what the swarm tells the node
//! ([`NetEvent`]).

use std::fmt;

use credfed_protocol::keys::PublicKey;
use credfed_protocol::wire::{GossipMessage, SyncRequest, SyncResponse};
use credfed_protocol::RegionId;
use futures::future::BoxFuture;
use libp2p::{Multiaddr, PeerId};

/// The node's side of the network: trust decisions, gossip validation, sync answers.
///
/// The swarm task never blocks on these: [`NetApp::is_admitted`] must be cheap (a trust-state
/// lookup under a lock); the two async methods run on their own tasks, bounded in number and
/// time by [`crate::NetConfig`].
pub trait NetApp: Send + Sync + 'static {
    /// The connection gate (DESIGN §4): the region whose pinned root currently delegates
    /// `node_key` as a node key, evaluated *now* (`TrustState::node_region(key, now)`), or `None`.
    /// Asked when a connection is established (before any protocol stream is negotiated), on
    /// every inbound request, on every sync tick and on [`crate::NetHandle::recheck_admission`].
    /// An empty trust state admits nobody.
    fn is_admitted(&self, node_key: &PublicKey) -> Option<RegionId>;

    /// Runs the full ingest pipeline on a gossip message *before* it is forwarded (STYLE
    /// habit 8). `from` is the admitted peer that delivered it, which may be a relay: authority
    /// comes from the signatures inside, never from `from`.
    ///
    /// Return [`Validation::Reject`] only when the message is provably bad (malformed, bad
    /// signature, unauthorized signer): it costs the relaying peer gossip score, and a few
    /// rejects get it disconnected. For "cannot decide yet" (unknown delegation, pending
    /// parent, duplicate) return [`Validation::Ignore`].
    fn validate_gossip(&self, from: PeerId, msg: GossipMessage) -> BoxFuture<'_, Validation>;

    /// Answers a sync request from an admitted peer of `region`. Entitlement checks (which
    /// bodies `region` may receive, DESIGN §3/F16) are the node's job.
    fn handle_request(&self, from: PeerId, region: RegionId, req: SyncRequest) -> BoxFuture<'_, SyncResponse>;
}

/// The verdict on one gossip message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validation {
    /// Valid and new: deliver and forward to the mesh.
    Accept,
    /// Invalid: drop, do not forward, penalise the peer that delivered it. The code is logged.
    Reject(String),
    /// Drop without penalty (duplicate, not decidable yet, overloaded).
    Ignore,
}

/// Something the swarm reports to the node.
#[derive(Clone, Debug, PartialEq)]
pub enum NetEvent {
    /// A listener is up on this address.
    Listening {
        /// Full address (without `/p2p/`).
        addr: Multiaddr,
    },
    /// First connection to an admitted peer: a good moment for anti-entropy with it.
    PeerConnected {
        /// The peer.
        peer: PeerId,
        /// Its region, as the gate decided.
        region: RegionId,
    },
    /// Last connection to a peer closed.
    PeerDisconnected {
        /// The peer.
        peer: PeerId,
    },
    /// A connection was refused, at establishment (gate, ban) or by a connection limit.
    ConnectionDenied {
        /// The peer, when known (not known when a pending-connection limit refused it).
        peer: Option<PeerId>,
        /// Why.
        reason: DenyReason,
    },
    /// A connected peer is no longer admitted (revoked key, unpinned root, expired
    /// delegation) and has been disconnected.
    AdmissionRevoked {
        /// The peer.
        peer: PeerId,
    },
    /// A peer's gossip score fell below the graylist threshold: disconnected and banned for
    /// [`crate::NetConfig::graylist_ban`].
    PeerGraylisted {
        /// The peer.
        peer: PeerId,
        /// Its score when it was cut off.
        score: f64,
    },
    /// A peer broke a sync misbehaviour limit within [`crate::NetConfig::misbehaviour_window`]:
    /// disconnected and banned for [`crate::NetConfig::graylist_ban`].
    PeerMisbehaved {
        /// The peer.
        peer: PeerId,
        /// Which limit it broke.
        reason: Misbehaviour,
    },
    /// Time for anti-entropy: every [`crate::NetConfig::sync_interval`].
    SyncTick,
}

/// What a peer did on the sync protocol to be cut off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Misbehaviour {
    /// More than [`crate::NetConfig::max_malformed_requests`] request frames over the size cap,
    /// not strict CBOR, or cut short.
    MalformedRequests,
    /// More than [`crate::NetConfig::max_rate_limited_requests`] requests refused by its token
    /// bucket.
    RateLimited,
}

impl Misbehaviour {
    /// A stable snake_case code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Misbehaviour::MalformedRequests => "malformed_requests",
            Misbehaviour::RateLimited => "rate_limited",
        }
    }
}

impl fmt::Display for Misbehaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a connection was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// The PeerId is not an ed25519 key, so it cannot be a credfed node key.
    NotNodeKey,
    /// The app does not admit this node key (not delegated, root not pinned, revoked, expired).
    NotAdmitted,
    /// Banned locally (by [`crate::NetHandle::ban`], for a graylisted score or for sync
    /// misbehaviour).
    Banned,
    /// A connection limit (text from libp2p's `connection_limits`).
    Limit(String),
}

impl DenyReason {
    /// A stable snake_case code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            DenyReason::NotNodeKey => "not_node_key",
            DenyReason::NotAdmitted => "not_admitted",
            DenyReason::Banned => "banned",
            DenyReason::Limit(_) => "connection_limit",
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::Limit(detail) => write!(f, "connection_limit ({detail})"),
            other => f.write_str(other.code()),
        }
    }
}
