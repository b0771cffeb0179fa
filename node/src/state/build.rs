//! Building a node's shared [`State`] from its config and open store: keys, person secret,
//! rule table and calendar, trust, policy, tokens, recovery marker, audit-log epoch.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

use credfed_protocol::person::PersonSecret;
use credfed_protocol::rules::RuleSet;

use super::{recovery, AuthorityKey, Clock, State};
use crate::config::NodeConfig;
use crate::keyfile::{self, KeyFileError};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// Why a state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Reading the store.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A key or secret file.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// A rule-table or calendar override file is unreadable or invalid.
    #[error("rules: {0}")]
    Rules(String),
}

/// Builds the shared state from an open store.
///
/// # Errors
/// [`BuildError`].
pub fn build_state(cfg: &NodeConfig, store: Arc<dyn Store>, clock: Clock) -> Result<Arc<State>, BuildError> {
    let node_key = keyfile::read_key(&cfg.resolve(&cfg.keys.node_key))?;
    let mut authorities = Vec::new();
    for a in &cfg.keys.authorities {
        authorities.push(AuthorityKey { name: a.name.clone(), key: keyfile::read_key(&cfg.resolve(&a.file))? });
    }
    let person_secret = match &cfg.federation.person_secret_file {
        Some(p) => {
            let path = cfg.resolve(p);
            let bytes = keyfile::read_hex_secret(&path)?;
            Some(PersonSecret::from_bytes(&bytes).map_err(|e| KeyFileError::Invalid { path, detail: e.to_string() })?)
        }
        None => None,
    };
    let (rules, calendar) = load_rules(cfg)?;
    let trust = super::load_trust(&*store)?;
    let policy = store.policy()?.unwrap_or_default();
    let tokens = super::load_tokens(&*store)?;
    let peer_id = super::peer_id(&node_key.public());
    let recovery = recovery::marker(&*store)?.map(recovery::Recovery::new);
    let audit_epoch = recovery::epoch(&*store)?;
    let rollback = recovery::rollback(&*store)?;
    if let Some(r) = &rollback {
        tracing::error!(witness = %r.witness, witnessed = r.witnessed, ours = r.ours, "this store's audit log was rolled back (a witness cosigned a larger log): no checkpoint will be signed; rebuild the store (credfed-admin store rebuild --from-peers --force)");
    }
    Ok(Arc::new(State {
        region: cfg.region.clone(),
        store,
        trust: RwLock::new(trust),
        policy: RwLock::new(policy),
        tokens: RwLock::new(tokens),
        rules,
        calendar,
        metrics: Metrics::new(),
        node_key,
        peer_id,
        authorities,
        person_secret,
        clock,
        durable_audit_size: AtomicU64::new(0),
        durable_change: tokio::sync::watch::Sender::new(0),
        indexed: tokio::sync::watch::Sender::new(0),
        checkpoint_lock: Mutex::new(()),
        published: tokio::sync::broadcast::channel(4096).0,
        trust_changed: tokio::sync::Notify::new(),
        peers: RwLock::new(Vec::new()),
        last_contact: RwLock::new(std::collections::HashMap::new()),
        p2p_addrs: RwLock::new(Vec::new()),
        net: std::sync::OnceLock::new(),
        recovery: Mutex::new(recovery),
        recovered: Mutex::new(None),
        audit_epoch,
        rollback: Mutex::new(rollback),
        local_state_file: Some(cfg.data_dir().join(super::local_state::FILE)),
    }))
}

/// The rule table and calendar: built in, replaced / extended by the config's override files.
///
/// # Errors
/// [`BuildError::Rules`] naming the file and what is wrong.
pub fn load_rules(cfg: &NodeConfig) -> Result<(RuleSet, credfed_protocol::calendar::Calendar), BuildError> {
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).map_err(|e| BuildError::Rules(format!("{}: {e}", p.display())))
    };
    let rules = match &cfg.rules.rules_file {
        Some(p) => {
            let p = cfg.resolve(p);
            RuleSet::from_json(&read(&p)?).map_err(|e| BuildError::Rules(format!("{}: {e}", p.display())))?
        }
        None => RuleSet::builtin(),
    };
    let mut calendar = credfed_protocol::calendar::Calendar::builtin();
    if let Some(p) = &cfg.rules.calendar_file {
        let p = cfg.resolve(p);
        let extra = credfed_protocol::calendar::Calendar::from_json(&read(&p)?)
            .map_err(|e| BuildError::Rules(format!("{}: {e}", p.display())))?;
        calendar.merge_override(extra);
    }
    Ok((rules, calendar))
}
