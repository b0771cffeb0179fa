//! Compliance figures (DOMAIN R2.6), one computation for `GET /v1/compliance`, the monthly
//! report (`GET /v1/reports/compliance?month=`, `credfed-admin report compliance`) and the
//! console's compliance page: per origin region and record kind — timeliness (及时率:
//! published, i.e. signed into the federation, by the publication deadline of the rule table on
//! the working-day calendar), rule compliance (合规率: records without data-quality warnings —
//! USCC organisation-code or code-list warnings, a penalty or list entry served without its
//! credit-repair notice, DOMAIN R1.4, R1.5, R3.16), repairs, open and overdue objections; and,
//! for this region's own actions, receipts overdue.
//!
//! [`assess`] judges one record; [`compute`] sums it over the records chosen by a
//! [`Month`] (or all of them), per region and kind and per decision month.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use credfed_protocol::envelope::ObjectId;
use credfed_protocol::objects::{Body, Subject};
use credfed_protocol::status::Status;
use credfed_protocol::{Day, ObjectType, RecordKind};
use serde::Serialize;
use serde_json::{json, Value};

use super::query::{self, RecordState};
use super::State;
use crate::store::StoreError;

/// A calendar month (`YYYY-MM`), the period of a monthly report: the records decided in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Year.
    pub year: i32,
    /// Month, 1–12.
    pub month: u8,
}

/// Why a `YYYY-MM` did not parse.
#[derive(Debug, thiserror::Error)]
#[error("month must be YYYY-MM (year 2000-2099, month 01-12), got {0:?}")]
pub struct MonthParseError(pub String);

impl FromStr for Month {
    type Err = MonthParseError;
    fn from_str(s: &str) -> Result<Month, MonthParseError> {
        let bad = || MonthParseError(s.chars().take(40).collect());
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let (year, month): (i32, u8) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if !(2000..=2099).contains(&year) || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Month {
    /// The month a day falls in.
    pub fn of(d: Day) -> Month {
        Month { year: d.year(), month: d.month() }
    }
    /// The month before.
    pub fn prev(self) -> Month {
        if self.month == 1 {
            Month { year: self.year - 1, month: 12 }
        } else {
            Month { year: self.year, month: self.month - 1 }
        }
    }
    /// The `n` months ending with `self`, oldest first.
    pub fn last(self, n: usize) -> Vec<Month> {
        let mut v = vec![self];
        while v.len() < n {
            let p = v.last().expect("non-empty").prev();
            v.push(p);
        }
        v.reverse();
        v
    }
}

/// One record judged (see the module text).
#[derive(Clone, Debug)]
pub struct Assessment {
    /// Published by its publication deadline (or the rule sets none).
    pub timely: bool,
    /// The publication deadline, when the rule table sets one.
    pub deadline: Option<Day>,
    /// The day it was signed into the federation.
    pub published: Day,
    /// No data-quality warning.
    pub clean: bool,
    /// A repair acts on it.
    pub repaired: bool,
    /// Open objections.
    pub objections_open: u64,
    /// Open objections past their resolve-by deadline: (objection id, resolve-by).
    pub objections_overdue: Vec<(ObjectId, Day)>,
    /// Status is active.
    pub active: bool,
}

/// Judges one record as of `today`.
pub fn assess(st: &State, r: &RecordState, today: Day) -> Assessment {
    let c = r.content();
    let published = Day::from_unix_china(r.loaded.stored.meta.signed_at);
    let deadline = st.rules.publication_deadline(c.kind, c.decided_on, &st.calendar).map(|d| d.deadline);
    let timely = deadline.is_none_or(|d| published <= d);
    let mut clean = true;
    if let Subject::Uscc(u) = &c.subject {
        clean &= u.warnings().is_empty();
    }
    if matches!(c.kind, RecordKind::AdministrativePenalty | RecordKind::DishonestyList) && c.repair_notice.is_none() {
        clean = false;
    }
    let repaired = r.acting.iter().any(|l| matches!(l.body, Body::Repair(_)));
    let (mut objections_open, mut objections_overdue, mut active) = (0, Vec::new(), false);
    if let Some(s) = &r.status {
        objections_open = s.open_objections.len() as u64;
        active = s.status == Status::Active;
        for o in &s.open_objections {
            let filed = r.acting.iter().find(|l| l.stored.id == *o).and_then(|l| match &l.body {
                Body::Objection(b) => Some(b.filed_on),
                _ => None,
            });
            if let Some(f) = filed {
                let dl = st.rules.objection_deadline(f, &st.calendar).resolve_by.deadline;
                if today > dl {
                    objections_overdue.push((*o, dl));
                }
            }
        }
    }
    Assessment { timely, deadline, published, clean, repaired, objections_open, objections_overdue, active }
}

/// Counts of one region and kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Records.
    pub records: u64,
    /// Published in time.
    pub timely: u64,
    /// Repaired.
    pub repaired: u64,
    /// Open objections.
    pub objections_open: u64,
    /// Active records.
    pub active: u64,
    /// Without warnings.
    pub compliant: u64,
    /// Objections past their deadline.
    pub objections_overdue: u64,
}

impl Counts {
    fn add(&mut self, a: &Assessment) {
        self.absorb(&Counts {
            records: 1,
            timely: a.timely as u64,
            repaired: a.repaired as u64,
            objections_open: a.objections_open,
            active: a.active as u64,
            compliant: a.clean as u64,
            objections_overdue: a.objections_overdue.len() as u64,
        });
    }
    /// Adds another set of counts to these.
    pub fn absorb(&mut self, n: &Counts) {
        self.records += n.records;
        self.timely += n.timely;
        self.repaired += n.repaired;
        self.objections_open += n.objections_open;
        self.active += n.active;
        self.compliant += n.compliant;
        self.objections_overdue += n.objections_overdue;
    }
    /// The counts with their rates, as every compliance answer shows them.
    pub fn to_json(&self) -> Value {
        json!({ "records": self.records, "timely": self.timely, "timeliness": ratio(self.timely, self.records),
                "compliant": self.compliant, "rule_compliance": ratio(self.compliant, self.records),
                "repaired": self.repaired, "objections_open": self.objections_open,
                "objections_overdue": self.objections_overdue, "active": self.active })
    }
}

/// `a / b`, 1.0 when there is nothing to count.
pub fn ratio(a: u64, b: u64) -> f64 {
    if b > 0 {
        a as f64 / b as f64
    } else {
        1.0
    }
}

/// A record published after its deadline.
#[derive(Clone, Debug, Serialize)]
pub struct LateItem {
    /// Record id (hex).
    pub record: String,
    /// Origin region.
    pub region: String,
    /// Record kind.
    pub kind: String,
    /// Decision number.
    pub decision_no: String,
    /// Decided on.
    pub decided_on: Day,
    /// Publication deadline.
    pub deadline: Day,
    /// Published (signed) on.
    pub published: Day,
}

/// At most this many late items are listed (the counts cover every record).
pub const MAX_LATE_ITEMS: usize = 1000;

/// The figures over a set of records.
#[derive(Clone, Debug)]
pub struct Compliance {
    /// As of.
    pub as_of: Day,
    /// The month the records were decided in (None: every record held).
    pub month: Option<Month>,
    /// Per (origin region, kind).
    pub rows: BTreeMap<(String, String), Counts>,
    /// This region's own actions with overdue receipts.
    pub receipts_overdue: Vec<Value>,
    /// Objections past their deadline.
    pub objections_overdue: Vec<Value>,
    /// Records published late (at most [`MAX_LATE_ITEMS`], oldest decision first).
    pub late: Vec<LateItem>,
    /// Records published late in all (may exceed `late.len()`).
    pub late_total: u64,
    /// Counts per decision month of the records counted.
    pub by_month: BTreeMap<Month, Counts>,
}

impl Compliance {
    /// The rows as JSON, in the shape of `GET /v1/compliance`'s `by_region_and_kind`.
    pub fn rows_json(&self) -> Vec<Value> {
        self.rows
            .iter()
            .map(|((region, kind), n)| {
                let mut v = n.to_json();
                v["region"] = json!(region);
                v["kind"] = json!(kind);
                v
            })
            .collect()
    }
    /// Totals over every row.
    pub fn total(&self) -> Counts {
        let mut t = Counts::default();
        self.rows.values().for_each(|n| t.absorb(n));
        t
    }
    /// Counts per decision month for the `months` months ending with `as_of`'s (oldest first;
    /// months without records count zero).
    pub fn trend(&self, months: usize) -> Vec<(Month, Counts)> {
        Month::of(self.as_of)
            .last(months)
            .into_iter()
            .map(|m| (m, self.by_month.get(&m).cloned().unwrap_or_default()))
            .collect()
    }
    /// Totals per region.
    pub fn by_region(&self) -> BTreeMap<String, Counts> {
        let mut m: BTreeMap<String, Counts> = BTreeMap::new();
        for ((region, _), n) in &self.rows {
            m.entry(region.clone()).or_default().absorb(n);
        }
        m
    }
}

/// The figures over the records decided in `month` (every record when None), as of `today`.
/// Also sets the `receipts_overdue` gauge when computed over every record.
///
/// # Errors
/// [`StoreError`].
pub fn compute(st: &State, today: Day, month: Option<Month>) -> Result<Compliance, StoreError> {
    let mut out = Compliance {
        as_of: today,
        month,
        rows: BTreeMap::new(),
        receipts_overdue: Vec::new(),
        objections_overdue: Vec::new(),
        late: Vec::new(),
        late_total: 0,
        by_month: BTreeMap::new(),
    };
    for id in st.store.by_type(ObjectType::Record)? {
        let Some(r) = query::record_state(&*st.store, &st.rules, &id, today)? else { continue };
        let c = r.content();
        if month.is_some_and(|m| Month::of(c.decided_on) != m) {
            continue;
        }
        let a = assess(st, &r, today);
        out.rows.entry((r.origin().to_string(), c.kind.to_string())).or_default().add(&a);
        out.by_month.entry(Month::of(c.decided_on)).or_default().add(&a);
        for (o, dl) in &a.objections_overdue {
            out.objections_overdue.push(json!({ "record": id.to_hex(), "objection": o.to_hex(), "resolve_by": dl }));
        }
        if let (false, Some(deadline)) = (a.timely, a.deadline) {
            out.late_total += 1;
            out.late.push(LateItem {
                record: id.to_hex(),
                region: r.origin().to_string(),
                kind: c.kind.to_string(),
                decision_no: c.decision_no.clone(),
                decided_on: c.decided_on,
                deadline,
                published: a.published,
            });
        }
        if r.origin() == &st.region && !r.acting.is_empty() {
            let (view, n) = super::receipts::view(st, &r, today)?;
            if n > 0 {
                out.receipts_overdue.push(json!({ "record": id.to_hex(), "overdue": n, "actions": view }));
            }
        }
    }
    out.late.sort_by(|a, b| (a.decided_on, &a.record).cmp(&(b.decided_on, &b.record)));
    out.late.truncate(MAX_LATE_ITEMS);
    if month.is_none() {
        st.metrics
            .receipts_overdue
            .set(out.receipts_overdue.iter().map(|r| r["overdue"].as_u64().unwrap_or(0) as i64).sum());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_strictly_and_count_back() {
        let m: Month = "2026-11".parse().unwrap();
        assert_eq!((m.year, m.month, m.to_string()), (2026, 11, "2026-11".to_string()));
        for bad in ["2026-13", "2026-00", "2026-1", "26-11", "2026/11", "", "2026-11-01", "abcd-ef", "1999-12"] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
        let l = Month { year: 2026, month: 2 }.last(3);
        assert_eq!(l.iter().map(|m| m.to_string()).collect::<Vec<_>>(), ["2025-12", "2026-01", "2026-02"]);
    }
}
