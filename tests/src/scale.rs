//! The federation-scale run (issue 14 §1): `n` cities as separate `credfed-node` processes on
//! loopback, in a provincial topology ([`province_edges`]) whose every link runs through a
//! counting [`Link`](crate::proxy::Link), so wire bytes (noise + yamux + gossipsub +
//! request-response, both ways) are measured outside the nodes. Counters inside the nodes
//! (`gossip_received`, `sync_served`, `audit_tree_size`) come from each node's `/metrics`.
//!
//! Phases: connect → idle window (head exchange, heartbeats, idle audit growth) → propagation
//! (records submitted round-robin at several origins in different provinces; every node's
//! `/v1/feeds` polled; a record is at a node once its head of the origin covers the record's
//! seq) → partition into two halves (by province), both sides publish, heal, time until every
//! node holds identical heads → RSS of every node process (`VmRSS`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;

use crate::net::{province_edges, province_regions};
use crate::{days_ago, penalty_draft, percentile, uscc, wait_until, Run, TestNet};

/// What to run.
#[derive(Clone, Debug)]
pub struct Opts {
    /// Cities.
    pub n: usize,
    /// Cities per province.
    pub per_province: usize,
    /// Origins issuing records (first cities of provinces spread over the federation).
    pub origins: usize,
    /// Records per origin in the propagation phase.
    pub records_per_origin: usize,
    /// Idle window.
    pub idle: Duration,
    /// Anti-entropy interval of every node.
    pub sync_ms: u64,
    /// Records per side while partitioned.
    pub partition_records: usize,
}

impl Opts {
    /// Defaults for `n` cities: provinces of max(5, √n) cities.
    pub fn for_size(n: usize) -> Opts {
        Opts {
            n,
            per_province: ((n as f64).sqrt().round() as usize).max(5),
            origins: 4,
            records_per_origin: 10,
            idle: Duration::from_secs(20),
            sync_ms: 1000,
            partition_records: 5,
        }
    }
}

/// The figures of one run.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// Cities.
    pub n: usize,
    /// Provinces.
    pub provinces: usize,
    /// Dial edges (one connection each).
    pub links: usize,
    /// Mean connected peers per node.
    pub peers_mean: f64,
    /// Seconds from the first start until every node had its neighbours.
    pub start_s: f64,
    /// Records in the propagation phase.
    pub records: usize,
    /// Time until every node held a record: p50, p99 (ms).
    pub all_p50_ms: f64,
    /// See `all_p50_ms`.
    pub all_p99_ms: f64,
    /// Per (record, node) arrival time p50 (ms).
    pub node_p50_ms: f64,
    /// Poll round over all nodes (ms, mean): the resolution of the figures above.
    pub poll_ms: f64,
    /// Gossip messages delivered per record per node.
    pub gossip_msgs_per_rec_node: f64,
    /// Gossip payload bytes delivered per record per node.
    pub gossip_bytes_per_rec_node: f64,
    /// Wire bytes per record per node (idle rate subtracted).
    pub wire_bytes_per_rec_node: f64,
    /// Idle wire bytes per node per anti-entropy round (head exchange, tips, heartbeats).
    pub idle_bytes_per_round_node: f64,
    /// `heads` requests answered per node per round.
    pub heads_per_round_node: f64,
    /// Sync requests of all kinds answered per node per round (idle).
    pub sync_per_round_node: f64,
    /// Audit entries appended per record per node.
    pub audit_per_rec_node: f64,
    /// Mean JSON bytes of one audit entry (as `/v1/audit/entries` serves it).
    pub audit_entry_bytes: f64,
    /// Audit entries per node per idle minute.
    pub audit_per_idle_min_node: f64,
    /// Heal → identical heads everywhere (s).
    pub heal_s: f64,
    /// RSS per node process (MiB): mean, max.
    pub rss_mean_mib: f64,
    /// See `rss_mean_mib`.
    pub rss_max_mib: f64,
}

#[derive(Clone, Copy, Default, Debug)]
struct Snap {
    at: Option<Instant>,
    wire: u64,
    gossip: f64,
    gossip_bytes: f64,
    heads: f64,
    sync: f64,
    audit: f64,
}

fn series(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            let k = l.split_whitespace().next().unwrap_or("");
            k == name || k.starts_with(&format!("{name}{{"))
        })
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .sum()
}

async fn snap(net: &TestNet) -> Snap {
    let wire = net.mesh.links.iter().map(|(_, _, l)| l.counters().0).sum();
    let texts: Vec<String> = futures::stream::iter(net.admin.clone())
        .map(|a| {
            let http = net.http.clone();
            async move { http.get(&format!("http://{a}/metrics"), None).await.map(|r| r.text()).unwrap_or_default() }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut s = Snap { at: Some(Instant::now()), wire, ..Snap::default() };
    for t in &texts {
        s.gossip += series(t, "credfed_gossip_received_total");
        s.gossip_bytes += series(t, "credfed_gossip_received_bytes_total");
        s.heads += t
            .lines()
            .filter(|l| l.starts_with("credfed_sync_served_total{kind=\"heads\"}"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .sum::<f64>();
        s.sync += series(t, "credfed_sync_served_total");
        s.audit += series(t, "credfed_audit_tree_size");
    }
    s
}

fn secs(a: &Snap, b: &Snap) -> f64 {
    match (a.at, b.at) {
        (Some(x), Some(y)) => y.duration_since(x).as_secs_f64(),
        _ => 0.0,
    }
}

/// Every node's heads, polled concurrently.
async fn poll_heads(net: &TestNet, regions: &[String]) -> Vec<Option<BTreeMap<String, u64>>> {
    futures::stream::iter(regions.iter().cloned().enumerate())
        .map(|(i, r)| async move { (i, net.feeds(&r).await.ok()) })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .fold(vec![None; regions.len()], |mut v, (i, h)| {
            v[i] = h;
            v
        })
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let l = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

async fn submit(net: &TestNet, region: &str, tag: &str, i: usize) -> anyhow::Result<u64> {
    let name = net.city(region).anchor.name.clone();
    let mut d = penalty_draft(&name, &uscc("411500", 20_000 + i as u64), "general", days_ago(30), "public", tag);
    d["decision_no"] = serde_json::Value::from(format!("环罚〔2026〕{region}-{tag}-{i}号"));
    let r = net.submit(region, &d).await?;
    anyhow::ensure!(r.status == 201, "submit at {region}: {} {}", r.status, r.text());
    r.json["seq"].as_u64().context("seq in the answer")
}

/// Runs the whole scale scenario for `o.n` cities.
///
/// # Errors
/// Setup, start, or any phase not completing within its limit.
pub async fn run(o: &Opts) -> anyhow::Result<Figures> {
    let n = o.n;
    let regions: Vec<String> = province_regions(n, o.per_province);
    let ids: Vec<&str> = regions.iter().map(String::as_str).collect();
    let edges = province_edges(n, o.per_province);
    let provinces = n.div_ceil(o.per_province);
    let mut f = Figures { n, provinces, links: edges.len(), ..Figures::default() };
    let mut net = TestNet::new(ids.as_slice(), o.sync_ms).await?.with_topology(&edges).await?;
    let t0 = Instant::now();
    for r in &regions {
        net.start(r, Run::Process).await?;
    }
    let mut degree = vec![0u64; n];
    for &(a, b) in &edges {
        degree[a] += 1;
        degree[b] += 1;
    }
    wait_until(Duration::from_secs(120), "every node connected to its neighbours", || async {
        for (i, r) in regions.iter().enumerate() {
            if net.peer_count(r).await.unwrap_or(0) < degree[i] {
                return false;
            }
        }
        true
    })
    .await?;
    f.start_s = t0.elapsed().as_secs_f64();
    let mut peers = 0;
    for r in &regions {
        peers += net.peer_count(r).await.unwrap_or(0);
    }
    f.peers_mean = peers as f64 / n as f64;

    // Idle window.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let a = snap(&net).await;
    tokio::time::sleep(o.idle).await;
    let b = snap(&net).await;
    let idle_s = secs(&a, &b);
    let rounds = idle_s * 1000.0 / o.sync_ms as f64;
    let nf = n as f64;
    let idle_wire_rate = (b.wire - a.wire) as f64 / idle_s;
    let idle_audit_rate = (b.audit - a.audit) / idle_s;
    f.idle_bytes_per_round_node = (b.wire - a.wire) as f64 / nf / rounds;
    f.heads_per_round_node = (b.heads - a.heads) / nf / rounds;
    f.sync_per_round_node = (b.sync - a.sync) / nf / rounds;
    f.audit_per_idle_min_node = (b.audit - a.audit) / nf / (idle_s / 60.0);

    // Propagation.
    let origins: Vec<usize> =
        (0..o.origins.min(provinces)).map(|k| (k * provinces / o.origins.min(provinces)) * o.per_province).collect();
    let a = snap(&net).await;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut samples: Vec<(Instant, usize, BTreeMap<String, u64>)> = Vec::new();
    let mut sent: Vec<(Instant, usize, u64)> = Vec::new();
    let mut rounds_done = 0u32;
    let poll_t0 = Instant::now();
    {
        let submitter = async {
            for i in 0..o.records_per_origin {
                for &oi in &origins {
                    let t = Instant::now();
                    let seq = submit(&net, &regions[oi], "scale", i).await?;
                    sent.push((t, oi, seq));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            anyhow::Ok(())
        };
        let poller = async {
            let mut last: Vec<Option<BTreeMap<String, u64>>> = vec![None; n];
            let deadline = Instant::now() + Duration::from_secs(180);
            let want = o.records_per_origin;
            loop {
                // Read before the round: a round that began while a submission was still in
                // flight may show an origin's head without its last record, and every node
                // equal to that stale head is not yet "done".
                let submitted_all = stop.load(std::sync::atomic::Ordering::SeqCst);
                let heads = poll_heads(&net, &regions).await;
                rounds_done += 1;
                let now = Instant::now();
                for (i, h) in heads.into_iter().enumerate() {
                    if let Some(h) = h {
                        if last[i].as_ref() != Some(&h) {
                            samples.push((now, i, h.clone()));
                            last[i] = Some(h);
                        }
                    }
                }
                // Done once submitting stopped and every node's heads equal the origins'.
                if submitted_all {
                    let full = |h: &Option<BTreeMap<String, u64>>| {
                        origins.iter().all(|&oi| {
                            let own = last[oi].as_ref().and_then(|m| m.get(&regions[oi]).copied()).unwrap_or(0);
                            own >= want as u64 && h.as_ref().and_then(|m| m.get(&regions[oi]).copied()) == Some(own)
                        })
                    };
                    if last.iter().all(full) {
                        return anyhow::Ok(());
                    }
                }
                if now > deadline {
                    anyhow::bail!("records did not reach every node within 180 s");
                }
            }
        };
        let (s, p) = tokio::join!(submitter, poller);
        s?;
        p?;
    }
    f.poll_ms = poll_t0.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds_done.max(1));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let b = snap(&net).await;
    let w = secs(&a, &b);
    f.records = sent.len();
    let recs = f.records as f64;
    f.gossip_msgs_per_rec_node = (b.gossip - a.gossip) / recs / nf;
    f.gossip_bytes_per_rec_node = (b.gossip_bytes - a.gossip_bytes) / recs / nf;
    f.wire_bytes_per_rec_node = ((b.wire - a.wire) as f64 - idle_wire_rate * w).max(0.0) / recs / nf;
    f.audit_per_rec_node = ((b.audit - a.audit) - idle_audit_rate * w).max(0.0) / recs / nf;
    let mut all = Vec::new();
    let mut per_node = Vec::new();
    for &(t, oi, seq) in &sent {
        let origin = &regions[oi];
        let mut worst = Duration::ZERO;
        for node in (0..n).filter(|&j| j != oi) {
            let at = samples
                .iter()
                .find(|(_, j, h)| *j == node && h.get(origin).copied().unwrap_or(0) >= seq)
                .map(|(at, _, _)| at.saturating_duration_since(t))
                .context("every record seen at every node")?;
            per_node.push(at);
            worst = worst.max(at);
        }
        all.push(worst);
    }
    all.sort();
    per_node.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    f.all_p50_ms = ms(percentile(&all, 50.0));
    f.all_p99_ms = ms(percentile(&all, 99.0));
    f.node_p50_ms = ms(percentile(&per_node, 50.0));
    let events = net.audit_events(&regions[n - 1]).await?;
    let bytes: usize = events.iter().map(|e| e.to_string().len()).sum();
    f.audit_entry_bytes = bytes as f64 / events.len().max(1) as f64;

    // Partition into two halves by province, publish on both sides, heal.
    let half: Vec<usize> = (0..n).filter(|i| i / o.per_province < provinces.div_ceil(2)).collect();
    let other = (provinces.div_ceil(2) * o.per_province).min(n - 1);
    net.mesh.partition(&half);
    for i in 0..o.partition_records {
        submit(&net, &regions[0], "split", i).await?;
        submit(&net, &regions[other], "split", i).await?;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    net.mesh.heal();
    f.heal_s = net.wait_converged(Duration::from_secs(180)).await?.as_secs_f64();

    let rss: Vec<u64> = regions.iter().filter_map(|r| net.pid(r).and_then(rss_kib)).collect();
    f.rss_mean_mib = rss.iter().sum::<u64>() as f64 / rss.len().max(1) as f64 / 1024.0;
    f.rss_max_mib = rss.iter().copied().max().unwrap_or(0) as f64 / 1024.0;
    net.shutdown().await;
    Ok(f)
}

/// The table header of [`row`].
pub const HEADER: &str = "nodes prov links peers start_s recs all_p50_ms all_p99_ms node_p50_ms poll_ms \
gossip_msg/rec/node gossip_B/rec/node wire_B/rec/node idle_B/round/node heads/round/node sync/round/node \
audit/rec/node audit_B/entry audit/idle_min/node heal_s rss_mean_MiB rss_max_MiB";

/// One table row.
pub fn row(f: &Figures) -> String {
    format!(
        "{} {} {} {:.1} {:.1} {} {:.0} {:.0} {:.0} {:.0} {:.2} {:.0} {:.0} {:.0} {:.2} {:.2} {:.2} {:.0} {:.2} {:.1} {:.1} {:.1}",
        f.n,
        f.provinces,
        f.links,
        f.peers_mean,
        f.start_s,
        f.records,
        f.all_p50_ms,
        f.all_p99_ms,
        f.node_p50_ms,
        f.poll_ms,
        f.gossip_msgs_per_rec_node,
        f.gossip_bytes_per_rec_node,
        f.wire_bytes_per_rec_node,
        f.idle_bytes_per_round_node,
        f.heads_per_round_node,
        f.sync_per_round_node,
        f.audit_per_rec_node,
        f.audit_entry_bytes,
        f.audit_per_idle_min_node,
        f.heal_s,
        f.rss_mean_mib,
        f.rss_max_mib,
    )
}

/// Growth of every figure from `a` to `b` (`b / a`).
pub fn growth(a: &Figures, b: &Figures) -> String {
    let r = |x: f64, y: f64| if x.abs() < 1e-9 { "-".to_owned() } else { format!("{:.2}", y / x) };
    format!(
        "x{:.1} nodes: all_p50 {} all_p99 {} gossip_msg/rec/node {} wire_B/rec/node {} idle_B/round/node {} \
         audit/rec/node {} heal {} rss_mean {}",
        b.n as f64 / a.n as f64,
        r(a.all_p50_ms, b.all_p50_ms),
        r(a.all_p99_ms, b.all_p99_ms),
        r(a.gossip_msgs_per_rec_node, b.gossip_msgs_per_rec_node),
        r(a.wire_bytes_per_rec_node, b.wire_bytes_per_rec_node),
        r(a.idle_bytes_per_round_node, b.idle_bytes_per_round_node),
        r(a.audit_per_rec_node, b.audit_per_rec_node),
        r(a.heal_s, b.heal_s),
        r(a.rss_mean_mib, b.rss_mean_mib),
    )
}
