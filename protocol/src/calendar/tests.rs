use super::*;

fn d(s: &str) -> Day {
    s.parse().unwrap()
}

#[test]
fn builtin_parses() {
    let cal = Calendar::from_json(BUILTIN_JSON).unwrap();
    assert_eq!(cal.years().map(|y| y.year).collect::<Vec<_>>(), [2024, 2025, 2026]);
    assert!(cal.years().all(|y| y.published));
    assert_eq!(cal, Calendar::builtin());
}

/// DOMAIN R10.4, every vector exactly.
#[test]
fn r10_4_vectors() {
    let cal = Calendar::builtin();
    for (start, n, expected) in [
        ("2024-09-27", 7, "2024-10-12"),
        ("2024-02-08", 7, "2024-02-23"),
        ("2025-01-24", 7, "2025-02-10"),
        ("2025-09-26", 7, "2025-10-13"),
        ("2026-02-12", 7, "2026-02-28"),
        ("2024-04-30", 3, "2024-05-08"),
        ("2024-12-31", 10, "2025-01-15"),
    ] {
        let got = cal.add_working_days(d(start), n);
        assert_eq!(got, Deadline { day: d(expected), provisional: false }, "{start} + {n}");
        assert_eq!(cal.working_days_between(d(start), d(expected)).count, n);
    }
}

/// DOMAIN R10.6: every make-up day is a working weekend day.
#[test]
fn r10_6_make_up_days_are_working() {
    let cal = Calendar::builtin();
    for s in [
        "2024-02-04",
        "2024-02-18",
        "2024-04-07",
        "2024-04-28",
        "2024-05-11",
        "2024-09-14",
        "2024-09-29",
        "2024-10-12",
        "2025-01-26",
        "2025-02-08",
        "2025-04-27",
        "2025-09-28",
        "2025-10-11",
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ] {
        assert!(d(s).is_weekend() && cal.is_working_day(d(s)), "{s}");
    }
    assert!(!cal.is_working_day(d("2026-10-07")));
    assert!(cal.is_working_day(d("2026-10-08")));
    assert!(!cal.is_working_day(d("2026-10-11")));
}

#[test]
fn unpublished_years_are_provisional_mon_fri() {
    let cal = Calendar::builtin();
    // 2026-12-31 (Thu) is counted, then 2027-01-01 (Fri, provisional) and 2027-01-04 (Mon).
    assert_eq!(cal.add_working_days(d("2026-12-30"), 3), Deadline { day: d("2027-01-04"), provisional: true });
    assert!(!cal.add_working_days(d("2026-12-28"), 2).provisional);
    assert!(cal.add_working_days(d("2023-12-28"), 1).provisional);
    assert_eq!(cal.add_working_days(d("2027-03-05"), 5).day, d("2027-03-12"));
    assert_eq!(cal.add_working_days(d("2027-03-06"), 5).day, d("2027-03-12"));
    assert_eq!(cal.add_working_days(d("2024-10-05"), 0), Deadline { day: d("2024-10-05"), provisional: false });
}

#[test]
fn huge_counts_saturate_without_panicking() {
    let cal = Calendar::builtin();
    let got = cal.add_working_days(d("2026-01-01"), u32::MAX);
    assert_eq!(got, Deadline { day: d("9999-12-31"), provisional: true });
    let got = cal.add_working_days(d("9999-12-30"), 5);
    assert_eq!(got.day, d("9999-12-31"));
    assert!(cal.working_days_between(d("0000-01-01"), d("9999-12-31")).count > 2_000_000);
}

#[test]
fn add_and_between_agree_on_mon_fri_stretch() {
    let cal = Calendar::builtin();
    for start in ["2026-11-02", "2026-11-07", "2027-05-01", "2023-06-10"] {
        for n in 0..40 {
            let end = cal.add_working_days(d(start), n);
            assert_eq!(cal.working_days_between(d(start), end.day).count, n, "{start} {n}");
        }
    }
}

#[test]
fn holiday_cn_format_and_override() {
    let json = r#"{"$schema":"x","$id":"y","year":2027,"papers":["https://www.gov.cn/x"],
        "days":[{"name":"元旦","date":"2027-01-01","isOffDay":true},
                {"name":"春节","date":"2027-02-07","isOffDay":false},
                {"name":"元旦","date":"2026-12-31","isOffDay":true}]}"#;
    let over = Calendar::from_json(json).unwrap();
    let y = over.years().next().unwrap();
    assert!(y.published);
    assert_eq!(y.source.as_deref(), Some("https://www.gov.cn/x"));
    let mut cal = Calendar::builtin();
    cal.merge_override(over);
    assert!(cal.is_published(2027) && cal.is_published(2026));
    assert!(!cal.is_working_day(d("2027-01-01")));
    assert!(cal.is_working_day(d("2027-02-07")));
    // The 2027 notice wins for its December date.
    assert!(!cal.is_working_day(d("2026-12-31")));
    let placeholder = Calendar::from_json(r#"{"year":2028,"papers":[],"days":[]}"#).unwrap();
    assert!(!placeholder.is_published(2028));
}

#[test]
fn round_trip_own_format() {
    let cal = Calendar::builtin();
    assert_eq!(Calendar::from_json(&cal.to_json()).unwrap(), cal);
}

#[test]
fn errors_name_the_problem() {
    let own = |off: &str, work: &str| {
        Calendar::from_json(&format!(
            r#"{{"years":[{{"year":2027,"published":true,"days_off":[{off}],"working_weekends":[{work}]}}]}}"#
        ))
    };
    assert_eq!(own(r#""2027-02-30""#, ""), Err(CalendarError::BadDate { year: 2027, input: "2027-02-30".into() }));
    assert_eq!(own(r#""2028-01-01""#, ""), Err(CalendarError::YearMismatch { year: 2027, date: d("2028-01-01") }));
    assert_eq!(own(r#""2026-11-30""#, ""), Err(CalendarError::YearMismatch { year: 2027, date: d("2026-11-30") }));
    assert_eq!(
        own(r#""2027-02-06""#, r#""2027-02-06""#),
        Err(CalendarError::Conflict { year: 2027, date: d("2027-02-06") })
    );
    assert_eq!(own("", r#""2027-02-08""#), Err(CalendarError::NotAWeekend { year: 2027, date: d("2027-02-08") }));
    assert!(own(r#""2026-12-31""#, "").is_ok());
    let dup = r#"{"years":[{"year":2027,"published":false},{"year":2027,"published":true}]}"#;
    assert_eq!(Calendar::from_json(dup), Err(CalendarError::DuplicateYear { year: 2027 }));
    let far = r#"{"years":[{"year":99999999999,"published":false}]}"#;
    assert_eq!(Calendar::from_json(far), Err(CalendarError::YearOutOfRange { year: 99_999_999_999 }));
    assert_eq!(Calendar::from_json("[]"), Err(CalendarError::UnknownFormat));
    assert!(matches!(Calendar::from_json("{"), Err(CalendarError::Malformed(_))));
    assert!(matches!(Calendar::from_json(r#"{"years":[{"year":2027}]}"#), Err(CalendarError::Malformed(_))));
    let big = " ".repeat(MAX_CALENDAR_JSON_LEN + 1);
    assert!(matches!(Calendar::from_json(&big), Err(CalendarError::TooLarge { .. })));
}

mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// `working_days_between` inverts `add_working_days`, across published and provisional
        /// years, the deadline is a working day, and it is provisional exactly when a counted day
        /// lies in an unpublished year.
        #[test]
        fn add_and_between_are_inverse(off in 0i64..(6 * 366), n in 0u32..400) {
            let cal = Calendar::builtin();
            let start = d("2023-01-01").add_days(off);
            let end = cal.add_working_days(start, n);
            prop_assert_eq!(cal.working_days_between(start, end.day).count, n);
            prop_assert!(n == 0 || cal.is_working_day(end.day));
            // `start` itself is not counted, so only the years of the counted days matter.
            let all_published = (start.succ().year()..=end.day.year()).all(|y| cal.is_published(y));
            prop_assert_eq!(end.provisional, n > 0 && !all_published);
        }

        /// Arbitrary text never panics the parser.
        #[test]
        fn from_json_never_panics(s in ".{0,200}") {
            let _ = Calendar::from_json(&s);
            let _ = Calendar::from_json(&format!(r#"{{"years":[{{"year":2027,"published":true,"days_off":["{s}"]}}]}}"#));
            let _ = Calendar::from_json(&format!(r#"{{"year":2027,"days":[{{"date":"{s}","isOffDay":false}}]}}"#));
        }
    }
}
