//! Calendar days (China-local, DOMAIN R10.7) and signing timestamps.
//!
//! A [`Day`] is a proleptic Gregorian date, encoded everywhere (CBOR bodies,
//! JSON) as the text `YYYY-MM-DD`. Timestamps are Unix seconds (`u64`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Duration, Month, Weekday};

/// Seconds east of UTC for Asia/Shanghai (no DST since 1991).
pub const CHINA_UTC_OFFSET_SECS: i64 = 8 * 3600;

/// A calendar day in China-local time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(Date);

/// A string that is not a valid `YYYY-MM-DD` day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date {input:?}: expected YYYY-MM-DD")]
pub struct DayParseError {
    /// The rejected input.
    pub input: String,
}

impl Day {
    /// Builds a day from year, month (1-12) and day of month; `None` when it does not exist.
    pub fn from_ymd(year: i32, month: u8, day: u8) -> Option<Day> {
        let month = Month::try_from(month).ok()?;
        Date::from_calendar_date(year, month, day).ok().map(Day)
    }

    /// The China-local day containing the Unix timestamp `secs`.
    pub fn from_unix_china(secs: u64) -> Day {
        let local = secs as i64 + CHINA_UTC_OFFSET_SECS;
        let days = local.div_euclid(86_400);
        Day(Date::from_julian_day(UNIX_EPOCH_JULIAN + days as i32).expect("timestamp within range"))
    }

    /// Unix timestamp of 00:00 China-local time on this day.
    pub fn start_unix_china(self) -> i64 {
        (self.0.to_julian_day() - UNIX_EPOCH_JULIAN) as i64 * 86_400 - CHINA_UTC_OFFSET_SECS
    }

    /// Year.
    pub fn year(self) -> i32 {
        self.0.year()
    }
    /// Month, 1-12.
    pub fn month(self) -> u8 {
        self.0.month() as u8
    }
    /// Day of month, 1-31.
    pub fn day(self) -> u8 {
        self.0.day()
    }
    /// Day of the week.
    pub fn weekday(self) -> Weekday {
        self.0.weekday()
    }
    /// Saturday or Sunday.
    pub fn is_weekend(self) -> bool {
        matches!(self.weekday(), Weekday::Saturday | Weekday::Sunday)
    }
    /// The next day.
    pub fn succ(self) -> Day {
        Day(self.0 + Duration::days(1))
    }
    /// `self + n` calendar days (n may be negative).
    pub fn add_days(self, n: i64) -> Day {
        Day(self.0 + Duration::days(n))
    }
    /// Days from `self` to `other` (positive when `other` is later).
    pub fn days_until(self, other: Day) -> i64 {
        (other.0 - self.0).whole_days()
    }

    /// `self + n` months under Civil Code art. 202 (DOMAIN R10.3): the period ends on the
    /// corresponding day of the final month, or on its last day when there is none.
    pub fn add_months(self, n: u32) -> Day {
        let total = self.0.year() as i64 * 12 + (self.0.month() as i64 - 1) + n as i64;
        let year = total.div_euclid(12) as i32;
        let month = Month::try_from((total.rem_euclid(12) + 1) as u8).expect("1..=12");
        let last = month.length(year);
        Day(Date::from_calendar_date(year, month, self.0.day().min(last)).expect("valid"))
    }

    /// Last day of this day's month.
    pub fn last_of_month(self) -> Day {
        let last = self.0.month().length(self.0.year());
        Day(self.0.replace_day(last).expect("valid"))
    }
}

const UNIX_EPOCH_JULIAN: i32 = 2_440_588;

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.0.year(), self.0.month() as u8, self.0.day())
    }
}

impl fmt::Debug for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Day({self})")
    }
}

impl FromStr for Day {
    type Err = DayParseError;
    fn from_str(s: &str) -> Result<Day, DayParseError> {
        let err = || DayParseError { input: s.chars().take(40).collect() };
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = &s[r];
            part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok()).flatten()
        };
        let (y, m, d) = (digits(0..4).ok_or_else(err)?, digits(5..7).ok_or_else(err)?, digits(8..10).ok_or_else(err)?);
        Day::from_ymd(y as i32, m as u8, d as u8).ok_or_else(err)
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Day, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Day {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_display_round_trip() {
        for s in ["2026-01-05", "2024-02-29", "1999-12-31"] {
            assert_eq!(d(s).to_string(), s);
        }
        for bad in ["2026-1-05", "2025-02-29", "2026-13-01", "20260105", "2026-01-0x", "+026-01-05", ""] {
            assert!(bad.parse::<Day>().is_err(), "{bad}");
        }
    }

    #[test]
    fn months_clamp_to_month_end() {
        assert_eq!(d("2026-01-31").add_months(1), d("2026-02-28"));
        assert_eq!(d("2024-01-31").add_months(1), d("2024-02-29"));
        assert_eq!(d("2026-01-05").add_months(3), d("2026-04-05"));
        assert_eq!(d("2025-11-30").add_months(12), d("2026-11-30"));
        assert_eq!(d("2025-11-30").add_months(36), d("2028-11-30"));
    }

    #[test]
    fn unix_china_day_boundaries() {
        // 2026-01-01T00:00:00+08:00 = 2025-12-31T16:00:00Z = 1767196800
        assert_eq!(Day::from_unix_china(1_767_196_800), d("2026-01-01"));
        assert_eq!(Day::from_unix_china(1_767_196_799), d("2025-12-31"));
        assert_eq!(d("2026-01-01").start_unix_china(), 1_767_196_800);
    }
}
