//! Group commit for audit entries that stand alone (a read's "allow … ok", a denial):
//! concurrent requests share one transaction and one `fsync` instead of one each.
//!
//! Invariant (fail closed, unchanged): [`AuditGroup::append`] returns `Ok` only after
//! the transaction holding this very entry has committed with `synchronous=FULL`; if
//! that commit fails, every request in the batch gets the error and none of them
//! answers. Entries that belong to a change (a new case, a purge) do not come here:
//! they are written in the change's own transaction as before.
//!
//! How: the first request to find no leader becomes one; it takes everything queued,
//! writes it in one transaction, tells each waiter the outcome, and repeats until the
//! queue is empty. Requests that arrive meanwhile queue and wait; the leader's
//! check-empty-and-resign happens under the queue's lock, so nobody is left waiting
//! without a leader.
use std::sync::{Arc, Condvar, Mutex};

use crate::audit;
use crate::store::Db;

/// One entry waiting for its commit.
pub(in crate::vault) struct Pending {
    pub(in crate::vault) time: String,
    pub(in crate::vault) actor: String,
    pub(in crate::vault) role: String,
    pub(in crate::vault) action: String,
    pub(in crate::vault) target: String,
    pub(in crate::vault) decision: String,
    pub(in crate::vault) outcome: String,
}

/// The outcome of one waiter's entry: `None` until its batch is done.
#[derive(Default)]
struct Slot {
    done: Mutex<Option<Result<(), String>>>,
    ready: Condvar,
}

impl Slot {
    fn fill(&self, r: Result<(), String>) {
        *self.done.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
        self.ready.notify_all();
    }

    fn wait(&self) -> Result<(), String> {
        let mut g = self.done.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(r) = g.take() {
                return r;
            }
            g = self.ready.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }
}

#[derive(Default)]
struct Queue {
    waiting: Vec<(Pending, Arc<Slot>)>,
    leader: bool,
}

/// The queue of entries to commit together.
#[derive(Default)]
pub(in crate::vault) struct AuditGroup {
    queue: Mutex<Queue>,
}

impl AuditGroup {
    /// Appends `entry` to the chain and returns once it is durable (or the error that
    /// kept its transaction from committing).
    pub(in crate::vault) fn append(&self, db: &Db, entry: Pending) -> Result<(), String> {
        let slot = Arc::new(Slot::default());
        let lead = {
            let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            q.waiting.push((entry, slot.clone()));
            !std::mem::replace(&mut q.leader, true)
        };
        if lead {
            self.lead(db);
        }
        slot.wait()
    }

    /// Commits batches until the queue is empty, then resigns.
    fn lead(&self, db: &Db) {
        loop {
            let batch = {
                let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                if q.waiting.is_empty() {
                    q.leader = false;
                    return;
                }
                std::mem::take(&mut q.waiting)
            };
            // A panic while writing must not leave the waiters without an answer and
            // the group without a leader: it fails the batch like any write error.
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                db.write(|tx| {
                    for (p, _) in &batch {
                        audit::append(
                            tx,
                            &p.time,
                            &audit::Entry {
                                actor: &p.actor,
                                role: &p.role,
                                action: &p.action,
                                target: &p.target,
                                decision: &p.decision,
                                outcome: &p.outcome,
                            },
                        )?;
                    }
                    Ok::<_, crate::store::StoreError>(())
                })
            }))
            .unwrap_or_else(|_| {
                Err(crate::store::StoreError::Io(std::io::Error::other(
                    "the audit writer failed",
                )))
            });
            let r = r.map_err(|e| e.to_string());
            for (_, slot) in &batch {
                slot.fill(r.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> Pending {
        Pending {
            time: "2026-01-01T00:00:00Z".into(),
            actor: format!("a{n}"),
            role: crate::policy::Role::Caseworker.as_str().into(),
            action: "case.read".into(),
            target: "case:x".into(),
            decision: "allow".into(),
            outcome: "ok".into(),
        }
    }

    #[test]
    fn concurrent_entries_all_land_in_one_intact_chain() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        let group = Arc::new(AuditGroup::default());
        let threads: Vec<_> = (0..32)
            .map(|n| {
                let (db, group) = (db.clone(), group.clone());
                std::thread::spawn(move || group.append(&db, entry(n)))
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        // Every entry is durable once append returned, and the chain holds.
        match audit::verify(&db, None).unwrap() {
            audit::Verdict::Intact { entries, .. } => assert_eq!(entries, 32),
            other => panic!("chain broken: {other:?}"),
        }
    }

    #[test]
    fn a_failed_commit_fails_every_waiter() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        // Make the audit table refuse inserts: the group must report it, not lose it.
        db.write(|tx| tx.execute_raw("CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'full'); END"))
            .unwrap();
        let group = AuditGroup::default();
        assert!(group.append(&db, entry(1)).is_err());
        // And the next one finds a leader again (the failed leader resigned).
        assert!(group.append(&db, entry(2)).is_err());
    }
}
