//! The reliability scoreboard (RELIABILITY §5, issue 15): figures from real runs, one line each,
//! and exit 1 when any figure breaks its bound (a loss, a panic, a 5xx, an accepted forgery, an
//! undetected mutation, an honest request over its latency bound).
//!
//! ```text
//! cargo run -p credfed-tests --bin scoreboard [-- --short]
//! ```
//!
//! * attacks on a `credfed-node` process (its own address space, so VmHWM is its RSS peak):
//!   300 slow-body sockets, 300 slow-header sockets, one client flooding from 200 keep-alive
//!   connections. Honest `GET /v1/health` and durable `POST /v1/records` run throughout, from
//!   the attacker's own address and from another; p50/p99 in ms (bound: p99 < 1 s), then the
//!   time until the API answers in < 100 ms once the attack stops (bound: 2 s);
//! * schemathesis (PyPI) over the node's whole OpenAPI, one run per token scope; the node's
//!   own counters then give the 5xx and panic totals (bound: 0). Without schemathesis the row
//!   is skipped, unless `CI` is set (then it fails);
//! * 1 000 forged or mis-scoped envelopes posted to a live node (bound: 0 accepted, and the
//!   untouched control envelope accepted);
//! * kill -9 cycles and audit-bundle mutations: the `crash_kill9` and `audit_mutation` tests
//!   are the instruments (one way to measure each thing); their figure lines are read back;
//! * network faults (`credfed-tests`' `net_faults`): convergence under 500 ms latency and 30 %
//!   TCP-style loss, a one-way nftables cut, ±10 min clock skew; their figure lines are read
//!   back.
//!   `--short` runs 3 kill cycles instead of 30 and shorter attacks.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use credfed_protocol::keys::SecretKey;
use credfed_protocol::objects::{Body, Nonce, RecordBody, Subject};
use credfed_protocol::RegionId;
use credfed_tests::{days_ago, now, penalty_draft, percentile, uscc, Run, TestNet};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use rand_core::OsRng;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const REGION: &str = "xinyang";

struct Board {
    failed: Vec<String>,
}

impl Board {
    fn row(&mut self, name: &str, figure: String, ok: bool) {
        println!("{:<4} {name:<34} {figure}", if ok { "ok" } else { "FAIL" });
        if !ok {
            self.failed.push(name.to_string());
        }
    }
}

async fn connect_from(src: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::from((src, 0)))?;
    s.connect(to).await
}

/// One request on a fresh connection from `src`, with a 10 s bound; the status.
async fn request_from(src: [u8; 4], to: SocketAddr, req: Request<Full<Bytes>>) -> anyhow::Result<u16> {
    let go = async {
        let stream = connect_from(src, to).await?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let resp = send.send_request(req).await?;
        let status = resp.status().as_u16();
        resp.into_body().collect().await?;
        anyhow::Ok(status)
    };
    tokio::time::timeout(Duration::from_secs(10), go).await.context("no answer within 10 s")?
}

fn health() -> Request<Full<Bytes>> {
    Request::get("/v1/health").header("host", "node").body(Full::new(Bytes::new())).expect("request")
}

fn post_record(token: &str, n: u64) -> Request<Full<Bytes>> {
    let mut d = penalty_draft("信阳市", &uscc("411500", 50_000 + n), "serious", days_ago(3), "public", "scoreboard");
    d["decision_no"] = Value::from(format!("信环罚〔2026〕{}号", 50_000 + n));
    Request::post("/v1/records")
        .header("host", "node")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(&d).expect("json"))))
        .expect("request")
}

#[derive(Clone, Copy)]
enum Attack {
    SlowBody,
    SlowHeader,
    Flood,
}

/// Keeps `n` attacker connections open from `src` until `stop`, reconnecting when shed.
async fn attack(kind: Attack, n: usize, src: [u8; 4], to: SocketAddr, token: String, stop: Arc<AtomicBool>) {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (token, stop) = (token.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut s) = connect_from(src, to).await else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                match kind {
                    Attack::SlowBody => {
                        let head = format!(
                            "POST /v1/records HTTP/1.1\r\nhost: node\r\nauthorization: Bearer {token}\r\n\
                             content-type: application/json\r\ncontent-length: 200000\r\n\r\n{{"
                        );
                        let _ = s.write_all(head.as_bytes()).await;
                        hold(&mut s, &stop, None).await;
                    }
                    Attack::SlowHeader => {
                        let _ = s.write_all(b"GET /v1/health HTTP/1.1\r\nhost: node\r\nx-slow: ").await;
                        hold(&mut s, &stop, Some(b'a')).await;
                    }
                    Attack::Flood => {
                        let req =
                            format!("GET /v1/schemes HTTP/1.1\r\nhost: node\r\nauthorization: Bearer {token}\r\n\r\n");
                        let mut buf = vec![0u8; 16 * 1024];
                        while !stop.load(Ordering::Relaxed) {
                            if s.write_all(req.as_bytes()).await.is_err() {
                                break;
                            }
                            match tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await {
                                Ok(Ok(k)) if k > 0 => {}
                                _ => break,
                            }
                        }
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// Holds a connection until the server closes it or `stop`; trickles `byte` once a second.
async fn hold(s: &mut TcpStream, stop: &AtomicBool, byte: Option<u8>) {
    let mut buf = [0u8; 1024];
    while !stop.load(Ordering::Relaxed) {
        match tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(_)) => {}
            Err(_) => {
                if let Some(b) = byte {
                    if s.write_all(&[b]).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

fn vm_hwm_mib(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Honest traffic during an attack; (health latencies, POST latencies, failures).
async fn honest(
    to: SocketAddr,
    src: [u8; 4],
    token: &str,
    for_: Duration,
    first: u64,
) -> (Vec<Duration>, Vec<Duration>, usize) {
    let (mut h, mut p, mut failures) = (Vec::new(), Vec::new(), 0);
    let t0 = Instant::now();
    let mut n = first;
    while t0.elapsed() < for_ {
        let t = Instant::now();
        match request_from(src, to, health()).await {
            Ok(200) => h.push(t.elapsed()),
            _ => failures += 1,
        }
        let t = Instant::now();
        match request_from(src, to, post_record(token, n)).await {
            Ok(201) => p.push(t.elapsed()),
            _ => failures += 1,
        }
        n += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    h.sort();
    p.sort();
    (h, p, failures)
}

/// Time after the attack stopped until a health request answers within 100 ms.
async fn recovery(to: SocketAddr) -> Duration {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(30) {
        let t = Instant::now();
        if let Ok(200) = request_from([127, 0, 0, 2], to, health()).await {
            if t.elapsed() < Duration::from_millis(100) {
                return t0.elapsed();
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t0.elapsed()
}

async fn attacks(b: &mut Board, net: &TestNet, short: bool) -> anyhow::Result<()> {
    let to: SocketAddr = net.url(REGION, "").trim_start_matches("http://").trim_end_matches('/').parse()?;
    let pid = net.pid(REGION).context("node pid")?;
    let submit = net.token(REGION, "submit");
    let query = net.token(REGION, "query");
    let dur = Duration::from_secs(if short { 4 } else { 20 });
    let mut first = 0;
    for (name, kind, n, src, token) in [
        ("slow_body_300", Attack::SlowBody, 300, [127, 0, 0, 1], submit.clone()),
        ("slow_header_300", Attack::SlowHeader, 300, [127, 0, 0, 1], submit.clone()),
        ("per_client_flood_200", Attack::Flood, 200, [127, 0, 0, 3], query.clone()),
    ] {
        let stop = Arc::new(AtomicBool::new(false));
        let attacker = tokio::spawn(attack(kind, n, src, to, token, stop.clone()));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let mut rows = Vec::new();
        for honest_src in [[127, 0, 0, 1], [127, 0, 0, 2]] {
            let (h, p, failures) = honest(to, honest_src, &submit, dur / 2, first).await;
            first += 10_000;
            rows.push((honest_src, h, p, failures));
        }
        stop.store(true, Ordering::Relaxed);
        let _ = attacker.await;
        let rec = recovery(to).await;
        for (src, h, p, failures) in rows {
            let (h99, p99) = (percentile(&h, 0.99), percentile(&p, 0.99));
            let ok = failures == 0
                && !h.is_empty()
                && !p.is_empty()
                && h99 < Duration::from_secs(1)
                && p99 < Duration::from_secs(1);
            b.row(
                &format!("{name} honest@127.0.0.{}", src[3]),
                format!(
                    "health p50/p99 {:.1}/{:.1} ms · durable POST p50/p99 {:.1}/{:.1} ms · {} ok, {failures} failed",
                    ms(percentile(&h, 0.5)),
                    ms(h99),
                    ms(percentile(&p, 0.5)),
                    ms(p99),
                    h.len() + p.len()
                ),
                ok,
            );
        }
        b.row(
            &format!("{name} recovery"),
            format!("{:.0} ms until a < 100 ms answer (bound 2 s)", ms(rec)),
            rec < Duration::from_secs(2),
        );
    }
    let hwm = vm_hwm_mib(pid);
    b.row(
        "node peak RSS through the attacks",
        format!("{hwm:.0} MiB (VmHWM; bound 300 MiB)"),
        hwm > 0.0 && hwm < 300.0,
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn forgeries(b: &mut Board, net: &TestNet) -> anyhow::Result<()> {
    let authority = net.key(REGION, "authority-1.key");
    let node_key = net.key(REGION, "node.key");
    let stranger = SecretKey::generate(&mut OsRng);
    let record = |n: u64, region: &str| {
        let content = credfed_protocol::bundle::sample::penalty(
            Subject::Uscc(uscc("411500", 90_000 + n).parse().expect("uscc")),
            format!("信伪罚〔2026〕{n}号"),
            days_ago(3),
        );
        let region: RegionId = region.parse().expect("region");
        Body::Record(RecordBody { region, signed_at: now(), nonce: Nonce::random(&mut OsRng), record: content })
    };
    let url = net.url(REGION, "/v1/envelopes");
    let token = net.token(REGION, "submit");
    let post = |bytes: Vec<u8>| {
        let (url, token) = (url.clone(), token.clone());
        async move { net.http.call("POST", &url, Some(&token), Some(("application/cbor", bytes))).await }
    };
    let control = post(record(0, REGION).sign(&authority).encode()).await?;
    let mut accepted = 0;
    let mut sent = 0;
    for n in 1..=1000u64 {
        let bytes = match n % 4 {
            0 => record(n, REGION).sign(&stranger).encode(),    // unknown signer
            1 => record(n, REGION).sign(&node_key).encode(),    // node key: not an authority
            2 => record(n, "suzhou").sign(&authority).encode(), // another region's object
            _ => {
                let mut e = record(n, REGION).sign(&authority).encode(); // signature bit flipped
                let last = e.len() - 1;
                e[last] ^= 0x01;
                e
            }
        };
        let r = post(bytes).await?;
        sent += 1;
        if r.status < 300 {
            accepted += 1;
        }
    }
    b.row(
        "forged or mis-scoped envelopes",
        format!("{accepted} accepted of {sent} (control envelope: {})", control.status),
        accepted == 0 && control.status == 201,
    );
    Ok(())
}

fn schemathesis(b: &mut Board, net: &TestNet, short: bool) -> anyhow::Result<()> {
    let have = Command::new("schemathesis").arg("--version").output().is_ok_and(|o| o.status.success());
    if !have {
        let ci = std::env::var_os("CI").is_some();
        b.row("schemathesis", "not installed (pip install schemathesis)".into(), !ci);
        return Ok(());
    }
    let schema = net.url(REGION, "/v1/openapi.json");
    let base = net.url(REGION, "");
    let examples = if short { "8" } else { "60" };
    let mut runs = Vec::new();
    for (scope, x) in
        [("submit", "submit"), ("query", "query (or audit)"), ("audit", "audit"), ("admin", "admin"), ("admin", "none")]
    {
        let token = net.token(REGION, scope);
        let o = Command::new("schemathesis")
            .args(["run", &schema, "--url", base.trim_end_matches('/')])
            .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance"])
            .args(["--max-examples", examples, "--workers", "2", "--request-timeout", "15", "--warnings", "off"])
            .args(["--phases", "examples,coverage,fuzzing"])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .args(["--include-by", &format!("/x-scope == \"{x}\"")])
            // CBOR bodies are beyond schemathesis' serializers; node/tests/api_limits.rs drives
            // that route with arbitrary bytes instead.
            .args(["--exclude-path", "/v1/envelopes"])
            // A long poll holds a request up to `wait` seconds by design (beyond the request
            // timeout); node/tests/api_limits.rs drives its parameters and node/tests/api_changes.rs
            // its contract.
            .args(["--exclude-path", "/v1/changes"])
            .env("NO_COLOR", "1")
            .output()
            .context("running schemathesis")?;
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        let summary = out
            .lines()
            .rev()
            .find(|l| l.contains("passed") || l.contains("failed") || l.contains("error"))
            .unwrap_or("")
            .trim()
            .to_string();
        if !o.status.success() {
            eprintln!("schemathesis ({scope}, {x}) output:\n{out}\n{}", String::from_utf8_lossy(&o.stderr));
        }
        runs.push((x.to_string(), o.status.success(), summary));
    }
    for (x, ok, summary) in runs {
        b.row(&format!("schemathesis scope={x}"), summary, ok);
    }
    Ok(())
}

/// Sums the node's `credfed_http_requests_total` for 5xx statuses, and its panics.
async fn server_errors(net: &TestNet) -> anyhow::Result<(f64, f64)> {
    let r = net.http.get(&format!("http://{}/metrics", net.admin[net.idx(REGION)]), None).await?;
    let text = r.text();
    let mut fives = 0.0;
    let mut panics = 0.0;
    for l in text.lines() {
        let value = || l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        if l.starts_with("credfed_http_requests_total{") && l.contains("status=\"5") {
            fives += value();
        }
        if l.starts_with("credfed_http_panics_total ") {
            panics += value();
        }
    }
    Ok((fives, panics))
}

/// Runs a figure-printing test and returns the line starting with `prefix`.
fn instrument(pkg: &str, test: &str, prefix: &str, env: &[(&str, &str)]) -> anyhow::Result<(bool, String)> {
    let (ok, mut lines) = instrument_lines(pkg, test, &[prefix], env)?;
    Ok((ok, lines.remove(0)))
}

/// Runs a figure-printing test and returns, for each prefix, the line (from the prefix on)
/// holding it.
fn instrument_lines(
    pkg: &str,
    test: &str,
    prefixes: &[&str],
    env: &[(&str, &str)],
) -> anyhow::Result<(bool, Vec<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let o = Command::new(cargo)
        .args(["test", "-q", "--locked", "-p", pkg, "--test", test, "--", "--nocapture", "--test-threads", "1"])
        .envs(env.iter().copied())
        .output()
        .with_context(|| format!("cargo test -p {pkg} --test {test}"))?;
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let lines: Vec<Option<String>> =
        // `-q` prints each test's progress mark (`.`, `i`) on the line a figure then starts on.
        prefixes.iter().map(|p| out.lines().find_map(|l| l.find(p).map(|i| l[i..].to_string()))).collect();
    if !o.status.success() || lines.iter().any(Option::is_none) {
        eprintln!("{test} output:\n{out}\n{}", String::from_utf8_lossy(&o.stderr));
    }
    let lines = lines.into_iter().zip(prefixes).map(|(l, p)| l.unwrap_or_else(|| format!("no `{p}` line"))).collect();
    Ok((o.status.success(), lines))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let short = std::env::args().any(|a| a == "--short");
    if let Some(bad) = std::env::args().skip(1).find(|a| a != "--short") {
        bail!("unknown argument {bad:?}; usage: scoreboard [--short]");
    }
    let mut b = Board { failed: Vec::new() };
    println!(
        "credfed reliability scoreboard ({}; {} cores)",
        if short { "short" } else { "full" },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut net = TestNet::new(1, 500).await?;
    net.start(REGION, Run::Process).await?;
    attacks(&mut b, &net, short).await?;
    forgeries(&mut b, &net).await?;
    schemathesis(&mut b, &net, short)?;
    let (fives, panics) = server_errors(&net).await?;
    b.row("5xx answers / handler panics (whole run)", format!("{fives} / {panics}"), fives == 0.0 && panics == 0.0);
    net.shutdown().await;

    let cycles = if short { "3" } else { "30" };
    let (ok, line) = instrument("credfed-node", "crash_kill9", "crash_kill9: cycles=", &[("CREDFED_CYCLES", cycles)])?;
    b.row("kill -9 cycles: acked records lost", line, ok);
    let (ok, line) = instrument("credfed-admin", "audit_mutation", "audit_mutation ", &[])?;
    b.row("audit mutations undetected", line, ok);
    // Network faults (issue 14 §3): each test asserts its own bound; a failure fails all three
    // rows. Lines start after "FIGURE net_faults ".
    let prefixes = ["FIGURE net_faults latency+loss", "FIGURE net_faults one-way nft", "FIGURE net_faults clock skew"];
    let (ok, lines) = instrument_lines("credfed-tests", "net_faults", &prefixes, &[])?;
    let names = [
        "500 ms latency, 30% loss: convergence",
        "one-way nft cut: records via third",
        "clock ±10 min: refusals, convergence",
    ];
    for (name, line) in names.iter().zip(lines) {
        let figure = line.strip_prefix("FIGURE net_faults ").map(str::to_string).unwrap_or(line);
        b.row(name, figure, ok);
    }

    if b.failed.is_empty() {
        println!("scoreboard: every figure within its bound");
        Ok(())
    } else {
        println!("scoreboard: FAILED: {}", b.failed.join(", "));
        std::process::exit(1);
    }
}
