//! The HTTP API (DESIGN §7): hyper 1, HTTP/1.1, JSON.
//!
//! Layout: [`routes`] is the route table (method, template, scope, summary) that both the
//! dispatcher and [`openapi`] read; [`error`] maps failures to `{"error":{…}}` with their
//! status; handlers live in [`records`], [`submit`], [`audit_routes`] and [`admin`] and stay
//! thin (extract → call ingest/query/audit → map the error → one log line).
//!
//! Limits (RELIABILITY F11, issue 15), every stage of a request bounded:
//! * connections: admitted by [`conn::Admission`] (fair share per client address, stalled
//!   connections shed first, a reserve for health and admin requests); a socket with no
//!   progress for `api.idle_timeout_secs` is closed ([`conn::Guarded`]);
//! * headers within `api.header_read_timeout_secs`;
//! * bodies: only routes that take one read one, in the route's media type (else 415), at
//!   most `api.max_body_bytes` (413 before decoding), within 2 s + length /
//!   `api.min_body_rate_bytes` and `api.body_timeout_secs` (else 408);
//! * handlers within `api.handler_timeout_secs` (else 503 with `Retry-After`); a handler that
//!   panics answers 500 `internal_error`, is logged and counted (`credfed_http_panics`), and
//!   the connection stays up.

pub mod admin;
pub mod audit_routes;
pub mod batch;
pub mod changes;
pub mod conn;
pub mod dispatch;
pub mod drafts;
pub mod error;
pub mod list;
pub mod openapi;
pub mod ratelimit;
pub mod records;
pub mod routes;
pub mod submit;
pub mod tlog_routes;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::FutureExt;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use crate::config::ApiConfig;
use crate::ingest::Ingest;
use crate::metrics::Metrics;
use crate::state::tokens::{self, AuthError, Principal};
use crate::state::State;
use error::ApiError;
use routes::{BodyKind, RouteId};

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
    /// Slots of batch requests (`api.max_concurrent_batches`).
    pub batches: Arc<Semaphore>,
    /// What serves `/console/` (set by the assembly; None: not served).
    pub console: Option<Arc<dyn Console>>,
}

/// A server of the `/console/` pages on the listeners of this API (implemented in
/// `crate::console`, which sits above this module and calls it through [`call`]).
pub trait Console: Send + Sync {
    /// Answers one request under `/console`.
    fn handle(&self, app: App, listener: Listener, req: Request<Incoming>)
        -> futures::future::BoxFuture<'static, Resp>;
}

impl App {
    /// A new app.
    pub fn new(ingest: Ingest, cfg: ApiConfig) -> App {
        let limiter = Arc::new(ratelimit::RateLimiter::new(cfg.rate_per_token, cfg.burst_per_token));
        let batches = Arc::new(Semaphore::new(cfg.max_concurrent_batches.max(1)));
        App { ingest, cfg: Arc::new(cfg), limiter, batches, console: None }
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
    /// Request headers.
    pub headers: hyper::HeaderMap,
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

/// Runs store work on the blocking pool (a panic there is a 503, never a dropped connection).
///
/// # Errors
/// `f`'s error, or 503 when the task failed.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::unavailable(e.to_string()))?
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

/// Query parameters, `application/x-www-form-urlencoded` (`%XX` and `+` decoded; invalid
/// UTF-8 replaced, so a handler's parse names the parameter).
fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(q.unwrap_or("").as_bytes()).into_owned().collect()
}

/// Path parameters with `%XX` decoded.
///
/// # Errors
/// 400 `invalid_path` when a decoded parameter is not UTF-8.
fn decode_params(template: &str, raw: Vec<String>) -> Result<Vec<String>, ApiError> {
    let names = template.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')));
    raw.iter()
        .zip(names)
        .map(|(p, name)| {
            percent_encoding::percent_decode_str(p).decode_utf8().map(|s| s.into_owned()).map_err(|_| {
                ApiError::bad_request("invalid_path", format!("path parameter {name} is not UTF-8 once %-decoded"))
                    .field(name)
            })
        })
        .collect()
}

/// What the request path knows of its connection.
#[derive(Clone)]
struct ConnInfo {
    activity: Arc<conn::Activity>,
    reserve: bool,
}

async fn handle(app: App, listener: Listener, conn: ConnInfo, req: Request<Incoming>) -> Resp {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let (result, template, token_id) = route(app.clone(), listener, &conn, req).await;
    conn.activity.end();
    let resp = result.unwrap_or_else(|e| e.into_response());
    let status = resp.status().as_u16();
    let m = &app.state().metrics;
    let route_label = template.unwrap_or("unmatched");
    m.http_requests
        .get_or_create(&vec![("route".into(), route_label.into()), ("status".into(), status.to_string())])
        .inc();
    m.http_seconds.get_or_create(&Metrics::label("route", route_label)).observe(started.elapsed().as_secs_f64());
    tracing::debug!(%method, route = route_label, status, ms = started.elapsed().as_millis() as u64, token = token_id.as_deref().unwrap_or("-"), "http");
    if template.is_none() {
        tracing::debug!(path = %path.chars().take(200).collect::<String>(), "no route");
    }
    resp
}

/// The body of `req` for a route that takes `kind`, read within its limits.
async fn read_body(cfg: &ApiConfig, kind: BodyKind, req: Request<Incoming>) -> Result<Bytes, ApiError> {
    let expected = kind.media_types();
    if expected.is_empty() {
        return Ok(Bytes::new()); // not read; hyper closes the connection if one was sent
    }
    let ct = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ct = ct.split(';').next().unwrap_or("").trim();
    if kind != BodyKind::Text && !expected.iter().any(|e| ct.eq_ignore_ascii_case(e)) {
        return Err(ApiError::unsupported_media_type(&expected.join(" or ")));
    }
    let max = if kind == BodyKind::Batch { cfg.max_batch_body_bytes } else { cfg.max_body_bytes };
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        // Drain a moderately oversized body (bounded in size and time) so the client can read
        // the 413 instead of seeing its write fail; larger ones just get the connection closed.
        if declared.is_some_and(|n| n <= max.saturating_mul(4) as u64) {
            let drain = Limited::new(req.into_body(), max.saturating_mul(4)).collect();
            let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
        }
        return Err(ApiError::too_large(max));
    }
    let cap = Duration::from_secs(cfg.body_timeout_secs);
    let deadline = declared.map_or(cap, |n| (Duration::from_secs(2 + n / cfg.min_body_rate_bytes.max(1))).min(cap));
    match tokio::time::timeout(deadline, Limited::new(req.into_body(), max).collect()).await {
        Ok(Ok(b)) => Ok(b.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::too_large(max)),
        Ok(Err(_)) => Err(ApiError::bad_request("body_read_failed", "could not read the request body")),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!("the request body did not arrive within {} s", deadline.as_secs()),
        )
        .header("connection", "close")),
    }
}

/// A request that may go to its handler.
struct Admitted {
    route: &'static routes::Route,
    params: Vec<String>,
    principal: Option<tokens::Principal>,
}

/// A refusal before the handler, with the route path and token id for the access log.
type Refused = Box<(ApiError, Option<&'static str>, Option<String>)>;

/// What every request passes before its handler, over HTTP ([`route`]) or through [`call`]:
/// the route table, path parameters, the listener rule, the token's scope, the reserved slots
/// (`reserve`: the connection holds one; only health and admin requests are served there) and
/// the token's rate limit.
fn admit(
    app: &App,
    listener: Listener,
    reserve: bool,
    method: &Method,
    path: &str,
    auth: Option<&str>,
) -> Result<Admitted, Refused> {
    let (r, params) = match routes::find(method, path, &app.cfg.tlog_prefix) {
        Ok(found) => found,
        Err(allow) if allow.is_empty() => {
            return Err(Box::new((ApiError::not_found("no_route", "no such route"), None, None)))
        }
        Err(allow) => return Err(Box::new((ApiError::method_not_allowed(&allow), None, None))),
    };
    let params = decode_params(r.path, params).map_err(|e| Box::new((e, Some(r.path), None)))?;
    let admin_route = r.path.starts_with("/v1/admin") || r.id == RouteId::Metrics;
    let allowed = match listener {
        Listener::Admin => admin_route || r.id == RouteId::Health,
        Listener::Public => r.id != RouteId::Metrics && (!admin_route || app.cfg.admin_routes),
    };
    if !allowed {
        return Err(Box::new((ApiError::not_found("no_route", "not served on this listener"), Some(r.path), None)));
    }
    let principal = match tokens::authenticate(app.state(), auth, r.need) {
        Ok(p) => p,
        Err(AuthError::Unauthenticated) => return Err(Box::new((ApiError::unauthorized(), Some(r.path), None))),
        Err(AuthError::Forbidden) => {
            return Err(Box::new((ApiError::forbidden(r.need.describe()), Some(r.path), None)))
        }
    };
    let token_id = principal.as_ref().map(|p| p.token_id.clone());
    let admin = principal.as_ref().is_some_and(|p| p.scope == tokens::Scope::Admin);
    if reserve && r.id != RouteId::Health && !admin {
        let e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "every connection slot is taken; this reserved one serves only /v1/health and admin requests",
        );
        return Err(Box::new((e, Some(r.path), token_id)));
    }
    if let Some(t) = &token_id {
        if !app.limiter.allow(t) {
            let e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests for this token");
            return Err(Box::new((e, Some(r.path), token_id)));
        }
    }
    Ok(Admitted { route: r, params, principal })
}

async fn route(
    app: App,
    listener: Listener,
    conn: &ConnInfo,
    req: Request<Incoming>,
) -> (Result<Resp, ApiError>, Option<&'static str>, Option<String>) {
    let path = req.uri().path().to_string();
    if path == "/console" || path.starts_with("/console/") {
        if let Some(console) = app.console.clone() {
            if conn.reserve {
                let e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "every connection slot is taken; this reserved one serves only /v1/health and admin API requests",
                );
                return (Err(e), Some("/console"), None);
            }
            let limit = Duration::from_secs(app.cfg.handler_timeout_secs);
            let metrics = app.state().metrics.clone();
            conn.activity.begin();
            let page = console.handle(app, listener, req);
            return (guarded(page.map(Ok), limit, "/console", &metrics).await, Some("/console"), None);
        }
    }
    let auth = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Admitted { route: r, params, principal } = match admit(&app, listener, conn.reserve, req.method(), &path, auth)
    {
        Ok(a) => a,
        Err(refused) => {
            let (e, path, token) = *refused;
            return (Err(e), path, token);
        }
    };
    let token_id = principal.as_ref().map(|p| p.token_id.clone());
    let query = parse_query(req.uri().query());
    let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let headers = req.headers().clone();
    let limit = Duration::from_secs(app.cfg.handler_timeout_secs);
    let _batch_slot = if r.body() == BodyKind::Batch {
        match tokio::time::timeout(limit, app.batches.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Some(permit),
            _ => {
                let e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    format!("{} batches are being processed; retry", app.cfg.max_concurrent_batches),
                );
                return (Err(e), Some(r.path), token_id);
            }
        }
    } else {
        None
    };
    let body = match read_body(&app.cfg, r.body(), req).await {
        Ok(b) => b,
        Err(e) => return (Err(e), Some(r.path), token_id),
    };
    let metrics = app.state().metrics.clone();
    let ctx = Ctx { app, principal, params, query, content_type, headers, body };
    conn.activity.begin();
    let result = guarded(dispatch::dispatch(r.id, ctx), limit, r.path, &metrics).await;
    (result, Some(r.path), token_id)
}

/// Calls a route as a request with `Authorization: Bearer <token>` on `listener` would: the same
/// route table, listener rule, scope check, rate limit and handler (the console renders what
/// this answers). `uri` is a path with an optional `?query`; `body` is sent as JSON.
///
/// # Errors
/// The [`ApiError`] the HTTP request would have got.
pub async fn call(
    app: &App,
    listener: Listener,
    token: &str,
    method: Method,
    uri: &str,
    body: Option<&serde_json::Value>,
) -> Result<Resp, ApiError> {
    let (path, q) = uri.split_once('?').map_or((uri, None), |(p, q)| (p, Some(q)));
    let auth = format!("Bearer {token}");
    let Admitted { route: r, params, principal } =
        admit(app, listener, false, &method, path, Some(&auth)).map_err(|refused| refused.0)?;
    let body = body.map(|b| Bytes::from(serde_json::to_vec(b).expect("JSON values serialize"))).unwrap_or_default();
    if body.len() > app.cfg.max_body_bytes {
        return Err(ApiError::too_large(app.cfg.max_body_bytes));
    }
    let ctx = Ctx {
        app: app.clone(),
        principal,
        params,
        query: parse_query(q),
        content_type: "application/json".into(),
        headers: hyper::HeaderMap::new(),
        body,
    };
    dispatch::dispatch(r.id, ctx).await
}

/// Runs a handler within `limit`; a panic inside it becomes a logged, counted 500.
async fn guarded(
    handler: impl std::future::Future<Output = Result<Resp, ApiError>>,
    limit: Duration,
    route: &str,
    metrics: &Metrics,
) -> Result<Resp, ApiError> {
    match tokio::time::timeout(limit, AssertUnwindSafe(handler).catch_unwind()).await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => {
            metrics.http_panics.inc();
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(route, panic = %what, "handler panicked; answered 500");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "the request failed inside the node; it is logged",
            ))
        }
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "handler_timeout",
            format!("the request took longer than {} s; retry later", limit.as_secs()),
        )),
    }
}

/// Answers a connection that was not admitted with a raw 503 and closes it (bounded in time).
async fn refuse(mut stream: TcpStream, why: conn::Refusal) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(&conn::refusal_response(why)).await?;
        stream.shutdown().await?;
        // Read what the client sent so closing does not reset the connection under the answer.
        let mut buf = [0u8; 4096];
        let mut n = 0;
        while n < 64 * 1024 {
            match stream.read(&mut buf).await? {
                0 => break,
                k => n += k,
            }
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
}

/// Serves `listener` until `stop` turns true, then drains connections (at most 10 s).
pub async fn serve(listener: TcpListener, app: App, which: Listener, mut stop: watch::Receiver<bool>) {
    let graceful = GracefulShutdown::new();
    let cfg = app.cfg.clone();
    let admission = conn::Admission::new(cfg.max_connections, cfg.max_connections_per_client, cfg.reserved_connections);
    // Refusals are answered by short tasks; past this many at once they are just closed.
    let refusals = Arc::new(Semaphore::new(256));
    let header_timeout = Duration::from_secs(cfg.header_read_timeout_secs.max(1));
    let idle = Duration::from_secs(cfg.idle_timeout_secs.max(1));
    let metrics = app.state().metrics.clone();
    loop {
        let (stream, peer) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => { tracing::warn!(error = %e, "accept failed"); tokio::time::sleep(Duration::from_millis(50)).await; continue }
            },
            _ = stop.changed() => break,
        };
        let mut ticket = match admission.admit(peer.ip()) {
            Ok(t) => t,
            Err(why) => {
                metrics.http_shed.get_or_create(&Metrics::label("reason", why.as_str())).inc();
                tracing::debug!(client = %peer.ip(), reason = why.as_str(), "connection refused");
                if let Ok(p) = refusals.clone().try_acquire_owned() {
                    tokio::spawn(async move {
                        refuse(stream, why).await;
                        drop(p);
                    });
                }
                continue;
            }
        };
        let info = ConnInfo { activity: ticket.activity.clone(), reserve: ticket.reserve };
        let app = app.clone();
        let svc = service_fn(move |req| {
            let (app, info) = (app.clone(), info.clone());
            async move { Ok::<_, std::convert::Infallible>(handle(app, which, info, req).await) }
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(64 * 1024)
            .serve_connection(TokioIo::new(conn::Guarded::new(stream, idle, Some(ticket.activity.clone()))), svc);
        let conn = graceful.watch(conn);
        let metrics = metrics.clone();
        tokio::spawn(async move {
            tokio::pin!(conn);
            tokio::select! {
                _ = &mut conn => {}
                Ok(()) = &mut ticket.shed => {
                    metrics.http_shed.get_or_create(&Metrics::label("reason", "stalled")).inc();
                    tracing::debug!(client = %peer.ip(), "stalled connection shed for a newcomer");
                }
            }
            drop(ticket);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_is_counted() {
        let m = Metrics::new();
        let boom = async {
            let s = std::hint::black_box("信信信信信信");
            let _ = &s[..17]; // the slice of issue 15
            Ok(json(StatusCode::OK, &"unreachable"))
        };
        let e = guarded(boom, Duration::from_secs(5), "/v1/x", &m).await.unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"));
        assert_eq!(m.http_panics.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_handler_answers_503_with_retry_after() {
        let m = Metrics::new();
        let slow = async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(json(StatusCode::OK, &"late"))
        };
        let e = guarded(slow, Duration::from_secs(30), "/v1/x", &m).await.unwrap_err();
        assert_eq!(e.code, "handler_timeout");
        assert_eq!(e.into_response().headers()["retry-after"], "1");
    }
}
