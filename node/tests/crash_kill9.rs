//! RELIABILITY F1: acknowledged objects survive `kill -9`.
//!
//! Spawns the real `credfed-node` binary, runs concurrent submitters (record drafts and
//! pre-signed envelopes), SIGKILLs the node at a random moment (U(20 ms, 1500 ms) after it
//! answers health; ~10 % of cycles during startup), restarts it, and checks after every
//! restart: it opens, every acknowledged id is in the own feed, newly acknowledged envelopes
//! hash to their ids, the feed has no seq gaps and chains, the audit log's recomputed root
//! equals the signed checkpoint, and the checkpoint is consistent with the previous one.
//!
//! `CREDFED_CYCLES` (default 30) and `CREDFED_SEED` (printed) control the run.

mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use credfed_protocol::bundle::sample::Rng;
use credfed_protocol::checkpoint::open_checkpoint;
use credfed_protocol::envelope::{Envelope, ObjectId};
use credfed_protocol::feed::SignedFeedEntry;
use credfed_protocol::keys::PublicKey;
use credfed_protocol::merkle::{leaf_hash, root, verify_consistency, Hash};
use serde_json::Value;

/// Minimal HTTP/1.1 client (one request per connection, survives the server dying).
fn http(port: u16, method: &str, path: &str, token: &str, ctype: &str, body: &[u8]) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let status = std::str::from_utf8(&buf[9..12]).ok()?.parse().ok()?;
    Some((status, buf[split + 4..].to_vec()))
}

fn get_json(port: u16, path: &str, token: &str) -> Value {
    let (s, b) = http(port, "GET", path, token, "application/json", b"").expect("node answers");
    assert_eq!(s, 200, "{path}: {}", String::from_utf8_lossy(&b));
    serde_json::from_slice(&b).unwrap()
}

fn spawn(dir: &std::path::Path) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("node.log")).unwrap();
    Command::new(env!("CARGO_BIN_EXE_credfed-node"))
        .args(["run", "--config"])
        .arg(dir.join("node.toml"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn credfed-node")
}

fn wait_healthy(child: &mut Child, port: u16, dir: &std::path::Path) {
    let t0 = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            let log = std::fs::read_to_string(dir.join("node.log")).unwrap_or_default();
            panic!("node exited during startup ({st}); restart failed:\n{}", &log[log.len().saturating_sub(3000)..]);
        }
        if let Some((200, _)) = http(port, "GET", "/v1/health", "", "application/json", b"") {
            return;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "node not healthy after 30 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every own-feed entry: checks seq contiguity, chaining and signer; returns envelope ids.
fn check_feed(port: u16, audit: &str, key: &PublicKey) -> HashSet<ObjectId> {
    let mut ids = HashSet::new();
    let mut prev: Option<SignedFeedEntry> = None;
    let mut from = 1;
    loop {
        let v = get_json(port, &format!("/v1/feeds/xinyang?from={from}&to={}", from + 999), audit);
        let list = v["entries"].as_array().unwrap();
        for e in list {
            let entry = SignedFeedEntry::open(&hex::decode(e["entry_hex"].as_str().unwrap()).unwrap()).unwrap();
            assert_eq!(entry.entry.seq, from, "feed seq gap");
            assert_eq!(&entry.signer, key);
            if let Some(p) = &prev {
                p.check_next(&entry).expect("feed chains");
            }
            ids.insert(entry.entry.envelope_id);
            prev = Some(entry);
            from += 1;
        }
        if list.len() < 1000 {
            return ids;
        }
    }
}

/// Recomputes the audit root from every leaf and compares it with the signed checkpoint.
fn check_audit(port: u16, audit: &str, key: &PublicKey) -> (u64, Hash) {
    let (s, note) = http(port, "GET", "/v1/audit/checkpoint", audit, "", b"").unwrap();
    assert_eq!(s, 200);
    let cp = open_checkpoint(std::str::from_utf8(&note).unwrap(), "xinyang", key)
        .expect("checkpoint signed by the node key");
    let mut leaves: Vec<Hash> = Vec::new();
    while (leaves.len() as u64) < cp.size {
        let v = get_json(port, &format!("/v1/audit/entries?start={}&end={}", leaves.len(), cp.size), audit);
        let es = v["entries"].as_array().unwrap();
        assert!(!es.is_empty());
        for e in es {
            let bytes = hex::decode(e["leaf_hex"].as_str().unwrap()).unwrap();
            assert_eq!(hex::encode(leaf_hash(&bytes)), e["leaf_hash"].as_str().unwrap());
            leaves.push(leaf_hash(&bytes));
        }
    }
    assert_eq!(root(&leaves), cp.root, "audit root recomputed from leaves equals the signed checkpoint");
    (cp.size, cp.root)
}

#[test]
fn acked_objects_survive_kill9() {
    let cycles: u64 = std::env::var("CREDFED_CYCLES").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let seed: u64 =
        std::env::var("CREDFED_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| now() ^ 0x9e37_79b9);
    println!("crash_kill9: CREDFED_SEED={seed} CREDFED_CYCLES={cycles}");
    let mut rng = Rng::new(seed);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let access = init_region(&dir, "xinyang", &format!("127.0.0.1:{port}"));
    let auth_key = credfed_node::keyfile::read_key(&dir.join("keys/authority-1.key")).unwrap();
    let node_key = credfed_node::keyfile::read_key(&dir.join("keys/node.key")).unwrap().public();
    let (submit, audit) = (access.tokens.submit.clone(), access.tokens.audit.clone());
    let acked: Arc<Mutex<Vec<ObjectId>>> = Arc::default();
    let counter = Arc::new(AtomicU64::new(0));
    let (mut verified, mut startup_kills, mut last_cp): (usize, u64, Option<(u64, Hash)>) = (0, 0, None);
    for cycle in 0..cycles {
        let mut child = spawn(&dir);
        if rng.range(0, 100) < 10 {
            std::thread::sleep(Duration::from_millis(rng.range(1, 60)));
            child.kill().unwrap();
            child.wait().unwrap();
            startup_kills += 1;
            continue;
        }
        wait_healthy(&mut child, port, &dir);
        // Verify everything acknowledged before this restart.
        let feed = check_feed(port, &audit, &node_key);
        let all = acked.lock().unwrap().clone();
        let lost: Vec<_> = all.iter().filter(|id| !feed.contains(id)).collect();
        assert!(lost.is_empty(), "cycle {cycle}: {} acked objects lost, e.g. {}", lost.len(), lost[0]);
        for id in &all[verified..] {
            let v = get_json(port, &format!("/v1/records/{id}"), &audit);
            let env = Envelope::decode(&hex::decode(v["envelope_hex"].as_str().unwrap()).unwrap()).unwrap();
            assert_eq!(ObjectId::of(&env.body), *id, "stored body hashes to its id");
        }
        verified = all.len();
        let cp = check_audit(port, &audit, &node_key);
        if let Some((size, old_root)) = last_cp {
            let v = get_json(port, &format!("/v1/audit/proof/consistency?from={size}&to={}", cp.0), &audit);
            let proof: Vec<Hash> = v["proof"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| hex::decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
                .collect();
            verify_consistency(size, cp.0, &old_root, &cp.1, &proof).expect("new checkpoint extends the previous one");
        }
        last_cp = Some(cp);
        // Load, then kill at a random moment.
        let stop = Arc::new(AtomicBool::new(false));
        let mut writers = Vec::new();
        for w in 0..3u64 {
            let (stop, acked, counter, submit, key) =
                (stop.clone(), acked.clone(), counter.clone(), submit.clone(), auth_key.clone());
            writers.push(std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    let r = if w == 2 {
                        let env = signed_record(&key, "xinyang", &uscc(n), days_ago(3), now());
                        http(port, "POST", "/v1/envelopes", &submit, "application/cbor", &env)
                    } else {
                        let body = serde_json::to_vec(&penalty(&uscc(n), "2026-01-05", "general")).unwrap();
                        http(port, "POST", "/v1/records", &submit, "application/json", &body)
                    };
                    match r {
                        Some((201 | 200, b)) => {
                            let v: Value = serde_json::from_slice(&b).unwrap();
                            acked.lock().unwrap().push(v["id"].as_str().unwrap().parse().unwrap());
                        }
                        Some((s, b)) if s < 500 => panic!("unexpected {s}: {}", String::from_utf8_lossy(&b)),
                        _ => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            }));
        }
        std::thread::sleep(Duration::from_millis(rng.range(20, 1500)));
        child.kill().unwrap();
        child.wait().unwrap();
        stop.store(true, Ordering::SeqCst);
        for w in writers {
            w.join().unwrap();
        }
    }
    // Final restart and full check.
    let mut child = spawn(&dir);
    wait_healthy(&mut child, port, &dir);
    let feed = check_feed(port, &audit, &node_key);
    let all = acked.lock().unwrap().clone();
    let lost = all.iter().filter(|id| !feed.contains(id)).count();
    check_audit(port, &audit, &node_key);
    child.kill().unwrap();
    child.wait().unwrap();
    println!(
        "crash_kill9: cycles={cycles} startup_kills={startup_kills} acked={} lost={lost} feed_len={} seed={seed}",
        all.len(),
        feed.len()
    );
    assert_eq!(lost, 0);
}
