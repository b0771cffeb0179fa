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
