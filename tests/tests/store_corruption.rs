//! RELIABILITY F2 `store_corruption`: a damaged store is refused with `store_corrupt` (the node
//! never serves), and `credfed-admin store rebuild --from-peers` refills a fresh store from two
//! peers up to the pre-corruption feed heads — this region's own feed included — after which
//! the node serves the same answers with the same tokens and continues its feed without
//! equivocating.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use credfed_tests::net::{files_under, Run, TestNet};
use credfed_tests::{days_ago, node_binary, store_rebuild, today, uscc, wait_until};
use rand_core::RngCore;
use serde_json::{json, Value};

const SYNC_MS: u64 = 300;

/// How a copy of the store is damaged.
#[derive(Clone, Copy, Debug)]
enum Damage {
    /// Flip this many random bytes of the store's files.
    Flip(usize),
    /// Cut the most recently written file in half.
    TruncateNewest,
}

fn damage(store: &Path, how: Damage) -> String {
    let mut files: Vec<PathBuf> =
        files_under(store).into_iter().filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0)).collect();
    files.sort();
    match how {
        Damage::Flip(n) => {
            // Spread over the bytes of every file, weighted by size.
            let total: u64 = files.iter().map(|f| std::fs::metadata(f).map_or(0, |m| m.len())).sum();
            let mut done = Vec::new();
            for _ in 0..n {
                let mut at = rand_core::OsRng.next_u64() % total;
                for f in &files {
                    let len = std::fs::metadata(f).map_or(0, |m| m.len());
                    if at < len {
                        let mut b = std::fs::read(f).expect("read store file");
                        b[at as usize] ^= 1 << (rand_core::OsRng.next_u32() % 8);
                        std::fs::write(f, b).expect("write store file");
                        done.push(format!("{}@{at}", f.file_name().unwrap_or_default().to_string_lossy()));
                        break;
                    }
                    at -= len;
                }
            }
            format!("flipped {n} bits: {}", done.join(" "))
        }
        Damage::TruncateNewest => {
            let newest = files
                .iter()
                .max_by_key(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
                .expect("store has files");
            let len = std::fs::metadata(newest).expect("metadata").len();
            std::fs::OpenOptions::new().write(true).open(newest).and_then(|f| f.set_len(len / 2)).expect("truncate");
            format!("truncated {} from {len} to {} bytes", newest.display(), len / 2)
        }
    }
}

/// Inverts 64 bytes early in sled's log, where open-time recovery always reads.
fn damage_log(store: &Path) {
    let db = store.join("db");
    let mut b = std::fs::read(&db).expect("read db");
    b[3000..3064].iter_mut().for_each(|x| *x ^= 0xff);
    std::fs::write(&db, b).expect("write db");
}

/// Runs `credfed-node run` on `config`: `Ok(stderr)` when it exits non-zero without ever
/// answering `/v1/health`; `Err` (with the reason) when it served, or exited zero.
fn run_must_refuse(config: &Path, health: &str) -> Result<String, String> {
    let mut child = Command::new(node_binary())
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            return if status.success() { Err(format!("exited 0: {err}")) } else { Ok(err) };
        }
        if curl_ok(health) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("answered /v1/health".into());
        }
        if t0.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("neither exited nor served within 20 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A bare HTTP/1.1 GET returning whether the status was 200 (no client on purpose: the node
/// under test may be half up).
fn curl_ok(url: &str) -> bool {
    use std::io::{Read, Write};
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let Ok(mut s) = std::net::TcpStream::connect(host) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    s.read(&mut buf).is_ok_and(|n| buf[..n].starts_with(b"HTTP/1.1 200"))
}

/// `credfed-admin --json store check DIR`: the report when the store opens with no problem.
fn store_check(store: &Path) -> Result<Value, String> {
    let out = credfed_tests::admin(["--json", "store", "check", &store.to_string_lossy()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("exit {:?}: {text}", out.status.code()));
    }
    serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
}

fn same_content(a: &Value, b: &Value) -> bool {
    ["objects_by_type", "feed_heads", "audit_size", "audit_root", "checkpoint"].iter().all(|k| a[k] == b[k])
}

fn copy_tree(from: &Path, to: &Path) {
    credfed_node::rebuild::copy_dir(from, to).expect("copy store");
}

async fn statuses(net: &TestNet, region: &str, subjects: &[String]) -> anyhow::Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for s in subjects {
        for r in net.subject(region, s).await? {
            out.push((r["id"].as_str().unwrap_or_default().to_owned(), r["status"].clone()));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_store_is_refused_and_rebuilt_from_two_peers() -> anyhow::Result<()> {
    let mut net = TestNet::new(3, SYNC_MS).await?;
    net.start_all(Run::Process).await?;
    net.set_policy("xinyang", &json!({ "shared_entitled": ["suzhou"] })).await?;

    // Xinyang's own feed: public, shared and restricted penalties, a repair of one of them, and
    // (below) a receipt for Suzhou's repair; Suzhou's feed: records and a repair.
    let mut subjects = Vec::new();
    let mut ids = Vec::new();
    for (i, class) in ["public"; 30].iter().chain(&["shared"; 4]).chain(&["restricted"; 2]).enumerate() {
        let s = uscc("411500", 9100 + i as u64);
        ids.push((
            net.submit_penalty("xinyang", &s, "general", days_ago(210), class, &format!("f2 {i}")).await?,
            *class,
        ));
        // Restricted bodies never leave xinyang: they cannot come back (counted below).
        if *class != "restricted" {
            subjects.push(s);
        }
    }
    let r = net.repair("xinyang", &ids[0].0, today()).await?;
    assert_eq!(r.status, 201, "{}", r.text());
    let sz = uscc("320500", 9200);
    let sz_id = net.submit_penalty("suzhou", &sz, "general", days_ago(210), "public", "f2 suzhou").await?;
    wait_until(Duration::from_secs(20), "suzhou's record at xinyang", || async {
        net.object("xinyang", &sz_id).await.is_ok_and(|r| r.status == 200)
    })
    .await?;
    let r = net.repair("suzhou", &sz_id, today()).await?;
    assert_eq!(r.status, 201, "{}", r.text());
    subjects.push(sz);
    wait_until(Duration::from_secs(20), "xinyang's receipt for suzhou's repair", || async {
        net.record("suzhou", &sz_id, "audit").await.is_ok_and(|r| r.json["applied_by"].to_string().contains("xinyang"))
    })
    .await?;
    net.wait_converged(Duration::from_secs(20)).await?;
    // Equal heads are not equal bodies: shared bodies never travel on gossip, so Suzhou (the
    // one region entitled to them) fetches them from Xinyang on a later sync round. The rebuild
    // below can only get back what a peer holds.
    wait_until(Duration::from_secs(20), "suzhou holds xinyang's shared bodies", || async {
        let mut all = true;
        for (id, class) in &ids {
            if *class == "shared" {
                all &= net.object("suzhou", id).await.is_ok_and(|r| r.status == 200);
            }
        }
        all
    })
    .await?;
    let before = net.feeds("xinyang").await?;
    let statuses_before = statuses(&net, "xinyang", &subjects).await?;
    assert!(before["xinyang"] >= 40, "{before:?}");
    net.stop("xinyang").await;

    // Damaged copies: every one refused with store_corrupt, never served.
    let city = net.city("xinyang").clone();
    let store = city.dir.join("store");
    let good = net.path().join("xinyang-store.good");
    copy_tree(&store, &good);
    let health = net.url("xinyang", "/v1/health");
    let reference = store_check(&good).expect("the undamaged store passes store check");
    let (mut refused, mut harmless) = (0, 0);
    let mut survived = Vec::new();
    for how in [Damage::Flip(1), Damage::Flip(8), Damage::Flip(64), Damage::TruncateNewest] {
        for round in 0..3 {
            let _ = std::fs::remove_dir_all(&store);
            copy_tree(&good, &store);
            let what = damage(&store, how);
            // Diagnosed before the node runs (the check works on a copy; a node that starts
            // writes to the store).
            let checked = store_check(&store);
            match tokio::task::block_in_place(|| run_must_refuse(&city.config, &health)) {
                Ok(err) => {
                    assert!(err.contains("store_corrupt"), "{how:?} #{round} ({what}): no store_corrupt in: {err}");
                    refused += 1;
                }
                // sled checks every live log message (CRC) at open, but not bytes it no longer
                // reads (superseded page versions, segment slack). A flip there changes nothing
                // a reader sees: acceptable only when a full `store check` (every envelope's
                // signature, every feed chain, every audit leaf, the Merkle root) finds the
                // store intact and identical in content to the undamaged one.
                Err(why) => match checked {
                    Ok(v) if same_content(&v, &reference) => harmless += 1,
                    Ok(v) => survived.push(format!("{how:?} #{round} ({what}): {why}; content differs: {v}")),
                    Err(e) => survived.push(format!("{how:?} #{round} ({what}): {why}; store check: {e}")),
                },
            }
        }
    }
    println!(
        "FIGURE store_corruption: of 12 damaged stores {refused} refused with store_corrupt, {harmless} damaged only \
         bytes sled no longer reads (store check: intact, same content), {} served damage",
        survived.len()
    );
    assert!(survived.is_empty(), "damaged stores that were not refused:\n{}", survived.join("\n"));

    // A store damaged where sled reads at open is rebuilt from Suzhou and Lu'an.
    let _ = std::fs::remove_dir_all(&store);
    copy_tree(&good, &store);
    damage_log(&store);
    tokio::task::block_in_place(|| run_must_refuse(&city.config, &health)).expect("a damaged log is refused");
    let t0 = Instant::now();
    let out = tokio::task::block_in_place(|| store_rebuild(&city.dir, &["--timeout", "120"]));
    let took = t0.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "rebuild: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_str(&stdout)?;
    assert_eq!(report["complete"], true, "{report}");
    assert_eq!(report["peers_heard"], 2, "{report}");
    assert_eq!(
        report["own_bodies_missing"],
        2,
        "the two restricted bodies never left xinyang: {report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report["restored"]["tokens"].as_u64() >= Some(4), "{report}");
    let previous = PathBuf::from(report["previous"].as_str().expect("moved-aside path"));
    assert!(previous.join("db").exists(), "the damaged store is kept at {}", previous.display());
    for (origin, seq) in &before {
        assert_eq!(report["heads"][origin].as_u64(), Some(*seq), "head of {origin} after rebuild: {report}");
    }
    println!(
        "FIGURE store_rebuild: {} objects, heads {:?} restored from 2 peers in {} ms",
        report["objects"],
        before,
        took.as_millis()
    );

    // The rebuilt node serves the same answers, with the same tokens.
    net.restart("xinyang").await?;
    assert_eq!(net.feeds("xinyang").await?, before);
    assert_eq!(statuses(&net, "xinyang", &subjects).await?, statuses_before);
    for (id, class) in &ids {
        let r = net.object("xinyang", id).await?;
        let expect = if *class == "restricted" { 404 } else { 200 };
        assert_eq!(r.status, expect, "{class} {id} after rebuild: {}", r.text());
    }

    // Its audit log is a new log (epoch 2, after the epoch local-state.json named): both peers
    // cosign it, nobody reports a rollback or a split view.
    let cp = net.get("xinyang", "/v1/audit/checkpoint", Some("audit")).await?.text();
    assert!(cp.starts_with("credfed/xinyang/audit/2\n"), "{cp}");
    assert_eq!(report["restored"]["audit_epoch"], 2, "{report}");
    wait_until(Duration::from_secs(30), "suzhou and luan cosign xinyang's new log", || async {
        let cp = net.get("xinyang", "/v1/audit/checkpoint", Some("audit")).await.map(|r| r.text()).unwrap_or_default();
        cp.contains("\n\u{2014} suzhou ") && cp.contains("\n\u{2014} luan ")
    })
    .await?;
    assert_eq!(net.metric("xinyang", "credfed_split_views_total").await?, 0.0, "xinyang saw a rollback");
    for region in ["suzhou", "luan"] {
        let f = net.get(region, "/v1/feeds", Some("audit")).await?;
        assert_eq!(f.json["split_views"], json!([]), "{region}: {}", f.text());
    }

    // Its feed continues after the restored head, without equivocation anywhere.
    let next = net.submit_penalty("xinyang", &uscc("411500", 9300), "general", days_ago(10), "public", "after").await?;
    wait_until(Duration::from_secs(20), "the new record at suzhou", || async {
        net.object("suzhou", &next).await.is_ok_and(|r| r.status == 200)
    })
    .await?;
    assert_eq!(net.feeds("xinyang").await?["xinyang"], before["xinyang"] + 1);
    for region in ["suzhou", "luan"] {
        let f = net.get(region, "/v1/feeds", Some("audit")).await?;
        assert_eq!(f.json["equivocations"], json!([]), "{region}: {}", f.text());
    }
    net.shutdown().await;
    Ok(())
}

/// A rebuild that cannot reach its peers leaves the store in recovery (exit 1); the node then
/// refuses submissions with `recovering` (so no new entry can take a sequence number its region
/// already used) until its peers are back and it has finished the recovery by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_without_peers_stays_in_recovery_until_run_finishes_it() -> anyhow::Result<()> {
    let mut net = TestNet::new(3, SYNC_MS).await?;
    net.start_all(Run::Process).await?;
    for i in 0..10 {
        net.submit_penalty("xinyang", &uscc("411500", 9400 + i), "general", days_ago(30), "public", "f2b").await?;
    }
    net.wait_converged(Duration::from_secs(20)).await?;
    let before = net.feeds("xinyang").await?;
    for r in net.regions() {
        net.stop(&r).await;
    }
    let city = net.city("xinyang").clone();
    damage_log(&city.dir.join("store"));

    let out = tokio::task::block_in_place(|| store_rebuild(&city.dir, &["--timeout", "2"]));
    let report: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert_eq!(report["complete"], false, "{report}");
    assert!(report["previous"].as_str().is_some_and(|p| Path::new(p).join("db").exists()), "{report}");

    net.start("xinyang", Run::Process).await?;
    let draft = credfed_tests::net::penalty_draft(
        &city.anchor.name,
        &uscc("411500", 9499),
        "general",
        days_ago(5),
        "public",
        "during recovery",
    );
    let r = net.submit("xinyang", &draft).await?;
    assert_eq!((r.status, r.json["error"]["code"].as_str()), (503, Some("recovering")), "{}", r.text());

    let t0 = Instant::now();
    net.start("suzhou", Run::Process).await?;
    net.start("luan", Run::Process).await?;
    wait_until(Duration::from_secs(30), "xinyang accepts submissions again", || async {
        net.submit("xinyang", &draft).await.is_ok_and(|r| r.status == 201)
    })
    .await?;
    let after = net.feeds("xinyang").await?;
    assert_eq!(after["xinyang"], before["xinyang"] + 1, "{before:?} → {after:?}");
    println!(
        "FIGURE store_recovery_by_run: peers started → xinyang out of recovery, accepting again, in {} ms",
        t0.elapsed().as_millis()
    );
    net.shutdown().await;
    Ok(())
}
