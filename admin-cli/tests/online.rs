//! Every online command group against a real node (credfed-node library on 127.0.0.1:0),
//! driven through the `credfed-admin` binary.

mod common;

use common::{code, penalty, stderr, stdout, today, uscc, LiveNode};
use credfed_protocol::checkpoint::{sign_checkpoint, Checkpoint};
use serde_json::Value;

fn json(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(o), stderr(o)))
}

fn ok(o: &std::process::Output) -> &std::process::Output {
    assert_eq!(code(o), 0, "stdout: {}\nstderr: {}", stdout(o), stderr(o));
    o
}

#[test]
fn trust_and_policy() {
    let n = LiveNode::start();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let o = ok(&n.admin(p, Some("admin"), &["--json", "trust", "list"])).clone();
    let v = json(&o);
    assert_eq!(v["anchors"][0]["region"], "xinyang");
    assert_eq!(v["delegations"].as_array().unwrap().len(), 2);
    let human = stdout(ok(&n.admin(p, Some("admin"), &["trust", "list"])));
    assert!(human.contains("xinyang") && human.contains("[valid]"), "{human}");

    // Pin a partner: a wrong fingerprint is refused before any request; the right one pins.
    ok(&common::run(p, &["keygen", "--role", "root", "--out", "sz.key"]));
    let root = std::fs::read_to_string(p.join("sz.key.pub")).unwrap().trim().to_owned();
    let fp = stdout(ok(&common::run(p, &["fingerprint", "--key", &root]))).trim().to_owned();
    let o = n.admin(
        p,
        Some("admin"),
        &["trust", "pin", "--region", "suzhou", "--root", &root, "--fingerprint", "SHA256:00"],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("fingerprint mismatch"));
    ok(&n.admin(p, Some("admin"), &["trust", "pin", "--region", "suzhou", "--root", &root, "--fingerprint", &fp]));
    let v = json(ok(&n.admin(p, Some("admin"), &["--json", "trust", "list"])));
    assert_eq!(v["anchors"].as_array().unwrap().len(), 2, "{v}");
    ok(&n.admin(p, Some("admin"), &["trust", "unpin", "suzhou"]));
    // The node refuses to unpin its own region: an HTTP error, exit 3, with the API's code.
    let o = n.admin(p, Some("admin"), &["trust", "unpin", "xinyang"]);
    assert_eq!(code(&o), 3);
    assert!(stderr(&o).contains("own_region"), "{}", stderr(&o));
    // Wrong scope: 403, exit 3, with a hint.
    let o = n.admin(p, Some("query"), &["trust", "list"]);
    assert_eq!(code(&o), 3);
    assert!(stderr(&o).contains("403"), "{}", stderr(&o));
    // No token: 401.
    let o = n.admin(p, None, &["trust", "list"]);
    assert_eq!(code(&o), 3);
    assert!(stderr(&o).contains("CREDFED_TOKEN"), "{}", stderr(&o));

    // Policy.
    let v = json(ok(&n.admin(p, Some("admin"), &["--json", "policy", "show"])));
    assert!(v.is_object());
    std::fs::write(
        p.join("policy.json"),
        r#"{"accepted_kinds":{"suzhou":["administrative_penalty"]},"shared_entitled":["suzhou"]}"#,
    )
    .unwrap();
    ok(&n.admin(p, Some("admin"), &["policy", "set", "policy.json"]));
    let v = json(ok(&n.admin(p, Some("admin"), &["--json", "policy", "show"])));
    assert_eq!(v["shared_entitled"][0], "suzhou", "{v}");
    std::fs::write(p.join("bad.json"), r#"{"accepted_kinds":{"suzhou":["nonsense"]}}"#).unwrap();
    assert_eq!(code(&n.admin(p, Some("admin"), &["policy", "set", "bad.json"])), 1);
}

#[test]
fn tokens_peers_records_subject_feeds_compliance() {
    let n = LiveNode::start();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();

    // Tokens: issue a query token, use it, revoke it, it stops working.
    let v = json(ok(&n.admin(p, Some("admin"), &["--json", "tokens", "issue", "--scope", "query"])));
    let (id, token) = (v["id"].as_str().unwrap().to_owned(), v["token"].as_str().unwrap().to_owned());
    let list = stdout(ok(&n.admin(p, Some("admin"), &["tokens", "list"])));
    assert!(list.contains(&id), "{list}");
    assert!(!list.contains(&token), "token text listed");
    assert_eq!(code(&n.admin(p, Some("admin"), &["tokens", "issue", "--scope", "root"])), 2);

    // Records: a JSON draft, then show it.
    std::fs::write(p.join("draft.json"), penalty(&uscc(7), &today(), 7).to_string()).unwrap();
    let v = json(ok(&n.admin(p, Some("submit"), &["--json", "records", "submit", "draft.json"])));
    let rec = v["id"].as_str().unwrap().to_owned();
    assert_eq!(v["origin"], "xinyang");
    let show = |tok: &str| {
        let mut c = common::bin();
        c.current_dir(p).env("CREDFED_TOKEN", tok).args(["--node", &n.base, "records", "show", &rec]);
        c.output().unwrap()
    };
    let o = show(&token);
    assert!(stdout(ok(&o)).contains("status active"), "{}", stdout(&o));
    ok(&n.admin(p, Some("admin"), &["tokens", "revoke", &id]));
    assert_eq!(code(&show(&token)), 3);

    // A pre-signed envelope (a new authority's delegation, signed offline by the region root).
    let root_file = n.path().join("keys/root.key");
    ok(&common::run(p, &["keygen", "--role", "authority", "--out", "tax.key"]));
    ok(&common::run(
        p,
        &[
            "delegate",
            "--root-key",
            root_file.to_str().unwrap(),
            "--region",
            "xinyang",
            "--key-file",
            "tax.key.pub",
            "--role",
            "authority",
            "--authority-name",
            "国家税务总局信阳市税务局",
            "--scope",
            "credit_grade",
            "--not-after",
            "2030-01-01",
            "--out",
            "tax-delegation.cbor",
        ],
    ));
    let o = ok(&n.admin(p, Some("submit"), &["records", "submit", "tax-delegation.cbor"])).clone();
    assert!(stdout(&o).starts_with("accepted"), "{}", stdout(&o));
    let o = ok(&n.admin(p, Some("submit"), &["records", "submit", "tax-delegation.cbor"])).clone();
    assert!(stdout(&o).starts_with("already known"), "{}", stdout(&o));
    let v = json(ok(&n.admin(p, Some("admin"), &["--json", "trust", "list"])));
    assert_eq!(v["delegations"].as_array().unwrap().len(), 3, "{v}");
    // A rejected draft: the node's 422 surfaces as exit 3 with its code.
    let mut bad = penalty(&uscc(8), &today(), 8);
    bad["severity"] = "apocalyptic".into();
    std::fs::write(p.join("bad.json"), bad.to_string()).unwrap();
    let o = n.admin(p, Some("submit"), &["records", "submit", "bad.json"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));

    // Subject.
    let o = ok(&n.admin(p, Some("query"), &["subject", "show", &uscc(7)])).clone();
    assert!(stdout(&o).contains("1 record(s)") && stdout(&o).contains("administrative_penalty"), "{}", stdout(&o));
    assert_eq!(code(&n.admin(p, Some("query"), &["subject", "show", "91310110666007217X"])), 1);

    // Feeds and compliance (audit scope).
    let v = json(ok(&n.admin(p, Some("audit"), &["--json", "feeds"])));
    assert_eq!(v["heads"][0]["origin"], "xinyang");
    assert!(v["heads"][0]["seq"].as_u64().unwrap() >= 4, "{v}");
    assert!(stdout(ok(&n.admin(p, Some("audit"), &["feeds"]))).contains("no equivocation proofs\nno split views"));
    let o = ok(&n.admin(p, Some("audit"), &["compliance"])).clone();
    assert!(stdout(&o).contains("administrative_penalty"), "{}", stdout(&o));

    // Peers: the list works; a ban names the node's refusal of a malformed PeerId.
    let v = json(ok(&n.admin(p, Some("admin"), &["--json", "peers", "list"])));
    assert!(v["peers"].is_array());
    let o = n.admin(p, Some("admin"), &["peers", "ban", "12D3KooWExample", "--reason", "test"]);
    assert_eq!(code(&o), 3);
    assert!(stderr(&o).contains("invalid_peer_id"), "{}", stderr(&o));
}

#[test]
fn audit_checkpoint_export_verify() {
    let n = LiveNode::start();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let submit = n.client("submit");
    let add = |k: u64| {
        let body = serde_json::to_vec(&penalty(&uscc(k), &today(), k)).unwrap();
        submit.call(hyper::Method::POST, "/v1/records", Some(("application/json", body))).unwrap();
    };
    for k in 0..5 {
        add(k);
    }
    let state = p.join("state/xinyang.txt");
    let st = state.to_str().unwrap();
    let v = json(ok(&n.admin(p, Some("audit"), &["--json", "audit", "checkpoint", "--state", st])));
    assert_eq!(v["consistency"], "first_seen", "{v}");
    let first = std::fs::read_to_string(&state).unwrap();
    for k in 5..9 {
        add(k);
    }
    let o = ok(&n.admin(p, Some("audit"), &["audit", "checkpoint", "--state", st])).clone();
    assert!(stdout(&o).contains("consistent with the remembered size"), "{}", stdout(&o));
    let second = std::fs::read_to_string(&state).unwrap();
    assert_ne!(first, second);

    // A different node key than the one expected: refused.
    let other = credfed_protocol::bundle::sample::sample_key("x").public().to_hex();
    let o = n.admin(p, Some("audit"), &["audit", "checkpoint", "--state", st, "--node-key", &other]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));

    // Export and verify offline, against the root pinned out of band and the first checkpoint.
    ok(&n.admin(p, Some("audit"), &["audit", "export", "--out", "b.cbor"]));
    let root = n.key("root.key").public();
    std::fs::write(p.join("roots.json"), format!("{{\"xinyang\": \"{}\"}}", root.to_hex())).unwrap();
    std::fs::write(p.join("first.txt"), &first).unwrap();
    let o =
        ok(&common::run(p, &["audit", "verify", "b.cbor", "--trust", "roots.json", "--previous", "first.txt"])).clone();
    assert!(stdout(&o).starts_with("VERIFIED"), "{}", stdout(&o));
    assert!(stdout(&o).contains("consistent with the earlier checkpoint"), "{}", stdout(&o));
    let v = json(ok(&common::run(p, &["--json", "audit", "verify", "b.cbor", "--trust", "roots.json"])));
    assert_eq!(v["ok"], true);
    assert_eq!(v["trust_source"], "auditor");
    // A partial export verifies too.
    ok(&n.admin(p, Some("audit"), &["audit", "export", "--from", "10", "--to", "20", "--out", "part.cbor"]));
    ok(&common::run(p, &["audit", "verify", "part.cbor", "--trust", "roots.json"]));
    // The wrong root: exit 1 with the first failure named.
    std::fs::write(p.join("wrong.json"), format!("{{\"xinyang\": \"{other}\"}}")).unwrap();
    let o = common::run(p, &["audit", "verify", "b.cbor", "--trust", "wrong.json"]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("first failure: anchors: anchor_mismatch"), "{}", stdout(&o));

    // Split view: a checkpoint of the same size with another root, validly signed by the node
    // key, remembered earlier → LOUD warning, exit 2, evidence kept, state not replaced.
    let cp = credfed_protocol::checkpoint::SignedCheckpoint::open(&second, "xinyang", &n.key("node.key").public())
        .unwrap()
        .checkpoint()
        .clone();
    let forged = Checkpoint { origin: cp.origin.clone(), size: cp.size + 1, root: [7; 32], extensions: Vec::new() };
    let forged = sign_checkpoint(&forged, "xinyang", &n.key("node.key")).unwrap().to_text();
    std::fs::write(&state, &forged).unwrap();
    add(100);
    add(101);
    let o = n.admin(p, Some("audit"), &["audit", "checkpoint", "--state", st]);
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("AUDIT INCONSISTENCY"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&state).unwrap(), forged, "state replaced after an inconsistency");
    let evidence: Vec<_> = std::fs::read_dir(p.join("state")).unwrap().filter_map(|e| e.ok()).collect();
    assert!(evidence.iter().any(|e| e.file_name().to_string_lossy().contains("conflict")));
}

#[test]
fn store_check_on_a_stopped_node() {
    let mut n = LiveNode::start();
    let submit = n.client("submit");
    for k in 0..3 {
        let body = serde_json::to_vec(&penalty(&uscc(k), &today(), k)).unwrap();
        submit.call(hyper::Method::POST, "/v1/records", Some(("application/json", body))).unwrap();
    }
    n.stop();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let dir = n.path().to_str().unwrap().to_owned();
    let before: Vec<_> = walk(n.path());
    let v = json(ok(&common::run(p, &["--json", "store", "check", &dir])));
    assert_eq!(v["opens"], true);
    assert_eq!(v["objects_by_type"]["record"], 3, "{v}");
    assert_eq!(v["leaf_hash_mismatches"], 0);
    assert_eq!(v["root_matches_frontier"], true);
    assert_eq!(v["feed_heads"][0]["chain_ok"], true);
    assert!(v["problems"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(walk(n.path()), before, "store check changed the node directory");
    let o = ok(&common::run(p, &["store", "check", &dir])).clone();
    assert!(stdout(&o).contains("no problems found"), "{}", stdout(&o));
    assert_eq!(code(&common::run(p, &["store", "check", "/nonexistent"])), 2);
}

/// (path, size, mtime) of every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let m = e.metadata().unwrap();
        if m.is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push((e.path().display().to_string(), m.len(), m.modified().unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn store_rebuild_refuses_a_healthy_store_and_a_region_without_partners() {
    let mut n = LiveNode::start();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let dir = n.path().to_str().unwrap().to_owned();
    // Never under a running node.
    let o = common::run(p, &["store", "rebuild", &dir, "--from-peers", "--force"]);
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("locked by a running node"), "{}", stderr(&o));
    assert!(n.path().join("store/db").exists());
    n.stop();
    let before: Vec<_> = walk(n.path());
    // `--from-peers` is the only source there is, and must be said.
    assert_eq!(code(&common::run(p, &["store", "rebuild", &dir])), 2);
    let o = common::run(p, &["store", "rebuild", &dir, "--from-peers"]);
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("opens cleanly"), "{}", stderr(&o));
    assert_eq!(walk(n.path()), before, "rebuild of a healthy store changed the node directory");

    // Damaged, but this region has no partner to rebuild from: refused before anything moves.
    let db = n.path().join("store/db");
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[3000..3064].iter_mut().for_each(|b| *b ^= 0xff);
    std::fs::write(&db, bytes).unwrap();
    let o = common::run(p, &["store", "rebuild", &dir, "--from-peers"]);
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("no partner region"), "{}", stderr(&o));
    assert!(db.exists(), "the damaged store was moved although the rebuild could not run");
    let o = common::run(p, &["store", "rebuild", &dir, "--from-peers", "--anchor", "/nonexistent.json"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("/nonexistent.json"), "{}", stderr(&o));
}

#[test]
fn report_compliance_in_every_format_matches_the_node() {
    let n = LiveNode::start();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let month = &today()[..7];
    for i in 0..2 {
        std::fs::write(p.join("d.json"), penalty(&uscc(500 + i), &today(), 500 + i).to_string()).unwrap();
        ok(&n.admin(p, Some("submit"), &["records", "submit", "d.json"]));
    }
    // JSON: the node's report, whose figures are /v1/compliance's for a store decided in one month.
    let v = json(ok(&n.admin(p, Some("audit"), &["report", "compliance", "--month", month, "--format", "json"])));
    let all = json(ok(&n.admin(p, Some("audit"), &["--json", "compliance"])));
    assert_eq!(v["month"], month);
    assert_eq!(v["by_region_and_kind"], all["by_region_and_kind"], "one month holds every record");
    assert_eq!(v["totals"]["records"], 2);
    // CSV and HTML into files (no .partial left), the same figures.
    let o = ok(&n.admin(
        p,
        Some("audit"),
        &["report", "compliance", "--month", month, "--format", "csv", "--out", "r.csv"],
    ))
    .clone();
    assert!(stderr(&o).contains("wrote"), "{}", stderr(&o));
    let csv = std::fs::read_to_string(p.join("r.csv")).unwrap();
    assert!(csv.starts_with("section,month,region,kind,records,timely,timeliness"), "{csv}");
    assert!(csv.contains(&format!("region_kind,{month},xinyang,administrative_penalty,2,2,1.0")), "{csv}");
    assert!(!p.join("r.csv.partial").exists());
    ok(&n.admin(p, Some("audit"), &["report", "compliance", "--month", month, "--out", "r.html"]));
    let html = std::fs::read_to_string(p.join("r.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("@media print") && html.contains("100.0%"), "{html}");
    // A bad month is a usage error before any request; a query token gets the node's 403.
    assert_eq!(code(&n.admin(p, Some("audit"), &["report", "compliance", "--month", "2026-13"])), 2);
    assert_eq!(code(&n.admin(p, Some("query"), &["report", "compliance", "--month", month])), 3);
}
