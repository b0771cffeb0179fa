//! # credfed-tests
//!
//! Multi-node scenario tests (ARCHITECTURE: `tests/`; STYLE habit 17: tests run real nodes).
//! The harness starts real cities — in-process or as separate `credfed-node` processes — over
//! real libp2p on loopback, and drives them through their HTTP API.
//!
//! ## Layout
//! | module | what |
//! |---|---|
//! | `lib.rs` | the `credfed-node` binary, the suite-wide serial lock, [`wait_until`], small helpers |
//! | [`net`] | [`TestNet`]: `setup::create` in a tempdir; start / kill -9 / restart; typed API helpers |
//! | [`http`] | bounded HTTP client |
//! | [`proxy`] | chaos TCP proxy (F13.1): one link per ordered pair, `blackhole`, heal |
//! | [`rogue`] | a scripted `credfed_net` swarm for gossip / sync attacks (F6, F10) |
//!
//! ## Rules the tests follow
//! * every wait is a poll with a deadline ([`wait_until`]); no sleep-and-hope;
//! * tests take a suite-wide file lock ([`serial_lock`], taken by [`TestNet::new`]): timing
//!   oracles on 2 cores are flaky when federations run side by side (RELIABILITY §4);
//! * fast anti-entropy (`sync_ms` 500) so bounded waits stay short.
//!
//! Environment: `CREDFED_KEEP=1` keeps the federation directories (logs: `DIR/<region>/node.log`);
//! `CREDFED_TEST_LOG` sets `RUST_LOG` of node processes (default `warn`); `CREDFED_NODE_BIN`
//! names the `credfed-node` binary to use.

pub mod http;
pub mod net;
pub mod proxy;
pub mod rogue;
pub mod scale;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use credfed_protocol::Day;

pub use net::{penalty_draft, Run, TestNet};

/// Polls `cond` every 25 ms until it holds. Returns how long it took.
///
/// # Errors
/// `what` and the limit, when `cond` did not hold within `timeout`.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut cond: F) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let t0 = Instant::now();
    loop {
        if cond().await {
            return Ok(t0.elapsed());
        }
        if t0.elapsed() > timeout {
            anyhow::bail!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Takes the suite-wide lock (a file lock in the temp directory, so separate test binaries and
/// test threads never run federations side by side). Released when the file is dropped.
///
/// # Panics
/// When the lock file cannot be opened or locked.
pub fn serial_lock() -> std::fs::File {
    let path = std::env::temp_dir().join("credfed-tests.lock");
    let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).expect("lock file");
    f.lock().expect("lock the suite lock file");
    f
}

/// The `credfed-node` binary: `CREDFED_NODE_BIN`, else `target/<profile>/credfed-node` next to
/// the test executable (`target/<profile>/deps/<test>`). Built once per test binary with
/// `cargo build -p credfed-node --bin credfed-node` when it is missing or older than any
/// source it is built from (`node/`, `protocol/`, `Cargo.toml`, `Cargo.lock`), so a test never
/// runs a stale node, and `cargo test --workspace` (which builds it) pays nothing.
///
/// # Panics
/// When the binary cannot be found or built.
pub fn node_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| workspace_binary("credfed-node", "CREDFED_NODE_BIN", &["node", "protocol"])).clone()
}

/// The `credfed-admin` binary (`CREDFED_ADMIN_BIN`), found and rebuilt as [`node_binary`].
///
/// # Panics
/// When the binary cannot be found or built.
pub fn admin_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| workspace_binary("credfed-admin", "CREDFED_ADMIN_BIN", &["admin-cli", "node", "protocol"]))
        .clone()
}

/// Runs `credfed-admin ARGS…` and returns its output.
///
/// # Panics
/// When the binary cannot be run.
pub fn admin<I, S>(args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    std::process::Command::new(admin_binary()).args(args).output().expect("run credfed-admin")
}

/// Runs `credfed-admin --json store rebuild DIR --from-peers ARGS…` and returns its output.
///
/// # Panics
/// When the binary cannot be run.
pub fn store_rebuild(dir: &Path, args: &[&str]) -> std::process::Output {
    let dir = dir.to_string_lossy();
    admin(["--json", "store", "rebuild", &dir, "--from-peers"].iter().chain(args))
}

/// A binary of package `name` (same name), rebuilt when older than a file under `sources`.
fn workspace_binary(name: &str, env: &str, sources: &[&str]) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .ancestors()
        .find(|a| a.join("deps").is_dir() && a.file_name().is_some_and(|n| n != "deps"))
        .expect("test executable under target/<profile>/deps")
        .to_path_buf();
    let bin = profile_dir.join(name);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    if stale(&bin, workspace, sources) {
        build(name, &profile_dir, workspace);
    }
    assert!(bin.is_file(), "{} missing after build", bin.display());
    bin
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Missing, or older than a file it is built from.
fn stale(bin: &Path, workspace: &Path, sources: &[&str]) -> bool {
    let Some(built) = mtime(bin) else { return true };
    let mut stack: Vec<PathBuf> = sources.iter().map(|s| workspace.join(s)).collect();
    let newer = |p: &Path| mtime(p).is_some_and(|m| m > built);
    if newer(&workspace.join("Cargo.toml")) || newer(&workspace.join("Cargo.lock")) {
        return true;
    }
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "target" && n != "tests" && n != "benches") {
                    stack.push(p);
                }
            } else if newer(&p) {
                return true;
            }
        }
    }
    false
}

fn build(name: &str, profile_dir: &Path, workspace: &Path) {
    let target = profile_dir.parent().expect("target dir");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(workspace).args(["build", "-q", "-p", name, "--bin", name, "--target-dir"]);
    cmd.arg(target);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("run cargo build");
    assert!(status.success(), "cargo build -p {name} failed");
}

/// Now, Unix seconds.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

/// Today (China-local) minus `days`.
pub fn days_ago(days: i64) -> Day {
    Day::from_unix_china(now()).add_days(-days)
}

/// Today (China-local).
pub fn today() -> Day {
    days_ago(0)
}

/// A valid USCC registered in `division` (6 digits), numbered `n` (check character computed).
///
/// # Panics
/// When `division` is not 6 ASCII digits.
pub fn uscc(division: &str, n: u64) -> String {
    credfed_protocol::bundle::sample::uscc(division, n).to_string()
}

/// A fresh random 32-character hex canary.
pub fn canary() -> String {
    let mut b = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    hex::encode(b)
}

/// Percentile (0–100) of sorted `v`, nearest-rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Count of non-overlapping occurrences of `needle` in `hay`.
pub fn count_hits(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || hay.len() < needle.len() {
        return 0;
    }
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// A signed `administrative_penalty` envelope of `region` about `uscc`, signed by `key`
/// (whatever key the test wants to forge with). `facts` is carried as given.
///
/// # Panics
/// On an invalid region or USCC.
pub fn record_envelope(
    key: &credfed_protocol::keys::SecretKey,
    region: &str,
    uscc: &str,
    classification: credfed_protocol::Classification,
    facts: &str,
) -> Vec<u8> {
    record_envelope_at(key, region, uscc, classification, facts, now())
}

/// [`record_envelope`] claiming to be signed at `signed_at` (Unix seconds).
///
/// # Panics
/// On an invalid region or USCC.
pub fn record_envelope_at(
    key: &credfed_protocol::keys::SecretKey,
    region: &str,
    uscc: &str,
    classification: credfed_protocol::Classification,
    facts: &str,
    signed_at: u64,
) -> Vec<u8> {
    use credfed_protocol::objects::{Body, Nonce, RecordBody, RecordContent, Subject};
    let record = RecordContent {
        subject_name: Some("某环保科技有限公司".into()),
        authority: "某市生态环境局".into(),
        legal_basis: "《中华人民共和国大气污染防治法》第一百零八条".into(),
        facts: Some(facts.into()),
        sector: "ecology_environment".into(),
        classification,
        penalty_types: Vec::new(),
        ..credfed_protocol::bundle::sample::penalty(
            Subject::Uscc(uscc.parse().expect("valid USCC")),
            "环罚〔2026〕1号".into(),
            days_ago(30),
        )
    };
    let region = region.parse().expect("valid region");
    Body::Record(RecordBody { region, signed_at, nonce: Nonce::random(&mut rand_core::OsRng), record })
        .sign(key)
        .encode()
}

/// The id (hex) of an envelope.
///
/// # Panics
/// When the bytes are not an envelope.
pub fn envelope_id(bytes: &[u8]) -> String {
    credfed_protocol::envelope::Envelope::decode(bytes).expect("an envelope").id().to_hex()
}

/// A fresh ed25519 key.
pub fn fresh_key() -> credfed_protocol::keys::SecretKey {
    credfed_protocol::keys::SecretKey::generate(&mut rand_core::OsRng)
}
