//! Sending drafts: `POST /v1/records/batch` (up to 1000 drafts, ≤ 4 MiB, results in input
//! order), or — when the node has no batch route (404/405) — one `POST /v1/records` per draft
//! with several in flight. 503/429 are retried after `Retry-After` (or a growing pause), lost
//! connections a few times; 401/403/5xx stop the import (what was confirmed is in the progress
//! file). A node that predates the `national` block (400 `invalid_request` naming it) gets the
//! drafts without it.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use hyper::{Method, StatusCode};
use serde_json::Value;

use crate::client::{http_error, Client};
use crate::exit::{CliError, CliResult, Exit};

/// Most drafts in one batch request.
pub const MAX_BATCH: usize = 1000;
/// Largest batch body the node takes (4 MiB), with room to spare.
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024 - 64 * 1024;
const BATCH_PATH: &str = "/v1/records/batch";
const RECORD_PATH: &str = "/v1/records";
const RETRIES: u32 = 30;

/// The node's answer for one draft.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new record (its id).
    Created(String),
    /// Already there (same content, same natural key).
    Duplicate(String),
    /// Same natural key, different content: `id` names the existing record.
    Conflict { id: Option<String>, message: String },
    /// Refused.
    Rejected { code: String, message: String, field: Option<String> },
}

fn error_of(v: &Value) -> (String, String, Option<String>) {
    let e = if v.get("error").is_some() { &v["error"] } else { v };
    let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_owned);
    (s("code").unwrap_or_else(|| "rejected".into()), s("message").unwrap_or_default(), s("field"))
}

fn existing_id(v: &Value) -> Option<String> {
    [&v["existing_id"], &v["error"]["existing_id"], &v["id"]].into_iter().find_map(|x| x.as_str().map(str::to_owned))
}

/// Whether the node refused the `national` block as an unknown field.
fn refuses_national(o: &Outcome) -> bool {
    matches!(o, Outcome::Rejected { code, message, field }
        if code == "invalid_request"
            && (field.as_deref().is_some_and(|f| f.starts_with("national")) || message.contains("`national`")))
}

/// Sends drafts to one node.
pub struct Sender<'a> {
    client: &'a Client,
    concurrency: usize,
    /// `Some(false)` once the node answered 404/405 for the batch route.
    pub batch: Option<bool>,
    /// Still sending the `national` block.
    pub national: bool,
    /// The node refused the `national` block and it was dropped.
    pub national_dropped: bool,
}

impl<'a> Sender<'a> {
    /// A sender; `national` says whether drafts carry the block.
    pub fn new(client: &'a Client, concurrency: usize, national: bool) -> Sender<'a> {
        Sender { client, concurrency: concurrency.max(1), batch: None, national, national_dropped: false }
    }

    /// Sends `drafts` (at most [`MAX_BATCH`]); one outcome per draft, in order.
    ///
    /// # Errors
    /// Exit 3 when the node cannot be reached after retries, refuses the token, or fails.
    pub fn send(&mut self, drafts: &mut [Value]) -> CliResult<Vec<Outcome>> {
        if !self.national {
            drafts.iter_mut().for_each(strip_national);
        }
        let mut out = self.send_once(drafts)?;
        if self.national && out.iter().any(refuses_national) {
            eprintln!("this node predates the national fields; sending without them");
            self.national = false;
            self.national_dropped = true;
            drafts.iter_mut().for_each(strip_national);
            let again: Vec<usize> = (0..out.len()).filter(|&i| refuses_national(&out[i])).collect();
            let mut subset: Vec<Value> = again.iter().map(|&i| drafts[i].clone()).collect();
            for (i, o) in again.into_iter().zip(self.send_once(&mut subset)?) {
                out[i] = o;
            }
        }
        Ok(out)
    }

    fn send_once(&mut self, drafts: &mut [Value]) -> CliResult<Vec<Outcome>> {
        if self.batch != Some(false) {
            if let Some(o) = self.batch(drafts)? {
                self.batch = Some(true);
                return Ok(o);
            }
            self.batch = Some(false);
        }
        self.one_by_one(drafts)
    }

    /// `None`: the node has no batch route.
    fn batch(&self, drafts: &[Value]) -> CliResult<Option<Vec<Outcome>>> {
        let body = serde_json::to_vec(drafts)?;
        let halves = |s: &Self| -> CliResult<Option<Vec<Outcome>>> {
            let (a, b) = drafts.split_at(drafts.len() / 2);
            let (Some(mut x), Some(y)) = (s.batch(a)?, s.batch(b)?) else { return Ok(None) };
            x.extend(y);
            Ok(Some(x))
        };
        if drafts.len() > 1 && (drafts.len() > MAX_BATCH || body.len() > MAX_BATCH_BYTES) {
            return halves(self);
        }
        let body = Bytes::from(body);
        let r = self.client.block_on(self.post(BATCH_PATH, body))?;
        match r.status {
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => Ok(None),
            StatusCode::PAYLOAD_TOO_LARGE if drafts.len() > 1 => halves(self),
            s if s.is_success() => {
                let v: Value = r.json()?;
                let results = v["results"].as_array().cloned().unwrap_or_default();
                if results.len() != drafts.len() {
                    return Err(CliError::connection(format!(
                        "POST {BATCH_PATH}: {} results for {} drafts",
                        results.len(),
                        drafts.len()
                    )));
                }
                let mut out = vec![None; drafts.len()];
                for (pos, x) in results.iter().enumerate() {
                    let i = x["index"].as_u64().map_or(pos, |i| i as usize);
                    let id = x["id"].as_str().map(str::to_owned);
                    let o = match x["status"].as_str() {
                        Some("created") => Outcome::Created(id.unwrap_or_default()),
                        Some("duplicate") => Outcome::Duplicate(id.unwrap_or_default()),
                        Some("conflict") => Outcome::Conflict { id, message: error_of(&x["error"]).1 },
                        _ => {
                            let (code, message, field) = error_of(&x["error"]);
                            Outcome::Rejected { code, message, field }
                        }
                    };
                    if let Some(slot) = out.get_mut(i) {
                        *slot = Some(o);
                    }
                }
                out.into_iter()
                    .collect::<Option<Vec<_>>>()
                    .map(Some)
                    .ok_or_else(|| CliError::connection(format!("POST {BATCH_PATH}: results do not cover every draft")))
            }
            _ => Err(CliError::new(Exit::Connection, http_error(&Method::POST, BATCH_PATH, &r))),
        }
    }

    fn one_by_one(&self, drafts: &[Value]) -> CliResult<Vec<Outcome>> {
        let bodies: Vec<Bytes> =
            drafts.iter().map(|d| serde_json::to_vec(d).map(Bytes::from)).collect::<Result<_, _>>()?;
        let results: Vec<CliResult<Outcome>> = self.client.block_on(
            futures::stream::iter(bodies)
                .map(|b| async move {
                    let r = self.post(RECORD_PATH, b).await?;
                    let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                    let id = v["id"].as_str().unwrap_or_default().to_owned();
                    Ok(match r.status {
                        StatusCode::CREATED => Outcome::Created(id),
                        StatusCode::OK => Outcome::Duplicate(id),
                        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
                            return Err(CliError::new(Exit::Connection, http_error(&Method::POST, RECORD_PATH, &r)))
                        }
                        s if s.is_client_error() => {
                            let (code, message, field) = error_of(&v);
                            if s == StatusCode::CONFLICT && code == "natural_key_conflict" {
                                Outcome::Conflict { id: existing_id(&v), message }
                            } else {
                                Outcome::Rejected { code, message, field }
                            }
                        }
                        _ => return Err(CliError::new(Exit::Connection, http_error(&Method::POST, RECORD_PATH, &r))),
                    })
                })
                .buffered(self.concurrency)
                .collect(),
        );
        results.into_iter().collect()
    }

    /// One POST, retried on 503/429 (after `Retry-After`) and on lost connections.
    async fn post(&self, path: &str, body: Bytes) -> CliResult<crate::client::Response> {
        let mut pause = Duration::from_millis(200);
        for attempt in 1..=RETRIES {
            match self.client.send_async(Method::POST, path, Some(("application/json", body.clone()))).await {
                Ok(r) if r.status == StatusCode::SERVICE_UNAVAILABLE || r.status == StatusCode::TOO_MANY_REQUESTS => {
                    if attempt == RETRIES {
                        return Ok(r);
                    }
                    let wait = r.retry_after.map_or(pause, |s| Duration::from_secs(s.clamp(1, 30)));
                    tokio::time::sleep(wait).await;
                }
                Ok(r) => return Ok(r),
                Err(e) if e.exit == Exit::Connection && attempt < 6 => tokio::time::sleep(pause).await,
                Err(e) => return Err(e),
            }
            pause = (pause * 2).min(Duration::from_secs(5));
        }
        unreachable!("the last attempt returns")
    }
}

fn strip_national(d: &mut Value) {
    if let Some(o) = d.as_object_mut() {
        o.remove("national");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_refusal_is_recognised_by_field_or_message() {
        let r = |field: Option<&str>, message: &str| Outcome::Rejected {
            code: "invalid_request".into(),
            message: message.into(),
            field: field.map(str::to_owned),
        };
        assert!(refuses_national(&r(Some("national"), "unknown field")));
        assert!(refuses_national(&r(None, "unknown field `national`, expected one of `kind`, …")));
        assert!(!refuses_national(&r(Some("decided_on"), "bad date")));
        assert!(!refuses_national(&Outcome::Created("x".into())));
    }

    #[test]
    fn conflict_bodies_name_the_existing_record() {
        let v: Value = serde_json::json!({"error":{"code":"natural_key_conflict","message":"m","existing_id":"ab"}});
        assert_eq!(existing_id(&v).as_deref(), Some("ab"));
        let v: Value = serde_json::json!({"error":{"code":"natural_key_conflict","message":"m"},"existing_id":"cd"});
        assert_eq!(existing_id(&v).as_deref(), Some("cd"));
        assert_eq!(error_of(&v).0, "natural_key_conflict");
    }
}
