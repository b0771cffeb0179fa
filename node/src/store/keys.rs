//! Key prefixes and value versions of the single `credfed_v1` tree (STYLE §10).
//!
//! | prefix | key | value (after the version byte `1`) |
//! |---|---|---|
//! | `o` | id(32) | u32 BE meta length, meta CBOR, envelope bytes |
//! | `s` | subject key, `0x00`, id | empty (index by subject) |
//! | `t` | target id(32), id(32) | empty (index by target) |
//! | `y` | object type, `0x00`, id | empty (index by type) |
//! | `f` | origin, `0x00`, seq u64 BE | signed feed entry bytes |
//! | `h` | origin | seq u64 BE, entry hash(32) |
//! | `l` | index u64 BE | leaf hash(32), leaf bytes |
//! | `c` | change-log position u64 BE | object id(32), then `e` when its publicity ended (none: accepted) |
//! | `K` | token id | token record CBOR |
//! | `A` | region | root public key(32) |
//! | `M` | name (`format`, `frontier`, `checkpoint`, `policy`) | CBOR or text |
//! | `F` | namespace tag (`FedNs::tag`), key | federation state bytes |

use credfed_protocol::envelope::ObjectId;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StoreError;

/// Current value format version.
pub const V1: u8 = 1;
/// Marker stored under `M format`.
pub const FORMAT: &[u8] = b"credfed-store-v1";

/// Object key.
pub fn object(id: &ObjectId) -> Vec<u8> {
    cat(&[b"o", id.as_bytes()])
}
/// Subject index prefix.
pub fn subject_prefix(subject: &str) -> Vec<u8> {
    cat(&[b"s", subject.as_bytes(), &[0]])
}
/// Target index prefix.
pub fn target_prefix(target: &ObjectId) -> Vec<u8> {
    cat(&[b"t", target.as_bytes()])
}
/// Type index prefix.
pub fn type_prefix(t: &str) -> Vec<u8> {
    cat(&[b"y", t.as_bytes(), &[0]])
}
/// Feed entry key prefix of one origin.
pub fn feed_prefix(origin: &str) -> Vec<u8> {
    cat(&[b"f", origin.as_bytes(), &[0]])
}
/// Feed entry key.
pub fn feed(origin: &str, seq: u64) -> Vec<u8> {
    cat(&[&feed_prefix(origin), &seq.to_be_bytes()])
}
/// Feed head key.
pub fn head(origin: &str) -> Vec<u8> {
    cat(&[b"h", origin.as_bytes()])
}
/// Change-log key.
pub fn change(n: u64) -> Vec<u8> {
    cat(&[b"c", &n.to_be_bytes()])
}
/// Change-log value: `[V1] ++ id ++ kind tag` (no tag for an accepted object).
pub fn change_value(id: &ObjectId, kind: super::ChangeKind) -> Vec<u8> {
    let mut v = versioned(id.as_bytes());
    v.extend(kind.tag());
    v
}
/// Audit leaf key.
pub fn leaf(index: u64) -> Vec<u8> {
    cat(&[b"l", &index.to_be_bytes()])
}
/// Token key.
pub fn token(id: &str) -> Vec<u8> {
    cat(&[b"K", id.as_bytes()])
}
/// Anchor key.
pub fn anchor(region: &str) -> Vec<u8> {
    cat(&[b"A", region.as_bytes()])
}
/// Meta key.
pub fn meta(name: &str) -> Vec<u8> {
    cat(&[b"M", name.as_bytes()])
}

/// Federation-state key.
pub fn fed(ns: u8, key: &[u8]) -> Vec<u8> {
    cat(&[b"F", &[ns], key])
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// The trailing 32-byte id of an index key.
pub fn trailing_id(key: &[u8]) -> Result<ObjectId, StoreError> {
    let n = key.len();
    let tail: [u8; 32] = key
        .get(n.saturating_sub(32)..)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("index key of {n} bytes")))?;
    Ok(ObjectId(tail))
}

/// `[V1] ++ bytes`.
pub fn versioned(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes.len() + 1);
    v.push(V1);
    v.extend_from_slice(bytes);
    v
}

/// Strips and checks the version byte.
pub fn unversion<'a>(what: &str, v: &'a [u8]) -> Result<&'a [u8], StoreError> {
    match v.split_first() {
        Some((&V1, rest)) => Ok(rest),
        Some((other, _)) => Err(StoreError::Corrupt(format!("{what}: unknown value version {other}"))),
        None => Err(StoreError::Corrupt(format!("{what}: empty value"))),
    }
}

/// `[V1] ++ CBOR(value)`.
pub fn enc<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![V1];
    ciborium::ser::into_writer(value, &mut out).expect("writing to a Vec cannot fail");
    out
}

/// Inverse of [`enc`].
pub fn dec<T: DeserializeOwned>(what: &str, v: &[u8]) -> Result<T, StoreError> {
    let body = unversion(what, v)?;
    ciborium::de::from_reader(body).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}
