//! Audit routes (checkpoint, entries, proofs, export, feeds, compliance), admin routes, health,
//! metrics, OpenAPI completeness, restart persistence.

mod common;

use common::*;
use credfed_node::api::routes::ROUTES;
use credfed_node::audit::export::Bundle;
use credfed_protocol::bundle::origin_line;
use credfed_protocol::checkpoint::open_checkpoint;
use credfed_protocol::feed::{verify_chain, SignedFeedEntry};
use credfed_protocol::merkle::{leaf_hash, root, verify_consistency, verify_inclusion, Hash};
use serde_json::{json, Value};

fn root_pin(n: &TestNode) -> credfed_protocol::keys::PublicKey {
    credfed_node::keyfile::read_key(&n.path().join("keys/root.key")).unwrap().public()
}

fn h(v: &Value) -> Hash {
    hex::decode(v.as_str().unwrap()).unwrap().try_into().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_openapi_metrics() {
    let mut n = TestNode::start().await;
    let (s, v) = n.get("/v1/health", None).await;
    assert_eq!(s, 200);
    assert_eq!(
        (v["status"].as_str(), v["region"].as_str(), v["peers"].as_u64()),
        (Some("ok"), Some("xinyang"), Some(0))
    );
    assert!(v["peer_id"].as_str().unwrap().starts_with("12D3KooW"), "{v}");
    assert_eq!(v["node_key"].as_str().unwrap(), n.node_key().to_hex());
    let (s, doc) = n.get("/v1/openapi.json", None).await;
    assert_eq!(s, 200);
    for r in ROUTES {
        let op = &doc["paths"][r.path][r.method.as_str().to_ascii_lowercase()];
        assert!(op.is_object(), "{} {} missing from openapi.json", r.method, r.path);
    }
    let metrics = format!("{}/metrics", n.admin);
    let (s, v) = n.get(&metrics, None).await;
    assert_eq!(s, 200);
    assert!(v.as_str().unwrap().contains("credfed_http_requests_total"), "{v}");
    let (s, _) = n.get("/metrics", None).await;
    assert_eq!(s, 404, "metrics only on the admin listener");
    let (s, _) = n.get(&format!("{}/v1/records", n.admin), None).await;
    assert!(s == 404 || s == 405);
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_proofs_verify_against_signed_checkpoints() {
    let mut n = TestNode::start().await;
    let (submit, audit) = (n.t("submit"), n.t("audit"));
    let key = n.node_key();
    let (s, note1) = n.get("/v1/audit/checkpoint", Some(&audit)).await;
    assert_eq!(s, 200);
    let cp1 = open_checkpoint(note1.as_str().unwrap(), "xinyang", &key).expect("signed by the node key");
    assert_eq!(cp1.origin, origin_line("xinyang"));
    let mut ids = Vec::new();
    for i in 0..5 {
        let (s, v) = n.post("/v1/records", Some(&submit), &penalty(&uscc(100 + i), "2026-01-05", "general")).await;
        assert_eq!(s, 201, "{v}");
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let (s, _) = n.get("/v1/audit/checkpoint", Some(&n.t("query"))).await;
    assert_eq!(s, 403);
    let (_, note2) = n.get("/v1/audit/checkpoint", Some(&audit)).await;
    let cp2 = open_checkpoint(note2.as_str().unwrap(), "xinyang", &key).unwrap();
    assert!(cp2.size > cp1.size);
    // Every entry: leaf hash recomputed from leaf bytes; root equals the checkpoint root.
    let (_, e) = n.get(&format!("/v1/audit/entries?start=0&end={}", cp2.size), Some(&audit)).await;
    let entries = e["entries"].as_array().unwrap();
    assert_eq!(entries.len() as u64, cp2.size);
    let leaves: Vec<Hash> =
        entries.iter().map(|e| leaf_hash(&hex::decode(e["leaf_hex"].as_str().unwrap()).unwrap())).collect();
    assert_eq!(root(&leaves), cp2.root);
    // Inclusion of the accepted event of the last record.
    let last = ids.last().unwrap();
    let idx =
        entries.iter().position(|e| e["event"]["accepted"]["id"].as_str() == Some(last)).expect("accepted leaf") as u64;
    let (s, p) = n.get(&format!("/v1/audit/proof/inclusion?index={idx}&size={}", cp2.size), Some(&audit)).await;
    assert_eq!(s, 200, "{p}");
    let proof: Vec<Hash> = p["proof"].as_array().unwrap().iter().map(h).collect();
    verify_inclusion(&leaves[idx as usize], idx, cp2.size, &proof, &cp2.root)
        .expect("inclusion verifies against the signed root");
    assert_eq!(h(&p["root"]), cp2.root);
    let (s, c) = n.get(&format!("/v1/audit/proof/consistency?from={}&to={}", cp1.size, cp2.size), Some(&audit)).await;
    assert_eq!(s, 200, "{c}");
    let proof: Vec<Hash> = c["proof"].as_array().unwrap().iter().map(h).collect();
    verify_consistency(cp1.size, cp2.size, &cp1.root, &cp2.root, &proof).expect("consistent");
    let (s, _) = n.get("/v1/audit/proof/inclusion?index=0&size=999999", Some(&audit)).await;
    assert_eq!(s, 422);
    let (s, _) = n.get("/v1/audit/proof/inclusion?index=x&size=1", Some(&audit)).await;
    assert_eq!(s, 400);
    // Feeds: heads, and the own feed chains with no gaps, signed by the node key.
    let (_, f) = n.get("/v1/feeds", Some(&audit)).await;
    let head = f["heads"][0]["seq"].as_u64().unwrap();
    assert_eq!(head, 2 + 5, "two delegations then five records");
    let (_, r) = n.get("/v1/feeds/xinyang?from=1", Some(&audit)).await;
    let chain: Vec<SignedFeedEntry> = r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| SignedFeedEntry::open(&hex::decode(e["entry_hex"].as_str().unwrap()).unwrap()).unwrap())
        .collect();
    assert_eq!(chain.len() as u64, head);
    verify_chain(&chain).unwrap();
    assert!(chain.iter().all(|e| e.signer == key));
    // Export bundle decodes and holds the named envelopes.
    let (s, _, bytes) = n.call("GET", "/v1/audit/export?from=0", Some(&audit), None, "").await;
    assert_eq!(s, 200);
    let b = Bundle::decode(&bytes).expect("canonical bundle");
    assert!(b.envelopes.len() >= 7 && b.trust_objects.len() == 2 && b.anchors.len() == 1);
    let verdict = credfed_protocol::bundle::verify(&b, Some(&root_pin(&n))).expect("bundle verifies offline");
    assert_eq!(verdict.entries, verdict.size);
    assert!(verdict.objects >= 7);
    // A flipped leaf byte is caught and named.
    let mut bad = b.clone();
    let last_leaf = bad.leaves.len() - 1;
    bad.leaves[last_leaf].0[3] ^= 1;
    let err = credfed_protocol::bundle::verify(&bad, Some(&root_pin(&n))).unwrap_err();
    assert!(err.to_string().contains(&format!("audit entry {last_leaf}")), "{err}");
    let (s, v) = n.get("/v1/compliance", Some(&audit)).await;
    assert_eq!(s, 200);
    assert_eq!(v["by_region_and_kind"][0]["records"], 5, "{v}");
    let (s, v) = n.get(&format!("/v1/objects/{last}"), Some(&audit)).await;
    assert_eq!((s, v["meta"]["object_type"].as_str()), (200, Some("record")), "{v}");

    // Restart: everything persisted, the checkpoint still extends consistently.
    let cfg = credfed_node::config::NodeConfig::load(&n.path().join("node.toml")).unwrap();
    n.stop().await;
    let node = credfed_node::start(cfg).await.unwrap();
    n.base = format!("http://{}", node.api_addr());
    n.node = Some(node);
    let (_, note3) = n.get("/v1/audit/checkpoint", Some(&audit)).await;
    let cp3 = open_checkpoint(note3.as_str().unwrap(), "xinyang", &key).unwrap();
    assert!(cp3.size >= cp2.size);
    let (_, c) = n.get(&format!("/v1/audit/proof/consistency?from={}&to={}", cp2.size, cp3.size), Some(&audit)).await;
    let proof: Vec<Hash> = c["proof"].as_array().unwrap().iter().map(h).collect();
    verify_consistency(cp2.size, cp3.size, &cp2.root, &cp3.root, &proof).expect("consistent across restart");
    let (s, _) = n.get(&format!("/v1/records/{last}"), Some(&n.t("query"))).await;
    assert_eq!(s, 200);
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes() {
    let mut n = TestNode::start().await;
    let admin = n.t("admin");
    let (s, v) = n.get("/v1/admin/peers", Some(&admin)).await;
    assert_eq!((s, v["peers"].as_array().map(Vec::len)), (200, Some(0)));
    let (s, _) = n.get("/v1/admin/peers", Some(&n.t("audit"))).await;
    assert_eq!(s, 403);
    let (s, v) = n.get("/v1/admin/trust", Some(&admin)).await;
    assert_eq!(s, 200);
    assert_eq!(v["anchors"].as_array().unwrap().len(), 1);
    assert_eq!(v["delegations"].as_array().unwrap().len(), 2);
    let other = credfed_protocol::keys::SecretKey::generate(&mut rand_core::OsRng).public();
    let (s, v) =
        n.post("/v1/admin/trust", Some(&admin), &json!({"region": "suzhou", "root_key": other.to_hex()})).await;
    assert_eq!(s, 201, "{v}");
    let (s, _) = n.post("/v1/admin/trust", Some(&admin), &json!({"region": "suzhou", "root_key": "zz"})).await;
    assert_eq!(s, 422);
    let (_, v) = n.get("/v1/admin/trust", Some(&admin)).await;
    assert_eq!(v["anchors"].as_array().unwrap().len(), 2);
    let (s, _, _) = n.call("DELETE", "/v1/admin/trust/suzhou", Some(&admin), None, "").await;
    assert_eq!(s, 200);
    let (s, _, _) = n.call("DELETE", "/v1/admin/trust/suzhou", Some(&admin), None, "").await;
    assert_eq!(s, 404);
    let policy = json!({"accepted_kinds": {"suzhou": ["administrative_penalty"]}, "shared_entitled": ["luan"]});
    let (s, v, _) = n
        .call("PUT", "/v1/admin/policy", Some(&admin), Some(serde_json::to_vec(&policy).unwrap()), "application/json")
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = n.get("/v1/admin/policy", Some(&admin)).await;
    assert_eq!(v, policy);
    let (s, v) = n.post("/v1/admin/tokens", Some(&admin), &json!({"scope": "query"})).await;
    assert_eq!(s, 201, "{v}");
    let (tok, id) = (v["token"].as_str().unwrap().to_string(), v["id"].as_str().unwrap().to_string());
    let (s, _) = n.get("/v1/schemes", Some(&tok)).await;
    assert_eq!(s, 200);
    let (_, v) = n.get("/v1/admin/tokens", Some(&admin)).await;
    let list = v["tokens"].as_array().unwrap();
    assert_eq!(list.len(), 5);
    assert!(!v.to_string().contains(&tok), "tokens are never shown again");
    let (s, _, _) = n.call("DELETE", &format!("/v1/admin/tokens/{id}"), Some(&admin), None, "").await;
    assert_eq!(s, 200);
    let (s, _) = n.get("/v1/schemes", Some(&tok)).await;
    assert_eq!(s, 401, "revocation takes effect immediately");
    let (s, _) = n.post("/v1/admin/tokens", Some(&admin), &json!({"scope": "root"})).await;
    assert_eq!(s, 422);
    // Admin changes are audited by token id, never by token.
    let (_, e) = n.get("/v1/audit/entries?start=0", Some(&n.t("audit"))).await;
    let text = e.to_string();
    assert!(text.contains("tokens.revoke") && text.contains("trust.pin") && !text.contains(&tok));
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_leaf_refuses_checkpoint_and_raises_alarm() {
    let mut n = TestNode::start().await;
    let (submit, audit) = (n.t("submit"), n.t("audit"));
    let (_, note) = n.get("/v1/audit/checkpoint", Some(&audit)).await;
    let size = open_checkpoint(note.as_str().unwrap(), "xinyang", &n.node_key()).unwrap().size;
    let (s, _) = n.post("/v1/records", Some(&submit), &penalty(&uscc(555), "2026-01-05", "general")).await;
    assert_eq!(s, 201);
    // Failpoint: flip one bit of a stored leaf not yet covered by a checkpoint.
    let store = n.node.as_ref().unwrap().state.store.clone();
    let mut leaf = store.audit_leaf(size).unwrap().unwrap();
    leaf.bytes[5] ^= 1;
    store.apply(&credfed_node::store::Commit { audit: vec![leaf], ..Default::default() }).unwrap();
    let (s, v) = n.get("/v1/audit/checkpoint", Some(&audit)).await;
    assert_eq!((s, v["error"]["code"].as_str()), (503, Some("audit_integrity")), "{v}");
    let (_, m) = n.get(&format!("{}/metrics", n.admin), None).await;
    assert!(m.as_str().unwrap().contains("credfed_audit_leaf_mismatch_total 1"), "{m}");
    // A refused bad envelope is itself audited as `rejected` with the hash of the bytes.
    let (s, _, _) = n.call("POST", "/v1/envelopes", Some(&submit), Some(vec![0x80]), "application/cbor").await;
    assert_eq!(s, 400);
    n.stop().await;
}
