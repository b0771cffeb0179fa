//! RELIABILITY F8 `feed_equivocation`: a rogue holding Xinyang's *real* node key (Xinyang
//! stopped) serves entry n+1 of Xinyang's feed as E1 to Suzhou and as E2 to Lu'an, both
//! correctly chained and signed. Each node alone holds a valid feed at the same head; after
//! they compare feed tips both keep the equivocation proof (both signed entries), which
//! survives kill -9.

use std::time::Duration;

use credfed_protocol::envelope::ObjectId;
use credfed_tests::net::{Run, TestNet};
use credfed_tests::rogue::{Rogue, ScriptedApp};
use credfed_tests::{days_ago, uscc, wait_until};

const SYNC_MS: u64 = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_entries_at_one_position_are_caught_and_kept() -> anyhow::Result<()> {
    let mut net = TestNet::new(3, SYNC_MS).await?;
    net.start_all(Run::Process).await?;
    for i in 0..3 {
        net.submit_penalty("xinyang", &uscc("411500", 9800 + i), "general", days_ago(30), "public", "f8").await?;
    }
    net.wait_converged(Duration::from_secs(20)).await?;
    let key = net.key("xinyang", "node.key");
    let mut chain = net.chain_after("suzhou", "xinyang", key.clone()).await?;
    net.stop("xinyang").await;

    // Two entries at position n+1, both chained to entry n.
    let (n, xinyang) = (chain.seq, chain.origin.clone());
    let (e1, e2) = (chain.next_naming(ObjectId([1; 32]), false), chain.next_naming(ObjectId([2; 32]), false));
    let app = ScriptedApp::default();
    for region in ["suzhou", "luan"] {
        app.admit(net.key(region, "node.key").public(), &region.parse()?);
    }
    app.serve_to(net.peer_id("suzhou"), &xinyang, n + 1, e1.bytes.clone());
    app.serve_to(net.peer_id("luan"), &xinyang, n + 1, e2.bytes.clone());
    let boot = [net.city("suzhou").p2p.clone(), net.city("luan").p2p.clone()];
    let rogue = Rogue::spawn(key, app, &boot, Duration::from_millis(SYNC_MS)).await?;

    let took = wait_until(Duration::from_secs(20), "suzhou and lu'an hold the equivocation proof", || async {
        !net.evidence("suzhou", "equivocations", "xinyang").await.is_empty()
            && !net.evidence("luan", "equivocations", "xinyang").await.is_empty()
    })
    .await?;
    let both = [hex::encode(&e1.bytes), hex::encode(&e2.bytes)];
    for region in ["suzhou", "luan"] {
        let p = net.evidence(region, "equivocations", "xinyang").await;
        assert_eq!(p.len(), 1, "{region}: {p:?}");
        assert_eq!(p[0]["seq"].as_u64(), Some(n + 1), "{region}: {p:?}");
        let mut got =
            [p[0]["entry_a_hex"].as_str().unwrap_or_default(), p[0]["entry_b_hex"].as_str().unwrap_or_default()];
        got.sort_unstable();
        let mut want = [both[0].as_str(), both[1].as_str()];
        want.sort_unstable();
        assert_eq!(got, want, "{region}: the proof is the two entries the rogue signed");
        assert!(net.metric(region, "credfed_equivocations_total").await? >= 1.0, "{region}");
        assert_eq!(net.feeds(region).await?["xinyang"], n + 1, "{region} keeps one entry at n+1 and stops there");
    }

    // The proofs survive kill -9 (the rogue gone, nothing could recreate them).
    drop(rogue);
    for region in ["suzhou", "luan"] {
        net.kill(region).await;
    }
    for region in ["suzhou", "luan"] {
        net.start(region, Run::Process).await?;
        assert_eq!(
            net.evidence(region, "equivocations", "xinyang").await.len(),
            1,
            "{region} lost the proof in a kill -9"
        );
    }
    println!(
        "FIGURE feed_equivocation: two entries at xinyang/{} served to two nodes; both held the proof {} ms after the rogue started, kept after kill -9",
        n + 1,
        took.as_millis()
    );
    net.shutdown().await;
    Ok(())
}
