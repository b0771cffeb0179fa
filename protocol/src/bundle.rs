//! Audit bundles (DESIGN §6, RELIABILITY F5): what `GET /v1/audit/export` returns and
//! `credfed-admin audit verify` checks offline.
//!
//! A bundle is self-contained: the node's signed checkpoint, **every** leaf hash `[0, size)`
//! (so the root, and any consistency proof with an older checkpoint, can be recomputed), the
//! leaf bytes of a range `[from, to)`, the envelopes and own-feed entries those leaves name, the
//! delegations and revocations the node holds, and its pinned anchors.
//!
//! # Encoding
//! CBOR as serde/ciborium writes [`AuditBundle`]: a map with the field names below as text keys,
//! in declaration order, byte strings for every binary field, `anchors` as an array of
//! `[region, root_key]` pairs. This is the encoding the node has written since the first
//! export, so a node can build its bundle with this type. Decoding is strict: size cap first,
//! no trailing bytes, no unknown fields, and the decoded value must re-encode to exactly the
//! input bytes (so a bundle has one encoding and a flipped length or integer width is caught
//! by the parser). `trust_objects` are in canonical order (delegations, then revocations, each
//! by ascending id) and `anchors` by ascending region.
//!
//! # Verification
//! [`verify_bundle`] (in `bundle/verify.rs`) checks everything offline and returns a
//! [`VerifyReport`]: a verdict, counts, and every failure (up to [`MAX_REPORTED_FAILURES`])
//! naming the leaf index or object id and a stable code. [`BundleBuilder`] (in
//! `bundle/builder.rs`) writes valid bundles in memory, the way a node does, for tests,
//! benches and vectors.

mod builder;
pub mod sample;
mod verify;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::cbor::ByteBuf;

pub use builder::BundleBuilder;
pub use verify::{verify_bundle, verify_bundle_bytes};

/// Bundle format version.
pub const BUNDLE_VERSION: u64 = 1;
/// Largest bundle accepted (bytes). A 100 000-entry bundle is about 60 MiB.
pub const MAX_BUNDLE_LEN: usize = 1 << 30;
/// Most failures a report lists; the rest are only counted.
pub const MAX_REPORTED_FAILURES: usize = 1000;

/// The checkpoint origin line of a region's audit log.
pub fn origin_line(region: &str) -> String {
    format!("credfed/{region}/audit")
}

/// An audit bundle, as exported by a node. Fields are raw (byte strings, text) so that a
/// damaged bundle still decodes and the verifier can say which entry is wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditBundle {
    /// Format version ([`BUNDLE_VERSION`]).
    pub version: u64,
    /// Exporting region (the checkpoint's key name).
    pub region: String,
    /// Node public key (32 bytes) that signed the checkpoint and feed entries.
    pub node_key: ByteBuf,
    /// Signed checkpoint note (C2SP signed-note text).
    pub checkpoint: String,
    /// Every leaf hash `[0, size)`.
    pub leaf_hashes: Vec<ByteBuf>,
    /// First leaf index included.
    pub from: u64,
    /// Leaf bytes `[from, to)`.
    pub leaves: Vec<ByteBuf>,
    /// Envelopes named by the included `accepted` leaves, in leaf order.
    pub envelopes: Vec<ByteBuf>,
    /// Signed own-feed entries named by the included `published` leaves, in leaf order.
    pub feed_entries: Vec<ByteBuf>,
    /// Delegation and revocation envelopes (delegations, then revocations, by ascending id).
    pub trust_objects: Vec<ByteBuf>,
    /// Pinned anchors `(region, root key)`, by ascending region.
    pub anchors: Vec<(String, ByteBuf)>,
}

/// Bundle bytes that do not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Over [`MAX_BUNDLE_LEN`].
    #[error("bundle is {got} bytes, over the {max}-byte limit")]
    TooLarge {
        /// Size.
        got: usize,
        /// Cap.
        max: usize,
    },
    /// Not CBOR of the bundle's shape (the detail names the field).
    #[error("malformed bundle: {0}")]
    Malformed(String),
    /// Bytes after the bundle.
    #[error("bundle has {0} trailing bytes")]
    TrailingBytes(usize),
    /// Decodes, but is not the one encoding of its value.
    #[error("bundle is not in its canonical encoding (re-encoding differs from the input)")]
    NonCanonical,
}

impl BundleError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::TooLarge { .. } => "bundle_too_large",
            BundleError::Malformed(_) => "malformed_bundle",
            BundleError::TrailingBytes(_) => "trailing_bytes",
            BundleError::NonCanonical => "non_canonical_bundle",
        }
    }
}

impl AuditBundle {
    /// The encoded bundle.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.estimated_len());
        ciborium::ser::into_writer(self, &mut out).expect("writing to a Vec cannot fail");
        out
    }

    fn estimated_len(&self) -> usize {
        let sum = |v: &[ByteBuf]| v.iter().map(|b| b.0.len() + 5).sum::<usize>();
        256 + self.checkpoint.len()
            + sum(&self.leaf_hashes)
            + sum(&self.leaves)
            + sum(&self.envelopes)
            + sum(&self.feed_entries)
            + sum(&self.trust_objects)
            + self.anchors.len() * 80
    }

    /// Strictly decodes bundle bytes.
    ///
    /// # Errors
    /// [`BundleError`].
    pub fn decode(bytes: &[u8]) -> Result<AuditBundle, BundleError> {
        if bytes.len() > MAX_BUNDLE_LEN {
            return Err(BundleError::TooLarge { got: bytes.len(), max: MAX_BUNDLE_LEN });
        }
        let mut reader = bytes;
        let b: AuditBundle = ciborium::de::from_reader_with_recursion_limit(&mut reader, 8).map_err(|e| {
            let s = match e {
                ciborium::de::Error::Semantic(_, m) => m,
                other => format!("{other:?}"),
            };
            BundleError::Malformed(s.chars().take(200).collect())
        })?;
        if !reader.is_empty() {
            return Err(BundleError::TrailingBytes(reader.len()));
        }
        if b.encode() != bytes {
            return Err(BundleError::NonCanonical);
        }
        Ok(b)
    }

    /// One past the last leaf index included.
    pub fn to(&self) -> u64 {
        self.from.saturating_add(self.leaves.len() as u64)
    }
}

/// One thing that does not verify.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Which part of the bundle: `bundle`, `checkpoint`, `previous`, `leaf_hashes`, `leaves`,
    /// `envelopes`, `feed_entries`, `trust_objects`, `anchors`.
    pub section: String,
    /// Audit-log leaf index for leaf-related failures; position in the section otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// Object (or feed entry) id, lowercase hex, when one is concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Stable snake_case code, e.g. `leaf_hash_mismatch`, `not_delegated`.
    pub code: String,
    /// Human explanation.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.section)?;
        if let Some(i) = self.index {
            write!(f, "[{i}]")?;
        }
        if let Some(id) = &self.id {
            write!(f, " {}", &id[..id.len().min(16)])?;
        }
        write!(f, ": {} — {}", self.code, self.message)
    }
}

/// What was checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Tree size (number of leaf hashes).
    pub tree_size: u64,
    /// Leaves included (`to - from`).
    pub leaves: u64,
    /// `accepted` events.
    pub accepted: u64,
    /// `published` events.
    pub published: u64,
    /// `rejected` events.
    pub rejected_events: u64,
    /// `quarantined` events.
    pub quarantined: u64,
    /// Other events (sent, withheld, queries, admin changes).
    pub other_events: u64,
    /// Envelopes in the bundle.
    pub envelopes: u64,
    /// Feed entries in the bundle.
    pub feed_entries: u64,
    /// Trust objects in the bundle.
    pub trust_objects: u64,
    /// Anchors used.
    pub anchors: u64,
    /// Ed25519 signatures verified (checkpoint, envelopes, feed entries, trust objects).
    pub signatures_checked: u64,
    /// Objects re-authorized under the trust state.
    pub authorized: u64,
    /// Acting objects whose target is not in the bundle (origin-only rules not checked).
    pub unchecked_targets: u64,
    /// Revocations whose acceptance is outside `[from, to)`, ignored when deciding what the
    /// node knew (only possible when `from > 0`).
    pub unplaced_revocations: u64,
    /// Verified witness cosignatures on the checkpoint.
    pub cosignatures: u64,
}

/// The verdict of [`verify_bundle`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// True only when nothing failed.
    pub ok: bool,
    /// The bundle's region.
    pub region: String,
    /// Checkpoint size, when the checkpoint verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_size: Option<u64>,
    /// Checkpoint root (hex), when the checkpoint verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_root: Option<String>,
    /// Leaf range checked.
    pub from: u64,
    /// One past the last leaf checked.
    pub to: u64,
    /// `auditor` when roots were supplied, `bundle` when the bundle's own anchors were used
    /// (then the bundle only proves it is self-consistent).
    pub trust_source: String,
    /// Size of the earlier checkpoint proven consistent, if one was given and verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_size: Option<u64>,
    /// Witnesses whose cosignature verified: `(name, timestamp)`.
    pub cosigners: Vec<(String, u64)>,
    /// Counts.
    pub counts: Counts,
    /// Failures in the order found (leaf checks in leaf order), at most
    /// [`MAX_REPORTED_FAILURES`].
    pub failures: Vec<Failure>,
    /// Failures found beyond the reported ones.
    pub failures_omitted: u64,
}

impl VerifyReport {
    /// The first failure, if any.
    pub fn first_failure(&self) -> Option<&Failure> {
        self.failures.first()
    }

    pub(crate) fn fail(
        &mut self,
        section: &str,
        index: Option<u64>,
        id: Option<String>,
        code: &str,
        message: impl Into<String>,
    ) {
        self.ok = false;
        if self.failures.len() < MAX_REPORTED_FAILURES {
            self.failures.push(Failure {
                section: section.into(),
                index,
                id,
                code: code.into(),
                message: message.into(),
            });
        } else {
            self.failures_omitted += 1;
        }
    }
}

#[cfg(test)]
mod tests;
