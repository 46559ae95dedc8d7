//! Reading the audit log, for the API and the pages alike: office administrators
//! see the entries that name their office, auditors every entry. One decision per
//! request (`read_office_audit` or `read_all_audit`), itself audited.
//!
//! Invariant: an administrator's filter is forced to their own office whatever the
//! query says, and starts at that office's creation entry (a re-created slug shows
//! nothing of the office purged before it); entries carry ids only, so a page reveals no client data. Usernames
//! shown beside entries (pages only) come from the users table at read time, after
//! the decision: the log itself keeps ids only.
use std::sync::Arc;

use std::collections::HashMap;

use serde::Serialize;

use crate::clock::{parse_rfc3339, rfc3339};
use crate::policy::{Action, Resource, Role};
use crate::store::{AuditFilter, AuditRow};
use crate::vault::guard::target::{Target, Word};
use crate::vault::{Actor, Vault, VaultError};

/// The default page size.
pub const AUDIT_PAGE_DEFAULT: i64 = 100;
/// The largest page.
pub const AUDIT_PAGE_MAX: i64 = 1000;

/// What the caller asks for.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only entries after this sequence number.
    pub after: Option<i64>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<i64>,
    /// Only this actor id.
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only entries whose target contains this id or token.
    pub target: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Only entries before this time (RFC 3339).
    pub until: Option<String>,
    /// Also look up the usernames of the page's actors (for the pages).
    pub names: bool,
    /// Only entries before this sequence number (the pages' "older entries").
    pub before: Option<i64>,
    /// Newest first (the pages); the API reads oldest first.
    pub newest_first: bool,
}

/// One entry as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntryView {
    /// Sequence number.
    pub seq: i64,
    /// RFC 3339.
    pub time: String,
    /// Actor id.
    pub actor: String,
    /// Actor role.
    pub role: String,
    /// Action.
    pub action: String,
    /// Target ids (`kind:id` tokens).
    pub target: String,
    /// `allow` / `deny`.
    pub decision: String,
    /// Outcome.
    pub outcome: String,
    /// Chain hash (hex).
    pub hash: String,
}

impl From<AuditRow> for AuditEntryView {
    fn from(r: AuditRow) -> Self {
        AuditEntryView {
            seq: r.seq,
            time: r.time,
            actor: r.actor,
            role: r.role,
            action: r.action,
            target: r.target,
            decision: r.decision,
            outcome: r.outcome,
            hash: crate::crypto::hex(&r.hash),
        }
    }
}

/// A page of entries, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<AuditEntryView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<i64>,
    /// The office the answer is confined to (office administrators).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    /// Actor id → username for the accounts on this page, when asked for.
    #[serde(skip)]
    pub names: HashMap<String, String>,
}

fn bad(msg: &str) -> VaultError {
    VaultError::bad("invalid_query", msg)
}

pub(in crate::vault) fn time_filter(
    name: &str,
    v: Option<&str>,
) -> Result<Option<String>, VaultError> {
    match v {
        None => Ok(None),
        Some(s) => parse_rfc3339(s)
            .map(|t| Some(rfc3339(t)))
            .ok_or_else(|| bad(&format!("{name} must be an RFC 3339 time"))),
    }
}

fn short(name: &str, v: Option<String>) -> Result<Option<String>, VaultError> {
    match v {
        Some(s) if s.len() > 200 => Err(bad(&format!("{name} is too long"))),
        other => Ok(other.filter(|s| !s.is_empty())),
    }
}

impl Vault {
    /// A page of the audit log the actor may read.
    pub async fn read_audit(
        self: &Arc<Self>,
        actor: &Actor,
        q: AuditQuery,
    ) -> Result<AuditPage, VaultError> {
        let actor = actor.clone();
        self.run(move |v| v.read_audit_blocking(&actor, q)).await
    }

    pub(in crate::vault) fn read_audit_blocking(
        &self,
        actor: &Actor,
        q: AuditQuery,
    ) -> Result<AuditPage, VaultError> {
        let after = q.after.unwrap_or(0);
        if after < 0 {
            return Err(bad("after must be 0 or more"));
        }
        let limit = q
            .limit
            .unwrap_or(AUDIT_PAGE_DEFAULT)
            .clamp(1, AUDIT_PAGE_MAX);
        let mut filter = AuditFilter {
            after,
            limit,
            actor: short("actor", q.actor)?,
            action: short("action", q.action)?,
            target: short("target", q.target)?,
            office: None,
            since: time_filter("since", q.since.as_deref())?,
            until: time_filter("until", q.until.as_deref())?,
            before: q.before,
            newest_first: q.newest_first,
        };
        let allowed = if actor.is(Role::Admin) {
            let office = actor.office.clone().unwrap_or_default();
            let a = self.authorize(
                actor,
                Action::ReadOfficeAudit,
                &Resource::Office(&office),
                Target::stored_office(&office).with(Word::Audit),
            )?;
            // Only this office's own entries: none from before its creation, which
            // may name an earlier office of the same slug (purged, then re-created).
            let from = self.db.read(|tx| tx.office_audit_from(&office))?;
            filter.after = filter.after.max(from.saturating_sub(1));
            filter.office = Some(office);
            a
        } else {
            self.authorize(
                actor,
                Action::ReadAllAudit,
                &Resource::System,
                Target::word(Word::Audit),
            )?
        };
        self.record_now(&allowed, "ok")?;
        let (rows, names) = self.db.read(|tx| -> Result<_, VaultError> {
            // An office's view: whole `office:SLUG` tokens of targets that parse.
            let rows = tx.audit_page_where(&filter, |r| {
                filter
                    .office
                    .as_deref()
                    .is_none_or(|o| crate::vault::guard::target::names_office(&r.target, o))
            })?;
            let mut names = HashMap::new();
            if q.names {
                for r in &rows {
                    if names.contains_key(&r.actor) || crate::vault::parse_id(&r.actor).is_none() {
                        continue;
                    }
                    if let Some(u) = tx.user(&r.actor)? {
                        names.insert(r.actor.clone(), u.username);
                    }
                }
            }
            Ok((rows, names))
        })?;
        let next_after = (rows.len() as i64 == limit)
            .then(|| rows.last().map(|r| r.seq))
            .flatten();
        Ok(AuditPage {
            entries: rows.into_iter().map(AuditEntryView::from).collect(),
            next_after,
            office: filter.office,
            names,
        })
    }
}
