//! `records import` throughput: a generated 100 000-row GB18030 penalty CSV (2% bad rows),
//! first parse + validate only (`--dry-run`), then the full import into a real node
//! (credfed-node library on 127.0.0.1:0, as the tests start it). Target: 100 000 rows ≤ 60 s.
//!
//! `cargo bench -p credfed-admin --bench import` (add `-- 20000` for fewer rows). Set
//! `IMPORT_BENCH_KEEP=DIR` to keep the CSV and reports in DIR.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::national::{gb18030, penalty_csv};
use common::{code, stderr, stdout, LiveNode};

fn main() {
    let rows: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("IMPORT_BENCH_KEEP").map_or_else(|| tmp.path().to_path_buf(), Into::into);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("penalties-gb18030.csv");
    let t = Instant::now();
    let (text, bad) = penalty_csv(rows, 50, 7);
    let bytes = gb18030(&text);
    std::fs::write(&file, &bytes).unwrap();
    println!(
        "generated {rows} rows ({} bad, {:.1} MiB GB18030) in {:.1} s: {}",
        bad.len(),
        bytes.len() as f64 / 1048576.0,
        t.elapsed().as_secs_f64(),
        file.display()
    );
    let _ = std::fs::remove_file(dir.join("penalties-gb18030.csv.progress"));
    let f = file.to_str().unwrap();
    let node = LiveNode::start();
    for (label, args) in [
        ("dry run (parse + validate)", vec!["--json", "records", "import", f, "--dry-run"]),
        ("full import", vec!["--json", "records", "import", f]),
    ] {
        let t = Instant::now();
        let o = node.admin(&dir, Some("submit"), &args);
        let secs = t.elapsed().as_secs_f64();
        let s: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("exit {}: {e}\n{}\n{}", code(&o), stdout(&o), stderr(&o)));
        println!(
            "{label}: {rows} rows in {secs:.1} s = {:.0} rows/s (created {}, rejected {}, route {}, national {})",
            rows as f64 / secs,
            s["created"],
            s["rejected"],
            s["route"],
            s["national"]
        );
        assert_eq!(s["rejected"].as_u64(), Some(bad.len() as u64), "{s}");
    }
}
