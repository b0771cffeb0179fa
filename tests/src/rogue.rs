//! Rogue peers: a real `credfed_net` swarm whose [`NetApp`] serves whatever the test scripts
//! (heads, feed ranges, objects), to attack real nodes over gossip and sync (RELIABILITY F6,
//! F10).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use credfed_net::wire::{FeedItem, GossipMessage, SyncRequest, SyncResponse};
use credfed_net::{Multiaddr, NetApp, NetConfig, NetEvent, NetHandle, PeerId, Validation};
use credfed_protocol::cbor::ByteBuf;
use credfed_protocol::envelope::{Envelope, ObjectId};
use credfed_protocol::feed::{FeedEntry, SignedFeedEntry};
use credfed_protocol::keys::{PublicKey, SecretKey};
use credfed_protocol::RegionId;
use futures::future::BoxFuture;

/// Feed items by `(origin, seq)`.
pub type Items = BTreeMap<(RegionId, u64), FeedItem>;

/// A scripted app: admits the keys it is told, ignores gossip, answers sync requests from
/// its script, and logs what it was asked.
#[derive(Default)]
pub struct ScriptedApp {
    /// Node keys this swarm admits, with their regions.
    pub admitted: Mutex<HashMap<PublicKey, RegionId>>,
    /// Heads it claims.
    pub heads: Mutex<BTreeMap<RegionId, u64>>,
    /// Feed items it serves on `Range`, by `(origin, seq)`.
    pub items: Mutex<Items>,
    /// Feed items served to one peer only, in place of `items` (to equivocate).
    pub items_for: Mutex<HashMap<PeerId, Items>>,
    /// Envelopes it serves on `Objects`.
    pub objects: Mutex<HashMap<ObjectId, Vec<u8>>>,
    /// Requests received: `(peer, request)`.
    pub requests: Mutex<Vec<(PeerId, SyncRequest)>>,
    /// Gossip messages received.
    pub gossip_seen: Mutex<usize>,
}

impl ScriptedApp {
    /// Admits `key` as a node of `region`.
    pub fn admit(&self, key: PublicKey, region: &RegionId) {
        self.admitted.lock().expect("lock").insert(key, region.clone());
    }

    /// Serves `entry` (+ `envelope`) at `(origin, seq)` and claims it as head.
    pub fn serve(&self, origin: &RegionId, seq: u64, entry: Vec<u8>, envelope: Option<Vec<u8>>) {
        let item = FeedItem { entry: ByteBuf(entry), withheld: envelope.is_none(), envelope: envelope.map(ByteBuf) };
        self.items.lock().expect("lock").insert((origin.clone(), seq), item);
        let mut h = self.heads.lock().expect("lock");
        let e = h.entry(origin.clone()).or_insert(0);
        *e = (*e).max(seq);
    }

    /// Serves `entry` (body withheld) at `(origin, seq)` to `peer` only, and claims it as head.
    pub fn serve_to(&self, peer: PeerId, origin: &RegionId, seq: u64, entry: Vec<u8>) {
        let item = FeedItem { entry: ByteBuf(entry), withheld: true, envelope: None };
        self.items_for.lock().expect("lock").entry(peer).or_default().insert((origin.clone(), seq), item);
        let mut h = self.heads.lock().expect("lock");
        let e = h.entry(origin.clone()).or_insert(0);
        *e = (*e).max(seq);
    }

    /// `Range` requests received for `origin`.
    pub fn range_requests(&self, origin: &RegionId) -> usize {
        self.requests
            .lock()
            .expect("lock")
            .iter()
            .filter(|(_, r)| matches!(r, SyncRequest::Range { origin: o, .. } if o == origin))
            .count()
    }
}

impl NetApp for ScriptedApp {
    fn is_admitted(&self, node_key: &PublicKey) -> Option<RegionId> {
        self.admitted.lock().expect("lock").get(node_key).cloned()
    }

    fn validate_gossip(&self, _from: PeerId, _msg: GossipMessage) -> BoxFuture<'_, Validation> {
        Box::pin(async move {
            *self.gossip_seen.lock().expect("lock") += 1;
            Validation::Ignore
        })
    }

    fn handle_request(&self, from: PeerId, _region: RegionId, req: SyncRequest) -> BoxFuture<'_, SyncResponse> {
        Box::pin(async move {
            self.requests.lock().expect("lock").push((from, req.clone()));
            match req {
                SyncRequest::Heads => {
                    SyncResponse::Heads { heads: self.heads.lock().expect("lock").clone(), equivocations: Vec::new() }
                }
                SyncRequest::Range { origin, from: lo, to } => {
                    let own = self.items_for.lock().expect("lock").get(&from).cloned();
                    let items = self.items.lock().expect("lock");
                    let items = own.as_ref().unwrap_or(&items);
                    let list = items.range((origin.clone(), lo)..=(origin, to)).map(|(_, v)| v.clone()).collect();
                    SyncResponse::Entries { items: list }
                }
                SyncRequest::Objects { ids } => {
                    let objs = self.objects.lock().expect("lock");
                    let envelopes = ids.iter().filter_map(|i| objs.get(i)).map(|e| ByteBuf(e.clone())).collect();
                    SyncResponse::Objects { envelopes }
                }
                _ => SyncResponse::Error { code: "unsupported".into(), message: "rogue".into() },
            }
        })
    }
}

/// A running rogue swarm.
pub struct Rogue {
    /// Handle.
    pub net: NetHandle,
    /// Its app.
    pub app: Arc<ScriptedApp>,
    /// Every event it saw.
    pub events: Arc<Mutex<Vec<NetEvent>>>,
}

impl Rogue {
    /// Spawns a swarm with `key` on `127.0.0.1:0`, dialling `bootstrap` (and redialling on
    /// every `sync` tick).
    ///
    /// # Errors
    /// Swarm start failures.
    pub async fn spawn(
        key: SecretKey,
        app: ScriptedApp,
        bootstrap: &[String],
        sync: Duration,
    ) -> anyhow::Result<Rogue> {
        let mut cfg = NetConfig::new(key);
        cfg.listen = vec!["/ip4/127.0.0.1/tcp/0".parse()?];
        cfg.bootstrap = bootstrap.iter().map(|b| b.parse::<Multiaddr>()).collect::<Result<_, _>>()?;
        cfg.sync_interval = sync;
        cfg.heartbeat_interval = Duration::from_millis(200);
        let app = Arc::new(app);
        let (net, mut rx) = credfed_net::spawn(cfg.clone(), app.clone()).await?;
        let events = Arc::new(Mutex::new(Vec::new()));
        let log = events.clone();
        let (redial, boot) = (net.clone(), cfg.bootstrap.clone());
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                if e == NetEvent::SyncTick {
                    let connected: Vec<PeerId> =
                        redial.connected_peers().await.unwrap_or_default().into_iter().map(|(p, _)| p).collect();
                    for a in &boot {
                        let peer = a.iter().find_map(|p| match p {
                            credfed_net::multiaddr::Protocol::P2p(id) => Some(id),
                            _ => None,
                        });
                        if peer.is_none_or(|p| !connected.contains(&p)) {
                            let _ = redial.dial(a.clone()).await;
                        }
                    }
                    continue;
                }
                log.lock().expect("lock").push(e);
            }
        });
        Ok(Rogue { net, app, events })
    }

    /// Events seen so far.
    pub fn events(&self) -> Vec<NetEvent> {
        self.events.lock().expect("lock").clone()
    }

    /// Publishes `msg`, retrying while no peer subscribes yet (up to `within`).
    ///
    /// # Errors
    /// The last publish error.
    pub async fn publish(&self, msg: &GossipMessage, within: Duration) -> anyhow::Result<()> {
        let t0 = std::time::Instant::now();
        loop {
            match self.net.publish(msg).await {
                Ok(()) => return Ok(()),
                Err(e) if t0.elapsed() > within => anyhow::bail!("publish: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

/// Builds signed entries continuing an origin's feed (for a rogue holding a node key).
pub struct Chain {
    /// The feed's origin.
    pub origin: RegionId,
    /// The seq of the last entry built (or held by the victims).
    pub seq: u64,
    /// That entry's hash.
    pub prev: ObjectId,
    /// The node key that signs.
    pub key: SecretKey,
}

impl Chain {
    /// The next entry naming `envelope`; `advance = false` leaves the chain where it was
    /// (for entries the receivers will not store).
    ///
    /// # Panics
    /// When `envelope` is not an envelope.
    pub fn next(&mut self, envelope: &[u8], advance: bool) -> SignedFeedEntry {
        self.next_naming(Envelope::decode(envelope).expect("envelope").id(), advance)
    }

    /// The next entry naming object `id` (whether or not such an object exists).
    pub fn next_naming(&mut self, id: ObjectId, advance: bool) -> SignedFeedEntry {
        let e = FeedEntry {
            origin: self.origin.clone(),
            seq: self.seq + 1,
            prev: Some(self.prev),
            envelope_id: id,
            published_at: crate::now(),
        }
        .sign(&self.key);
        if advance {
            self.seq += 1;
            self.prev = e.hash;
        }
        e
    }
}
