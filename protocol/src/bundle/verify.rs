//! [`verify_bundle`]: the offline audit of one bundle.
//!
//! Order of checks (each failure names the leaf index or object id and a stable code):
//!
//! 1. header: version (region and node key are typed: a bad one does not decode);
//! 2. checkpoint: C2SP signed note by the node key under key name = region, origin
//!    `credfed/<region>/audit`;
//! 3. leaf hashes: 32 bytes each, `len == size`, `merkle::root == checkpoint root`;
//! 4. anchors (auditor-supplied roots replace the bundle's, and a bundle anchor that differs
//!    from the auditor's is a failure), then trust objects: each opens, is a
//!    delegation or revocation signed by its region's pinned root, in canonical order, no
//!    duplicates; delegations are replayed into a [`TrustState`];
//! 5. leaves: hash equals `merkle::leaf_hash(leaf)`, decodes strictly as an [`AuditEvent`];
//! 6. the node key is delegated (role node) by the region's root, valid and unrevoked at the
//!    time of the last included event;
//! 7. envelopes: sorted by bytes without repeats, each opens, each is named by an included
//!    `accepted` leaf or is the target of one;
//! 8. walking the leaves in order: each `accepted` leaf has its envelope, which opens,
//!    has the leaf's id and origin, and passes [`authorize`] with the leaf's time as `now`,
//!    under the delegations plus the revocations the log had accepted **before** that leaf
//!    (so a backdated revocation accepted later does not condemn an earlier acceptance, and an
//!    object accepted after its signer's revocation is caught). Targets are looked up among
//!    the bundle's objects. A node cannot accept an acting object without holding its target
//!    (authorization stays pending), and its export includes the target, so a missing target
//!    is a failure (`target_missing`); a bundle whose range starts after a target's leaf
//!    still carries it among the envelopes.
//!    Each `published` leaf has its own-feed entry, in order, signed by the node key, naming the
//!    leaf's id, seq and entry hash; published seqs are consecutive and the entries chain
//!    ([`feed::verify_chain`]);
//! 9. consistency with an earlier checkpoint: recomputed from the leaf hashes (all present).
//!
//! Local policy is not in the bundle: objects are authorized under the default (accept-all)
//! policy, since a policy refusal is the node's own business, not a forgery.

use std::collections::{HashMap, HashSet};

use crate::audit::AuditEvent;
use crate::checkpoint::SignedCheckpoint;
use crate::envelope::{Envelope, ObjectId};
use crate::feed::{self, SignedFeedEntry};
use crate::keys::PublicKey;
use crate::merkle::{self, Hash};
use crate::objects::{self, Body, VerifiedObject};
use crate::trust::{authorize, AuthzContext, Decision, LocalPolicy, TargetInfo, TrustState};
use crate::{ObjectType, RegionId, Role};

use super::{log_epoch, origin_line, AuditBundle, VerifyReport, BUNDLE_VERSION};

/// Decodes and verifies bundle bytes; a bundle that does not decode is a failed report.
pub fn verify_bundle_bytes(
    bytes: &[u8],
    trust: Option<&[(RegionId, PublicKey)]>,
    previous: Option<&str>,
) -> VerifyReport {
    match AuditBundle::decode(bytes) {
        Ok(b) => verify_bundle(&b, trust, previous),
        Err(e) => {
            let mut r = VerifyReport::default();
            r.fail("bundle", None, None, e.code(), e.to_string());
            r
        }
    }
}

/// Verifies a bundle offline.
///
/// * `trust`: roots the auditor pinned out of band; they replace the bundle's anchors for their
///   regions (a differing bundle anchor is a failure). Without it the bundle's own anchors are
///   used and the report says `trust_source: "bundle"`.
/// * `previous`: an earlier signed checkpoint note of the same log, to prove append-only growth.
pub fn verify_bundle(
    bundle: &AuditBundle,
    trust: Option<&[(RegionId, PublicKey)]>,
    previous: Option<&str>,
) -> VerifyReport {
    let mut r = VerifyReport {
        ok: true,
        region: bundle.region.to_string(),
        from: bundle.from,
        to: bundle.to(),
        trust_source: if trust.is_some() { "auditor" } else { "bundle" }.into(),
        ..VerifyReport::default()
    };
    let c = &mut r.counts;
    c.tree_size = bundle.leaf_hashes.len() as u64;
    c.leaves = bundle.leaves.len() as u64;
    c.envelopes = bundle.envelopes.len() as u64;
    c.feed_entries = bundle.feed_entries.len() as u64;
    c.trust_objects = bundle.trust_objects.len() as u64;
    if bundle.version != BUNDLE_VERSION {
        let m = format!("bundle version {} (this verifier reads {BUNDLE_VERSION})", bundle.version);
        r.fail("bundle", None, None, "unsupported_version", m);
        return r;
    }
    let (region, node_key) = (bundle.region.clone(), bundle.node_key);
    let mut v = Verifier { b: bundle, region, node_key, r, trust: TrustState::new(), bad_envelopes: HashSet::new() };
    v.run(trust, previous);
    v.r
}

struct Verifier<'a> {
    b: &'a AuditBundle,
    region: RegionId,
    node_key: PublicKey,
    r: VerifyReport,
    trust: TrustState,
    /// Ids of envelopes that are present but do not open (already reported).
    bad_envelopes: HashSet<ObjectId>,
}

/// What the walk learned up front about the included leaves.
struct Leaves {
    events: Vec<Option<AuditEvent>>,
    /// Leaf index of the n-th `published` event.
    published_at: Vec<u64>,
    accepted_ids: HashSet<ObjectId>,
    last_time: Option<u64>,
}

fn hex_id(id: &ObjectId) -> Option<String> {
    Some(id.to_hex())
}

/// The id of envelope bytes that decode (signature not checked).
fn envelope_id(raw: &[u8]) -> Option<ObjectId> {
    Envelope::decode(raw).ok().map(|e| e.id())
}

impl Verifier<'_> {
    fn run(&mut self, trust: Option<&[(RegionId, PublicKey)]>, previous: Option<&str>) {
        let checkpoint = self.checkpoint();
        let hashes = self.leaf_hashes(checkpoint.as_ref());
        if self.b.to() > hashes.len() as u64 {
            let m = format!("leaves [{}, {}) extend beyond the tree size {}", self.b.from, self.b.to(), hashes.len());
            self.r.fail("leaves", None, None, "range_beyond_size", m);
        }
        self.anchors(trust);
        let revocations = self.trust_objects();
        let leaves = self.leaves(&hashes);
        self.node_key_delegated(&revocations, leaves.last_time);
        self.walk(&leaves, &revocations);
        if let Some(prev) = previous {
            self.previous(prev, checkpoint.as_ref(), &hashes);
        }
        if let Some(cp) = &checkpoint {
            self.cosignatures(cp);
        }
    }

    fn checkpoint(&mut self) -> Option<SignedCheckpoint> {
        self.r.counts.signatures_checked += 1;
        match SignedCheckpoint::open(&self.b.checkpoint, self.region.as_str(), &self.node_key) {
            Ok(cp) => {
                if log_epoch(&cp.checkpoint().origin, self.region.as_str()).is_none() {
                    let expected = origin_line(self.region.as_str());
                    let m = format!("origin {:?}, expected {expected:?} (or …/audit/<epoch>)", cp.checkpoint().origin);
                    self.r.fail("checkpoint", None, None, "checkpoint_origin_mismatch", m);
                }
                self.r.checkpoint_size = Some(cp.checkpoint().size);
                self.r.checkpoint_root = Some(hex::encode(cp.checkpoint().root));
                Some(cp)
            }
            Err(e) => {
                let m = format!("checkpoint does not verify under the node key as {:?}: {e}", self.region.as_str());
                self.r.fail("checkpoint", None, None, "bad_checkpoint", m);
                None
            }
        }
    }

    fn leaf_hashes(&mut self, cp: Option<&SignedCheckpoint>) -> Vec<Hash> {
        let mut out = Vec::with_capacity(self.b.leaf_hashes.len());
        for (i, h) in self.b.leaf_hashes.iter().enumerate() {
            match <[u8; 32]>::try_from(h.0.as_slice()) {
                Ok(a) => out.push(a),
                Err(_) => {
                    let m = format!("leaf hash is {} bytes, not 32", h.0.len());
                    self.r.fail("leaf_hashes", Some(i as u64), None, "malformed_leaf_hash", m);
                    out.push([0; 32]);
                }
            }
        }
        if let Some(cp) = cp {
            let cp = cp.checkpoint();
            if cp.size != out.len() as u64 {
                let m = format!("checkpoint size {} but the bundle has {} leaf hashes", cp.size, out.len());
                self.r.fail("checkpoint", None, None, "size_mismatch", m);
            } else if merkle::root(&out) != cp.root {
                let m = "the Merkle root of the leaf hashes is not the checkpoint root";
                self.r.fail("leaf_hashes", None, None, "root_mismatch", m);
            }
        }
        out
    }

    fn anchors(&mut self, supplied: Option<&[(RegionId, PublicKey)]>) {
        let mut roots = self.b.anchors.clone();
        if !roots.contains_key(&self.region) {
            // A node always pins its own region (it cannot be unpinned), even when the auditor
            // brings the root.
            let m = format!("the bundle's anchors do not include its own region {}", self.region);
            self.r.fail("anchors", None, None, "own_anchor_missing", m);
        }
        if let Some(supplied) = supplied {
            for (reg, key) in supplied {
                if let Some(theirs) = roots.get(reg).filter(|t| *t != key) {
                    let m = format!(
                        "the bundle pins {} for {reg}, the auditor pinned {}",
                        theirs.fingerprint(),
                        key.fingerprint()
                    );
                    self.r.fail("anchors", None, None, "anchor_mismatch", m);
                }
                roots.insert(reg.clone(), *key);
            }
        }
        self.r.counts.anchors = roots.len() as u64;
        for (reg, key) in roots {
            self.trust.pin(reg, key);
        }
    }

    /// Verifies the trust objects, applies delegations, returns revocations by id.
    fn trust_objects(&mut self) -> HashMap<ObjectId, VerifiedObject> {
        let mut revocations = HashMap::new();
        let mut last: Option<(u8, ObjectId)> = None;
        let policy = LocalPolicy::default();
        for (i, raw) in self.b.trust_objects.iter().enumerate() {
            let i = Some(i as u64);
            self.r.counts.signatures_checked += 1;
            let obj = match objects::open(&raw.0) {
                Ok(o) => o,
                Err(e) => {
                    self.r.fail("trust_objects", i, None, e.code(), e.to_string());
                    continue;
                }
            };
            let id = obj.id();
            let tag = match obj.body.object_type() {
                ObjectType::Delegation => 0,
                ObjectType::Revocation => 1,
                t => {
                    let m = format!("a {t} is not a trust object");
                    self.r.fail("trust_objects", i, hex_id(&id), "not_a_trust_object", m);
                    continue;
                }
            };
            if last.is_some_and(|l| l >= (tag, id)) {
                let m = "trust objects must be delegations then revocations, each by ascending id, no repeats";
                self.r.fail("trust_objects", i, hex_id(&id), "trust_objects_not_canonical", m);
            }
            last = Some((tag, id));
            let ctx = AuthzContext {
                trust: &self.trust,
                policy: &policy,
                now: obj.body.signed_at(),
                target: None,
                witnessed_before_revocation: false,
            };
            match authorize(&obj, &ctx) {
                Decision::Accept => {}
                Decision::Pending(d) | Decision::Quarantine(d) | Decision::Reject(d) => {
                    self.r.fail("trust_objects", i, hex_id(&id), d.code(), d.to_string());
                    continue;
                }
            }
            if tag == 0 {
                self.trust.apply(&obj);
            } else {
                revocations.insert(id, obj);
            }
        }
        revocations
    }

    fn leaves(&mut self, hashes: &[Hash]) -> Leaves {
        let mut l = Leaves {
            events: Vec::with_capacity(self.b.leaves.len()),
            published_at: Vec::new(),
            accepted_ids: HashSet::new(),
            last_time: None,
        };
        for (k, leaf) in self.b.leaves.iter().enumerate() {
            let i = self.b.from.saturating_add(k as u64);
            let h = merkle::leaf_hash(&leaf.0);
            if hashes.get(i as usize) != Some(&h) {
                let m = "SHA-256(0x00 || leaf) differs from the leaf hash the checkpoint covers";
                self.r.fail_leaf("leaves", i, None, "leaf_hash_mismatch", m);
            }
            match AuditEvent::decode(&leaf.0) {
                Ok(ev) => {
                    match &ev {
                        AuditEvent::Accepted { id, .. } => {
                            l.accepted_ids.insert(*id);
                        }
                        AuditEvent::Published { .. } => l.published_at.push(i),
                        _ => {}
                    }
                    l.last_time = Some(l.last_time.unwrap_or(0).max(ev.at()));
                    l.events.push(Some(ev));
                }
                Err(e) => {
                    self.r.fail_leaf("leaves", i, None, "malformed_leaf", e.to_string());
                    l.events.push(None);
                }
            }
        }
        l
    }

    fn node_key_delegated(&mut self, revocations: &HashMap<ObjectId, VerifiedObject>, at: Option<u64>) {
        let mut full = self.trust.clone();
        for r in revocations.values() {
            full.apply(r);
        }
        let fp = self.node_key.fingerprint();
        let Some(info) = full.delegation(&self.node_key, &self.region, at.unwrap_or(0)) else {
            let m = format!("node key {fp} has no delegation by the root of {}", self.region);
            self.r.fail("trust_objects", None, None, "node_key_not_delegated", m);
            return;
        };
        let d = &info.delegation;
        if d.role != Role::Node {
            let m = format!("node key {fp} is delegated with role {}, not node", d.role);
            self.r.fail("trust_objects", None, hex_id(&info.delegation_id), "node_key_wrong_role", m);
        }
        let Some(at) = at else { return };
        if at < d.not_before || at >= d.not_after {
            let m = format!("node key delegation [{}, {}) does not cover the log time {at}", d.not_before, d.not_after);
            self.r.fail("trust_objects", None, hex_id(&info.delegation_id), "node_key_not_valid", m);
        }
        if let Some(rf) = info.revoked_from.filter(|rf| *rf <= at) {
            let m = format!("node key {fp} is revoked from {rf}, before the log time {at}");
            self.r.fail("trust_objects", None, None, "node_key_revoked", m);
        }
    }

    fn walk(&mut self, l: &Leaves, revocations: &HashMap<ObjectId, VerifiedObject>) {
        if self.b.from > 0 {
            self.r.counts.unplaced_revocations =
                revocations.keys().filter(|id| !l.accepted_ids.contains(id)).count() as u64;
        }
        let (envs, env_ids) = self.open_envelopes();
        let mut feed = self.open_feed(l);
        let feed_len = feed.len();
        let targets: HashMap<ObjectId, TargetInfo> = envs
            .values()
            .map(|o| (o.id(), TargetInfo { region: o.body.region().clone(), object_type: o.body.object_type() }))
            .collect();
        let trust_ids: HashSet<ObjectId> =
            self.trust.delegations().map(|(id, _)| *id).chain(revocations.keys().copied()).collect();
        let mut needed: HashSet<ObjectId> = HashSet::new();
        let policy = LocalPolicy::default();
        let mut seen: HashMap<ObjectId, Option<u64>> = HashMap::new();
        // (revoked key, region) → the first feed seq of a revocation of it in the region's feed.
        let mut revoked_at: HashMap<(crate::keys::PublicKey, RegionId), u64> = HashMap::new();
        let mut feed_cursor = 0usize;
        let mut last_published: Option<u64> = None;
        let mut run: Vec<SignedFeedEntry> = Vec::new();
        let mut run_at: Vec<u64> = Vec::new();
        for (k, ev) in l.events.iter().enumerate() {
            let i = self.b.from + k as u64;
            let Some(ev) = ev else { continue };
            match ev {
                AuditEvent::Accepted { at, id, origin, seq, .. } => {
                    self.r.counts.accepted += 1;
                    if seen.insert(*id, *seq).is_some() {
                        self.r.fail_leaf("leaves", i, hex_id(id), "duplicate_accepted", "object accepted twice");
                    }
                    needed.insert(*id);
                    let Some(obj) = envs.get(id) else {
                        if !self.bad_envelopes.contains(id) {
                            let m = "the accepted object's envelope is not in the bundle";
                            self.r.fail_leaf("envelopes", i, hex_id(id), "envelope_missing", m);
                        }
                        continue;
                    };
                    if obj.body.region() != origin {
                        let m = format!("leaf says origin {origin}, the object is from {}", obj.body.region());
                        self.r.fail_leaf("leaves", i, hex_id(id), "origin_mismatch", m);
                    }
                    if origin == &self.region && seq.is_none() {
                        let m = "own object accepted without a feed seq";
                        self.r.fail_leaf("leaves", i, hex_id(id), "missing_seq", m);
                    }
                    if matches!(obj.body, Body::Delegation(_) | Body::Revocation(_)) && !trust_ids.contains(id) {
                        let m = "accepted delegation/revocation missing from trust_objects (or invalid there)";
                        self.r.fail_leaf("trust_objects", i, hex_id(id), "trust_object_missing", m);
                    }
                    let target_id = obj.body.target();
                    if let Some(t) = target_id {
                        needed.insert(t);
                    }
                    let target = target_id.and_then(|t| targets.get(&t));
                    if let (Some(t), None) = (target_id, target) {
                        if !self.bad_envelopes.contains(&t) {
                            let m = format!("target {t} of this acting object is not in the bundle");
                            self.r.fail_leaf("envelopes", i, hex_id(id), "target_missing", m);
                        }
                        self.r.counts.unchecked_targets += 1;
                        continue;
                    }
                    let ctx = AuthzContext {
                        trust: &self.trust,
                        policy: &policy,
                        now: *at,
                        target,
                        witnessed_before_revocation: false,
                    };
                    let mut decision = authorize(obj, &ctx);
                    // The backdating rule's witness, as the node applies it: the object's entry
                    // precedes the first revocation of its signer in the origin's feed.
                    if matches!(decision, Decision::Quarantine(_))
                        && seq.zip(revoked_at.get(&(obj.signer(), origin.clone()))).is_some_and(|(s, r)| s < *r)
                    {
                        decision = authorize(obj, &AuthzContext { witnessed_before_revocation: true, ..ctx });
                        if matches!(decision, Decision::Accept) {
                            self.r.counts.witnessed_before_revocation += 1;
                        }
                    }
                    match decision {
                        Decision::Accept => self.r.counts.authorized += 1,
                        Decision::Pending(_) => self.r.counts.unchecked_targets += 1,
                        Decision::Quarantine(d) | Decision::Reject(d) => {
                            let m = format!("accepted by the node, but: {d}");
                            self.r.fail_leaf("leaves", i, hex_id(id), d.code(), m);
                        }
                    }
                    if let Some(rev) = revocations.get(id) {
                        self.trust.apply(rev);
                        if let (Body::Revocation(r), Some(s)) = (&rev.body, seq) {
                            let first = revoked_at.entry((r.key, origin.clone())).or_insert(*s);
                            *first = (*first).min(*s);
                        }
                    }
                }
                AuditEvent::Published { id, seq, entry_hash, .. } => {
                    self.r.counts.published += 1;
                    let pos = feed_cursor;
                    feed_cursor += 1;
                    if k > 0 && seen.get(id) != Some(&Some(*seq)) {
                        let m = format!("no earlier accepted leaf for this object at seq {seq}");
                        self.r.fail_leaf("leaves", i, hex_id(id), "published_without_accept", m);
                    }
                    if let Some(p) = last_published {
                        if *seq != p + 1 {
                            let m = format!("published seq {seq} follows seq {p}");
                            self.r.fail_leaf("leaves", i, hex_id(id), "feed_seq_gap", m);
                        }
                    }
                    last_published = Some(*seq);
                    let e = match feed.get_mut(pos).map(Option::take) {
                        Some(Some(e)) => e,
                        Some(None) => continue,
                        None => {
                            let m = format!("own-feed entry {seq} is not in the bundle");
                            self.r.fail_leaf("feed_entries", i, hex_id(id), "feed_entry_missing", m);
                            continue;
                        }
                    };
                    let en = &e.entry;
                    let mismatch = if e.signer != self.node_key {
                        Some("not signed by the node key".to_string())
                    } else if en.origin != self.region {
                        Some(format!("entry origin {} is not {}", en.origin, self.region))
                    } else if en.seq != *seq || en.envelope_id != *id {
                        Some(format!("entry is seq {} for {}, the leaf names seq {seq}", en.seq, en.envelope_id))
                    } else if e.hash != *entry_hash {
                        Some("entry hash differs from the leaf's entry_hash".to_string())
                    } else {
                        None
                    };
                    if let Some(m) = mismatch {
                        self.r.fail_leaf("feed_entries", i, hex_id(id), "feed_entry_mismatch", m);
                    }
                    if run.last().is_some_and(|p| p.entry.seq + 1 != en.seq) {
                        self.chain(&run, &run_at);
                        run.clear();
                        run_at.clear();
                    }
                    run.push(e);
                    run_at.push(i);
                }
                AuditEvent::Rejected { .. } => self.r.counts.rejected_events += 1,
                AuditEvent::Quarantined { .. } => self.r.counts.quarantined += 1,
                _ => self.r.counts.other_events += 1,
            }
        }
        self.chain(&run, &run_at);
        for (pos, id) in env_ids.into_iter().enumerate() {
            if id.is_some_and(|id| !needed.contains(&id)) {
                let m = "envelope neither named by an accepted leaf in range nor the target of one";
                self.r.fail("envelopes", Some(pos as u64), id.as_ref().and_then(hex_id), "unexpected_envelope", m);
            }
        }
        for pos in feed_cursor..feed_len {
            let m = "feed entry not named by any published leaf in range";
            self.r.fail("feed_entries", Some(pos as u64), None, "unexpected_feed_entry", m);
        }
    }

    /// Checks one run of consecutive own-feed entries; `at[n]` is the leaf index of `run[n]`.
    fn chain(&mut self, run: &[SignedFeedEntry], at: &[u64]) {
        if let Err(e) = feed::verify_chain(run) {
            let bad = match &e {
                feed::FeedError::BrokenChain { seq, .. } | feed::FeedError::Gap { got: seq, .. } => {
                    run.iter().position(|x| x.entry.seq == *seq)
                }
                _ => None,
            };
            let id = bad.map(|p| run[p].entry.envelope_id.to_hex());
            match bad.and_then(|p| at.get(p).copied()) {
                Some(i) => self.r.fail_leaf("feed_entries", i, id, e.code(), e.to_string()),
                None => self.r.fail("feed_entries", None, id, e.code(), e.to_string()),
            }
        }
    }

    /// Opens every envelope (returning them by id, and each position's id when it decodes);
    /// checks the canonical order (sorted by bytes, no repeats).
    fn open_envelopes(&mut self) -> (HashMap<ObjectId, VerifiedObject>, Vec<Option<ObjectId>>) {
        let mut out = HashMap::with_capacity(self.b.envelopes.len());
        let mut ids = Vec::with_capacity(self.b.envelopes.len());
        for (pos, raw) in self.b.envelopes.iter().enumerate() {
            let index = Some(pos as u64);
            if pos > 0 && self.b.envelopes[pos - 1] >= *raw {
                let m = "envelopes must be sorted by their bytes, without repeats";
                let id = envelope_id(&raw.0).as_ref().and_then(hex_id);
                self.r.fail("envelopes", index, id, "envelopes_not_canonical", m);
            }
            self.r.counts.signatures_checked += 1;
            match objects::open(&raw.0) {
                Ok(o) => {
                    ids.push(Some(o.id()));
                    out.insert(o.id(), o);
                }
                Err(e) => {
                    let id = envelope_id(&raw.0);
                    if let Some(id) = id {
                        self.bad_envelopes.insert(id);
                    }
                    ids.push(id);
                    self.r.fail("envelopes", index, id.as_ref().and_then(hex_id), e.code(), e.to_string());
                }
            }
        }
        (out, ids)
    }

    fn open_feed(&mut self, l: &Leaves) -> Vec<Option<SignedFeedEntry>> {
        let mut out = Vec::with_capacity(self.b.feed_entries.len());
        for (pos, raw) in self.b.feed_entries.iter().enumerate() {
            self.r.counts.signatures_checked += 1;
            match SignedFeedEntry::open(&raw.0) {
                Ok(e) => out.push(Some(e)),
                Err(e) => {
                    match l.published_at.get(pos) {
                        Some(i) => self.r.fail_leaf("feed_entries", *i, None, e.code(), e.to_string()),
                        None => self.r.fail("feed_entries", Some(pos as u64), None, e.code(), e.to_string()),
                    }
                    out.push(None);
                }
            }
        }
        out
    }

    fn region_node_keys(&self) -> Vec<PublicKey> {
        let mut keys = vec![self.node_key];
        for (_, d) in self.trust.delegations() {
            if d.region == self.region && d.role == Role::Node && !keys.contains(&d.key) {
                keys.push(d.key);
            }
        }
        keys
    }

    fn previous(&mut self, text: &str, cp: Option<&SignedCheckpoint>, hashes: &[Hash]) {
        let opened =
            self.region_node_keys().iter().find_map(|k| SignedCheckpoint::open(text, self.region.as_str(), k).ok());
        self.r.counts.signatures_checked += 1;
        let Some(prev) = opened else {
            let m = format!("the earlier checkpoint is not signed by a node key of {}", self.region);
            self.r.fail("previous", None, None, "bad_previous_checkpoint", m);
            return;
        };
        let (Some(cp), p) = (cp, prev.checkpoint()) else { return };
        let cp = cp.checkpoint();
        if p.origin != cp.origin {
            let m = format!("earlier checkpoint is for log {:?}, not {:?}", p.origin, cp.origin);
            self.r.fail("previous", None, None, "previous_other_log", m);
        } else if p.size > cp.size {
            let m = format!("earlier checkpoint has size {}, larger than this bundle's {}: rollback?", p.size, cp.size);
            self.r.fail("previous", None, None, "previous_larger", m);
        } else if p.size as usize > hashes.len() || merkle::root(&hashes[..p.size as usize]) != p.root {
            let code = if p.size == cp.size { "split_view" } else { "inconsistent_with_previous" };
            let m = format!("the first {} leaf hashes do not have the earlier checkpoint's root", p.size);
            self.r.fail("previous", None, None, code, m);
        } else {
            self.r.previous_size = Some(p.size);
        }
    }

    fn cosignatures(&mut self, cp: &SignedCheckpoint) {
        let witnesses: Vec<(String, PublicKey)> = self
            .trust
            .delegations()
            .filter(|(_, d)| d.role == Role::Node && d.region != self.region)
            .map(|(_, d)| (d.region.to_string(), d.key))
            .collect();
        self.r.cosigners = cp.cosignatures(&witnesses);
        self.r.counts.cosignatures = self.r.cosigners.len() as u64;
    }
}
