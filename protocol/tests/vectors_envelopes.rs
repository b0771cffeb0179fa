//! Checks the published envelope vectors (`tests/vectors/envelopes.json`) against the library,
//! and that the committed file is exactly what its generator produces.
//!
//! Regenerate with `cargo run -p credfed-protocol --example gen_vectors`.

#[path = "support/vectors.rs"]
mod vectors;

use std::collections::BTreeSet;

use credfed_protocol::envelope::{Envelope, ObjectId, ENVELOPE_DOMAIN};
use credfed_protocol::keys::SecretKey;
use credfed_protocol::objects::{open, Body, Subject};
use credfed_protocol::{ObjectType, RecordKind};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    description: String,
    secret_key_hex: String,
    public_key_hex: String,
    body_hex: String,
    envelope_hex: String,
    id_hex: String,
    valid: bool,
    #[serde(default)]
    error: Option<String>,
}

fn load() -> Vec<Vector> {
    serde_json::from_str(&vectors::committed("envelopes.json")).expect("envelopes.json parses")
}

fn bytes(h: &str) -> Vec<u8> {
    hex::decode(h).expect("lowercase hex")
}

#[test]
fn every_vector_matches_the_library() {
    for v in load() {
        let d = &v.description;
        let (body, envelope) = (bytes(&v.body_hex), bytes(&v.envelope_hex));
        assert_eq!(ObjectId::of(&body).to_hex(), v.id_hex, "{d}: id_hex = SHA-256(body)");
        match open(&envelope) {
            Ok(obj) => {
                assert!(v.valid && v.error.is_none(), "{d}: accepted, but published as invalid");
                assert_eq!(obj.id().to_hex(), v.id_hex, "{d}");
                assert_eq!(obj.envelope.encode(), envelope, "{d}: re-encoding must give the input");
                assert_eq!(obj.envelope.body(), body.as_slice(), "{d}");
                assert_eq!(obj.body.encode(), body, "{d}: the body is canonical");
                assert_eq!(obj.signer().to_hex(), v.public_key_hex, "{d}");
                // Ed25519 is deterministic: the secret reproduces the exact envelope.
                let sk = SecretKey::from_hex(&v.secret_key_hex).expect("seed");
                assert_eq!(sk.public().to_hex(), v.public_key_hex, "{d}");
                assert_eq!(Envelope::sign(ENVELOPE_DOMAIN, body, &sk).encode(), envelope, "{d}");
            }
            Err(e) => {
                assert!(!v.valid, "{d}: rejected ({}: {e}), but published as valid", e.code());
                assert_eq!(Some(e.code()), v.error.as_deref(), "{d}: {e}");
            }
        }
    }
}

#[test]
fn vectors_cover_every_type_and_the_promised_failures() {
    let all = load();
    let valid: Vec<Body> = all.iter().filter(|v| v.valid).map(|v| Body::decode(&bytes(&v.body_hex)).unwrap()).collect();
    let types: BTreeSet<ObjectType> = valid.iter().map(Body::object_type).collect();
    assert_eq!(types.len(), ObjectType::ALL.len(), "a valid body of every object type: {types:?}");
    let kinds: BTreeSet<RecordKind> = valid.iter().filter_map(|b| b.record_content()).map(|c| c.kind).collect();
    assert!(kinds.len() >= 4, "several record kinds: {kinds:?}");

    // The person-digest subject is the published HMAC of the published (made-up) ID number.
    let digests: Vec<_> = valid
        .iter()
        .filter_map(|b| match b.record_content().map(|c| &c.subject) {
            Some(Subject::PersonDigest(d)) => Some(*d),
            _ => None,
        })
        .collect();
    assert_eq!(digests, vec![vectors::envelopes::person_digest()]);

    let invalid: Vec<&Vector> = all.iter().filter(|v| !v.valid).collect();
    assert!(invalid.len() >= 12, "{} invalid cases", invalid.len());
    let codes: BTreeSet<&str> = invalid.iter().filter_map(|v| v.error.as_deref()).collect();
    for code in [
        "bad_signature",
        "bad_key",
        "trailing_bytes",
        "non_canonical",
        "malformed_envelope",
        "unsupported_version",
        "too_large",
        "invalid_nonce",
        "unknown_type",
        "missing_type",
        "invalid_body",
        "missing_field",
        "field_not_allowed",
        "field_too_long",
        "invalid_field",
        "malformed_body",
    ] {
        assert!(codes.contains(code), "no invalid case with code {code}");
    }
    let descriptions: BTreeSet<&str> = all.iter().map(|v| v.description.as_str()).collect();
    assert_eq!(descriptions.len(), all.len(), "descriptions are unique");
}

#[test]
fn committed_file_is_generated() {
    vectors::assert_committed_is_generated("envelopes.json");
}

#[test]
fn national_vectors_carry_exact_amounts_and_mapped_penalty_types() {
    use credfed_protocol::national::{format_wan_yuan, penalty_types_for, LicenceCategory, SubjectCategory};
    let all = load();
    let contents: Vec<_> = all
        .iter()
        .filter(|v| v.valid)
        .filter_map(|v| Body::decode(&bytes(&v.body_hex)).unwrap().record_content().cloned())
        .collect();
    let national: Vec<_> = contents.iter().filter(|c| c.national.is_some()).collect();
    assert_eq!(national.len(), 3, "a penalty, a licence and a 个体工商户 penalty with the block");
    // Content without the block never has the key: those bytes are what they were before it.
    for v in all.iter().filter(|v| v.valid) {
        let b = Body::decode(&bytes(&v.body_hex)).unwrap();
        let has_key = bytes(&v.body_hex).windows(9).any(|w| w == b"\x68national");
        assert_eq!(has_key, b.record_content().is_some_and(|c| c.national.is_some()), "{}", v.description);
    }
    let penalty = national.iter().find(|c| c.kind == RecordKind::AdministrativePenalty).unwrap();
    let p = penalty.national.as_ref().unwrap().penalty.as_ref().unwrap();
    assert_eq!((p.fine_fen, p.confiscated_fen), (Some(200_000), Some(112_000)));
    assert_eq!(format_wan_yuan(p.fine_fen.unwrap()), "0.2");
    assert_eq!(penalty_types_for(&p.categories).unwrap(), penalty.penalty_types);
    let licence = national.iter().find(|c| c.kind == RecordKind::AdministrativeLicense).unwrap();
    let l = licence.national.as_ref().unwrap().licence.as_ref().unwrap();
    assert_eq!(l.category, LicenceCategory::Ordinary);
    assert_eq!(licence.valid_until, None, "2099-12-31 means no end");
    let individual =
        national.iter().find(|c| matches!(c.subject, Subject::RegistrationNo(_))).expect("registration_no subject");
    assert_eq!(individual.national.as_ref().unwrap().subject_category, SubjectCategory::IndividualBusiness);
    assert_eq!(individual.subject.key(), "regno:411502600123456");
}

/// The ids of the 16 valid vectors published before the national block existed (PROTOCOL.md
/// §3.6 compatibility rule: content without the block keeps its exact bytes).
const PRE_NATIONAL_IDS: [&str; 16] = [
    "bd2c4bd8555ff2e92fbefa218ff9a9d146adf82d03c701797d1ca4ad5e1a8ff0",
    "5f8409597987aa097d02109138683d5ea6b66bbc49974c03c72044b937ea8eae",
    "65da14131f085a1862477764c8a5d52561570f62c19c47b65fd80570a54e1fff",
    "4ceca2aec3da9b47a1bccdd391c90fec31299a8e7462a008a7d33808bdf87efa",
    "7070beb3736987237eb7d03e969c6becc52e90b68a952685a7e0aef8ff5be4f2",
    "ae6f1e3c18d47917b30386bf6a63afad14730a34fa158bb7be2a1d4d68a563c6",
    "35da0ed591459127c682ca2f1583a5c56397e447e0f64cd26281edb6584f8866",
    "4cc6a834aea37fddcf5a2010afd76b12705e808d4482ffd340413e2d80af12de",
    "b708ae88aa574eecde14d3655bdd12c7b5c4310b7cead14143373d07bf178f8e",
    "98fee72b02dd38476c8ee3264f19f76422e55092d55fa8d0b45171631d3c5975",
    "7eff652b5b89c4d0255abdda189e29fc4b78fc1888c305dfc7086cbbf706eed2",
    "2681764f743fdf21c11f3c846e912374931615532c19a25c8b6534a4df42a27e",
    "ea481d28d8957d348a4300692824aaecce04db28ab37e01e9921e0e56c8a7d16",
    "bb6b3ed89f36623bc9d060f9932f861800a7efcb68a7c3f7d7c708c6920f1834",
    "2d0eb5bc137670f60d013f0f72597eb8553285fc61dcb0c408f03901075aed9e",
    "76a8df5b96d3a31c90f76d62102964b7ed330b8bf620aafb29e081bd0e43aed7",
];

#[test]
fn vectors_published_before_the_national_block_keep_their_bytes() {
    let valid: Vec<String> = load().into_iter().filter(|v| v.valid).map(|v| v.id_hex).collect();
    for id in PRE_NATIONAL_IDS {
        assert!(valid.contains(&id.to_string()), "{id} is still published, with the same body");
    }
}
