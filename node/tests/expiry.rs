//! Time ends a record's publicity with no object arriving: on the day its status turns
//! `expired`, the change stream carries a `publicity_ended` change for it (once, across
//! restarts), and a record withdrawn before that day gets none.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::*;
use serde_json::{json, Value};

/// The OpenAPI licence example, decided today, valid until `until`.
async fn licence(n: &TestNode, no: &str, until: &str) -> Value {
    let (_, doc) = n.get("/v1/openapi.json", None).await;
    let mut l = doc["paths"]["/v1/records"]["post"]["requestBody"]["content"]["application/json"]["examples"]
        ["national_licence"]["value"]
        .clone();
    l["decision_no"] = json!(no);
    l["decided_on"] = json!(days_ago(0));
    l["valid_until"] = json!(until);
    l
}

fn of_type<'a>(v: &'a Value, t: &str) -> Vec<&'a Value> {
    v["changes"].as_array().unwrap().iter().filter(|c| c["type"] == t).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publicity_ended_is_a_change_on_the_day_and_only_once() {
    let secs = Arc::new(AtomicU64::new(now()));
    let s2 = secs.clone();
    let clock: credfed_node::state::Clock = Arc::new(move || s2.load(Ordering::SeqCst));
    let mut n = TestNode::start_with_clock(|_| {}, clock.clone()).await;
    let (submit, query) = (n.t("submit"), n.t("query"));
    let until = days_ago(-2).to_string();
    let (s, a) = n.post("/v1/records", Some(&submit), &licence(&n, "豫食许〔2026〕1号", &until).await).await;
    assert_eq!(s, 201, "{a}");
    let (s, b) = n.post("/v1/records", Some(&submit), &licence(&n, "豫食许〔2026〕2号", &until).await).await;
    assert_eq!(s, 201, "{b}");
    let (s, w) = n
        .post(
            &format!("/v1/records/{}/withdrawal", b["id"].as_str().unwrap()),
            Some(&submit),
            &json!({"withdrawn_on": days_ago(0), "reason": "撤销"}),
        )
        .await;
    assert_eq!(s, 201, "{w}");
    let (_, v) = n.get("/v1/changes", Some(&query)).await;
    assert!(of_type(&v, "publicity_ended").is_empty(), "{v}");
    let cursor = v["next"].as_str().unwrap().to_owned();

    // Valid through `until`: expired from the day after. Three days on, any command wakes the
    // writer (in production its idle wake-up every minute does).
    secs.fetch_add(3 * 86_400, Ordering::SeqCst);
    let wake = sample_penalty(&uscc(7));
    assert_eq!(n.post("/v1/records", Some(&submit), &wake).await.0, 201);
    let mut ended = Vec::new();
    for _ in 0..50 {
        let (_, v) = n.get(&format!("/v1/changes?after={cursor}"), Some(&query)).await;
        ended = of_type(&v, "publicity_ended").into_iter().cloned().collect();
        if !ended.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(ended.len(), 1, "only the licence that was not withdrawn: {ended:?}");
    let e = &ended[0];
    assert_eq!((&e["id"], &e["record_id"]), (&a["id"], &a["id"]));
    assert_eq!(e["record"]["status"], "expired", "{e}");
    assert_eq!(e["record"]["rule"]["rule_id"], "valid_until");

    // A restart sweeps again from its marker: nothing new.
    let dir = n.path();
    n.stop().await;
    let cfg = credfed_node::config::NodeConfig::load(&dir.join("node.toml")).unwrap();
    let node = credfed_node::node::start_with_clock(cfg, clock).await.unwrap();
    let base = format!("http://{}", node.api_addr());
    assert_eq!(n.post(&format!("{base}/v1/records"), Some(&submit), &sample_penalty(&uscc(8))).await.0, 201);
    let (_, v) = n.get(&format!("{base}/v1/changes?after={cursor}"), Some(&query)).await;
    assert_eq!(of_type(&v, "publicity_ended").len(), 1, "{v}");
    node.shutdown().await;
}

fn sample_penalty(u: &str) -> Value {
    credfed_protocol::bundle::sample::penalty_draft(
        u,
        &format!("信市监罚〔2026〕{u}号"),
        &days_ago(0).to_string(),
        "general",
    )
}
