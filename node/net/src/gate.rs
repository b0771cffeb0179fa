//! The connection gate (DESIGN §4, RELIABILITY F10): a [`NetworkBehaviour`] placed *first* in
//! the composed behaviour, so that it is asked before any other behaviour creates a handler.
//! When it denies in `handle_established_{inbound,outbound}_connection`, the swarm drops the
//! authenticated connection without building a handler: no identify, gossipsub or
//! request-response stream is ever negotiated with an unadmitted peer.
//!
//! It also remembers the region of every connected peer, as decided at admission, and holds
//! the local ban list (bounded).

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use credfed_protocol::RegionId;
use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::swarm::{
    dummy, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent, THandlerOutEvent,
    ToSwarm,
};
use libp2p::{Multiaddr, PeerId};

use crate::app::{DenyReason, NetApp};
use crate::identity::node_key_of;

/// Most entries in the ban list; the oldest expiring entry is dropped past it.
pub(crate) const MAX_BANS: usize = 4096;

/// The error a denied connection carries (downcast from `ConnectionDenied`).
#[derive(Debug, thiserror::Error)]
#[error("peer {peer} denied: {reason}")]
pub struct Denied {
    /// The peer.
    pub peer: PeerId,
    /// Why.
    pub reason: DenyReason,
}

struct Connected {
    region: RegionId,
    connections: HashSet<ConnectionId>,
}

/// The gate behaviour.
pub(crate) struct Gate {
    app: Arc<dyn NetApp>,
    /// Banned peers → until when (`None`: until unbanned).
    banned: HashMap<PeerId, Option<Instant>>,
    /// Admitted but not yet reported established (another behaviour may still deny).
    pending: HashMap<ConnectionId, (PeerId, RegionId)>,
    connected: HashMap<PeerId, Connected>,
}

impl Gate {
    pub(crate) fn new(app: Arc<dyn NetApp>) -> Gate {
        Gate { app, banned: HashMap::new(), pending: HashMap::new(), connected: HashMap::new() }
    }

    /// Asks the app, now, whether `peer` is admitted; bans are checked first.
    pub(crate) fn admit(&mut self, peer: &PeerId) -> Result<RegionId, Denied> {
        let deny = |reason| Err(Denied { peer: *peer, reason });
        if let Some(until) = self.banned.get(peer) {
            match until {
                Some(t) if *t <= Instant::now() => {
                    self.banned.remove(peer);
                }
                _ => return deny(DenyReason::Banned),
            }
        }
        let Some(key) = node_key_of(peer) else {
            return deny(DenyReason::NotNodeKey);
        };
        match self.app.is_admitted(&key) {
            Some(region) => Ok(region),
            None => deny(DenyReason::NotAdmitted),
        }
    }

    fn admit_connection(&mut self, id: ConnectionId, peer: PeerId) -> Result<THandler<Self>, ConnectionDenied> {
        let region = self.admit(&peer).map_err(ConnectionDenied::new)?;
        self.pending.insert(id, (peer, region));
        Ok(dummy::ConnectionHandler)
    }

    /// The region of a connected peer, as decided at admission (or the last recheck).
    pub(crate) fn region(&self, peer: &PeerId) -> Option<&RegionId> {
        self.connected.get(peer).map(|c| &c.region)
    }

    /// Updates a connected peer's region after a recheck.
    pub(crate) fn set_region(&mut self, peer: &PeerId, region: RegionId) {
        if let Some(c) = self.connected.get_mut(peer) {
            c.region = region;
        }
    }

    /// Stops treating `peer` as connected right away (its connections are being closed), so
    /// no request goes to it and it is not listed while the close completes.
    pub(crate) fn forget(&mut self, peer: &PeerId) {
        self.connected.remove(peer);
    }

    /// Connected peers with their regions.
    pub(crate) fn peers(&self) -> impl Iterator<Item = (&PeerId, &RegionId)> {
        self.connected.iter().map(|(p, c)| (p, &c.region))
    }

    /// Bans `peer` until `until` (`None`: until [`Gate::unban`]).
    pub(crate) fn ban(&mut self, peer: PeerId, until: Option<Instant>) {
        if self.banned.len() >= MAX_BANS && !self.banned.contains_key(&peer) {
            let now = Instant::now();
            self.banned.retain(|_, t| t.is_none_or(|t| t > now));
            if self.banned.len() >= MAX_BANS {
                // Drop the timed ban that ends first; permanent bans are kept.
                let first = self.banned.iter().filter_map(|(p, t)| t.map(|t| (t, *p))).min();
                match first {
                    Some((_, p)) => {
                        self.banned.remove(&p);
                    }
                    None => return, // full of permanent bans: refuse to grow.
                }
            }
        }
        self.banned.insert(peer, until);
    }

    /// Lifts a ban. Returns whether there was one.
    pub(crate) fn unban(&mut self, peer: &PeerId) -> bool {
        self.banned.remove(peer).is_some()
    }
}

impl NetworkBehaviour for Gate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.admit_connection(id, peer)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: Option<PeerId>,
        _: &[Multiaddr],
        _: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        // Do not even dial a peer we would refuse; dials by bare address are checked once
        // Noise has authenticated the remote.
        if let Some(peer) = peer {
            self.admit(&peer).map_err(ConnectionDenied::new)?;
        }
        Ok(vec![])
    }

    fn handle_established_outbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.admit_connection(id, peer)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(e) => {
                if let Some((peer, region)) = self.pending.remove(&e.connection_id) {
                    let entry = self
                        .connected
                        .entry(peer)
                        .or_insert_with(|| Connected { region: region.clone(), connections: HashSet::new() });
                    entry.region = region;
                    entry.connections.insert(e.connection_id);
                }
            }
            FromSwarm::ConnectionClosed(e) => {
                if let Some(c) = self.connected.get_mut(&e.peer_id) {
                    c.connections.remove(&e.connection_id);
                    if c.connections.is_empty() {
                        self.connected.remove(&e.peer_id);
                    }
                }
            }
            FromSwarm::DialFailure(e) => {
                self.pending.remove(&e.connection_id);
            }
            FromSwarm::ListenFailure(e) => {
                self.pending.remove(&e.connection_id);
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(&mut self, _: PeerId, _: ConnectionId, event: THandlerOutEvent<Self>) {
        libp2p::core::util::unreachable(event)
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}
