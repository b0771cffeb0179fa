//! Witnessing (DESIGN §6, RELIABILITY F5): nodes cosign each other's checkpoints after
//! checking that each is a consistent extension of the last one they cosigned; a node that
//! shows two inconsistent histories is caught and the evidence kept.
//!
//! Witness state (per audit log, i.e. per checkpoint origin line: a region whose store was
//! rebuilt starts a new log, `credfed/<region>/audit/<epoch>`): the last cosigned size, root
//! and note. Cosigning side: [`cosign_signed`], reached by a peer's request ([`cosign`]) or by
//! the C2SP tlog-witness HTTP endpoint ([`add_checkpoint`]). Requesting side: [`collect`], run
//! by the driver every tick.

use credfed_net::{NetHandle, PeerId};
use credfed_protocol::audit::AuditEvent;
use credfed_protocol::cbor::ByteBuf;
use credfed_protocol::checkpoint::{cosign as cosign_cp, SignedCheckpoint};
use credfed_protocol::keys::PublicKey;
use credfed_protocol::merkle::{verify_consistency, Hash};
use credfed_protocol::wire::{SyncRequest, SyncResponse};
use credfed_protocol::RegionId;

use crate::ingest::Ingest;
use crate::state::evidence::{witness_state, SplitView, WitnessState};
use crate::store::{fed_enc as enc, FedNs, MetaWrite};

/// Keeps split-view evidence once per pair of notes: stored (kept across restarts), written to
/// the audit log (`audit.split_view_detected`), counted and logged. `how` says how it was found.
/// Blocking.
pub(super) fn keep_split_view(ingest: &Ingest, ev: SplitView, how: &str) {
    use sha2::Digest;
    let st = ingest.state();
    let key = [sha2::Sha256::digest(ev.earlier.as_bytes()), sha2::Sha256::digest(ev.later.as_bytes())].concat();
    if st.store.fed_get(FedNs::SplitView, &key).is_ok_and(|v| v.is_some()) {
        return;
    }
    st.metrics.split_views.inc();
    tracing::error!(region = %ev.region, %how, reason = %ev.reason, "split view: two histories of one audit log");
    let event = AuditEvent::AdminChange {
        at: st.now(),
        token_id: "local".into(),
        action: "audit.split_view_detected".into(),
        detail: format!("{}: {} ({how})", ev.region, ev.reason),
    };
    if let Err(e) = ingest.admin_blocking(vec![MetaWrite::Fed(FedNs::SplitView, key, Some(enc(&ev)))], Some(event)) {
        tracing::warn!(error = %e, "split-view evidence not stored");
    }
}

fn refuse(code: &str, message: impl Into<String>) -> SyncResponse {
    SyncResponse::Error { code: code.into(), message: message.into() }
}

/// Why a checkpoint was not cosigned. One set of reasons for both ways of asking (a peer's
/// `SyncRequest::Cosign`, an HTTP `add-checkpoint`); each maps it to its own wire form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The request did not parse (HTTP 400).
    Malformed(String),
    /// Not a log this node witnesses: an origin that is no pinned peer region's audit log
    /// (HTTP 404).
    UnknownLog(String),
    /// Not signed by a node key of the log's region (HTTP 403).
    BadSignature(String),
    /// The old size given is not the size cosigned here last, which is carried (HTTP 409).
    StaleSize(u64),
    /// The old size is above the checkpoint's size (HTTP 400).
    OldSizeAbove {
        /// Old size given.
        old: u64,
        /// Checkpoint size.
        size: u64,
    },
    /// The proof does not show the checkpoint extends the one cosigned here; the evidence was
    /// kept (HTTP 422).
    Inconsistent(String),
    /// Storage (HTTP 503).
    Storage(String),
}

/// One cosigner at a time: each check-then-write of a witness state runs alone, so two
/// concurrent requests for one log cannot both pass against the same old size.
static COSIGN_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The shared witness step: cosigns `signed` (already verified as signed by `region`'s node
/// key; `note` is its text as received) if `proof` shows it extends the last checkpoint of its
/// log cosigned here, whose size must be `from_size`. Persists the new witness state before
/// answering the cosignature line. Blocking.
///
/// # Errors
/// [`Refusal::StaleSize`], [`Refusal::Inconsistent`] (split-view evidence kept),
/// [`Refusal::UnknownLog`], [`Refusal::Storage`].
pub fn cosign_signed(
    ingest: &Ingest,
    region: &RegionId,
    signed: &SignedCheckpoint,
    note: &str,
    proof: &[Hash],
    from_size: u64,
) -> Result<String, Refusal> {
    let st = ingest.state();
    let cp = signed.checkpoint().clone();
    // One witness state per log: a region whose store was rebuilt starts a new log (epoch).
    if credfed_protocol::bundle::log_epoch(&cp.origin, region.as_str()).is_none() {
        return Err(Refusal::UnknownLog(format!("origin {:?} is not an audit log of {region}", cp.origin)));
    }
    let _one = COSIGN_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let log = cp.origin.as_bytes().to_vec();
    let prev = witness_state(&*st.store, &cp.origin).map_err(|e| Refusal::Storage(e.to_string()))?;
    let (old_size, old_root) = match &prev {
        Some(p) => (p.size, p.root.0.clone()),
        None => (0, credfed_protocol::merkle::EMPTY_ROOT.to_vec()),
    };
    if from_size != old_size {
        return Err(Refusal::StaleSize(old_size));
    }
    let old_root: Hash = old_root.try_into().unwrap_or([0; 32]);
    if let Err(e) = verify_consistency(old_size, cp.size, &old_root, &cp.root, proof) {
        let evidence = SplitView {
            region: region.clone(),
            earlier: prev.map(|p| p.note).unwrap_or_default(),
            later: note.to_owned(),
            reason: format!("size {} does not extend size {old_size} cosigned here: {e}", cp.size),
        };
        keep_split_view(ingest, evidence, "shown to this witness");
        return Err(Refusal::Inconsistent(format!("not consistent with size {old_size} cosigned before: {e}")));
    }
    let line = cosign_cp(&cp, st.region.as_str(), &st.node_key, st.now())
        .map_err(|e| Refusal::BadSignature(e.to_string()))?
        .to_line();
    let ws = WitnessState { size: cp.size, root: ByteBuf(cp.root.to_vec()), note: note.to_owned() };
    let write = MetaWrite::Fed(FedNs::Witness, log, Some(enc(&ws)));
    ingest.admin_blocking(vec![write], None).map_err(|e| Refusal::Storage(e.to_string()))?;
    Ok(line)
}

/// Cosigns `note` (signed by `key`, the requesting peer's node key, for `region`) if it is
/// consistent with the last checkpoint of `region` this node cosigned. Blocking.
pub fn cosign(
    ingest: &Ingest,
    region: &RegionId,
    key: &PublicKey,
    note: &str,
    proof: &[ByteBuf],
    from_size: u64,
) -> SyncResponse {
    let signed = match SignedCheckpoint::open(note, region.as_str(), key) {
        Ok(s) => s,
        Err(e) => return refuse("bad_checkpoint", format!("checkpoint not signed by {region}'s node key: {e}")),
    };
    let proof: Vec<Hash> = proof.iter().filter_map(|h| h.0.as_slice().try_into().ok()).collect();
    match cosign_signed(ingest, region, &signed, note, &proof, from_size) {
        Ok(line) => SyncResponse::Cosigned { signature: line },
        Err(Refusal::StaleSize(n)) => refuse("stale_witness_size", n.to_string()),
        Err(Refusal::Inconsistent(m)) => refuse("inconsistent", m),
        Err(Refusal::Storage(m)) => refuse("storage_unavailable", m),
        Err(Refusal::Malformed(m) | Refusal::UnknownLog(m) | Refusal::BadSignature(m)) => refuse("bad_checkpoint", m),
        Err(r @ Refusal::OldSizeAbove { .. }) => refuse("bad_checkpoint", format!("{r:?}")),
    }
}

/// C2SP tlog-witness `add-checkpoint` (<https://c2sp.org/tlog-witness>): anyone may relay a
/// peer region's checkpoint; it is cosigned under the same rules and witness state as a peer's
/// own request ([`cosign_signed`]). The log is found from the origin line
/// (`credfed/<region>/audit[/<epoch>]`); its key is a node key the trust state delegates to that
/// pinned region. Returns the cosignature line. Blocking.
///
/// # Errors
/// Every [`Refusal`].
pub fn add_checkpoint(ingest: &Ingest, body: &[u8]) -> Result<String, Refusal> {
    use credfed_protocol::checkpoint::{AddCheckpoint, Checkpoint, Note};
    let st = ingest.state();
    let req = AddCheckpoint::parse(body).map_err(|e| Refusal::Malformed(e.to_string()))?;
    let note = Note::parse(&req.note).map_err(|e| Refusal::Malformed(e.to_string()))?;
    let cp = Checkpoint::from_body(note.text()).map_err(|e| Refusal::Malformed(e.to_string()))?;
    let unknown =
        || Refusal::UnknownLog(format!("origin {:?} is not a peer region's audit log witnessed here", cp.origin));
    let region: RegionId = cp
        .origin
        .strip_prefix("credfed/")
        .and_then(|r| r.split('/').next())
        .and_then(|r| r.parse().ok())
        .ok_or_else(unknown)?;
    if region == st.region || credfed_protocol::bundle::log_epoch(&cp.origin, region.as_str()).is_none() {
        return Err(unknown());
    }
    let now = st.now();
    let keys: Vec<PublicKey> = {
        let trust = st.trust();
        trust
            .delegations()
            .map(|(_, d)| d.key)
            .filter(|k| trust.node_region(k, now).as_ref() == Some(&region))
            .collect()
    };
    if keys.is_empty() {
        return Err(unknown());
    }
    let signed = keys
        .iter()
        .find_map(|k| SignedCheckpoint::open(&req.note, region.as_str(), k).ok())
        .ok_or_else(|| Refusal::BadSignature(format!("checkpoint not signed by a node key of {region}")))?;
    if req.old_size > cp.size {
        return Err(Refusal::OldSizeAbove { old: req.old_size, size: cp.size });
    }
    cosign_signed(ingest, &region, &signed, &req.note, &req.proof, req.old_size)
}

/// Asks `peer` (of `region`) to cosign our current checkpoint, and stores the cosignature on it.
/// Skipped when the witness already cosigned this size, unless `always` (a new connection: the
/// answer also tells a restarted node whether its log was rolled back behind the witness).
pub async fn collect(ingest: &Ingest, net: &NetHandle, peer: PeerId, region: &RegionId, always: bool) {
    let Some(peer_key) = credfed_net::node_key_of(&peer) else { return };
    tracing::debug!(witness = %region, "asking for a cosignature");
    let ing = ingest.clone();
    let cp = match tokio::task::spawn_blocking(move || crate::audit::checkpoint(ing.state(), &ing)).await {
        Ok(Ok(cp)) => cp,
        Ok(Err(e)) => return tracing::warn!(error = %e, "no checkpoint to have cosigned"),
        Err(_) => return,
    };
    let st = ingest.state();
    let key = [b"by/".as_slice(), region.as_str().as_bytes()].concat();
    let mut from = st
        .store
        .fed_get(FedNs::CosignedBy, &key)
        .ok()
        .flatten()
        .and_then(|v| v.as_slice().try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0);
    if from == cp.size && cp.size > 0 && !always {
        return;
    }
    for _ in 0..2 {
        let proof = match crate::audit::consistency_proof(st, from, cp.size) {
            Ok(p) => p.into_iter().map(|h| ByteBuf(h.to_vec())).collect(),
            Err(_) => Vec::new(),
        };
        let req = SyncRequest::Cosign { checkpoint: cp.note.clone(), proof, from_size: from };
        match net.request(peer, req).await {
            Ok(SyncResponse::Cosigned { signature }) => {
                // A signature line ends with its own newline (C2SP signed-note).
                let line = if signature.ends_with('\n') { signature } else { format!("{signature}\n") };
                let text = format!("{}{line}", cp.note);
                let Ok(signed) = SignedCheckpoint::open(&text, st.region.as_str(), &st.node_key.public()) else {
                    return;
                };
                if signed.cosignatures(&[(region.as_str(), peer_key)]).is_empty() {
                    st.metrics.cosignatures.get_or_create(&crate::metrics::Metrics::label("outcome", "bad")).inc();
                    return;
                }
                st.metrics.cosignatures.get_or_create(&crate::metrics::Metrics::label("outcome", "ok")).inc();
                let (ing, region, size) = (ingest.clone(), region.clone(), cp.size);
                let _ = tokio::task::spawn_blocking(move || store_cosignature(&ing, &region, size, &line)).await;
                return;
            }
            Ok(SyncResponse::Error { code, message }) if code == "stale_witness_size" => {
                let Ok(n) = message.parse::<u64>() else { return };
                if n > cp.size {
                    // The witness cosigned a larger tree of ours than we hold: our log was
                    // rolled back (RELIABILITY F5 audit_rollback). Never sign over it.
                    return rolled_back(ingest, region, n, cp.size).await;
                }
                from = n;
            }
            Ok(SyncResponse::Error { code, message }) if code == "inconsistent" => {
                // Our log does not extend what this witness cosigned at `from`: it diverged
                // behind the witness's back (restored from an older copy, then grown).
                tracing::warn!(witness = %region, %message, "witness refused: our log is not consistent with what it cosigned");
                return rolled_back(ingest, region, from, cp.size).await;
            }
            Ok(SyncResponse::Error { code, message }) => {
                st.metrics.cosignatures.get_or_create(&crate::metrics::Metrics::label("outcome", code.as_str())).inc();
                tracing::warn!(witness = %region, %code, %message, "cosignature refused");
                return;
            }
            Ok(other) => return tracing::debug!(witness = %region, answer = ?other, "unexpected cosign answer"),
            Err(e) => return tracing::debug!(witness = %region, error = %e, "cosign request failed"),
        }
    }
}

/// Keeps the first evidence that `witness` cosigned `witnessed` leaves of our log that the log
/// (now `ours` leaves) does not extend (audited, counted, logged once); from then on no
/// checkpoint is signed.
async fn rolled_back(ingest: &Ingest, witness: &RegionId, witnessed: u64, ours: u64) {
    let r =
        crate::state::recovery::Rollback { witness: witness.to_string(), witnessed, ours, at: ingest.state().now() };
    let ing = ingest.clone();
    let _ = tokio::task::spawn_blocking(move || record_rollback(&ing, r)).await;
}

fn record_rollback(ingest: &Ingest, r: crate::state::recovery::Rollback) {
    let st = ingest.state();
    if st.rollback.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
        return;
    }
    st.metrics.split_views.inc();
    tracing::error!(witness = %r.witness, witnessed = r.witnessed, ours = r.ours, "a witness cosigned a larger log than we hold: our audit log was rolled back; no checkpoint will be signed");
    let ev = AuditEvent::AdminChange {
        at: r.at,
        token_id: "local".into(),
        action: "audit.rollback_detected".into(),
        detail: format!("{} cosigned size {}; the log holds {}", r.witness, r.witnessed, r.ours),
    };
    if let Err(e) = ingest.admin_blocking(vec![crate::state::recovery::rollback_write(&r)], Some(ev)) {
        tracing::warn!(error = %e, "rollback evidence not stored");
    }
}

/// Adds a verified cosignature to the stored checkpoint (when it is still the current one) and
/// remembers the size this witness cosigned. Blocking; holds the checkpoint lock so a newer
/// checkpoint is never overwritten.
fn store_cosignature(ingest: &Ingest, region: &RegionId, size: u64, line: &str) {
    let st = ingest.state();
    let _guard = st.checkpoint_lock.lock().unwrap_or_else(|p| p.into_inner());
    let mut writes = vec![MetaWrite::Fed(
        FedNs::CosignedBy,
        [b"by/".as_slice(), region.as_str().as_bytes()].concat(),
        Some(size.to_be_bytes().to_vec()),
    )];
    if let Ok(Some(mut cur)) = st.store.checkpoint() {
        if cur.size == size {
            // Merge: keep cosignature lines already present, add the new one.
            if !cur.note.contains(line) {
                cur.note.push_str(line);
            }
            writes.push(MetaWrite::Checkpoint(cur));
        }
    }
    if let Err(e) = ingest.admin_blocking(writes, None) {
        tracing::warn!(error = %e, "cosignature not stored");
    }
}
