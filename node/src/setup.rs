//! A local federation in one directory: `init` every city with one shared person-digest
//! secret, point each node's bootstrap list at the others, and cross-pin every region's anchor
//! offline (what each administrator would do after comparing fingerprints). Used by
//! `credfed-node demo` and the multi-node tests.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use credfed_protocol::audit::{AuditEvent, Source};
use credfed_protocol::keys::PublicKey;
use credfed_protocol::RegionId;

use crate::config::NodeConfig;
use crate::ingest::{Ingest, IngestError};
use crate::init::{init, Access, Anchor, InitOptions};
use crate::keyfile;
use crate::state::build::build_state;
use crate::state::system_clock;
use crate::store::MetaWrite;

/// The Dabie Mountains / Suzhou cities the demo knows, in the order `--cities N` takes them.
pub const DEMO_CITIES: &[&str] =
    &["xinyang", "suzhou", "luan", "anqing", "huanggang", "zhumadian", "xiaogan", "suizhou"];

/// One city of a local federation.
#[derive(Clone, Debug)]
pub struct City {
    /// Region.
    pub region: RegionId,
    /// Its directory.
    pub dir: PathBuf,
    /// `node.toml`.
    pub config: PathBuf,
    /// API address.
    pub api: SocketAddr,
    /// libp2p multiaddr with `/p2p/<PeerId>`.
    pub p2p: String,
    /// Tokens.
    pub access: Access,
    /// What partners pin.
    pub anchor: Anchor,
}

/// A free loopback port for a node of a local federation (bound and released), distinct from
/// every port this process handed out before. Picked below the kernel's ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`): a port from that range can be taken, between
/// this call and the node's bind, as the local port of any outgoing connection or `bind(0)`
/// socket, and the node would fail to start with `bind_failed`. Falls back to an ephemeral
/// port when no low port is free.
///
/// # Errors
/// When no port can be bound.
pub fn free_port() -> std::io::Result<u16> {
    use rand_core::RngCore;
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    const FLOOR: u16 = 10_000;
    if low > FLOOR + 1000 {
        for _ in 0..256 {
            let p = FLOOR + (rand_core::OsRng.next_u32() % u32::from(low - FLOOR)) as u16;
            if !given.contains(&p) && TcpListener::bind(("127.0.0.1", p)).is_ok() {
                given.push(p);
                return Ok(p);
            }
        }
    }
    let p = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    given.push(p);
    Ok(p)
}

/// Pins `anchor` (root + delegations) into the stopped node of `cfg`, as
/// `POST /v1/admin/trust` would.
///
/// # Errors
/// Store, key or validation errors (a delegation not signed by the anchor's root is refused).
pub fn pin_offline(cfg: &NodeConfig, anchor: &Anchor) -> anyhow::Result<()> {
    pin_offline_all(cfg, std::slice::from_ref(anchor))
}

/// [`pin_offline`] for several anchors with one store open (a large federation's setup).
///
/// # Errors
/// As [`pin_offline`].
pub fn pin_offline_all(cfg: &NodeConfig, anchors: &[Anchor]) -> anyhow::Result<()> {
    let store = crate::store::open(cfg, false)?;
    let state = build_state(cfg, store, system_clock())?;
    let (ingest, worker) = Ingest::start(Arc::clone(&state), 64)?;
    // Everything is queued in order (a pin before the delegations it roots), then awaited: one
    // flush covers the lot instead of one flush per pin and per delegation.
    let r = (|| -> anyhow::Result<()> {
        let err = |e: IngestError| anyhow::anyhow!("{e}");
        let (mut pins, mut objects) = (Vec::new(), Vec::new());
        for anchor in anchors {
            let region: RegionId = anchor.region.parse()?;
            let root: PublicKey = anchor.root_key.parse()?;
            let ev = AuditEvent::AdminChange {
                at: state.now(),
                token_id: "local".into(),
                action: "trust.pin".into(),
                detail: format!("{region} {}", root.fingerprint()),
            };
            pins.push(ingest.queue_admin(vec![MetaWrite::Pin(region, root)], Some(ev)).map_err(err)?);
            for h in &anchor.delegations {
                objects.push(ingest.queue_blocking(&hex::decode(h)?, Source::Local).map_err(err)?);
            }
        }
        for rx in pins {
            rx.blocking_recv().unwrap_or_else(|_| Err(IngestError::writer_stopped())).map_err(err)?;
        }
        for rx in objects {
            rx.blocking_recv().unwrap_or_else(|_| Err(IngestError::writer_stopped())).map_err(err)?;
        }
        Ok(())
    })();
    drop(ingest);
    worker.stop();
    r
}

/// Creates `cities` under `dir` with fresh keys, a shared person secret, bootstrap lists and
/// cross-pinned anchors. Ports are picked free on 127.0.0.1.
///
/// # Errors
/// Any init, config or store error.
pub fn create(dir: &Path, cities: &[RegionId], sync_interval_ms: u64) -> anyhow::Result<Vec<City>> {
    std::fs::create_dir_all(dir)?;
    let secret = dir.join("person.secret");
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
    keyfile::write_secret(&secret, hex::encode(seed).as_bytes())?;
    let mut out = Vec::new();
    for region in cities {
        let cdir = dir.join(region.as_str());
        let api: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let p2p_port = free_port()?;
        let o = InitOptions {
            region: region.clone(),
            dir: cdir.clone(),
            api_listen: api,
            admin_listen: None,
            p2p_listen: Some(format!("/ip4/127.0.0.1/tcp/{p2p_port}")),
            person_secret_file: Some(secret.clone()),
        };
        let access = init(&o).map_err(|e| anyhow::anyhow!("init {region}: {e}"))?;
        let anchor: Anchor = serde_json::from_slice(&std::fs::read(cdir.join("anchor.json"))?)?;
        let p2p = format!("/ip4/127.0.0.1/tcp/{p2p_port}/p2p/{}", anchor.peer_id);
        out.push(City { region: region.clone(), config: cdir.join("node.toml"), dir: cdir, api, p2p, access, anchor });
    }
    for c in &out {
        let mut cfg = NodeConfig::load(&c.config)?;
        cfg.p2p.bootstrap = out.iter().filter(|o| o.region != c.region).map(|o| o.p2p.clone()).collect();
        cfg.p2p.sync_interval_ms = sync_interval_ms;
        let text = format!("# credfed node of {}. Written by `credfed-node demo`.\n{}", c.region, cfg.to_toml());
        keyfile::write_public(&c.config, text.as_bytes())?;
        let others: Vec<Anchor> = out.iter().filter(|o| o.region != c.region).map(|o| o.anchor.clone()).collect();
        pin_offline_all(&cfg, &others)?;
    }
    Ok(out)
}
