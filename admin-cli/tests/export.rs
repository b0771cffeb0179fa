//! `records export` against a real node: a national-format file imported, exported back in
//! GB18030 across several pages, and imported again — every row whose subject can travel comes
//! back as a duplicate of its record (same natural key, same content: the columns round-trip),
//! natural persons' rows are refused (their ID numbers never leave the node).

mod common;

use common::national::{gb18030, penalty_csv};
use common::{code, stderr, stdout, LiveNode};
use serde_json::Value;

fn json(o: &std::process::Output) -> Value {
    serde_json::from_str(stdout(o).trim()).unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(o), stderr(o)))
}

#[test]
fn exported_columns_import_back_as_the_same_records() {
    let n = LiveNode::start();
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("in.csv");
    let (text, bad) = penalty_csv(150, 1_000_000, 7);
    assert!(bad.is_empty());
    std::fs::write(&src, gb18030(&text)).unwrap();
    let o = n.admin(d.path(), Some("submit"), &["--json", "records", "import", src.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["created"].as_u64(), Some(150));

    let out = d.path().join("out.csv");
    // The rows were decided in March 2025 and their publicity is over today: bodies that are
    // no longer public are not exported, so export as of a day they were.
    let o = n.admin(d.path(), Some("query"), &["--json", "records", "export", "--kind", "penalty", "--out", "now.csv"]);
    assert_eq!(json(&o)["rows"].as_u64(), Some(0), "{}", stderr(&o));
    let args = [
        "--json",
        "records",
        "export",
        "--kind",
        "penalty",
        "--as-of",
        "2025-04-01",
        "--encoding",
        "gb18030",
        "--page-size",
        "40",
        "--out",
    ];
    let o = n.admin(d.path(), Some("query"), &[&args[..], &[out.to_str().unwrap()]].concat());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let s = json(&o);
    assert_eq!((s["rows"].as_u64(), s["pages"].as_u64()), (Some(150), Some(4)), "{s}");
    assert!(!d.path().join("out.csv.partial").exists());
    let bytes = std::fs::read(&out).unwrap();
    assert!(std::str::from_utf8(&bytes).is_err(), "GB18030, not UTF-8");
    let (decoded, _, errors) = encoding_rs::GB18030.decode(&bytes);
    assert!(!errors);
    let mut r = csv::Reader::from_reader(decoded.as_bytes());
    assert_eq!(&r.headers().unwrap()[0], "CF_WSH", "one header");
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 150, "the header is not repeated per page");

    // Import the export: natural persons (every 9th row) cannot come back without their ID
    // numbers; every other row is a duplicate of the record it came from.
    let persons = (1..=150).filter(|r| r % 9 == 0).count() as u64;
    let o = n.admin(d.path(), Some("submit"), &["--json", "records", "import", out.to_str().unwrap()]);
    let s = json(&o);
    assert_eq!(
        (s["created"].as_u64(), s["duplicate"].as_u64(), s["conflict"].as_u64(), s["rejected"].as_u64()),
        (Some(0), Some(150 - persons), Some(0), Some(persons)),
        "{s}\n{}",
        stderr(&o)
    );

    // Refusals name what is wrong.
    let o = n.admin(d.path(), Some("query"), &["records", "export"]);
    assert_eq!(code(&o), 2, "csv needs a kind");
    assert!(stderr(&o).contains("--kind"), "{}", stderr(&o));
    let o = n.admin(d.path(), Some("query"), &["records", "export", "--kind", "penalty", "--status", "gone"]);
    assert_eq!(code(&o), 3);
    assert!(stderr(&o).contains("status"), "{}", stderr(&o));
    // NDJSON to stdout: one record view a line.
    let o = n.admin(
        d.path(),
        Some("query"),
        &["records", "export", "--format", "ndjson", "--page-size", "100", "--as-of", "2025-04-01"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 150);
}
