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
//! | `recovery.rs` | entering recovery mode (our own feed is behind a peer's copy) and ending it |
//!
//! Received objects enter through the same ingest pipeline as HTTP submissions, with their
//! origin's signed feed entry; entries are applied strictly in feed order (a gap is fetched by
//! anti-entropy before later entries apply).

mod app;
mod compare;
mod recovery;
mod serve;
mod sync;
pub mod witness;

use std::sync::Arc;

use credfed_net::{NetConfig, NetHandle};

use crate::config::NodeConfig;
use crate::ingest::Ingest;

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
