//! Time as an injected value, so expiry, throttling and retention are testable
//! without sleeping.
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

/// Parses an RFC 3339 time.
pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}
