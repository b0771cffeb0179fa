//! `POST /v1/records/batch`: many record drafts in one request, as a JSON array
//! (`application/json`) or one draft per line (`application/x-ndjson`, blank lines skipped).
//!
//! Every item is answered, in input order, with `{"index","status","id"?,"origin"?,"seq"?,
//! "error"?}`: `created`, `duplicate` (the same row again: the held record's id), `conflict`
//! (the same natural key with other content: `id` names the held record) or `rejected` (the
//! item breaks a rule or does not parse: `error` as in error answers, `field` prefixed by
//! nothing — it names the item's own field). One bad item never fails the others. The answer
//! comes after the flush that covers every item, so everything it reports survives a crash;
//! when storage fails the whole answer is 503 (send the batch again: stored items answer
//! `duplicate`).

use hyper::StatusCode;
use serde_json::{json, Value};

use super::drafts::{self, parse};
use super::error::ApiError;
use super::routes::NDJSON;
use super::submit::{record_body, sign};
use super::{blocking, json, Ctx, Resp};
use crate::ingest::{Accepted, ErrorClass, IngestError};

/// Most items in one batch.
pub const MAX_ITEMS: usize = 1000;

/// The handler.
///
/// # Errors
/// 400 when a JSON array body is not JSON, 413 over [`MAX_ITEMS`], 503 when storage fails.
pub async fn submit(c: Ctx) -> Result<Resp, ApiError> {
    let ndjson = c.content_type.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(NDJSON);
    let items = split(&c.body, ndjson)?;
    if items.len() > MAX_ITEMS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("{} items; a batch holds at most {MAX_ITEMS}", items.len()),
        ));
    }
    // Parse and sign on the blocking pool (ed25519 signing of up to 1000 bodies).
    let (ctx, prepared) = blocking(move || {
        let prepared: Vec<Result<Vec<u8>, ApiError>> =
            items.into_iter().map(|item| sign(&c, &record_body(&c, item?)?)).collect();
        Ok((c, prepared))
    })
    .await?;
    let mut envelopes = Vec::with_capacity(prepared.len());
    let prepared: Vec<Result<(), ApiError>> = prepared.into_iter().map(|p| p.map(|b| envelopes.push(b))).collect();
    let submitted = ctx.app.ingest.submit_many(envelopes, ctx.source()).await;
    if let Some(e) = submitted.iter().find_map(|r| r.as_ref().err().filter(|e| e.class == ErrorClass::Unavailable)) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            &e.code,
            format!("the batch was not stored durably ({}); send it again (stored items answer duplicate)", e.message),
        ));
    }
    // One answer per signed item, in order; items that failed before signing keep their error.
    let mut answers = submitted.into_iter();
    let results: Vec<Value> = prepared
        .into_iter()
        .enumerate()
        .map(|(index, p)| match p {
            Err(e) => rejected(index, &e),
            Ok(()) => match answers.next() {
                Some(Ok(a)) => accepted(index, &a),
                Some(Err(e)) => ingest_error(index, e),
                None => rejected(index, &ApiError::unavailable("no answer for this item")),
            },
        })
        .collect();
    let count = |s: &str| results.iter().filter(|r| r["status"] == s).count();
    let summary = json!({ "created": count("created"), "duplicate": count("duplicate"),
                          "conflict": count("conflict"), "rejected": count("rejected") });
    Ok(json(StatusCode::OK, &json!({ "results": results, "summary": summary })))
}

/// The items of the body, each parsed as a draft or with the item's error.
fn split(body: &[u8], ndjson: bool) -> Result<Vec<Result<drafts::RecordDraft, ApiError>>, ApiError> {
    if ndjson {
        let lines = body.split(|b| *b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace));
        return Ok(lines.map(parse).collect());
    }
    let values: Vec<Value> = parse(body).map_err(|mut e| {
        if e.code == "invalid_request" {
            e.message = format!("the body must be a JSON array of record drafts: {}", e.message);
        }
        e
    })?;
    Ok(values.into_iter().map(drafts::parse_value).collect())
}

fn accepted(index: usize, a: &Accepted) -> Value {
    let status = if a.duplicate { "duplicate" } else { "created" };
    json!({ "index": index, "status": status, "id": a.id.to_hex(), "origin": a.origin, "seq": a.seq })
}

fn ingest_error(index: usize, e: IngestError) -> Value {
    let conflict = e.existing.map(|id| id.to_hex());
    let e = ApiError::from(e);
    match conflict {
        Some(id) => json!({ "index": index, "status": "conflict", "id": id, "error": e.body() }),
        None => rejected(index, &e),
    }
}

fn rejected(index: usize, e: &ApiError) -> Value {
    json!({ "index": index, "status": "rejected", "error": e.body() })
}
