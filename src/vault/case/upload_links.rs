//! Client upload links, from the office's side: making one for a case (its token
//! answered once), listing a case's links and revoking one; and the "new files from
//! the client" count on the Cases page. What a client does with a link is
//! `document/link_upload.rs`.
//!
//! Invariants: only the keyed hash of a token is stored, and the token is answered
//! once, to the one who made the link; every operation is decided by
//! `make_upload_link` (the rules that let the caller add documents to the case) and
//! audited; a link never outlives its case (purge deletes it with the case).
use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use zeroize::Zeroizing;

use crate::clock::rfc3339;
use crate::policy::{Action, Resource, Role};
use crate::store::LinkRow;
use crate::vault::case::cases::bad;
use crate::vault::guard::target::{Target, Word};
use crate::vault::{Actor, CasePage, Vault, VaultError, new_id, parse_id};

/// Days a link lasts when the maker does not say, and the most it may.
pub const LINK_DAYS_DEFAULT: u32 = 7;
const LINK_DAYS_MAX: u32 = 30;
/// Files a link lets in when the maker does not say, and the most it may.
pub const LINK_FILES_DEFAULT: u32 = 10;
const LINK_FILES_MAX: u32 = 50;

/// What a new link says (every field optional).
#[derive(Debug, Clone, Default)]
pub struct LinkInput {
    /// 1 to 30 (default 7).
    pub expires_in_days: Option<u32>,
    /// 1 to 50 (default 10).
    pub max_files: Option<u32>,
    /// `en` or `es` (default `en`): the language of the client's page.
    pub language: Option<String>,
}

/// A link just made. The token is here once and nowhere else (no `Debug`).
pub struct LinkMade {
    /// The link's id.
    pub id: String,
    /// The token for the client's URL (`/u/TOKEN`).
    pub token: Zeroizing<String>,
    /// RFC 3339.
    pub expires_at: String,
    /// `en` or `es`.
    pub language: String,
    /// Files it takes.
    pub max_files: u32,
    /// The slug of the case's office.
    pub office: String,
}

/// A link as listed on its case (never its token).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkView {
    /// The link's id.
    pub id: String,
    /// RFC 3339.
    pub created_at: String,
    /// The account that made it.
    pub created_by: String,
    /// RFC 3339: it stops working then.
    pub expires_at: String,
    /// Files the client sent through it.
    pub files_received: u32,
    /// Files it lets in at most.
    pub max_files: u32,
    /// Whether it was revoked.
    pub revoked: bool,
    /// `en` or `es`: the language of the client's page.
    pub language: String,
    /// `live`, `expired`, `used_up`, `revoked`, or `stopped` (the account that made it
    /// may no longer add documents to the case).
    pub state: String,
}

/// What a link's state is at `now`: `live`, `revoked`, `expired` or `used_up`.
pub(in crate::vault) fn link_state(l: &LinkRow, now: i64) -> &'static str {
    if l.revoked_at.is_some() {
        "revoked"
    } else if now >= l.expires_at {
        "expired"
    } else if l.files_received >= l.max_files || l.bytes_received >= l.max_bytes {
        "used_up"
    } else {
        "live"
    }
}

fn view(l: LinkRow, now: i64) -> LinkView {
    let expires = time::OffsetDateTime::from_unix_timestamp(l.expires_at)
        .map(rfc3339)
        .unwrap_or_default();
    LinkView {
        state: link_state(&l, now).to_string(),
        id: l.id,
        created_at: l.created_at,
        created_by: l.created_by,
        expires_at: expires,
        files_received: u32::try_from(l.files_received).unwrap_or(u32::MAX),
        max_files: u32::try_from(l.max_files).unwrap_or(u32::MAX),
        revoked: l.revoked_at.is_some(),
        language: l.language,
    }
}

/// Characters of a token: letters and digits only (a subset of base64url), so that no
/// messaging app cuts a trailing `-` or `_` off the link when it underlines it.
const TOKEN_ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Characters of a token: 24 × log2(62) ≈ 142.9 random bits.
const TOKEN_CHARS: usize = 24;

/// A new link's token, drawn without bias from the operating system's random source
/// (a byte of 248 or more, which `% 62` would skew, is drawn again).
fn new_token() -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(TOKEN_CHARS));
    while out.len() < TOKEN_CHARS {
        let batch = Zeroizing::new(crate::crypto::random_bytes::<32>());
        for b in batch.iter().filter(|b| **b < 248) {
            if out.len() == TOKEN_CHARS {
                break;
            }
            out.push(char::from(TOKEN_ALPHABET[usize::from(*b) % 62]));
        }
    }
    out
}

impl Vault {
    /// Makes a link through which a client adds files to the case (decided like an
    /// upload to the case). Works while the office is sealed: it needs no key.
    pub async fn make_upload_link(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        input: LinkInput,
    ) -> Result<LinkMade, VaultError> {
        let (actor, case_id) = (actor.clone(), case_id.to_owned());
        self.run(move |v| v.make_upload_link_blocking(&actor, &case_id, &input))
            .await
    }

    fn make_upload_link_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
        input: &LinkInput,
    ) -> Result<LinkMade, VaultError> {
        let id = new_id();
        let (case, allowed) = self.case_for(
            actor,
            Action::MakeUploadLink,
            case_id,
            Some(Target::link(&id)),
        )?;
        let checked = (|| {
            let days = input.expires_in_days.unwrap_or(LINK_DAYS_DEFAULT);
            if !(1..=LINK_DAYS_MAX).contains(&days) {
                return Err(bad("invalid_days", "expires_in_days must be from 1 to 30"));
            }
            let files = input.max_files.unwrap_or(LINK_FILES_DEFAULT);
            if !(1..=LINK_FILES_MAX).contains(&files) {
                return Err(bad("invalid_max_files", "max_files must be from 1 to 50"));
            }
            let language = input.language.as_deref().unwrap_or("en");
            if !matches!(language, "en" | "es") {
                return Err(bad("invalid_language", "language is \"en\" or \"es\""));
            }
            Ok((days, files, language.to_owned()))
        })();
        let (days, files, language) = match checked {
            Ok(v) => v,
            Err(e) => {
                self.record_now(&allowed, "invalid_input")?;
                return Err(e);
            }
        };
        let token = new_token();
        let hash = self.auth_key.link_hash(token.as_bytes());
        let expires = self.clock.unix() + i64::from(days) * 86_400;
        let max_bytes =
            i64::try_from(self.settings.upload_links.max_bytes_per_link).unwrap_or(i64::MAX);
        let now = self.now_str();
        self.db.write(|tx| {
            tx.insert_link(&crate::store::NewLinkRow {
                id: &id,
                case_id: &case.id,
                token_hash: &hash,
                created_by: &actor.id,
                created_at: &now,
                expires_at: expires,
                max_files: i64::from(files),
                max_bytes,
                language: &language,
            })?;
            self.record(tx, &allowed, "ok")
        })?;
        let expires_at = time::OffsetDateTime::from_unix_timestamp(expires)
            .map(rfc3339)
            .map_err(|_| VaultError::Internal("link expiry out of range".into()))?;
        Ok(LinkMade {
            id,
            token,
            expires_at,
            language,
            max_files: files,
            office: case.office,
        })
    }

    /// The case's links, newest first (never a token).
    pub async fn list_upload_links(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
    ) -> Result<Vec<LinkView>, VaultError> {
        let (actor, case_id) = (actor.clone(), case_id.to_owned());
        self.run(move |v| {
            let (case, allowed) = v.case_for(
                &actor,
                Action::MakeUploadLink,
                &case_id,
                Some(Target::word(Word::UploadLinks)),
            )?;
            let now = v.clock.unix();
            let views = v.db.read(|tx| -> Result<Vec<LinkView>, VaultError> {
                let mut out = Vec::new();
                for l in tx.links(&case.id)? {
                    let stopped = link_state(&l, now) == "live" && !v.maker_may(tx, &l)?;
                    let mut lv = view(l, now);
                    if stopped {
                        lv.state = "stopped".into();
                    }
                    out.push(lv);
                }
                Ok(out)
            })?;
            v.record_now(&allowed, "ok")?;
            Ok(views)
        })
        .await
    }

    /// Revokes a link of the case at once; a link unknown, of another case or already
    /// revoked answers "not found".
    pub async fn revoke_upload_link(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        link_id: &str,
    ) -> Result<(), VaultError> {
        let (actor, case_id, link_id) = (actor.clone(), case_id.to_owned(), link_id.to_owned());
        self.run(move |v| {
            let (case, allowed) = v.case_for(
                &actor,
                Action::MakeUploadLink,
                &case_id,
                Some(Target::link(&link_id).with(Word::Revoke)),
            )?;
            let Some(link) = parse_id(&link_id) else {
                v.record_now(&allowed, "not_found")?;
                return Err(VaultError::NotFound);
            };
            let now = v.clock.unix();
            let revoked = v.db.write(|tx| {
                let revoked = tx.revoke_link(&case.id, &link, now)?;
                if revoked {
                    v.record(tx, &allowed, "ok")?;
                }
                Ok::<_, VaultError>(revoked)
            })?;
            if !revoked {
                v.record_now(&allowed, "not_found")?;
                return Err(VaultError::NotFound);
            }
            Ok(())
        })
        .await
    }

    /// How many files clients sent to each case of `page` that no caseworker has
    /// looked at yet (cases with none are left out). The page was decided and audited
    /// when it was listed; this reads only counts of its own cases.
    pub async fn client_file_news(
        self: &Arc<Self>,
        page: &CasePage,
    ) -> Result<HashMap<String, u32>, VaultError> {
        let ids: Vec<String> = page.cases.iter().map(|c| c.id.clone()).collect();
        self.run(move |v| {
            let news = v.db.read(|tx| tx.client_file_news())?;
            Ok(news
                .into_iter()
                .filter(|(id, _)| ids.contains(id))
                .map(|(id, n)| (id, u32::try_from(n).unwrap_or(u32::MAX)))
                .collect())
        })
        .await
    }

    /// A caseworker who may read the case opened it: its files from clients count as
    /// seen. Anyone else (an administrator, a partner) leaves the count as it is. Not
    /// audited: the case was read (and that audited) by the same page.
    pub async fn client_files_seen(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
    ) -> Result<(), VaultError> {
        if !actor.is(Role::Caseworker) {
            return Ok(());
        }
        let (actor, case_id) = (actor.clone(), case_id.to_owned());
        self.run(move |v| {
            let Some(id) = parse_id(&case_id) else {
                return Ok(());
            };
            let facts = v.db.read(|tx| -> Result<_, VaultError> {
                match tx.case(&id)? {
                    Some(c) => Ok(Some(v.case_facts(tx, &c)?)),
                    None => Ok(None),
                }
            })?;
            let Some(facts) = facts else { return Ok(()) };
            let may = actor.role().is_some_and(|role| {
                v.policy.decide(
                    &actor.principal(role),
                    Action::ReadCase,
                    &Resource::Case(&facts),
                    &crate::policy::Ctx::default(),
                )
            });
            if may {
                v.db.write(|tx| tx.clear_client_file_news(&id))?;
            }
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_24_letters_and_digits_and_differ() {
        let a = super::new_token();
        let b = super::new_token();
        assert_eq!(a.len(), 24);
        assert!(
            a.bytes().all(|c| c.is_ascii_alphanumeric()),
            "{}",
            a.as_str()
        );
        assert_ne!(a.as_str(), b.as_str());
    }
}
