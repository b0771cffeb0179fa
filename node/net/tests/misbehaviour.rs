//! Sync misbehaviour: a peer that is admitted but sends malformed frames, or floods requests
//! past its token bucket, is disconnected and banned; an honest peer of the same node is served
//! throughout (issue 15: no misbehaving peer hurts honest ones).
//!
//! The garbage attacker is not a credfed node: it runs its own libp2p swarm with a
//! request-response behaviour on the real sync protocol name and a raw-bytes codec, so it can
//! write frames no `SyncCodec` would.

mod common;

use std::collections::HashMap;
use std::io;
use std::time::Duration;

use common::{app_admitting, connect, eventually, new_key, start, TestNode};
use credfed_net::wire::{self, SyncRequest, SyncResponse, MAX_REQUEST_LEN, SYNC_PROTOCOL};
use credfed_net::{DenyReason, Misbehaviour, Multiaddr, NetConfig, NetError, NetEvent, PeerId};
use credfed_protocol::keys::{PublicKey, SecretKey};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux, StreamProtocol, SwarmBuilder};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

const T: Duration = Duration::from_secs(5);

/// Writes a request's bytes exactly as given (no framing added) and reads the whole answer.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<S>(&mut self, _: &StreamProtocol, _: &mut S) -> io::Result<Vec<u8>>
    where
        S: AsyncRead + Unpin + Send,
    {
        Err(io::Error::other("the attacker answers nothing"))
    }

    async fn read_response<S>(&mut self, _: &StreamProtocol, io: &mut S) -> io::Result<Vec<u8>>
    where
        S: AsyncRead + Unpin + Send,
    {
        let mut buf = Vec::new();
        io.take(1 << 20).read_to_end(&mut buf).await?;
        Ok(buf)
    }

    async fn write_request<S>(&mut self, _: &StreamProtocol, io: &mut S, req: Vec<u8>) -> io::Result<()>
    where
        S: AsyncWrite + Unpin + Send,
    {
        io.write_all(&req).await
    }

    async fn write_response<S>(&mut self, _: &StreamProtocol, _: &mut S, _: Vec<u8>) -> io::Result<()>
    where
        S: AsyncWrite + Unpin + Send,
    {
        Ok(())
    }
}

enum Cmd {
    Dial(Multiaddr, oneshot::Sender<()>),
    Send(PeerId, Vec<u8>, oneshot::Sender<Result<Vec<u8>, String>>),
}

/// A raw libp2p swarm with an admissible node key, driven by its own task (so it keeps being
/// polled while the test waits on the victim).
struct Attacker {
    key: PublicKey,
    peer: PeerId,
    cmds: mpsc::Sender<Cmd>,
    _task: JoinHandle<()>,
}

impl Attacker {
    fn start(key: SecretKey) -> Attacker {
        let public = key.public();
        let keypair = Keypair::ed25519_from_bytes(key.to_bytes()).unwrap();
        let sync = request_response::Behaviour::with_codec(
            RawCodec,
            [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Outbound)],
            request_response::Config::default().with_request_timeout(T),
        );
        let swarm = SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
            .unwrap()
            .with_behaviour(|_| sync)
            .unwrap()
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        let (cmds, rx) = mpsc::channel(16);
        Attacker { key: public, peer: credfed_net::peer_id_of(&public), cmds, _task: tokio::spawn(drive(swarm, rx)) }
    }

    /// Dials `addr` and returns once a connection was established or the dial failed (the
    /// victim may still refuse it right after: check its events).
    async fn dial(&self, addr: Multiaddr) {
        let (tx, rx) = oneshot::channel();
        self.cmds.send(Cmd::Dial(addr, tx)).await.unwrap();
        rx.await.unwrap();
    }

    /// Sends `bytes` as one sync request to `peer`: the raw answer, or why there was none.
    async fn send(&self, peer: PeerId, bytes: Vec<u8>) -> Result<Vec<u8>, String> {
        let (tx, rx) = oneshot::channel();
        self.cmds.send(Cmd::Send(peer, bytes, tx)).await.unwrap();
        rx.await.unwrap()
    }
}

async fn drive(mut swarm: libp2p::Swarm<request_response::Behaviour<RawCodec>>, mut cmds: mpsc::Receiver<Cmd>) {
    use request_response::{Event, Message};
    let mut pending: HashMap<OutboundRequestId, oneshot::Sender<Result<Vec<u8>, String>>> = HashMap::new();
    let mut dialing: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                None => return,
                Some(Cmd::Dial(addr, done)) => match swarm.dial(addr) {
                    Ok(()) => dialing.push(done),
                    Err(_) => { let _ = done.send(()); }
                },
                Some(Cmd::Send(peer, bytes, reply)) => {
                    pending.insert(swarm.behaviour_mut().send_request(&peer, bytes), reply);
                }
            },
            event = swarm.select_next_some() => match event {
                SwarmEvent::ConnectionEstablished { .. } | SwarmEvent::OutgoingConnectionError { .. } => {
                    dialing.drain(..).for_each(|d| { let _ = d.send(()); });
                }
                SwarmEvent::Behaviour(Event::Message { message: Message::Response { request_id, response }, .. }) => {
                    if let Some(reply) = pending.remove(&request_id) { let _ = reply.send(Ok(response)); }
                }
                SwarmEvent::Behaviour(Event::OutboundFailure { request_id, error, .. }) => {
                    if let Some(reply) = pending.remove(&request_id) { let _ = reply.send(Err(error.to_string())); }
                }
                _ => {}
            },
        }
    }
}

/// Frames a body as `SyncCodec` would (length prefix, then the bytes).
fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// The refusal code and message in a raw sync answer.
fn refusal_in(raw: &[u8]) -> (String, String) {
    assert!(raw.len() >= 4 && raw[..4] == ((raw.len() - 4) as u32).to_be_bytes(), "not one frame: {raw:?}");
    match wire::decode_response(&raw[4..]).unwrap() {
        SyncResponse::Error { code, message } => (code, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// One honest request from `a` to `v`, which must be answered with heads.
async fn honest_request(a: &TestNode, v: &TestNode, when: &str) {
    let answer = a.handle.request(v.peer, SyncRequest::Heads).await;
    assert!(matches!(answer, Ok(SyncResponse::Heads { .. })), "A not served {when}: {answer:?}");
}

fn misbehaved(node: &TestNode, peer: PeerId) -> Vec<Misbehaviour> {
    node.events()
        .into_iter()
        .filter_map(|e| match e {
            NetEvent::PeerMisbehaved { peer: p, reason } if p == peer => Some(reason),
            _ => None,
        })
        .collect()
}

fn denied_as_banned(node: &TestNode, peer: PeerId) -> bool {
    node.events()
        .iter()
        .any(|e| matches!(e, NetEvent::ConnectionDenied { peer: Some(p), reason: DenyReason::Banned } if *p == peer))
}

/// Asserts V cut `bad` off and still serves A, which never misbehaved.
async fn assert_cut_off_and_banned(v: &TestNode, a: &TestNode, bad: PeerId, reason: Misbehaviour) {
    eventually(T, "V reports the misbehaving peer", || async { !misbehaved(v, bad).is_empty() }).await;
    assert_eq!(misbehaved(v, bad), vec![reason], "reported once, for the right reason");
    eventually(T, "V disconnects the misbehaving peer", || async { !v.connected().await.contains(&bad) }).await;
    assert!(v.connected().await.contains(&a.peer), "the honest peer stays connected");
    assert!(misbehaved(v, a.peer).is_empty());
    assert!(!v
        .events()
        .iter()
        .any(|e| matches!(e, NetEvent::PeerGraylisted { .. } | NetEvent::AdmissionRevoked { .. })));
}

/// B sends garbage CBOR, over-cap length prefixes and truncated frames. V refuses each as
/// `malformed` (naming the limit), never hands one to its app, and on the frame past
/// `max_malformed_requests` (default 8) disconnects and bans B; B's redial is denied. A request
/// from A after every frame is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sync_frames_get_a_peer_banned_while_an_honest_peer_is_served() {
    let (kv, ka, kb) = (new_key(), new_key(), new_key());
    let b = Attacker::start(kb);
    let members = [(kv.public(), "luan"), (ka.public(), "anqing"), (b.key, "suzhou")];
    let v = start(kv, app_admitting("luan", &members), |_| {}).await;
    let a = start(ka, app_admitting("anqing", &members), |_| {}).await;
    connect(&a, &v).await;
    b.dial(v.addr.clone()).await;
    eventually(T, "V admits B", || async { v.connected().await.contains(&b.peer) }).await;

    let limit = NetConfig::new(new_key()).max_malformed_requests as usize;
    let garbage = frame(&[0xff, 0x13, 0x37, 0x00, 0xde, 0xad, 0xbe, 0xef]); // 0xff: a CBOR break, never a value
    let oversize: Vec<u8> = ((MAX_REQUEST_LEN + 1) as u32).to_be_bytes().iter().chain(&[0xa0; 16]).copied().collect();
    let truncated = frame(&[0xa0; 100])[..40].to_vec();
    let frames: [(Vec<u8>, &str); 3] = [
        (garbage, "sync request: "),
        (oversize, "exceeds the 65536-byte limit"),
        (truncated, "sync request frame cut short"),
    ];
    for i in 0..limit {
        let (bytes, why) = &frames[i % 3];
        let raw = b.send(v.peer, bytes.clone()).await.unwrap_or_else(|e| panic!("frame {}: no answer: {e}", i + 1));
        let (code, message) = refusal_in(&raw);
        assert_eq!(code, "malformed", "frame {}", i + 1);
        assert!(message.contains(why), "frame {}: {message:?} does not say {why:?}", i + 1);
        honest_request(&a, &v, &format!("after malformed frame {}", i + 1)).await;
    }
    assert!(v.connected().await.contains(&b.peer), "{limit} malformed frames are tolerated");
    let last = b.send(v.peer, frames[0].0.clone()).await;
    assert!(last.is_err(), "the frame past the limit is not answered: {last:?}");
    honest_request(&a, &v, "right after B was cut off").await;
    assert_cut_off_and_banned(&v, &a, b.peer, Misbehaviour::MalformedRequests).await;
    assert_eq!(v.app.calls_from(&b.peer), (0, 0), "a malformed frame reached the app");

    // Banned for `graylist_ban`: the redial is refused at establishment.
    b.dial(v.addr.clone()).await;
    eventually(T, "V denies B's redial as banned", || async { denied_as_banned(&v, b.peer) }).await;
    assert!(!v.connected().await.contains(&b.peer));
    assert!(b.send(v.peer, frames[0].0.clone()).await.is_err());
    honest_request(&a, &v, "while B is banned").await;
    a.handle.shutdown().await;
    v.handle.shutdown().await;
}

/// B (a real credfed node) floods V with well-formed requests far past its token bucket
/// (default 20/s, burst 40). V answers `rate_limited` up to `max_rate_limited_requests`
/// (default 64), then disconnects and bans B. A, asking once per wave of B's flood, is never
/// refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_flooding_past_its_rate_limit_is_banned_while_an_honest_peer_is_served() {
    let (kv, ka, kb) = (new_key(), new_key(), new_key());
    let members = [(kv.public(), "luan"), (ka.public(), "anqing"), (kb.public(), "suzhou")];
    let v = start(kv, app_admitting("luan", &members), |_| {}).await;
    let a = start(ka, app_admitting("anqing", &members), |_| {}).await;
    let b = start(kb, app_admitting("suzhou", &members), |_| {}).await;
    connect(&a, &v).await;
    connect(&b, &v).await;

    // Waves of 16 concurrent requests (under the 32 streams a connection may carry), until V
    // stops answering B; one request from A rides along with each wave. 30 waves are several
    // times what the defaults allow B, and stay within A's own burst.
    const MAX_WAVES: usize = 30;
    let (mut served, mut limited, mut waves) = (0, 0, 0);
    let cut = 'flood: loop {
        waves += 1;
        assert!(
            waves <= MAX_WAVES,
            "B still answered after {} requests ({served} served, {limited} rate_limited)",
            16 * MAX_WAVES
        );
        let wave = futures::future::join_all((0..16).map(|_| b.handle.request(v.peer, SyncRequest::Heads)));
        let (answers, ()) = futures::future::join(wave, honest_request(&a, &v, &format!("in wave {waves}"))).await;
        for answer in answers {
            match answer {
                Ok(SyncResponse::Heads { .. }) => served += 1,
                Ok(SyncResponse::Error { code, .. }) if code == "rate_limited" => limited += 1,
                Err(e @ (NetError::Request { .. } | NetError::NotConnected(_))) => break 'flood e,
                other => panic!("unexpected answer to B: {other:?}"),
            }
        }
    };
    let defaults = NetConfig::new(new_key());
    eprintln!("B cut off after {waves} waves: {served} served, {limited} rate_limited, then {cut:?}");
    assert!(limited <= defaults.max_rate_limited_requests as usize, "{limited} refusals answered");
    assert!(limited > 0 && served >= defaults.per_peer_request_burst as usize);
    assert_cut_off_and_banned(&v, &a, b.peer, Misbehaviour::RateLimited).await;
    eventually(T, "B sees the disconnect", || async { !b.connected().await.contains(&v.peer) }).await;

    b.handle.dial(v.addr.clone()).await.unwrap();
    eventually(T, "V denies B's redial as banned", || async { denied_as_banned(&v, b.peer) }).await;
    assert!(!v.connected().await.contains(&b.peer));
    honest_request(&a, &v, "while B is banned").await;
    for n in [a, b, v] {
        n.handle.shutdown().await;
    }
}
