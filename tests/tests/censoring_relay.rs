//! RELIABILITY F8 `censoring_relay`: a relay that censors one region cannot stall it. Lu'an
//! first reaches Xinyang's feed only through a rogue relay (holding Suzhou's real node key,
//! Suzhou stopped) that serves Xinyang's genuine entries with every body withheld and claims a
//! head 50 entries beyond the real one. Lu'an keeps the genuine entries (signatures decide, not
//! the relay), waits for nothing the relay invents, and once it reaches Xinyang it fetches
//! every withheld body from the origin.

use std::time::Duration;

use credfed_tests::net::{Run, TestNet};
use credfed_tests::rogue::{Rogue, ScriptedApp};
use credfed_tests::{days_ago, uscc, wait_until};

const SYNC_MS: u64 = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withheld_bodies_come_from_the_origin_and_invented_heads_stall_nothing() -> anyhow::Result<()> {
    let mut net = TestNet::new(3, SYNC_MS).await?;
    // Nobody dials Lu'an, and Lu'an dials nobody, until the test says so.
    let suzhou = net.city("suzhou").p2p.clone();
    net.configure("xinyang", |cfg| cfg.p2p.bootstrap = vec![suzhou])?;
    net.configure("suzhou", |cfg| cfg.p2p.bootstrap = Vec::new())?;
    net.configure("luan", |cfg| cfg.p2p.bootstrap = Vec::new())?;
    net.start("xinyang", Run::Process).await?;
    net.start("suzhou", Run::Process).await?;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            net.submit_penalty("xinyang", &uscc("411500", 9920 + i), "general", days_ago(30), "public", "f8").await?,
        );
    }
    let head = net.feeds("xinyang").await?["xinyang"];
    wait_until(Duration::from_secs(20), "suzhou holds xinyang's feed", || async {
        net.feeds("suzhou").await.is_ok_and(|f| f.get("xinyang") == Some(&head))
    })
    .await?;
    let r = net.get("xinyang", &format!("/v1/feeds/xinyang?from=1&to={head}"), Some("audit")).await?;
    let entries: Vec<Vec<u8>> = r.json["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| hex::decode(e["entry_hex"].as_str().unwrap_or_default()))
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(entries.len() as u64 == head, "{}", r.text());
    net.stop("suzhou").await;

    // The relay: genuine entries, no bodies, an invented head.
    let xinyang: credfed_protocol::RegionId = "xinyang".parse()?;
    let app = ScriptedApp::default();
    app.admit(net.key("luan", "node.key").public(), &"luan".parse()?);
    for (seq, e) in (1..).zip(&entries) {
        app.serve(&xinyang, seq, e.clone(), None);
    }
    app.heads.lock().expect("lock").insert(xinyang.clone(), head + 50);
    let suzhou_key = net.key("suzhou", "node.key");
    net.start("luan", Run::Process).await?;
    let rogue = Rogue::spawn(suzhou_key, app, &[net.city("luan").p2p.clone()], Duration::from_millis(SYNC_MS)).await?;
    wait_until(Duration::from_secs(20), "lu'an takes the genuine entries from the relay", || async {
        net.feeds("luan").await.is_ok_and(|f| f.get("xinyang") == Some(&head))
    })
    .await?;
    for id in &ids {
        assert_eq!(net.object("luan", id).await?.status, 404, "the relay withheld every body");
    }

    // Lu'an reaches Xinyang: every body arrives from the origin, the invented head is ignored.
    net.stop("luan").await;
    let boot = vec![net.city("xinyang").p2p.clone()];
    net.configure("luan", move |cfg| cfg.p2p.bootstrap = boot)?;
    net.start("luan", Run::Process).await?;
    let took = wait_until(Duration::from_secs(20), "lu'an gets every body from xinyang", || async {
        let mut all = true;
        for id in &ids {
            all &= net.object("luan", id).await.is_ok_and(|o| o.status == 200);
        }
        all
    })
    .await?;
    assert_eq!(net.feeds("luan").await?["xinyang"], head, "nothing beyond the real head");
    assert!(rogue.app.range_requests(&xinyang) > 0, "lu'an asked the relay");
    println!(
        "FIGURE censoring_relay: {head} entries taken from a relay that withheld every body and claimed {} more; all bodies from the origin {} ms after lu'an restarted with xinyang as its peer",
        50,
        took.as_millis()
    );
    net.shutdown().await;
    Ok(())
}
