//! Cases: creation (works while sealed: only public keys are needed) and reading one
//! case's metadata. Listing and search are `case_list.rs`; shares and assignment are
//! `shares.rs`.
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::vault::case::casework::{MAX_NOTE_BYTES, check_line, check_text};
use crate::vault::case::indexes::Indexes;
use crate::vault::case::shares::ShareView;
use crate::vault::guard::target::Target;
use crate::vault::{Actor, Vault, VaultError, new_id, parse_id};

use crate::clock::rfc3339;
use crate::crypto::{self, ANumber, CaseKey};
use crate::policy::{Action, CaseFacts, Resource, Role};
use crate::store::CaseRow;

/// What a client sends to open a case.
#[derive(Debug, Clone, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct CaseInput {
    /// Office slug.
    pub office: String,
    /// Client's name.
    pub client_name: String,
    /// A-number.
    #[serde(default)]
    pub a_number: Option<String>,
    /// Date of birth.
    #[serde(default)]
    pub date_of_birth: Option<String>,
    /// Country of birth.
    #[serde(default)]
    pub country_of_birth: Option<String>,
    /// Free-text notes.
    #[serde(default)]
    pub notes: Option<String>,
}

/// The encrypted metadata of a case.
#[derive(
    Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop, utoipa::ToSchema,
)]
pub struct CaseMeta {
    /// Client's name.
    pub client_name: String,
    /// A-number, normalised to nine digits.
    pub a_number: Option<String>,
    /// Date of birth.
    pub date_of_birth: Option<String>,
    /// Country of birth.
    pub country_of_birth: Option<String>,
    /// Notes.
    pub notes: Option<String>,
}

impl std::fmt::Debug for CaseMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CaseMeta([redacted])")
    }
}

impl CaseMeta {
    pub(in crate::vault) fn decrypt(key: &CaseKey, ct: &[u8]) -> Result<Self, VaultError> {
        Self::parse(&key.open(ct)?)
    }

    /// From the decrypted bytes.
    pub(in crate::vault) fn parse(plain: &[u8]) -> Result<Self, VaultError> {
        serde_json::from_slice(plain)
            .map_err(|_| VaultError::Internal("case metadata does not parse".into()))
    }
}

/// A case with its decrypted metadata.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    /// Case id.
    pub id: String,
    /// Office slug.
    pub office: String,
    /// `open` / `closed`.
    pub status: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339 time it was closed (absent while open).
    pub closed_at: Option<String>,
    /// Under legal hold (the case or its office).
    pub held: bool,
    /// Decrypted metadata.
    pub metadata: CaseMeta,
    /// The version of the details (1 = as opened): name it to edit them.
    pub version: i64,
    /// RFC 3339 time the details were last changed (absent: never edited).
    pub updated_at: Option<String>,
    /// Username of who last changed them (absent: never edited).
    pub updated_by: Option<String>,
    /// Shares (for staff of the office; partners see only their own).
    pub shares: Vec<ShareView>,
    /// What the actor may do with this case, as the policy decided it (pages offer
    /// only these; the API does not carry it).
    #[serde(skip)]
    #[schema(ignore)]
    pub may: CaseMay,
}

/// The policy's answer for the actions a case page offers. Each is decided as if a
/// fresh second factor were given (a page offers sharing and asks for the code when
/// sent); the action itself is decided again, and audited, when it is asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaseMay {
    /// Add documents.
    pub upload: bool,
    /// Share with a partner (and see and revoke shares).
    pub share: bool,
    /// Close the case.
    pub close: bool,
    /// Edit the client's details and rename documents.
    pub edit: bool,
    /// Add notes and events.
    pub add_casework: bool,
    /// Read notes and events.
    pub read_casework: bool,
    /// Shred any document of the case (a supervisor; an uploader's own recent upload
    /// is decided per document).
    pub purge_any_document: bool,
    /// Make, list and revoke links for the client to send documents.
    pub links: bool,
}

pub(in crate::vault) fn bad(code: &'static str, msg: &str) -> VaultError {
    VaultError::bad(code, msg)
}

impl CaseInput {
    pub(in crate::vault) fn validate(&self) -> Result<CaseMeta, VaultError> {
        if self.client_name.trim().is_empty() {
            return Err(bad("invalid_field", "client_name is required"));
        }
        check_line("client_name", &self.client_name, 200, false)?;
        let a_number = match self.a_number.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(a) => Some(
                ANumber::parse(a)
                    .ok_or_else(|| {
                        bad(
                            "invalid_a_number",
                            "an A-number has 8 or 9 digits, optionally after an A",
                        )
                    })?
                    .as_str()
                    .to_string(),
            ),
        };
        if let Some(d) = &self.date_of_birth
            && crate::clock::parse_day(d).is_none()
        {
            return Err(bad("invalid_field", "date_of_birth must be YYYY-MM-DD"));
        }
        if let Some(c) = &self.country_of_birth {
            check_line("country_of_birth", c, 100, false)?;
        }
        if let Some(n) = &self.notes {
            check_text("notes", n, 20_000, false)?;
            if n.len() > MAX_NOTE_BYTES {
                return Err(bad(
                    "invalid_field",
                    &format!("notes may have at most 20000 characters and {MAX_NOTE_BYTES} bytes"),
                ));
            }
        }
        Ok(CaseMeta {
            client_name: self.client_name.trim().to_string(),
            a_number,
            date_of_birth: self.date_of_birth.clone(),
            country_of_birth: self.country_of_birth.clone(),
            notes: self.notes.clone(),
        })
    }
}

impl Vault {
    /// Loads a case the actor may act on; anything else is [`VaultError::NotFound`],
    /// audited either way. Checks the seal when `needs_keys`.
    pub(in crate::vault) fn case_for(
        &self,
        actor: &Actor,
        action: Action,
        case_id: &str,
        extra: Option<Target>,
    ) -> Result<(CaseRow, crate::vault::Allowed), VaultError> {
        let (case, _, allowed) = self.case_with_facts(actor, action, case_id, extra)?;
        Ok((case, allowed))
    }

    /// [`Self::case_for`], also answering the facts the policy decided on.
    pub(in crate::vault) fn case_with_facts(
        &self,
        actor: &Actor,
        action: Action,
        case_id: &str,
        extra: Option<Target>,
    ) -> Result<(CaseRow, CaseFacts, crate::vault::Allowed), VaultError> {
        self.case_in(actor, action, case_id, extra, crate::policy::Ctx::default())
    }

    /// [`Self::case_with_facts`] decided in a context of the caller's.
    pub(in crate::vault) fn case_in(
        &self,
        actor: &Actor,
        action: Action,
        case_id: &str,
        extra: Option<Target>,
        ctx: crate::policy::Ctx,
    ) -> Result<(CaseRow, CaseFacts, crate::vault::Allowed), VaultError> {
        let Some(id) = parse_id(case_id) else {
            return Err(self.audit_missing(actor, action, &Target::case(case_id))?);
        };
        let target = match extra {
            Some(more) => Target::case(&id).and(more),
            None => Target::case(&id),
        };
        let found = self.db.read(|tx| -> Result<_, VaultError> {
            match tx.case(&id)? {
                Some(c) => {
                    let facts = self.case_facts(tx, &c)?;
                    Ok(Some((c, facts)))
                }
                None => Ok(None),
            }
        })?;
        let Some((case, facts)) = found else {
            return Err(self.audit_missing(actor, action, &target)?);
        };
        let target = Target::stored_office(&case.office).and(target);
        let allowed = self.authorize_in(actor, action, &Resource::Case(&facts), target, ctx)?;
        Ok((case, facts, allowed))
    }

    /// What the page may offer this actor on a case (no audit entry: nothing is done).
    pub(in crate::vault) fn case_may(&self, actor: &Actor, facts: &CaseFacts) -> CaseMay {
        let Some(role) = actor.role() else {
            return CaseMay::default();
        };
        let principal = actor.principal(role);
        let ctx = crate::policy::Ctx {
            fresh: true,
            ..Default::default()
        };
        let may = |action| {
            self.policy
                .decide(&principal, action, &Resource::Case(facts), &ctx)
        };
        CaseMay {
            upload: may(Action::UploadDocument),
            share: may(Action::ShareCase),
            close: may(Action::CloseCase),
            edit: may(Action::EditCase),
            add_casework: may(Action::AddNote),
            read_casework: may(Action::ReadNotes),
            purge_any_document: may(Action::PurgeDocument),
            links: may(Action::MakeUploadLink),
        }
    }

    /// Opens a case. Works while the office is sealed.
    pub async fn create_case(
        self: &Arc<Self>,
        actor: &Actor,
        input: &CaseInput,
    ) -> Result<String, VaultError> {
        let (actor, input) = (actor.clone(), input.clone());
        self.run(move |v| v.create_case_blocking(&actor, &input))
            .await
    }

    pub(in crate::vault) fn create_case_blocking(
        &self,
        actor: &Actor,
        input: &CaseInput,
    ) -> Result<String, VaultError> {
        let office = self.db.read(|tx| tx.office(&input.office))?;
        // The office field is whatever the client sent (a client's name, once): only
        // an office that exists is named in the entry.
        let target = match &office {
            Some(row) => Target::stored_office(&row.slug),
            None => Target::invalid_office(),
        };
        let allowed = self.authorize(
            actor,
            Action::CreateCase,
            &Resource::Office(&input.office),
            target,
        )?;
        let office = office.ok_or(VaultError::NotFound)?;
        let meta = input.validate()?;
        let id = new_id();
        let nc = CaseKey::create(&office.recipient)?;
        let json = Zeroizing::new(
            serde_json::to_vec(&meta).map_err(|e| VaultError::Internal(e.to_string()))?,
        );
        let ct = crypto::seal_to(&nc.recipient, &json)?;
        // Indexes need the office key: while sealed they are computed at the next unseal.
        let unsealed = self.use_keys(&office.slug);
        let pending = unsealed.is_none();
        let indexes = unsealed.as_ref().map(|u| Indexes::of(&meta, &u.index));
        let now = self.now_str();
        let allowed = allowed.and(Target::case(&id));
        if unsealed
            .as_ref()
            .is_some_and(|u| u.recipient != office.recipient)
        {
            return Err(crate::vault::office::rotate::rotated_meanwhile());
        }
        self.db.write(|tx| {
            // Wrapped to the office key read above: a rotation may have replaced it.
            crate::vault::office::rotate::same_office_key(tx, &office.slug, &office.recipient)?;
            tx.insert_case(&crate::store::NewCaseRow {
                id: &id,
                office: &office.slug,
                created_by: &actor.id,
                recipient: &nc.recipient,
                wrapped_identity: &nc.wrapped_identity,
                metadata: &ct,
                a_number_index: None,
                a_number_pending: pending,
                created_at: &now,
            })?;
            if let Some(ix) = &indexes {
                tx.set_case_indexes(&id, &ix.row())?;
            }
            self.record(tx, &allowed, "ok")
        })?;
        Ok(id)
    }

    /// One case with its decrypted metadata.
    pub async fn get_case(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
    ) -> Result<CaseView, VaultError> {
        let (actor, case_id) = (actor.clone(), case_id.to_owned());
        self.run(move |v| v.get_case_blocking(&actor, &case_id))
            .await
    }

    pub(in crate::vault) fn get_case_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
    ) -> Result<CaseView, VaultError> {
        let (case, facts, allowed) =
            self.case_with_facts(actor, Action::ReadCase, case_id, None)?;
        self.readable(&case, &allowed)?;
        let may = self.case_may(actor, &facts);
        let mut metadata = CaseMeta::parse(&self.open_sealed(
            &case,
            crate::vault::office::plain_cache::Part::Meta,
            &case.metadata,
        )?)?;
        // The details' free-text notes go with the case's notes (rule 21): a partner
        // whose share leaves notes out does not see them either.
        if actor.role().is_some() && !may.read_casework {
            metadata.notes = None;
        }
        let now = self.clock.unix();
        let (shares, office_held, updated_by) = self.db.read(|tx| -> Result<_, VaultError> {
            let mut v = Vec::new();
            for s in tx.shares(&case.id)? {
                if actor.is(Role::Partner) && s.user_id != actor.id {
                    continue;
                }
                let username = tx.user(&s.user_id)?.map(|u| u.username).unwrap_or_default();
                let state = if s.revoked_at.is_some() {
                    "revoked"
                } else if s.expires_at <= now {
                    "expired"
                } else {
                    "live"
                };
                v.push(ShareView {
                    id: s.id,
                    user_id: s.user_id,
                    username,
                    permission: s.permission,
                    notes: s.notes,
                    expires_at: time::OffsetDateTime::from_unix_timestamp(s.expires_at)
                        .map(rfc3339)
                        .unwrap_or_default(),
                    state: state.into(),
                });
            }
            let editor = match &case.updated_by {
                Some(id) => Some(tx.user(id)?.map(|u| u.username).unwrap_or_default()),
                None => None,
            };
            Ok((v, tx.office(&case.office)?.is_some_and(|o| o.held), editor))
        })?;
        Ok(CaseView {
            id: case.id.clone(),
            office: case.office.clone(),
            status: case.status.clone(),
            created_at: case.created_at.clone(),
            closed_at: case.closed_at.clone(),
            held: case.held || office_held,
            metadata,
            version: case.version,
            updated_at: case.updated_at.clone(),
            updated_by,
            shares,
            may,
        })
    }
}
