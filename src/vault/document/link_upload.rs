//! Client upload links, from the client's side: a request to `/u/TOKEN` is counted
//! against its address's hourly budget, its token is hashed and looked up by that
//! hash, and a live link lets the client add files to its case, each encrypted to the
//! case's public key as it arrives (so a link works while the office is sealed).
//!
//! Invariants: a token that names no link, and one whose link expired, was used up
//! or revoked, take the same work (one hash, one lookup, one audit entry) and answer
//! the same [`VaultError::NotFound`]; a link reaches its one case and nothing else
//! (it is no [`crate::vault::Actor`]: no policy rule can name it), and only while the
//! account that made it may still make links for that case; every page view,
//! file and refusal is audited as `link:ID` with the case's office, never the token
//! or an address; a file's row is written only while the link still takes it,
//! checked in the same transaction that counts it.
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::policy::{Action, Ctx, Resource};
use crate::store::{LinkRow, ReadTx, WriteTx};
use crate::vault::case::upload_links::link_state;
use crate::vault::document::documents::{DocMeta, Upload, Uploader};
use crate::vault::guard::refusals::Refusal;
use crate::vault::guard::target::Target;
use crate::vault::{Actor, Allowed, Vault, VaultError, new_id};

/// The audit action of everything a client does through a link.
const ACTION: &str = "client_upload";

/// A live link, as its page needs it. Holds the token's hash, never the token.
pub struct ClientLink {
    id: String,
    case_id: String,
    office: String,
    language: String,
    files_left: u32,
    hash: Vec<u8>,
}

impl std::fmt::Debug for ClientLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientLink")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl ClientLink {
    /// The slug of the office the files go to (the one thing of the case it shows).
    pub fn office(&self) -> &str {
        &self.office
    }

    /// `en` or `es`, as the link's maker chose.
    pub fn language(&self) -> &str {
        &self.language
    }

    /// Files the link still lets in.
    pub fn files_left(&self) -> u32 {
        self.files_left
    }
}

/// A file a client sent, as the receipt shows it.
#[derive(Debug, Clone)]
pub struct LinkReceipt {
    /// The short code the client and the caseworker both see (from the document id).
    pub code: String,
}

/// A document's short receipt code: the first eight hex digits of its id, as
/// `3F2A-1B2C` (enough to tell a case's files apart; it says nothing of the file).
pub fn receipt_code(doc_id: &str) -> String {
    let hex: String = doc_id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase();
    match (hex.get(..4), hex.get(4..)) {
        (Some(a), Some(b)) => format!("{a}-{b}"),
        _ => hex,
    }
}

/// The audit decision of a client's request through a live link.
fn decision(l: &LinkRow, more: Option<Target>) -> Allowed {
    let target = Target::stored_office(&l.office)
        .and(Target::case(&l.case_id))
        .and(Target::link(&l.id));
    Allowed {
        action: ACTION,
        target: match more {
            Some(m) => target.and(m),
            None => target,
        },
        actor: format!("link:{}", l.id),
        role: "link",
    }
}

impl Vault {
    /// Opens the link a client's request names: counts the request against the
    /// address's budget (`Throttled` past it), then looks the token up by its keyed
    /// hash. A live link answers; anything else answers "not found" after the same
    /// work and one audit entry. `page`: the request shows the link's page (audited as
    /// a view); otherwise it brings files (each audited when it is stored or refused).
    pub async fn open_link(
        self: &Arc<Self>,
        token: &str,
        client: &str,
        page: bool,
    ) -> Result<ClientLink, VaultError> {
        let now = self.clock.unix();
        if let Err(wait) = self.link_rate.admit(client, now) {
            self.audit_refusal(client, Refusal::LinkThrottled).await?;
            return Err(VaultError::Throttled(wait));
        }
        let token = zeroize::Zeroizing::new(token.to_owned());
        self.run(move |v| v.open_link_blocking(&token, page)).await
    }

    fn open_link_blocking(&self, token: &str, page: bool) -> Result<ClientLink, VaultError> {
        let hash = self.auth_key.link_hash(token.as_bytes());
        let row = self.db.read(|tx| tx.link_by_hash(&hash))?;
        let now = self.clock.unix();
        let Some(l) = row else {
            // Written like a dead link's refusal: one entry through the same path.
            self.append_link_entry("-", "-", &Target::unknown_link(), "not_found")?;
            return Err(VaultError::NotFound);
        };
        let state = match link_state(&l, now) {
            "live" if !self.db.read(|tx| self.maker_may(tx, &l))? => "maker_no_longer_allowed",
            other => other,
        };
        if state != "live" {
            self.record_refusal_now(&decision(&l, None), state)?;
            return Err(VaultError::NotFound);
        }
        if page {
            self.record_now(&decision(&l, None), "page")?;
        }
        Ok(ClientLink {
            files_left: u32::try_from(l.max_files - l.files_received).unwrap_or(0),
            id: l.id,
            case_id: l.case_id,
            office: l.office,
            language: l.language,
            hash,
        })
    }

    fn append_link_entry(
        &self,
        actor: &str,
        role: &'static str,
        target: &Target,
        outcome: &str,
    ) -> Result<(), VaultError> {
        let refused = Allowed {
            action: ACTION,
            target: target.clone(),
            actor: actor.to_owned(),
            role,
        };
        self.record_refusal_now(&refused, outcome)
    }

    /// The CSRF token of the link's upload form (derived from the token's hash; it is
    /// on the link's page only).
    pub fn link_form_token(&self, link: &ClientLink) -> String {
        URL_SAFE_NO_PAD.encode(self.auth_key.link_form_token(&link.hash))
    }

    /// Checks the upload form's CSRF token in constant time; a wrong or missing one is
    /// audited and answers `Forbidden`.
    pub async fn check_link_form(
        self: &Arc<Self>,
        link: &ClientLink,
        given: Option<&str>,
    ) -> Result<(), VaultError> {
        let tag = given.and_then(|g| URL_SAFE_NO_PAD.decode(g).ok());
        let ok = tag.is_some_and(|t| self.auth_key.link_form_token_ok(&link.hash, &t));
        if ok {
            return Ok(());
        }
        let (id, case_id, office) = (link.id.clone(), link.case_id.clone(), link.office.clone());
        self.run(move |v| {
            let target = Target::stored_office(&office)
                .and(Target::case(&case_id))
                .and(Target::link(&id));
            v.append_link_entry(&format!("link:{id}"), "link", &target, "csrf_invalid")
        })
        .await?;
        Err(VaultError::Forbidden)
    }

    /// Records a client's upload request that stored nothing for a reason of its own,
    /// outside any file (`no_file`: it held none; `bad_form`: the form broke between
    /// files). A file's own refusals are recorded with the file.
    pub async fn link_refused(
        self: &Arc<Self>,
        link: &ClientLink,
        outcome: &'static str,
    ) -> Result<(), VaultError> {
        let (id, case_id, office) = (link.id.clone(), link.case_id.clone(), link.office.clone());
        self.run(move |v| {
            let target = Target::stored_office(&office)
                .and(Target::case(&case_id))
                .and(Target::link(&id));
            v.append_link_entry(&format!("link:{id}"), "link", &target, outcome)
        })
        .await
    }

    /// Prepares one file of a client's upload: the link read again (a file after the
    /// last one it takes answers `link_used_up`; one revoked or expired meanwhile,
    /// "not found"), its case's public key, and the bytes it still takes as the limit.
    /// The upload then goes to [`Vault::store_permitted`] like any other.
    pub async fn permit_link_upload(
        self: &Arc<Self>,
        link: &ClientLink,
    ) -> Result<Upload, VaultError> {
        let (id, case_id) = (link.id.clone(), link.case_id.clone());
        self.run(move |v| v.permit_link_upload_blocking(&case_id, &id))
            .await
    }

    fn permit_link_upload_blocking(&self, case_id: &str, id: &str) -> Result<Upload, VaultError> {
        let found = self.db.read(|tx| -> Result<_, VaultError> {
            let Some(l) = tx.link(case_id, id)? else {
                return Ok(None);
            };
            let maker = self.maker_may(tx, &l)?;
            Ok(tx.case(&l.case_id)?.map(|c| (l, c.recipient, maker)))
        })?;
        let Some((l, recipient, maker)) = found else {
            return Err(VaultError::NotFound);
        };
        let doc_id = new_id();
        let allowed = decision(&l, Some(Target::doc(&doc_id)));
        let state = match link_state(&l, self.clock.unix()) {
            "live" if !maker => "maker_no_longer_allowed",
            other => other,
        };
        match state {
            "live" => {}
            "used_up" => {
                self.record_refusal_now(&allowed, "used_up")?;
                return Err(VaultError::Conflict {
                    code: "link_used_up",
                    message: "this link takes no more files".into(),
                });
            }
            other => {
                self.record_refusal_now(&allowed, other)?;
                return Err(VaultError::NotFound);
            }
        }
        let left = u64::try_from(l.max_bytes - l.bytes_received).unwrap_or(0);
        Ok(Upload {
            case_id: l.case_id,
            doc_id,
            recipient,
            meta: DocMeta {
                filename: String::new(),
                content_type: String::new(),
                size: 0,
            },
            allowed,
            by: Uploader::Link {
                id: l.id,
                made_by: l.created_by,
            },
            limit: self.settings.uploads.max_bytes.min(left),
        })
    }

    /// In the transaction that would write a client's file: whether its link still
    /// takes it (not revoked, not expired, a file and `size` bytes left). A refusal is
    /// audited in `tx`.
    pub(in crate::vault) fn link_takes(
        &self,
        tx: &WriteTx<'_>,
        allowed: &Allowed,
        case_id: &str,
        link_id: &str,
        size: i64,
    ) -> Result<bool, VaultError> {
        let outcome = match tx.link(case_id, link_id)? {
            None => "not_found",
            Some(l) => match link_state(&l, self.clock.unix()) {
                "live" if l.bytes_received.saturating_add(size) > l.max_bytes => "used_up",
                "live" if !self.maker_may(tx, &l)? => "maker_no_longer_allowed",
                "live" => return Ok(true),
                other => other,
            },
        };
        self.record_refusal(tx, allowed, outcome)?;
        Ok(false)
    }

    /// Whether the account that made the link may still make links for its case (the
    /// rules of an upload to it): a link stops when its maker's account is disabled,
    /// a partner's upload share ends, or a caseworker is no longer on the case. A link
    /// no account made (the operator's) never takes a file.
    pub(in crate::vault) fn maker_may(
        &self,
        tx: &ReadTx<'_>,
        l: &LinkRow,
    ) -> Result<bool, VaultError> {
        let Some(user) = tx.user(&l.created_by)?.filter(|u| !u.disabled) else {
            return Ok(false);
        };
        let Some(case) = tx.case(&l.case_id)? else {
            return Ok(false);
        };
        let facts = self.case_facts(tx, &case)?;
        let maker = Actor::from_user(&user, false);
        Ok(maker.role().is_some_and(|role| {
            self.policy.decide(
                &maker.principal(role),
                Action::MakeUploadLink,
                &Resource::Case(&facts),
                &Ctx::default(),
            )
        }))
    }
}
