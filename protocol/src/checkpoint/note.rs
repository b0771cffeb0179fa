//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys, and the verifier-key
//! ("vkey") text form used by the Go `sumdb/note` tools.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::keys::{PublicKey, SecretKey, Signature, SIGNATURE_LEN};

/// Largest note (text plus signature lines) we parse or produce, in bytes.
pub const MAX_NOTE_LEN: usize = 16 * 1024;
/// Most signature lines a note may carry (the Go reference limit; the spec requires ≥ 16).
pub const MAX_SIGNATURES: usize = 100;
/// Largest vkey string we parse, in bytes.
pub const MAX_VKEY_LEN: usize = 1024;

/// The signature-line prefix: U+2014 EM DASH, U+0020 SPACE.
const SIG_PREFIX: &str = "\u{2014} ";

/// A malformed note, checkpoint or key, or a signature that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// Over [`MAX_NOTE_LEN`] or [`MAX_VKEY_LEN`].
    #[error("{what} is {len} bytes, over the {max}-byte limit")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// Not a well-formed signed note (the reason names the rule).
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// A key name that is empty or contains a space, `+` or a control character.
    #[error("invalid key name {0:?}")]
    InvalidKeyName(String),
    /// Not a well-formed tlog checkpoint body (the reason names the rule).
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// A vkey that does not parse, has the wrong type byte or the wrong key id.
    #[error("invalid verifier key: {0}")]
    InvalidVkey(&'static str),
    /// A signature line from the expected key (name and key id match) does not verify.
    #[error("bad signature from key {name:?}")]
    BadSignature {
        /// The key name.
        name: String,
    },
    /// No signature line matches the expected key's name and key id.
    #[error("no signature from key {name:?}")]
    NoSignature {
        /// The key name.
        name: String,
    },
    /// Not a well-formed tlog-witness `add-checkpoint` request (the reason names the rule).
    #[error("malformed add-checkpoint request: {0}")]
    MalformedRequest(&'static str),
    /// A cosignature timestamp above 2^63 - 1 (tlog-cosignature forbids it).
    #[error("cosignature timestamp {0} exceeds 2^63 - 1")]
    TimestampOutOfRange(u64),
}

/// Signature type identifier bytes (signed-note §Signature types) that credfed uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigType {
    /// `0x01`: plain Ed25519 over the note text (node checkpoint signatures).
    Ed25519,
    /// `0x04`: timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature, `cosignature/v1`).
    CosignatureV1,
}

impl SigType {
    /// The identifier byte.
    pub fn byte(self) -> u8 {
        match self {
            SigType::Ed25519 => 0x01,
            SigType::CosignatureV1 => 0x04,
        }
    }

    fn from_byte(b: u8) -> Option<SigType> {
        match b {
            0x01 => Some(SigType::Ed25519),
            0x04 => Some(SigType::CosignatureV1),
            _ => None,
        }
    }
}

/// Checks a key name: non-empty, no Unicode white space, no `+`, no control character.
///
/// # Errors
/// [`NoteError::InvalidKeyName`].
pub fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control() || c == '+') {
        return Err(NoteError::InvalidKeyName(name.to_owned()));
    }
    Ok(())
}

/// `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[..4]`, the key id signed-note recommends and
/// tlog-cosignature mandates.
pub fn key_id(name: &str, sig_type: SigType, key: &PublicKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', sig_type.byte()]);
    h.update(key.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// Checks note text: non-empty, ends with a newline, no control character but newline.
fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("text must end with a newline"));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed("control character"));
    }
    Ok(())
}

/// One signature line: `— <name> base64(key id ‖ signature)`. Unverified.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteSignature {
    name: String,
    key_id: [u8; 4],
    sig: Vec<u8>,
}

impl NoteSignature {
    /// Builds a signature line.
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`], or [`NoteError::Malformed`] for an empty signature.
    pub fn new(name: &str, key_id: [u8; 4], sig: Vec<u8>) -> Result<NoteSignature, NoteError> {
        check_key_name(name)?;
        if sig.is_empty() {
            return Err(NoteError::Malformed("empty signature"));
        }
        Ok(NoteSignature { name: name.to_owned(), key_id, sig })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key id.
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The signature bytes after the key id (for cosignatures: timestamp ‖ signature).
    pub fn sig(&self) -> &[u8] {
        &self.sig
    }

    /// Whether this line claims to be from `(name, key id)`.
    pub fn is_from(&self, name: &str, key_id: [u8; 4]) -> bool {
        self.name == name && self.key_id == key_id
    }

    /// The signature line, with its final newline.
    pub fn to_line(&self) -> String {
        let mut payload = Vec::with_capacity(4 + self.sig.len());
        payload.extend_from_slice(&self.key_id);
        payload.extend_from_slice(&self.sig);
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(payload))
    }

    fn parse_line(line: &str) -> Result<NoteSignature, NoteError> {
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or(NoteError::Malformed("signature line must start with an em dash and a space"))?;
        let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed("signature line has no signature"))?;
        check_key_name(name)?;
        let raw = B64.decode(b64).map_err(|_| NoteError::Malformed("signature is not base64"))?;
        if raw.len() < 5 {
            return Err(NoteError::Malformed("signature shorter than key id plus one byte"));
        }
        let key_id = [raw[0], raw[1], raw[2], raw[3]];
        Ok(NoteSignature { name: name.to_owned(), key_id, sig: raw[4..].to_vec() })
    }
}

impl fmt::Debug for NoteSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSignature({} {}, {} bytes)", self.name, hex::encode(self.key_id), self.sig.len())
    }
}

/// A signed note: text plus at least one signature line. Parsing does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// A note from text and signatures.
    ///
    /// # Errors
    /// [`NoteError::Malformed`] for bad text or no signatures, [`NoteError::TooManySignatures`],
    /// [`NoteError::TooLarge`].
    pub fn new(text: String, signatures: Vec<NoteSignature>) -> Result<Note, NoteError> {
        check_text(&text)?;
        if signatures.is_empty() {
            return Err(NoteError::Malformed("no signatures"));
        }
        let note = Note { text, signatures };
        note.check_caps()?;
        Ok(note)
    }

    fn check_caps(&self) -> Result<(), NoteError> {
        if self.signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let len = self.to_text().len();
        if len > MAX_NOTE_LEN {
            return Err(NoteError::TooLarge { what: "note", len, max: MAX_NOTE_LEN });
        }
        Ok(())
    }

    /// Parses a signed note strictly: size cap first, UTF-8 without control characters but
    /// newline, text split from the signatures at the last blank line, every signature line
    /// well formed, the last one newline-terminated, at most [`MAX_SIGNATURES`].
    ///
    /// # Errors
    /// [`NoteError::TooLarge`], [`NoteError::TooManySignatures`], [`NoteError::Malformed`],
    /// [`NoteError::InvalidKeyName`].
    pub fn parse(note: &str) -> Result<Note, NoteError> {
        if note.len() > MAX_NOTE_LEN {
            return Err(NoteError::TooLarge { what: "note", len: note.len(), max: MAX_NOTE_LEN });
        }
        if note.chars().any(|c| c < ' ' && c != '\n') {
            return Err(NoteError::Malformed("control character"));
        }
        let split = note.rfind("\n\n").ok_or(NoteError::Malformed("no blank line before signatures"))?;
        let (text, sigs) = (&note[..=split], &note[split + 2..]);
        let body = sigs.strip_suffix('\n').ok_or(NoteError::Malformed("missing final newline"))?;
        if body.is_empty() {
            return Err(NoteError::Malformed("no signatures"));
        }
        let mut signatures = Vec::new();
        for line in body.split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(NoteSignature::parse_line(line)?);
        }
        Ok(Note { text: text.to_owned(), signatures })
    }

    /// The signed text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Appends a signature line (e.g. a witness cosignature).
    ///
    /// # Errors
    /// [`NoteError::TooManySignatures`] or [`NoteError::TooLarge`]; the note is unchanged.
    pub fn push_signature(&mut self, sig: NoteSignature) -> Result<(), NoteError> {
        self.signatures.push(sig);
        let r = self.check_caps();
        if r.is_err() {
            self.signatures.pop();
        }
        r
    }

    /// The note in its text form: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(self.text.len() + 1 + 100 * self.signatures.len());
        s.push_str(&self.text);
        s.push('\n');
        for sig in &self.signatures {
            s.push_str(&sig.to_line());
        }
        s
    }
}

impl FromStr for Note {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Note, NoteError> {
        Note::parse(s)
    }
}

/// Signs `text` with an Ed25519 (type `0x01`) key named `name`, returning a one-signature note.
///
/// # Errors
/// [`NoteError::InvalidKeyName`], [`NoteError::Malformed`] (text), [`NoteError::TooLarge`].
pub fn sign_note(text: &str, name: &str, key: &SecretKey) -> Result<Note, NoteError> {
    check_key_name(name)?;
    check_text(text)?;
    let sig = note_signature(text, name, key);
    Note::new(text.to_owned(), vec![sig])
}

/// The `0x01` signature line for `text` (no checks: callers validate text and name).
pub(crate) fn note_signature(text: &str, name: &str, key: &SecretKey) -> NoteSignature {
    let sig = key.sign(text.as_bytes());
    NoteSignature {
        name: name.to_owned(),
        key_id: key_id(name, SigType::Ed25519, &key.public()),
        sig: sig.as_bytes().to_vec(),
    }
}

/// Verifies `note` against the Ed25519 key `(name, key)`.
///
/// Per the spec, lines from other keys (different name or key id) are ignored; every line
/// that matches the name and key id must verify (strict Ed25519), and at least one must.
///
/// # Errors
/// [`NoteError::BadSignature`] or [`NoteError::NoSignature`].
pub fn verify_note(note: &Note, name: &str, key: &PublicKey) -> Result<(), NoteError> {
    let id = key_id(name, SigType::Ed25519, key);
    let mut found = false;
    for s in note.signatures.iter().filter(|s| s.is_from(name, id)) {
        let ok = Signature::from_bytes(&s.sig).is_ok_and(|sig| key.verify(note.text.as_bytes(), &sig));
        if !ok {
            return Err(NoteError::BadSignature { name: name.to_owned() });
        }
        found = true;
    }
    if found {
        Ok(())
    } else {
        Err(NoteError::NoSignature { name: name.to_owned() })
    }
}

/// A verifier key: `name+<key id, 8 lowercase hex>+base64(type ‖ 32-byte public key)`, the
/// form Go's `note.NewVerifier` and the C2SP tools accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    /// Key name.
    pub name: String,
    /// Signature type (`0x01` node key or `0x04` cosigner key).
    pub sig_type: SigType,
    /// The Ed25519 public key.
    pub key: PublicKey,
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(1 + 32);
        raw.push(self.sig_type.byte());
        raw.extend_from_slice(self.key.as_bytes());
        let id = key_id(&self.name, self.sig_type, &self.key);
        write!(f, "{}+{}+{}", self.name, hex::encode(id), B64.encode(raw))
    }
}

impl FromStr for VerifierKey {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<VerifierKey, NoteError> {
        parse_vkey(s)
    }
}

/// Formats a vkey for `(name, type, key)`.
///
/// # Errors
/// [`NoteError::InvalidKeyName`].
pub fn format_vkey(name: &str, sig_type: SigType, key: &PublicKey) -> Result<String, NoteError> {
    check_key_name(name)?;
    Ok(VerifierKey { name: name.to_owned(), sig_type, key: *key }.to_string())
}

/// Parses a vkey, checking the key id against the name and key.
///
/// # Errors
/// [`NoteError::TooLarge`], [`NoteError::InvalidKeyName`], [`NoteError::InvalidVkey`].
pub fn parse_vkey(s: &str) -> Result<VerifierKey, NoteError> {
    if s.len() > MAX_VKEY_LEN {
        return Err(NoteError::TooLarge { what: "vkey", len: s.len(), max: MAX_VKEY_LEN });
    }
    let (name, rest) = s.split_once('+').ok_or(NoteError::InvalidVkey("missing '+'"))?;
    check_key_name(name)?;
    let (id_hex, b64) = rest.split_once('+').ok_or(NoteError::InvalidVkey("missing second '+'"))?;
    let mut id = [0u8; 4];
    if id_hex.len() != 8 || hex::decode_to_slice(id_hex, &mut id).is_err() {
        return Err(NoteError::InvalidVkey("key id must be 8 hex digits"));
    }
    let raw = B64.decode(b64).map_err(|_| NoteError::InvalidVkey("key is not base64"))?;
    let (&ty, pk) = raw.split_first().ok_or(NoteError::InvalidVkey("empty key"))?;
    let sig_type = SigType::from_byte(ty).ok_or(NoteError::InvalidVkey("unsupported signature type"))?;
    let key = PublicKey::from_bytes(pk).map_err(|_| NoteError::InvalidVkey("not an Ed25519 public key"))?;
    if key_id(name, sig_type, &key) != id {
        return Err(NoteError::InvalidVkey("key id does not match name and key"));
    }
    Ok(VerifierKey { name: name.to_owned(), sig_type, key })
}

/// Length of the Ed25519 signature inside a signature line.
pub(crate) const ED25519_SIG_LEN: usize = SIGNATURE_LEN;
