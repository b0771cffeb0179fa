//! The console's pages. Each reads the API through [`Page::get`] (bounded reads, the API's own
//! scope checks) or the state's existing functions, and renders with [`maud`] (every value
//! escaped: record texts are untrusted input from other regions).

use std::collections::BTreeMap;

use credfed_protocol::{Day, RegionId};
use hyper::{Method, StatusCode};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::{json, Value};

use super::{html_resp, redirect, report, s, svg, url, Page, Req};
use crate::api::blocking;
use crate::api::error::ApiError;
use crate::api::Resp;
use crate::state::compliance::{self, Month};
use crate::state::tokens::{Need, Scope};
use crate::store::FedNs;

/// Records a list page shows.
const PAGE_ROWS: usize = 50;
/// Records the repairs and objections page examines per status.
const WORK_ROWS: usize = 100;
/// Schemes the subject page evaluates at most.
const MAX_SCHEMES: usize = 20;
/// Audit leaves searched back from the end for a record's inclusion proof.
const PROOF_SEARCH: u64 = 5000;
/// Keys expiring within this many days are an alert.
const EXPIRY_ALERT_DAYS: u64 = 30;

const NAV: &[(&str, &str)] = &[
    ("federation", "Federation"),
    ("records", "Records"),
    ("subject", "Subject"),
    ("work", "Repairs & objections"),
    ("compliance", "Compliance"),
    ("audit", "Audit"),
    ("admin", "Admin"),
];

/// Dispatches a logged-in request.
///
/// # Errors
/// What the page's API calls answered (rendered as an error page).
pub async fn route(p: &Page, r: &Req) -> Result<Resp, ApiError> {
    let segs: Vec<&str> = r.path.trim_matches('/').split('/').collect();
    let get = r.method == Method::GET;
    match (get, segs.as_slice()) {
        (true, ["federation"]) => federation(p).await,
        (true, ["records"]) => records(p, r).await,
        (true, ["records", id]) => record(p, id).await,
        (true, ["subject"]) => subject(p, r).await,
        (true, ["work"]) => work(p).await,
        (true, ["compliance"]) => compliance_page(p, r).await,
        (true, ["reports", "compliance"]) => report_page(p, r).await,
        (true, ["audit"]) => audit(p, r).await,
        (true, ["audit", "export"]) => export(p).await,
        (true, ["admin"]) => admin(p, None).await,
        (false, ["admin", "tokens"]) => token_issue(p, r).await,
        (false, ["admin", "tokens", id, "revoke"]) => token_revoke(p, id).await,
        (false, ["admin", "peers", peer, "ban"]) => peer_ban(p, peer).await,
        (false, ["records", id, "repair"]) => repair(p, r, id).await,
        _ => Err(ApiError::not_found("no_page", "no such console page")),
    }
}

fn layout(p: &Page, active: &str, title: &str, refresh: Option<u32>, body: Markup) -> Markup {
    let region = p.app.state().region.to_string();
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · credfed " (region) }
                link rel="stylesheet" href="/console/static/app.css";
                script src="/console/static/app.js" defer {}
            }
            body data-refresh=[refresh] {
                header.top {
                    span.brand { "credfed · " strong { (region) } }
                    nav { @for (href, name) in NAV {
                        a href={ "/console/" (href) } class=[(active == *href).then_some("active")] { (name) }
                    } }
                    form.logout method="post" action="/console/logout" {
                        (p.csrf_field())
                        span.who { "token " code { (p.token_id) } " (" (p.scope.as_str()) ")" }
                        button type="submit" { "Log out" }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

fn ok(p: &Page, active: &str, title: &str, refresh: Option<u32>, body: Markup) -> Result<Resp, ApiError> {
    Ok(html_resp(StatusCode::OK, layout(p, active, title, refresh, body)))
}

/// Any JSON value as nested definition tables (for rules, history items, bodies).
pub fn tree(v: &Value) -> Markup {
    match v {
        Value::Object(m) => html! { table.kv { @for (k, v) in m { tr { th { (k) } td { (tree(v)) } } } } },
        Value::Array(a) if a.is_empty() => html! { span.muted { "none" } },
        Value::Array(a) => html! { ol { @for v in a { li { (tree(v)) } } } },
        other => html! { (s(other)) },
    }
}

fn time(secs: &Value) -> String {
    secs.as_u64()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t as i64).ok())
        .map(|t| {
            let t = t.to_offset(time::UtcOffset::from_hms(8, 0, 0).expect("+08"));
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} +08",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_else(|| s(secs))
}

/// A subject's code as the view gives it (`{"uscc"}`, `{"registration_no"}` or `{"person_digest"}`).
fn subject_text(v: &Value) -> String {
    v.as_object().and_then(|m| m.values().next()).map(s).unwrap_or_else(|| s(v))
}

fn record_link(id: &Value) -> Markup {
    let id = s(id);
    html! { a.mono href={ "/console/records/" (id) } { (id.get(..12).unwrap_or(&id)) "…" } }
}

fn status_badge(v: &Value) -> Markup {
    let st = s(v);
    html! { span class={ "badge " (st) } { (st) } }
}

fn today(p: &Page) -> Day {
    Day::from_unix_china(p.app.state().now())
}

// ---------------------------------------------------------------------------------- federation

async fn federation(p: &Page) -> Result<Resp, ApiError> {
    p.require(Need::Audit)?;
    let health = p.get("/v1/health").await?;
    let feeds = p.get("/v1/feeds").await?;
    let note = p.get("/v1/audit/checkpoint").await?;
    let st = p.app.state().clone();
    let me = st.region.clone();
    let now = st.now();
    let (anchors, expiring) = {
        let t = st.trust();
        let anchors: Vec<RegionId> = t.anchors().keys().cloned().collect();
        let expiring: Vec<Value> = t
            .delegations()
            .filter(|(_, d)| {
                d.not_after > now
                    && d.not_after <= now + EXPIRY_ALERT_DAYS * 86_400
                    && t.revoked_from(&d.key, &d.region).is_none()
            })
            .map(|(id, d)| json!({ "id": id.to_hex(), "region": d.region, "role": d.role, "authority_name": d.authority_name, "not_after": d.not_after }))
            .collect();
        (anchors, expiring)
    };
    let peers = st.peers.read().unwrap_or_else(|p| p.into_inner()).clone();
    let contact = st.last_contact.read().unwrap_or_else(|p| p.into_inner()).clone();
    // `get`, not `get_or_create`: looking must not add a zero series to /metrics.
    let lag = |r: &str| st.metrics.sync_lag.get(&crate::metrics::Metrics::label("origin", r)).map(|g| g.get());
    let heads: BTreeMap<String, (u64, String)> = feeds["heads"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| (s(&h["origin"]), (h["seq"].as_u64().unwrap_or(0), s(&h["hash"]))))
        .collect();
    let cp = svg::parse_note(note.as_str().unwrap_or(""));
    let cosigned: Vec<String> = cp.signers.iter().filter(|n| **n != me.to_string()).cloned().collect();
    let cities: Vec<svg::City> = anchors
        .iter()
        .map(|r| svg::City {
            name: r.to_string(),
            own: *r == me,
            connected: *r == me || peers.iter().any(|(_, pr)| pr == r),
            cosigned: cosigned.contains(&r.to_string()),
        })
        .collect();
    let eq = feeds["equivocations"].as_array().cloned().unwrap_or_default();
    let split = feeds["split_views"].as_array().cloned().unwrap_or_default();
    let alerts = eq.len() + split.len() + expiring.len();
    let body = html! {
        section.cards {
            div.card { h3 { "Region" } p.big { (s(&health["region"])) } p.muted.mono { (s(&health["peer_id"])) } }
            div.card { h3 { "Peers connected" } p.big { (peers.len()) } p.muted { "of " (anchors.len().saturating_sub(1)) " pinned regions" } }
            div.card { h3 { "Last checkpoint" } p.big { (cp.size) } p.muted { "leaves · cosigned by " (cosigned.len()) } }
            div.card class=[(alerts > 0).then_some("alert")] { h3 { "Alerts" } p.big { (alerts) } }
        }
        section.split {
            div {
                h2 { "Cities" }
                (PreEscaped(svg::federation_map(&cities)))
                p.legend { span.ok { "■" } " connected · " span.bad { "■" } " not connected · ring: cosigned our last checkpoint" }
            }
            div {
                h2 { "Each city" }
                table.data {
                    thead { tr { th { "region" } th { "trust" } th { "connection" } th { "feed head (held here)" } th { "behind (entries)" } th { "last contact" } th { "cosigned last checkpoint" } } }
                    tbody { @for c in &cities { tr {
                        td { strong { (c.name) } @if c.own { " (this node)" } }
                        td { span.badge.active { "pinned" } }
                        td { @if c.own { "—" } @else if c.connected { span.badge.active { "connected" } } @else { span.badge.withdrawn { "not connected" } } }
                        td.mono { @if let Some((seq, hash)) = heads.get(&c.name) { (seq) " · " (hash.get(..16).unwrap_or(hash)) "…" } @else { "none" } }
                        td { @if c.own { "—" } @else { @match lag(&c.name) { Some(n) => (n), None => "not synced yet" } } }
                        td { @if c.own { "—" } @else if let Some(t) = c.name.parse::<RegionId>().ok().and_then(|r| contact.get(&r).copied()) { (time(&json!(t))) } @else { "never" } }
                        td { @if c.own { "signer" } @else if c.cosigned { "yes" } @else { "no" } }
                    } } }
                }
                h3 { "Connected peers" }
                table.data { thead { tr { th { "peer id" } th { "region" } } }
                    tbody { @for (pid, r) in &peers { tr { td.mono { (pid) } td { (r) } } } } }
            }
        }
        h2 { "Alerts" }
        @if alerts == 0 { p.okmsg { "No equivocation proofs, no split views, no key expiring within " (EXPIRY_ALERT_DAYS) " days." } }
        @for e in &eq { p.error { "EQUIVOCATION: origin " strong { (s(&e["origin"])) } " signed two different feed entries at seq " (s(&e["seq"])) } }
        @for e in &split { p.error { "SPLIT VIEW: " (tree(e)) } }
        @for k in &expiring { p.warn { "Key expiring " (time(&k["not_after"])) ": " (s(&k["region"])) " " (s(&k["role"])) " " (s(&k["authority_name"])) " (delegation " span.mono { (s(&k["id"]).get(..12).unwrap_or("")) } ")" } }
        p.muted { "Banned peers are refused until the node restarts (Admin page); overdue receipts are on the Compliance page." }
        h2 { "Last checkpoint (C2SP signed note)" }
        pre.note { (note.as_str().unwrap_or("")) }
    };
    ok(p, "federation", "Federation", Some(10), body)
}

// ------------------------------------------------------------------------------------- records

const FILTERS: &[(&str, &str)] = &[
    ("name", "name"),
    ("decision_no", "decision no. prefix"),
    ("kind", "kind"),
    ("origin", "origin"),
    ("status", "status"),
    ("decided_from", "decided from"),
    ("decided_to", "decided to"),
    ("authority", "authority"),
];

fn record_rows(list: &[Value]) -> Markup {
    html! {
        table.data.filterable {
            thead { tr { th { "record" } th { "kind" } th { "origin" } th { "subject" } th { "name" } th { "decision no." } th { "decided" } th { "status" } } }
            tbody { @for v in list { tr {
                td { (record_link(&v["id"])) }
                td { (s(&v["kind"])) }
                td { (s(&v["origin"])) }
                td.mono { a href={ "/console/subject?s=" (url(&subject_text(&v["subject"]))) } { (subject_text(&v["subject"])) } }
                td { (s(&v["record"]["subject_name"])) }
                td { (s(&v["record"]["decision_no"])) }
                td { (s(&v["decided_on"])) }
                td { (status_badge(&v["status"])) }
            } } }
        }
    }
}

async fn records(p: &Page, r: &Req) -> Result<Resp, ApiError> {
    let mut q: Vec<String> = FILTERS
        .iter()
        .chain([("cursor", "")].iter())
        .filter_map(|(k, _)| r.q(k).map(|v| format!("{k}={}", url(v))))
        .collect();
    q.push(format!("limit={PAGE_ROWS}"));
    let v = p.get(&format!("/v1/records?{}", q.join("&"))).await?;
    let list = v["records"].as_array().cloned().unwrap_or_default();
    let next = v["next_cursor"].as_str().map(|c| {
        let mut keep: Vec<String> =
            FILTERS.iter().filter_map(|(k, _)| r.q(k).map(|v| format!("{k}={}", url(v)))).collect();
        keep.push(format!("cursor={}", url(c)));
        format!("/console/records?{}", keep.join("&"))
    });
    let body = html! {
        form.filters method="get" action="/console/records" {
            (p.csrf_field())
            @for (k, label) in FILTERS {
                label { (label) " " input type=(if k.starts_with("decided") { "date" } else { "text" }) name=(k) value=[r.q(k)]; }
            }
            button type="submit" { "Search" }
            a href="/console/records" { "clear" }
        }
        p.muted { (list.len()) " record(s) on this page"
            @if r.q("cursor").is_some() { " · " a href="/console/records" { "first page" } }
            @if let Some(n) = &next { " · " a href=(n) { "next page →" } } }
        input.tablefilter type="search" placeholder="filter this page…";
        (record_rows(&list))
    };
    ok(p, "records", "Records", None, body)
}

async fn record(p: &Page, id: &str) -> Result<Resp, ApiError> {
    let v = p.get(&format!("/v1/records/{}", url(id))).await?;
    let st = p.app.state();
    let own = s(&v["origin"]) == st.region.to_string();
    let content = v["record"].clone();
    let body = html! {
        section.cards {
            div.card { h3 { "Status" } p.big { (status_badge(&v["status"])) } p.muted { "since " (s(&v["status_since"])) } }
            div.card { h3 { "Origin" } p.big { (s(&v["origin"])) } p.muted { "feed seq " (s(&v["seq"])) " · signed " (time(&v["signed_at"])) } }
            div.card { h3 { "Publicity ends" } p.big { (s(&v["publicity_end"]["ends_on"])) } p.muted { "governed by " (s(&v["publicity_end"]["governs"])) } }
        }
        h2 { "Content" }
        @if v["body_visible"].as_bool() == Some(true) { (tree(&content)) } @else { p.muted { "The body is not visible to this token (publicity ended, suspended, or not published)." } }
        h2 { "Rule and regime deciding the status" }
        (tree(&v["rule"]))
        h3 { "Publicity" }
        (tree(&v["publicity"]))
        h2 { "History (repairs, objections, corrections, withdrawals)" }
        (tree(&v["history"]))
        h2 { "Lineage" }
        p.muted { "Receipts: regions that applied this record's actions and signed a receipt into their own feed." }
        @if own {
            @for a in v["applied_by"].as_array().into_iter().flatten() {
                div.action {
                    h3 { (s(&a["type"])) " " span.mono { (s(&a["action"]).get(..12).unwrap_or("")) "…" } }
                    p { "deadline " (s(&a["deadline"])) " · overdue " (s(&a["overdue"])) }
                    table.data { thead { tr { th { "region" } th { "applied at" } th { "receipt" } } }
                        tbody {
                            @for rc in a["receipts"].as_array().into_iter().flatten() {
                                tr { td { (s(&rc["region"])) } td { (time(&rc["applied_at"])) } td.mono { (s(&rc["receipt"]).get(..12).unwrap_or("")) "…" } }
                            }
                            @for m in a["missing"].as_array().into_iter().flatten() {
                                tr.missing { td { (s(m)) } td { "not yet confirmed" } td { "—" } }
                            }
                        } }
                }
            }
            @if v["applied_by"].as_array().is_none_or(|a| a.is_empty()) { p.muted { "No actions of this region on the record yet." } }
        }
        h3 { "Receipts held by this node" }
        table.data { thead { tr { th { "region" } th { "signed at" } th { "receipt" } } }
            tbody { @for rc in v["receipts"].as_array().into_iter().flatten() {
                tr { td { (s(&rc["region"])) } td { (time(&rc["signed_at"])) } td.mono { (s(&rc["id"]).get(..12).unwrap_or("")) "…" } }
            } } }
        h3 { "Measures applied (联合奖惩 feedback)" }
        table.data { thead { tr { th { "region" } th { "signed at" } } }
            tbody { @for m in v["measures"].as_array().into_iter().flatten() { tr { td { (s(&m["region"])) } td { (time(&m["signed_at"])) } } } } }
        @if own && p.scope == Scope::Submit && s(&v["status"]) == "active" {
            h2 { "Repair (信用修复)" }
            form method="post" action={ "/console/records/" (s(&v["id"])) "/repair" } {
                (p.csrf_field())
                label { "repaired on " input type="date" name="repaired_on" value=(today(p).to_string()) required; }
                label { "basis " input type="text" name="basis" required; }
                button type="submit" { "Submit repair" }
            }
        }
        p { a href={ "/console/audit?record=" (s(&v["id"])) } { "Inclusion proof of this record in the audit log →" } }
    };
    let title = format!("Record {}", s(&v["record"]["decision_no"]));
    ok(p, "records", &title, Some(15), body)
}

async fn repair(p: &Page, r: &Req, id: &str) -> Result<Resp, ApiError> {
    p.require(Need::Submit)?;
    let body = json!({ "repaired_on": r.f("repaired_on").unwrap_or(""), "basis": r.f("basis").unwrap_or("") });
    p.send(Method::POST, &format!("/v1/records/{}/repair", url(id)), Some(&body)).await?;
    Ok(redirect(&format!("/console/records/{}", url(id)), None))
}

// ------------------------------------------------------------------------------------- subject

async fn subject(p: &Page, r: &Req) -> Result<Resp, ApiError> {
    let Some(subj) = r.q("s") else {
        let body = html! {
            form.filters method="get" action="/console/subject" {
                (p.csrf_field())
                label { "USCC (统一社会信用代码) " input type="text" name="s" required; }
                button type="submit" { "Show" }
            }
        };
        return ok(p, "subject", "Subject", None, body);
    };
    let v = p.get(&format!("/v1/subjects/{}/records", url(subj))).await?;
    let mut list = v["records"].as_array().cloned().unwrap_or_default();
    list.sort_by_key(|r| s(&r["decided_on"]));
    let schemes = p.get("/v1/schemes").await?;
    let mut elig = Vec::new();
    for sc in schemes["schemes"].as_array().into_iter().flatten().take(MAX_SCHEMES) {
        let code = s(&sc["code"]);
        let e = p.get(&format!("/v1/subjects/{}/eligibility?scheme={}", url(subj), url(&code))).await?;
        elig.push((sc.clone(), e));
    }
    let body = html! {
        p { "Subject " strong.mono { (subject_text(&v["subject"])) } " · " (list.len()) " record(s) across all regions · as of " (s(&v["as_of"])) }
        h2 { "Timeline" }
        ol.timeline { @for rec in &list { li {
            span.date { (s(&rec["decided_on"])) }
            " " (status_badge(&rec["status"])) " "
            strong { (s(&rec["kind"])) } " from " (s(&rec["origin"])) " · " (s(&rec["record"]["subject_name"])) " · "
            (s(&rec["record"]["decision_no"])) " · " (record_link(&rec["id"]))
            @for h in rec["history"].as_array().into_iter().flatten() {
                div.hist { (s(&h["on"])) " " (s(&h["object_type"])) " by " (s(&h["region"])) " " (s(&h["detail"])) }
            }
        } } }
        h2 { "信易+ eligibility" }
        @if elig.is_empty() { p.muted { "No benefit schemes published." } }
        @for (sc, e) in &elig {
            div.action {
                h3 { (s(&sc["code"])) " " (s(&sc["name"])) " — "
                    @if e["eligible"].as_bool() == Some(true) { span.badge.active { "eligible" } } @else { span.badge.withdrawn { "not eligible" } } }
                @if let Some(rs) = e["reasons"].as_array() { @if !rs.is_empty() {
                    ul { @for reason in rs { li { code { (s(&reason["rule"])) } " " (s(&reason["detail"])) } } }
                } }
            }
        }
    };
    ok(p, "subject", "Subject", Some(5), body)
}

// --------------------------------------------------------------------------- repairs/objections

async fn work(p: &Page) -> Result<Resp, ApiError> {
    let st = p.app.state().clone();
    let me = st.region.to_string();
    let day = today(p);
    let obj = p.get(&format!("/v1/records?status=under_objection&limit={WORK_ROWS}")).await?;
    let mut objections: Vec<(Day, Value, String)> = Vec::new();
    for rec in obj["records"].as_array().into_iter().flatten() {
        let ids: Vec<String> = rec["open_objections"].as_array().into_iter().flatten().map(s).collect();
        for oid in ids {
            let st2 = st.clone();
            let o = oid.clone();
            let filed = blocking(move || {
                let Ok(id) = o.parse() else { return Ok(None) };
                Ok(crate::state::query::load(&*st2.store, &id)?.and_then(|l| match l.body {
                    credfed_protocol::objects::Body::Objection(b) => Some(b.filed_on),
                    _ => None,
                }))
            })
            .await?;
            if let Some(f) = filed {
                let dl = st.rules.objection_deadline(f, &st.calendar).resolve_by.deadline;
                objections.push((dl, rec.clone(), format!("{oid}|{f}")));
            }
        }
    }
    objections.sort_by_key(|(dl, _, _)| *dl);
    let rep = p.get(&format!("/v1/records?status=repaired&origin={}&limit={WORK_ROWS}", url(&me))).await?;
    let mut pending = Vec::new();
    for rec in rep["records"].as_array().into_iter().flatten() {
        let full = p.get(&format!("/v1/records/{}", url(&s(&rec["id"])))).await?;
        for a in full["applied_by"].as_array().into_iter().flatten() {
            if a["missing"].as_array().is_some_and(|m| !m.is_empty()) {
                pending.push((full.clone(), a.clone()));
            }
        }
    }
    pending.sort_by_key(|(_, a)| std::cmp::Reverse(a["overdue"].as_u64().unwrap_or(0)));
    let cal = &p.app.state().calendar;
    let body = html! {
        h2 { "Objections (异议) — overdue first" }
        p.muted { "Resolve-by deadlines in working days on this node's calendar (DOMAIN). " (objections.len()) " open." }
        table.data.filterable {
            thead { tr { th { "resolve by" } th { "clock" } th { "record" } th { "origin" } th { "decision no." } th { "objection / filed" } } }
            tbody { @for (dl, rec, of) in &objections {
                @let overdue = day > *dl;
                @let working = if overdue { cal.working_days_between(*dl, day) } else { cal.working_days_between(day, *dl) };
                tr class=[overdue.then_some("overdue")] {
                    td { (dl.to_string()) }
                    td { @if overdue { strong { "overdue " (working.count) " working day(s)" } } @else { (working.count) " working day(s) left" } }
                    td { (record_link(&rec["id"])) }
                    td { (s(&rec["origin"])) }
                    td { (s(&rec["record"]["decision_no"])) }
                    td.mono { (of.split('|').next().unwrap_or("").get(..12).unwrap_or("")) "… / " (of.split('|').nth(1).unwrap_or("")) }
                }
            } }
        }
        h2 { "Repairs (信用修复) of this region not yet confirmed everywhere" }
        p.muted { "Regions that have not sent a receipt for the repair; overdue past the receipt deadline." }
        table.data.filterable {
            thead { tr { th { "record" } th { "decision no." } th { "action" } th { "deadline" } th { "receipts" } th { "not confirmed by" } th { "overdue" } } }
            tbody { @for (rec, a) in &pending {
                tr class=[(a["overdue"].as_u64().unwrap_or(0) > 0).then_some("overdue")] {
                    td { (record_link(&rec["id"])) }
                    td { (s(&rec["record"]["decision_no"])) }
                    td { (s(&a["type"])) }
                    td { (s(&a["deadline"])) }
                    td { (a["receipts"].as_array().map_or(0, Vec::len)) }
                    td { @for m in a["missing"].as_array().into_iter().flatten() { span.badge.withdrawn { (s(m)) } " " } }
                    td { (s(&a["overdue"])) }
                }
            } }
        }
        @if pending.is_empty() { p.okmsg { "Every repair of this region on the first " (WORK_ROWS) " repaired records is confirmed by every region." } }
    };
    ok(p, "work", "Repairs & objections", Some(10), body)
}

// ---------------------------------------------------------------------------------- compliance

async fn compliance_page(p: &Page, r: &Req) -> Result<Resp, ApiError> {
    p.require(Need::Audit)?; // the scope of GET /v1/compliance
    let day = today(p);
    let month = match r.q("month") {
        Some(m) => crate::api::audit_routes::parse_month(m)?,
        None => Month::of(day),
    };
    let rep = p.get(&format!("/v1/reports/compliance?month={month}")).await?;
    let st = p.app.state().clone();
    // One pass over the records gives GET /v1/compliance's figures and the trend.
    let all = blocking(move || Ok(compliance::compute(&st, day, None)?)).await?;
    let (now, trend) = (crate::api::audit_routes::compliance_json(&all), all.trend(12));
    let months: Vec<String> = Month::of(day).last(12).iter().map(|m| m.to_string()).collect();
    let body = html! {
        form.filters method="get" action="/console/compliance" {
            (p.csrf_field())
            label { "month " select name="month" { @for m in months.iter().rev() { option value=(m) selected[*m == month.to_string()] { (m) } } } }
            button type="submit" { "Show" }
            a href={ "/console/reports/compliance?month=" (month) } { "printable monthly report" }
        }
        h2 { "12-month trend (records decided per month)" }
        (PreEscaped(svg::trend_chart(&trend)))
        p.legend { span.ok { "—" } " 及时率 timeliness · " span.blue { "—" } " 合规率 rule compliance · bars: records" }
        h2 { "Month " (month) " per region and category" }
        (report::rows_table(&rep))
        h3 { "Late items (published after the deadline)" }
        (report::late_table(&rep, true))
        h2 { "All records held, as of " (s(&now["as_of"])) }
        (report::kind_table(&now["by_region_and_kind"]))
        h3 { "Objections overdue" }
        table.data { thead { tr { th { "record" } th { "objection" } th { "resolve by" } } }
            tbody { @for o in now["objections_overdue"].as_array().into_iter().flatten() {
                tr.overdue { td { (record_link(&o["record"])) } td.mono { (s(&o["objection"]).get(..12).unwrap_or("")) } td { (s(&o["resolve_by"])) } }
            } } }
        h3 { "Receipts overdue (this region's actions)" }
        table.data { thead { tr { th { "record" } th { "regions overdue" } } }
            tbody { @for o in now["receipts_overdue"].as_array().into_iter().flatten() {
                tr.overdue { td { (record_link(&o["record"])) } td { (s(&o["overdue"])) } }
            } } }
    };
    ok(p, "compliance", "Compliance", None, body)
}

async fn report_page(p: &Page, r: &Req) -> Result<Resp, ApiError> {
    let month = r.q("month").unwrap_or("");
    let v = p.get(&format!("/v1/reports/compliance?month={}", url(month))).await?;
    Ok(html_resp(StatusCode::OK, PreEscaped(report::html_linked(&v))))
}

// --------------------------------------------------------------------------------------- audit

async fn audit(p: &Page, r: &Req) -> Result<Resp, ApiError> {
    let note = p.get("/v1/audit/checkpoint").await?;
    let note = note.as_str().unwrap_or("").to_string();
    let cp = svg::parse_note(&note);
    let st = p.app.state().clone();
    let by = blocking(move || Ok(st.store.fed_scan(FedNs::CosignedBy, b"by/", 1000)?)).await?;
    let witnesses: Vec<(String, u64)> = by
        .iter()
        .map(|(k, v)| {
            let name = String::from_utf8_lossy(k.strip_prefix(b"by/".as_slice()).unwrap_or(k)).into_owned();
            let size = v.as_slice().try_into().map(u64::from_be_bytes).unwrap_or(0);
            (name, size)
        })
        .collect();
    // Inclusion proof of one leaf: by ?leaf=N, or the accepted leaf of ?record= among the last leaves.
    let mut proof: Option<Markup> = None;
    let leaf = match (r.q("leaf"), r.q("record")) {
        (Some(l), _) => Some(
            l.parse::<u64>().map_err(|_| ApiError::bad_request("invalid_query", "leaf is a number").field("leaf"))?,
        ),
        (None, Some(rec)) if cp.size > 0 => {
            let start = cp.size.saturating_sub(PROOF_SEARCH);
            let e = p.get(&format!("/v1/audit/entries?start={start}&end={}", cp.size)).await?;
            let found = e["entries"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| e["event"]["accepted"]["id"].as_str() == Some(rec));
            match found {
                Some(f) => f["index"].as_u64(),
                None => {
                    proof = Some(
                        html! { p.warn { "Record " (rec) " is not among the last " (PROOF_SEARCH) " leaves; give ?leaf=N." } },
                    );
                    None
                }
            }
        }
        _ => None,
    };
    if let Some(i) = leaf {
        let e = p.get(&format!("/v1/audit/entries?start={i}&end={}", i.saturating_add(1))).await?;
        let pr = p.get(&format!("/v1/audit/proof/inclusion?index={i}&size={}", cp.size)).await?;
        let leaf_bytes = e["entries"][0]["leaf_hex"].as_str().and_then(|h| hex::decode(h).ok()).unwrap_or_default();
        let hash = |v: &Value| -> Option<[u8; 32]> { hex::decode(v.as_str()?).ok()?.try_into().ok() };
        let path: Vec<[u8; 32]> = pr["proof"].as_array().into_iter().flatten().filter_map(hash).collect();
        let root = cp.root;
        let verdict = match root {
            Some(root) => credfed_protocol::merkle::verify_inclusion(
                &credfed_protocol::merkle::leaf_hash(&leaf_bytes),
                i,
                cp.size,
                &path,
                &root,
            )
            .is_ok(),
            None => false,
        };
        proof = Some(html! {
            div.action {
                h3 { "Leaf " (i) " of " (cp.size) " — " @if verdict { span.badge.active { "inclusion verified against the signed root" } } @else { span.badge.withdrawn { "does NOT verify" } } }
                p { "event: " (tree(&e["entries"][0]["event"])) }
                p.mono { "leaf hash " (s(&pr["leaf_hash"])) }
                ol.mono { @for h in pr["proof"].as_array().into_iter().flatten() { li { (s(h)) } } }
                p.mono { "root " (s(&pr["root"])) }
            }
        });
    }
    let body = html! {
        section.cards {
            div.card { h3 { "Log size" } p.big { (cp.size) } }
            div.card { h3 { "Signatures on the checkpoint" } p.big { (cp.signers.len()) } p.muted { (cp.signers.join(", ")) } }
            div.card { h3 { "Export" } p { a href="/console/audit/export" { "download the audit bundle (CBOR)" } } p.muted { "verify offline: credfed-admin audit verify" } }
        }
        h2 { "Checkpoint" }
        pre.note { (note) }
        h2 { "Cosignatures per witness (our log size each region last cosigned)" }
        (PreEscaped(svg::bars(&witnesses.iter().map(|(n, s)| (n.clone(), *s)).collect::<Vec<_>>(), cp.size)))
        table.data { thead { tr { th { "witness" } th { "size cosigned" } th { "behind" } } }
            tbody { @for (w, sz) in &witnesses { tr { td { (w) } td { (sz) } td { (cp.size.saturating_sub(*sz)) } } } } }
        h2 { "Inclusion proof" }
        form.filters method="get" action="/console/audit" {
            (p.csrf_field())
            label { "record id " input type="text" name="record" value=[r.q("record")]; }
            label { "or leaf index " input type="number" name="leaf" min="0" value=[r.q("leaf")]; }
            button type="submit" { "Prove and check" }
        }
        @if let Some(m) = proof { (m) }
    };
    ok(p, "audit", "Audit", None, body)
}

async fn export(p: &Page) -> Result<Resp, ApiError> {
    let mut r = p.raw("/v1/audit/export?from=0").await?;
    let name = format!("attachment; filename=\"audit-{}.cbor\"", p.app.state().region);
    r.headers_mut().insert("content-disposition", name.parse().expect("ascii"));
    Ok(r)
}

// --------------------------------------------------------------------------------------- admin

async fn admin(p: &Page, issued: Option<Value>) -> Result<Resp, ApiError> {
    p.require(Need::Admin)?;
    let peers = p.get("/v1/admin/peers").await?;
    let trust = p.get("/v1/admin/trust").await?;
    let tokens = p.get("/v1/admin/tokens").await?;
    let policy = p.get("/v1/admin/policy").await?;
    let body = html! {
        @if let Some(t) = &issued {
            div.action.warn { h3 { "New token (shown once)" } p { "scope " (s(&t["scope"])) " · id " code { (s(&t["id"])) } } pre.note { (s(&t["token"])) } }
        }
        h2 { "Peers" }
        table.data { thead { tr { th { "peer id" } th { "region" } th {} } }
            tbody { @for pe in peers["peers"].as_array().into_iter().flatten() { tr {
                td.mono { (s(&pe["peer_id"])) } td { (s(&pe["region"])) }
                td { form method="post" action={ "/console/admin/peers/" (s(&pe["peer_id"])) "/ban" } { (p.csrf_field()) button.danger type="submit" { "ban" } } }
            } } } }
        h2 { "Trust anchors" }
        table.data { thead { tr { th { "region" } th { "fingerprint" } } }
            tbody { @for a in trust["anchors"].as_array().into_iter().flatten() { tr { td { (s(&a["region"])) } td.mono { (s(&a["fingerprint"])) } } } } }
        h3 { "Delegations" }
        table.data.filterable { thead { tr { th { "region" } th { "role" } th { "authority" } th { "scopes" } th { "not after" } th { "revoked from" } } }
            tbody { @for d in trust["delegations"].as_array().into_iter().flatten() { tr {
                td { (s(&d["region"])) } td { (s(&d["role"])) } td { (s(&d["authority_name"])) }
                td { (d["scopes"].as_array().map(|a| a.iter().map(s).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
                td { (time(&d["not_after"])) } td { (s(&d["revoked_from"])) }
            } } } }
        h2 { "Tokens" }
        table.data { thead { tr { th { "id" } th { "scope" } th { "created" } th {} } }
            tbody { @for t in tokens["tokens"].as_array().into_iter().flatten() { tr {
                td.mono { (s(&t["id"])) } td { (s(&t["scope"])) } td { (time(&t["created_at"])) }
                td { form method="post" action={ "/console/admin/tokens/" (s(&t["id"])) "/revoke" } { (p.csrf_field()) button.danger type="submit" { "revoke" } } }
            } } } }
        form.filters method="post" action="/console/admin/tokens" {
            (p.csrf_field())
            label { "issue a token with scope " select name="scope" { @for sc in Scope::ALL { option value=(sc.as_str()) { (sc.as_str()) } } } }
            button type="submit" { "Issue" }
        }
        h2 { "Local policy" }
        (tree(&policy))
        p.muted { "Change the policy with credfed-admin policy set (PUT /v1/admin/policy)." }
    };
    ok(p, "admin", "Admin", None, body)
}

async fn token_issue(p: &Page, r: &Req) -> Result<Resp, ApiError> {
    p.require(Need::Admin)?;
    let scope = r.f("scope").unwrap_or("");
    let t = p.send(Method::POST, "/v1/admin/tokens", Some(&json!({ "scope": scope }))).await?;
    admin(p, Some(t)).await
}

async fn token_revoke(p: &Page, id: &str) -> Result<Resp, ApiError> {
    p.require(Need::Admin)?;
    p.send(Method::DELETE, &format!("/v1/admin/tokens/{}", url(id)), None).await?;
    Ok(redirect("/console/admin", None))
}

async fn peer_ban(p: &Page, peer: &str) -> Result<Resp, ApiError> {
    p.require(Need::Admin)?;
    p.send(Method::POST, &format!("/v1/admin/peers/{}/ban", url(peer)), None).await?;
    Ok(redirect("/console/admin", None))
}
