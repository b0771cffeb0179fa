//! `credfed-node`: `init` a region, `pin` a partner's anchor, `run` a node. All logic lives in
//! the library.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use credfed_node::config::{LogFormat, NodeConfig};
use credfed_node::init::{init, Anchor, InitOptions};
use credfed_protocol::keys::PublicKey;
use credfed_protocol::RegionId;

#[derive(Parser)]
#[command(name = "credfed-node", version, about = "credfed federation node")]
struct Cli {
    /// Log format (overrides the config).
    #[arg(long, global = true)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a ready region (keys, delegations, store, tokens, node.toml, access.json).
    Init {
        #[arg(long)]
        region: RegionId,
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8440")]
        api_listen: SocketAddr,
        #[arg(long)]
        admin_listen: Option<SocketAddr>,
        #[arg(long)]
        p2p_listen: Option<String>,
        /// Federation person-digest secret (hex file) shared by all nodes.
        #[arg(long)]
        person_secret: Option<PathBuf>,
    },
    /// Pin a partner region's anchor (root key + delegations, the `anchor.json` its `init`
    /// wrote) into this node's store, offline: the node must be stopped. Compare the printed
    /// fingerprint with the one the partner's administrator reads you out of band.
    Pin {
        /// This node's config.
        #[arg(long)]
        config: PathBuf,
        /// The partner's `anchor.json`.
        #[arg(long)]
        anchor: PathBuf,
    },
    /// Serve a node.
    Run {
        #[arg(long)]
        config: PathBuf,
    },
    /// A local federation of several cities on loopback (each a child `run` process), with
    /// sample records flowing, until Ctrl-C. Writes DIR/demo.json.
    Demo {
        /// Directory for the cities (default: a new temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Number of cities (2-8): xinyang, suzhou, luan, anqing, huanggang, zhumadian, xiaogan, suizhou.
        #[arg(long, default_value_t = 3)]
        cities: usize,
    },
}

fn tracing_init(format: LogFormat, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| filter.into());
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => b.json().init(),
        LogFormat::Human => b.init(),
    }
    // A panic (caught per request by the API, answered 500) is one log line with its place,
    // not a symbolized backtrace: resolving one loads the debug info (~170 MB RSS, issue 15).
    std::panic::set_hook(Box::new(|info| {
        let place = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(%place, panic = %what, "panic");
    }));
}

/// SIGTERM or SIGINT. The handlers are installed when this is called (inside the runtime,
/// before the node starts listening), so a signal during start-up is never lost or fatal.
fn signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal as unix_signal, SignalKind};
    let term = unix_signal(SignalKind::terminate()).ok();
    let int = unix_signal(SignalKind::interrupt()).ok();
    async move {
        let wait = |s: Option<tokio::signal::unix::Signal>| async move {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! { _ = wait(term) => {}, _ = wait(int) => {} }
    }
}

/// `pin`: loads the config and the anchor, pins it; returns the region and root fingerprint.
fn pin(config: &Path, anchor: &Path) -> anyhow::Result<(String, String)> {
    let cfg = NodeConfig::load(config)?;
    let text = std::fs::read(anchor).with_context(|| format!("{}", anchor.display()))?;
    let a: Anchor = serde_json::from_slice(&text).with_context(|| format!("{}", anchor.display()))?;
    // The fingerprint shown is computed from the key, not copied from the file.
    let root: PublicKey = a.root_key.parse().with_context(|| format!("{}: root_key", anchor.display()))?;
    credfed_node::setup::pin_offline(&cfg, &a)?;
    Ok((a.region, root.fingerprint()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Init { region, dir, api_listen, admin_listen, p2p_listen, person_secret } => {
            tracing_init(cli.log_format.unwrap_or_default(), "warn");
            let o = InitOptions {
                region,
                dir: dir.clone(),
                api_listen,
                admin_listen,
                p2p_listen,
                person_secret_file: person_secret,
            };
            match init(&o) {
                Ok(a) => {
                    println!("initialised region {} in {}", a.region, dir.display());
                    println!("  config: {}", dir.join("node.toml").display());
                    println!("  tokens: {} (keep it private)", dir.join("access.json").display());
                    println!("  root key: {} (move it offline)", dir.join("keys/root.key").display());
                    println!("run it: credfed-node run --config {}", dir.join("node.toml").display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Cmd::Pin { config, anchor } => {
            tracing_init(cli.log_format.unwrap_or_default(), "warn");
            match pin(&config, &anchor) {
                Ok((region, fingerprint)) => {
                    println!("pinned region {region} (root fingerprint {fingerprint}) into {}", config.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: pin: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Cmd::Demo { dir, cities } => {
            tracing_init(cli.log_format.unwrap_or_default(), "warn");
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
            match rt.block_on(async { credfed_node::demo::run(dir, cities, signal()).await }) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: demo: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Cmd::Run { config } => {
            let cfg = match NodeConfig::load(&config) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: config_invalid: {e}");
                    return ExitCode::from(2);
                }
            };
            tracing_init(cli.log_format.unwrap_or(cfg.log.format), &cfg.log.filter);
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
            match rt.block_on(async { credfed_node::run(cfg, signal()).await }) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(code = e.code(), error = %e, "node did not start");
                    eprintln!("error: {}: {e}", e.code());
                    ExitCode::from(2)
                }
            }
        }
    }
}
