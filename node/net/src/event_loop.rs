//! The one task that owns the [`Swarm`] (STYLE habit 6): it multiplexes handle commands,
//! swarm events, finished app calls and the sync tick. Nothing here awaits the app: app
//! calls run on their own tasks (bounded [`JoinSet`]s) and come back as values.

use std::collections::HashMap;
use std::sync::Arc;

use credfed_protocol::wire::SyncResponse;
use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::gossipsub::{MessageId, PublishError, TopicHash};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{OutboundRequestId, ResponseChannel};
use libp2p::swarm::{ConnectionId, DialError, ListenError, SwarmEvent};
use libp2p::{ping, Multiaddr, PeerId, Swarm};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::app::{Misbehaviour, NetApp, NetEvent, Validation};
use crate::behaviour::{self, Behaviour, BehaviourEvent};
use crate::codec::SyncFrame;
use crate::handle::{Command, NetError};
use crate::rate::{Strikes, TokenBucket};
use crate::NetConfig;

/// A gossip verdict computed off the loop.
pub(crate) struct Validated {
    pub(crate) id: MessageId,
    pub(crate) source: PeerId,
    pub(crate) verdict: Validation,
}

/// A sync answer computed off the loop.
pub(crate) struct Answered {
    pub(crate) peer: PeerId,
    pub(crate) channel: ResponseChannel<SyncResponse>,
    pub(crate) response: SyncResponse,
}

type Reply = oneshot::Sender<Result<SyncResponse, NetError>>;

pub(crate) struct EventLoop {
    pub(crate) swarm: Swarm<Behaviour>,
    pub(crate) app: Arc<dyn NetApp>,
    pub(crate) cfg: NetConfig,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetEvent>,
    pub(crate) topic: TopicHash,
    pub(crate) outbound: HashMap<OutboundRequestId, (PeerId, Reply)>,
    pub(crate) buckets: HashMap<PeerId, TokenBucket>,
    /// Recent sync strikes per peer and kind. Kept across reconnects (a peer cannot wipe its
    /// record by redialling); entries go once every strike has left the window.
    pub(crate) strikes: HashMap<(PeerId, Misbehaviour), Strikes>,
    pub(crate) validations: JoinSet<Validated>,
    pub(crate) answers: JoinSet<Answered>,
    listen_addrs: Vec<Multiaddr>,
    /// Bootstrap address → the peer found there (learned when a dial to it succeeds).
    bootstrap_peers: HashMap<Multiaddr, PeerId>,
    /// Ping failures in a row per established connection (an entry from establishment to
    /// close; reset by a successful ping).
    ping_failures: HashMap<ConnectionId, u32>,
    dropped_events: u64,
}

impl EventLoop {
    pub(crate) fn new(
        swarm: Swarm<Behaviour>,
        app: Arc<dyn NetApp>,
        cfg: NetConfig,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<NetEvent>,
    ) -> EventLoop {
        EventLoop {
            swarm,
            app,
            cfg,
            commands,
            events,
            topic: behaviour::topic().hash(),
            outbound: HashMap::new(),
            buckets: HashMap::new(),
            strikes: HashMap::new(),
            validations: JoinSet::new(),
            answers: JoinSet::new(),
            listen_addrs: Vec::new(),
            bootstrap_peers: HashMap::new(),
            ping_failures: HashMap::new(),
            dropped_events: 0,
        }
    }

    /// Opens the listeners and waits (≤ 10 s) until each reports an address, handling any
    /// other event normally; then dials the bootstrap peers.
    pub(crate) async fn start(&mut self) -> Result<(), NetError> {
        let listen = self.cfg.listen.clone();
        for addr in &listen {
            self.swarm
                .listen_on(addr.clone())
                .map_err(|e| NetError::Listen { addr: addr.clone(), reason: e.to_string() })?;
        }
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.listen_addrs.len() < listen.len() {
            let event = tokio::time::timeout_at(deadline, self.swarm.select_next_some()).await.map_err(|_| {
                NetError::Listen {
                    addr: listen[self.listen_addrs.len()].clone(),
                    reason: "no address within 10 s".into(),
                }
            })?;
            if let SwarmEvent::ListenerClosed { addresses, reason, .. } = &event {
                let addr = addresses.first().cloned().unwrap_or_else(|| listen[0].clone());
                return Err(NetError::Listen { addr, reason: format!("{reason:?}") });
            }
            self.on_swarm_event(event);
        }
        for addr in self.cfg.bootstrap.clone() {
            self.dial(addr);
        }
        Ok(())
    }

    /// Runs until [`Command::Shutdown`] or until every handle is dropped.
    pub(crate) async fn run(mut self) {
        let period = self.cfg.sync_interval;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shutdown_reply = loop {
            tokio::select! {
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Shutdown { reply }) => break Some(reply),
                    Some(cmd) => self.on_command(cmd),
                    None => break None,
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                Some(done) = self.validations.join_next() => match done {
                    Ok(v) => self.report(&v.id, &v.source, v.verdict),
                    Err(e) => warn!(error = %e, "gossip validation task failed"),
                },
                Some(done) = self.answers.join_next() => match done {
                    Ok(a) => self.answer(a),
                    Err(e) => warn!(error = %e, "sync request task failed"),
                },
                _ = tick.tick() => self.on_tick(),
            }
        };
        info!(peer_id = %self.swarm.local_peer_id(), "network task stopping");
        // Dropping the loop aborts in-flight app calls, fails pending requests with `Closed`
        // and closes every connection and listener.
        drop(self);
        if let Some(reply) = shutdown_reply {
            let _ = reply.send(());
        }
    }

    /// Sends an event to the node without ever blocking the swarm: if the node is not
    /// keeping up, the event is dropped and counted.
    pub(crate) fn emit(&mut self, event: NetEvent) {
        if let Err(mpsc::error::TrySendError::Full(event)) = self.events.try_send(event) {
            self.dropped_events += 1;
            // Logged at 1, 2, 4, 8, … drops, so that a flood does not flood the log too.
            if self.dropped_events.is_power_of_two() {
                warn!(dropped = self.dropped_events, ?event, "event channel full; event dropped");
            }
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Publish { data, reply } => {
                let res = self.swarm.behaviour_mut().gossipsub.publish(self.topic.clone(), data);
                let _ = reply.send(res.map(|_| ()).map_err(|e| match e {
                    PublishError::NoPeersSubscribedToTopic => NetError::NoPeers,
                    PublishError::Duplicate => NetError::Duplicate,
                    other => NetError::Publish(other.to_string()),
                }));
            }
            Command::Request { peer, req, reply } => {
                if self.swarm.behaviour().gate.region(&peer).is_none() {
                    let _ = reply.send(Err(NetError::NotConnected(peer)));
                } else if self.outbound.len() >= self.cfg.max_outbound_requests {
                    let _ = reply.send(Err(NetError::Busy));
                } else {
                    let id = self.swarm.behaviour_mut().sync.send_request(&peer, SyncFrame::Request(req));
                    self.outbound.insert(id, (peer, reply));
                }
            }
            Command::ConnectedPeers { reply } => {
                let peers = self.swarm.behaviour().gate.peers().map(|(p, r)| (*p, r.clone())).collect();
                let _ = reply.send(peers);
            }
            Command::MeshPeers { reply } => {
                let _ = reply.send(self.swarm.behaviour().gossipsub.mesh_peers(&self.topic).copied().collect());
            }
            Command::Dial { addr, reply } => {
                let res = self.swarm.dial(addr.clone()).map_err(|e| {
                    if let DialError::Denied { cause } = &e {
                        self.on_denied(None, cause);
                    }
                    NetError::Dial { addr, reason: e.to_string() }
                });
                let _ = reply.send(res);
            }
            Command::Disconnect { peer, reply } => {
                let _ = reply.send(self.swarm.disconnect_peer_id(peer).is_ok());
            }
            Command::Ban { peer, reply } => {
                info!(%peer, "peer banned");
                self.swarm.behaviour_mut().gate.ban(peer, None);
                self.swarm.behaviour_mut().gate.forget(&peer);
                let _ = self.swarm.disconnect_peer_id(peer);
                let _ = reply.send(());
            }
            Command::Unban { peer, reply } => {
                let _ = reply.send(self.swarm.behaviour_mut().gate.unban(&peer));
            }
            Command::RecheckAdmission { reply } => {
                let _ = reply.send(self.recheck_admission());
            }
            Command::ListenAddrs { reply } => {
                let _ = reply.send(self.listen_addrs.clone());
            }
            Command::Shutdown { reply } => {
                // Handled in `run`; unreachable here, but answering is harmless.
                let _ = reply.send(());
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(e)) => self.on_gossip(e),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(e)) => self.on_sync(e),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(e)) => self.on_ping(e),
            SwarmEvent::Behaviour(_) => {}
            SwarmEvent::ConnectionEstablished { peer_id, connection_id, endpoint, num_established, .. } => {
                self.ping_failures.insert(connection_id, 0);
                if let ConnectedPoint::Dialer { address, .. } = &endpoint {
                    if self.cfg.bootstrap.contains(address) {
                        self.bootstrap_peers.insert(address.clone(), peer_id);
                    }
                }
                let region = self.swarm.behaviour().gate.region(&peer_id).cloned();
                if let (1, Some(region)) = (num_established.get(), region) {
                    info!(peer = %peer_id, %region, "peer connected");
                    self.emit(NetEvent::PeerConnected { peer: peer_id, region });
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, connection_id, num_established, .. } => {
                self.ping_failures.remove(&connection_id);
                if num_established == 0 {
                    debug!(peer = %peer_id, "peer disconnected");
                    self.buckets.remove(&peer_id);
                    self.emit(NetEvent::PeerDisconnected { peer: peer_id });
                }
            }
            SwarmEvent::IncomingConnectionError { peer_id, error: ListenError::Denied { cause }, .. } => {
                self.on_denied(peer_id, &cause)
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error: DialError::Denied { cause }, .. } => {
                self.on_denied(peer_id, &cause)
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                self.listen_addrs.push(address.clone());
                self.emit(NetEvent::Listening { addr: address });
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => self.listen_addrs.retain(|a| *a != address),
            _ => {}
        }
    }

    /// Counts ping failures in a row per connection and closes a connection that reaches
    /// [`NetConfig::ping_failures_before_disconnect`]: libp2p-ping only reports failures, and a
    /// peer behind a dead link would otherwise stay connected until TCP gives up. The usual
    /// `ConnectionClosed` path then reports [`NetEvent::PeerDisconnected`].
    fn on_ping(&mut self, ping::Event { peer, connection, result }: ping::Event) {
        let Some(failures) = self.ping_failures.get_mut(&connection) else {
            return; // Already closed.
        };
        match result {
            Ok(_) => *failures = 0,
            // Reported once per connection, then ping stays quiet on it: no liveness signal.
            Err(ping::Failure::Unsupported) => debug!(%peer, "peer does not support ping"),
            Err(error) => {
                *failures += 1;
                let failures = *failures;
                debug!(%peer, failures, %error, "ping failed");
                if failures == self.cfg.ping_failures_before_disconnect {
                    warn!(%peer, failures, %error, "ping failed repeatedly; closing the connection");
                    self.swarm.close_connection(connection);
                }
            }
        }
    }

    fn on_tick(&mut self) {
        self.recheck_admission();
        self.expire_strikes();
        let peers: Vec<PeerId> = self.swarm.behaviour().gate.peers().map(|(p, _)| *p).collect();
        for peer in peers {
            self.enforce_score(peer);
        }
        for addr in self.cfg.bootstrap.clone() {
            let known = peer_in(&addr).or_else(|| self.bootstrap_peers.get(&addr).copied());
            if !known.is_some_and(|p| self.swarm.is_connected(&p)) {
                self.dial(addr);
            }
        }
        self.emit(NetEvent::SyncTick);
    }

    fn dial(&mut self, addr: Multiaddr) {
        if let Err(e) = self.swarm.dial(addr.clone()) {
            debug!(%addr, error = %e, "dial failed");
            if let DialError::Denied { cause } = &e {
                self.on_denied(peer_in(&addr), cause);
            }
        }
    }
}

/// The `/p2p/<peer>` component of an address, if any.
fn peer_in(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}
