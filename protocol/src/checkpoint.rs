//! Signed audit-log checkpoints in the C2SP formats, so auditors can check them with
//! third-party tools (Go `sumdb/note`, `transparency-dev/formats`, …).
//!
//! * Signed notes: <https://c2sp.org/signed-note> — [`Note`], [`sign_note`], [`verify_note`],
//!   Ed25519 key id `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[..4]`, vkeys ([`format_vkey`],
//!   [`parse_vkey`]).
//! * Checkpoints: <https://c2sp.org/tlog-checkpoint> — [`Checkpoint`] body
//!   `origin\nsize\nbase64(root)\n[extension lines]`, signed by the node key whose name is the
//!   region id ([`sign_checkpoint`], [`open_checkpoint`]).
//! * Cosignatures: <https://c2sp.org/tlog-cosignature> — `cosignature/v1` Ed25519 witness
//!   signatures with a timestamp ([`cosign`], [`verify_cosignature`],
//!   [`SignedCheckpoint::cosignatures`]).
//!
//! * tlog-witness requests: <https://c2sp.org/tlog-witness> — [`AddCheckpoint`], the
//!   `add-checkpoint` body (old size, consistency proof, signed checkpoint).
//!
//! Layout: `checkpoint/note.rs` (notes, keys, vkeys), `checkpoint/cosignature.rs`,
//! `checkpoint/witness.rs` (add-checkpoint bodies), this file (checkpoint bodies and the
//! signed-checkpoint helper).
//!
//! Decisions beyond the specs: notes are capped at [`MAX_NOTE_LEN`] (16 KiB) and
//! [`MAX_SIGNATURES`] (100) lines; base64 must be canonical (padding and trailing bits);
//! every signature line matching an expected key must verify (the spec's SHOULD), not only
//! the first; a checkpoint body must re-encode to exactly the bytes that were signed.

mod cosignature;
mod note;
mod witness;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::keys::{PublicKey, SecretKey};
use crate::merkle::{Hash, MAX_TREE_SIZE};

pub use cosignature::{cosign, verify_cosignature, MAX_COSIGNATURE_TIMESTAMP};
pub use note::{
    check_key_name, format_vkey, key_id, parse_vkey, sign_note, verify_note, Note, NoteError, NoteSignature, SigType,
    VerifierKey, MAX_NOTE_LEN, MAX_SIGNATURES, MAX_VKEY_LEN,
};
pub use witness::{AddCheckpoint, MAX_PROOF_LINES};

/// A tlog checkpoint: the origin (log identity), tree size, root hash and optional opaque
/// extension lines. Build freely; [`Checkpoint::validate`] runs before anything is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log identity (first line). Non-empty, one line.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 9162 Merkle tree hash at `size`.
    pub root: Hash,
    /// Extension lines, each non-empty, without newlines (NOT RECOMMENDED by the spec).
    pub extensions: Vec<String>,
}

fn check_line(line: &str, what: &'static str) -> Result<(), NoteError> {
    if line.is_empty() {
        return Err(NoteError::MalformedCheckpoint(what));
    }
    if line.chars().any(|c| c < ' ') {
        return Err(NoteError::MalformedCheckpoint("control character or newline in a line"));
    }
    Ok(())
}

impl Checkpoint {
    /// The note text: `origin\nsize\nbase64(root)\n` followed by one line per extension.
    pub fn to_body(&self) -> String {
        let mut s = format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root));
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Checks that [`Checkpoint::to_body`] yields a valid body (non-empty single-line origin
    /// and extensions, within [`MAX_NOTE_LEN`], size at most 2^63 - 1).
    ///
    /// # Errors
    /// [`NoteError::MalformedCheckpoint`] or [`NoteError::TooLarge`].
    pub fn validate(&self) -> Result<(), NoteError> {
        check_line(&self.origin, "empty origin")?;
        if self.size > MAX_TREE_SIZE {
            return Err(NoteError::MalformedCheckpoint(SIZE_CAP));
        }
        for e in &self.extensions {
            check_line(e, "empty extension line")?;
        }
        let len = self.origin.len() + self.extensions.iter().map(|e| e.len() + 1).sum::<usize>();
        if len > MAX_NOTE_LEN {
            return Err(NoteError::TooLarge { what: "checkpoint", len, max: MAX_NOTE_LEN });
        }
        Ok(())
    }

    /// Parses a checkpoint body strictly: at least three non-empty lines ending in a newline;
    /// size in decimal without sign or leading zeros, at most 2^63 - 1; root the canonical base64 of 32 bytes.
    ///
    /// # Errors
    /// [`NoteError::TooLarge`] or [`NoteError::MalformedCheckpoint`].
    pub fn from_body(body: &str) -> Result<Checkpoint, NoteError> {
        if body.len() > MAX_NOTE_LEN {
            return Err(NoteError::TooLarge { what: "checkpoint", len: body.len(), max: MAX_NOTE_LEN });
        }
        let inner = body.strip_suffix('\n').ok_or(NoteError::MalformedCheckpoint("body must end with a newline"))?;
        let mut lines = inner.split('\n');
        let origin = lines.next().unwrap_or_default();
        check_line(origin, "empty origin")?;
        let size_line = lines.next().ok_or(NoteError::MalformedCheckpoint("missing size line"))?;
        let size = parse_size(size_line)?;
        let root_line = lines.next().ok_or(NoteError::MalformedCheckpoint("missing root line"))?;
        let raw = B64.decode(root_line).map_err(|_| NoteError::MalformedCheckpoint("root is not canonical base64"))?;
        let root: Hash = raw.try_into().map_err(|_| NoteError::MalformedCheckpoint("root is not 32 bytes"))?;
        let mut extensions = Vec::new();
        for e in lines {
            check_line(e, "empty extension line")?;
            extensions.push(e.to_owned());
        }
        let cp = Checkpoint { origin: origin.to_owned(), size, root, extensions };
        if cp.to_body() != body {
            return Err(NoteError::MalformedCheckpoint("body is not canonical"));
        }
        Ok(cp)
    }
}

/// Why a size above [`MAX_TREE_SIZE`] is refused.
const SIZE_CAP: &str = "size is above 2^63 - 1 (tlog tools count leaves in int64)";

fn parse_size(line: &str) -> Result<u64, NoteError> {
    if line.is_empty() || !line.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NoteError::MalformedCheckpoint("size is not a decimal number"));
    }
    if line.len() > 1 && line.starts_with('0') {
        return Err(NoteError::MalformedCheckpoint("size has a leading zero"));
    }
    let size: u64 = line.parse().map_err(|_| NoteError::MalformedCheckpoint(SIZE_CAP))?;
    if size > MAX_TREE_SIZE {
        return Err(NoteError::MalformedCheckpoint(SIZE_CAP));
    }
    Ok(size)
}

/// A checkpoint together with its signed note (node signature plus any cosignatures).
/// Obtained only by signing or by [`SignedCheckpoint::open`], so the node signature is known
/// good and `note.text() == checkpoint.to_body()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    note: Note,
}

impl SignedCheckpoint {
    /// Parses `text` as a signed note, verifies the node signature `(name, key)` and parses
    /// the body as a checkpoint. Callers still compare `checkpoint().origin` with the log
    /// they expect.
    ///
    /// # Errors
    /// Any note parse error, [`NoteError::BadSignature`], [`NoteError::NoSignature`], or a
    /// checkpoint body error.
    pub fn open(text: &str, name: &str, key: &PublicKey) -> Result<SignedCheckpoint, NoteError> {
        let note = Note::parse(text)?;
        verify_note(&note, name, key)?;
        let checkpoint = Checkpoint::from_body(note.text())?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The signed note.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The note in text form, as served to auditors.
    pub fn to_text(&self) -> String {
        self.note.to_text()
    }

    /// Adds a witness cosignature after checking it verifies for `(name, key)`; returns its
    /// timestamp.
    ///
    /// # Errors
    /// As [`verify_cosignature`], plus the note caps of [`Note::push_signature`].
    pub fn add_cosignature(&mut self, sig: NoteSignature, name: &str, key: &PublicKey) -> Result<u64, NoteError> {
        let ts = cosignature::verify_cosignature_body(self.note.text(), &sig, name, key)?;
        self.note.push_signature(sig)?;
        Ok(ts)
    }

    /// The witnesses among `witnesses` whose cosignature on this checkpoint verifies, with
    /// the cosignature timestamp. Unknown and invalid lines are left out; a witness whose
    /// lines include an invalid one is left out too.
    pub fn cosignatures<N: AsRef<str>>(&self, witnesses: &[(N, PublicKey)]) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for (name, key) in witnesses {
            let name = name.as_ref();
            let id = key_id(name, SigType::CosignatureV1, key);
            let mut best = None;
            for sig in self.note.signatures().iter().filter(|s| s.is_from(name, id)) {
                match cosignature::verify_cosignature_body(self.note.text(), sig, name, key) {
                    Ok(ts) => best = Some(best.map_or(ts, |b: u64| b.max(ts))),
                    Err(_) => {
                        best = None;
                        break;
                    }
                }
            }
            if let Some(ts) = best {
                out.push((name.to_owned(), ts));
            }
        }
        out
    }
}

/// Signs `checkpoint` with the node key `(name, key)`.
///
/// # Errors
/// [`Checkpoint::validate`]'s errors, [`NoteError::InvalidKeyName`].
pub fn sign_checkpoint(checkpoint: &Checkpoint, name: &str, key: &SecretKey) -> Result<SignedCheckpoint, NoteError> {
    checkpoint.validate()?;
    let note = sign_note(&checkpoint.to_body(), name, key)?;
    Ok(SignedCheckpoint { checkpoint: checkpoint.clone(), note })
}

/// Parses and verifies a signed checkpoint note from the node `(name, key)`.
///
/// # Errors
/// As [`SignedCheckpoint::open`].
pub fn open_checkpoint(text: &str, name: &str, key: &PublicKey) -> Result<Checkpoint, NoteError> {
    SignedCheckpoint::open(text, name, key).map(|s| s.checkpoint)
}
