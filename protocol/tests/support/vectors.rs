//! The published test vectors (`tests/vectors/*.json`): one generator per file, shared by
//! `examples/gen_vectors.rs`, which writes the files, and the `tests/vectors_*.rs` tests, which
//! check each file against the library and that the committed file is exactly what its generator
//! produces. See `tests/vectors/README.md`.
#![allow(dead_code)]

#[path = "audit_vectors.rs"]
pub mod audit;
#[path = "calendar_vectors.rs"]
pub mod calendar;
#[path = "envelope_vectors.rs"]
pub mod envelopes;
#[path = "uscc_vectors.rs"]
pub mod uscc;

use std::path::PathBuf;

use serde::Serialize;

/// Every vector file, in the order the generator writes them.
pub const FILES: &[&str] = &["envelopes.json", "uscc.json", "calendar.json", "merkle.json", "checkpoints.json"];

/// The command that regenerates every file.
pub const REGENERATE: &str = "cargo run -p credfed-protocol --example gen_vectors";

/// `protocol/tests/vectors/`.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("vectors")
}

/// Pretty JSON (two-space indent) with a final newline: the published text form.
pub fn render<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("vectors serialize");
    text.push('\n');
    text
}

/// The text of `file` as its generator produces it.
///
/// # Panics
/// For a name not in [`FILES`].
pub fn generate(file: &str) -> String {
    match file {
        "envelopes.json" => render(&envelopes::vectors()),
        "uscc.json" => render(&uscc::vectors()),
        "calendar.json" => render(&calendar::vectors()),
        "merkle.json" => render(&audit::merkle_vectors()),
        "checkpoints.json" => render(&audit::checkpoint_vectors()),
        other => panic!("no generator for {other}"),
    }
}

/// The committed text of `file`.
pub fn committed(file: &str) -> String {
    let path = dir().join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Panics unless the committed `file` is byte-for-byte what its generator produces.
pub fn assert_committed_is_generated(file: &str) {
    let (have, want) = (committed(file), generate(file));
    if have != want {
        let line = have.lines().zip(want.lines()).position(|(a, b)| a != b).map_or_else(
            || format!("lengths differ ({} vs {} lines)", have.lines().count(), want.lines().count()),
            |i| format!("first difference at line {}", i + 1),
        );
        panic!("tests/vectors/{file} differs from its generator ({line}): run `{REGENERATE}`");
    }
}
