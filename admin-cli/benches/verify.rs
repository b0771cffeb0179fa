//! `audit verify` throughput on a 100 000-entry bundle, next to raw ed25519 verification of the
//! same number of signatures in the same run (target: ratio ≥ 0.8).
//!
//! `cargo bench -p credfed-admin --bench verify` (add `-- 20000` for a smaller bundle).

use std::time::Instant;

use credfed_protocol::bundle::sample::SampleLog;
use credfed_protocol::bundle::{verify_bundle_bytes, AuditBundle};
use credfed_protocol::envelope::{signing_input, Envelope, ENVELOPE_DOMAIN, FEED_ENTRY_DOMAIN};
use ed25519_dalek::{Signature, VerifyingKey};

fn main() {
    let entries: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let t = Instant::now();
    let mut s = SampleLog::new();
    while s.log.size() < entries {
        s.own_record();
    }
    let bundle = s.log.bundle(0, s.log.size());
    let bytes = bundle.encode();
    println!(
        "built a bundle of {} entries ({} envelopes, {} feed entries, {:.1} MiB) in {:.1}s",
        bundle.leaves.len(),
        bundle.envelopes.len(),
        bundle.feed_entries.len(),
        bytes.len() as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );
    let trust = [("xinyang".parse().unwrap(), s.keys.root.public())];

    // The same signatures, verified raw: (key, message, signature) prepared outside the clock.
    let mut raw: Vec<(VerifyingKey, Vec<u8>, Signature)> = Vec::new();
    let mut push = |b: &[u8], domain: &[u8]| {
        let e = Envelope::decode(b).unwrap();
        let vk = VerifyingKey::from_bytes(e.signer.as_bytes()).unwrap();
        raw.push((vk, signing_input(domain, &e.body), Signature::from_bytes(e.signature.as_bytes())));
    };
    for b in bundle.envelopes.iter().chain(&bundle.trust_objects) {
        push(&b.0, ENVELOPE_DOMAIN);
    }
    for b in &bundle.feed_entries {
        push(&b.0, FEED_ENTRY_DOMAIN);
    }

    let mut best_raw = f64::MAX;
    let mut best_raw_parsed = f64::MAX;
    let mut best_verify = f64::MAX;
    let mut best_decode = f64::MAX;
    let mut checked = 0;
    for _round in 0..5 {
        // Raw = what verifying a signature from its wire bytes takes: parse the 32-byte key,
        // verify_strict the message (as `PublicKey::verify` does).
        let t = Instant::now();
        for (vk, m, sig) in &raw {
            let k = VerifyingKey::from_bytes(vk.as_bytes()).unwrap();
            assert!(k.verify_strict(m, sig).is_ok());
        }
        best_raw = best_raw.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        for (vk, m, sig) in &raw {
            assert!(vk.verify_strict(m, sig).is_ok());
        }
        best_raw_parsed = best_raw_parsed.min(t.elapsed().as_secs_f64());

        let t = Instant::now();
        let b = AuditBundle::decode(&bytes).unwrap();
        best_decode = best_decode.min(t.elapsed().as_secs_f64());
        drop(b);

        let t = Instant::now();
        let r = verify_bundle_bytes(&bytes, Some(&trust), None);
        best_verify = best_verify.min(t.elapsed().as_secs_f64());
        assert!(r.ok, "{:?}", r.failures.first());
        checked = r.counts.signatures_checked;
    }
    if std::env::var_os("BREAKDOWN").is_some() {
        let t = Instant::now();
        for e in &bundle.envelopes {
            credfed_protocol::objects::open(&e.0).unwrap();
        }
        println!("  objects::open x{}: {:.3}s", bundle.envelopes.len(), t.elapsed().as_secs_f64());
        let t = Instant::now();
        for e in &bundle.feed_entries {
            credfed_protocol::feed::SignedFeedEntry::open(&e.0).unwrap();
        }
        println!("  SignedFeedEntry::open x{}: {:.3}s", bundle.feed_entries.len(), t.elapsed().as_secs_f64());
        let t = Instant::now();
        for l in &bundle.leaves {
            credfed_protocol::audit::AuditEvent::decode(&l.0).unwrap();
        }
        println!("  AuditEvent::decode x{}: {:.3}s", bundle.leaves.len(), t.elapsed().as_secs_f64());
        let t = Instant::now();
        for e in &bundle.envelopes {
            let e = Envelope::decode(&e.0).unwrap();
            credfed_protocol::objects::Body::decode(&e.body).unwrap();
        }
        println!("  Envelope::decode+Body::decode x{}: {:.3}s", bundle.envelopes.len(), t.elapsed().as_secs_f64());
    }
    let n = raw.len() as f64;
    println!(
        "raw ed25519 (key bytes -> VerifyingKey, verify_strict): {} signatures in {:.3}s = {:.0}/s",
        raw.len(),
        best_raw,
        n / best_raw
    );
    println!("raw ed25519 verify_strict with pre-parsed keys: {:.3}s = {:.0}/s", best_raw_parsed, n / best_raw_parsed);
    println!(
        "audit verify (decode + everything): {} entries, {} signatures in {:.3}s = {:.0} entries/s, {:.0} signatures/s (decode alone {:.3}s)",
        bundle.leaves.len(),
        checked,
        best_verify,
        bundle.leaves.len() as f64 / best_verify,
        checked as f64 / best_verify,
        best_decode
    );
    let rate = checked as f64 / best_verify;
    println!("ratio (audit verify signatures/s ÷ raw ed25519/s) = {:.2} (target ≥ 0.8)", rate / (n / best_raw));
    println!("ratio against pre-parsed keys = {:.2}", rate / (n / best_raw_parsed));
}
