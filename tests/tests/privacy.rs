//! RELIABILITY F16 / DESIGN §3: a `restricted` record never leaves its origin, and a `shared`
//! one reaches only the regions the origin's policy entitles; everyone else gets the feed
//! entry (withheld) only.
//!
//! Every free-text field of the two records holds a unique 32-character canary. After the
//! federation converged, every other node's API answers (query and audit tokens, feeds, audit
//! entries, compliance, `/metrics`) and the raw bytes of its whole directory (sled store,
//! config, logs) are grepped for the canaries. Positive controls prove the grep can see them:
//! Xinyang's own store holds both, Suzhou's holds the shared one.

use std::time::Duration;

use credfed_protocol::feed::SignedFeedEntry;
use credfed_tests::net::files_under;
use credfed_tests::{canary, count_hits, days_ago, penalty_draft, uscc, wait_until, Run, TestNet};
use serde_json::json;

const SYNC_MS: u64 = 500;

async fn submit_with_canary(net: &TestNet, subject: &str, classification: &str, c: &str) -> anyhow::Result<String> {
    let mut d = penalty_draft("信阳市", subject, "general", days_ago(30), classification, c);
    d["subject_name"] = json!(format!("{c}有限公司"));
    d["decision_no"] = json!(format!("环罚{c}号"));
    d["legal_basis"] = json!(format!("《{c}》"));
    let r = net.submit("xinyang", &d).await?;
    anyhow::ensure!(r.status == 201, "submit {classification}: {} {}", r.status, r.text());
    Ok(r.json["id"].as_str().expect("id").to_owned())
}

/// Every API answer a non-origin node gives about the two records, concatenated.
async fn api_bytes(net: &TestNet, region: &str, ids: &[&str], subjects: &[&str]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut paths: Vec<(String, Option<&str>)> = Vec::new();
    for s in subjects {
        for scope in ["query", "audit"] {
            paths.push((format!("/v1/subjects/{s}/records"), Some(scope)));
        }
    }
    for id in ids {
        for scope in ["query", "audit"] {
            paths.push((format!("/v1/records/{id}"), Some(scope)));
        }
        paths.push((format!("/v1/objects/{id}"), Some("audit")));
    }
    for p in ["/v1/audit/entries", "/v1/feeds", "/v1/feeds/xinyang", "/v1/compliance", "/v1/audit/checkpoint"] {
        paths.push((p.to_owned(), Some("audit")));
    }
    paths.push(("/v1/admin/peers".to_owned(), Some("admin")));
    for (p, scope) in paths {
        let r = net.get(region, &p, scope).await?;
        assert!(r.status < 500, "{region} {p}: {}", r.status);
        out.extend_from_slice(&r.bytes);
    }
    let metrics = net.http.get(&format!("http://{}/metrics", net.admin[net.idx(region)]), None).await?;
    assert_eq!(metrics.status, 200, "metrics at {region}");
    out.extend_from_slice(&metrics.bytes);
    Ok(out)
}

fn dir_hits(net: &TestNet, region: &str, needle: &str) -> usize {
    files_under(&net.city(region).dir)
        .iter()
        .map(|f| std::fs::read(f).map(|b| count_hits(&b, needle.as_bytes())).unwrap_or(0))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_never_leaves_and_shared_reaches_only_entitled_regions() -> anyhow::Result<()> {
    let mut net = TestNet::new(3, SYNC_MS).await?;
    net.start_all(Run::InProcess).await?;
    net.set_policy("xinyang", &json!({ "shared_entitled": ["suzhou"] })).await?;
    let (rc, sc) = (canary(), canary());
    let (rs, ss) = (uscc("411500", 61), uscc("411500", 62));
    let restricted = submit_with_canary(&net, &rs, "restricted", &rc).await?;
    let shared = submit_with_canary(&net, &ss, "shared", &sc).await?;
    // A public marker after them: once it and the heads agree everywhere, the two earlier
    // entries have been offered to every node (feeds apply in order).
    let marker = net.submit_penalty("xinyang", &uscc("411500", 63), "general", days_ago(30), "public", "m").await?;
    net.wait_converged(Duration::from_secs(15)).await?;
    for region in ["suzhou", "luan"] {
        assert_eq!(net.object(region, &marker).await?.status, 200, "marker at {region}");
    }
    wait_until(Duration::from_secs(10), "suzhou fetches the shared body it is entitled to", || async {
        net.object("suzhou", &shared).await.is_ok_and(|r| r.status == 200)
    })
    .await?;
    // Let a few more anti-entropy rounds run before looking for leaks.
    let rounds = net.feeds("luan").await?;
    tokio::time::sleep(Duration::from_millis(4 * SYNC_MS)).await;
    assert_eq!(net.feeds("luan").await?, rounds, "quiescent");

    // Entitled Suzhou holds and serves the shared body.
    let at_suzhou = net.subject("suzhou", &ss).await?;
    assert_eq!(at_suzhou.len(), 1, "{at_suzhou:?}");
    assert_eq!(at_suzhou[0]["record"]["facts"], sc.as_str());
    // Lu'an and Suzhou hold the feed entries of both, as withheld entries where not entitled.
    for region in ["suzhou", "luan"] {
        let r = net.get(region, "/v1/feeds/xinyang", Some("audit")).await?;
        let named: Vec<String> = r.json["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let b = hex::decode(e["entry_hex"].as_str().expect("entry hex")).expect("hex");
                SignedFeedEntry::open(&b).expect("signed entry").entry.envelope_id.to_hex()
            })
            .collect();
        assert!(named.contains(&restricted), "{region} holds the restricted record's feed entry");
        assert!(named.contains(&shared), "{region} holds the shared record's feed entry");
        assert_eq!(net.object(region, &restricted).await?.status, 404, "restricted body at {region}");
        assert!(net.subject(region, &rs).await?.is_empty(), "restricted record listed at {region}");
    }
    assert_eq!(net.object("luan", &shared).await?.status, 404, "shared body at non-entitled luan");
    assert!(net.subject("luan", &ss).await?.is_empty(), "shared record listed at luan");

    // Canary greps over API answers and raw directories.
    let ids = [restricted.as_str(), shared.as_str()];
    let subjects = [rs.as_str(), ss.as_str()];
    for region in ["suzhou", "luan"] {
        let api = api_bytes(&net, region, &ids, &subjects).await?;
        assert_eq!(count_hits(&api, rc.as_bytes()), 0, "restricted canary in {region}'s API answers");
        let files = dir_hits(&net, region, &rc);
        assert_eq!(files, 0, "restricted canary in {region}'s directory");
        println!("{region}: {} API bytes and its directory grepped: 0 restricted canaries", api.len());
    }
    let api = api_bytes(&net, "luan", &ids, &subjects).await?;
    assert_eq!(count_hits(&api, sc.as_bytes()), 0, "shared canary in luan's API answers");
    assert_eq!(dir_hits(&net, "luan", &sc), 0, "shared canary in luan's directory");
    // Positive controls: the greps do see canaries where they must be.
    assert!(dir_hits(&net, "xinyang", &rc) > 0, "origin store holds the restricted canary");
    assert!(dir_hits(&net, "xinyang", &sc) > 0, "origin store holds the shared canary");
    assert!(dir_hits(&net, "suzhou", &sc) > 0, "entitled suzhou's store holds the shared canary");
    let suzhou_api = api_bytes(&net, "suzhou", &ids, &subjects).await?;
    assert!(count_hits(&suzhou_api, sc.as_bytes()) > 0, "suzhou serves the shared body");
    net.shutdown().await;
    Ok(())
}
