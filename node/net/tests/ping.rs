//! Ping-driven liveness: a peer behind a dead link is disconnected after a few failed pings,
//! not when TCP gives up minutes later.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{app_admitting, connect_at, new_key, start, TestNode};
use credfed_net::multiaddr::Protocol;
use credfed_net::{Multiaddr, NetConfig, NetEvent, PeerId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

const PING_INTERVAL: Duration = Duration::from_secs(1);
const PING_TIMEOUT: Duration = Duration::from_secs(2);
const FAILURES: u32 = 2;
/// Disconnect deadline after the link goes dead: at most 2 × 1 s + 2 s + 2 × 10 s = 24 s is
/// expected (see [`NetConfig::ping_failures_before_disconnect`]), plus slack for a loaded
/// machine. TCP itself never notices here: the relay's kernel keeps acknowledging.
const DEADLINE: Duration = Duration::from_secs(30);

fn fast_ping(cfg: &mut NetConfig) {
    cfg.ping_interval = PING_INTERVAL;
    cfg.ping_timeout = PING_TIMEOUT;
    cfg.ping_failures_before_disconnect = FAILURES;
}

/// A TCP relay on 127.0.0.1 in front of one address. It forwards bytes both ways until
/// [`Relay::blackhole`]; from then on it reads and drops everything (a FIN included) while
/// keeping every socket open, so both ends see a live TCP connection that carries nothing.
struct Relay {
    addr: Multiaddr,
    blackholed: Arc<AtomicBool>,
    /// The accept loop; dropping it aborts the loop and its pipes.
    _tasks: JoinSet<()>,
}

impl Relay {
    async fn start(target: &Multiaddr) -> Relay {
        let port = target.iter().find_map(|p| if let Protocol::Tcp(port) = p { Some(port) } else { None });
        let target = ("127.0.0.1", port.expect("a TCP address"));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = format!("/ip4/127.0.0.1/tcp/{}", listener.local_addr().unwrap().port()).parse().unwrap();
        let blackholed = Arc::new(AtomicBool::new(false));
        let hole = blackholed.clone();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut pipes = JoinSet::new();
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = TcpStream::connect(target).await else { continue };
                let ((in_r, in_w), (out_r, out_w)) = (inbound.into_split(), outbound.into_split());
                pipes.spawn(pipe(in_r, out_w, hole.clone()));
                pipes.spawn(pipe(out_r, in_w, hole.clone()));
            }
        });
        Relay { addr, blackholed, _tasks: tasks }
    }

    fn blackhole(&self) {
        self.blackholed.store(true, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` until EOF, or drops the bytes while black-holed. A black-holed pipe
/// holds `to` open after EOF, so no FIN gets through either.
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, blackholed: Arc<AtomicBool>) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n @ 1..) = from.read(&mut buf).await {
        if !blackholed.load(Ordering::SeqCst) && to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
    if blackholed.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
}

fn disconnected(node: &TestNode, peer: PeerId) -> bool {
    node.events().contains(&NetEvent::PeerDisconnected { peer })
}

/// A and B talk through a relay. While it forwards, the connection stays up across several
/// ping intervals. Once it black-holes the link, both sides close the connection after
/// `FAILURES` reported ping failures and report `PeerDisconnected`, well before `DEADLINE`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_pings_disconnect_a_blackholed_peer() {
    let (ka, kb) = (new_key(), new_key());
    let (pa, pb) = (ka.public(), kb.public());
    let members = [(pa, "anqing"), (pb, "luan")];
    let app = |region: &str| app_admitting(region, &members);
    let a = start(ka, app("anqing"), fast_ping).await;
    let b = start(kb, app("luan"), fast_ping).await;
    let relay = Relay::start(&b.addr).await;
    connect_at(&a, &b, relay.addr.clone()).await;

    // A healthy link: no false disconnects over several ping intervals.
    tokio::time::sleep(6 * PING_INTERVAL).await;
    assert!(a.connected().await.contains(&b.peer) && b.connected().await.contains(&a.peer));
    assert!(!disconnected(&a, b.peer) && !disconnected(&b, a.peer), "disconnected on a healthy link");

    relay.blackhole();
    let cut = Instant::now();
    let (mut a_took, mut b_took) = (None, None);
    while a_took.is_none() || b_took.is_none() {
        assert!(cut.elapsed() < DEADLINE, "no disconnect within {DEADLINE:?}: A {a_took:?}, B {b_took:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
        a_took = a_took.or_else(|| disconnected(&a, b.peer).then(|| cut.elapsed()));
        b_took = b_took.or_else(|| disconnected(&b, a.peer).then(|| cut.elapsed()));
    }
    eprintln!("time to PeerDisconnected after black-holing: A {a_took:?}, B {b_took:?}");
    assert!(!a.connected().await.contains(&b.peer) && !b.connected().await.contains(&a.peer));
    a.handle.shutdown().await;
    b.handle.shutdown().await;
}
