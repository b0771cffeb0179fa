//! Natural persons (自然人): they never travel by raw ID number (DESIGN §3, DOMAIN R1.9/R1.10).
//!
//! * [`ResidentId`] is a parsed 18-character resident ID number (GB 11643, ISO 7064 MOD 11-2
//!   check). It has no `Display`, no `Serialize`, and its `Debug` shows only [`ResidentId::masked`];
//!   its text is zeroized on drop.
//! * [`PersonSecret`] is the federation-wide HMAC key (≥ 16 bytes, zeroized on drop, never printed).
//! * [`PersonDigest`] is what travels: `HMAC-SHA-256(secret, "credfed/v1/person" || 0x00 || id)`.
//!
//! The digest protects against outsiders who do not hold the secret. It does not protect against
//! a node that holds the secret: 18-digit ID numbers are a small, structured space, so anyone
//! with the key can enumerate them.

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;
use zeroize::Zeroize;

/// Domain-separation prefix of the HMAC input (the trailing NUL is part of it).
pub const PERSON_DIGEST_DOMAIN: &[u8] = b"credfed/v1/person\x00";
/// Minimum length of a [`PersonSecret`] in bytes.
pub const MIN_PERSON_SECRET_LEN: usize = 16;
/// Maximum length of a [`PersonSecret`] in bytes (a cap, not a recommendation).
pub const MAX_PERSON_SECRET_LEN: usize = 1024;
/// Length of a [`PersonDigest`] in bytes.
pub const PERSON_DIGEST_LEN: usize = 32;
/// Length of a resident ID number.
pub const RESIDENT_ID_LEN: usize = 18;

/// R1.10 weights for positions 1..=17.
const RESIDENT_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// R1.10 check characters indexed by `sum mod 11`.
const RESIDENT_CHECK: &[u8; 11] = b"10X98765432";

/// A secret, digest or hex string that could not be used. Messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonError {
    /// The secret is shorter than [`MIN_PERSON_SECRET_LEN`] or longer than [`MAX_PERSON_SECRET_LEN`].
    #[error("person secret must be {MIN_PERSON_SECRET_LEN}-{MAX_PERSON_SECRET_LEN} bytes, got {got}")]
    SecretLength {
        /// Actual length in bytes.
        got: usize,
    },
    /// A digest that is not 32 bytes.
    #[error("person digest must be {PERSON_DIGEST_LEN} bytes, got {got}")]
    DigestLength {
        /// Actual length in bytes.
        got: usize,
    },
    /// Not valid hex.
    #[error("{what} is not valid hex")]
    Hex {
        /// What was being decoded.
        what: &'static str,
    },
}

/// The federation-wide person-digest key. Zeroized on drop; prints as `PersonSecret(..)`.
pub struct PersonSecret(Vec<u8>);

impl PersonSecret {
    /// Copies the key bytes.
    ///
    /// # Errors
    /// [`PersonError::SecretLength`] unless 16-1024 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<PersonSecret, PersonError> {
        if !(MIN_PERSON_SECRET_LEN..=MAX_PERSON_SECRET_LEN).contains(&bytes.len()) {
            return Err(PersonError::SecretLength { got: bytes.len() });
        }
        Ok(PersonSecret(bytes.to_vec()))
    }

    /// From hex text (surrounding whitespace trimmed), e.g. a configuration value.
    ///
    /// # Errors
    /// [`PersonError::Hex`] or [`PersonError::SecretLength`].
    pub fn from_hex(s: &str) -> Result<PersonSecret, PersonError> {
        let t = s.trim();
        if t.len() > 2 * MAX_PERSON_SECRET_LEN {
            return Err(PersonError::SecretLength { got: t.len() / 2 });
        }
        let mut bytes = hex::decode(t).map_err(|_| PersonError::Hex { what: "person secret" })?;
        if !(MIN_PERSON_SECRET_LEN..=MAX_PERSON_SECRET_LEN).contains(&bytes.len()) {
            let got = bytes.len();
            bytes.zeroize();
            return Err(PersonError::SecretLength { got });
        }
        Ok(PersonSecret(bytes))
    }

    /// Length of the key in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: a secret has at least [`MIN_PERSON_SECRET_LEN`] bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for PersonSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}
impl fmt::Debug for PersonSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonSecret(..)")
    }
}

/// Why a string is not a resident ID number. Messages never echo the number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResidentIdError {
    /// Not exactly 18 characters after trimming.
    #[error("a resident ID number has 18 characters, got {got}")]
    Length {
        /// Number of characters after trimming.
        got: usize,
    },
    /// Positions 1-17 must be digits; position 18 a digit or `X`.
    #[error("character at position {position} is not allowed: positions 1-17 are digits, position 18 is a digit or X")]
    InvalidChar {
        /// 1-based position.
        position: usize,
    },
    /// The ISO 7064 MOD 11-2 check character does not match (R1.10).
    #[error("check character is '{got}', expected '{expected}'")]
    CheckChar {
        /// The check character computed from positions 1-17.
        expected: char,
        /// The character found at position 18.
        got: char,
    },
}

impl ResidentIdError {
    /// The API error code: `invalid_resident_id` for every variant.
    pub fn code(&self) -> &'static str {
        "invalid_resident_id"
    }
}

/// Computes the R1.10 check character for the first 17 characters (digits) of a resident ID.
///
/// Returns `None` unless `first17` is exactly 17 ASCII digits.
pub fn resident_id_check_char(first17: &str) -> Option<char> {
    let mut sum = 0u32;
    let mut n = 0usize;
    for c in first17.chars() {
        let w = *RESIDENT_WEIGHTS.get(n)?;
        sum += c.to_digit(10)? * w;
        n += 1;
    }
    (n == 17).then(|| char::from(RESIDENT_CHECK[(sum % 11) as usize]))
}

/// A valid 18-character resident ID number (居民身份证号码, GB 11643), normalised (`x` → `X`).
///
/// Personal information: no `Display`, no serde, `Debug` is masked, zeroized on drop.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentId(String);

impl ResidentId {
    /// The masked form for display and logs: first 6 + `********` + last 4 (R1.10; the pattern
    /// is a local rule).
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }

    /// The full normalised number. Use only where the raw number is required (local storage
    /// at the origin, computing a [`PersonDigest`]); never log or federate it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for ResidentId {
    type Err = ResidentIdError;

    /// Parses an 18-character resident ID number: trims, uppercases `x`, checks R1.10.
    ///
    /// # Errors
    /// [`ResidentIdError::Length`], [`ResidentIdError::InvalidChar`] (the first bad position), or
    /// [`ResidentIdError::CheckChar`] naming the expected check character.
    fn from_str(s: &str) -> Result<ResidentId, ResidentIdError> {
        let t = s.trim();
        let got = t.chars().count();
        if got != RESIDENT_ID_LEN {
            return Err(ResidentIdError::Length { got });
        }
        let mut id = String::with_capacity(RESIDENT_ID_LEN);
        let mut sum = 0u32;
        for (i, c) in t.chars().map(|c| c.to_ascii_uppercase()).enumerate() {
            match (RESIDENT_WEIGHTS.get(i), c.to_digit(10)) {
                (Some(w), Some(d)) => sum += d * w,
                (None, Some(_)) => {}
                (None, None) if c == 'X' => {}
                _ => {
                    id.zeroize();
                    return Err(ResidentIdError::InvalidChar { position: i + 1 });
                }
            }
            id.push(c);
        }
        // DOMAIN R1.10: ISO 7064 MOD 11-2.
        let expected = char::from(RESIDENT_CHECK[(sum % 11) as usize]);
        let got = char::from(id.as_bytes()[17]);
        if got != expected {
            id.zeroize();
            return Err(ResidentIdError::CheckChar { expected, got });
        }
        Ok(ResidentId(id))
    }
}

impl Drop for ResidentId {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}
impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

/// The keyed digest that identifies a natural person across the federation.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PersonDigest([u8; PERSON_DIGEST_LEN]);

impl PersonDigest {
    /// `HMAC-SHA-256(secret, "credfed/v1/person" || 0x00 || id)`, `id` the normalised 18 ASCII
    /// characters.
    pub fn compute(secret: &PersonSecret, id: &ResidentId) -> PersonDigest {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for `Hmac<Sha256>`.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&secret.0).expect("HMAC takes any key length");
        mac.update(PERSON_DIGEST_DOMAIN);
        mac.update(id.0.as_bytes());
        PersonDigest(mac.finalize().into_bytes().into())
    }

    /// Wraps exactly 32 bytes.
    ///
    /// # Errors
    /// [`PersonError::DigestLength`].
    pub fn from_bytes(bytes: &[u8]) -> Result<PersonDigest, PersonError> {
        bytes.try_into().map(PersonDigest).map_err(|_| PersonError::DigestLength { got: bytes.len() })
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; PERSON_DIGEST_LEN] {
        &self.0
    }

    /// Lowercase hex (64 characters).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for PersonDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Debug for PersonDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonDigest({}…)", hex::encode(&self.0[..4]))
    }
}
impl FromStr for PersonDigest {
    type Err = PersonError;

    /// Parses 64 hex characters (either case; surrounding whitespace trimmed).
    ///
    /// # Errors
    /// [`PersonError::DigestLength`] or [`PersonError::Hex`].
    fn from_str(s: &str) -> Result<PersonDigest, PersonError> {
        let t = s.trim();
        if t.len() != 2 * PERSON_DIGEST_LEN {
            return Err(PersonError::DigestLength { got: t.len() / 2 });
        }
        let mut out = [0u8; PERSON_DIGEST_LEN];
        hex::decode_to_slice(t, &mut out).map_err(|_| PersonError::Hex { what: "person digest" })?;
        Ok(PersonDigest(out))
    }
}

/// A 32-byte CBOR byte string in binary formats, lowercase hex in human-readable ones.
impl Serialize for PersonDigest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_hex())
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}
impl<'de> Deserialize<'de> for PersonDigest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PersonDigest, D::Error> {
        if d.is_human_readable() {
            String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
        } else {
            d.deserialize_bytes(DigestBytes)
        }
    }
}

/// Accepts exactly a 32-byte byte string (no arrays of integers, no other lengths).
struct DigestBytes;

impl serde::de::Visitor<'_> for DigestBytes {
    type Value = PersonDigest;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a 32-byte byte string")
    }
    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<PersonDigest, E> {
        PersonDigest::from_bytes(v).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A syntactically valid, made-up number (checksum computed, not a real person).
    const ID: &str = "11010519491231002X";

    fn secret() -> PersonSecret {
        PersonSecret::from_bytes(b"0123456789abcdef-federation").unwrap()
    }

    #[test]
    fn check_algorithm() {
        // DOMAIN R1.10: weights 7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2; check "10X98765432"[sum mod 11].
        assert_eq!(resident_id_check_char("11010519491231002"), Some('X'));
        assert_eq!(resident_id_check_char("1101051949123100"), None);
        assert_eq!(resident_id_check_char("1101051949123100A"), None);
        for w in RESIDENT_WEIGHTS {
            assert_ne!(w % 11, 0);
        }
        // ISO 7064 MOD 11-2: weight of position i is 2^(18-i) mod 11.
        let mut expect = 1u32;
        for w in RESIDENT_WEIGHTS.iter().rev() {
            expect = expect * 2 % 11;
            assert_eq!(*w, expect);
        }
    }

    #[test]
    fn parse_normalises_and_masks() {
        // DOMAIN R1.10
        let id: ResidentId = " 11010519491231002x ".parse().unwrap();
        assert_eq!(id.expose(), ID);
        assert_eq!(id.masked(), "110105********002X");
        assert_eq!(format!("{id:?}"), "ResidentId(110105********002X)");
        assert!(!format!("{id:?}").contains(ID));
    }

    #[test]
    fn errors_name_expected_check_char_and_not_the_number() {
        let e = "110105194912310021".parse::<ResidentId>().unwrap_err();
        assert_eq!(e, ResidentIdError::CheckChar { expected: 'X', got: '1' });
        assert_eq!(e.to_string(), "check character is '1', expected 'X'");
        assert_eq!(e.code(), "invalid_resident_id");
        assert!(!e.to_string().contains("1101051949"));
        assert_eq!("1101051949123100".parse::<ResidentId>().unwrap_err(), ResidentIdError::Length { got: 16 });
        assert_eq!(
            "1101051949123100X2".parse::<ResidentId>().unwrap_err(),
            ResidentIdError::InvalidChar { position: 17 }
        );
        assert_eq!(
            "11010519491231002Y".parse::<ResidentId>().unwrap_err(),
            ResidentIdError::InvalidChar { position: 18 }
        );
    }

    #[test]
    fn secret_limits_and_redaction() {
        assert_eq!(PersonSecret::from_bytes(&[7; 15]).unwrap_err(), PersonError::SecretLength { got: 15 });
        assert!(PersonSecret::from_bytes(&[7; 16]).is_ok());
        assert!(PersonSecret::from_bytes(&[7; 1025]).is_err());
        let s = PersonSecret::from_hex("000102030405060708090a0b0c0d0e0f").unwrap();
        assert_eq!(s.len(), 16);
        assert_eq!(format!("{s:?}"), "PersonSecret(..)");
        assert_eq!(PersonSecret::from_hex("zz").unwrap_err(), PersonError::Hex { what: "person secret" });
        assert!(PersonSecret::from_hex(&"00".repeat(4096)).is_err());
    }

    #[test]
    fn digest_is_domain_separated_hmac() {
        // DESIGN §3: HMAC-SHA-256(secret, "credfed/v1/person\0" || id).
        let id: ResidentId = ID.parse().unwrap();
        let d = PersonDigest::compute(&secret(), &id);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"0123456789abcdef-federation").unwrap();
        mac.update(b"credfed/v1/person\x00");
        mac.update(ID.as_bytes());
        assert_eq!(d.as_bytes()[..], mac.finalize().into_bytes()[..]);
        // Lowercase input normalises to the same digest; another key gives another digest.
        let lower: ResidentId = ID.to_lowercase().parse().unwrap();
        assert_eq!(PersonDigest::compute(&secret(), &lower), d);
        let other = PersonSecret::from_bytes(&[1; 32]).unwrap();
        assert_ne!(PersonDigest::compute(&other, &id), d);
        assert!(!format!("{d:?}").contains(&d.to_hex()));
    }

    #[test]
    fn digest_serde_hex_and_cbor_bytes() {
        let d = PersonDigest::compute(&secret(), &ID.parse().unwrap());
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{}\"", d.to_hex()));
        assert_eq!(serde_json::from_str::<PersonDigest>(&json).unwrap(), d);
        assert_eq!(d.to_hex().parse::<PersonDigest>().unwrap(), d);
        assert_eq!(d.to_hex().to_uppercase().parse::<PersonDigest>().unwrap(), d);

        let mut cbor = Vec::new();
        ciborium::into_writer(&d, &mut cbor).unwrap();
        assert_eq!(cbor[..2], [0x58, 0x20], "major type 2, one-byte length 32");
        assert_eq!(cbor[2..], d.as_bytes()[..]);
        assert_eq!(ciborium::from_reader::<PersonDigest, _>(&cbor[..]).unwrap(), d);

        // Wrong length and wrong type are rejected.
        let mut short = Vec::new();
        ciborium::into_writer(&ciborium::Value::Bytes(vec![0; 31]), &mut short).unwrap();
        assert!(ciborium::from_reader::<PersonDigest, _>(&short[..]).is_err());
        let mut text = Vec::new();
        ciborium::into_writer(&d.to_hex(), &mut text).unwrap();
        assert!(ciborium::from_reader::<PersonDigest, _>(&text[..]).is_err());
        assert!("abc".parse::<PersonDigest>().is_err());
        assert!("g".repeat(64).parse::<PersonDigest>().is_err());
    }

    fn first17() -> impl Strategy<Value = String> {
        "[0-9]{17}"
    }

    proptest! {
        #[test]
        fn computed_check_char_always_parses(f in first17()) {
            // DOMAIN R1.10
            let code = format!("{f}{}", resident_id_check_char(&f).unwrap());
            let id: ResidentId = code.parse().unwrap();
            prop_assert_eq!(id.expose(), code.as_str());
        }

        #[test]
        fn any_single_substitution_is_rejected(f in first17(), pos in 0usize..18, repl in "[0-9X]") {
            // DOMAIN R1.10: MOD 11-2 weights are nonzero mod the prime 11, so a single changed digit
            // (or a changed check character) is always detected.
            let code = format!("{f}{}", resident_id_check_char(&f).unwrap());
            let mut chars: Vec<char> = code.chars().collect();
            let repl = repl.chars().next().unwrap();
            prop_assume!(chars[pos] != repl);
            chars[pos] = repl;
            let changed: String = chars.into_iter().collect();
            match changed.parse::<ResidentId>() {
                Err(ResidentIdError::CheckChar { .. }) => {}
                Err(ResidentIdError::InvalidChar { position }) => {
                    prop_assert!(repl == 'X' && pos < 17);
                    prop_assert_eq!(position, pos + 1);
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }

        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = s.parse::<ResidentId>().map(|id| id.masked());
            let _ = s.parse::<PersonDigest>();
            let _ = PersonSecret::from_hex(&s);
        }
    }
}
