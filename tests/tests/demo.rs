//! `credfed-node demo --dir TMP --cities 3` (DESIGN §8), driven as a newcomer's script would:
//! it starts, writes `demo.json` in the documented shape, a record submitted at one city is
//! queryable at another within 10 s, and SIGTERM stops the demo and every city it started.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use credfed_tests::http::Http;
use credfed_tests::net::terminate;
use credfed_tests::{days_ago, node_binary, penalty_draft, serial_lock, uscc, wait_until};
use serde_json::Value;

/// Whether `pid` is gone (or a zombie nobody waits for).
fn exited(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_starts_writes_manifest_federates_and_stops_on_sigterm() -> anyhow::Result<()> {
    let _serial = serial_lock();
    let dir = tempfile::Builder::new().prefix("credfed-demo-").tempdir()?;
    let log = std::fs::File::create(dir.path().join("demo.log"))?;
    let child = Command::new(node_binary())
        .args(["demo", "--cities", "3", "--dir"])
        .arg(dir.path().join("fed"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    let demo_pid = child.id();
    let manifest = dir.path().join("fed/demo.json");
    let started = wait_until(Duration::from_secs(60), "demo.json written", || async {
        std::fs::read(&manifest).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()).is_some()
    })
    .await;
    if let Err(e) = started {
        let log = std::fs::read_to_string(dir.path().join("demo.log")).unwrap_or_default();
        let _ = terminate(child, Duration::from_secs(5));
        anyhow::bail!("{e}\ndemo log:\n{log}");
    }
    println!("demo up in {:?}", started?);
    let m: Value = serde_json::from_slice(&std::fs::read(&manifest)?)?;

    // Shape (DESIGN §8).
    let cities = m["cities"].as_array().expect("cities array");
    let regions: Vec<&str> = cities.iter().map(|c| c["region"].as_str().expect("region")).collect();
    assert_eq!(regions, ["xinyang", "suzhou", "luan"]);
    let mut pids = Vec::new();
    for c in cities {
        let api = c["api"].as_str().expect("api");
        assert!(api.starts_with("http://127.0.0.1:"), "{c}");
        let p2p = c["p2p"].as_str().expect("p2p");
        assert!(p2p.starts_with("/ip4/127.0.0.1/tcp/") && p2p.contains("/p2p/12D3KooW"), "{c}");
        assert!(std::path::Path::new(c["config"].as_str().expect("config")).is_file(), "{c}");
        let pid = c["pid"].as_u64().expect("pid");
        assert!(!exited(pid), "city process {pid} runs");
        pids.push(pid);
        for scope in ["submit", "query", "audit", "admin"] {
            assert!(c["tokens"][scope].as_str().is_some_and(|t| !t.is_empty()), "token {scope}: {c}");
        }
    }

    // Scripted walk: submit at Xinyang, query at Suzhou.
    let http = Http::new();
    let (xy, sz) = (&cities[0], &cities[1]);
    let subject = uscc("411500", 8801);
    let draft = penalty_draft("信阳市", &subject, "general", days_ago(20), "public", "demo walk");
    let r = http
        .send_json(
            "POST",
            &format!("{}/v1/records", xy["api"].as_str().unwrap_or_default()),
            xy["tokens"]["submit"].as_str(),
            &draft,
        )
        .await?;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json["id"].as_str().expect("id").to_owned();
    let url = format!("{}/v1/subjects/{subject}/records", sz["api"].as_str().unwrap_or_default());
    let t0 = Instant::now();
    wait_until(Duration::from_secs(10), "the record is queryable at suzhou", || async {
        http.get(&url, sz["tokens"]["query"].as_str())
            .await
            .is_ok_and(|r| r.json["records"].as_array().is_some_and(|a| a.iter().any(|x| x["id"] == id.as_str())))
    })
    .await?;
    println!("demo walk: submitted at xinyang, queryable at suzhou after {:?}", t0.elapsed());

    // SIGTERM the demo: it stops its cities and exits.
    let status = tokio::task::spawn_blocking(move || terminate(child, Duration::from_secs(40))).await?;
    let status = status.expect("demo exit status");
    assert!(status.success(), "demo exited with {status}");
    for pid in pids {
        wait_until(Duration::from_secs(5), &format!("city pid {pid} exited"), || async { exited(pid) }).await?;
    }
    assert!(exited(u64::from(demo_pid)));
    Ok(())
}
