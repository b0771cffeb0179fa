//! Key newtypes over ed25519-dalek (STYLE §2).
//!
//! * [`PublicKey`] verifies with `verify_strict` only (no small-order keys, canonical `S`), so an
//!   envelope has exactly one valid signature encoding.
//! * [`SecretKey`] prints as `SecretKey(..)` and is zeroized on drop.
//! * [`PublicKey::fingerprint`] is what administrators compare out of band before pinning a root.
//!
//! # Performance
//!
//! Parsing a key decompresses its curve point (about a tenth of the cost of a signature check).
//! A [`PublicKey`] keeps the parsed point, so verifying never decompresses the key again, and
//! each thread remembers the last few keys it parsed ([`KEY_CACHE_WAYS`] × [`KEY_CACHE_SETS`]),
//! so the few dozen signing keys of a federation are decompressed once, not once per envelope.
//! The cache is a pure memo: it holds only keys that passed every check, is looked up by all 32
//! bytes, and never changes a result.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// Length of a public key in bytes.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of a signature in bytes.
pub const SIGNATURE_LEN: usize = 64;

/// Key material that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Wrong number of bytes.
    #[error("{what} must be {expected} bytes, got {got}")]
    Length {
        /// What was being decoded.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// Not valid hex.
    #[error("{what} is not valid hex")]
    Hex {
        /// What was being decoded.
        what: &'static str,
    },
    /// Bytes that are not a valid curve point, or a weak (small-order) key.
    #[error("public key is not a valid ed25519 point or is weak")]
    InvalidPoint,
}

/// An ed25519 public key (verifying key): a valid, non-weak point, kept parsed.
///
/// Equality, ordering and hashing are those of the 32-byte encoding.
#[derive(Clone, Copy)]
pub struct PublicKey(VerifyingKey);

/// Sets of the per-thread cache of parsed keys (indexed by the first key byte).
pub const KEY_CACHE_SETS: usize = 64;
/// Entries per set of the per-thread cache of parsed keys (most recently parsed first).
pub const KEY_CACHE_WAYS: usize = 2;

thread_local! {
    /// Recently parsed keys of this thread: only keys that passed every check of
    /// [`PublicKey::from_bytes`].
    static PARSED: RefCell<[[Option<VerifyingKey>; KEY_CACHE_WAYS]; KEY_CACHE_SETS]> =
        const { RefCell::new([[None; KEY_CACHE_WAYS]; KEY_CACHE_SETS]) };
}

/// Decompresses and checks a key, through the per-thread cache.
fn parse_point(arr: &[u8; PUBLIC_KEY_LEN]) -> Result<VerifyingKey, KeyError> {
    let set = usize::from(arr[0]) % KEY_CACHE_SETS;
    let cached =
        PARSED.try_with(|c| c.borrow()[set].iter().flatten().find(|vk| vk.as_bytes() == arr).copied()).ok().flatten();
    if let Some(vk) = cached {
        return Ok(vk);
    }
    let vk = VerifyingKey::from_bytes(arr).map_err(|_| KeyError::InvalidPoint)?;
    if vk.is_weak() {
        return Err(KeyError::InvalidPoint);
    }
    // Best effort: during thread teardown the cache is gone and the key is simply not kept.
    let _ = PARSED.try_with(|c| {
        let ways = &mut c.borrow_mut()[set];
        ways.rotate_right(1);
        ways[0] = Some(vk);
    });
    Ok(vk)
}

impl PublicKey {
    /// Parses 32 bytes, rejecting invalid and weak (small-order) points.
    ///
    /// # Errors
    /// [`KeyError::Length`] or [`KeyError::InvalidPoint`].
    pub fn from_bytes(bytes: &[u8]) -> Result<PublicKey, KeyError> {
        let arr: &[u8; PUBLIC_KEY_LEN] = bytes.try_into().map_err(|_| KeyError::Length {
            what: "public key",
            expected: PUBLIC_KEY_LEN,
            got: bytes.len(),
        })?;
        parse_point(arr).map(PublicKey)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        self.0.as_bytes()
    }

    /// Lowercase hex of the 32 bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }

    /// Verifies `sig` over `msg` strictly (`verify_strict`).
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> bool {
        self.0.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig.0)).is_ok()
    }

    /// The fingerprint administrators compare out of band: `SHA256:` + lowercase hex of
    /// SHA-256(key), grouped in 4-character blocks.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.as_bytes());
        let hex = hex::encode(digest);
        let groups: Vec<&str> = (0..hex.len()).step_by(4).map(|i| &hex[i..i + 4]).collect();
        format!("SHA256:{}", groups.join(":"))
    }

    /// A short id for logs: the first 8 hex characters of the key.
    pub fn short(&self) -> String {
        hex::encode(&self.as_bytes()[..4])
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &PublicKey) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl Eq for PublicKey {}
impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &PublicKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for PublicKey {
    fn cmp(&self, other: &PublicKey) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}
impl Hash for PublicKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.short())
    }
}
impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<PublicKey, KeyError> {
        let bytes = hex::decode(s.trim()).map_err(|_| KeyError::Hex { what: "public key" })?;
        PublicKey::from_bytes(&bytes)
    }
}

/// Public keys travel as 32-byte CBOR byte strings (and as hex in JSON).
impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_hex())
        } else {
            s.serialize_bytes(self.as_bytes())
        }
    }
}
impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PublicKey, D::Error> {
        if d.is_human_readable() {
            String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
        } else {
            let b = crate::cbor::ByteBuf::deserialize(d)?;
            PublicKey::from_bytes(&b.0).map_err(serde::de::Error::custom)
        }
    }
}

/// An ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; SIGNATURE_LEN]);

impl Signature {
    /// Parses exactly 64 bytes.
    ///
    /// # Errors
    /// [`KeyError::Length`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Signature, KeyError> {
        let arr: [u8; SIGNATURE_LEN] = bytes.try_into().map_err(|_| KeyError::Length {
            what: "signature",
            expected: SIGNATURE_LEN,
            got: bytes.len(),
        })?;
        Ok(Signature(arr))
    }
    /// The raw 64 bytes.
    pub fn as_bytes(&self) -> &[u8; SIGNATURE_LEN] {
        &self.0
    }
}
impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", hex::encode(&self.0[..6]))
    }
}

/// An ed25519 secret key (32-byte seed). Zeroized on drop; never printed.
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A fresh random key.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> SecretKey {
        SecretKey(SigningKey::generate(rng))
    }

    /// From a 32-byte seed.
    ///
    /// # Errors
    /// [`KeyError::Length`].
    pub fn from_bytes(bytes: &[u8]) -> Result<SecretKey, KeyError> {
        let mut arr: [u8; 32] =
            bytes.try_into().map_err(|_| KeyError::Length { what: "secret key", expected: 32, got: bytes.len() })?;
        let key = SecretKey(SigningKey::from_bytes(&arr));
        arr.zeroize();
        Ok(key)
    }

    /// From 64 hex characters.
    ///
    /// # Errors
    /// [`KeyError::Hex`] or [`KeyError::Length`].
    pub fn from_hex(s: &str) -> Result<SecretKey, KeyError> {
        let mut bytes = hex::decode(s.trim()).map_err(|_| KeyError::Hex { what: "secret key" })?;
        let key = SecretKey::from_bytes(&bytes);
        bytes.zeroize();
        key
    }

    /// The 32-byte seed. Handle with care: callers must not log it.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `msg` (raw ed25519; callers add domain separation).
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.0.sign(msg).to_bytes())
    }
}

impl Clone for SecretKey {
    fn clone(&self) -> SecretKey {
        SecretKey(SigningKey::from_bytes(&self.0.to_bytes()))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_redacted_and_sign_verify_works() {
        let sk = SecretKey::from_bytes(&[7u8; 32]).unwrap();
        assert_eq!(format!("{sk:?}"), "SecretKey(..)");
        let pk = sk.public();
        let sig = sk.sign(b"hello");
        assert!(pk.verify(b"hello", &sig));
        assert!(!pk.verify(b"hellp", &sig));
        assert_eq!(pk.to_hex().parse::<PublicKey>().unwrap(), pk);
        assert!(pk.fingerprint().starts_with("SHA256:"));
    }

    #[test]
    fn weak_and_short_keys_rejected() {
        // The identity point (small order) encodes as 0x01 followed by zeros.
        let mut ident = [0u8; 32];
        ident[0] = 1;
        assert_eq!(PublicKey::from_bytes(&ident), Err(KeyError::InvalidPoint));
        assert!(matches!(PublicKey::from_bytes(&[1u8; 31]), Err(KeyError::Length { got: 31, .. })));
    }

    #[test]
    fn parse_cache_never_changes_a_result() {
        // Many keys sharing a cache set, parsed repeatedly and interleaved with weak and
        // invalid encodings of the same set: every parse gives the uncached answer.
        let keys: Vec<PublicKey> = (0..200u32)
            .map(|i| SecretKey::from_bytes(&[i.to_le_bytes(), [7; 4]].concat().repeat(4)).unwrap().public())
            .collect();
        let mut weak = [0u8; 32];
        weak[0] = 1; // the identity point, set 1
        for round in 0..3 {
            for k in &keys {
                let again = PublicKey::from_bytes(k.as_bytes()).unwrap();
                assert_eq!(again, *k);
                assert_eq!(again.to_hex(), k.to_hex());
                assert_eq!(PublicKey::from_bytes(&weak), Err(KeyError::InvalidPoint), "round {round}");
            }
        }
        let sk = SecretKey::from_bytes(&[3u8; 32]).unwrap();
        let pk = PublicKey::from_bytes(sk.public().as_bytes()).unwrap();
        assert!(pk.verify(b"m", &sk.sign(b"m")));
        assert!(!keys[0].verify(b"m", &sk.sign(b"m")));
    }

    #[test]
    fn order_and_hash_follow_the_bytes() {
        use std::collections::hash_map::DefaultHasher;
        let a = SecretKey::from_bytes(&[1u8; 32]).unwrap().public();
        let b = SecretKey::from_bytes(&[2u8; 32]).unwrap().public();
        assert_eq!(a.cmp(&b), a.as_bytes().cmp(b.as_bytes()));
        let h = |x: &dyn Fn(&mut DefaultHasher)| {
            let mut s = DefaultHasher::new();
            x(&mut s);
            s.finish()
        };
        assert_eq!(h(&|s| a.hash(s)), h(&|s| a.as_bytes().hash(s)));
    }
}
