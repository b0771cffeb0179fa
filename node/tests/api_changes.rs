//! `GET /v1/changes` against a real node (sled on disk, HTTP on 127.0.0.1:0): one total order,
//! cursors that page without skips or repeats and survive a restart, long polls that return as
//! soon as a change is durable, server-sent events resumed with `Last-Event-ID`, filters, and
//! clear errors for bad or foreign cursors.

mod common;

use std::time::{Duration, Instant};

use common::*;
use credfed_protocol::bundle::sample;
use serde_json::{json, Value};

fn row(n: u64, decided_on: &str) -> Value {
    sample::penalty_draft(&uscc(n), &format!("信市监罚〔2025〕{n}号"), decided_on, "general")
}

async fn changes(n: &TestNode, query: &str) -> Value {
    let (s, v) = n.get(&format!("/v1/changes?{query}"), Some(&n.t("query"))).await;
    assert_eq!(s, 200, "{query}: {v}");
    v
}

fn types(v: &Value) -> Vec<String> {
    v["changes"].as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_page_in_one_order_and_continue_across_a_restart() {
    let mut n = TestNode::start().await;
    let submit = n.t("submit");
    let v = changes(&n, "").await;
    assert_eq!((v["changes"].as_array().unwrap().len(), &v["more"]), (0, &json!(false)), "{v}");
    let start = v["next"].as_str().unwrap().to_string();

    // Three records, then a repair of the first (decided long ago: repairable now).
    let items: Vec<Value> = (1..=3).map(|i| row(i, "2025-01-05")).collect();
    let (s, b, _) = n
        .call("POST", "/v1/records/batch", Some(&submit), Some(serde_json::to_vec(&items).unwrap()), "application/json")
        .await;
    assert_eq!(s, 200, "{b}");
    let ids: Vec<String> = b["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().into()).collect();
    let today = days_ago(0).to_string();
    let (s, rep) = n
        .post(
            &format!("/v1/records/{}/repair", ids[0]),
            Some(&submit),
            &json!({"repaired_on": today, "basis": "已履行"}),
        )
        .await;
    assert_eq!(s, 201, "{rep}");

    let all = changes(&n, &format!("after={start}")).await;
    assert_eq!(types(&all), ["record", "record", "record", "repair"], "{all}");
    let c = all["changes"].as_array().unwrap();
    for (i, id) in ids.iter().enumerate() {
        assert_eq!((&c[i]["id"], &c[i]["record_id"]), (&json!(id), &json!(id)));
        assert_eq!(c[i]["origin"], "xinyang");
    }
    // The repair names the record it changes and carries that record's new status.
    assert_eq!((&c[3]["id"], &c[3]["record_id"]), (&rep["id"], &json!(ids[0])));
    assert_eq!(c[3]["record"]["status"], "repaired", "{}", c[3]);

    // Paging two at a time gives the same sequence, no skip, no repeat.
    let mut cursor = start.clone();
    let mut paged = Vec::new();
    loop {
        let p = changes(&n, &format!("after={cursor}&limit=2")).await;
        let page = p["changes"].as_array().unwrap();
        if page.is_empty() {
            break;
        }
        paged.extend(page.iter().map(|c| c["id"].clone()));
        cursor = p["next"].as_str().unwrap().to_string();
    }
    assert_eq!(paged, c.iter().map(|c| c["id"].clone()).collect::<Vec<_>>());

    // Filters: by subject, by kind, by origin.
    let one = changes(&n, &format!("after={start}&subject={}", uscc(1))).await;
    assert_eq!(types(&one), ["record", "repair"], "{one}");
    let none = changes(&n, &format!("after={start}&kind=dishonesty_list")).await;
    assert!(none["changes"].as_array().unwrap().is_empty());
    assert_eq!(none["next"], all["next"], "a filtered scan still moves the cursor");
    let foreign = changes(&n, &format!("after={start}&origin=suzhou")).await;
    assert!(foreign["changes"].as_array().unwrap().is_empty());

    // After a restart the cursor continues: the next change follows, nothing repeats.
    let last = all["next"].as_str().unwrap().to_string();
    let dir = n.path();
    n.stop().await;
    let cfg = credfed_node::config::NodeConfig::load(&dir.join("node.toml")).unwrap();
    let node = credfed_node::start(cfg).await.unwrap();
    let base = format!("http://{}", node.api_addr());
    let (s, v) = n.get(&format!("{base}/v1/changes?after={last}"), Some(&n.t("query"))).await;
    assert_eq!((s, v["changes"].as_array().unwrap().len()), (200, 0), "{v}");
    let (s, r) = n.post(&format!("{base}/v1/records"), Some(&submit), &row(9, "2026-03-02")).await;
    assert_eq!(s, 201, "{r}");
    let (_, v) = n.get(&format!("{base}/v1/changes?after={last}"), Some(&n.t("query"))).await;
    assert_eq!(types(&v), ["record"], "{v}");
    assert_eq!(v["changes"][0]["id"], r["id"]);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_returns_when_a_change_is_durable_and_sse_resumes_from_last_event_id() {
    let n = std::sync::Arc::new(TestNode::start().await);
    let start = changes(&n, "").await["next"].as_str().unwrap().to_string();
    let poller = {
        let n = n.clone();
        let start = start.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            let v = changes(&n, &format!("after={start}&wait=10")).await;
            (t0.elapsed(), v)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, r) = n.post("/v1/records", Some(&n.t("submit")), &row(1, "2026-03-02")).await;
    assert_eq!(s, 201, "{r}");
    let (took, v) = poller.await.unwrap();
    assert_eq!(types(&v), ["record"], "{v}");
    assert!(took < Duration::from_secs(5), "the poll waited {took:?} after the change");

    // A wait with nothing new ends after the wait, empty.
    let next = v["next"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    let empty = changes(&n, &format!("after={next}&wait=1")).await;
    assert!(empty["changes"].as_array().unwrap().is_empty());
    assert!(t0.elapsed() >= Duration::from_millis(900));

    // SSE: Last-Event-ID resumes after the given cursor.
    let (s, r2) = n.post("/v1/records", Some(&n.t("submit")), &row(2, "2026-03-02")).await;
    assert_eq!(s, 201);
    let req = hyper::Request::get(format!("{}/v1/changes?wait=0", n.base))
        .header("authorization", format!("Bearer {}", n.t("query")))
        .header("accept", "text/event-stream")
        .header("last-event-id", &next)
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let resp = n.client.request(req).await.unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let body = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let events: Vec<&str> = text.split("\n\n").filter(|e| e.contains("event: change")).collect();
    assert_eq!(events.len(), 1, "{text}");
    let data: Value = serde_json::from_str(events[0].lines().find_map(|l| l.strip_prefix("data: ")).unwrap()).unwrap();
    assert_eq!(data["id"], r2["id"]);
    assert!(events[0].starts_with(&format!("id: {}", data["cursor"].as_str().unwrap())), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cursors_and_parameters_are_named() {
    let n = TestNode::start().await;
    let q = n.t("query");
    for (query, status, code, field) in [
        ("after=xyz", 400, "invalid_cursor", "after"),
        ("after=9.0", 410, "cursor_expired", "after"),
        ("limit=0", 400, "invalid_query", "limit"),
        ("limit=1001", 400, "invalid_query", "limit"),
        ("wait=99", 400, "invalid_query", "wait"),
        ("kind=nonsense", 400, "invalid_query", "kind"),
        ("subject=%E4%BF%A1%E4%BF%A1", 422, "invalid_uscc", "subject"),
    ] {
        let (s, v) = n.get(&format!("/v1/changes?{query}"), Some(&q)).await;
        assert_eq!(
            (s, &v["error"]["code"], &v["error"]["field"]),
            (status, &json!(code), &json!(field)),
            "{query}: {v}"
        );
    }
    let (s, _) = n.get("/v1/changes", None).await;
    assert_eq!(s, 401);
}
