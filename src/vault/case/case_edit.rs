//! Editing a case's details: every version is kept, sealed to the case key, and an
//! edit names the version its editor saw (the pages always do; an API client may
//! leave it out), so two people editing at once never silently overwrite each other
//! (the second is told, with 409).
//!
//! Invariants: the new details are validated exactly as at opening; the earlier
//! version and the new one commit in one transaction with the audit entry; the blind
//! indexes follow the new A-number and name in that same transaction, so a search
//! finds the new value and no longer the old; editing needs the office unsealed (the
//! current details must be read to apply a partial change).
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto;
use crate::policy::Action;
use crate::store::EditOutcome;
use crate::vault::case::cases::{CaseInput, CaseMeta};
use crate::vault::case::casework::usernames;
use crate::vault::case::indexes::Indexes;
use crate::vault::guard::target::{Target, Word};
use crate::vault::office::plain_cache::Part;
use crate::vault::{Actor, PageQuery, Vault, VaultError};

/// `Some(None)` for an explicit `null` (clear the field), `None` when it is absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A change to a case's details: only the fields present change; `null` (or an empty
/// string) clears an optional one.
#[derive(Debug, Clone, Default, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct CasePatch {
    /// Client's name (cannot be cleared).
    #[serde(default)]
    pub client_name: Option<String>,
    /// A-number.
    #[serde(default, deserialize_with = "present")]
    pub a_number: Option<Option<String>>,
    /// Date of birth.
    #[serde(default, deserialize_with = "present")]
    pub date_of_birth: Option<Option<String>>,
    /// Country of birth.
    #[serde(default, deserialize_with = "present")]
    pub country_of_birth: Option<Option<String>>,
    /// Free-text notes kept with the details.
    #[serde(default, deserialize_with = "present")]
    pub notes: Option<Option<String>>,
    /// The version being changed (instead of an `If-Match` header).
    #[serde(default)]
    pub version: Option<i64>,
}

/// One version of a case's details.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseVersionView {
    /// Version number (1 = as opened).
    pub version: i64,
    /// RFC 3339 time this version was written.
    pub changed_at: String,
    /// Account id of who wrote it.
    pub changed_by: String,
    /// Their username (empty if the account is gone).
    pub changed_by_name: String,
    /// The details as they were.
    pub metadata: CaseMeta,
}

/// A page of the versions of a case's details, newest (the current one) first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseVersions {
    /// Newest first.
    pub versions: Vec<CaseVersionView>,
    /// Pass as `after` for the next (older) page: the last version number listed;
    /// null on the last page.
    pub next_after: Option<String>,
}

fn blank_is_none(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

impl CasePatch {
    /// Whether it changes anything at all.
    fn is_empty(&self) -> bool {
        self.client_name.is_none()
            && self.a_number.is_none()
            && self.date_of_birth.is_none()
            && self.country_of_birth.is_none()
            && self.notes.is_none()
    }

    /// The details after the change, validated as a new case's would be.
    fn apply(&self, office: &str, cur: &CaseMeta) -> Result<CaseMeta, VaultError> {
        let pick = |new: &Option<Option<String>>, old: &Option<String>| match new {
            Some(v) => blank_is_none(v.clone()),
            None => old.clone(),
        };
        let input = CaseInput {
            office: office.to_owned(),
            client_name: self
                .client_name
                .clone()
                .unwrap_or_else(|| cur.client_name.clone()),
            a_number: pick(&self.a_number, &cur.a_number),
            date_of_birth: pick(&self.date_of_birth, &cur.date_of_birth),
            country_of_birth: pick(&self.country_of_birth, &cur.country_of_birth),
            notes: pick(&self.notes, &cur.notes),
        };
        input.validate()
    }
}

impl Vault {
    /// Changes a case's details if it is still at version `expected` (when `None`: the
    /// version read now); answers the new version (the same one when nothing changed).
    pub async fn edit_case(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        patch: &CasePatch,
        expected: Option<i64>,
    ) -> Result<i64, VaultError> {
        let (actor, case_id, patch) = (actor.clone(), case_id.to_owned(), patch.clone());
        self.run(move |v| v.edit_case_blocking(&actor, &case_id, &patch, expected))
            .await
    }

    pub(in crate::vault) fn edit_case_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
        patch: &CasePatch,
        expected: Option<i64>,
    ) -> Result<i64, VaultError> {
        let (case, allowed) = self.case_for(actor, Action::EditCase, case_id, None)?;
        let expected = expected.unwrap_or(case.version);
        let Some(keys) = self.use_keys(&case.office) else {
            self.record_now(&allowed, "sealed")?;
            return Err(VaultError::OfficeSealed(case.office));
        };
        let checked = (|| {
            if patch.is_empty() {
                return Err(VaultError::bad(
                    "invalid_field",
                    "send at least one of client_name, a_number, date_of_birth, country_of_birth and notes",
                ));
            }
            let cur = CaseMeta::parse(&self.open_sealed(&case, Part::Meta, &case.metadata)?)?;
            let new = patch.apply(&case.office, &cur)?;
            Ok((cur, new))
        })();
        let (cur, new) = self.or_record(&allowed, checked)?;
        if expected != case.version {
            self.record_now(&allowed, "conflict")?;
            return Err(conflict(case.version));
        }
        if cur == new {
            self.record_now(&allowed, "unchanged")?;
            return Ok(case.version);
        }
        let json = Zeroizing::new(
            serde_json::to_vec(&new).map_err(|e| VaultError::Internal(e.to_string()))?,
        );
        let ct = crypto::seal_to(&case.recipient, &json)?;
        let indexes = Indexes::of(&new, &keys.index);
        let indexed_under = keys.recipient.clone();
        drop(keys);
        let now = self.now_str();
        let outcome = self.db.write(|tx| {
            // Indexes made under a key a rotation has just replaced would not be found.
            crate::vault::office::rotate::same_office_key(tx, &case.office, &indexed_under)?;
            let out = tx.edit_case_meta(&case.id, expected, &ct, &actor.id, &now)?;
            match out {
                EditOutcome::Stored(v) => {
                    tx.set_case_indexes(&case.id, &indexes.row())?;
                    self.record(tx, &allowed, &format!("ok version={v}"))?;
                }
                EditOutcome::Conflict(_) => self.record(tx, &allowed, "conflict")?,
                EditOutcome::Missing => self.record(tx, &allowed, "not_found")?,
            }
            Ok::<_, VaultError>(out)
        })?;
        match outcome {
            EditOutcome::Stored(v) => Ok(v),
            EditOutcome::Conflict(v) => Err(conflict(v)),
            EditOutcome::Missing => Err(VaultError::NotFound),
        }
    }

    /// A page of the versions of a case's details, the current one first (`limit`
    /// default 50, at most 500, and at most `PAGE_BYTES` of details); `after` is the
    /// last version number of the previous page.
    pub async fn case_versions(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        page: &PageQuery,
    ) -> Result<CaseVersions, VaultError> {
        let (actor, case_id, page) = (actor.clone(), case_id.to_owned(), page.clone());
        self.run_heavy(move |v| v.case_versions_blocking(&actor, &case_id, &page))
            .await
    }

    pub(in crate::vault) fn case_versions_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
        page: &PageQuery,
    ) -> Result<CaseVersions, VaultError> {
        let limit = page.size()?;
        let cursor = page.number_cursor()?;
        // Rule 20: whoever may edit the details sees their history (a partner reads
        // the current details only).
        let (case, allowed) = self.case_for(
            actor,
            Action::ReadVersions,
            case_id,
            Some(Target::word(Word::Versions)),
        )?;
        if cursor.is_some_and(|c| c > case.version) {
            self.record_now(&allowed, "invalid_cursor")?;
            return Err(crate::vault::case::case_list::invalid_cursor());
        }
        self.readable(&case, &allowed)?;
        let current_by = case.updated_by.clone().unwrap_or(case.created_by.clone());
        // The current version heads the first page; earlier ones are rows.
        let first = cursor.is_none();
        let want = limit + 1 - usize::from(first);
        let (rows, names) = self.db.read(|tx| -> Result<_, VaultError> {
            let rows = tx.version_page(&case.id, cursor, want)?;
            let ids = rows.iter().map(|r| r.changed_by.as_str());
            let names = usernames(tx, ids.chain([current_by.as_str()]))?;
            Ok((rows, names))
        })?;
        let more = rows.len() >= want;
        let name = |id: &str| names.get(id).cloned().unwrap_or_default();
        let mut versions = Vec::new();
        let mut bytes = 0usize;
        if first {
            let plain = self.open_sealed(&case, Part::Meta, &case.metadata)?;
            bytes += plain.len();
            versions.push(CaseVersionView {
                version: case.version,
                changed_at: case.updated_at.clone().unwrap_or(case.created_at.clone()),
                changed_by_name: name(&current_by),
                changed_by: current_by.clone(),
                metadata: CaseMeta::parse(&plain)?,
            });
        }
        let mut cut = false;
        for r in rows.into_iter().take(want - 1) {
            if bytes >= page.byte_budget() {
                cut = true;
                break;
            }
            let key = format!("v{}", r.version);
            let plain = self.open_sealed(&case, Part::Item(&key), &r.metadata)?;
            bytes += plain.len();
            versions.push(CaseVersionView {
                version: r.version,
                changed_at: r.changed_at,
                changed_by_name: name(&r.changed_by),
                changed_by: r.changed_by,
                metadata: CaseMeta::parse(&plain)?,
            });
        }
        let next_after = (more || cut)
            .then(|| versions.last().map(|v| v.version.to_string()))
            .flatten();
        Ok(CaseVersions {
            versions,
            next_after,
        })
    }
}

fn conflict(now: i64) -> VaultError {
    VaultError::conflict(
        "edit_conflict",
        format!(
            "someone else changed these details since you opened them (they are now at version {now}); \
             nothing was saved: reload the case, check their change, and make yours again"
        ),
    )
}
