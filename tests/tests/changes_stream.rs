//! Platforms follow the federation through `GET /v1/changes` (issue 10 §4), with three real
//! in-process cities over libp2p on loopback: a batch published at Xinyang appears in Suzhou's
//! and Lu'an's change streams within seconds, in Xinyang's order, each once; Xinyang's repair
//! then shows up in every stream as a change of that record's status.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use credfed_tests::{days_ago, penalty_draft, today, uscc, Run, TestNet};
use serde_json::Value;

const SYNC_MS: u64 = 500;

/// Follows `region`'s stream from `cursor` until `until` holds for what was seen, or 15 s.
async fn follow(
    net: &TestNet,
    region: &str,
    cursor: &mut String,
    seen: &mut Vec<Value>,
    until: impl Fn(&[Value]) -> bool,
) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    while !until(seen) {
        anyhow::ensure!(t0.elapsed() < Duration::from_secs(15), "{region}: stream incomplete after 15 s: {seen:?}");
        let r = net.get(region, &format!("/v1/changes?after={cursor}&wait=2"), Some("query")).await?;
        anyhow::ensure!(r.status == 200, "{region}: {}", r.text());
        seen.extend(r.json["changes"].as_array().cloned().unwrap_or_default());
        *cursor = r.json["next"].as_str().unwrap_or_default().to_string();
    }
    Ok(t0.elapsed())
}

fn ids_of(seen: &[Value], t: &str) -> Vec<String> {
    seen.iter().filter(|c| c["type"] == t).map(|c| c["id"].as_str().unwrap_or_default().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_and_their_repair_reach_every_stream_in_order_once() -> anyhow::Result<()> {
    let mut net = TestNet::new(3, SYNC_MS).await?;
    net.start_all(Run::InProcess).await?;
    net.wait_connected(Duration::from_secs(20)).await?;
    let mut cursors = BTreeMap::new();
    for region in ["xinyang", "suzhou", "luan"] {
        let r = net.get(region, "/v1/changes", Some("query")).await?;
        cursors.insert(region, r.json["next"].as_str().unwrap_or_default().to_string());
    }
    let name = net.city("xinyang").anchor.name.clone();
    let drafts: Vec<Value> = (1..=5u64)
        .map(|i| {
            let mut d = penalty_draft(&name, &uscc("411500", i), "general", days_ago(100), "public", "超标排放");
            d["decision_no"] = Value::from(format!("信环罚〔2025〕{i}号"));
            d
        })
        .collect();
    let r = net.send("xinyang", "POST", "/v1/records/batch", "submit", &Value::from(drafts)).await?;
    assert_eq!((r.status, &r.json["summary"]["created"]), (200, &Value::from(5)), "{}", r.text());
    let published: Vec<String> =
        r.json["results"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap().to_string()).collect();

    let mut streams: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for region in ["suzhou", "luan"] {
        let (cursor, seen) = (cursors.get_mut(region).unwrap(), streams.entry(region).or_default());
        let took = follow(&net, region, cursor, seen, |s| ids_of(s, "record").len() >= 5).await?;
        println!("{region}: 5 records in its change stream after {took:?}");
        assert_eq!(ids_of(seen, "record"), published, "{region}: Xinyang's order, each once");
        assert!(seen.iter().all(|c| c["origin"] == "xinyang" && c["record"]["status"] == "active"), "{seen:?}");
    }

    let r = net.repair("xinyang", &published[2], today()).await?;
    assert_eq!(r.status, 201, "{}", r.text());
    let repair = r.json["id"].as_str().unwrap().to_string();
    for region in ["xinyang", "suzhou", "luan"] {
        let (cursor, seen) = (cursors.get_mut(region).unwrap(), streams.entry(region).or_default());
        follow(&net, region, cursor, seen, |s| ids_of(s, "repair").contains(&repair)).await?;
        let change = seen.iter().find(|c| c["id"] == repair.as_str()).unwrap();
        assert_eq!(change["record_id"], published[2].as_str());
        assert_eq!(change["record"]["status"], "repaired", "{region}: {change}");
        // Nothing repeated.
        let mut all: Vec<&str> = seen.iter().map(|c| c["cursor"].as_str().unwrap()).collect();
        let n = all.len();
        all.dedup();
        assert_eq!(all.len(), n, "{region}: a cursor repeated");
    }
    // Xinyang's platform also sees the receipts the other regions sent for its repair.
    let (cursor, seen) = (cursors.get_mut("xinyang").unwrap(), streams.entry("xinyang").or_default());
    follow(&net, "xinyang", cursor, seen, |s| {
        s.iter().filter(|c| c["type"] == "receipt" && c["record_id"] == published[2].as_str()).count() >= 2
    })
    .await?;
    net.shutdown().await;
    Ok(())
}
