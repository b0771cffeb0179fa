//! `tests/vectors/calendar.json`: working-day vectors (DOMAIN R10.4 and more) from the built-in
//! calendar (DOMAIN R10.8).
//!
//! Each vector reads: counting from the day after `start` (DOMAIN R2.2, R10.3), the
//! `working_days`-th working day is `expected`; `provisional` is true when the count crosses a
//! year whose holiday notice is not published (DOMAIN R10.2).

use credfed_protocol::calendar::Calendar;
use credfed_protocol::Day;
use serde::Serialize;

const CASES: &[(&str, u32, &str)] = &[
    ("2024-09-27", 7, "R10.4: Friday before National Day 2024; ends on make-up Saturday 10-12"),
    ("2024-02-08", 7, "R10.4: across Spring Festival 2024 (02-10..02-17 off, 02-18 make-up Sunday)"),
    ("2025-01-24", 7, "R10.4: across Spring Festival 2025 (make-up 01-26, 02-08; 01-28..02-04 off)"),
    ("2025-09-26", 7, "R10.4: across National Day 2025 (make-up 09-28, 10-11; 10-01..10-08 off)"),
    ("2026-02-12", 7, "R10.4: across Spring Festival 2026; ends on make-up Saturday 02-28"),
    ("2024-04-30", 3, "R10.4: across Labour Day 2024 (05-01..05-05 off); withdrawal-style 3 WD (R2.7)"),
    ("2024-12-31", 10, "R10.4: across New Year 2025; cross-region receipt-style 10 WD (R11.4)"),
    ("2024-02-02", 1, "Friday + 1 lands on make-up Sunday 2024-02-04"),
    ("2024-06-07", 1, "Dragon Boat Monday 2024-06-10 is off"),
    ("2024-09-30", 1, "National Day 2024 week (10-01..10-07) is skipped"),
    ("2025-04-30", 1, "Labour Day 2025 (05-01..05-05) is skipped"),
    ("2025-05-30", 2, "Dragon Boat 2025 (05-31..06-02) is skipped"),
    ("2025-12-31", 1, "New Year 2026 (01-01..01-03) off; make-up Sunday 2026-01-04 counts"),
    ("2025-01-27", 5, "Spring Festival 2025 off, make-up Saturday 02-08 counts"),
    ("2026-05-08", 1, "make-up Saturday 2026-05-09"),
    ("2026-09-24", 2, "Mid-Autumn 2026 (09-25..09-27) is skipped"),
    ("2026-09-30", 3, "National Day 2026 (10-01..10-07) off; ends on make-up Saturday 10-10"),
    ("2026-06-18", 1, "Dragon Boat 2026 (06-19..06-21) is skipped"),
    ("2026-12-28", 2, "stays inside published 2026: not provisional"),
    ("2026-12-30", 3, "crosses into 2027 (unpublished): Mon-Fri, provisional"),
    ("2027-03-01", 10, "inside unpublished 2027: Mon-Fri, provisional"),
    ("2024-10-05", 0, "zero working days: the start day itself, even on a holiday"),
];

/// One published case.
#[derive(Serialize)]
pub struct Vector {
    start: Day,
    working_days: u32,
    expected: Day,
    provisional: bool,
    description: &'static str,
}

/// Every case, in file order.
pub fn vectors() -> Vec<Vector> {
    let cal = Calendar::builtin();
    CASES
        .iter()
        .map(|&(start, n, description)| {
            let start: Day = start.parse().expect("case dates are valid");
            let got = cal.add_working_days(start, n);
            Vector { start, working_days: n, expected: got.day, provisional: got.provisional, description }
        })
        .collect()
}
