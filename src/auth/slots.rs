//! Fair shares of the argon2 slots: the few hashes that may run at once are handed
//! out round-robin over lanes (a client address, or a trusted device), so a flood from
//! some addresses cannot starve a sign-in from another.
//!
//! Invariants: a lane holds at most one slot at a time, so one flooding address never
//! takes two; a lane waits with at most `per_lane` attempts (more are refused at once,
//! before any hashing), and all lanes together with at most `max_waiting`; when that is
//! full, a lane with fewer waiters pushes out the newest waiter of the longest lane, so a
//! newcomer is refused only when every waiting lane has a single waiter. A slot is
//! freed when its [`Slot`] is dropped — by the blocking task that hashes, so a caller
//! that goes away cannot free a slot whose hash is still running.
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

/// No slot for this attempt now: its lane, or every queue, is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

struct Inner {
    free: usize,
    /// Lanes holding a slot.
    active: HashSet<String>,
    /// Waiters per lane, oldest first.
    queues: HashMap<String, VecDeque<oneshot::Sender<Slot>>>,
    /// Lanes with waiters, in the order they are served.
    order: VecDeque<String>,
    waiting: usize,
    per_lane: usize,
    max_waiting: usize,
}

/// The scheduler.
#[derive(Clone)]
pub struct FairSlots {
    inner: Arc<Mutex<Inner>>,
}

/// A slot held: freed (and handed to the next lane in turn) when dropped.
#[must_use = "the slot is freed when dropped"]
pub struct Slot {
    inner: Arc<Mutex<Inner>>,
    /// `None` once given back (a hand-off to a waiter that had gone away).
    lane: Option<String>,
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FairSlots {
    /// `slots` at once; at most `per_lane` waiters per lane and `max_waiting` in all.
    pub fn new(slots: usize, per_lane: usize, max_waiting: usize) -> Self {
        FairSlots {
            inner: Arc::new(Mutex::new(Inner {
                free: slots.max(1),
                active: HashSet::new(),
                queues: HashMap::new(),
                order: VecDeque::new(),
                waiting: 0,
                per_lane,
                max_waiting,
            })),
        }
    }

    /// A slot for `lane`, at once when one is free and the lane holds none; otherwise
    /// after waiting its turn; or [`Busy`] at once when the lane's queue (or every
    /// queue) is full, and later if this waiter is pushed out.
    pub async fn acquire(&self, lane: &str) -> Result<Slot, Busy> {
        let rx = {
            let mut g = lock(&self.inner);
            // A free slot means every waiting lane already holds one (a freed slot is
            // handed on at once), so taking it overtakes nobody.
            if g.free > 0 && !g.active.contains(lane) {
                g.free -= 1;
                g.active.insert(lane.to_owned());
                return Ok(Slot {
                    inner: self.inner.clone(),
                    lane: Some(lane.to_owned()),
                });
            }
            g.prune();
            let mine = g.queues.get(lane).map_or(0, VecDeque::len);
            if mine >= g.per_lane || (g.waiting >= g.max_waiting && !g.push_out(mine)) {
                return Err(Busy);
            }
            let (tx, rx) = oneshot::channel();
            let q = g.queues.entry(lane.to_owned()).or_default();
            q.push_back(tx);
            if q.len() == 1 {
                g.order.push_back(lane.to_owned());
            }
            g.waiting += 1;
            rx
        };
        rx.await.map_err(|_| Busy)
    }

    /// Attempts waiting, and slots held (tests).
    #[cfg(test)]
    fn counts(&self) -> (usize, usize) {
        let g = lock(&self.inner);
        (g.waiting, g.active.len())
    }
}

impl Inner {
    /// Forgets waiters that went away (their sign-in was cancelled).
    fn prune(&mut self) {
        for q in self.queues.values_mut() {
            q.retain(|tx| !tx.is_closed());
        }
        self.queues.retain(|_, q| !q.is_empty());
        let queues = &self.queues;
        self.order.retain(|l| queues.contains_key(l));
        self.waiting = self.queues.values().map(VecDeque::len).sum();
    }

    /// Makes room for a lane that has `mine` waiters by refusing the newest waiter of
    /// the longest lane, when that lane has more than `mine + 1`. False when no lane
    /// is longer: then the newcomer is the one refused.
    fn push_out(&mut self, mine: usize) -> bool {
        let Some((lane, len)) = self
            .queues
            .iter()
            .map(|(l, q)| (l.clone(), q.len()))
            .max_by_key(|(_, n)| *n)
        else {
            return false;
        };
        if len <= mine + 1 {
            return false;
        }
        if let Some(q) = self.queues.get_mut(&lane) {
            // Dropping the sender wakes its waiter with `Busy`.
            drop(q.pop_back());
        }
        self.waiting -= 1;
        true
    }

    /// Hands free slots to the next lanes in turn that hold none.
    fn dispatch(&mut self, inner: &Arc<Mutex<Inner>>) {
        while self.free > 0 {
            let active = &self.active;
            let Some(pos) = self.order.iter().position(|l| !active.contains(l)) else {
                return;
            };
            let Some(lane) = self.order.remove(pos) else {
                return;
            };
            let Some(q) = self.queues.get_mut(&lane) else {
                continue;
            };
            let next = q.pop_front();
            if q.is_empty() {
                self.queues.remove(&lane);
            } else {
                self.order.push_back(lane.clone());
            }
            let Some(tx) = next else { continue };
            self.waiting = self.waiting.saturating_sub(1);
            self.free -= 1;
            self.active.insert(lane.clone());
            let slot = Slot {
                inner: inner.clone(),
                lane: Some(lane),
            };
            if let Err(mut slot) = tx.send(slot) {
                // The waiter went away: take the slot back here, without its Drop
                // (which would lock the mutex this thread holds).
                if let Some(lane) = slot.lane.take() {
                    self.active.remove(&lane);
                }
                self.free += 1;
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(lane) = self.lane.take() else { return };
        let mut g = lock(&self.inner);
        g.active.remove(&lane);
        g.free += 1;
        g.dispatch(&self.inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready<T>(f: impl std::future::Future<Output = T>) -> Option<T> {
        use std::task::{Context, Poll};
        let waker = std::task::Waker::noop();
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(waker)) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        }
    }

    #[tokio::test]
    async fn one_lane_never_holds_two_slots_and_lanes_take_turns() {
        let s = FairSlots::new(2, 4, 64);
        let flood = s.acquire("a:flood").await.unwrap();
        // The second slot is free, yet the flooding lane waits for its own.
        let mut flood_waiters: Vec<_> = (0..4)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.acquire("a:flood").await.map(drop) })
            })
            .collect();
        tokio::task::yield_now().await;
        while s.counts().0 < 4 {
            tokio::task::yield_now().await;
        }
        assert_eq!(s.counts(), (4, 1), "the flood waits; one slot stays free");
        // A fifth from the flooding lane is refused at once, before any hashing.
        assert_eq!(
            ready(s.acquire("a:flood")).map(|r| r.err()),
            Some(Some(Busy))
        );
        // Another lane takes the free slot at once.
        let other = ready(s.acquire("d:device")).unwrap().unwrap();
        // Both slots held: a third lane waits, and is served before the flood's
        // second waiter (round-robin).
        let third = {
            let s = s.clone();
            tokio::spawn(async move { s.acquire("a:third").await })
        };
        while s.counts().0 < 5 {
            tokio::task::yield_now().await;
        }
        drop(other);
        // The freed slot goes to a lane holding none: "a:third" (the flood's lane
        // still holds its slot).
        let third = third.await.unwrap().unwrap();
        assert_eq!(s.counts(), (4, 2));
        drop(flood);
        // Now the flood's first waiter gets the freed slot, one at a time.
        let first = flood_waiters.remove(0).await.unwrap();
        assert!(first.is_ok());
        drop(third);
        for w in flood_waiters {
            assert!(w.await.unwrap().is_ok());
        }
        assert_eq!(s.counts(), (0, 0));
    }

    #[tokio::test]
    async fn a_full_queue_pushes_out_the_longest_lane_not_a_newcomer() {
        let s = FairSlots::new(1, 4, 4);
        let held = s.acquire("a:x").await.unwrap();
        let flood: Vec<_> = (0..4)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.acquire("a:flood").await.map(drop) })
            })
            .collect();
        while s.counts().0 < 4 {
            tokio::task::yield_now().await;
        }
        // Every queue is full, but a newcomer lane gets a place: the flood's newest
        // waiter is refused instead.
        let newcomer = {
            let s = s.clone();
            tokio::spawn(async move { s.acquire("d:device").await.map(drop) })
        };
        tokio::task::yield_now().await;
        while s.counts().0 < 4 || !flood.iter().any(|h| h.is_finished()) {
            tokio::task::yield_now().await;
        }
        drop(held);
        assert!(newcomer.await.unwrap().is_ok());
        let results: Vec<_> = futures_util::future::join_all(flood).await;
        let refused = results
            .iter()
            .filter(|r| r.as_ref().unwrap().is_err())
            .count();
        assert_eq!(refused, 1, "{results:?}");
    }

    #[tokio::test]
    async fn a_waiter_that_went_away_is_skipped() {
        use std::task::Context;
        let s = FairSlots::new(1, 4, 64);
        let held = s.acquire("a:x").await.unwrap();
        // Queued first, then its caller goes away (the future is dropped).
        let mut gone = Box::pin(s.acquire("a:gone"));
        let waker = std::task::Waker::noop();
        assert!(
            gone.as_mut()
                .poll(&mut Context::from_waker(waker))
                .is_pending()
        );
        let next = {
            let s = s.clone();
            tokio::spawn(async move { s.acquire("a:next").await.map(drop) })
        };
        while s.counts().0 < 2 {
            tokio::task::yield_now().await;
        }
        drop(gone);
        // The freed slot is offered to "a:gone" first, taken back, and handed on.
        drop(held);
        assert!(next.await.unwrap().is_ok());
        assert_eq!(s.counts(), (0, 0));
    }
}
