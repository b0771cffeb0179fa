//! The HTTP API (DESIGN §7): hyper 1, HTTP/1.1, JSON.
//!
//! Layout: [`routes`] is the route table (method, template, scope, summary) that both the
//! dispatcher and [`openapi`] read; [`error`] maps failures to `{"error":{…}}` with their
//! status; handlers live in [`records`], [`submit`], [`audit_routes`] and [`admin`] and stay
//! thin (extract → call ingest/query/audit → map the error → one log line).
//!
//! Limits (RELIABILITY F11): request bodies over `api.max_body_bytes` → 413 before decoding;
//! headers must arrive within `api.header_read_timeout_secs`; at most `api.max_connections`
//! connections are served at once (the rest wait in the accept queue).

pub mod admin;
pub mod audit_routes;
pub mod dispatch;
pub mod drafts;
pub mod error;
pub mod openapi;
pub mod ratelimit;
pub mod records;
pub mod routes;
pub mod submit;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::config::ApiConfig;
use crate::ingest::Ingest;
use crate::metrics::Metrics;
use crate::state::tokens::{self, AuthError, Principal};
use crate::state::State;
use error::ApiError;
use routes::RouteId;

/// The response type of every handler.
pub type Resp = Response<Full<Bytes>>;

/// Which listener a request arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listener {
    /// The API address.
    Public,
    /// The admin address (`/metrics`, `/v1/admin/*`).
    Admin,
}

/// Everything a handler can reach.
#[derive(Clone)]
pub struct App {
    /// Pipeline (and through it the state).
    pub ingest: Ingest,
    /// API settings.
    pub cfg: Arc<ApiConfig>,
    /// Per-token rate limit.
    pub limiter: Arc<ratelimit::RateLimiter>,
}

impl App {
    /// A new app.
    pub fn new(ingest: Ingest, cfg: ApiConfig) -> App {
        let limiter = Arc::new(ratelimit::RateLimiter::new(cfg.rate_per_token, cfg.burst_per_token));
        App { ingest, cfg: Arc::new(cfg), limiter }
    }
    /// Shared state.
    pub fn state(&self) -> &Arc<State> {
        self.ingest.state()
    }
}

/// One parsed request, as handlers see it.
pub struct Ctx {
    /// The app.
    pub app: App,
    /// Authenticated caller (None on open routes).
    pub principal: Option<Principal>,
    /// Path parameters in template order.
    pub params: Vec<String>,
    /// Query parameters.
    pub query: HashMap<String, String>,
    /// Content-Type.
    pub content_type: String,
    /// Body bytes (already size-capped).
    pub body: Bytes,
}

impl Ctx {
    /// A required query parameter parsed as `T`.
    ///
    /// # Errors
    /// 400 `invalid_query` naming the parameter.
    pub fn q<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ApiError> {
        self.query
            .get(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::bad_request("invalid_query", format!("invalid value for {name}")).field(name)
                })
            })
            .transpose()
    }
    /// Token id for audit entries.
    pub fn token_id(&self) -> String {
        self.principal.as_ref().map_or_else(|| "none".into(), |p| p.token_id.clone())
    }
    /// The audit source of objects this request submits.
    pub fn source(&self) -> credfed_protocol::audit::Source {
        credfed_protocol::audit::Source::Http { token_id: self.token_id() }
    }
    /// Whether the caller holds the `audit` scope.
    pub fn is_auditor(&self) -> bool {
        self.principal.as_ref().is_some_and(|p| p.scope == tokens::Scope::Audit)
    }
}

/// A JSON response.
pub fn json<T: Serialize>(status: StatusCode, v: &T) -> Resp {
    let body = serde_json::to_vec(v).expect("JSON values serialize");
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A plain-text response.
pub fn text(status: StatusCode, s: String, ctype: &'static str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(s)));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    q.unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

async fn handle(app: App, listener: Listener, req: Request<Incoming>) -> Resp {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let (result, template, token_id) = route(app.clone(), listener, req).await;
    let resp = result.unwrap_or_else(|e| e.into_response());
    let status = resp.status().as_u16();
    let m = &app.state().metrics;
    let route_label = template.unwrap_or("unmatched");
    m.http_requests
        .get_or_create(&vec![("route".into(), route_label.into()), ("status".into(), status.to_string())])
        .inc();
    m.http_seconds.get_or_create(&Metrics::label("route", route_label)).observe(started.elapsed().as_secs_f64());
    tracing::info!(%method, route = route_label, status, ms = started.elapsed().as_millis() as u64, token = token_id.as_deref().unwrap_or("-"), "http");
    if template.is_none() {
        tracing::debug!(path = %path.chars().take(200).collect::<String>(), "no route");
    }
    resp
}

async fn route(
    app: App,
    listener: Listener,
    req: Request<Incoming>,
) -> (Result<Resp, ApiError>, Option<&'static str>, Option<String>) {
    let path = req.uri().path().to_string();
    let (found, method_ok) = routes::find(req.method(), &path);
    let Some((r, params)) = found else {
        let e =
            if method_ok { ApiError::method_not_allowed() } else { ApiError::not_found("no_route", "no such route") };
        return (Err(e), None, None);
    };
    let admin_route = r.path.starts_with("/v1/admin") || r.id == RouteId::Metrics;
    let allowed = match listener {
        Listener::Admin => admin_route || r.id == RouteId::Health,
        Listener::Public => r.id != RouteId::Metrics && (!admin_route || app.cfg.admin_routes),
    };
    if !allowed {
        return (Err(ApiError::not_found("no_route", "not served on this listener")), Some(r.path), None);
    }
    let auth = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let principal = match tokens::authenticate(app.state(), auth, r.need) {
        Ok(p) => p,
        Err(AuthError::Unauthenticated) => return (Err(ApiError::unauthorized()), Some(r.path), None),
        Err(AuthError::Forbidden) => return (Err(ApiError::forbidden(r.need.describe())), Some(r.path), None),
    };
    let token_id = principal.as_ref().map(|p| p.token_id.clone());
    if let Some(t) = &token_id {
        if !app.limiter.allow(t) {
            let e =
                ApiError::new(hyper::StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests for this token");
            return (Err(e), Some(r.path), token_id);
        }
    }
    let query = parse_query(req.uri().query());
    let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let max = app.cfg.max_body_bytes;
    let declared =
        req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        // Drain a moderately oversized body (bounded in size and time) so the client can read
        // the 413 instead of seeing its write fail; larger ones just get the connection closed.
        if declared.is_some_and(|n| n <= max.saturating_mul(4)) {
            let drain = Limited::new(req.into_body(), max.saturating_mul(4)).collect();
            let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
        }
        return (Err(ApiError::too_large(max)), Some(r.path), token_id);
    }
    let body = match Limited::new(req.into_body(), max).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return (Err(ApiError::too_large(max)), Some(r.path), token_id)
        }
        Err(_) => {
            return (
                Err(ApiError::bad_request("body_read_failed", "could not read the request body")),
                Some(r.path),
                token_id,
            )
        }
    };
    let ctx = Ctx { app, principal, params, query, content_type, body };
    (dispatch::dispatch(r.id, ctx).await, Some(r.path), token_id)
}

/// Serves `listener` until `stop` turns true, then drains connections (at most 10 s).
pub async fn serve(listener: TcpListener, app: App, which: Listener, mut stop: watch::Receiver<bool>) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(app.cfg.max_connections.max(1)));
    let timeout = Duration::from_secs(app.cfg.header_read_timeout_secs.max(1));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.changed() => break,
        };
        let (stream, _) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => { tracing::warn!(error = %e, "accept failed"); tokio::time::sleep(Duration::from_millis(50)).await; continue }
            },
            _ = stop.changed() => break,
        };
        let app = app.clone();
        let svc = service_fn(move |req| {
            let app = app.clone();
            async move { Ok::<_, std::convert::Infallible>(handle(app, which, req).await) }
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(timeout)
            .max_buf_size(64 * 1024)
            .serve_connection(TokioIo::new(stream), svc);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after 10 s; closing");
    }
}

/// `Method` helpers for the route table.
pub const GET: Method = Method::GET;
/// POST.
pub const POST: Method = Method::POST;
