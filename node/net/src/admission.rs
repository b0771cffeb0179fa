//! Admission after establishment: re-asking the app, cutting peers off, graylisting, counting
//! sync misbehaviour, and turning denials into [`NetEvent::ConnectionDenied`].
//!
//! A peer is cut off for a while in one way ([`EventLoop::cut_off`]): for its gossip score
//! ([`EventLoop::enforce_score`]) or for breaking a sync misbehaviour limit
//! ([`EventLoop::strike`]).

use std::time::Instant;

use credfed_protocol::RegionId;
use libp2p::swarm::ConnectionDenied;
use libp2p::{connection_limits, PeerId};
use tracing::{debug, info, warn};

use crate::app::{DenyReason, Misbehaviour, NetEvent};
use crate::behaviour::GRAYLIST_THRESHOLD;
use crate::event_loop::EventLoop;
use crate::gate::Denied;

impl EventLoop {
    pub(crate) fn on_denied(&mut self, peer: Option<PeerId>, cause: &ConnectionDenied) {
        let (peer, reason) = if let Some(d) = cause.downcast_ref::<Denied>() {
            (Some(d.peer), d.reason.clone())
        } else if let Some(e) = cause.downcast_ref::<connection_limits::Exceeded>() {
            (peer, DenyReason::Limit(e.to_string()))
        } else {
            (peer, DenyReason::Limit(format!("{cause:?}")))
        };
        debug!(peer = ?peer, %reason, "connection denied");
        self.emit(NetEvent::ConnectionDenied { peer, reason });
    }

    /// Asks the app now whether `peer` is admitted (bans first).
    pub(crate) fn admitted_now(&mut self, peer: &PeerId) -> Option<RegionId> {
        self.swarm.behaviour_mut().gate.admit(peer).ok()
    }

    /// Whether `peer` is admitted now; if not, cuts it off, unless it is already being cut off
    /// (a request or answer still in flight from a banned or revoked peer is just dropped).
    pub(crate) fn admitted_or_revoke(&mut self, peer: &PeerId) -> Option<RegionId> {
        let region = self.admitted_now(peer);
        if region.is_none() && self.swarm.behaviour().gate.region(peer).is_some() {
            self.revoke(*peer);
        }
        region
    }

    /// Cuts off a peer that is no longer admitted.
    pub(crate) fn revoke(&mut self, peer: PeerId) {
        info!(%peer, "peer no longer admitted; disconnecting");
        self.swarm.behaviour_mut().gate.forget(&peer);
        let _ = self.swarm.disconnect_peer_id(peer);
        self.buckets.remove(&peer);
        self.emit(NetEvent::AdmissionRevoked { peer });
    }

    pub(crate) fn recheck_admission(&mut self) -> Vec<PeerId> {
        let peers: Vec<PeerId> = self.swarm.behaviour().gate.peers().map(|(p, _)| *p).collect();
        let mut cut = Vec::new();
        for peer in peers {
            match self.admitted_now(&peer) {
                Some(region) => self.swarm.behaviour_mut().gate.set_region(&peer, region),
                None => {
                    self.revoke(peer);
                    cut.push(peer);
                }
            }
        }
        cut
    }

    /// Disconnects and bans (for [`crate::NetConfig::graylist_ban`]) a peer whose gossip score is
    /// below the graylist threshold. Returns whether it did.
    pub(crate) fn enforce_score(&mut self, peer: PeerId) -> bool {
        let Some(score) = self.swarm.behaviour().gossipsub.peer_score(&peer) else {
            return false;
        };
        if score >= GRAYLIST_THRESHOLD {
            return false;
        }
        warn!(%peer, score, threshold = GRAYLIST_THRESHOLD, ban = ?self.cfg.graylist_ban,
            "gossip score below graylist threshold; disconnecting and banning");
        self.cut_off(peer, NetEvent::PeerGraylisted { peer, score });
        true
    }

    /// Counts one sync strike of `kind` against `peer`. Past its limit within
    /// [`crate::NetConfig::misbehaviour_window`], the peer is disconnected and banned for
    /// [`crate::NetConfig::graylist_ban`]. Returns whether it was.
    pub(crate) fn strike(&mut self, peer: PeerId, kind: Misbehaviour) -> bool {
        let limit = match kind {
            Misbehaviour::MalformedRequests => self.cfg.max_malformed_requests,
            Misbehaviour::RateLimited => self.cfg.max_rate_limited_requests,
        };
        let window = self.cfg.misbehaviour_window;
        let count = self.strikes.entry((peer, kind)).or_default().hit(Instant::now(), window, limit);
        if count <= limit as usize {
            return false;
        }
        warn!(%peer, reason = %kind, count, limit, ?window, ban = ?self.cfg.graylist_ban,
            "sync misbehaviour over the limit; disconnecting and banning");
        self.strikes.remove(&(peer, kind));
        self.cut_off(peer, NetEvent::PeerMisbehaved { peer, reason: kind });
        true
    }

    /// Forgets strikes that have all left the window (on the sync tick).
    pub(crate) fn expire_strikes(&mut self) {
        let (now, window) = (Instant::now(), self.cfg.misbehaviour_window);
        self.strikes.retain(|_, s| !s.expired(now, window));
    }

    /// Bans `peer` for [`crate::NetConfig::graylist_ban`], disconnects it and reports `event`.
    fn cut_off(&mut self, peer: PeerId, event: NetEvent) {
        let until = Instant::now() + self.cfg.graylist_ban;
        self.swarm.behaviour_mut().gate.ban(peer, Some(until));
        self.swarm.behaviour_mut().gate.forget(&peer);
        let _ = self.swarm.disconnect_peer_id(peer);
        self.emit(event);
    }
}
