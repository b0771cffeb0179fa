//! `records submit|show` and `subject show`.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use credfed_protocol::objects;
use credfed_protocol::uscc::Uscc;
use credfed_protocol::Day;
use hyper::{Method, StatusCode};
use serde_json::Value;

use crate::client::segment;
use crate::exit::{CliError, CliResult, Exit};
use crate::output::plain;
use crate::Ctx;

/// `records …`.
#[derive(Subcommand, Debug)]
pub enum RecordsCmd {
    /// Submit a record draft (JSON, `POST /v1/records`: the node signs it) or a pre-signed
    /// envelope (CBOR or its hex, `POST /v1/envelopes`: delegations and revocations from
    /// `delegate`/`revoke` go in this way too). The format is taken from the extension
    /// (.json, .cbor) or the content.
    Submit {
        /// The file.
        file: PathBuf,
    },
    /// Import a national-format 双公示 export (CSV UTF-8/GB18030, XLSX, JSON, NDJSON; CF_* or
    /// XK_* columns by code, lower-case code or Chinese name): validated locally, sent in
    /// batches, rejects to `<input>.rejects.csv`, resumable. Exit 1 when any row was rejected.
    Import(crate::cmd::import::ImportArgs),
    /// Export records in the national 双公示 columns (CSV: CF_* for penalties, XK_* for
    /// licences, plus credfed_id/origin/status) or as NDJSON record views, following the node's
    /// pages (`GET /v1/records/export`); the list filters select what is exported.
    Export(crate::cmd::export::ExportArgs),
    /// A record with its derived status and history.
    Show {
        /// Object id (64 hex).
        id: String,
        /// Status as of this day (YYYY-MM-DD).
        #[arg(long)]
        as_of: Option<Day>,
    },
}

/// `subject …`.
#[derive(Subcommand, Debug)]
pub enum SubjectCmd {
    /// Every record about a legal entity, from every region this node may see.
    Show {
        /// The entity's USCC.
        uscc: String,
        /// Status as of this day (YYYY-MM-DD).
        #[arg(long)]
        as_of: Option<Day>,
    },
}

enum Payload {
    Draft(Vec<u8>),
    Envelope(Vec<u8>),
}

fn classify(path: &Path, bytes: Vec<u8>) -> CliResult<Payload> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    let text = std::str::from_utf8(&bytes).ok().map(str::trim);
    let is_hex = text.is_some_and(|t| !t.is_empty() && t.len() % 2 == 0 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    match ext.as_str() {
        "json" => return Ok(Payload::Draft(bytes)),
        "cbor" | "env" | "bin" => return Ok(Payload::Envelope(bytes)),
        _ => {}
    }
    if is_hex {
        let raw = hex::decode(text.unwrap_or_default()).map_err(|e| CliError::usage(e.to_string()))?;
        return Ok(Payload::Envelope(raw));
    }
    if text.is_some_and(|t| t.starts_with('{')) {
        return Ok(Payload::Draft(bytes));
    }
    if bytes.first() == Some(&0x84) {
        return Ok(Payload::Envelope(bytes));
    }
    Err(CliError::usage(format!("{}: neither a JSON draft nor a CBOR envelope", path.display())))
}

/// Runs `records …`.
pub fn records(ctx: &Ctx, cmd: RecordsCmd) -> CliResult {
    match cmd {
        RecordsCmd::Import(a) => return crate::cmd::import::run(ctx, a),
        RecordsCmd::Export(a) => return crate::cmd::export::run(ctx, a),
        RecordsCmd::Submit { file } => {
            let bytes = std::fs::read(&file).map_err(|e| CliError::usage(format!("{}: {e}", file.display())))?;
            let (route, ct, body, local_id) = match classify(&file, bytes)? {
                Payload::Draft(b) => {
                    serde_json::from_slice::<Value>(&b)
                        .map_err(|e| CliError::failed(format!("{} is not valid JSON: {e}", file.display())))?;
                    ("/v1/records", "application/json", b, None)
                }
                Payload::Envelope(b) => {
                    // Check locally first: a broken envelope never leaves the machine.
                    let o = objects::open(&b).map_err(|e| {
                        CliError::failed(format!("{}: not a valid signed object: {} ({e})", file.display(), e.code()))
                    })?;
                    ("/v1/envelopes", "application/cbor", b, Some(o.id().to_hex()))
                }
            };
            let c = ctx.client()?;
            let r = c.call(Method::POST, route, Some((ct, body)))?;
            let v: Value = r.json()?;
            let dup = r.status == StatusCode::OK;
            if let (Some(id), Some(got)) = (&local_id, v["id"].as_str()) {
                if id != got {
                    return Err(CliError::failed(format!("the node reports id {got}, the envelope's id is {id}")));
                }
            }
            ctx.out.emit(&v, || {
                let what = if dup { "already known" } else { "accepted" };
                format!("{what}: id {}  origin {}  seq {}", plain(&v["id"]), plain(&v["origin"]), plain(&v["seq"]))
            });
        }
        RecordsCmd::Show { id, as_of } => {
            if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(CliError::usage("an object id is 64 hex characters"));
            }
            let c = ctx.client()?;
            let q = as_of.map(|d| format!("?as_of={d}")).unwrap_or_default();
            let r = c.send(Method::GET, &format!("/v1/records/{id}{q}"), None)?;
            let v: Value = if r.status == StatusCode::NOT_FOUND {
                // Not a record (a delegation, repair…): the audit view of any object.
                c.get_json(&format!("/v1/objects/{id}"))?
            } else if r.status.is_success() {
                r.json()?
            } else {
                return Err(CliError::new(
                    Exit::Connection,
                    crate::client::http_error(&Method::GET, &format!("/v1/records/{id}"), &r),
                ));
            };
            ctx.out.emit(&v, || human_record(&v));
        }
    }
    Ok(())
}

fn human_record(v: &Value) -> String {
    if v.get("kind").is_none() {
        return serde_json::to_string_pretty(v).unwrap_or_default();
    }
    let mut s = format!(
        "{}  {}  {}\n  status {} (since {}), as of {}\n  origin {} seq {}  signer {}…\n  subject {}  decided {}  {}\n",
        plain(&v["id"]),
        plain(&v["kind"]),
        plain(&v["classification"]),
        plain(&v["status"]),
        plain(&v["status_since"]),
        plain(&v["as_of"]),
        plain(&v["origin"]),
        plain(&v["seq"]),
        &plain(&v["signer"]).chars().take(16).collect::<String>(),
        plain(&v["subject"]),
        plain(&v["decided_on"]),
        if v["body_visible"] == true { "" } else { "(body not public any more)" },
    );
    if let Some(r) = v.get("record") {
        for k in ["subject_name", "authority", "decision_no", "legal_basis", "severity", "facts"] {
            if let Some(x) = r.get(k).filter(|x| !x.is_null()) {
                s.push_str(&format!("  {k:>14}: {}\n", plain(x)));
            }
        }
    }
    for (label, key) in [("history", "history"), ("receipts", "receipts"), ("measures", "measures")] {
        if let Some(a) = v[key].as_array().filter(|a| !a.is_empty()) {
            s.push_str(&format!("  {label}:\n"));
            for h in a {
                s.push_str(&format!("    {h}\n"));
            }
        }
    }
    s
}

/// Runs `subject …`.
pub fn subject(ctx: &Ctx, cmd: SubjectCmd) -> CliResult {
    let SubjectCmd::Show { uscc, as_of } = cmd;
    let code: Uscc = uscc.parse().map_err(|e: credfed_protocol::uscc::UsccError| {
        CliError::failed(format!("{uscc}: invalid USCC: {e} (check with `credfed-admin uscc check {uscc}`)"))
    })?;
    let c = ctx.client()?;
    let q = as_of.map(|d| format!("?as_of={d}")).unwrap_or_default();
    let v: Value = c.get_json(&format!("/v1/subjects/{}/records{q}", segment(code.as_str())))?;
    ctx.out.emit(&v, || {
        let list = v["records"].as_array().cloned().unwrap_or_default();
        let mut s = format!("{}: {} record(s) as of {}\n", code.as_str(), list.len(), plain(&v["as_of"]));
        for r in &list {
            s.push_str(&format!(
                "  {}…  {:<10} {:<28} {:<16} decided {}\n",
                &plain(&r["id"]).chars().take(16).collect::<String>(),
                plain(&r["origin"]),
                plain(&r["kind"]),
                plain(&r["status"]),
                plain(&r["decided_on"]),
            ));
        }
        s
    });
    Ok(())
}
