//! Envelope verification cost against raw Ed25519: the envelope path must cost little more
//! than the signature check it exists for.
//!
//! ```sh
//! cargo bench -p credfed-protocol --bench envelope
//! ```
//!
//! Measured on the realistic penalty-record envelope of the published vectors
//! (`tests/vectors/envelopes.json`, signer `xinyang-samr`):
//!
//! * **a** `ed25519_dalek::VerifyingKey::verify_strict` on the exact signed bytes
//!   (`"credfed/v1/envelope" ‖ 0x00 ‖ body`), key already parsed: the floor;
//! * **b** `Envelope::decode(bytes)` + `verify(ENVELOPE_DOMAIN)`: envelope verification;
//! * **c** `objects::open(bytes)`: decode, verify and strict body decode;
//! * **b_cold**: as b, but every envelope has another signer (1024 signers, more than the
//!   per-thread cache of parsed keys holds), so each decode decompresses its key: the worst
//!   case, where b is the usual one (a federation has a few dozen signing keys).
//!
//! Criterion runs first. Then, in the same process, plain timed loops (interleaved rounds of
//! 0.5 s, at least `CREDFED_BENCH_SECS` seconds per measurement, default 2) print one summary
//! line with the throughputs and the ratios to a, so every ratio comes from one run.

#[allow(dead_code)]
#[path = "../tests/support/envelope_vectors.rs"]
mod envelope_vectors;

use std::cell::Cell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use credfed_protocol::envelope::{signing_input, Envelope, ENVELOPE_DOMAIN};
use credfed_protocol::objects::{self, Body};
use criterion::{Criterion, Throughput};

/// Signers of the cold-key variant.
const COLD_SIGNERS: usize = 1024;

struct Fixture {
    /// The encoded envelope.
    bytes: Vec<u8>,
    /// `domain ‖ 0x00 ‖ body`: what the signature covers.
    signed: Vec<u8>,
    key: ed25519_dalek::VerifyingKey,
    signature: ed25519_dalek::Signature,
    /// The same body signed by `COLD_SIGNERS` different keys.
    cold: Vec<Vec<u8>>,
    next_cold: Cell<usize>,
}

fn fixture() -> Fixture {
    let body: Body = envelope_vectors::penalty_body();
    let env = body.sign(&envelope_vectors::key("xinyang-samr"));
    let cold = (0..COLD_SIGNERS).map(|i| body.sign(&envelope_vectors::key(&format!("cold-{i}"))).encode()).collect();
    Fixture {
        bytes: env.encode(),
        signed: signing_input(ENVELOPE_DOMAIN, &env.body),
        key: ed25519_dalek::VerifyingKey::from_bytes(env.signer.as_bytes()).expect("valid key"),
        signature: ed25519_dalek::Signature::from_bytes(env.signature.as_bytes()),
        cold,
        next_cold: Cell::new(0),
    }
}

fn raw_verify(f: &Fixture) -> bool {
    f.key.verify_strict(black_box(&f.signed), black_box(&f.signature)).is_ok()
}

fn envelope_verify(f: &Fixture) -> bool {
    Envelope::decode(black_box(&f.bytes)).and_then(|e| e.verify(ENVELOPE_DOMAIN)).is_ok()
}

fn open(f: &Fixture) -> bool {
    objects::open(black_box(&f.bytes)).is_ok()
}

fn envelope_verify_cold(f: &Fixture) -> bool {
    let i = f.next_cold.get();
    f.next_cold.set((i + 1) % COLD_SIGNERS);
    Envelope::decode(black_box(&f.cold[i])).and_then(|e| e.verify(ENVELOPE_DOMAIN)).is_ok()
}

type Measurement = (&'static str, fn(&Fixture) -> bool);

const MEASUREMENTS: [Measurement; 4] = [
    ("a_verify_strict_raw", raw_verify),
    ("b_decode_verify", envelope_verify),
    ("c_open", open),
    ("b_cold_decode_verify_new_signer", envelope_verify_cold),
];

fn criterion_benches(c: &mut Criterion, f: &Fixture) {
    let mut g = c.benchmark_group("envelope");
    g.throughput(Throughput::Elements(1));
    for (name, run) in MEASUREMENTS {
        g.bench_function(name, |b| b.iter(|| assert!(run(f))));
    }
    g.finish();
}

/// Runs `run` for at least `slice`; returns (operations, elapsed).
fn timed(f: &Fixture, run: fn(&Fixture) -> bool, slice: Duration) -> (u64, Duration) {
    let start = Instant::now();
    let mut n = 0u64;
    loop {
        for _ in 0..32 {
            assert!(run(f));
        }
        n += 32;
        let t = start.elapsed();
        if t >= slice {
            return (n, t);
        }
    }
}

/// Operations per second of every measurement, from interleaved rounds of `slice` until each
/// has run at least `min`.
fn ops_per_sec(f: &Fixture, min: Duration) -> [f64; 4] {
    let slice = Duration::from_millis(500);
    for (_, run) in MEASUREMENTS {
        timed(f, run, Duration::from_millis(200)); // warm-up
    }
    let mut totals = [(0u64, Duration::ZERO); 4];
    while totals.iter().any(|(_, t)| *t < min) {
        for (total, (_, run)) in totals.iter_mut().zip(MEASUREMENTS) {
            let (n, t) = timed(f, run, slice);
            total.0 += n;
            total.1 += t;
        }
    }
    totals.map(|(n, t)| n as f64 / t.as_secs_f64())
}

fn main() {
    let f = fixture();
    for (name, run) in MEASUREMENTS {
        assert!(run(&f), "{name} must succeed on the fixture");
    }
    let mut c = Criterion::default().configure_from_args();
    criterion_benches(&mut c, &f);
    c.final_summary();

    // `cargo test --benches` runs this binary without `--bench`: criterion then only checks
    // each function once, and the timed loops are skipped.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let secs = std::env::var("CREDFED_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(2.0f64).max(2.0);
    let [a, b, c, cold] = ops_per_sec(&f, Duration::from_secs_f64(secs));
    println!(
        "envelope summary: body {} B, envelope {} B | a verify_strict {a:.0} ops/s | b decode+verify {b:.0} ops/s \
         | c open {c:.0} ops/s | b/a {:.3} | c/a {:.3} | b_cold (new signer each time) {cold:.0} ops/s, b_cold/a {:.3} \
         | timed loops >= {secs} s each, interleaved, one process",
        f.signed.len() - ENVELOPE_DOMAIN.len() - 1,
        f.bytes.len(),
        b / a,
        c / a,
        cold / a,
    );
}
