//! The federation driver: one task reacting to swarm events, own publications and trust
//! changes (STYLE §15: one unit of work per wake-up).
//!
//! * own objects, once durable, are gossiped (public bodies with the entry; others as entry
//!   only);
//! * **anti-entropy** on every connection and every tick: heads are exchanged, missing ranges
//!   fetched in feed order from any peer that has them (relays allowed), bodies withheld by a
//!   relay asked for again from their origin;
//! * feed tips are compared on every round (equal heads may still hide two different entries);
//!   equivocation proofs found or learned from peers are verified and kept;
//! * bootstrap peers that dropped are redialled; witnesses are asked to cosign, and compare
//!   what they cosigned (split views).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use credfed_net::{multiaddr::Protocol, Multiaddr, NetEvent, NetHandle, PeerId};
use credfed_protocol::audit::Source;
use credfed_protocol::cbor::ByteBuf;
use credfed_protocol::envelope::ObjectId;
use credfed_protocol::feed::{Equivocation, SignedFeedEntry};
use credfed_protocol::wire::{FeedItem, GossipMessage, SyncRequest, SyncResponse, MAX_IDS, MAX_RANGE, MAX_TIPS};
use credfed_protocol::RegionId;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::app::NodeApp;
use super::{compare, witness};
use crate::ingest::{ErrorClass, Ingest, IngestError};
use crate::metrics::Metrics;
use crate::store::{FedNs, MetaWrite};

/// Codes after which a range fetch from one peer stops for that origin.
const STOP_CODES: &[&str] = &[
    "feed_gap",
    "equivocation",
    "feed_broken_chain",
    "entry_not_delegated",
    "own_feed_conflict",
    "busy",
    "storage_unavailable",
    "insufficient_storage",
    "shutting_down",
];

/// The driver's state.
pub(super) struct Driver {
    ingest: Ingest,
    net: NetHandle,
    bootstrap: Vec<Multiaddr>,
    app: Arc<NodeApp>,
    peers: HashMap<PeerId, RegionId>,
    busy: Arc<Mutex<HashSet<PeerId>>>,
    proven: compare::Proven,
}

impl Driver {
    pub(super) fn new(ingest: Ingest, net: NetHandle, bootstrap: Vec<Multiaddr>, app: Arc<NodeApp>) -> Driver {
        Driver { ingest, net, bootstrap, app, peers: HashMap::new(), busy: Arc::default(), proven: Arc::default() }
    }

    pub(super) async fn run(mut self, mut events: mpsc::Receiver<NetEvent>) {
        let st = self.ingest.state().clone();
        let mut published = st.published.subscribe();
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    None => break,
                    Some(ev) => self.on_event(ev).await,
                },
                p = published.recv() => match p {
                    Ok(p) => {
                        let msg = GossipMessage { entry: ByteBuf(p.entry), envelope: p.envelope.map(ByteBuf) };
                        if let Err(e) = self.net.publish(&msg).await {
                            tracing::debug!(error = %e, seq = p.seq, "gossip publish");
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "gossip lagged; anti-entropy will deliver");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = st.trust_changed.notified() => {
                    let cut = self.net.recheck_admission().await.unwrap_or_default();
                    for p in cut {
                        self.peers.remove(&p);
                    }
                    self.publish_peers();
                    self.sync_all();
                }
                _ = self.app.gap.notified() => self.sync_all(),
            }
        }
    }

    async fn on_event(&mut self, ev: NetEvent) {
        match ev {
            NetEvent::PeerConnected { peer, region } => {
                tracing::info!(%peer, %region, "peer connected");
                self.peers.insert(peer, region.clone());
                self.publish_peers();
                self.sync_peer(peer, region.clone());
                let (ingest, net) = (self.ingest.clone(), self.net.clone());
                self.compare_with(peer, region.clone());
                tokio::spawn(async move { witness::collect(&ingest, &net, peer, &region, true).await });
            }
            NetEvent::PeerDisconnected { peer } | NetEvent::AdmissionRevoked { peer } => {
                self.peers.remove(&peer);
                self.publish_peers();
            }
            NetEvent::SyncTick => {
                self.redial().await;
                self.sync_all();
                for (peer, region) in self.peers.clone() {
                    let (ingest, net) = (self.ingest.clone(), self.net.clone());
                    self.compare_with(peer, region.clone());
                    tokio::spawn(async move { witness::collect(&ingest, &net, peer, &region, false).await });
                }
            }
            NetEvent::ConnectionDenied { peer, reason } => {
                tracing::info!(peer = ?peer, reason = %reason.code(), "connection denied");
            }
            _ => {}
        }
    }

    /// Spawns one comparison of what `peer` and this node cosigned (split views).
    fn compare_with(&self, peer: PeerId, region: RegionId) {
        let (ingest, net, proven) = (self.ingest.clone(), self.net.clone(), self.proven.clone());
        let origins: Vec<(PeerId, RegionId)> = self.peers.iter().map(|(p, r)| (*p, r.clone())).collect();
        tokio::spawn(async move { compare::compare(&ingest, &net, peer, &region, &origins, &proven).await });
    }

    fn publish_peers(&self) {
        let st = self.ingest.state();
        st.metrics.peers.set(self.peers.len() as i64);
        let list: Vec<(String, RegionId)> = self.peers.iter().map(|(p, r)| (p.to_string(), r.clone())).collect();
        *st.peers.write().unwrap_or_else(|p| p.into_inner()) = list;
    }

    async fn redial(&self) {
        for addr in &self.bootstrap {
            let connected = match addr.iter().last() {
                Some(Protocol::P2p(id)) => self.peers.contains_key(&id),
                _ => false,
            };
            if !connected {
                let _ = self.net.dial(addr.clone()).await;
            }
        }
    }

    fn sync_all(&self) {
        for (peer, region) in &self.peers {
            self.sync_peer(*peer, region.clone());
        }
    }

    /// Spawns one anti-entropy round with `peer` unless one is running.
    fn sync_peer(&self, peer: PeerId, region: RegionId) {
        if !self.busy.lock().unwrap_or_else(|p| p.into_inner()).insert(peer) {
            return;
        }
        let (ingest, net, busy) = (self.ingest.clone(), self.net.clone(), self.busy.clone());
        tokio::spawn(async move {
            sync_with(&ingest, &net, peer, &region).await;
            busy.lock().unwrap_or_else(|p| p.into_inner()).remove(&peer);
        });
    }
}

/// One anti-entropy round with one peer.
async fn sync_with(ingest: &Ingest, net: &NetHandle, peer: PeerId, region: &RegionId) {
    let Ok(SyncResponse::Heads { heads, equivocations }) = net.request(peer, SyncRequest::Heads).await else {
        return;
    };
    let st = ingest.state();
    st.last_contact.write().unwrap_or_else(|p| p.into_inner()).insert(region.clone(), st.now());
    learn_equivocations(ingest, equivocations).await;
    compare_tips(ingest, net, peer).await;
    let mut recovering = st.recovering();
    let (ours, theirs) = (head_of(ingest, &st.region), heads.get(&st.region).copied().unwrap_or(0));
    if !recovering && theirs > ours && holds_our_entry(ingest, net, peer, ours + 1).await {
        let (ing, p) = (ingest.clone(), peer.to_string());
        recovering = tokio::task::spawn_blocking(move || super::recovery::enter_behind(&ing, &p, ours, theirs))
            .await
            .unwrap_or(false);
    }
    for (origin, theirs) in &heads {
        // Our own feed is fetched back only while the store is being rebuilt.
        if (origin == &st.region && !recovering) || st.trust().root_of(origin).is_none() {
            continue;
        }
        fetch_feed(ingest, net, peer, origin, *theirs).await;
    }
    fetch_missing(ingest, net, peer, region, region).await;
    if recovering {
        // Our own bodies that came back as withheld entries: any peer our policy entitled
        // holds them. Only a whole round counts towards recovery: our own feed already at the
        // peer's head when its bodies were asked for (a round that ran while another peer's
        // round was still filling the feed missed the later entries), every missing id asked
        // in one request, and every returned body taken.
        let own_before = head_of(ingest, &st.region);
        let complete = fetch_missing(ingest, net, peer, region, &st.region).await;
        tracing::debug!(%peer, complete, own_before, theirs = ?heads.get(&st.region), "recovery round");
        if complete && own_before >= heads.get(&st.region).copied().unwrap_or(0) {
            st.observe_heads(&peer.to_string(), &heads);
        }
        let ing = ingest.clone();
        let _ = tokio::task::spawn_blocking(move || super::recovery::finish_if_complete(&ing)).await;
    }
}

/// Whether `peer` really holds entry `seq` of our own feed, signed by a node key our region
/// delegated (a peer merely claiming a higher head for us must not stop our submissions).
async fn holds_our_entry(ingest: &Ingest, net: &NetHandle, peer: PeerId, seq: u64) -> bool {
    let st = ingest.state();
    let req = SyncRequest::Range { origin: st.region.clone(), from: seq, to: seq };
    let Ok(SyncResponse::Entries { items }) = net.request(peer, req).await else { return false };
    let Some(e) = items.first().and_then(|i| SignedFeedEntry::open(&i.entry.0).ok()) else { return false };
    let at = e.entry.published_at;
    e.entry.origin == st.region
        && e.entry.seq == seq
        && st
            .trust()
            .delegation(&e.signer, &st.region, at)
            .is_some_and(|k| k.delegation.role == credfed_protocol::Role::Node)
}

/// Asks `peer` for its feed tips and checks each one at or below our head against the entry we
/// hold there: a different one signed by the origin's node is an equivocation, and the writer
/// keeps the proof (`entries::check`). Equal heads alone say nothing about equal feeds. Tips
/// identical to our own (every one, in a quiet federation) are settled by their bytes, without
/// a signature check.
async fn compare_tips(ingest: &Ingest, net: &NetHandle, peer: PeerId) {
    let Ok(SyncResponse::Tips { entries }) = net.request(peer, SyncRequest::Tips).await else { return };
    let ing = ingest.clone();
    let Ok(differing) = tokio::task::spawn_blocking(move || {
        let store = &*ing.state().store;
        let ours: HashSet<Vec<u8>> = super::serve::tip_entries(store).unwrap_or_default().into_iter().collect();
        entries
            .into_iter()
            .take(MAX_TIPS)
            .filter(|b| !ours.contains(&b.0))
            .filter_map(|b| SignedFeedEntry::open(&b.0).ok())
            .filter(|e| {
                let held =
                    store.feed_range(&e.entry.origin, e.entry.seq, e.entry.seq).ok().and_then(|v| v.into_iter().next());
                held.is_some_and(|(_, bytes)| bytes != e.bytes)
            })
            .collect::<Vec<_>>()
    })
    .await
    else {
        return;
    };
    for e in differing {
        check_entry(ingest, peer, e).await;
    }
}

/// Hands one entry of `peer`'s that differs from ours to the writer (which refuses it and, when
/// its origin's node signed it, keeps the equivocation proof).
async fn check_entry(ingest: &Ingest, peer: PeerId, e: SignedFeedEntry) {
    let (origin, seq) = (e.entry.origin.clone(), e.entry.seq);
    match ingest.entry_only(e).await {
        Err(err) => {
            tracing::warn!(%peer, %origin, seq, code = %err.code, "peer holds another entry at a position we hold")
        }
        Ok(_) => tracing::debug!(%peer, %origin, seq, "peer's entry accepted"),
    }
}

fn head_of(ingest: &Ingest, origin: &RegionId) -> u64 {
    let st = ingest.state();
    st.store.feed_heads().ok().and_then(|h| h.into_iter().find(|h| &h.origin == origin)).map_or(0, |h| h.seq)
}

/// Fetches `origin`'s entries after our head up to `theirs`, applying them in order.
async fn fetch_feed(ingest: &Ingest, net: &NetHandle, peer: PeerId, origin: &RegionId, theirs: u64) {
    let st = ingest.state();
    loop {
        let ours = head_of(ingest, origin);
        st.metrics
            .sync_lag
            .get_or_create(&Metrics::label("origin", origin.as_str()))
            .set(theirs.saturating_sub(ours) as i64);
        if ours >= theirs {
            return;
        }
        let req = SyncRequest::Range { origin: origin.clone(), from: ours + 1, to: theirs.min(ours + MAX_RANGE) };
        let Ok(SyncResponse::Entries { items }) = net.request(peer, req).await else { return };
        // Verify the range off the async workers and queue it in feed order, then wait: the
        // writer applies the queue in order and one group-commit flush covers the range
        // (awaiting each object's own flush capped catch-up at one flush per object).
        let (ing, org, src) = (ingest.clone(), origin.clone(), Source::Sync { peer: peer.to_string() });
        let Ok(queued) = tokio::task::spawn_blocking(move || queue_range(&ing, &org, ours + 1, items, &src)).await
        else {
            return;
        };
        for (seq, q) in queued {
            let r = match q {
                Ok(Queued::Object(rx)) => {
                    rx.await.map_err(|_| IngestError::writer_stopped()).and_then(|r| r.map(|_| ()))
                }
                Ok(Queued::Entry(rx)) => {
                    rx.await.map_err(|_| IngestError::writer_stopped()).and_then(|r| r.map(|_| ()))
                }
                Err(e) => Err(e),
            };
            if let Err(e) = &r {
                if e.code == "feed_broken_chain" && seq > 1 {
                    // The peer's history forks below: its entry before this one is the other
                    // half of an equivocation proof.
                    let req = SyncRequest::Range { origin: origin.clone(), from: seq - 1, to: seq - 1 };
                    if let Ok(SyncResponse::Entries { items }) = net.request(peer, req).await {
                        if let Some(theirs) = items.first().and_then(|i| SignedFeedEntry::open(&i.entry.0).ok()) {
                            check_entry(ingest, peer, theirs).await;
                        }
                    }
                }
                if STOP_CODES.contains(&e.code.as_str()) {
                    if origin == &st.region {
                        // Only while recovering: our own feed as we hold it and as peers hold
                        // it differ. Recovery cannot finish; the store must be rebuilt.
                        tracing::error!(%peer, seq, code = %e.code, "our own feed differs from the peer's copy: rebuild the store (credfed-admin store rebuild --from-peers --force)");
                    } else {
                        tracing::info!(%peer, %origin, seq, code = %e.code, "range fetch stopped");
                    }
                    return;
                }
            }
        }
        if head_of(ingest, origin) == ours {
            return;
        }
    }
}

/// A range item handed to the writer.
enum Queued {
    Object(oneshot::Receiver<Result<crate::ingest::Accepted, IngestError>>),
    Entry(oneshot::Receiver<Result<crate::ingest::EntryOutcome, IngestError>>),
}

/// Verifies and queues `items` (entries `first..` of `origin`) in order; stops at the first
/// item that is not the next entry of `origin`, or when the writer is busy. Blocking.
fn queue_range(
    ingest: &Ingest,
    origin: &RegionId,
    first: u64,
    items: Vec<FeedItem>,
    source: &Source,
) -> Vec<(u64, Result<Queued, IngestError>)> {
    let mut out = Vec::with_capacity(items.len());
    for (expected, item) in (first..).zip(items) {
        let Ok(entry) = SignedFeedEntry::open(&item.entry.0) else { break };
        if &entry.entry.origin != origin || entry.entry.seq != expected {
            break;
        }
        let q = match item.envelope {
            Some(env) => ingest.queue_from_peer(&env.0, entry, source.clone()).map(Queued::Object),
            None => ingest.queue_entry(entry).map(Queued::Entry),
        };
        let busy = matches!(&q, Err(e) if e.class == ErrorClass::Busy);
        out.push((expected, q));
        if busy {
            break;
        }
    }
    out
}

/// Asks `peer` (whose region is `region`) for bodies of `origin`'s objects that reached us only
/// as withheld entries. When `peer` is the origin, ids it does not return are withheld from
/// us: they are forgotten rather than asked for every round.
/// Returns whether every missing id of `origin` was asked for (fewer than [`MAX_IDS`] missing),
/// the peer answered, and every body it returned was taken (none refused for a full queue or
/// a storage error).
async fn fetch_missing(ingest: &Ingest, net: &NetHandle, peer: PeerId, region: &RegionId, origin: &RegionId) -> bool {
    let st = ingest.state();
    let prefix = [origin.as_str().as_bytes(), &[0]].concat();
    let Ok(missing) = st.store.fed_scan(FedNs::Missing, &prefix, MAX_IDS) else { return false };
    if missing.is_empty() {
        return true;
    }
    let mut complete = missing.len() < MAX_IDS;
    let mut wanted: HashMap<ObjectId, (Vec<u8>, u64)> = HashMap::new();
    for (key, v) in missing {
        let (Some(id), Ok(seq)) =
            (key.get(prefix.len()..).and_then(|b| b.try_into().ok()).map(ObjectId), v.as_slice().try_into())
        else {
            continue;
        };
        wanted.insert(id, (key, u64::from_be_bytes(seq)));
    }
    let ids: Vec<ObjectId> = wanted.keys().copied().collect();
    let Ok(SyncResponse::Objects { envelopes }) = net.request(peer, SyncRequest::Objects { ids }).await else {
        return false;
    };
    for env in envelopes {
        let id =
            ObjectId::of(&credfed_protocol::envelope::Envelope::decode(&env.0).map(|e| e.body).unwrap_or_default());
        let Some((_, seq)) = wanted.get(&id).cloned() else { continue };
        let Some((_, entry_bytes)) = st.store.feed_range(origin, seq, seq).ok().and_then(|v| v.into_iter().next())
        else {
            continue;
        };
        let Ok(entry) = SignedFeedEntry::open(&entry_bytes) else { continue };
        if let Err(e) = ingest.submit_from_peer(env.0, entry, Source::Sync { peer: peer.to_string() }).await {
            tracing::debug!(%peer, %origin, seq, code = %e.code, "missing body not taken");
            // A full writer queue or a storage hiccup leaves the body missing: asked again next
            // round.
            complete &= !matches!(e.class, ErrorClass::Busy | ErrorClass::Unavailable);
        }
        wanted.remove(&id);
    }
    if region != origin {
        return complete;
    }
    let forget: Vec<MetaWrite> = wanted.into_values().map(|(k, _)| MetaWrite::Fed(FedNs::Missing, k, None)).collect();
    if !forget.is_empty() {
        let _ = ingest.admin(forget, None).await;
    }
    complete
}

/// Verifies and keeps equivocation proofs a peer holds (both entries signed by node keys the
/// origin delegated).
async fn learn_equivocations(ingest: &Ingest, proofs: Vec<Equivocation>) {
    let st = ingest.state();
    let mut writes = Vec::new();
    for p in proofs.into_iter().take(64) {
        let Ok((a, b)) = p.verify() else { continue };
        let ok = {
            let t = st.trust();
            [a, b].iter().all(|k| {
                t.delegation(k, &p.origin, 0).is_some_and(|d| d.delegation.role == credfed_protocol::Role::Node)
            })
        };
        if !ok {
            continue;
        }
        let key = [p.origin.as_str().as_bytes(), &[0], &p.seq.to_be_bytes()].concat();
        if st.store.fed_get(FedNs::Equivocation, &key).is_ok_and(|v| v.is_none()) {
            tracing::warn!(origin = %p.origin, seq = p.seq, "equivocation proof learned from a peer");
            st.metrics.equivocations.inc();
            writes.push(MetaWrite::Fed(FedNs::Equivocation, key, Some(credfed_protocol::wire::encode(&p))));
        }
    }
    if !writes.is_empty() {
        let _ = ingest.admin(writes, None).await;
    }
}
