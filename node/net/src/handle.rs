//! [`NetHandle`]: the cloneable handle the rest of the node holds (STYLE habit 6). Each call
//! is a [`Command`] over a bounded channel with a `oneshot` reply; the swarm task answers.

use credfed_protocol::wire::{self, GossipMessage, SyncRequest, SyncResponse, MAX_GOSSIP_LEN};
use credfed_protocol::RegionId;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

/// What went wrong with a network call.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The swarm task has stopped (shut down, or every handle dropped).
    #[error("the network task has stopped")]
    Closed,
    /// Bad configuration.
    #[error("invalid network config: {0}")]
    Config(String),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// Dialling failed immediately (a later failure is a [`crate::NetEvent::ConnectionDenied`]
    /// or just no `PeerConnected`).
    #[error("cannot dial {addr}: {reason}")]
    Dial {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// Requests go only to connected (hence admitted) peers.
    #[error("peer {0} is not connected")]
    NotConnected(PeerId),
    /// Too many requests of ours are already waiting for answers.
    #[error("too many outstanding requests")]
    Busy,
    /// The request failed on the wire (timeout, closed connection, codec refusal).
    #[error("request to {peer} failed: {reason}")]
    Request {
        /// The peer.
        peer: PeerId,
        /// Why (from libp2p's `OutboundFailure`).
        reason: String,
    },
    /// A message over its wire cap.
    #[error("{what} of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// What.
        what: &'static str,
        /// Its size.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// No connected peer subscribes to the topic (normal while alone; sync catches up).
    #[error("no peer to publish to")]
    NoPeers,
    /// The same payload was published recently (it is already out).
    #[error("duplicate gossip message")]
    Duplicate,
    /// Another gossipsub publish failure.
    #[error("publish failed: {0}")]
    Publish(String),
}

/// Commands from handles to the swarm task.
pub(crate) enum Command {
    Publish { data: Vec<u8>, reply: oneshot::Sender<Result<(), NetError>> },
    Request { peer: PeerId, req: SyncRequest, reply: oneshot::Sender<Result<SyncResponse, NetError>> },
    ConnectedPeers { reply: oneshot::Sender<Vec<(PeerId, RegionId)>> },
    MeshPeers { reply: oneshot::Sender<Vec<PeerId>> },
    Dial { addr: Multiaddr, reply: oneshot::Sender<Result<(), NetError>> },
    Disconnect { peer: PeerId, reply: oneshot::Sender<bool> },
    Ban { peer: PeerId, reply: oneshot::Sender<()> },
    Unban { peer: PeerId, reply: oneshot::Sender<bool> },
    RecheckAdmission { reply: oneshot::Sender<Vec<PeerId>> },
    ListenAddrs { reply: oneshot::Sender<Vec<Multiaddr>> },
    Shutdown { reply: oneshot::Sender<()> },
}

/// A cloneable handle on the swarm task. Dropping every handle stops the task.
#[derive(Clone, Debug)]
pub struct NetHandle {
    tx: mpsc::Sender<Command>,
    local_peer_id: PeerId,
}

impl NetHandle {
    pub(crate) fn new(tx: mpsc::Sender<Command>, local_peer_id: PeerId) -> NetHandle {
        NetHandle { tx, local_peer_id }
    }

    async fn call<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, NetError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| NetError::Closed)?;
        rx.await.map_err(|_| NetError::Closed)
    }

    /// This node's PeerId (derived from the node key).
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// Publishes a gossip message on the federation topic. Encoding and the size check happen
    /// here, on the caller's task.
    ///
    /// # Errors
    /// [`NetError::TooLarge`], [`NetError::NoPeers`], [`NetError::Duplicate`],
    /// [`NetError::Publish`], [`NetError::Closed`].
    pub async fn publish(&self, msg: &GossipMessage) -> Result<(), NetError> {
        let data = wire::encode(msg);
        if data.len() > MAX_GOSSIP_LEN {
            return Err(NetError::TooLarge { what: "gossip message", len: data.len(), max: MAX_GOSSIP_LEN });
        }
        self.call(|reply| Command::Publish { data, reply }).await?
    }

    /// Sends a sync request to a connected peer and waits for its answer (bounded by
    /// `request_timeout`). A [`SyncResponse::Error`] from the peer is an `Ok` answer.
    ///
    /// # Errors
    /// [`NetError::NotConnected`], [`NetError::Busy`], [`NetError::Request`],
    /// [`NetError::Closed`].
    pub async fn request(&self, peer: PeerId, req: SyncRequest) -> Result<SyncResponse, NetError> {
        self.call(|reply| Command::Request { peer, req, reply }).await?
    }

    /// Admitted peers with at least one connection, with their regions.
    ///
    /// # Errors
    /// [`NetError::Closed`].
    pub async fn connected_peers(&self) -> Result<Vec<(PeerId, RegionId)>, NetError> {
        self.call(|reply| Command::ConnectedPeers { reply }).await
    }

    /// Peers in our gossipsub mesh for the federation topic.
    ///
    /// # Errors
    /// [`NetError::Closed`].
    pub async fn mesh_peers(&self) -> Result<Vec<PeerId>, NetError> {
        self.call(|reply| Command::MeshPeers { reply }).await
    }

    /// Starts dialling an address. Success means the dial started; admission happens when it
    /// connects ([`crate::NetEvent::PeerConnected`] or [`crate::NetEvent::ConnectionDenied`]).
    ///
    /// # Errors
    /// [`NetError::Dial`], [`NetError::Closed`].
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), NetError> {
        self.call(|reply| Command::Dial { addr, reply }).await?
    }

    /// Closes every connection to `peer` (it may reconnect; see [`NetHandle::ban`]).
    /// Returns whether it was connected.
    ///
    /// # Errors
    /// [`NetError::Closed`].
    pub async fn disconnect(&self, peer: PeerId) -> Result<bool, NetError> {
        self.call(|reply| Command::Disconnect { peer, reply }).await
    }

    /// Disconnects `peer` and refuses its connections until [`NetHandle::unban`] (in memory;
    /// persistent bans belong in the node's trust decisions).
    ///
    /// # Errors
    /// [`NetError::Closed`].
    pub async fn ban(&self, peer: PeerId) -> Result<(), NetError> {
        self.call(|reply| Command::Ban { peer, reply }).await
    }

    /// Lifts a ban. Returns whether there was one.
    ///
    /// # Errors
    /// [`NetError::Closed`].
    pub async fn unban(&self, peer: PeerId) -> Result<bool, NetError> {
        self.call(|reply| Command::Unban { peer, reply }).await
    }

    /// Re-asks [`crate::NetApp::is_admitted`] for every connected peer and disconnects those no
    /// longer admitted, so a revoked or unpinned peer gets no further bytes. Call it after
    /// every trust change; it also runs on every sync tick. Returns the peers disconnected.
    ///
    /// # Errors
    /// [`NetError::Closed`].
    pub async fn recheck_admission(&self) -> Result<Vec<PeerId>, NetError> {
        self.call(|reply| Command::RecheckAdmission { reply }).await
    }

    /// The addresses we listen on (port 0 resolved).
    ///
    /// # Errors
    /// [`NetError::Closed`].
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NetError> {
        self.call(|reply| Command::ListenAddrs { reply }).await
    }

    /// Stops the swarm task: closes listeners and connections, abandons in-flight app calls,
    /// and returns once the swarm is dropped. Idempotent.
    pub async fn shutdown(&self) {
        let _ = self.call(|reply| Command::Shutdown { reply }).await;
    }
}
