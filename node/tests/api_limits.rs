//! Issue 15 on a real node (real sled, real HTTP on loopback): slow-body and slow-header
//! attackers do not stall honest clients, arbitrary path/query/body input never panics a
//! handler or drops a connection, and the contract details (415, `Allow`, case-insensitive
//! auth scheme, refused empty policy) hold.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::{days_ago, penalty, uscc, TestNode};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

fn addr(base: &str) -> SocketAddr {
    base.trim_start_matches("http://").parse().unwrap()
}

/// A TCP connection from a chosen loopback source address.
async fn connect_from(src: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::from((src, 0)))?;
    s.connect(to).await
}

/// One request on a fresh connection from `src`; (status, headers, body).
async fn request_from(
    src: [u8; 4],
    to: SocketAddr,
    req: Request<Full<Bytes>>,
) -> anyhow::Result<(u16, hyper::HeaderMap, Bytes)> {
    let stream = connect_from(src, to).await?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let resp = send.send_request(req).await?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await?.to_bytes();
    Ok((status, headers, body))
}

fn get(path: &str, token: Option<&str>) -> Request<Full<Bytes>> {
    let mut b = Request::get(path).header("host", "node");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Full::new(Bytes::new())).unwrap()
}

fn post_json(path: &str, token: &str, v: &Value) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("host", "node")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(v).unwrap())))
        .unwrap()
}

/// `n` attacker sockets from `src`: headers announcing a 200 kB body that never comes
/// (`slow_body`), or headers that never finish.
async fn attackers(n: usize, src: [u8; 4], to: SocketAddr, token: &str, slow_body: bool) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..n {
        let Ok(mut s) = connect_from(src, to).await else { continue };
        let head = if slow_body {
            format!(
                "POST /v1/records HTTP/1.1\r\nhost: node\r\nauthorization: Bearer {token}\r\n\
                 content-type: application/json\r\ncontent-length: 200000\r\n\r\n{{"
            )
        } else {
            "GET /v1/health HTTP/1.1\r\nhost: node\r\nx-slow: ".to_string()
        };
        if s.write_all(head.as_bytes()).await.is_ok() {
            held.push(s);
        }
    }
    held
}

async fn honest_round(node: &TestNode, src: [u8; 4], i: u64) {
    let to = addr(&node.base);
    let limit = Duration::from_secs(10);
    let (s, _, _) = tokio::time::timeout(limit, request_from(src, to, get("/v1/health", None)))
        .await
        .expect("health answered in time")
        .expect("health");
    assert_eq!(s, 200);
    let draft = penalty(&uscc(7000 + i), &days_ago(2).to_string(), "serious");
    let mut draft = draft;
    draft["decision_no"] = json!(format!("信市监罚〔2026〕{}号", 7000 + i));
    let (s, _, body) =
        tokio::time::timeout(limit, request_from(src, to, post_json("/v1/records", &node.t("submit"), &draft)))
            .await
            .expect("durable POST answered in time")
            .expect("post");
    assert_eq!(s, 201, "round {i} from {src:?}: {}", String::from_utf8_lossy(&body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_body_and_slow_header_attackers_do_not_stall_honest_clients() {
    // Limits below the attack's size, so that shedding (not just capacity) is what is tested.
    let node = TestNode::start_with(|c| {
        c.api.max_connections = 256;
        c.api.max_connections_per_client = 64;
    })
    .await;
    let to = addr(&node.base);
    let token = node.t("submit");
    // 300 slow-body sockets from the honest client's own address, 300 slow-header ones from
    // five others: both limits (per client, in total) are under pressure.
    let mut held = attackers(300, [127, 0, 0, 1], to, &token, true).await;
    for src in 3..8 {
        held.extend(attackers(60, [127, 0, 0, src], to, &token, false).await);
    }
    assert!(held.len() >= 500, "attack sockets connected: {}", held.len());
    tokio::time::sleep(Duration::from_millis(1200)).await; // the attackers are now stalled
    for i in 0..5 {
        honest_round(&node, [127, 0, 0, 1], i).await; // shares the attacker's address
        honest_round(&node, [127, 0, 0, 2], 100 + i).await;
    }
    drop(held);
    // Nothing the attack touched was stored or lost: exactly the honest records exist.
    let (s, v) = node.get(&format!("/v1/subjects/{}/records", uscc(7000)), Some(&node.t("query"))).await;
    assert_eq!((s, v["records"].as_array().map(Vec::len)), (200, Some(1)));
    let (_, m) = node.get(&format!("{}/metrics", node.admin), None).await;
    let m = m.as_str().unwrap_or_default().to_string();
    assert!(m.contains("credfed_http_shed_total{reason=\"stalled\"}"), "stalled attackers were shed:\n{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_gets_408_and_a_body_less_route_ignores_one() {
    let node = TestNode::start().await;
    let to = addr(&node.base);
    let mut s = connect_from([127, 0, 0, 1], to).await.unwrap();
    let head = format!(
        "POST /v1/records HTTP/1.1\r\nhost: node\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n{{",
        node.t("submit")
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tokio::io::AsyncReadExt::read_to_end(&mut s, &mut out))
        .await
        .expect("answered and closed")
        .unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("body_timeout"), "{text}");
    assert!(started.elapsed() >= Duration::from_secs(2), "deadline is 2 s + length / rate");
    // A GET with a declared body that never comes is answered without waiting for it.
    let mut s = connect_from([127, 0, 0, 1], to).await.unwrap();
    s.write_all(b"GET /v1/health HTTP/1.1\r\nhost: node\r\ncontent-length: 100000\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(2), tokio::io::AsyncReadExt::read(&mut s, &mut buf))
        .await
        .expect("health does not wait for a body")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn contract_details_415_allow_lowercase_bearer_and_the_empty_policy() {
    let node = TestNode::start().await;
    let draft = penalty(&uscc(1), &days_ago(2).to_string(), "serious");
    let body = serde_json::to_vec(&draft).unwrap();
    let submit = node.t("submit");
    for ct in ["text/plain", "", "application/cbor"] {
        let (s, v, _) = node.call("POST", "/v1/records", Some(&submit), Some(body.clone()), ct).await;
        assert_eq!((s, v["error"]["code"].as_str()), (415, Some("unsupported_media_type")), "{ct:?}");
    }
    let (s, _, _) =
        node.call("POST", "/v1/records", Some(&submit), Some(body.clone()), "Application/JSON; charset=utf-8").await;
    assert_eq!(s, 201, "media types compare case-insensitively, parameters allowed");

    let to = addr(&node.base);
    let put = Request::put("/v1/admin/trust").header("host", "node").body(Full::new(Bytes::new())).unwrap();
    let (s, h, _) = request_from([127, 0, 0, 1], to, put).await.unwrap();
    assert_eq!((s, h.get("allow").and_then(|v| v.to_str().ok())), (405, Some("GET, POST")));

    let lower = Request::get("/v1/schemes")
        .header("host", "node")
        .header("authorization", format!("bearer {}", node.t("query")))
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(request_from([127, 0, 0, 1], to, lower).await.unwrap().0, 200, "RFC 9110: scheme is case-insensitive");

    // Issue 15's panic: a subject of 18 bytes that is 6 characters, raw and %-encoded.
    let six = "信信信信信信";
    for path in [
        format!("/v1/subjects/{six}/records"),
        format!("/v1/subjects/{six}/eligibility?scheme=x"),
        format!("/v1/subjects/{}/records", enc(six)),
        format!("/v1/subjects/uscc:{}/records", enc(six)),
    ] {
        let mut s = connect_from([127, 0, 0, 1], to).await.unwrap();
        let req = format!(
            "GET {path} HTTP/1.1\r\nhost: node\r\nauthorization: Bearer {}\r\nconnection: close\r\n\r\n",
            node.t("query")
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut s, &mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.1 4"), "{path}: {text}");
    }

    let admin = node.t("admin");
    let rules = json!({ "accepted_kinds": { "suzhou": ["administrative_penalty"] }, "shared_entitled": [] });
    assert_eq!(
        node.call(
            "PUT",
            "/v1/admin/policy",
            Some(&admin),
            Some(serde_json::to_vec(&rules).unwrap()),
            "application/json"
        )
        .await
        .0,
        200
    );
    let (s, v, _) = node.call("PUT", "/v1/admin/policy", Some(&admin), Some(b"[]".to_vec()), "application/json").await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("invalid_request")));
    let (s, v, _) = node.call("PUT", "/v1/admin/policy", Some(&admin), Some(b"{}".to_vec()), "application/json").await;
    assert_eq!((s, v["error"]["code"].as_str()), (422, Some("policy_empty")));
    let (_, v) = node.get("/v1/admin/policy", Some(&admin)).await;
    assert_eq!(v, rules, "the refused updates changed nothing");
    let (s, _, _) =
        node.call("PUT", "/v1/admin/policy?force=true", Some(&admin), Some(b"{}".to_vec()), "application/json").await;
    assert_eq!(s, 200);
}

/// Percent-encodes every byte outside the unreserved set.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        Just("信信信信信信".to_string()),
        Just("\u{0}\u{0}".to_string()),
        Just("9".repeat(400)),
        Just("uscc:信信信信信信".to_string()),
        Just("resident:信信信信信信".to_string()),
        Just("-1".to_string()),
        Just("18446744073709551616".to_string()),
        "[0-9A-Z]{18}",
        "[0-9a-f]{64}",
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        nasty().prop_map(|s| format!("{{\"kind\":\"{s}\",\"subject\":{{\"uscc\":\"{s}\"}}}}").into_bytes()),
        nasty().prop_map(|s| serde_json::to_vec(&json!({ "scope": s, "region": s, "root_key": s })).unwrap()),
        Just(b"{\"a\":".repeat(2000)),
    ]
}

#[test]
fn arbitrary_paths_queries_and_bodies_never_panic_a_handler_or_drop_a_connection() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let node = rt.block_on(TestNode::start());
    let to = addr(&node.base);
    let routes = credfed_node::api::routes::ROUTES;
    let case = (0..routes.len(), proptest::collection::vec(nasty(), 3), nasty(), nasty(), body());
    let mut runner = TestRunner::new(Config { cases: 400, failure_persistence: None, ..Config::default() });
    runner
        .run(&case, |(i, params, qname, qval, data)| {
            let r = &routes[i];
            let mut params = params.iter();
            let path: Vec<String> = r
                .path
                .split('/')
                .map(|seg| if seg.starts_with('{') { enc(params.next().unwrap()) } else { seg.to_string() })
                .collect();
            // Every query parameter but `wait` (a long poll's wait is its contract, not a stall).
            let query = [
                "as_of", "scheme", "index", "size", "from", "to", "start", "end", "force", "after", "limit", "kind",
                "origin", "subject",
            ]
            .iter()
            .map(|k| format!("{k}={}", enc(&qval)))
            .chain([format!("{}={}", enc(&qname), enc(&qval))])
            .collect::<Vec<_>>()
            .join("&");
            let uri = format!("{}?{query}", path.join("/"));
            let ct = r.body().media_types().first().copied().unwrap_or("application/json");
            let req = Request::builder()
                .method(r.method.clone())
                .uri(&uri)
                .header("host", "node")
                .header("authorization", format!("Bearer {}", node.t(r.need.describe().split(' ').next().unwrap())))
                .header("content-type", ct)
                .body(Full::new(Bytes::from(data)))
                .unwrap();
            let (status, _, body) = rt
                .block_on(request_from([127, 0, 0, 1], to, req))
                .map_err(|e| TestCaseError::fail(format!("{} {uri}: connection dropped: {e}", r.method)))?;
            prop_assert!(status < 500, "{} {uri} → {status}: {}", r.method, String::from_utf8_lossy(&body));
            Ok(())
        })
        .unwrap();
    let (_, m) = rt.block_on(node.get(&format!("{}/metrics", node.admin), None));
    let m = m.as_str().unwrap_or_default().to_string();
    assert!(m.contains("credfed_http_panics_total 0"), "no handler panicked:\n{m}");
}
