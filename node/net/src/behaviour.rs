//! The composed behaviour and the gossipsub settings.
//!
//! Field order matters: the derive asks behaviours in declaration order whether to accept an
//! established connection, and stops at the first denial, so [`Gate`] comes first and no other
//! behaviour ever builds a handler for an unadmitted peer.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use credfed_protocol::wire::{GOSSIP_TOPIC, MAX_GOSSIP_LEN, SYNC_PROTOCOL};
use libp2p::gossipsub::{
    self, IdentTopic, MessageAuthenticity, MessageId, PeerScoreParams, PeerScoreThresholds, TopicScoreParams,
    ValidationMode, WhitelistSubscriptionFilter,
};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{connection_limits, identify, ping, StreamProtocol};
use sha2::{Digest, Sha256};

use crate::app::NetApp;
use crate::codec::SyncCodec;
use crate::config::NetConfig;
use crate::gate::Gate;
use crate::NetError;

/// Identify protocol version: peers of another protocol family are visible in logs.
pub const IDENTIFY_PROTOCOL: &str = "/credfed/id/1";

/// Room for gossipsub's own framing around one message (protobuf fields, author PeerId,
/// seqno, topic, 64-byte signature, inlined key). `max_transmit_size` bounds the whole RPC
/// frame, so it is [`MAX_GOSSIP_LEN`] plus this; the payload itself is held to
/// [`MAX_GOSSIP_LEN`] by `wire::decode_gossip` before anything else looks at it.
pub const GOSSIP_FRAME_OVERHEAD: usize = 1024;

/// Gossip score at or below which a peer is cut off (gossipsub's graylist threshold).
pub const GRAYLIST_THRESHOLD: f64 = -80.0;

/// The gossipsub type: one topic, whitelisted.
pub(crate) type Gossipsub = gossipsub::Behaviour<gossipsub::IdentityTransform, WhitelistSubscriptionFilter>;

/// Everything the swarm runs.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// First: the connection gate.
    pub(crate) gate: Gate,
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    pub(crate) gossipsub: Gossipsub,
    pub(crate) sync: request_response::Behaviour<SyncCodec>,
}

impl Behaviour {
    pub(crate) fn new(key: &Keypair, cfg: &NetConfig, app: Arc<dyn NetApp>) -> Result<Behaviour, NetError> {
        let limits = connection_limits::ConnectionLimits::default()
            .with_max_pending_incoming(Some(cfg.max_pending))
            .with_max_pending_outgoing(Some(cfg.max_pending))
            .with_max_established_incoming(Some(cfg.max_established_incoming))
            .with_max_established(Some(cfg.max_established_total))
            .with_max_established_per_peer(Some(cfg.max_established_per_peer));
        let identify = identify::Behaviour::new(
            identify::Config::new(IDENTIFY_PROTOCOL.to_owned(), key.public())
                .with_agent_version(format!("credfed-net/{}", env!("CARGO_PKG_VERSION"))),
        );
        let sync = request_response::Behaviour::with_codec(
            SyncCodec,
            [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(cfg.request_timeout)
                .with_max_concurrent_streams(cfg.max_concurrent_streams),
        );
        Ok(Behaviour {
            gate: Gate::new(app),
            limits: connection_limits::Behaviour::new(limits),
            identify,
            ping: ping::Behaviour::new(
                ping::Config::new().with_interval(cfg.ping_interval).with_timeout(cfg.ping_timeout),
            ),
            gossipsub: gossipsub(key, cfg)?,
            sync,
        })
    }
}

/// The federation topic.
pub(crate) fn topic() -> IdentTopic {
    IdentTopic::new(GOSSIP_TOPIC)
}

/// Message id = SHA-256 of the payload, so the same entry relayed by several peers (or
/// re-published by its origin) is one message.
pub(crate) fn message_id(data: &[u8]) -> MessageId {
    MessageId::new(&Sha256::digest(data))
}

fn gossipsub(key: &Keypair, cfg: &NetConfig) -> Result<Gossipsub, NetError> {
    let topic = topic();
    let config = gossipsub::ConfigBuilder::default()
        // Strict: author, seqno and signature required and checked (the author is the
        // publishing node key). With `validate_messages`, nothing is forwarded before the
        // app's verdict.
        .validation_mode(ValidationMode::Strict)
        .validate_messages()
        .message_id_fn(|m| message_id(&m.data))
        .max_transmit_size(MAX_GOSSIP_LEN + GOSSIP_FRAME_OVERHEAD)
        .heartbeat_interval(cfg.heartbeat_interval)
        .duplicate_cache_time(Duration::from_secs(120))
        .build()
        .map_err(|e| NetError::Config(format!("gossipsub: {e}")))?;
    let filter = WhitelistSubscriptionFilter(HashSet::from([topic.hash()]));
    let mut gs = Gossipsub::new_with_subscription_filter(MessageAuthenticity::Signed(key.clone()), config, filter)
        .map_err(|e| NetError::Config(format!("gossipsub: {e}")))?;
    gs.with_peer_score(score_params(&topic), score_thresholds())
        .map_err(|e| NetError::Config(format!("gossipsub scoring: {e}")))?;
    gs.subscribe(&topic).map_err(|e| NetError::Config(format!("gossipsub subscribe: {e}")))?;
    Ok(gs)
}

/// Peer scoring tuned for a small, sparse federation: objects are rare, so "did not deliver
/// enough" (P3, P3b) is off; what matters is P4, invalid deliveries. P4 is the squared count
/// of rejected messages times its weight, so 3 rejects in quick succession (−90) cross the
/// graylist threshold (−80); the counter decays by 1 % a second.
fn score_params(topic: &IdentTopic) -> PeerScoreParams {
    let topic_params = TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 300.0,
        first_message_deliveries_weight: 0.5,
        first_message_deliveries_decay: 0.99,
        first_message_deliveries_cap: 20.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -10.0,
        invalid_message_deliveries_decay: 0.99,
        ..TopicScoreParams::default()
    };
    PeerScoreParams {
        topics: HashMap::from([(topic.hash(), topic_params)]),
        // Positive score is capped well below one reject's worth of credit.
        topic_score_cap: 10.0,
        // Sybil resistance comes from delegation, not IP diversity; several nodes may share
        // an address (tests, NAT).
        ip_colocation_factor_weight: 0.0,
        ..PeerScoreParams::default()
    }
}

fn score_thresholds() -> PeerScoreThresholds {
    PeerScoreThresholds { graylist_threshold: GRAYLIST_THRESHOLD, ..PeerScoreThresholds::default() }
}
