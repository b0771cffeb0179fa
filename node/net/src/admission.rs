//! Admission after establishment: re-asking the app, cutting peers off, graylisting, and
//! turning denials into [`NetEvent::ConnectionDenied`].

use std::time::Instant;

use credfed_protocol::RegionId;
use libp2p::swarm::ConnectionDenied;
use libp2p::{connection_limits, PeerId};
use tracing::{debug, info, warn};

use crate::app::{DenyReason, NetEvent};
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
        warn!(%peer, score, "gossip score below graylist threshold; disconnecting");
        let until = Instant::now() + self.cfg.graylist_ban;
        self.swarm.behaviour_mut().gate.ban(peer, Some(until));
        self.swarm.behaviour_mut().gate.forget(&peer);
        let _ = self.swarm.disconnect_peer_id(peer);
        self.emit(NetEvent::PeerGraylisted { peer, score });
        true
    }
}
