//! `node.toml`: the node's configuration.
//!
//! Every setting has a default except `region` and the key files. Unknown keys are an error
//! that names the key and the file (`#[serde(deny_unknown_fields)]`). Relative paths are taken
//! relative to the directory holding the config file. Settings that only the federation layer
//! uses today (`p2p.*`, `federation.person_secret_file`, rule/calendar overrides) are parsed and
//! validated already, so configs written now stay valid.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use credfed_protocol::RegionId;
use serde::{Deserialize, Serialize};

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// TOML syntax, unknown key or invalid value (the message names the key and position).
    #[error("config {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// toml's message naming the key.
        message: String,
    },
}

/// The whole configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// This node's region id, e.g. `xinyang`.
    pub region: RegionId,
    /// Display name of the region (e.g. 信阳市).
    #[serde(default)]
    pub region_name: Option<String>,
    /// Six-digit administrative division code of the region.
    #[serde(default)]
    pub division_code: Option<String>,
    /// Data directory; relative to the config file. Default: the config file's directory.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// HTTP API.
    #[serde(default)]
    pub api: ApiConfig,
    /// Admin listener (Prometheus `/metrics`).
    #[serde(default)]
    pub admin: AdminConfig,
    /// libp2p settings (used by the federation layer).
    #[serde(default)]
    pub p2p: P2pConfig,
    /// Key files.
    pub keys: KeysConfig,
    /// Federation-wide settings.
    #[serde(default)]
    pub federation: FederationConfig,
    /// Credit-rule overrides.
    #[serde(default)]
    pub rules: RulesConfig,
    /// Store tuning.
    #[serde(default)]
    pub store: StoreConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// Where the config was loaded from (set by [`NodeConfig::load`]).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// HTTP API settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// Largest request body (bytes); larger → 413.
    pub max_body_bytes: usize,
    /// Largest `POST /v1/records/batch` body (bytes); larger → 413.
    pub max_batch_body_bytes: usize,
    /// Batch requests read and processed at once (bounds their memory: this × the batch body
    /// limit); others wait for a slot up to the handler timeout, then 503 with `Retry-After`.
    pub max_concurrent_batches: usize,
    /// Most concurrent connections (see `api::conn` for who gets shed when full).
    pub max_connections: usize,
    /// Most concurrent connections from one client address.
    pub max_connections_per_client: usize,
    /// Extra connection slots that serve only `/v1/health` and admin-token requests.
    pub reserved_connections: usize,
    /// Seconds to read request headers before the connection is dropped.
    pub header_read_timeout_secs: u64,
    /// Upper bound (seconds) on reading one request body.
    pub body_timeout_secs: u64,
    /// Slowest accepted body upload (bytes/s): a body must arrive within
    /// 2 s + length / rate (and within `body_timeout_secs`), else 408.
    pub min_body_rate_bytes: u64,
    /// Seconds a handler may run before the request gets 503 with `Retry-After`.
    pub handler_timeout_secs: u64,
    /// Seconds without a byte read or written before a connection (idle keep-alive, stalled
    /// response write) is closed.
    pub idle_timeout_secs: u64,
    /// Serve `/v1/admin/*` on the API listener too (admin token still required).
    pub admin_routes: bool,
    /// Requests per second per token (0 = unlimited); over it → 429.
    pub rate_per_token: u32,
    /// Burst size of the per-token limit.
    pub burst_per_token: u32,
    /// Path prefix of the C2SP transparency-log routes (`{prefix}/checkpoint`,
    /// `{prefix}/tile/…`, `{prefix}/add-checkpoint`): `/` and one or more segments, no
    /// trailing `/`, outside `/v1/`, `/console` and `/metrics`.
    pub tlog_prefix: String,
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            listen: "127.0.0.1:8440".parse().expect("literal"),
            max_body_bytes: 256 * 1024,
            max_batch_body_bytes: 4 * 1024 * 1024,
            max_concurrent_batches: 4,
            max_connections: 2048,
            max_connections_per_client: 1024,
            reserved_connections: 64,
            header_read_timeout_secs: 10,
            body_timeout_secs: 30,
            min_body_rate_bytes: 16 * 1024,
            handler_timeout_secs: 30,
            idle_timeout_secs: 60,
            admin_routes: true,
            rate_per_token: 10_000,
            burst_per_token: 20_000,
            tlog_prefix: DEFAULT_TLOG_PREFIX.to_string(),
        }
    }
}

impl ApiConfig {
    /// Limits that must be positive, and an idle bound above the handler bound (a connection
    /// must not be closed under a handler that is still within its time).
    ///
    /// # Errors
    /// The key and what it must be.
    pub fn check(&self) -> Result<(), String> {
        let positive = [
            ("max_connections", self.max_connections as u64),
            ("max_batch_body_bytes", self.max_batch_body_bytes as u64),
            ("max_concurrent_batches", self.max_concurrent_batches as u64),
            ("max_connections_per_client", self.max_connections_per_client as u64),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("body_timeout_secs", self.body_timeout_secs),
            ("min_body_rate_bytes", self.min_body_rate_bytes),
            ("handler_timeout_secs", self.handler_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
        ];
        if let Some((k, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("api.{k} must be at least 1"));
        }
        check_tlog_prefix(&self.tlog_prefix)?;
        if self.idle_timeout_secs <= self.handler_timeout_secs {
            return Err(format!(
                "api.idle_timeout_secs ({}) must be greater than api.handler_timeout_secs ({})",
                self.idle_timeout_secs, self.handler_timeout_secs
            ));
        }
        Ok(())
    }
}

/// The default `api.tlog_prefix` (route templates are written with it).
pub const DEFAULT_TLOG_PREFIX: &str = "/tlog";

/// `api.tlog_prefix`: `/seg[/seg…]`, segments of `[A-Za-z0-9._~-]`, clear of the other routes.
fn check_tlog_prefix(p: &str) -> Result<(), String> {
    let segs_ok = p.strip_prefix('/').is_some_and(|rest| {
        rest.split('/').all(|s| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b))
        })
    });
    let clash = ["/v1", "/console", "/metrics"].iter().any(|r| p == *r || p.starts_with(&format!("{r}/")));
    if !segs_ok || clash || p.len() > 128 {
        return Err(format!(
            "api.tlog_prefix {p:?} must be /segment[/segment...] (letters, digits, . _ ~ -; at most 128 bytes), \
             no trailing /, outside /v1, /console and /metrics"
        ));
    }
    Ok(())
}

/// Admin listener settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Listen address for `/metrics` and `/v1/admin/*`; none = not served.
    pub listen: Option<SocketAddr>,
}

/// libp2p settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct P2pConfig {
    /// Multiaddrs to listen on.
    pub listen: Vec<String>,
    /// Multiaddrs (with `/p2p/<PeerId>`) to dial at start.
    pub bootstrap: Vec<String>,
    /// Most connected peers.
    pub max_peers: u32,
    /// Anti-entropy and witnessing interval (milliseconds).
    pub sync_interval_ms: u64,
    /// Start the libp2p swarm (off: a single, unfederated node).
    pub enabled: bool,
}

impl Default for P2pConfig {
    fn default() -> P2pConfig {
        P2pConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
            bootstrap: Vec::new(),
            max_peers: 64,
            sync_interval_ms: 5_000,
            enabled: true,
        }
    }
}

/// One authority key file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityKeyConfig {
    /// Authority name (as in its delegation).
    pub name: String,
    /// Hex seed file.
    pub file: PathBuf,
}

/// Key files (hex ed25519 seeds, mode 0600).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// The node key (feed entries, checkpoints, libp2p identity).
    pub node_key: PathBuf,
    /// Authority keys the node signs drafts with.
    #[serde(default)]
    pub authorities: Vec<AuthorityKeyConfig>,
}

/// Federation-wide settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationConfig {
    /// File holding the hex person-digest secret shared by all nodes.
    pub person_secret_file: Option<PathBuf>,
}

/// Rule and calendar overrides.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// JSON rules override file.
    pub rules_file: Option<PathBuf>,
    /// JSON holiday-calendar override file.
    pub calendar_file: Option<PathBuf>,
}

/// Store tuning.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Directory of the sled database, relative to `data_dir`.
    pub path: PathBuf,
    /// sled page-cache size in MiB.
    pub cache_mb: u64,
    /// After each `flush()`, also `fdatasync` sled's files (power-loss durability; see
    /// `store` docs).
    pub fsync: bool,
    /// Most requests waiting for the writer; more → 503 `busy`.
    pub queue: usize,
    /// Free space (MiB) the data filesystem must keep: below it new writes are refused with
    /// 503 `insufficient_storage` until space is freed (0: no reserve).
    pub min_free_mb: u64,
}

impl Default for StoreConfig {
    fn default() -> StoreConfig {
        StoreConfig { path: PathBuf::from("store"), cache_mb: 128, fsync: true, queue: 4096, min_free_mb: 64 }
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// Logging.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Format.
    pub format: LogFormat,
    /// `tracing` filter, e.g. `info,credfed_node=debug`.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig { format: LogFormat::Human, filter: "info".into() }
    }
}

impl NodeConfig {
    /// Reads and validates `path`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file and, for bad content, the key.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let mut cfg =
            NodeConfig::parse(&text).map_err(|message| ConfigError::Invalid { path: path.into(), message })?;
        cfg.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if cfg.base_dir.as_os_str().is_empty() {
            cfg.base_dir = PathBuf::from(".");
        }
        Ok(cfg)
    }

    /// Parses TOML text (no path resolution).
    ///
    /// # Errors
    /// toml's message, which names the offending key and its position.
    pub fn parse(text: &str) -> Result<NodeConfig, String> {
        let cfg: NodeConfig = toml::from_str(text).map_err(|e| e.to_string().trim_end().replace('\n', " "))?;
        cfg.api.check()?;
        Ok(cfg)
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        match &self.data_dir {
            Some(d) => self.resolve(d),
            None => self.base_dir.clone(),
        }
    }

    /// A path relative to the config file's directory (absolute paths unchanged).
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// The sled directory.
    pub fn store_dir(&self) -> PathBuf {
        let p = &self.store.path;
        if p.is_absolute() {
            p.clone()
        } else {
            self.data_dir().join(p)
        }
    }

    /// TOML text of this config.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = "region = \"xinyang\"\n[keys]\nnode_key = \"keys/node.key\"\n";

    #[test]
    fn defaults_fill_in() {
        let c = NodeConfig::parse(MIN).unwrap();
        assert_eq!(c.api.max_body_bytes, 256 * 1024);
        assert!(c.store.fsync);
        let back = NodeConfig::parse(&c.to_toml()).unwrap();
        assert_eq!(back.region, c.region);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = NodeConfig::parse(&format!("{MIN}[api]\nlisten_addr = \"x\"\n")).unwrap_err();
        assert!(e.contains("listen_addr"), "{e}");
        let e = NodeConfig::parse("region = \"Bad Region\"\n[keys]\nnode_key = \"k\"\n").unwrap_err();
        assert!(e.contains("region"), "{e}");
    }

    #[test]
    fn tlog_prefix_is_checked() {
        let mut a = ApiConfig::default();
        assert_eq!(a.tlog_prefix, "/tlog");
        for ok in ["/tlog", "/logs/credfed-xinyang", "/a.b_c~d"] {
            a.tlog_prefix = ok.into();
            assert!(a.check().is_ok(), "{ok}");
        }
        for bad in
            ["", "/", "tlog", "/tlog/", "/v1", "/v1/tlog", "/console", "/metrics/x", "/a//b", "/a b", "/..", "/{x}"]
        {
            a.tlog_prefix = bad.into();
            assert!(a.check().unwrap_err().contains("tlog_prefix"), "{bad}");
        }
    }
}
