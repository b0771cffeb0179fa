//! `GET /v1/openapi.json`, generated from [`ROUTES`] so it cannot drift from the router.

use credfed_protocol::kind::{ObjectionGround, ObjectionOutcome};
use credfed_protocol::national::{LicenceCategory, PenaltyCategory};
use credfed_protocol::{Classification, RecordKind, Severity};
use serde_json::{json, Map, Value};

use super::routes::{BodyKind, Mount, RouteId, ROUTES};
use crate::state::tokens::{Need, Scope};

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
        SubmitBatch => {
            let items = json!({ "type": "array", "maxItems": super::batch::MAX_ITEMS,
                                "items": { "$ref": "#/components/schemas/RecordDraft" } });
            let lines = json!({ "type": "string", "description": "one RecordDraft JSON object per line" });
            return Some(json!({ "required": true, "content": {
                "application/json": { "schema": items },
                "application/x-ndjson": { "schema": lines },
            } }));
        }
        SubmitEnvelope => {
            return Some(
                json!({ "required": true, "content": { "application/cbor": { "schema": { "type": "string", "format": "binary" } } } }),
            )
        }
        _ => return None,
    };
    let mut body = json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } });
    if id == SubmitRecord {
        body["content"]["application/json"]["examples"] = record_examples();
    }
    Some(body)
}

/// Valid `POST /v1/records` bodies carrying the national block (node tests post each one).
pub fn record_examples() -> Value {
    let common = |kind: &str, decision_no: &str| {
        json!({
            "kind": kind, "subject": { "uscc": "91411502MA45TQ8N1C" }, "subject_name": "信阳市浉河区某商贸有限公司",
            "authority": "信阳市市场监督管理局", "decision_no": decision_no,
            "legal_basis": "《中华人民共和国食品安全法》第一百二十四条第一款",
            "sector": "market_regulation", "decided_on": "2026-01-05", "classification": "public",
        })
    };
    let mut penalty = common("administrative_penalty", "信市监罚〔2026〕16号");
    penalty["severity"] = json!("general");
    penalty["national"] = json!({
        "subject_category": "legal_entity", "authority_uscc": "11411500MB0C12344W",
        "source_unit": "信阳市市场监督管理局", "source_unit_uscc": "11411500MB0C12344W",
        "publicity_until": "2029-06-30",
        "legal_representative": { "name": "张三", "id_type": "身份证", "id_no": "11010519491231002X" },
        "penalty": { "violation_type": "销售超过保质期的食品", "content": "没收违法所得1120元，并处罚款2000元",
                     "fine_amount": "0.2", "confiscated_amount": "0.112", "categories": ["罚款", "没收违法所得"],
                     "valid_until": "2027-01-05" }
    });
    let mut licence = common("administrative_license", "豫食许〔2026〕411502-0101号");
    licence["valid_until"] = json!("2099-12-31");
    licence["national"] = json!({
        "subject_category": "legal_entity", "authority_uscc": "11411500MB0C12344W",
        "licence": { "document_name": "食品经营许可决定书", "category": "01", "certificate_name": "食品经营许可证",
                     "certificate_no": "JY14115020012346", "content": "预包装食品销售", "valid_from": "2026-01-05",
                     "source_status": "1" }
    });
    json!({
        "national_penalty": { "summary": "a CF_* row: penalty with the national block", "value": penalty },
        "national_licence": { "summary": "an XK_* row: licence with the national block (2099-12-31 = no end)", "value": licence },
    })
}

fn string() -> Value {
    json!({ "type": "string", "minLength": 1 })
}
fn date() -> Value {
    json!({ "type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" })
}
fn region() -> Value {
    json!({ "type": "string", "pattern": "^[a-z][a-z0-9_]{0,31}$" })
}
fn object_id() -> Value {
    json!({ "type": "string", "pattern": "^[0-9a-f]{64}$" })
}
fn names<T: Copy + std::fmt::Display>(all: &[T]) -> Value {
    json!({ "type": "string", "enum": all.iter().map(|v| v.to_string()).collect::<Vec<_>>() })
}
fn array(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}
/// A closed object: `required` fields first, then optional ones.
fn object(required: &[(&str, Value)], optional: &[(&str, Value)]) -> Value {
    let props: Map<String, Value> =
        required.iter().chain(optional).map(|(k, v)| ((*k).to_string(), v.clone())).collect();
    let req: Vec<&str> = required.iter().map(|(k, _)| *k).collect();
    json!({ "type": "object", "additionalProperties": false, "required": req, "properties": props })
}

fn subject_schema() -> Value {
    json!({
        "type": "object", "additionalProperties": false, "minProperties": 1, "maxProperties": 1,
        "description": "exactly one of uscc (legal entity), resident_id (natural person; only its keyed digest is kept) or registration_no (个体工商户 without a USCC; needs national.subject_category individual_business)",
        "properties": {
            "uscc": { "type": "string", "pattern": USCC_PATTERN },
            "resident_id": { "type": "string", "pattern": "^[0-9]{17}[0-9X]$" },
            "registration_no": { "type": "string", "pattern": "^[0-9A-Za-z-]{8,32}$" }
        }
    })
}

const USCC_PATTERN: &str = "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$";
/// A 万元 decimal (CF_NR_FK, CF_NR_WFFF).
const AMOUNT_PATTERN: &str = "^[0-9]+(\\.[0-9]{1,6})?$";

fn uscc() -> Value {
    json!({ "type": "string", "pattern": USCC_PATTERN })
}

fn described(mut v: Value, d: &str) -> Value {
    v["description"] = json!(d);
    v
}

fn categories_schema() -> Value {
    let names: Vec<&str> = PenaltyCategory::ALL.iter().map(|c| c.chinese()).collect();
    described(
        array(string()),
        &format!(
            "CF_CFLB items: {} (其他 may name the measure: 其他-…); an item joining several with ; or ； is split",
            names.join(", ")
        ),
    )
}

fn licence_category_schema() -> Value {
    let values: Vec<&str> =
        LicenceCategory::ALL.iter().map(|c| c.chinese()).chain(LicenceCategory::ALL.iter().map(|c| c.code())).collect();
    json!({ "type": "string", "enum": values, "description": "XK_XKLB: a name or its code 01-06" })
}

fn national_draft() -> Value {
    let amount = json!({ "type": "string", "pattern": AMOUNT_PATTERN, "description": "万元, up to 6 decimals (0.2 = 2000 元); converted to integer 分" });
    object(
        &[
            ("subject_category", json!({ "type": "string", "enum": ["legal_entity", "individual_business", "natural_person"] })),
        ],
        &[
            ("authority_uscc", described(uscc(), "CF_CFJGDM / XK_XKJGDM (required for licences)")),
            ("source_unit", described(string(), "CF_SJLY / XK_LYDW")),
            ("source_unit_uscc", described(uscc(), "CF_SJLYDM / XK_LYDWDM")),
            ("publicity_until", described(date(), "CF_GSJZQ: the department's last day of publicity (penalties)")),
            (
                "legal_representative",
                described(
                    object(&[], &[("name", string()), ("id_type", string()), ("id_no", string())]),
                    "CF_FRDB/CF_FR_ZJLX/CF_FR_ZJHM: the name is dropped, a resident ID number kept only as its keyed digest",
                ),
            ),
            (
                "penalty",
                object(
                    &[],
                    &[
                        ("violation_type", described(string(), "CF_WFXW")),
                        ("content", described(string(), "CF_NR (required for a penalty)")),
                        ("fine_amount", described(amount.clone(), "CF_NR_FK in 万元")),
                        ("confiscated_amount", described(amount, "CF_NR_WFFF in 万元")),
                        ("categories", categories_schema()),
                        ("suspended_licence", described(string(), "CF_NR_ZKDX")),
                        ("valid_until", described(date(), "CF_YXQ")),
                    ],
                ),
            ),
            (
                "licence",
                object(
                    &[],
                    &[
                        ("document_name", described(string(), "XK_XKWS")),
                        ("category", licence_category_schema()),
                        ("certificate_name", described(string(), "XK_XKZS")),
                        ("certificate_no", described(string(), "XK_XKBH")),
                        ("content", described(string(), "XK_NR")),
                        ("valid_from", described(date(), "XK_YXQZ (XK_YXQZI is valid_until; 2099-12-31 = no end)")),
                        ("source_status", json!({ "type": "string", "enum": ["1", "2"], "description": "XK_ZT: 1 有效, 2 无效 (the record shows as expired)" })),
                    ],
                ),
            ),
        ],
    )
}

/// The record view of `GET /v1/records/{id}` (open: more fields may be added).
fn record_view() -> Value {
    let fen = json!({ "type": "integer", "minimum": 0, "description": "分" });
    let yuan = json!({ "type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$", "description": "元, two decimals" });
    let day_or_null = json!({ "type": "string", "format": "date", "nullable": true });
    let national = json!({
        "type": "object",
        "properties": {
            "subject_category": { "type": "string" }, "subject_category_name": { "type": "string" },
            "authority_uscc": uscc(), "source_unit": string(), "source_unit_uscc": uscc(), "publicity_until": date(),
            "legal_representative": { "type": "object", "properties": { "id_type": string(), "id_digest": object_id() } },
            "penalty": { "type": "object", "properties": {
                "violation_type": string(), "content": string(), "fine_fen": fen.clone(), "fine_yuan": yuan.clone(),
                "confiscated_fen": fen, "confiscated_yuan": yuan, "categories": array(string()),
                "category_penalty_types": array(json!({ "type": "object", "properties": { "category": string(), "penalty_type": string() } })),
                "suspended_licence": string(), "valid_until": date() } },
            "licence": { "type": "object", "properties": {
                "document_name": string(), "category": { "type": "string" }, "category_name": string(), "category_code": string(),
                "certificate_name": string(), "certificate_no": string(), "content": string(), "valid_from": date(),
                "source_status": { "type": "string", "enum": ["valid", "invalid"] }, "source_status_code": string() } }
        }
    });
    json!({
        "type": "object",
        "required": ["id", "type", "origin", "kind", "subject", "decided_on", "as_of", "body_visible"],
        "properties": {
            "id": object_id(), "type": string(), "origin": region(), "seq": { "type": "integer" }, "signer": string(),
            "kind": names(RecordKind::ALL), "subject": { "$ref": "#/components/schemas/Subject" },
            "decided_on": date(), "as_of": date(), "status": string(), "status_since": day_or_null.clone(),
            "publicity": { "type": "object", "description": "the rule table's decision (max_until: first day no longer public)" },
            "publicity_end": {
                "type": "object",
                "description": "the later of the rule table's end and the department's (CF_GSJZQ) governs",
                "properties": {
                    "rule_until": day_or_null.clone(), "department_until": day_or_null.clone(),
                    "governs": { "type": "string", "enum": ["rules", "department"] }, "ends_on": day_or_null
                }
            },
            "body_visible": { "type": "boolean" },
            "record": { "type": "object", "description": "the record content (when visible)", "properties": { "national": national } }
        }
    })
}

fn compliance_report() -> Value {
    let num = || json!({ "type": "integer", "minimum": 0 });
    let rate = || json!({ "type": "number", "minimum": 0, "maximum": 1 });
    let counts = |extra: &[(&str, Value)]| {
        let mut req = vec![
            ("records", num()),
            ("timely", num()),
            ("timeliness", rate()),
            ("compliant", num()),
            ("rule_compliance", rate()),
            ("repaired", num()),
            ("objections_open", num()),
            ("objections_overdue", num()),
            ("active", num()),
        ];
        req.extend(extra.iter().cloned());
        object(&req, &[])
    };
    let late = object(
        &[
            ("record", object_id()),
            ("region", region()),
            ("kind", names(RecordKind::ALL)),
            ("decision_no", string()),
            ("decided_on", date()),
            ("deadline", date()),
            ("published", date()),
        ],
        &[],
    );
    object(
        &[
            ("report", json!({ "type": "string", "enum": ["compliance"] })),
            ("region", region()),
            ("month", json!({ "type": "string", "example": "2026-11" })),
            ("as_of", date()),
            ("totals", counts(&[])),
            ("by_region", array(counts(&[("region", region())]))),
            ("by_region_and_kind", array(counts(&[("region", region()), ("kind", names(RecordKind::ALL))]))),
            ("late_items", array(late)),
            ("late_total", num()),
            ("late_items_max", num()),
            ("objections_overdue", array(json!({ "type": "object" }))),
            ("receipts_overdue", array(json!({ "type": "object" }))),
        ],
        &[],
    )
}

fn record_draft() -> Value {
    object(
        &[
            ("kind", names(RecordKind::ALL)),
            ("subject", json!({ "$ref": "#/components/schemas/Subject" })),
            ("authority", string()),
            ("decision_no", string()),
            ("legal_basis", string()),
            ("sector", string()),
            ("decided_on", date()),
            ("classification", names(Classification::ALL)),
        ],
        &[
            ("subject_name", string()),
            ("facts", string()),
            ("severity", names(Severity::ALL)),
            ("published_on", date()),
            ("penalty_types", array(string())),
            ("not_repairable", json!({ "type": "boolean" })),
            ("valid_until", date()),
            ("grade", string()),
            ("grade_scheme", string()),
            ("repair_notice", string()),
            ("national", json!({ "$ref": "#/components/schemas/NationalDraft" })),
        ],
    )
}

/// The request body schemas, by component name.
fn schemas() -> Map<String, Value> {
    let draft = json!({ "$ref": "#/components/schemas/RecordDraft" });
    let disqualifier = object(&[("kind", names(RecordKind::ALL))], &[("severity", names(Severity::ALL))]);
    let scopes: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let list = [
        ("Error", error_schema()),
        ("Subject", subject_schema()),
        ("RecordDraft", record_draft()),
        ("NationalDraft", national_draft()),
        ("RecordView", record_view()),
        ("ComplianceReport", compliance_report()),
        ("RepairDraft", object(&[("repaired_on", date()), ("basis", string())], &[])),
        ("WithdrawalDraft", object(&[("withdrawn_on", date()), ("reason", string())], &[])),
        ("CorrectionDraft", object(&[("corrected_on", date()), ("reason", string()), ("record", draft)], &[])),
        (
            "ObjectionDraft",
            object(&[("ground", names(ObjectionGround::ALL)), ("statement", string()), ("filed_on", date())], &[]),
        ),
        (
            "ResolutionDraft",
            object(&[("outcome", names(ObjectionOutcome::ALL)), ("reason", string()), ("resolved_on", date())], &[]),
        ),
        (
            "SchemeDraft",
            object(
                &[
                    ("code", string()),
                    ("name", string()),
                    ("benefit", string()),
                    ("recognised_regions", array(region())),
                    ("valid_from", date()),
                    ("valid_until", date()),
                ],
                &[("disqualifying", array(disqualifier)), ("min_grade", string())],
            ),
        ),
        (
            "MeasureDraft",
            object(
                &[
                    ("target", object_id()),
                    ("subject", json!({ "$ref": "#/components/schemas/Subject" })),
                    ("measure", string()),
                    ("applied_on", date()),
                ],
                &[],
            ),
        ),
        (
            "Pin",
            object(
                &[("region", region()), ("root_key", string())],
                &[("delegations", array(json!({ "type": "string", "pattern": "^([0-9a-f]{2})+$" })))],
            ),
        ),
        (
            "LocalPolicy",
            json!({
                "type": "object", "additionalProperties": false,
                "description": "an empty policy accepts every kind from every pinned region; replacing rules with none needs ?force=true",
                "properties": {
                    "accepted_kinds": { "type": "object", "additionalProperties": array(names(RecordKind::ALL)) },
                    "shared_entitled": array(region()),
                }
            }),
        ),
        ("TokenRequest", object(&[("scope", json!({ "type": "string", "enum": scopes }))], &[])),
    ];
    list.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The query of `GET /v1/records/export` (`GET /v1/records` takes all but `format`).
const LIST_PARAMS: [&str; 12] = [
    "format",
    "kind",
    "origin",
    "status",
    "decided_from",
    "decided_to",
    "authority",
    "name",
    "decision_no",
    "as_of",
    "limit",
    "cursor",
];

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
        RouteId::PolicyPut => &["force"],
        RouteId::Changes => &["after", "limit", "wait", "kind", "origin", "subject"],
        RouteId::ListRecords => &LIST_PARAMS[1..],
        RouteId::ExportRecords => &LIST_PARAMS,
        RouteId::ComplianceReport => &["month"],
        _ => &[],
    };
    out.extend(q.iter().map(|n| {
        let schema = if *n == "month" {
            json!({ "type": "string", "pattern": "^20[0-9]{2}-(0[1-9]|1[0-2])$", "example": "2026-11" })
        } else {
            json!({ "type": "string" })
        };
        json!({ "name": n, "in": "query", "required": matches!(*n, "scheme" | "index" | "size" | "month"), "schema": schema })
    }));
    out
}

/// The document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    let err = |d: &str| json!({ "description": d, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    for r in ROUTES {
        let mut responses = json!({
            "200": { "description": "OK" },
            "400": err("malformed request (query, JSON shape, field)"),
            "404": err("no such route, or no such object"),
            "500": err("a failure inside the node (logged, counted); never caused by input alone"),
            "503": err("busy, storage unavailable, insufficient storage (free space below store.min_free_mb) or handler timeout; see Retry-After"),
        });
        if r.need != Need::Nothing {
            responses["401"] = err("missing or unknown token");
            responses["403"] = err("token lacks the scope");
            responses["429"] = err("rate limited (per token)");
        }
        if r.path.contains('{') || !params(r.path, r.id).is_empty() {
            responses["422"] = err("a parameter breaks a rule (e.g. a USCC check character; field named)");
        }
        if r.id == RouteId::Changes {
            responses["410"] = err("cursor_expired: the cursor is of another store epoch; follow again from the start");
        }
        if r.body() != BodyKind::None {
            responses["408"] = err("request body not received in time");
            responses["413"] = err("body too large");
            if r.body() != BodyKind::Text {
                responses["415"] = err(&format!("Content-Type is not {}", r.body().media_types().join(" or ")));
            }
            responses["422"] = err("breaks a rule (field named)");
        }
        if r.method != hyper::Method::GET {
            responses["409"] = err("conflicts with the node's state (e.g. the own region cannot be unpinned)");
        }
        if r.method == hyper::Method::POST && r.id != RouteId::SubmitBatch {
            responses["201"] = json!({ "description": "created" });
            responses["422"] = err("breaks a rule (field named)");
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
        if r.id == RouteId::ExportRecords {
            op["responses"]["200"]["content"] = json!({ "text/csv": { "schema": { "type": "string" } }, "application/x-ndjson": { "schema": { "type": "string" } } });
            op["responses"]["200"]["headers"] = json!({
                "X-Credfed-Next-Cursor": { "description": "cursor of the next page, when there may be one", "schema": { "type": "string" } }
            });
        }
        if r.id == RouteId::ComplianceReport {
            op["description"] = json!("Records decided in the month (decision date, China time). Figures as in \
                GET /v1/compliance (timeliness 及时率, rule compliance 合规率, repairs, objections) per region and kind, \
                totals per region and overall, late items (published after their publication deadline; at most \
                late_items_max listed, late_total counts all), overdue objections and receipts. A missing or \
                malformed month is 400 with field month.");
            op["responses"]["200"]["content"] =
                json!({ "application/json": { "schema": { "$ref": "#/components/schemas/ComplianceReport" } } });
        }
        if r.mount == Mount::Tlog {
            op["description"] = json!(
                "C2SP transparency-log route, documented at the default api.tlog_prefix \
                /tlog (the node serves it under the configured prefix)."
            );
        }
        if r.id == RouteId::TlogTile {
            op["description"] = json!(
                "C2SP tlog-tiles (https://c2sp.org/tlog-tiles). {tile} is the rest of the \
                path, slashes included: <L>/<N>[.p/<W>] for Merkle hashes (level L, index N in x-prefixed groups \
                of three digits, partial width W 1-255) or entries/<N>[.p/<W>] for an entry bundle. Full tiles \
                are immutable (Cache-Control: public, max-age=31536000, immutable); partial ones no-cache. A \
                non-canonical path is 400, a tile beyond the tree 404; tiles needing over 262144 leaf reads 503."
            );
            op["responses"]["200"]["content"] =
                json!({ "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } });
        }
        if r.id == RouteId::TlogCheckpoint {
            op["responses"]["200"]["content"] = json!({ "text/plain": { "schema": { "type": "string" } } });
        }
        if r.id == RouteId::TlogAddCheckpoint {
            op["description"] = json!(
                "C2SP tlog-witness (https://c2sp.org/tlog-witness). Body: old <size>, the \
                consistency proof (one base64 hash a line), a blank line, the peer region's signed checkpoint. \
                Cosigned under the same witness state as peer requests; no token needed (the log's signature \
                authenticates the checkpoint)."
            );
            op["requestBody"] =
                json!({ "required": true, "content": { "text/plain": { "schema": { "type": "string" } } } });
            let responses = &mut op["responses"];
            responses["200"] = json!({ "description": "the cosignature/v1 line(s)", "content": { "text/plain": { "schema": { "type": "string" } } } });
            responses["400"] = err("malformed request, or old size above the checkpoint size");
            responses["403"] = err("the checkpoint is not signed by a node key of the log's region");
            responses["404"] = err("not a log witnessed here (no pinned peer region's audit log)");
            responses["409"] = json!({ "description": "old size is not the size cosigned here last, which the body gives", "content": { "text/x.tlog.size": { "schema": { "type": "string" } } } });
            responses["422"] = err("the consistency proof does not verify");
            if let Some(o) = responses.as_object_mut() {
                o.remove("201");
            }
        }
        if r.id == RouteId::GetRecord {
            op["responses"]["200"]["content"] =
                json!({ "application/json": { "schema": { "$ref": "#/components/schemas/RecordView" } } });
        }
        if let Some(b) = request_body(r.id) {
            op["requestBody"] = b;
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method.as_str().to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": { "title": "credfed node API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Cross-region public-credit federation node (DESIGN §7)." },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": schemas(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::drafts::{self, parse};

    /// A body with every property the schema names, each with a value the schema allows.
    fn example(schema: &Value, all: &Map<String, Value>) -> Value {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().unwrap_or_default();
            if name == "Subject" {
                return json!({ "uscc": "91411500MA44A1B2C3" });
            }
            return example(&all[name], all);
        }
        if let Some(e) = schema.get("enum") {
            return e[0].clone();
        }
        match schema["type"].as_str() {
            Some("object") => match schema.get("properties").and_then(Value::as_object) {
                Some(p) => p.iter().map(|(k, v)| (k.clone(), example(v, all))).collect::<Map<_, _>>().into(),
                None => json!({}),
            },
            Some("array") => json!([example(&schema["items"], all)]),
            Some("boolean") => json!(true),
            _ => match (schema.get("format").and_then(Value::as_str), schema.get("pattern").and_then(Value::as_str)) {
                (Some("date"), _) => json!("2026-01-05"),
                (_, Some("^[a-z][a-z0-9_]{0,31}$")) => json!("xinyang"),
                (_, Some("^[0-9a-f]{64}$")) => json!("00".repeat(32)),
                _ => json!("x"),
            },
        }
    }

    #[test]
    fn the_schemas_name_exactly_the_fields_the_drafts_accept() {
        let all = schemas();
        let body = |name: &str| serde_json::to_vec(&example(&all[name], &all)).unwrap();
        parse::<drafts::RecordDraft>(&body("RecordDraft")).unwrap();
        parse::<drafts::RepairDraft>(&body("RepairDraft")).unwrap();
        parse::<drafts::WithdrawalDraft>(&body("WithdrawalDraft")).unwrap();
        parse::<drafts::CorrectionDraft>(&body("CorrectionDraft")).unwrap();
        parse::<drafts::ObjectionDraft>(&body("ObjectionDraft")).unwrap();
        parse::<drafts::ResolutionDraft>(&body("ResolutionDraft")).unwrap();
        parse::<drafts::SchemeDraft>(&body("SchemeDraft")).unwrap();
        parse::<drafts::MeasureDraft>(&body("MeasureDraft")).unwrap();
        parse::<credfed_protocol::trust::LocalPolicy>(&body("LocalPolicy")).unwrap();
        // The national block: every property the schema names is a field of the draft, and the
        // published examples have the draft's shape (node/tests/api_national.rs posts them).
        let national = example(&all["NationalDraft"], &all);
        assert!(national["penalty"]["fine_amount"].is_string() && national["licence"]["source_status"] == "1");
        parse::<drafts::NationalDraft>(&serde_json::to_vec(&national).unwrap()).unwrap();
        for (name, e) in record_examples().as_object().unwrap() {
            let d = parse::<drafts::RecordDraft>(&serde_json::to_vec(&e["value"]).unwrap());
            assert!(d.is_ok_and(|d| d.national.is_some()), "{name}");
        }
        // Every required field is required by the type too.
        let mut v = example(&all["RepairDraft"], &all);
        v.as_object_mut().unwrap().remove("basis");
        assert!(parse::<drafts::RepairDraft>(&serde_json::to_vec(&v).unwrap()).is_err());
    }

    #[test]
    fn every_body_route_documents_415_and_every_schema_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method.as_str().to_ascii_lowercase()];
            // Text bodies (tlog-witness) take any Content-Type.
            let checked = !matches!(r.body(), BodyKind::None | BodyKind::Text);
            assert_eq!(op["responses"].get("415").is_some(), checked, "{}", r.path);
        }
        for name in text.split("#/components/schemas/").skip(1).map(|s| s.split('"').next().unwrap()) {
            assert!(doc["components"]["schemas"].get(name).is_some(), "{name}");
        }
    }
}
