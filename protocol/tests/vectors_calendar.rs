//! Checks the published working-day vectors (`tests/vectors/calendar.json`, made by
//! `cargo run -p credfed-protocol --example gen_vectors`) against the built-in calendar, pins
//! the DOMAIN R10.4 vectors to the values DOMAIN.md states, so a regenerated file cannot drift
//! from them, and checks the committed file is exactly what its generator produces.

#[path = "support/vectors.rs"]
mod vectors;

use credfed_protocol::calendar::Calendar;
use credfed_protocol::Day;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    start: Day,
    working_days: u32,
    expected: Day,
    #[serde(default)]
    provisional: bool,
    description: String,
}

fn vectors() -> Vec<Vector> {
    serde_json::from_str(&vectors::committed("calendar.json")).expect("vectors parse")
}

#[test]
fn vectors_match_builtin_calendar() {
    let cal = Calendar::builtin();
    let vectors = vectors();
    assert!(vectors.len() >= 15, "only {} vectors", vectors.len());
    for v in &vectors {
        let got = cal.add_working_days(v.start, v.working_days);
        assert_eq!(got.day, v.expected, "{} + {} WD: {}", v.start, v.working_days, v.description);
        assert_eq!(got.provisional, v.provisional, "{} + {} WD: {}", v.start, v.working_days, v.description);
        let back = cal.working_days_between(v.start, v.expected);
        assert_eq!(back.count, v.working_days, "between {} and {}", v.start, v.expected);
    }
    assert!(vectors.iter().any(|v| v.provisional && v.expected.year() == 2027));
}

/// DOMAIN R10.4, exactly as stated there.
#[test]
fn r10_4_vectors_are_published() {
    let vectors = vectors();
    for (start, n, expected) in [
        ("2024-09-27", 7, "2024-10-12"),
        ("2024-02-08", 7, "2024-02-23"),
        ("2025-01-24", 7, "2025-02-10"),
        ("2025-09-26", 7, "2025-10-13"),
        ("2026-02-12", 7, "2026-02-28"),
        ("2024-04-30", 3, "2024-05-08"),
        ("2024-12-31", 10, "2025-01-15"),
    ] {
        let start: Day = start.parse().unwrap();
        let v = vectors
            .iter()
            .find(|v| v.start == start && v.working_days == n)
            .unwrap_or_else(|| panic!("R10.4 vector {start} + {n} missing"));
        assert_eq!(v.expected.to_string(), expected);
        assert!(!v.provisional && v.description.starts_with("R10.4"));
    }
}

#[test]
fn committed_file_is_generated() {
    vectors::assert_committed_is_generated("calendar.json");
}
