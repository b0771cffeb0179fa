//! API errors: `{"error":{"code","message","field"?,"earliest"?}}` with a status that the error
//! knows (STYLE §12). Client input never produces a 500.

use hyper::StatusCode;
use serde_json::{json, Map, Value};

use super::{json, Resp};
use crate::audit::AuditError;
use crate::ingest::{ErrorClass, IngestError};
use crate::store::StoreError;

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: String,
    /// Human message.
    pub message: String,
    /// Offending field.
    pub field: Option<String>,
    /// Extra members (e.g. `earliest`).
    pub extra: Map<String, Value>,
    /// Response headers (e.g. `allow`); every 503 also gets `retry-after: 1` unless set here.
    pub headers: Option<Box<Vec<(&'static str, String)>>>,
}

impl ApiError {
    /// Any status.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError { status, code: code.into(), message: message.into(), field: None, extra: Map::new(), headers: None }
    }
    /// With a field.
    pub fn field(mut self, f: impl Into<String>) -> ApiError {
        self.field = Some(f.into());
        self
    }
    /// 400.
    pub fn bad_request(code: &str, m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, m)
    }
    /// 422.
    pub fn unprocessable(code: &str, m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, m)
    }
    /// 404.
    pub fn not_found(code: &str, m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, m)
    }
    /// 401.
    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "missing or unknown bearer token")
    }
    /// 403.
    pub fn forbidden(need: &str) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", format!("this route needs a token with scope {need}"))
    }
    /// With a response header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> ApiError {
        self.headers.get_or_insert_default().push((name, value.into()));
        self
    }
    /// 405 with `Allow`.
    pub fn method_not_allowed(allow: &[&str]) -> ApiError {
        let list = allow.join(", ");
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("method not allowed on this route; allowed: {list}"),
        )
        .header("allow", list)
    }
    /// 415.
    pub fn unsupported_media_type(expected: &str) -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the body as {expected} (Content-Type header)"),
        )
    }
    /// 413.
    pub fn too_large(max: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("request body over the {max}-byte limit"),
        )
    }
    /// 503 for internal trouble (storage).
    pub fn unavailable(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", m)
    }

    /// The `{"code","message","field"?,…}` object (also a batch item's `error`).
    pub fn body(&self) -> Value {
        let mut e = Map::new();
        e.insert("code".into(), json!(self.code));
        e.insert("message".into(), json!(self.message));
        if let Some(f) = &self.field {
            e.insert("field".into(), json!(f));
        }
        e.extend(self.extra.clone());
        Value::Object(e)
    }

    /// The JSON response.
    pub fn into_response(self) -> Resp {
        let mut r = json(self.status, &json!({ "error": self.body() }));
        let h = r.headers_mut();
        for (k, v) in self.headers.map(|b| *b).unwrap_or_default() {
            if let Ok(v) = hyper::header::HeaderValue::from_str(&v) {
                h.insert(k, v);
            }
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE && !h.contains_key("retry-after") {
            h.insert("retry-after", hyper::header::HeaderValue::from_static("1"));
        }
        r
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> ApiError {
        let status = match e.class {
            ErrorClass::Malformed => StatusCode::BAD_REQUEST,
            ErrorClass::Rule | ErrorClass::Pending => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorClass::Conflict => StatusCode::CONFLICT,
            ErrorClass::NotFound => StatusCode::NOT_FOUND,
            ErrorClass::Unavailable | ErrorClass::Busy => StatusCode::SERVICE_UNAVAILABLE,
        };
        let mut a = ApiError::new(status, &e.code, e.message);
        a.field = e.field;
        if let Some(d) = e.earliest {
            a.extra.insert("earliest".into(), json!(d.to_string()));
        }
        if let Some(id) = e.existing {
            a.extra.insert("existing_id".into(), json!(id.to_hex()));
        }
        a
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        tracing::error!(error = %e, "storage error");
        ApiError::unavailable(e.to_string())
    }
}

impl From<AuditError> for ApiError {
    fn from(e: AuditError) -> ApiError {
        match e {
            AuditError::Range(m) => ApiError::unprocessable("invalid_range", m),
            AuditError::Store(s) => s.into(),
            other => {
                tracing::error!(error = %other, "audit log integrity");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "audit_integrity", other.to_string())
            }
        }
    }
}
