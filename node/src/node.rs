//! Starting and stopping a node: open the store (refusing a damaged one), load trust, policy
//! and tokens, start the ingest writer, serve HTTP; shut down by draining connections, then
//! stopping the writer (which flushes).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api;
use crate::config::NodeConfig;
use crate::ingest::{Ingest, IngestWorker};
use crate::keyfile::{self, KeyFileError};
use crate::state::build::{build_state, BuildError};
use crate::state::{self, Clock, State};
use crate::store::{self, StoreError};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened or is damaged (`store_open_failed` / `store_corrupt`).
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A key or secret file.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// A rule-table or calendar override file is unreadable or invalid.
    #[error("rules: {0}")]
    Rules(String),
    /// The libp2p swarm could not start (bad multiaddr, port in use).
    #[error("p2p: {0}")]
    P2p(String),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Error.
        source: std::io::Error,
    },
}

impl From<BuildError> for StartError {
    fn from(e: BuildError) -> StartError {
        match e {
            BuildError::Store(e) => StartError::Store(e),
            BuildError::Key(e) => StartError::Key(e),
            BuildError::Rules(e) => StartError::Rules(e),
        }
    }
}

impl StartError {
    /// Stable code (`store_corrupt`, `store_open_failed`, `key_file`, `bind_failed`).
    pub fn code(&self) -> &'static str {
        match self {
            StartError::Store(e) => e.code(),
            StartError::Key(_) => "key_file",
            StartError::Bind { .. } => "bind_failed",
            StartError::P2p(_) => "p2p_failed",
            StartError::Rules(_) => "rules_invalid",
        }
    }
}

/// A running node (for tests, the binary and the federation layer).
pub struct RunningNode {
    /// Shared state.
    pub state: Arc<State>,
    /// The ingest pipeline (what a federation layer feeds received objects into).
    pub ingest: Ingest,
    api_addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    stop_tx: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    worker: Option<IngestWorker>,
    fed: Option<crate::fed::Federation>,
}

impl RunningNode {
    /// The bound API address.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }
    /// The bound admin address, if any.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The swarm handle, when federation is enabled.
    pub fn net(&self) -> Option<&credfed_net::NetHandle> {
        self.fed.as_ref().map(|f| &f.net)
    }

    /// Stops accepting, finishes in-flight requests (and so their commits), stops the writer,
    /// flushes.
    pub async fn shutdown(mut self) {
        let _ = self.stop_tx.send(true);
        if let Some(f) = self.fed.take() {
            f.shutdown().await;
        }
        for s in self.servers.drain(..) {
            let _ = s.await;
        }
        if let Some(w) = self.worker.take() {
            let _ = tokio::task::spawn_blocking(move || w.stop()).await;
        }
        // Detached federation tasks (a sync round, a cosign request, a blocking sync answer)
        // hold the state until they notice the swarm is gone; wait for them so the store is
        // closed (and its lock released) when shutdown returns. Held here: `state`, `ingest`.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while Arc::strong_count(&self.state) > 2 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tracing::info!("node stopped; store flushed");
    }
}

/// Starts a node: store, writer, API and admin listeners.
///
/// # Errors
/// [`StartError`]; a damaged store is reported as `store_corrupt` and left untouched.
pub async fn start(cfg: NodeConfig) -> Result<RunningNode, StartError> {
    start_with_clock(cfg, state::system_clock()).await
}

/// [`start`] with an injected clock.
///
/// # Errors
/// [`StartError`].
pub async fn start_with_clock(cfg: NodeConfig, clock: Clock) -> Result<RunningNode, StartError> {
    let c = cfg.clone();
    let store = tokio::task::spawn_blocking(move || store::open(&c, false))
        .await
        .map_err(|e| StoreError::Open(e.to_string()))??;
    let state = build_state(&cfg, store, clock)?;
    if let Some(r) = state::recovery::marker(&*state.store)? {
        tracing::warn!(min_peers = r.min_peers, previous = %r.previous, "store in recovery: own feed is being refilled from peers; local submissions are refused until it completes");
    } else {
        state.save_local_state();
    }
    let (ingest, worker) = Ingest::start(state.clone(), cfg.store.queue)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let bind = |addr: SocketAddr| async move {
        tokio::net::TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })
    };
    let api_l = bind(cfg.api.listen).await?;
    let api_addr = api_l.local_addr().map_err(|source| StartError::Bind { addr: cfg.api.listen, source })?;
    let mut servers = Vec::new();
    let mut app = api::App::new(ingest.clone(), cfg.api.clone());
    app.console = Some(std::sync::Arc::new(crate::console::ConsoleServer::new()));
    servers.push(tokio::spawn(api::serve(api_l, app.clone(), api::Listener::Public, stop_rx.clone())));
    let mut admin_addr = None;
    if let Some(a) = cfg.admin.listen {
        let l = bind(a).await?;
        admin_addr = l.local_addr().ok();
        servers.push(tokio::spawn(api::serve(l, app, api::Listener::Admin, stop_rx)));
    }
    let fed = if cfg.p2p.enabled {
        let f =
            crate::fed::Federation::start(&cfg, ingest.clone()).await.map_err(|e| StartError::P2p(e.to_string()))?;
        let addrs = f.net.listen_addrs().await.unwrap_or_default();
        *state.p2p_addrs.write().unwrap_or_else(|p| p.into_inner()) = addrs.iter().map(|a| a.to_string()).collect();
        let _ = state.net.set(f.net.clone());
        Some(f)
    } else {
        None
    };
    tracing::info!(region = %state.region, api = %api_addr, admin = ?admin_addr, peer_id = %state.peer_id, "node started");
    Ok(RunningNode { state, ingest, api_addr, admin_addr, stop_tx, servers, worker: Some(worker), fed })
}

/// Runs a node until `shutdown` resolves, then shuts it down gracefully.
///
/// # Errors
/// [`StartError`].
pub async fn run(cfg: NodeConfig, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
    let dir = cfg.data_dir();
    let node = start(cfg).await?;
    write_runtime_file(&node, &dir);
    shutdown.await;
    tracing::info!("shutdown requested");
    node.shutdown().await;
    Ok(())
}

/// Writes `DATA_DIR/run.json` (`{"api","admin","pid"}`) so scripts find the bound ports.
fn write_runtime_file(node: &RunningNode, dir: &std::path::Path) {
    let p2p: Vec<String> = node.state.p2p_addrs.read().unwrap_or_else(|p| p.into_inner()).clone();
    let v = serde_json::json!({
        "p2p": p2p,
        "peer_id": node.state.peer_id,
        "api": format!("http://{}", node.api_addr()),
        "admin": node.admin_addr().map(|a| format!("http://{a}")),
        "pid": std::process::id(),
    });
    if let Err(e) = keyfile::write_public(&dir.join("run.json"), v.to_string().as_bytes()) {
        tracing::warn!(error = %e, "could not write run.json");
    }
}
