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
//! Impairments ([`Link::impair`], any mode `Forward`), applied per direction to every chunk a
//! pump reads (one `read()`, up to 32 KiB):
//! * **latency**: every chunk is delivered `latency` after it was read;
//! * **loss**, modelled as TCP turns it into delay, not as missing bytes (dropping bytes inside
//!   a Noise stream would just corrupt it, which no real network does to a TCP stream): with
//!   probability `loss_pct`, a chunk is "lost" and delivered only after an RTO-like hold drawn
//!   uniformly from `hold` (retransmission). Order is always preserved, so a held chunk holds
//!   up the chunks behind it (head-of-line blocking, as in TCP);
//! * **refused connections**: with probability `refuse_pct`, a new connection is reset at once
//!   (a SYN lost past the dialer's patience / a middlebox RST), and the dialer must redial.
//!
//! Randomness is a per-link splitmix64 seeded from [`Faults::seed`], so a run is repeatable up
//! to scheduling.
//!
//! No root, no netns: everything is tokio tasks in the test process.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;

/// Impairments of a link in `Forward` mode (see the module doc for the loss model).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Faults {
    /// Fixed delay of every chunk, each direction.
    pub latency: Duration,
    /// Percent of chunks held back for a retransmission delay.
    pub loss_pct: u8,
    /// Range of that delay (uniform).
    pub hold: (Duration, Duration),
    /// Percent of new connections reset at once.
    pub refuse_pct: u8,
    /// PRNG seed.
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            latency: Duration::ZERO,
            loss_pct: 0,
            hold: (Duration::from_millis(200), Duration::from_millis(1000)),
            refuse_pct: 0,
            seed: 14,
        }
    }
}

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
    refused: AtomicU64,
    held: AtomicU64,
    chunks: AtomicU64,
    rng: AtomicU64,
    faults: Mutex<Faults>,
    conns: Mutex<Vec<AbortHandle>>,
}

impl Shared {
    fn faults(&self) -> Faults {
        *self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A uniform draw in `0..n` (splitmix64 over an atomic counter).
    fn draw(&self, n: u64) -> u64 {
        let mut z = self.rng.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }

    fn hit(&self, pct: u8) -> bool {
        pct > 0 && self.draw(100) < u64::from(pct)
    }

    /// How long a chunk read now waits before delivery (latency, plus a hold when "lost").
    fn delay(&self) -> Duration {
        let f = self.faults();
        self.chunks.fetch_add(1, Ordering::Relaxed);
        let mut d = f.latency;
        if self.hit(f.loss_pct) {
            self.held.fetch_add(1, Ordering::Relaxed);
            let (lo, hi) = (f.hold.0.as_millis() as u64, f.hold.1.as_millis() as u64);
            d += Duration::from_millis(lo + self.draw(hi.saturating_sub(lo) + 1));
        }
        d
    }
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

    /// Sets this link's impairments (both directions; new and open connections).
    pub fn impair(&self, faults: Faults) {
        self.shared.rng.store(faults.seed, Ordering::Relaxed);
        *self.shared.faults.lock().unwrap_or_else(|p| p.into_inner()) = faults;
    }

    /// `(chunks read, chunks held back as "lost", connections refused)` since the start.
    pub fn fault_counters(&self) -> (u64, u64, u64) {
        (
            self.shared.chunks.load(Ordering::Relaxed),
            self.shared.held.load(Ordering::Relaxed),
            self.shared.refused.load(Ordering::Relaxed),
        )
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
    if s.hit(s.faults().refuse_pct) {
        s.refused.fetch_add(1, Ordering::Relaxed);
        let _ = inbound.set_zero_linger(); // close → RST
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
    // Reader stamps each chunk with its delivery time (never earlier than the previous
    // chunk's: order is preserved); the writer sleeps until then. The bounded queue applies
    // back-pressure to the sender as a full TCP window would.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Instant, Vec<u8>)>(256);
    let s2 = s.clone();
    let writer = async move {
        while let Some((at, chunk)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if s2.mode.load(Ordering::SeqCst) == Mode::Blackhole as u8 {
                s2.dropped.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                continue;
            }
            if w.write_all(&chunk).await.is_err() {
                return;
            }
            s2.forwarded.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
    };
    let reader = async move {
        let mut buf = vec![0u8; 32 * 1024];
        let mut last = Instant::now();
        loop {
            let n = match r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if s.mode.load(Ordering::SeqCst) == Mode::Blackhole as u8 {
                s.dropped.fetch_add(n as u64, Ordering::Relaxed);
                continue;
            }
            last = last.max(Instant::now() + s.delay());
            if tx.send((last, buf[..n].to_vec())).await.is_err() {
                return;
            }
        }
    };
    // The reader ending (EOF) drops `tx`; the writer then drains what is queued and ends.
    tokio::join!(reader, writer);
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

    /// Sets the same impairments on every link (each gets its own seed, derived from `f.seed`).
    pub fn impair(&self, f: Faults) {
        for (k, (_, _, l)) in self.links.iter().enumerate() {
            l.impair(Faults { seed: f.seed.wrapping_add(k as u64 * 7919), ..f });
        }
    }

    /// Forwards on every link again (resetting the connections that crossed a blackhole).
    pub fn heal(&self) {
        for (_, _, l) in &self.links {
            l.set_mode(Mode::Forward);
        }
    }
}
