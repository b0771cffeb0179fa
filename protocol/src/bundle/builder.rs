//! [`BundleBuilder`]: an in-memory audit log that writes bundles the way a node does.
//!
//! It performs **no** authorization: tests use it to write logs of objects a node should have
//! refused, and check that the verifier notices.

use std::collections::BTreeMap;

use crate::audit::{AuditEvent, Source};
use crate::cbor::ByteBuf;
use crate::checkpoint::{sign_checkpoint, Checkpoint};
use crate::envelope::{Envelope, ObjectId};
use crate::feed::FeedEntry;
use crate::keys::{PublicKey, SecretKey};
use crate::merkle::{self, Hash};
use crate::objects::{self, Body};
use crate::{ObjectType, RegionId};

use super::{origin_line, AuditBundle, BUNDLE_VERSION};

/// Builds an audit log in memory and exports bundles of it.
pub struct BundleBuilder {
    region: RegionId,
    node: SecretKey,
    now: u64,
    anchors: BTreeMap<RegionId, PublicKey>,
    leaves: Vec<Vec<u8>>,
    hashes: Vec<Hash>,
    envelopes: BTreeMap<ObjectId, Vec<u8>>,
    feed: Vec<(ObjectId, Vec<u8>)>,
    trust: BTreeMap<(u8, ObjectId), Vec<u8>>,
}

impl BundleBuilder {
    /// A log for `region` whose node key is `node`, with `root` pinned as the region's anchor.
    /// Nothing is logged yet (not even the node key's delegation).
    pub fn new(region: RegionId, root: PublicKey, node: &SecretKey, now: u64) -> BundleBuilder {
        let mut anchors = BTreeMap::new();
        anchors.insert(region.clone(), root);
        BundleBuilder {
            region,
            node: node.clone(),
            now,
            anchors,
            leaves: Vec::new(),
            hashes: Vec::new(),
            envelopes: BTreeMap::new(),
            feed: Vec::new(),
            trust: BTreeMap::new(),
        }
    }

    /// Pins another region's root.
    pub fn pin(&mut self, region: RegionId, root: PublicKey) {
        self.anchors.insert(region, root);
    }

    /// Sets the node clock used for the next events.
    pub fn set_time(&mut self, now: u64) {
        self.now = now;
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// Appends a raw event.
    pub fn event(&mut self, ev: &AuditEvent) {
        let bytes = ev.encode();
        self.hashes.push(merkle::leaf_hash(&bytes));
        self.leaves.push(bytes);
    }

    /// Logs the acceptance of an envelope (and, for the builder's own region, its feed entry
    /// and `published` event), as a node's writer does. Returns the object id.
    ///
    /// # Panics
    /// When the envelope does not open: the builder logs only well-formed objects.
    pub fn accept(&mut self, envelope: &Envelope) -> ObjectId {
        self.accept_at(envelope, None)
    }

    /// Like [`BundleBuilder::accept`]; a foreign object is logged at `seq` of its origin's
    /// feed (own objects always take the next own seq).
    ///
    /// # Panics
    /// When `envelope` is not a well-formed signed object.
    pub fn accept_at(&mut self, envelope: &Envelope, foreign_seq: Option<u64>) -> ObjectId {
        let bytes = envelope.encode();
        let obj = objects::open(&bytes).expect("BundleBuilder::accept takes well-formed signed objects");
        let id = obj.id();
        let origin = obj.body.region().clone();
        match &obj.body {
            Body::Delegation(_) => {
                self.trust.insert((0, id), bytes.clone());
            }
            Body::Revocation(_) => {
                self.trust.insert((1, id), bytes.clone());
            }
            _ => {}
        }
        self.envelopes.insert(id, bytes);
        let own = origin == self.region;
        let seq = if own { Some(self.feed.len() as u64 + 1) } else { foreign_seq };
        self.event(&AuditEvent::Accepted {
            at: self.now,
            id,
            origin: origin.clone(),
            seq,
            source: if own { Source::Http { token_id: "t0".into() } } else { Source::Gossip { peer: "12D3".into() } },
        });
        if let Some(seq) = seq.filter(|_| own) {
            let entry = FeedEntry {
                origin,
                seq,
                prev: self.feed.last().map(|(h, _)| *h),
                envelope_id: id,
                published_at: self.now,
            };
            let signed = entry.sign(&self.node);
            self.event(&AuditEvent::Published { at: self.now, id, seq, entry_hash: signed.hash });
            self.feed.push((signed.hash, signed.bytes));
        }
        id
    }

    /// Signs `body` with `key` and logs its acceptance.
    pub fn accept_body(&mut self, body: &Body, key: &SecretKey) -> ObjectId {
        self.accept(&body.sign(key))
    }

    /// The signed checkpoint note over the first `size` leaves.
    ///
    /// # Panics
    /// When `size` exceeds the log.
    pub fn checkpoint(&self, size: u64) -> String {
        let cp = Checkpoint {
            origin: origin_line(self.region.as_str()),
            size,
            root: merkle::root(&self.hashes[..size as usize]),
            extensions: Vec::new(),
        };
        sign_checkpoint(&cp, self.region.as_str(), &self.node).expect("valid checkpoint").to_text()
    }

    /// A bundle of leaves `[from, to)` under a checkpoint of the whole log.
    ///
    /// # Panics
    /// When `from > to` or `to` exceeds the log.
    pub fn bundle(&self, from: u64, to: u64) -> AuditBundle {
        assert!(from <= to && to <= self.size(), "range outside the log");
        let mut envelopes = Vec::new();
        let mut feed_entries = Vec::new();
        for leaf in &self.leaves[from as usize..to as usize] {
            match AuditEvent::decode(leaf) {
                Ok(AuditEvent::Accepted { id, .. }) => {
                    let bytes = &self.envelopes[&id];
                    let target = objects::open(bytes).ok().and_then(|o| o.body.target());
                    if let Some(t) = target.and_then(|t| self.envelopes.get(&t)) {
                        envelopes.push(ByteBuf(t.clone()));
                    }
                    envelopes.push(ByteBuf(bytes.clone()));
                }
                Ok(AuditEvent::Published { seq, .. }) => {
                    feed_entries.push(ByteBuf(self.feed[seq as usize - 1].1.clone()));
                }
                _ => {}
            }
        }
        envelopes.sort();
        envelopes.dedup();
        AuditBundle {
            version: BUNDLE_VERSION,
            region: self.region.clone(),
            node_key: self.node.public(),
            checkpoint: self.checkpoint(self.size()),
            leaf_hashes: self.hashes.iter().map(|h| ByteBuf(h.to_vec())).collect(),
            from,
            leaves: self.leaves[from as usize..to as usize].iter().cloned().map(ByteBuf).collect(),
            envelopes,
            feed_entries,
            trust_objects: self.trust.values().cloned().map(ByteBuf).collect(),
            anchors: self.anchors.clone(),
        }
    }

    /// Ids of logged trust objects of `t` (delegation or revocation).
    pub fn trust_ids(&self, t: ObjectType) -> Vec<ObjectId> {
        let tag = u8::from(t == ObjectType::Revocation);
        self.trust.keys().filter(|(k, _)| *k == tag).map(|(_, id)| *id).collect()
    }
}
