//! Ed25519 timestamped cosignatures, `cosignature/v1` (<https://c2sp.org/tlog-cosignature>).
//!
//! Key id type byte `0x04`; signed message `cosignature/v1\ntime <T>\n` ‖ checkpoint body;
//! signature line payload = key id (4) ‖ timestamp (u64 big-endian) ‖ Ed25519 signature (64).

use crate::keys::{PublicKey, SecretKey, Signature};

use super::note::{check_key_name, key_id, NoteError, NoteSignature, SigType, ED25519_SIG_LEN};
use super::Checkpoint;

/// Largest timestamp a cosignature may carry (2^63 - 1).
pub const MAX_COSIGNATURE_TIMESTAMP: u64 = i64::MAX as u64;

/// The message a cosigner signs over a checkpoint body.
fn message(timestamp: u64, body: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{body}").into_bytes()
}

/// Cosigns `checkpoint` as the witness `(name, key)` at POSIX time `timestamp` (seconds).
///
/// The caller must have checked the checkpoint is consistent with every earlier one it saw
/// for this origin: that is what a cosignature states.
///
/// # Errors
/// [`NoteError::InvalidKeyName`], [`NoteError::TimestampOutOfRange`], or the checkpoint's
/// validation error.
pub fn cosign(
    checkpoint: &Checkpoint,
    name: &str,
    key: &SecretKey,
    timestamp: u64,
) -> Result<NoteSignature, NoteError> {
    check_key_name(name)?;
    checkpoint.validate()?;
    cosign_body(&checkpoint.to_body(), name, key, timestamp)
}

pub(super) fn cosign_body(body: &str, name: &str, key: &SecretKey, timestamp: u64) -> Result<NoteSignature, NoteError> {
    if timestamp > MAX_COSIGNATURE_TIMESTAMP {
        return Err(NoteError::TimestampOutOfRange(timestamp));
    }
    let sig = key.sign(&message(timestamp, body));
    let mut payload = Vec::with_capacity(8 + ED25519_SIG_LEN);
    payload.extend_from_slice(&timestamp.to_be_bytes());
    payload.extend_from_slice(sig.as_bytes());
    NoteSignature::new(name, key_id(name, SigType::CosignatureV1, &key.public()), payload)
}

/// Verifies the cosignature line `sig` over `checkpoint` from the witness `(name, key)` and
/// returns its timestamp.
///
/// # Errors
/// [`NoteError::NoSignature`] if `sig` is not from `(name, key)` (name or `0x04` key id
/// differ); [`NoteError::BadSignature`] if it is but does not verify or is not 72 bytes;
/// [`NoteError::TimestampOutOfRange`]; the checkpoint's validation error.
pub fn verify_cosignature(
    checkpoint: &Checkpoint,
    sig: &NoteSignature,
    name: &str,
    key: &PublicKey,
) -> Result<u64, NoteError> {
    checkpoint.validate()?;
    verify_cosignature_body(&checkpoint.to_body(), sig, name, key)
}

pub(super) fn verify_cosignature_body(
    body: &str,
    sig: &NoteSignature,
    name: &str,
    key: &PublicKey,
) -> Result<u64, NoteError> {
    if !sig.is_from(name, key_id(name, SigType::CosignatureV1, key)) {
        return Err(NoteError::NoSignature { name: name.to_owned() });
    }
    let bad = || NoteError::BadSignature { name: name.to_owned() };
    let raw = sig.sig();
    if raw.len() != 8 + ED25519_SIG_LEN {
        return Err(bad());
    }
    let (ts, s) = raw.split_at(8);
    let mut ts_bytes = [0u8; 8];
    ts_bytes.copy_from_slice(ts);
    let timestamp = u64::from_be_bytes(ts_bytes);
    if timestamp > MAX_COSIGNATURE_TIMESTAMP {
        return Err(NoteError::TimestampOutOfRange(timestamp));
    }
    let s = Signature::from_bytes(s).map_err(|_| bad())?;
    if key.verify(&message(timestamp, body), &s) {
        Ok(timestamp)
    } else {
        Err(bad())
    }
}
