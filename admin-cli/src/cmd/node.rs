//! Node administration: `peers`, `tokens`, `policy`, and the audit-scope reads `feeds` and
//! `compliance`.

use std::path::PathBuf;

use clap::Subcommand;
use credfed_protocol::trust::LocalPolicy;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use crate::client::segment;
use crate::exit::{CliError, CliResult, Exit};
use crate::output::plain;
use crate::Ctx;

/// `peers …`.
#[derive(Subcommand, Debug)]
pub enum PeersCmd {
    /// Connected peers.
    List,
    /// Ban a peer (by libp2p PeerId): disconnect it and refuse it from now on.
    Ban {
        /// The PeerId.
        peer_id: String,
        /// Why (kept in the audit log).
        #[arg(long, default_value = "banned by administrator")]
        reason: String,
    },
}

/// `tokens …`.
#[derive(Subcommand, Debug)]
pub enum TokensCmd {
    /// Issue a token (shown once; the node keeps only its hash).
    Issue {
        /// submit, query, audit or admin.
        #[arg(long)]
        scope: String,
    },
    /// Revoke a token by id.
    Revoke {
        /// Token id (from `tokens list`).
        id: String,
    },
    /// Token ids and scopes.
    List,
}

/// `policy …`.
#[derive(Subcommand, Debug)]
pub enum PolicyCmd {
    /// The node's local policy.
    Show,
    /// Replace the local policy with a JSON file
    /// (`{"accepted_kinds":{"region":[kinds]},"shared_entitled":[regions]}`).
    Set {
        /// JSON file.
        file: PathBuf,
        /// Replace a policy that has rules with one that has none (the node refuses that
        /// otherwise: an empty policy accepts every kind from every pinned region).
        #[arg(long)]
        force: bool,
    },
}

/// Runs `peers …`.
pub fn peers(ctx: &Ctx, cmd: PeersCmd) -> CliResult {
    let c = ctx.client()?;
    match cmd {
        PeersCmd::List => {
            let v: Value = c.get_json("/v1/admin/peers")?;
            ctx.out.emit(&v, || {
                let list = v["peers"].as_array().cloned().unwrap_or_default();
                if list.is_empty() {
                    return "no peers connected".into();
                }
                list.iter().map(|p| format!("{}\n", p)).collect()
            });
        }
        PeersCmd::Ban { peer_id, reason } => {
            let path = format!("/v1/admin/peers/{}/ban", segment(&peer_id));
            let body = serde_json::to_vec(&json!({ "reason": reason }))?;
            let r = c.send(Method::POST, &path, Some(("application/json", body)))?;
            if !r.status.is_success() {
                let code = r.json::<Value>().ok().and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
                let missing_route = matches!(r.status, StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED)
                    && code.as_deref() != Some("peer_not_found");
                if missing_route {
                    return Err(CliError::connection(format!(
                        "this node does not serve POST {path} (answered {}); until it does, cut the peer off by \
                         revoking its node key (credfed-admin revoke) or unpinning its region",
                        r.status.as_u16()
                    )));
                }
                return Err(CliError::new(Exit::Connection, crate::client::http_error(&Method::POST, &path, &r)));
            }
            let v: Value = r.json().unwrap_or(json!({ "peer_id": peer_id, "banned": true }));
            ctx.out.emit(&v, || format!("banned {peer_id}"));
        }
    }
    Ok(())
}

/// Runs `tokens …`.
pub fn tokens(ctx: &Ctx, cmd: TokensCmd) -> CliResult {
    let c = ctx.client()?;
    match cmd {
        TokensCmd::Issue { scope } => {
            if !["submit", "query", "audit", "admin"].contains(&scope.as_str()) {
                return Err(CliError::usage("--scope must be submit, query, audit or admin"));
            }
            let v: Value = c.json(Method::POST, "/v1/admin/tokens", &json!({ "scope": scope }))?;
            ctx.out.emit(&v, || {
                format!(
                    "token {} (scope {}):\n{}\nIt is shown once: hand it to the platform now; the node keeps only its hash.",
                    plain(&v["id"]),
                    plain(&v["scope"]),
                    plain(&v["token"])
                )
            });
        }
        TokensCmd::Revoke { id } => {
            let v: Value = c.call(Method::DELETE, &format!("/v1/admin/tokens/{}", segment(&id)), None)?.json()?;
            ctx.out.emit(&v, || format!("revoked token {id}"));
        }
        TokensCmd::List => {
            let v: Value = c.get_json("/v1/admin/tokens")?;
            ctx.out.emit(&v, || {
                let mut s = String::new();
                for t in v["tokens"].as_array().into_iter().flatten() {
                    s.push_str(&format!(
                        "{:<24} {:<7} created {}\n",
                        plain(&t["id"]),
                        plain(&t["scope"]),
                        t["created_at"].as_u64().map(crate::time_arg::show).unwrap_or_else(|| plain(&t["created_at"]))
                    ));
                }
                if s.is_empty() {
                    s.push_str("no tokens");
                }
                s
            });
        }
    }
    Ok(())
}

/// Runs `policy …`.
pub fn policy(ctx: &Ctx, cmd: PolicyCmd) -> CliResult {
    match cmd {
        PolicyCmd::Show => {
            let c = ctx.client()?;
            let v: Value = c.get_json("/v1/admin/policy")?;
            ctx.out.emit(&v, || serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        PolicyCmd::Set { file, force } => {
            let text = std::fs::read(&file).map_err(|e| CliError::usage(format!("{}: {e}", file.display())))?;
            let p: LocalPolicy = serde_json::from_slice(&text).map_err(|e| {
                CliError::new(Exit::Failed, anyhow::anyhow!("{} is not a valid policy: {e}", file.display()))
            })?;
            let c = ctx.client()?;
            let path = if force { "/v1/admin/policy?force=true" } else { "/v1/admin/policy" };
            let v: Value = c.json(Method::PUT, path, &serde_json::to_value(&p)?)?;
            ctx.out.emit(&v, || {
                format!(
                    "policy replaced: {} region rules, {} regions entitled to shared bodies",
                    p.accepted_kinds.len(),
                    p.shared_entitled.len()
                )
            });
        }
    }
    Ok(())
}

/// `feeds`.
pub fn feeds(ctx: &Ctx) -> CliResult {
    let c = ctx.client()?;
    let v: Value = c.get_json("/v1/feeds")?;
    ctx.out.emit(&v, || {
        let mut s = String::from("feed heads:\n");
        for h in v["heads"].as_array().into_iter().flatten() {
            s.push_str(&format!("  {:<12} seq {:>8}  {}\n", plain(&h["origin"]), plain(&h["seq"]), plain(&h["hash"])));
        }
        let eq = v["equivocations"].as_array().map_or(0, Vec::len);
        if eq > 0 {
            s.push_str(&format!("!! {eq} EQUIVOCATION PROOF(S): an origin signed two different entries at one seq\n"));
        } else {
            s.push_str("no equivocation proofs\n");
        }
        let split = v["split_views"].as_array().map(Vec::as_slice).unwrap_or_default();
        if split.is_empty() {
            s.push_str("no split views\n");
        } else {
            s.push_str(&format!(
                "!! {} SPLIT VIEW(S): a node signed checkpoints of its audit log that contradict each other\n",
                split.len()
            ));
            for e in split {
                s.push_str(&format!("   {}: {}\n", plain(&e["region"]), plain(&e["reason"])));
            }
        }
        s
    });
    Ok(())
}

/// `compliance`.
pub fn compliance(ctx: &Ctx) -> CliResult {
    let c = ctx.client()?;
    let v: Value = c.get_json("/v1/compliance")?;
    ctx.out.emit(&v, || {
        let mut s = format!("compliance as of {}\n", plain(&v["as_of"]));
        s.push_str(&format!(
            "  {:<12} {:<32} {:>7} {:>10} {:>9} {:>9}\n",
            "region", "kind", "records", "timeliness", "repaired", "obj.open"
        ));
        for r in v["by_region_and_kind"].as_array().into_iter().flatten() {
            s.push_str(&format!(
                "  {:<12} {:<32} {:>7} {:>9.1}% {:>9} {:>9}\n",
                plain(&r["region"]),
                plain(&r["kind"]),
                plain(&r["records"]),
                r["timeliness"].as_f64().unwrap_or(0.0) * 100.0,
                plain(&r["repaired"]),
                plain(&r["objections_open"]),
            ));
        }
        let overdue = v["receipts_overdue"].as_array().map_or(0, Vec::len);
        s.push_str(&format!("receipts overdue: {overdue}\n"));
        s
    });
    Ok(())
}
