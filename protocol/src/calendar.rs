//! The national working-day calendar (工作日, DOMAIN §10).
//!
//! # Data model
//!
//! A [`Calendar`] holds one [`CalendarYear`] per year for which the State Council holiday notice
//! (国务院办公厅关于YYYY年部分节假日安排的通知, DOMAIN R10.2) is known:
//!
//! - `days_off`: statutory holidays and the weekend days joined to them (listing a weekend day is
//!   allowed and harmless);
//! - `working_weekends`: make-up working days (调休上班日), Saturdays or Sundays that are working
//!   days (DOMAIN R10.1, R10.6);
//! - `published`: whether the notice for that year has appeared. Any year that is absent, or
//!   present with `published: false`, is **provisional**: its days follow Monday–Friday and any
//!   deadline whose counting crosses it is flagged provisional (DOMAIN R10.2, R10.8).
//!
//! A year's notice may also fix days at the end of December of the previous year (a New Year
//! holiday or make-up day, DOMAIN R10.5), so year `Y` may list dates in `Y` or in December of
//! `Y - 1`; where two years disagree about such a date, the later year's notice wins.
//!
//! Every other day is a working day exactly when it is Monday–Friday. One national calendar
//! applies to every region (DOMAIN R10.7).
//!
//! [`Calendar::builtin`] carries the 2024–2026 notices (DOMAIN R10.8, `protocol/data/
//! calendar-builtin.json`). [`Calendar::from_json`] reads the same format or a
//! NateScarlet/holiday-cn year file (DOMAIN R10.5), and [`Calendar::merge_override`] lets an
//! operator file replace or add years.
//!
//! # Counting convention
//!
//! `add_working_days(start, n)` counts from the day **after** `start` (DOMAIN R2.2, R10.3, Civil
//! Code art. 201) and returns the `n`-th working day. Since that day is a working day, the art. 203
//! "ends on a holiday" shift never applies to working-day counts.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use serde::{Deserialize, Serialize, Serializer};

use crate::day::Day;

/// Largest calendar JSON document accepted by [`Calendar::from_json`] (bytes).
pub const MAX_CALENDAR_JSON_LEN: usize = 1 << 20;
/// Most dates one year may list in `days_off` or `working_weekends`.
pub const MAX_DAYS_PER_LIST: usize = 400;
/// Years a calendar file may describe.
pub const CALENDAR_YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

const BUILTIN_JSON: &str = include_str!("../data/calendar-builtin.json");

/// Why calendar data was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The document is larger than [`MAX_CALENDAR_JSON_LEN`].
    #[error("calendar document is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// Size of the input.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// Not JSON, or JSON of the wrong shape.
    #[error("calendar document is malformed: {0}")]
    Malformed(String),
    /// Neither `{"years":[…]}` nor a holiday-cn `{"year":…,"days":[…]}` object.
    #[error("unknown calendar format: expected an object with \"years\" or with \"year\" and \"days\"")]
    UnknownFormat,
    /// A year outside [`CALENDAR_YEARS`].
    #[error("calendar year {year} is out of range")]
    YearOutOfRange {
        /// The year.
        year: i64,
    },
    /// The same year appears twice in one document.
    #[error("calendar year {year} appears more than once")]
    DuplicateYear {
        /// The year.
        year: i32,
    },
    /// A date that is not `YYYY-MM-DD`.
    #[error("calendar year {year}: bad date {input:?}")]
    BadDate {
        /// The year entry.
        year: i32,
        /// The rejected text (truncated).
        input: String,
    },
    /// A date that belongs neither to the year nor to the previous December.
    #[error("calendar year {year}: date {date} belongs to another year")]
    YearMismatch {
        /// The year entry.
        year: i32,
        /// The date.
        date: Day,
    },
    /// A date listed both as a day off and as a working day.
    #[error("calendar year {year}: {date} is listed both as a day off and as a working day")]
    Conflict {
        /// The year entry.
        year: i32,
        /// The date.
        date: Day,
    },
    /// A make-up working day that is not a Saturday or Sunday.
    #[error("calendar year {year}: working weekend {date} is not a Saturday or Sunday")]
    NotAWeekend {
        /// The year entry.
        year: i32,
        /// The date.
        date: Day,
    },
    /// A list longer than [`MAX_DAYS_PER_LIST`].
    #[error("calendar year {year}: more than {max} dates in one list")]
    TooManyDays {
        /// The year entry.
        year: i32,
        /// The cap.
        max: usize,
    },
}

/// One year's holiday notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CalendarYear {
    /// The year the notice is for.
    pub year: i32,
    /// `true` once the State Council notice for the year has been published.
    pub published: bool,
    /// Where the data comes from (the notice URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Statutory holidays and weekend days joined to them.
    pub days_off: BTreeSet<Day>,
    /// Make-up working days (调休上班日): weekend days that are working days.
    pub working_weekends: BTreeSet<Day>,
}

/// A working day reached by counting: the day and whether it depends on unpublished years.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// The last day of the period (a working day, except when `n == 0`).
    pub day: Day,
    /// `true` when a day counted lies in a year whose holiday notice is not published
    /// (DOMAIN R10.2): recompute when the notice appears.
    pub provisional: bool,
}

/// The number of working days in a range, and whether it depends on unpublished years.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkingDayCount {
    /// Working days `d` with `from < d <= to`.
    pub count: u32,
    /// `true` when a day in the range lies in a year whose notice is not published.
    pub provisional: bool,
}

/// The working-day calendar. See the [module documentation](self).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeMap<i32, CalendarYear>,
    /// Derived: every listed date → is it a working day. Later years override earlier ones.
    effective: BTreeMap<Day, bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnFile {
    years: Vec<OwnYear>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnYear {
    year: i64,
    published: bool,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    days_off: Vec<String>,
    #[serde(default)]
    working_weekends: Vec<String>,
}

/// NateScarlet/holiday-cn year file; `$schema`, `$id` and other fields are ignored.
#[derive(Deserialize)]
struct HolidayCnFile {
    year: i64,
    #[serde(default)]
    papers: Vec<String>,
    days: Vec<HolidayCnDay>,
}

#[derive(Deserialize)]
struct HolidayCnDay {
    date: String,
    #[serde(rename = "isOffDay")]
    is_off_day: bool,
}

impl Calendar {
    /// An empty calendar: every year provisional, Monday–Friday only.
    pub fn empty() -> Calendar {
        Calendar::default()
    }

    /// The built-in calendar: the 2024, 2025 and 2026 notices (DOMAIN R10.8).
    pub fn builtin() -> Calendar {
        // The embedded file is checked by the `builtin_parses` test.
        Calendar::from_json(BUILTIN_JSON).unwrap_or_default()
    }

    /// Parses either calendar format:
    ///
    /// - ours: `{"years":[{"year":2027,"published":true,"source":"url","days_off":[…],
    ///   "working_weekends":[…]}]}`;
    /// - NateScarlet/holiday-cn: `{"year":2027,"papers":[…],"days":[{"name":"元旦",
    ///   "date":"2027-01-01","isOffDay":true}]}` (DOMAIN R10.5). A holiday-cn file with no
    ///   days is its placeholder for a year whose notice has not appeared: `published` is false.
    ///
    /// # Errors
    ///
    /// [`CalendarError`] naming the problem: oversize input, malformed JSON, a bad date, a date in
    /// the wrong year, a date that is both off and working, a make-up day that is not a weekend,
    /// or a year listed twice.
    pub fn from_json(json: &str) -> Result<Calendar, CalendarError> {
        if json.len() > MAX_CALENDAR_JSON_LEN {
            return Err(CalendarError::TooLarge { len: json.len(), max: MAX_CALENDAR_JSON_LEN });
        }
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| CalendarError::Malformed(e.to_string()))?;
        let obj = value.as_object().ok_or(CalendarError::UnknownFormat)?;
        let years = if obj.contains_key("years") {
            let file: OwnFile = serde_json::from_value(value).map_err(|e| CalendarError::Malformed(e.to_string()))?;
            file.years
                .into_iter()
                .map(|y| CalendarYear::build(y.year, y.published, y.source, &y.days_off, &y.working_weekends))
                .collect::<Result<Vec<_>, _>>()?
        } else if obj.contains_key("year") && obj.contains_key("days") {
            let file: HolidayCnFile =
                serde_json::from_value(value).map_err(|e| CalendarError::Malformed(e.to_string()))?;
            vec![CalendarYear::from_holiday_cn(file)?]
        } else {
            return Err(CalendarError::UnknownFormat);
        };
        let mut cal = Calendar::empty();
        for y in years {
            if cal.years.contains_key(&y.year) {
                return Err(CalendarError::DuplicateYear { year: y.year });
            }
            cal.years.insert(y.year, y);
        }
        cal.rebuild();
        Ok(cal)
    }

    /// Our JSON format (the one [`Calendar::from_json`] reads first).
    pub fn to_json(&self) -> String {
        // Serialising plain data into a String cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Replaces or adds every year of `other` (an operator override file, DOMAIN R10.5).
    /// Years `other` does not mention are kept.
    pub fn merge_override(&mut self, other: Calendar) {
        self.years.extend(other.years);
        self.rebuild();
    }

    /// The years described, in order.
    pub fn years(&self) -> impl Iterator<Item = &CalendarYear> {
        self.years.values()
    }

    /// Whether the holiday notice for `year` is known.
    pub fn is_published(&self, year: i32) -> bool {
        self.years.get(&year).is_some_and(|y| y.published)
    }

    /// Whether `day` is a working day: a listed make-up day, or a Monday–Friday that is not a
    /// listed day off (DOMAIN R10.1).
    pub fn is_working_day(&self, day: Day) -> bool {
        self.effective.get(&day).copied().unwrap_or(!day.is_weekend())
    }

    /// The `n`-th working day after `start` (DOMAIN R2.2, R10.3: `start` itself is not counted).
    /// `n == 0` returns `start`.
    ///
    /// Deadlines past 9999-12-31 saturate there and are provisional.
    pub fn add_working_days(&self, start: Day, n: u32) -> Deadline {
        let last = last_day(start);
        let data_end = self.effective.keys().next_back().copied();
        let mut day = start;
        let mut left = n;
        let mut provisional = false;
        while left > 0 {
            if data_end.is_none_or(|end| day >= end) {
                // No calendar data beyond here: plain Monday–Friday arithmetic.
                let end = add_weekdays(day, left, last);
                let saturated = end == last && day != last;
                let provisional = provisional || saturated || !self.all_published(day.succ_or(last), end);
                return Deadline { day: end, provisional };
            }
            if day >= last {
                return Deadline { day, provisional: true };
            }
            day = day.succ();
            provisional |= !self.is_published(day.year());
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        Deadline { day, provisional }
    }

    /// Working days `d` with `from < d <= to` (the inverse of [`Calendar::add_working_days`]);
    /// zero when `to <= from`. The count saturates at `u32::MAX`.
    pub fn working_days_between(&self, from: Day, to: Day) -> WorkingDayCount {
        if to <= from {
            return WorkingDayCount { count: 0, provisional: false };
        }
        let mut count = weekdays_between(from, to);
        for (&day, &working) in self.effective.range((Bound::Excluded(from), Bound::Included(to))) {
            match (working, day.is_weekend()) {
                (true, true) => count += 1,
                (false, false) => count -= 1,
                _ => {}
            }
        }
        let provisional = !self.all_published(from.succ_or(to), to);
        WorkingDayCount { count: u32::try_from(count.max(0)).unwrap_or(u32::MAX), provisional }
    }

    /// Whether every year from `from.year()` to `to.year()` is published.
    fn all_published(&self, from: Day, to: Day) -> bool {
        (from.year()..=to.year()).all(|y| self.is_published(y))
    }

    fn rebuild(&mut self) {
        self.effective.clear();
        // Ascending years: a later notice overrides what an earlier one said about its December.
        for y in self.years.values() {
            for d in &y.days_off {
                self.effective.insert(*d, false);
            }
            for d in &y.working_weekends {
                self.effective.insert(*d, true);
            }
        }
    }
}

impl Serialize for Calendar {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            years: Vec<&'a CalendarYear>,
        }
        Out { years: self.years.values().collect() }.serialize(s)
    }
}

impl CalendarYear {
    fn build(
        year: i64,
        published: bool,
        source: Option<String>,
        days_off: &[String],
        working: &[String],
    ) -> Result<CalendarYear, CalendarError> {
        let year = i32::try_from(year)
            .ok()
            .filter(|y| CALENDAR_YEARS.contains(y))
            .ok_or(CalendarError::YearOutOfRange { year })?;
        let parse_all = |list: &[String]| -> Result<BTreeSet<Day>, CalendarError> {
            if list.len() > MAX_DAYS_PER_LIST {
                return Err(CalendarError::TooManyDays { year, max: MAX_DAYS_PER_LIST });
            }
            list.iter().map(|s| parse_in_year(year, s)).collect()
        };
        let days_off = parse_all(days_off)?;
        let working_weekends = parse_all(working)?;
        if let Some(date) = working_weekends.iter().find(|d| !d.is_weekend()) {
            return Err(CalendarError::NotAWeekend { year, date: *date });
        }
        if let Some(date) = days_off.intersection(&working_weekends).next() {
            return Err(CalendarError::Conflict { year, date: *date });
        }
        let source = source.map(|s| s.chars().take(512).collect());
        Ok(CalendarYear { year, published, source, days_off, working_weekends })
    }

    fn from_holiday_cn(file: HolidayCnFile) -> Result<CalendarYear, CalendarError> {
        let published = !file.days.is_empty();
        let (off, work): (Vec<_>, Vec<_>) = file.days.into_iter().partition(|d| d.is_off_day);
        let off: Vec<String> = off.into_iter().map(|d| d.date).collect();
        let work: Vec<String> = work.into_iter().map(|d| d.date).collect();
        CalendarYear::build(file.year, published, file.papers.into_iter().next(), &off, &work)
    }
}

fn parse_in_year(year: i32, s: &str) -> Result<Day, CalendarError> {
    let date: Day = s.parse().map_err(|_| CalendarError::BadDate { year, input: s.chars().take(40).collect() })?;
    let in_year = date.year() == year || (date.year() == year - 1 && date.month() == 12);
    if in_year {
        Ok(date)
    } else {
        Err(CalendarError::YearMismatch { year, date })
    }
}

/// The last representable day (9999-12-31); `fallback` is never used in practice.
fn last_day(fallback: Day) -> Day {
    Day::from_ymd(9999, 12, 31).unwrap_or(fallback)
}

trait SuccOr {
    fn succ_or(self, cap: Day) -> Day;
}

impl SuccOr for Day {
    /// The next day, or `cap` when `self` is already at or past it (no overflow).
    fn succ_or(self, cap: Day) -> Day {
        if self >= cap {
            cap
        } else {
            self.succ()
        }
    }
}

/// `n` Monday–Friday days after `start`, saturating at `last`.
fn add_weekdays(start: Day, n: u32, last: Day) -> Day {
    let n = i64::from(n);
    if start >= last || weekdays_between(start, last) < n {
        return last;
    }
    // Whole weeks first (5 weekdays each), then the final partial week of 1..=5 weekdays.
    // The answer is at most `last`, and so is every day visited.
    let weeks = (n - 1) / 5;
    let mut left = n - weeks * 5;
    let mut day = start.add_days(weeks * 7);
    while left > 0 {
        day = day.succ();
        if !day.is_weekend() {
            left -= 1;
        }
    }
    day
}

/// Monday–Friday days `d` with `from < d <= to` (`from < to`).
fn weekdays_between(from: Day, to: Day) -> i64 {
    let total = from.days_until(to);
    let weeks = total / 7;
    let mut count = weeks * 5;
    let mut day = from.add_days(weeks * 7);
    while day < to {
        day = day.succ();
        if !day.is_weekend() {
            count += 1;
        }
    }
    count
}

#[cfg(test)]
mod tests;
