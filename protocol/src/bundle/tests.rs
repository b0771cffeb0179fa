use proptest::prelude::*;

use super::sample::{SampleLog, SAMPLE_T0};
use super::*;
use crate::keys::PublicKey;
use crate::objects::{Body, RepairBody};
use crate::{Day, RegionId};

fn codes(r: &VerifyReport) -> Vec<&str> {
    r.failures.iter().map(|f| f.code.as_str()).collect()
}

fn assert_fails(b: &AuditBundle, code: &str) -> VerifyReport {
    let r = verify_bundle(b, None, None);
    assert!(!r.ok, "expected {code}, bundle verified");
    assert!(codes(&r).contains(&code), "expected {code}, got {:?}", r.failures);
    r
}

fn sample(n: usize) -> SampleLog {
    SampleLog::mixed(n)
}

#[test]
fn untouched_bundles_verify() {
    let s = sample(60);
    let size = s.log.size();
    for (from, to) in [(0, size), (0, 0), (5, size), (size / 2, size / 2 + 7), (size, size)] {
        let b = s.log.bundle(from, to);
        let r = verify_bundle(&b, None, None);
        assert!(r.ok, "[{from},{to}): {:?}", r.failures);
        assert_eq!(r.counts.tree_size, size);
        assert_eq!(r.trust_source, "bundle");
    }
    let r = verify_bundle(&s.log.bundle(0, size), None, None);
    assert!(r.counts.accepted > 50 && r.counts.published > 30, "{:?}", r.counts);
    assert_eq!(r.counts.rejected_events, 6);
    assert_eq!(r.counts.unchecked_targets, 0);
    assert!(r.counts.signatures_checked > r.counts.accepted + r.counts.published);
}

#[test]
fn encoding_is_strict_and_round_trips() {
    let b = sample(10).log.bundle(0, 10);
    let bytes = b.encode();
    assert_eq!(AuditBundle::decode(&bytes).unwrap(), b);
    let mut t = bytes.clone();
    t.push(0);
    assert_eq!(AuditBundle::decode(&t).unwrap_err().code(), "trailing_bytes");
    assert_eq!(AuditBundle::decode(&bytes[..bytes.len() - 1]).unwrap_err().code(), "malformed_bundle");
    // `version: 1` written as a two-byte integer: same value, another encoding.
    let pos = bytes.windows(8).position(|w| w == b"version\x01").unwrap() + 7;
    let long = [&bytes[..pos], &[0x18, 0x01], &bytes[pos + 1..]].concat();
    assert_eq!(AuditBundle::decode(&long).unwrap_err().code(), "non_canonical_bundle");
    // The report of undecodable bytes names the parser.
    let r = verify_bundle_bytes(&t, None, None);
    assert!(!r.ok && r.failures[0].section == "bundle");
}

/// Canonical CBOR: map keys sorted by their encoding (shorter first).
#[test]
fn encoding_is_canonical_cbor() {
    let b = sample(3).log.bundle(0, 3);
    let v: ciborium::Value = ciborium::de::from_reader(b.encode().as_slice()).unwrap();
    let keys: Vec<String> = v.as_map().unwrap().iter().map(|(k, _)| k.as_text().unwrap().to_owned()).collect();
    let want = [
        "from",
        "leaves",
        "region",
        "anchors",
        "version",
        "node_key",
        "envelopes",
        "checkpoint",
        "leaf_hashes",
        "feed_entries",
        "trust_objects",
    ];
    assert_eq!(keys, want);
    assert_eq!(crate::cbor::to_canonical(&b, "bundle").unwrap(), b.encode());
}

/// The compatibility API the node's export and tests use.
#[test]
fn verify_result_names_the_first_failing_entry() {
    let s = sample(20);
    let b = s.log.bundle(0, s.log.size());
    let v = verify(&b, Some(&s.keys.root.public())).unwrap();
    assert_eq!((v.entries, v.size), (s.log.size(), s.log.size()));
    assert!(v.anchor_pinned_by_auditor && v.objects > 10);
    let mut bad = b.clone();
    let last = bad.leaves.len() - 1;
    bad.leaves[last].0[3] ^= 1;
    let err = verify(&bad, None).unwrap_err();
    assert!(err.to_string().starts_with(&format!("audit entry {last}: leaf_hash_mismatch")), "{err}");
}

#[test]
fn dropped_swapped_and_duplicated_entries_are_named() {
    let s = sample(40);
    let b = s.log.bundle(0, s.log.size());

    let mut x = b.clone();
    x.leaves.remove(12);
    let r = assert_fails(&x, "leaf_hash_mismatch");
    assert_eq!(r.first_failure().unwrap().index, Some(12));

    let mut x = b.clone();
    x.leaves.swap(10, 11);
    assert_fails(&x, "leaf_hash_mismatch");

    let mut x = b.clone();
    x.envelopes.swap(4, 5);
    assert_fails(&x, "envelopes_not_canonical");

    // Every envelope is needed: dropping any one of them is noticed.
    for k in 0..b.envelopes.len() {
        let mut x = b.clone();
        x.envelopes.remove(k);
        let r = verify_bundle(&x, None, None);
        assert!(
            codes(&r).iter().any(|c| ["envelope_missing", "target_missing", "trust_object_missing"].contains(c)),
            "drop {k}: {:?}",
            r.failures
        );
    }

    let mut x = b.clone();
    let e = x.envelopes[3].clone();
    x.envelopes.insert(3, e);
    assert_fails(&x, "envelopes_not_canonical");

    // An envelope nobody names.
    let mut other = sample(41);
    let extra = other.own_record();
    let _ = extra;
    let mut x = b.clone();
    let ob = other.log.bundle(0, other.log.size());
    let new: Vec<_> = ob.envelopes.iter().filter(|e| !b.envelopes.contains(e)).cloned().collect();
    x.envelopes.extend(new);
    x.envelopes.sort();
    assert_fails(&x, "unexpected_envelope");

    let mut x = b.clone();
    x.feed_entries.swap(2, 3);
    assert_fails(&x, "feed_entry_mismatch");

    let mut x = b.clone();
    x.feed_entries.pop();
    assert_fails(&x, "feed_entry_missing");

    let mut x = b.clone();
    x.trust_objects.swap(0, 1);
    assert_fails(&x, "trust_objects_not_canonical");

    let mut x = b.clone();
    x.trust_objects.remove(1);
    assert_fails(&x, "trust_object_missing");

    let mut x = b.clone();
    x.leaf_hashes.pop();
    assert_fails(&x, "size_mismatch");
}

#[test]
fn signatures_and_checkpoints_are_checked() {
    let s = sample(30);
    let b = s.log.bundle(0, s.log.size());

    // Swap the signatures of two envelopes (the last 64 bytes of each).
    let mut x = b.clone();
    let (a, c) = (x.envelopes[3].0.clone(), x.envelopes[4].0.clone());
    let n = a.len();
    x.envelopes[3].0[n - 64..].copy_from_slice(&c[c.len() - 64..]);
    assert_fails(&x, "bad_signature");

    // An older valid checkpoint.
    let mut x = b.clone();
    x.checkpoint = s.log.checkpoint(s.log.size() - 3);
    assert_fails(&x, "size_mismatch");

    // A changed size line (signature no longer verifies).
    let mut x = b.clone();
    x.checkpoint = x.checkpoint.replacen(&format!("\n{}\n", s.log.size()), &format!("\n{}\n", s.log.size() + 1), 1);
    assert_fails(&x, "bad_checkpoint");

    // Another node key.
    let mut x = b.clone();
    x.node_key = s.keys.authority.public();
    assert_fails(&x, "bad_checkpoint");
}

#[test]
fn auditor_roots_override_the_bundle() {
    let s = sample(20);
    let b = s.log.bundle(0, s.log.size());
    let xy: RegionId = "xinyang".parse().unwrap();
    let good = [(xy.clone(), s.keys.root.public())];
    let r = verify_bundle(&b, Some(&good), None);
    assert!(r.ok, "{:?}", r.failures);
    assert_eq!(r.trust_source, "auditor");
    let other: PublicKey = s.keys.peer_root.public();
    let r = verify_bundle(&b, Some(&[(xy, other)]), None);
    assert!(!r.ok);
    assert_eq!(codes(&r)[0], "anchor_mismatch");
    assert!(codes(&r).contains(&"not_root"), "{:?}", r.failures);
}

#[test]
fn consistency_with_previous_checkpoints() {
    let mut s = sample(20);
    let old = s.log.checkpoint(s.log.size());
    let old_size = s.log.size();
    for _ in 0..5 {
        s.own_record();
    }
    let b = s.log.bundle(0, s.log.size());
    let r = verify_bundle(&b, None, Some(&old));
    assert!(r.ok, "{:?}", r.failures);
    assert_eq!(r.previous_size, Some(old_size));

    // A newer checkpoint than the bundle's: rollback.
    let newer = {
        let mut s2 = sample(20);
        for _ in 0..8 {
            s2.own_record();
        }
        s2.log.checkpoint(s2.log.size())
    };
    let r = verify_bundle(&b, None, Some(&newer));
    assert!(codes(&r).contains(&"previous_larger"), "{:?}", r.failures);

    // A forked history: a different event where the bundle's log has a rejected submission.
    let mut fork = sample(19);
    fork.own_record();
    let forked = fork.log.checkpoint(fork.log.size());
    assert!(fork.log.size() <= s.log.size());
    let r = verify_bundle(&b, None, Some(&forked));
    assert!(codes(&r).contains(&"inconsistent_with_previous"), "{:?}", r.failures);

    // The same size, another root: a split view.
    let mut twin = sample(20);
    for _ in 0..4 {
        twin.own_record();
    }
    twin.peer_record();
    twin.rejected();
    assert_eq!(twin.log.size(), s.log.size());
    let r = verify_bundle(&b, None, Some(&twin.log.checkpoint(twin.log.size())));
    assert!(codes(&r).contains(&"split_view"), "{:?}", r.failures);
}

#[test]
fn authorization_is_replayed() {
    // A repair of a Suzhou record by Xinyang: not the origin.
    let mut s = SampleLog::new();
    let peer = s.peer_record();
    let (nonce, at) = (crate::objects::Nonce::from_bytes(&[9; 16]).unwrap(), SAMPLE_T0 + 500);
    let repair = Body::Repair(RepairBody {
        region: "xinyang".parse().unwrap(),
        signed_at: at,
        nonce,
        target: peer,
        repaired_on: Day::from_ymd(2026, 12, 1).unwrap(),
        basis: "x".into(),
    });
    s.log.set_time(at + 1);
    s.log.accept_body(&repair, &s.keys.authority.clone());
    let b = s.log.bundle(0, s.log.size());
    let r = assert_fails(&b, "not_origin");
    assert!(r.first_failure().unwrap().id.is_some());

    // The same repair exported alone carries its target, so the rule is still checked.
    let b = s.log.bundle(s.log.size() - 2, s.log.size());
    assert_fails(&b, "not_origin");
    // Without the target: named as missing.
    let mut x = b.clone();
    x.envelopes.retain(|e| crate::objects::open(&e.0).map(|o| o.id() != peer).unwrap_or(true));
    let r = assert_fails(&x, "target_missing");
    assert_eq!(r.counts.unchecked_targets, 1);
}

#[test]
fn revocations_apply_from_their_place_in_the_log() {
    let mut s = SampleLog::mixed(10);
    let before = s.own_record();
    let _ = before;
    // Revoked from a time *before* the earlier records were signed (backdated), accepted now:
    // earlier acceptances stay valid.
    let auth = s.keys.authority.public();
    let root = s.keys.root.clone();
    s.revoke("xinyang", &root, auth, SAMPLE_T0);
    let b = s.log.bundle(0, s.log.size());
    let r = verify_bundle(&b, None, None);
    assert!(r.ok, "{:?}", r.failures);

    // But an object by that key accepted after the revocation is a failure.
    s.own_record();
    let b = s.log.bundle(0, s.log.size());
    let r = assert_fails(&b, "key_revoked");
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
}

#[test]
fn revoked_key_signed_before_revocation_but_accepted_after_is_caught() {
    let mut s = SampleLog::mixed(4);
    let auth = s.keys.authority.public();
    let root = s.keys.root.clone();
    // Revoked from far in the future: objects signed now predate it, but the node knew of the
    // revocation and had to quarantine them (backdating defence).
    s.revoke("xinyang", &root, auth, SAMPLE_T0 + 10_000_000);
    s.own_record();
    let b = s.log.bundle(0, s.log.size());
    assert_fails(&b, "revoked_unwitnessed");
}

/// The witness exception (DESIGN §2): a peer's object signed before `revoked_from` whose body
/// arrives after the revocation is acceptable when its entry precedes the revocation's in the
/// origin's feed, and only then.
#[test]
fn late_body_of_a_revoked_key_is_accepted_only_when_its_entry_precedes_the_revocation() {
    for (object_seq, ok) in [(3, true), (9, false)] {
        let mut s = SampleLog::mixed(4);
        let peer_auth = s.keys.peer_authority.clone();
        let peer_root = s.keys.peer_root.clone();
        let (nonce, signed_at) = (crate::objects::Nonce::from_bytes(&[object_seq as u8; 16]).unwrap(), SAMPLE_T0 + 50);
        let revocation = Body::Revocation(crate::objects::RevocationBody {
            region: "suzhou".parse().unwrap(),
            signed_at: SAMPLE_T0 + 60,
            nonce: crate::objects::Nonce::from_bytes(&[0xee; 16]).unwrap(),
            key: peer_auth.public(),
            revoked_from: SAMPLE_T0 + 55,
            reason: "key_compromise".into(),
        });
        s.log.accept_at(&revocation.sign(&peer_root), Some(7));
        let Body::Record(mut late) = s.record_body("suzhou") else { unreachable!() };
        (late.signed_at, late.nonce) = (signed_at, nonce);
        s.log.accept_at(&Body::Record(late).sign(&peer_auth), Some(object_seq));
        let b = s.log.bundle(0, s.log.size());
        let r = verify_bundle(&b, None, None);
        if ok {
            assert!(r.ok, "{:?}", r.failures);
            assert_eq!(r.counts.witnessed_before_revocation, 1);
        } else {
            assert_eq!(codes(&r), vec!["revoked_unwitnessed"], "{:?}", r.failures);
        }
    }
}

#[test]
fn failure_list_is_bounded() {
    let s = sample(300);
    let mut b = s.log.bundle(0, s.log.size());
    for l in b.leaves.iter_mut() {
        l.0[2] ^= 1;
    }
    let r = verify_bundle(&b, None, None);
    assert!(!r.ok);
    assert!(r.failures.len() <= MAX_REPORTED_FAILURES);
    assert_eq!(r.failures[0].index, Some(0));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// Any range of any sample log verifies.
    #[test]
    fn any_range_verifies(n in 0usize..40, a in 0u64..200, b in 0u64..200) {
        let s = SampleLog::mixed(n);
        let size = s.log.size();
        let (from, to) = (a.min(b) % (size + 1), a.max(b) % (size + 1));
        let (from, to) = (from.min(to), from.max(to));
        let r = verify_bundle(&s.log.bundle(from, to), None, None);
        prop_assert!(r.ok, "{:?}", r.failures);
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Any single-byte change of an encoded bundle is refused by the parser or the verifier.
    #[test]
    fn any_byte_flip_is_detected(pos in any::<prop::sample::Index>(), x in 1u8..=255) {
        let s = SampleLog::mixed(12);
        let mut bytes = s.log.bundle(2, s.log.size()).encode();
        let p = pos.index(bytes.len());
        bytes[p] ^= x;
        let r = verify_bundle_bytes(&bytes, None, None);
        prop_assert!(!r.ok, "flip at {} went unnoticed", p);
    }
}

#[test]
fn log_origins_name_their_epoch() {
    assert_eq!(log_origin("xinyang", 1), "credfed/xinyang/audit");
    assert_eq!(log_origin("xinyang", 0), "credfed/xinyang/audit");
    assert_eq!(log_origin("xinyang", 2), "credfed/xinyang/audit/2");
    assert_eq!(log_epoch("credfed/xinyang/audit", "xinyang"), Some(1));
    assert_eq!(log_epoch("credfed/xinyang/audit/2", "xinyang"), Some(2));
    assert_eq!(log_epoch("credfed/xinyang/audit/4000000000", "xinyang"), Some(4_000_000_000));
    assert_eq!(log_region("credfed/luan/audit").map(|r| r.to_string()), Some("luan".into()));
    assert_eq!(log_region("credfed/luan/audit/3").map(|r| r.to_string()), Some("luan".into()));
    for bad in ["credfed/luan", "credfed/luan/audit/1", "credfed/luan/audit/03", "luan/audit", "credfed//audit", ""] {
        assert!(log_region(bad).is_none(), "{bad:?}");
    }
    for bad in [
        "credfed/xinyang/audit/1",
        "credfed/xinyang/audit/0",
        "credfed/xinyang/audit/02",
        "credfed/xinyang/audit/",
        "credfed/xinyang/audit/x",
        "credfed/xinyang/audit/+3",
        "credfed/xinyang/audits",
        "credfed/xinyangx/audit",
        "credfed/suzhou/audit",
        "credfed/xinyang/audit/99999999999",
    ] {
        assert_eq!(log_epoch(bad, "xinyang"), None, "{bad}");
    }
}
