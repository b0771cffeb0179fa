//! Audit export bundles (DESIGN §6): everything an auditor needs to check a node's audit log
//! offline, and the [`verify`] function that checks it.
//!
//! A bundle holds the node's signed checkpoint, every leaf hash up to the checkpoint size (so
//! the root can be recomputed), the leaves of the exported range, the envelopes and own-feed
//! entries those leaves name, every delegation and revocation the node holds, and the anchors
//! it has pinned. Encoded as canonical CBOR.
//!
//! [`verify`] checks, in order, and names the first failure: the region root (the auditor's
//! own pin, or else the bundle's self-declared anchor), the trust objects, that the node key is
//! a node key delegated by that root, the checkpoint signature, the Merkle root over the leaf
//! hashes, every exported leaf against its hash, every envelope named by an `accepted` leaf
//! (signature, id, authorization as of its signing time), and every `published` leaf against
//! its signed feed entry (signer, id, chaining of consecutive entries).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::audit::AuditEvent;
use crate::cbor::{self, ByteBuf, CborError};
use crate::checkpoint::open_checkpoint;
use crate::envelope::ObjectId;
use crate::feed::SignedFeedEntry;
use crate::keys::PublicKey;
use crate::merkle::{leaf_hash, root, Hash};
use crate::objects::{self, Body, VerifiedObject};
use crate::trust::{authorize, AuthzContext, Decision, LocalPolicy, TargetInfo, TrustState};
use crate::RegionId;

/// Bundle format version.
pub const BUNDLE_VERSION: u64 = 1;
/// Largest bundle accepted by [`Bundle::decode`] (bytes).
pub const MAX_BUNDLE_LEN: usize = 512 * 1024 * 1024;

/// The bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Format version.
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
    /// Envelopes named by exported `accepted` leaves (and their targets when held).
    pub envelopes: Vec<ByteBuf>,
    /// Signed own-feed entries named by exported `published` leaves.
    pub feed_entries: Vec<ByteBuf>,
    /// Delegation and revocation envelopes.
    pub trust_objects: Vec<ByteBuf>,
    /// Anchors pinned by the node: region → root key.
    pub anchors: BTreeMap<RegionId, PublicKey>,
}

/// Why a bundle does not verify; each variant names what failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Not a canonical bundle.
    #[error("bundle does not decode: {0}")]
    Decode(#[from] CborError),
    /// Unknown version.
    #[error("unsupported bundle version {0}")]
    Version(u64),
    /// No root for the region.
    #[error("no trust anchor for region {0}: pin its root")]
    NoAnchor(RegionId),
    /// A trust object fails.
    #[error("trust object {index}: {reason}")]
    TrustObject {
        /// Position in `trust_objects`.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The node key is not delegated as a node key by the region root.
    #[error("node key {0} is not a node key delegated by the region root")]
    NodeKey(String),
    /// The checkpoint does not verify.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// Leaf hashes do not produce the checkpoint root.
    #[error("recomputed root over {size} leaf hashes does not match the checkpoint")]
    Root {
        /// Size.
        size: u64,
    },
    /// An exported leaf fails.
    #[error("audit entry {index}: {reason}")]
    Entry {
        /// Leaf index.
        index: u64,
        /// Why.
        reason: String,
    },
}

impl Bundle {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        cbor::to_canonical(self, "bundle").expect("bundles encode")
    }
    /// Strict decoding.
    ///
    /// # Errors
    /// [`BundleError::Decode`].
    pub fn decode(bytes: &[u8]) -> Result<Bundle, BundleError> {
        Ok(cbor::from_canonical(bytes, MAX_BUNDLE_LEN, "bundle")?)
    }
}

/// What a successful verification established.
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

fn entry(index: u64, reason: impl Into<String>) -> BundleError {
    BundleError::Entry { index, reason: reason.into() }
}

/// Verifies `b`. `pinned` is the auditor's own root for the bundle's region; without it the
/// bundle's declared anchor is used and the verdict says so.
///
/// # Errors
/// The first [`BundleError`] found.
pub fn verify(b: &Bundle, pinned: Option<&PublicKey>) -> Result<Verdict, BundleError> {
    if b.version != BUNDLE_VERSION {
        return Err(BundleError::Version(b.version));
    }
    let root_key =
        pinned.or_else(|| b.anchors.get(&b.region)).ok_or_else(|| BundleError::NoAnchor(b.region.clone()))?;
    let mut trust = TrustState::new();
    for (r, k) in &b.anchors {
        trust.pin(r.clone(), *k);
    }
    trust.pin(b.region.clone(), *root_key);
    let policy = LocalPolicy::default();
    for (index, t) in b.trust_objects.iter().enumerate() {
        let o = objects::open(&t.0).map_err(|e| BundleError::TrustObject { index, reason: e.to_string() })?;
        let ctx = AuthzContext {
            trust: &trust,
            policy: &policy,
            now: u64::MAX / 2,
            target: None,
            witnessed_before_revocation: true,
        };
        match (&o.body, authorize(&o, &ctx)) {
            (Body::Delegation(_) | Body::Revocation(_), Decision::Accept) => trust.apply(&o),
            (_, d) => {
                return Err(BundleError::TrustObject { index, reason: format!("not an accepted trust object: {d:?}") })
            }
        }
    }
    let node_ok =
        trust.delegations().any(|(_, d)| d.key == b.node_key && d.region == b.region && d.role == crate::Role::Node);
    if !node_ok {
        return Err(BundleError::NodeKey(b.node_key.to_hex()));
    }
    let cp = open_checkpoint(&b.checkpoint, b.region.as_str(), &b.node_key)
        .map_err(|e| BundleError::Checkpoint(e.to_string()))?;
    let hashes: Vec<Hash> = b
        .leaf_hashes
        .iter()
        .enumerate()
        .map(|(i, h)| h.0.as_slice().try_into().map_err(|_| entry(i as u64, "leaf hash is not 32 bytes")))
        .collect::<Result<_, _>>()?;
    if hashes.len() as u64 != cp.size || root(&hashes) != cp.root {
        return Err(BundleError::Root { size: hashes.len() as u64 });
    }
    let envelopes: BTreeMap<ObjectId, VerifiedObject> =
        b.envelopes.iter().filter_map(|e| objects::open(&e.0).ok()).map(|o| (o.id(), o)).collect();
    let feed: BTreeMap<u64, SignedFeedEntry> =
        b.feed_entries.iter().filter_map(|e| SignedFeedEntry::open(&e.0).ok()).map(|e| (e.entry.seq, e)).collect();
    let mut objects_checked = 0;
    for (k, leaf) in b.leaves.iter().enumerate() {
        let index = b.from + k as u64;
        let want = hashes.get(index as usize).ok_or_else(|| entry(index, "beyond the checkpoint size"))?;
        if leaf_hash(&leaf.0) != *want {
            return Err(entry(index, "leaf bytes do not hash to the leaf hash"));
        }
        let ev = AuditEvent::decode(&leaf.0).map_err(|e| entry(index, format!("leaf does not decode: {e}")))?;
        match ev {
            AuditEvent::Accepted { id, .. } => {
                let o =
                    envelopes.get(&id).ok_or_else(|| entry(index, format!("envelope {id} missing from the bundle")))?;
                let target = o
                    .body
                    .target()
                    .and_then(|t| envelopes.get(&t))
                    .map(|t| TargetInfo { region: t.body.region().clone(), object_type: t.body.object_type() });
                let ctx = AuthzContext {
                    trust: &trust,
                    policy: &policy,
                    now: o.body.signed_at(),
                    target: target.as_ref(),
                    witnessed_before_revocation: true,
                };
                match authorize(o, &ctx) {
                    Decision::Accept | Decision::Pending(_) => objects_checked += 1,
                    d => return Err(entry(index, format!("object {id} not authorized as of its signing time: {d:?}"))),
                }
            }
            AuditEvent::Published { id, seq, entry_hash, .. } => {
                let e = feed.get(&seq).ok_or_else(|| entry(index, format!("feed entry {seq} missing")))?;
                if e.signer != b.node_key
                    || e.hash != entry_hash
                    || e.entry.envelope_id != id
                    || e.entry.origin != b.region
                {
                    return Err(entry(index, format!("feed entry {seq} does not match the published event")));
                }
                if let Some(prev) = feed.get(&(seq.wrapping_sub(1))) {
                    prev.check_next(e).map_err(|err| entry(index, err.to_string()))?;
                }
            }
            _ => {}
        }
    }
    Ok(Verdict {
        size: cp.size,
        root: cp.root,
        entries: b.leaves.len() as u64,
        objects: objects_checked,
        anchor_pinned_by_auditor: pinned.is_some(),
    })
}
