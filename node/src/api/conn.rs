//! Connection admission for the HTTP listeners (issue 15): a fair share per client address,
//! a reserved slice for admin and health requests, and an inactivity bound on every socket.
//!
//! * At most `api.max_connections_per_client` connections per client IP and
//!   `api.max_connections` in all. A newcomer over either limit takes the slot of the
//!   *most stalled* connection — no handler running on it, and the longest since a byte moved
//!   either way (slow headers, slow bodies, idle keep-alive) — of its own client when that
//!   client is over its cap, else of the heaviest client at least as heavy as the newcomer's.
//!   When every candidate is inside a handler it goes to the reserve or gets `503` with
//!   `Retry-After`. Shedding the most stalled rather than refusing the newest matters when
//!   honest and hostile clients share one address (NAT, loopback): an honest connection moves
//!   bytes and finishes its request within milliseconds, an attacker's sits.
//! * `api.reserved_connections` more slots serve only `GET /v1/health` and admin-token requests
//!   (others get `503`), so an operator can always look at a node under attack.
//! * [`Guarded`] closes a socket that makes no progress (read or write) for
//!   `api.idle_timeout_secs`: idle keep-alive connections and stalled response writes.
//!
//! HTTP/1.1 serves one request at a time per connection, so the per-client connection cap is
//! also its cap on concurrent requests.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep};

/// Why a connection was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The client already holds its share, every connection of it inside a handler.
    PerClient,
    /// Every slot, the reserve included, is taken and no candidate is idle.
    Full,
}

impl Refusal {
    /// Metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::PerClient => "per_client",
            Refusal::Full => "full",
        }
    }
}

/// What a connection is doing, updated by the request path.
pub struct Activity {
    epoch: Instant,
    busy: AtomicBool,
    last_ms: AtomicU64,
}

impl Activity {
    fn new(epoch: Instant) -> Activity {
        let a = Activity { epoch, busy: AtomicBool::new(false), last_ms: AtomicU64::new(0) };
        a.touch();
        a
    }
    /// Bytes moved on the connection.
    pub fn touch(&self) {
        self.last_ms.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
    /// A handler starts.
    pub fn begin(&self) {
        self.busy.store(true, Ordering::Relaxed);
    }
    /// A request finished.
    pub fn end(&self) {
        self.touch();
        self.busy.store(false, Ordering::Relaxed);
    }
    /// Milliseconds stalled at `now_ms`, or None when a handler runs.
    fn stalled_for(&self, now_ms: u64) -> Option<u64> {
        if self.busy.load(Ordering::Relaxed) {
            return None;
        }
        Some(now_ms.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }
}

struct Slot {
    shed: Option<oneshot::Sender<()>>,
    activity: Arc<Activity>,
    reserve: bool,
}

#[derive(Default)]
struct Table {
    next: u64,
    clients: HashMap<IpAddr, BTreeMap<u64, Slot>>,
    normal: usize,
    reserve: usize,
}

impl Table {
    /// The most stalled normal connection of `ip` (id, ms since its last byte), if any is
    /// outside a handler.
    fn most_stalled(&self, ip: &IpAddr, now_ms: u64) -> Option<(u64, u64)> {
        self.clients
            .get(ip)?
            .iter()
            .filter(|(_, s)| !s.reserve)
            .filter_map(|(id, s)| s.activity.stalled_for(now_ms).map(|ms| (*id, ms)))
            .max_by_key(|(id, ms)| (*ms, u64::MAX - id))
    }

    fn shed(&mut self, ip: IpAddr, id: u64) {
        let Some(slots) = self.clients.get_mut(&ip) else { return };
        if let Some(mut s) = slots.remove(&id) {
            if let Some(tx) = s.shed.take() {
                let _ = tx.send(());
            }
            self.normal -= 1;
        }
        if slots.is_empty() {
            self.clients.remove(&ip);
        }
    }
}

/// The admission table of one listener.
pub struct Admission {
    table: Mutex<Table>,
    epoch: Instant,
    max: usize,
    per_client: usize,
    reserved: usize,
}

/// An admitted connection; dropping it frees the slot.
pub struct Ticket {
    owner: Arc<Admission>,
    ip: IpAddr,
    id: u64,
    /// Resolves when the connection is shed to make room for another.
    pub shed: oneshot::Receiver<()>,
    /// The request path reports here.
    pub activity: Arc<Activity>,
    /// Admitted into the reserve: serves only health and admin-token requests.
    pub reserve: bool,
}

impl Admission {
    /// A table with `max` normal slots, `per_client` per address and `reserved` more.
    pub fn new(max: usize, per_client: usize, reserved: usize) -> Arc<Admission> {
        Arc::new(Admission {
            table: Mutex::new(Table::default()),
            epoch: Instant::now(),
            max: max.max(1),
            per_client: per_client.max(1),
            reserved,
        })
    }

    /// Connections held now (normal, reserve).
    pub fn held(&self) -> (usize, usize) {
        let t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        (t.normal, t.reserve)
    }

    /// Admits a connection from `ip`, shedding a stalled one if a limit is reached.
    ///
    /// # Errors
    /// [`Refusal`] when this client must wait.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Ticket, Refusal> {
        let now_ms = self.epoch.elapsed().as_millis() as u64;
        let mut t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let mine = t.clients.get(&ip).map_or(0, |s| s.values().filter(|s| !s.reserve).count());
        if mine >= self.per_client {
            // Own connections only: shedding them can only hurt this client.
            let (id, _) = t.most_stalled(&ip, now_ms).ok_or(Refusal::PerClient)?;
            t.shed(ip, id);
        }
        let mut reserve = false;
        if t.normal >= self.max {
            // Heaviest clients first; the first with a stalled connection gives it up.
            let mut order: Vec<(usize, IpAddr)> =
                t.clients.iter().filter(|(_, s)| s.len() >= mine).map(|(c, s)| (s.len(), *c)).collect();
            order.sort_unstable_by_key(|(n, _)| std::cmp::Reverse(*n));
            let victim = order.iter().find_map(|(_, c)| t.most_stalled(c, now_ms).map(|(id, _)| (*c, id)));
            match victim {
                Some((c, id)) => t.shed(c, id),
                None if t.reserve < self.reserved => reserve = true,
                None => return Err(Refusal::Full),
            }
        }
        let (tx, rx) = oneshot::channel();
        let activity = Arc::new(Activity::new(self.epoch));
        t.next += 1;
        let id = t.next;
        t.clients.entry(ip).or_default().insert(id, Slot { shed: Some(tx), activity: activity.clone(), reserve });
        if reserve {
            t.reserve += 1;
        } else {
            t.normal += 1;
        }
        Ok(Ticket { owner: self.clone(), ip, id, shed: rx, activity, reserve })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut t = self.owner.table.lock().unwrap_or_else(|p| p.into_inner());
        let Some(slots) = t.clients.get_mut(&self.ip) else { return };
        let Some(s) = slots.remove(&self.id) else { return }; // already shed
        if slots.is_empty() {
            t.clients.remove(&self.ip);
        }
        if s.reserve {
            t.reserve -= 1;
        } else {
            t.normal -= 1;
        }
    }
}

/// A socket that fails with `TimedOut` after `limit` without progress in either direction.
pub struct Guarded<S> {
    inner: S,
    limit: Duration,
    deadline: Pin<Box<Sleep>>,
    activity: Option<Arc<Activity>>,
}

impl<S> Guarded<S> {
    /// Wraps `inner`; progress is reported to `activity` (what admission sheds by).
    pub fn new(inner: S, limit: Duration, activity: Option<Arc<Activity>>) -> Guarded<S> {
        Guarded { inner, limit, deadline: Box::pin(tokio::time::sleep(limit)), activity }
    }

    fn progressed(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.limit);
        if let Some(a) = &self.activity {
            a.touch();
        }
    }

    fn stalled(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "no progress on the connection within the idle timeout")
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    this.progressed();
                }
                Poll::Ready(r)
            }
            Poll::Pending if this.stalled(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, data) {
            Poll::Ready(r) => {
                this.progressed();
                Poll::Ready(r)
            }
            Poll::Pending if this.stalled(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                this.progressed();
                Poll::Ready(r)
            }
            Poll::Pending if this.stalled(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending if this.stalled(cx) => Poll::Ready(Err(timed_out())),
            other => other,
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The bytes of a `503` for a connection that was not admitted (written raw: no request was
/// read).
pub fn refusal_response(r: Refusal) -> Vec<u8> {
    let body = match r {
        Refusal::PerClient => {
            r#"{"error":{"code":"too_many_connections","message":"this client address holds its share of connections; retry later"}}"#
        }
        Refusal::Full => r#"{"error":{"code":"busy","message":"every connection slot is taken; retry later"}}"#,
    };
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    #[test]
    fn a_client_over_its_share_sheds_its_own_idle_connection_or_is_refused() {
        let a = Admission::new(10, 2, 0);
        let mut t1 = a.admit(ip(1)).unwrap();
        let t2 = a.admit(ip(1)).unwrap();
        t2.activity.begin();
        let _t3 = a.admit(ip(1)).expect("the idle one makes room");
        assert_eq!(t1.shed.try_recv(), Ok(()));
        _t3.activity.begin();
        assert_eq!(a.admit(ip(1)).err(), Some(Refusal::PerClient), "both inside handlers");
        assert!(a.admit(ip(2)).is_ok(), "another client has its own share");
        drop(t2);
        assert!(a.admit(ip(1)).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn the_most_stalled_connection_of_the_heaviest_client_makes_room() {
        let a = Admission::new(3, 8, 0);
        let mut heavy: Vec<Ticket> = (0..2).map(|_| a.admit(ip(1)).unwrap()).collect();
        let mut light = a.admit(ip(2)).unwrap();
        tokio::time::advance(Duration::from_secs(2)).await;
        heavy[0].activity.begin(); // in a handler: spared although oldest
        heavy[1].activity.touch(); // just moved bytes, but still the heaviest client's only idle one
        let _honest = a.admit(ip(3)).unwrap();
        assert_eq!(heavy[1].shed.try_recv(), Ok(()));
        assert!(heavy[0].shed.try_recv().is_err());
        assert!(light.shed.try_recv().is_err(), "a lighter client keeps its connection");
        assert_eq!(a.held(), (3, 0));
        drop(heavy); // the shed ticket's drop does not free its slot twice
        assert_eq!(a.held(), (2, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_newcomer_as_heavy_as_the_heaviest_client_still_finds_room() {
        // Full, and the newcomer's address holds as many connections as any other: its own
        // stalled one (or an equally heavy client's) makes room, not the reserve.
        let a = Admission::new(4, 8, 1);
        let mut held: Vec<Ticket> = (0..2).map(|_| a.admit(ip(1)).unwrap()).collect();
        held.extend((0..2).map(|_| a.admit(ip(2)).unwrap()));
        tokio::time::advance(Duration::from_secs(1)).await;
        let t = a.admit(ip(1)).unwrap();
        assert!(!t.reserve);
        assert_eq!(
            held.iter_mut().map(|m| m.shed.try_recv().is_ok()).filter(|shed| *shed).count(),
            1,
            "one stalled connection went"
        );
        assert_eq!(a.held(), (4, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn when_every_candidate_is_busy_the_reserve_then_refusal_follow() {
        let a = Admission::new(2, 4, 1);
        let x = a.admit(ip(1)).unwrap();
        let y = a.admit(ip(2)).unwrap();
        x.activity.begin();
        y.activity.begin();
        let r = a.admit(ip(3)).unwrap();
        assert!(r.reserve);
        assert_eq!(a.admit(ip(4)).err(), Some(Refusal::Full));
        drop(r);
        assert_eq!(a.held(), (2, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn one_address_shared_by_an_attacker_and_an_honest_client() {
        let a = Admission::new(256, 4, 0);
        let mut slow: Vec<Ticket> = (0..4).map(|_| a.admit(ip(1)).unwrap()).collect();
        tokio::time::advance(Duration::from_millis(300)).await;
        slow[0].activity.touch(); // a trickling slow-header attacker
        tokio::time::advance(Duration::from_millis(300)).await;
        let honest = a.admit(ip(1)).expect("an attacker connection makes room");
        assert_eq!(slow[1].shed.try_recv(), Ok(()), "the one silent longest");
        honest.activity.begin();
        let _more: Vec<Ticket> = (0..3).map(|_| a.admit(ip(1)).expect("attackers shed each other")).collect();
        assert!(slow[0].shed.try_recv().is_ok(), "the trickler goes too, later");
        assert_eq!(a.held(), (4, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_socket_times_out_and_an_active_one_does_not() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (client, server) = tokio::io::duplex(64);
        let mut g = Guarded::new(server, Duration::from_secs(5), None);
        let mut client = client;
        let writer = tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_secs(4)).await;
                client.write_all(b"x").await.unwrap();
            }
            client // kept open, silent
        });
        let mut buf = [0u8; 1];
        for _ in 0..3 {
            g.read_exact(&mut buf).await.unwrap();
        }
        let _client = writer.await.unwrap();
        let e = g.read_exact(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }
}
