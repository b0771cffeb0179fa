//! The ingest pipeline: one path for every source (HTTP draft, HTTP envelope, later peers).
//!
//! ```text
//! bytes ─▶ decode + verify (objects::open, parallel, off the async workers)
//!       ─▶ writer thread (one, serializes everything below)
//!            dedupe ─▶ target lookup ─▶ authorize (trust::authorize, as of signed_at)
//!            ─▶ domain rules (ingest::rules) ─▶ feed seq + signed feed entry (own objects)
//!            ─▶ audit leaves + frontier ─▶ one atomic store batch
//!       ─▶ flusher thread: one flush covers many batches ─▶ reply (ack)
//! ```
//!
//! Feed sequence numbers and audit indexes are assigned only by the writer thread, so
//! concurrency can never produce gaps or duplicates. Every reply, including "duplicate" and
//! rejections, is sent after the flush covering the writer's state at that moment, so an
//! answer never reports something that a crash could undo.
//!
//! **Idempotence.** Submitting the same envelope again returns the same `{id, origin, seq}`
//! with `duplicate = true` (HTTP answers `200` instead of `201`, same body) and writes nothing.
//! A new record of our own region is also idempotent on its natural key
//! (`protocol::natural_key`): the same content again answers the held record as a duplicate,
//! different content under the same key is refused with `natural_key_conflict` naming the held
//! record (the platform sends a correction). Peers' records are indexed but never refused for
//! it: their origin's feed is authoritative.

mod early;
mod entries;
mod indexer;
pub mod rules;
mod writer;

use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use credfed_protocol::audit::{AuditEvent, Source};
use credfed_protocol::envelope::ObjectId;
use credfed_protocol::feed::SignedFeedEntry;
use credfed_protocol::objects::{self, BodyError, ObjectError, VerifiedObject};
use credfed_protocol::{Day, ObjectType, RegionId};
use tokio::sync::oneshot;

use crate::state::State;
use crate::store::{MetaWrite, StoreError};

/// An accepted (or already held) object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// Object id.
    pub id: ObjectId,
    /// Origin region.
    pub origin: RegionId,
    /// Feed position, when known.
    pub seq: Option<u64>,
    /// Object type.
    pub object_type: ObjectType,
    /// It was already held; nothing was written.
    pub duplicate: bool,
}

/// What applying a body-less feed entry did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryOutcome {
    /// The entry was new and is stored.
    Stored,
    /// The same entry was already held.
    Held,
}

/// How an ingest failure maps to an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Not decodable / not a valid structure (HTTP 400).
    Malformed,
    /// Well-formed but breaks a rule (422).
    Rule,
    /// Conflicts with held state (409).
    Conflict,
    /// Refers to something unknown (404).
    NotFound,
    /// Storage failed; nothing acknowledged (503).
    Unavailable,
    /// Waits for something not yet known (its target, or earlier feed entries): kept pending
    /// or to be fetched; not a rule violation (202 over HTTP).
    Pending,
    /// Writer queue full (503 with retry).
    Busy,
}

/// Why an object was not accepted.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct IngestError {
    /// Class.
    pub class: ErrorClass,
    /// Stable snake_case code.
    pub code: String,
    /// Human message (no secrets, no body fields of non-public records).
    pub message: String,
    /// Offending field, if one.
    pub field: Option<String>,
    /// Earliest allowed date (repairs too early).
    pub earliest: Option<Day>,
    /// The record already holding the natural key (`natural_key_conflict`).
    pub existing: Option<ObjectId>,
}

impl IngestError {
    /// A new error.
    pub fn new(class: ErrorClass, code: &str, message: impl Into<String>) -> IngestError {
        IngestError { class, code: code.into(), message: message.into(), field: None, earliest: None, existing: None }
    }
    /// With a field.
    pub fn field(mut self, f: impl Into<String>) -> IngestError {
        self.field = Some(f.into());
        self
    }
}

impl IngestError {
    /// The writer thread ended before answering (`shutting_down`).
    pub fn writer_stopped() -> IngestError {
        IngestError::new(ErrorClass::Unavailable, "shutting_down", "writer stopped")
    }
}

impl From<StoreError> for IngestError {
    fn from(e: StoreError) -> IngestError {
        match e {
            StoreError::NoSpace(m) => IngestError::new(ErrorClass::Unavailable, "insufficient_storage", m),
            e => IngestError::new(ErrorClass::Unavailable, "storage_unavailable", e.to_string()),
        }
    }
}

pub(crate) type Reply<T> = oneshot::Sender<Result<T, IngestError>>;

pub(crate) enum Cmd {
    Ingest { obj: Box<VerifiedObject>, source: Source, entry: Option<Box<SignedFeedEntry>>, reply: Reply<Accepted> },
    Entry { entry: Box<SignedFeedEntry>, reply: Reply<EntryOutcome> },
    Audit { event: AuditEvent },
    Admin { writes: Vec<MetaWrite>, event: Option<AuditEvent>, reply: Reply<()> },
    Stop,
}

/// Handle to the pipeline; cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    tx: SyncSender<Cmd>,
    state: Arc<State>,
}

/// Owns the writer thread; stopping it flushes.
pub struct IngestWorker {
    tx: SyncSender<Cmd>,
    thread: Option<JoinHandle<()>>,
}

impl IngestWorker {
    /// Stops the writer after the commands already queued, then flushes and joins.
    pub fn stop(mut self) {
        self.stop_inner();
    }
    fn stop_inner(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = self.tx.send(Cmd::Stop);
            let _ = t.join();
        }
    }
}

impl Drop for IngestWorker {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

impl Ingest {
    /// Starts the writer (and its flusher) over `state.store`.
    ///
    /// # Errors
    /// [`StoreError`] reading the feed head or frontier.
    pub fn start(state: Arc<State>, queue: usize) -> Result<(Ingest, IngestWorker), StoreError> {
        let (tx, rx) = sync_channel(queue.max(1));
        let w = writer::Writer::new(state.clone(), queue)?;
        let thread = std::thread::Builder::new()
            .name("credfed-writer".into())
            .spawn(move || w.run(rx))
            .map_err(|e| StoreError::Io(format!("spawn writer: {e}")))?;
        Ok((Ingest { tx: tx.clone(), state }, IngestWorker { tx, thread: Some(thread) }))
    }

    /// Shared state.
    pub fn state(&self) -> &Arc<State> {
        &self.state
    }

    fn send(&self, cmd: Cmd) -> Result<(), IngestError> {
        match self.tx.try_send(cmd) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                Err(IngestError::new(ErrorClass::Busy, "busy", "ingest queue full, retry later"))
            }
            Err(TrySendError::Disconnected(_)) => {
                Err(IngestError::new(ErrorClass::Unavailable, "shutting_down", "the node is shutting down"))
            }
        }
    }

    /// Like [`Ingest::send`] but waits for room in the queue (blocking; batch submissions,
    /// whose items must all be queued).
    fn send_wait(&self, cmd: Cmd) -> Result<(), IngestError> {
        self.tx
            .send(cmd)
            .map_err(|_| IngestError::new(ErrorClass::Unavailable, "shutting_down", "the node is shutting down"))
    }

    /// Decodes and verifies `bytes`, auditing a rejection. Blocking (signature check).
    ///
    /// # Errors
    /// [`IngestError`] with the decode/verify reason code (400 class).
    pub fn open(&self, bytes: &[u8], source: &Source) -> Result<VerifiedObject, IngestError> {
        objects::open(bytes).map_err(|e| {
            let code = e.code();
            let field = match &e {
                ObjectError::Body(BodyError::Field { source, .. }) => Some(source.field),
                _ => None,
            };
            let class =
                if code == "bad_signature" || field.is_some() { ErrorClass::Rule } else { ErrorClass::Malformed };
            self.state.metrics.rejected.get_or_create(&crate::metrics::Metrics::label("code", code)).inc();
            let event = AuditEvent::Rejected {
                at: self.state.now(),
                bytes_hash: ObjectId::of(bytes),
                code: code.into(),
                reason: e.to_string(),
                source: source.clone(),
            };
            let _ = self.send(Cmd::Audit { event });
            let err = IngestError::new(class, code, e.to_string());
            match field {
                Some(f) => err.field(f),
                None => err,
            }
        })
    }

    /// Queues a verified object; the receiver yields after the covering flush.
    ///
    /// # Errors
    /// [`ErrorClass::Busy`] when the writer queue is full.
    pub fn enqueue(
        &self,
        obj: VerifiedObject,
        source: Source,
    ) -> Result<oneshot::Receiver<Result<Accepted, IngestError>>, IngestError> {
        self.enqueue_with_entry(obj, source, None)
    }

    /// Queues a verified object received from a peer together with its origin's signed feed
    /// entry. The entry is applied in feed order (`seq` = head + 1, chained to the head); an
    /// entry ahead of the head is refused with `feed_gap` so the caller syncs the range first.
    ///
    /// # Errors
    /// [`ErrorClass::Busy`] when the writer queue is full.
    pub fn enqueue_with_entry(
        &self,
        obj: VerifiedObject,
        source: Source,
        entry: Option<SignedFeedEntry>,
    ) -> Result<oneshot::Receiver<Result<Accepted, IngestError>>, IngestError> {
        let (reply, rx) = oneshot::channel();
        self.send(Cmd::Ingest { obj: Box::new(obj), source, entry: entry.map(Box::new), reply })?;
        Ok(rx)
    }

    /// Applies a feed entry whose body is withheld from this node (or was not delivered):
    /// the feed stays complete and provable, the body is recorded as missing.
    ///
    /// # Errors
    /// [`IngestError`] (`feed_gap`, `equivocation`, `feed_broken_chain`, `entry_not_delegated`…).
    pub async fn entry_only(&self, entry: SignedFeedEntry) -> Result<EntryOutcome, IngestError> {
        let rx = self.queue_entry(entry)?;
        rx.await.map_err(|_| IngestError::writer_stopped())?
    }

    /// Queues a body-less feed entry (see [`Ingest::entry_only`]) without waiting; the
    /// receiver yields after the covering flush.
    ///
    /// # Errors
    /// [`ErrorClass::Busy`] when the writer queue is full.
    pub fn queue_entry(
        &self,
        entry: SignedFeedEntry,
    ) -> Result<oneshot::Receiver<Result<EntryOutcome, IngestError>>, IngestError> {
        let (reply, rx) = oneshot::channel();
        self.send(Cmd::Entry { entry: Box::new(entry), reply })?;
        Ok(rx)
    }

    /// Verifies an object a peer delivered with its origin's feed entry and queues both,
    /// without waiting (blocking: signature check). Queue a feed range in order and await the
    /// receivers afterwards: one flush then covers many objects.
    ///
    /// # Errors
    /// Decode/verify failures, `entry_mismatch`, [`ErrorClass::Busy`].
    pub fn queue_from_peer(
        &self,
        bytes: &[u8],
        entry: SignedFeedEntry,
        source: Source,
    ) -> Result<oneshot::Receiver<Result<Accepted, IngestError>>, IngestError> {
        let obj = self.open(bytes, &source)?;
        if obj.id() != entry.entry.envelope_id {
            return Err(IngestError::new(
                ErrorClass::Malformed,
                "entry_mismatch",
                format!("feed entry names {}, envelope is {}", entry.entry.envelope_id, obj.id()),
            ));
        }
        self.enqueue_with_entry(obj, source, Some(entry))
    }

    /// The whole pipeline for an object a peer delivered with its feed entry.
    ///
    /// # Errors
    /// [`IngestError`].
    pub async fn submit_from_peer(
        &self,
        bytes: Vec<u8>,
        entry: SignedFeedEntry,
        source: Source,
    ) -> Result<Accepted, IngestError> {
        let this = self.clone();
        let rx = tokio::task::spawn_blocking(move || this.queue_from_peer(&bytes, entry, source))
            .await
            .map_err(|e| IngestError::new(ErrorClass::Unavailable, "internal", e.to_string()))??;
        rx.await.map_err(|_| IngestError::writer_stopped())?
    }

    /// The whole pipeline from bytes, for async callers (verification runs on the blocking
    /// pool).
    ///
    /// # Errors
    /// [`IngestError`].
    pub async fn submit(&self, bytes: Vec<u8>, source: Source) -> Result<Accepted, IngestError> {
        let this = self.clone();
        let rx = tokio::task::spawn_blocking(move || {
            let obj = this.open(&bytes, &source)?;
            this.enqueue(obj, source)
        })
        .await
        .map_err(|e| IngestError::new(ErrorClass::Unavailable, "internal", e.to_string()))??;
        rx.await.map_err(|_| IngestError::writer_stopped())?
    }

    /// The whole pipeline for many objects of one submission, answered in input order after
    /// the flush that covers the last of them (one flush usually covers them all). Verification
    /// runs on the blocking pool; each item is queued in order, waiting for room rather than
    /// failing with `busy`, so one item's fate never depends on the others'.
    pub async fn submit_many(&self, items: Vec<Vec<u8>>, source: Source) -> Vec<Result<Accepted, IngestError>> {
        let (this, n) = (self.clone(), items.len());
        let queued = tokio::task::spawn_blocking(move || {
            items
                .iter()
                .map(|bytes| this.queue_blocking(bytes, source.clone()))
                .collect::<Vec<Result<_, IngestError>>>()
        })
        .await;
        let queued = match queued {
            Ok(q) => q,
            Err(e) => return vec![Err(IngestError::new(ErrorClass::Unavailable, "internal", e.to_string())); n],
        };
        let mut out = Vec::with_capacity(queued.len());
        for q in queued {
            out.push(match q {
                Ok(rx) => rx.await.unwrap_or_else(|_| Err(IngestError::writer_stopped())),
                Err(e) => Err(e),
            });
        }
        out
    }

    /// The whole pipeline from bytes, for blocking callers (init, tests, benches).
    ///
    /// # Errors
    /// [`IngestError`].
    pub fn submit_blocking(&self, bytes: &[u8], source: Source) -> Result<Accepted, IngestError> {
        let obj = self.open(bytes, &source)?;
        let rx = self.enqueue(obj, source)?;
        rx.blocking_recv().map_err(|_| IngestError::writer_stopped())?
    }

    /// Appends an audit event without waiting (query served…). Dropped with a log line when
    /// the queue is full.
    pub fn audit(&self, event: AuditEvent) {
        if let Err(e) = self.send(Cmd::Audit { event }) {
            tracing::warn!(code = %e.code, "audit event not queued");
        }
    }

    /// Applies administrative writes together with their audit event, after the flush.
    ///
    /// # Errors
    /// [`IngestError`].
    pub async fn admin(&self, writes: Vec<MetaWrite>, event: Option<AuditEvent>) -> Result<(), IngestError> {
        let (reply, rx) = oneshot::channel();
        self.send(Cmd::Admin { writes, event, reply })?;
        rx.await.map_err(|_| IngestError::writer_stopped())?
    }

    /// Queues administrative writes, waiting for room in the queue (blocking) but not for the
    /// flush: the receiver yields after the flush covering them. Queue many, then wait for all:
    /// one flush covers them (offline set-up pins a whole federation's anchors this way).
    ///
    /// # Errors
    /// [`IngestError`] when the writer stopped.
    pub fn queue_admin(
        &self,
        writes: Vec<MetaWrite>,
        event: Option<AuditEvent>,
    ) -> Result<oneshot::Receiver<Result<(), IngestError>>, IngestError> {
        let (reply, rx) = oneshot::channel();
        self.send_wait(Cmd::Admin { writes, event, reply })?;
        Ok(rx)
    }

    /// Decodes, verifies and queues `bytes`, waiting for room in the queue (blocking) but not for
    /// the flush; the receiver yields after the covering flush.
    ///
    /// # Errors
    /// Decode/verify failures; [`IngestError`] when the writer stopped.
    pub fn queue_blocking(
        &self,
        bytes: &[u8],
        source: Source,
    ) -> Result<oneshot::Receiver<Result<Accepted, IngestError>>, IngestError> {
        let obj = self.open(bytes, &source)?;
        let (reply, rx) = oneshot::channel();
        self.send_wait(Cmd::Ingest { obj: Box::new(obj), source, entry: None, reply })?;
        Ok(rx)
    }

    /// Blocking form of [`Ingest::admin`].
    ///
    /// # Errors
    /// [`IngestError`].
    pub fn admin_blocking(&self, writes: Vec<MetaWrite>, event: Option<AuditEvent>) -> Result<(), IngestError> {
        let (reply, rx) = oneshot::channel();
        self.send(Cmd::Admin { writes, event, reply })?;
        rx.blocking_recv().map_err(|_| IngestError::writer_stopped())?
    }
}
