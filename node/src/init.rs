//! `credfed-node init`: a ready region in one command.
//!
//! Creates under DIR: `keys/root.key` (the region root; move it offline after init),
//! `keys/node.key`, one authority key `keys/authority-1.key`, `keys/person.secret` (or a copy
//! of the federation's), the store with the root pinned, the delegations signed by the root
//! (accepted through the ingest pipeline, so they are in the node's own feed and audit log),
//! four API tokens, `node.toml`, `access.json` (`{"region","api","tokens":{…}}`; the store
//! keeps only token hashes) and `anchor.json` (what partner regions pin).
//!
//! One authority key carries every record kind plus repair, withdrawal, correction, objection,
//! objection_resolution, benefit_scheme and measure_applied. A real region would give each
//! authority (market regulation, tax, courts…) its own key with only its own kinds.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use credfed_protocol::audit::{AuditEvent, Source};
use credfed_protocol::keys::SecretKey;
use credfed_protocol::objects::{Body, DelegationBody, Nonce};
use credfed_protocol::trust::LocalPolicy;
use credfed_protocol::{ObjectType, RecordKind, RegionId, Role, Scope};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::config::{AuthorityKeyConfig, KeysConfig, NodeConfig};
use crate::ingest::Ingest;
use crate::keyfile;
use crate::state::build::build_state;
use crate::state::system_clock;
use crate::state::tokens::{self, Scope as TokenScope};
use crate::store::MetaWrite;

/// Validity of the delegations written at init (two years).
pub const DELEGATION_SECS: u64 = 2 * 365 * 86_400;

/// What `init` needs.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// Region id.
    pub region: RegionId,
    /// Target directory (created; must not already hold a node).
    pub dir: PathBuf,
    /// API listen address.
    pub api_listen: SocketAddr,
    /// Admin (metrics) listen address.
    pub admin_listen: Option<SocketAddr>,
    /// libp2p listen multiaddr.
    pub p2p_listen: Option<String>,
    /// Use this federation person-digest secret instead of generating one.
    pub person_secret_file: Option<PathBuf>,
}

/// `anchor.json`: what a partner region's administrator pins (`POST /v1/admin/trust` takes
/// `{region, root_key, delegations}` of it) after comparing the fingerprint out of band.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Anchor {
    /// Region id.
    pub region: String,
    /// Display name.
    pub name: String,
    /// Division code.
    pub division_code: Option<String>,
    /// Root public key (hex).
    pub root_key: String,
    /// Root fingerprint to compare out of band.
    pub fingerprint: String,
    /// libp2p PeerId of the node key.
    pub peer_id: String,
    /// Delegation envelopes (hex) signed by the root: the node key's first, so a partner can
    /// admit the node before syncing anything from it.
    pub delegations: Vec<String>,
}

/// `access.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Access {
    /// Region.
    pub region: String,
    /// API base URL.
    pub api: String,
    /// One token per scope.
    pub tokens: AccessTokens,
}

/// The four tokens.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct AccessTokens {
    pub submit: String,
    pub query: String,
    pub audit: String,
    pub admin: String,
}

/// Why init failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// DIR already holds a node.
    #[error("{0} already holds a node (node.toml or store exists); refusing to overwrite")]
    Exists(PathBuf),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

fn other(e: impl std::fmt::Display) -> InitError {
    InitError::Other(e.to_string())
}

/// Every scope the single authority key gets.
pub fn all_scopes() -> Vec<Scope> {
    let mut s: Vec<Scope> = RecordKind::ALL.iter().map(|k| Scope::Record(*k)).collect();
    for t in [
        ObjectType::Repair,
        ObjectType::Withdrawal,
        ObjectType::Correction,
        ObjectType::Objection,
        ObjectType::ObjectionResolution,
        ObjectType::BenefitScheme,
        ObjectType::MeasureApplied,
    ] {
        s.push(Scope::Object(t));
    }
    s
}

fn delegation(region: &RegionId, key: &SecretKey, role: Role, name: &str, scopes: Vec<Scope>, now: u64) -> Body {
    Body::Delegation(DelegationBody {
        region: region.clone(),
        signed_at: now,
        nonce: Nonce::random(&mut OsRng),
        key: key.public(),
        role,
        authority_name: name.into(),
        scopes,
        not_before: now.saturating_sub(300),
        not_after: now + DELEGATION_SECS,
    })
}

/// Runs init. Returns the access file written.
///
/// # Errors
/// [`InitError`].
pub fn init(o: &InitOptions) -> Result<Access, InitError> {
    let dir = &o.dir;
    if dir.join("node.toml").exists() || dir.join("store").exists() {
        return Err(InitError::Exists(dir.clone()));
    }
    std::fs::create_dir_all(dir.join("keys")).map_err(other)?;
    let known = credfed_protocol::division::known_region(o.region.as_str());
    let name = known.map_or_else(|| o.region.to_string(), |k| k.name_zh.to_string());
    let (root, node, auth) =
        (SecretKey::generate(&mut OsRng), SecretKey::generate(&mut OsRng), SecretKey::generate(&mut OsRng));
    keyfile::write_key(&dir.join("keys/root.key"), &root).map_err(other)?;
    keyfile::write_key(&dir.join("keys/node.key"), &node).map_err(other)?;
    keyfile::write_key(&dir.join("keys/authority-1.key"), &auth).map_err(other)?;
    let secret_path = dir.join("keys/person.secret");
    match &o.person_secret_file {
        Some(p) => {
            let s = keyfile::read_hex_secret(p).map_err(other)?;
            keyfile::write_secret(&secret_path, format!("{}\n", hex::encode(&*s)).as_bytes()).map_err(other)?;
        }
        None => {
            let mut s = zeroize::Zeroizing::new([0u8; 32]);
            OsRng.fill_bytes(&mut *s);
            keyfile::write_secret(&secret_path, format!("{}\n", hex::encode(*s)).as_bytes()).map_err(other)?;
        }
    }
    let authority_name = format!("{name}公共信用信息中心");
    let mut cfg: NodeConfig =
        NodeConfig::parse(&format!("region = \"{}\"\n[keys]\nnode_key = \"keys/node.key\"\n", o.region))
            .map_err(InitError::Other)?;
    cfg.region_name = Some(name.clone());
    cfg.division_code = known.map(|k| k.division.to_string());
    cfg.api.listen = o.api_listen;
    cfg.admin.listen = o.admin_listen;
    if let Some(p) = &o.p2p_listen {
        cfg.p2p.listen = vec![p.clone()];
    }
    cfg.keys = KeysConfig {
        node_key: "keys/node.key".into(),
        authorities: vec![AuthorityKeyConfig { name: authority_name.clone(), file: "keys/authority-1.key".into() }],
    };
    cfg.federation.person_secret_file = Some("keys/person.secret".into());
    cfg.base_dir = dir.clone();
    let toml = format!("# credfed node of {} ({name}). Written by `credfed-node init`.\n{}", o.region, cfg.to_toml());
    keyfile::write_public(&dir.join("node.toml"), toml.as_bytes()).map_err(other)?;

    let store = crate::store::open(&cfg, true).map_err(other)?;
    let state = build_state(&cfg, store, system_clock()).map_err(other)?;
    let (ingest, worker) = Ingest::start(Arc::clone(&state), 64).map_err(other)?;
    let now = state.now();
    let ev = |action: &str, detail: String| {
        Some(AuditEvent::AdminChange { at: now, token_id: "local".into(), action: action.into(), detail })
    };
    ingest
        .admin_blocking(
            vec![MetaWrite::Pin(o.region.clone(), root.public())],
            ev("trust.pin", format!("{} {}", o.region, root.public().fingerprint())),
        )
        .map_err(other)?;
    ingest
        .admin_blocking(vec![MetaWrite::Policy(LocalPolicy::default())], ev("policy.put", "default".into()))
        .map_err(other)?;
    let mut texts = Vec::new();
    for s in TokenScope::ALL {
        let (text, rec) = tokens::issue(s, now);
        ingest
            .admin_blocking(
                vec![MetaWrite::Token(rec.clone())],
                ev("tokens.issue", format!("{} {}", rec.id, rec.scope)),
            )
            .map_err(other)?;
        texts.push(text);
    }
    let node_name = format!("{name} credfed node");
    let mut delegations = Vec::new();
    for body in [
        delegation(&o.region, &node, Role::Node, &node_name, Vec::new(), now),
        delegation(&o.region, &auth, Role::Authority, &authority_name, all_scopes(), now),
    ] {
        let env = body.sign(&root).encode();
        ingest.submit_blocking(&env, Source::Local).map_err(other)?;
        delegations.push(hex::encode(env));
    }
    let anchor = Anchor {
        region: o.region.to_string(),
        name: name.clone(),
        division_code: cfg.division_code.clone(),
        root_key: root.public().to_hex(),
        fingerprint: root.public().fingerprint(),
        peer_id: crate::state::peer_id(&node.public()),
        delegations,
    };
    let json = serde_json::to_vec_pretty(&anchor).map_err(other)?;
    keyfile::write_public(&dir.join("anchor.json"), &json).map_err(other)?;
    drop(ingest);
    worker.stop();
    let access = Access {
        region: o.region.to_string(),
        api: format!("http://{}", o.api_listen),
        tokens: AccessTokens {
            submit: texts[0].clone(),
            query: texts[1].clone(),
            audit: texts[2].clone(),
            admin: texts[3].clone(),
        },
    };
    let json = serde_json::to_vec_pretty(&access).map_err(other)?;
    keyfile::write_secret(&dir.join("access.json"), &json).map_err(other)?;
    Ok(access)
}

/// Reads `access.json`.
///
/// # Errors
/// I/O or JSON errors.
pub fn read_access(dir: &Path) -> anyhow::Result<Access> {
    Ok(serde_json::from_slice(&std::fs::read(dir.join("access.json"))?)?)
}
