//! A memo of decisions: the policy is a pure function of its inputs (the policy set is
//! fixed for the life of the process), so a decision asked again with exactly the same
//! principal, action, resource facts and context gives the same answer. Cedar evaluates
//! every rule of the set on each call, which made it the largest cost of a request.
//!
//! Invariant: the key is an unambiguous encoding (every field length-prefixed) of
//! *every* input the decision reads — a changed share, assignment, role, flag or
//! context is a different key, never a stale answer. Bounded: past [`MAX`] entries the
//! memo starts over. It holds ids and flags only (no client data).
use std::collections::HashMap;
use std::sync::Mutex;

use super::{Action, Ctx, Principal, Resource};

/// Entries kept at most.
const MAX: usize = 20_000;

#[derive(Default)]
pub(super) struct Memo(Mutex<HashMap<Vec<u8>, bool>>);

fn put(k: &mut Vec<u8>, s: &str) {
    k.extend_from_slice(&(s.len() as u64).to_le_bytes());
    k.extend_from_slice(s.as_bytes());
}

fn put_list(k: &mut Vec<u8>, v: &[String]) {
    k.extend_from_slice(&(v.len() as u64).to_le_bytes());
    for s in v {
        put(k, s);
    }
}

/// The key: every input of a decision.
pub(super) fn key(p: &Principal, action: Action, r: &Resource<'_>, ctx: &Ctx) -> Vec<u8> {
    let mut k = Vec::with_capacity(256);
    put(&mut k, &p.id);
    put(&mut k, p.role.as_str());
    put(&mut k, &p.office);
    k.extend_from_slice(&[
        u8::from(p.supervisor),
        u8::from(p.second_factor),
        u8::from(p.access_confirmed),
    ]);
    put(&mut k, action.name());
    match r {
        Resource::System => k.push(0),
        Resource::Office(slug) => {
            k.push(1);
            put(&mut k, slug);
        }
        Resource::Case(c) => {
            k.push(2);
            put(&mut k, &c.id);
            put(&mut k, &c.office);
            put(&mut k, &c.creator);
            put_list(&mut k, &c.assignees);
            put_list(&mut k, &c.readers);
            put_list(&mut k, &c.uploaders);
            put_list(&mut k, &c.note_readers);
        }
    }
    k.extend_from_slice(&[
        u8::from(ctx.fresh),
        u8::from(ctx.passphrase_proved),
        u8::from(ctx.grants_access),
    ]);
    put(&mut k, ctx.target_role.map(|r| r.as_str()).unwrap_or(""));
    match ctx.document {
        None => k.push(0),
        Some(d) => {
            k.push(1);
            k.push(u8::from(d.uploaded_by_principal));
            k.extend_from_slice(&d.age_minutes.to_le_bytes());
        }
    }
    k
}

impl Memo {
    pub(super) fn get(&self, key: &[u8]) -> Option<bool> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .copied()
    }

    pub(super) fn put(&self, key: Vec<u8>, allow: bool) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= MAX {
            m.clear();
        }
        m.insert(key, allow);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CaseFacts, Policy, Role};
    use super::*;

    fn partner() -> Principal {
        Principal {
            id: "p1".into(),
            role: Role::Partner,
            office: String::new(),
            supervisor: false,
            second_factor: true,
            access_confirmed: true,
        }
    }

    fn case(readers: &[&str]) -> CaseFacts {
        CaseFacts {
            id: "c1".into(),
            office: "bronx".into(),
            creator: "u1".into(),
            assignees: vec![],
            readers: readers.iter().map(|s| s.to_string()).collect(),
            uploaders: vec![],
            note_readers: vec![],
        }
    }

    /// Every input that a decision reads changes the key, so a memoised answer is
    /// never served for changed facts: the same question asked in turns with a share
    /// that comes, goes and comes back answers each time as Cedar does.
    #[test]
    fn the_memo_never_answers_for_changed_facts() {
        let policy = Policy::builtin().unwrap();
        let ctx = Ctx::default();
        let p = partner();
        for _ in 0..3 {
            for (readers, want) in [(&["p1"][..], true), (&[][..], false), (&["p2"][..], false)] {
                let c = case(readers);
                let r = Resource::Case(&c);
                assert_eq!(policy.decide(&p, Action::ReadCase, &r, &ctx), want);
                assert_eq!(
                    policy.try_decide(&p, Action::ReadCase, &r, &ctx),
                    Some(want)
                );
            }
        }
        // A principal field (the second factor) and the action are part of the key too.
        let c = case(&["p1"]);
        let r = Resource::Case(&c);
        let mut q = partner();
        q.second_factor = false;
        assert_ne!(
            key(&p, Action::ReadCase, &r, &ctx),
            key(&q, Action::ReadCase, &r, &ctx)
        );
        assert_ne!(
            key(&p, Action::ReadCase, &r, &ctx),
            key(&p, Action::UploadDocument, &r, &ctx)
        );
        let fresh = Ctx {
            fresh: true,
            ..Ctx::default()
        };
        assert_ne!(
            key(&p, Action::ReadCase, &r, &ctx),
            key(&p, Action::ReadCase, &r, &fresh)
        );
        // Length prefixes: moving a boundary between two lists is another key.
        let a = CaseFacts {
            assignees: vec!["x".into()],
            readers: vec![],
            ..case(&[])
        };
        let b = CaseFacts {
            assignees: vec![],
            readers: vec!["x".into()],
            ..case(&[])
        };
        assert_ne!(
            key(&p, Action::ReadCase, &Resource::Case(&a), &ctx),
            key(&p, Action::ReadCase, &Resource::Case(&b), &ctx)
        );
    }
}
