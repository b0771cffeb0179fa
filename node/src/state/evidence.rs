//! Evidence kept in the store: equivocation proofs (two feed entries at one position), what
//! this node cosigned as a witness, and split views (two inconsistent checkpoints of one log).
//! Written by the federation driver through the writer; read here by the API and the driver.

use credfed_protocol::cbor::ByteBuf;
use credfed_protocol::feed::Equivocation;
use credfed_protocol::RegionId;
use serde::{Deserialize, Serialize};

use crate::store::{fed_dec as dec, FedNs, Store, StoreError};

/// Equivocation proofs held.
///
/// # Errors
/// [`StoreError`].
pub fn equivocations(store: &dyn Store) -> Result<Vec<Equivocation>, StoreError> {
    let mut out = Vec::new();
    for (_, v) in store.fed_scan(FedNs::Equivocation, &[], 10_000)? {
        if let Ok(p) = credfed_protocol::cbor::from_canonical(&v, usize::MAX, "equivocation") {
            out.push(p);
        }
    }
    Ok(out)
}

/// What a witness remembers of one log: the last checkpoint it cosigned.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WitnessState {
    /// Its size.
    pub size: u64,
    /// Its root.
    pub root: ByteBuf,
    /// The note as the log's node signed it.
    pub note: String,
}

/// The witness state of `log` (a checkpoint origin line), if this node cosigned it.
///
/// # Errors
/// [`StoreError`].
pub fn witness_state(store: &dyn Store, log: &str) -> Result<Option<WitnessState>, StoreError> {
    Ok(store.fed_get(FedNs::Witness, log.as_bytes())?.and_then(|v| dec(&v)))
}

/// Evidence that an origin showed two inconsistent checkpoints.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SplitView {
    /// The origin region.
    pub region: RegionId,
    /// The checkpoint cosigned earlier.
    pub earlier: String,
    /// The inconsistent one presented later.
    pub later: String,
    /// Why it is inconsistent.
    pub reason: String,
}

/// Split views detected (evidence kept across restarts).
///
/// # Errors
/// [`StoreError`].
pub fn split_views(store: &dyn Store) -> Result<Vec<SplitView>, StoreError> {
    Ok(store.fed_scan(FedNs::SplitView, &[], 1000)?.into_iter().filter_map(|(_, v)| dec(&v)).collect())
}
