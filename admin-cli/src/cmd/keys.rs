//! Offline key ceremonies: `keygen`, `delegate`, `revoke`, `fingerprint`. No node is involved;
//! root keys never need to touch a networked machine.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use credfed_protocol::envelope::Envelope;
use credfed_protocol::keys::{PublicKey, SecretKey};
use credfed_protocol::objects::{self, Body, DelegationBody, Nonce, RevocationBody};
use credfed_protocol::{ObjectType, RecordKind, RegionId, Role, Scope};
use rand_core::OsRng;
use serde_json::json;

use crate::exit::{CliError, CliResult, Exit, ExitContext};
use crate::keyfile;
use crate::time_arg::{self, parse_time};
use crate::Ctx;

/// Key roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeyRole {
    /// A region's offline root (trust anchor).
    Root,
    /// A node key (libp2p identity, feed entries, checkpoints).
    Node,
    /// An authority key (signs the object kinds in its scopes).
    Authority,
}

/// `keygen`.
#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// What the key is for.
    #[arg(long, value_enum)]
    pub role: KeyRole,
    /// Secret key file to write (mode 0600); the public key goes to FILE.pub.
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// Delegation roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DelegatedRole {
    /// A node key.
    Node,
    /// An authority key.
    Authority,
}

/// `delegate`.
#[derive(Args, Debug)]
pub struct DelegateArgs {
    /// The region root's secret key file.
    #[arg(long)]
    pub root_key: PathBuf,
    /// Region id (e.g. xinyang).
    #[arg(long)]
    pub region: RegionId,
    /// The delegated public key (hex).
    #[arg(long, conflicts_with = "key_file", required_unless_present = "key_file")]
    pub key: Option<PublicKey>,
    /// A key file holding the delegated key (a secret key file, or a FILE.pub).
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// Role of the delegated key.
    #[arg(long, value_enum)]
    pub role: DelegatedRole,
    /// Authority (or node) name, e.g. 信阳市市场监督管理局.
    #[arg(long)]
    pub authority_name: String,
    /// Object kinds the key may sign (authority role): record kinds (administrative_penalty…)
    /// or object types (repair, withdrawal, correction, objection, objection_resolution,
    /// benefit_scheme, measure_applied); `all` for every one of them.
    #[arg(long = "scope", num_args = 1..)]
    pub scopes: Vec<String>,
    /// Start of validity: now, Unix seconds, YYYY-MM-DD (Beijing midnight) or RFC 3339.
    #[arg(long, default_value = "now")]
    pub not_before: String,
    /// End of validity (exclusive), same forms.
    #[arg(long)]
    pub not_after: String,
    /// Output file for the signed envelope (CBOR).
    #[arg(long, required_unless_present = "hex")]
    pub out: Option<PathBuf>,
    /// Print the envelope as hex on stdout.
    #[arg(long)]
    pub hex: bool,
}

/// `revoke`.
#[derive(Args, Debug)]
pub struct RevokeArgs {
    /// The region root's secret key file.
    #[arg(long)]
    pub root_key: PathBuf,
    /// Region id.
    #[arg(long)]
    pub region: RegionId,
    /// The revoked public key (hex).
    #[arg(long)]
    pub key: PublicKey,
    /// Objects signed at or after this time are rejected: now, Unix seconds, YYYY-MM-DD or
    /// RFC 3339. For a compromised key use the earliest time it may have been exposed.
    #[arg(long)]
    pub from: String,
    /// Why (e.g. key_compromise, rotation).
    #[arg(long)]
    pub reason: String,
    /// Output file for the signed envelope (CBOR).
    #[arg(long, required_unless_present = "hex")]
    pub out: Option<PathBuf>,
    /// Print the envelope as hex on stdout.
    #[arg(long)]
    pub hex: bool,
}

/// `fingerprint`.
#[derive(Args, Debug)]
pub struct FingerprintArgs {
    /// Public key (hex).
    #[arg(long, conflicts_with = "key_file", required_unless_present = "key_file")]
    pub key: Option<PublicKey>,
    /// A key file (secret key file, or FILE.pub).
    #[arg(long)]
    pub key_file: Option<PathBuf>,
}

/// Every scope an authority key can hold.
pub fn all_scopes() -> Vec<Scope> {
    let mut s: Vec<Scope> = RecordKind::ALL.iter().map(|k| Scope::Record(*k)).collect();
    s.extend(ObjectType::ALL.iter().filter_map(|t| t.as_str().parse::<Scope>().ok()).filter(|s| {
        !matches!(s, Scope::Object(ObjectType::Delegation | ObjectType::Revocation | ObjectType::Receipt))
    }));
    s
}

fn parse_scopes(raw: &[String]) -> CliResult<Vec<Scope>> {
    let mut out: Vec<Scope> = Vec::new();
    for item in raw.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()) {
        if item == "all" {
            out.extend(all_scopes());
            continue;
        }
        let s: Scope = item.parse().map_err(|_| {
            CliError::usage(format!(
                "unknown scope {item:?}: use a record kind (administrative_penalty, …), an object type (repair, …) or all"
            ))
        })?;
        out.push(s);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn time(s: &str, what: &str) -> CliResult<u64> {
    parse_time(s).map_err(|e| CliError::usage(format!("--{what}: {e}")))
}

/// Writes or prints a signed envelope and reports it.
fn emit_envelope(
    ctx: &Ctx,
    env: &Envelope,
    out: Option<&Path>,
    hex_out: bool,
    summary: serde_json::Value,
) -> CliResult {
    let bytes = env.encode();
    // Re-open what we wrote: the ceremony's output must be exactly what nodes accept.
    let opened = objects::open(&bytes).exit_ctx(Exit::Failed, "the signed object does not open")?;
    if let Some(path) = out {
        keyfile::write_atomic(path, &bytes, 0o644)?;
    }
    let mut v = summary;
    v["id"] = json!(opened.id().to_hex());
    v["signer"] = json!(opened.signer().to_hex());
    v["signer_fingerprint"] = json!(opened.signer().fingerprint());
    if let Some(p) = out {
        v["out"] = json!(p.display().to_string());
    }
    if hex_out {
        v["envelope_hex"] = json!(hex::encode(&bytes));
    }
    ctx.out.emit(&v, || {
        let mut s = String::new();
        for (k, val) in v.as_object().into_iter().flatten() {
            if k != "envelope_hex" {
                s.push_str(&format!("{k:>20}: {}\n", crate::output::plain(val)));
            }
        }
        if hex_out {
            s.push_str(&hex::encode(&bytes));
            s.push('\n');
        }
        s
    });
    Ok(())
}

/// `keygen`.
pub fn keygen(ctx: &Ctx, a: KeygenArgs) -> CliResult {
    let key = SecretKey::generate(&mut OsRng);
    keyfile::write_key(&a.out, &key, a.force)?;
    let public = key.public();
    let pub_path = keyfile::pub_path(&a.out);
    keyfile::write_atomic(&pub_path, format!("{}\n", public.to_hex()).as_bytes(), 0o644)?;
    let role = format!("{:?}", a.role).to_lowercase();
    let v = json!({
        "role": role,
        "secret_key_file": a.out.display().to_string(),
        "public_key_file": pub_path.display().to_string(),
        "public_key": public.to_hex(),
        "fingerprint": public.fingerprint(),
    });
    ctx.out.emit(&v, || {
        let mut s = format!(
            "{role} key written to {} (mode 0600)\npublic key  {}\nfingerprint {}\n",
            a.out.display(),
            public.to_hex(),
            public.fingerprint()
        );
        if a.role == KeyRole::Root {
            s.push_str("Keep the root key offline; give partner regions the public key and compare the fingerprint out of band.\n");
        }
        s
    });
    Ok(())
}

/// `delegate`.
pub fn delegate(ctx: &Ctx, a: DelegateArgs) -> CliResult {
    let root = keyfile::read_key(&a.root_key)?;
    let key = match (&a.key, &a.key_file) {
        (Some(k), _) => *k,
        (None, Some(f)) => keyfile::read_public(f)?,
        (None, None) => return Err(CliError::usage("give --key or --key-file")),
    };
    let role = match a.role {
        DelegatedRole::Node => Role::Node,
        DelegatedRole::Authority => Role::Authority,
    };
    let scopes = parse_scopes(&a.scopes)?;
    let not_before = time(&a.not_before, "not-before")?;
    let not_after = time(&a.not_after, "not-after")?;
    let signed_at = time_arg::now();
    let body = Body::Delegation(DelegationBody {
        region: a.region.clone(),
        signed_at,
        nonce: Nonce::random(&mut OsRng),
        key,
        role,
        authority_name: a.authority_name.clone(),
        scopes: scopes.clone(),
        not_before,
        not_after,
    });
    body.validate().map_err(|e| CliError::usage(format!("delegation: {e}")))?;
    if not_after <= signed_at {
        eprintln!("warning: this delegation has already expired (not_after {})", time_arg::show(not_after));
    }
    let env = body.sign(&root);
    let summary = json!({
        "type": "delegation",
        "region": a.region,
        "key": key.to_hex(),
        "key_fingerprint": key.fingerprint(),
        "role": role,
        "authority_name": a.authority_name,
        "scopes": scopes,
        "not_before": time_arg::show(not_before),
        "not_after": time_arg::show(not_after),
    });
    emit_envelope(ctx, &env, a.out.as_deref(), a.hex, summary)
}

/// `revoke`.
pub fn revoke(ctx: &Ctx, a: RevokeArgs) -> CliResult {
    let root = keyfile::read_key(&a.root_key)?;
    let revoked_from = time(&a.from, "from")?;
    let body = Body::Revocation(RevocationBody {
        region: a.region.clone(),
        signed_at: time_arg::now(),
        nonce: Nonce::random(&mut OsRng),
        key: a.key,
        revoked_from,
        reason: a.reason.clone(),
    });
    body.validate().map_err(|e| CliError::usage(format!("revocation: {e}")))?;
    if a.key == root.public() {
        return Err(CliError::usage("a root cannot revoke itself: pin a new root at every partner instead"));
    }
    let env = body.sign(&root);
    let summary = json!({
        "type": "revocation",
        "region": a.region,
        "key": a.key.to_hex(),
        "key_fingerprint": a.key.fingerprint(),
        "revoked_from": time_arg::show(revoked_from),
        "reason": a.reason,
    });
    emit_envelope(ctx, &env, a.out.as_deref(), a.hex, summary)
}

/// `fingerprint`.
pub fn fingerprint(ctx: &Ctx, a: FingerprintArgs) -> CliResult {
    let key = match (&a.key, &a.key_file) {
        (Some(k), _) => *k,
        (None, Some(f)) => keyfile::read_public(f)?,
        (None, None) => return Err(CliError::usage("give --key or --key-file")),
    };
    let v = json!({ "public_key": key.to_hex(), "fingerprint": key.fingerprint() });
    ctx.out.emit(&v, || key.fingerprint());
    Ok(())
}
