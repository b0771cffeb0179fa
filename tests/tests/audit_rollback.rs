//! RELIABILITY F5 `audit_rollback`: a node whose store is put back to an older copy learns from
//! its witnesses that they cosigned a larger checkpoint of its log, keeps that evidence, and
//! never signs a checkpoint of the rolled-back log again; the witnesses never cosign it; an
//! auditor holding the later checkpoint sees the consistency check fail. Its own feed, also
//! behind the peers' copy, is fetched back before it takes a new submission (no equivocation),
//! and `store rebuild --force` starts a new, cosigned log.

use std::time::Duration;

use credfed_tests::net::{Run, TestNet};
use credfed_tests::{days_ago, store_rebuild, uscc, wait_until};

const SYNC_MS: u64 = 300;

/// Size of the checkpoint `region` serves, once both other regions' cosignatures are on it.
async fn cosigned_size(net: &TestNet, region: &str) -> anyhow::Result<u64> {
    let t0 = std::time::Instant::now();
    loop {
        let note = net.get(region, "/v1/audit/checkpoint", Some("audit")).await?.text();
        if note.contains("\n\u{2014} suzhou ") && note.contains("\n\u{2014} luan ") {
            return Ok(note.lines().nth(1).and_then(|l| l.parse().ok()).unwrap_or(0));
        }
        anyhow::ensure!(t0.elapsed() < Duration::from_secs(30), "no checkpoint cosigned by both witnesses: {note}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn submit(net: &TestNet, from: u64) -> anyhow::Result<()> {
    for i in from..from + 10 {
        net.submit_penalty("xinyang", &uscc("411500", 9500 + i), "general", days_ago(30), "public", "f5").await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_back_log_is_detected_and_never_signed_again() -> anyhow::Result<()> {
    let mut net = TestNet::new(3, SYNC_MS).await?;
    net.start_all(Run::Process).await?;
    submit(&net, 0).await?;
    let t1 = cosigned_size(&net, "xinyang").await?;

    // t1: a copy of the stopped node's store.
    net.stop("xinyang").await;
    let dir = net.city("xinyang").dir.clone();
    let copy = net.path().join("xinyang-store.t1");
    credfed_node::rebuild::copy_dir(&dir.join("store"), &copy)?;
    net.start("xinyang", Run::Process).await?;
    submit(&net, 10).await?;
    let t2 = loop {
        let s = cosigned_size(&net, "xinyang").await?;
        if s > t1 {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The auditor remembers the t2 checkpoint.
    let tmp = tempfile::tempdir()?;
    let state = tmp.path().join("xinyang.txt");
    let o = net.audit_checkpoint("xinyang", &state);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));

    // Roll the store back to t1 and restart.
    let head2 = net.feeds("xinyang").await?["xinyang"];
    net.stop("xinyang").await;
    std::fs::remove_dir_all(dir.join("store"))?;
    credfed_node::rebuild::copy_dir(&copy, &dir.join("store"))?;
    net.start("xinyang", Run::Process).await?;
    wait_until(Duration::from_secs(20), "xinyang learns its log was rolled back", || async {
        net.get("xinyang", "/v1/health", None).await.is_ok_and(|r| r.json["audit_log"] == "rolled_back")
    })
    .await?;
    assert!(net.metric("xinyang", "credfed_split_views_total").await? >= 1.0);
    wait_until(Duration::from_secs(20), "xinyang fetches its own feed back", || async {
        let recovering = net.get("xinyang", "/v1/health", None).await.map(|r| r.json["recovering"] == true);
        recovering.is_ok_and(|r| !r) && net.feeds("xinyang").await.is_ok_and(|f| f["xinyang"] >= head2)
    })
    .await?;

    // New events do not get a new checkpoint: the one signed before the copy is served.
    submit(&net, 20).await?;
    tokio::time::sleep(Duration::from_millis(4 * SYNC_MS)).await;
    let note = net.get("xinyang", "/v1/audit/checkpoint", Some("audit")).await?.text();
    let served: u64 = note.lines().nth(1).and_then(|l| l.parse().ok()).unwrap_or(u64::MAX);
    assert!(served <= t1, "a checkpoint of size {served} was signed after the rollback (t1 {t1}, t2 {t2})");

    // The auditor holding t2 sees the failure (exit 2, evidence kept).
    let o = net.audit_checkpoint("xinyang", &state);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("INCONSISTENT"), "{out}");

    // The evidence survives a restart.
    net.stop("xinyang").await;
    net.start("xinyang", Run::Process).await?;
    let h = net.get("xinyang", "/v1/health", None).await?;
    assert_eq!(h.json["audit_log"], "rolled_back", "{}", h.text());

    // The remedy: rebuild from peers (the store opens, so --force): a new log, cosigned again.
    net.stop("xinyang").await;
    let o = tokio::task::block_in_place(|| store_rebuild(&dir, &["--force", "--timeout", "60"]));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    net.start("xinyang", Run::Process).await?;
    let h = net.get("xinyang", "/v1/health", None).await?;
    assert_eq!(
        (h.json["audit_log"].as_str(), h.json["recovering"].as_bool()),
        (Some("ok"), Some(false)),
        "{}",
        h.text()
    );
    cosigned_size(&net, "xinyang").await?;
    let note = net.get("xinyang", "/v1/audit/checkpoint", Some("audit")).await?.text();
    assert!(note.starts_with("credfed/xinyang/audit/2\n"), "{note}");
    assert_eq!(net.feeds("xinyang").await?["xinyang"], head2 + 10);
    for region in ["suzhou", "luan"] {
        let f = net.get(region, "/v1/feeds", Some("audit")).await?;
        assert_eq!(f.json["equivocations"], serde_json::json!([]), "{region}: {}", f.text());
    }
    println!("FIGURE audit_rollback: t1 {t1}, t2 {t2}; after the rollback the node serves size {served} and signs nothing new; rebuilt as log epoch 2, cosigned");
    net.shutdown().await;
    Ok(())
}
