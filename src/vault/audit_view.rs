//! Reading the audit log for people, and recording refused form posts.
//!
//! Invariants: no audit entry is returned before one policy decision
//! (`read_all_audit` for auditors, `read_office_audit` for an office administrator,
//! whose page is then confined to entries naming their office); the decision itself
//! is audited like every other. Usernames shown beside entries come from the users
//! table at read time: the log itself keeps ids only.
use std::collections::HashMap;

use super::{Actor, Vault, VaultError};
use crate::policy::{Action, Resource};
use crate::store::{AuditFilter, AuditRow};

/// The most entries one page may hold.
pub const AUDIT_LISTING_MAX: i64 = 200;

/// One page of the audit log with the usernames of its actors.
#[derive(Debug, Clone)]
pub struct AuditListing {
    /// Entries, oldest first.
    pub entries: Vec<AuditRow>,
    /// Actor id → username, for the actors on this page that are accounts.
    pub names: HashMap<String, String>,
    /// The office the page is confined to (office administrators).
    pub office: Option<String>,
}

impl Vault {
    /// A page of audit entries the actor may read: every office for an auditor,
    /// their own office for an office administrator, nothing for anyone else
    /// (`Forbidden`, audited). The filter's `office` is forced for administrators.
    pub fn audit_page_for(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
    ) -> Result<AuditListing, VaultError> {
        let mut q = filter.clone();
        q.limit = q.limit.clamp(1, AUDIT_LISTING_MAX);
        let allowed = match (actor.role.as_str(), &actor.office) {
            ("admin", Some(o)) => {
                let a = self.authorize(
                    actor,
                    Action::ReadOfficeAudit,
                    &Resource::Office(o),
                    format!("office:{o} audit"),
                )?;
                q.office = Some(o.clone());
                a
            }
            _ => self.authorize(
                actor,
                Action::ReadAllAudit,
                &Resource::System,
                "audit".into(),
            )?,
        };
        self.record_now(&allowed, "ok")?;
        let (entries, names) = self.db.read(|tx| -> Result<_, VaultError> {
            let entries = tx.audit_page(&q)?;
            let mut names = HashMap::new();
            for e in &entries {
                if names.contains_key(&e.actor) || super::parse_id(&e.actor).is_none() {
                    continue;
                }
                if let Some(u) = tx.user(&e.actor)? {
                    names.insert(e.actor.clone(), u.username);
                }
            }
            Ok((entries, names))
        })?;
        Ok(AuditListing {
            entries,
            names,
            office: q.office,
        })
    }

    /// Records a form post refused for a missing or wrong CSRF token. `actor` is
    /// `None` before sign-in. The entry names the form, never its contents.
    pub fn audit_csrf_failure(&self, actor: Option<&Actor>, form: &str) -> Result<(), VaultError> {
        let anon = Actor {
            id: "-".into(),
            username: String::new(),
            role: "-".into(),
            office: None,
            org: None,
            supervisor: false,
            second_factor: false,
            fresh: false,
        };
        let actor = actor.unwrap_or(&anon);
        self.audit_now(
            actor,
            "csrf_check",
            &format!("form:{form}"),
            "deny",
            "csrf_invalid",
        )
    }

    /// The actor's own live shares: case id → (permission, expiry, unix seconds).
    /// A partner's case list shows how long each case stays visible.
    pub fn own_share_expiry(
        &self,
        actor: &Actor,
    ) -> Result<HashMap<String, (String, i64)>, VaultError> {
        let now = self.clock.unix();
        self.db.read(|tx| -> Result<_, VaultError> {
            let mut out: HashMap<String, (String, i64)> = HashMap::new();
            for c in tx.shared_cases(&actor.id)? {
                for s in tx.shares(&c.id)? {
                    if s.user_id != actor.id || s.revoked_at.is_some() || s.expires_at <= now {
                        continue;
                    }
                    let better = out.get(&c.id).is_none_or(|(_, e)| s.expires_at > *e);
                    if better {
                        out.insert(c.id.clone(), (s.permission.clone(), s.expires_at));
                    }
                }
            }
            Ok(out)
        })
    }
}
