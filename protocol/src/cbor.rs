//! Canonical CBOR (RFC 8949 §4.2.1 core deterministic encoding) and strict decoding.
//!
//! ciborium has no deterministic mode, so determinism comes from here: values are serialized to
//! a [`Value`] tree, map keys are sorted by the bytewise order of their encodings, floats and tags
//! are refused, and only definite lengths and shortest integer forms are written (ciborium's
//! defaults). Decoding is strict: a size cap is checked before decoding, nesting is bounded,
//! trailing bytes are refused, and the decoded value must re-encode to exactly the input bytes
//! (so one object can never have two encodings, hence two ids).

use std::fmt;

use ciborium::Value;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Maximum nesting depth accepted when decoding.
pub const MAX_DEPTH: usize = 16;

/// Why bytes are not acceptable canonical CBOR, or a value cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CborError {
    /// Input larger than the cap for this structure.
    #[error("{what} is {got} bytes, over the {max}-byte limit")]
    TooLarge {
        /// What was being decoded.
        what: &'static str,
        /// Actual size.
        got: usize,
        /// The cap.
        max: usize,
    },
    /// Not well-formed CBOR, too deeply nested, or truncated.
    #[error("malformed CBOR in {what}: {detail}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// Decoder message.
        detail: String,
    },
    /// Bytes left after the single top-level item.
    #[error("{what} has {extra} trailing bytes after the CBOR item")]
    TrailingBytes {
        /// What was being decoded.
        what: &'static str,
        /// How many bytes were left.
        extra: usize,
    },
    /// Well-formed but not in deterministic encoding (unsorted or duplicate map keys,
    /// indefinite lengths, non-shortest integers, …).
    #[error("{what} is not in canonical (deterministic) CBOR encoding")]
    NonCanonical {
        /// What was being decoded.
        what: &'static str,
    },
    /// Floats and tags are not part of any credfed structure.
    #[error("{what} contains a {kind}, which credfed encodings never use")]
    Forbidden {
        /// What was being encoded or decoded.
        what: &'static str,
        /// "float" or "tag".
        kind: &'static str,
    },
    /// Structurally valid CBOR that does not match the expected shape.
    #[error("{what}: {detail}")]
    Shape {
        /// What was being decoded.
        what: &'static str,
        /// serde's message, naming the field.
        detail: String,
    },
}

/// Encodes `value` canonically.
///
/// # Errors
/// [`CborError::Forbidden`] if the value contains floats or tags, [`CborError::NonCanonical`] on
/// duplicate map keys, [`CborError::Shape`] if serde refuses it.
pub fn to_canonical<T: Serialize + ?Sized>(value: &T, what: &'static str) -> Result<Vec<u8>, CborError> {
    let v = Value::serialized(value).map_err(|e| CborError::Shape { what, detail: e.to_string() })?;
    encode_value(canonicalize(v, what)?)
}

/// Encodes an already-canonical value tree.
fn encode_value(v: Value) -> Result<Vec<u8>, CborError> {
    let mut out = Vec::with_capacity(256);
    ciborium::ser::into_writer(&v, &mut out).expect("writing to a Vec cannot fail");
    Ok(out)
}

/// Sorts every map by encoded key bytes (RFC 8949 §4.2.1), refusing floats, tags and duplicates.
pub fn canonicalize(v: Value, what: &'static str) -> Result<Value, CborError> {
    Ok(match v {
        Value::Float(_) => return Err(CborError::Forbidden { what, kind: "float" }),
        Value::Tag(..) => return Err(CborError::Forbidden { what, kind: "tag" }),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|i| canonicalize(i, what)).collect::<Result<_, _>>()?)
        }
        Value::Map(entries) => {
            let mut keyed = Vec::with_capacity(entries.len());
            for (k, val) in entries {
                keyed.push((canonicalize(k, what)?, canonicalize(val, what)?));
            }
            keyed.sort_by(|a, b| key_order(&a.0, &b.0));
            if keyed.windows(2).any(|w| key_order(&w[0].0, &w[1].0) == std::cmp::Ordering::Equal) {
                return Err(CborError::NonCanonical { what });
            }
            Value::Map(keyed)
        }
        other => other,
    })
}

/// RFC 8949 §4.2.1 order of two map keys: the bytewise order of their encodings. For two text
/// keys (every key credfed writes) that is (length, bytes): the header's major type is equal,
/// its additional information grows with the length class, and the length follows big-endian.
/// Other keys are compared by encoding them.
fn key_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Text(x), Value::Text(y)) => x.len().cmp(&y.len()).then_with(|| x.as_bytes().cmp(y.as_bytes())),
        _ => {
            let enc = |v: &Value| {
                let mut out = Vec::with_capacity(16);
                ciborium::ser::into_writer(v, &mut out).expect("writing to a Vec cannot fail");
                out
            };
            enc(a).cmp(&enc(b))
        }
    }
}

/// Decodes exactly one canonical CBOR item of at most `max` bytes into a [`Value`].
///
/// # Errors
/// Every [`CborError`] variant except `Shape`.
pub fn decode_value(bytes: &[u8], max: usize, what: &'static str) -> Result<Value, CborError> {
    let v = parse_value(bytes, max, what)?;
    let canonical = encode_value(canonicalize(v.clone(), what)?)?;
    if canonical != bytes {
        return Err(CborError::NonCanonical { what });
    }
    Ok(v)
}

/// Decodes exactly one CBOR item of at most `max` bytes: size cap first, bounded nesting, no
/// trailing bytes, no floats or tags — but **without** the canonical-encoding check. Only for
/// callers that then require a typed value to re-encode to exactly `bytes`, which implies it
/// (so the input is not canonicalized and re-encoded twice).
///
/// # Errors
/// Every [`CborError`] variant except `Shape` and `NonCanonical`.
pub fn parse_value(bytes: &[u8], max: usize, what: &'static str) -> Result<Value, CborError> {
    if bytes.len() > max {
        return Err(CborError::TooLarge { what, got: bytes.len(), max });
    }
    let mut reader = bytes;
    let v: Value = ciborium::de::from_reader_with_recursion_limit(&mut reader, MAX_DEPTH)
        .map_err(|e| CborError::Malformed { what, detail: short_error(&e) })?;
    if !reader.is_empty() {
        return Err(CborError::TrailingBytes { what, extra: reader.len() });
    }
    refuse_forbidden(&v, what)?;
    Ok(v)
}

fn refuse_forbidden(v: &Value, what: &'static str) -> Result<(), CborError> {
    match v {
        Value::Float(_) => Err(CborError::Forbidden { what, kind: "float" }),
        Value::Tag(..) => Err(CborError::Forbidden { what, kind: "tag" }),
        Value::Array(items) => items.iter().try_for_each(|i| refuse_forbidden(i, what)),
        Value::Map(entries) => entries.iter().try_for_each(|(k, v)| {
            refuse_forbidden(k, what)?;
            refuse_forbidden(v, what)
        }),
        _ => Ok(()),
    }
}

/// Decodes canonical CBOR bytes into `T`, requiring that `T` re-encodes to the same bytes
/// (so optional fields cannot be spelled as explicit nulls, and so on).
///
/// # Errors
/// Any [`CborError`]; `Shape` names the offending field.
pub fn from_canonical<T: Serialize + DeserializeOwned>(
    bytes: &[u8],
    max: usize,
    what: &'static str,
) -> Result<T, CborError> {
    // The re-encoding comparison below implies the canonical-encoding check.
    let v = parse_value(bytes, max, what)?;
    let t: T = v.deserialized().map_err(|e| CborError::Shape { what, detail: shape_error(&e) })?;
    if to_canonical(&t, what)? != bytes {
        return Err(CborError::NonCanonical { what });
    }
    Ok(t)
}

fn short_error<E: fmt::Debug>(e: &E) -> String {
    let s = format!("{e:?}");
    s.chars().take(200).collect()
}

fn shape_error(e: &ciborium::value::Error) -> String {
    match e {
        ciborium::value::Error::Custom(s) => s.chars().take(200).collect(),
    }
}

/// An owned byte string that serializes as a CBOR byte string (not an array of integers)
/// and as lowercase hex in human-readable formats.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteBuf(pub Vec<u8>);

impl fmt::Debug for ByteBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ByteBuf({})", hex::encode(&self.0))
    }
}

impl Serialize for ByteBuf {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(&self.0))
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            return hex::decode(s).map(ByteBuf).map_err(|_| serde::de::Error::custom("expected lowercase hex"));
        }
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct T {
        zz: u64,
        a: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        opt: Option<u8>,
        b: ByteBuf,
    }

    fn sample() -> T {
        T { zz: 500, a: "x".into(), opt: None, b: ByteBuf(vec![1, 2, 3]) }
    }

    proptest::proptest! {
        /// The shortcut for text keys is the bytewise order of their encodings, across length
        /// classes (0–23, 24–255, 256–65 535) and for non-ASCII text; mixed keys fall back.
        #[test]
        fn key_order_is_encoding_order(
            a in "[a-z\u{4e00}-\u{4e0f}]{0,40}|[a-z]{250,300}",
            b in "[a-z\u{4e00}-\u{4e0f}]{0,40}|[a-z]{250,300}",
            n in proptest::prelude::any::<i64>(),
        ) {
            let enc = |v: &Value| {
                let mut out = Vec::new();
                ciborium::ser::into_writer(v, &mut out).unwrap();
                out
            };
            for (x, y) in [
                (Value::Text(a.clone()), Value::Text(b.clone())),
                (Value::Text(a.clone()), Value::Integer(n.into())),
                (Value::Integer(n.into()), Value::Bytes(b.clone().into_bytes())),
            ] {
                proptest::prop_assert_eq!(key_order(&x, &y), enc(&x).cmp(&enc(&y)));
            }
        }
    }

    #[test]
    fn keys_sorted_bytewise_and_round_trip() {
        let bytes = to_canonical(&sample(), "t").unwrap();
        // map(3) {"a": "x", "b": h'010203', "zz": 500}
        assert_eq!(hex::encode(&bytes), "a361616178616243010203627a7a1901f4");
        let back: T = from_canonical(&bytes, 1024, "t").unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn rejects_trailing_oversize_noncanonical_and_nulls() {
        let mut bytes = to_canonical(&sample(), "t").unwrap();
        assert!(matches!(from_canonical::<T>(&bytes, 4, "t"), Err(CborError::TooLarge { .. })));
        bytes.push(0);
        assert!(matches!(from_canonical::<T>(&bytes, 1024, "t"), Err(CborError::TrailingBytes { extra: 1, .. })));
        // Unsorted keys: {"zz":1,"a":"x","b":h''} written by hand.
        let unsorted = hex::decode("a3627a7a0161616178616240").unwrap();
        assert!(matches!(from_canonical::<T>(&unsorted, 1024, "t"), Err(CborError::NonCanonical { .. })));
        // Non-shortest integer: zz = 1 encoded as 0x1801.
        let long_int = hex::decode("a361616178616240627a7a1801").unwrap();
        assert!(matches!(from_canonical::<T>(&long_int, 1024, "t"), Err(CborError::NonCanonical { .. })));
        // Explicit null for an optional field: canonical CBOR, but not how T encodes.
        let with_null = hex::decode("a461616178616240636f7074f6627a7a01").unwrap();
        assert!(matches!(from_canonical::<T>(&with_null, 1024, "t"), Err(CborError::NonCanonical { .. })));
    }

    #[test]
    fn unknown_and_missing_fields_are_named() {
        let unknown = hex::decode("a461616178616240627a7a01637a7a7a01").unwrap();
        let err = from_canonical::<T>(&unknown, 1024, "t").unwrap_err();
        assert!(err.to_string().contains("zzz"), "{err}");
        let missing = hex::decode("a261616178616240").unwrap();
        let err = from_canonical::<T>(&missing, 1024, "t").unwrap_err();
        assert!(err.to_string().contains("zz"), "{err}");
    }

    #[test]
    fn deep_nesting_and_floats_refused() {
        let deep = [vec![0x81u8; 200], vec![0x00]].concat();
        assert!(matches!(decode_value(&deep, 1024, "t"), Err(CborError::Malformed { .. })));
        assert!(matches!(decode_value(&[0xf9, 0x3c, 0x00], 16, "t"), Err(CborError::Forbidden { kind: "float", .. })));
        assert!(matches!(decode_value(&[0xc1, 0x01], 16, "t"), Err(CborError::Forbidden { kind: "tag", .. })));
        // Declared length far beyond the input must fail cleanly, not allocate.
        assert!(decode_value(&[0x5b, 0, 0, 0, 1, 0, 0, 0, 0], 16, "t").is_err());
        assert!(decode_value(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 16, "t").is_err());
    }
}
