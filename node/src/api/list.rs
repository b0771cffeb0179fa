//! `GET /v1/records` (list and search) and `GET /v1/records/export` (the national columns back
//! out), both over `state::listing`.
//!
//! Filters: `kind`, `origin`, `status`, `decided_from`, `decided_to` (inclusive, `YYYY-MM-DD`),
//! `authority` (name or USCC), `name` (substring of the subject name), `decision_no` (prefix),
//! `as_of`; pages: `limit` and `cursor` (the previous page's `next_cursor`, opaque). Exports are
//! paged too (≤ [`MAX_EXPORT_ROWS`] rows per response; the next page's cursor comes in the
//! `X-Credfed-Next-Cursor` header), so a response is bounded however large the store is.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use credfed_protocol::national::columns;
use credfed_protocol::status::Status;
use credfed_protocol::{Day, RecordKind};
use hyper::header::HeaderValue;
use hyper::StatusCode;
use serde_json::{json, Value};

use super::records::{audit_query, record_json};
use super::{blocking, json, text, ApiError, Ctx, Resp};
use crate::state::listing::{self, Filter, ListError, Page, PageRequest};

/// Default page size of `GET /v1/records`.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page of `GET /v1/records`.
pub const MAX_LIMIT: usize = 500;
/// Largest page of `GET /v1/records/export` (also its default).
pub const MAX_EXPORT_ROWS: usize = 10_000;
/// Header naming the next export page.
pub const NEXT_CURSOR_HEADER: &str = "x-credfed-next-cursor";
/// Index keys one export page may examine.
const EXPORT_BUDGET: usize = 50_000;
/// Longest wait for the record-list indexes to cover the changes acknowledged before a query.
const INDEX_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// Extra CSV columns after the national ones.
const EXTRA_COLUMNS: [&str; 3] = ["credfed_id", "credfed_origin", "credfed_status"];

fn filter(c: &Ctx) -> Result<Filter, ApiError> {
    let text = |name: &str| -> Result<Option<String>, ApiError> {
        match c.query.get(name).map(|v| v.trim()) {
            Some("") => Err(ApiError::bad_request("invalid_query", format!("{name} is empty")).field(name)),
            Some(v) if v.chars().count() > 200 => {
                Err(ApiError::bad_request("invalid_query", format!("{name} is longer than 200 characters")).field(name))
            }
            v => Ok(v.map(str::to_owned)),
        }
    };
    let status = match c.query.get("status") {
        None => None,
        Some(s) => Some(serde_json::from_value::<Status>(json!(s)).map_err(|_| {
            ApiError::bad_request(
                "invalid_query",
                "status is one of active, under_objection, repaired, withdrawn, superseded, expired",
            )
            .field("status")
        })?),
    };
    let f = Filter {
        kind: c.q::<RecordKind>("kind")?,
        origin: c.q("origin")?,
        status,
        decided_from: c.q::<Day>("decided_from")?,
        decided_to: c.q::<Day>("decided_to")?,
        authority: text("authority")?,
        name: text("name")?,
        decision_no: text("decision_no")?,
    };
    if let (Some(a), Some(b)) = (f.decided_from, f.decided_to) {
        if a > b {
            return Err(
                ApiError::bad_request("invalid_query", "decided_from is after decided_to").field("decided_from")
            );
        }
    }
    Ok(f)
}

fn cursor(c: &Ctx) -> Result<Option<Vec<u8>>, ApiError> {
    c.query
        .get("cursor")
        .map(|s| {
            URL_SAFE_NO_PAD
                .decode(s)
                .map_err(|_| ApiError::bad_request("bad_cursor", "cursor is not one this node gave").field("cursor"))
        })
        .transpose()
}

fn limit(c: &Ctx, default: usize, max: usize) -> Result<usize, ApiError> {
    let n = c.q::<usize>("limit")?.unwrap_or(default);
    if n == 0 || n > max {
        return Err(ApiError::bad_request("invalid_query", format!("limit is 1..={max}")).field("limit"));
    }
    Ok(n)
}

fn as_of(c: &Ctx) -> Result<Day, ApiError> {
    Ok(c.q::<Day>("as_of")?.unwrap_or_else(|| Day::from_unix_china(c.app.state().now())))
}

async fn page(c: &Ctx, f: Filter, limit: usize, budget: usize, day: Day) -> Result<Page, ApiError> {
    let cur = cursor(c)?;
    let st = c.app.state().clone();
    // Read-your-writes: the indexes are applied beside the writer (`ingest::indexer`); wait
    // until they cover every change acknowledged before this query (a failing indexer delays
    // the answer by the deadline, never blocks it).
    let acknowledged = *st.durable_change.borrow();
    let mut indexed = st.indexed.subscribe();
    let _ = tokio::time::timeout(INDEX_WAIT, indexed.wait_for(|n| *n >= acknowledged)).await;
    let auditor = c.is_auditor();
    blocking(move || {
        let req = PageRequest { cursor: cur.as_deref(), limit, budget, as_of: day, auditor };
        match listing::list(&*st.store, &st.rules, &f, &req) {
            Ok(p) => Ok(p),
            Err(ListError::BadCursor) => {
                Err(ApiError::bad_request("bad_cursor", "the cursor belongs to another filter or is damaged")
                    .field("cursor"))
            }
            Err(ListError::Store(e)) => Err(e.into()),
        }
    })
    .await
}

/// `GET /v1/records`.
pub async fn list(c: Ctx) -> Result<Resp, ApiError> {
    let f = filter(&c)?;
    let n = limit(&c, DEFAULT_LIMIT, MAX_LIMIT)?;
    let day = as_of(&c)?;
    let p = page(&c, f, n, listing::DEFAULT_BUDGET, day).await?;
    audit_query(&c, "GET /v1/records", None);
    let auditor = c.is_auditor();
    let records: Vec<Value> = p.records.iter().map(|r| record_json(r, auditor, day)).collect();
    Ok(json(
        StatusCode::OK,
        &json!({
            "as_of": day,
            "records": records,
            "next_cursor": p.next.as_deref().map(|k| URL_SAFE_NO_PAD.encode(k)),
            "scanned": p.scanned,
        }),
    ))
}

/// `GET /v1/records/export?format=csv|ndjson`.
pub async fn export(c: Ctx) -> Result<Resp, ApiError> {
    let format = c.query.get("format").map(String::as_str).unwrap_or("csv");
    let f = filter(&c)?;
    let cols = match format {
        "csv" => Some(f.kind.and_then(columns::for_kind).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                "format=csv writes the national columns of one kind: add kind=administrative_penalty (CF_*) or \
                 kind=administrative_license (XK_*)",
            )
            .field("kind")
        })?),
        "ndjson" => None,
        other => {
            return Err(ApiError::bad_request("invalid_query", format!("format {other:?} is not csv or ndjson"))
                .field("format"))
        }
    };
    let n = limit(&c, MAX_EXPORT_ROWS, MAX_EXPORT_ROWS)?;
    let day = as_of(&c)?;
    let p = page(&c, f, n, EXPORT_BUDGET, day).await?;
    audit_query(&c, "GET /v1/records/export", None);
    let auditor = c.is_auditor();
    let mut resp = match cols {
        Some(cols) => text(StatusCode::OK, csv_page(&p, cols, auditor), "text/csv; charset=utf-8"),
        None => {
            let mut out = String::new();
            for r in &p.records {
                let mut v = record_json(r, auditor, day);
                if let Some(cols) = columns::for_kind(r.content().kind).filter(|_| v["body_visible"] == true) {
                    v["national_columns"] =
                        cols.iter().map(|col| (col.code.to_owned(), json!(columns::cell(r.content(), col)))).collect();
                }
                out.push_str(&v.to_string());
                out.push('\n');
            }
            text(StatusCode::OK, out, "application/x-ndjson")
        }
    };
    if let Some(next) = p.next.as_deref() {
        let v = HeaderValue::from_str(&URL_SAFE_NO_PAD.encode(next)).expect("base64url is a valid header value");
        resp.headers_mut().insert(NEXT_CURSOR_HEADER, v);
    }
    Ok(resp)
}

/// One CSV page: a header of national codes (plus [`EXTRA_COLUMNS`]), one row per record whose
/// body the caller may see (hidden bodies are not exported).
fn csv_page(p: &Page, cols: &[columns::Column], auditor: bool) -> String {
    const INFALLIBLE: &str = "writing CSV to a Vec cannot fail";
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(cols.iter().map(|c| c.code).chain(EXTRA_COLUMNS)).expect(INFALLIBLE);
    for r in &p.records {
        let Some(st) = r.status.as_ref().filter(|s| auditor || s.body_visible) else { continue };
        let status =
            serde_json::to_value(st.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let extra = [r.loaded.stored.id.to_hex(), r.origin().to_string(), status];
        w.write_record(cols.iter().map(|col| columns::cell(r.content(), col)).chain(extra)).expect(INFALLIBLE);
    }
    String::from_utf8(w.into_inner().expect(INFALLIBLE)).expect("CSV of UTF-8 cells is UTF-8")
}
