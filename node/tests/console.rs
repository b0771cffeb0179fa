//! The web console (`/console/`) and the monthly compliance report, on a real node (real sled,
//! real HTTP): login and sessions, every page with real data, escaping of untrusted record
//! text, scopes (a query token cannot reach admin pages), CSRF, redirects; the report's figures
//! against `GET /v1/compliance`.

mod common;

use common::*;
use credfed_node::state::compliance::Month;
use hyper::HeaderMap;
use serde_json::{json, Value};

fn cookies(h: &HeaderMap) -> Vec<String> {
    h.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect()
}

fn cookie_value(h: &HeaderMap, name: &str) -> Option<String> {
    cookies(h).iter().find_map(|c| {
        let first = c.split(';').next()?;
        let (k, v) = first.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

/// The value of the first `name="csrf" value="…"` in a page.
fn csrf_of(html: &str) -> String {
    let i = html.find(r#"name="csrf" value=""#).expect("a CSRF field") + r#"name="csrf" value=""#.len();
    html[i..].split('"').next().unwrap().to_string()
}

struct Browser<'a> {
    n: &'a TestNode,
    cookie: String,
    csrf: String,
}

async fn raw(n: &TestNode, method: &str, path: &str, cookie: &str, form: Option<String>) -> (u16, String, HeaderMap) {
    let url = format!("{}{path}", n.base);
    let mut b = hyper::Request::builder().method(method).uri(url);
    if !cookie.is_empty() {
        b = b.header("cookie", cookie);
    }
    if form.is_some() {
        b = b.header("content-type", "application/x-www-form-urlencoded");
    }
    let req = b.body(http_body_util::Full::new(bytes::Bytes::from(form.unwrap_or_default()))).unwrap();
    let resp = n.client.request(req).await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    use http_body_util::BodyExt;
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned(), headers)
}

fn form(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish()
}

async fn login<'a>(n: &'a TestNode, token: &str) -> Browser<'a> {
    let (s, page, h) = raw(n, "GET", "/console/login", "", None).await;
    assert_eq!(s, 200, "{page}");
    let pre = cookie_value(&h, "credfed_login").expect("login cookie");
    assert_eq!(csrf_of(&page), pre, "double-submit: the form carries the cookie's value");
    let (s, _, h) = raw(
        n,
        "POST",
        "/console/login",
        &format!("credfed_login={pre}"),
        Some(form(&[("csrf", &pre), ("token", token), ("next", "/console/records")])),
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(h["location"], "/console/records");
    let set = cookies(&h).into_iter().find(|c| c.starts_with("credfed_session=")).expect("session cookie");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/console"), "{set}");
    let sid = cookie_value(&h, "credfed_session").unwrap();
    let cookie = format!("credfed_session={sid}");
    let (s, page, _) = raw(n, "GET", "/console/subject", &cookie, None).await;
    assert_eq!(s, 200, "{page}");
    Browser { n, csrf: csrf_of(&page), cookie }
}

impl Browser<'_> {
    async fn get(&self, path: &str) -> (u16, String, HeaderMap) {
        raw(self.n, "GET", path, &self.cookie, None).await
    }
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String, HeaderMap) {
        raw(self.n, "POST", path, &self.cookie, Some(form(fields))).await
    }
}

const XSS: &str = "<script>alert('xss')</script>";
const XSS_NAME: &str = "<img src=x onerror=alert(1)>某公司";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_login_pages_scopes_csrf_and_escaping() {
    let mut n = TestNode::start().await;
    let (submit, query, audit, admin) = (n.t("submit"), n.t("query"), n.t("audit"), n.t("admin"));
    let today = days_ago(0).to_string();
    let mut d = penalty(&uscc(901), &today, "general");
    d["facts"] = json!(XSS);
    d["subject_name"] = json!(XSS_NAME);
    d["decision_no"] = json!("信市监罚〔2026〕901号");
    let (s, v) = n.post("/v1/records", Some(&submit), &d).await;
    assert_eq!(s, 201, "{v}");
    let xss_id = v["id"].as_str().unwrap().to_string();
    let (s, v) = n.post("/v1/records", Some(&submit), &penalty(&uscc(902), "2025-01-05", "general")).await;
    assert_eq!(s, 201, "{v}");
    let plain_id = v["id"].as_str().unwrap().to_string();
    let (s, v) = n
        .post(
            &format!("/v1/records/{plain_id}/repair"),
            Some(&submit),
            &json!({ "repaired_on": today, "basis": "整改完成" }),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    let (s, v) = n
        .post(
            &format!("/v1/records/{xss_id}/objections"),
            Some(&submit),
            &json!({ "ground": "inaccurate", "statement": "金额有误", "filed_on": today }),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    // No session: every page redirects to the login form, naming where to go back.
    let (s, _, h) = raw(&n, "GET", "/console/federation", "", None).await;
    assert_eq!(s, 303);
    assert_eq!(h["location"], "/console/login?next=%2Fconsole%2Ffederation");
    let (s, _, h) = raw(&n, "GET", "/console/records", "credfed_session=forged", None).await;
    assert_eq!((s, h["location"].to_str().unwrap().starts_with("/console/login")), (303, true));
    // Login: without the form's CSRF token 403; an unknown token 401 with the form again.
    let (s, _, h) = raw(&n, "GET", "/console/login", "", None).await;
    assert_eq!(s, 200);
    let pre = cookie_value(&h, "credfed_login").unwrap();
    let (s, body, _) =
        raw(&n, "POST", "/console/login", &format!("credfed_login={pre}"), Some(form(&[("token", &audit)]))).await;
    assert_eq!(s, 403, "{body}");
    let (s, body, _) = raw(
        &n,
        "POST",
        "/console/login",
        &format!("credfed_login={pre}"),
        Some(form(&[("csrf", &pre), ("token", "cft_nope")])),
    )
    .await;
    assert_eq!(s, 401);
    assert!(body.contains("unknown or revoked token"));

    // An audit token: every page but Admin, with real data and the security headers.
    let b = login(&n, &audit).await;
    for (path, needle) in [
        ("/console/federation", "xinyang"),
        ("/console/records", "信市监罚〔2026〕15号"),
        (&format!("/console/records/{plain_id}") as &str, "repair"),
        (&format!("/console/subject?s={}", uscc(902)) as &str, "administrative_penalty"),
        ("/console/work", "day(s) left"),
        ("/console/compliance", "administrative_penalty"),
        (&format!("/console/reports/compliance?month={}", Month::of(days_ago(0))) as &str, "合规率"),
        ("/console/audit", "credfed/xinyang/audit"),
        (&format!("/console/audit?record={plain_id}") as &str, "inclusion verified against the signed root"),
    ] {
        let t0 = std::time::Instant::now();
        let (s, page, h) = b.get(path).await;
        let ms = t0.elapsed().as_millis();
        println!("{path}: {ms} ms");
        assert!(ms < 2000, "{path} took {ms} ms on a store of a few records");
        assert_eq!(s, 200, "{path}: {page}");
        assert!(page.contains(needle), "{path} lacks {needle}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(!csp.contains("unsafe-inline") && csp.contains("script-src 'self'"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(
            !page.contains("<style") && !page.contains(" style=") && !page.contains("onclick"),
            "{path}: inline code"
        );
    }
    let (_, list, _) = b.get("/console/records").await;
    assert!(list.contains(&format!("/console/subject?s={}", uscc(902))), "records link to their subject");
    let (_, subj, _) = b.get(&format!("/console/subject?s={}", uscc(902))).await;
    assert!(subj.contains(&format!("<strong class=\"mono\">{}</strong>", uscc(902))), "{subj}");
    let (s, svg, _) = b.get("/console/compliance").await;
    assert!(s == 200 && svg.contains("<svg") && svg.contains("polyline"), "trend chart drawn on the server");
    let (s, fed, _) = b.get("/console/federation").await;
    assert!(s == 200 && fed.contains("<svg") && fed.contains("<circle"), "federation map");
    // Untrusted record text is rendered as text.
    for path in
        [format!("/console/records/{xss_id}"), "/console/records".into(), format!("/console/subject?s={}", uscc(901))]
    {
        let (s, page, _) = b.get(&path).await;
        assert_eq!(s, 200, "{path}");
        assert!(!page.contains(XSS) && !page.contains("<img src=x"), "{path}: payload not escaped");
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"), "{path}: name shown escaped");
        if path.contains(&xss_id) {
            assert!(page.contains("&lt;script&gt;alert('xss')&lt;/script&gt;"), "facts shown escaped");
        }
    }
    // Bad input: a 400 page naming the parameter; scope: admin pages are 403 for audit.
    let (s, page, _) = b.get("/console/compliance?month=2026-13").await;
    assert_eq!(s, 400);
    assert!(page.contains("month must be YYYY-MM"), "{page}");
    let (s, _, _) = b.get("/console/records?decided_from=yesterday").await;
    assert_eq!(s, 400);
    assert_eq!(b.get("/console/audit?leaf=x").await.0, 400);
    assert_eq!(b.get(&format!("/console/audit?leaf={}", u64::MAX)).await.0, 422, "past the log: the API's 422");
    assert_eq!(b.get("/console/admin").await.0, 403);
    let (s, bundle, h) = b.get("/console/audit/export").await;
    assert_eq!((s, h["content-type"].to_str().unwrap()), (200, "application/cbor"));
    assert!(!bundle.is_empty());

    // A query token: records and subjects, no audit pages, no admin pages, no admin writes.
    let q = login(&n, &query).await;
    assert_eq!(q.get("/console/records").await.0, 200);
    assert_eq!(q.get("/console/federation").await.0, 403, "feeds and checkpoints need audit, as in the API");
    assert_eq!(q.get("/console/admin").await.0, 403);
    let (s, _, _) = q.post("/console/admin/tokens", &[("csrf", &q.csrf), ("scope", "admin")]).await;
    assert_eq!(s, 403);

    // Admin: the page, CSRF on writes, a token issued and revoked; a revoked token's session ends.
    let a = login(&n, &admin).await;
    let (s, page, _) = a.get("/console/admin").await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("Trust anchors") && page.contains("xinyang"));
    let (s, _, _) = a.post("/console/admin/tokens", &[("scope", "query")]).await;
    assert_eq!(s, 403, "no CSRF token");
    let (s, _, _) = a.post("/console/admin/tokens", &[("csrf", "forged"), ("scope", "query")]).await;
    assert_eq!(s, 403, "another CSRF token");
    let (s, page, _) = a.post("/console/admin/tokens", &[("csrf", &a.csrf), ("scope", "query")]).await;
    assert_eq!(s, 200, "{page}");
    let i = page.find("cft_").expect("the new token shown once");
    let new_token: String =
        page[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect();
    let (s, _) = n.get("/v1/records", Some(&new_token)).await;
    assert_eq!(s, 200, "the issued token works on the API");
    let fresh = login(&n, &new_token).await;
    use sha2::Digest;
    let new_id = hex::encode(&sha2::Sha256::digest(new_token.as_bytes())[..6]);
    assert!(page.contains(&format!("<code>{new_id}</code>")), "the new token's id shown");
    let (s, _, h) = a.post(&format!("/console/admin/tokens/{new_id}/revoke"), &[("csrf", &a.csrf)]).await;
    assert_eq!((s, h["location"].to_str().unwrap()), (303, "/console/admin"));
    let (s, _, h) = fresh.get("/console/records").await;
    assert_eq!((s, h["location"].to_str().unwrap().starts_with("/console/login")), (303, true), "session ended");
    // Logout needs the CSRF token too, then the session is gone.
    assert_eq!(b.post("/console/logout", &[]).await.0, 403);
    assert_eq!(b.post("/console/logout", &[("csrf", &b.csrf)]).await.0, 303);
    assert_eq!(b.get("/console/records").await.0, 303);
    n.stop().await;
}

fn counts(v: &Value) -> [u64; 7] {
    ["records", "timely", "compliant", "repaired", "objections_open", "objections_overdue", "active"]
        .map(|k| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monthly_report_matches_compliance_figures() {
    let mut n = TestNode::start().await;
    let (submit, audit) = (n.t("submit"), n.t("audit"));
    let old = days_ago(400); // old enough for a repair (minimum publicity elapsed)
    let (m_old, m_now) = (Month::of(old), Month::of(days_ago(0)));
    assert_ne!(m_old, m_now);
    let mut ids_old = Vec::new();
    for i in 0..3 {
        let (s, v) = n.post("/v1/records", Some(&submit), &penalty(&uscc(300 + i), &old.to_string(), "general")).await;
        assert_eq!(s, 201, "{v}");
        ids_old.push(v["id"].as_str().unwrap().to_string());
    }
    for i in 0..2 {
        let d = penalty(&uscc(400 + i), &days_ago(0).to_string(), "general");
        let (s, v) = n.post("/v1/records", Some(&submit), &d).await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, v) = n
        .post(
            &format!("/v1/records/{}/repair", ids_old[0]),
            Some(&submit),
            &json!({ "repaired_on": days_ago(0).to_string(), "basis": "整改完成" }),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    let (s, all) = n.get("/v1/compliance", Some(&audit)).await;
    assert_eq!(s, 200);
    let (s, r_old) = n.get(&format!("/v1/reports/compliance?month={m_old}"), Some(&audit)).await;
    assert_eq!(s, 200, "{r_old}");
    let (s, r_now) = n.get(&format!("/v1/reports/compliance?month={m_now}"), Some(&audit)).await;
    assert_eq!(s, 200, "{r_now}");
    assert_eq!((r_old["month"].as_str(), r_old["region"].as_str()), (Some(&*m_old.to_string()), Some("xinyang")));

    // Every record is decided in one of the two months: per region and kind, the two monthly
    // reports add up to /v1/compliance's figures, and each month's totals are its rows' sums.
    let row = |v: &Value, region: &str, kind: &str| {
        v["by_region_and_kind"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["region"] == region && r["kind"] == kind)
            .map(counts)
            .unwrap_or_default()
    };
    for r in all["by_region_and_kind"].as_array().unwrap() {
        let (region, kind) = (r["region"].as_str().unwrap(), r["kind"].as_str().unwrap());
        let a = row(&r_old, region, kind);
        let b = row(&r_now, region, kind);
        let sum: Vec<u64> = a.iter().zip(b).map(|(x, y)| x + y).collect();
        assert_eq!(sum, counts(r).to_vec(), "{region} {kind}");
    }
    let pen = row(&r_old, "xinyang", "administrative_penalty");
    assert_eq!((pen[0], pen[1], pen[3]), (3, 0, 1), "decided 400 days ago, published today: late; one repaired");
    let pen = row(&r_now, "xinyang", "administrative_penalty");
    assert_eq!((pen[0], pen[1], pen[3]), (2, 2, 0), "published the day of the decision: timely");
    assert_eq!(counts(&r_now["totals"])[0], 2);
    assert_eq!(r_now["totals"]["timeliness"], 1.0);
    assert_eq!(r_old["totals"]["timeliness"], 0.0);
    // The late items are exactly the old month's records, with their deadlines.
    assert_eq!(r_old["late_total"], 3);
    let mut late: Vec<String> =
        r_old["late_items"].as_array().unwrap().iter().map(|l| l["record"].as_str().unwrap().to_string()).collect();
    late.sort();
    ids_old.sort();
    assert_eq!(late, ids_old);
    for l in r_old["late_items"].as_array().unwrap() {
        assert!(l["deadline"].as_str().unwrap() < l["published"].as_str().unwrap(), "{l}");
        assert_eq!(l["decided_on"], old.to_string());
    }
    assert_eq!(r_now["late_total"], 0);
    // The CSV/HTML renderings carry the same figures.
    let csv = credfed_node::console::report::csv(&r_old);
    assert!(csv.lines().any(|l| l.starts_with(&format!("total,{m_old},,,3,0,0"))), "{csv}");
    assert_eq!(csv.lines().filter(|l| l.starts_with("late,")).count(), 3);
    let html = credfed_node::console::report::html(&r_old);
    assert!(html.contains("@media print") && html.contains(&ids_old[0]) && html.contains("0.0%"));

    // Bad input: 400 in the API's error shape naming the parameter; scope as /v1/compliance.
    for q in ["", "?month=2026-13", "?month=2026-1", "?month=11-2026", "?month=2026-11-01", "?month=%3Cx%3E"] {
        let (s, v) = n.get(&format!("/v1/reports/compliance{q}"), Some(&audit)).await;
        assert_eq!(s, 400, "{q}: {v}");
        assert_eq!(v["error"]["field"], "month", "{q}: {v}");
        assert!(v["error"]["code"] == "missing_query" || v["error"]["code"] == "invalid_query", "{v}");
    }
    let (s, _) = n.get(&format!("/v1/reports/compliance?month={m_now}"), Some(&n.t("query"))).await;
    assert_eq!(s, 403);
    let (s, _) = n.get(&format!("/v1/reports/compliance?month={m_now}"), None).await;
    assert_eq!(s, 401);
    n.stop().await;
}
