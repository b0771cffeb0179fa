//! Test harness: real swarms over loopback TCP (127.0.0.1 port 0), a scriptable [`TestApp`],
//! an event log, and `eventually` (poll with a deadline, never sleep-and-hope).

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use credfed_net::wire::{GossipMessage, SyncRequest, SyncResponse};
use credfed_net::{spawn, Multiaddr, NetApp, NetConfig, NetEvent, NetHandle, PeerId, Validation};
use credfed_protocol::cbor::ByteBuf;
use credfed_protocol::keys::{PublicKey, SecretKey};
use credfed_protocol::RegionId;
use futures::future::BoxFuture;

/// One gossip message as an app saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub from: PeerId,
    pub entry: Vec<u8>,
    pub started: Instant,
    /// When the verdict was returned (`None` while validating).
    pub done: Option<Instant>,
    pub verdict: Option<Validation>,
}

/// A scriptable [`NetApp`]: an allow-list of node keys, gossip whose entry starts with
/// `reject` is rejected, everything else accepted after `validate_delay`.
pub struct TestApp {
    pub region: RegionId,
    pub admitted: Mutex<HashMap<PublicKey, RegionId>>,
    pub seen: Mutex<Vec<Seen>>,
    pub requests: Mutex<Vec<(PeerId, RegionId, SyncRequest)>>,
    pub validate_delay: Duration,
    /// Answer `Objects` requests with something larger than `MAX_RESPONSE_LEN`.
    pub oversize_objects: bool,
}

impl TestApp {
    pub fn new(region: &str) -> TestApp {
        TestApp {
            region: region.parse().unwrap(),
            admitted: Mutex::new(HashMap::new()),
            seen: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            validate_delay: Duration::ZERO,
            oversize_objects: false,
        }
    }

    pub fn admit(&self, key: PublicKey, region: &str) {
        self.admitted.lock().unwrap().insert(key, region.parse().unwrap());
    }

    pub fn revoke(&self, key: &PublicKey) {
        self.admitted.lock().unwrap().remove(key);
    }

    /// Gossip validations and requests that came from `peer`.
    pub fn calls_from(&self, peer: &PeerId) -> (usize, usize) {
        let g = self.seen.lock().unwrap().iter().filter(|s| s.from == *peer).count();
        let r = self.requests.lock().unwrap().iter().filter(|(p, _, _)| p == peer).count();
        (g, r)
    }

    pub fn seen_entry(&self, entry: &[u8]) -> Option<Seen> {
        self.seen.lock().unwrap().iter().find(|s| s.entry == entry).cloned()
    }
}

impl NetApp for TestApp {
    fn is_admitted(&self, node_key: &PublicKey) -> Option<RegionId> {
        self.admitted.lock().unwrap().get(node_key).cloned()
    }

    fn validate_gossip(&self, from: PeerId, msg: GossipMessage) -> BoxFuture<'_, Validation> {
        Box::pin(async move {
            let entry = msg.entry.0.clone();
            let idx = {
                let mut seen = self.seen.lock().unwrap();
                seen.push(Seen { from, entry: entry.clone(), started: Instant::now(), done: None, verdict: None });
                seen.len() - 1
            };
            tokio::time::sleep(self.validate_delay).await;
            let verdict = if entry.starts_with(b"reject") {
                Validation::Reject("test_reject".into())
            } else {
                Validation::Accept
            };
            let mut seen = self.seen.lock().unwrap();
            seen[idx].done = Some(Instant::now());
            seen[idx].verdict = Some(verdict.clone());
            verdict
        })
    }

    fn handle_request(&self, from: PeerId, region: RegionId, req: SyncRequest) -> BoxFuture<'_, SyncResponse> {
        Box::pin(async move {
            self.requests.lock().unwrap().push((from, region, req.clone()));
            match req {
                SyncRequest::Objects { .. } if self.oversize_objects => {
                    SyncResponse::Objects { envelopes: (0..140).map(|_| ByteBuf(vec![7u8; 48 * 1024])).collect() }
                }
                _ => SyncResponse::Heads { heads: BTreeMap::from([(self.region.clone(), 7)]), equivocations: vec![] },
            }
        })
    }
}

/// A running node with its event log.
pub struct TestNode {
    pub handle: NetHandle,
    pub app: Arc<TestApp>,
    pub key: PublicKey,
    pub peer: PeerId,
    pub addr: Multiaddr,
    pub events: Arc<Mutex<Vec<NetEvent>>>,
}

impl TestNode {
    pub fn events(&self) -> Vec<NetEvent> {
        self.events.lock().unwrap().clone()
    }

    pub async fn connected(&self) -> Vec<PeerId> {
        self.handle.connected_peers().await.unwrap().into_iter().map(|(p, _)| p).collect()
    }

    pub fn denied(&self, peer: &PeerId) -> usize {
        self.events()
            .iter()
            .filter(|e| matches!(e, NetEvent::ConnectionDenied { peer: Some(p), .. } if p == peer))
            .count()
    }
}

/// An app for `region` that admits every `(node key, region)` of `members`.
pub fn app_admitting(region: &str, members: &[(PublicKey, &str)]) -> TestApp {
    let app = TestApp::new(region);
    for (key, r) in members {
        app.admit(*key, r);
    }
    app
}

pub fn new_key() -> SecretKey {
    SecretKey::generate(&mut rand_core::OsRng)
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Starts a node listening on 127.0.0.1 port 0.
pub async fn start(key: SecretKey, app: TestApp, tweak: impl FnOnce(&mut NetConfig)) -> TestNode {
    init_tracing();
    let public = key.public();
    let mut cfg = NetConfig::new(key);
    cfg.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    cfg.heartbeat_interval = Duration::from_millis(200);
    tweak(&mut cfg);
    let app = Arc::new(app);
    let (handle, mut rx) = spawn(cfg, app.clone()).await.expect("spawn");
    let addr = handle.listen_addrs().await.unwrap()[0].clone();
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = events.clone();
    tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            log.lock().unwrap().push(e);
        }
    });
    TestNode { handle, app, key: public, peer: credfed_net::peer_id_of(&public), addr, events }
}

/// Polls `cond` every 25 ms until it holds; panics with `what` after `limit`.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if cond().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Dials `to` from `from` and waits until both list each other.
pub async fn connect(from: &TestNode, to: &TestNode) {
    connect_at(from, to, to.addr.clone()).await;
}

/// Dials `to` from `from` at `addr` (e.g. a relay in front of `to`) and waits until both list
/// each other.
pub async fn connect_at(from: &TestNode, to: &TestNode, addr: Multiaddr) {
    from.handle.dial(addr).await.unwrap();
    eventually(Duration::from_secs(5), "connection in both directions", || async {
        from.connected().await.contains(&to.peer) && to.connected().await.contains(&from.peer)
    })
    .await;
}

pub fn gossip(entry: &[u8]) -> GossipMessage {
    GossipMessage { entry: ByteBuf(entry.to_vec()), envelope: None }
}
