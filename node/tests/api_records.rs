//! Records, subjects, repairs, objections, corrections, withdrawals, schemes, eligibility,
//! measures, and the error contract — against a real node (sled on disk, HTTP on 127.0.0.1:0).

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_contract() {
    let mut n = TestNode::start().await;
    let submit = n.t("submit");
    // Invalid USCC: 422 invalid_uscc naming the expected check character.
    let good = uscc(1);
    let expected = good.chars().last().unwrap();
    let bad_char = if expected == '0' { '1' } else { '0' };
    let bad = format!("{}{bad_char}", &good[..17]);
    let (s, v) = n.post("/v1/records", Some(&submit), &penalty(&bad, "2026-01-05", "general")).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "invalid_uscc");
    assert_eq!(v["error"]["field"], "subject.uscc");
    assert!(v["error"]["message"].as_str().unwrap().contains(&format!("'{expected}'")), "{v}");
    // Malformed JSON → 400.
    let (s, v, _) =
        n.call("POST", "/v1/records", Some(&submit), Some(b"{\"kind\":".to_vec()), "application/json").await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("malformed_json")));
    // Unknown field → 400 naming it.
    let mut p = penalty(&good, "2026-01-05", "general");
    p["colour"] = json!("red");
    let (s, v) = n.post("/v1/records", Some(&submit), &p).await;
    assert_eq!(s, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("colour"));
    // Missing severity for a penalty → 422 with the field.
    let mut p = penalty(&good, "2026-01-05", "general");
    p.as_object_mut().unwrap().remove("severity");
    let (s, v) = n.post("/v1/records", Some(&submit), &p).await;
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("severity")), "{v}");
    // No token → 401; wrong token → 401; query token on submit → 403; admin on query → 403.
    let (s, _) = n.post("/v1/records", None, &penalty(&good, "2026-01-05", "general")).await;
    assert_eq!(s, 401);
    let (s, _) = n.post("/v1/records", Some("cft_nope"), &penalty(&good, "2026-01-05", "general")).await;
    assert_eq!(s, 401);
    let (s, v) = n.post("/v1/records", Some(&n.t("query")), &penalty(&good, "2026-01-05", "general")).await;
    assert_eq!((s, v["error"]["code"].as_str()), (403, Some("forbidden")));
    let (s, _) = n.get(&format!("/v1/subjects/{good}/records"), Some(&n.t("admin"))).await;
    assert_eq!(s, 403);
    // Body over the cap → 413; unknown route → 404; wrong method → 405.
    let (s, _, _) =
        n.call("POST", "/v1/records", Some(&submit), Some(vec![b' '; 300 * 1024]), "application/json").await;
    assert_eq!(s, 413);
    let (s, _) = n.get("/v1/nothing", None).await;
    assert_eq!(s, 404);
    let (s, _, _) = n.call("DELETE", "/v1/records", Some(&submit), None, "application/json").await;
    assert_eq!(s, 405);
    // Future decision date → 422.
    let (s, v) = n.post("/v1/records", Some(&submit), &penalty(&good, "2099-01-01", "general")).await;
    assert_eq!((s, v["error"]["code"].as_str()), (422, Some("date_after_signing")), "{v}");
    // Garbage envelope → 400; wrong content type → 415.
    let (s, _, _) = n.call("POST", "/v1/envelopes", Some(&submit), Some(vec![0x83, 1, 2]), "application/cbor").await;
    assert_eq!(s, 400);
    let (s, _, _) = n.call("POST", "/v1/envelopes", Some(&submit), Some(vec![0x80]), "application/json").await;
    assert_eq!(s, 415);
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_lifecycle_and_visibility() {
    let mut n = TestNode::start().await;
    let (submit, query, audit) = (n.t("submit"), n.t("query"), n.t("audit"));
    // A recent general penalty: repair before 3 months → 422 with the earliest date.
    let recent = days_ago(10);
    let u1 = uscc(11);
    let (s, v) = n.post("/v1/records", Some(&submit), &penalty(&u1, &recent.to_string(), "general")).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["origin"], "xinyang");
    assert!(v["seq"].as_u64().unwrap() >= 3, "delegations come first in the own feed");
    let id1 = v["id"].as_str().unwrap().to_string();
    let today = days_ago(0).to_string();
    let (s, v) = n
        .post(&format!("/v1/records/{id1}/repair"), Some(&submit), &json!({"repaired_on": today, "basis": "已履行"}))
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "min_publicity_not_elapsed");
    // The rule table decides the period (market_regulation follows SAMR Order 45); the answer
    // names the earliest date both as a field and in the message.
    let earliest: credfed_protocol::Day = v["error"]["earliest"].as_str().unwrap().parse().unwrap();
    assert!(earliest > days_ago(0) && earliest >= recent.add_months(3), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains(&earliest.to_string()), "{v}");

    // An old one (2025-01-05, general → min 3 months): repair succeeds, body hidden from query.
    let u2 = uscc(12);
    let (s, v) = n.post("/v1/records", Some(&submit), &penalty(&u2, "2025-01-05", "general")).await;
    assert_eq!(s, 201, "{v}");
    let id2 = v["id"].as_str().unwrap().to_string();
    let (s, v) = n.get(&format!("/v1/records/{id2}"), Some(&query)).await;
    assert_eq!(s, 200);
    assert!(v["record"].is_object(), "{v}");
    assert_eq!(v["jurisdiction"], "same", "411500 subject of xinyang: {v}");
    let (s, v) = n
        .post(&format!("/v1/records/{id2}/repair"), Some(&submit), &json!({"repaired_on": today, "basis": "已履行"}))
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = n.get(&format!("/v1/records/{id2}"), Some(&query)).await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "repaired", "{v}");
    assert!(v.get("record").is_none() && v.get("envelope_hex").is_none(), "query sees no body: {v}");
    assert!(v["rule"].is_object());
    let (_, v) = n.get(&format!("/v1/records/{id2}"), Some(&audit)).await;
    assert!(v["record"]["facts"].is_string() && v["envelope_hex"].is_string(), "audit sees the body: {v}");
    // As of before the repair it was active and visible.
    let (_, v) = n.get(&format!("/v1/records/{id2}?as_of=2025-02-01"), Some(&query)).await;
    assert_eq!(v["status"], "active", "{v}");
    assert!(v["record"].is_object());
    // Second repair → 409.
    let (s, _) =
        n.post(&format!("/v1/records/{id2}/repair"), Some(&submit), &json!({"repaired_on": today, "basis": "x"})).await;
    assert!(s == 409 || s == 422, "{s}");

    // Objection + resolution, withdrawal, correction on the recent record.
    let (s, v) = n
        .post(
            &format!("/v1/records/{id1}/objections"),
            Some(&submit),
            &json!({"ground": "inaccurate", "statement": "金额有误", "filed_on": today}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let obj = v["id"].as_str().unwrap().to_string();
    let (_, v) = n.get(&format!("/v1/records/{id1}"), Some(&query)).await;
    assert_eq!(v["status"], "under_objection", "{v}");
    let (s, v) = n
        .post(
            &format!("/v1/objections/{obj}/resolution"),
            Some(&submit),
            &json!({"outcome": "rejected", "reason": "核实无误", "resolved_on": today}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (_, v) = n.get(&format!("/v1/records/{id1}"), Some(&query)).await;
    assert_eq!(v["status"], "active", "{v}");
    assert!(v["history"].as_array().unwrap().len() >= 2, "{v}");
    let mut corrected = penalty(&u1, &recent.to_string(), "serious");
    corrected["facts"] = json!("更正后的事实");
    let (s, v) = n
        .post(
            &format!("/v1/records/{id1}/correction"),
            Some(&submit),
            &json!({"corrected_on": today, "reason": "笔误", "record": corrected}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id3 = v["id"].as_str().unwrap().to_string();
    let (_, v) = n.get(&format!("/v1/records/{id1}"), Some(&query)).await;
    assert_eq!(v["status"], "superseded", "{v}");
    let mut other = penalty(&uscc(99), &recent.to_string(), "general");
    other["facts"] = json!("x");
    let (s, v) = n
        .post(
            &format!("/v1/records/{id3}/correction"),
            Some(&submit),
            &json!({"corrected_on": today, "reason": "x", "record": other}),
        )
        .await;
    assert_eq!((s, v["error"]["code"].as_str()), (422, Some("correction_changes_subject")), "{v}");
    let (s, v) = n
        .post(
            &format!("/v1/records/{id3}/withdrawal"),
            Some(&submit),
            &json!({"withdrawn_on": today, "reason": "撤销"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (_, v) = n.get(&format!("/v1/records/{id3}"), Some(&query)).await;
    assert_eq!(v["status"], "withdrawn", "{v}");
    // Unknown record → 404.
    let (s, _) = n
        .post(
            &format!("/v1/records/{}/repair", "00".repeat(32)),
            Some(&submit),
            &json!({"repaired_on": today, "basis": "x"}),
        )
        .await;
    assert_eq!(s, 404);
    // The subject lists both versions.
    let (s, v) = n.get(&format!("/v1/subjects/{u1}/records"), Some(&query)).await;
    assert_eq!(s, 200);
    assert_eq!(v["records"].as_array().unwrap().len(), 2, "{v}");
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelopes_are_idempotent_and_schemes_decide_eligibility() {
    let mut n = TestNode::start().await;
    let (submit, query) = (n.t("submit"), n.t("query"));
    let u = uscc(21);
    let env = signed_record(&n.authority_key(), "xinyang", &u, days_ago(5), now());
    let (s1, v1, _) = n.call("POST", "/v1/envelopes", Some(&submit), Some(env.clone()), "application/cbor").await;
    let (s2, v2, _) = n.call("POST", "/v1/envelopes", Some(&submit), Some(env.clone()), "application/cbor").await;
    assert_eq!((s1, s2), (201, 200), "{v1} {v2}");
    assert_eq!(v1, v2, "same body for a duplicate");
    let (_, v) = n.get(&format!("/v1/subjects/{u}/records"), Some(&query)).await;
    assert_eq!(v["records"].as_array().unwrap().len(), 1, "one object: {v}");
    // Another region's envelope signed by our key is refused (not delegated there / unpinned).
    let foreign = signed_record(&n.authority_key(), "suzhou", &u, days_ago(5), now());
    let (s, v, _) = n.call("POST", "/v1/envelopes", Some(&submit), Some(foreign), "application/cbor").await;
    assert_eq!((s, v["error"]["code"].as_str()), (422, Some("unpinned_region")), "{v}");

    let scheme = json!({"code": "xinyiyou_2026", "name": "信易游", "benefit": "景区门票优惠",
        "recognised_regions": ["xinyang"], "disqualifying": [{"kind": "administrative_penalty", "severity": "general"}],
        "valid_from": "2025-01-01", "valid_until": "2030-12-31"});
    let (s, v) = n.post("/v1/schemes", Some(&submit), &scheme).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = n.get("/v1/schemes", Some(&query)).await;
    assert_eq!((s, v["schemes"][0]["code"].as_str()), (200, Some("xinyiyou_2026")));
    let (s, v) = n.get(&format!("/v1/subjects/{u}/eligibility?scheme=xinyiyou_2026"), Some(&query)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["eligible"], false, "{v}");
    assert_eq!(v["reasons"][0]["record"], v1["id"], "{v}");
    let (_, v) = n.get(&format!("/v1/subjects/{}/eligibility?scheme=xinyiyou_2026", uscc(22)), Some(&query)).await;
    assert_eq!(v["eligible"], true, "{v}");
    let (s, _) = n.get(&format!("/v1/subjects/{u}/eligibility?scheme=nope"), Some(&query)).await;
    assert_eq!(s, 404);
    // Measure applied because of the record.
    let m = json!({"target": v1["id"], "subject": {"uscc": u}, "measure": "限制参与政府采购", "applied_on": days_ago(0).to_string()});
    let (s, v) = n.post("/v1/measures", Some(&submit), &m).await;
    assert_eq!(s, 201, "{v}");
    let (_, v) = n.get(&format!("/v1/records/{}", v1["id"].as_str().unwrap()), Some(&query)).await;
    assert_eq!(v["measures"].as_array().unwrap().len(), 1, "{v}");
    // A person subject by resident ID (digest computed with the federation secret).
    let mut p = penalty(&u, "2026-01-05", "general");
    p["subject"] = json!({"resident_id": "11010519491231002X"});
    p.as_object_mut().unwrap().remove("subject_name");
    p["kind"] = json!("judicial_enforcement");
    p.as_object_mut().unwrap().remove("severity");
    let (s, v) = n.post("/v1/records", Some(&submit), &p).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = n.get("/v1/subjects/11010519491231002X/records", Some(&query)).await;
    assert_eq!((s, v["records"].as_array().map(Vec::len)), (200, Some(1)), "{v}");
    assert!(v["records"][0]["subject"]["person_digest"].is_string());
    n.stop().await;
}
