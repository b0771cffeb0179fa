//! RELIABILITY F9 `key_revocation`: Xinyang's administrator revokes a compromised authority key
//! with `credfed-admin revoke` (offline) and `records submit` (online). Measured: the time until
//! every node holds the revocation. Then Xinyang's own node stops signing with the key, and a
//! thief holding the authority key *and* Xinyang's node key (Xinyang stopped) pushes two fresh
//! records in correctly chained feed entries — one backdated before `revoked_from`, one after;
//! every node refuses both (`revoked_unwitnessed`, `key_revoked`) and stores neither. Records
//! the key signed before the revocation keep their status everywhere.

use std::time::{Duration, Instant};

use credfed_protocol::envelope::Envelope;
use credfed_protocol::Classification;
use credfed_tests::net::{Run, TestNet};
use credfed_tests::rogue::{Rogue, ScriptedApp};
use credfed_tests::{days_ago, envelope_id, now, record_envelope_at, uscc, wait_until};

const SYNC_MS: u64 = 300;

fn admin(args: &[&str]) -> anyhow::Result<String> {
    let o = credfed_tests::admin(args);
    anyhow::ensure!(
        o.status.success(),
        "credfed-admin {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_key_is_refused_everywhere_and_earlier_records_stand() -> anyhow::Result<()> {
    let mut net = TestNet::new(3, SYNC_MS).await?;
    net.start_all(Run::Process).await?;
    let regions = ["xinyang", "suzhou", "luan"];
    let earlier = net.submit_penalty("xinyang", &uscc("411500", 9900), "general", days_ago(30), "public", "f9").await?;
    net.wait_converged(Duration::from_secs(20)).await?;
    let mut status = Vec::new();
    for r in regions {
        status.push(net.record(r, &earlier, "query").await?.json["status"].clone());
    }

    // The ceremony: revoke authority-1 from now, submit the revocation at Xinyang.
    let dir = net.city("xinyang").dir.clone();
    let authority = net.key("xinyang", "authority-1.key");
    let revoked_from = now();
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join("revoke.cbor");
    admin(&[
        "revoke",
        "--root-key",
        &dir.join("keys/root.key").to_string_lossy(),
        "--region",
        "xinyang",
        "--key",
        &authority.public().to_hex(),
        "--from",
        &revoked_from.to_string(),
        "--reason",
        "key_compromise",
        "--out",
        &file.to_string_lossy(),
    ])?;
    let revocation = envelope_id(&std::fs::read(&file)?);
    let t0 = Instant::now();
    admin(&[
        "--json",
        "--node",
        &net.url("xinyang", ""),
        "--token",
        &net.token("xinyang", "submit"),
        "records",
        "submit",
        &file.to_string_lossy(),
    ])?;
    let mut propagation = Vec::new();
    for r in regions {
        wait_until(Duration::from_secs(20), &format!("{r} holds the revocation"), || async {
            net.object(r, &revocation).await.is_ok_and(|o| o.status == 200)
        })
        .await?;
        propagation.push((r, t0.elapsed()));
    }

    // Xinyang's node no longer signs with the key (it holds no other for the kind).
    let name = net.city("xinyang").anchor.name.clone();
    let draft =
        credfed_tests::net::penalty_draft(&name, &uscc("411500", 9901), "general", days_ago(1), "public", "after");
    let refused = net.submit("xinyang", &draft).await?;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert_eq!(refused.json["error"]["code"], "no_authority_key", "{}", refused.text());

    // The thief: both keys, Xinyang stopped, entries chained onto Xinyang's real feed.
    net.stop("xinyang").await;
    let node_key = net.key("xinyang", "node.key");
    let mut chain = net.chain_after("suzhou", "xinyang", node_key.clone()).await?;
    let head = chain.seq;
    let backdated = record_envelope_at(
        &authority,
        "xinyang",
        &uscc("411500", 9902),
        Classification::Public,
        "backdated",
        revoked_from - 1,
    );
    let fresh =
        record_envelope_at(&authority, "xinyang", &uscc("411500", 9903), Classification::Public, "fresh", now());
    let app = ScriptedApp::default();
    for r in ["suzhou", "luan"] {
        app.admit(net.key(r, "node.key").public(), &r.parse()?);
    }
    for env in [&backdated, &fresh] {
        let e = chain.next(env, true);
        app.serve(&chain.origin, e.entry.seq, e.bytes.clone(), Some(env.clone()));
        app.objects.lock().expect("lock").insert(Envelope::decode(env)?.id(), env.clone());
    }
    let boot = [net.city("suzhou").p2p.clone(), net.city("luan").p2p.clone()];
    let rogue = Rogue::spawn(node_key, app, &boot, Duration::from_millis(SYNC_MS)).await?;
    for r in ["suzhou", "luan"] {
        for code in ["revoked_unwitnessed", "key_revoked"] {
            wait_until(Duration::from_secs(20), &format!("{r} refuses the {code} record"), || async {
                net.rejections(r).await.iter().any(|(c, _)| c == code)
            })
            .await?;
        }
        for env in [&backdated, &fresh] {
            assert_eq!(net.object(r, &envelope_id(env)).await?.status, 404, "{r} stored a record of the revoked key");
        }
        assert_eq!(net.feeds(r).await?["xinyang"], head + 2, "{r}: the feed entries advance, the bodies do not");
    }
    drop(rogue);

    // What the key signed before the revocation stands.
    for (r, before) in regions.iter().zip(&status) {
        if net.is_running(r) {
            let now = net.record(r, &earlier, "query").await?;
            assert_eq!(now.status, 200, "{r}: {}", now.text());
            assert_eq!(&now.json["status"], before, "{r}: {}", now.text());
        }
    }
    let slowest = propagation.iter().map(|(_, d)| *d).max().unwrap_or_default();
    println!(
        "FIGURE key_revocation: revocation held by all 3 nodes {} ms after submit ({}); backdated and fresh records of the revoked key refused by 2 of 2 receiving nodes",
        slowest.as_millis(),
        propagation.iter().map(|(r, d)| format!("{r} {} ms", d.as_millis())).collect::<Vec<_>>().join(", ")
    );
    net.shutdown().await;
    Ok(())
}

/// The witness exception (DESIGN §2): Lu'an reaches Xinyang only through Suzhou, which may not
/// relay Xinyang's shared bodies, so Lu'an holds the entry of a shared record without its body.
/// The record's key is then revoked (from a time after it signed); when Lu'an finally reaches
/// Xinyang and gets the body, the record's entry precedes the revocation in Xinyang's feed: it
/// is accepted, and Lu'an's audit bundle verifies with the exception counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_body_whose_entry_precedes_the_revocation_is_accepted() -> anyhow::Result<()> {
    let mut net = TestNet::new(3, SYNC_MS).await?;
    let via_suzhou = vec![net.city("suzhou").p2p.clone()];
    for r in ["xinyang", "luan"] {
        let boot = via_suzhou.clone();
        net.configure(r, move |cfg| cfg.p2p.bootstrap = boot)?;
    }
    for r in ["xinyang", "suzhou", "luan"] {
        net.start(r, Run::Process).await?;
    }
    wait_until(Duration::from_secs(20), "suzhou connects to both", || async {
        net.peer_count("suzhou").await.is_ok_and(|n| n == 2)
    })
    .await?;
    net.set_policy("xinyang", &serde_json::json!({ "shared_entitled": ["luan"] })).await?;
    let name = net.city("xinyang").anchor.name.clone();
    let draft =
        credfed_tests::net::penalty_draft(&name, &uscc("411500", 9910), "general", days_ago(30), "shared", "late");
    let r = net.submit("xinyang", &draft).await?;
    anyhow::ensure!(r.status == 201, "{}", r.text());
    let record = r.json["id"].as_str().expect("id").to_owned();
    net.wait_converged(Duration::from_secs(20)).await?;
    assert_eq!(net.object("luan", &record).await?.status, 404, "lu'an has only the entry, not the body");

    let dir = net.city("xinyang").dir.clone();
    let authority = net.key("xinyang", "authority-1.key");
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join("revoke.cbor");
    let from = (now() + 2).to_string();
    let (root, auth_hex) = (dir.join("keys/root.key").to_string_lossy().into_owned(), authority.public().to_hex());
    let out = file.to_string_lossy().into_owned();
    admin(&[
        "revoke",
        "--root-key",
        &root,
        "--region",
        "xinyang",
        "--key",
        &auth_hex,
        "--from",
        &from,
        "--reason",
        "key_compromise",
        "--out",
        &out,
    ])?;
    let (url, token) = (net.url("xinyang", ""), net.token("xinyang", "submit"));
    admin(&["--node", &url, "--token", &token, "records", "submit", &out])?;
    let revocation = envelope_id(&std::fs::read(&file)?);
    wait_until(Duration::from_secs(20), "lu'an holds the revocation", || async {
        net.object("luan", &revocation).await.is_ok_and(|o| o.status == 200)
    })
    .await?;
    assert_eq!(net.object("luan", &record).await?.status, 404, "still no body at lu'an");

    // Lu'an now reaches Xinyang and asks it for the body.
    net.stop("luan").await;
    let boot = vec![net.city("suzhou").p2p.clone(), net.city("xinyang").p2p.clone()];
    net.configure("luan", move |cfg| cfg.p2p.bootstrap = boot)?;
    net.start("luan", Run::Process).await?;
    wait_until(Duration::from_secs(20), "lu'an accepts the late body", || async {
        net.object("luan", &record).await.is_ok_and(|o| o.status == 200)
    })
    .await?;
    assert!(
        !net.rejections("luan").await.iter().any(|(c, _)| c == "revoked_unwitnessed"),
        "{:?}",
        net.rejections("luan").await
    );

    // Lu'an's audit log verifies offline, with the exception counted.
    let bundle = tmp.path().join("luan.cbor");
    let (url, token) = (net.url("luan", ""), net.token("luan", "audit"));
    admin(&["--node", &url, "--token", &token, "audit", "export", "--out", &bundle.to_string_lossy()])?;
    let report: serde_json::Value =
        serde_json::from_str(&admin(&["--json", "audit", "verify", &bundle.to_string_lossy()])?)?;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["counts"]["witnessed_before_revocation"], 1, "{report}");
    net.shutdown().await;
    Ok(())
}
