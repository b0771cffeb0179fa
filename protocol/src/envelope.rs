//! Signed envelopes (DESIGN §3): `[version, body: bstr, signer_public_key: bstr(32), signature: bstr(64)]`.
//!
//! `signature = Ed25519(signer, domain || 0x00 || body)` where `domain` is
//! [`ENVELOPE_DOMAIN`] for federated objects and [`FEED_ENTRY_DOMAIN`] for feed entries, so a
//! signature made for one can never be replayed as the other. `id = SHA-256(body)`.
//!
//! Decoding yields an unverified [`Envelope`]; only [`Envelope::verify`] produces a
//! [`VerifiedEnvelope`], the type the rest of the system accepts (STYLE §5). The body bytes are
//! kept exactly as received and never re-encoded.

use std::fmt;
use std::str::FromStr;

use ciborium::Value;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::cbor::{self, ByteBuf, CborError};
use crate::keys::{KeyError, PublicKey, SecretKey, Signature};

/// Wire version of the envelope format.
pub const ENVELOPE_VERSION: u64 = 1;
/// Domain tag for federated objects.
pub const ENVELOPE_DOMAIN: &[u8] = b"credfed/v1/envelope";
/// Domain tag for origin-feed entries.
pub const FEED_ENTRY_DOMAIN: &[u8] = b"credfed/v1/feed-entry";
/// Largest body accepted (bytes).
pub const MAX_BODY_LEN: usize = 48 * 1024;
/// Largest encoded envelope accepted (bytes): body plus framing, key and signature.
pub const MAX_ENVELOPE_LEN: usize = MAX_BODY_LEN + 128;

/// SHA-256 of a body: the id of an object, shown as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId(pub [u8; 32]);

impl ObjectId {
    /// The id of `body` bytes.
    pub fn of(body: &[u8]) -> ObjectId {
        ObjectId(Sha256::digest(body).into())
    }
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// Raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Text that is not 64 lowercase-or-uppercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid object id {input:?}: expected 64 hex characters")]
pub struct ObjectIdError {
    /// The rejected input (truncated).
    pub input: String,
}

impl FromStr for ObjectId {
    type Err = ObjectIdError;
    fn from_str(s: &str) -> Result<ObjectId, ObjectIdError> {
        let err = || ObjectIdError { input: s.chars().take(80).collect() };
        let v = hex::decode(s).map_err(|_| err())?;
        Ok(ObjectId(v.try_into().map_err(|_| err())?))
    }
}
impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({})", &self.to_hex()[..12])
    }
}
impl Serialize for ObjectId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_hex())
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}
impl<'de> Deserialize<'de> for ObjectId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ObjectId, D::Error> {
        let b = ByteBuf::deserialize(d)?;
        let arr: [u8; 32] =
            b.0.as_slice()
                .try_into()
                .map_err(|_| serde::de::Error::custom(format!("object id must be 32 bytes, got {}", b.0.len())))?;
        Ok(ObjectId(arr))
    }
}

/// Why envelope bytes were rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not acceptable CBOR (size, trailing bytes, non-canonical…).
    #[error(transparent)]
    Cbor(#[from] CborError),
    /// Not a 4-element array of the right item types.
    #[error("envelope must be [version, body, signer_public_key, signature]: {0}")]
    Structure(&'static str),
    /// A version this implementation does not speak.
    #[error("unsupported envelope version {0} (this node speaks {ENVELOPE_VERSION})")]
    Version(u64),
    /// Body over the cap.
    #[error("envelope body is {got} bytes, over the {max}-byte limit")]
    BodyTooLarge {
        /// Actual size.
        got: usize,
        /// The cap.
        max: usize,
    },
    /// Bad signer key or signature length.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The signature does not verify over the domain-separated body.
    #[error("signature does not verify for signer {signer}")]
    BadSignature {
        /// Hex of the claimed signer.
        signer: String,
    },
}

impl EnvelopeError {
    /// Stable snake_case code for APIs, metrics and audit entries.
    pub fn code(&self) -> &'static str {
        match self {
            EnvelopeError::Cbor(CborError::TooLarge { .. }) | EnvelopeError::BodyTooLarge { .. } => "too_large",
            EnvelopeError::Cbor(CborError::TrailingBytes { .. }) => "trailing_bytes",
            EnvelopeError::Cbor(CborError::NonCanonical { .. }) => "non_canonical",
            EnvelopeError::Cbor(_) | EnvelopeError::Structure(_) => "malformed_envelope",
            EnvelopeError::Version(_) => "unsupported_version",
            EnvelopeError::Key(_) => "bad_key",
            EnvelopeError::BadSignature { .. } => "bad_signature",
        }
    }
}

/// A decoded but **unverified** signed structure.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Body bytes exactly as received.
    pub body: Vec<u8>,
    /// Claimed signer.
    pub signer: PublicKey,
    /// Claimed signature.
    pub signature: Signature,
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("id", &self.id())
            .field("signer", &self.signer)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// CBOR head of a 4-element array.
const ARRAY_OF_4: u8 = 0x84;
/// [`ENVELOPE_VERSION`] as a one-byte CBOR unsigned integer.
const ENVELOPE_VERSION_BYTE: u8 = ENVELOPE_VERSION as u8;
const _: () = assert!(ENVELOPE_VERSION < 24, "the version must encode in the initial byte");
/// CBOR head of a 32-byte byte string.
const KEY_HEAD: [u8; 2] = [0x58, 0x20];
/// CBOR head of a 64-byte byte string.
const SIGNATURE_HEAD: [u8; 2] = [0x58, 0x40];
/// Bytes an envelope adds to its body, at most (array, version, body head, key, signature).
const FRAMING_LEN: usize = 2 + 9 + 2 + 32 + 2 + 64;

/// Appends the shortest definite-length CBOR head of a byte string of `len` bytes.
fn push_bstr_head(out: &mut Vec<u8>, len: usize) {
    const BYTES: u8 = 2 << 5;
    match len {
        0..=23 => out.push(BYTES | len as u8),
        24..=0xff => out.extend_from_slice(&[BYTES | 24, len as u8]),
        0x100..=0xffff => {
            out.push(BYTES | 25);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => match u32::try_from(len) {
            Ok(n) => {
                out.push(BYTES | 26);
                out.extend_from_slice(&n.to_be_bytes());
            }
            Err(_) => {
                out.push(BYTES | 27);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        },
    }
}

/// Reads a definite-length byte-string head in its shortest form: `(length, rest)`.
fn bstr_head(b: &[u8]) -> Option<(usize, &[u8])> {
    let (&first, rest) = b.split_first()?;
    if first >> 5 != 2 {
        return None;
    }
    match first & 0x1f {
        n @ 0..=23 => Some((usize::from(n), rest)),
        24 => {
            let (&n, rest) = rest.split_first()?;
            (n >= 24).then_some((usize::from(n), rest))
        }
        25 => {
            let (n, rest) = rest.split_first_chunk::<2>()?;
            let n = u16::from_be_bytes(*n);
            (n > 0xff).then_some((usize::from(n), rest))
        }
        26 => {
            let (n, rest) = rest.split_first_chunk::<4>()?;
            let n = u32::from_be_bytes(*n);
            (n > 0xffff).then_some((usize::try_from(n).ok()?, rest))
        }
        _ => None,
    }
}

/// Splits bytes of exactly the canonical envelope layout into `(body, signer, signature)`;
/// `None` for anything else (other lengths, heads, versions, trailing bytes…).
fn split_canonical(bytes: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let rest = bytes.strip_prefix(&[ARRAY_OF_4, ENVELOPE_VERSION_BYTE])?;
    let (len, rest) = bstr_head(rest)?;
    if rest.len() != len.checked_add(2 + 32 + 2 + 64)? {
        return None;
    }
    let (body, rest) = rest.split_at_checked(len)?;
    let (signer, rest) = rest.strip_prefix(&KEY_HEAD)?.split_at_checked(32)?;
    let signature = rest.strip_prefix(&SIGNATURE_HEAD)?;
    Some((body, signer, signature))
}

/// The bytes a signature covers: `domain || 0x00 || body`.
pub fn signing_input(domain: &[u8], body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(domain.len() + 1 + body.len());
    m.extend_from_slice(domain);
    m.push(0);
    m.extend_from_slice(body);
    m
}

impl Envelope {
    /// Signs `body` (already canonical bytes) under `domain`.
    pub fn sign(domain: &[u8], body: Vec<u8>, key: &SecretKey) -> Envelope {
        let signature = key.sign(&signing_input(domain, &body));
        Envelope { body, signer: key.public(), signature }
    }

    /// The object id: SHA-256 of the body.
    pub fn id(&self) -> ObjectId {
        ObjectId::of(&self.body)
    }

    /// Canonical encoding: `0x84 0x01 bstr(body) 0x58 0x20 signer 0x58 0x40 signature`, the
    /// byte-string head of the body in its shortest form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + FRAMING_LEN);
        out.extend_from_slice(&[ARRAY_OF_4, ENVELOPE_VERSION_BYTE]);
        push_bstr_head(&mut out, self.body.len());
        out.extend_from_slice(&self.body);
        out.extend_from_slice(&KEY_HEAD);
        out.extend_from_slice(self.signer.as_bytes());
        out.extend_from_slice(&SIGNATURE_HEAD);
        out.extend_from_slice(&self.signature.0);
        out
    }

    /// Strictly decodes envelope bytes (size cap first, then structure). Does not verify.
    ///
    /// # Errors
    /// [`EnvelopeError`] naming what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        // Fast path: the exact canonical layout, which is all that `decode_general` accepts,
        // read without building a value tree. Anything else takes the general path, which
        // alone decides (and names) every rejection.
        if bytes.len() <= MAX_ENVELOPE_LEN {
            if let Some((body, signer, signature)) = split_canonical(bytes) {
                if body.len() <= MAX_BODY_LEN {
                    return Ok(Envelope {
                        body: body.to_vec(),
                        signer: PublicKey::from_bytes(signer)?,
                        signature: Signature::from_bytes(signature)?,
                    });
                }
            }
        }
        Envelope::decode_general(bytes)
    }

    /// The general strict decoder: canonical CBOR check, then structure.
    fn decode_general(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        let v = cbor::decode_value(bytes, MAX_ENVELOPE_LEN, "envelope")?;
        let Value::Array(items) = v else { return Err(EnvelopeError::Structure("not an array")) };
        let [version, body, signer, signature]: [Value; 4] =
            items.try_into().map_err(|_| EnvelopeError::Structure("expected exactly 4 elements"))?;
        let version = match version {
            Value::Integer(i) => u64::try_from(i).map_err(|_| EnvelopeError::Structure("version must be unsigned"))?,
            _ => return Err(EnvelopeError::Structure("version must be an integer")),
        };
        if version != ENVELOPE_VERSION {
            return Err(EnvelopeError::Version(version));
        }
        let (Value::Bytes(body), Value::Bytes(signer), Value::Bytes(signature)) = (body, signer, signature) else {
            return Err(EnvelopeError::Structure("body, signer and signature must be byte strings"));
        };
        if body.len() > MAX_BODY_LEN {
            return Err(EnvelopeError::BodyTooLarge { got: body.len(), max: MAX_BODY_LEN });
        }
        Ok(Envelope { body, signer: PublicKey::from_bytes(&signer)?, signature: Signature::from_bytes(&signature)? })
    }

    /// Verifies the signature under `domain`.
    ///
    /// # Errors
    /// [`EnvelopeError::BadSignature`].
    pub fn verify(self, domain: &'static [u8]) -> Result<VerifiedEnvelope, EnvelopeError> {
        if self.signer.verify(&signing_input(domain, &self.body), &self.signature) {
            Ok(VerifiedEnvelope { id: self.id(), envelope: self })
        } else {
            Err(EnvelopeError::BadSignature { signer: self.signer.to_hex() })
        }
    }
}

/// An envelope whose signature verified. Only [`Envelope::verify`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEnvelope {
    id: ObjectId,
    envelope: Envelope,
}

impl VerifiedEnvelope {
    /// SHA-256 of the body.
    pub fn id(&self) -> ObjectId {
        self.id
    }
    /// The signer whose signature verified.
    pub fn signer(&self) -> PublicKey {
        self.envelope.signer
    }
    /// Body bytes as received.
    pub fn body(&self) -> &[u8] {
        &self.envelope.body
    }
    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    /// Canonical envelope bytes (identical to the accepted input, which had to be canonical).
    pub fn encode(&self) -> Vec<u8> {
        self.envelope.encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SecretKey {
        SecretKey::from_bytes(&[b; 32]).unwrap()
    }

    #[test]
    fn sign_encode_decode_verify() {
        let env = Envelope::sign(ENVELOPE_DOMAIN, vec![0xa0], &key(1));
        let bytes = env.encode();
        let back = Envelope::decode(&bytes).unwrap();
        assert_eq!(back, env);
        let v = back.verify(ENVELOPE_DOMAIN).unwrap();
        assert_eq!(v.id(), ObjectId::of(&[0xa0]));
        assert_eq!(v.encode(), bytes);
    }

    #[test]
    fn domains_do_not_cross() {
        let env = Envelope::sign(FEED_ENTRY_DOMAIN, vec![0xa0], &key(1));
        assert_eq!(env.clone().verify(ENVELOPE_DOMAIN).unwrap_err().code(), "bad_signature");
        assert!(env.verify(FEED_ENTRY_DOMAIN).is_ok());
    }

    #[test]
    fn structural_errors_are_named() {
        let env = Envelope::sign(ENVELOPE_DOMAIN, vec![0xa0], &key(1));
        let mut trailing = env.encode();
        trailing.push(0);
        assert_eq!(Envelope::decode(&trailing).unwrap_err().code(), "trailing_bytes");
        assert_eq!(Envelope::decode(&[0x80]).unwrap_err().code(), "malformed_envelope");
        assert_eq!(Envelope::decode(&vec![0u8; MAX_ENVELOPE_LEN + 1]).unwrap_err().code(), "too_large");
        let v2 =
            Value::Array(vec![2.into(), Value::Bytes(vec![]), Value::Bytes(vec![0; 32]), Value::Bytes(vec![0; 64])]);
        let mut b = Vec::new();
        ciborium::ser::into_writer(&v2, &mut b).unwrap();
        assert_eq!(Envelope::decode(&b).unwrap_err(), EnvelopeError::Version(2));
    }

    /// The value-tree encoding the direct writer replaces.
    fn encode_via_value(env: &Envelope) -> Vec<u8> {
        let v = Value::Array(vec![
            Value::Integer(ENVELOPE_VERSION.into()),
            Value::Bytes(env.body.clone()),
            Value::Bytes(env.signer.as_bytes().to_vec()),
            Value::Bytes(env.signature.0.to_vec()),
        ]);
        let mut out = Vec::new();
        ciborium::ser::into_writer(&v, &mut out).unwrap();
        out
    }

    #[test]
    fn direct_encoding_is_the_canonical_cbor_encoding() {
        for len in [0, 1, 23, 24, 255, 256, 1000, 0xffff, 0x1_0000, MAX_BODY_LEN, MAX_BODY_LEN + 1] {
            let env = Envelope::sign(ENVELOPE_DOMAIN, vec![0xa0; len], &key(2));
            let bytes = env.encode();
            assert_eq!(bytes, encode_via_value(&env), "body of {len} bytes");
            assert_eq!(Envelope::decode(&bytes), Envelope::decode_general(&bytes), "body of {len} bytes");
            assert_eq!(split_canonical(&bytes).map(|(b, _, _)| b.len()), Some(len));
        }
    }

    /// Every single-byte change, truncation and extension of a valid envelope (and of
    /// envelopes with edge-length bodies) decodes exactly as the general decoder decides.
    #[test]
    fn fast_path_agrees_with_the_general_decoder() {
        let mut seeds = Vec::new();
        for len in [0usize, 23, 24, 255, 256] {
            seeds.push(Envelope::sign(ENVELOPE_DOMAIN, vec![0x5a; len], &key(3)).encode());
        }
        let mut tried = 0;
        for seed in &seeds {
            for i in 0..seed.len() {
                for v in [
                    0x00, 0x01, 0x02, 0x18, 0x19, 0x1a, 0x1f, 0x20, 0x40, 0x41, 0x57, 0x58, 0x59, 0x5f, 0x83, 0x84,
                    0x85, 0x9f, 0xff,
                ] {
                    let mut m = seed.clone();
                    m[i] = v;
                    assert_eq!(Envelope::decode(&m), Envelope::decode_general(&m), "byte {i} := {v:#04x}");
                    tried += 1;
                }
                let cut = &seed[..i];
                assert_eq!(Envelope::decode(cut), Envelope::decode_general(cut), "truncated to {i}");
            }
            for extra in [&[0x00][..], &[0x00, 0x00], &[0xff]] {
                let long = [seed.as_slice(), extra].concat();
                assert_eq!(Envelope::decode(&long), Envelope::decode_general(&long));
            }
        }
        assert!(tried > 5000);
    }
}
