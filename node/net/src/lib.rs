//! # credfed-net
//!
//! The libp2p side of a credfed node (DESIGN §4): one task owns the swarm, the node talks to
//! it through a cloneable [`NetHandle`] and hears from it through a bounded stream of
//! [`NetEvent`]s. The crate knows nothing about storage or HTTP; trust decisions, gossip
//! validation and sync answers come from the node through the [`NetApp`] trait.
//!
//! ## What runs on the wire
//!
//! * TCP + Noise XX + yamux (QUIC is left out: not needed on the federation's links, and it
//!   would add `quinn-proto` to the advisory surface, RELIABILITY §2.2).
//! * **Admission at establishment** (`gate.rs`): the node key is the libp2p identity, so once
//!   Noise has authenticated a PeerId the gate recovers the ed25519 node key and asks
//!   [`NetApp::is_admitted`]. A refusal happens before any handler exists, so no identify,
//!   gossipsub or request-response stream is negotiated with an unadmitted peer (F10). An
//!   empty trust state admits nobody. Admission is re-asked on every inbound request, every
//!   sync tick and on [`NetHandle::recheck_admission`]; a peer that lost it is disconnected.
//! * identify; ping, where a connection is closed after
//!   [`NetConfig::ping_failures_before_disconnect`] failures in a row (a dead link is noticed
//!   in tens of seconds, not when TCP gives up minutes later).
//! * gossipsub on [`wire::GOSSIP_TOPIC`] only (whitelist filter): `ValidationMode::Strict`,
//!   `validate_messages()` (nothing is forwarded before the app accepts it), message id =
//!   SHA-256 of the payload, `max_transmit_size` = [`wire::MAX_GOSSIP_LEN`] + framing
//!   ([`GOSSIP_FRAME_OVERHEAD`]), peer scoring where rejected messages cost score and a peer
//!   below [`GRAYLIST_THRESHOLD`] is disconnected and banned for a while.
//! * request-response on [`wire::SYNC_PROTOCOL`] with [`SyncCodec`]: length-prefixed
//!   canonical CBOR, [`wire::MAX_REQUEST_LEN`] / [`wire::MAX_RESPONSE_LEN`] enforced on the
//!   length prefix before the body is read. Inbound requests pass a per-peer token bucket
//!   (`rate_limited` answers past it). A peer that sends more than
//!   [`NetConfig::max_malformed_requests`] malformed frames, or earns more than
//!   [`NetConfig::max_rate_limited_requests`] `rate_limited` answers, within
//!   [`NetConfig::misbehaviour_window`] is disconnected and banned like a graylisted one
//!   ([`NetEvent::PeerMisbehaved`]).
//! * connection limits (pending, inbound, total, per peer), yamux stream cap, idle timeout.
//!
//! Anti-entropy itself is the node's job: it gets [`NetEvent::PeerConnected`] and a periodic
//! [`NetEvent::SyncTick`], and drives heads exchange and range fetches with
//! [`NetHandle::request`].
//!
//! ## Layout
//!
//! | module | what |
//! |---|---|
//! | `lib.rs` | [`spawn`], re-exports |
//! | `config.rs` | [`NetConfig`] and its bounded defaults |
//! | `app.rs` | [`NetApp`], [`Validation`], [`NetEvent`], [`DenyReason`], [`Misbehaviour`] |
//! | `handle.rs` | [`NetHandle`], [`NetError`], the command enum |
//! | `event_loop.rs` | the swarm task: commands, connection events, sync tick |
//! | `admission.rs` | re-asking admission, cutting peers off, graylisting, sync strikes, denial events |
//! | `inbound.rs` | gossip validation and sync request handling |
//! | `gate.rs` | the admission behaviour (deny at establishment, bans, regions) |
//! | `behaviour.rs` | the composed behaviour; gossipsub and scoring settings |
//! | `codec.rs` | [`SyncCodec`], [`SyncFrame`] |
//! | `rate.rs` | per-peer token bucket, strike windows |
//! | `identity.rs` | node key ⇄ PeerId |

use std::sync::Arc;

use libp2p::{noise, tcp, yamux, SwarmBuilder};
use tokio::sync::mpsc;

mod admission;
mod app;
mod behaviour;
mod codec;
mod config;
mod event_loop;
mod gate;
mod handle;
mod identity;
mod inbound;
mod rate;

pub use app::{DenyReason, Misbehaviour, NetApp, NetEvent, Validation};
pub use behaviour::{GOSSIP_FRAME_OVERHEAD, GRAYLIST_THRESHOLD, IDENTIFY_PROTOCOL};
pub use codec::{SyncCodec, SyncFrame};
pub use config::NetConfig;
pub use credfed_protocol::wire;
pub use gate::Denied;
pub use handle::{NetError, NetHandle};
pub use identity::{node_key_of, peer_id_of};
pub use libp2p::{multiaddr, Multiaddr, PeerId};

/// Starts the swarm task: builds the swarm from `config`, opens the listeners (waiting until
/// each has an address, so [`NetHandle::listen_addrs`] is complete on return), dials the
/// bootstrap peers and spawns the task on the current tokio runtime.
///
/// Returns the handle and the event receiver. The task stops on [`NetHandle::shutdown`] or
/// when every handle is dropped; dropping the receiver only discards events.
///
/// # Errors
/// [`NetError::Config`] for a bad config, [`NetError::Listen`] when a listener fails.
pub async fn spawn(config: NetConfig, app: Arc<dyn NetApp>) -> Result<(NetHandle, mpsc::Receiver<NetEvent>), NetError> {
    config.validate()?;
    let key = identity::keypair(&config.node_key);
    let behaviour = behaviour::Behaviour::new(&key, &config, app.clone())?;
    let yamux_streams = config.max_yamux_streams;
    let swarm = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, move || {
            let mut cfg = yamux::Config::default();
            cfg.set_max_num_streams(yamux_streams);
            cfg
        })
        .map_err(|e| NetError::Config(format!("noise: {e}")))?
        .with_behaviour(|_| behaviour)
        .map_err(|e| NetError::Config(format!("behaviour: {e}")))?
        .with_swarm_config(|c| {
            c.with_idle_connection_timeout(config.idle_timeout)
                .with_max_negotiating_inbound_streams(config.max_negotiating_inbound_streams)
        })
        .build();
    let local_peer_id = *swarm.local_peer_id();
    let (cmd_tx, cmd_rx) = mpsc::channel(config.command_buffer);
    let (ev_tx, ev_rx) = mpsc::channel(config.event_buffer);
    let mut event_loop = event_loop::EventLoop::new(swarm, app, config, cmd_rx, ev_tx);
    event_loop.start().await?;
    tokio::spawn(event_loop.run());
    Ok((NetHandle::new(cmd_tx, local_peer_id), ev_rx))
}
