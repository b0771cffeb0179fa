//! Receipts (DESIGN §4): every region that applies an origin's repair, withdrawal, correction
//! or objection outcome publishes a signed receipt in its own feed (the ingest writer issues
//! them). The origin shows, per record, which regions applied each action and which are
//! overdue under the receipt deadline of the rule table (DOMAIN R11.4).

use std::collections::BTreeSet;

use credfed_protocol::objects::Body;
use credfed_protocol::{Day, ObjectType, RegionId};
use serde_json::{json, Value};

use super::query::{self, RecordState};
use super::State;
use crate::store::StoreError;

/// Date an acting object took effect.
fn effective_on(body: &Body) -> Option<Day> {
    match body {
        Body::Repair(b) => Some(b.repaired_on),
        Body::Withdrawal(b) => Some(b.withdrawn_on),
        Body::Correction(b) => Some(b.corrected_on),
        Body::ObjectionResolution(b) => Some(b.resolved_on),
        _ => None,
    }
}

/// Per action of the origin on this record: receipts received and regions still expected.
/// Regions expected = every pinned region other than the origin.
///
/// # Errors
/// [`StoreError`].
pub fn view(st: &State, r: &RecordState, today: Day) -> Result<(Value, usize), StoreError> {
    let origin = r.origin();
    let expected: BTreeSet<RegionId> = st.trust().anchors().keys().filter(|k| *k != origin).cloned().collect();
    let mut out = Vec::new();
    let mut overdue = 0;
    for a in &r.acting {
        let t = a.stored.meta.object_type;
        if !matches!(
            t,
            ObjectType::Repair | ObjectType::Withdrawal | ObjectType::Correction | ObjectType::ObjectionResolution
        ) || &a.stored.meta.origin != origin
        {
            continue;
        }
        let mut got = Vec::new();
        let mut regions = BTreeSet::new();
        for rc in query::acting_on(&*st.store, &a.stored.id)? {
            if let Body::Receipt(b) = &rc.body {
                regions.insert(b.region.clone());
                got.push(json!({ "region": b.region, "applied_at": b.applied_at, "receipt": rc.stored.id.to_hex() }));
            }
        }
        let deadline = effective_on(&a.body).and_then(|d| st.rules.receipt_deadline(t, d, &st.calendar));
        let late = deadline.as_ref().is_some_and(|d| today > d.deadline);
        let missing: Vec<&RegionId> = expected.iter().filter(|r| !regions.contains(*r)).collect();
        if late {
            overdue += missing.len();
        }
        out.push(json!({
            "action": a.stored.id.to_hex(),
            "type": t,
            "receipts": got,
            "missing": missing,
            "deadline": deadline.as_ref().map(|d| d.deadline),
            "deadline_rule": deadline.map(|d| d.rule),
            "overdue": if late { missing.len() } else { 0 },
        }));
    }
    Ok((json!(out), overdue))
}
