//! A small HTTP/1.1 client for the node API: every call is bounded by a timeout and returns
//! the status, the parsed JSON (or `Value::Null`) and the raw bytes (for canary greps).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Longest any single request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// One answer.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Parsed JSON body (`Value::Null` when the body is not JSON).
    pub json: Value,
    /// Raw body.
    pub bytes: Bytes,
}

impl Reply {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// The client (cheap to clone; pools connections).
#[derive(Clone, Debug)]
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for Http {
    fn default() -> Http {
        Http::new()
    }
}

impl Http {
    /// A new client.
    pub fn new() -> Http {
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(5)).build_http();
        Http { client }
    }

    /// Sends one request.
    ///
    /// # Errors
    /// Connection failures and timeouts (a node that is down).
    pub async fn call(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> anyhow::Result<Reply> {
        let mut b = Request::builder().method(Method::from_bytes(method.as_bytes())?).uri(url);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let data = match body {
            Some((ctype, data)) => {
                b = b.header("content-type", ctype);
                data
            }
            None => Vec::new(),
        };
        let req = b.body(Full::new(Bytes::from(data)))?;
        let fut = async {
            let resp = self.client.request(req).await?;
            let status = resp.status().as_u16();
            let bytes = resp.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(REQUEST_TIMEOUT, fut)
            .await
            .map_err(|_| anyhow::anyhow!("{method} {url}: no answer within {REQUEST_TIMEOUT:?}"))??;
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply { status, json, bytes })
    }

    /// `GET`.
    ///
    /// # Errors
    /// See [`Http::call`].
    pub async fn get(&self, url: &str, token: Option<&str>) -> anyhow::Result<Reply> {
        self.call("GET", url, token, None).await
    }

    /// A JSON request (`POST`, `PUT`).
    ///
    /// # Errors
    /// See [`Http::call`].
    pub async fn send_json(&self, method: &str, url: &str, token: Option<&str>, body: &Value) -> anyhow::Result<Reply> {
        self.call(method, url, token, Some(("application/json", serde_json::to_vec(body)?))).await
    }
}
