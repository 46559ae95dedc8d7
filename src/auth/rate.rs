//! A per-address request budget for the pages anyone may open without an account (the
//! client upload pages): so many requests per client address per hour, then 429 until
//! the hour is over. Keyed by a hash of the address (an IPv6 address by its /64), held
//! in memory only and bounded in size.
//!
//! Invariant: an address is counted before any other work is done for its request;
//! the address itself is never stored, only a keyed 64-bit hash of it that is lost
//! when the process ends.
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;

/// Addresses remembered at once; a flood from more than this many is refused whole
/// until windows run out (each refused request is cheap).
const MAX_ADDRESSES: usize = 100_000;

/// How long a window lasts, in seconds.
const WINDOW: i64 = 3600;

/// The budget.
pub struct RateLimit {
    per_window: u32,
    keys: RandomState,
    /// Hash of an address → (window start, requests in it).
    seen: Mutex<HashMap<u64, (i64, u32)>>,
}

impl RateLimit {
    /// `per_hour` requests per address per hour.
    pub fn new(per_hour: u32) -> Self {
        RateLimit {
            per_window: per_hour,
            keys: RandomState::new(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request from `address` (as text; an unreadable one counts as one
    /// address) at `now`; `Err(seconds)` to wait when its budget is spent.
    pub fn admit(&self, address: &str, now: i64) -> Result<(), i64> {
        let key = self.keys.hash_one(by_subscriber(address));
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= MAX_ADDRESSES && !seen.contains_key(&key) {
            seen.retain(|_, (start, _)| now < *start + WINDOW && now >= *start);
            if seen.len() >= MAX_ADDRESSES {
                return Err(60);
            }
        }
        let entry = seen.entry(key).or_insert((now, 0));
        // A window that is over (or a clock that went back) starts afresh.
        if now >= entry.0 + WINDOW || now < entry.0 {
            *entry = (now, 0);
        }
        if entry.1 >= self.per_window {
            return Err((entry.0 + WINDOW - now).max(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// The address a budget counts by: IPv4 as it is (also when mapped into IPv6), IPv6
/// by its /64, which one subscriber is given whole.
fn by_subscriber(address: &str) -> String {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0).to_string()
            }
        },
        Ok(ip) => ip.to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_budget_per_hour_and_no_more() {
        let r = RateLimit::new(3);
        for _ in 0..3 {
            assert_eq!(r.admit("192.0.2.1", 1000), Ok(()));
        }
        assert_eq!(r.admit("192.0.2.1", 1010), Err(3590));
        // Another address has its own budget; a /64 counts as one.
        assert_eq!(r.admit("192.0.2.2", 1010), Ok(()));
        assert_eq!(r.admit("2001:db8::1", 1010), Ok(()));
        assert_eq!(r.admit("2001:db8::2", 1010), Ok(()));
        assert_eq!(r.admit("2001:db8::3", 1010), Ok(()));
        assert!(r.admit("2001:db8::ffff", 1010).is_err());
        assert_eq!(r.admit("2001:db8:0:1::1", 1010), Ok(()));
        // The hour over, the budget is back.
        assert_eq!(r.admit("192.0.2.1", 4600), Ok(()));
    }
}
