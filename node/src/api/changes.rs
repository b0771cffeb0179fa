//! `GET /v1/changes`: every change this node holds, in one total order, for platforms that
//! follow the federation into their own databases.
//!
//! A change is an accepted object other than a trust object: a new record or correction (own
//! or another region's), a repair, withdrawal, objection, objection outcome, receipt, measure or
//! scheme; or a record whose publicity ended with time (`"type": "publicity_ended"`, the record's
//! own id, on the day its status turns `expired`: `state::listing::due`). The writer gives each a
//! position in the change log in the same atomic commit as the object (or the sweep step), and
//! only positions covered by a completed flush are served, so a change once shown is never
//! undone by a crash and no position is skipped or repeated across restarts.
//!
//! Each change carries the record it concerns as `GET /v1/records/{id}` shows it today (status,
//! rule, history; the body only where the caller may see it), so a platform upserts by
//! `record_id`. Cursors are opaque (`<store epoch>.<position>`); a cursor of another store epoch
//! (a store rebuilt from peers) is `410 cursor_expired`: follow again from the start.
//!
//! `?after=CURSOR&limit=N&wait=SECONDS&kind=&origin=&subject=`; with `Accept:
//! text/event-stream` the same changes come as server-sent events (`id:` = cursor, resumed with
//! `Last-Event-ID`); the server ends each response after what it has (or after `wait`, default
//! 25 s) and the client reconnects (`retry: 1000`).

use std::time::Duration;

use credfed_protocol::{Day, ObjectType, RecordKind, RegionId};
use hyper::header::{HeaderValue, ACCEPT, CACHE_CONTROL};
use hyper::StatusCode;
use serde_json::{json, Value};

use super::error::ApiError;
use super::records::{audit_query, parse_subject, record_json};
use super::{blocking, json, Ctx, Resp};
use crate::state::{query, recovery, State};
use crate::store::{ChangeEntry, ChangeKind};

/// Most changes in one answer.
pub const MAX_LIMIT: usize = 1000;
/// Positions scanned per answer when filters skip most of them.
const SCAN: usize = 5000;
/// Longest wait (kept under the handler timeout).
const MAX_WAIT_SECS: u64 = 25;

#[derive(Clone)]
struct Filter {
    kind: Option<RecordKind>,
    origin: Option<RegionId>,
    subject: Option<String>,
}

/// The handler.
///
/// # Errors
/// 400 for bad parameters, 410 for a cursor of another store epoch.
pub async fn changes(c: Ctx) -> Result<Resp, ApiError> {
    let sse = c.headers.get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/event-stream"));
    let st = c.app.state().clone();
    let epoch = {
        let st = st.clone();
        blocking(move || Ok(recovery::epoch(&*st.store)?)).await?
    };
    let resume = c.headers.get("last-event-id").and_then(|v| v.to_str().ok()).filter(|_| sse).map(str::to_string);
    let after = match resume.or_else(|| c.query.get("after").cloned()) {
        None => 0,
        Some(s) if s.is_empty() => 0,
        Some(s) => parse_cursor(&s, epoch)?,
    };
    let limit = c.q::<usize>("limit")?.unwrap_or(100);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request("invalid_query", format!("limit must be 1..={MAX_LIMIT}")).field("limit"));
    }
    let cap = MAX_WAIT_SECS.min(c.app.cfg.handler_timeout_secs.saturating_sub(2));
    let wait = c.q::<u64>("wait")?.unwrap_or(if sse { cap } else { 0 });
    if wait > MAX_WAIT_SECS {
        return Err(
            ApiError::bad_request("invalid_query", format!("wait must be 0..={MAX_WAIT_SECS} seconds")).field("wait")
        );
    }
    let filter = Filter {
        kind: c.q::<RecordKind>("kind")?,
        origin: c.q::<RegionId>("origin")?,
        subject: match c.query.get("subject") {
            Some(s) => Some(parse_subject(&st, s)?.0),
            None => None,
        },
    };
    let auditor = c.is_auditor();
    let mut durable = st.durable_change.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait.min(cap));
    let (items, next, head) = loop {
        let head = *durable.borrow_and_update();
        let (st2, f) = (st.clone(), filter.clone());
        let (items, next) = blocking(move || scan(&st2, after, head, limit, &f, auditor, epoch)).await?;
        if !items.is_empty() || tokio::time::Instant::now() >= deadline {
            break (items, next, head);
        }
        // Nothing (yet): wait for the next flush that makes a change durable, or the deadline.
        match tokio::time::timeout_at(deadline, durable.changed()).await {
            Ok(Ok(())) => continue,
            _ => break (items, next, head),
        }
    };
    audit_query(&c, "GET /v1/changes", filter.subject.as_deref());
    let next_cursor = cursor(epoch, next);
    if sse {
        return Ok(event_stream(&items, (next > after).then_some(&next_cursor)));
    }
    Ok(json(StatusCode::OK, &json!({ "changes": items, "next": next_cursor, "more": next < head })))
}

fn cursor(epoch: u32, n: u64) -> String {
    format!("{epoch}.{n}")
}

fn parse_cursor(s: &str, epoch: u32) -> Result<u64, ApiError> {
    let bad = || ApiError::bad_request("invalid_cursor", "not a cursor this node gave").field("after");
    let (e, n) = s.split_once('.').ok_or_else(bad)?;
    let (e, n): (u32, u64) = (e.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if e != epoch {
        return Err(ApiError::new(
            StatusCode::GONE,
            "cursor_expired",
            format!(
                "the cursor is of store epoch {e}; this store is epoch {epoch} (rebuilt): follow again from the start"
            ),
        )
        .field("after"));
    }
    Ok(n)
}

/// Changes after `after` up to the durable `head`: the matching ones (at most `limit`) and the
/// position to continue after.
fn scan(
    st: &State,
    after: u64,
    head: u64,
    limit: usize,
    f: &Filter,
    auditor: bool,
    epoch: u32,
) -> Result<(Vec<Value>, u64), ApiError> {
    let store = &*st.store;
    let today = Day::from_unix_china(st.now());
    let mut out = Vec::new();
    let mut next = after;
    for ch in store.changes(after, SCAN)? {
        if ch.n > head {
            break;
        }
        next = ch.n;
        if let Some(v) = change(st, &ch, f, auditor, today, epoch)? {
            out.push(v);
            if out.len() == limit {
                break;
            }
        }
    }
    Ok((out, next))
}

/// One change as JSON, or `None` when the filter excludes it.
fn change(
    st: &State,
    ch: &ChangeEntry,
    f: &Filter,
    auditor: bool,
    today: Day,
    epoch: u32,
) -> Result<Option<Value>, ApiError> {
    let store = &*st.store;
    let (n, id) = (ch.n, &ch.id);
    let Some(meta) = store.meta(id)? else { return Ok(None) };
    if f.origin.as_ref().is_some_and(|o| o != &meta.origin) {
        return Ok(None);
    }
    let record_id = match meta.object_type {
        ObjectType::Record | ObjectType::Correction => Some(*id),
        _ => match meta.target {
            Some(t) => match store.meta(&t)? {
                Some(m) if matches!(m.object_type, ObjectType::Record | ObjectType::Correction) => Some(t),
                Some(m) => m.target, // a receipt of a repair, withdrawal…: the record behind it
                None => None,
            },
            None => None,
        },
    };
    let record = match record_id {
        Some(r) => query::record_state(store, &st.rules, &r, today)?,
        None => None,
    };
    if f.kind.is_some() || f.subject.is_some() {
        let Some(r) = &record else { return Ok(None) };
        if f.kind.is_some_and(|k| k != r.content().kind)
            || f.subject.as_ref().is_some_and(|s| s != &r.content().subject.key())
        {
            return Ok(None);
        }
    }
    let mut v = json!({
        "cursor": cursor(epoch, n),
        "type": match ch.kind {
            ChangeKind::Accepted => meta.object_type.as_str(),
            ChangeKind::PublicityEnded => "publicity_ended",
        },
        "id": id.to_hex(),
        "origin": meta.origin,
        "accepted_at": meta.accepted_at,
    });
    if let Some(t) = meta.target {
        v["target"] = json!(t.to_hex());
    }
    if let (Some(rid), Some(r)) = (record_id, &record) {
        v["record_id"] = json!(rid.to_hex());
        v["record"] = record_json(r, auditor, today);
    }
    Ok(Some(v))
}

/// Server-sent events: one `change` event per item, then the cursor to resume after when
/// filters skipped past the last item (an `id:` line alone moves `Last-Event-ID`).
fn event_stream(items: &[Value], next: Option<&String>) -> Resp {
    let mut s = String::from("retry: 1000\n\n");
    for v in items {
        s.push_str(&format!("id: {}\nevent: change\ndata: {v}\n\n", v["cursor"].as_str().unwrap_or_default()));
    }
    let last = items.last().and_then(|v| v["cursor"].as_str());
    if let Some(n) = next.filter(|n| Some(n.as_str()) != last) {
        s.push_str(&format!("id: {n}\n\n"));
    }
    let mut r = super::text(StatusCode::OK, s, "text/event-stream");
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}
