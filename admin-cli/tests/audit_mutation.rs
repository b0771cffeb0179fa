//! RELIABILITY F5 `audit_mutation`: a real bundle, ≥ 2 000 mutations (byte flips in every field
//! class of the CBOR bundle, dropped / swapped / duplicated / substituted entries, swapped
//! signatures, an older valid checkpoint, a changed size line, truncation). `verify_bundle` must
//! fail every mutated bundle and pass the untouched one; the binary's `audit verify` agrees.

mod common;

use common::{code, field_spans, run, stdout};
use credfed_protocol::bundle::sample::Rng;
use credfed_protocol::bundle::{verify_bundle_bytes, AuditBundle};
use credfed_protocol::cbor::ByteBuf;
use credfed_protocol::keys::PublicKey;
use credfed_protocol::RegionId;

/// A bundle under test plus what the mutations need from its log.
pub struct Source {
    /// The bundle bytes.
    pub bytes: Vec<u8>,
    /// Older valid checkpoints of the same log.
    pub older_checkpoints: Vec<String>,
    /// The region root the auditor pinned.
    pub root: (RegionId, PublicKey),
    /// A bundle from another node's log (entries to substitute).
    pub foreign: AuditBundle,
    /// Where it came from.
    pub origin: &'static str,
}

mod source {
    use super::Source;
    use crate::common::{penalty, today, uscc, LiveNode};
    use credfed_protocol::bundle::sample::{self, sample_key, SampleLog};
    use credfed_protocol::keys::SecretKey;
    use credfed_protocol::objects::{Body, DelegationBody, Nonce, RecordBody, RecordContent, Subject};
    use credfed_protocol::{Day, RecordKind, Role, Scope};
    use hyper::Method;
    use serde_json::json;

    fn now() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
    }

    fn nonce(n: u64) -> Nonce {
        let mut b = [7u8; 16];
        b[..8].copy_from_slice(&n.to_be_bytes());
        b[8..].copy_from_slice(&now().to_be_bytes());
        Nonce::from_bytes(&b).unwrap()
    }

    /// A Suzhou penalty about a Suzhou company, signed by Suzhou's authority.
    fn suzhou_record(key: &SecretKey, n: u64) -> Vec<u8> {
        let first17 = format!("91320500MA{:07}", n);
        let code = format!("{first17}{}", credfed_protocol::uscc::expected_check_char(&first17).unwrap());
        let record = RecordContent {
            subject_name: Some("苏州某科技有限公司".into()),
            authority: "苏州市市场监督管理局".into(),
            legal_basis: "《中华人民共和国产品质量法》第四十九条".into(),
            facts: None,
            penalty_types: Vec::new(),
            ..sample::penalty(
                Subject::Uscc(code.parse().unwrap()),
                format!("苏市监罚〔2026〕{n}号"),
                Day::from_unix_china(now()),
            )
        };
        let body =
            Body::Record(RecordBody { region: "suzhou".parse().unwrap(), signed_at: now(), nonce: nonce(n), record });
        body.sign(key).encode()
    }

    /// A real node's log: ~250 objects submitted over HTTP (own records, repairs, objections, a
    /// partner region's delegation and records, rejected submissions), exported with the binary.
    pub fn real_node() -> Source {
        let n = LiveNode::start();
        let (submit, audit, admin) = (n.client("submit"), n.client("audit"), n.client("admin"));
        let post = |c: &credfed_admin::client::Client, path: &str, body: serde_json::Value| -> Option<String> {
            let r = c.send(Method::POST, path, Some(("application/json", serde_json::to_vec(&body).unwrap()))).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
            r.status.is_success().then(|| v["id"].as_str().unwrap_or_default().to_owned())
        };
        let envelope =
            |bytes: Vec<u8>| submit.send(Method::POST, "/v1/envelopes", Some(("application/cbor", bytes))).unwrap();

        // Partner region Suzhou: pinned, its authority delegated by its root.
        let (sz_root, sz_auth) = (sample_key("suzhou root (test)"), sample_key("suzhou authority (test)"));
        post(&admin, "/v1/admin/trust", json!({ "region": "suzhou", "root_key": sz_root.public().to_hex() }))
            .expect("pin");
        let t = now();
        let d = Body::Delegation(DelegationBody {
            region: "suzhou".parse().unwrap(),
            signed_at: t,
            nonce: nonce(0),
            key: sz_auth.public(),
            role: Role::Authority,
            authority_name: "苏州市市场监督管理局".into(),
            scopes: vec![Scope::Record(RecordKind::AdministrativePenalty)],
            not_before: t - 300,
            not_after: t + 86_400 * 365,
        });
        assert!(envelope(d.sign(&sz_root).encode()).status.is_success(), "suzhou delegation");

        let mut older = Vec::new();
        let mut old_ids = Vec::new();
        let mut ids = Vec::new();
        let today = today();
        for i in 0..200u64 {
            let decided = if i % 2 == 0 { "2025-01-05".to_string() } else { today.clone() };
            let id = post(&submit, "/v1/records", penalty(&uscc(i), &decided, i)).expect("record accepted");
            if i % 2 == 0 {
                old_ids.push(id.clone());
            }
            ids.push(id);
            if i % 60 == 59 {
                older.push(audit.checkpoint().unwrap());
            }
            if i % 10 == 3 {
                assert!(envelope(suzhou_record(&sz_auth, i)).status.is_success(), "suzhou record");
            }
            if i % 20 == 7 {
                let mut bad = suzhou_record(&sz_auth, 10_000 + i);
                let l = bad.len();
                bad[l - 1] ^= 1;
                assert!(!envelope(bad).status.is_success(), "forged envelope accepted");
            }
        }
        for id in old_ids.iter().take(12) {
            post(
                &submit,
                &format!("/v1/records/{id}/repair"),
                json!({ "repaired_on": today, "basis": "已履行处罚决定" }),
            )
            .expect("repair");
        }
        for id in ids.iter().skip(101).step_by(7).take(14) {
            let body = json!({ "ground": "inaccurate", "statement": "金额有误", "filed_on": today });
            post(&submit, &format!("/v1/records/{id}/objections"), body).expect("objection");
        }
        older.push(audit.checkpoint().unwrap());

        let out = n.path().join("bundle.cbor");
        let o = n.admin(n.path(), Some("audit"), &["audit", "export", "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let bytes = std::fs::read(&out).unwrap();
        let foreign = SampleLog::mixed(30);
        Source {
            bytes,
            older_checkpoints: older,
            root: ("xinyang".parse().unwrap(), n.key("root.key").public()),
            foreign: foreign.log.bundle(0, foreign.log.size()),
            origin: "real credfed-node over HTTP",
        }
    }
}

/// Deterministic xorshift.
/// A non-zero byte to XOR into a position (the byte always changes).
fn flip(rng: &mut Rng) -> u8 {
    1 + rng.below(255) as u8
}

fn lists(b: &mut AuditBundle) -> [(&'static str, &mut Vec<ByteBuf>); 5] {
    [
        ("leaf_hashes", &mut b.leaf_hashes),
        ("leaves", &mut b.leaves),
        ("envelopes", &mut b.envelopes),
        ("feed_entries", &mut b.feed_entries),
        ("trust_objects", &mut b.trust_objects),
    ]
}

/// Every mutation, named.
fn mutations(src: &Source) -> Vec<(String, Vec<u8>)> {
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let bytes = &src.bytes;
    let base = AuditBundle::decode(bytes).unwrap();

    // 1. Single-byte flips in every field class (value spans of the top-level map, headers
    //    included), then anywhere (structure and keys too).
    for (field, span) in field_spans(bytes) {
        let n = if span.len() < 40 { span.len() * 3 } else { 200 };
        for _ in 0..n {
            let p = span.start + rng.below(span.len());
            let mut m = bytes.clone();
            m[p] ^= flip(&mut rng);
            out.push((format!("flip {field} @{p}"), m));
        }
    }
    for _ in 0..200 {
        let p = rng.below(bytes.len());
        let mut m = bytes.clone();
        m[p] ^= flip(&mut rng);
        out.push((format!("flip @{p}"), m));
    }
    // 2. Truncation.
    for _ in 0..40 {
        let n = rng.below(bytes.len());
        out.push((format!("truncate to {n}"), bytes[..n].to_vec()));
    }
    // 3. Drop, swap, duplicate entries of every list.
    for li in 0..5 {
        let len = lists(&mut base.clone())[li].1.len();
        if len == 0 {
            continue;
        }
        let name = lists(&mut base.clone())[li].0;
        for _ in 0..len.min(25) {
            let k = rng.below(len);
            let mut b = base.clone();
            lists(&mut b)[li].1.remove(k);
            out.push((format!("drop {name}[{k}]"), b.encode()));
        }
        for _ in 0..len.min(25) {
            let (i, j) = (rng.below(len), rng.below(len));
            let mut b = base.clone();
            let l = &mut lists(&mut b)[li].1;
            if l[i] == l[j] {
                continue;
            }
            l.swap(i, j);
            out.push((format!("swap {name}[{i}] {name}[{j}]"), b.encode()));
        }
        for _ in 0..len.min(10) {
            let k = rng.below(len);
            let mut b = base.clone();
            let l = &mut lists(&mut b)[li].1;
            let e = l[k].clone();
            l.insert(k, e);
            out.push((format!("duplicate {name}[{k}]"), b.encode()));
        }
    }
    // 4. Swap signatures (the last 64 bytes of an envelope or feed entry).
    for (name, pick) in [("envelopes", 0usize), ("feed_entries", 1), ("trust_objects", 2)] {
        for _ in 0..20 {
            let mut b = base.clone();
            let l = match pick {
                0 => &mut b.envelopes,
                1 => &mut b.feed_entries,
                _ => &mut b.trust_objects,
            };
            if l.len() < 2 {
                break;
            }
            let (i, j) = (rng.below(l.len()), rng.below(l.len()));
            let (a, c) = (l[i].0.clone(), l[j].0.clone());
            if a[a.len() - 64..] == c[c.len() - 64..] {
                continue;
            }
            let n = a.len();
            l[i].0[n - 64..].copy_from_slice(&c[c.len() - 64..]);
            out.push((format!("signature of {name}[{j}] on {name}[{i}]"), b.encode()));
        }
    }
    // 5. Older valid checkpoints; a changed size line; a checkpoint from another log.
    for (k, cp) in src.older_checkpoints.iter().enumerate() {
        let mut b = base.clone();
        b.checkpoint = cp.clone();
        out.push((format!("older checkpoint {k}"), b.encode()));
    }
    let size = base.leaf_hashes.len() as u64;
    for new in [size - 1, size + 1, size * 10, 0] {
        let mut b = base.clone();
        b.checkpoint = b.checkpoint.replacen(&format!("\n{size}\n"), &format!("\n{new}\n"), 1);
        out.push((format!("size line {size} -> {new}"), b.encode()));
    }
    let mut b = base.clone();
    b.checkpoint = src.foreign.checkpoint.clone();
    out.push(("checkpoint of another log".into(), b.encode()));
    // 6. Substitute valid entries from another node's log.
    for (name, theirs) in [
        ("leaves", &src.foreign.leaves),
        ("envelopes", &src.foreign.envelopes),
        ("feed_entries", &src.foreign.feed_entries),
        ("trust_objects", &src.foreign.trust_objects),
    ] {
        for _ in 0..15 {
            if theirs.is_empty() {
                break;
            }
            let mut b = base.clone();
            let l = match name {
                "leaves" => &mut b.leaves,
                "envelopes" => &mut b.envelopes,
                "feed_entries" => &mut b.feed_entries,
                _ => &mut b.trust_objects,
            };
            let k = rng.below(l.len());
            let t = theirs[rng.below(theirs.len())].clone();
            if l[k] == t {
                continue;
            }
            l[k] = t;
            if name == "envelopes" {
                l.sort();
            }
            out.push((format!("foreign entry in {name}[{k}]"), b.encode()));
        }
    }
    // Mutations that happen to leave the bytes unchanged are not mutations.
    out.retain(|(_, m)| m != bytes);
    out
}

#[test]
fn audit_mutation() {
    let src = source::real_node();
    let trust = [src.root.clone()];
    let untouched = verify_bundle_bytes(&src.bytes, Some(&trust), None);
    assert!(untouched.ok, "untouched bundle from {} fails: {:?}", src.origin, untouched.failures);
    let t0 = std::time::Instant::now();
    let muts = mutations(&src);
    let mut detected = 0usize;
    let mut missed = Vec::new();
    for (name, m) in &muts {
        let r = verify_bundle_bytes(m, Some(&trust), None);
        if r.ok {
            missed.push(name.clone());
        } else {
            assert!(r.first_failure().is_some(), "{name}: failed without naming why");
            detected += 1;
        }
    }
    println!(
        "audit_mutation source={:?} bundle_bytes={} mutations={} detected={} in {:.1}s",
        src.origin,
        src.bytes.len(),
        muts.len(),
        detected,
        t0.elapsed().as_secs_f64()
    );
    assert!(missed.is_empty(), "undetected mutations: {missed:?}");
    assert!(muts.len() >= 2000, "only {} mutations", muts.len());

    // The binary agrees: exit 0 on the untouched bundle, 1 on mutated ones, naming the entry.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("b.cbor"), &src.bytes).unwrap();
    let roots = serde_json::json!({ src.root.0.as_str(): src.root.1.to_hex() });
    std::fs::write(d.path().join("roots.json"), roots.to_string()).unwrap();
    let o = run(d.path(), &["audit", "verify", "b.cbor", "--trust", "roots.json"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).starts_with("VERIFIED"), "{}", stdout(&o));
    for (name, m) in muts.iter().step_by(muts.len() / 12) {
        std::fs::write(d.path().join("m.cbor"), m).unwrap();
        let o = run(d.path(), &["audit", "verify", "m.cbor", "--trust", "roots.json"]);
        assert_eq!(code(&o), 1, "{name}: {}", stdout(&o));
        assert!(stdout(&o).contains("first failure:"), "{name}: {}", stdout(&o));
    }
}
