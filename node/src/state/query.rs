//! Read side: stored objects decoded, related objects gathered, status derived.
//!
//! Status is derived on every read (`status::derive` over the record and the objects acting on
//! it), never stored (DESIGN §5: derived state is not duplicated).

use credfed_protocol::envelope::{Envelope, ObjectId};
use credfed_protocol::objects::{Body, RecordContent};
use credfed_protocol::{Day, ObjectType, RegionId};

use crate::store::{Store, StoreError, StoredObject};
use credfed_protocol::rules::RuleSet;
use credfed_protocol::status::{self, Related, StatusReport};

/// A stored object with its decoded body.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// As stored.
    pub stored: StoredObject,
    /// The body (decoded from the stored bytes; they were verified at ingest).
    pub body: Body,
}

impl Loaded {
    /// The signer's public key (hex).
    pub fn signer_hex(&self) -> String {
        Envelope::decode(&self.stored.envelope).map(|e| e.signer.to_hex()).unwrap_or_default()
    }
}

/// Loads and decodes one object.
///
/// # Errors
/// [`StoreError::Corrupt`] when stored bytes no longer decode.
pub fn load(store: &dyn Store, id: &ObjectId) -> Result<Option<Loaded>, StoreError> {
    let Some(stored) = store.object(id)? else {
        return Ok(None);
    };
    let env = Envelope::decode(&stored.envelope).map_err(|e| StoreError::Corrupt(format!("object {id}: {e}")))?;
    let body = Body::decode(&env.body).map_err(|e| StoreError::Corrupt(format!("object {id}: {e}")))?;
    Ok(Some(Loaded { stored, body }))
}

/// Every object acting on `target` (repairs, withdrawals, corrections, objections,
/// resolutions, measures, receipts).
///
/// # Errors
/// [`StoreError`].
pub fn acting_on(store: &dyn Store, target: &ObjectId) -> Result<Vec<Loaded>, StoreError> {
    let mut out = Vec::new();
    for id in store.by_target(target)? {
        if let Some(l) = load(store, &id)? {
            out.push(l);
        }
    }
    Ok(out)
}

/// The inputs of `status::derive` for a record-like object.
pub fn related(acting: &[Loaded]) -> Vec<Related> {
    acting
        .iter()
        .filter(|l| {
            matches!(
                l.stored.meta.object_type,
                ObjectType::Repair
                    | ObjectType::Withdrawal
                    | ObjectType::Correction
                    | ObjectType::Objection
                    | ObjectType::ObjectionResolution
            )
        })
        .map(|l| Related { id: l.stored.id, body: l.body.clone() })
        .collect()
}

/// A record-like object (record or correction) with its derived status.
#[derive(Clone, Debug)]
pub struct RecordState {
    /// The object.
    pub loaded: Loaded,
    /// Objects acting on it.
    pub acting: Vec<Loaded>,
    /// Derived status (`None` when `as_of` is before the decision).
    pub status: Option<StatusReport>,
}

impl RecordState {
    /// The record content.
    pub fn content(&self) -> &RecordContent {
        self.loaded.body.record_content().expect("record-like")
    }
    /// Origin region.
    pub fn origin(&self) -> &RegionId {
        &self.loaded.stored.meta.origin
    }
}

/// Loads a record (or correction) and derives its status as of `as_of`. `None` when the id is
/// unknown or not record-like.
///
/// # Errors
/// [`StoreError`].
pub fn record_state(
    store: &dyn Store,
    rules: &RuleSet,
    id: &ObjectId,
    as_of: Day,
) -> Result<Option<RecordState>, StoreError> {
    let Some(loaded) = load(store, id)? else {
        return Ok(None);
    };
    let Some(content) = loaded.body.record_content() else {
        return Ok(None);
    };
    let acting = acting_on(store, id)?;
    let rel = related(&acting);
    let status = status::derive(*id, &loaded.stored.meta.origin, content, &rel, as_of, rules);
    Ok(Some(RecordState { loaded, acting, status }))
}

/// Ids of record-like objects about a subject key (at most `limit`).
///
/// # Errors
/// [`StoreError`].
pub fn subject_records(
    store: &dyn Store,
    rules: &RuleSet,
    subject: &str,
    as_of: Day,
    limit: usize,
) -> Result<Vec<RecordState>, StoreError> {
    let mut out = Vec::new();
    for id in store.by_subject(subject, limit)? {
        if let Some(r) = record_state(store, rules, &id, as_of)? {
            out.push(r);
        }
    }
    Ok(out)
}
