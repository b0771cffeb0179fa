//! C2SP transparency-log routes under `api.tlog_prefix`: the checkpoint, tiles and entry
//! bundles of <https://c2sp.org/tlog-tiles>, and the witness endpoint of
//! <https://c2sp.org/tlog-witness>. Tile logic lives in `credfed_protocol::tiles`; cosigning in
//! `crate::fed::witness` (shared with the peer-to-peer witness path).

use bytes::Bytes;
use credfed_protocol::tiles::{entry_bundle, Tile, TileError, TileRequest};
use http_body_util::Full;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use super::error::ApiError;
use super::{blocking, text, Ctx, Resp};
use crate::audit::{self, AuditError};
use crate::fed::witness::{self, Refusal};

/// Full tiles never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The checkpoint and partial tiles are superseded as the log grows.
const NO_CACHE: &str = "no-cache";
/// Most leaves one tile request may read from the store (a full level-1 tile, or a level-2
/// tile of up to 4 hashes). Higher tiles need stored interior nodes, which the store does not
/// keep yet: they answer 503 rather than pin a blocking thread on millions of reads.
pub const MAX_TILE_LEAF_READS: u64 = 1 << 18;

fn with_cache(mut r: Resp, cache: &'static str) -> Resp {
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

/// `GET {prefix}/checkpoint`: the signed checkpoint with its cosignatures.
pub async fn checkpoint(c: Ctx) -> Result<Resp, ApiError> {
    let ingest = c.app.ingest.clone();
    let cp = blocking(move || Ok(audit::checkpoint(ingest.state(), &ingest)?)).await?;
    Ok(with_cache(text(StatusCode::OK, cp.note, "text/plain; charset=utf-8"), NO_CACHE))
}

impl From<TileError> for AuditError {
    fn from(e: TileError) -> AuditError {
        AuditError::Range(e.to_string())
    }
}

/// `GET {prefix}/tile/<L>/<N>[.p/<W>]` and `GET {prefix}/tile/entries/<N>[.p/<W>]`.
pub async fn tile(c: Ctx) -> Result<Resp, ApiError> {
    let path = format!("tile/{}", c.params[0]);
    let req = TileRequest::parse(&path).map_err(|e| ApiError::bad_request("invalid_tile_path", e.to_string()))?;
    let t = req.tile();
    let st = c.app.state().clone();
    let size = audit::durable_size(&st);
    if let Err(e) = t.check_in_tree(size) {
        return Err(ApiError::not_found("no_tile", e.to_string()));
    }
    let reads = match req {
        TileRequest::Hashes(t) => u64::from(t.width()) << (8 * u32::from(t.level())),
        TileRequest::Entries(t) => u64::from(t.width()),
    };
    if reads > MAX_TILE_LEAF_READS {
        return Err(ApiError::unavailable(format!(
            "tile {path} needs {reads} leaf reads; tiles above {MAX_TILE_LEAF_READS} are not served yet"
        )));
    }
    let bytes = blocking(move || {
        let store = &*st.store;
        let leaf = |i: u64| store.audit_leaf(i)?.ok_or(AuditError::Missing(i));
        Ok(match req {
            TileRequest::Hashes(t) => t.hashes(size, |i| leaf(i).map(|l| l.hash))?,
            TileRequest::Entries(t) => entries(&t, leaf)?,
        })
    })
    .await?;
    let mut r = Response::new(Full::new(Bytes::from(bytes)));
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    Ok(with_cache(r, if t.is_full() { IMMUTABLE } else { NO_CACHE }))
}

fn entries(
    t: &Tile,
    mut leaf: impl FnMut(u64) -> Result<crate::store::AuditLeaf, AuditError>,
) -> Result<Vec<u8>, AuditError> {
    let mut data = Vec::with_capacity(usize::from(t.width()));
    for i in t.leaf_start()..t.leaf_start() + u64::from(t.width()) {
        data.push(leaf(i)?.bytes);
    }
    Ok(entry_bundle(data.iter().map(Vec::as_slice))?)
}

/// `POST {prefix}/add-checkpoint` (C2SP tlog-witness): 200 with the cosignature line; 409 with
/// `text/x.tlog.size` and the size cosigned here last; 422 for a proof that does not verify;
/// 404 for a log not witnessed here; 403 for a checkpoint the log's key did not sign; 400 for a
/// malformed request or an old size above the checkpoint's.
pub async fn add_checkpoint(c: Ctx) -> Result<Resp, ApiError> {
    let ingest = c.app.ingest.clone();
    let body = c.body.clone();
    let answer = blocking(move || Ok(witness::add_checkpoint(&ingest, &body))).await?;
    match answer {
        Ok(line) => Ok(text(StatusCode::OK, line, "text/plain; charset=utf-8")),
        Err(Refusal::StaleSize(n)) => Ok(text(StatusCode::CONFLICT, format!("{n}\n"), "text/x.tlog.size")),
        Err(Refusal::Malformed(m)) => Err(ApiError::bad_request("malformed_request", m)),
        Err(Refusal::OldSizeAbove { old, size }) => Err(ApiError::bad_request(
            "old_size_above_checkpoint",
            format!("old size {old} is above the checkpoint size {size}"),
        )),
        Err(Refusal::UnknownLog(m)) => Err(ApiError::not_found("unknown_log", m)),
        Err(Refusal::BadSignature(m)) => Err(ApiError::new(StatusCode::FORBIDDEN, "bad_signature", m)),
        Err(Refusal::Inconsistent(m)) => Err(ApiError::unprocessable("inconsistent", m)),
        Err(Refusal::Storage(m)) => Err(ApiError::unavailable(m)),
    }
}
