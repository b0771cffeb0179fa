//! The node as a [`NetApp`]: who may connect, which gossip may be forwarded, how sync
//! requests are answered.

use credfed_net::{NetApp, PeerId, Validation};
use credfed_protocol::audit::Source;
use credfed_protocol::feed::SignedFeedEntry;
use credfed_protocol::keys::PublicKey;
use credfed_protocol::wire::{GossipMessage, SyncRequest, SyncResponse};
use credfed_protocol::RegionId;
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::Notify;

use super::serve;
use crate::ingest::{ErrorClass, Ingest, IngestError};

/// The node's side of the swarm.
pub struct NodeApp {
    pub(super) ingest: Ingest,
    /// Signalled when gossip arrived ahead of the feed held (the driver syncs then).
    pub(super) gap: Notify,
}

impl NodeApp {
    pub(super) fn new(ingest: Ingest) -> NodeApp {
        NodeApp { ingest, gap: Notify::new() }
    }
}

/// How an ingest outcome of a peer-delivered object maps to a gossip verdict: forward what is
/// valid (including objects parked for their target), penalise what is provably bad, ignore
/// what this node merely cannot use (unpinned region, local policy, busy, gaps).
pub(super) fn verdict(r: &Result<(), IngestError>) -> Validation {
    let Err(e) = r else { return Validation::Accept };
    match (e.class, e.code.as_str()) {
        (ErrorClass::Pending | ErrorClass::NotFound, "feed_gap") => Validation::Ignore,
        (ErrorClass::Pending | ErrorClass::NotFound, _) => Validation::Accept,
        (ErrorClass::Busy | ErrorClass::Unavailable, _) => Validation::Ignore,
        (_, "unpinned_region" | "policy_refused" | "signed_in_future" | "revoked_unwitnessed") => Validation::Ignore,
        // State-dependent refusals of well-signed objects (already repaired…) are not the
        // relay's fault.
        (ErrorClass::Conflict, c) if c != "equivocation" && c != "feed_broken_chain" => Validation::Ignore,
        _ => Validation::Reject(e.code.clone()),
    }
}

impl NetApp for NodeApp {
    fn is_admitted(&self, node_key: &PublicKey) -> Option<RegionId> {
        let st = self.ingest.state();
        st.trust().node_region(node_key, st.now())
    }

    fn validate_gossip(&self, from: PeerId, msg: GossipMessage) -> BoxFuture<'_, Validation> {
        async move {
            let m = &self.ingest.state().metrics;
            m.gossip_received.inc();
            m.gossip_received_bytes.inc_by((msg.entry.0.len() + msg.envelope.as_ref().map_or(0, |e| e.0.len())) as u64);
            let Ok(entry) = SignedFeedEntry::open(&msg.entry.0) else {
                return Validation::Reject("malformed_feed_entry".into());
            };
            let source = Source::Gossip { peer: from.to_string() };
            let r = match msg.envelope {
                Some(env) => self.ingest.submit_from_peer(env.0, entry, source).await.map(|_| ()),
                None => self.ingest.entry_only(entry).await.map(|_| ()),
            };
            if matches!(&r, Err(e) if e.code == "feed_gap") {
                self.gap.notify_one();
            }
            let v = verdict(&r);
            if let (Err(e), Validation::Reject(_)) = (&r, &v) {
                tracing::warn!(peer = %from, code = %e.code, "gossip rejected");
            }
            v
        }
        .boxed()
    }

    fn handle_request(&self, from: PeerId, region: RegionId, req: SyncRequest) -> BoxFuture<'_, SyncResponse> {
        let ingest = self.ingest.clone();
        async move {
            let from_key = credfed_net::node_key_of(&from);
            let r = tokio::task::spawn_blocking(move || serve::handle(&ingest, region, from_key, req)).await;
            r.unwrap_or_else(|e| SyncResponse::Error { code: "internal".into(), message: e.to_string() })
        }
        .boxed()
    }
}
