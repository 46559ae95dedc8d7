//! Sign-in throttling without lockout denial of service: failures per account and per
//! client address first slow down (exponential delay), then soft-lock for a while.
//! Nothing locks forever; a correct sign-in after the lock expires works. State lives
//! in memory only (addresses never reach disk) and is bounded in size.
use std::collections::HashMap;
use std::sync::Mutex;

use crate::config::LoginSettings;

#[derive(Debug, Clone, Copy, Default)]
struct State {
    failures: u32,
    not_before: i64,
}

/// What the throttle says about an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleVerdict {
    /// Go ahead.
    Allow,
    /// Refuse; retry after this many seconds.
    Wait(i64),
}

/// The throttle.
pub struct Throttle {
    settings: LoginSettings,
    state: Mutex<HashMap<String, State>>,
}

const MAX_KEYS: usize = 100_000;
const MAX_DELAY: i64 = 60;

impl Throttle {
    /// A throttle with the given rules.
    pub fn new(settings: LoginSettings) -> Self {
        Throttle {
            settings,
            state: Mutex::new(HashMap::new()),
        }
    }

    /// May an attempt for these keys (account, address) go ahead at `now`?
    pub fn check(&self, keys: &[String], now: i64) -> ThrottleVerdict {
        let map = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let wait = keys
            .iter()
            .filter_map(|k| map.get(k))
            .map(|s| s.not_before - now)
            .max()
            .unwrap_or(0);
        if wait > 0 {
            ThrottleVerdict::Wait(wait)
        } else {
            ThrottleVerdict::Allow
        }
    }

    /// Records a failure for each key.
    pub fn failure(&self, keys: &[String], now: i64) {
        let mut map = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS {
            map.retain(|_, s| s.not_before > now);
        }
        let lock_secs = i64::from(self.settings.lock_minutes) * 60;
        for k in keys {
            let s = map.entry(k.clone()).or_default();
            // A soft lock that has run out starts the count afresh.
            if s.failures >= self.settings.lock_after_failures && now >= s.not_before {
                *s = State::default();
            }
            s.failures += 1;
            s.not_before = if s.failures >= self.settings.lock_after_failures {
                now + lock_secs
            } else if s.failures > self.settings.free_failures {
                let exp = (s.failures - self.settings.free_failures).min(6);
                now + (1i64 << exp).min(MAX_DELAY)
            } else {
                now
            };
        }
    }

    /// A successful sign-in clears the account's count (not the address's: one good
    /// account must not launder guesses against others from the same address).
    pub fn success(&self, account_key: &str) {
        let mut map = self.state.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(account_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Throttle {
        Throttle::new(LoginSettings {
            free_failures: 3,
            lock_after_failures: 10,
            lock_minutes: 15,
        })
    }

    #[test]
    fn slows_then_locks_then_recovers() {
        let th = t();
        let k = vec!["u:alice".to_string()];
        let mut now = 1000;
        for _ in 0..3 {
            assert_eq!(th.check(&k, now), ThrottleVerdict::Allow);
            th.failure(&k, now);
        }
        assert_eq!(th.check(&k, now), ThrottleVerdict::Allow);
        th.failure(&k, now); // 4th: delay 2 s
        assert_eq!(th.check(&k, now), ThrottleVerdict::Wait(2));
        for _ in 4..10 {
            now += 120;
            th.failure(&k, now);
        }
        assert_eq!(th.check(&k, now), ThrottleVerdict::Wait(15 * 60));
        now += 15 * 60;
        assert_eq!(th.check(&k, now), ThrottleVerdict::Allow);
        th.success("u:alice");
        assert_eq!(th.check(&k, now), ThrottleVerdict::Allow);
    }
}
