//! `GET /v1/openapi.json`, generated from [`ROUTES`] so it cannot drift from the router.

use serde_json::{json, Map, Value};

use super::routes::{RouteId, ROUTES};
use crate::state::tokens::Need;

fn error_schema() -> Value {
    json!({
        "type": "object", "required": ["error"],
        "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
            "code": { "type": "string" }, "message": { "type": "string" }, "field": { "type": "string" },
            "earliest": { "type": "string", "format": "date" } } } }
    })
}

fn request_body(id: RouteId) -> Option<Value> {
    use RouteId::*;
    let schema = match id {
        SubmitRecord => "RecordDraft",
        Repair => "RepairDraft",
        Withdrawal => "WithdrawalDraft",
        Correction => "CorrectionDraft",
        Objection => "ObjectionDraft",
        Resolution => "ResolutionDraft",
        SubmitScheme => "SchemeDraft",
        Measure => "MeasureDraft",
        TrustPin => "Pin",
        PolicyPut => "LocalPolicy",
        TokenIssue => "TokenRequest",
        SubmitEnvelope => {
            return Some(
                json!({ "required": true, "content": { "application/cbor": { "schema": { "type": "string", "format": "binary" } } } }),
            )
        }
        _ => return None,
    };
    Some(
        json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } }),
    )
}

fn params(path: &str, id: RouteId) -> Vec<Value> {
    let mut out: Vec<Value> = path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|n| json!({ "name": n, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    let q: &[&str] = match id {
        RouteId::GetRecord | RouteId::SubjectRecords => &["as_of"],
        RouteId::Eligibility => &["scheme", "as_of"],
        RouteId::Entries => &["start", "end"],
        RouteId::Inclusion => &["index", "size"],
        RouteId::Consistency | RouteId::Export | RouteId::FeedRange => &["from", "to"],
        _ => &[],
    };
    out.extend(q.iter().map(|n| json!({ "name": n, "in": "query", "required": matches!(*n, "scheme" | "index" | "size"), "schema": { "type": "string" } })));
    out
}

/// The document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in ROUTES {
        let mut responses = json!({
            "200": { "description": "OK" },
            "400": { "description": "malformed", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        });
        if r.need != Need::Nothing {
            responses["401"] = json!({ "description": "missing or unknown token" });
            responses["403"] = json!({ "description": "token lacks the scope" });
            responses["429"] = json!({ "description": "rate limited (per token)" });
        }
        if r.method == hyper::Method::POST {
            responses["201"] = json!({ "description": "created" });
            responses["409"] = json!({ "description": "conflict" });
            responses["413"] = json!({ "description": "body too large" });
            responses["422"] = json!({ "description": "breaks a rule" });
        }
        let mut op = json!({
            "operationId": format!("{:?}", r.id),
            "summary": r.summary,
            "x-scope": r.need.describe(),
            "parameters": params(r.path, r.id),
            "responses": responses,
        });
        if r.need != Need::Nothing {
            op["security"] = json!([{ "bearer": [] }]);
        }
        if let Some(b) = request_body(r.id) {
            op["requestBody"] = b;
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method.as_str().to_ascii_lowercase()] = op;
    }
    let obj = |req: &[&str]| json!({ "type": "object", "required": req });
    json!({
        "openapi": "3.0.3",
        "info": { "title": "credfed node API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Cross-region public-credit federation node (DESIGN §7)." },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": error_schema(),
                "RecordDraft": obj(&["kind", "subject", "authority", "decision_no", "legal_basis", "sector", "decided_on", "classification"]),
                "RepairDraft": obj(&["repaired_on", "basis"]),
                "WithdrawalDraft": obj(&["withdrawn_on", "reason"]),
                "CorrectionDraft": obj(&["corrected_on", "reason", "record"]),
                "ObjectionDraft": obj(&["ground", "statement", "filed_on"]),
                "ResolutionDraft": obj(&["outcome", "reason", "resolved_on"]),
                "SchemeDraft": obj(&["code", "name", "benefit", "recognised_regions", "valid_from", "valid_until"]),
                "MeasureDraft": obj(&["target", "subject", "measure", "applied_on"]),
                "Pin": obj(&["region", "root_key"]),
                "LocalPolicy": obj(&[]),
                "TokenRequest": obj(&["scope"]),
            }
        }
    })
}
