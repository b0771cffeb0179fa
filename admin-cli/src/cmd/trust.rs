//! `trust pin|list|unpin`: a node's pinned region roots (`/v1/admin/trust`).

use clap::Subcommand;
use credfed_protocol::keys::PublicKey;
use credfed_protocol::RegionId;
use hyper::Method;
use serde_json::{json, Value};

use crate::client::segment;
use crate::exit::{CliError, CliResult};
use crate::output::plain;
use crate::time_arg;
use crate::Ctx;

/// Warn about delegations expiring within this many seconds.
pub const EXPIRY_WARNING_SECS: u64 = 30 * 86_400;

/// `trust …`.
#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum TrustCmd {
    /// Pin a partner region's root key. Compare the fingerprint with the partner out of band
    /// and pass it with --fingerprint: the pin is refused when it differs.
    Pin {
        /// Region id.
        #[arg(long)]
        region: RegionId,
        /// Root public key (hex).
        #[arg(long)]
        root: PublicKey,
        /// The fingerprint the partner read to you (SHA256:…).
        #[arg(long)]
        fingerprint: Option<String>,
    },
    /// Pinned anchors and known delegations (with expiry warnings).
    List,
    /// Unpin a region: its keys stop being accepted and its peers are disconnected.
    Unpin {
        /// Region id.
        region: RegionId,
    },
}

fn normalize_fp(s: &str) -> String {
    s.trim().to_lowercase().trim_start_matches("sha256:").replace([':', ' '], "")
}

/// Runs `trust …`.
pub fn run(ctx: &Ctx, cmd: TrustCmd) -> CliResult {
    match cmd {
        TrustCmd::Pin { region, root, fingerprint } => {
            let fp = root.fingerprint();
            match &fingerprint {
                Some(given) if normalize_fp(given) != normalize_fp(&fp) => {
                    return Err(CliError::failed(format!(
                        "fingerprint mismatch: the key's fingerprint is {fp}, you were given {given}; NOT pinned"
                    )));
                }
                Some(_) => {}
                None => eprintln!(
                    "warning: pinning without --fingerprint; confirm {fp} with {region}'s administrator out of band"
                ),
            }
            let c = ctx.client()?;
            let v: Value =
                c.json(Method::POST, "/v1/admin/trust", &json!({ "region": region, "root_key": root.to_hex() }))?;
            ctx.out.emit(&v, || format!("pinned {region}: {} ({fp})", root.to_hex()));
        }
        TrustCmd::List => {
            let c = ctx.client()?;
            let v: Value = c.get_json("/v1/admin/trust")?;
            let now = time_arg::now();
            ctx.out.emit(&v, || human_list(&v, now));
        }
        TrustCmd::Unpin { region } => {
            let c = ctx.client()?;
            let v: Value =
                c.call(Method::DELETE, &format!("/v1/admin/trust/{}", segment(region.as_str())), None)?.json()?;
            ctx.out.emit(&v, || format!("unpinned {region}"));
        }
    }
    Ok(())
}

fn human_list(v: &Value, now: u64) -> String {
    let mut s = String::from("anchors:\n");
    for a in v["anchors"].as_array().into_iter().flatten() {
        s.push_str(&format!("  {:<12} {}  {}\n", plain(&a["region"]), plain(&a["root_key"]), plain(&a["fingerprint"])));
    }
    s.push_str("delegations:\n");
    for d in v["delegations"].as_array().into_iter().flatten() {
        let not_after = d["not_after"].as_u64().unwrap_or(0);
        let mut state = if d["revoked_from"].is_u64() {
            format!("REVOKED from {}", time_arg::show(d["revoked_from"].as_u64().unwrap_or(0)))
        } else if not_after <= now {
            "EXPIRED".to_string()
        } else if not_after <= now + EXPIRY_WARNING_SECS {
            format!("expires in {} days", (not_after - now) / 86_400)
        } else {
            "valid".to_string()
        };
        if d["not_before"].as_u64().is_some_and(|nb| nb > now) {
            state = "not yet valid".into();
        }
        let key = plain(&d["key"]);
        s.push_str(&format!(
            "  {:<12} {:<9} {}…  {}  until {}  [{state}]\n",
            plain(&d["region"]),
            plain(&d["role"]),
            &key[..key.len().min(16)],
            plain(&d["authority_name"]),
            time_arg::show(not_after),
        ));
    }
    s
}
