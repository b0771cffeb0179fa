//! `store check|rebuild`: diagnose a (stopped) node's store directory; refill it from peers.
//!
//! `check` never touches the original: it copies the store to a temporary directory and opens
//! the copy through the node library ([`credfed_node::store::SledStore::open`], which runs
//! sled's recovery and the node's own open-time invariants), then reports object counts (every
//! stored envelope re-opened: strict decode, signature, id), feed
//! heads (and their signed chains), the audit log size, a re-hash of every audit leaf against
//! its stored hash, the rebuilt Merkle root against the stored frontier and the last signed
//! checkpoint. `--in-place` skips the copy (sled may then write recovery state).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use std::time::Duration;

use credfed_node::config::NodeConfig;
use credfed_node::rebuild;
use credfed_node::store::{SledOptions, SledStore, Store};
use credfed_protocol::feed::{verify_chain, SignedFeedEntry};
use credfed_protocol::merkle::{leaf_hash, Frontier};
use credfed_protocol::{objects, ObjectType};
use serde_json::{json, Value};

use crate::exit::{CliError, CliResult, Exit};
use crate::Ctx;

/// `store …`.
#[derive(Subcommand, Debug)]
pub enum StoreCmd {
    /// Diagnose a stopped node's store (on a copy: the directory is left untouched).
    Check {
        /// The node directory (holding node.toml) or the store directory itself.
        dir: PathBuf,
        /// Open the store in place instead of a copy.
        #[arg(long)]
        in_place: bool,
    },
    /// Refill a fresh store from peers (the node must be stopped). The damaged store is moved
    /// aside (never deleted); pins, policy and token records come back from
    /// `local-state.json` / `anchor.json`; every feed, our own included, from the peers.
    Rebuild {
        /// The node directory (holding node.toml), or the node's config file.
        dir: PathBuf,
        /// Fetch everything from the federation's peers (the only source there is).
        #[arg(long, required = true)]
        from_peers: bool,
        /// Peers whose feed heads must be heard before recovery ends (default 2, or fewer
        /// when fewer partner regions are pinned).
        #[arg(long)]
        min_peers: Option<u32>,
        /// Seconds to wait for the peers; on timeout the store stays in recovery and
        /// `credfed-node run` finishes it.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// A partner's (or this region's) anchor.json, when local-state.json is missing or
        /// incomplete. Repeatable.
        #[arg(long = "anchor", value_name = "FILE")]
        anchors: Vec<PathBuf>,
        /// Rebuild even when the store opens cleanly (it is moved aside, not deleted).
        #[arg(long)]
        force: bool,
    },
}

/// Runs `store …`.
pub fn run(ctx: &Ctx, cmd: StoreCmd) -> CliResult {
    match cmd {
        StoreCmd::Check { dir, in_place } => check(ctx, &dir, in_place),
        StoreCmd::Rebuild { dir, from_peers: _, min_peers, timeout, anchors, force } => {
            let mut a = Vec::new();
            for p in &anchors {
                let text = std::fs::read(p).map_err(|e| CliError::usage(format!("{}: {e}", p.display())))?;
                a.push(serde_json::from_slice(&text).map_err(|e| CliError::usage(format!("{}: {e}", p.display())))?);
            }
            let opts = rebuild::Options { min_peers, timeout: Duration::from_secs(timeout), anchors: a, force };
            rebuild_cmd(ctx, &dir, opts)
        }
    }
}

fn node_config(dir: &Path) -> CliResult<NodeConfig> {
    let toml = if dir.is_file() { dir.to_path_buf() } else { dir.join("node.toml") };
    if !toml.exists() {
        return Err(CliError::usage(format!(
            "{}: not a node directory (no node.toml) nor a config file",
            dir.display()
        )));
    }
    NodeConfig::load(&toml).map_err(|e| CliError::usage(format!("{}: {e}", toml.display())))
}

fn store_dir(dir: &Path) -> CliResult<PathBuf> {
    if dir.is_file() || dir.join("node.toml").exists() {
        return Ok(node_config(dir)?.store_dir());
    }
    if dir.join("conf").exists() || dir.join("db").exists() {
        return Ok(dir.to_path_buf());
    }
    Err(CliError::usage(format!("{}: neither a node directory (node.toml) nor a sled store", dir.display())))
}

fn rebuild_cmd(ctx: &Ctx, dir: &Path, opts: rebuild::Options) -> CliResult {
    let cfg = node_config(dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let json = ctx.out.json;
    let mut shown = String::new();
    let report = rt
        .block_on(rebuild::run(cfg, opts, |s| {
            let line = format!(
                "recovering: {}/{} peers heard; {}",
                s.peers_heard,
                s.min_peers,
                s.origins.iter().map(|(o, (t, h))| format!("{o} {h}/{t}")).collect::<Vec<_>>().join(", ")
            );
            if !json && line != shown {
                eprintln!("{line}");
                shown = line;
            }
        }))
        .map_err(|e| match e {
            rebuild::RebuildError::Usage(m) => CliError::usage(m),
            rebuild::RebuildError::Failed(m) => CliError::failed(m),
        })?;
    ctx.out.emit(&report, || rebuild_human(&report));
    if report.complete {
        Ok(())
    } else {
        Err(CliError::reported(Exit::Failed))
    }
}

fn rebuild_human(r: &rebuild::Report) -> String {
    let mut s = String::new();
    match &r.previous {
        Some(p) => s.push_str(&format!("damaged store moved aside to {p} (not deleted)\n")),
        None if r.resumed => s.push_str("resumed an interrupted rebuild\n"),
        None => {}
    }
    s.push_str(&format!(
        "restored from {}: {} pinned regions, {} trust objects, {} token records, policy {}\n",
        if r.restored.sources.is_empty() { "the store".to_owned() } else { r.restored.sources.join(", ") },
        r.restored.pins,
        r.restored.trust_objects,
        r.restored.tokens,
        if r.restored.policy { "restored" } else { "default" }
    ));
    for (o, h) in &r.heads {
        let t = r.targets.get(o).map_or_else(|| "-".to_owned(), u64::to_string);
        s.push_str(&format!("  feed {o:<12} head {h:>7}  peers' highest {t:>7}\n"));
    }
    s.push_str(&format!(
        "{} objects held; {} of our own entries came back without a body (restricted, or withheld by every peer)\n",
        r.objects, r.own_bodies_missing
    ));
    if r.complete {
        s.push_str(&format!(
            "REBUILT in {:.1} s from {} peers: start the node with `credfed-node run`. The audit log starts again \
             (the old one is in the moved-aside store); tell partner administrators, whose witnesses will \
             report our log's rollback.\n",
            r.elapsed_ms as f64 / 1000.0,
            r.peers_heard
        ));
    } else {
        s.push_str(&format!(
            "NOT COMPLETE after {:.0} s ({} of {} peers heard): the store stays in recovery; `credfed-node run` \
             finishes it when peers are reachable (submissions are refused with `recovering` until then), or run \
             this command again.\n",
            r.elapsed_ms as f64 / 1000.0,
            r.peers_heard,
            r.min_peers
        ));
    }
    s
}

fn check(ctx: &Ctx, dir: &Path, in_place: bool) -> CliResult {
    let original = store_dir(dir)?;
    let (_tmp, path) = if in_place {
        (None, original.clone())
    } else {
        let (tmp, copy) =
            rebuild::copy_next_to(&original, ".credfed-store-check").map_err(|e| CliError::usage(e.to_string()))?;
        (Some(tmp), copy)
    };
    let opts = SledOptions { cache_bytes: 64 * 1024 * 1024, fsync: false, create: false, min_free_bytes: 0 };
    let store = match SledStore::open(&path, &opts) {
        Ok(s) => s,
        Err(e) => {
            let v = json!({ "store": original.display().to_string(), "opens": false, "code": e.code(), "error": e.to_string() });
            ctx.out.emit(&v, || {
                format!(
                    "store {}: DOES NOT OPEN ({})\n  {e}\n  the node will refuse to start; nothing was changed. \
                     Rebuild it from peers: credfed-admin store rebuild DIR --from-peers.",
                    original.display(),
                    e.code()
                )
            });
            return Err(CliError::reported(Exit::Failed));
        }
    };
    let report = diagnose(&store, &original).map_err(|e| CliError::new(Exit::Failed, e))?;
    let ok = report["problems"].as_array().is_none_or(Vec::is_empty);
    ctx.out.emit(&report, || human(&report));
    drop(store);
    if ok {
        Ok(())
    } else {
        Err(CliError::reported(Exit::Failed))
    }
}

fn diagnose(store: &SledStore, original: &Path) -> anyhow::Result<Value> {
    let mut problems: Vec<String> = Vec::new();
    let stats = store.stats();
    let mut objects = serde_json::Map::new();
    let mut total = 0usize;
    let mut unverified = Vec::new();
    for t in ObjectType::ALL {
        let ids = store.by_type(*t)?;
        for id in &ids {
            // Every stored envelope must still open (strict decode, signature) under its id.
            let ok = store.object(id)?.is_some_and(|o| objects::open(&o.envelope).is_ok_and(|v| v.id() == *id));
            if !ok {
                unverified.push(id.to_hex());
            }
        }
        total += ids.len();
        objects.insert(t.as_str().into(), json!(ids.len()));
    }
    if !unverified.is_empty() {
        problems.push(format!(
            "{} stored objects are missing or no longer verify (first: {})",
            unverified.len(),
            unverified[0]
        ));
    }
    let mut heads = Vec::new();
    for h in store.feed_heads()? {
        let entries = store.feed_range(&h.origin, 1, h.seq)?;
        let mut chain = Vec::with_capacity(entries.len());
        let mut bad = None;
        for (seq, bytes) in &entries {
            match SignedFeedEntry::open(bytes) {
                Ok(e) => chain.push(e),
                Err(e) => {
                    bad = Some(format!("entry {seq}: {e}"));
                    break;
                }
            }
        }
        let chain_ok = bad.is_none() && verify_chain(&chain).is_ok() && chain.len() as u64 == h.seq;
        if !chain_ok {
            problems.push(format!(
                "feed of {}: {}",
                h.origin,
                bad.unwrap_or_else(|| format!(
                    "{} entries held for head {}; chain broken or gapped",
                    chain.len(),
                    h.seq
                ))
            ));
        }
        heads.push(json!({ "origin": h.origin, "seq": h.seq, "held": entries.len(), "chain_ok": chain_ok }));
    }
    let stored = store.audit_frontier()?;
    let mut rebuilt = Frontier::new();
    let mut mismatched = Vec::new();
    let cp = store.checkpoint()?;
    let mut cp_root_ok = None;
    for i in 0..stored.size() {
        let Some(l) = store.audit_leaf(i)? else {
            problems.push(format!("audit leaf {i} missing"));
            break;
        };
        if leaf_hash(&l.bytes) != l.hash {
            mismatched.push(i);
        }
        rebuilt.push(l.hash)?;
        if let Some(c) = cp.as_ref().filter(|c| c.size == i + 1) {
            cp_root_ok = Some(rebuilt.root() == c.root);
        }
    }
    if !mismatched.is_empty() {
        problems.push(format!(
            "{} audit leaves do not hash to their stored hash (first: {}); the node will refuse to sign checkpoints",
            mismatched.len(),
            mismatched[0]
        ));
    }
    let root_ok = rebuilt.root() == stored.root();
    if !root_ok {
        problems.push("the Merkle root rebuilt from the stored leaf hashes differs from the stored frontier".into());
    }
    if cp_root_ok == Some(false) {
        problems.push("the last signed checkpoint's root differs from the log's prefix of that size".into());
    }
    if let Some(c) = &cp {
        if c.size > stored.size() {
            problems.push(format!("the last checkpoint covers {} leaves but the log holds {}", c.size, stored.size()));
        }
    }
    Ok(json!({
        "store": original.display().to_string(),
        "opens": true,
        "keys": stats.keys,
        "disk_bytes": stats.disk_bytes,
        "objects": total,
        "objects_by_type": objects,
        "feed_heads": heads,
        "anchors": store.anchors()?.iter().map(|(r, k)| json!({ "region": r, "fingerprint": k.fingerprint() })).collect::<Vec<_>>(),
        "tokens": store.tokens()?.len(),
        "audit_size": stored.size(),
        "audit_root": hex::encode(stored.root()),
        "leaf_hash_mismatches": mismatched.len(),
        "root_matches_frontier": root_ok,
        "checkpoint": cp.as_ref().map(|c| json!({ "size": c.size, "root": hex::encode(c.root), "root_matches_log": cp_root_ok })),
        "problems": problems,
    }))
}

fn human(v: &Value) -> String {
    let p = |k: &str| crate::output::plain(&v[k]);
    let mut s = format!("store {}: opens\n", p("store"));
    s.push_str(&format!("  {} keys, {} bytes on disk, {} objects", p("keys"), p("disk_bytes"), p("objects")));
    let by: Vec<String> = v["objects_by_type"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, n)| n.as_u64() != Some(0))
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    s.push_str(&format!(" ({})\n", by.join(", ")));
    for h in v["feed_heads"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "  feed {:<12} head {:>7}  chain {}\n",
            crate::output::plain(&h["origin"]),
            crate::output::plain(&h["seq"]),
            if h["chain_ok"] == true { "ok" } else { "BROKEN" }
        ));
    }
    s.push_str(&format!(
        "  audit log: {} leaves, root {}; leaf-hash self-check: {} mismatches; frontier {}\n",
        p("audit_size"),
        p("audit_root"),
        p("leaf_hash_mismatches"),
        if v["root_matches_frontier"] == true { "matches" } else { "DIFFERS" }
    ));
    if let Some(c) = v["checkpoint"].as_object() {
        s.push_str(&format!(
            "  last checkpoint: size {}, root {}\n",
            crate::output::plain(&c["size"]),
            crate::output::plain(&c["root"])
        ));
    }
    let problems = v["problems"].as_array().cloned().unwrap_or_default();
    if problems.is_empty() {
        s.push_str("no problems found\n");
    } else {
        for pr in problems {
            s.push_str(&format!("PROBLEM: {}\n", crate::output::plain(&pr)));
        }
    }
    s
}
