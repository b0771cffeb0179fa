//! The single writer thread: the only place that assigns own-feed sequence numbers and audit
//! indexes, builds commits and applies them.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use credfed_protocol::audit::{AuditEvent, Source};
use credfed_protocol::envelope::ObjectId;
use credfed_protocol::feed::FeedEntry;
use credfed_protocol::objects::{Body, VerifiedObject};
use credfed_protocol::trust::{authorize, AuthzContext, Decision, TargetInfo};

use super::early::{Early, EarlySet, EARLY_TTL};
use super::entries::{self, EntryCheck, EntryRefused, Heads};
use super::indexer::Indexer;
use super::{rules, Accepted, Cmd, EntryOutcome, ErrorClass, IngestError, Reply};
use crate::metrics::Metrics;
use crate::state::classify::classification;
use crate::state::recovery::{self, Recovery};
use crate::state::{listing, query};
use crate::state::{Published, State};
use crate::store::{
    fed_dec, fed_enc, AuditLeaf, ChangeEntry, ChangeKind, Commit, FedNs, FeedWrite, GroupCommit, MetaWrite, NewObject,
    ObjectMeta, StoreError, NATURAL_KEY_BUILT,
};
use credfed_protocol::cbor::ByteBuf;
use credfed_protocol::feed::SignedFeedEntry;
use credfed_protocol::merkle::{leaf_hash, Frontier};
use credfed_protocol::natural_key::NaturalKey;
use credfed_protocol::objects::{self, Nonce, ReceiptBody};
use credfed_protocol::{Classification, Day, ObjectType, RegionId};

/// Records one expiry-sweep step commits at most.
const SWEEP_BATCH: usize = 1000;
/// Longest idle wait of the writer (the sweep runs on its wake-ups).
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Most often `local-state.json` is rewritten (after pins, trust objects, policy and token
/// changes): a lone change is written at once, a burst once a second and when the writer goes
/// idle. A federation's set-up pins and accepts thousands of trust objects per city, and one
/// rewrite of the whole file each was quadratic.
const LOCAL_SAVE_EVERY: Duration = Duration::from_secs(1);

pub(super) struct Writer {
    state: Arc<State>,
    group: GroupCommit,
    /// Feed heads of every origin (own included).
    heads: Heads,
    frontier: Frontier,
    /// Objects held in the pending set.
    pending: usize,
    /// Peer entries that arrived ahead of the head, waiting for their predecessors.
    early: EarlySet,
    /// The last change-log position assigned.
    last_change: u64,
    /// The day the expiry sweep last caught up with (`None`: not yet since start).
    swept: Option<Day>,
    /// Applies the record-list index writes beside the writer.
    indexer: Indexer,
    /// What `local-state.json` holds changed since it was last written (at `local_saved`).
    local_dirty: bool,
    local_saved: std::time::Instant,
}

/// Where an accepted object sits in its origin's feed.
enum FeedPos {
    /// Our own object: assign the next seq and sign an entry.
    Own,
    /// A peer delivered the origin's entry, to store with the object.
    Entry(FeedWrite),
    /// The entry is already stored (pending objects, duplicates).
    Known(u64),
    /// No entry (trust objects imported with a pin, HTTP-submitted foreign objects).
    Unknown,
}

/// Whether accepting an object of type `t` is a change a platform follows (`GET /v1/changes`):
/// everything but the trust objects.
fn is_change(t: ObjectType) -> bool {
    !matches!(t, ObjectType::Delegation | ObjectType::Revocation)
}

/// The record holding a natural key.
struct Holder {
    id: ObjectId,
    meta: ObjectMeta,
    same: bool,
}

/// The index write for a record or correction: its natural key names its latest version.
fn natural_key_write(body: &Body, id: ObjectId) -> Option<MetaWrite> {
    let c = body.record_content()?;
    let key = NaturalKey::of(body.region(), c);
    Some(MetaWrite::Fed(FedNs::NaturalKey, key.0.to_vec(), Some(id.as_bytes().to_vec())))
}

/// Builds the natural-key index over a store written before it existed (once; later commits
/// keep it current). Records first, then corrections, each in acceptance order, so a key ends
/// on its latest version.
fn build_natural_keys(store: &dyn crate::store::Store) -> Result<Commit, StoreError> {
    let mut c = Commit::default();
    if store.fed_get(FedNs::NaturalKey, NATURAL_KEY_BUILT)?.is_some() {
        return Ok(c);
    }
    for t in [ObjectType::Record, ObjectType::Correction] {
        let mut loaded = Vec::new();
        for id in store.by_type(t)? {
            if let Some(l) = query::load(store, &id)? {
                loaded.push((l.stored.meta.accepted_at, id, l.body));
            }
        }
        loaded.sort_by_key(|(at, id, _)| (*at, *id));
        c.meta.extend(loaded.iter().filter_map(|(_, id, body)| natural_key_write(body, *id)));
    }
    c.meta.push(MetaWrite::Fed(FedNs::NaturalKey, NATURAL_KEY_BUILT.to_vec(), Some(vec![1])));
    Ok(c)
}

/// An object parked until the object it refers to arrives.
#[derive(serde::Serialize, serde::Deserialize)]
struct PendingItem {
    envelope: ByteBuf,
    seq: Option<u64>,
    source: Source,
}

impl Writer {
    pub(super) fn new(state: Arc<State>, queue: usize) -> Result<Writer, StoreError> {
        let heads = entries::load_heads(&*state.store)?;
        let pending = state.store.fed_scan(FedNs::Pending, &[], MAX_PENDING + 1)?.len();
        let index = build_natural_keys(&*state.store)?;
        if index.meta.len() > 1 {
            tracing::info!(records = index.meta.len() - 1, "natural-key index built");
        }
        state.store.apply(&index)?;
        let lists = listing::build(&*state.store, &state.rules, Day::from_unix_china(state.now()))?;
        if lists.meta.len() > 1 {
            tracing::info!(keys = lists.meta.len() - 1, "record list indexes built");
        }
        state.store.apply(&lists)?;
        let frontier = state.store.audit_frontier()?;
        state.durable_audit_size.store(frontier.size(), Ordering::SeqCst);
        state.metrics.audit_size.set(frontier.size());
        let m = state.metrics.clone();
        let observe = Arc::new(move |n: usize, secs: f64| {
            m.flush_group.observe(n as f64);
            m.flush_seconds.observe(secs);
        });
        let group = GroupCommit::spawn(state.store.clone(), queue, observe);
        let last_change = state.store.last_change()?;
        state.durable_change.send_replace(last_change);
        let indexer = Indexer::start(state.clone(), last_change)?;
        Ok(Writer {
            state,
            group,
            heads,
            frontier,
            pending,
            early: EarlySet::default(),
            last_change,
            swept: None,
            indexer,
            local_dirty: false,
            // In the past, so the first change is written at once.
            local_saved: std::time::Instant::now()
                .checked_sub(LOCAL_SAVE_EVERY)
                .unwrap_or_else(std::time::Instant::now),
        })
    }

    pub(super) fn run(mut self, rx: Receiver<Cmd>) {
        loop {
            let more = self.sweep();
            // Wake at least every minute so the sweep runs soon after midnight.
            let wait = match (more, self.early.is_empty()) {
                (true, _) => Duration::ZERO,
                (false, true) => SWEEP_EVERY,
                (false, false) => EARLY_TTL / 4,
            };
            let wait = if self.local_dirty { wait.min(LOCAL_SAVE_EVERY) } else { wait };
            let cmd = match rx.recv_timeout(wait) {
                Ok(cmd) => cmd,
                Err(RecvTimeoutError::Timeout) => {
                    self.expire_early();
                    self.maybe_save_local_state(true);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            match cmd {
                Cmd::Ingest { obj, source, entry, reply } => self.ingest(*obj, source, entry.map(|e| *e), reply),
                Cmd::Entry { entry, reply } => self.entry_only(*entry, reply),
                Cmd::Audit { event } => {
                    let r = self.commit(Commit::default(), &[event]);
                    if let Err(e) = r {
                        tracing::error!(error = %e, "audit event not written");
                    }
                }
                Cmd::Admin { writes, event, reply } => self.admin(writes, event, reply),
                Cmd::Stop => break,
            }
            self.drain_early();
            self.expire_early();
            self.maybe_save_local_state(false);
        }
        self.maybe_save_local_state(true);
        // Index writes first, so the last flush covers them too.
        self.indexer.stop();
        self.group.shutdown();
    }

    /// Rewrites `local-state.json` when it is out of date, at most every [`LOCAL_SAVE_EVERY`]
    /// unless `force` (the writer is idle or stopping).
    fn maybe_save_local_state(&mut self, force: bool) {
        if self.local_dirty && (force || self.local_saved.elapsed() >= LOCAL_SAVE_EVERY) {
            self.state.save_local_state();
            self.local_dirty = false;
            self.local_saved = std::time::Instant::now();
        }
    }

    /// Applies parked entries whose predecessors have arrived (see [`super::early`]).
    fn drain_early(&mut self) {
        while !self.early.is_empty() {
            let heads = &self.heads;
            let Some(item) = self.early.take_ready(|o| heads.get(o).map_or(0, |h| h.0)) else { break };
            match item {
                Early::Object { obj, source, entry, reply } => self.ingest(*obj, source, Some(*entry), reply),
                Early::Entry { entry, reply } => self.entry_only(*entry, reply),
            }
        }
    }

    /// Gives parked entries that waited too long the `feed_gap` answer (the caller syncs).
    fn expire_early(&mut self) {
        for item in self.early.take_expired() {
            let err = IngestError::new(
                ErrorClass::Pending,
                "feed_gap",
                format!("earlier entries did not arrive within {EARLY_TTL:?}"),
            )
            .field("entry");
            match item {
                Early::Object { reply, .. } => self.reply_after_flush(reply, Err(err)),
                Early::Entry { reply, .. } => self.reply_after_flush(reply, Err(err)),
            }
        }
    }

    /// Adds audit leaves for `events`, applies the commit, and schedules the durable-size
    /// update. Returns the audit size after the commit.
    fn commit(&mut self, mut c: Commit, events: &[AuditEvent]) -> Result<u64, StoreError> {
        if self.group.failed() {
            self.state.metrics.store_failed.set(1);
            return Err(StoreError::Io("store is read-only after a failed flush".into()));
        }
        self.state.store.check_space()?;
        let mut frontier = self.frontier.clone();
        for ev in events {
            let bytes = ev.encode();
            let hash = leaf_hash(&bytes);
            let index = frontier.push(hash).map_err(|e| StoreError::Io(e.to_string()))?;
            c.audit.push(AuditLeaf { index, hash, bytes });
        }
        if !events.is_empty() {
            c.frontier = Some(frontier.clone());
        }
        self.state.store.apply(&c)?;
        self.frontier = frontier;
        let size = self.frontier.size();
        self.state.metrics.audit_size.set(size);
        let st = self.state.clone();
        self.group.after_flush(Box::new(move |r| {
            if r.is_ok() {
                st.durable_audit_size.fetch_max(size, Ordering::SeqCst);
            }
        }));
        Ok(size)
    }

    /// One step of the expiry sweep (`state::listing::due`): at most [`SWEEP_BATCH`] records
    /// whose publicity ended by today get a change-log position, in one commit. Returns whether
    /// more may be due (the writer comes back after the commands queued meanwhile).
    fn sweep(&mut self) -> bool {
        let today = Day::from_unix_china(self.state.now());
        if self.swept == Some(today) || self.group.failed() {
            return false;
        }
        let (expired, marker) = match listing::due(&*self.state.store, &self.state.rules, today, SWEEP_BATCH) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "expiry sweep failed");
                return false;
            }
        };
        let Some(marker) = marker else {
            self.swept = Some(today);
            return false;
        };
        let first = self.last_change + 1;
        let changes: Vec<ChangeEntry> = expired
            .iter()
            .zip(first..)
            .map(|(id, n)| ChangeEntry { n, id: *id, kind: ChangeKind::PublicityEnded })
            .collect();
        let count = changes.len() as u64;
        if let Err(e) = self.commit(Commit { changes, meta: vec![marker], ..Commit::default() }, &[]) {
            tracing::error!(error = %e, "expiry sweep not written");
            return false;
        }
        if count > 0 {
            tracing::debug!(records = count, %today, "publicity ended");
            self.last_change += count;
            self.indexer.queue(self.last_change, Vec::new());
            self.announce_change(self.last_change);
        }
        true
    }

    /// Tells change-stream readers about positions up to `n` once the flush covering them ends.
    fn announce_change(&self, n: u64) {
        let st = self.state.clone();
        self.group.after_flush(Box::new(move |r| {
            if r.is_ok() {
                st.durable_change.send_if_modified(|d| {
                    let newer = n > *d;
                    *d = (*d).max(n);
                    newer
                });
            }
        }));
    }

    /// Replies after the next flush.
    fn reply_after_flush<T: Send + 'static>(&self, reply: Reply<T>, value: Result<T, IngestError>) {
        self.group.after_flush(Box::new(move |r| {
            let _ = reply.send(match r {
                Ok(()) => value,
                Err(e) => Err(e.into()),
            });
        }));
    }

    /// Audits a rejection; `extra` (a feed entry that still advances the feed, an equivocation
    /// proof) is committed with it.
    fn reject_with(&mut self, obj: &VerifiedObject, source: Source, err: &IngestError, extra: Commit) {
        let m = &self.state.metrics;
        m.rejected.get_or_create(&Metrics::label("code", &err.code)).inc();
        let event = AuditEvent::Rejected {
            at: self.state.now(),
            bytes_hash: ObjectId::of(&obj.envelope.encode()),
            code: err.code.clone(),
            reason: err.message.clone(),
            source,
        };
        tracing::info!(id = %obj.id(), code = %err.code, "object rejected");
        if let Err(e) = self.commit_feed(extra, &[event]) {
            tracing::error!(error = %e, "rejection not recorded");
        }
    }

    fn reject(
        &mut self,
        obj: &VerifiedObject,
        source: Source,
        err: IngestError,
        extra: Commit,
        reply: Reply<Accepted>,
    ) {
        self.reject_with(obj, source, &err, extra);
        self.reply_after_flush(reply, Err(err));
    }

    /// Commits, then advances the cached heads for the feed entries written.
    fn commit_feed(&mut self, c: Commit, events: &[AuditEvent]) -> Result<u64, StoreError> {
        let heads: Vec<(RegionId, u64, ObjectId)> = c.feed.iter().map(|f| (f.origin.clone(), f.seq, f.hash)).collect();
        let size = self.commit(c, events)?;
        for (origin, seq, hash) in heads {
            self.heads.insert(origin, (seq, hash));
        }
        Ok(size)
    }

    fn ingest(&mut self, obj: VerifiedObject, source: Source, entry: Option<SignedFeedEntry>, reply: Reply<Accepted>) {
        let id = obj.id();
        let own = obj.body.region() == &self.state.region;
        let mut pos = if own { FeedPos::Own } else { FeedPos::Unknown };
        if own && entry.is_none() && self.state.recovering() {
            // Recovery (crate::recovery): our own trust objects are held until their feed
            // entries arrive from peers; nothing else may take a new position in our feed.
            if !matches!(obj.body, Body::Delegation(_) | Body::Revocation(_)) {
                let err = IngestError::new(
                    ErrorClass::Unavailable,
                    "recovering",
                    "the store is being rebuilt from peers; submissions resume when our own feed is restored",
                );
                let _ = reply.send(Err(err));
                return;
            }
            pos = FeedPos::Unknown;
        }
        let mut gap = None;
        if let Some(e) = &entry {
            if &e.entry.origin != obj.body.region() || e.entry.envelope_id != id {
                let err = IngestError::new(
                    ErrorClass::Malformed,
                    "entry_mismatch",
                    format!(
                        "feed entry {}/{} does not name this object of {}",
                        e.entry.origin,
                        e.entry.seq,
                        obj.body.region()
                    ),
                )
                .field("entry");
                return self.reject(&obj, source, err, Commit::default(), reply);
            }
            let checked = {
                let trust = self.state.trust();
                entries::check(e, self.own_feed(), &self.heads, &trust, &*self.state.store)
            };
            match checked {
                Ok(EntryCheck::New) => pos = FeedPos::Entry(feed_write(e)),
                Ok(EntryCheck::Held) => pos = FeedPos::Known(e.entry.seq),
                Err(EntryRefused { err, proof: None }) if err.code == "feed_gap" => gap = Some(err),
                Err(EntryRefused { err, proof }) => {
                    let extra = Commit { meta: proof.into_iter().map(|b| *b).collect(), ..Commit::default() };
                    if !extra.meta.is_empty() {
                        self.state.metrics.equivocations.inc();
                        tracing::warn!(origin = %e.entry.origin, seq = e.entry.seq, "equivocation detected; proof kept");
                    }
                    return self.reject(&obj, source, *err, extra, reply);
                }
            }
        }
        if let (Some(err), Some(e)) = (gap, entry) {
            let (origin, seq) = (e.entry.origin.clone(), e.entry.seq);
            let item = Early::Object { obj: Box::new(obj), source, entry: Box::new(e), reply };
            return match self.early.park(&origin, seq, item) {
                Ok(()) => {}
                Err(Early::Object { obj, source, reply, .. }) => {
                    self.reject(&obj, source, *err, Commit::default(), reply)
                }
                Err(Early::Entry { .. }) => unreachable!("parked as an object"),
            };
        }
        let store = self.state.store.clone();
        match store.meta(&id) {
            Ok(Some(m)) => {
                let mut seq = m.seq;
                if let FeedPos::Entry(fw) = pos {
                    seq = Some(fw.seq);
                    let c = Commit { feed: vec![fw], meta: vec![unmissing(&m.origin, &id)], ..Commit::default() };
                    if let Err(e) = self.commit_feed(c, &[]) {
                        let _ = reply.send(Err(e.into()));
                        return;
                    }
                }
                let acc = Accepted { id, origin: m.origin, seq, object_type: m.object_type, duplicate: true };
                return self.reply_after_flush(reply, Ok(acc));
            }
            Ok(None) => {}
            Err(e) => {
                let _ = reply.send(Err(e.into()));
                return;
            }
        }
        if matches!(pos, FeedPos::Own) {
            match self.natural_key_holder(&obj.body) {
                Ok(None) => {}
                Ok(Some(Holder { id: held, meta, same: true })) => {
                    let acc = Accepted {
                        id: held,
                        origin: meta.origin,
                        seq: meta.seq,
                        object_type: meta.object_type,
                        duplicate: true,
                    };
                    return self.reply_after_flush(reply, Ok(acc));
                }
                Ok(Some(Holder { id: held, .. })) => {
                    let mut err = IngestError::new(
                        ErrorClass::Conflict,
                        "natural_key_conflict",
                        format!(
                            "record {held} already holds this region, kind, decision number and subject with other \
                             content; send a correction of it instead"
                        ),
                    )
                    .field("decision_no");
                    err.existing = Some(held);
                    return self.reject(&obj, source, err, Commit::default(), reply);
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                    return;
                }
            }
        }
        let from_peer = matches!(source, Source::Gossip { .. } | Source::Sync { .. });
        let feed_seq = match &pos {
            FeedPos::Entry(fw) => Some(fw.seq),
            FeedPos::Known(s) => Some(*s),
            FeedPos::Own | FeedPos::Unknown => None,
        };
        if let Err(err) = self.check(&obj, feed_seq) {
            let waits = from_peer && matches!(err.class, ErrorClass::Pending | ErrorClass::NotFound);
            // A peer's entry advances the feed even when its object is refused or parked
            // (DESIGN §4: feeds stay complete; parked objects are retried when their target
            // arrives).
            let (mut entry_commit, seq) = match pos {
                FeedPos::Entry(fw) => {
                    let seq = fw.seq;
                    (Commit { feed: vec![fw], ..Commit::default() }, Some(seq))
                }
                FeedPos::Known(s) => (Commit::default(), Some(s)),
                _ => (Commit::default(), None),
            };
            // A refusal that only this node's clock decides keeps the body wanted: the sync
            // asks for it again every round (`fed::sync::fetch_missing`) and it is taken once
            // the clocks agree, instead of the feed holding the entry without its body for good.
            if let (true, Some(s)) = (from_peer && is_clock_refusal(&err.code), seq) {
                let key = missing_key(obj.body.region(), &id);
                entry_commit.meta.push(MetaWrite::Fed(FedNs::Missing, key, Some(s.to_be_bytes().to_vec())));
            }
            if waits {
                return self.park(obj, source, seq, entry_commit, err, reply);
            }
            return self.reject(&obj, source, err, entry_commit, reply);
        }
        match self.accept(&obj, source, pos) {
            Ok(acc) => {
                self.state.metrics.accepted.get_or_create(&Metrics::label("type", acc.object_type.as_str())).inc();
                tracing::debug!(id = %id, origin = %acc.origin, seq = ?acc.seq, r#type = %acc.object_type, "object accepted");
                self.reply_after_flush(reply, Ok(acc));
                self.follow_up(&obj);
            }
            Err(e) => {
                let _ = reply.send(Err(e.into()));
            }
        }
    }

    /// For a new record: the record (or correction) already holding its natural key, and
    /// whether its content is the same.
    fn natural_key_holder(&self, body: &Body) -> Result<Option<Holder>, StoreError> {
        let Body::Record(r) = body else { return Ok(None) };
        let key = NaturalKey::of(&r.region, &r.record);
        let store = &*self.state.store;
        let Some(held) = store.fed_get(FedNs::NaturalKey, &key.0)? else { return Ok(None) };
        let id = ObjectId(held.try_into().map_err(|_| StoreError::Corrupt("natural-key index value".into()))?);
        let Some(l) = query::load(store, &id)? else { return Ok(None) };
        let same = l.body.record_content() == Some(&r.record);
        Ok(Some(Holder { id, meta: l.stored.meta, same }))
    }

    /// Parks a peer's object whose target (or objection) is not known yet.
    fn park(
        &mut self,
        obj: VerifiedObject,
        source: Source,
        seq: Option<u64>,
        mut c: Commit,
        err: IngestError,
        reply: Reply<Accepted>,
    ) {
        if self.pending >= MAX_PENDING {
            let full = IngestError::new(ErrorClass::Busy, "pending_full", "the pending set is full");
            return self.reject(&obj, source, full, c, reply);
        }
        let waited = waited_for(&obj, &*self.state.store);
        let item = PendingItem { envelope: ByteBuf(obj.envelope.encode()), seq, source };
        let key = [waited.as_bytes().as_slice(), obj.id().as_bytes()].concat();
        c.meta.push(MetaWrite::Fed(FedNs::Pending, key, Some(fed_enc(&item))));
        match self.commit_feed(c, &[]) {
            Ok(_) => {
                self.pending += 1;
                self.state.metrics.pending.set(self.pending as i64);
                tracing::info!(id = %obj.id(), waits_for = %waited, "object parked until its target arrives");
                self.reply_after_flush(reply, Err(err));
            }
            Err(e) => {
                let _ = reply.send(Err(e.into()));
            }
        }
    }

    /// After an accept: retry objects parked on it; publish a receipt when we applied another
    /// region's repair, withdrawal, correction or objection outcome (DESIGN §4).
    fn follow_up(&mut self, obj: &VerifiedObject) {
        let mut queue = vec![obj.id()];
        let mut receipts = Vec::new();
        if obj.body.region() != &self.state.region && needs_receipt(obj.body.object_type()) {
            receipts.push(obj.id());
        }
        let mut rounds = 0;
        while let Some(id) = queue.pop() {
            rounds += 1;
            if rounds > 1024 {
                break;
            }
            let parked = match self.state.store.fed_scan(FedNs::Pending, id.as_bytes(), 256) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "pending scan failed");
                    break;
                }
            };
            for (key, value) in parked {
                let unpark = Commit { meta: vec![MetaWrite::Fed(FedNs::Pending, key, None)], ..Commit::default() };
                if let Err(e) = self.commit(unpark, &[]) {
                    tracing::error!(error = %e, "pending removal failed");
                    continue;
                }
                self.pending = self.pending.saturating_sub(1);
                self.state.metrics.pending.set(self.pending as i64);
                let Some(item) = fed_dec::<PendingItem>(&value) else { continue };
                let Ok(parked) = objects::open(&item.envelope.0) else { continue };
                if self.state.store.meta(&parked.id()).ok().flatten().is_some() {
                    continue;
                }
                let pos = item.seq.map_or(FeedPos::Unknown, FeedPos::Known);
                match self.check(&parked, item.seq) {
                    Ok(()) => {
                        if self.accept(&parked, item.source, pos).is_ok() {
                            tracing::info!(id = %parked.id(), "parked object accepted");
                            if parked.body.region() != &self.state.region && needs_receipt(parked.body.object_type()) {
                                receipts.push(parked.id());
                            }
                            queue.push(parked.id());
                        }
                    }
                    Err(err) => self.reject_with(&parked, item.source, &err, Commit::default()),
                }
            }
        }
        for target in receipts {
            self.issue_receipt(target);
        }
    }

    /// The region whose feed only this writer extends: ours, except while recovering (then our
    /// own entries come from peers like any origin's).
    fn own_feed(&self) -> Option<&RegionId> {
        (!self.state.recovering()).then_some(&self.state.region)
    }

    /// Signs and commits our receipt for `target` into our own feed (not while recovering:
    /// receipts issued before the loss come back with the rest of our feed).
    fn issue_receipt(&mut self, target: ObjectId) {
        if self.state.recovering() {
            return;
        }
        let now = self.state.now();
        let body = Body::Receipt(ReceiptBody {
            region: self.state.region.clone(),
            signed_at: now,
            nonce: Nonce::random(&mut rand_core::OsRng),
            target,
            applied_at: now,
        });
        let obj = match objects::open(&body.sign(&self.state.node_key).encode()) {
            Ok(o) => o,
            Err(e) => return tracing::error!(error = %e, "receipt did not verify"),
        };
        match self.check(&obj, None) {
            Ok(()) => match self.accept(&obj, Source::Local, FeedPos::Own) {
                Ok(_) => tracing::debug!(%target, "receipt published"),
                Err(e) => tracing::error!(error = %e, "receipt not written"),
            },
            Err(e) => tracing::warn!(%target, code = %e.code, "receipt refused"),
        }
    }

    /// A feed entry without its body (withheld from us, or not delivered).
    fn entry_only(&mut self, e: SignedFeedEntry, reply: Reply<EntryOutcome>) {
        let checked = {
            let trust = self.state.trust();
            entries::check(&e, self.own_feed(), &self.heads, &trust, &*self.state.store)
        };
        match checked {
            Ok(EntryCheck::Held) => self.reply_after_flush(reply, Ok(EntryOutcome::Held)),
            Ok(EntryCheck::New) => {
                let id = e.entry.envelope_id;
                let mut c = Commit { feed: vec![feed_write(&e)], ..Commit::default() };
                match self.state.store.meta(&id) {
                    Ok(Some(_)) => {}
                    Ok(None) => c.meta.push(MetaWrite::Fed(
                        FedNs::Missing,
                        missing_key(&e.entry.origin, &id),
                        Some(e.entry.seq.to_be_bytes().to_vec()),
                    )),
                    Err(err) => {
                        let _ = reply.send(Err(err.into()));
                        return;
                    }
                }
                match self.commit_feed(c, &[]) {
                    Ok(_) => self.reply_after_flush(reply, Ok(EntryOutcome::Stored)),
                    Err(err) => {
                        let _ = reply.send(Err(err.into()));
                    }
                }
            }
            Err(EntryRefused { err, proof: None }) if err.code == "feed_gap" => {
                let (origin, seq) = (e.entry.origin.clone(), e.entry.seq);
                match self.early.park(&origin, seq, Early::Entry { entry: Box::new(e), reply }) {
                    Ok(()) => {}
                    Err(Early::Entry { reply, .. }) => self.reply_after_flush(reply, Err(*err)),
                    Err(Early::Object { .. }) => unreachable!("parked as an entry"),
                }
            }
            Err(EntryRefused { err, proof }) => {
                if let Some(p) = proof {
                    self.state.metrics.equivocations.inc();
                    if let Err(x) = self.commit(Commit { meta: vec![*p], ..Commit::default() }, &[]) {
                        tracing::error!(error = %x, "equivocation proof not stored");
                    }
                }
                self.reply_after_flush(reply, Err(*err));
            }
        }
    }

    /// Authorization (as of signing time) and domain rules. `feed_seq` is the object's position
    /// in its origin's feed, when its entry is held or being applied.
    fn check(&self, obj: &VerifiedObject, feed_seq: Option<u64>) -> Result<(), IngestError> {
        let store = &*self.state.store;
        let target = match obj.body.target() {
            Some(t) => store.meta(&t)?.map(|m| TargetInfo { region: m.origin, object_type: m.object_type }),
            None => None,
        };
        let decide = |witnessed_before_revocation: bool| {
            let trust = self.state.trust();
            let policy = self.state.policy();
            let ctx = AuthzContext {
                trust: &trust,
                policy: &policy,
                now: self.state.now(),
                target: target.as_ref(),
                witnessed_before_revocation,
            };
            authorize(obj, &ctx)
        };
        let mut decision = decide(false);
        if let (Decision::Quarantine(_), Some(seq)) = (&decision, feed_seq) {
            if self.precedes_revocation(obj, seq)? {
                decision = decide(true);
            }
        }
        match decision {
            Decision::Accept => {}
            Decision::Pending(d) => {
                return Err(IngestError::new(ErrorClass::Pending, d.code(), d.to_string()).field("target"))
            }
            Decision::Quarantine(d) | Decision::Reject(d) => {
                return Err(IngestError::new(ErrorClass::Rule, d.code(), d.to_string()))
            }
        }
        rules::check(obj, store, &self.state.rules)
    }

    /// The backdating rule's witness (DESIGN §2): whether `seq` of the object's origin feed
    /// precedes every revocation of its signer in that feed. A revocation this node holds
    /// without a feed position (none is known to precede it) makes the answer no.
    fn precedes_revocation(&self, obj: &VerifiedObject, seq: u64) -> Result<bool, StoreError> {
        let store = &*self.state.store;
        let (signer, origin) = (obj.signer(), obj.body.region());
        let mut first: Option<u64> = None;
        for id in store.by_type(ObjectType::Revocation)? {
            let Some(o) = store.object(&id)? else { continue };
            if &o.meta.origin != origin {
                continue;
            }
            let Ok(v) = objects::open(&o.envelope) else { continue };
            if !matches!(&v.body, Body::Revocation(r) if r.key == signer) {
                continue;
            }
            let Some(at) = o.meta.seq else { return Ok(false) };
            first = Some(first.map_or(at, |f| f.min(at)));
        }
        Ok(first.is_some_and(|r| seq < r))
    }

    fn accept(&mut self, obj: &VerifiedObject, source: Source, pos: FeedPos) -> Result<Accepted, StoreError> {
        let id = obj.id();
        let now = self.state.now();
        let body = &obj.body;
        let origin = body.region().clone();
        let mut c = Commit::default();
        let mut events = Vec::with_capacity(2);
        let mut published = None;
        let seq = match pos {
            FeedPos::Own if origin == self.state.region => {
                let head = self.heads.get(&origin).copied();
                let n = head.map_or(1, |(s, _)| s + 1);
                let entry = FeedEntry {
                    origin: origin.clone(),
                    seq: n,
                    prev: head.map(|(_, h)| h),
                    envelope_id: id,
                    published_at: now,
                };
                let signed = entry.sign(&self.state.node_key);
                published = Some((n, signed.hash, signed.bytes.clone()));
                c.feed.push(feed_write(&signed));
                Some(n)
            }
            FeedPos::Own | FeedPos::Unknown => None,
            FeedPos::Entry(fw) => {
                let n = fw.seq;
                c.feed.push(fw);
                c.meta.push(unmissing(&origin, &id));
                Some(n)
            }
            FeedPos::Known(n) => {
                c.meta.push(unmissing(&origin, &id));
                Some(n)
            }
        };
        events.push(AuditEvent::Accepted { at: now, id, origin: origin.clone(), seq, source });
        if let Some((n, entry_hash, _)) = &published {
            events.push(AuditEvent::Published { at: now, id, seq: *n, entry_hash: *entry_hash });
        }
        let meta = ObjectMeta {
            object_type: body.object_type(),
            origin: origin.clone(),
            signed_at: body.signed_at(),
            accepted_at: now,
            seq,
            target: body.target(),
            subject: body.record_content().map(|r| r.subject.key()),
        };
        if let Some(w) = natural_key_write(body, id) {
            c.meta.push(w);
        }
        let index = listing::writes(&id, body, &self.state.rules, Day::from_unix_china(now));
        let envelope = obj.envelope.encode();
        let change = is_change(body.object_type()).then_some(self.last_change + 1);
        c.objects.push(NewObject { id, meta, envelope: envelope.clone(), change });
        self.commit_feed(c, &events)?;
        if let Some(n) = change {
            self.last_change = n;
            self.indexer.queue(n, index);
            self.announce_change(n);
        }
        if matches!(body, Body::Delegation(_) | Body::Revocation(_)) {
            self.state.trust.write().unwrap_or_else(|p| p.into_inner()).apply(obj);
            self.state.trust_changed.notify_one();
            self.local_dirty = true;
        }
        if let Some((n, _, entry)) = published {
            let public = classification(body, &*self.state.store) == Classification::Public;
            let note = Published { origin: origin.clone(), seq: n, id, entry, envelope: public.then_some(envelope) };
            let tx = self.state.published.clone();
            self.group.after_flush(Box::new(move |r| {
                if r.is_ok() {
                    let _ = tx.send(note);
                }
            }));
        }
        Ok(Accepted { id, origin, seq, object_type: body.object_type(), duplicate: false })
    }

    fn admin(&mut self, writes: Vec<MetaWrite>, event: Option<AuditEvent>, reply: Reply<()>) {
        let c = Commit { meta: writes.clone(), ..Commit::default() };
        let events: Vec<AuditEvent> = event.into_iter().collect();
        if let Err(e) = self.commit(c, &events) {
            let _ = reply.send(Err(e.into()));
            return;
        }
        self.local_dirty |= writes.iter().any(|w| !matches!(w, MetaWrite::Checkpoint(_) | MetaWrite::Fed(..)));
        for w in writes {
            match w {
                MetaWrite::Token(t) => {
                    self.state.tokens.write().unwrap_or_else(|p| p.into_inner()).insert(t.id.clone(), t);
                }
                MetaWrite::RevokeToken(id) => {
                    self.state.tokens.write().unwrap_or_else(|p| p.into_inner()).remove(&id);
                }
                MetaWrite::Pin(r, k) => {
                    self.state.trust.write().unwrap_or_else(|p| p.into_inner()).pin(r, k);
                    self.state.trust_changed.notify_one();
                }
                MetaWrite::Unpin(r) => {
                    self.state.trust.write().unwrap_or_else(|p| p.into_inner()).unpin(&r);
                    self.state.trust_changed.notify_one();
                }
                MetaWrite::Policy(p) => *self.state.policy.write().unwrap_or_else(|p| p.into_inner()) = p,
                MetaWrite::Fed(FedNs::Recovery, k, v) if k == recovery::MARKER_KEY => {
                    let r = v.as_deref().and_then(fed_dec).map(Recovery::new);
                    *self.state.recovery.lock().unwrap_or_else(|p| p.into_inner()) = r;
                }
                MetaWrite::Fed(FedNs::Recovery, k, v) if k == recovery::ROLLBACK_KEY => {
                    *self.state.rollback.lock().unwrap_or_else(|p| p.into_inner()) = v.as_deref().and_then(fed_dec);
                }
                MetaWrite::Checkpoint(_) | MetaWrite::Fed(..) => {}
            }
        }
        self.reply_after_flush(reply, Ok(()));
    }
}

/// Most objects parked waiting for their target.
pub(super) const MAX_PENDING: usize = 10_000;

fn feed_write(e: &SignedFeedEntry) -> FeedWrite {
    FeedWrite { origin: e.entry.origin.clone(), seq: e.entry.seq, hash: e.hash, bytes: e.bytes.clone() }
}

fn missing_key(origin: &RegionId, id: &ObjectId) -> Vec<u8> {
    [origin.as_str().as_bytes(), &[0], id.as_bytes()].concat()
}

fn unmissing(origin: &RegionId, id: &ObjectId) -> MetaWrite {
    MetaWrite::Fed(FedNs::Missing, missing_key(origin, id), None)
}

/// Refusals decided by this node's clock alone (a signing time or a key's validity ahead of
/// it), which a later attempt can overturn.
fn is_clock_refusal(code: &str) -> bool {
    matches!(code, "signed_in_future" | "key_not_yet_valid")
}

fn needs_receipt(t: ObjectType) -> bool {
    matches!(t, ObjectType::Repair | ObjectType::Withdrawal | ObjectType::Correction | ObjectType::ObjectionResolution)
}

/// The id a parked object waits for: its objection (resolutions) or its target.
fn waited_for(obj: &VerifiedObject, store: &dyn crate::store::Store) -> ObjectId {
    if let Body::ObjectionResolution(r) = &obj.body {
        if store.meta(&r.objection).ok().flatten().is_none() {
            return r.objection;
        }
    }
    obj.body.target().unwrap_or_else(|| obj.id())
}
