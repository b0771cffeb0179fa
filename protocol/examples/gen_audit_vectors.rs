//! Writes the published audit vectors: `tests/vectors/merkle.json` and
//! `tests/vectors/checkpoints.json`. Deterministic (fixed leaves, keys derived from fixed
//! labels, deterministic Ed25519), so re-running yields identical files;
//! `tests/vectors_audit.rs` fails if the files drift from this output.
//!
//! `cargo run -p credfed-protocol --example gen_audit_vectors`

#[path = "../tests/support/audit_vectors.rs"]
mod audit_vectors;

use std::path::Path;

fn main() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    std::fs::create_dir_all(&dir)?;
    for (file, value) in
        [("merkle.json", audit_vectors::merkle_vectors()), ("checkpoints.json", audit_vectors::checkpoint_vectors())]
    {
        let mut text = serde_json::to_string_pretty(&value).map_err(std::io::Error::other)?;
        text.push('\n');
        std::fs::write(dir.join(file), text)?;
        println!("wrote {}", dir.join(file).display());
    }
    Ok(())
}
