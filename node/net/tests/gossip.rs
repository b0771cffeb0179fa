//! Gossip is validated before it is forwarded (STYLE habit 8, RELIABILITY F6/F11).

mod common;

use std::time::Duration;

use common::{app_admitting, connect, eventually, gossip, new_key, start, TestApp};
use credfed_net::wire::MAX_GOSSIP_LEN;
use credfed_net::{DenyReason, NetError, NetEvent, Validation};

const T: Duration = Duration::from_secs(8);

/// A – B – C in a line: A's message reaches C only through B, and only after B's app has
/// accepted it; a message B rejects never reaches C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_topology_forwards_only_what_the_relay_accepted() {
    let (ka, kb, kc) = (new_key(), new_key(), new_key());
    let keys = [(ka.public(), "anqing"), (kb.public(), "luan"), (kc.public(), "xinyang")];
    let app = |region: &str, delay_ms: u64| {
        let mut app = TestApp::new(region);
        app.validate_delay = Duration::from_millis(delay_ms);
        for (k, r) in keys {
            app.admit(k, r);
        }
        app
    };
    let a = start(ka, app("anqing", 0), |_| {}).await;
    let b = start(kb, app("luan", 300), |_| {}).await;
    let c = start(kc, app("xinyang", 0), |_| {}).await;
    connect(&a, &b).await;
    connect(&c, &b).await;
    eventually(T, "gossip mesh A–B–C", || async {
        let bm = b.handle.mesh_peers().await.unwrap();
        bm.contains(&a.peer)
            && bm.contains(&c.peer)
            && a.handle.mesh_peers().await.unwrap() == vec![b.peer]
            && c.handle.mesh_peers().await.unwrap() == vec![b.peer]
    })
    .await;

    // Accepted by B → forwarded to C, after B's verdict.
    a.handle.publish(&gossip(b"entry-1")).await.unwrap();
    eventually(T, "C validates entry-1", || async { c.app.seen_entry(b"entry-1").is_some() }).await;
    let at_b = b.app.seen_entry(b"entry-1").unwrap();
    let at_c = c.app.seen_entry(b"entry-1").unwrap();
    assert_eq!(at_b.from, a.peer);
    assert_eq!(at_c.from, b.peer, "C is not connected to A: the message came through B");
    assert!(at_c.started >= at_b.done.unwrap(), "C received it before B's app had accepted it");
    assert!(!c.connected().await.contains(&a.peer));

    // Rejected by B → never forwarded.
    a.handle.publish(&gossip(b"reject-1")).await.unwrap();
    eventually(T, "B rejects reject-1", || async {
        b.app.seen_entry(b"reject-1").is_some_and(|s| s.verdict == Some(Validation::Reject("test_reject".into())))
    })
    .await;
    a.handle.publish(&gossip(b"entry-2")).await.unwrap();
    eventually(T, "C validates entry-2", || async { c.app.seen_entry(b"entry-2").is_some() }).await;
    assert!(c.app.seen_entry(b"reject-1").is_none(), "a rejected message was forwarded");
    // Over the wire cap: refused before it reaches the swarm.
    let huge = gossip(&vec![0u8; MAX_GOSSIP_LEN]);
    assert!(matches!(a.handle.publish(&huge).await, Err(NetError::TooLarge { .. })));
    // Republishing the same bytes is one message (id = SHA-256 of the payload).
    assert!(matches!(a.handle.publish(&gossip(b"entry-1")).await, Err(NetError::Duplicate)));

    for n in [a, b, c] {
        n.handle.shutdown().await;
    }
}

/// Rejected messages cost the delivering peer score; below the graylist threshold it is
/// disconnected and banned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_gossip_gets_the_sender_graylisted_and_cut_off() {
    let (ka, kb) = (new_key(), new_key());
    let (pa, pb) = (ka.public(), kb.public());
    let members = [(pa, "anqing"), (pb, "luan")];
    let app = |region: &str| app_admitting(region, &members);
    let a = start(ka, app("anqing"), |_| {}).await;
    let b = start(kb, app("luan"), |_| {}).await;
    assert_eq!((a.key, b.key), (pa, pb));
    connect(&a, &b).await;
    eventually(T, "A sees B subscribed", || async { a.handle.mesh_peers().await.unwrap().contains(&b.peer) }).await;

    for i in 0..8 {
        // Once B has cut A off, publishing fails with NoPeers; that is fine.
        let _ = a.handle.publish(&gossip(format!("reject-{i}").as_bytes())).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eventually(T, "B graylists A", || async {
        b.events()
            .iter()
            .any(|e| matches!(e, NetEvent::PeerGraylisted { peer, score } if *peer == a.peer && *score < -80.0))
    })
    .await;
    eventually(T, "A disconnected from B", || async { !b.connected().await.contains(&a.peer) }).await;
    let rejected = b.app.calls_from(&a.peer).0;
    assert!((3..=8).contains(&rejected), "{rejected} rejects before the cut-off");

    // The ban holds: A's next dial is denied.
    a.handle.dial(b.addr.clone()).await.unwrap();
    eventually(T, "B denies A as banned", || async {
        b.events().iter().any(
            |e| matches!(e, NetEvent::ConnectionDenied { peer: Some(p), reason: DenyReason::Banned } if *p == a.peer),
        )
    })
    .await;
    a.handle.shutdown().await;
    b.handle.shutdown().await;
}
