//! Read routes: health, records, objects, subjects, schemes, eligibility.
//!
//! **Visibility.** When a record's publicity has ended (repaired, withdrawn, superseded,
//! expired) a `query` token sees its status and minimal metadata (id, type, kind, subject,
//! origin, seq, signer, dates of the decision and of the status) but no body fields; an
//! `audit` token also sees the body and `envelope_hex` (DESIGN §5 "publicity ends, evidence
//! stays").

use std::sync::Arc;

use credfed_protocol::audit::AuditEvent;
use credfed_protocol::checkpoint::{format_vkey, SigType};
use credfed_protocol::envelope::ObjectId;
use credfed_protocol::objects::{Body, Subject};
use credfed_protocol::Day;
use hyper::StatusCode;
use serde_json::{json, Value};

use super::error::ApiError;
use super::{blocking, json, Ctx, Resp};
use crate::state::query::{self, RecordState};
use crate::state::State;
use credfed_protocol::eligibility;
use credfed_protocol::national::{self, NationalFields, PenaltyCategory};
use credfed_protocol::person::{PersonDigest, ResidentId};
use credfed_protocol::uscc::Uscc;

/// Most records returned for one subject.
pub const MAX_SUBJECT_RECORDS: usize = 1000;

/// JSON form of a subject.
pub fn subject_json(s: &Subject) -> Value {
    match s {
        Subject::Uscc(u) => json!({ "uscc": u.as_str() }),
        Subject::PersonDigest(_) => {
            json!({ "person_digest": s.key().trim_start_matches("person:") })
        }
        Subject::RegistrationNo(r) => json!({ "registration_no": r.as_str() }),
    }
}

/// The national block as the view shows it: the stored fields, plus national names and codes,
/// and every amount both as integer 分 (`*_fen`) and as a 元 string (`*_yuan`, two decimals).
pub fn national_json(n: &NationalFields) -> Value {
    let mut v = serde_json::to_value(n).unwrap_or(Value::Null);
    v["subject_category_name"] = json!(n.subject_category.chinese());
    if let Some(p) = &n.penalty {
        let pv = &mut v["penalty"];
        if let Some(f) = p.fine_fen {
            pv["fine_yuan"] = json!(national::format_yuan(f));
        }
        if let Some(f) = p.confiscated_fen {
            pv["confiscated_yuan"] = json!(national::format_yuan(f));
        }
        let mapped: Vec<Value> = p
            .categories
            .iter()
            .map(|c| json!({ "category": c, "penalty_type": PenaltyCategory::parse(c).map(|k| k.penalty_type()) }))
            .collect();
        pv["category_penalty_types"] = json!(mapped);
    }
    if let Some(l) = &n.licence {
        v["licence"]["category_name"] = json!(l.category.chinese());
        v["licence"]["category_code"] = json!(l.category.code());
        if let Some(s) = l.source_status {
            v["licence"]["source_status_code"] = json!(s.code());
        }
    }
    v
}

/// `?as_of=` or today (China-local).
fn as_of(c: &Ctx) -> Result<Day, ApiError> {
    Ok(c.q::<Day>("as_of")?.unwrap_or_else(|| Day::from_unix_china(c.app.state().now())))
}

fn subject_digest(key: &str) -> ObjectId {
    ObjectId::of(key.as_bytes())
}

pub(super) fn audit_query(c: &Ctx, route: &str, subject_key: Option<&str>) {
    c.app.ingest.audit(AuditEvent::QueryServed {
        at: c.app.state().now(),
        token_id: c.token_id(),
        route: route.into(),
        subject_digest: subject_key.map(subject_digest),
    });
}

/// The record view.
pub fn record_json(r: &RecordState, auditor: bool, day: Day) -> Value {
    let s = &r.loaded.stored;
    let c = r.content();
    let mut v = json!({
        "id": s.id.to_hex(),
        "type": s.meta.object_type,
        "origin": s.meta.origin,
        "seq": s.meta.seq,
        "signer": r.loaded.signer_hex(),
        "signed_at": s.meta.signed_at,
        "kind": c.kind,
        "subject": subject_json(&c.subject),
        "classification": c.classification,
        "decided_on": c.decided_on,
        "as_of": day,
    });
    if let Subject::Uscc(u) = &c.subject {
        // DOMAIN R1.6/R1.11: classify, never reject.
        if let Some(k) = credfed_protocol::division::known_region(s.meta.origin.as_str()) {
            v["jurisdiction"] = json!(credfed_protocol::division::jurisdiction(&k.division_code(), &u.division()));
        }
    }
    let visible = match &r.status {
        Some(st) => {
            v["status"] = json!(st.status);
            v["status_since"] = json!(st.since);
            v["rule"] = serde_json::to_value(&st.rule).unwrap_or(Value::Null);
            v["publicity"] = serde_json::to_value(&st.publicity).unwrap_or(Value::Null);
            v["publicity_end"] = serde_json::to_value(&st.publicity_end).unwrap_or(Value::Null);
            v["history"] = serde_json::to_value(&st.history).unwrap_or(Value::Null);
            v["open_objections"] = json!(st.open_objections.iter().map(|o| o.to_hex()).collect::<Vec<_>>());
            st.body_visible
        }
        None => false,
    };
    v["body_visible"] = json!(visible || auditor);
    if visible || auditor {
        let mut body = serde_json::to_value(c).unwrap_or(Value::Null);
        body["subject"] = subject_json(&c.subject);
        if let Some(n) = &c.national {
            body["national"] = national_json(n);
        }
        v["record"] = body;
    }
    let by_type = |t: &str| -> Vec<Value> {
        r.acting
            .iter()
            .filter(|l| l.stored.meta.object_type.as_str() == t)
            .map(|l| json!({ "id": l.stored.id.to_hex(), "region": l.stored.meta.origin, "signed_at": l.stored.meta.signed_at }))
            .collect()
    };
    v["receipts"] = json!(by_type("receipt"));
    v["measures"] = json!(by_type("measure_applied"));
    if auditor {
        v["envelope_hex"] = json!(hex::encode(&s.envelope));
    }
    v
}

/// `GET /v1/health`.
pub async fn health(c: Ctx) -> Result<Resp, ApiError> {
    let st = c.app.state();
    let failed = st.metrics.store_failed.get() > 0;
    let rolled_back = st.rollback.lock().unwrap_or_else(|p| p.into_inner()).is_some();
    // The standard verifier keys (Go sumdb/note `name+hash+base64(type||key)`) of this node's
    // checkpoint signatures (type 0x01) and of its witness cosignatures (cosignature/v1, 0x04).
    let vkey = |t| format_vkey(st.region.as_str(), t, &st.node_key.public()).unwrap_or_default();
    Ok(json(
        StatusCode::OK,
        &json!({
            "status": if failed { "read_only" } else { "ok" },
            "region": st.region,
            "peer_id": st.peer_id,
            "peers": st.peers.read().unwrap_or_else(|p| p.into_inner()).len(),
            "node_key": st.node_key.public().to_hex(),
            "recovering": st.recovering(),
            "audit_log": if rolled_back { "rolled_back" } else { "ok" },
            "checkpoint_vkey": vkey(SigType::Ed25519),
            "witness_vkey": vkey(SigType::CosignatureV1),
            "log_origin": credfed_protocol::bundle::log_origin(st.region.as_str(), st.audit_epoch),
        }),
    ))
}

fn parse_id(c: &Ctx) -> Result<ObjectId, ApiError> {
    c.params[0].parse().map_err(|_| ApiError::bad_request("invalid_id", "object ids are 64 hex characters").field("id"))
}

/// `GET /v1/records/{id}`.
pub async fn get_record(c: Ctx) -> Result<Resp, ApiError> {
    let id = parse_id(&c)?;
    let day = as_of(&c)?;
    let st = c.app.state().clone();
    let r = blocking(move || Ok(query::record_state(&*st.store, &st.rules, &id, day)?)).await?;
    let r = r.ok_or_else(|| ApiError::not_found("record_not_found", format!("no record {id}")))?;
    if r.status.is_none() && !c.is_auditor() {
        return Err(ApiError::not_found("record_not_found", format!("record {id} was not yet decided on {day}")));
    }
    audit_query(&c, "GET /v1/records/{id}", Some(&r.content().subject.key()));
    let mut v = record_json(&r, c.is_auditor(), day);
    if r.origin() == &c.app.state().region {
        let st = c.app.state().clone();
        let today = Day::from_unix_china(st.now());
        let (receipts, overdue) = blocking(move || Ok(crate::state::receipts::view(&st, &r, today)?)).await?;
        v["applied_by"] = receipts;
        v["receipts_overdue"] = json!(overdue);
    }
    Ok(json(StatusCode::OK, &v))
}

/// `GET /v1/objects/{id}` (audit scope).
pub async fn get_object(c: Ctx) -> Result<Resp, ApiError> {
    let id = parse_id(&c)?;
    let st = c.app.state().clone();
    let l = blocking(move || Ok(query::load(&*st.store, &id)?)).await?;
    let l = l.ok_or_else(|| ApiError::not_found("object_not_found", format!("no object {id}")))?;
    audit_query(&c, "GET /v1/objects/{id}", None);
    Ok(json(
        StatusCode::OK,
        &json!({
            "id": id.to_hex(),
            "meta": l.stored.meta,
            "signer": l.signer_hex(),
            "envelope_hex": hex::encode(&l.stored.envelope),
        }),
    ))
}

/// Parses `{subject}`: `person:<hex digest>`, `resident:<id>`, `uscc:<code>`,
/// `regno:<registration number>` (个体工商户 without a USCC) or a bare USCC /
/// resident ID. Returns the index key and the subject.
///
/// # Errors
/// 422 `invalid_uscc` / `invalid_subject`.
pub fn parse_subject(st: &State, raw: &str) -> Result<(String, Subject), ApiError> {
    let bad = |m: String| ApiError::unprocessable("invalid_subject", m).field("subject");
    if let Some(h) = raw.strip_prefix("person:") {
        let b: [u8; 32] = hex::decode(h)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| bad("person digest must be 64 hex".into()))?;
        let s = Subject::PersonDigest(PersonDigest::from_bytes(&b).map_err(|e| bad(e.to_string()))?);
        return Ok((s.key(), s));
    }
    let resident = |id: &str| -> Result<(String, Subject), ApiError> {
        let secret = st
            .person_secret
            .as_ref()
            .ok_or_else(|| ApiError::unprocessable("person_secret_missing", "no person-digest secret configured"))?;
        let rid: ResidentId = id.parse().map_err(|e: credfed_protocol::person::ResidentIdError| {
            ApiError::unprocessable(e.code(), e.to_string()).field("subject")
        })?;
        let s = Subject::PersonDigest(PersonDigest::compute(secret, &rid));
        Ok((s.key(), s))
    };
    if let Some(id) = raw.strip_prefix("resident:") {
        return resident(id);
    }
    if let Some(no) = raw.strip_prefix("regno:") {
        let r: credfed_protocol::national::RegistrationNo =
            no.parse().map_err(|e: credfed_protocol::national::RegistrationNoError| {
                ApiError::unprocessable(e.code(), e.to_string()).field("subject")
            })?;
        let s = Subject::RegistrationNo(r);
        return Ok((s.key(), s));
    }
    let code = raw.strip_prefix("uscc:").unwrap_or(raw);
    match code.parse::<Uscc>() {
        Ok(u) => {
            let s = Subject::Uscc(u);
            Ok((s.key(), s))
        }
        Err(_)
            if !raw.starts_with("uscc:") && code.len() == 18 && code.bytes().take(17).all(|b| b.is_ascii_digit()) =>
        {
            resident(code)
        }
        Err(e) => Err(ApiError::unprocessable(e.code(), format!("invalid USCC: {e}")).field("subject")),
    }
}

/// `GET /v1/subjects/{subject}/records`.
pub async fn subject_records(c: Ctx) -> Result<Resp, ApiError> {
    let st = c.app.state().clone();
    let (key, subject) = parse_subject(&st, &c.params[0])?;
    let day = as_of(&c)?;
    let k = key.clone();
    let records =
        blocking(move || Ok(query::subject_records(&*st.store, &st.rules, &k, day, MAX_SUBJECT_RECORDS)?)).await?;
    audit_query(&c, "GET /v1/subjects/{subject}/records", Some(&key));
    let auditor = c.is_auditor();
    let list: Vec<Value> =
        records.iter().filter(|r| r.status.is_some()).map(|r| record_json(r, auditor, day)).collect();
    Ok(json(StatusCode::OK, &json!({ "subject": subject_json(&subject), "as_of": day, "records": list })))
}

fn scheme_json(
    id: ObjectId,
    origin: &credfed_protocol::RegionId,
    b: &credfed_protocol::objects::BenefitSchemeBody,
) -> Value {
    json!({
        "id": id.to_hex(), "origin": origin, "code": b.code, "name": b.name, "benefit": b.benefit,
        "recognised_regions": b.recognised_regions, "disqualifying": b.disqualifying, "min_grade": b.min_grade,
        "valid_from": b.valid_from, "valid_until": b.valid_until, "signed_at": b.signed_at,
    })
}

fn load_schemes(
    st: &State,
) -> Result<Vec<(ObjectId, credfed_protocol::RegionId, credfed_protocol::objects::BenefitSchemeBody)>, ApiError> {
    let mut out = Vec::new();
    for id in st.store.by_type(credfed_protocol::ObjectType::BenefitScheme)? {
        if let Some(l) = query::load(&*st.store, &id)? {
            if let Body::BenefitScheme(b) = l.body {
                out.push((id, l.stored.meta.origin, b));
            }
        }
    }
    Ok(out)
}

/// `GET /v1/schemes`.
pub async fn schemes(c: Ctx) -> Result<Resp, ApiError> {
    let st = c.app.state().clone();
    let list = blocking(move || load_schemes(&st)).await?;
    let v: Vec<Value> = list.iter().map(|(id, o, b)| scheme_json(*id, o, b)).collect();
    Ok(json(StatusCode::OK, &json!({ "schemes": v })))
}

/// `GET /v1/subjects/{subject}/eligibility?scheme=CODE`.
pub async fn eligibility(c: Ctx) -> Result<Resp, ApiError> {
    let st: Arc<State> = c.app.state().clone();
    let (key, subject) = parse_subject(&st, &c.params[0])?;
    let code: String = c
        .q("scheme")?
        .ok_or_else(|| ApiError::bad_request("missing_query", "scheme=CODE is required").field("scheme"))?;
    let day = as_of(&c)?;
    let k = key.clone();
    let result = blocking(move || {
        let mut schemes: Vec<_> = load_schemes(&st)?.into_iter().filter(|(_, _, b)| b.code == code).collect();
        schemes.sort_by_key(|(_, o, b)| (*o == st.region, b.signed_at));
        let (_, _, scheme) =
            schemes.pop().ok_or_else(|| ApiError::not_found("scheme_not_found", format!("no scheme {code}")))?;
        let records = query::subject_records(&*st.store, &st.rules, &k, day, MAX_SUBJECT_RECORDS)?;
        let inputs: Vec<eligibility::EvalRecord<'_>> = records
            .iter()
            .filter_map(|r| {
                let status = r.status.as_ref()?;
                Some(eligibility::EvalRecord {
                    id: r.loaded.stored.id,
                    region: r.origin(),
                    content: r.content(),
                    status,
                })
            })
            .collect();
        Ok(eligibility::evaluate(&scheme, &subject, &inputs, day, st.rules.objection_policy().0))
    })
    .await?;
    audit_query(&c, "GET /v1/subjects/{subject}/eligibility", Some(&key));
    let mut v = serde_json::to_value(&result).unwrap_or(Value::Null);
    v["as_of"] = json!(day);
    Ok(json(StatusCode::OK, &v))
}
