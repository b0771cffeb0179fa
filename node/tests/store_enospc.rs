//! RELIABILITY F4 (`enospc_loopfs`, on a size-capped tmpfs) and issue 14's disk full: when the
//! disk fills up the node answers 503 `insufficient_storage` with a JSON error (its free-space
//! reserve, `store.min_free_mb`, refuses before sled meets ENOSPC) — never 500, never an ack for
//! what it could not make durable. Once space is freed the **same process** accepts again, and
//! after a restart every object it acknowledged is there and its audit log still signs.
//!
//! Needs root (to mount the tmpfs), as CI runs; elsewhere it says SKIP and passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{init_region, penalty, uscc};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A tmpfs of `mb` MiB mounted on a fresh directory, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, mb: u64) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }

    fn resize(&self, mb: u64) {
        let st = Command::new("mount").args(["-o", &format!("remount,size={mb}m")]).arg(&self.0).status().unwrap();
        assert!(st.success(), "remount {}", self.0.display());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

type Http = Client<HttpConnector, Full<Bytes>>;

async fn call(http: &Http, method: &str, url: &str, token: &str, body: Option<&Value>) -> Option<(u16, Value)> {
    let req = Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.map(|b| serde_json::to_vec(b).unwrap()).unwrap_or_default())))
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(10), http.request(req)).await.ok()?.ok()?;
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.ok()?.to_bytes();
    Some((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

fn run(config: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_credfed-node"))
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .unwrap()
}

async fn wait_healthy(http: &Http, base: &str, child: &mut Child, log: &Path) {
    let t0 = Instant::now();
    while call(http, "GET", &format!("{base}/v1/health"), "-", None).await.is_none_or(|(s, _)| s != 200) {
        if let Ok(Some(st)) = child.try_wait() {
            panic!("node exited with {st}: {}", std::fs::read_to_string(log).unwrap_or_default());
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "node not healthy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let t0 = Instant::now();
    while child.try_wait().ok().flatten().is_none() {
        if t0.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_answers_503_and_loses_no_acked_object() {
    let tmp = tempfile::tempdir().unwrap();
    // init runs with the default 64 MiB reserve: a roomy disk for it, shrunk to 12 MiB below.
    let Some(fs) = Tmpfs::mount(&tmp.path().join("data"), 128) else {
        println!("SKIP store_enospc: mounting a tmpfs needs root (CI runs as root)");
        return;
    };
    let dir = fs.0.clone();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let d = dir.clone();
    let access =
        tokio::task::spawn_blocking(move || init_region(&d, "xinyang", &format!("127.0.0.1:{port}"))).await.unwrap();
    let (config, log) = (dir.join("node.toml"), tmp.path().join("node.log"));
    // A 4 MiB reserve on the 12 MiB disk (the default 64 MiB would refuse at once).
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("min_free_mb = 64"), "init writes the default reserve");
    std::fs::write(&config, text.replace("min_free_mb = 64", "min_free_mb = 4")).unwrap();
    fs.resize(12);
    let base = format!("http://127.0.0.1:{port}");
    let http: Http = Client::builder(TokioExecutor::new()).build_http();
    let mut child = run(&config, &log);
    wait_healthy(&http, &base, &mut child, &log).await;

    // Fill the disk: ~4 KiB records until the node stops acknowledging, then 20 more tries.
    let facts = "超标排放大气污染物，".repeat(130);
    let (mut acked, mut refused, mut statuses) = (Vec::new(), 0, Vec::new());
    for i in 0..20_000u64 {
        let mut draft = penalty(&uscc(40_000 + i), "2026-06-01", "general");
        draft["facts"] = Value::String(facts.clone());
        match call(&http, "POST", &format!("{base}/v1/records"), &access.tokens.submit, Some(&draft)).await {
            Some((201, v)) => acked.push(v["id"].as_str().unwrap().to_owned()),
            Some((s, v)) => {
                assert_ne!(s, 500, "a full disk must not be a 500: {v}");
                assert!(v["error"]["code"].is_string(), "JSON error expected, got {s} {v}");
                statuses.push((s, v["error"]["code"].as_str().unwrap_or_default().to_owned()));
                refused += 1;
            }
            None => refused += 1, // the node went down (a supervisor restarts it)
        }
        if refused >= 20 {
            break;
        }
    }
    assert!(refused >= 20, "the 12 MiB disk never filled ({} acked)", acked.len());
    assert!(acked.len() > 100, "only {} acked before the disk filled", acked.len());
    assert!(
        statuses.iter().all(|(s, c)| *s == 503 && c == "insufficient_storage"),
        "the reserve refuses first, as 503 insufficient_storage: {statuses:?}"
    );
    let mut kinds: Vec<String> = statuses.iter().map(|(s, c)| format!("{s} {c}")).collect();
    kinds.dedup();
    // Free space while the node still runs: it takes submissions again without a restart.
    fs.resize(256);
    let mut without_restart = String::from("node gone");
    if child.try_wait().ok().flatten().is_none() {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            let draft = penalty(&uscc(2), "2026-06-01", "general");
            let r = call(&http, "POST", &format!("{base}/v1/records"), &access.tokens.submit, Some(&draft)).await;
            without_restart = match &r {
                Some((s, v)) => format!("{s} {}", v["error"]["code"].as_str().unwrap_or("")),
                None => "no answer".into(),
            };
            if let Some((201, v)) = &r {
                acked.push(v["id"].as_str().unwrap().to_owned());
                without_restart = format!("{without_restart}after {} ms", t0.elapsed().as_millis());
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    assert!(without_restart.starts_with("201"), "space freed, the running node still refuses: {without_restart}");
    println!(
        "FIGURE store_enospc: {} records acked on a 12 MiB tmpfs, then {refused} refused ({}); space freed, same process: {}",
        acked.len(),
        kinds.join(", "),
        without_restart.trim()
    );
    stop(child);

    // Restart: every acknowledged object is there and the audit log signs.
    let mut child = run(&config, &log);
    wait_healthy(&http, &base, &mut child, &log).await;
    for id in &acked {
        let r = call(&http, "GET", &format!("{base}/v1/objects/{id}"), &access.tokens.audit, None).await;
        assert_eq!(r.map(|r| r.0), Some(200), "acked object {id} lost after the disk filled");
    }
    let r = call(&http, "GET", &format!("{base}/v1/audit/checkpoint"), &access.tokens.audit, None).await;
    assert_eq!(r.map(|r| r.0), Some(200), "{}", std::fs::read_to_string(&log).unwrap_or_default());
    let r = call(
        &http,
        "POST",
        &format!("{base}/v1/records"),
        &access.tokens.submit,
        Some(&penalty(&uscc(1), "2026-06-01", "general")),
    )
    .await;
    assert_eq!(r.map(|r| r.0), Some(201), "submissions resume once space is free");
    stop(child);
}
