//! Write routes: drafts are turned into bodies, signed with the matching authority key, and
//! go through the same ingest pipeline as pre-signed envelopes.

use credfed_protocol::audit::Source;
use credfed_protocol::envelope::ObjectId;
use credfed_protocol::objects::{
    BenefitSchemeBody, Body, CorrectionBody, MeasureAppliedBody, Nonce, ObjectionBody, ObjectionResolutionBody,
    RecordBody, RepairBody, WithdrawalBody,
};
use hyper::StatusCode;
use rand_core::OsRng;
use serde_json::json;

use super::drafts::{self, parse};
use super::error::ApiError;
use super::{blocking, json, Ctx, Resp};
use crate::ingest::Accepted;
use crate::state::query;

fn source(c: &Ctx) -> Source {
    c.source()
}

/// `201 {"id","origin","seq"}`, or `200` with the same body for a duplicate.
pub fn accepted(a: &Accepted) -> Resp {
    let status = if a.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    json(status, &json!({ "id": a.id.to_hex(), "origin": a.origin, "seq": a.seq }))
}

/// Header fields every body carries.
pub(super) struct Head {
    pub region: credfed_protocol::RegionId,
    pub signed_at: u64,
    pub nonce: Nonce,
}

pub(super) fn head(c: &Ctx) -> Head {
    let st = c.app.state();
    Head { region: st.region.clone(), signed_at: st.now(), nonce: Nonce::random(&mut OsRng) }
}

/// A record draft's body, ready to sign.
pub(super) fn record_body(c: &Ctx, d: drafts::RecordDraft) -> Result<Body, ApiError> {
    let record = d.content(c.app.state(), "")?;
    let h = head(c);
    Ok(Body::Record(RecordBody { region: h.region, signed_at: h.signed_at, nonce: h.nonce, record }))
}

/// The envelope of `body`, signed with the authority key for its scope.
pub(super) fn sign(c: &Ctx, body: &Body) -> Result<Vec<u8>, ApiError> {
    let st = c.app.state();
    let scope = body.required_scope().expect("drafts are never delegations");
    let key = st.authority_for(scope).ok_or_else(|| {
        ApiError::unprocessable("no_authority_key", format!("this node holds no authority key delegated for {scope}"))
    })?;
    Ok(body.sign(key).encode())
}

/// Signs `body` with the authority key for its scope and ingests it.
async fn sign_and_submit(c: &Ctx, body: Body) -> Result<Resp, ApiError> {
    let bytes = sign(c, &body)?;
    let a = c.app.ingest.submit(bytes, source(c)).await?;
    Ok(accepted(&a))
}

fn path_id(c: &Ctx) -> Result<ObjectId, ApiError> {
    c.params[0].parse().map_err(|_| ApiError::bad_request("invalid_id", "object ids are 64 hex characters").field("id"))
}

/// The target must exist and be record-like (404 otherwise).
async fn record_target(c: &Ctx) -> Result<ObjectId, ApiError> {
    let id = path_id(c)?;
    let store = c.app.state().store.clone();
    let meta = blocking(move || Ok(store.meta(&id)?)).await?;
    match meta {
        Some(m)
            if matches!(
                m.object_type,
                credfed_protocol::ObjectType::Record | credfed_protocol::ObjectType::Correction
            ) =>
        {
            Ok(id)
        }
        _ => Err(ApiError::not_found("record_not_found", format!("no record {id}"))),
    }
}

/// `POST /v1/records`.
pub async fn record(c: Ctx) -> Result<Resp, ApiError> {
    let d: drafts::RecordDraft = parse(&c.body)?;
    let body = record_body(&c, d)?;
    sign_and_submit(&c, body).await
}

/// `POST /v1/envelopes` (`application/cbor`; the media type is checked by the router).
pub async fn envelope(c: Ctx) -> Result<Resp, ApiError> {
    let a = c.app.ingest.submit(c.body.to_vec(), source(&c)).await?;
    Ok(accepted(&a))
}

/// `POST /v1/records/{id}/repair`.
pub async fn repair(c: Ctx) -> Result<Resp, ApiError> {
    let d: drafts::RepairDraft = parse(&c.body)?;
    let target = record_target(&c).await?;
    let h = head(&c);
    let b = RepairBody {
        region: h.region,
        signed_at: h.signed_at,
        nonce: h.nonce,
        target,
        repaired_on: d.repaired_on,
        basis: d.basis,
    };
    sign_and_submit(&c, Body::Repair(b)).await
}

/// `POST /v1/records/{id}/withdrawal`.
pub async fn withdrawal(c: Ctx) -> Result<Resp, ApiError> {
    let d: drafts::WithdrawalDraft = parse(&c.body)?;
    let target = record_target(&c).await?;
    let h = head(&c);
    let b = WithdrawalBody {
        region: h.region,
        signed_at: h.signed_at,
        nonce: h.nonce,
        target,
        withdrawn_on: d.withdrawn_on,
        reason: d.reason,
    };
    sign_and_submit(&c, Body::Withdrawal(b)).await
}

/// `POST /v1/records/{id}/correction`.
pub async fn correction(c: Ctx) -> Result<Resp, ApiError> {
    let d: drafts::CorrectionDraft = parse(&c.body)?;
    let target = record_target(&c).await?;
    let record = d.record.content(c.app.state(), "record.")?;
    let h = head(&c);
    let b = CorrectionBody {
        region: h.region,
        signed_at: h.signed_at,
        nonce: h.nonce,
        target,
        corrected_on: d.corrected_on,
        reason: d.reason,
        record,
    };
    sign_and_submit(&c, Body::Correction(b)).await
}

/// `POST /v1/records/{id}/objections`.
pub async fn objection(c: Ctx) -> Result<Resp, ApiError> {
    let d: drafts::ObjectionDraft = parse(&c.body)?;
    let target = record_target(&c).await?;
    let h = head(&c);
    let b = ObjectionBody {
        region: h.region,
        signed_at: h.signed_at,
        nonce: h.nonce,
        target,
        ground: d.ground,
        statement: d.statement,
        filed_on: d.filed_on,
    };
    sign_and_submit(&c, Body::Objection(b)).await
}

/// `POST /v1/objections/{id}/resolution`.
pub async fn resolution(c: Ctx) -> Result<Resp, ApiError> {
    let d: drafts::ResolutionDraft = parse(&c.body)?;
    let objection = path_id(&c)?;
    let store = c.app.state().store.clone();
    let loaded = blocking(move || Ok(query::load(&*store, &objection)?)).await?;
    let target = match loaded.map(|l| l.body) {
        Some(Body::Objection(o)) => o.target,
        _ => return Err(ApiError::not_found("objection_not_found", format!("no objection {objection}"))),
    };
    let h = head(&c);
    let b = ObjectionResolutionBody {
        region: h.region,
        signed_at: h.signed_at,
        nonce: h.nonce,
        objection,
        target,
        outcome: d.outcome,
        reason: d.reason,
        resolved_on: d.resolved_on,
    };
    sign_and_submit(&c, Body::ObjectionResolution(b)).await
}

/// `POST /v1/schemes`.
pub async fn scheme(c: Ctx) -> Result<Resp, ApiError> {
    let d: drafts::SchemeDraft = parse(&c.body)?;
    let h = head(&c);
    let b = BenefitSchemeBody {
        region: h.region,
        signed_at: h.signed_at,
        nonce: h.nonce,
        code: d.code,
        name: d.name,
        benefit: d.benefit,
        recognised_regions: d.recognised_regions,
        disqualifying: d.disqualifying,
        min_grade: d.min_grade,
        valid_from: d.valid_from,
        valid_until: d.valid_until,
    };
    let body = Body::BenefitScheme(b);
    body.validate().map_err(|e| ApiError::unprocessable(e.code, e.to_string()).field(e.field))?;
    sign_and_submit(&c, body).await
}

/// `POST /v1/measures`.
pub async fn measure(c: Ctx) -> Result<Resp, ApiError> {
    let d: drafts::MeasureDraft = parse(&c.body)?;
    let subject = d.subject.resolve(c.app.state(), "")?;
    let h = head(&c);
    let b = MeasureAppliedBody {
        region: h.region,
        signed_at: h.signed_at,
        nonce: h.nonce,
        target: d.target,
        subject,
        measure: d.measure,
        applied_on: d.applied_on,
    };
    sign_and_submit(&c, Body::MeasureApplied(b)).await
}
