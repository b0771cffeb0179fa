//! Attacks at the libp2p layer (RELIABILITY F6, F10), against real in-process nodes:
//! * a rogue holding Suzhou's *real* node key (Suzhou stopped) pushes forged objects in
//!   correctly chained Suzhou feed entries, over request-response sync and over gossip; no
//!   node stores any of them, each refusal is audited with its path, and the gossiping rogue
//!   is graylisted;
//! * a swarm whose key no root delegated dials a node repeatedly and never gets a stream.

use std::time::{Duration, Instant};

use credfed_net::wire::{GossipMessage, SyncRequest};
use credfed_net::PeerId;
use credfed_protocol::cbor::ByteBuf;
use credfed_protocol::envelope::Envelope;
use credfed_protocol::keys::SecretKey;
use credfed_protocol::{Classification, RegionId};
use credfed_tests::proxy::Link;
use credfed_tests::rogue::{Rogue, ScriptedApp};
use credfed_tests::{days_ago, fresh_key, net::p2p_socket, record_envelope, uscc, wait_until, Run, TestNet};
use serde_json::Value;

const SYNC_MS: u64 = 500;

async fn has_rejection(net: &TestNet, region: &str, code: &str, source: &str) -> bool {
    net.rejections(region).await.iter().any(|(c, s)| c == code && s == source)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_objects_over_sync_and_gossip_are_refused_by_every_node() -> anyhow::Result<()> {
    let mut net = TestNet::new(3, SYNC_MS).await?;
    net.start_all(Run::InProcess).await?;
    net.submit_penalty("suzhou", &uscc("320500", 1), "general", days_ago(30), "public", "genuine").await?;
    net.wait_converged(Duration::from_secs(10)).await?;
    net.stop("suzhou").await;

    // Suzhou's feed head as the others hold it: the rogue continues that chain.
    let suzhou: RegionId = "suzhou".parse()?;
    let node_key = net.key("suzhou", "node.key");
    let mut chain = net.chain_after("xinyang", "suzhou", node_key.clone()).await?;
    let h = chain.seq;

    // (a) a Suzhou record signed by a key no root delegated; (c) a Suzhou record signed by
    // Suzhou's node key (a node key is not an authority); (b) a Xinyang record signed by a
    // Suzhou authority key (it can only travel in Suzhou's feed: the rogue has no Xinyang key).
    let undelegated = fresh_key();
    let suzhou_authority = net.key("suzhou", "authority-1.key");
    let (sz, xy) = (uscc("320500", 9), uscc("411500", 9));
    let forge = |k: &SecretKey, region: &str, subject: &str, tag: &str| {
        record_envelope(k, region, subject, Classification::Public, &format!("forged {tag}"))
    };
    let sync_a = forge(&undelegated, "suzhou", &sz, "sync a");
    let sync_c = forge(&node_key, "suzhou", &sz, "sync c");
    let sync_b = forge(&suzhou_authority, "xinyang", &xy, "sync b");
    let gossip_a = forge(&undelegated, "suzhou", &sz, "gossip a");
    let gossip_c = forge(&node_key, "suzhou", &sz, "gossip c");
    let gossip_b = forge(&suzhou_authority, "xinyang", &xy, "gossip b");
    let all = [&sync_a, &sync_c, &sync_b, &gossip_a, &gossip_c, &gossip_b];

    let app = ScriptedApp::default();
    for region in ["xinyang", "luan"] {
        app.admit(net.key(region, "node.key").public(), &region.parse()?);
    }
    for (env, advance) in [(&sync_a, true), (&sync_c, true), (&sync_b, false)] {
        let e = chain.next(env, advance);
        app.serve(&suzhou, e.entry.seq, e.bytes.clone(), Some(env.to_vec()));
        app.objects.lock().expect("lock").insert(Envelope::decode(env)?.id(), env.to_vec());
    }
    let boot = [net.city("xinyang").p2p.clone(), net.city("luan").p2p.clone()];
    let rogue = Rogue::spawn(node_key.clone(), app, &boot, Duration::from_millis(SYNC_MS)).await?;

    // Sync path: the nodes fetch the rogue's range and refuse all three objects.
    let codes = [("not_delegated", "a"), ("wrong_role", "c"), ("entry_mismatch", "b")];
    for region in ["xinyang", "luan"] {
        for (code, what) in codes {
            let r =
                wait_until(Duration::from_secs(15), &format!("{region} refuses sync forgery {what} ({code})"), || {
                    has_rejection(&net, region, code, "sync")
                })
                .await;
            if let Err(e) = r {
                anyhow::bail!("{e}; rejected so far: {:?}", net.rejections(region).await);
            }
        }
    }
    assert!(rogue.app.range_requests(&suzhou) > 0, "the nodes fetched ranges from the rogue");
    // Refused objects leave their (validly signed, chained) entries in the feed: feeds stay
    // complete and provable (DESIGN §4); the mismatched entry (b) is not stored.
    for region in ["xinyang", "luan"] {
        assert_eq!(net.feeds(region).await?["suzhou"], h + 2, "{region}'s copy of Suzhou's feed");
    }

    // Gossip path: the rogue stops offering (b) on sync and publishes the next three.
    rogue.app.items.lock().expect("lock").clear();
    rogue.app.heads.lock().expect("lock").insert(suzhou.clone(), h + 2);
    for (env, advance, code, what) in [
        (&gossip_a, true, "not_delegated", "a"),
        (&gossip_c, true, "wrong_role", "c"),
        (&gossip_b, false, "entry_mismatch", "b"),
    ] {
        let e = chain.next(env, advance);
        let msg = GossipMessage { entry: ByteBuf(e.bytes.clone()), envelope: Some(ByteBuf(env.to_vec())) };
        rogue.publish(&msg, Duration::from_secs(10)).await?;
        for region in ["xinyang", "luan"] {
            wait_until(Duration::from_secs(10), &format!("{region} refuses gossip forgery {what} ({code})"), || {
                has_rejection(&net, region, code, "gossip")
            })
            .await?;
        }
    }
    // Three invalid messages cross the graylist threshold: the rogue is cut off.
    let rogue_peer = rogue.net.local_peer_id().to_string();
    for region in ["xinyang", "luan"] {
        wait_until(Duration::from_secs(10), &format!("{region} disconnects the graylisted rogue"), || async {
            let r = net.get(region, "/v1/admin/peers", Some("admin")).await;
            r.is_ok_and(|r| !r.text().contains(&rogue_peer))
        })
        .await?;
    }

    for region in ["xinyang", "luan"] {
        for env in all {
            let id = Envelope::decode(env)?.id().to_hex();
            assert_eq!(net.object(region, &id).await?.status, 404, "forged {id} stored at {region}");
        }
        assert!(net.subject(region, &xy).await?.is_empty(), "forged Xinyang record visible at {region}");
        assert!(net.subject(region, &sz).await?.is_empty(), "forged Suzhou record visible at {region}");
    }
    rogue.net.shutdown().await;
    net.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undelegated_peer_gets_no_protocol_stream() -> anyhow::Result<()> {
    let mut net = TestNet::new(2, SYNC_MS).await?;
    net.start_all(Run::InProcess).await?;
    let target = net.city("xinyang").clone();
    let target_peer: PeerId = target.anchor.peer_id.parse()?;
    // The rogue dials through a counting link, so we can see its dials reach the node.
    let link = Link::start("rogue->xinyang", p2p_socket(&target.p2p)?).await?;
    let via_link = format!("/ip4/127.0.0.1/tcp/{}/p2p/{}", link.addr.port(), target.anchor.peer_id);

    let app = ScriptedApp::default();
    app.admit(net.key("xinyang", "node.key").public(), &"xinyang".parse()?);
    let rogue = Rogue::spawn(fresh_key(), app, std::slice::from_ref(&via_link), Duration::from_millis(300)).await?;
    let rogue_peer = rogue.net.local_peer_id();

    let t0 = Instant::now();
    let mut attempts = 0;
    while t0.elapsed() < Duration::from_secs(4) {
        let _ = rogue.net.dial(via_link.parse()?).await;
        let r = rogue.net.request(target_peer, SyncRequest::Heads).await;
        assert!(r.is_err(), "an undelegated peer got a sync answer: {r:?}");
        attempts += 1;
        let peers = net.get("xinyang", "/v1/admin/peers", Some("admin")).await?;
        assert!(
            !peers.text().contains(&rogue_peer.to_string()),
            "xinyang lists the undelegated peer: {}",
            peers.text()
        );
        let connected = net.node("xinyang").and_then(|n| n.net()).expect("in-process swarm").connected_peers().await?;
        assert!(connected.iter().all(|(p, _)| *p != rogue_peer), "swarm admitted the undelegated peer");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (fwd, _, accepted) = link.counters();
    println!("undelegated peer: {attempts} request attempts, {accepted} TCP connections, {fwd} bytes through the link");
    assert!(accepted >= 2, "the rogue's dials reached the node ({accepted} connections)");
    assert!(fwd > 0, "handshakes happened (bytes {fwd})");
    assert!(rogue.app.requests.lock().expect("lock").is_empty(), "the node sent the rogue a sync request");
    assert_eq!(*rogue.app.gossip_seen.lock().expect("lock"), 0, "the node sent the rogue gossip");
    // The legitimate peer is unaffected.
    let peers: Value = net.get("xinyang", "/v1/admin/peers", Some("admin")).await?.json;
    assert_eq!(peers["peers"].as_array().map(Vec::len), Some(1), "{peers}");
    assert_eq!(peers["peers"][0]["region"], "suzhou");
    rogue.net.shutdown().await;
    net.shutdown().await;
    Ok(())
}
