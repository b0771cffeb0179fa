//! The federation's basic promises, with three real in-process cities over libp2p on loopback
//! (DESIGN §2, §4; RELIABILITY F6):
//! * a penalty published at Xinyang is queryable at Suzhou and Lu'an within 10 s, signed by a
//!   key Xinyang's root delegated;
//! * Xinyang's repair reaches every city within 10 s, and every other region answers with a
//!   receipt that Xinyang's record view lists;
//! * only the origin may repair: Suzhou's attempt is refused with a rule code, audited, and
//!   changes nothing anywhere; forged envelopes posted over HTTP are refused by every node.

use std::time::{Duration, Instant};

use credfed_protocol::keys::PublicKey;
use credfed_protocol::objects::{self, Body};
use credfed_protocol::{Classification, Role};
use credfed_tests::{days_ago, envelope_id, fresh_key, record_envelope, today, uscc, wait_until, Run, TestNet};
use serde_json::Value;

const SYNC_MS: u64 = 500;

/// `true` when `region` answers the subject query with `id` in `status`.
async fn has_status(net: &TestNet, region: &str, subject: &str, id: &str, status: &str) -> bool {
    net.subject(region, subject)
        .await
        .map(|rs| rs.iter().any(|r| r["id"].as_str() == Some(id) && r["status"].as_str() == Some(status)))
        .unwrap_or(false)
}

/// The signer of `envelope` is an authority key that `region`'s root delegated (checked
/// against the anchor the partners pinned: delegation signed by the root, role authority).
fn delegated_authority(net: &TestNet, region: &str, signer: &PublicKey) -> bool {
    let anchor = &net.city(region).anchor;
    let root: PublicKey = anchor.root_key.parse().expect("root key");
    anchor.delegations.iter().any(|h| {
        let Ok(d) = objects::open(&hex::decode(h).expect("hex")) else { return false };
        d.signer() == root
            && matches!(&d.body, Body::Delegation(b)
                if &b.key == signer && b.role == Role::Authority && b.region.as_str() == region)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn penalty_reaches_every_city_signed_by_a_xinyang_authority() -> anyhow::Result<()> {
    let mut net = TestNet::new(3, SYNC_MS).await?;
    net.start_all(Run::InProcess).await?;
    let subject = uscc("411500", 1);
    let id = net.submit_penalty("xinyang", &subject, "general", days_ago(30), "public", "超标排放大气污染物").await?;
    let t0 = Instant::now();
    for region in ["suzhou", "luan"] {
        let left = Duration::from_secs(10).saturating_sub(t0.elapsed());
        wait_until(left, &format!("{region} returns the penalty as active"), || {
            has_status(&net, region, &subject, &id, "active")
        })
        .await?;
    }
    println!("penalty visible at suzhou and luan after {:?}", t0.elapsed());

    let r = net.record("suzhou", &id, "audit").await?;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json["origin"], "xinyang");
    let env = hex::decode(r.json["envelope_hex"].as_str().expect("audit view carries envelope_hex"))?;
    let obj = objects::open(&env)?;
    assert_eq!(obj.id().to_hex(), id, "the envelope Suzhou holds hashes to the id Xinyang issued");
    assert_eq!(obj.body.region().as_str(), "xinyang");
    assert_eq!(r.json["signer"].as_str(), Some(obj.signer().to_hex().as_str()));
    assert!(delegated_authority(&net, "xinyang", &obj.signer()), "signer is not a Xinyang-delegated authority key");
    assert!(!delegated_authority(&net, "suzhou", &obj.signer()));
    net.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_reaches_every_city_and_each_answers_with_a_receipt() -> anyhow::Result<()> {
    let mut net = TestNet::new(3, SYNC_MS).await?;
    net.start_all(Run::InProcess).await?;
    let subject = uscc("411500", 2);
    // General severity, ecology sector, decided ~7 months ago: past the 3-month minimum
    // publicity period and inside the 12-month maximum (rules-builtin regime 2026, R3.10).
    let id = net.submit_penalty("xinyang", &subject, "general", days_ago(210), "public", "未批先建").await?;
    for region in net.regions() {
        wait_until(Duration::from_secs(10), "penalty active everywhere", || {
            has_status(&net, &region, &subject, &id, "active")
        })
        .await?;
    }
    let r = net.repair("xinyang", &id, today()).await?;
    assert_eq!(r.status, 201, "repair at the origin: {}", r.text());
    let repair_id = r.json["id"].as_str().expect("repair id").to_owned();
    let t0 = Instant::now();
    for region in net.regions() {
        let left = Duration::from_secs(10).saturating_sub(t0.elapsed());
        wait_until(left, &format!("{region} shows the record repaired"), || async {
            let r = net.record(&region, &id, "query").await;
            r.is_ok_and(|r| r.json["status"] == "repaired")
        })
        .await?;
    }
    println!("repair applied everywhere after {:?}", t0.elapsed());

    // Xinyang's record view: one receipt per other region for this repair.
    wait_until(Duration::from_secs(10), "receipts from suzhou and luan at xinyang", || async {
        let Ok(r) = net.record("xinyang", &id, "query").await else { return false };
        let regions = receipt_regions(&r.json, &repair_id);
        regions.contains(&"suzhou".to_string()) && regions.contains(&"luan".to_string())
    })
    .await?;
    let view = net.record("xinyang", &id, "query").await?.json;
    let action = view["applied_by"].as_array().and_then(|a| a.iter().find(|x| x["action"] == repair_id.as_str()));
    let action = action.expect("applied_by lists the repair");
    assert_eq!(action["type"], "repair");
    assert_eq!(action["missing"].as_array().map(Vec::len), Some(0), "{action}");
    let mut regions = receipt_regions(&view, &repair_id);
    regions.sort();
    assert_eq!(regions, ["luan", "suzhou"], "exactly one receipt per other region: {action}");
    // Each receipt is a signed object of its region, held at the origin.
    for rc in action["receipts"].as_array().into_iter().flatten() {
        let o = net.object("xinyang", rc["receipt"].as_str().expect("receipt id")).await?;
        assert_eq!(o.status, 200);
        let obj = objects::open(&hex::decode(o.json["envelope_hex"].as_str().expect("hex"))?)?;
        assert_eq!(obj.body.region().as_str(), rc["region"].as_str().expect("region"));
        assert!(matches!(&obj.body, Body::Receipt(b) if b.target.to_hex() == repair_id));
    }
    net.shutdown().await;
    Ok(())
}

fn receipt_regions(view: &Value, action: &str) -> Vec<String> {
    view["applied_by"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["action"] == action)
        .flat_map(|a| a["receipts"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r["region"].as_str().map(String::from))
        .collect()
}

/// `rejected` audit events of `region` with `code`.
async fn rejections(net: &TestNet, region: &str, code: &str) -> anyhow::Result<Vec<Value>> {
    Ok(net.audit_events(region).await?.into_iter().filter(|e| e["rejected"]["code"] == code).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_origin_repairs_and_forged_envelopes_are_refused_over_http() -> anyhow::Result<()> {
    let mut net = TestNet::new(3, SYNC_MS).await?;
    net.start_all(Run::InProcess).await?;
    let subject = uscc("411500", 3);
    let id = net.submit_penalty("xinyang", &subject, "general", days_ago(210), "public", "未批先建").await?;
    for region in net.regions() {
        wait_until(Duration::from_secs(10), "penalty active everywhere", || {
            has_status(&net, &region, &subject, &id, "active")
        })
        .await?;
    }
    let suzhou_head_before = net.feeds("suzhou").await?.get("suzhou").copied();

    // Suzhou repairs Xinyang's record: a rule violation (not_origin), not a transport error.
    let r = net.repair("suzhou", &id, today()).await?;
    assert!(r.status == 403 || r.status == 422, "non-origin repair: {} {}", r.status, r.text());
    let code = r.json["error"]["code"].as_str().expect("an error code").to_owned();
    assert_eq!(code, "not_origin", "{}", r.text());
    let audited = rejections(&net, "suzhou", &code).await?;
    assert_eq!(audited.len(), 1, "Suzhou audits the refusal once: {audited:?}");
    assert!(audited[0]["rejected"]["source"]["http"].is_object(), "{audited:?}");
    assert_eq!(net.feeds("suzhou").await?.get("suzhou").copied(), suzhou_head_before, "nothing entered Suzhou's feed");

    // A later Suzhou record reaching everyone proves a sync round passed since the attempt.
    let marker = net.submit_penalty("suzhou", &uscc("320500", 3), "general", days_ago(30), "public", "marker").await?;
    net.wait_converged(Duration::from_secs(10)).await?;
    for region in net.regions() {
        assert_eq!(net.object(&region, &marker).await?.status, 200, "marker at {region}");
        let v = net.record(&region, &id, "query").await?.json;
        assert_eq!(v["status"], "active", "record at {region} after the refused repair: {v}");
        assert_eq!(v["history"].as_array().map(Vec::len).unwrap_or(0), 0, "no repair in the history at {region}: {v}");
    }

    // Forged envelopes over HTTP, at every node:
    // (a) a valid signature by a key no root delegated, for the node's own region;
    // (b) a Suzhou authority key signing a Xinyang record.
    let rogue = fresh_key();
    let suzhou_authority = credfed_node::keyfile::read_key(&net.city("suzhou").dir.join("keys/authority-1.key"))?;
    let forged_b = record_envelope(&suzhou_authority, "xinyang", &subject, Classification::Public, "forged b");
    let mut forged_ids = vec![envelope_id(&forged_b)];
    for region in net.regions() {
        let forged_a = record_envelope(&rogue, &region, &subject, Classification::Public, "forged a");
        forged_ids.push(envelope_id(&forged_a));
        for (what, env) in [("a", forged_a.clone()), ("b", forged_b.clone())] {
            let url = net.url(&region, "/v1/envelopes");
            let tok = net.token(&region, "submit");
            let r = net.http.call("POST", &url, Some(&tok), Some(("application/cbor", env))).await?;
            assert!(r.status == 403 || r.status == 422, "forgery {what} at {region}: {} {}", r.status, r.text());
            let code = r.json["error"]["code"].as_str().unwrap_or_default().to_owned();
            assert!(
                ["not_delegated", "foreign_region"].contains(&code.as_str()),
                "forgery {what} at {region} refused with {code}"
            );
            // `foreign_region` refusals are audited without waiting for the flush: poll.
            wait_until(Duration::from_secs(5), &format!("{code} refusal audited at {region}"), || async {
                rejections(&net, &region, &code).await.is_ok_and(|v| !v.is_empty())
            })
            .await?;
        }
    }
    for region in net.regions() {
        for f in &forged_ids {
            assert_eq!(net.object(&region, f).await?.status, 404, "forged {f} stored at {region}");
        }
        let held = net.subject(&region, &subject).await?;
        assert_eq!(held.len(), 1, "only the genuine record about the subject at {region}: {held:?}");
    }
    net.shutdown().await;
    Ok(())
}
