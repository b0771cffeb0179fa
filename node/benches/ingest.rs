//! Ingest and query bench (`cargo bench -p credfed-node --bench ingest`).
//!
//! 1. **Ideal pipeline**: decode + verify + hash + one sled batch + one flush per record, no
//!    HTTP, no authorization, no audit log (with and without the extra `fdatasync`).
//! 2. **HTTP ingest**: pre-signed envelopes through `POST /v1/envelopes` of a real node with
//!    durable acks (group commit) and concurrent keep-alive clients; ratio to (1).
//! 3. **Query at size**: the store is filled directly through the `Store` API with
//!    `CREDFED_BENCH_RECORDS` records (default 1,000,000), then `GET /v1/subjects/{uscc}/records`
//!    p50/p99 and the process RSS.
//!
//! 4. **Limits measured in the same run**: one core's ed25519 sign and strict-verify rates, so
//!    the HTTP figures print as ratios to what the hardware can do (issue 11).
//! 5. **Drafts**: `POST /v1/records` (JSON drafts, signed by the node) from concurrent
//!    clients, with p50/p99 latency, and `POST /v1/records/batch` (1000 drafts a request).
//!
//! Env: `CREDFED_BENCH_N` (records per ingest run, default 4000), `CREDFED_BENCH_CLIENTS`
//! (default 32), `CREDFED_BENCH_RECORDS`, `CREDFED_BENCH_QUERIES` (default 2000),
//! `CREDFED_BENCH_PHASES` (default `ingest,query`).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use credfed_node::config::NodeConfig;
use credfed_node::init::{init, InitOptions};
use credfed_node::state::listing;
use credfed_node::store::{Commit, MetaWrite, NewObject, ObjectMeta, SledOptions, SledStore, Store};
use credfed_protocol::bundle::sample::penalty;
use credfed_protocol::keys::SecretKey;
use credfed_protocol::objects::{self, Body, Nonce, RecordBody, RecordContent, Subject};
use credfed_protocol::{Day, ObjectType, RegionId};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rand_core::OsRng;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn uscc(n: u64) -> String {
    credfed_protocol::bundle::sample::uscc("411500", n).to_string()
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn record(key: &SecretKey, region: &RegionId, subject: &str, signed_at: u64) -> Vec<u8> {
    record_n(key, region, subject, signed_at, 15)
}

const PLACES: [&str; 8] = ["浉河区", "平桥区", "罗山县", "光山县", "新县", "商城县", "固始县", "潢川县"];
const TRADES: [&str; 25] = [
    "建材", "食品", "商贸", "物流", "餐饮", "药房", "汽修", "服装", "家电", "五金", "化工", "印刷", "粮油", "茶业",
    "农资", "电子", "装饰", "运输", "酒业", "养殖", "百货", "超市", "广告", "科技", "文化",
];
const AUTHORITIES: [&str; 5] =
    ["信阳市市场监督管理局", "信阳市生态环境局", "信阳市应急管理局", "信阳市交通运输局", "信阳市卫生健康委员会"];

/// Record `n` of the filled store: its own decision number, a name from 8 places × 25 trades
/// with a number (`信阳市平桥区建材417商行有限公司`), one of 5 authorities, decided within the last year.
fn record_n(key: &SecretKey, region: &RegionId, subject: &str, signed_at: u64, n: u64) -> Vec<u8> {
    let name = format!("信阳市{}{}{}商行有限公司", PLACES[(n % 8) as usize], TRADES[(n / 8 % 25) as usize], n % 997);
    let record = RecordContent {
        facts: Some("销售不符合食品安全标准的食品，货值金额较小。".into()),
        subject_name: Some(name),
        authority: AUTHORITIES[(n % 5) as usize].into(),
        ..penalty(
            Subject::Uscc(subject.parse().unwrap()),
            format!("信市监罚〔2026〕{n}号"),
            Day::from_unix_china(signed_at).add_days(-3 - (n % 360) as i64),
        )
    };
    Body::Record(RecordBody { region: region.clone(), signed_at, nonce: Nonce::random(&mut OsRng), record })
        .sign(key)
        .encode()
}

fn meta_of(o: &objects::VerifiedObject) -> ObjectMeta {
    ObjectMeta {
        object_type: o.body.object_type(),
        origin: o.body.region().clone(),
        signed_at: o.body.signed_at(),
        accepted_at: o.body.signed_at(),
        seq: None,
        target: o.body.target(),
        subject: o.body.record_content().map(|c| c.subject.key()),
    }
}

fn ideal(envs: &[Vec<u8>], fsync: bool) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let store =
        SledStore::open(dir.path(), &SledOptions { cache_bytes: 128 << 20, fsync, create: true, min_free_bytes: 0 })
            .unwrap();
    let t = Instant::now();
    for e in envs {
        let o = objects::open(e).unwrap();
        let c = Commit {
            objects: vec![NewObject { id: o.id(), meta: meta_of(&o), envelope: e.clone(), change: None }],
            ..Commit::default()
        };
        store.apply(&c).unwrap();
        store.flush().unwrap();
    }
    envs.len() as f64 / t.elapsed().as_secs_f64()
}

fn init_node(dir: &std::path::Path) -> NodeConfig {
    let o = InitOptions {
        region: "xinyang".parse().unwrap(),
        dir: dir.to_path_buf(),
        api_listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: None,
        p2p_listen: None,
        person_secret_file: None,
    };
    let access = init(&o).unwrap();
    std::fs::write(dir.join("submit.token"), access.tokens.submit).unwrap();
    std::fs::write(dir.join("query.token"), access.tokens.query).unwrap();
    let mut cfg = NodeConfig::load(&dir.join("node.toml")).unwrap();
    cfg.log.filter = "warn".into();
    cfg
}

type C = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// One core's ed25519 rates on an envelope-sized message: (sign/s, strict verify/s,
/// sign + verify/s).
fn crypto_reference(key: &SecretKey, region: &RegionId) -> (f64, f64, f64) {
    let env = credfed_protocol::envelope::Envelope::decode(&record(key, region, &uscc(1), now())).unwrap();
    let n = 3000;
    let t = Instant::now();
    let signed: Vec<_> = (0..n)
        .map(|i| {
            let mut body = env.body.clone();
            body.push(i as u8);
            credfed_protocol::envelope::Envelope::sign(b"credfed-bench", body, key)
        })
        .collect();
    let sign = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for e in signed {
        assert!(e.verify(b"credfed-bench").is_ok());
    }
    let verify = n as f64 / t.elapsed().as_secs_f64();
    (sign, verify, 1.0 / (1.0 / sign + 1.0 / verify))
}

/// A penalty draft like DESIGN §7's example, its own decision number and subject.
fn draft(n: u64) -> serde_json::Value {
    serde_json::json!({
        "kind": "administrative_penalty",
        "subject": { "uscc": uscc(1_000_000 + n) },
        "subject_name": format!("信阳市平桥区建材{n}商行有限公司"),
        "authority": "信阳市生态环境局",
        "decision_no": format!("信环罚〔2026〕{n}号"),
        "legal_basis": "《中华人民共和国大气污染防治法》第一百零八条",
        "facts": "未按规定安装污染物排放自动监测设备。",
        "severity": "serious",
        "sector": "ecology_environment",
        "decided_on": Day::from_unix_china(now()).add_days(-3),
        "classification": "public",
    })
}

/// Starts a node on `cfg` and posts every body to `route` from `clients` keep-alive clients,
/// each answer checked by `check(status, body)`: (requests/s, latencies in ms, sorted).
async fn post_all(
    cfg: NodeConfig,
    token: &str,
    route: &str,
    content_type: &'static str,
    bodies: Vec<Vec<u8>>,
    clients: usize,
    check: fn(u16, &[u8]),
) -> (f64, Vec<f64>) {
    let cfg_dir = cfg.data_dir();
    let node = credfed_node::start(cfg).await.unwrap();
    let url = format!("http://{}{route}", node.api_addr());
    let client: C = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(clients).build_http();
    let n = bodies.len();
    let queue = Arc::new(std::sync::Mutex::new(bodies));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (q, c, u, tok) = (queue.clone(), client.clone(), url.clone(), token.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let Some(b) = q.lock().unwrap().pop() else { break };
                let req = Request::post(&u)
                    .header("authorization", format!("Bearer {tok}"))
                    .header("content-type", content_type)
                    .body(Full::new(Bytes::from(b)))
                    .unwrap();
                let t = Instant::now();
                let r = c.request(req).await.unwrap();
                let status = r.status().as_u16();
                let body = r.into_body().collect().await.unwrap().to_bytes();
                check(status, &body);
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    let m = node.state.metrics.render();
    let figure = |name: &str| -> f64 {
        let value = |l: &str| l.split_once(' ').filter(|(k, _)| k.ends_with(name)).and_then(|(_, v)| v.parse().ok());
        m.lines().find_map(value).unwrap_or(0.0)
    };
    let flushes = figure("store_flush_seconds_count");
    if route == "/v1/records/batch" {
        follow_changes(&client, &node.api_addr().to_string(), &cfg_dir).await;
    }
    println!(
        "  (group commit: {flushes:.0} flushes, {:.1} ms each, {:.1} writes acknowledged per flush)",
        1000.0 * figure("store_flush_seconds_sum") / flushes.max(1.0),
        figure("store_flush_group_sum") / figure("store_flush_group_count").max(1.0)
    );
    node.shutdown().await;
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (rate, lat)
}

/// A platform following the change stream from the start (`GET /v1/changes`, 1000 a page, the
/// query token): changes/s until the stream has no more.
async fn follow_changes(client: &C, addr: &str, dir: &std::path::Path) {
    let token = std::fs::read_to_string(dir.join("query.token")).unwrap();
    let (mut after, mut total) = (String::new(), 0usize);
    let t = Instant::now();
    loop {
        let req = Request::get(format!("http://{addr}/v1/changes?limit=1000&after={after}"))
            .header("authorization", format!("Bearer {}", token.trim()))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let r = client.request(req).await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let v: serde_json::Value = serde_json::from_slice(&r.into_body().collect().await.unwrap().to_bytes()).unwrap();
        total += v["changes"].as_array().map_or(0, Vec::len);
        after = v["next"].as_str().unwrap_or_default().to_owned();
        if v["more"] != true {
            break;
        }
    }
    println!(
        "GET /v1/changes from the start, 1000 a page: {total} changes in {:.2} s = {:.0} changes/s",
        t.elapsed().as_secs_f64(),
        total as f64 / t.elapsed().as_secs_f64()
    );
}

fn created(status: u16, body: &[u8]) {
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(body));
}

/// A batch answer with every item created.
fn batch_created(status: u16, body: &[u8]) {
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(body));
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["summary"]["created"], 1000, "{v}");
}

/// The `q` quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

fn fill(cfg: &NodeConfig, key: &SecretKey, total: u64) -> String {
    let store = SledStore::open(
        &cfg.store_dir(),
        &SledOptions { cache_bytes: 256 << 20, fsync: false, create: false, min_free_bytes: 0 },
    )
    .unwrap();
    let region: RegionId = "xinyang".parse().unwrap();
    let target = uscc(9_999_999);
    let rules = credfed_protocol::rules::RuleSet::builtin();
    let t = Instant::now();
    let batch = 2000u64;
    let mut done = 0u64;
    while done < total {
        let n = batch.min(total - done);
        let base = done;
        let make = |range: std::ops::Range<u64>| -> Vec<(NewObject, Vec<MetaWrite>)> {
            range
                .map(|i| {
                    let subject = if i < 10 { target.clone() } else { uscc(i / 5) };
                    // Signed like any record; not re-verified here (the fill bypasses ingest).
                    let env = record_n(key, &region, &subject, now() - 86_400, i);
                    let e = credfed_protocol::envelope::Envelope::decode(&env).unwrap();
                    let body = Body::decode(&e.body).unwrap();
                    let meta = ObjectMeta {
                        object_type: ObjectType::Record,
                        origin: region.clone(),
                        signed_at: now() - 86_400,
                        accepted_at: now(),
                        seq: None,
                        target: None,
                        subject: Some(format!("uscc:{subject}")),
                    };
                    // The list indexes, as the writer keeps them.
                    let index = listing::writes(&e.id(), &body, &rules, Day::from_unix_china(now()));
                    (NewObject { id: e.id(), meta, envelope: env, change: None }, index)
                })
                .collect()
        };
        let half = base + n / 2;
        let (a, b) = std::thread::scope(|s| {
            let h = s.spawn(|| make(base..half));
            (make(half..base + n), h.join().unwrap())
        });
        let (objects, index): (Vec<NewObject>, Vec<Vec<MetaWrite>>) = a.into_iter().chain(b).unzip();
        store.apply(&Commit { objects, meta: index.into_iter().flatten().collect(), ..Commit::default() }).unwrap();
        done += n;
        if done.is_multiple_of(100_000) {
            eprintln!("  filled {done} records ({:.0}/s)", done as f64 / t.elapsed().as_secs_f64());
        }
    }
    store.apply(&Commit { meta: vec![listing::built()], ..Commit::default() }).unwrap();
    store.flush().unwrap();
    eprintln!("  fill: {total} records in {:.1} s; {:?}", t.elapsed().as_secs_f64(), store.stats());
    target
}

fn proc_status(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Runs the real binary on the filled store (so RSS is the node's alone) and measures queries.
async fn query_bench(dir: &std::path::Path, token: String, target: String, queries: u64) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg_path = dir.join("node.toml");
    let text = std::fs::read_to_string(&cfg_path).unwrap();
    let listen = text.lines().find(|l| l.starts_with("listen = \"127.0.0.1:")).unwrap().to_string();
    std::fs::write(&cfg_path, text.replacen(&listen, &format!("listen = \"127.0.0.1:{port}\""), 1)).unwrap();
    let t0 = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_credfed-node"))
        .args(["run", "--config"])
        .arg(&cfg_path)
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let client: C = Client::builder(TokioExecutor::new()).build_http();
    let health = format!("http://127.0.0.1:{port}/v1/health");
    loop {
        let req = Request::get(&health).body(Full::new(Bytes::new())).unwrap();
        if client.request(req).await.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "node exited");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    println!(
        "node opened the store in {:.1} s; RSS after open {} MiB",
        t0.elapsed().as_secs_f64(),
        proc_status(child.id(), "VmRSS:") / 1024
    );
    let url = format!("http://127.0.0.1:{port}/v1/subjects/{target}/records");
    let mut lat = Vec::with_capacity(queries as usize);
    for i in 0..queries + 50 {
        let req = Request::get(&url)
            .header("authorization", format!("Bearer {token}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let t = Instant::now();
        let r = client.request(req).await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let body = r.into_body().collect().await.unwrap().to_bytes();
        if i >= 50 {
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        } else if i == 0 {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["records"].as_array().unwrap().len(), 10);
        }
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| quantile(&lat, q);
    println!(
        "query GET /v1/subjects/{{uscc}}/records (10 records): p50 {:.3} ms, p99 {:.3} ms over {} requests; node RSS {} MiB (peak {} MiB)",
        p(0.50),
        p(0.99),
        lat.len(),
        proc_status(child.id(), "VmRSS:") / 1024,
        proc_status(child.id(), "VmHWM:") / 1024
    );
    list_bench(&client, port, &token, queries.min(500)).await;
    println!(
        "node RSS after the list queries {} MiB (peak {} MiB)",
        proc_status(child.id(), "VmRSS:") / 1024,
        proc_status(child.id(), "VmHWM:") / 1024
    );
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

/// Times `n` GETs of `url` (after 20 warm-up requests); p50, p99 in ms and the last body.
async fn timed(client: &C, url: &str, token: &str, n: u64) -> (f64, f64, serde_json::Value) {
    let mut lat = Vec::with_capacity(n as usize);
    let mut last = serde_json::Value::Null;
    for i in 0..n + 20 {
        let req =
            Request::get(url).header("authorization", format!("Bearer {token}")).body(Full::new(Bytes::new())).unwrap();
        let t = Instant::now();
        let r = client.request(req).await.unwrap();
        let status = r.status().as_u16();
        let body = r.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
        if i >= 20 {
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        if i == n + 19 {
            last = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        }
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| quantile(&lat, q);
    (p(0.50), p(0.99), last)
}

/// `GET /v1/records` with each kind of filter on the filled store (issue 10: ≤ 20 ms p99).
async fn list_bench(client: &C, port: u16, token: &str, n: u64) {
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    let base = format!("http://127.0.0.1:{port}/v1/records");
    let today = Day::from_unix_china(now());
    let (from, to) = (today.add_days(-120), today.add_days(-90));
    let first = format!("{base}?kind=administrative_penalty&limit=50");
    let (_, _, page) = timed(client, &first, token, 1).await;
    let cursor = page["next_cursor"].as_str().unwrap_or_default().to_owned();
    let cases = [
        ("newest 50", format!("{base}?limit=50")),
        ("kind, 50", first.clone()),
        ("kind, next page by cursor", format!("{first}&cursor={cursor}")),
        (
            "origin + kind + decided range",
            format!("{base}?origin=xinyang&kind=administrative_penalty&decided_from={from}&decided_to={to}&limit=50"),
        ),
        (
            "authority + decided range",
            format!("{base}?authority={}&decided_from={from}&decided_to={to}&limit=50", enc(AUTHORITIES[2])),
        ),
        ("name substring (1 in 200)", format!("{base}?name={}&limit=50", enc("平桥区建材"))),
        ("name exact-ish (1 in ~50k)", format!("{base}?name={}&limit=50", enc("平桥区建材417商行"))),
        (
            "name + status + authority",
            format!("{base}?name={}&status=active&authority={}&limit=50", enc("固始县超市"), enc(AUTHORITIES[1])),
        ),
        ("decision number prefix", format!("{base}?decision_no={}&limit=50", enc("信市监罚〔2026〕12345"))),
        ("decision number exact", format!("{base}?decision_no={}&limit=50", enc("信市监罚〔2026〕777777号"))),
    ];
    for (what, url) in cases {
        let (p50, p99, last) = timed(client, &url, token, n).await;
        println!(
            "list GET /v1/records {what}: p50 {p50:.2} ms, p99 {p99:.2} ms over {n} requests; {} records, scanned {}, more: {}",
            last["records"].as_array().map_or(0, Vec::len),
            last["scanned"],
            !last["next_cursor"].is_null()
        );
    }
    let export = format!("{base}/export?format=csv&kind=administrative_penalty&limit=10000");
    let t = Instant::now();
    let (_, p99, _) = timed(client, &export, token, 5).await;
    println!(
        "export GET /v1/records/export 10,000 CSV rows a page: {:.0} rows/s (p99 page {p99:.0} ms)",
        25.0 * 10_000.0 / t.elapsed().as_secs_f64()
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = env("CREDFED_BENCH_N", 4000);
    let clients = env("CREDFED_BENCH_CLIENTS", 32) as usize;
    let records = env("CREDFED_BENCH_RECORDS", 1_000_000);
    let queries = env("CREDFED_BENCH_QUERIES", 2000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let phases = std::env::var("CREDFED_BENCH_PHASES").unwrap_or_else(|_| "ingest,query".into());
    let phase = |p: &str| phases.split(',').any(|x| x == p);
    let skip_ingest = std::env::var("CREDFED_BENCH_SKIP_INGEST").is_ok() || !phase("ingest");
    for fsync in [true, false].into_iter().filter(|_| !skip_ingest) {
        let tmp = tempfile::tempdir().unwrap();
        let mut cfg = init_node(tmp.path());
        cfg.store.fsync = fsync;
        let key = credfed_node::keyfile::read_key(&tmp.path().join("keys/authority-1.key")).unwrap();
        let region: RegionId = "xinyang".parse().unwrap();
        let envs: Vec<Vec<u8>> = (0..n).map(|i| record(&key, &region, &uscc(i), now())).collect();
        let ideal_rate = ideal(&envs, fsync);
        let token = std::fs::read_to_string(tmp.path().join("submit.token")).unwrap();
        let (http_rate, _) =
            rt.block_on(post_all(cfg, &token, "/v1/envelopes", "application/cbor", envs, clients, created));
        println!(
            "ingest (store.fsync={fsync}): ideal pipeline {ideal_rate:.0} rec/s (flush per record); HTTP {http_rate:.0} rec/s with {clients} clients, durable acks; ratio {:.2}",
            http_rate / ideal_rate
        );
        if !fsync {
            continue;
        }
        let (sign, verify, both) = crypto_reference(&key, &region);
        println!(
            "limits (one core): ed25519 sign {sign:.0}/s, strict verify {verify:.0}/s, sign + verify {both:.0}/s; \
             envelopes above: {:.2} × sign + verify",
            http_rate / both
        );
        let fresh = || {
            let tmp = tempfile::tempdir().unwrap();
            let mut cfg = init_node(tmp.path());
            cfg.store.fsync = fsync;
            let token = std::fs::read_to_string(tmp.path().join("submit.token")).unwrap();
            (tmp, cfg, token)
        };
        let (_t1, cfg, token) = fresh();
        let drafts: Vec<Vec<u8>> = (0..n).map(|i| serde_json::to_vec(&draft(i)).unwrap()).collect();
        let (rate, lat) =
            rt.block_on(post_all(cfg, &token, "/v1/records", "application/json", drafts, clients, created));
        let (p50, p99) = (quantile(&lat, 0.5), quantile(&lat, 0.99));
        println!(
            "POST /v1/records drafts, {clients} clients, durable: {rate:.0} rec/s = {:.2} × one core's sign + verify; \
             latency p50 {p50:.1} ms, p99 {p99:.1} ms",
            rate / both
        );
        let (_t2, cfg, token) = fresh();
        let batches: Vec<Vec<u8>> = (0..n.max(4000).div_ceil(1000) * 1000)
            .collect::<Vec<_>>()
            .chunks(1000)
            .map(|c| {
                c.iter().flat_map(|i| [serde_json::to_vec(&draft(*i)).unwrap(), b"\n".to_vec()].concat()).collect()
            })
            .collect();
        let (requests, _) =
            rt.block_on(post_all(cfg, &token, "/v1/records/batch", "application/x-ndjson", batches, 2, batch_created));
        let batch = requests * 1000.0;
        println!(
            "POST /v1/records/batch, 1000 drafts a request, 2 clients, durable: {batch:.0} rec/s = {:.2} × one core's \
             sign + verify",
            batch / both
        );
    }
    if !phase("query") {
        return;
    }
    // CREDFED_BENCH_DIR keeps the filled store between runs (filled once per record count).
    let tmp = tempfile::tempdir().unwrap();
    let dir =
        std::env::var("CREDFED_BENCH_DIR").map(std::path::PathBuf::from).unwrap_or_else(|_| tmp.path().to_path_buf());
    let marker = dir.join("filled.txt");
    let target = match std::fs::read_to_string(&marker) {
        Ok(s) if s.starts_with(&format!("v2 {records} ")) => s.split_whitespace().nth(2).unwrap().to_string(),
        _ => {
            let _ = std::fs::remove_dir_all(&dir);
            let cfg = init_node(&dir);
            let key = credfed_node::keyfile::read_key(&dir.join("keys/authority-1.key")).unwrap();
            let target = fill(&cfg, &key, records);
            std::fs::write(&marker, format!("v2 {records} {target}")).unwrap();
            target
        }
    };
    let token = std::fs::read_to_string(dir.join("query.token")).unwrap();
    println!("store holds {records} records ({} MiB on disk)", dir_size(&dir.join("store")) / (1 << 20));
    rt.block_on(query_bench(&dir, token, target, queries));
}

fn dir_size(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(
                    |e| {
                        if e.path().is_dir() {
                            dir_size(&e.path())
                        } else {
                            e.metadata().map(|m| m.len()).unwrap_or(0)
                        }
                    },
                )
                .sum()
        })
        .unwrap_or(0)
}
