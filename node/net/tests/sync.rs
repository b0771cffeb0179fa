//! Request-response: round trip with the requester's region, size caps, per-peer rate limit.

mod common;

use common::{connect, new_key, start, TestApp};
use credfed_net::wire::{SyncRequest, SyncResponse};
use credfed_net::NetError;
use credfed_protocol::envelope::ObjectId;

fn admitting(region: &str, keys: &[(credfed_protocol::keys::PublicKey, &str)]) -> TestApp {
    let app = TestApp::new(region);
    for (k, r) in keys {
        app.admit(*k, r);
    }
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_carries_the_region_and_oversize_responses_are_refused() {
    let (ka, kb) = (new_key(), new_key());
    let keys = [(ka.public(), "anqing"), (kb.public(), "luan")];
    let a = start(ka, admitting("anqing", &keys), |_| {}).await;
    let mut app_b = admitting("luan", &keys);
    app_b.oversize_objects = true;
    let b = start(kb, app_b, |_| {}).await;
    connect(&a, &b).await;

    let resp = a.handle.request(b.peer, SyncRequest::Heads).await.unwrap();
    let SyncResponse::Heads { heads, .. } = resp else { panic!("unexpected {resp:?}") };
    assert_eq!(heads.get(&"luan".parse().unwrap()), Some(&7));
    let reqs = b.app.requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].0, a.peer);
    assert_eq!(reqs[0].1.as_str(), "anqing", "the node is told the requester's region");

    // B's app produces more than MAX_RESPONSE_LEN: the codec refuses to send it and A gets
    // an error, not a truncated or oversize answer.
    let err = a.handle.request(b.peer, SyncRequest::Objects { ids: vec![ObjectId([1; 32])] }).await.unwrap_err();
    assert!(matches!(err, NetError::Request { peer, .. } if peer == b.peer), "{err:?}");
    // The connection survives a refused response.
    assert!(a.handle.request(b.peer, SyncRequest::Heads).await.is_ok());

    // Requests go only to connected peers.
    let stranger = credfed_net::peer_id_of(&new_key().public());
    assert!(matches!(a.handle.request(stranger, SyncRequest::Heads).await, Err(NetError::NotConnected(_))));
    a.handle.shutdown().await;
    b.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_peer_is_rate_limited_while_another_is_served() {
    let (ka, kb, kc) = (new_key(), new_key(), new_key());
    let keys = [(ka.public(), "anqing"), (kb.public(), "luan"), (kc.public(), "xinyang")];
    let a = start(ka, admitting("anqing", &keys), |_| {}).await;
    let b = start(kb, admitting("luan", &keys), |cfg| {
        cfg.per_peer_requests_per_sec = 0.2;
        cfg.per_peer_request_burst = 5;
    })
    .await;
    let c = start(kc, admitting("xinyang", &keys), |_| {}).await;
    connect(&a, &b).await;
    connect(&c, &b).await;

    let flood = (0..30).map(|_| a.handle.request(b.peer, SyncRequest::Heads));
    let answers = futures::future::join_all(flood).await;
    let limited =
        answers.iter().filter(|r| matches!(r, Ok(SyncResponse::Error { code, .. }) if code == "rate_limited")).count();
    let served = answers.iter().filter(|r| matches!(r, Ok(SyncResponse::Heads { .. }))).count();
    assert_eq!(limited + served, 30, "{answers:?}");
    assert!(served <= 8, "burst 5 at 0.2/s, yet {served} served");
    assert!(limited >= 22);
    assert_eq!(b.app.calls_from(&a.peer).1, served, "rate-limited requests never reach the app");

    // C has its own bucket.
    for _ in 0..3 {
        let r = c.handle.request(b.peer, SyncRequest::Heads).await.unwrap();
        assert!(matches!(r, SyncResponse::Heads { .. }), "{r:?}");
    }
    for n in [a, b, c] {
        n.handle.shutdown().await;
    }
}
