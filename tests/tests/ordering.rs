//! Gossip that arrives slightly out of feed order is applied, not dropped.
//!
//! A node validates gossip concurrently (signature checks run in parallel), so entry n+1 of a
//! feed often reaches the writer just before entry n. The writer used to refuse it with
//! `feed_gap` (and audit a rejection), leaving anti-entropy to fetch it again: under load
//! almost every record then travelled by sync, and propagation times grew with the backlog.
//! Now an entry a little ahead of the head waits (bounded in count and time) for the gap to
//! close and is applied then.

use std::time::Duration;

use credfed_protocol::audit::Source;
use credfed_protocol::envelope::{Envelope, ObjectId};
use credfed_protocol::feed::{FeedEntry, SignedFeedEntry};
use credfed_protocol::Classification;
use credfed_tests::{now, record_envelope, uscc, Run, TestNet};

fn entry(seq: u64, prev: Option<ObjectId>, env: &[u8], key: &credfed_protocol::keys::SecretKey) -> SignedFeedEntry {
    let id = Envelope::decode(env).expect("envelope").id();
    FeedEntry { origin: "xinyang".parse().expect("id"), seq, prev, envelope_id: id, published_at: now() }.sign(key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entry_ahead_of_the_head_waits_for_the_gap_and_is_applied() -> anyhow::Result<()> {
    // Only Lu'an runs; the test plays Xinyang's node (its real keys) delivering gossip.
    let mut net = TestNet::new(["xinyang", "luan"], 500).await?;
    net.start("luan", Run::InProcess).await?;
    let dir = net.city("xinyang").dir.join("keys");
    let node_key = credfed_node::keyfile::read_key(&dir.join("node.key"))?;
    let authority = credfed_node::keyfile::read_key(&dir.join("authority-1.key"))?;
    let head = net.feeds("luan").await?.get("xinyang").copied().unwrap_or(0);
    assert_eq!(head, 0, "nothing of Xinyang's feed yet");

    let env1 = record_envelope(&authority, "xinyang", &uscc("411500", 1), Classification::Public, "first");
    let env2 = record_envelope(&authority, "xinyang", &uscc("411500", 2), Classification::Public, "second");
    let e1 = entry(1, None, &env1, &node_key);
    let e2 = entry(2, Some(e1.hash), &env2, &node_key);
    let ingest = net.node("luan").expect("in-process").ingest.clone();
    let gossip = || Source::Gossip { peer: "12D3KooWtest".into() };

    // Entry 2 first, then (a moment later) entry 1.
    let i2 = ingest.clone();
    let (env2b, g2) = (env2.clone(), gossip());
    let second = tokio::spawn(async move { i2.submit_from_peer(env2b, e2, g2).await });
    let _ = tokio::time::timeout(Duration::from_millis(300), async {
        while !second.is_finished() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let first = ingest.submit_from_peer(env1.clone(), e1, gossip()).await;
    assert!(first.is_ok(), "entry 1: {first:?}");
    let second = tokio::time::timeout(Duration::from_secs(10), second).await??;
    assert!(second.is_ok(), "entry 2, delivered before entry 1, was dropped: {second:?}");

    assert_eq!(net.feeds("luan").await?.get("xinyang").copied(), Some(2));
    for env in [&env1, &env2] {
        let id = Envelope::decode(env)?.id().to_hex();
        assert_eq!(net.object("luan", &id).await?.status, 200);
    }
    let gaps = net.audit_events("luan").await?.into_iter().filter(|e| e["rejected"]["code"] == "feed_gap").count();
    assert_eq!(gaps, 0, "a reordered delivery is not a rejection");
    drop(ingest); // shutdown waits for every holder of the node's state
    net.shutdown().await;
    Ok(())
}
