//! Sign-in throttling without lockout denial of service: failures per key — an account
//! and a client address, or a trusted device alone (`device.rs`), or a session's
//! step-up — first slow down (exponential delay), then soft-lock for a while.
//! Nothing locks forever; a correct sign-in after the lock expires works. State lives
//! in memory only (addresses and devices never reach disk) and is bounded in size.
//!
//! Invariant: an attempt is admitted by [`Throttle::reserve`], which checks and counts
//! it in one step under the throttle's lock, before any password or code is checked.
//! An attempt in flight counts towards the lock until it is settled (failed, passed or
//! abandoned), so however many guesses arrive at once, no more are ever evaluated per
//! key than `lock_after_failures` before the lock: concurrency can at most skip the
//! short delays between them, never the count.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::LoginSettings;

#[derive(Debug, Clone, Copy, Default)]
struct State {
    failures: u32,
    not_before: i64,
    /// Attempts admitted and not yet settled.
    in_flight: u32,
}

/// What the throttle says about an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleVerdict {
    /// Go ahead.
    Allow,
    /// Refuse; retry after this many seconds.
    Wait(i64),
}

type Map = Arc<Mutex<HashMap<String, State>>>;

/// The throttle.
pub struct Throttle {
    settings: LoginSettings,
    state: Map,
}

const MAX_KEYS: usize = 100_000;
const MAX_DELAY: i64 = 60;
/// A client address (a key starting `a:`) is slowed and locked only after this many
/// times an account's failures: one office behind one public address must not be
/// locked out because one person there mistyped a password ten times. The address
/// still bounds a flood of guesses at many usernames (and its argon2 work has a lane
/// of its own in the hasher).
pub const ADDRESS_FACTOR: u32 = 10;

/// `(free_failures, lock_after_failures)` for a key.
fn limits(settings: &LoginSettings, key: &str) -> (u32, u32) {
    let f = if key.starts_with("a:") {
        ADDRESS_FACTOR
    } else {
        1
    };
    (
        settings.free_failures.saturating_mul(f),
        settings.lock_after_failures.max(1).saturating_mul(f),
    )
}

fn lock(map: &Map) -> std::sync::MutexGuard<'_, HashMap<String, State>> {
    map.lock().unwrap_or_else(|p| p.into_inner())
}

impl Throttle {
    /// A throttle with the given rules.
    pub fn new(settings: LoginSettings) -> Self {
        Throttle {
            settings,
            state: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Admits an attempt for these keys (account, address) at `now`, or says how long
    /// to wait. Checking and counting happen under one lock: the attempt counts
    /// towards the lock of every key from this moment until it is settled through the
    /// returned [`Attempt`]. Refused while a key waits out a delay or a lock, or while
    /// its failures and the attempts in flight together reach `lock_after_failures`.
    pub fn reserve(&self, keys: &[String], now: i64) -> Result<Attempt, i64> {
        let mut map = lock(&self.state);
        let mut wait = 0;
        for k in keys {
            let (_, lock_after) = limits(&self.settings, k);
            let Some(s) = map.get_mut(k) else { continue };
            // A soft lock that has run out starts the count afresh.
            if s.failures >= lock_after && now >= s.not_before && s.in_flight == 0 {
                s.failures = 0;
            }
            wait = wait.max(s.not_before - now);
            if s.failures.saturating_add(s.in_flight) >= lock_after {
                // Full with attempts still in flight: their outcome decides; ask again
                // in a moment.
                wait = wait.max(1);
            }
        }
        if wait > 0 {
            return Err(wait);
        }
        if map.len() >= MAX_KEYS {
            map.retain(|_, s| s.not_before > now || s.in_flight > 0);
        }
        for k in keys {
            let s = map.entry(k.clone()).or_default();
            s.in_flight += 1;
        }
        Ok(Attempt {
            state: self.state.clone(),
            settings: self.settings.clone(),
            keys: keys.to_vec(),
            now,
            settled: false,
        })
    }

    /// Whether `key` alone keeps an attempt waiting at `now` (to say which lock a
    /// refusal came from; the refusal itself is [`Throttle::reserve`]'s).
    pub fn holds(&self, key: &str, now: i64) -> bool {
        let (_, lock_after) = limits(&self.settings, key);
        lock(&self.state).get(key).is_some_and(|s| {
            s.not_before > now || s.failures.saturating_add(s.in_flight) >= lock_after
        })
    }

    /// May an attempt for these keys go ahead at `now`? Advisory only (the unit tests
    /// below): admitting an attempt is [`Throttle::reserve`]'s job.
    #[cfg(test)]
    fn check(&self, keys: &[String], now: i64) -> ThrottleVerdict {
        let map = lock(&self.state);
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

    /// Records a failure for each key (the unit tests below; attempts fail through
    /// [`Attempt::failed`]).
    #[cfg(test)]
    fn failure(&self, keys: &[String], now: i64) {
        record_failure(&mut lock(&self.state), &self.settings, keys, now);
    }

    /// A successful sign-in clears the account's count (the unit tests below; sign-ins
    /// succeed through [`Attempt::signed_in`]).
    #[cfg(test)]
    fn success(&self, account_key: &str) {
        clear(&mut lock(&self.state), account_key);
    }
}

fn record_failure(
    map: &mut HashMap<String, State>,
    settings: &LoginSettings,
    keys: &[String],
    now: i64,
) {
    if map.len() >= MAX_KEYS {
        map.retain(|_, s| s.not_before > now || s.in_flight > 0);
    }
    let lock_secs = i64::from(settings.lock_minutes) * 60;
    for k in keys {
        let (free, lock_after) = limits(settings, k);
        let s = map.entry(k.clone()).or_default();
        // A soft lock that has run out starts the count afresh.
        if s.failures >= lock_after && now >= s.not_before {
            s.failures = 0;
            s.not_before = 0;
        }
        s.failures += 1;
        s.not_before = if s.failures >= lock_after {
            now + lock_secs
        } else if s.failures > free {
            let exp = (s.failures - free).min(6);
            now + (1i64 << exp).min(MAX_DELAY)
        } else {
            now
        };
    }
}

/// Clears an account's failures; attempts still in flight stay counted.
fn clear(map: &mut HashMap<String, State>, account_key: &str) {
    if let Some(s) = map.get_mut(account_key) {
        if s.in_flight == 0 {
            map.remove(account_key);
        } else {
            s.failures = 0;
            s.not_before = 0;
        }
    }
}

/// An admitted attempt, counted against its keys until it is settled. Dropping it
/// unsettled (an error on the way, a client that went away while its password was
/// being checked) counts as a failure: an attempt that was evaluated, or might have
/// been, is never given back for free.
#[must_use = "an attempt is settled with failed, passed or signed_in"]
pub struct Attempt {
    state: Map,
    settings: LoginSettings,
    keys: Vec<String>,
    now: i64,
    settled: bool,
}

impl Attempt {
    fn settle(&mut self, f: impl FnOnce(&mut HashMap<String, State>, &[String])) {
        if self.settled {
            return;
        }
        self.settled = true;
        let mut map = lock(&self.state);
        for k in &self.keys {
            if let Some(s) = map.get_mut(k) {
                s.in_flight = s.in_flight.saturating_sub(1);
            }
        }
        f(&mut map, &self.keys);
    }

    /// A wrong password or code: counts as a failure against every key.
    pub fn failed(mut self) {
        let (settings, now) = (self.settings.clone(), self.now);
        self.settle(|map, keys| record_failure(map, &settings, keys, now));
    }

    /// Neither a failure nor a success (the right password with no code yet, a right
    /// step-up code): nothing is counted.
    pub fn passed(mut self) {
        self.settle(|_, _| {});
    }

    /// A completed sign-in: clears the count of the key it names — the account's (not
    /// the address's: one good account must not launder guesses against others from
    /// the same address), or a trusted device's (not the account's: a sign-in from a
    /// trusted browser during a flood must not hand the flood ten fresh guesses).
    pub fn signed_in(mut self, account_key: &str) {
        self.settle(|map, _| clear(map, account_key));
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        let (settings, now) = (self.settings.clone(), self.now);
        self.settle(|map, keys| record_failure(map, &settings, keys, now));
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
            device_days: 90,
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

    #[test]
    fn attempts_in_flight_count_towards_the_lock() {
        let th = t();
        let k = vec!["u:alice".to_string(), "a:1".to_string()];
        let now = 1000;
        // Ten admitted at once (none settled yet); the eleventh is refused.
        let mut held: Vec<Attempt> = (0..10).map(|_| th.reserve(&k, now).unwrap()).collect();
        assert_eq!(th.reserve(&k, now).err(), Some(1));
        // One settles without a failure: its place is free again.
        held.pop().unwrap().passed();
        held.push(th.reserve(&k, now).unwrap());
        // One is abandoned: that counts as a failure, like the other nine failing.
        drop(held.pop());
        for a in held {
            a.failed();
        }
        assert_eq!(th.check(&k, now), ThrottleVerdict::Wait(15 * 60));
        assert_eq!(th.reserve(&k, now).err(), Some(15 * 60));
        // After the lock, the count starts afresh.
        assert!(th.reserve(&k, now + 15 * 60).is_ok_and(|a| {
            a.passed();
            true
        }));
    }

    #[test]
    fn a_sign_in_clears_the_account_but_keeps_other_attempts_counted() {
        let th = t();
        // A second key with the account's own limits (an address's are ten times
        // higher: see the tests below).
        let k = vec!["u:alice".to_string(), "d:1".to_string()];
        let now = 1000;
        th.failure(&k, now);
        let others: Vec<Attempt> = (0..8).map(|_| th.reserve(&k, now).unwrap()).collect();
        th.reserve(&k, now).unwrap().signed_in("u:alice");
        // The account's one failure is gone, its eight attempts in flight are not; the
        // other key keeps its failure.
        let only_account = vec!["u:alice".to_string()];
        assert!(th.reserve(&only_account, now).is_ok_and(|a| {
            a.passed();
            true
        }));
        let more: Vec<Attempt> = (0..1).map(|_| th.reserve(&k, now).unwrap()).collect();
        assert_eq!(th.reserve(&k, now).err(), Some(1));
        for a in others.into_iter().chain(more) {
            a.passed();
        }
        assert_eq!(th.check(&k, now), ThrottleVerdict::Allow);
    }

    #[test]
    fn one_account_locked_does_not_lock_another_behind_the_same_address() {
        let th = t();
        let bob = vec!["u:bob".to_string(), "a:office".to_string()];
        let alice = vec!["u:alice".to_string(), "a:office".to_string()];
        let mut now = 1000;
        for _ in 0..10 {
            now += 120;
            th.reserve(&bob, now).unwrap().failed();
        }
        // Bob waits out his lock; alice, from the same address, does not.
        assert_eq!(th.reserve(&bob, now).err(), Some(15 * 60));
        assert!(th.reserve(&alice, now).is_ok_and(|a| {
            a.passed();
            true
        }));
    }

    #[test]
    fn a_flood_at_many_usernames_still_locks_the_address() {
        let th = t();
        let now = 1000;
        let lock_after = 10 * ADDRESS_FACTOR;
        for n in 0..lock_after {
            let k = vec![format!("u:guess{n}"), "a:flood".to_string()];
            th.failure(&k, now);
        }
        let fresh = vec!["u:someone".to_string(), "a:flood".to_string()];
        assert_eq!(th.reserve(&fresh, now).err(), Some(15 * 60));
    }
}
