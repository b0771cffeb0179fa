//! A chaos TCP proxy (RELIABILITY F13.1): one [`Link`] per ordered pair of nodes (A→B), a
//! loopback listener forwarding to B's real p2p port. A's bootstrap list names the link's
//! address (with B's `/p2p/` PeerId), so every byte A sends B crosses it.
//!
//! Modes:
//! * [`Mode::Forward`]: bytes flow both ways.
//! * [`Mode::Blackhole`]: like an `iptables DROP` seen from the application: connections are
//!   still accepted, but every byte read in either direction is discarded (and counted), and
//!   new connections are never connected upstream. Streams crossing a blackhole are corrupt
//!   afterwards (Noise frames lost), so switching back to `Forward` resets the connections
//!   that lived through the blackhole — as TCP connections that outlived a long partition
//!   would be — and the nodes redial through the healed link.
//!
//! No root, no netns: everything is tokio tasks in the test process.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

/// What a link does with bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forward.
    Forward = 0,
    /// Accept, forward nothing.
    Blackhole = 1,
}

#[derive(Default)]
struct Shared {
    mode: AtomicU8,
    forwarded: AtomicU64,
    dropped: AtomicU64,
    accepted: AtomicU64,
    conns: Mutex<Vec<AbortHandle>>,
}

/// One direction-specific link `name` (e.g. `xinyang->luan`) to `target`.
pub struct Link {
    /// Label.
    pub name: String,
    /// Where dialers connect.
    pub addr: SocketAddr,
    /// The real address behind it.
    pub target: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Link({} {} -> {} {:?})", self.name, self.addr, self.target, self.mode())
    }
}

impl Link {
    /// Starts a link on `127.0.0.1:0` forwarding to `target`.
    ///
    /// # Errors
    /// When the listener cannot bind.
    pub async fn start(name: &str, target: SocketAddr) -> std::io::Result<Link> {
        Link::start_on("127.0.0.1:0".parse().expect("literal"), name, target).await
    }

    /// Starts a link on `listen` (port 0 picks one).
    ///
    /// # Errors
    /// When the listener cannot bind.
    pub async fn start_on(listen: SocketAddr, name: &str, target: SocketAddr) -> std::io::Result<Link> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                s.accepted.fetch_add(1, Ordering::Relaxed);
                let _ = inbound.set_nodelay(true);
                let conn = tokio::spawn(serve(inbound, target, s.clone()));
                let mut list = s.conns.lock().unwrap_or_else(|p| p.into_inner());
                list.retain(|h| !h.is_finished());
                list.push(conn.abort_handle());
            }
        });
        Ok(Link { name: name.to_owned(), addr, target, shared, task })
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        if self.shared.mode.load(Ordering::SeqCst) == Mode::Blackhole as u8 {
            Mode::Blackhole
        } else {
            Mode::Forward
        }
    }

    /// Switches mode. Blackhole → Forward resets every connection open now.
    pub fn set_mode(&self, mode: Mode) {
        let old = self.shared.mode.swap(mode as u8, Ordering::SeqCst);
        if old == Mode::Blackhole as u8 && mode == Mode::Forward {
            self.reset();
        }
    }

    /// Closes every connection open on this link (their peers see a reset / EOF).
    pub fn reset(&self) {
        for h in self.shared.conns.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            h.abort();
        }
    }

    /// `(bytes forwarded, bytes dropped, connections accepted)`.
    pub fn counters(&self) -> (u64, u64, u64) {
        (
            self.shared.forwarded.load(Ordering::Relaxed),
            self.shared.dropped.load(Ordering::Relaxed),
            self.shared.accepted.load(Ordering::Relaxed),
        )
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
        self.reset();
    }
}

async fn serve(inbound: TcpStream, target: SocketAddr, s: Arc<Shared>) {
    if s.mode.load(Ordering::SeqCst) == Mode::Blackhole as u8 {
        // Accepted during a blackhole: never connected upstream; everything is swallowed.
        let (mut r, _w) = inbound.into_split();
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = r.read(&mut buf).await {
            if n == 0 {
                return;
            }
            s.dropped.fetch_add(n as u64, Ordering::Relaxed);
        }
        return;
    }
    let Ok(upstream) = TcpStream::connect(target).await else { return };
    let _ = upstream.set_nodelay(true);
    let (ir, iw) = inbound.into_split();
    let (ur, uw) = upstream.into_split();
    tokio::select! {
        _ = pump(ir, uw, s.clone()) => {},
        _ = pump(ur, iw, s.clone()) => {},
    }
}

async fn pump(mut r: tokio::net::tcp::OwnedReadHalf, mut w: tokio::net::tcp::OwnedWriteHalf, s: Arc<Shared>) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if s.mode.load(Ordering::SeqCst) == Mode::Blackhole as u8 {
            s.dropped.fetch_add(n as u64, Ordering::Relaxed);
            continue;
        }
        if w.write_all(&buf[..n]).await.is_err() {
            return;
        }
        s.forwarded.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Links for every ordered pair of a federation, by `(from, to)` index.
#[derive(Debug, Default)]
pub struct Mesh {
    /// `(from, to, link)`.
    pub links: Vec<(usize, usize, Link)>,
}

impl Mesh {
    /// The link `from → to`.
    ///
    /// # Panics
    /// When there is no such link.
    pub fn link(&self, from: usize, to: usize) -> &Link {
        &self.links.iter().find(|(f, t, _)| *f == from && *t == to).expect("link exists").2
    }

    /// Cuts (blackholes) every link between a node of `side` and a node outside it, both ways.
    pub fn partition(&self, side: &[usize]) {
        for (f, t, l) in &self.links {
            if side.contains(f) != side.contains(t) {
                l.set_mode(Mode::Blackhole);
            }
        }
    }

    /// Forwards on every link again (resetting the connections that crossed a blackhole).
    pub fn heal(&self) {
        for (_, _, l) in &self.links {
            l.set_mode(Mode::Forward);
        }
    }
}
