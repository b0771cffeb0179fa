//! Admission at connection establishment (DESIGN §4, RELIABILITY F10) and after trust
//! changes.

mod common;

use std::time::Duration;

use common::{app_admitting, connect, eventually, gossip, new_key, start, TestApp};
use credfed_net::wire::SyncRequest;
use credfed_net::{DenyReason, NetEvent};

const T: Duration = Duration::from_secs(8);

/// An unadmitted node dials again and again: every attempt is denied at establishment, the
/// app never sees a request or gossip from it, and it never counts as connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_gate_denies_an_unadmitted_dialer() {
    let (kn, ku) = (new_key(), new_key());
    let n_app = TestApp::new("xinyang");
    n_app.admit(kn.public(), "xinyang"); // N trusts only itself.
    let u_app = TestApp::new("suzhou");
    u_app.admit(kn.public(), "xinyang"); // U would happily talk to N.
    u_app.admit(ku.public(), "suzhou");
    let n = start(kn, n_app, |_| {}).await;
    let u = start(ku, u_app, |_| {}).await;

    for attempt in 1..=5 {
        u.handle.dial(n.addr.clone()).await.unwrap();
        eventually(T, "N reports the connection denied", || async { n.denied(&u.peer) >= attempt }).await;
        // Whatever U manages to send while its side still thinks it is connected.
        let _ = u.handle.publish(&gossip(b"entry-from-outsider")).await;
        let _ = u.handle.request(n.peer, SyncRequest::Heads).await;
        assert!(!n.connected().await.contains(&u.peer));
    }
    let denials: Vec<_> = n
        .events()
        .into_iter()
        .filter_map(|e| match e {
            NetEvent::ConnectionDenied { peer: Some(p), reason } if p == u.peer => Some(reason),
            _ => None,
        })
        .collect();
    assert!(denials.len() >= 5);
    assert!(denials.iter().all(|r| *r == DenyReason::NotAdmitted), "{denials:?}");
    assert_eq!(n.app.calls_from(&u.peer), (0, 0), "the app heard from an unadmitted peer");
    assert!(!n.events().iter().any(|e| matches!(e, NetEvent::PeerConnected { peer, .. } if *peer == u.peer)));
    n.handle.shutdown().await;
    u.handle.shutdown().await;
}

/// An empty allow-list admits nobody, in either direction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_allow_list_admits_nobody() {
    let (ke, ka) = (new_key(), new_key());
    let e = start(ke, TestApp::new("huanggang"), |_| {}).await;
    let a_app = TestApp::new("anqing");
    a_app.admit(e.key, "huanggang");
    let a = start(ka, a_app, |_| {}).await;
    a.handle.dial(e.addr.clone()).await.unwrap();
    eventually(T, "E denies A", || async { e.denied(&a.peer) >= 1 }).await;
    // E dialling A by PeerId is refused before a packet leaves.
    let addr = a.addr.clone().with(credfed_net::multiaddr::Protocol::P2p(a.peer));
    assert!(e.handle.dial(addr).await.is_err());
    assert!(e.handle.connected_peers().await.unwrap().is_empty());
    e.handle.shutdown().await;
    a.handle.shutdown().await;
}

/// After a trust change, `recheck_admission` cuts the peer off; its later dials are denied.
/// Before the recheck, a request from it is already refused (admission is re-asked per
/// request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_peer_is_disconnected_and_stays_out() {
    let (ka, kb) = (new_key(), new_key());
    let (pa, pb) = (ka.public(), kb.public());
    let members = [(pa, "anqing"), (pb, "luan")];
    let app = |region: &str| app_admitting(region, &members);
    let a = start(ka, app("anqing"), |_| {}).await;
    let b = start(kb, app("luan"), |_| {}).await;
    connect(&a, &b).await;
    assert!(a.handle.request(b.peer, SyncRequest::Heads).await.is_ok());
    assert_eq!(b.app.calls_from(&a.peer).1, 1);

    b.app.revoke(&a.key);
    // Not rechecked yet, but the request is refused: the app is not called, no answer leaves.
    assert!(a.handle.request(b.peer, SyncRequest::Heads).await.is_err());
    assert_eq!(b.app.calls_from(&a.peer).1, 1);
    // An explicit recheck reports nothing left to cut (already cut) or A itself.
    let cut = b.handle.recheck_admission().await.unwrap();
    assert!(cut.is_empty() || cut == vec![a.peer], "{cut:?}");
    eventually(T, "both sides disconnected", || async {
        !b.connected().await.contains(&a.peer) && !a.connected().await.contains(&b.peer)
    })
    .await;
    assert!(b.events().contains(&NetEvent::AdmissionRevoked { peer: a.peer }));

    let before = b.denied(&a.peer);
    a.handle.dial(b.addr.clone()).await.unwrap();
    eventually(T, "B denies A's new dial", || async { b.denied(&a.peer) > before }).await;
    assert!(!b.connected().await.contains(&a.peer));
    a.handle.shutdown().await;
    b.handle.shutdown().await;
}

/// `recheck_admission` on its own (no traffic from the peer) cuts it off within a few
/// seconds and leaves the others alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recheck_cuts_off_a_silent_revoked_peer() {
    let (ka, kb, kc) = (new_key(), new_key(), new_key());
    let (pa, pb, pc) = (ka.public(), kb.public(), kc.public());
    let members = [(pa, "anqing"), (pb, "luan"), (pc, "xinyang")];
    let app = |region: &str| app_admitting(region, &members);
    let a = start(ka, app("anqing"), |_| {}).await;
    let b = start(kb, app("luan"), |_| {}).await;
    let c = start(kc, app("xinyang"), |_| {}).await;
    connect(&a, &b).await;
    connect(&c, &b).await;

    b.app.revoke(&a.key);
    assert_eq!(b.handle.recheck_admission().await.unwrap(), vec![a.peer]);
    eventually(Duration::from_secs(3), "A disconnected on both sides", || async {
        !b.connected().await.contains(&a.peer) && !a.connected().await.contains(&b.peer)
    })
    .await;
    eventually(Duration::from_secs(3), "AdmissionRevoked reported", || async {
        b.events().contains(&NetEvent::AdmissionRevoked { peer: a.peer })
    })
    .await;
    assert_eq!(b.connected().await, vec![c.peer], "C is still admitted");
    for n in [a, b, c] {
        n.handle.shutdown().await;
    }
}

/// The sync tick fires every `sync_interval` and re-runs the admission check, so a trust
/// change takes effect even if nobody calls `recheck_admission`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_tick_fires_and_rechecks_admission() {
    let (ka, kb) = (new_key(), new_key());
    let (pa, pb) = (ka.public(), kb.public());
    let members = [(pa, "anqing"), (pb, "luan")];
    let app = |region: &str| app_admitting(region, &members);
    let a = start(ka, app("anqing"), |_| {}).await;
    let b = start(kb, app("luan"), |cfg| cfg.sync_interval = Duration::from_millis(300)).await;
    connect(&a, &b).await;
    eventually(T, "two sync ticks", || async { b.events().iter().filter(|e| **e == NetEvent::SyncTick).count() >= 2 })
        .await;
    assert!(b.connected().await.contains(&a.peer), "ticks alone cut nobody off");

    b.app.revoke(&a.key);
    eventually(T, "the tick cuts A off", || async { !b.connected().await.contains(&a.peer) }).await;
    assert!(b.events().contains(&NetEvent::AdmissionRevoked { peer: a.peer }));
    a.handle.shutdown().await;
    b.handle.shutdown().await;
}

/// An admitted peer is capped at `max_established_per_peer` connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_peer_connection_cap() {
    let (ka, kb) = (new_key(), new_key());
    let (pa, pb) = (ka.public(), kb.public());
    let members = [(pa, "anqing"), (pb, "luan")];
    let app = |region: &str| app_admitting(region, &members);
    let a = start(ka, app("anqing"), |_| {}).await;
    let b = start(kb, app("luan"), |cfg| cfg.max_established_per_peer = 1).await;
    connect(&a, &b).await;
    a.handle.dial(b.addr.clone()).await.unwrap();
    eventually(T, "B refuses the second connection", || async {
        b.events().iter().any(|e| matches!(e, NetEvent::ConnectionDenied { reason: DenyReason::Limit(_), .. }))
    })
    .await;
    assert_eq!(b.connected().await, vec![a.peer]);
    a.handle.shutdown().await;
    b.handle.shutdown().await;
}
