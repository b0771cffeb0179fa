//! `credfed-admin store rebuild DIR --from-peers` (DESIGN §5, RELIABILITY F2): a fresh store
//! refilled from peers.
//!
//! 1. **Probe** the store on a copy (the original is never opened in place). A store that opens
//!    and carries the recovery marker is a rebuild interrupted earlier: it is resumed. A store
//!    that opens cleanly is left alone unless `force`.
//! 2. **Move aside** the damaged store to `store.damaged-<unix time>` (never deleted: it is
//!    the evidence, and what `store check` or sled experts may still read).
//! 3. **Restore** into a fresh store what no peer can give back, from `local-state.json` (see
//!    [`crate::state::local_state`]), `anchor.json` and anchors given by the operator: the recovery
//!    marker first, then pinned roots, policy, token records and every region's trust objects.
//! 4. **Run** the node in recovery mode ([`crate::state::recovery`]) until its own feed and every
//!    other feed reach the highest heads that `min_peers` peers report, or the timeout passes
//!    (the marker then stays: `credfed-node run` finishes the recovery by itself).
//!
//! What cannot come back: `restricted` bodies of our own region (they never left it; their
//! feed entries come back without body and are counted in the report), the local audit log
//! (it starts again; the old one is in the moved-aside store), and receipts for foreign actions
//! applied after our last feed entry that peers hold.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use credfed_protocol::audit::{AuditEvent, Source};
use credfed_protocol::keys::PublicKey;
use credfed_protocol::{ObjectType, RegionId};
use serde::Serialize;

use crate::config::NodeConfig;
use crate::ingest::Ingest;
use crate::init::Anchor;
use crate::state::build::build_state;
use crate::state::local_state::{self, LocalState};
use crate::state::recovery::{self, Marker, Status};
use crate::state::system_clock;
use crate::store::{FedNs, MetaWrite, SledOptions, SledStore};

/// What the operator asked for.
#[derive(Clone, Debug)]
pub struct Options {
    /// Peers whose heads must be heard (default: 2, or the number of partner regions if fewer).
    pub min_peers: Option<u32>,
    /// How long to run before giving up (the store stays in recovery).
    pub timeout: Duration,
    /// Extra anchors (`anchor.json` of partners, or of this region).
    pub anchors: Vec<Anchor>,
    /// Rebuild even a store that opens cleanly.
    pub force: bool,
}

/// Why a rebuild did not run.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// The operator must change something (healthy store, missing anchors…).
    #[error("{0}")]
    Usage(String),
    /// Something failed underway.
    #[error("{0}")]
    Failed(String),
}

fn failed(e: impl std::fmt::Display) -> RebuildError {
    RebuildError::Failed(e.to_string())
}

/// What was restored from local files.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Restored {
    /// Pinned regions (ours included).
    pub pins: usize,
    /// Trust objects imported.
    pub trust_objects: usize,
    /// Token records.
    pub tokens: usize,
    /// Whether a local policy was restored (otherwise the default).
    pub policy: bool,
    /// Files read.
    pub sources: Vec<String>,
    /// Epoch of the new audit log (0 when resumed: unchanged).
    pub audit_epoch: u32,
}

/// The outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Where the damaged store went (`None` when resumed or when there was none).
    pub previous: Option<String>,
    /// An interrupted rebuild was resumed.
    pub resumed: bool,
    /// Recovery completed (the marker is gone; the node may run normally).
    pub complete: bool,
    /// Wall time of the run.
    pub elapsed_ms: u64,
    /// Peers required / heard.
    pub min_peers: u32,
    /// Peers whose heads were heard.
    pub peers_heard: usize,
    /// Feed heads held now, per origin.
    pub heads: BTreeMap<String, u64>,
    /// Highest heads peers reported, per origin.
    pub targets: BTreeMap<String, u64>,
    /// Objects held.
    pub objects: usize,
    /// Entries of our own feed whose body no peer could return (restricted, or withheld).
    pub own_bodies_missing: usize,
    /// What came from local files.
    pub restored: Restored,
}

/// What [`probe`] found.
enum Probe {
    Missing,
    Opens(Option<Marker>),
    Damaged(String),
}

/// Copies a directory tree (for probing and `store check`).
///
/// # Errors
/// I/O errors.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<u64> {
    std::fs::create_dir_all(to)?;
    let mut n = 0;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            n += copy_dir(&e.path(), &target)?;
        } else {
            n += std::fs::copy(e.path(), target)?;
        }
    }
    Ok(n)
}

/// Copies the store `dir` to `<tmp>/store`, `tmp` a fresh directory named `prefix…` next to it
/// (same file system, which has room for it; /tmp may not), removed when the guard drops.
///
/// # Errors
/// I/O errors making the directory or copying, naming the store.
pub fn copy_next_to(dir: &Path, prefix: &str) -> std::io::Result<(tempfile::TempDir, PathBuf)> {
    let named = |e: std::io::Error| std::io::Error::new(e.kind(), format!("copying {} next to it: {e}", dir.display()));
    let parent = dir.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new().prefix(prefix).tempdir_in(parent).map_err(named)?;
    let copy = tmp.path().join("store");
    copy_dir(dir, &copy).map_err(named)?;
    Ok((tmp, copy))
}

/// Refuses to touch a store a running node holds (sled keeps an exclusive lock on `db`).
fn ensure_stopped(dir: &Path) -> Result<(), RebuildError> {
    let db = dir.join("db");
    let Ok(f) = std::fs::OpenOptions::new().read(true).write(true).open(&db) else { return Ok(()) };
    match f.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(RebuildError::Usage(format!(
            "{} is locked by a running node: stop it first (the rebuild runs the node itself)",
            db.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(failed(format!("locking {}: {e}", db.display()))),
    }
}

fn probe(dir: &Path) -> Result<Probe, RebuildError> {
    if !dir.exists() {
        return Ok(Probe::Missing);
    }
    ensure_stopped(dir)?;
    let (_tmp, copy) = copy_next_to(dir, ".credfed-rebuild-probe").map_err(failed)?;
    let opts = SledOptions { cache_bytes: 16 * 1024 * 1024, fsync: false, create: false, min_free_bytes: 0 };
    match SledStore::open(&copy, &opts) {
        Ok(s) => Ok(Probe::Opens(recovery::marker(&s).map_err(failed)?)),
        Err(e) => Ok(Probe::Damaged(format!("{} ({e})", e.code()))),
    }
}

/// One region's trust material gathered from local files.
struct Pin {
    root: PublicKey,
    objects: Vec<Vec<u8>>,
}

fn add_pin(
    pins: &mut BTreeMap<RegionId, Pin>,
    region: &str,
    root: &str,
    objects: &[String],
    from: &str,
) -> Result<(), RebuildError> {
    let usage = |m: String| RebuildError::Usage(format!("{from}: {m}"));
    let region: RegionId = region.parse().map_err(|e| usage(format!("region {region:?}: {e}")))?;
    let root: PublicKey = root.parse().map_err(|e| usage(format!("root key of {region}: {e}")))?;
    let objects: Vec<Vec<u8>> = objects
        .iter()
        .map(|h| hex::decode(h).map_err(|e| usage(format!("trust object of {region}: {e}"))))
        .collect::<Result<_, _>>()?;
    match pins.get_mut(&region) {
        Some(p) if p.root != root => Err(usage(format!(
            "root of {region} is {} here but {} elsewhere; compare fingerprints with {region}'s administrator",
            root.fingerprint(),
            p.root.fingerprint()
        ))),
        Some(p) => {
            for o in objects {
                if !p.objects.contains(&o) {
                    p.objects.push(o);
                }
            }
            Ok(())
        }
        None => {
            pins.insert(region, Pin { root, objects });
            Ok(())
        }
    }
}

/// Moves the damaged store aside (if any) and restores a fresh store in recovery mode.
/// Returns where the old store went (`None`: resumed, or none existed) and whether resumed.
/// Blocking.
///
/// # Errors
/// [`RebuildError`].
pub fn prepare(cfg: &NodeConfig, o: &Options) -> Result<(Option<PathBuf>, bool, Restored), RebuildError> {
    let dir = cfg.store_dir();
    match probe(&dir)? {
        Probe::Opens(Some(m)) => {
            tracing::info!(previous = %m.previous, "resuming an interrupted rebuild");
            return Ok((None, true, Restored::default()));
        }
        Probe::Opens(None) if !o.force => {
            return Err(RebuildError::Usage(format!(
                "{} opens cleanly: nothing to rebuild (run `credfed-admin store check` first; --force rebuilds anyway, \
                 moving the store aside)",
                dir.display()
            )))
        }
        Probe::Opens(None) | Probe::Missing => {}
        Probe::Damaged(why) => tracing::warn!(store = %dir.display(), %why, "store does not open; rebuilding"),
    }

    let data = cfg.data_dir();
    let mut pins: BTreeMap<RegionId, Pin> = BTreeMap::new();
    let mut restored = Restored::default();
    let ls_path = data.join(local_state::FILE);
    let ls: Option<LocalState> = if ls_path.exists() {
        let ls = local_state::load(&ls_path).map_err(|e| RebuildError::Usage(e.to_string()))?;
        if ls.region != cfg.region.as_str() {
            return Err(RebuildError::Usage(format!(
                "{} belongs to region {}, not {}",
                ls_path.display(),
                ls.region,
                cfg.region
            )));
        }
        for p in &ls.pins {
            add_pin(&mut pins, &p.region, &p.root_key, &p.trust_objects, &ls_path.display().to_string())?;
        }
        restored.sources.push(ls_path.display().to_string());
        Some(ls)
    } else {
        None
    };
    let own_anchor = data.join("anchor.json");
    let mut anchors: Vec<(String, Anchor)> = Vec::new();
    if own_anchor.exists() {
        let a: Anchor = serde_json::from_slice(&std::fs::read(&own_anchor).map_err(failed)?)
            .map_err(|e| RebuildError::Usage(format!("{}: {e}", own_anchor.display())))?;
        anchors.push((own_anchor.display().to_string(), a));
    }
    anchors.extend(o.anchors.iter().map(|a| (format!("--anchor {}", a.region), a.clone())));
    for (from, a) in &anchors {
        add_pin(&mut pins, &a.region, &a.root_key, &a.delegations, from)?;
        restored.sources.push(from.clone());
    }
    if !pins.contains_key(&cfg.region) {
        return Err(RebuildError::Usage(format!(
            "no trust anchor for our own region {}: {} and {} are missing; pass --anchor with this region's anchor.json",
            cfg.region,
            ls_path.display(),
            own_anchor.display()
        )));
    }
    let partners = pins.len() as u32 - 1;
    if partners == 0 {
        return Err(RebuildError::Usage(format!(
            "no partner region to rebuild from: {} holds no pins; pass --anchor with each partner's anchor.json",
            ls_path.display()
        )));
    }
    let min_peers = o.min_peers.unwrap_or(partners.min(2));
    if min_peers == 0 || min_peers > partners {
        return Err(RebuildError::Usage(format!("--min-peers {min_peers}: between 1 and {partners} partner regions")));
    }

    let previous = if dir.exists() {
        let now = system_clock()();
        let name = dir.file_name().map_or_else(|| "store".into(), |n| n.to_string_lossy().into_owned());
        let to = dir.with_file_name(format!("{name}.damaged-{now}"));
        std::fs::rename(&dir, &to).map_err(|e| failed(format!("moving {} to {}: {e}", dir.display(), to.display())))?;
        tracing::warn!(from = %dir.display(), to = %to.display(), "damaged store moved aside (not deleted)");
        Some(to)
    } else {
        None
    };

    let store = crate::store::open(cfg, true).map_err(failed)?;
    let state = build_state(cfg, store, system_clock()).map_err(failed)?;
    let (ingest, worker) = Ingest::start(Arc::clone(&state), 64).map_err(failed)?;
    let r = restore(&ingest, cfg, &pins, ls.as_ref(), min_peers, previous.as_deref(), &mut restored);
    drop(ingest);
    worker.stop();
    r?;
    Ok((previous, false, restored))
}

fn restore(
    ingest: &Ingest,
    cfg: &NodeConfig,
    pins: &BTreeMap<RegionId, Pin>,
    ls: Option<&LocalState>,
    min_peers: u32,
    previous: Option<&Path>,
    restored: &mut Restored,
) -> Result<(), RebuildError> {
    let st = ingest.state();
    let now = st.now();
    let prev = previous.map(|p| p.display().to_string()).unwrap_or_default();
    let ev = |action: &str, detail: String| {
        Some(AuditEvent::AdminChange { at: now, token_id: "local".into(), action: action.into(), detail })
    };
    let admin = |writes: Vec<MetaWrite>, event| ingest.admin_blocking(writes, event).map_err(failed);
    let marker = Marker { min_peers, started_at: now, previous: prev.clone() };
    // The old log's leaves are gone: this store's log is a new one. Its epoch follows the one
    // local-state.json names; without that file, the rebuild time keeps it unique.
    let epoch = ls.map_or(u32::try_from(now).unwrap_or(u32::MAX), |l| l.audit_epoch.saturating_add(1).max(2));
    restored.audit_epoch = epoch;
    admin(
        vec![recovery::marker_write(Some(&marker)), recovery::epoch_write(epoch)],
        ev(
            "store.rebuild",
            format!(
                "region {}; previous store {prev}; audit log {}; waiting for {min_peers} peers",
                cfg.region,
                credfed_protocol::bundle::log_origin(cfg.region.as_str(), epoch)
            ),
        ),
    )?;
    for (region, p) in pins {
        admin(
            vec![MetaWrite::Pin(region.clone(), p.root)],
            ev("trust.pin", format!("{region} {}", p.root.fingerprint())),
        )?;
        restored.pins += 1;
    }
    if let Some(ls) = ls {
        admin(vec![MetaWrite::Policy(ls.policy.clone())], ev("policy.put", "restored".into()))?;
        restored.policy = true;
        let writes: Vec<MetaWrite> = ls.tokens.iter().cloned().map(MetaWrite::Token).collect();
        restored.tokens = writes.len();
        if !writes.is_empty() {
            admin(writes, ev("tokens.restore", format!("{} token records", ls.tokens.len())))?;
        }
    }
    // Delegations before revocations (a revocation names a key its region delegated).
    let mut objects: Vec<(bool, &[u8])> = Vec::new();
    for p in pins.values() {
        for o in &p.objects {
            let is_revocation = credfed_protocol::objects::open(o)
                .map(|v| v.body.object_type() == ObjectType::Revocation)
                .map_err(|e| RebuildError::Usage(format!("a stored trust object does not open: {e}")))?;
            objects.push((is_revocation, o));
        }
    }
    objects.sort_by_key(|(r, _)| *r);
    for (_, bytes) in objects {
        match ingest.submit_blocking(bytes, Source::Local) {
            Ok(_) => restored.trust_objects += 1,
            Err(e) => tracing::warn!(code = %e.code, error = %e.message, "trust object not restored"),
        }
    }
    Ok(())
}

/// Runs a whole rebuild: [`prepare`], then the node in recovery until done or `timeout`.
/// `progress` is called about twice a second with the recovery status.
///
/// # Errors
/// [`RebuildError`].
pub async fn run(cfg: NodeConfig, o: Options, mut progress: impl FnMut(&Status)) -> Result<Report, RebuildError> {
    let started = Instant::now();
    let (c, opts) = (cfg.clone(), o.clone());
    let (previous, resumed, restored) =
        tokio::task::spawn_blocking(move || prepare(&c, &opts)).await.map_err(failed)??;
    let node = crate::node::start(cfg).await.map_err(|e| failed(format!("{} ({})", e, e.code())))?;
    let st = node.state.clone();
    let min_peers = recovery::marker(&*st.store).map_err(failed)?.map_or(0, |m| m.min_peers);
    let deadline = started + o.timeout;
    let mut last: Option<Status> = None;
    let complete = loop {
        match st.recovery_status().map_err(failed)? {
            None => break true,
            Some(s) => {
                progress(&s);
                last = Some(s);
            }
        }
        if Instant::now() >= deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let heads: BTreeMap<String, u64> =
        st.store.feed_heads().map_err(failed)?.into_iter().map(|h| (h.origin.to_string(), h.seq)).collect();
    let mut objects = 0;
    for t in ObjectType::ALL {
        objects += st.store.by_type(*t).map_err(failed)?.len();
    }
    let own_prefix = [st.region.as_str().as_bytes(), &[0]].concat();
    let own_bodies_missing = st.store.fed_scan(FedNs::Missing, &own_prefix, usize::MAX).map_err(failed)?.len();
    let done = st.recovered.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let last = done.or(last).unwrap_or(Status { min_peers, peers_heard: 0, origins: BTreeMap::new(), complete });
    let report = Report {
        previous: previous.map(|p| p.display().to_string()),
        resumed,
        complete,
        elapsed_ms: started.elapsed().as_millis() as u64,
        min_peers,
        peers_heard: last.peers_heard,
        heads,
        targets: last.origins.iter().map(|(o, (theirs, _))| (o.to_string(), *theirs)).collect(),
        objects,
        own_bodies_missing,
        restored,
    };
    drop(st);
    node.shutdown().await;
    Ok(report)
}
