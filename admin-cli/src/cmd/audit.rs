//! `audit checkpoint|export|verify`.
//!
//! * `checkpoint` fetches the node's signed checkpoint, verifies the node signature and any
//!   cosignatures by known witnesses, and proves it consistent with the checkpoint remembered
//!   from last time (RFC 9162 consistency proof from the node), then remembers the newer one.
//!   An inconsistency is printed loudly, kept as evidence, and exits 2.
//! * `export` saves a bundle; `verify` checks one fully offline with
//!   [`credfed_protocol::bundle::verify_bundle`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use credfed_protocol::bundle::{verify_bundle_bytes, AuditBundle, VerifyReport, MAX_BUNDLE_LEN};
use credfed_protocol::checkpoint::{Note, SignedCheckpoint};
use credfed_protocol::keys::PublicKey;
use credfed_protocol::merkle::{self, Hash};
use credfed_protocol::RegionId;
use serde_json::json;

use crate::client::Client;
use crate::exit::{CliError, CliResult, Exit, ExitContext};
use crate::keyfile::write_atomic;
use crate::time_arg;
use crate::Ctx;

/// `audit …`.
#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Fetch and verify the node's signed checkpoint; prove it consistent with the one
    /// remembered from last time and remember it.
    Checkpoint {
        /// The node's public key (hex); default: the key `/v1/health` reports. Pass the key you
        /// know out of band so a node cannot simply present another one.
        #[arg(long)]
        node_key: Option<PublicKey>,
        /// Where the last checkpoint is remembered (default ~/.credfed/checkpoints/REGION.txt).
        #[arg(long)]
        state: Option<PathBuf>,
        /// A witness whose cosignatures to check: NAME=PUBHEX (repeatable).
        #[arg(long = "witness", value_parser = parse_witness)]
        witnesses: Vec<(String, PublicKey)>,
        /// Remember the node's checkpoint even though it belongs to a new audit log (epoch)
        /// of the region — after its administrator confirmed a store rebuild.
        #[arg(long)]
        accept_new_log: bool,
    },
    /// Download an audit bundle of leaves [from, to) under a fresh checkpoint.
    Export {
        /// First leaf index.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// One past the last leaf index (default: the checkpoint size).
        #[arg(long)]
        to: Option<u64>,
        /// Bundle file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a bundle offline: signatures, feed chains, Merkle root, consistency with an
    /// earlier checkpoint, authorization of every accepted object. Exit 0 only when everything
    /// verifies.
    Verify {
        /// The bundle file.
        bundle: PathBuf,
        /// Region roots you pinned out of band: JSON {"region": "roothex", …}. Without it the
        /// bundle's own anchors are used (self-consistency only).
        #[arg(long)]
        trust: Option<PathBuf>,
        /// An earlier checkpoint (signed note file) of the same log.
        #[arg(long)]
        previous: Option<PathBuf>,
        /// How many failures to list (human output).
        #[arg(long, default_value_t = 20)]
        show: usize,
    },
}

fn parse_witness(s: &str) -> Result<(String, PublicKey), String> {
    let (name, key) = s.split_once('=').ok_or("expected NAME=PUBHEX")?;
    Ok((name.to_owned(), key.parse().map_err(|e| format!("{e}"))?))
}

/// Runs `audit …`.
pub fn run(ctx: &Ctx, cmd: AuditCmd) -> CliResult {
    match cmd {
        AuditCmd::Checkpoint { node_key, state, witnesses, accept_new_log } => {
            checkpoint(ctx, node_key, state, &witnesses, accept_new_log)
        }
        AuditCmd::Export { from, to, out } => export(ctx, from, to, &out),
        AuditCmd::Verify { bundle, trust, previous, show } => {
            verify(ctx, &bundle, trust.as_deref(), previous.as_deref(), show)
        }
    }
}

fn default_state(region: &str) -> CliResult<PathBuf> {
    let home = std::env::var_os("HOME").ok_or_else(|| CliError::usage("HOME is not set: pass --state FILE"))?;
    Ok(PathBuf::from(home).join(".credfed").join("checkpoints").join(format!("{region}.txt")))
}

fn hash_hex(s: &str) -> CliResult<Hash> {
    hex::decode(s)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| CliError::connection(format!("the node sent a malformed proof hash {s:?}")))
}

/// Consistency between two checkpoints of one log, fetched from the node.
enum Relation {
    FirstSeen,
    Same,
    Grew {
        proof_len: usize,
    },
    OlderServed {
        proof_len: usize,
    },
    /// The region started a new audit log (its store was rebuilt) and the auditor accepted it.
    NewLog,
}

fn prove(c: &Client, old: &SignedCheckpoint, new: &SignedCheckpoint) -> CliResult<Result<usize, String>> {
    let (o, n) = (old.checkpoint(), new.checkpoint());
    let p = match c.consistency(o.size, n.size)? {
        Ok(p) => p,
        Err(why) => return Ok(Err(format!("the node cannot prove it: {why}"))),
    };
    let proof: Vec<Hash> = p.proof.iter().map(|h| hash_hex(h)).collect::<CliResult<_>>()?;
    Ok(merkle::verify_consistency(o.size, n.size, &o.root, &n.root, &proof)
        .map(|()| proof.len())
        .map_err(|e| e.to_string()))
}

fn loud(title: &str, lines: &[String]) {
    let bar = "!".repeat(78);
    eprintln!("{bar}\n!! {title}");
    for l in lines {
        eprintln!("!! {l}");
    }
    eprintln!("{bar}");
}

fn checkpoint(
    ctx: &Ctx,
    node_key: Option<PublicKey>,
    state: Option<PathBuf>,
    witnesses: &[(String, PublicKey)],
    accept_new_log: bool,
) -> CliResult {
    let c = ctx.client()?;
    let health = c.health()?;
    let region: RegionId =
        health.region.parse().map_err(|e| CliError::connection(format!("the node reports a bad region: {e}")))?;
    let served_key: Option<PublicKey> = health.node_key.as_deref().and_then(|k| k.parse().ok());
    let key = match (node_key, served_key) {
        (Some(k), Some(s)) if k != s => {
            return Err(CliError::failed(format!(
                "the node presents key {} ({}), not the expected {} ({})",
                s.to_hex(),
                s.fingerprint(),
                k.to_hex(),
                k.fingerprint()
            )))
        }
        (Some(k), _) | (None, Some(k)) => k,
        (None, None) => return Err(CliError::usage("the node does not report its key: pass --node-key")),
    };
    let text = c.checkpoint()?;
    let cp = SignedCheckpoint::open(&text, region.as_str(), &key)
        .exit_ctx(Exit::Failed, format!("the checkpoint does not verify under node key {}", key.fingerprint()))?;
    if credfed_protocol::bundle::log_epoch(&cp.checkpoint().origin, region.as_str()).is_none() {
        return Err(CliError::failed(format!(
            "checkpoint origin {:?}, expected {:?} or …/audit/<epoch>",
            cp.checkpoint().origin,
            credfed_protocol::bundle::origin_line(region.as_str())
        )));
    }
    let cosigs = cp.cosignatures(witnesses);
    let note = Note::parse(&text).exit_ctx(Exit::Failed, "checkpoint note")?;
    let other_lines = note.signatures().len().saturating_sub(1 + cosigs.len());

    let state_path = match state {
        Some(p) => p,
        None => default_state(region.as_str())?,
    };
    let previous = match std::fs::read_to_string(&state_path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(CliError::usage(format!("{}: {e}", state_path.display()))),
    };
    let prev = match &previous {
        Some(t) => Some(SignedCheckpoint::open(t, region.as_str(), &key).map_err(|e| {
            CliError::new(
                Exit::Usage,
                anyhow::anyhow!(
                    "the remembered checkpoint {} does not verify under this node key ({e}); \
                     if the node key was rotated, move the file away after checking why",
                    state_path.display()
                ),
            )
        })?),
        None => None,
    };
    let (p, n) = (prev.as_ref().map(|p| p.checkpoint().clone()), cp.checkpoint().clone());
    let relation = match &prev {
        None => Ok(Relation::FirstSeen),
        Some(pc) if pc.checkpoint().origin != n.origin => {
            if accept_new_log {
                Ok(Relation::NewLog)
            } else {
                Err((
                    "NEW_LOG",
                    format!(
                        "the node now serves a different audit log ({:?}, was {:?}): the region started a new log \
                     after its store was rebuilt, so nothing proves the old log's history from here. Confirm the \
                     rebuild with the region's administrator, then re-run with --accept-new-log",
                        n.origin,
                        pc.checkpoint().origin
                    ),
                ))
            }
        }
        Some(pc) => {
            let p = pc.checkpoint();
            if p.size == n.size {
                if p.root == n.root {
                    Ok(Relation::Same)
                } else {
                    Err((
                        "INCONSISTENT",
                        format!("same size {} but a different root: the node shows two different histories", n.size),
                    ))
                }
            } else if p.size < n.size {
                match prove(&c, pc, &cp)? {
                    Ok(proof_len) => Ok(Relation::Grew { proof_len }),
                    Err(e) => {
                        Err(("INCONSISTENT", format!("size {} → {}: consistency proof fails: {e}", p.size, n.size)))
                    }
                }
            } else {
                match prove(&c, &cp, pc)? {
                    Ok(proof_len) => Ok(Relation::OlderServed { proof_len }),
                    Err(e) => Err((
                        "INCONSISTENT",
                        format!("served size {} after size {} was seen: not a prefix: {e}", n.size, p.size),
                    )),
                }
            }
        }
    };
    let mut v = json!({
        "region": region,
        "node_key": key.to_hex(),
        "node_key_fingerprint": key.fingerprint(),
        "size": n.size,
        "root": hex::encode(n.root),
        "cosignatures": cosigs.iter().map(|(w, t)| json!({ "witness": w, "timestamp": t })).collect::<Vec<_>>(),
        "unverified_signature_lines": other_lines,
        "previous": p.as_ref().map(|p| json!({ "size": p.size, "root": hex::encode(p.root) })),
        "state_file": state_path.display().to_string(),
    });
    match relation {
        Err((label, why)) => {
            let evidence = state_path.with_extension(format!("conflict-{}.txt", time_arg::now()));
            let both = format!("{}\n{text}", previous.unwrap_or_default());
            write_atomic(&evidence, both.as_bytes(), 0o644)?;
            v["consistency"] = json!(label);
            v["reason"] = json!(why);
            v["evidence"] = json!(evidence.display().to_string());
            loud(
                if label == "NEW_LOG" { "AUDIT LOG REPLACED" } else { "AUDIT INCONSISTENCY" },
                &[
                    format!("region {region}, node key {}", key.fingerprint()),
                    why.clone(),
                    format!("both checkpoints saved to {}", evidence.display()),
                    "the remembered checkpoint was NOT replaced; report this to the federation".into(),
                ],
            );
            ctx.out.emit(&v, || format!("{label}: {why}"));
            Err(CliError::reported(Exit::Usage))
        }
        Ok(rel) => {
            let (label, detail) = match rel {
                Relation::FirstSeen => ("first_seen", "no earlier checkpoint remembered; this one is now".to_string()),
                Relation::Same => ("same", "same as the remembered checkpoint".to_string()),
                Relation::Grew { proof_len } => {
                    ("consistent", format!("consistent with the remembered size {} ({proof_len}-hash proof)", p.as_ref().map_or(0, |p| p.size)))
                }
                Relation::NewLog => (
                    "new_log",
                    format!("a new audit log {:?} replaces {:?} (accepted)", n.origin, p.as_ref().map(|p| p.origin.clone()).unwrap_or_default()),
                ),
                Relation::OlderServed { proof_len } => (
                    "older_served",
                    format!(
                        "the node served an older checkpoint than the remembered size {}; it is a prefix ({proof_len}-hash proof); keeping the newer one",
                        p.as_ref().map_or(0, |p| p.size)
                    ),
                ),
            };
            v["consistency"] = json!(label);
            if matches!(label, "first_seen" | "consistent" | "new_log") {
                write_atomic(&state_path, text.as_bytes(), 0o644)?;
            }
            ctx.out.emit(&v, || {
                let mut s = format!(
                    "checkpoint of {region}: size {}, root {}\n  node signature OK ({})\n",
                    n.size,
                    hex::encode(n.root),
                    key.fingerprint()
                );
                for (w, t) in &cosigs {
                    s.push_str(&format!("  cosigned by {w} at {}\n", time_arg::show(*t)));
                }
                if other_lines > 0 {
                    s.push_str(&format!(
                        "  {other_lines} other signature line(s) from keys not given with --witness\n"
                    ));
                }
                s.push_str(&format!("  {detail}\n  remembered in {}\n", state_path.display()));
                s
            });
            Ok(())
        }
    }
}

fn export(ctx: &Ctx, from: u64, to: Option<u64>, out: &Path) -> CliResult {
    let c = ctx.client()?;
    let bytes = c.export(from, to)?;
    let b = AuditBundle::decode(&bytes)
        .map_err(|e| CliError::failed(format!("the node's export does not decode as a bundle: {e}")))?;
    write_atomic(out, &bytes, 0o644)?;
    let v = json!({
        "out": out.display().to_string(), "bytes": bytes.len(), "region": b.region, "tree_size": b.leaf_hashes.len(),
        "from": b.from, "to": b.to(), "envelopes": b.envelopes.len(), "feed_entries": b.feed_entries.len(),
        "trust_objects": b.trust_objects.len(),
    });
    ctx.out.emit(&v, || {
        format!(
            "wrote {} ({} bytes): region {}, leaves [{}, {}) of {}, {} envelopes, {} feed entries, {} trust objects\n\
             check it offline: credfed-admin audit verify {} --trust ROOTS.json",
            out.display(),
            bytes.len(),
            b.region,
            b.from,
            b.to(),
            b.leaf_hashes.len(),
            b.envelopes.len(),
            b.feed_entries.len(),
            b.trust_objects.len(),
            out.display()
        )
    });
    Ok(())
}

/// Reads `{"region": "roothex", …}`.
fn read_roots(path: &Path) -> CliResult<Vec<(RegionId, PublicKey)>> {
    let text = std::fs::read(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    let m: BTreeMap<String, String> = serde_json::from_slice(&text)
        .map_err(|e| CliError::usage(format!("{}: expected {{\"region\": \"roothex\"}}: {e}", path.display())))?;
    m.into_iter()
        .map(|(r, k)| {
            let region = r.parse().map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
            let key = k.parse().map_err(|e| CliError::usage(format!("{}: root of {r}: {e}", path.display())))?;
            Ok((region, key))
        })
        .collect()
}

fn verify(ctx: &Ctx, bundle: &Path, trust: Option<&Path>, previous: Option<&Path>, show: usize) -> CliResult {
    let meta = std::fs::metadata(bundle).map_err(|e| CliError::usage(format!("{}: {e}", bundle.display())))?;
    if meta.len() > MAX_BUNDLE_LEN as u64 {
        return Err(CliError::failed(format!("{} is over the {MAX_BUNDLE_LEN}-byte bundle limit", bundle.display())));
    }
    let bytes = std::fs::read(bundle).map_err(|e| CliError::usage(format!("{}: {e}", bundle.display())))?;
    let roots = trust.map(read_roots).transpose()?;
    let prev = previous
        .map(|p| std::fs::read_to_string(p).map_err(|e| CliError::usage(format!("{}: {e}", p.display()))))
        .transpose()?;
    let report = verify_bundle_bytes(&bytes, roots.as_deref(), prev.as_deref());
    ctx.out.emit(&report, || human_report(&report, show));
    if report.ok {
        Ok(())
    } else {
        Err(CliError::reported(Exit::Failed))
    }
}

/// The human rendering of a report.
pub fn human_report(r: &VerifyReport, show: usize) -> String {
    let c = &r.counts;
    let mut s = String::new();
    if r.ok {
        s.push_str(&format!("VERIFIED: audit bundle of {} is valid\n", r.region));
    } else {
        let n = r.failures.len() as u64 + r.failures_omitted;
        s.push_str(&format!("FAILED: audit bundle of {} does not verify ({n} failure(s))\n", r.region));
    }
    if let (Some(size), Some(root)) = (r.checkpoint_size, &r.checkpoint_root) {
        s.push_str(&format!("  checkpoint: size {size}, root {root}\n"));
    }
    s.push_str(&format!(
        "  leaves [{}, {}) of {}: {} accepted, {} published, {} rejected, {} quarantined, {} other\n",
        r.from, r.to, c.tree_size, c.accepted, c.published, c.rejected_events, c.quarantined, c.other_events
    ));
    s.push_str(&format!(
        "  {} envelopes, {} feed entries, {} trust objects, {} anchors; {} signatures checked, {} objects authorized\n",
        c.envelopes, c.feed_entries, c.trust_objects, c.anchors, c.signatures_checked, c.authorized
    ));
    if c.unchecked_targets > 0 {
        s.push_str(&format!(
            "  {} acting object(s) target objects outside the bundle (origin rule unchecked)\n",
            c.unchecked_targets
        ));
    }
    if c.unplaced_revocations > 0 {
        s.push_str(&format!(
            "  {} revocation(s) accepted outside the range were not replayed\n",
            c.unplaced_revocations
        ));
    }
    if c.witnessed_before_revocation > 0 {
        s.push_str(&format!(
            "  {} object(s) of a since-revoked key accepted late: their feed entries precede the revocation\n",
            c.witnessed_before_revocation
        ));
    }
    for (w, t) in &r.cosigners {
        s.push_str(&format!("  checkpoint cosigned by {w} at {}\n", time_arg::show(*t)));
    }
    if let Some(p) = r.previous_size {
        s.push_str(&format!("  consistent with the earlier checkpoint of size {p}\n"));
    }
    if r.trust_source == "bundle" {
        s.push_str(
            "  note: trust anchors were taken from the bundle itself; pass --trust ROOTS.json with roots you pinned\n",
        );
    }
    if let Some(f) = r.first_failure() {
        s.push_str(&format!("first failure: {f}\n"));
        for f in r.failures.iter().skip(1).take(show.saturating_sub(1)) {
            s.push_str(&format!("  also: {f}\n"));
        }
        let more = (r.failures.len().saturating_sub(show.max(1))) as u64 + r.failures_omitted;
        if more > 0 {
            s.push_str(&format!("  … and {more} more (--json lists them)\n"));
        }
    }
    s
}
