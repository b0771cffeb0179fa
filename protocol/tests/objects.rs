//! Round-trip, strictness and tamper-rejection properties of bodies and envelopes.

mod common;

use common::*;
use credfed_protocol::envelope::{Envelope, ObjectId};
use credfed_protocol::objects::{open, Body, BodyError};
use credfed_protocol::Severity;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every valid body encodes canonically and decodes back to itself; the id is SHA-256(body).
    #[test]
    fn body_round_trip(body in arb_body()) {
        let bytes = body.encode();
        prop_assert_eq!(Body::decode(&bytes).unwrap(), body.clone());
        let env = body.sign(&key("signer"));
        let obj = open(&env.encode()).unwrap();
        prop_assert_eq!(obj.id(), ObjectId::of(&bytes));
        prop_assert_eq!(obj.body, body);
    }

    /// Flipping any single byte of a signed envelope makes it unacceptable.
    #[test]
    fn any_byte_flip_is_rejected(body in arb_body(), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut bytes = body.sign(&key("signer")).encode();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        prop_assert!(open(&bytes).is_err());
    }

    /// Truncation and trailing bytes are rejected.
    #[test]
    fn truncation_and_trailing_rejected(body in arb_body(), cut in any::<prop::sample::Index>(), extra in 1usize..8) {
        let bytes = body.sign(&key("signer")).encode();
        let n = cut.index(bytes.len());
        prop_assert!(open(&bytes[..n]).is_err());
        let mut longer = bytes.clone();
        longer.extend(std::iter::repeat_n(0u8, extra));
        prop_assert!(open(&longer).is_err());
    }

    /// Random bytes never panic the decoder.
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = open(&bytes);
        let _ = Body::decode(&bytes);
    }
}

fn value_map(body: &Body) -> Vec<(ciborium::Value, ciborium::Value)> {
    let v: ciborium::Value = ciborium::de::from_reader(body.encode().as_slice()).unwrap();
    match v {
        ciborium::Value::Map(m) => m,
        _ => unreachable!(),
    }
}

fn encode_sorted(mut m: Vec<(ciborium::Value, ciborium::Value)>) -> Vec<u8> {
    let v = credfed_protocol::cbor::canonicalize(ciborium::Value::Map(std::mem::take(&mut m)), "t").unwrap();
    let mut out = Vec::new();
    ciborium::ser::into_writer(&v, &mut out).unwrap();
    out
}

#[test]
fn missing_nonce_unknown_type_and_unknown_field_are_named() {
    let body = Body::Record(penalty("xinyang", USCCS[0], Severity::General, "2026-01-05", 1));
    let key_is = |k: &ciborium::Value, name: &str| matches!(k, ciborium::Value::Text(t) if t == name);

    let no_nonce: Vec<_> = value_map(&body).into_iter().filter(|(k, _)| !key_is(k, "nonce")).collect();
    let err = Body::decode(&encode_sorted(no_nonce)).unwrap_err();
    assert!(err.to_string().contains("nonce"), "{err}");

    let mut short_nonce = value_map(&body);
    for (k, v) in short_nonce.iter_mut() {
        if key_is(k, "nonce") {
            *v = ciborium::Value::Bytes(vec![1; 8]);
        }
    }
    let err = Body::decode(&encode_sorted(short_nonce)).unwrap_err();
    assert_eq!(err.code(), "invalid_nonce", "{err}");

    let mut unknown_type = value_map(&body);
    for (k, v) in unknown_type.iter_mut() {
        if key_is(k, "type") {
            *v = ciborium::Value::Text("record2".into());
        }
    }
    assert_eq!(Body::decode(&encode_sorted(unknown_type)).unwrap_err(), BodyError::UnknownType("record2".into()));

    let mut extra = value_map(&body);
    extra.push((ciborium::Value::Text("surprise".into()), ciborium::Value::Integer(1.into())));
    let err = Body::decode(&encode_sorted(extra)).unwrap_err();
    assert!(err.to_string().contains("surprise"), "{err}");
    // serde lists `nonce` among the expected fields; the error is still not about the nonce.
    assert_eq!(err.code(), "invalid_body", "{err}");
}

#[test]
fn per_kind_field_rules() {
    let mut p = penalty("xinyang", USCCS[0], Severity::General, "2026-01-05", 1);
    p.record.severity = None;
    let err = Body::decode(&Body::Record(p.clone()).encode()).unwrap_err();
    assert_eq!(err.code(), "missing_field");
    assert!(err.to_string().contains("severity"));

    p.record.severity = Some(Severity::General);
    p.record.kind = credfed_protocol::RecordKind::AdministrativeLicense;
    p.record.penalty_types.clear();
    let err = Body::decode(&Body::Record(p.clone()).encode()).unwrap_err();
    assert_eq!(err.code(), "field_not_allowed");

    p.record.severity = None;
    p.record.sector = "Market Regulation".into();
    let err = Body::decode(&Body::Record(p).encode()).unwrap_err();
    assert!(err.to_string().contains("sector"), "{err}");
}

#[test]
fn envelope_signature_binds_body_and_key() {
    let body = Body::Record(penalty("xinyang", USCCS[0], Severity::General, "2026-01-05", 1));
    let env = body.sign(&key("a"));
    let mut swapped = env.clone();
    swapped.signer = key("b").public();
    assert_eq!(open(&swapped.encode()).unwrap_err().code(), "bad_signature");
    let other = Body::Record(penalty("xinyang", USCCS[1], Severity::General, "2026-01-05", 1));
    let moved = Envelope { body: other.encode(), ..env };
    assert_eq!(open(&moved.encode()).unwrap_err().code(), "bad_signature");
}
