//! `GET /v1/records` and `GET /v1/records/export` on a real node: every filter against the set
//! of submitted records computed here, cursor pages that neither repeat nor skip, searches that
//! do not see hidden bodies, and the national columns written back (read with a CSV parser).

mod common;

use std::collections::BTreeSet;

use common::*;
use credfed_protocol::bundle::sample;
use serde_json::{json, Value};

const NAMES: [&str; 4] = ["信阳市浉河区某建材有限公司", "光山县某食品店", "潢川某建材经营部", "固始县某商贸有限公司"];
const AUTHORITIES: [&str; 2] = ["信阳市市场监督管理局", "信阳市生态环境局"];

struct Row {
    id: String,
    name: &'static str,
    authority: &'static str,
    decision_no: String,
    decided_on: String,
}

/// 40 penalties: names, authorities and decision dates cycling, decision numbers `…〔2026〕n号`.
async fn seed(n: &TestNode) -> Vec<Row> {
    let mut drafts = Vec::new();
    let mut rows = Vec::new();
    for i in 0..40u64 {
        let decided_on = days_ago(1 + (i % 10) as i64).to_string();
        let no =
            if i % 2 == 0 { format!("信市监罚〔2026〕{i}号") } else { format!("信环罚〔2026〕{i}号") };
        let mut d = sample::penalty_draft(&uscc(100 + i), &no, &decided_on, "general");
        d["subject_name"] = json!(NAMES[i as usize % 4]);
        d["authority"] = json!(AUTHORITIES[i as usize % 2]);
        drafts.push(d);
        rows.push(Row {
            id: String::new(),
            name: NAMES[i as usize % 4],
            authority: AUTHORITIES[i as usize % 2],
            decision_no: no,
            decided_on,
        });
    }
    let (s, v, _) = n
        .call(
            "POST",
            "/v1/records/batch",
            Some(&n.t("submit")),
            Some(serde_json::to_vec(&drafts).unwrap()),
            "application/json",
        )
        .await;
    assert_eq!(s, 200, "{v}");
    for (row, r) in rows.iter_mut().zip(v["results"].as_array().unwrap()) {
        assert_eq!(r["status"], "created", "{r}");
        row.id = r["id"].as_str().unwrap().to_owned();
    }
    rows
}

/// Every page of a list query, following cursors; the ids in order.
async fn all_pages(n: &TestNode, query: &str, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let url = match &cursor {
            Some(c) => format!("/v1/records?{query}&limit=7&cursor={c}"),
            None => format!("/v1/records?{query}&limit=7"),
        };
        let (s, v) = n.get(&url, Some(token)).await;
        assert_eq!(s, 200, "{url}: {v}");
        out.extend(v["records"].as_array().unwrap().iter().cloned());
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
    panic!("{query}: more than 100 pages");
}

fn ids(list: &[Value]) -> Vec<String> {
    list.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

fn expect(rows: &[Row], keep: impl Fn(&Row) -> bool) -> BTreeSet<String> {
    rows.iter().filter(|r| keep(r)).map(|r| r.id.clone()).collect()
}

fn assert_same(query: &str, got: &[Value], want: BTreeSet<String>) {
    let got_ids = ids(got);
    let set: BTreeSet<String> = got_ids.iter().cloned().collect();
    assert_eq!(set.len(), got_ids.len(), "{query}: an id came twice");
    assert_eq!(set, want, "{query}");
    let days: Vec<&str> = got.iter().map(|r| r["decided_on"].as_str().unwrap()).collect();
    if !query.contains("decision_no=") {
        assert!(days.windows(2).all(|w| w[0] >= w[1]), "{query}: newest decisions first: {days:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_filter_pages_and_search_match_the_submitted_set() {
    let mut n = TestNode::start().await;
    let rows = seed(&n).await;
    let q = n.t("query");
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();

    let cases: Vec<(String, BTreeSet<String>)> = vec![
        ("kind=administrative_penalty".into(), expect(&rows, |_| true)),
        ("origin=xinyang".into(), expect(&rows, |_| true)),
        ("kind=administrative_license".into(), BTreeSet::new()),
        ("origin=suzhou".into(), BTreeSet::new()),
        (format!("name={}", enc("建材")), expect(&rows, |r| r.name.contains("建材"))),
        (format!("name={}", enc("某食品")), expect(&rows, |r| r.name.contains("某食品"))),
        (format!("name={}", enc("县")), expect(&rows, |r| r.name.contains('县'))),
        (format!("name={}", enc("不存在的名字")), BTreeSet::new()),
        (format!("authority={}", enc(AUTHORITIES[1])), expect(&rows, |r| r.authority == AUTHORITIES[1])),
        (format!("decision_no={}", enc("信环罚")), expect(&rows, |r| r.decision_no.starts_with("信环罚"))),
        (
            format!("decision_no={}", enc("信市监罚〔2026〕1")),
            expect(&rows, |r| r.decision_no.starts_with("信市监罚〔2026〕1")),
        ),
        (
            format!("decided_from={}&decided_to={}", days_ago(6), days_ago(3)),
            expect(&rows, |r| r.decided_on >= days_ago(6).to_string() && r.decided_on <= days_ago(3).to_string()),
        ),
        (
            format!("name={}&decided_to={}&authority={}", enc("建材"), days_ago(5), enc(AUTHORITIES[0])),
            expect(&rows, |r| {
                r.name.contains("建材") && r.decided_on <= days_ago(5).to_string() && r.authority == AUTHORITIES[0]
            }),
        ),
        ("status=active".into(), expect(&rows, |_| true)),
        ("status=repaired".into(), BTreeSet::new()),
    ];
    for (query, want) in cases {
        let got = all_pages(&n, &query, &q).await;
        assert_same(&query, &got, want);
    }
    let (s, all) = n.get("/v1/records?limit=500", Some(&q)).await;
    assert_eq!((s, all["records"].as_array().unwrap().len(), &all["next_cursor"]), (200, 40, &Value::Null));

    // An objection (annotate-only policy: the body stays visible) changes the status filter;
    // a withdrawal hides the body: the record still lists (status withdrawn), but a search by
    // name no longer finds it, except for an auditor.
    let objected_row = &rows[1];
    let (s, v) = n
        .post(
            &format!("/v1/records/{}/objections", objected_row.id),
            Some(&n.t("submit")),
            &json!({"ground": "inaccurate", "statement": "金额有误", "filed_on": days_ago(0)}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let objected = all_pages(&n, "status=under_objection", &q).await;
    assert_eq!(ids(&objected), vec![objected_row.id.clone()]);
    let target = &rows[0];
    let (s, v) = n
        .post(
            &format!("/v1/records/{}/withdrawal", target.id),
            Some(&n.t("submit")),
            &json!({"withdrawn_on": days_ago(0), "reason": "撤销"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let withdrawn = all_pages(&n, "status=withdrawn", &q).await;
    assert_eq!(ids(&withdrawn), vec![target.id.clone()]);
    assert_eq!(withdrawn[0]["body_visible"], false);
    let by_name = format!("name={}", enc(target.name));
    let want = expect(&rows, |r| r.name == target.name && r.id != target.id);
    assert_same(&by_name, &all_pages(&n, &by_name, &q).await, want);
    let audited = all_pages(&n, &by_name, &n.t("audit")).await;
    assert!(ids(&audited).contains(&target.id), "auditors see suspended bodies");

    // Bad input: named, and nothing changes.
    for (url, code, field) in [
        ("/v1/records?cursor=!!!", "bad_cursor", "cursor"),
        ("/v1/records?kind=nonsense", "invalid_query", "kind"),
        ("/v1/records?status=gone", "invalid_query", "status"),
        ("/v1/records?decided_from=2026-13-01", "invalid_query", "decided_from"),
        ("/v1/records?limit=0", "invalid_query", "limit"),
        ("/v1/records?limit=501", "invalid_query", "limit"),
        ("/v1/records?name=", "invalid_query", "name"),
    ] {
        let (s, v) = n.get(url, Some(&q)).await;
        assert_eq!(
            (s, v["error"]["code"].as_str(), v["error"]["field"].as_str()),
            (400, Some(code), Some(field)),
            "{url}: {v}"
        );
    }
    let (s, v) = n.get(&format!("/v1/records?decided_from={}&decided_to={}", days_ago(1), days_ago(5)), Some(&q)).await;
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("decided_from")), "{v}");
    // A cursor of one filter is refused by another.
    let (_, first) = n.get("/v1/records?kind=administrative_penalty&limit=3", Some(&q)).await;
    let c = first["next_cursor"].as_str().unwrap();
    let (s, v) = n.get(&format!("/v1/records?origin=xinyang&cursor={c}"), Some(&q)).await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("bad_cursor")), "{v}");
    // A page stays stable while records are added: the next page after the cursor is the same.
    let (_, before) = n.get(&format!("/v1/records?kind=administrative_penalty&limit=3&cursor={c}"), Some(&q)).await;
    let extra = sample::penalty_draft(&uscc(999), "信市监罚〔2026〕999号", &days_ago(0).to_string(), "general");
    assert_eq!(n.post("/v1/records", Some(&n.t("submit")), &extra).await.0, 201);
    let (_, after) = n.get(&format!("/v1/records?kind=administrative_penalty&limit=3&cursor={c}"), Some(&q)).await;
    assert_eq!(ids(before["records"].as_array().unwrap()), ids(after["records"].as_array().unwrap()));
    // No token, no list.
    assert_eq!(n.get("/v1/records", None).await.0, 401);
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_the_national_columns_back_in_pages() {
    let mut n = TestNode::start().await;
    let rows = seed(&n).await;
    let q = n.t("query");
    // The OpenAPI example carrying the national block (amounts, categories, authority USCC).
    let (_, doc) = n.get("/v1/openapi.json", None).await;
    let ex = &doc["paths"]["/v1/records"]["post"]["requestBody"]["content"]["application/json"]["examples"];
    let (s, v) = n.post("/v1/records", Some(&n.t("submit")), &ex["national_penalty"]["value"]).await;
    assert_eq!(s, 201, "{v}");
    let national_id = v["id"].as_str().unwrap().to_owned();
    let (s, v) = n.post("/v1/records", Some(&n.t("submit")), &ex["national_licence"]["value"]).await;
    assert_eq!(s, 201, "{v}");

    // CSV, followed page by page through X-Credfed-Next-Cursor.
    let mut table: Vec<csv::StringRecord> = Vec::new();
    let mut header: Option<csv::StringRecord> = None;
    let mut url = "/v1/records/export?format=csv&kind=administrative_penalty&limit=15".to_owned();
    let mut pages = 0;
    loop {
        let (s, v, body, headers) = n.call_with_headers("GET", &url, Some(&q), None, "application/json").await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
        pages += 1;
        let mut r = csv::Reader::from_reader(&body[..]);
        let h = r.headers().unwrap().clone();
        assert!(header.as_ref().is_none_or(|old| *old == h), "every page has the same header");
        header = Some(h);
        table.extend(r.records().map(Result::unwrap));
        match headers.get("x-credfed-next-cursor") {
            Some(c) => {
                url = format!(
                    "/v1/records/export?format=csv&kind=administrative_penalty&limit=15&cursor={}",
                    c.to_str().unwrap()
                )
            }
            None => break,
        }
    }
    assert!(pages >= 3, "41 rows in pages of 15");
    let header = header.unwrap();
    let codes: Vec<&str> = header.iter().collect();
    assert_eq!(codes[0], "CF_WSH");
    assert!(codes.ends_with(&["credfed_id", "credfed_origin", "credfed_status"]));
    let col = |name: &str| codes.iter().position(|c| *c == name).unwrap();
    assert_eq!(table.len(), 41, "40 seeded penalties and the national example; no licence");
    let ids: BTreeSet<&str> = table.iter().map(|r| &r[col("credfed_id")]).collect();
    assert_eq!(ids.len(), 41);
    for row in &rows {
        let r = table.iter().find(|r| r[col("credfed_id")] == row.id).unwrap();
        assert_eq!(
            (&r[col("CF_WSH")], &r[col("CF_XDR_MC")], &r[col("CF_CFJG")]),
            (&row.decision_no[..], row.name, row.authority)
        );
        assert_eq!(&r[col("CF_JDRQ")], row.decided_on);
        assert_eq!(&r[col("CF_XDR_SHXYM")], uscc(100 + rows.iter().position(|x| x.id == row.id).unwrap() as u64));
        assert_eq!((&r[col("credfed_origin")], &r[col("credfed_status")]), ("xinyang", "active"));
    }
    let nat = table.iter().find(|r| r[col("credfed_id")] == national_id).unwrap();
    let nv = &ex["national_penalty"]["value"];
    assert_eq!(&nat[col("CF_NR_FK")], "0.2", "2000 元 = 0.2 万元, exactly");
    assert_eq!(&nat[col("CF_NR_WFFF")], "0.112");
    assert_eq!(&nat[col("CF_CFLB")], "罚款;没收违法所得");
    assert_eq!(&nat[col("CF_CFJGDM")], nv["national"]["authority_uscc"].as_str().unwrap());
    assert_eq!(&nat[col("CF_XDR_LB")], "法人及非法人组织");
    assert_eq!(&nat[col("CF_GSJZQ")], "2029-06-30");
    assert_eq!((&nat[col("CF_FRDB")], &nat[col("CF_FR_ZJHM")]), ("", ""), "personal information never leaves");

    // Licences in XK_* columns; NDJSON carries the same cells beside the record view.
    let (s, _, body, _) = n
        .call_with_headers("GET", "/v1/records/export?format=csv&kind=administrative_license", Some(&q), None, "")
        .await;
    assert_eq!(s, 200);
    let mut r = csv::Reader::from_reader(&body[..]);
    let h: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    let lic: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!((h[0].as_str(), lic.len()), ("XK_WSH", 1));
    let until = h.iter().position(|c| c == "XK_YXQZI").unwrap();
    assert_eq!(&lic[0][until], "2099-12-31", "a licence without end");
    let (s, _, body, _) = n.call_with_headers("GET", "/v1/records/export?format=ndjson", Some(&q), None, "").await;
    assert_eq!(s, 200);
    let lines: Vec<Value> =
        body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect();
    assert_eq!(lines.len(), 42);
    let l = lines.iter().find(|l| l["id"] == national_id.as_str()).unwrap();
    assert_eq!(l["national_columns"]["CF_NR_FK"], "0.2");

    for (url, field) in [
        ("/v1/records/export?format=csv", "kind"),
        ("/v1/records/export?format=csv&kind=credit_grade", "kind"),
        ("/v1/records/export?format=xml", "format"),
        ("/v1/records/export?format=csv&kind=administrative_penalty&limit=10001", "limit"),
    ] {
        let (s, v) = n.get(url, Some(&q)).await;
        assert_eq!((s, v["error"]["field"].as_str()), (400, Some(field)), "{url}: {v}");
    }
    n.stop().await;
}

/// The list indexes are applied beside the writer (`ingest::indexer`), so a crash can leave
/// the last records unindexed: the next start re-applies the index writes of every change
/// after the indexer's durable marker. Simulated on the stopped node's store: the index keys
/// of the last 15 records removed and the marker moved back before them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_indexes_the_records_a_crash_left_unindexed() {
    use credfed_node::state::listing;
    use credfed_node::store::{Commit, FedNs, MetaWrite};

    let mut n = TestNode::start().await;
    let rows = seed(&n).await;
    let (s, v) = n.get("/v1/records?kind=administrative_penalty&limit=500", Some(&n.t("query"))).await;
    assert_eq!((s, v["records"].as_array().unwrap().len()), (200, 40), "{v}");
    let dir = n.path();
    n.stop().await;

    let cfg = credfed_node::config::NodeConfig::load(&dir.join("node.toml")).unwrap();
    let store = credfed_node::store::open(&cfg, false).unwrap();
    let changes = store.changes(0, 1000).unwrap();
    let last = changes.last().unwrap().n;
    assert_eq!(listing::indexed(&*store).unwrap(), Some(last), "a clean stop leaves the marker at the last change");
    let lost: BTreeSet<[u8; 32]> =
        rows[25..].iter().map(|r| r.id.parse::<credfed_protocol::envelope::ObjectId>().unwrap().0).collect();
    let first_lost = changes.iter().find(|c| lost.contains(&c.id.0)).unwrap().n;
    let mut c = Commit { meta: vec![listing::indexed_write(first_lost - 1)], ..Commit::default() };
    for (k, _) in store.fed_scan(FedNs::Listing, &[], usize::MAX).unwrap() {
        if k.len() >= 32 && lost.contains::<[u8; 32]>(&k[k.len() - 32..].try_into().unwrap()) {
            c.meta.push(MetaWrite::Fed(FedNs::Listing, k, None));
        }
    }
    assert!(c.meta.len() > 15 * 5, "every lost record had its index keys: {}", c.meta.len());
    store.apply(&c).unwrap();
    store.flush().unwrap();
    drop(store);

    let node = credfed_node::start(cfg).await.unwrap();
    let base = format!("http://{}", node.api_addr());
    let (s, v) = n.get(&format!("{base}/v1/records?kind=administrative_penalty&limit=500"), Some(&n.t("query"))).await;
    assert_eq!(s, 200, "{v}");
    let got: BTreeSet<String> =
        v["records"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(got, rows.iter().map(|r| r.id.clone()).collect::<BTreeSet<_>>(), "every record listed again");
    // The name search (bigram keys) covers the re-indexed ones too.
    let (s, v) = n.get(&format!("{base}/v1/records?name=%E5%85%89%E5%B1%B1&limit=500"), Some(&n.t("query"))).await;
    assert_eq!(s, 200, "{v}");
    let want: BTreeSet<String> = rows.iter().filter(|r| r.name.contains("光山")).map(|r| r.id.clone()).collect();
    let got: BTreeSet<String> =
        v["records"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(got, want);
    node.shutdown().await;
}
