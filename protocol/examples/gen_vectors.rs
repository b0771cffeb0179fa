//! (Re)writes every published test vector file in `protocol/tests/vectors/`:
//! `envelopes.json`, `uscc.json`, `calendar.json`, `merkle.json` and `checkpoints.json`.
//!
//! ```sh
//! cargo run -p credfed-protocol --example gen_vectors
//! ```
//!
//! Output is deterministic (fixed inputs, keys derived from labels, deterministic Ed25519), so
//! re-running on an unchanged library rewrites identical files. The generators live in
//! `tests/support/`; the `tests/vectors_*.rs` tests fail when a committed file differs from
//! their output. Schemas: `tests/vectors/README.md`.

#[path = "../tests/support/vectors.rs"]
mod vectors;

fn main() -> std::io::Result<()> {
    let dir = vectors::dir();
    std::fs::create_dir_all(&dir)?;
    for file in vectors::FILES {
        let path = dir.join(file);
        let text = vectors::generate(file);
        let status = match std::fs::read_to_string(&path) {
            Ok(old) if old == text => "unchanged",
            Ok(_) => "updated",
            Err(_) => "created",
        };
        std::fs::write(&path, &text)?;
        println!("{status:9} {} ({} bytes)", path.display(), text.len());
    }
    Ok(())
}
