//! A small typed HTTP/1.1 client for the node's API (hyper 1 via hyper-util; plain `http://`
//! only: the admin API is reached on loopback or through a tunnel).
//!
//! Every failure maps to exit code 3: the node is unreachable, times out, or answers with an
//! HTTP error (whose `{"error":{"code","message","field"}}` body is shown).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::exit::{CliError, CliResult, Exit};

/// Largest response body read (an audit export of a large log).
pub const MAX_RESPONSE_LEN: usize = credfed_protocol::bundle::MAX_BUNDLE_LEN;

/// The node's error body.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ApiErrorBody {
    /// Stable code.
    pub code: String,
    /// Human message.
    pub message: String,
    /// Offending field.
    #[serde(default)]
    pub field: Option<String>,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Response {
    /// Status.
    pub status: StatusCode,
    /// Content type.
    pub content_type: String,
    /// Body.
    pub body: Bytes,
    /// `Retry-After` in seconds, if given.
    pub retry_after: Option<u64>,
    /// `X-Credfed-Next-Cursor` (paged exports), if given.
    pub next_cursor: Option<String>,
}

impl Response {
    /// The body as JSON.
    ///
    /// # Errors
    /// Exit 3 when it is not JSON of that shape.
    pub fn json<T: DeserializeOwned>(&self) -> CliResult<T> {
        serde_json::from_slice(&self.body)
            .map_err(|e| CliError::connection(format!("the node answered {} with unexpected JSON: {e}", self.status)))
    }
}

/// `GET /v1/health`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Health {
    /// `ok` or `read_only`.
    pub status: String,
    /// Region id.
    pub region: String,
    /// libp2p PeerId.
    #[serde(default)]
    pub peer_id: Option<String>,
    /// Connected peers.
    #[serde(default)]
    pub peers: Option<u64>,
    /// Node public key (hex).
    #[serde(default)]
    pub node_key: Option<String>,
}

/// `GET /v1/audit/proof/consistency`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ConsistencyProof {
    /// Old size.
    pub from: u64,
    /// New size.
    pub to: u64,
    /// Proof hashes (hex).
    pub proof: Vec<String>,
}

/// A node API client.
pub struct Client {
    base: String,
    token: Option<String>,
    timeout: Duration,
    rt: tokio::runtime::Runtime,
    http: HyperClient<HttpConnector, Full<Bytes>>,
}

impl Client {
    /// A client for `base` (`http://host:port`).
    ///
    /// # Errors
    /// Exit 2 for a URL that is not plain `http://`.
    pub fn new(base: &str, token: Option<String>, timeout: Duration) -> CliResult<Client> {
        let base = base.trim_end_matches('/').to_owned();
        if base.starts_with("https://") {
            return Err(CliError::usage("https is not supported: reach the node's API over loopback or a tunnel"));
        }
        if !base.starts_with("http://") || base.parse::<hyper::Uri>().is_err() {
            return Err(CliError::usage(format!("--node {base:?} is not an http://host:port URL")));
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let http = HyperClient::builder(TokioExecutor::new()).build_http();
        Ok(Client { base, token, timeout, rt, http })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends a request; any answer (even 4xx) is returned.
    ///
    /// # Errors
    /// Exit 3 when the node cannot be reached, times out, or the body is too large.
    pub fn send(&self, method: Method, path: &str, body: Option<(&str, Vec<u8>)>) -> CliResult<Response> {
        self.rt.block_on(self.send_async(method, path, body.map(|(ct, b)| (ct, Bytes::from(b)))))
    }

    /// Runs a future on the client's runtime (for several [`Client::send_async`] in flight).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// [`Client::send`] as a future (run it with [`Client::block_on`]).
    ///
    /// # Errors
    /// As [`Client::send`].
    pub async fn send_async(&self, method: Method, path: &str, body: Option<(&str, Bytes)>) -> CliResult<Response> {
        let url = format!("{}{path}", self.base);
        let mut req = Request::builder().method(method.clone()).uri(&url);
        if let Some(t) = &self.token {
            let v = HeaderValue::from_str(&format!("Bearer {t}"))
                .map_err(|_| CliError::usage("the token contains characters not allowed in a header"))?;
            req = req.header(AUTHORIZATION, v);
        }
        let payload = match body {
            Some((ct, bytes)) => {
                req = req.header(CONTENT_TYPE, ct);
                bytes
            }
            None => Bytes::new(),
        };
        let req = req.body(Full::new(payload)).map_err(|e| CliError::usage(format!("bad request {url}: {e}")))?;
        let fut = async {
            let resp = self.http.request(req).await.map_err(|e| {
                let mut msg = format!("cannot reach the node at {}: {e}", self.base);
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    msg.push_str(&format!(": {s}"));
                    src = s.source();
                }
                CliError::connection(msg)
            })?;
            let status = resp.status();
            let header = |n: hyper::header::HeaderName| {
                resp.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
            };
            let content_type = header(CONTENT_TYPE);
            let retry_after = header(hyper::header::RETRY_AFTER).trim().parse().ok();
            let next_cursor =
                Some(header(hyper::header::HeaderName::from_static("x-credfed-next-cursor"))).filter(|c| !c.is_empty());
            let body = Limited::new(resp.into_body(), MAX_RESPONSE_LEN)
                .collect()
                .await
                .map_err(|e| CliError::connection(format!("reading the answer of {method} {path}: {e}")))?
                .to_bytes();
            Ok::<_, CliError>(Response { status, content_type, body, retry_after, next_cursor })
        };
        tokio::time::timeout(self.timeout, fut).await.map_err(|_| {
            CliError::connection(format!("{method} {path}: no answer within {} s", self.timeout.as_secs()))
        })?
    }

    /// Sends a request and requires a 2xx answer.
    ///
    /// # Errors
    /// Exit 3 for transport errors and non-2xx answers (showing the API error).
    pub fn call(&self, method: Method, path: &str, body: Option<(&str, Vec<u8>)>) -> CliResult<Response> {
        let r = self.send(method.clone(), path, body)?;
        if r.status.is_success() {
            return Ok(r);
        }
        Err(CliError::new(Exit::Connection, http_error(&method, path, &r)))
    }

    /// `GET` returning JSON.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> CliResult<T> {
        self.call(Method::GET, path, None)?.json()
    }

    /// A JSON request returning JSON.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn json<T: DeserializeOwned>(&self, method: Method, path: &str, body: &Value) -> CliResult<T> {
        let bytes = serde_json::to_vec(body)?;
        self.call(method, path, Some(("application/json", bytes)))?.json()
    }

    /// `GET /v1/health`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn health(&self) -> CliResult<Health> {
        self.get_json("/v1/health")
    }

    /// `GET /v1/audit/checkpoint` (signed note text).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn checkpoint(&self) -> CliResult<String> {
        let r = self.call(Method::GET, "/v1/audit/checkpoint", None)?;
        String::from_utf8(r.body.to_vec()).map_err(|_| CliError::connection("the checkpoint is not UTF-8 text"))
    }

    /// `GET /v1/audit/proof/consistency?from=&to=`; `Ok(Err(why))` when the node answers 4xx
    /// (it cannot prove the two sizes consistent: for an auditor, a failed check).
    ///
    /// # Errors
    /// Exit 3 for transport errors and 5xx answers.
    pub fn consistency(&self, from: u64, to: u64) -> CliResult<Result<ConsistencyProof, String>> {
        let path = format!("/v1/audit/proof/consistency?from={from}&to={to}");
        let r = self.send(Method::GET, &path, None)?;
        if r.status.is_success() {
            return Ok(Ok(r.json()?));
        }
        if r.status.is_client_error() {
            return Ok(Err(http_error(&Method::GET, &path, &r).to_string()));
        }
        Err(CliError::new(Exit::Connection, http_error(&Method::GET, &path, &r)))
    }

    /// `GET /v1/audit/export?from=&to=` (CBOR bundle bytes).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn export(&self, from: u64, to: Option<u64>) -> CliResult<Bytes> {
        let mut path = format!("/v1/audit/export?from={from}");
        if let Some(t) = to {
            path.push_str(&format!("&to={t}"));
        }
        Ok(self.call(Method::GET, &path, None)?.body)
    }
}

/// The message for a non-2xx answer.
pub(crate) fn http_error(method: &Method, path: &str, r: &Response) -> anyhow::Error {
    #[derive(Deserialize)]
    struct Wrapper {
        error: ApiErrorBody,
    }
    match serde_json::from_slice::<Wrapper>(&r.body) {
        Ok(w) => {
            let field = w.error.field.map(|f| format!(" (field {f})")).unwrap_or_default();
            let hint = match r.status {
                StatusCode::UNAUTHORIZED => "; pass --token or set CREDFED_TOKEN",
                StatusCode::FORBIDDEN => "; this token's scope does not allow it",
                _ => "",
            };
            anyhow::anyhow!("{method} {path}: {} {}: {}{field}{hint}", r.status.as_u16(), w.error.code, w.error.message)
        }
        Err(_) => {
            let text: String = String::from_utf8_lossy(&r.body).chars().take(300).collect();
            anyhow::anyhow!("{method} {path}: HTTP {}: {}", r.status, text.trim())
        }
    }
}

/// Percent-encodes one path segment.
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
