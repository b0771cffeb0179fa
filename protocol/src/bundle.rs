//! Audit bundles (DESIGN §6, RELIABILITY F5): what `GET /v1/audit/export` returns and
//! `credfed-admin audit verify` checks offline.
//!
//! A bundle is self-contained: the node's signed checkpoint, **every** leaf hash `[0, size)`
//! (so the root, and any consistency proof with an older checkpoint, can be recomputed), the
//! leaf bytes of a range `[from, to)`, the envelopes and own-feed entries those leaves name, the
//! delegations and revocations the node holds, and its pinned anchors.
//!
//! # Encoding
//! Canonical CBOR ([`crate::cbor`]): a map with the field names below as text keys (sorted the
//! RFC 8949 §4.2.1 way), byte strings for leaves, hashes and envelopes, the region as text, the
//! node key as a 32-byte string, `anchors` as a map region → root key. Decoding is strict
//! (size cap first, no trailing bytes, no unknown fields, re-encodes to the same bytes), so a
//! bundle has exactly one encoding and a flipped length or integer width is caught by the
//! parser. Lists are canonical too: `envelopes` sorted by bytes without repeats (the objects
//! named by the included `accepted` leaves plus the targets of acting ones), `feed_entries` in
//! leaf order, `trust_objects` delegations then revocations, each by ascending id.
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

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::cbor::{self, ByteBuf, CborError};
use crate::keys::PublicKey;
use crate::merkle::Hash;
use crate::RegionId;

pub use builder::BundleBuilder;
pub use verify::{verify_bundle, verify_bundle_bytes};

/// Bundle format version.
pub const BUNDLE_VERSION: u64 = 1;
/// Largest bundle accepted (bytes). A 100 000-entry bundle is about 60 MiB.
pub const MAX_BUNDLE_LEN: usize = 512 * 1024 * 1024;
/// Most failures a report lists; the rest are only counted.
pub const MAX_REPORTED_FAILURES: usize = 1000;

/// The checkpoint origin line of a region's first audit log: `credfed/<region>/audit`.
pub fn origin_line(region: &str) -> String {
    log_origin(region, 1)
}

/// The checkpoint origin line of a region's audit log `epoch`. A node whose store was rebuilt
/// from peers starts a new log (its old leaves are gone): `credfed/<region>/audit/<epoch>`,
/// epoch ≥ 2, so witnesses and auditors see a new log rather than a rolled-back one.
pub fn log_origin(region: &str, epoch: u32) -> String {
    if epoch <= 1 {
        format!("credfed/{region}/audit")
    } else {
        format!("credfed/{region}/audit/{epoch}")
    }
}

/// The epoch of `origin` when it is an audit-log origin line of `region` (see [`log_origin`]).
pub fn log_epoch(origin: &str, region: &str) -> Option<u32> {
    let rest = origin.strip_prefix("credfed/")?.strip_prefix(region)?.strip_prefix("/audit")?;
    if rest.is_empty() {
        return Some(1);
    }
    let n = rest.strip_prefix('/')?;
    if n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok().filter(|e| *e >= 2)
}

/// The region whose audit log `origin` names (any epoch; see [`log_origin`]).
pub fn log_region(origin: &str) -> Option<RegionId> {
    let region: RegionId = origin.strip_prefix("credfed/")?.split('/').next()?.parse().ok()?;
    log_epoch(origin, region.as_str()).map(|_| region)
}

/// An audit bundle, as exported by a node (`GET /v1/audit/export`). Leaves, hashes and
/// envelopes stay raw bytes so that a damaged bundle still decodes and the verifier can say
/// which entry is wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditBundle {
    /// Format version ([`BUNDLE_VERSION`]).
    pub version: u64,
    /// Exporting region (also the checkpoint's key name).
    pub region: RegionId,
    /// Node public key that signed the checkpoint and the feed entries.
    pub node_key: PublicKey,
    /// Signed checkpoint note (C2SP signed note).
    pub checkpoint: String,
    /// Every leaf hash `[0, size)`.
    pub leaf_hashes: Vec<ByteBuf>,
    /// Index of the first exported leaf.
    pub from: u64,
    /// Leaf bytes `[from, from + leaves.len())`.
    pub leaves: Vec<ByteBuf>,
    /// Envelopes named by exported `accepted` leaves, and the targets of acting ones; sorted by
    /// bytes, no repeats.
    pub envelopes: Vec<ByteBuf>,
    /// Signed own-feed entries named by exported `published` leaves, in leaf order.
    pub feed_entries: Vec<ByteBuf>,
    /// Delegation and revocation envelopes (delegations, then revocations, by ascending id).
    pub trust_objects: Vec<ByteBuf>,
    /// Anchors pinned by the node: region → root key.
    pub anchors: BTreeMap<RegionId, PublicKey>,
}

/// The name the node's export module uses.
pub type Bundle = AuditBundle;

/// A bundle that does not decode, or (from [`verify`]) the first thing that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Not a canonical bundle (or over [`MAX_BUNDLE_LEN`]).
    #[error("bundle does not decode: {0}")]
    Decode(#[from] CborError),
    /// The first verification failure.
    #[error("{0}")]
    Invalid(Failure),
}

impl BundleError {
    /// Stable snake_case code.
    pub fn code(&self) -> &str {
        match self {
            BundleError::Decode(CborError::TooLarge { .. }) => "bundle_too_large",
            BundleError::Decode(CborError::TrailingBytes { .. }) => "trailing_bytes",
            BundleError::Decode(CborError::NonCanonical { .. }) => "non_canonical_bundle",
            BundleError::Decode(_) => "malformed_bundle",
            BundleError::Invalid(f) => &f.code,
        }
    }
}

impl AuditBundle {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        cbor::to_canonical(self, "bundle").expect("bundles encode")
    }

    /// Strictly decodes bundle bytes.
    ///
    /// # Errors
    /// [`BundleError::Decode`].
    pub fn decode(bytes: &[u8]) -> Result<AuditBundle, BundleError> {
        Ok(cbor::from_canonical(bytes, MAX_BUNDLE_LEN, "bundle")?)
    }

    /// One past the last leaf index included.
    pub fn to(&self) -> u64 {
        self.from.saturating_add(self.leaves.len() as u64)
    }
}

/// What a successful [`verify`] established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Checkpoint size.
    pub size: u64,
    /// Checkpoint root.
    pub root: Hash,
    /// Leaves checked.
    pub entries: u64,
    /// Accepted objects whose envelopes and authorization were checked.
    pub objects: u64,
    /// Whether the root came from the auditor (`true`) or from the bundle itself.
    pub anchor_pinned_by_auditor: bool,
}

/// [`verify_bundle`] with the auditor's root for the bundle's own region only, as a `Result`
/// naming the first failure.
///
/// # Errors
/// [`BundleError::Invalid`] with the first failure.
pub fn verify(b: &AuditBundle, pinned: Option<&PublicKey>) -> Result<Verdict, BundleError> {
    let roots = pinned.map(|k| vec![(b.region.clone(), *k)]);
    let r = verify_bundle(b, roots.as_deref(), None);
    if let Some(f) = r.failures.into_iter().next() {
        return Err(BundleError::Invalid(f));
    }
    let root = r.checkpoint_root.as_deref().and_then(|h| hex::decode(h).ok()).and_then(|v| v.try_into().ok());
    Ok(Verdict {
        size: r.checkpoint_size.unwrap_or_default(),
        root: root.unwrap_or_default(),
        entries: r.counts.leaves,
        objects: r.counts.authorized + r.counts.unchecked_targets,
        anchor_pinned_by_auditor: pinned.is_some(),
    })
}

/// One thing that does not verify.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Which part of the bundle: `bundle`, `checkpoint`, `previous`, `leaf_hashes`, `leaves`,
    /// `envelopes`, `feed_entries`, `trust_objects`, `anchors`.
    pub section: String,
    /// Audit-log leaf index when `leaf_index`, else the position in the section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// Whether `index` is an audit-log leaf index.
    #[serde(default)]
    pub leaf_index: bool,
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
        match (self.section.as_str(), self.index) {
            ("leaves" | "envelopes" | "feed_entries", Some(i)) if self.leaf_index => write!(f, "audit entry {i}")?,
            (s, Some(i)) => write!(f, "{s} #{i}")?,
            (s, None) => write!(f, "{s}")?,
        }
        if let Some(id) = &self.id {
            write!(f, " (object {})", &id[..id.len().min(16)])?;
        }
        write!(f, ": {}: {}", self.code, self.message)
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
    /// Objects of a revoked key, signed before `revoked_from` and accepted after the
    /// revocation, whose feed entry precedes the revocation's in the origin's feed (as the
    /// leaves' `seq` state it): accepted under the backdating rule's witness exception.
    #[serde(default)]
    pub witnessed_before_revocation: u64,
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

    /// Records a failure whose `index` is a position in its section (or absent).
    pub(crate) fn fail(
        &mut self,
        section: &str,
        index: Option<u64>,
        id: Option<String>,
        code: &str,
        msg: impl Into<String>,
    ) {
        self.push(Failure {
            section: section.into(),
            index,
            leaf_index: false,
            id,
            code: code.into(),
            message: msg.into(),
        });
    }

    /// Records a failure about audit-log leaf `index`.
    pub(crate) fn fail_leaf(
        &mut self,
        section: &str,
        index: u64,
        id: Option<String>,
        code: &str,
        msg: impl Into<String>,
    ) {
        let f = Failure {
            section: section.into(),
            index: Some(index),
            leaf_index: true,
            id,
            code: code.into(),
            message: msg.into(),
        };
        self.push(f);
    }

    fn push(&mut self, f: Failure) {
        self.ok = false;
        if self.failures.len() < MAX_REPORTED_FAILURES {
            self.failures.push(f);
        } else {
            self.failures_omitted += 1;
        }
    }
}

#[cfg(test)]
mod tests;
