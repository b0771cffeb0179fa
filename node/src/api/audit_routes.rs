//! Audit-scope routes: checkpoint, entries, proofs, export, feeds, compliance.

use credfed_protocol::{Day, RegionId};
use hyper::StatusCode;
use serde_json::{json, Value};

use super::error::ApiError;
use super::{blocking, json, text, Ctx, Resp};
use crate::audit::{self, export};
use crate::state::compliance;
use crate::state::evidence::{equivocations, split_views};

fn req<T: std::str::FromStr>(c: &Ctx, name: &str) -> Result<T, ApiError> {
    c.q(name)?.ok_or_else(|| {
        ApiError::bad_request("missing_query", format!("query parameter {name} is required")).field(name)
    })
}

/// `GET /v1/audit/checkpoint`: a fresh checkpoint when the tree grew.
pub async fn checkpoint(c: Ctx) -> Result<Resp, ApiError> {
    let ingest = c.app.ingest.clone();
    let cp = blocking(move || Ok(audit::checkpoint(ingest.state(), &ingest)?)).await?;
    Ok(text(StatusCode::OK, cp.note, "text/plain; charset=utf-8"))
}

/// `GET /v1/audit/entries?start=&end=`.
pub async fn entries(c: Ctx) -> Result<Resp, ApiError> {
    let start: u64 = c.q("start")?.unwrap_or(0);
    let end: u64 = c.q("end")?.unwrap_or(u64::MAX);
    let st = c.app.state().clone();
    let list = blocking(move || Ok(audit::entries(&st, start, end)?)).await?;
    let v: Vec<Value> = list
        .iter()
        .map(|(l, ev)| json!({ "index": l.index, "leaf_hex": hex::encode(&l.bytes), "leaf_hash": hex::encode(l.hash), "event": ev }))
        .collect();
    Ok(json(StatusCode::OK, &json!({ "size": audit::durable_size(c.app.state()), "entries": v })))
}

/// `GET /v1/audit/proof/inclusion?index=&size=`.
pub async fn inclusion(c: Ctx) -> Result<Resp, ApiError> {
    let index: u64 = req(&c, "index")?;
    let size: u64 = req(&c, "size")?;
    let st = c.app.state().clone();
    let (proof, leaf, root) = blocking(move || Ok(audit::inclusion(&st, index, size)?)).await?;
    Ok(json(
        StatusCode::OK,
        &json!({ "index": index, "size": size, "leaf_hash": hex::encode(leaf), "proof": proof.iter().map(hex::encode).collect::<Vec<_>>(), "root": hex::encode(root) }),
    ))
}

/// `GET /v1/audit/proof/consistency?from=&to=`.
pub async fn consistency(c: Ctx) -> Result<Resp, ApiError> {
    let from: u64 = req(&c, "from")?;
    let to: u64 = req(&c, "to")?;
    let st = c.app.state().clone();
    let (proof, old, new) = blocking(move || Ok(audit::consistency(&st, from, to)?)).await?;
    Ok(json(
        StatusCode::OK,
        &json!({ "from": from, "to": to, "proof": proof.iter().map(hex::encode).collect::<Vec<_>>(), "root_from": hex::encode(old), "root": hex::encode(new) }),
    ))
}

/// `GET /v1/audit/export?from=&to=`: CBOR bundle.
pub async fn export(c: Ctx) -> Result<Resp, ApiError> {
    let from: u64 = c.q("from")?.unwrap_or(0);
    let to: Option<u64> = c.q("to")?;
    let ingest = c.app.ingest.clone();
    let bytes = blocking(move || Ok(export::bundle(&ingest, from, to)?)).await?;
    let mut r = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(bytes)));
    r.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/cbor"));
    Ok(r)
}

/// `GET /v1/feeds`.
pub async fn feeds(c: Ctx) -> Result<Resp, ApiError> {
    let st = c.app.state().clone();
    let (heads, eq, split) =
        blocking(move || Ok((st.store.feed_heads()?, equivocations(&*st.store)?, split_views(&*st.store)?))).await?;
    let v: Vec<Value> =
        heads.iter().map(|h| json!({ "origin": h.origin, "seq": h.seq, "hash": h.hash.to_hex() })).collect();
    let eq: Vec<Value> = eq
        .iter()
        .map(|p| json!({ "origin": p.origin, "seq": p.seq, "entry_a_hex": hex::encode(&p.a.0), "entry_b_hex": hex::encode(&p.b.0) }))
        .collect();
    Ok(json(StatusCode::OK, &json!({ "heads": v, "equivocations": eq, "split_views": split })))
}

/// `GET /v1/feeds/{origin}?from=&to=` (at most 1000 entries).
pub async fn feed_range(c: Ctx) -> Result<Resp, ApiError> {
    let origin: RegionId = c.params[0]
        .parse()
        .map_err(|_| ApiError::bad_request("invalid_region", "invalid region id").field("origin"))?;
    let from: u64 = c.q("from")?.unwrap_or(1).max(1);
    let to: u64 = c.q("to")?.unwrap_or(u64::MAX).min(from.saturating_add(999));
    let st = c.app.state().clone();
    let list = blocking(move || Ok(st.store.feed_range(&origin, from, to)?)).await?;
    let v: Vec<Value> = list.iter().map(|(seq, b)| json!({ "seq": seq, "entry_hex": hex::encode(b) })).collect();
    Ok(json(StatusCode::OK, &json!({ "entries": v })))
}

/// `GET /v1/compliance` (DOMAIN R2.6): the figures of [`compliance::compute`] over every record
/// this node holds.
pub async fn compliance(c: Ctx) -> Result<Resp, ApiError> {
    let st = c.app.state().clone();
    let today = Day::from_unix_china(st.now());
    let f = blocking(move || Ok(compliance::compute(&st, today, None)?)).await?;
    Ok(json(StatusCode::OK, &compliance_json(&f)))
}

/// `GET /v1/compliance`'s answer for figures over every record.
pub fn compliance_json(f: &compliance::Compliance) -> Value {
    json!({ "as_of": f.as_of, "by_region_and_kind": f.rows_json(), "receipts_overdue": f.receipts_overdue,
            "objections_overdue": f.objections_overdue })
}

/// The monthly report's JSON (`GET /v1/reports/compliance`, `credfed-admin report compliance`):
/// the figures of `GET /v1/compliance` over the records decided in the month, totals per region,
/// and the late items.
pub fn report_json(region: &str, f: &compliance::Compliance) -> Value {
    let regions: Vec<Value> = f
        .by_region()
        .iter()
        .map(|(r, n)| {
            let mut v = n.to_json();
            v["region"] = json!(r);
            v
        })
        .collect();
    json!({ "report": "compliance", "region": region, "month": f.month, "as_of": f.as_of,
            "totals": f.total().to_json(), "by_region": regions, "by_region_and_kind": f.rows_json(),
            "late_items": f.late, "late_total": f.late_total, "late_items_max": compliance::MAX_LATE_ITEMS,
            "objections_overdue": f.objections_overdue, "receipts_overdue": f.receipts_overdue })
}

/// `GET /v1/reports/compliance?month=YYYY-MM`: the monthly report ([`report_json`]).
pub async fn compliance_report(c: Ctx) -> Result<Resp, ApiError> {
    let month = month_param(&c)?;
    let st = c.app.state().clone();
    let today = Day::from_unix_china(st.now());
    let region = st.region.to_string();
    let f = blocking(move || Ok(compliance::compute(&st, today, Some(month))?)).await?;
    Ok(json(StatusCode::OK, &report_json(&region, &f)))
}

/// The required `month=YYYY-MM` query parameter.
///
/// # Errors
/// 400 `missing_query` / `invalid_query` naming `month`.
pub fn month_param(c: &Ctx) -> Result<compliance::Month, ApiError> {
    let raw: String = req(c, "month")?;
    parse_month(&raw)
}

/// A `month=YYYY-MM` value.
///
/// # Errors
/// 400 `invalid_query` naming `month`.
pub fn parse_month(raw: &str) -> Result<compliance::Month, ApiError> {
    raw.parse()
        .map_err(|e: compliance::MonthParseError| ApiError::bad_request("invalid_query", e.to_string()).field("month"))
}
