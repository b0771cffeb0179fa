//! Times on the command line: `now`, Unix seconds, `YYYY-MM-DD` (00:00 Beijing time, the
//! regions' civil day) or RFC 3339 (`2026-10-01T08:00:00+08:00`).

use credfed_protocol::Day;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The current Unix time.
pub fn now() -> u64 {
    OffsetDateTime::now_utc().unix_timestamp().max(0) as u64
}

/// Parses a time argument to Unix seconds.
///
/// # Errors
/// A message naming the accepted forms.
pub fn parse_time(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s == "now" {
        return Ok(now());
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| format!("{s:?}: Unix seconds out of range"));
    }
    if let Ok(d) = s.parse::<Day>() {
        return u64::try_from(d.start_unix_china()).map_err(|_| format!("{s:?} is before 1970"));
    }
    match OffsetDateTime::parse(s, &Rfc3339) {
        Ok(t) => u64::try_from(t.unix_timestamp()).map_err(|_| format!("{s:?} is before 1970")),
        Err(_) => Err(format!(
            "{s:?} is not a time: use now, Unix seconds, YYYY-MM-DD (Beijing midnight) or RFC 3339 (2026-10-01T08:00:00+08:00)"
        )),
    }
}

/// Unix seconds as RFC 3339 UTC text.
pub fn show(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| secs.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse_time("1790000000").unwrap(), 1_790_000_000);
        // 2026-01-01 00:00 +08:00 = 2025-12-31T16:00:00Z
        assert_eq!(parse_time("2026-01-01").unwrap(), 1_767_196_800);
        assert_eq!(parse_time("2026-01-01T00:00:00+08:00").unwrap(), 1_767_196_800);
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("now").unwrap() > 1_700_000_000);
        assert_eq!(show(0), "1970-01-01T00:00:00Z");
    }
}
