//! The web console (issue 12), served under `/console/` on the node's own listeners (the API
//! listener; the admin listener too when one is configured). Server-rendered HTML ([`maud`],
//! which escapes every value), SVG charts drawn on the server ([`svg`]), one embedded style
//! sheet and one small script (auto-refresh, table filters) served from `/console/static/`, so
//! the Content-Security-Policy needs no `unsafe-inline`.
//!
//! Every figure a page shows comes from the API's own handlers, called through
//! [`crate::api::call`] with the session's token: the same route table, scope checks and
//! bounded reads as over HTTP (a query token gets the 403 the API would give). Pages that need
//! more than one route read the state's existing functions ([`crate::state::compliance`],
//! [`crate::state::evidence`]).
//!
//! Sessions: `POST /console/login` with an API token (any scope) opens a session kept in memory
//! (a restart logs everyone out); the cookie `credfed_session` is `HttpOnly`,
//! `SameSite=Strict`, `Path=/console`, and `Secure` when the request came through a TLS proxy
//! (`X-Forwarded-Proto: https`). Every form carries the session's CSRF token, checked on every
//! POST (the login form: a double-submit cookie). A revoked token ends its sessions at the next
//! request. Sessions expire after [`SESSION_IDLE_SECS`] without a request.

pub mod pages;
pub mod report;
pub mod svg;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE, COOKIE};
use hyper::{Method, Request, Response, StatusCode};
use maud::{html, Markup, DOCTYPE};
use rand_core::{OsRng, RngCore};
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::api::error::ApiError;
use crate::api::{self, App, Listener, Resp};
use crate::state::tokens::{self, Need, Principal, Scope};

/// Seconds a session lives without a request.
pub const SESSION_IDLE_SECS: u64 = 8 * 3600;
/// Sessions held at most (the oldest goes first).
pub const MAX_SESSIONS: usize = 10_000;
/// Largest form body.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// The session cookie.
pub const SESSION_COOKIE: &str = "credfed_session";
/// The login form's double-submit cookie.
const LOGIN_COOKIE: &str = "credfed_login";

/// The Content-Security-Policy of every console response.
pub const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const CSS: &str = include_str!("console/app.css");
const JS: &str = include_str!("console/app.js");

/// One logged-in session (memory only).
struct Session {
    token: String,
    token_id: String,
    scope: Scope,
    csrf: String,
    last: u64,
}

/// The console: sessions and the page router.
#[derive(Clone, Default)]
pub struct ConsoleServer {
    sessions: Arc<Mutex<HashMap<String, Session>>>,
}

impl ConsoleServer {
    /// A console with no sessions.
    pub fn new() -> ConsoleServer {
        ConsoleServer::default()
    }
}

impl api::Console for ConsoleServer {
    fn handle(&self, app: App, listener: Listener, req: Request<Incoming>) -> BoxFuture<'static, Resp> {
        let me = self.clone();
        Box::pin(async move {
            match me.serve(app, listener, req).await {
                Ok(r) => r,
                Err(e) => error_page(&e),
            }
        })
    }
}

fn random() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn cookie(headers: &hyper::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The request as pages see it.
pub struct Req {
    /// Method.
    pub method: Method,
    /// Path below `/console` (e.g. `/records/abc`).
    pub path: String,
    /// Query parameters.
    pub query: HashMap<String, String>,
    /// Raw query string.
    pub raw_query: String,
    /// Form fields of a POST.
    pub form: HashMap<String, String>,
    secure: bool,
}

impl Req {
    /// A query parameter, trimmed, `None` when absent or empty.
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
    }
    /// A form field.
    pub fn f(&self, name: &str) -> Option<&str> {
        self.form.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
    }
}

/// A logged-in page request: the API as the session's token sees it.
pub struct Page {
    /// The app.
    pub app: App,
    /// The listener the request came on.
    pub listener: Listener,
    /// The token's scope.
    pub scope: Scope,
    /// Its id.
    pub token_id: String,
    /// CSRF token of the session (every form carries it).
    pub csrf: String,
    token: String,
}

impl Page {
    /// Calls an API route as the session's token and returns its JSON (a text answer as a JSON
    /// string).
    ///
    /// # Errors
    /// The API's error.
    pub async fn get(&self, uri: &str) -> Result<Value, ApiError> {
        self.send(Method::GET, uri, None).await
    }
    /// Calls an API route with a JSON body.
    ///
    /// # Errors
    /// The API's error.
    pub async fn send(&self, method: Method, uri: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        let r = api::call(&self.app, self.listener, &self.token, method, uri, body).await?;
        let (parts, body) = r.into_parts();
        let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let ctype = parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if ctype.starts_with("application/json") {
            serde_json::from_slice(&bytes).map_err(|e| ApiError::unavailable(format!("undecodable answer: {e}")))
        } else {
            Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        }
    }
    /// The raw answer of an API route (downloads).
    ///
    /// # Errors
    /// The API's error.
    pub async fn raw(&self, uri: &str) -> Result<Resp, ApiError> {
        api::call(&self.app, self.listener, &self.token, Method::GET, uri, None).await
    }
    /// 403 unless the session's token has what `need` asks.
    ///
    /// # Errors
    /// 403 `forbidden`, as the API answers.
    pub fn require(&self, need: Need) -> Result<(), ApiError> {
        if need.allows(self.scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden(need.describe()))
        }
    }
    /// The hidden CSRF field of a form.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }
}

async fn read_form(req: Request<Incoming>) -> Result<HashMap<String, String>, ApiError> {
    let ct = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(ApiError::unsupported_media_type("application/x-www-form-urlencoded"));
    }
    let body = Limited::new(req.into_body(), MAX_FORM_BYTES).collect();
    match tokio::time::timeout(Duration::from_secs(10), body).await {
        Ok(Ok(b)) => Ok(form_urlencoded::parse(&b.to_bytes()).into_owned().collect()),
        Ok(Err(_)) => Err(ApiError::too_large(MAX_FORM_BYTES)),
        Err(_) => Err(ApiError::new(StatusCode::REQUEST_TIMEOUT, "body_timeout", "the form did not arrive in time")),
    }
}

impl ConsoleServer {
    async fn serve(&self, app: App, listener: Listener, req: Request<Incoming>) -> Result<Resp, ApiError> {
        let method = req.method().clone();
        let path = req.uri().path().strip_prefix("/console").unwrap_or("").to_string();
        let raw_query = req.uri().query().unwrap_or("").to_string();
        let query = form_urlencoded::parse(raw_query.as_bytes()).into_owned().collect();
        let headers = req.headers().clone();
        let secure = headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
        match (&method, path.as_str()) {
            (&Method::GET, "/static/app.css") => return Ok(asset(CSS, "text/css; charset=utf-8")),
            (&Method::GET, "/static/report.css") => return Ok(asset(report::REPORT_CSS, "text/css; charset=utf-8")),
            (&Method::GET, "/static/app.js") => return Ok(asset(JS, "text/javascript; charset=utf-8")),
            (&Method::GET, "" | "/") => return Ok(redirect("/console/federation", None)),
            _ => {}
        }
        if method != Method::GET && method != Method::POST {
            return Err(ApiError::method_not_allowed(&["GET", "POST"]));
        }
        let form = if method == Method::POST { read_form(req).await? } else { HashMap::new() };
        let r = Req { method, path, query, raw_query, form, secure };
        if r.path == "/login" {
            return self.login(&app, &headers, &r);
        }
        let now = app.state().now();
        let sid = cookie(&headers, SESSION_COOKIE).unwrap_or_default();
        let Some(page) = self.session(&app, listener, &sid, now) else {
            let next = format!("/console{}", r.path);
            return Ok(redirect(&format!("/console/login?next={}", url(&next)), None));
        };
        if r.method == Method::POST && !r.form.get("csrf").is_some_and(|c| same(c, &page.csrf)) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "the form's CSRF token is missing or not this session's; reload the page",
            ));
        }
        if r.path == "/logout" && r.method == Method::POST {
            self.sessions.lock().unwrap_or_else(|p| p.into_inner()).remove(&sid);
            let gone = format!("{SESSION_COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
            return Ok(redirect("/console/login", Some(gone)));
        }
        pages::route(&page, &r).await
    }

    /// The session of cookie `sid`, with its token checked again (a revoked token ends it).
    fn session(&self, app: &App, listener: Listener, sid: &str, now: u64) -> Option<Page> {
        let mut s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let sess = s.get_mut(sid)?;
        let alive = now.saturating_sub(sess.last) <= SESSION_IDLE_SECS
            && principal(app, &sess.token).is_some_and(|p| p.token_id == sess.token_id);
        if !alive {
            s.remove(sid);
            return None;
        }
        sess.last = now;
        Some(Page {
            app: app.clone(),
            listener,
            scope: sess.scope,
            token_id: sess.token_id.clone(),
            csrf: sess.csrf.clone(),
            token: sess.token.clone(),
        })
    }

    fn login(&self, app: &App, headers: &hyper::HeaderMap, r: &Req) -> Result<Resp, ApiError> {
        let next = r
            .q("next")
            .or(r.f("next"))
            .filter(|n| n.starts_with("/console/") && !n.starts_with("/console//") && !n.contains('\\'))
            .unwrap_or("/console/federation")
            .to_string();
        let flags = if r.secure { "; Secure" } else { "" };
        if r.method == Method::GET {
            let pre = random();
            let c = format!("{LOGIN_COOKIE}={pre}; Path=/console/login; HttpOnly; SameSite=Strict{flags}");
            let mut resp = html_resp(StatusCode::OK, login_page(app, &pre, &next, None));
            resp.headers_mut().append("set-cookie", HeaderValue::from_str(&c).expect("ascii"));
            return Ok(resp);
        }
        let pre = cookie(headers, LOGIN_COOKIE).unwrap_or_default();
        if pre.is_empty() || !r.form.get("csrf").is_some_and(|c| same(c, &pre)) {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "csrf", "the login form's CSRF token is missing; reload"));
        }
        let token = r.f("token").unwrap_or("").to_string();
        let Some(p) = principal(app, &token) else {
            let page = login_page(app, &pre, &next, Some("unknown or revoked token"));
            return Ok(html_resp(StatusCode::UNAUTHORIZED, page));
        };
        let sid = random();
        let now = app.state().now();
        {
            let mut s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
            s.retain(|_, v| now.saturating_sub(v.last) <= SESSION_IDLE_SECS);
            if s.len() >= MAX_SESSIONS {
                if let Some(oldest) = s.iter().min_by_key(|(_, v)| v.last).map(|(k, _)| k.clone()) {
                    s.remove(&oldest);
                }
            }
            s.insert(sid.clone(), Session { token, token_id: p.token_id, scope: p.scope, csrf: random(), last: now });
        }
        let c = format!("{SESSION_COOKIE}={sid}; Path=/console; HttpOnly; SameSite=Strict{flags}");
        let mut resp = redirect(&next, Some(c));
        let clear = format!("{LOGIN_COOKIE}=; Path=/console/login; HttpOnly; SameSite=Strict; Max-Age=0");
        resp.headers_mut().append("set-cookie", HeaderValue::from_str(&clear).expect("ascii"));
        Ok(resp)
    }
}

/// The principal of a token of any scope.
fn principal(app: &App, token: &str) -> Option<Principal> {
    let h = format!("Bearer {token}");
    [Need::Read, Need::Admin, Need::Submit]
        .into_iter()
        .find_map(|n| tokens::authenticate(app.state(), Some(&h), n).ok().flatten())
}

/// A JSON value as compact text (strings without quotes).
pub fn s(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `%`-encodes a query value.
pub fn url(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn security_headers(r: &mut Resp) {
    let h = r.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("cache-control", HeaderValue::from_static("no-store"));
}

fn asset(body: &'static str, ctype: &'static str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    security_headers(&mut r);
    r.headers_mut().insert("cache-control", HeaderValue::from_static("max-age=300"));
    r
}

/// An HTML response with the console's security headers.
pub fn html_resp(status: StatusCode, m: Markup) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(m.into_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    security_headers(&mut r);
    r
}

/// A `303 See Other` to `to`, optionally setting a cookie.
pub fn redirect(to: &str, set_cookie: Option<String>) -> Resp {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SEE_OTHER;
    r.headers_mut().insert("location", HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/console/")));
    if let Some(c) = set_cookie {
        r.headers_mut().append("set-cookie", HeaderValue::from_str(&c).expect("ascii cookie"));
    }
    security_headers(&mut r);
    r
}

fn error_page(e: &ApiError) -> Resp {
    let m = html! {
        (DOCTYPE)
        html lang="en" { head { meta charset="utf-8"; title { "credfed console — " (e.status.as_u16()) }
            link rel="stylesheet" href="/console/static/app.css"; }
        body { main.narrow {
            h1 { (e.status.as_u16()) " " (e.status.canonical_reason().unwrap_or("")) }
            p.error { code { (e.code) } ": " (e.message) }
            p { a href="/console/federation" { "Back to the console" } " · " a href="/console/login" { "Log in with another token" } }
        } } }
    };
    let mut r = html_resp(e.status, m);
    if let Some(h) = &e.headers {
        for (k, v) in h.iter() {
            if let Ok(v) = HeaderValue::from_str(v) {
                r.headers_mut().insert(*k, v);
            }
        }
    }
    r
}

fn login_page(app: &App, csrf: &str, next: &str, error: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" { head { meta charset="utf-8"; title { "credfed console — log in" }
            link rel="stylesheet" href="/console/static/app.css"; }
        body { main.narrow {
            h1 { "credfed console · " (app.state().region) }
            p { "Log in with an API token of this node (query, audit, submit or admin scope). Pages show what the token's scope may read through the API." }
            @if let Some(e) = error { p.error { (e) } }
            form method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                label { "API token " input type="password" name="token" autocomplete="off" required autofocus; }
                button type="submit" { "Log in" }
            }
        } } }
    }
}
