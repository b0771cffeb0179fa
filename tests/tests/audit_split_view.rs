//! RELIABILITY F5 `audit_split_view`: a rogue holding Xinyang's *real* node key (Xinyang
//! stopped) shows Lu'an a checkpoint of Xinyang's log of the same size as the one Suzhou
//! cosigned, with another root. Lu'an alone has no reason to refuse (it never witnessed that
//! log); once Suzhou and Lu'an compare what they cosigned, both hold the two signed notes as
//! split-view evidence, which survives kill -9; an auditor who was shown the forged checkpoint
//! sees the real log fail to extend it.

use std::time::Duration;

use credfed_net::wire::{SyncRequest, SyncResponse};
use credfed_protocol::checkpoint::{sign_checkpoint, Checkpoint};
use credfed_tests::net::{Run, TestNet};
use credfed_tests::rogue::{Rogue, ScriptedApp};
use credfed_tests::{days_ago, uscc, wait_until};

const SYNC_MS: u64 = 300;
const LOG: &str = "credfed/xinyang/audit";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witnesses_comparing_notes_catch_a_split_view() -> anyhow::Result<()> {
    let mut net = TestNet::new(3, SYNC_MS).await?;
    // Lu'an stays down until Xinyang is gone: it never witnesses the real log.
    net.start("xinyang", Run::Process).await?;
    net.start("suzhou", Run::Process).await?;
    for i in 0..5 {
        net.submit_penalty("xinyang", &uscc("411500", 9700 + i), "general", days_ago(30), "public", "f5").await?;
    }
    wait_until(Duration::from_secs(30), "suzhou cosigns xinyang's checkpoint", || async {
        net.get("xinyang", "/v1/audit/checkpoint", Some("audit"))
            .await
            .is_ok_and(|r| r.text().contains("\n\u{2014} suzhou "))
    })
    .await?;
    net.stop("xinyang").await;
    net.start("luan", Run::Process).await?;

    // The rogue learns what Suzhou cosigned and signs another root at that size for Lu'an.
    let app = ScriptedApp::default();
    for region in ["suzhou", "luan"] {
        app.admit(net.key(region, "node.key").public(), &region.parse()?);
    }
    let boot = [net.city("suzhou").p2p.clone(), net.city("luan").p2p.clone()];
    let xinyang_key = net.key("xinyang", "node.key");
    let rogue = Rogue::spawn(xinyang_key.clone(), app, &boot, Duration::from_millis(SYNC_MS)).await?;
    let (suzhou, luan) = (net.peer_id("suzhou"), net.peer_id("luan"));
    let t0 = std::time::Instant::now();
    let seen = loop {
        if let Ok(SyncResponse::Witnessed { notes }) = rogue.net.request(suzhou, SyncRequest::Witnessed).await {
            if let Some(n) = notes.into_iter().find(|n| n.starts_with(&format!("{LOG}\n"))) {
                break n;
            }
        }
        anyhow::ensure!(t0.elapsed() < Duration::from_secs(20), "the rogue never read what suzhou cosigned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (body, _) = seen.split_once("\n\n").expect("a signed note: body, blank line, signatures");
    let real = Checkpoint::from_body(&format!("{body}\n"))?;
    let mut forged = real.clone();
    forged.root = [0x5a; 32];
    let forged_note = sign_checkpoint(&forged, "xinyang", &xinyang_key)?.to_text();
    let req = SyncRequest::Cosign { checkpoint: forged_note.clone(), proof: Vec::new(), from_size: 0 };
    let t0 = std::time::Instant::now();
    let answer = loop {
        match rogue.net.request(luan, req.clone()).await {
            Ok(a) => break a,
            Err(e) if t0.elapsed() > Duration::from_secs(20) => anyhow::bail!("the rogue never reached lu'an: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    assert!(
        matches!(answer, SyncResponse::Cosigned { .. }),
        "lu'an never saw xinyang's log, so it cosigns: {answer:?}"
    );

    // Suzhou and Lu'an compare: both keep the two notes.
    let took = wait_until(Duration::from_secs(20), "suzhou and lu'an hold split-view evidence", || async {
        !net.evidence("suzhou", "split_views", "xinyang").await.is_empty()
            && !net.evidence("luan", "split_views", "xinyang").await.is_empty()
    })
    .await?;
    for region in ["suzhou", "luan"] {
        let ev = net.evidence(region, "split_views", "xinyang").await;
        let notes: Vec<&str> = ev.iter().flat_map(|e| [e["earlier"].as_str(), e["later"].as_str()]).flatten().collect();
        assert!(notes.iter().any(|n| *n == forged_note), "{region} keeps the forged note: {ev:?}");
        assert!(
            notes.iter().any(|n| n.starts_with(&format!("{LOG}\n{}\n", real.size)) && *n != forged_note),
            "{region} keeps the real note: {ev:?}"
        );
        assert!(net.metric(region, "credfed_split_views_total").await? >= 1.0);
        let events = net.audit_events(region).await?;
        assert!(events.iter().any(|e| e.to_string().contains("audit.split_view_detected")), "{region}: {events:?}");
    }

    // The evidence survives kill -9 (no peer left to compare with again).
    drop(rogue);
    net.stop("luan").await;
    net.kill("suzhou").await;
    net.start("suzhou", Run::Process).await?;
    assert!(
        !net.evidence("suzhou", "split_views", "xinyang").await.is_empty(),
        "suzhou lost the evidence in a kill -9"
    );

    // An auditor who was shown the forged checkpoint: the real log does not extend it.
    net.start("xinyang", Run::Process).await?;
    let tmp = tempfile::tempdir()?;
    let state = tmp.path().join("xinyang.txt");
    std::fs::write(&state, &forged_note)?;
    let o = net.audit_checkpoint("xinyang", &state);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("INCONSISTENT"), "{out}");
    println!(
        "FIGURE audit_split_view: forged checkpoint of size {} cosigned by lu'an; evidence at suzhou and lu'an {} ms later, kept after kill -9",
        real.size,
        took.as_millis()
    );
    net.shutdown().await;
    Ok(())
}
