//! Origin feeds (DESIGN §4): each node's hash-chained, node-signed log of what its region
//! originates. Entry `n` = `{origin, seq: n, prev: hash(entry n-1), envelope_id, published_at}`,
//! CBOR-encoded canonically and signed like an envelope under [`FEED_ENTRY_DOMAIN`].
//! `hash(entry)` = SHA-256 of the entry body bytes. `seq` starts at 1, where `prev` is absent.
//!
//! Two validly signed entries with the same `(origin, seq)` and different bytes are an
//! [`Equivocation`] proof that every node keeps and reports.

use serde::{Deserialize, Serialize};

use crate::cbor::{self, CborError};
use crate::envelope::{Envelope, EnvelopeError, ObjectId, VerifiedEnvelope, FEED_ENTRY_DOMAIN};
use crate::keys::{PublicKey, SecretKey};
use crate::RegionId;

/// Largest encoded feed-entry body.
pub const MAX_FEED_ENTRY_LEN: usize = 512;

/// One feed entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedEntry {
    /// The originating region.
    pub origin: RegionId,
    /// Position, from 1.
    pub seq: u64,
    /// Hash of entry `seq - 1`; absent for `seq == 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<ObjectId>,
    /// The published object.
    pub envelope_id: ObjectId,
    /// Publication time (Unix seconds, node clock).
    pub published_at: u64,
}

/// Why a feed entry or chain is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// Envelope-level failure.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// Body not a canonical entry.
    #[error(transparent)]
    Cbor(#[from] CborError),
    /// `seq` 0, or `prev` present on seq 1 / absent later.
    #[error("feed entry seq {seq}: {detail}")]
    Shape {
        /// The entry's seq.
        seq: u64,
        /// What is wrong.
        detail: &'static str,
    },
    /// `seq` does not follow.
    #[error("feed of {origin}: expected seq {expected}, got {got}")]
    Gap {
        /// Origin.
        origin: RegionId,
        /// Expected.
        expected: u64,
        /// Got.
        got: u64,
    },
    /// `prev` is not the hash of the previous entry.
    #[error("feed of {origin}: entry {seq} does not chain to entry {}", seq - 1)]
    BrokenChain {
        /// Origin.
        origin: RegionId,
        /// The entry that does not chain.
        seq: u64,
    },
    /// Entries of different origins compared.
    #[error("entries belong to different origins")]
    OriginMismatch,
}

impl FeedError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            FeedError::Envelope(e) => e.code(),
            FeedError::Cbor(_) | FeedError::Shape { .. } => "malformed_feed_entry",
            FeedError::Gap { .. } => "feed_gap",
            FeedError::BrokenChain { .. } => "feed_broken_chain",
            FeedError::OriginMismatch => "feed_origin_mismatch",
        }
    }
}

impl FeedEntry {
    /// Canonical body bytes.
    pub fn encode(&self) -> Vec<u8> {
        cbor::to_canonical(self, "feed entry").expect("feed entries encode")
    }

    /// Signs this entry with the node key.
    pub fn sign(&self, key: &SecretKey) -> SignedFeedEntry {
        let env = Envelope::sign(FEED_ENTRY_DOMAIN, self.encode(), key);
        SignedFeedEntry { hash: env.id(), bytes: env.encode(), entry: self.clone(), signer: key.public() }
    }
}

/// A feed entry whose signature verified. `bytes` are the encoded envelope as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedFeedEntry {
    /// The entry.
    pub entry: FeedEntry,
    /// SHA-256 of the entry body: what the next entry's `prev` names.
    pub hash: ObjectId,
    /// The signing node key.
    pub signer: PublicKey,
    /// Encoded signed entry (envelope form).
    pub bytes: Vec<u8>,
}

impl SignedFeedEntry {
    /// Decodes and verifies a signed entry. Whether the signer is a node key of `origin` is for
    /// the trust layer ([`crate::trust::TrustState::node_region`]) to decide.
    ///
    /// # Errors
    /// [`FeedError`].
    pub fn open(bytes: &[u8]) -> Result<SignedFeedEntry, FeedError> {
        let env: VerifiedEnvelope = Envelope::decode(bytes)?.verify(FEED_ENTRY_DOMAIN)?;
        let entry: FeedEntry = cbor::from_canonical(env.body(), MAX_FEED_ENTRY_LEN, "feed entry")?;
        match (entry.seq, entry.prev.is_some()) {
            (0, _) => return Err(FeedError::Shape { seq: 0, detail: "seq starts at 1" }),
            (1, true) => return Err(FeedError::Shape { seq: 1, detail: "first entry has no prev" }),
            (s, false) if s > 1 => return Err(FeedError::Shape { seq: s, detail: "prev is required after seq 1" }),
            _ => {}
        }
        Ok(SignedFeedEntry { hash: env.id(), signer: env.signer(), bytes: bytes.to_vec(), entry })
    }

    /// Checks that `next` directly follows `self` in the same feed.
    ///
    /// # Errors
    /// [`FeedError::Gap`], [`FeedError::BrokenChain`] or [`FeedError::OriginMismatch`].
    pub fn check_next(&self, next: &SignedFeedEntry) -> Result<(), FeedError> {
        if self.entry.origin != next.entry.origin {
            return Err(FeedError::OriginMismatch);
        }
        if next.entry.seq != self.entry.seq + 1 {
            return Err(FeedError::Gap {
                origin: next.entry.origin.clone(),
                expected: self.entry.seq + 1,
                got: next.entry.seq,
            });
        }
        if next.entry.prev != Some(self.hash) {
            return Err(FeedError::BrokenChain { origin: next.entry.origin.clone(), seq: next.entry.seq });
        }
        Ok(())
    }
}

/// Verifies a contiguous run of entries of one feed (each chained to the one before).
///
/// # Errors
/// The first [`FeedError`].
pub fn verify_chain(entries: &[SignedFeedEntry]) -> Result<(), FeedError> {
    entries.windows(2).try_for_each(|w| w[0].check_next(&w[1]))
}

/// Proof that an origin signed two different entries at the same position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Equivocation {
    /// Origin.
    pub origin: RegionId,
    /// Position.
    pub seq: u64,
    /// First signed entry (envelope bytes).
    pub a: crate::cbor::ByteBuf,
    /// Second signed entry (envelope bytes).
    pub b: crate::cbor::ByteBuf,
}

impl Equivocation {
    /// Builds a proof from two verified entries, if they equivocate.
    pub fn detect(x: &SignedFeedEntry, y: &SignedFeedEntry) -> Option<Equivocation> {
        let same_slot = x.entry.origin == y.entry.origin && x.entry.seq == y.entry.seq;
        (same_slot && x.hash != y.hash).then(|| {
            let (a, b) = if x.bytes <= y.bytes { (x, y) } else { (y, x) };
            Equivocation {
                origin: a.entry.origin.clone(),
                seq: a.entry.seq,
                a: crate::cbor::ByteBuf(a.bytes.clone()),
                b: crate::cbor::ByteBuf(b.bytes.clone()),
            }
        })
    }

    /// Re-verifies the proof: both signatures valid, same slot, different entries. Returns the
    /// two signers (the caller checks they are node keys of `origin`).
    ///
    /// # Errors
    /// [`FeedError`] when either entry fails or they do not equivocate.
    pub fn verify(&self) -> Result<(PublicKey, PublicKey), FeedError> {
        let a = SignedFeedEntry::open(&self.a.0)?;
        let b = SignedFeedEntry::open(&self.b.0)?;
        if Equivocation::detect(&a, &b).as_ref() != Some(self) {
            return Err(FeedError::Shape { seq: self.seq, detail: "entries do not equivocate at the claimed slot" });
        }
        Ok((a.signer, b.signer))
    }
}

/// Missing sequence ranges (inclusive) given what is held and a peer's head.
pub fn missing_ranges(held: &[u64], remote_head: u64, max_range: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut next = 1u64;
    let mut held: Vec<u64> = held.iter().copied().filter(|s| *s >= 1 && *s <= remote_head).collect();
    held.sort_unstable();
    held.dedup();
    let mut push = |from: u64, to: u64| {
        let mut f = from;
        while f <= to {
            let t = to.min(f + max_range - 1);
            out.push((f, t));
            f = t + 1;
        }
    };
    for s in held {
        if s > next {
            push(next, s - 1);
        }
        next = s + 1;
    }
    if next <= remote_head {
        push(next, remote_head);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(key: &SecretKey, n: u64) -> Vec<SignedFeedEntry> {
        let mut out: Vec<SignedFeedEntry> = Vec::new();
        for seq in 1..=n {
            let e = FeedEntry {
                origin: "xinyang".parse().unwrap(),
                seq,
                prev: out.last().map(|p| p.hash),
                envelope_id: ObjectId([seq as u8; 32]),
                published_at: 1_780_000_000 + seq,
            };
            out.push(e.sign(key));
        }
        out
    }

    #[test]
    fn chain_verifies_and_detects_breaks() {
        let k = SecretKey::from_bytes(&[9; 32]).unwrap();
        let c = chain(&k, 5);
        for e in &c {
            assert_eq!(&SignedFeedEntry::open(&e.bytes).unwrap(), e);
        }
        verify_chain(&c).unwrap();
        let mut gap = c.clone();
        gap.remove(2);
        assert_eq!(verify_chain(&gap).unwrap_err().code(), "feed_gap");
        let mut other = c[3].entry.clone();
        other.prev = Some(ObjectId([0; 32]));
        let mut broken = c.clone();
        broken[3] = other.sign(&k);
        assert_eq!(verify_chain(&broken).unwrap_err().code(), "feed_broken_chain");
    }

    #[test]
    fn equivocation_proof() {
        let k = SecretKey::from_bytes(&[9; 32]).unwrap();
        let c = chain(&k, 3);
        let mut alt = c[2].entry.clone();
        alt.envelope_id = ObjectId([0xee; 32]);
        let alt = alt.sign(&k);
        let proof = Equivocation::detect(&c[2], &alt).unwrap();
        assert_eq!(proof.verify().unwrap(), (k.public(), k.public()));
        assert!(Equivocation::detect(&c[2], &c[2]).is_none());
        assert!(Equivocation::detect(&c[1], &alt).is_none());
    }

    #[test]
    fn missing_ranges_splits() {
        assert_eq!(missing_ranges(&[1, 2, 5], 7, 100), vec![(3, 4), (6, 7)]);
        assert_eq!(missing_ranges(&[], 5, 2), vec![(1, 2), (3, 4), (5, 5)]);
        assert!(missing_ranges(&[1, 2, 3], 3, 10).is_empty());
    }
}
