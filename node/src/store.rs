//! The node's storage, behind the [`Store`] trait (DESIGN §5, STYLE §9–§11).
//!
//! Only this module (and `store/`) imports sled. The trait speaks in typed values; one
//! [`Commit`] is applied atomically (a single sled batch on a single tree), and nothing is
//! durable until [`Store::flush`] returns. Flushing is done by exactly one thread, the
//! [`GroupCommit`] flusher: writers register a callback that runs after the flush that covers
//! their write, so many commits share one flush and no request handler ever calls
//! `flush_async` (sled issue 1308 deadlocks on concurrent `flush_async`).
//!
//! # Durability promise
//! An object acknowledged by the API (201/200) was applied in a batch that a later
//! `sled::Db::flush()` covered. That `flush()` writes sled's log and calls `sync_file_range`,
//! which survives a process crash (`kill -9`) and hands the pages to the disk, but neither
//! flushes the device write cache nor persists file metadata (sled issue 1452). With
//! `store.fsync = true` (the default) the flusher additionally calls `fdatasync` on sled's
//! data file after every flush, which makes an ack survive power loss on devices that honour
//! cache flushes; the cost is measured by the `ingest` bench.
//!
//! # Layout
//! One tree, `credfed_v1`; every value starts with a format-version byte; integers in keys are
//! big-endian so scans come back in order. See [`keys`] for the prefixes.
//!
//! # Errors
//! A store that does not open cleanly yields [`StoreError::Corrupt`] (`store_corrupt`) or
//! [`StoreError::Open`] (`store_open_failed`); the node refuses to start and changes nothing.

pub mod flusher;
pub mod keys;
mod sled_store;

use credfed_protocol::envelope::ObjectId;
use credfed_protocol::keys::PublicKey;
use credfed_protocol::trust::LocalPolicy;
use credfed_protocol::{ObjectType, RegionId};
use serde::{Deserialize, Serialize};

use credfed_protocol::merkle::{Frontier, Hash};

pub use flusher::GroupCommit;
pub use sled_store::SledStore;

/// A storage failure. Cloneable so one flush result can be handed to every waiter.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened (missing, locked, permissions…).
    #[error("store_open_failed: {0}")]
    Open(String),
    /// The database or one of its values is damaged.
    #[error("store_corrupt: {0}")]
    Corrupt(String),
    /// I/O failed (including a failed flush): the node must stop acknowledging.
    #[error("storage_unavailable: {0}")]
    Io(String),
    /// The filesystem is below the free-space reserve: nothing is written, nothing is broken,
    /// and writes resume once space is freed.
    #[error("insufficient_storage: {0}")]
    NoSpace(String),
}

impl StoreError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Open(_) => "store_open_failed",
            StoreError::Corrupt(_) => "store_corrupt",
            StoreError::Io(_) => "storage_unavailable",
            StoreError::NoSpace(_) => "insufficient_storage",
        }
    }
}

/// What the store keeps about an object besides its envelope bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// Object type.
    pub object_type: ObjectType,
    /// Origin region (the body's `region`).
    pub origin: RegionId,
    /// Signing time (Unix seconds).
    pub signed_at: u64,
    /// When this node accepted it (Unix seconds).
    pub accepted_at: u64,
    /// Position in the origin's feed, when known.
    pub seq: Option<u64>,
    /// The object it acts on, if any.
    pub target: Option<ObjectId>,
    /// Subject index key (`uscc:…` / `person:…`) for records and corrections.
    pub subject: Option<String>,
}

/// An object as stored.
#[derive(Clone, Debug)]
pub struct StoredObject {
    /// Its id.
    pub id: ObjectId,
    /// Metadata.
    pub meta: ObjectMeta,
    /// Envelope bytes exactly as received.
    pub envelope: Vec<u8>,
}

/// A signed feed entry to store (and advance the origin's head to).
#[derive(Clone, Debug)]
pub struct FeedWrite {
    /// Origin.
    pub origin: RegionId,
    /// Position.
    pub seq: u64,
    /// Entry hash.
    pub hash: ObjectId,
    /// Signed entry bytes.
    pub bytes: Vec<u8>,
}

/// Highest entry held of one origin's feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedHead {
    /// Origin.
    pub origin: RegionId,
    /// Highest seq.
    pub seq: u64,
    /// Hash of that entry.
    pub hash: ObjectId,
}

/// One audit-log leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditLeaf {
    /// Leaf index.
    pub index: u64,
    /// `leaf_hash(bytes)` as computed at append time.
    pub hash: Hash,
    /// Canonical `AuditEvent` bytes.
    pub bytes: Vec<u8>,
}

/// An API token as stored: only its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Short id (hex prefix of the hash) used in logs and audit entries.
    pub id: String,
    /// SHA-256 of the token text.
    pub hash: [u8; 32],
    /// Scope name (`submit`, `query`, `audit`, `admin`).
    pub scope: String,
    /// Issued at (Unix seconds).
    pub created_at: u64,
}

/// The last signed checkpoint and the state needed to extend it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Signed-note text.
    pub note: String,
    /// Tree size it covers.
    pub size: u64,
    /// Its root.
    pub root: Hash,
    /// Frontier at `size`, rebuilt from re-hashed leaf bytes.
    pub frontier_size: u64,
    /// Frontier nodes.
    pub frontier_nodes: Vec<Hash>,
}

/// Non-object state changed by administrators.
#[derive(Clone, Debug)]
pub enum MetaWrite {
    /// Store a token.
    Token(TokenRecord),
    /// Delete a token by id.
    RevokeToken(String),
    /// Pin a region root.
    Pin(RegionId, PublicKey),
    /// Remove a pin.
    Unpin(RegionId),
    /// Replace the local policy.
    Policy(LocalPolicy),
    /// Record a newly signed checkpoint.
    Checkpoint(CheckpointState),
    /// Federation state: put (`Some`) or delete (`None`) `key` in namespace `ns`.
    Fed(FedNs, Vec<u8>, Option<Vec<u8>>),
}

/// A key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// Namespaces of federation state kept beside the objects (values: [`fed_enc`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FedNs {
    /// Equivocation proofs, by origin and seq.
    Equivocation,
    /// Objects waiting for their target, by target id and object id.
    Pending,
    /// Feed entries whose body this node does not hold, by origin and object id.
    Missing,
    /// Witness state: the last checkpoint this node cosigned, per origin region.
    Witness,
    /// The last size of our log each peer region cosigned.
    CosignedBy,
    /// Evidence of split views (two inconsistent checkpoints of one origin).
    SplitView,
    /// The recovery marker of a store being rebuilt from peers, the audit-log epoch, and the
    /// evidence of a rolled-back log (`state::recovery::MARKER_KEY`, `EPOCH_KEY`, `ROLLBACK_KEY`).
    Recovery,
    /// Records (and corrections) by natural key (`protocol::natural_key`): the latest version's
    /// object id; key [`NATURAL_KEY_BUILT`] marks an index built over every stored record.
    NaturalKey,
    /// The record list's indexes (`state::listing`): by decision date, kind, origin, origin and
    /// kind, authority, decision number and name bigrams; key [`LISTING_BUILT`] marks indexes
    /// built over every stored record.
    Listing,
}

/// Marker key in [`FedNs::NaturalKey`] (shorter than any natural key).
pub const NATURAL_KEY_BUILT: &[u8] = b"built-v1";
/// Marker key in [`FedNs::Listing`] (no index key starts with `B`).
pub const LISTING_BUILT: &[u8] = b"Built-v1";

impl FedNs {
    /// One-byte key prefix inside the `F` space.
    pub fn tag(self) -> u8 {
        match self {
            FedNs::Equivocation => b'e',
            FedNs::Pending => b'p',
            FedNs::Missing => b'm',
            FedNs::Witness => b'w',
            FedNs::CosignedBy => b'c',
            FedNs::SplitView => b's',
            FedNs::Recovery => b'r',
            FedNs::NaturalKey => b'n',
            FedNs::Listing => b'l',
        }
    }
}

/// A new object with everything indexed about it.
#[derive(Clone, Debug)]
pub struct NewObject {
    /// Id.
    pub id: ObjectId,
    /// Metadata (carries the subject and target to index).
    pub meta: ObjectMeta,
    /// Envelope bytes.
    pub envelope: Vec<u8>,
    /// Its position in this node's change log (`GET /v1/changes`), assigned by the writer.
    pub change: Option<u64>,
}

/// What a change-log position says happened to its object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// The object was accepted (the position was assigned in the object's own commit).
    Accepted,
    /// The record's publicity (or validity) ended with time: its status is now `expired`
    /// (`state::listing` sweep).
    PublicityEnded,
}

impl ChangeKind {
    /// The byte stored after the id: none for [`ChangeKind::Accepted`] (so values written
    /// before change kinds existed keep their meaning).
    pub fn tag(self) -> Option<u8> {
        match self {
            ChangeKind::Accepted => None,
            ChangeKind::PublicityEnded => Some(b'e'),
        }
    }
    /// Inverse of [`ChangeKind::tag`].
    pub fn from_tag(t: Option<u8>) -> Option<ChangeKind> {
        match t {
            None => Some(ChangeKind::Accepted),
            Some(b'e') => Some(ChangeKind::PublicityEnded),
            Some(_) => None,
        }
    }
}

/// One change-log position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChangeEntry {
    /// Position.
    pub n: u64,
    /// The object (for [`ChangeKind::PublicityEnded`], the record).
    pub id: ObjectId,
    /// What happened.
    pub kind: ChangeKind,
}

/// Everything one accepted object (or one administrative change) writes, applied atomically.
#[derive(Clone, Debug, Default)]
pub struct Commit {
    /// New objects.
    pub objects: Vec<NewObject>,
    /// New feed entries (each also advances its origin's head).
    pub feed: Vec<FeedWrite>,
    /// New audit leaves.
    pub audit: Vec<AuditLeaf>,
    /// The audit frontier after these leaves.
    pub frontier: Option<Frontier>,
    /// Administrative state.
    pub meta: Vec<MetaWrite>,
    /// Change-log positions of objects already stored (time-driven status changes).
    pub changes: Vec<ChangeEntry>,
}

impl Commit {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
            && self.feed.is_empty()
            && self.audit.is_empty()
            && self.meta.is_empty()
            && self.changes.is_empty()
    }
}

/// Counts for health and metrics.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StoreStats {
    /// Keys in the tree.
    pub keys: u64,
    /// Bytes on disk (sled's estimate).
    pub disk_bytes: u64,
}

/// The storage interface. Implementations must make [`Store::apply`] atomic and
/// [`Store::flush`] durable; reads may observe applied-but-unflushed commits.
pub trait Store: Send + Sync + 'static {
    /// Applies a commit atomically (not yet durable).
    ///
    /// # Errors
    /// [`StoreError::Io`].
    fn apply(&self, commit: &Commit) -> Result<(), StoreError>;
    /// Whether a new write may be taken now: [`StoreError::NoSpace`] while the filesystem is
    /// below the free-space reserve. The writer asks before each commit.
    ///
    /// # Errors
    /// [`StoreError::NoSpace`].
    fn check_space(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Makes every applied commit durable. Called only by the [`GroupCommit`] flusher.
    ///
    /// # Errors
    /// [`StoreError::Io`].
    fn flush(&self) -> Result<(), StoreError>;
    /// Metadata of an object.
    ///
    /// # Errors
    /// [`StoreError`].
    fn meta(&self, id: &ObjectId) -> Result<Option<ObjectMeta>, StoreError>;
    /// An object with its envelope bytes.
    ///
    /// # Errors
    /// [`StoreError`].
    fn object(&self, id: &ObjectId) -> Result<Option<StoredObject>, StoreError>;
    /// Ids of records/corrections about a subject key (at most `limit`).
    ///
    /// # Errors
    /// [`StoreError`].
    fn by_subject(&self, subject: &str, limit: usize) -> Result<Vec<ObjectId>, StoreError>;
    /// Ids of objects acting on `target`.
    ///
    /// # Errors
    /// [`StoreError`].
    fn by_target(&self, target: &ObjectId) -> Result<Vec<ObjectId>, StoreError>;
    /// Ids of every object of a type (delegations, revocations, schemes).
    ///
    /// # Errors
    /// [`StoreError`].
    fn by_type(&self, t: ObjectType) -> Result<Vec<ObjectId>, StoreError>;
    /// Signed feed entries `from..=to` of `origin` (missing positions are skipped).
    ///
    /// # Errors
    /// [`StoreError`].
    fn feed_range(&self, origin: &RegionId, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// Feed heads of every origin held.
    ///
    /// # Errors
    /// [`StoreError`].
    fn feed_heads(&self) -> Result<Vec<FeedHead>, StoreError>;
    /// One audit leaf.
    ///
    /// # Errors
    /// [`StoreError`].
    fn audit_leaf(&self, index: u64) -> Result<Option<AuditLeaf>, StoreError>;
    /// The persisted audit frontier (empty tree when none).
    ///
    /// # Errors
    /// [`StoreError`].
    fn audit_frontier(&self) -> Result<Frontier, StoreError>;
    /// The last signed checkpoint.
    ///
    /// # Errors
    /// [`StoreError`].
    fn checkpoint(&self) -> Result<Option<CheckpointState>, StoreError>;
    /// Every token record.
    ///
    /// # Errors
    /// [`StoreError`].
    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;
    /// Every pinned anchor.
    ///
    /// # Errors
    /// [`StoreError`].
    fn anchors(&self) -> Result<Vec<(RegionId, PublicKey)>, StoreError>;
    /// The local policy, if one was set.
    ///
    /// # Errors
    /// [`StoreError`].
    fn policy(&self) -> Result<Option<LocalPolicy>, StoreError>;
    /// Federation state of namespace `ns` whose key starts with `prefix` (at most `limit`).
    ///
    /// # Errors
    /// [`StoreError`].
    fn fed_scan(&self, ns: FedNs, prefix: &[u8], limit: usize) -> Result<Vec<KeyValue>, StoreError> {
        self.fed_scan_after(ns, prefix, None, limit)
    }
    /// Federation state of namespace `ns` whose key starts with `prefix` and sorts after
    /// `after` (every such key when `None`), in key order (at most `limit`).
    ///
    /// # Errors
    /// [`StoreError`].
    fn fed_scan_after(
        &self,
        ns: FedNs,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<KeyValue>, StoreError>;
    /// The federation state value at exactly `key` in namespace `ns`.
    ///
    /// # Errors
    /// [`StoreError`].
    fn fed_get(&self, ns: FedNs, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.fed_scan(ns, key, 1)?.into_iter().find(|(k, _)| k == key).map(|(_, v)| v))
    }
    /// Change-log entries after position `after` (at most `limit`), in order: position and
    /// object id.
    ///
    /// # Errors
    /// [`StoreError`].
    fn changes(&self, after: u64, limit: usize) -> Result<Vec<ChangeEntry>, StoreError>;
    /// The last change-log position (0: none).
    ///
    /// # Errors
    /// [`StoreError`].
    fn last_change(&self) -> Result<u64, StoreError>;
    /// Size figures.
    fn stats(&self) -> StoreStats;
}

pub use sled_store::SledOptions;

/// sled options from the `[store]` config section.
pub fn sled_store_options(c: &crate::config::StoreConfig, create: bool) -> SledOptions {
    SledOptions {
        cache_bytes: c.cache_mb.saturating_mul(1024 * 1024),
        fsync: c.fsync,
        create,
        min_free_bytes: c.min_free_mb.saturating_mul(1024 * 1024),
    }
}

/// Opens the store of `cfg` (creating it only when `create`).
///
/// # Errors
/// [`StoreError::Open`] / [`StoreError::Corrupt`].
pub fn open(cfg: &crate::config::NodeConfig, create: bool) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    Ok(std::sync::Arc::new(SledStore::open(&cfg.store_dir(), &sled_store_options(&cfg.store, create))?))
}

/// Plain CBOR of a federation-state value ([`FedNs`]: pending items, witness state, evidence,
/// recovery marker).
pub fn fed_enc<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(v, &mut out).expect("writing to a Vec cannot fail");
    out
}

/// Inverse of [`fed_enc`]; `None` for bytes that do not decode.
pub fn fed_dec<T: serde::de::DeserializeOwned>(v: &[u8]) -> Option<T> {
    ciborium::de::from_reader(v).ok()
}
