//! The CI variant of the federation-scale bench (issue 14 §1, docs/SCALING.md): 20 cities as
//! `credfed-node` processes in four provinces of five (full mesh inside a province, two
//! cross-province links each), all links through counting proxies. Generous bounds: every
//! record reaches every node, the partition into two halves heals, RSS per node bounded.
//! Prints `FIGURE scale ...` lines. Size: `CREDFED_SCALE_N` (≤ 30 in CI).

use std::time::Duration;

use credfed_tests::scale::{row, run, Opts, HEADER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_provincial_federation() -> anyhow::Result<()> {
    let n = std::env::var("CREDFED_SCALE_N").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let mut o = Opts::for_size(n);
    o.idle = Duration::from_secs(10);
    o.records_per_origin = 5;
    let f = run(&o).await?;
    println!("FIGURE scale header {HEADER}");
    println!("FIGURE scale row {}", row(&f));
    println!(
        "FIGURE scale n={} propagation_all_p50_ms={:.0} p99_ms={:.0} gossip_msgs_per_record_node={:.2} \
         wire_bytes_per_record_node={:.0} idle_bytes_per_round_node={:.0} audit_entries_per_record_node={:.2} \
         heal_s={:.1} rss_mean_mib={:.1} rss_max_mib={:.1}",
        f.n,
        f.all_p50_ms,
        f.all_p99_ms,
        f.gossip_msgs_per_rec_node,
        f.wire_bytes_per_rec_node,
        f.idle_bytes_per_round_node,
        f.audit_per_rec_node,
        f.heal_s,
        f.rss_mean_mib,
        f.rss_max_mib
    );
    // `run` already failed unless every record reached every node and heads converged.
    assert!(f.all_p99_ms < 60_000.0, "p99 propagation {} ms", f.all_p99_ms);
    assert!(f.heal_s < 120.0, "heal took {} s", f.heal_s);
    assert!(f.rss_max_mib < 512.0, "a node used {} MiB", f.rss_max_mib);
    assert!(f.gossip_msgs_per_rec_node >= 0.5, "gossip did not carry the records: {}", f.gossip_msgs_per_rec_node);
    Ok(())
}
