//! Refusals before sign-in — a sign-in form without its token or from another origin,
//! a sign-in the throttle refuses — recorded without letting a flood of them write and
//! fsync one row each at no cost to the sender. Per client address and kind, the first
//! few in a window are written as usual; the rest are counted in memory and written as
//! one entry per kind, `OUTCOME x N addresses=K since=TIME`, once the window has
//! closed: by the next refusal after it, by the server's housekeeping tick, and at
//! shutdown.
//!
//! Invariants: only refusals by nobody signed in come here, and nothing they refuse
//! changes state — an authenticated action is never counted instead of written; a
//! refusal that is to be written and cannot be stops the request like any audit
//! failure, and aggregates that cannot be written are kept to be written later; the
//! memory held is bounded whatever is sent; client addresses are hashed, held in
//! memory only and never written (the entry says how many there were).
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::clock::rfc3339;
use crate::crypto;
use crate::vault::guard::decide::By;
use crate::vault::guard::target::Target;
use crate::vault::{Vault, VaultError};

/// How long a window lasts, in seconds.
const WINDOW_SECS: i64 = 60;
/// Refusals of one kind from one address written one by one in a window.
const PER_ADDRESS: u32 = 3;
/// Refusals written one by one in a window, over every address and kind.
const OVERALL: u32 = 32;
/// Distinct addresses remembered per counted kind (beyond: `addresses=4096+`).
const MAX_ADDRESSES: usize = 4096;

/// A refusal before sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// A sign-in form post without its double-submit token, or from another origin.
    SignInForm,
    /// A sign-in attempt the throttle refused before any check.
    SignInThrottled,
    /// A state change from another origin (a foreign `Origin` or `Sec-Fetch-Site`).
    CrossOrigin,
    /// A state change to a JSON route without the JSON content type.
    NotJson,
    /// A client page (`/u/…`) asked for by an address past its hourly budget.
    LinkThrottled,
}

impl Refusal {
    fn action(self) -> &'static str {
        match self {
            Refusal::SignInForm => "csrf_check",
            Refusal::SignInThrottled => "login",
            Refusal::CrossOrigin | Refusal::NotJson => "csrf_check",
            Refusal::LinkThrottled => "client_upload",
        }
    }

    fn target(self) -> Target {
        match self {
            Refusal::SignInForm => Target::form("login"),
            Refusal::SignInThrottled => Target::no_user(),
            Refusal::CrossOrigin => Target::form("cross_origin"),
            Refusal::NotJson => Target::form("not_json"),
            Refusal::LinkThrottled => Target::form("client_upload"),
        }
    }

    fn outcome(self) -> &'static str {
        match self {
            Refusal::SignInForm => "csrf_invalid",
            Refusal::SignInThrottled => "throttled",
            Refusal::CrossOrigin => "cross_origin",
            Refusal::NotJson => "not_json",
            Refusal::LinkThrottled => "throttled",
        }
    }
}

/// Refusals counted and not yet written.
#[derive(Debug, Default)]
struct Pending {
    count: u64,
    since: i64,
    addresses: HashSet<u64>,
    more_addresses: bool,
}

/// What one aggregate entry says.
#[derive(Debug)]
pub(in crate::vault) struct Aggregate {
    kind: Refusal,
    pending: Pending,
}

impl Aggregate {
    fn outcome(&self) -> String {
        let p = &self.pending;
        let since = time::OffsetDateTime::from_unix_timestamp(p.since)
            .map(|t| format!(" since={}", rfc3339(t)))
            .unwrap_or_default();
        format!(
            "{} x {} addresses={}{}{since}",
            self.kind.outcome(),
            p.count,
            p.addresses.len(),
            if p.more_addresses { "+" } else { "" },
        )
    }
}

#[derive(Debug, Default)]
struct Window {
    start: i64,
    /// Written one by one in this window, per (address, kind); at most `OVERALL` keys.
    written: HashMap<(u64, Refusal), u32>,
    written_total: u32,
    /// At most one per kind.
    pending: HashMap<Refusal, Pending>,
}

impl Window {
    fn closed(&self, now: i64) -> bool {
        // A clock that went back also closes it: never count into a future window.
        now >= self.start + WINDOW_SECS || now < self.start
    }

    /// Closes the window: what was counted, to be written, and a fresh window.
    fn close(&mut self, now: i64) -> Vec<Aggregate> {
        let out = self
            .pending
            .drain()
            .map(|(kind, pending)| Aggregate { kind, pending })
            .collect();
        self.written.clear();
        self.written_total = 0;
        self.start = now;
        out
    }
}

/// The counter (one per vault).
#[derive(Debug, Default)]
pub(in crate::vault) struct Refusals(Mutex<Window>);

impl Refusals {
    fn window(&self) -> std::sync::MutexGuard<'_, Window> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes a refusal from `addr` at `now`: answers the aggregates now due and whether
    /// this refusal is to be written as its own entry (otherwise it was counted).
    fn note(&self, addr: u64, kind: Refusal, now: i64) -> (Vec<Aggregate>, bool) {
        let mut w = self.window();
        let due = if w.closed(now) {
            w.close(now)
        } else {
            Vec::new()
        };
        let mine = w.written.get(&(addr, kind)).copied().unwrap_or(0);
        if mine < PER_ADDRESS && w.written_total < OVERALL {
            w.written.insert((addr, kind), mine + 1);
            w.written_total += 1;
            return (due, true);
        }
        let p = w.pending.entry(kind).or_default();
        if p.count == 0 {
            p.since = now;
        }
        p.count = p.count.saturating_add(1);
        if p.addresses.len() < MAX_ADDRESSES {
            p.addresses.insert(addr);
        } else if !p.addresses.contains(&addr) {
            p.more_addresses = true;
        }
        (due, false)
    }

    /// The aggregates due at `now` (all of them when `all`, at shutdown).
    fn due(&self, now: i64, all: bool) -> Vec<Aggregate> {
        let mut w = self.window();
        if all || (w.closed(now) && !w.pending.is_empty()) {
            w.close(now)
        } else {
            Vec::new()
        }
    }

    /// Puts back aggregates that could not be written, to be written later.
    fn restore(&self, aggregates: Vec<Aggregate>) {
        let mut w = self.window();
        for a in aggregates {
            let p = w.pending.entry(a.kind).or_default();
            p.since = if p.count == 0 {
                a.pending.since
            } else {
                p.since.min(a.pending.since)
            };
            p.count = p.count.saturating_add(a.pending.count);
            p.more_addresses |= a.pending.more_addresses;
            for addr in a.pending.addresses {
                if p.addresses.len() < MAX_ADDRESSES {
                    p.addresses.insert(addr);
                } else {
                    p.more_addresses = true;
                }
            }
        }
    }
}

/// The in-memory key of a client address (never written anywhere).
fn address_key(client: &str) -> u64 {
    let h = crypto::sha256(client.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[..8]);
    u64::from_be_bytes(b)
}

const NOBODY: By<'static> = By { id: "-", role: "-" };

impl Vault {
    /// Records a refusal before sign-in from `client` (its address: only counted in
    /// memory, never written), through the bounded path of this module.
    pub async fn audit_refusal(
        self: &Arc<Self>,
        client: &str,
        kind: Refusal,
    ) -> Result<(), VaultError> {
        let client = client.to_owned();
        self.run(move |v| v.audit_refusal_blocking(&client, kind))
            .await
    }

    pub(in crate::vault) fn audit_refusal_blocking(
        &self,
        client: &str,
        kind: Refusal,
    ) -> Result<(), VaultError> {
        let (due, write) = self
            .refusals
            .note(address_key(client), kind, self.clock.unix());
        self.write_aggregates(due)?;
        if write {
            self.db.write(|tx| {
                self.write_entry(
                    tx,
                    NOBODY,
                    kind.action(),
                    &kind.target(),
                    "deny",
                    kind.outcome(),
                )
            })?;
        }
        Ok(())
    }

    /// Writes the refusals counted in windows that have closed (`all`: every one
    /// counted so far, at shutdown). Returns the entries written.
    pub async fn flush_refusals(self: &Arc<Self>, all: bool) -> Result<usize, VaultError> {
        self.run(move |v| {
            let due = v.refusals.due(v.clock.unix(), all);
            let n = due.len();
            v.write_aggregates(due)?;
            Ok(n)
        })
        .await
    }

    fn write_aggregates(&self, due: Vec<Aggregate>) -> Result<(), VaultError> {
        if due.is_empty() {
            return Ok(());
        }
        let written = self.db.write(|tx| {
            for a in &due {
                let target = a.kind.target();
                self.write_entry(tx, NOBODY, a.kind.action(), &target, "deny", &a.outcome())?;
            }
            Ok::<_, VaultError>(())
        });
        if written.is_err() {
            self.refusals.restore(due);
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_790_000_000;

    #[test]
    fn the_first_few_are_written_the_rest_counted_until_the_window_closes() {
        let r = Refusals::default();
        let mut written = 0;
        for i in 0..400 {
            let (due, write) = r.note(7, Refusal::SignInForm, T + i / 10);
            assert!(due.is_empty());
            written += usize::from(write);
        }
        assert_eq!(written, PER_ADDRESS as usize);
        assert!(r.due(T + 59, false).is_empty());
        let due = r.due(T + 60, false);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].pending.count, 400 - u64::from(PER_ADDRESS));
        assert!(
            due[0]
                .outcome()
                .starts_with("csrf_invalid x 397 addresses=1 since=")
        );
        // A fresh window writes the first ones again.
        assert!(r.note(7, Refusal::SignInForm, T + 61).1);
    }

    #[test]
    fn many_addresses_share_one_overall_bound_and_memory_stays_bounded() {
        let r = Refusals::default();
        let mut written = 0;
        for a in 0..20_000u64 {
            written += usize::from(r.note(a, Refusal::SignInThrottled, T).1);
        }
        assert_eq!(written, OVERALL as usize);
        let w = r.window();
        assert!(w.written.len() <= OVERALL as usize);
        let p = &w.pending[&Refusal::SignInThrottled];
        assert_eq!(p.count, 20_000 - u64::from(OVERALL));
        assert_eq!(p.addresses.len(), MAX_ADDRESSES);
        assert!(p.more_addresses);
    }

    #[test]
    fn the_next_refusal_after_the_window_brings_the_count_and_a_failed_write_keeps_it() {
        let r = Refusals::default();
        for _ in 0..10 {
            r.note(1, Refusal::SignInThrottled, T);
        }
        let (due, write) = r.note(1, Refusal::SignInThrottled, T + 60);
        assert!(write);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].pending.count, 7);
        r.restore(due);
        let all = r.due(T + 61, true);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].pending.count, 7);
        assert!(r.due(T + 62, true).is_empty());
    }
}
