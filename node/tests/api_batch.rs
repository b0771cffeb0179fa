//! `POST /v1/records/batch` and natural-key idempotency, against a real node (sled on disk,
//! HTTP on 127.0.0.1:0): results in input order, one bad item never fails the others, the same
//! row again is `duplicate`, the same key with other content is `conflict`, limits are 413, and
//! everything acknowledged survives a restart.

mod common;

use common::*;
use credfed_protocol::bundle::sample;
use serde_json::{json, Value};

fn row(n: u64) -> Value {
    sample::penalty_draft(&uscc(n), &format!("信市监罚〔2026〕{n}号"), "2026-03-02", "general")
}

async fn batch(n: &TestNode, body: Vec<u8>, ctype: &str) -> (u16, Value) {
    let (s, v, _) = n.call("POST", "/v1/records/batch", Some(&n.t("submit")), Some(body), ctype).await;
    (s, v)
}

async fn batch_json(n: &TestNode, items: &[Value]) -> (u16, Value) {
    batch(n, serde_json::to_vec(items).unwrap(), "application/json").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_answers_every_item_in_order_and_is_idempotent_on_the_natural_key() {
    let mut n = TestNode::start().await;
    let mut items: Vec<Value> = (1..=20).map(row).collect();
    // Item 3: a broken USCC; item 7: an unknown field; item 11: the same row as item 10;
    // item 15: item 14's natural key with other content.
    items[3]["subject"]["uscc"] = json!(format!("{}X", &uscc(4)[..17]));
    items[7]["colour"] = json!("red");
    items[11] = items[10].clone();
    items[15] = items[14].clone();
    items[15]["facts"] = json!("另一段事实");
    let (s, v) = batch_json(&n, &items).await;
    assert_eq!(s, 200, "{v}");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 20);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["index"], i, "{r}");
    }
    let status = |i: usize| results[i]["status"].as_str().unwrap().to_string();
    assert_eq!(status(3), "rejected");
    assert_eq!(results[3]["error"]["field"], "subject.uscc", "{}", results[3]);
    assert_eq!(status(7), "rejected");
    assert_eq!(results[7]["error"]["code"], "invalid_request");
    assert_eq!((status(10), status(11)), ("created".into(), "duplicate".into()));
    assert_eq!(results[11]["id"], results[10]["id"]);
    assert_eq!((status(14), status(15)), ("created".into(), "conflict".into()));
    assert_eq!(results[15]["id"], results[14]["id"], "a conflict names the held record");
    assert_eq!(results[15]["error"]["code"], "natural_key_conflict");
    assert_eq!(v["summary"], json!({"created": 16, "duplicate": 1, "conflict": 1, "rejected": 2}), "{v}");
    let created: Vec<String> =
        results.iter().filter(|r| r["status"] == "created").map(|r| r["id"].as_str().unwrap().to_string()).collect();

    // The same file again: nothing new, every valid row answers its held id.
    let (s, again) = batch_json(&n, &items).await;
    assert_eq!(s, 200);
    assert_eq!(again["summary"], json!({"created": 0, "duplicate": 17, "conflict": 1, "rejected": 2}), "{again}");
    for (a, b) in results.iter().zip(again["results"].as_array().unwrap()) {
        if a["status"] == "created" {
            assert_eq!((&b["status"], &b["id"]), (&json!("duplicate"), &a["id"]));
        }
    }

    // The single-record route follows the same rule: 200 with the held id, 409 naming it.
    let (s, v) = n.post("/v1/records", Some(&n.t("submit")), &items[0]).await;
    assert_eq!((s, &v["id"]), (200, &results[0]["id"]), "{v}");
    let mut changed = items[0].clone();
    changed["severity"] = json!("serious");
    let (s, v) = n.post("/v1/records", Some(&n.t("submit")), &changed).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!((&v["error"]["code"], &v["error"]["existing_id"]), (&json!("natural_key_conflict"), &results[0]["id"]));

    // Acknowledged means durable: after a restart every created record is there and the
    // index still answers duplicates.
    let dir = n.path();
    n.stop().await;
    let cfg = credfed_node::config::NodeConfig::load(&dir.join("node.toml")).unwrap();
    let node = credfed_node::start(cfg).await.unwrap();
    let base = format!("http://{}", node.api_addr());
    for id in &created {
        let (s, v) = n.get(&format!("{base}/v1/records/{id}"), Some(&n.t("query"))).await;
        assert_eq!(s, 200, "{id}: {v}");
    }
    let (s, v, _) = n
        .call(
            "POST",
            &format!("{base}/v1/records/batch"),
            Some(&n.t("submit")),
            Some(serde_json::to_vec(&items[..3]).unwrap()),
            "application/json",
        )
        .await;
    assert_eq!((s, &v["summary"]["duplicate"]), (200, &json!(3)), "{v}");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_lines_are_items_and_a_bad_line_fails_only_itself() {
    let n = TestNode::start().await;
    let mut body = Vec::new();
    for i in 1..=5u64 {
        body.extend(serde_json::to_vec(&row(i)).unwrap());
        body.extend(b"\n");
        if i == 2 {
            body.extend(b"{\"kind\": \n\n"); // truncated JSON, then a blank line (skipped)
        }
    }
    let (s, v) = batch(&n, body, "application/x-ndjson").await;
    assert_eq!(s, 200, "{v}");
    let r = v["results"].as_array().unwrap();
    assert_eq!(r.len(), 6);
    assert_eq!((&r[2]["status"], &r[2]["error"]["code"]), (&json!("rejected"), &json!("malformed_json")));
    assert_eq!(v["summary"]["created"], 5, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_malformed_bodies_are_clear_errors_and_store_nothing() {
    let n = TestNode::start().await;
    let many: Vec<Value> = (1..=1001).map(row).collect();
    let (s, v) = batch_json(&n, &many).await;
    assert_eq!((s, &v["error"]["code"]), (413, &json!("batch_too_large")), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("1000"), "{v}");
    let (s, v) = batch(&n, b"{\"kind\": \"x\"}".to_vec(), "application/json").await;
    assert_eq!((s, &v["error"]["code"]), (400, &json!("invalid_request")), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("JSON array"), "{v}");
    let (s, _) = batch(&n, b"[".to_vec(), "application/json").await;
    assert_eq!(s, 400);
    let (s, v) = batch(&n, b"[]".to_vec(), "text/csv").await;
    assert_eq!(s, 415, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("application/x-ndjson"), "{v}");
    let (s, _) = batch(&n, vec![b' '; 5 * 1024 * 1024], "application/json").await;
    assert_eq!(s, 413);
    // None of it stored anything: the first rows are new.
    let (s, v) = batch_json(&n, &many[..2]).await;
    assert_eq!((s, &v["summary"]["created"]), (200, &json!(2)), "{v}");
    // A query token may not submit.
    let (s, _, _) =
        n.call("POST", "/v1/records/batch", Some(&n.t("query")), Some(b"[]".to_vec()), "application/json").await;
    assert_eq!(s, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrected_row_is_the_key_holder_afterwards() {
    let n = TestNode::start().await;
    let submit = n.t("submit");
    let original = row(1);
    let (s, v) = n.post("/v1/records", Some(&submit), &original).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let mut corrected = original.clone();
    corrected["facts"] = json!("更正后的违法事实");
    let body = json!({ "corrected_on": "2026-03-05", "reason": "事实表述有误", "record": corrected });
    let (s, v) = n.post(&format!("/v1/records/{id}/correction"), Some(&submit), &body).await;
    assert_eq!(s, 201, "{v}");
    let correction = v["id"].clone();
    // The platform's file now holds the corrected row: re-sending it is a duplicate of the
    // correction; the old row is a conflict naming the correction.
    let (s, v) = batch_json(&n, &[corrected, original]).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((&v["results"][0]["status"], &v["results"][0]["id"]), (&json!("duplicate"), &correction), "{v}");
    assert_eq!((&v["results"][1]["status"], &v["results"][1]["id"]), (&json!("conflict"), &correction), "{v}");
}
