//! Prometheus metrics (served as text on the admin listener at `/metrics`).

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 18))
}

/// Every metric the node exports.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// Objects accepted, by object type.
    pub accepted: Family<Labels, Counter>,
    /// Objects (or bytes) rejected, by reason code.
    pub rejected: Family<Labels, Counter>,
    /// HTTP requests by route template and status.
    pub http_requests: Family<Labels, Counter>,
    /// HTTP latency by route template.
    pub http_seconds: Family<Labels, Histogram, fn() -> Histogram>,
    /// Handlers that panicked (answered 500; the connection stayed up).
    pub http_panics: Counter,
    /// Connections refused or shed, by reason (`per_client`, `full`, `stalled`).
    pub http_shed: Family<Labels, Counter>,
    /// Flush duration.
    pub flush_seconds: Histogram,
    /// Callbacks served per flush (group-commit batch size).
    pub flush_group: Histogram,
    /// Audit tree size.
    pub audit_size: Gauge<u64, AtomicU64>,
    /// Leaf-hash mismatches found before signing a checkpoint (alarm: must stay 0).
    pub audit_leaf_mismatch: Counter,
    /// 1 when a flush failed and the store is read-only.
    pub store_failed: Gauge,
    /// Connected peers.
    pub peers: Gauge,
    /// Delegations of pinned regions expiring within 30 days.
    pub delegations_expiring: Gauge,
    /// Equivocations detected (two signed entries at one feed position).
    pub equivocations: Counter,
    /// Objects parked waiting for their target.
    pub pending: Gauge,
    /// Sync lag per origin: entries a peer holds that this node does not.
    pub sync_lag: Family<Labels, Gauge>,
    /// Receipts overdue at this (origin) node.
    pub receipts_overdue: Gauge,
    /// Cosignatures obtained / refused, by outcome.
    pub cosignatures: Family<Labels, Counter>,
    /// Peers that showed two inconsistent checkpoints (split view).
    pub split_views: Counter,
    /// Gossip messages delivered to this node's validator (duplicates are dropped before).
    pub gossip_received: Counter,
    /// Payload bytes (feed entry + envelope) of those gossip messages.
    pub gossip_received_bytes: Counter,
    /// Sync requests this node answered, by kind.
    pub sync_served: Family<Labels, Counter>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry.
    pub fn new() -> Metrics {
        let mut r = Registry::with_prefix("credfed");
        let m = Metrics {
            registry: Arc::new(Registry::default()),
            accepted: Family::default(),
            rejected: Family::default(),
            http_requests: Family::default(),
            http_seconds: Family::new_with_constructor(latency as fn() -> Histogram),
            http_panics: Counter::default(),
            http_shed: Family::default(),
            flush_seconds: Histogram::new(exponential_buckets(0.000_02, 2.0, 18)),
            flush_group: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            audit_size: Gauge::default(),
            audit_leaf_mismatch: Counter::default(),
            store_failed: Gauge::default(),
            peers: Gauge::default(),
            delegations_expiring: Gauge::default(),
            equivocations: Counter::default(),
            pending: Gauge::default(),
            sync_lag: Family::default(),
            receipts_overdue: Gauge::default(),
            cosignatures: Family::default(),
            split_views: Counter::default(),
            gossip_received: Counter::default(),
            gossip_received_bytes: Counter::default(),
            sync_served: Family::default(),
        };
        r.register("objects_accepted", "Objects accepted, by type", m.accepted.clone());
        r.register("objects_rejected", "Objects rejected, by reason code", m.rejected.clone());
        r.register("http_requests", "HTTP requests by route and status", m.http_requests.clone());
        r.register("http_request_seconds", "HTTP latency by route", m.http_seconds.clone());
        r.register("http_panics", "Handlers that panicked (answered 500)", m.http_panics.clone());
        r.register("http_shed", "Connections refused or shed, by reason", m.http_shed.clone());
        r.register("store_flush_seconds", "Duration of one group-commit flush", m.flush_seconds.clone());
        r.register("store_flush_group", "Writes acknowledged per flush", m.flush_group.clone());
        r.register("audit_tree_size", "Leaves in the audit log", m.audit_size.clone());
        r.register(
            "audit_leaf_mismatch",
            "Leaf hashes that did not match their bytes (alarm)",
            m.audit_leaf_mismatch.clone(),
        );
        r.register("store_failed", "1 when the store is read-only after a failed flush", m.store_failed.clone());
        r.register("peers", "Connected peers", m.peers.clone());
        r.register("delegations_expiring", "Delegations expiring within 30 days", m.delegations_expiring.clone());
        r.register("equivocations", "Equivocation proofs detected", m.equivocations.clone());
        r.register("pending_objects", "Objects parked until their target arrives", m.pending.clone());
        r.register("sync_lag_entries", "Feed entries a peer holds that this node lacks, by origin", m.sync_lag.clone());
        r.register(
            "receipts_overdue",
            "Receipts overdue for this region's repairs and withdrawals",
            m.receipts_overdue.clone(),
        );
        r.register("cosignatures", "Checkpoint cosignature requests by outcome", m.cosignatures.clone());
        r.register("split_views", "Peers caught presenting inconsistent checkpoints", m.split_views.clone());
        r.register("gossip_received", "Gossip messages delivered to the validator", m.gossip_received.clone());
        r.register("gossip_received_bytes", "Payload bytes of delivered gossip", m.gossip_received_bytes.clone());
        r.register("sync_served", "Sync requests answered, by kind", m.sync_served.clone());
        Metrics { registry: Arc::new(r), ..m }
    }

    /// One label set.
    pub fn label(k: &str, v: &str) -> Labels {
        vec![(k.to_string(), v.to_string())]
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut s = String::new();
        encode(&mut s, &self.registry).expect("writing to a String cannot fail");
        s
    }
}
