//! `DATA_DIR/local-state.json`: a copy, outside the store, of what only this node knows and no
//! peer can give back — the pinned roots with their regions' trust objects (delegations and
//! revocations, so a fresh store can admit peers before syncing anything), the local policy,
//! and the API token records (hashes only). `store rebuild` restores a fresh store from it.
//!
//! Rewritten (temp file → fsync → rename → fsync dir, mode 0600) by the ingest writer after
//! every trust, policy or token change, and once at start-up.

use std::collections::BTreeMap;
use std::path::Path;

use credfed_protocol::keys::PublicKey;
use credfed_protocol::objects::{self};
use credfed_protocol::trust::LocalPolicy;
use credfed_protocol::ObjectType;
use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError, TokenRecord};

/// The file name inside the data directory.
pub const FILE: &str = "local-state.json";

/// Format version.
pub const VERSION: u32 = 1;

/// One pinned region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedRegion {
    /// Region id.
    pub region: String,
    /// Root public key (hex).
    pub root_key: String,
    /// Root fingerprint (for the operator's eye).
    pub fingerprint: String,
    /// The region's delegations then revocations held (hex envelopes).
    pub trust_objects: Vec<String>,
}

/// The file's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalState {
    /// [`VERSION`].
    pub version: u32,
    /// Our region.
    pub region: String,
    /// When written (Unix seconds).
    pub written_at: u64,
    /// Pinned regions, ours included.
    pub pins: Vec<PinnedRegion>,
    /// Local policy.
    pub policy: LocalPolicy,
    /// Token records (hashes, scopes, expiry).
    pub tokens: Vec<TokenRecord>,
    /// The audit-log epoch of the store (a rebuild starts epoch + 1).
    #[serde(default = "first_epoch")]
    pub audit_epoch: u32,
}

fn first_epoch() -> u32 {
    1
}

/// Reads the local state of `store`.
///
/// # Errors
/// [`StoreError`]; a stored trust object that no longer opens is `Corrupt`.
pub fn snapshot(store: &dyn Store, region: &str, now: u64) -> Result<LocalState, StoreError> {
    let mut objects: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ty in [ObjectType::Delegation, ObjectType::Revocation] {
        for id in store.by_type(ty)? {
            let Some(o) = store.object(&id)? else { continue };
            let v = objects::open(&o.envelope).map_err(|e| StoreError::Corrupt(format!("stored {ty} {id}: {e}")))?;
            objects.entry(v.body.region().to_string()).or_default().push(hex::encode(&o.envelope));
        }
    }
    let pins = store
        .anchors()?
        .into_iter()
        .map(|(r, k): (_, PublicKey)| PinnedRegion {
            region: r.to_string(),
            root_key: k.to_hex(),
            fingerprint: k.fingerprint(),
            trust_objects: objects.remove(r.as_str()).unwrap_or_default(),
        })
        .collect();
    Ok(LocalState {
        version: VERSION,
        region: region.to_owned(),
        written_at: now,
        pins,
        policy: store.policy()?.unwrap_or_default(),
        tokens: store.tokens()?,
        audit_epoch: super::recovery::epoch(store)?,
    })
}

/// Writes `snapshot` of `store` to `path` (durably, mode 0600).
///
/// # Errors
/// Store or file errors, as text.
pub fn save(store: &dyn Store, region: &str, now: u64, path: &Path) -> anyhow::Result<()> {
    let s = snapshot(store, region, now)?;
    crate::keyfile::write_secret(path, &serde_json::to_vec_pretty(&s)?)?;
    Ok(())
}

/// Reads `path`.
///
/// # Errors
/// I/O, JSON (unknown fields named) or version errors, naming the file.
pub fn load(path: &Path) -> anyhow::Result<LocalState> {
    let text = std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let s: LocalState = serde_json::from_slice(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if s.version != VERSION {
        anyhow::bail!("{}: version {} is not supported (expected {VERSION})", path.display(), s.version);
    }
    Ok(s)
}
