//! Records carrying the national 双公示 block, over real HTTP: the OpenAPI examples are accepted
//! and read back (amounts in 分 and 元, the department's publicity end beside the rules', the
//! legal representative as a digest only), and bad national fields are refused naming the field.

mod common;

use common::*;
use serde_json::{json, Value};

/// The `POST /v1/records` examples the node publishes in its OpenAPI document.
async fn examples(n: &TestNode) -> (Value, Value) {
    let (s, doc) = n.get("/v1/openapi.json", None).await;
    assert_eq!(s, 200);
    let ex = &doc["paths"]["/v1/records"]["post"]["requestBody"]["content"]["application/json"]["examples"];
    (ex["national_penalty"]["value"].clone(), ex["national_licence"]["value"].clone())
}

async fn submit(n: &TestNode, draft: &Value) -> String {
    let (s, v) = n.post("/v1/records", Some(&n.t("submit")), draft).await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().unwrap().to_string()
}

async fn refused(n: &TestNode, draft: &Value) -> (u16, String, String) {
    let (s, v) = n.post("/v1/records", Some(&n.t("submit")), draft).await;
    let field = v["error"]["field"].as_str().unwrap_or_default().to_string();
    (s, v["error"]["code"].as_str().unwrap_or_default().to_string(), field)
}

/// The property names the OpenAPI RecordView gives an object of the national view.
fn documented(doc: &Value, part: &str) -> Vec<String> {
    let national = &doc["components"]["schemas"]["RecordView"]["properties"]["record"]["properties"]["national"];
    let props = if part.is_empty() { &national["properties"] } else { &national["properties"][part]["properties"] };
    props.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn national_penalty_and_licence_round_trip() {
    let mut n = TestNode::start().await;
    let (query, audit) = (n.t("query"), n.t("audit"));
    let (penalty, licence) = examples(&n).await;
    let (_, doc) = n.get("/v1/openapi.json", None).await;

    // The penalty: exact amounts, mapped categories, the department's end governs (later).
    let id = submit(&n, &penalty).await;
    let (s, v) = n.get(&format!("/v1/records/{id}"), Some(&query)).await;
    assert_eq!(s, 200, "{v}");
    let nat = &v["record"]["national"];
    assert_eq!(nat["subject_category"], "legal_entity");
    assert_eq!(nat["subject_category_name"], "法人及非法人组织");
    assert_eq!(nat["authority_uscc"], "11411500MB0C12344W");
    let p = &nat["penalty"];
    assert_eq!((p["fine_fen"].as_u64(), p["fine_yuan"].as_str()), (Some(200_000), Some("2000.00")), "{p}");
    assert_eq!((p["confiscated_fen"].as_u64(), p["confiscated_yuan"].as_str()), (Some(112_000), Some("1120.00")));
    assert_eq!(p["categories"], json!(["罚款", "没收违法所得"]));
    assert_eq!(p["category_penalty_types"][1], json!({ "category": "没收违法所得", "penalty_type": "confiscation" }));
    assert_eq!(v["record"]["penalty_types"], json!(["fine", "confiscation"]), "derived from CF_CFLB");
    // SAMR Order 45: 36 months from the (estimated) publication 2026-01-05; CF_GSJZQ 2029-06-30 is later.
    let end = &v["publicity_end"];
    assert_eq!(end["rule_until"], "2029-01-05", "{end}");
    assert_eq!(end["department_until"], "2029-06-30");
    assert_eq!((end["governs"].as_str(), end["ends_on"].as_str()), (Some("department"), Some("2029-07-01")));
    let (_, later) = n.get(&format!("/v1/records/{id}?as_of=2029-03-01"), Some(&query)).await;
    assert_eq!(later["status"], "active", "past the rules' end, before the department's: {later}");
    let (_, ended) = n.get(&format!("/v1/records/{id}?as_of=2029-07-01"), Some(&query)).await;
    assert_eq!(
        (ended["status"].as_str(), ended["rule"]["rule_id"].as_str()),
        (Some("expired"), Some("publicity_until"))
    );
    // The legal representative: a digest, never the name or the number, not even in the envelope.
    let rep = &nat["legal_representative"];
    assert_eq!(rep["id_type"], "身份证");
    assert_eq!(rep["id_digest"].as_str().unwrap().len(), 64, "{rep}");
    let (_, a) = n.get(&format!("/v1/records/{id}"), Some(&audit)).await;
    let text = a.to_string();
    for secret in ["张三", "11010519491231002X"] {
        assert!(!text.contains(secret), "{secret} leaked into the view");
        assert!(!a["envelope_hex"].as_str().unwrap().contains(&hex::encode(secret)), "{secret} in the envelope");
    }
    // Every field the view shows is in the OpenAPI RecordView.
    for (part, obj) in [("", nat), ("penalty", p), ("legal_representative", rep)] {
        let known = documented(&doc, part);
        for k in obj.as_object().unwrap().keys() {
            assert!(known.contains(k), "national {part}.{k} is not in RecordView");
        }
    }

    // The licence: category code 01, XK_YXQZI 2099-12-31 means no end.
    let id = submit(&n, &licence).await;
    let (_, v) = n.get(&format!("/v1/records/{id}"), Some(&query)).await;
    let l = &v["record"]["national"]["licence"];
    assert_eq!((l["category"].as_str(), l["category_name"].as_str()), (Some("ordinary"), Some("普通")), "{v}");
    assert_eq!((l["source_status"].as_str(), l["source_status_code"].as_str()), (Some("valid"), Some("1")));
    assert!(v["record"].get("valid_until").is_none(), "no end: {v}");
    assert_eq!(v["status"], "active");
    for k in l.as_object().unwrap().keys() {
        assert!(documented(&doc, "licence").contains(k), "licence.{k} is not in RecordView");
    }
    // XK_ZT 2: invalid at the source, shown as expired since the decision.
    let mut invalid = licence.clone();
    invalid["decision_no"] = json!("豫食许〔2026〕411502-0102号");
    invalid["national"]["licence"]["source_status"] = json!("2");
    invalid["valid_until"] = json!("2031-01-04");
    let id = submit(&n, &invalid).await;
    let (_, v) = n.get(&format!("/v1/records/{id}"), Some(&audit)).await;
    assert_eq!((v["status"].as_str(), v["rule"]["rule_id"].as_str()), (Some("expired"), Some("source_status")), "{v}");
    assert_eq!(v["record"]["valid_until"], "2031-01-04");

    // A 个体工商户 without a USCC, by registration number, found by its subject key.
    let mut ib = penalty.clone();
    ib["subject"] = json!({ "registration_no": "411502600123456" });
    ib["subject_name"] = json!("信阳市浉河区某某便利店");
    ib["national"]["subject_category"] = json!("individual_business");
    ib["national"]["penalty"]["categories"] = json!(["警告；罚款"]);
    let id = submit(&n, &ib).await;
    let (s, v) = n.get("/v1/subjects/regno:411502600123456/records", Some(&query)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["subject"], json!({ "registration_no": "411502600123456" }));
    let rec = &v["records"][0];
    assert_eq!(rec["id"], id.as_str());
    assert_eq!(rec["record"]["national"]["penalty"]["categories"], json!(["警告", "罚款"]), "split on ；");
    assert_eq!(rec["record"]["penalty_types"], json!(["warning", "fine"]));
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_national_fields_are_refused_naming_the_field() {
    let mut n = TestNode::start().await;
    let (penalty, licence) = examples(&n).await;
    let with = |base: &Value, f: &dyn Fn(&mut Value)| {
        let mut d = base.clone();
        f(&mut d);
        d
    };
    let unprocessable = |code: &str, field: &str| (422u16, code.to_string(), field.to_string());
    for bad in ["2000元", "-1", "1e3", "0.0000001", ""] {
        let d = with(&penalty, &|d| d["national"]["penalty"]["fine_amount"] = json!(bad));
        assert_eq!(refused(&n, &d).await, unprocessable("bad_amount", "national.penalty.fine_amount"), "{bad}");
    }
    let d = with(&penalty, &|d| d["national"]["penalty"]["confiscated_amount"] = json!("0.05元"));
    assert_eq!(refused(&n, &d).await, unprocessable("bad_amount", "national.penalty.confiscated_amount"));
    let d = with(&penalty, &|d| d["national"]["authority_uscc"] = json!("11411500MB0C123440"));
    assert_eq!(refused(&n, &d).await, unprocessable("invalid_uscc", "national.authority_uscc"));
    // CF_CFJGDM may be absent on a penalty; XK_XKJGDM is required on a licence.
    let d = with(&penalty, &|d| {
        d["national"].as_object_mut().unwrap().remove("authority_uscc");
        d["decision_no"] = json!("信市监罚〔2026〕无机关代码号");
    });
    let (s, v) = n.post("/v1/records", Some(&n.t("submit")), &d).await;
    assert_eq!(s, 201, "{v}");
    let d = with(&licence, &|d| {
        d["national"].as_object_mut().unwrap().remove("authority_uscc");
    });
    assert_eq!(refused(&n, &d).await, unprocessable("missing_field", "national.authority_uscc"));
    let d = with(&penalty, &|d| d["national"]["source_unit_uscc"] = json!("11411500MB0C123440"));
    assert_eq!(refused(&n, &d).await, unprocessable("invalid_uscc", "national.source_unit_uscc"));
    let d = with(&penalty, &|d| d["national"]["penalty"]["categories"] = json!(["罚金"]));
    assert_eq!(refused(&n, &d).await, unprocessable("invalid_field", "national.penalty.categories"));
    let d = with(&penalty, &|d| d["national"]["penalty"]["categories"] = json!([]));
    assert_eq!(refused(&n, &d).await, unprocessable("missing_field", "national.penalty.categories"));
    let d = with(&penalty, &|d| d["national"]["penalty"].as_object_mut().unwrap().clear());
    assert_eq!(refused(&n, &d).await, unprocessable("missing_field", "national.penalty.categories"));
    let d = with(&penalty, &|d| d["penalty_types"] = json!(["warning"]));
    assert_eq!(refused(&n, &d).await, unprocessable("invalid_field", "penalty_types"));
    let d = with(&penalty, &|d| d["national"]["publicity_until"] = json!("2025-12-31"));
    assert_eq!(refused(&n, &d).await, unprocessable("invalid_field", "national.publicity_until"));
    let d = with(&penalty, &|d| {
        d["national"]["legal_representative"] =
            json!({ "name": "张三", "id_type": "身份证", "id_no": "110105194912310021" })
    });
    assert_eq!(refused(&n, &d).await, unprocessable("invalid_resident_id", "national.legal_representative.id_no"));
    let d = with(&penalty, &|d| d["national"]["subject_category"] = json!("natural_person"));
    assert_eq!(refused(&n, &d).await, unprocessable("invalid_field", "national.subject_category"));
    let d = with(&penalty, &|d| {
        d["national"].as_object_mut().unwrap().remove("penalty");
    });
    assert_eq!(refused(&n, &d).await, unprocessable("missing_field", "national.penalty"));
    let d = with(&penalty, &|d| d["subject"] = json!({ "registration_no": "411502600123456" }));
    assert_eq!(refused(&n, &d).await, unprocessable("invalid_field", "national.subject_category"));
    let d = with(&penalty, &|d| {
        d["subject"] = json!({ "registration_no": "411502600123456" });
        d.as_object_mut().unwrap().remove("national");
        d["penalty_types"] = json!(["fine"]);
    });
    assert_eq!(refused(&n, &d).await, unprocessable("field_not_allowed", "subject"));
    let d = with(&penalty, &|d| d["subject"] = json!({ "registration_no": "91411502MA45TQ8N1C" }));
    assert_eq!(refused(&n, &d).await, unprocessable("invalid_registration_no", "subject.registration_no"));
    let d = with(&licence, &|d| d["national"]["licence"]["category"] = json!("07"));
    assert_eq!(refused(&n, &d).await, unprocessable("invalid_field", "national.licence.category"));
    let d = with(&licence, &|d| d["national"]["licence"]["source_status"] = json!("3"));
    assert_eq!(refused(&n, &d).await, unprocessable("invalid_field", "national.licence.source_status"));
    let d = with(&licence, &|d| d["national"]["publicity_until"] = json!("2027-01-01"));
    assert_eq!(refused(&n, &d).await, unprocessable("field_not_allowed", "national.publicity_until"));
    // Unknown fields are still refused, at every level of the block.
    for path in [&["national"][..], &["national", "penalty"], &["national", "legal_representative"]] {
        let d = with(&penalty, &|d| {
            let mut at = &mut *d;
            for p in path {
                at = &mut at[*p];
            }
            at["bz"] = json!("备注");
        });
        let (s, v) = n.post("/v1/records", Some(&n.t("submit")), &d).await;
        assert_eq!((s, v["error"]["code"].as_str()), (400, Some("invalid_request")), "{path:?}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("bz"), "{v}");
    }
    // A correction names the field under record.
    let id = submit(&n, &penalty).await;
    let mut record = penalty.clone();
    record["national"]["penalty"]["fine_amount"] = json!("0.2.0");
    let c = json!({ "corrected_on": "2026-01-06", "reason": "金额有误", "record": record });
    let (s, v) = n.post(&format!("/v1/records/{id}/correction"), Some(&n.t("submit")), &c).await;
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("record.national.penalty.fine_amount")), "{v}");
    n.stop().await;
}
