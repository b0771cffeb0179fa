//! Shared test harness: a real node on a temp dir (real sled, real HTTP on 127.0.0.1:0) and a
//! small HTTP client.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use bytes::Bytes;
use credfed_node::config::NodeConfig;
use credfed_node::init::{init, read_access, Access, InitOptions};
use credfed_node::RunningNode;
use credfed_protocol::bundle::sample;
use credfed_protocol::keys::SecretKey;
use credfed_protocol::objects::{Body, Nonce, RecordBody, RecordContent, Subject};
use credfed_protocol::{Day, RegionId};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rand_core::OsRng;
use serde_json::Value;

/// A valid Xinyang USCC from a counter.
pub fn uscc(n: u64) -> String {
    sample::uscc("411500", n).to_string()
}

/// Initialises a region in `dir`.
pub fn init_region(dir: &Path, region: &str, api: &str) -> Access {
    let o = InitOptions {
        region: region.parse().unwrap(),
        dir: dir.to_path_buf(),
        api_listen: api.parse().unwrap(),
        admin_listen: Some("127.0.0.1:0".parse().unwrap()),
        p2p_listen: None,
        person_secret_file: None,
    };
    init(&o).expect("init")
}

/// A running in-process node.
pub struct TestNode {
    pub dir: tempfile::TempDir,
    pub node: Option<RunningNode>,
    pub access: Access,
    pub base: String,
    pub admin: String,
    pub client: Client<HttpConnector, Full<Bytes>>,
}

impl TestNode {
    pub async fn start() -> TestNode {
        TestNode::start_with(|_| {}).await
    }

    /// Starts with the config as `init` wrote it, edited by `edit`.
    pub async fn start_with(edit: impl FnOnce(&mut NodeConfig)) -> TestNode {
        TestNode::start_with_clock(edit, credfed_node::state::system_clock()).await
    }

    /// [`TestNode::start_with`] on an injected clock (Unix seconds).
    pub async fn start_with_clock(edit: impl FnOnce(&mut NodeConfig), clock: credfed_node::state::Clock) -> TestNode {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let access = tokio::task::spawn_blocking(move || init_region(&d, "xinyang", "127.0.0.1:0")).await.unwrap();
        let mut cfg = NodeConfig::load(&dir.path().join("node.toml")).unwrap();
        edit(&mut cfg);
        let node = credfed_node::node::start_with_clock(cfg, clock).await.expect("start");
        let base = format!("http://{}", node.api_addr());
        let admin = format!("http://{}", node.admin_addr().unwrap());
        TestNode {
            dir,
            node: Some(node),
            access,
            base,
            admin,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub fn authority_key(&self) -> SecretKey {
        credfed_node::keyfile::read_key(&self.dir.path().join("keys/authority-1.key")).unwrap()
    }

    pub fn node_key(&self) -> credfed_protocol::keys::PublicKey {
        self.node.as_ref().unwrap().state.node_key.public()
    }

    pub async fn stop(&mut self) {
        if let Some(n) = self.node.take() {
            n.shutdown().await;
        }
    }

    /// Sends a request; returns status and parsed JSON (or `Value::String` of the raw text).
    pub async fn call(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        ctype: &str,
    ) -> (u16, Value, Bytes) {
        let (s, v, b, _) = self.call_with_headers(method, url, token, body, ctype).await;
        (s, v, b)
    }

    /// [`TestNode::call`], also returning the response headers.
    pub async fn call_with_headers(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        ctype: &str,
    ) -> (u16, Value, Bytes, hyper::HeaderMap) {
        let url = if url.starts_with("http") { url.to_string() } else { format!("{}{url}", self.base) };
        let mut b = Request::builder().method(Method::from_bytes(method.as_bytes()).unwrap()).uri(url);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        b = b.header("content-type", ctype);
        let req = b.body(Full::new(Bytes::from(body.unwrap_or_default()))).unwrap();
        let resp = self.client.request(req).await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, v, bytes, headers)
    }

    pub async fn get(&self, url: &str, token: Option<&str>) -> (u16, Value) {
        let (s, v, _) = self.call("GET", url, token, None, "application/json").await;
        (s, v)
    }

    pub async fn post(&self, url: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let (s, v, _) =
            self.call("POST", url, token, Some(serde_json::to_vec(body).unwrap()), "application/json").await;
        (s, v)
    }

    pub fn t(&self, scope: &str) -> String {
        match scope {
            "submit" => self.access.tokens.submit.clone(),
            "query" => self.access.tokens.query.clone(),
            "audit" => self.access.tokens.audit.clone(),
            _ => self.access.tokens.admin.clone(),
        }
    }
}

/// A penalty draft.
pub fn penalty(uscc: &str, decided_on: &str, severity: &str) -> Value {
    sample::penalty_draft(uscc, "信市监罚〔2026〕15号", decided_on, severity)
}

/// A signed record envelope (as a platform that signs itself would post it).
pub fn signed_record(key: &SecretKey, region: &str, uscc: &str, decided_on: Day, now: u64) -> Vec<u8> {
    let record = RecordContent {
        subject_name: Some("某公司".into()),
        legal_basis: "某法".into(),
        facts: None,
        penalty_types: Vec::new(),
        ..sample::penalty(Subject::Uscc(uscc.parse().unwrap()), "信市监罚〔2026〕1号".into(), decided_on)
    };
    let region: RegionId = region.parse().unwrap();
    Body::Record(RecordBody { region, signed_at: now, nonce: Nonce::random(&mut OsRng), record }).sign(key).encode()
}

/// Now, Unix seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// Today (China-local) minus `days`.
pub fn days_ago(days: i64) -> Day {
    Day::from_unix_china(now()).add_days(-days)
}

pub fn access_of(dir: &Path) -> Access {
    read_access(dir).unwrap()
}
