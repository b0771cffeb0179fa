//! The node's shared state: store handle, trust, policy, tokens cache, keys, rules, metrics,
//! and the state derived from stored objects.
//!
//! Mutations of trust, policy and tokens happen only in the ingest writer, after the commit
//! that records them was applied; readers take short read locks.
//!
//! ## Layout (the layer above [`crate::store`], below [`crate::ingest`])
//! | module | what |
//! |---|---|
//! | [`build`] | a [`State`] from the config and the open store |
//! | [`query`] | stored objects decoded; record status derived on read |
//! | [`classify`] | an object's governing classification; which regions may receive its body |
//! | [`compliance`] | compliance figures (及时率, 合规率, objections, receipts) per region and kind, per month |
//! | [`receipts`] | per record: which regions applied the origin's actions, which are overdue |
//! | [`evidence`] | equivocation proofs, witness state, split views |
//! | [`recovery`] | recovery mode's marker, progress and the audit-log epoch / rollback record |
//! | [`local_state`] | `local-state.json`, what only this node knows (for a rebuild) |
//! | [`tokens`] | API bearer tokens and scopes |

pub mod build;
pub mod classify;
pub mod compliance;
pub mod evidence;
pub mod listing;
pub mod local_state;
pub mod query;
pub mod receipts;
pub mod recovery;
pub mod tokens;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use std::collections::BTreeMap;

use credfed_protocol::envelope::ObjectId;
use credfed_protocol::keys::{PublicKey, SecretKey};
use credfed_protocol::objects::{self, Body};
use credfed_protocol::person::PersonSecret;
use credfed_protocol::trust::{LocalPolicy, TrustState};
use credfed_protocol::{ObjectType, RegionId, Scope};

use crate::metrics::Metrics;
use crate::store::{Store, StoreError, TokenRecord};
use credfed_protocol::rules::RuleSet;

/// An own object made durable, for the federation layer to gossip.
#[derive(Clone, Debug)]
pub struct Published {
    /// Our region.
    pub origin: RegionId,
    /// Own-feed position.
    pub seq: u64,
    /// Object id.
    pub id: ObjectId,
    /// Signed feed entry bytes.
    pub entry: Vec<u8>,
    /// The envelope, when its body is `public` (only public bodies travel on gossip).
    pub envelope: Option<Vec<u8>>,
}

/// Wall-clock source (Unix seconds); injectable for tests.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
}

/// An authority key the node signs drafts with.
pub struct AuthorityKey {
    /// Authority name.
    pub name: String,
    /// The key.
    pub key: SecretKey,
}

/// Everything handlers, the writer and background jobs share.
pub struct State {
    /// This region.
    pub region: RegionId,
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Pinned roots, delegations, revocations.
    pub trust: RwLock<TrustState>,
    /// Local policy.
    pub policy: RwLock<LocalPolicy>,
    /// Token records by id.
    pub tokens: RwLock<HashMap<String, TokenRecord>>,
    /// Credit rules.
    pub rules: RuleSet,
    /// Working-day calendar (built in, plus the operator's override file).
    pub calendar: credfed_protocol::calendar::Calendar,
    /// Metrics.
    pub metrics: Metrics,
    /// Node key (feed entries, checkpoints, libp2p identity).
    pub node_key: SecretKey,
    /// libp2p PeerId text of the node key.
    pub peer_id: String,
    /// Authority keys for drafts.
    pub authorities: Vec<AuthorityKey>,
    /// Person-digest secret (never logged).
    pub person_secret: Option<PersonSecret>,
    /// Clock.
    pub clock: Clock,
    /// Audit size covered by a completed flush (checkpoints never cover more).
    pub durable_audit_size: AtomicU64,
    /// The last change-log position covered by a completed flush: `GET /v1/changes` serves no
    /// further (a change a crash could undo is never shown); long polls wait on it.
    pub durable_change: tokio::sync::watch::Sender<u64>,
    /// The last change-log position whose record-list index writes are applied
    /// (`ingest::indexer`): list queries wait for the position acknowledged before them.
    pub indexed: tokio::sync::watch::Sender<u64>,
    /// Serializes checkpoint signing.
    pub checkpoint_lock: Mutex<()>,
    /// Own objects made durable, for the federation layer to gossip (lagging receivers miss
    /// some; anti-entropy catches up).
    pub published: tokio::sync::broadcast::Sender<Published>,
    /// Signalled when trust changed (delegation, revocation, pin): re-check connected peers.
    pub trust_changed: tokio::sync::Notify,
    /// Connected peers (PeerId text, region), as the federation driver last saw them.
    pub peers: RwLock<Vec<(String, RegionId)>>,
    /// Unix seconds of the last sync round a peer of each region answered (`fed::sync`), for
    /// the console's "last contact".
    pub last_contact: RwLock<HashMap<RegionId, u64>>,
    /// The swarm's listen addresses.
    pub p2p_addrs: RwLock<Vec<String>>,
    /// The swarm handle, once federation started.
    pub net: std::sync::OnceLock<credfed_net::NetHandle>,
    /// Recovery progress while the store is being rebuilt from peers ([`recovery`]);
    /// set and cleared only by the writer, with the marker commit.
    pub recovery: Mutex<Option<recovery::Recovery>>,
    /// The recovery status at the moment recovery completed (for the rebuild report).
    pub recovered: Mutex<Option<recovery::Status>>,
    /// Audit-log epoch (1, or n ≥ 2 after a rebuild; names the checkpoint origin line).
    pub audit_epoch: u32,
    /// Set when a witness showed that our log was rolled back: no new checkpoint is signed.
    pub rollback: Mutex<Option<recovery::Rollback>>,
    /// Where [`local_state`] is kept (`None`: not kept, e.g. in-memory test states).
    pub local_state_file: Option<std::path::PathBuf>,
}

/// libp2p PeerId of an ed25519 public key.
pub fn peer_id(key: &PublicKey) -> String {
    libp2p_identity::ed25519::PublicKey::try_from_bytes(key.as_bytes())
        .map(|k| libp2p_identity::PublicKey::from(k).to_peer_id().to_string())
        .unwrap_or_default()
}

impl State {
    /// Now (Unix seconds).
    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Whether the store is being rebuilt from peers (nothing new enters our own feed).
    pub fn recovering(&self) -> bool {
        self.recovery.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// Rewrites `local-state.json` (logged, never fatal: the store stays authoritative). Not
    /// while recovering: the file is then what the rebuild restored from.
    pub fn save_local_state(&self) {
        if self.recovering() {
            return;
        }
        if let Some(path) = &self.local_state_file {
            if let Err(e) = local_state::save(&*self.store, self.region.as_str(), self.now(), path) {
                tracing::warn!(error = %e, path = %path.display(), "local-state.json not written");
            }
        }
    }

    /// Records the heads `peer` reported (no-op outside recovery).
    pub fn observe_heads(&self, peer: &str, heads: &BTreeMap<RegionId, u64>) {
        if let Some(r) = self.recovery.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            r.observe(peer, heads);
        }
    }

    /// Where recovery stands; `None` outside recovery.
    ///
    /// # Errors
    /// [`StoreError`] reading our heads.
    pub fn recovery_status(&self) -> Result<Option<recovery::Status>, StoreError> {
        let Some(r) = self.recovery.lock().unwrap_or_else(|p| p.into_inner()).clone() else { return Ok(None) };
        let ours: BTreeMap<RegionId, u64> = self.store.feed_heads()?.into_iter().map(|h| (h.origin, h.seq)).collect();
        let trust = self.trust();
        Ok(Some(r.status(&ours, |o| trust.root_of(o).is_some())))
    }

    /// Trust state (read).
    pub fn trust(&self) -> RwLockReadGuard<'_, TrustState> {
        self.trust.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Policy (read).
    pub fn policy(&self) -> RwLockReadGuard<'_, LocalPolicy> {
        self.policy.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The authority key whose current delegation covers `scope`.
    pub fn authority_for(&self, scope: Scope) -> Option<&SecretKey> {
        let now = self.now();
        let trust = self.trust();
        self.authorities.iter().map(|a| &a.key).find(|k| {
            trust
                .delegation(&k.public(), &self.region, now)
                .is_some_and(|i| i.delegation.scopes.contains(&scope) && i.revoked_from.is_none_or(|r| now < r))
        })
    }
}

/// Rebuilds the trust state from the store: pinned anchors, then every stored delegation and
/// revocation (re-verified).
///
/// # Errors
/// [`StoreError::Corrupt`] when a stored trust object no longer verifies.
pub fn load_trust(store: &dyn Store) -> Result<TrustState, StoreError> {
    let mut t = TrustState::new();
    for (region, key) in store.anchors()? {
        t.pin(region, key);
    }
    for ty in [ObjectType::Delegation, ObjectType::Revocation] {
        for id in store.by_type(ty)? {
            let Some(o) = store.object(&id)? else {
                continue;
            };
            let v = objects::open(&o.envelope).map_err(|e| StoreError::Corrupt(format!("stored {ty} {id}: {e}")))?;
            if matches!(v.body, Body::Delegation(_) | Body::Revocation(_)) {
                t.apply(&v);
            }
        }
    }
    Ok(t)
}

/// Loads the tokens cache.
///
/// # Errors
/// [`StoreError`].
pub fn load_tokens(store: &dyn Store) -> Result<HashMap<String, TokenRecord>, StoreError> {
    Ok(store.tokens()?.into_iter().map(|t| (t.id.clone(), t)).collect())
}
