//! The record list (`GET /v1/records`, `GET /v1/records/export`): indexes written beside every
//! record and correction, and one bounded scan over the most selective index that fits a filter.
//!
//! # Indexes (namespace [`FedNs::Listing`], empty values)
//! `ord` is the decision date inverted (newest first) then the object id, so every date-ordered
//! family lists newest decisions first and a decision-date range is one contiguous key range.
//!
//! | family | key |
//! |---|---|
//! | `d` | ord |
//! | `k` | kind, 0, ord |
//! | `o` | origin, 0, ord |
//! | `p` | origin, 0, kind, 0, ord |
//! | `a` | authority name (normalized), 0, ord — and again under the authority's USCC |
//! | `x` | decision number (normalized), 0, id (prefix search; decision-number order) |
//! | `g` | one character bigram of the subject name (normalized), 0, ord |
//! | `e` | the day time expires the record (`status::expires_on`, earlier first), id — only when it is after the day of acceptance |
//!
//! Records are never deleted (a repair or correction changes the derived status, not the
//! record), so the indexes only grow.
//!
//! # Expiry sweep
//! A record's status turns `expired` with time, without any object arriving. The writer calls
//! [`due`] when the day changes (and at start): every record of `e` whose day has come and that
//! is now `expired` gets a change-log position (`ChangeKind::PublicityEnded`), so a platform
//! following `GET /v1/changes` takes it down on the day, like a repair.
//!
//! # Scans
//! [`plan`] picks one family: a decision number scans `x`; otherwise the date-ordered families
//! the filter names — the name's bigrams (rarest first, counted up to [`PROBE`] keys each), the
//! authority `a`, origin and kind `p` / origin `o` / kind `k` — are intersected: the first is
//! scanned and a candidate must be present, with the same `ord`, in every other (point
//! lookups, no record loaded); with none of them, all `d`. The remaining conditions (status,
//! dates outside the scanned range, the exact substring, the decision-number prefix) are
//! checked on the loaded record. One call examines at most `budget` index keys; the page it returns ends
//! with the last key examined as the cursor, so a sparse filter answers in bounded time with
//! fewer items and a cursor to go on. Cursors are index keys: stable under inserts (new records
//! land before or after, never shift a page) and refused when they belong to another plan.
//!
//! # Visibility
//! A record whose body the caller may not see (publicity over, repaired, suspended by an
//! objection; DOMAIN R3) never matches a name, decision-number or authority condition unless
//! the caller is an auditor: a search must not tell what a hidden body says.

use credfed_protocol::envelope::ObjectId;
use credfed_protocol::objects::{Body, RecordContent};
use credfed_protocol::rules::RuleSet;
use credfed_protocol::status::{self, Status};
use credfed_protocol::{Day, ObjectType, RecordKind, RegionId};

use super::query::{self, RecordState};
use crate::store::{Commit, FedNs, MetaWrite, Store, StoreError, LISTING_BUILT};

/// Bigram counts stop here when a plan compares them.
pub const PROBE: usize = 256;
/// Most index keys examined by one [`list`] call, unless the caller asks for fewer.
pub const DEFAULT_BUDGET: usize = 5_000;

/// What a list asks for (every condition must hold).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Record kind.
    pub kind: Option<RecordKind>,
    /// Origin region.
    pub origin: Option<RegionId>,
    /// Derived status as of the list's day.
    pub status: Option<Status>,
    /// Decided on or after.
    pub decided_from: Option<Day>,
    /// Decided on or before.
    pub decided_to: Option<Day>,
    /// The deciding authority: its name (exact, normalized) or its USCC.
    pub authority: Option<String>,
    /// A substring of the subject name (normalized).
    pub name: Option<String>,
    /// A prefix of the decision number (normalized).
    pub decision_no: Option<String>,
}

/// A bad list request.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The cursor is not a key of the index this filter scans.
    #[error("bad_cursor: the cursor belongs to another filter or is damaged")]
    BadCursor,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which page, and as seen by whom.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest<'a> {
    /// A [`Page::next`] of the same filter (`None`: the first page).
    pub cursor: Option<&'a [u8]>,
    /// Most records returned.
    pub limit: usize,
    /// Most index keys examined.
    pub budget: usize,
    /// Status as of this day.
    pub as_of: Day,
    /// The caller may read every body.
    pub auditor: bool,
}

/// One page.
#[derive(Debug)]
pub struct Page {
    /// Matching records, in index order.
    pub records: Vec<RecordState>,
    /// Where the next page starts (`None`: the scan reached the end).
    pub next: Option<Vec<u8>>,
    /// Index keys examined.
    pub scanned: usize,
}

/// Text as indexed and compared: no whitespace, ASCII lower case, full-width ASCII forms
/// (`（`, `Ａ`, …) as ASCII.
pub fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Distinct character bigrams of normalized text (the text itself when it has one character).
fn bigrams(n: &str) -> Vec<String> {
    let chars: Vec<char> = n.chars().collect();
    let mut out: Vec<String> =
        if chars.len() == 1 { vec![n.to_owned()] } else { chars.windows(2).map(|w| w.iter().collect()).collect() };
    out.sort();
    out.dedup();
    out
}

/// Days since 1970-01-01, offset to be unsigned: earlier days sort first as BE bytes.
fn day_number(d: Day) -> u32 {
    let epoch = Day::from_ymd(1970, 1, 1).expect("a real date");
    (epoch.days_until(d).clamp(-1_000_000, 1_000_000) + 1_000_000) as u32
}

/// [`day_number`] inverted: later days sort first (the date-ordered families).
fn ord_day(d: Day) -> [u8; 4] {
    (!day_number(d)).to_be_bytes()
}

/// [`day_number`] as key bytes, earlier first (the expiry family `e`).
fn asc_day(d: Day) -> [u8; 4] {
    day_number(d).to_be_bytes()
}

fn key(family: u8, parts: &[&[u8]], tail: &[u8]) -> Vec<u8> {
    let mut k = vec![family];
    for p in parts {
        k.extend_from_slice(p);
        k.push(0);
    }
    k.extend_from_slice(tail);
    k
}

/// The index keys of a record-like object.
fn index_keys(id: &ObjectId, origin: &RegionId, r: &RecordContent) -> Vec<Vec<u8>> {
    let mut ord = ord_day(r.decided_on).to_vec();
    ord.extend_from_slice(id.as_bytes());
    let kind = r.kind.as_str().as_bytes();
    let origin = origin.as_str().as_bytes();
    let mut keys = vec![
        key(b'd', &[], &ord),
        key(b'k', &[kind], &ord),
        key(b'o', &[origin], &ord),
        key(b'p', &[origin, kind], &ord),
        key(b'a', &[normalize(&r.authority).as_bytes()], &ord),
        key(b'x', &[normalize(&r.decision_no).as_bytes()], id.as_bytes()),
    ];
    if let Some(u) = r.national.as_ref().and_then(|n| n.authority_uscc.as_ref()) {
        keys.push(key(b'a', &[u.as_str().to_ascii_lowercase().as_bytes()], &ord));
    }
    if let Some(name) = &r.subject_name {
        keys.extend(bigrams(&normalize(name)).iter().map(|g| key(b'g', &[g.as_bytes()], &ord)));
    }
    keys
}

/// The index writes of an accepted object (none unless it is a record or a correction). A
/// record that time will expire after `today` is also indexed by that day (family `e`), for
/// [`due`].
pub fn writes(id: &ObjectId, body: &Body, rules: &RuleSet, today: Day) -> Vec<MetaWrite> {
    let Some(r) = body.record_content() else { return Vec::new() };
    let mut keys = index_keys(id, body.region(), r);
    if let Some(d) = status::expires_on(r, rules).filter(|d| *d > today) {
        keys.push(key(b'e', &[], &[&asc_day(d)[..], id.as_bytes()].concat()));
    }
    keys.into_iter().map(|k| MetaWrite::Fed(FedNs::Listing, k, Some(Vec::new()))).collect()
}

/// Records whose publicity (or validity) ended on or before `today` and after the last sweep
/// (`FedNs::Listing` key [`SWEPT`] holds the last expiry key swept), at most `limit`: those now
/// `expired` (a repaired, withdrawn or corrected one had its own change) and the marker write
/// that moves the sweep past them. Empty when nothing is due.
///
/// # Errors
/// [`StoreError`].
pub fn due(
    store: &dyn Store,
    rules: &RuleSet,
    today: Day,
    limit: usize,
) -> Result<(Vec<ObjectId>, Option<MetaWrite>), StoreError> {
    let after = store.fed_get(FedNs::Listing, SWEPT)?;
    let keys = store.fed_scan_after(FedNs::Listing, b"e", after.as_deref(), limit)?;
    let mut expired = Vec::new();
    let mut last = None;
    for (k, _) in keys {
        if k.get(1..5).is_none_or(|d| d > &asc_day(today)[..]) {
            break;
        }
        let id = crate::store::keys::trailing_id(&k)?;
        if query::record_state(store, rules, &id, today)?
            .and_then(|r| r.status)
            .is_some_and(|s| s.status == Status::Expired)
        {
            expired.push(id);
        }
        last = Some(k);
    }
    Ok((expired, last.map(|k| MetaWrite::Fed(FedNs::Listing, SWEPT.to_vec(), Some(k)))))
}

/// Marker key of the expiry sweep (no index key starts with `S`).
pub const SWEPT: &[u8] = b"Swept";

/// Builds the indexes over a store written before they existed (once; later commits keep
/// them current). Empty when they are built.
///
/// # Errors
/// [`StoreError`].
pub fn build(store: &dyn Store, rules: &RuleSet, today: Day) -> Result<Commit, StoreError> {
    let mut c = Commit::default();
    if store.fed_get(FedNs::Listing, LISTING_BUILT)?.is_some() {
        return Ok(c);
    }
    for t in [ObjectType::Record, ObjectType::Correction] {
        for id in store.by_type(t)? {
            if let Some(l) = query::load(store, &id)? {
                c.meta.extend(writes(&id, &l.body, rules, today));
            }
        }
    }
    c.meta.push(built());
    Ok(c)
}

/// The marker write that says the indexes cover every stored record.
pub fn built() -> MetaWrite {
    MetaWrite::Fed(FedNs::Listing, LISTING_BUILT.to_vec(), Some(vec![1]))
}

/// Marker key of the indexer (`ingest::indexer`): the change-log position up to which every
/// accepted record's index writes are applied (no index key starts with `I`).
pub const INDEXED: &[u8] = b"Indexed";

/// The marker write: index writes of every change up to `n` are applied.
pub fn indexed_write(n: u64) -> MetaWrite {
    MetaWrite::Fed(FedNs::Listing, INDEXED.to_vec(), Some(n.to_be_bytes().to_vec()))
}

/// The indexer's marker, if written.
///
/// # Errors
/// [`StoreError`] (also a marker of the wrong size).
pub fn indexed(store: &dyn Store) -> Result<Option<u64>, StoreError> {
    let Some(v) = store.fed_get(FedNs::Listing, INDEXED)? else { return Ok(None) };
    let b: [u8; 8] = v.try_into().map_err(|_| StoreError::Corrupt("listing marker: not 8 bytes".into()))?;
    Ok(Some(u64::from_be_bytes(b)))
}

/// The index writes of the records accepted after change `after` (the indexer applies them
/// after the object's own commit, so a crash can leave the last ones unindexed), and the
/// marker write past the last change. Index writes are idempotent: re-applying them is
/// harmless. Reads the change log after `after` only.
///
/// # Errors
/// [`StoreError`].
pub fn catch_up(store: &dyn Store, rules: &RuleSet, today: Day, after: u64) -> Result<Commit, StoreError> {
    let mut c = Commit::default();
    let mut at = after;
    loop {
        let page = store.changes(at, 1024)?;
        let Some(last) = page.last() else { break };
        at = last.n;
        for ch in page.iter().filter(|ch| ch.kind == crate::store::ChangeKind::Accepted) {
            if let Some(l) = query::load(store, &ch.id)? {
                c.meta.extend(writes(&ch.id, &l.body, rules, today));
            }
        }
    }
    c.meta.push(indexed_write(at));
    Ok(c)
}

/// The scan one filter uses: the family prefix, whether it is date-ordered (its keys end in
/// `ord`), and the prefixes of the other date-ordered families a match must also be in (probed
/// with the same `ord`: an index intersection by point lookups, before any record is loaded).
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    prefix: Vec<u8>,
    dated: bool,
    probes: Vec<Vec<u8>>,
}

/// The date-ordered family prefixes a filter's conditions name (rarest bigram first).
fn dated_prefixes(store: &dyn Store, f: &Filter) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Vec::new();
    if let Some(name) = f.name.as_deref().map(normalize).filter(|n| n.chars().count() >= 2) {
        let mut grams = Vec::new();
        for g in bigrams(&name).into_iter().take(8) {
            let prefix = key(b'g', &[g.as_bytes()], &[]);
            grams.push((store.fed_scan(FedNs::Listing, &prefix, PROBE)?.len(), prefix));
        }
        grams.sort();
        out.extend(grams.into_iter().map(|(_, p)| p));
    }
    if let Some(a) = &f.authority {
        out.push(key(b'a', &[normalize(a).as_bytes()], &[]));
    }
    match (&f.origin, f.kind) {
        (Some(o), Some(k)) => out.push(key(b'p', &[o.as_str().as_bytes(), k.as_str().as_bytes()], &[])),
        (Some(o), None) => out.push(key(b'o', &[o.as_str().as_bytes()], &[])),
        (None, Some(k)) => out.push(key(b'k', &[k.as_str().as_bytes()], &[])),
        (None, None) => {}
    }
    Ok(out)
}

fn plan(store: &dyn Store, f: &Filter) -> Result<Plan, StoreError> {
    if let Some(d) = f.decision_no.as_deref().map(normalize).filter(|d| !d.is_empty()) {
        let mut prefix = vec![b'x'];
        prefix.extend_from_slice(d.as_bytes());
        return Ok(Plan { prefix, dated: false, probes: Vec::new() });
    }
    let mut dated = dated_prefixes(store, f)?;
    if dated.is_empty() {
        return Ok(Plan { prefix: vec![b'd'], dated: true, probes: Vec::new() });
    }
    let prefix = dated.remove(0);
    Ok(Plan { prefix, dated: true, probes: dated })
}

/// Whether every probed family holds a key ending in `ord` (stops at the first miss).
fn in_every_probe(store: &dyn Store, probes: &[Vec<u8>], ord: &[u8]) -> Result<bool, StoreError> {
    for probe in probes {
        if store.fed_get(FedNs::Listing, &[&probe[..], ord].concat())?.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether a loaded record meets every condition of `f` (`visible`: the caller may read its body).
fn matches(f: &Filter, r: &RecordState, auditor: bool) -> bool {
    let c = r.content();
    let Some(st) = &r.status else { return false };
    let visible = auditor || st.body_visible;
    let searched = f.name.is_some() || f.decision_no.is_some() || f.authority.is_some();
    if searched && !visible {
        return false;
    }
    let authority_ok = |a: &str| {
        let a = normalize(a);
        normalize(&c.authority) == a
            || c.national
                .as_ref()
                .and_then(|n| n.authority_uscc.as_ref())
                .is_some_and(|u| u.as_str().to_lowercase() == a)
    };
    f.kind.is_none_or(|k| c.kind == k)
        && f.origin.as_ref().is_none_or(|o| r.origin() == o)
        && f.status.is_none_or(|s| st.status == s)
        && f.decided_from.is_none_or(|d| c.decided_on >= d)
        && f.decided_to.is_none_or(|d| c.decided_on <= d)
        && f.authority.as_deref().is_none_or(authority_ok)
        && f.name
            .as_deref()
            .is_none_or(|n| c.subject_name.as_deref().is_some_and(|s| normalize(s).contains(&normalize(n))))
        && f.decision_no.as_deref().is_none_or(|d| normalize(&c.decision_no).starts_with(&normalize(d)))
}

/// One page of records meeting `f`, after `cursor` (a [`Page::next`] of the same filter).
///
/// # Errors
/// [`ListError::BadCursor`], [`ListError::Store`].
pub fn list(store: &dyn Store, rules: &RuleSet, f: &Filter, req: &PageRequest<'_>) -> Result<Page, ListError> {
    let PageRequest { cursor, limit, budget, as_of, auditor } = *req;
    let p = plan(store, f)?;
    let start: Option<Vec<u8>> = match (cursor, f.decided_to) {
        (Some(c), _) if !c.starts_with(&p.prefix) || c.len() < p.prefix.len() + 32 => return Err(ListError::BadCursor),
        (Some(c), _) => Some(c.to_vec()),
        // Keys of days after `decided_to` sort before prefix + ord(decided_to + 1)'s successor.
        (None, Some(to)) if p.dated => Some([&p.prefix[..], &ord_day(to.succ())[..], &[0xff; 32][..]].concat()),
        (None, _) => None,
    };
    let stop = f.decided_from.filter(|_| p.dated).map(ord_day);
    let mut page = Page { records: Vec::new(), next: None, scanned: 0 };
    let mut after = start;
    'scan: while page.scanned < budget {
        let chunk = (budget - page.scanned).min(256);
        let keys = store.fed_scan_after(FedNs::Listing, &p.prefix, after.as_deref(), chunk)?;
        if keys.is_empty() {
            return Ok(page);
        }
        for (k, _) in &keys {
            page.scanned += 1;
            after = Some(k.clone());
            let rest = &k[p.prefix.len()..];
            if let Some(stop) = stop {
                if rest.get(..4).is_some_and(|d| d > &stop[..]) {
                    return Ok(page);
                }
            }
            if !in_every_probe(store, &p.probes, rest)? {
                continue;
            }
            let id = crate::store::keys::trailing_id(k)?;
            if let Some(r) = query::record_state(store, rules, &id, as_of)? {
                if matches(f, &r, auditor) {
                    page.records.push(r);
                    if page.records.len() == limit {
                        break 'scan;
                    }
                }
            }
        }
        if keys.len() < chunk {
            return Ok(page);
        }
    }
    page.next = after;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_width_case_and_spaces() {
        assert_eq!(normalize(" 信阳ＡＢ（有限）公司 x "), "信阳ab(有限)公司x");
    }

    #[test]
    fn bigrams_cover_every_two_character_substring_once() {
        assert_eq!(bigrams("信阳信阳"), vec!["信阳".to_owned(), "阳信".to_owned()]);
        assert_eq!(bigrams("信"), vec!["信".to_owned()]);
        // Any substring of two or more characters contains one of the text's bigrams.
        let text = "信阳市某某建材有限公司";
        let grams = bigrams(text);
        for w in text.chars().collect::<Vec<_>>().windows(2) {
            assert!(grams.contains(&w.iter().collect::<String>()));
        }
    }

    #[test]
    fn later_days_sort_first() {
        let a = Day::from_ymd(2026, 1, 2).unwrap();
        let b = Day::from_ymd(2026, 1, 1).unwrap();
        let old = Day::from_ymd(1960, 1, 1).unwrap();
        assert!(ord_day(a) < ord_day(b));
        assert!(ord_day(b) < ord_day(old));
    }
}
