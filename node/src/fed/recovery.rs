//! Driving recovery mode (the data and its rules: [`crate::state::recovery`]): entering it when
//! a peer proves our own feed is ahead of ours, and ending it once peers' heads were reached.
//! Each is one audited commit through the writer.

use credfed_protocol::audit::AuditEvent;

use crate::ingest::Ingest;
use crate::state::recovery::{marker_write, Marker};

/// Enters recovery on a running node whose own feed is behind what `peer` holds of it (the
/// store was restored from an older copy): taking new feed positions now would equivocate, so
/// our own entries are fetched back first. Blocking. Returns whether the node is recovering.
pub fn enter_behind(ingest: &Ingest, peer: &str, ours: u64, theirs: u64) -> bool {
    let st = ingest.state();
    if st.recovering() {
        return true;
    }
    let detail = format!("own feed at {ours} but peer {peer} holds it up to {theirs}");
    tracing::error!(%peer, ours, theirs, "our own feed is behind a peer's copy of it (store restored from an older copy?): recovering it before taking submissions");
    let marker = Marker { min_peers: 1, started_at: st.now(), previous: detail.clone() };
    let ev =
        AuditEvent::AdminChange { at: st.now(), token_id: "local".into(), action: "store.recovering".into(), detail };
    match ingest.admin_blocking(vec![marker_write(Some(&marker))], Some(ev)) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "recovery marker not written");
            false
        }
    }
}

/// Ends recovery when [`status`] says it may: clears the marker with an audit event naming the
/// heads reached. Returns whether the node is (now) out of recovery. Blocking.
pub fn finish_if_complete(ingest: &Ingest) -> bool {
    let st = ingest.state();
    let s = match st.recovery_status() {
        Ok(Some(s)) => s,
        Ok(None) => return true,
        Err(e) => {
            tracing::warn!(error = %e, "recovery status");
            return false;
        }
    };
    if !s.complete {
        return false;
    }
    let heads: Vec<String> = s.origins.iter().map(|(o, (_, ours))| format!("{o}={ours}")).collect();
    let ev = AuditEvent::AdminChange {
        at: st.now(),
        token_id: "local".into(),
        action: "store.recovered".into(),
        detail: format!("heads {} from {} peers", heads.join(" "), s.peers_heard),
    };
    match ingest.admin_blocking(vec![marker_write(None)], Some(ev)) {
        Ok(()) => {
            *st.recovered.lock().unwrap_or_else(|p| p.into_inner()) = Some(s.clone());
            tracing::info!(heads = %heads.join(" "), peers = s.peers_heard, "recovery complete: own feed restored from peers");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "recovery marker not cleared");
            false
        }
    }
}
