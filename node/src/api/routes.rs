//! The route table: the server ([`super::dispatch`]) and the OpenAPI document both read
//! [`ROUTES`].

use hyper::Method;

use crate::state::tokens::Need;

/// Handler identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum RouteId {
    Health,
    OpenApi,
    SubmitRecord,
    SubmitBatch,
    Changes,
    SubmitEnvelope,
    ListRecords,
    ExportRecords,
    GetRecord,
    GetObject,
    SubjectRecords,
    Repair,
    Objection,
    Resolution,
    Withdrawal,
    Correction,
    SubmitScheme,
    ListSchemes,
    Eligibility,
    Measure,
    Checkpoint,
    Entries,
    Inclusion,
    Consistency,
    Export,
    Feeds,
    FeedRange,
    Compliance,
    ComplianceReport,
    Metrics,
    Peers,
    PeerBan,
    TrustList,
    TrustPin,
    TrustUnpin,
    PolicyGet,
    PolicyPut,
    TokensList,
    TokenIssue,
    TokenRevoke,
    TlogCheckpoint,
    TlogTile,
    TlogAddCheckpoint,
}

/// Where a route's path lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mount {
    /// At its template, as written.
    Api,
    /// Under `api.tlog_prefix`: the template is written with the default prefix
    /// [`DEFAULT_TLOG_PREFIX`], which the configured one replaces.
    Tlog,
}

/// How a template's last `{param}` matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tail {
    /// One path segment.
    Segment,
    /// The rest of the path, slashes included (C2SP tile paths such as `0/x001/234.p/5`), at
    /// most [`MAX_REST_LEN`] bytes.
    Rest,
}

pub use crate::config::DEFAULT_TLOG_PREFIX;

/// Longest path remainder a [`Tail::Rest`] parameter takes.
pub const MAX_REST_LEN: usize = 256;

/// One route.
#[derive(Debug)]
pub struct Route {
    /// Method.
    pub method: Method,
    /// Template with `{param}` segments.
    pub path: &'static str,
    /// Required scope.
    pub need: Need,
    /// Handler.
    pub id: RouteId,
    /// One-line description.
    pub summary: &'static str,
    /// Where the path lives.
    pub mount: Mount,
    /// How the last parameter matches.
    pub tail: Tail,
}

/// The NDJSON media type (batch bodies).
pub const NDJSON: &str = "application/x-ndjson";

/// What a route's request body must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// No body: none is read (a sent one is ignored and the connection closed after).
    None,
    /// `application/json`.
    Json,
    /// `application/cbor`.
    Cbor,
    /// A batch: `application/json` (an array) or `application/x-ndjson` (one item a line),
    /// within `api.max_batch_body_bytes`.
    Batch,
    /// Text (a C2SP tlog-witness request): any Content-Type is accepted, as witness clients
    /// send none or `text/plain`.
    Text,
}

impl BodyKind {
    /// The media types accepted (none: no body is read), for the router, 415 messages and the
    /// OpenAPI document.
    pub fn media_types(self) -> &'static [&'static str] {
        match self {
            BodyKind::None => &[],
            BodyKind::Json => &["application/json"],
            BodyKind::Cbor => &["application/cbor"],
            BodyKind::Batch => &["application/json", NDJSON],
            BodyKind::Text => &["text/plain"],
        }
    }
}

impl Route {
    /// The body this route reads.
    pub fn body(&self) -> BodyKind {
        use RouteId::*;
        match self.id {
            SubmitEnvelope => BodyKind::Cbor,
            SubmitBatch => BodyKind::Batch,
            TlogAddCheckpoint => BodyKind::Text,
            SubmitRecord | Repair | Objection | Resolution | Withdrawal | Correction | SubmitScheme | Measure
            | TrustPin | PolicyPut | TokenIssue => BodyKind::Json,
            _ => BodyKind::None,
        }
    }
}

/// One route, every field named.
macro_rules! route {
    ($m:ident, $p:literal, $n:ident, $id:ident, $s:literal, $mount:ident, $tail:ident) => {
        Route {
            method: Method::$m,
            path: $p,
            need: Need::$n,
            id: RouteId::$id,
            summary: $s,
            mount: Mount::$mount,
            tail: Tail::$tail,
        }
    };
}

/// A route of the API (`/v1/…`), each path parameter one segment.
macro_rules! r {
    ($m:ident, $p:literal, $n:ident, $id:ident, $s:literal) => {
        route!($m, $p, $n, $id, $s, Api, Segment)
    };
}

/// A C2SP transparency-log route under `api.tlog_prefix` (written with the default `/tlog`).
macro_rules! tlog {
    ($m:ident, $p:literal, $n:ident, $id:ident, $tail:ident, $s:literal) => {
        route!($m, $p, $n, $id, $s, Tlog, $tail)
    };
}

/// Every route the node serves.
pub static ROUTES: &[Route] = &[
    r!(GET, "/v1/health", Nothing, Health, "Liveness, region, peer id, node key"),
    r!(GET, "/v1/openapi.json", Nothing, OpenApi, "This OpenAPI document"),
    r!(
        POST,
        "/v1/records",
        Submit,
        SubmitRecord,
        "Submit a record draft; the node signs it with the authority key for its kind"
    ),
    r!(
        POST,
        "/v1/records/batch",
        Submit,
        SubmitBatch,
        "Submit up to 1000 record drafts (JSON array or NDJSON); one result per item, in order, after one durable commit"
    ),
    r!(
        GET,
        "/v1/changes",
        Read,
        Changes,
        "Every change in one total order ?after=&limit=&wait=&kind=&origin=&subject=; SSE with Accept: text/event-stream"
    ),
    r!(POST, "/v1/envelopes", Submit, SubmitEnvelope, "Submit a pre-signed envelope (application/cbor)"),
    r!(
        GET,
        "/v1/records",
        Read,
        ListRecords,
        "List and search records ?kind=&origin=&status=&decided_from=&decided_to=&authority=&name=&decision_no=&limit=&cursor="
    ),
    r!(
        GET,
        "/v1/records/export",
        Read,
        ExportRecords,
        "Records in the national 双公示 columns ?format=csv|ndjson and the list filters; paged by X-Credfed-Next-Cursor"
    ),
    r!(GET, "/v1/records/{id}", Read, GetRecord, "A record with derived status, rule, history; ?as_of=YYYY-MM-DD"),
    r!(GET, "/v1/objects/{id}", Audit, GetObject, "Any stored object: metadata, decoded body and envelope hex"),
    r!(GET, "/v1/subjects/{subject}/records", Read, SubjectRecords, "Every record about a subject; ?as_of="),
    r!(POST, "/v1/records/{id}/repair", Submit, Repair, "Credit repair by the origin region"),
    r!(POST, "/v1/records/{id}/objections", Submit, Objection, "File an objection"),
    r!(POST, "/v1/objections/{id}/resolution", Submit, Resolution, "Resolve an objection (origin region only)"),
    r!(POST, "/v1/records/{id}/withdrawal", Submit, Withdrawal, "Withdraw a record (origin only)"),
    r!(
        POST,
        "/v1/records/{id}/correction",
        Submit,
        Correction,
        "Supersede a record with a corrected version (origin only)"
    ),
    r!(POST, "/v1/schemes", Submit, SubmitScheme, "Publish a benefit scheme"),
    r!(GET, "/v1/schemes", Read, ListSchemes, "Benefit schemes"),
    r!(GET, "/v1/subjects/{subject}/eligibility", Read, Eligibility, "Eligibility for ?scheme=CODE; ?as_of="),
    r!(POST, "/v1/measures", Submit, Measure, "Report a measure applied because of a record or scheme"),
    r!(GET, "/v1/audit/checkpoint", Audit, Checkpoint, "Signed checkpoint (C2SP signed note)"),
    r!(GET, "/v1/audit/entries", Audit, Entries, "Audit entries ?start=&end= with leaf bytes"),
    r!(GET, "/v1/audit/proof/inclusion", Audit, Inclusion, "RFC 9162 inclusion proof ?index=&size="),
    r!(GET, "/v1/audit/proof/consistency", Audit, Consistency, "RFC 9162 consistency proof ?from=&to="),
    r!(GET, "/v1/audit/export", Audit, Export, "Self-contained audit bundle (CBOR) ?from=&to="),
    r!(GET, "/v1/feeds", Audit, Feeds, "Feed heads per origin and equivocation proofs"),
    r!(GET, "/v1/feeds/{origin}", Audit, FeedRange, "Signed feed entries ?from=&to= of one origin"),
    r!(GET, "/v1/compliance", Audit, Compliance, "Timeliness and rule compliance per region and category"),
    r!(
        GET,
        "/v1/reports/compliance",
        Audit,
        ComplianceReport,
        "Monthly compliance report ?month=YYYY-MM: the /v1/compliance figures over the records decided in the month, totals, late items"
    ),
    r!(GET, "/metrics", Nothing, Metrics, "Prometheus metrics (admin listener only)"),
    r!(GET, "/v1/admin/peers", Admin, Peers, "Connected peers"),
    r!(POST, "/v1/admin/peers/{peer}/ban", Admin, PeerBan, "Disconnect and ban a peer (until restart)"),
    r!(GET, "/v1/admin/trust", Admin, TrustList, "Pinned trust anchors and delegations"),
    r!(POST, "/v1/admin/trust", Admin, TrustPin, "Pin a region root {region, root_key, delegations?}"),
    r!(DELETE, "/v1/admin/trust/{region}", Admin, TrustUnpin, "Unpin a region root"),
    r!(GET, "/v1/admin/policy", Admin, PolicyGet, "Local policy"),
    r!(PUT, "/v1/admin/policy", Admin, PolicyPut, "Replace the local policy"),
    r!(GET, "/v1/admin/tokens", Admin, TokensList, "Token ids and scopes"),
    r!(POST, "/v1/admin/tokens", Admin, TokenIssue, "Issue a token {scope}; shown once"),
    r!(DELETE, "/v1/admin/tokens/{id}", Admin, TokenRevoke, "Revoke a token"),
    tlog!(
        GET,
        "/tlog/checkpoint",
        Audit,
        TlogCheckpoint,
        Segment,
        "C2SP tlog-tiles checkpoint: the signed checkpoint with its cosignatures (as /v1/audit/checkpoint)"
    ),
    tlog!(
        GET,
        "/tlog/tile/{tile}",
        Audit,
        TlogTile,
        Rest,
        "C2SP tlog-tiles tile <L>/<N>[.p/<W>] (Merkle hashes) or entries/<N>[.p/<W>] (entry bundle); {tile} spans several path segments"
    ),
    tlog!(
        POST,
        "/tlog/add-checkpoint",
        Nothing,
        TlogAddCheckpoint,
        Segment,
        "C2SP tlog-witness add-checkpoint: cosign a peer region's checkpoint that extends the last one cosigned here"
    ),
];

impl Route {
    /// The template as served under `tlog_prefix`.
    pub fn template_under(&self, tlog_prefix: &str) -> std::borrow::Cow<'static, str> {
        match self.mount {
            Mount::Api => self.path.into(),
            Mount::Tlog => {
                let rel = self.path.strip_prefix(DEFAULT_TLOG_PREFIX).unwrap_or(self.path);
                format!("{tlog_prefix}{rel}").into()
            }
        }
    }
}

fn matches(template: &str, tail: Tail, path: &str) -> Option<Vec<String>> {
    let mut t = template.split('/').peekable();
    let mut p = path.split('/');
    let mut params = Vec::new();
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) if tail == Tail::Rest && ts.starts_with('{') && t.peek().is_none() => {
                let rest: Vec<&str> = std::iter::once(ps).chain(p.by_ref()).collect();
                let rest = rest.join("/");
                if rest.is_empty() || rest.len() > MAX_REST_LEN {
                    return None;
                }
                params.push(rest);
                return Some(params);
            }
            (Some(ts), Some(ps)) if ts.starts_with('{') => {
                if ps.is_empty() || ps.len() > 256 {
                    return None;
                }
                params.push(ps.to_string());
            }
            (Some(ts), Some(ps)) if ts == ps => {}
            _ => return None,
        }
    }
}

/// The route for `method` + `path` and its parameters, with the transparency-log routes under
/// `tlog_prefix`.
///
/// # Errors
/// The methods the path is served under (empty: 404; else 405 with this `Allow`).
pub fn find(
    method: &Method,
    path: &str,
    tlog_prefix: &str,
) -> Result<(&'static Route, Vec<String>), Vec<&'static str>> {
    let mut allow = Vec::new();
    for r in ROUTES {
        if let Some(params) = matches(&r.template_under(tlog_prefix), r.tail, path) {
            if r.method == *method {
                return Ok((r, params));
            }
            allow.push(r.method.as_str());
        }
    }
    Err(allow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_under_another_method_lists_the_allowed_ones() {
        let find = |m: &Method, p: &str| find(m, p, DEFAULT_TLOG_PREFIX);
        assert_eq!(find(&Method::PUT, "/v1/admin/trust").unwrap_err(), vec!["GET", "POST"]);
        assert!(find(&Method::GET, "/v1/nothing").unwrap_err().is_empty());
        let (r, p) = find(&Method::GET, "/v1/records/abc").unwrap();
        assert_eq!((r.id, p), (RouteId::GetRecord, vec!["abc".to_string()]));
    }

    #[test]
    fn tlog_routes_live_under_the_configured_prefix_and_tiles_take_the_rest_of_the_path() {
        let (r, p) = find(&Method::GET, "/tlog/tile/0/x001/234.p/5", DEFAULT_TLOG_PREFIX).unwrap();
        assert_eq!((r.id, p), (RouteId::TlogTile, vec!["0/x001/234.p/5".to_string()]));
        let (r, p) = find(&Method::GET, "/logs/a/tile/entries/000", "/logs/a").unwrap();
        assert_eq!((r.id, p), (RouteId::TlogTile, vec!["entries/000".to_string()]));
        assert_eq!(find(&Method::GET, "/logs/a/checkpoint", "/logs/a").unwrap().0.id, RouteId::TlogCheckpoint);
        assert!(find(&Method::GET, "/tlog/checkpoint", "/logs/a").unwrap_err().is_empty());
        assert_eq!(find(&Method::GET, "/tlog/add-checkpoint", DEFAULT_TLOG_PREFIX).unwrap_err(), vec!["POST"]);
        assert!(find(&Method::GET, "/tlog/tile/", DEFAULT_TLOG_PREFIX).is_err());
        let long = format!("/tlog/tile/{}", "0/".repeat(200));
        assert!(find(&Method::GET, &long, DEFAULT_TLOG_PREFIX).is_err(), "bounded remainder");
        assert_eq!(find(&Method::GET, "/v1/health", "/logs/a").unwrap().0.id, RouteId::Health);
    }

    #[test]
    fn every_post_and_put_route_declares_its_body() {
        for r in ROUTES {
            let takes = matches!(r.method, Method::POST | Method::PUT);
            let exempt = r.id == RouteId::PeerBan; // the peer is in the path
            assert_eq!(r.body() != BodyKind::None, takes && !exempt, "{} {}", r.method, r.path);
        }
    }
}
