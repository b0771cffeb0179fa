//! The sled 0.34 implementation of [`Store`].

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use credfed_protocol::envelope::ObjectId;
use credfed_protocol::keys::PublicKey;
use credfed_protocol::trust::LocalPolicy;
use credfed_protocol::{ObjectType, RegionId};
use sled::{Batch, IVec, Tree};

use super::keys as k;
use super::{AuditLeaf, CheckpointState, Commit, FeedHead, MetaWrite, ObjectMeta, Store, StoreError, StoreStats};
use super::{ChangeEntry, ChangeKind, FedNs, StoredObject, TokenRecord};
use credfed_protocol::merkle::Frontier;

/// Options for [`SledStore::open`].
#[derive(Clone, Debug)]
pub struct SledOptions {
    /// Page cache size in bytes.
    pub cache_bytes: u64,
    /// `fdatasync` sled's data file after each flush.
    pub fsync: bool,
    /// Create a fresh store when none exists (only `init` does).
    pub create: bool,
    /// Free bytes the filesystem must keep: below this, [`Store::check_space`] refuses new
    /// writes with [`StoreError::NoSpace`] (0: never refuse).
    pub min_free_bytes: u64,
}

/// sled-backed store.
pub struct SledStore {
    db: sled::Db,
    tree: Tree,
    dir: PathBuf,
    fsync: bool,
    data_file: Mutex<Option<File>>,
    /// Audit size of the newest applied commit.
    applied_audit: AtomicU64,
    /// The high-water-mark file (see [`HWM_FILE`]).
    hwm: Mutex<File>,
    /// The free-space reserve (see [`SpaceGuard`]).
    space: SpaceGuard,
}

/// Keeps sled from ever meeting `ENOSPC`: sled makes an I/O error sticky (every later
/// operation fails until the process restarts), so the writer asks before each commit and
/// refuses while the filesystem holds less than the reserve. Refusing is clean and temporary:
/// once space returns, the same process accepts again. statvfs is read at most every
/// [`SpaceGuard::EVERY`].
struct SpaceGuard {
    min_free: u64,
    /// (when last read, free bytes then).
    last: Mutex<Option<(std::time::Instant, u64)>>,
}

impl SpaceGuard {
    const EVERY: std::time::Duration = std::time::Duration::from_millis(200);

    fn check(&self, dir: &Path) -> Result<(), StoreError> {
        if self.min_free == 0 {
            return Ok(());
        }
        let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let free = match *last {
            Some((at, free)) if at.elapsed() < Self::EVERY => free,
            _ => {
                let free = match rustix::fs::statvfs(dir) {
                    Ok(st) => st.f_bavail.saturating_mul(st.f_frsize),
                    // Cannot tell: do not refuse on a guess (a real ENOSPC still fails cleanly).
                    Err(_) => u64::MAX,
                };
                *last = Some((std::time::Instant::now(), free));
                free
            }
        };
        if free < self.min_free {
            return Err(StoreError::NoSpace(format!(
                "{} has {} KiB free, below the {} KiB reserve (store.min_free_mb); writes resume when space is freed",
                dir.display(),
                free / 1024,
                self.min_free / 1024
            )));
        }
        Ok(())
    }
}

/// File in the store directory holding the audit size covered by the last completed flush
/// (u64 BE), written after the flush. sled treats a damaged log record as a torn tail and
/// silently recovers the prefix before it; a store whose audit log is shorter than this mark
/// lost acknowledged data and is refused as `store_corrupt`.
pub const HWM_FILE: &str = "credfed.hwm";

fn io(e: sled::Error) -> StoreError {
    match e {
        sled::Error::Corruption { .. } => StoreError::Corrupt(e.to_string()),
        other => StoreError::Io(other.to_string()),
    }
}

/// sled keeps its storage parameters in `conf`, text followed by a CRC32 (little endian). At
/// open it only warns on a checksum mismatch, treats a file of ≤ 8 bytes as absent (and
/// rewrites it), and reports a non-UTF-8 one as "created by sled < 0.29". A damaged `conf` is
/// damage to the store: refuse it as `store_corrupt` before sled guesses.
fn check_sled_conf(dir: &Path) -> Result<(), StoreError> {
    let path = dir.join("conf");
    let bytes = std::fs::read(&path).map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display())))?;
    let Some((text, crc)) = bytes.split_last_chunk::<4>().filter(|(text, _)| text.len() > 4) else {
        return Err(StoreError::Corrupt(format!("{} is truncated ({} bytes)", path.display(), bytes.len())));
    };
    if crc32fast::hash(text) != u32::from_le_bytes(*crc) {
        return Err(StoreError::Corrupt(format!("{}: checksum mismatch", path.display())));
    }
    Ok(())
}

impl SledStore {
    /// Opens (or with `create`, creates) the store in `dir` and checks it.
    ///
    /// # Errors
    /// [`StoreError::Open`] when it cannot be opened, [`StoreError::Corrupt`] when sled reports
    /// corruption, panics while recovering, or the store's own invariants do not hold.
    pub fn open(dir: &Path, opts: &SledOptions) -> Result<SledStore, StoreError> {
        let exists = dir.join("conf").exists() || dir.join("db").exists();
        if !exists && !opts.create {
            return Err(StoreError::Open(format!("no store at {} (run `credfed-node init` first)", dir.display())));
        }
        if exists {
            check_sled_conf(dir)?;
        }
        let cfg = sled::Config::new().path(dir).cache_capacity(opts.cache_bytes).flush_every_ms(None);
        let opened = catch_unwind(AssertUnwindSafe(|| cfg.open()));
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(sled::Error::Corruption { at, bt: _ })) => {
                return Err(StoreError::Corrupt(format!("sled reports corruption at {at:?} in {}", dir.display())))
            }
            // sled reads a log that lies about itself (lengths past the end, undecodable
            // headers) as I/O or "bug" errors; in a store that exists that is damage too.
            Ok(Err(e @ sled::Error::ReportableBug(_))) if exists => {
                return Err(StoreError::Corrupt(format!("{}: {e}", dir.display())))
            }
            Ok(Err(sled::Error::Io(e)))
                if exists
                    && matches!(e.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData) =>
            {
                return Err(StoreError::Corrupt(format!("{}: {e}", dir.display())))
            }
            Ok(Err(e)) => return Err(StoreError::Open(format!("{}: {e}", dir.display()))),
            Err(_) => return Err(StoreError::Corrupt(format!("sled panicked while recovering {}", dir.display()))),
        };
        let tree = db.open_tree("credfed_v1").map_err(io)?;
        let hwm_path = dir.join(HWM_FILE);
        let mark = match std::fs::read(&hwm_path) {
            Ok(b) if b.len() == 8 => u64::from_be_bytes(b.try_into().expect("8 bytes")),
            Ok(_) => return Err(StoreError::Corrupt(format!("{} is damaged", hwm_path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !exists => 0,
            Err(e) => return Err(StoreError::Corrupt(format!("{}: {e}", hwm_path.display()))),
        };
        let hwm = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&hwm_path)
            .map_err(|e| StoreError::Open(format!("{}: {e}", hwm_path.display())))?;
        let store = SledStore {
            db,
            tree,
            dir: dir.to_path_buf(),
            fsync: opts.fsync,
            data_file: Mutex::new(None),
            applied_audit: AtomicU64::new(0),
            hwm: Mutex::new(hwm),
            space: SpaceGuard { min_free: opts.min_free_bytes, last: Mutex::new(None) },
        };
        let size = store.audit_frontier()?.size();
        if size < mark {
            return Err(StoreError::Corrupt(format!(
                "audit log holds {size} leaves but {mark} were durable before: sled recovered a truncated log"
            )));
        }
        store.applied_audit.store(size, Ordering::SeqCst);
        match store.tree.get(k::meta("format")).map_err(io)? {
            Some(v) if v.as_ref() == k::FORMAT => store.check()?,
            None if mark > 0 => return Err(StoreError::Corrupt("store format marker missing (log truncated)".into())),
            Some(_) => return Err(StoreError::Corrupt("unknown store format marker".into())),
            None if !exists => {
                store.tree.insert(k::meta("format"), k::FORMAT).map_err(io)?;
                store.flush()?;
            }
            None => return Err(StoreError::Corrupt("store format marker missing".into())),
        }
        Ok(store)
    }

    /// Invariants that must hold after any crash (every commit is one atomic batch).
    fn check(&self) -> Result<(), StoreError> {
        let f = self.audit_frontier()?;
        if f.size() > 0 && self.tree.get(k::leaf(f.size() - 1)).map_err(io)?.is_none() {
            return Err(StoreError::Corrupt(format!("audit leaf {} missing below frontier size", f.size() - 1)));
        }
        if self.tree.get(k::leaf(f.size())).map_err(io)?.is_some() {
            return Err(StoreError::Corrupt(format!("audit leaf {} beyond frontier size", f.size())));
        }
        for h in self.feed_heads()? {
            let o = h.origin.as_str();
            if self.tree.get(k::feed(o, h.seq)).map_err(io)?.is_none()
                || self.tree.get(k::feed(o, h.seq + 1)).map_err(io)?.is_some()
            {
                return Err(StoreError::Corrupt(format!("feed of {o} does not end at its head {}", h.seq)));
            }
        }
        Ok(())
    }

    fn scan_ids(&self, prefix: Vec<u8>, limit: usize) -> Result<Vec<ObjectId>, StoreError> {
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix(prefix).keys().take(limit) {
            out.push(k::trailing_id(&kv.map_err(io)?)?);
        }
        Ok(out)
    }

    fn get(&self, key: Vec<u8>) -> Result<Option<IVec>, StoreError> {
        self.tree.get(key).map_err(io)
    }

    fn fdatasync(&self) -> Result<(), StoreError> {
        let mut guard = self.data_file.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard =
                Some(File::open(self.dir.join("db")).map_err(|e| StoreError::Io(format!("open sled data file: {e}")))?);
        }
        guard.as_ref().expect("set above").sync_data().map_err(|e| StoreError::Io(format!("fdatasync: {e}")))
    }
}

fn encode_object(meta: &ObjectMeta, envelope: &[u8]) -> Vec<u8> {
    let m = k::enc(meta);
    let mut v = Vec::with_capacity(4 + m.len() + envelope.len());
    v.extend_from_slice(&(m.len() as u32).to_be_bytes());
    v.extend_from_slice(&m);
    v.extend_from_slice(envelope);
    k::versioned(&v)
}

fn decode_object(id: ObjectId, v: &[u8]) -> Result<StoredObject, StoreError> {
    let body = k::unversion("object", v)?;
    let corrupt = || StoreError::Corrupt(format!("object {id}: truncated value"));
    let len = u32::from_be_bytes(body.get(..4).ok_or_else(corrupt)?.try_into().expect("4 bytes")) as usize;
    let m = body.get(4..4 + len).ok_or_else(corrupt)?;
    let meta: ObjectMeta = k::dec("object meta", m)?;
    Ok(StoredObject { id, meta, envelope: body[4 + len..].to_vec() })
}

impl Store for SledStore {
    fn check_space(&self) -> Result<(), StoreError> {
        self.space.check(&self.dir)
    }

    fn apply(&self, c: &Commit) -> Result<(), StoreError> {
        let mut b = Batch::default();
        for o in &c.objects {
            b.insert(k::object(&o.id), encode_object(&o.meta, &o.envelope));
            if let Some(s) = &o.meta.subject {
                b.insert([k::subject_prefix(s), o.id.0.to_vec()].concat(), &[][..]);
            }
            if let Some(t) = &o.meta.target {
                b.insert([k::target_prefix(t), o.id.0.to_vec()].concat(), &[][..]);
            }
            b.insert([k::type_prefix(o.meta.object_type.as_str()), o.id.0.to_vec()].concat(), &[][..]);
            if let Some(n) = o.change {
                b.insert(k::change(n), k::change_value(&o.id, ChangeKind::Accepted));
            }
        }
        for ch in &c.changes {
            b.insert(k::change(ch.n), k::change_value(&ch.id, ch.kind));
        }
        for f in &c.feed {
            b.insert(k::feed(f.origin.as_str(), f.seq), k::versioned(&f.bytes));
            let head = [f.seq.to_be_bytes().as_slice(), f.hash.as_bytes()].concat();
            b.insert(k::head(f.origin.as_str()), k::versioned(&head));
        }
        for l in &c.audit {
            b.insert(k::leaf(l.index), k::versioned(&[l.hash.as_slice(), &l.bytes].concat()));
        }
        if let Some(f) = &c.frontier {
            b.insert(k::meta("frontier"), k::enc(f));
        }
        for m in &c.meta {
            match m {
                MetaWrite::Token(t) => b.insert(k::token(&t.id), k::enc(t)),
                MetaWrite::RevokeToken(id) => b.remove(k::token(id)),
                MetaWrite::Pin(r, key) => b.insert(k::anchor(r.as_str()), k::versioned(key.as_bytes())),
                MetaWrite::Unpin(r) => b.remove(k::anchor(r.as_str())),
                MetaWrite::Policy(p) => b.insert(k::meta("policy"), k::enc(p)),
                MetaWrite::Checkpoint(cp) => b.insert(k::meta("checkpoint"), k::enc(cp)),
                MetaWrite::Fed(ns, key, Some(v)) => b.insert(k::fed(ns.tag(), key), k::versioned(v)),
                MetaWrite::Fed(ns, key, None) => b.remove(k::fed(ns.tag(), key)),
            }
        }
        self.tree.apply_batch(b).map_err(io)?;
        if let Some(f) = &c.frontier {
            self.applied_audit.fetch_max(f.size(), Ordering::SeqCst);
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        let size = self.applied_audit.load(Ordering::SeqCst);
        self.db.flush().map_err(io)?;
        if self.fsync {
            self.fdatasync()?;
        }
        let f = self.hwm.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all_at(&size.to_be_bytes(), 0).map_err(|e| StoreError::Io(format!("write {HWM_FILE}: {e}")))?;
        if self.fsync {
            f.sync_data().map_err(|e| StoreError::Io(format!("fdatasync {HWM_FILE}: {e}")))?;
        }
        Ok(())
    }

    fn meta(&self, id: &ObjectId) -> Result<Option<ObjectMeta>, StoreError> {
        Ok(self.object(id)?.map(|o| o.meta))
    }

    fn object(&self, id: &ObjectId) -> Result<Option<StoredObject>, StoreError> {
        self.get(k::object(id))?.map(|v| decode_object(*id, &v)).transpose()
    }

    fn by_subject(&self, subject: &str, limit: usize) -> Result<Vec<ObjectId>, StoreError> {
        self.scan_ids(k::subject_prefix(subject), limit)
    }

    fn by_target(&self, target: &ObjectId) -> Result<Vec<ObjectId>, StoreError> {
        self.scan_ids(k::target_prefix(target), usize::MAX)
    }

    fn by_type(&self, t: ObjectType) -> Result<Vec<ObjectId>, StoreError> {
        self.scan_ids(k::type_prefix(t.as_str()), usize::MAX)
    }

    fn feed_range(&self, origin: &RegionId, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let o = origin.as_str();
        let mut out = Vec::new();
        let plen = k::feed_prefix(o).len();
        for kv in self.tree.range(k::feed(o, from)..=k::feed(o, to)) {
            let (key, v) = kv.map_err(io)?;
            let seq = u64::from_be_bytes(key[plen..].try_into().map_err(|_| StoreError::Corrupt("feed key".into()))?);
            out.push((seq, k::unversion("feed entry", &v)?.to_vec()));
        }
        Ok(out)
    }

    fn changes(&self, after: u64, limit: usize) -> Result<Vec<ChangeEntry>, StoreError> {
        let mut out = Vec::new();
        let Some(from) = after.checked_add(1) else { return Ok(out) };
        for kv in self.tree.range(k::change(from)..=k::change(u64::MAX)).take(limit) {
            let (key, v) = kv.map_err(io)?;
            let n = u64::from_be_bytes(key[1..].try_into().map_err(|_| StoreError::Corrupt("change key".into()))?);
            let v = k::unversion("change", &v)?;
            let bad = || StoreError::Corrupt(format!("change {n}: value of {} bytes", v.len()));
            let (id, kind) = match v {
                [id @ .., t] if id.len() == 32 => (id, ChangeKind::from_tag(Some(*t))),
                id => (id, ChangeKind::from_tag(None)),
            };
            let id: [u8; 32] = id.try_into().map_err(|_| bad())?;
            let kind = kind.ok_or_else(bad)?;
            out.push(ChangeEntry { n, id: ObjectId(id), kind });
        }
        Ok(out)
    }

    fn last_change(&self) -> Result<u64, StoreError> {
        match self.tree.range(k::change(0)..=k::change(u64::MAX)).next_back() {
            None => Ok(0),
            Some(kv) => {
                let (key, _) = kv.map_err(io)?;
                Ok(u64::from_be_bytes(key[1..].try_into().map_err(|_| StoreError::Corrupt("change key".into()))?))
            }
        }
    }

    fn feed_heads(&self) -> Result<Vec<FeedHead>, StoreError> {
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix(b"h") {
            let (key, v) = kv.map_err(io)?;
            let origin: RegionId = std::str::from_utf8(&key[1..])
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| StoreError::Corrupt("feed head key".into()))?;
            let v = k::unversion("feed head", &v)?;
            if v.len() != 40 {
                return Err(StoreError::Corrupt(format!("feed head of {origin}")));
            }
            let seq = u64::from_be_bytes(v[..8].try_into().expect("8"));
            out.push(FeedHead { origin, seq, hash: ObjectId(v[8..].try_into().expect("32")) });
        }
        Ok(out)
    }

    fn audit_leaf(&self, index: u64) -> Result<Option<AuditLeaf>, StoreError> {
        let Some(v) = self.get(k::leaf(index))? else {
            return Ok(None);
        };
        let v = k::unversion("audit leaf", &v)?;
        if v.len() < 32 {
            return Err(StoreError::Corrupt(format!("audit leaf {index} truncated")));
        }
        Ok(Some(AuditLeaf { index, hash: v[..32].try_into().expect("32"), bytes: v[32..].to_vec() }))
    }

    fn audit_frontier(&self) -> Result<Frontier, StoreError> {
        match self.get(k::meta("frontier"))? {
            Some(v) => k::dec("frontier", &v),
            None => Ok(Frontier::new()),
        }
    }

    fn checkpoint(&self) -> Result<Option<CheckpointState>, StoreError> {
        self.get(k::meta("checkpoint"))?.map(|v| k::dec("checkpoint", &v)).transpose()
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.tree.scan_prefix(b"K").values().map(|v| k::dec("token", &v.map_err(io)?)).collect()
    }

    fn anchors(&self) -> Result<Vec<(RegionId, PublicKey)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix(b"A") {
            let (key, v) = kv.map_err(io)?;
            let bad = || StoreError::Corrupt("anchor".into());
            let region: RegionId = std::str::from_utf8(&key[1..]).ok().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
            let key = PublicKey::from_bytes(k::unversion("anchor", &v)?).map_err(|_| bad())?;
            out.push((region, key));
        }
        Ok(out)
    }

    fn policy(&self) -> Result<Option<LocalPolicy>, StoreError> {
        self.get(k::meta("policy"))?.map(|v| k::dec("policy", &v)).transpose()
    }

    fn fed_scan_after(
        &self,
        ns: FedNs,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<super::KeyValue>, StoreError> {
        let p = k::fed(ns.tag(), prefix);
        let iter = match after {
            Some(a) => self.tree.range((std::ops::Bound::Excluded(k::fed(ns.tag(), a)), std::ops::Bound::Unbounded)),
            None => self.tree.range(p.clone()..),
        };
        let mut out = Vec::new();
        for kv in iter.take(limit) {
            let (key, v) = kv.map_err(io)?;
            if !key.starts_with(&p) {
                break;
            }
            out.push((key[2..].to_vec(), k::unversion("federation state", &v)?.to_vec()));
        }
        Ok(out)
    }

    fn stats(&self) -> StoreStats {
        StoreStats { keys: self.tree.len() as u64, disk_bytes: self.db.size_on_disk().unwrap_or(0) }
    }
}
