//! Witnessing (DESIGN §6, RELIABILITY F5): nodes cosign each other's checkpoints after
//! checking that each is a consistent extension of the last one they cosigned; a node that
//! shows two inconsistent histories is caught and the evidence kept.
//!
//! Witness state (per audit log, i.e. per checkpoint origin line: a region whose store was
//! rebuilt starts a new log, `credfed/<region>/audit/<epoch>`): the last cosigned size, root
//! and note. Cosigning side:
//! [`cosign`]. Requesting side: [`collect`], run by the driver every tick.

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
    let st = ingest.state();
    let signed = match SignedCheckpoint::open(note, region.as_str(), key) {
        Ok(s) => s,
        Err(e) => return refuse("bad_checkpoint", format!("checkpoint not signed by {region}'s node key: {e}")),
    };
    let cp = signed.checkpoint().clone();
    // One witness state per log: a region whose store was rebuilt starts a new log (epoch).
    if credfed_protocol::bundle::log_epoch(&cp.origin, region.as_str()).is_none() {
        return refuse("bad_checkpoint", format!("origin {:?} is not an audit log of {region}", cp.origin));
    }
    let log = cp.origin.as_bytes().to_vec();
    let prev = match witness_state(&*st.store, &cp.origin) {
        Ok(p) => p,
        Err(e) => return refuse("storage_unavailable", e.to_string()),
    };
    let (old_size, old_root) = match &prev {
        Some(p) => (p.size, p.root.0.clone()),
        None => (0, credfed_protocol::merkle::EMPTY_ROOT.to_vec()),
    };
    if from_size != old_size {
        return refuse("stale_witness_size", old_size.to_string());
    }
    let proof: Vec<Hash> = proof.iter().filter_map(|h| h.0.as_slice().try_into().ok()).collect();
    let old_root: Hash = old_root.try_into().unwrap_or([0; 32]);
    if let Err(e) = verify_consistency(old_size, cp.size, &old_root, &cp.root, &proof) {
        let evidence = SplitView {
            region: region.clone(),
            earlier: prev.map(|p| p.note).unwrap_or_default(),
            later: note.to_owned(),
            reason: format!("size {} does not extend size {old_size} cosigned here: {e}", cp.size),
        };
        keep_split_view(ingest, evidence, "shown to this witness");
        return refuse("inconsistent", format!("not consistent with size {old_size} cosigned before: {e}"));
    }
    let line = match cosign_cp(&cp, st.region.as_str(), &st.node_key, st.now()) {
        Ok(sig) => sig.to_line(),
        Err(e) => return refuse("bad_checkpoint", e.to_string()),
    };
    let ws = WitnessState { size: cp.size, root: ByteBuf(cp.root.to_vec()), note: note.to_owned() };
    let write = MetaWrite::Fed(FedNs::Witness, log, Some(enc(&ws)));
    if let Err(e) = ingest.admin_blocking(vec![write], None) {
        return refuse("storage_unavailable", e.to_string());
    }
    SyncResponse::Cosigned { signature: line }
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
