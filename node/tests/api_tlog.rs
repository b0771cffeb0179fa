//! C2SP transparency-log routes against a real node (sled on disk, HTTP on 127.0.0.1:0):
//! tiles and entry bundles equal the hashes the JSON proof routes give, caching headers, 400 /
//! 404 for malformed and out-of-range tiles, and the tlog-witness `add-checkpoint` endpoint
//! (200, 409 with `text/x.tlog.size`, 422, 403, 404, 400) cosigning a peer region's log.

mod common;

use common::*;
use credfed_node::init::Anchor;
use credfed_protocol::bundle::{log_origin, sample};
use credfed_protocol::checkpoint::{open_checkpoint, sign_checkpoint, AddCheckpoint, Checkpoint, SignedCheckpoint};
use credfed_protocol::merkle::{consistency_proof, leaf_hash, root, verify_inclusion, Hash};
use credfed_protocol::tiles::parse_entry_bundle;
use serde_json::{json, Value};

fn h(v: &Value) -> Hash {
    hex::decode(v.as_str().unwrap()).unwrap().try_into().unwrap()
}

fn hashes(bytes: &[u8]) -> Vec<Hash> {
    bytes.chunks(32).map(|c| c.try_into().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_and_entry_bundles_match_the_proof_routes() {
    let mut n = TestNode::start().await;
    let audit = n.t("audit");
    let rows: Vec<Value> = (1..=130) // two leaves each: 256 < size < 512
        .map(|i| sample::penalty_draft(&uscc(i), &format!("信市监罚〔2026〕{i}号"), "2026-03-02", "general"))
        .collect();
    let (s, v, _) = n
        .call(
            "POST",
            "/v1/records/batch",
            Some(&n.t("submit")),
            Some(serde_json::to_vec(&rows).unwrap()),
            "application/json",
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, note, _, hd) = n.call_with_headers("GET", "/tlog/checkpoint", Some(&audit), None, "").await;
    assert_eq!(s, 200);
    assert_eq!(hd["cache-control"], "no-cache");
    assert!(hd["content-type"].to_str().unwrap().starts_with("text/plain"));
    let cp = open_checkpoint(note.as_str().unwrap(), "xinyang", &n.node_key()).unwrap();
    let size = cp.size;
    assert!(size > 256 && size < 512, "{size}");
    // Every leaf hash, from the JSON entries route.
    let mut leaves: Vec<Hash> = Vec::new();
    let mut data: Vec<Vec<u8>> = Vec::new();
    while (leaves.len() as u64) < size {
        let (_, e) = n.get(&format!("/v1/audit/entries?start={}&end={size}", leaves.len()), Some(&audit)).await;
        for e in e["entries"].as_array().unwrap() {
            leaves.push(h(&e["leaf_hash"]));
            data.push(hex::decode(e["leaf_hex"].as_str().unwrap()).unwrap());
        }
    }
    assert_eq!(root(&leaves), cp.root);

    // Full level-0 tile: the first 256 leaf hashes; immutable.
    let (s, _, full, hd) = n.call_with_headers("GET", "/tlog/tile/0/000", Some(&audit), None, "").await;
    assert_eq!(s, 200);
    assert_eq!(hd["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(hd["content-type"], "application/octet-stream");
    assert_eq!(hashes(&full), leaves[..256]);
    // The sibling the inclusion proof route gives for leaf 0 is leaf 1 of the tile.
    let (_, p) = n.get(&format!("/v1/audit/proof/inclusion?index=0&size={size}"), Some(&audit)).await;
    let proof: Vec<Hash> = p["proof"].as_array().unwrap().iter().map(h).collect();
    assert_eq!(proof[0], hashes(&full)[1]);
    verify_inclusion(&hashes(&full)[0], 0, size, &proof, &cp.root).unwrap();
    // Partial level-0 tile, and a narrower one (a client at an older checkpoint).
    let w = size - 256;
    let (s, _, part, hd) = n.call_with_headers("GET", &format!("/tlog/tile/0/001.p/{w}"), Some(&audit), None, "").await;
    assert_eq!(s, 200);
    assert_eq!(hd["cache-control"], "no-cache");
    assert_eq!(hashes(&part), leaves[256..]);
    let (s, _, narrow) = n.call("GET", "/tlog/tile/0/001.p/1", Some(&audit), None, "").await;
    assert_eq!((s, hashes(&narrow)), (200, vec![leaves[256]]));
    // Level 1: the root of the first 256 leaves (the last hash of the proof of leaf 300).
    let (s, _, l1) = n.call("GET", "/tlog/tile/1/000.p/1", Some(&audit), None, "").await;
    assert_eq!((s, hashes(&l1)), (200, vec![root(&leaves[..256])]));
    let (_, p) = n.get(&format!("/v1/audit/proof/inclusion?index={}&size={size}", size - 1), Some(&audit)).await;
    assert_eq!(h(p["proof"].as_array().unwrap().last().unwrap()), root(&leaves[..256]));
    // Entry bundles: the leaf bytes, each hashing to its leaf hash.
    let (s, _, bundle, hd) = n.call_with_headers("GET", "/tlog/tile/entries/000", Some(&audit), None, "").await;
    assert_eq!(s, 200);
    assert_eq!(hd["cache-control"], "public, max-age=31536000, immutable");
    let entries = parse_entry_bundle(&bundle).unwrap();
    assert_eq!(entries.len(), 256);
    assert!(entries.iter().zip(&leaves).all(|(e, l)| leaf_hash(e) == *l));
    assert!(entries.iter().zip(&data).all(|(e, d)| e == d));
    let (s, _, bundle) = n.call("GET", &format!("/tlog/tile/entries/001.p/{w}"), Some(&audit), None, "").await;
    assert_eq!((s, parse_entry_bundle(&bundle).unwrap().len() as u64), (200, w));

    // Beyond the tree: 404. Malformed, non-canonical or huge: 400. Never a 5xx.
    for p in [
        "/tlog/tile/0/001",
        &format!("/tlog/tile/0/001.p/{}", w + 1),
        "/tlog/tile/0/002.p/1",
        "/tlog/tile/1/000",
        "/tlog/tile/2/000.p/1",
        "/tlog/tile/0/x001/000",
        "/tlog/tile/entries/001",
    ] {
        let (s, v) = n.get(p, Some(&audit)).await;
        assert_eq!(s, 404, "{p}: {v}");
    }
    for p in [
        "/tlog/tile/0/0000",
        "/tlog/tile/00/000",
        "/tlog/tile/0/00",
        "/tlog/tile/0/x000/001",
        "/tlog/tile/0/000.p/0",
        "/tlog/tile/0/000.p/256",
        "/tlog/tile/0/000.p/007",
        "/tlog/tile/64/000",
        "/tlog/tile/9/000",
        "/tlog/tile/0/x999/x999/x999/x999/x999/x999/999",
        "/tlog/tile/0/x009/x223/x372/x036/x854/x775/807",
        "/tlog/tile/entries/000.p/",
        "/tlog/tile/x/000",
        "/tlog/tile/0/%30%30%30x",
    ] {
        let (s, v) = n.get(p, Some(&audit)).await;
        assert_eq!(s, 400, "{p}: {v}");
    }
    let (s, _) = n.get("/tlog/tile/0/000", Some(&n.t("query"))).await;
    assert_eq!(s, 403, "tiles need the audit scope, as /v1/audit/*");
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_prefix_moves_the_tlog_routes() {
    let mut n = TestNode::start_with(|c| c.api.tlog_prefix = "/logs/xinyang".into()).await;
    let audit = n.t("audit");
    let (s, _) = n.get("/logs/xinyang/checkpoint", Some(&audit)).await;
    assert_eq!(s, 200);
    let (s, _) = n.get("/tlog/checkpoint", Some(&audit)).await;
    assert_eq!(s, 404);
    let (s, _, b) = n.call("GET", "/logs/xinyang/tile/0/000.p/1", Some(&audit), None, "").await;
    assert_eq!((s, b.len()), (200, 32));
    n.stop().await;
}

/// A peer region `hefei` initialised offline and pinned on the witness `n`; its node key.
async fn pin_peer(n: &TestNode, dir: &std::path::Path) -> credfed_protocol::keys::SecretKey {
    let d = dir.to_path_buf();
    tokio::task::spawn_blocking(move || init_region(&d, "hefei", "127.0.0.1:0")).await.unwrap();
    let anchor: Anchor = serde_json::from_slice(&std::fs::read(dir.join("anchor.json")).unwrap()).unwrap();
    let pin = json!({ "region": anchor.region, "root_key": anchor.root_key, "delegations": anchor.delegations });
    let (s, v) = n.post("/v1/admin/trust", Some(&n.t("admin")), &pin).await;
    assert!(s == 200 || s == 201, "{s} {v}");
    credfed_node::keyfile::read_key(&dir.join("keys/node.key")).unwrap()
}

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(format!("hefei leaf {i}").as_bytes())).collect()
}

fn signed(key: &credfed_protocol::keys::SecretKey, origin: &str, l: &[Hash]) -> String {
    let cp = Checkpoint { origin: origin.into(), size: l.len() as u64, root: root(l), extensions: vec![] };
    sign_checkpoint(&cp, "hefei", key).unwrap().to_text()
}

async fn add(n: &TestNode, body: &str) -> (u16, String, hyper::HeaderMap) {
    let (s, _, b, hd) =
        n.call_with_headers("POST", "/tlog/add-checkpoint", None, Some(body.into()), "text/plain").await;
    (s, String::from_utf8_lossy(&b).into_owned(), hd)
}

fn req(old: u64, proof: Vec<Hash>, note: &str) -> String {
    AddCheckpoint { old_size: old, proof, note: note.into() }.to_text()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_checkpoint_cosigns_a_peer_log_as_c2sp_tlog_witness_says() {
    let mut n = TestNode::start().await;
    let peer_dir = tempfile::tempdir().unwrap();
    let key = pin_peer(&n, peer_dir.path()).await;
    let origin = log_origin("hefei", 1);
    let l = leaves(20);
    let cp5 = signed(&key, &origin, &l[..5]);
    let cp12 = signed(&key, &origin, &l[..12]);
    // The witness's verifier key, as /v1/health publishes it.
    let (_, health) = n.get("/v1/health", None).await;
    let wvk = credfed_protocol::checkpoint::parse_vkey(health["witness_vkey"].as_str().unwrap()).unwrap();
    assert_eq!(wvk.key, n.node_key());

    // First checkpoint: old 0, no proof → 200 with a cosignature/v1 line that verifies.
    let (s, line, hd) = add(&n, &req(0, vec![], &cp5)).await;
    assert_eq!(s, 200, "{line}");
    assert!(hd["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert!(line.starts_with("— xinyang ") && line.ends_with('\n'), "{line:?}");
    let with = SignedCheckpoint::open(&format!("{cp5}{line}"), "hefei", &key.public()).unwrap();
    assert_eq!(with.cosignatures(&[("xinyang", n.node_key())]).len(), 1);
    // Old size not the one cosigned here: 409 with the size in text/x.tlog.size.
    let (s, body, hd) = add(&n, &req(0, vec![], &cp12)).await;
    assert_eq!((s, body.as_str()), (409, "5\n"));
    assert_eq!(hd["content-type"], "text/x.tlog.size");
    // A proof that does not verify: 422.
    let mut bad = consistency_proof(&l[..12], 5).unwrap();
    bad[0][0] ^= 1;
    let (s, body, _) = add(&n, &req(5, bad, &cp12)).await;
    assert_eq!(s, 422, "{body}");
    // The right proof: 200; the state moved to 12.
    let (s, body, _) = add(&n, &req(5, consistency_proof(&l[..12], 5).unwrap(), &cp12)).await;
    assert_eq!(s, 200, "{body}");
    let (s, body, _) = add(&n, &req(5, vec![], &cp5)).await;
    assert_eq!((s, body.as_str()), (409, "12\n"));
    // Old size above the checkpoint's: 400.
    let (s, _, _) = add(&n, &req(12, vec![], &cp5)).await;
    assert_eq!(s, 400);
    // Signed by another key: 403. An origin not witnessed here (unpinned, or our own log): 404.
    let other = credfed_protocol::keys::SecretKey::generate(&mut rand_core::OsRng);
    let (s, _, _) = add(&n, &req(12, vec![], &signed(&other, &origin, &l[..13]))).await;
    assert_eq!(s, 403);
    let (s, _, _) = add(&n, &req(0, vec![], &signed(&key, &log_origin("wuhan", 1), &l[..3]))).await;
    assert_eq!(s, 404);
    let (s, _, _) = add(&n, &req(0, vec![], &signed(&key, &log_origin("xinyang", 1), &l[..3]))).await;
    assert_eq!(s, 404);
    // Malformed: 400.
    for b in ["", "old 1\n", "old x\n\n", &format!("old 01\n\n{cp12}"), "old 12\n\nnot a note\n"] {
        let (s, body, _) = add(&n, b).await;
        assert_eq!(s, 400, "{b:?}: {body}");
    }
    // The witness state is the one the peer path uses: it survives a restart.
    n.stop().await;
}
