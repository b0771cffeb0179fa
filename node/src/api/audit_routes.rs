//! Audit-scope routes: checkpoint, entries, proofs, export, feeds, compliance.

use std::collections::BTreeMap;

use credfed_protocol::objects::Body;
use credfed_protocol::{Day, ObjectType, RegionId};
use hyper::StatusCode;
use serde_json::{json, Value};

use super::error::ApiError;
use super::{blocking, json, text, Ctx, Resp};
use crate::audit::{self, export};
use crate::state::evidence::{equivocations, split_views};
use crate::state::query;
use credfed_protocol::status::Status;

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

/// `GET /v1/compliance` (DOMAIN R2.6): per origin region and record kind over every record this
/// node holds — timeliness (及时率: published, i.e. signed into the federation, by the
/// publication deadline of the rule table on the working-day calendar), rule compliance (合规率:
/// records without data-quality warnings — USCC organisation-code or code-list warnings, a
/// penalty or list entry served without its credit-repair notice, DOMAIN R1.4, R1.5, R3.16),
/// repairs, open and overdue objections; and, for this region's own actions, receipts overdue.
pub async fn compliance(c: Ctx) -> Result<Resp, ApiError> {
    let st = c.app.state().clone();
    let today = Day::from_unix_china(st.now());
    let (v, overdue_receipts, overdue_objections) = blocking(move || {
        let mut per: BTreeMap<(String, String), [u64; 7]> = BTreeMap::new();
        let mut receipts = Vec::new();
        let mut objections = Vec::new();
        for id in st.store.by_type(ObjectType::Record)? {
            let Some(r) = query::record_state(&*st.store, &st.rules, &id, today)? else { continue };
            let c = r.content();
            let e = per.entry((r.origin().to_string(), c.kind.to_string())).or_default();
            e[0] += 1;
            let published = Day::from_unix_china(r.loaded.stored.meta.signed_at);
            match st.rules.publication_deadline(c.kind, c.decided_on, &st.calendar) {
                Some(d) if published > d.deadline => {}
                _ => e[1] += 1,
            }
            let mut clean = true;
            if let credfed_protocol::objects::Subject::Uscc(u) = &c.subject {
                clean &= u.warnings().is_empty();
            }
            if matches!(c.kind, credfed_protocol::RecordKind::AdministrativePenalty | credfed_protocol::RecordKind::DishonestyList)
                && c.repair_notice.is_none()
            {
                clean = false;
            }
            if clean {
                e[5] += 1;
            }
            if r.acting.iter().any(|l| matches!(l.body, Body::Repair(_))) {
                e[2] += 1;
            }
            if let Some(s) = &r.status {
                e[3] += s.open_objections.len() as u64;
                if s.status == Status::Active {
                    e[4] += 1;
                }
                for o in &s.open_objections {
                    let filed = r.acting.iter().find(|l| l.stored.id == *o).and_then(|l| match &l.body {
                        Body::Objection(b) => Some(b.filed_on),
                        _ => None,
                    });
                    if let Some(f) = filed {
                        let dl = st.rules.objection_deadline(f, &st.calendar);
                        if today > dl.resolve_by.deadline {
                            e[6] += 1;
                            objections.push(json!({ "record": id.to_hex(), "objection": o.to_hex(), "resolve_by": dl.resolve_by.deadline }));
                        }
                    }
                }
            }
            if r.origin() == &st.region && !r.acting.is_empty() {
                let (view, n) = crate::state::receipts::view(&st, &r, today)?;
                if n > 0 {
                    receipts.push(json!({ "record": id.to_hex(), "overdue": n, "actions": view }));
                }
            }
        }
        st.metrics.receipts_overdue.set(receipts.iter().map(|r| r["overdue"].as_u64().unwrap_or(0) as i64).sum());
        let ratio = |a: u64, b: u64| if b > 0 { a as f64 / b as f64 } else { 1.0 };
        let rows = per
            .into_iter()
            .map(|((region, kind), n)| {
                json!({ "region": region, "kind": kind, "records": n[0], "timely": n[1],
                        "timeliness": ratio(n[1], n[0]), "compliant": n[5], "rule_compliance": ratio(n[5], n[0]),
                        "repaired": n[2], "objections_open": n[3], "objections_overdue": n[6], "active": n[4] })
            })
            .collect::<Vec<_>>();
        Ok((rows, receipts, objections))
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &json!({ "as_of": today, "by_region_and_kind": v, "receipts_overdue": overdue_receipts,
                 "objections_overdue": overdue_objections }),
    ))
}
