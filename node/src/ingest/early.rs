//! Peer-delivered feed entries that arrived a little ahead of the feed held (DESIGN §4:
//! entries apply strictly in `seq` order).
//!
//! Gossip is validated concurrently (signature checks run in parallel), so entry `n + 1` of
//! an origin often reaches the writer just before entry `n`. Refusing it with `feed_gap`
//! throws away a valid delivery and leaves anti-entropy to fetch it again; under load nearly
//! every object then travels twice and propagation time grows with the backlog. Instead the
//! writer parks such an entry here (its signer already checked) and applies it as soon as the
//! head reaches `seq - 1`. Bounded in count ([`MAX_EARLY`]) and age ([`EARLY_TTL`]): what
//! does not fit, or waits too long, gets the `feed_gap` answer it got before, and the driver
//! syncs the range.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use credfed_protocol::audit::Source;
use credfed_protocol::feed::SignedFeedEntry;
use credfed_protocol::objects::VerifiedObject;
use credfed_protocol::RegionId;

use super::{Accepted, EntryOutcome, Reply};

/// Most entries parked at once (all origins).
pub(super) const MAX_EARLY: usize = 512;

/// Longest an entry waits for its predecessors.
pub(super) const EARLY_TTL: Duration = Duration::from_secs(2);

/// A parked delivery: the command as it arrived.
pub(super) enum Early {
    /// An object with its origin's entry.
    Object { obj: Box<VerifiedObject>, source: Source, entry: Box<SignedFeedEntry>, reply: Reply<Accepted> },
    /// A withheld (body-less) entry.
    Entry { entry: Box<SignedFeedEntry>, reply: Reply<EntryOutcome> },
}

/// The parked set, by `(origin, seq)`.
#[derive(Default)]
pub(super) struct EarlySet {
    items: BTreeMap<(RegionId, u64), (Instant, Early)>,
}

impl EarlySet {
    /// Parks `item` at `(origin, seq)`; gives it back when full or the position is taken.
    pub(super) fn park(&mut self, origin: &RegionId, seq: u64, item: Early) -> Result<(), Early> {
        let key = (origin.clone(), seq);
        if self.items.len() >= MAX_EARLY || self.items.contains_key(&key) {
            return Err(item);
        }
        self.items.insert(key, (Instant::now(), item));
        Ok(())
    }

    /// Takes one parked item whose predecessors are all held (`seq <= head + 1`).
    pub(super) fn take_ready(&mut self, head: impl Fn(&RegionId) -> u64) -> Option<Early> {
        let key = self.items.keys().find(|(o, s)| *s <= head(o) + 1)?.clone();
        self.items.remove(&key).map(|(_, e)| e)
    }

    /// Takes the items parked longer than [`EARLY_TTL`].
    pub(super) fn take_expired(&mut self) -> Vec<Early> {
        let expired: Vec<_> =
            self.items.iter().filter(|(_, (at, _))| at.elapsed() > EARLY_TTL).map(|(k, _)| k.clone()).collect();
        expired.into_iter().filter_map(|k| self.items.remove(&k)).map(|(_, e)| e).collect()
    }

    /// Whether anything is parked.
    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
