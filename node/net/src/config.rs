//! [`NetConfig`]: every knob of the swarm, with bounded defaults (STYLE habit 7).

use std::time::Duration;

use credfed_protocol::keys::SecretKey;
use libp2p::Multiaddr;

/// Configuration of one node's swarm. Build with [`NetConfig::new`] and adjust fields.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Addresses to listen on (e.g. `/ip4/0.0.0.0/tcp/4001`; port 0 picks a free port).
    pub listen: Vec<Multiaddr>,
    /// Peers dialled at start and re-dialled on every sync tick while not connected.
    pub bootstrap: Vec<Multiaddr>,
    /// The node key (ed25519). It *is* the libp2p identity, so the PeerId other regions admit
    /// is the one their trust state delegates. Prints as `SecretKey(..)`, zeroized on drop.
    pub node_key: SecretKey,
    /// Established connections per peer (2 leaves room for a simultaneous dial).
    pub max_established_per_peer: u32,
    /// Established connections in total.
    pub max_established_total: u32,
    /// Established inbound connections (capped separately against eclipse attempts).
    pub max_established_incoming: u32,
    /// Connections in the handshake phase (each direction).
    pub max_pending: u32,
    /// Inbound sync requests per second granted to one peer (token-bucket refill rate).
    pub per_peer_requests_per_sec: f64,
    /// Token-bucket size: how many requests a peer may send in a burst.
    pub per_peer_request_burst: u32,
    /// How often [`crate::NetEvent::SyncTick`] fires (and admission is re-evaluated).
    pub sync_interval: Duration,
    /// A connection with no open stream is closed after this long.
    pub idle_timeout: Duration,
    /// Outbound request timeout (also bounds how long a peer may take to send a request).
    pub request_timeout: Duration,
    /// How long the app may take to validate one gossip message before it is ignored.
    pub validation_timeout: Duration,
    /// Gossip messages being validated by the app at once; beyond it messages are ignored
    /// (anti-entropy fetches them later).
    pub max_inflight_validations: usize,
    /// Inbound requests being answered by the app at once; beyond it peers get `busy`.
    pub max_inflight_requests: usize,
    /// Our own outbound requests awaiting an answer; beyond it `request` fails with `Busy`.
    pub max_outbound_requests: usize,
    /// Concurrent request-response streams per connection.
    pub max_concurrent_streams: usize,
    /// Yamux streams per connection.
    pub max_yamux_streams: usize,
    /// Inbound streams in protocol negotiation per connection.
    pub max_negotiating_inbound_streams: usize,
    /// Capacity of the command channel ([`crate::NetHandle`] → swarm task).
    pub command_buffer: usize,
    /// Capacity of the event channel; when the app falls behind, events are dropped (and
    /// logged) rather than stalling the swarm.
    pub event_buffer: usize,
    /// How long a peer whose gossip score fell below the graylist threshold, or that broke a
    /// sync misbehaviour limit (`max_malformed_requests`, `max_rate_limited_requests`), stays
    /// banned.
    pub graylist_ban: Duration,
    /// The sliding window over which a peer's sync misbehaviour is counted.
    pub misbehaviour_window: Duration,
    /// Malformed sync request frames (over `MAX_REQUEST_LEN`, not strict CBOR, cut short) a
    /// peer may send within `misbehaviour_window`; one more disconnects it and bans it for
    /// `graylist_ban`. Honest nodes never send one, so this only forgives a version skew.
    pub max_malformed_requests: u32,
    /// Sync requests refused as `rate_limited` that a peer may earn within
    /// `misbehaviour_window`; one more disconnects and bans it. Higher than
    /// `max_malformed_requests`: a busy honest peer may overshoot its token bucket, but not
    /// keep going after this many refusals.
    pub max_rate_limited_requests: u32,
    /// Gossipsub heartbeat (mesh maintenance, lazy gossip).
    pub heartbeat_interval: Duration,
    /// How long to wait after a ping (successful or not) before sending the next one on a
    /// connection.
    pub ping_interval: Duration,
    /// How long a ping may wait for its answer before it counts as failed.
    pub ping_timeout: Duration,
    /// A connection is closed after this many ping failures *reported* in a row (a success
    /// resets the count), so a peer behind a dead link is disconnected long before TCP gives
    /// up. libp2p-ping keeps quiet about a connection's first failure in a row, so this is the
    /// (N+1)-th failed ping. Over a dead link only that first ping fails at `ping_timeout`;
    /// ping then opens a new stream, and each later attempt fails at libp2p's fixed 10 s
    /// stream-negotiation timeout. So the disconnect comes at most
    /// `2 × ping_interval + ping_timeout + N × 10 s` after the link dies (40 s by default).
    pub ping_failures_before_disconnect: u32,
}

impl NetConfig {
    /// A config with the given node key and conservative defaults; no listen addresses and no
    /// bootstrap peers.
    pub fn new(node_key: SecretKey) -> NetConfig {
        NetConfig {
            listen: Vec::new(),
            bootstrap: Vec::new(),
            node_key,
            max_established_per_peer: 2,
            max_established_total: 128,
            max_established_incoming: 96,
            max_pending: 32,
            per_peer_requests_per_sec: 20.0,
            per_peer_request_burst: 40,
            sync_interval: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            request_timeout: Duration::from_secs(20),
            validation_timeout: Duration::from_secs(10),
            max_inflight_validations: 64,
            max_inflight_requests: 32,
            max_outbound_requests: 256,
            max_concurrent_streams: 32,
            max_yamux_streams: 64,
            max_negotiating_inbound_streams: 32,
            command_buffer: 256,
            event_buffer: 1024,
            graylist_ban: Duration::from_secs(600),
            misbehaviour_window: Duration::from_secs(60),
            max_malformed_requests: 8,
            max_rate_limited_requests: 64,
            heartbeat_interval: Duration::from_secs(1),
            ping_interval: Duration::from_secs(5),
            ping_timeout: Duration::from_secs(10),
            ping_failures_before_disconnect: 2,
        }
    }

    /// Checks that every bound is non-zero.
    ///
    /// # Errors
    /// [`crate::NetError::Config`] naming the first bad field.
    pub fn validate(&self) -> Result<(), crate::NetError> {
        let bad = |field: &str| Err(crate::NetError::Config(format!("{field} must be positive")));
        let counts = [
            ("max_established_per_peer", self.max_established_per_peer as usize),
            ("max_established_total", self.max_established_total as usize),
            ("max_established_incoming", self.max_established_incoming as usize),
            ("max_pending", self.max_pending as usize),
            ("per_peer_request_burst", self.per_peer_request_burst as usize),
            ("max_inflight_validations", self.max_inflight_validations),
            ("max_inflight_requests", self.max_inflight_requests),
            ("max_outbound_requests", self.max_outbound_requests),
            ("max_concurrent_streams", self.max_concurrent_streams),
            ("max_yamux_streams", self.max_yamux_streams),
            ("max_negotiating_inbound_streams", self.max_negotiating_inbound_streams),
            ("command_buffer", self.command_buffer),
            ("event_buffer", self.event_buffer),
            ("ping_failures_before_disconnect", self.ping_failures_before_disconnect as usize),
            ("max_malformed_requests", self.max_malformed_requests as usize),
            ("max_rate_limited_requests", self.max_rate_limited_requests as usize),
        ];
        if let Some((field, _)) = counts.iter().find(|(_, v)| *v == 0) {
            return bad(field);
        }
        if !(self.per_peer_requests_per_sec > 0.0 && self.per_peer_requests_per_sec.is_finite()) {
            return bad("per_peer_requests_per_sec");
        }
        let durations = [
            ("sync_interval", self.sync_interval),
            ("request_timeout", self.request_timeout),
            ("validation_timeout", self.validation_timeout),
            ("heartbeat_interval", self.heartbeat_interval),
            ("ping_interval", self.ping_interval),
            ("ping_timeout", self.ping_timeout),
            ("misbehaviour_window", self.misbehaviour_window),
        ];
        if let Some((field, _)) = durations.iter().find(|(_, d)| d.is_zero()) {
            return bad(field);
        }
        Ok(())
    }
}
