//! Where an object's body may travel (DESIGN §3, RELIABILITY F16): its governing
//! classification, and whether a region is entitled to receive it from this node.

use credfed_protocol::envelope::ObjectId;
use credfed_protocol::objects::Body;
use credfed_protocol::{Classification, RegionId};

use super::query;
use super::State;
use crate::store::{Store, StoreError};

/// The classification governing where an object's body may travel: a record's or
/// correction's own; for objects acting on a record (repair, withdrawal, objection, resolution,
/// measure) the record's; everything else (trust objects, schemes, receipts) is public.
pub fn classification(body: &Body, store: &dyn Store) -> Classification {
    if let Some(c) = body.record_content() {
        return c.classification;
    }
    if let Some(target) = body.target() {
        if let Ok(Some(t)) = query::load(store, &target) {
            if let Some(c) = t.body.record_content() {
                return c.classification;
            }
        }
    }
    Classification::Public
}

/// The envelope of stored object `id` when `region` may receive its body from this node: a
/// `public` body goes to every admitted region; a `shared` body only from its origin node to
/// the regions the origin's policy entitles (and back to its origin from anyone, for a
/// rebuild); a `restricted` body never leaves its origin.
///
/// # Errors
/// [`StoreError`].
pub fn entitled(state: &State, region: &RegionId, id: &ObjectId) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(l) = query::load(&*state.store, id)? else { return Ok(None) };
    let class = classification(&l.body, &*state.store);
    let ok = match class {
        Classification::Public => true,
        // The origin itself is entitled to its own shared bodies (it asks for them back when
        // its store is rebuilt); others only from the origin, under the origin's policy.
        Classification::Shared => {
            &l.stored.meta.origin == region
                || (l.stored.meta.origin == state.region && state.policy().entitled(region, class))
        }
        Classification::Restricted => false,
    };
    Ok(ok.then_some(l.stored.envelope))
}
