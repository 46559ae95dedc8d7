//! Time as an injected value, so expiry, throttling and retention are testable
//! without sleeping; and the one place where a time written by someone else is parsed.
//!
//! Invariant: parsing a time never panics and accepts only what can be written back.
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

/// A source of "now". The server uses the system clock; tests use a manual one.
#[derive(Clone)]
pub struct Clock(ClockKind);

#[derive(Clone)]
enum ClockKind {
    System,
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// The real wall clock.
    pub fn system() -> Self {
        Clock(ClockKind::System)
    }

    /// A clock that stands still at `unix_seconds` until [`Clock::advance`] moves it.
    pub fn manual(unix_seconds: i64) -> Self {
        Clock(ClockKind::Manual(Arc::new(AtomicI64::new(unix_seconds))))
    }

    /// Moves a manual clock forward (no effect on the system clock).
    pub fn advance(&self, seconds: i64) {
        if let ClockKind::Manual(t) = &self.0 {
            t.fetch_add(seconds, Ordering::SeqCst);
        }
    }

    /// The current time.
    pub fn now(&self) -> OffsetDateTime {
        match &self.0 {
            ClockKind::System => OffsetDateTime::now_utc(),
            ClockKind::Manual(t) => OffsetDateTime::from_unix_timestamp(t.load(Ordering::SeqCst))
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        }
    }

    /// The current time in whole seconds since the Unix epoch.
    pub fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }
}

/// Formats a time as RFC 3339 in UTC (the contract's time format).
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The longest time string worth parsing: RFC 3339 with nine fraction digits and an
/// offset is 35 bytes. Anything longer is refused before the parser sees it.
const MAX_TIME_LEN: usize = 40;

/// Parses an RFC 3339 time (from a client or from the vault's own rows) and answers it
/// in UTC; `None` for anything else. Never panics, whatever the input.
///
/// RFC 3339 writes years 0000–9999 only, so a time whose UTC equivalent falls outside
/// them (`9999-12-31T23:59:59-23:59` is in year 10000) is refused like a malformed
/// one: every accepted time can be formatted back with [`rfc3339`] and compared with
/// the stored ones. A leap second (`…T23:59:60Z`) is read as the last instant of the
/// second before it; `-00:00` (UTC, local offset unknown) is UTC.
pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    if s.len() > MAX_TIME_LEN {
        return None;
    }
    let t = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    let utc = t.checked_to_offset(time::UtcOffset::UTC)?;
    (0..=9999).contains(&utc.year()).then_some(utc)
}

/// Parses a calendar day written `YYYY-MM-DD` (the pages' date fields, a date of
/// birth); `None` for anything else. Never panics.
pub fn parse_day(s: &str) -> Option<time::Date> {
    if s.len() != 10 {
        return None;
    }
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

#[cfg(test)]
mod tests {
    use super::{parse_day, parse_rfc3339, rfc3339};

    #[test]
    fn times_outside_what_rfc3339_writes_are_refused() {
        for bad in [
            "9999-12-31T23:59:59-23:59",
            "9999-12-31T23:59:59-00:01",
            "0000-01-01T00:00:00+00:01",
            "0000-01-01T00:00:00+23:59",
            "2026-01-01T00:00:00+24:00",
            "2026-01-01T00:00:00+99:99",
            "2026-06-15T12:00:60Z",
            "+10000-01-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            &format!("2026-01-01T00:00:00.{}Z", "1".repeat(64)),
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn accepted_times_are_utc_and_write_back() {
        for (given, utc) in [
            ("9999-12-31T23:59:59+23:59", "9999-12-31T00:00:59Z"),
            ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
            ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z"),
            ("0000-01-01T00:00:00-00:01", "0000-01-01T00:01:00Z"),
            ("2026-01-01T00:00:00-00:00", "2026-01-01T00:00:00Z"),
            ("2026-01-01T05:30:00+05:30", "2026-01-01T00:00:00Z"),
            ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999999999Z"),
        ] {
            let t = parse_rfc3339(given).unwrap();
            assert_eq!(rfc3339(t), utc, "{given}");
        }
    }

    #[test]
    fn days() {
        assert!(parse_day("9999-12-31").is_some());
        assert!(parse_day("0000-01-01").is_some());
        for bad in [
            "2026-02-30",
            "+999-01-01",
            "-999-01-01",
            "2026-1-01",
            "",
            "2026-01-011",
        ] {
            assert!(parse_day(bad).is_none(), "{bad}");
        }
    }
}
