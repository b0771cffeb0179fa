//! The federation layer (DESIGN §2, §4): wires the node into the libp2p swarm of
//! [`credfed_net`].
//!
//! ## Layout
//! | module | what |
//! |---|---|
//! | `app.rs` | [`credfed_net::NetApp`] for the node: admission (node keys delegated by pinned roots), gossip validation through the ingest pipeline before forwarding |
//! | `serve.rs` | answering peers' sync requests: heads, feed ranges, objects by id — the entitlement check runs on every answer |
//! | `sync.rs` | the driver task: gossip of own objects, anti-entropy on connect and every tick, missing bodies, redials |
//! | `witness.rs` | cosigning peers' checkpoints after a consistency check, collecting cosignatures for ours |
//! | `compare.rs` | witnesses comparing the checkpoints they cosigned (split views across witnesses) |
//!
//! Received objects enter through the same ingest pipeline as HTTP submissions, with their
//! origin's signed feed entry; entries are applied strictly in feed order (a gap is fetched by
//! anti-entropy before later entries apply).

mod app;
mod compare;
pub mod receipts;
mod serve;
mod sync;
mod witness;

use std::sync::Arc;

use credfed_net::{NetConfig, NetHandle};
use credfed_protocol::envelope::ObjectId;
use credfed_protocol::objects::Body;
use credfed_protocol::{Classification, RegionId};

use crate::config::NodeConfig;
use crate::ingest::Ingest;
use crate::query;
use crate::store::{FedNs, Store};

pub use serve::entitled;
pub use witness::split_views;

/// Plain CBOR of federation state values (pending items, witness state, split-view evidence).
pub(crate) fn state_enc<T: serde::Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(v, &mut out).expect("writing to a Vec cannot fail");
    out
}

/// Inverse of [`state_enc`]; `None` for bytes that do not decode.
pub(crate) fn state_dec<T: serde::de::DeserializeOwned>(v: &[u8]) -> Option<T> {
    ciborium::de::from_reader(v).ok()
}

/// An own object made durable, to gossip.
#[derive(Clone, Debug)]
pub struct Published {
    /// Our region.
    pub origin: RegionId,
    /// Own-feed position.
    pub seq: u64,
    /// Object id.
    pub id: ObjectId,
    /// Signed feed entry bytes.
    pub entry: Vec<u8>,
    /// The envelope, when its body is `public` (only public bodies travel on gossip).
    pub envelope: Option<Vec<u8>>,
}

/// The classification governing where an object's body may travel: a record's or
/// correction's own; for objects acting on a record (repair, withdrawal, objection, resolution,
/// measure) the record's; everything else (trust objects, schemes, receipts) is public.
pub fn classification(body: &Body, store: &dyn Store) -> Classification {
    if let Some(c) = body.record_content() {
        return c.classification;
    }
    if let Some(target) = body.target() {
        if let Ok(Some(t)) = query::load(store, &target) {
            if let Some(c) = t.body.record_content() {
                return c.classification;
            }
        }
    }
    Classification::Public
}

/// Equivocation proofs held (origin, seq, proof).
///
/// # Errors
/// [`crate::store::StoreError`].
pub fn equivocations(store: &dyn Store) -> Result<Vec<credfed_protocol::feed::Equivocation>, crate::store::StoreError> {
    let mut out = Vec::new();
    for (_, v) in store.fed_scan(FedNs::Equivocation, &[], 10_000)? {
        if let Ok(p) = credfed_protocol::cbor::from_canonical(&v, usize::MAX, "equivocation") {
            out.push(p);
        }
    }
    Ok(out)
}

/// The running federation layer.
pub struct Federation {
    /// Handle to the swarm.
    pub net: NetHandle,
    task: tokio::task::JoinHandle<()>,
}

impl Federation {
    /// Starts the swarm and the driver task.
    ///
    /// # Errors
    /// When the swarm cannot listen.
    pub async fn start(cfg: &NodeConfig, ingest: Ingest) -> Result<Federation, credfed_net::NetError> {
        let state = ingest.state().clone();
        let mut nc = NetConfig::new(state.node_key.clone());
        nc.listen = parse_addrs(&cfg.p2p.listen)?;
        nc.bootstrap = parse_addrs(&cfg.p2p.bootstrap)?;
        nc.max_established_total = cfg.p2p.max_peers;
        nc.sync_interval = std::time::Duration::from_millis(cfg.p2p.sync_interval_ms.max(100));
        let app = Arc::new(app::NodeApp::new(ingest.clone()));
        let (net, events) = credfed_net::spawn(nc.clone(), app.clone()).await?;
        let driver = sync::Driver::new(ingest, net.clone(), nc.bootstrap.clone(), app);
        let task = tokio::spawn(driver.run(events));
        Ok(Federation { net, task })
    }

    /// Stops the driver and the swarm.
    pub async fn shutdown(self) {
        self.task.abort();
        let _ = self.task.await;
        self.net.shutdown().await;
    }
}

fn parse_addrs(list: &[String]) -> Result<Vec<credfed_net::Multiaddr>, credfed_net::NetError> {
    list.iter().map(|a| a.parse().map_err(|e| credfed_net::NetError::Config(format!("multiaddr {a:?}: {e}")))).collect()
}
