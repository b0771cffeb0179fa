//! Witnesses compare (docs/PROTOCOL.md §8.3, RELIABILITY F5 `audit_split_view`): a witness
//! alone only sees that each checkpoint it is shown extends the last one it cosigned; a node
//! that shows one history to one witness and another to a second is caught when the witnesses
//! compare what they cosigned.
//!
//! On every connection and tick the driver asks each peer `witnessed` and checks every note
//! for a log this node also witnesses (not its own log, not the answering peer's):
//! * same size, different root: two notes signed by the log's node contradict each other —
//!   kept as [`SplitView`] evidence;
//! * the peer cosigned a larger size than we did: the log's node is asked for a consistency
//!   proof between the two sizes; a proof that does not verify against both signed roots (or an
//!   `inconsistent` refusal) is kept as evidence. Proven pairs are remembered in memory, so an
//!   honest log is asked once per pair of sizes.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use credfed_net::{NetHandle, PeerId};
use credfed_protocol::cbor::ByteBuf;
use credfed_protocol::checkpoint::{Checkpoint, SignedCheckpoint};
use credfed_protocol::merkle::{verify_consistency, Hash};
use credfed_protocol::wire::{SyncRequest, SyncResponse, MAX_WITNESSED};
use credfed_protocol::{RegionId, Role};

use super::witness::keep_split_view;
use crate::ingest::Ingest;
use crate::state::evidence::{witness_state, SplitView, WitnessState};
use crate::store::{fed_dec as dec, FedNs, Store, StoreError};

/// Most proven `(log, smaller size, larger size)` pairs remembered before the set is cleared.
const PROVEN_CAP: usize = 4096;

/// Pairs of sizes of a log already proven consistent.
pub(super) type Proven = Arc<Mutex<HashSet<(String, u64, u64)>>>;

/// The latest note this node cosigned for each log (the answer to `witnessed`).
///
/// # Errors
/// [`StoreError`].
pub(super) fn witnessed(store: &dyn Store) -> Result<SyncResponse, StoreError> {
    let notes = store
        .fed_scan(FedNs::Witness, &[], MAX_WITNESSED)?
        .into_iter()
        .filter_map(|(_, v)| dec::<WitnessState>(&v))
        .map(|w| w.note)
        .collect();
    Ok(SyncResponse::Witnessed { notes })
}

/// A consistency proof between sizes of this node's current audit log (the answer to
/// `consistency`).
pub(super) fn prove(ingest: &Ingest, log: &str, from: u64, to: u64) -> SyncResponse {
    let st = ingest.state();
    let ours = credfed_protocol::bundle::log_origin(st.region.as_str(), st.audit_epoch);
    if log != ours {
        let message = format!("{log:?} is not this node's audit log (it is {ours:?})");
        return SyncResponse::Error { code: "unknown_log".into(), message };
    }
    match crate::audit::consistency_proof(st, from, to) {
        Ok(proof) => SyncResponse::Consistency { proof: proof.into_iter().map(|h| ByteBuf(h.to_vec())).collect() },
        Err(e) => SyncResponse::Error { code: "size_out_of_range".into(), message: e.to_string() },
    }
}

/// What one peer's note says next to ours.
enum Finding {
    /// Nothing to compare, or the same checkpoint (or ours is the larger: the peer checks).
    Nothing,
    /// Contradicting notes of one size.
    SplitView(SplitView),
    /// The peer cosigned a larger size: ask the log's node to prove ours extends into it.
    NeedProof { region: RegionId, log: String, ours: (u64, Hash, String), theirs: (u64, Hash, String) },
}

/// Compares the notes `peer` (of `peer_region`) cosigned with ours; `origins` are the
/// connected peers, to ask a log's node for proofs.
pub(super) async fn compare(
    ingest: &Ingest,
    net: &NetHandle,
    peer: PeerId,
    peer_region: &RegionId,
    origins: &[(PeerId, RegionId)],
    proven: &Proven,
) {
    let notes = match net.request(peer, SyncRequest::Witnessed).await {
        Ok(SyncResponse::Witnessed { notes }) => notes,
        Ok(other) => return tracing::debug!(%peer_region, answer = ?other, "no witnessed notes"),
        Err(e) => return tracing::debug!(%peer_region, error = %e, "witnessed request failed"),
    };
    for note in notes.into_iter().take(MAX_WITNESSED) {
        let (ing, from) = (ingest.clone(), peer_region.clone());
        let Ok(finding) = tokio::task::spawn_blocking(move || judge(&ing, &note, &from)).await else { return };
        match finding {
            Finding::Nothing => {}
            Finding::SplitView(ev) => keep(ingest, peer_region, ev).await,
            Finding::NeedProof { region, log, ours, theirs } => {
                let pair = (log.clone(), ours.0, theirs.0);
                if proven.lock().unwrap_or_else(|p| p.into_inner()).contains(&pair) {
                    continue;
                }
                let Some(origin) = origins.iter().find(|(_, r)| *r == region).map(|(p, _)| *p) else { continue };
                let req = SyncRequest::Consistency { log, from: ours.0, to: theirs.0 };
                let reason = match net.request(origin, req).await {
                    Ok(SyncResponse::Consistency { proof }) => {
                        let proof: Vec<Hash> = proof.iter().filter_map(|h| h.0.as_slice().try_into().ok()).collect();
                        match verify_consistency(ours.0, theirs.0, &ours.1, &theirs.1, &proof) {
                            Ok(()) => {
                                let mut set = proven.lock().unwrap_or_else(|p| p.into_inner());
                                if set.len() >= PROVEN_CAP {
                                    set.clear();
                                }
                                set.insert(pair);
                                continue;
                            }
                            Err(e) => {
                                format!("{region}'s proof from size {} to {} does not verify: {e}", ours.0, theirs.0)
                            }
                        }
                    }
                    Ok(SyncResponse::Error { code, message }) if code == "inconsistent" => {
                        format!("{region} refused to prove size {} extends into {}: {message}", ours.0, theirs.0)
                    }
                    // A log that moved on to a new epoch, a busy or unreachable node: ask again
                    // next time; nothing is proven either way.
                    Ok(other) => {
                        tracing::debug!(%region, answer = ?other, "no consistency proof");
                        continue;
                    }
                    Err(e) => {
                        tracing::debug!(%region, error = %e, "consistency request failed");
                        continue;
                    }
                };
                keep(ingest, peer_region, SplitView { region, earlier: ours.2, later: theirs.2, reason }).await;
            }
        }
    }
}

/// Compares one note with our witness state of its log. Blocking (store reads).
fn judge(ingest: &Ingest, note: &str, peer_region: &RegionId) -> Finding {
    let st = ingest.state();
    let log = note.split('\n').next().unwrap_or_default();
    let Some(region) = credfed_protocol::bundle::log_region(log) else { return Finding::Nothing };
    if region == st.region || &region == peer_region {
        return Finding::Nothing;
    }
    let Ok(Some(ours)) = witness_state(&*st.store, log) else { return Finding::Nothing };
    let Some(theirs) = open_by_node_of(ingest, note, &region) else {
        tracing::debug!(%region, %peer_region, "a witnessed note not signed by a node key of its region");
        return Finding::Nothing;
    };
    let our_root: Hash = ours.root.0.as_slice().try_into().unwrap_or([0; 32]);
    if theirs.size == ours.size {
        if theirs.root == our_root {
            return Finding::Nothing;
        }
        let reason = format!(
            "two checkpoints of size {} with different roots: one cosigned here, one by {peer_region}",
            ours.size
        );
        return Finding::SplitView(SplitView { region, earlier: ours.note, later: note.to_owned(), reason });
    }
    if theirs.size < ours.size {
        return Finding::Nothing;
    }
    Finding::NeedProof {
        region,
        log: log.to_owned(),
        ours: (ours.size, our_root, ours.note),
        theirs: (theirs.size, theirs.root, note.to_owned()),
    }
}

/// Opens `note` with any node key ever delegated to `region` (a rotated key's notes stay
/// evidence).
fn open_by_node_of(ingest: &Ingest, note: &str, region: &RegionId) -> Option<Checkpoint> {
    let trust = ingest.state().trust();
    let keys: Vec<_> =
        trust.delegations().filter(|(_, d)| &d.region == region && d.role == Role::Node).map(|(_, d)| d.key).collect();
    keys.iter().find_map(|k| SignedCheckpoint::open(note, region.as_str(), k).ok()).map(|s| s.checkpoint().clone())
}

async fn keep(ingest: &Ingest, peer_region: &RegionId, ev: SplitView) {
    let (ing, how) = (ingest.clone(), format!("compared with {peer_region}"));
    let _ = tokio::task::spawn_blocking(move || keep_split_view(&ing, ev, &how)).await;
}
