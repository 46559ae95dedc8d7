//! Offices: creation, seal and unseal, panic seal.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use age::secrecy::SecretString;

use crate::crypto::{self, OfficeKey};
use crate::policy::{Action, Resource, Role};
use crate::vault::case::indexes::Indexes;
use crate::vault::guard::target::{Target, Word};
use crate::vault::office::custody::Candidates;
use crate::vault::{Actor, StepUp, Unsealed, Vault, VaultError};

/// How the server keeps an office's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficeMode {
    /// Wrapped under a passphrase (age scrypt) in the database.
    Passphrase,
    /// Not at all: the server keeps only the recipient; unseal takes the identity.
    OfficeHeld,
}

/// What the office must keep after creation (shown once).
pub struct OfficeCredentials {
    /// The passphrase (passphrase mode).
    pub passphrase: Option<SecretString>,
    /// The identity string (office-held mode).
    pub identity: Option<SecretString>,
    /// The office recipient.
    pub recipient: String,
}

/// Validates an office slug: 2–32 of `a-z 0-9 -`, starting with a letter, and not
/// `invalid` (the audit log's placeholder for an office name that is not one).
pub fn valid_slug(s: &str) -> bool {
    (2..=32).contains(&s.len())
        && s != "invalid"
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Vault {
    /// Creates an office (superadmin, or the command line). The passphrase is
    /// generated unless one is given, and a given one must be strong.
    pub async fn create_office(
        self: &Arc<Self>,
        actor: &Actor,
        slug: &str,
        mode: OfficeMode,
        passphrase: Option<SecretString>,
    ) -> Result<OfficeCredentials, VaultError> {
        let (actor, slug) = (actor.clone(), slug.to_owned());
        self.run(move |v| v.create_office_blocking(&actor, &slug, mode, passphrase))
            .await
    }

    pub(in crate::vault) fn create_office_blocking(
        &self,
        actor: &Actor,
        slug: &str,
        mode: OfficeMode,
        passphrase: Option<SecretString>,
    ) -> Result<OfficeCredentials, VaultError> {
        if !valid_slug(slug) {
            return Err(VaultError::bad(
                "invalid_office",
                "an office slug has 2 to 32 lower-case letters, digits or dashes",
            ));
        }
        // The slug is the caller's until the office exists: a refused creation names
        // no office, an allowed one names the office it creates (below).
        let allowed = self.authorize(
            actor,
            Action::CreateOffice,
            &Resource::System,
            Target::word(Word::Offices),
        )?;
        let allowed = crate::vault::Allowed {
            target: Target::stored_office(slug),
            ..allowed
        };
        let key = OfficeKey::generate();
        let recipient = key.recipient();
        // Passphrase mode: the passphrase wraps the office's first key holder ("office
        // passphrase"), and the office identity is a file to the holders (custody.rs).
        let mut first_holder = None;
        let (wrapped, creds) = match mode {
            OfficeMode::Passphrase => {
                let pass = match passphrase {
                    Some(p) if !crypto::passphrase_is_strong(&p) => {
                        return Err(VaultError::bad(
                            "weak_passphrase",
                            "an office passphrase needs at least 20 characters; leave it out to have one generated",
                        ));
                    }
                    Some(p) => p,
                    None => crypto::generate_passphrase(),
                };
                let holder = crypto::HolderKey::generate();
                let wrapped_holder =
                    holder.wrap_with_passphrase(&pass, self.settings.kdf.passphrase_log_n)?;
                let file = key.seal_to_holders(&[holder.recipient()])?;
                first_holder = Some((holder.recipient(), wrapped_holder));
                (
                    Some(file),
                    OfficeCredentials {
                        passphrase: Some(pass),
                        identity: None,
                        recipient: recipient.clone(),
                    },
                )
            }
            OfficeMode::OfficeHeld => (
                None,
                OfficeCredentials {
                    passphrase: None,
                    identity: Some(key.to_secret_string()),
                    recipient: recipient.clone(),
                },
            ),
        };
        let now = self.now_str();
        let taken = || {
            VaultError::conflict(
                "exists",
                format!("an office named {slug} already exists; choose another name"),
            )
        };
        if self.db.read(|tx| tx.office(slug))?.is_some() {
            return Err(taken());
        }
        self.db.write(|tx| {
            tx.insert_office(&crate::store::NewOfficeRow {
                slug,
                recipient: &recipient,
                wrapped_identity: wrapped.as_deref(),
                kdf_log_n: Some(self.settings.kdf.passphrase_log_n),
                created_at: &now,
                by_holders: first_holder.is_some(),
            })?;
            if let Some((holder_recipient, wrapped_holder)) = &first_holder {
                tx.insert_holder(&crate::store::NewHolderRow {
                    id: &crate::vault::new_id(),
                    office: slug,
                    user_id: None,
                    kind: "office",
                    state: "active",
                    recipient: Some(holder_recipient),
                    wrapped_identity: Some(wrapped_holder),
                    invited_by: None,
                    created_at: &now,
                    threshold: None,
                    share_check: None,
                })?;
            }
            self.record(tx, &allowed, "ok")?;
            // The office's audit view starts at this entry: a slug used before by a
            // purged office does not inherit that office's entries.
            if let Some((seq, _)) = tx.audit_head()? {
                tx.set_office_audit_from(slug, seq)?;
            }
            Ok::<_, VaultError>(())
        })?;
        Ok(creds)
    }

    /// Unseals an office with its passphrase or (office-held mode) its identity.
    pub async fn unseal(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
        secret: SecretString,
        step: StepUp,
    ) -> Result<(), VaultError> {
        let (actor, office) = (actor.clone(), office.to_owned());
        let actor = self.prove(actor, step).await?;
        self.run(move |v| v.unseal_blocking(&actor, &office, secret))
            .await
    }

    pub(in crate::vault) fn unseal_blocking(
        &self,
        actor: &Actor,
        office: &str,
        secret: SecretString,
    ) -> Result<(), VaultError> {
        let target = self.office_target(office)?;
        let allowed = self.authorize(
            actor,
            Action::UnsealOffice,
            &Resource::Office(office),
            target,
        )?;
        let Some(row) = self.db.read(|tx| tx.office(office))? else {
            self.record_now(&allowed, "not_found")?;
            return Err(VaultError::NotFound);
        };
        // One unseal at a time: scrypt holds hundreds of MiB while it runs.
        let _guard = self.unseal_lock.lock().unwrap_or_else(|p| p.into_inner());
        let epoch = self.seal_epoch();
        let opened = match self.open_by_secret(&row, Candidates::of(actor), &secret) {
            Ok(o) => o,
            Err(e @ VaultError::Conflict { .. }) => {
                self.record_now(&allowed, "holder_waiting")?;
                return Err(e);
            }
            Err(VaultError::WrongPassphrase) => {
                self.record_now(&allowed, "wrong_secret")?;
                return Err(VaultError::WrongPassphrase);
            }
            Err(e) => return Err(e),
        };
        // The audit entry names the holder whose secret unsealed, and commits with
        // the custody bookkeeping (an old office's passphrase becoming its first
        // holder, waiting holders joining).
        self.db.write(|tx| {
            let (holder, joined) = self.after_opening(tx, office, &opened, Some(&secret))?;
            let outcome = match &holder {
                Some(h) => format!("ok holder={h}"),
                None => "ok".to_string(),
            };
            self.record(tx, &allowed, &outcome)?;
            self.record_joined(tx, &allowed, office, &joined)
        })?;
        self.install_keys(office, opened.key, None, epoch)
    }

    /// Puts an opened office identity in the keyring and indexes the cases created
    /// while it was sealed — unless a seal came in since `epoch` (taken before the
    /// unseal began): a seal always wins. Call under `unseal_lock`.
    pub(in crate::vault) fn install_keys(
        &self,
        office: &str,
        key: OfficeKey,
        recovered: Option<crate::vault::office::keyring::Recovered>,
        epoch: u64,
    ) -> Result<(), VaultError> {
        let index = key.index_key();
        let unsealed = Arc::new(Unsealed {
            recipient: key.recipient(),
            office: key,
            index,
            cases: Mutex::new(HashMap::new()),
            plain: Mutex::new(crate::vault::office::plain_cache::PlainCache::new(
                self.plain_bytes.clone(),
            )),
            recovered,
            next: std::sync::RwLock::new(None),
            last_used: std::sync::atomic::AtomicI64::new(self.clock.unix()),
        });
        {
            let mut ring = self.keyring.write().unwrap_or_else(|p| p.into_inner());
            if self.seal_epoch() != epoch {
                return Err(sealed_meanwhile());
            }
            ring.insert(office.to_string(), unsealed);
        }
        self.index_pending(office)?;
        Ok(())
    }

    /// Seals an office: its identity and every cached case key are dropped (wiped).
    pub async fn seal(self: &Arc<Self>, actor: &Actor, office: &str) -> Result<(), VaultError> {
        let (actor, office) = (actor.clone(), office.to_owned());
        self.run(move |v| v.seal_blocking(&actor, &office)).await
    }

    pub(in crate::vault) fn seal_blocking(
        &self,
        actor: &Actor,
        office: &str,
    ) -> Result<(), VaultError> {
        let target = self.office_target(office)?;
        let allowed =
            self.authorize(actor, Action::SealOffice, &Resource::Office(office), target)?;
        if self.db.read(|tx| tx.office(office))?.is_none() {
            self.record_now(&allowed, "not_found")?;
            return Err(VaultError::NotFound);
        }
        self.record_now(&allowed, "ok")?;
        self.drop_keys(|k| k == office);
        // A seal also cancels an unseal by recovery shares under way.
        self.cancel_shares(Some(office));
        Ok(())
    }

    /// Panic seal: every office the actor administers (all, for a superadmin).
    /// The keys are wiped first and the audit entry written after: sealing must not
    /// wait on anything. Returns the offices sealed.
    pub async fn seal_all(self: &Arc<Self>, actor: &Actor) -> Result<Vec<String>, VaultError> {
        let actor = actor.clone();
        self.run(move |v| v.seal_all_blocking(&actor)).await
    }

    pub(in crate::vault) fn seal_all_blocking(
        &self,
        actor: &Actor,
    ) -> Result<Vec<String>, VaultError> {
        let allowed = self.authorize(
            actor,
            Action::SealAll,
            &Resource::System,
            Target::every_office(),
        )?;
        // An office administrator's panic seal reaches their own office only.
        let sealed = match (actor.is(Role::Admin), &actor.office) {
            (true, Some(o)) => self.drop_keys(|k| k == o),
            (true, None) => Vec::new(),
            (false, _) => self.drop_keys(|_| true),
        };
        match (actor.is(Role::Admin), &actor.office) {
            (true, Some(o)) => self.cancel_shares(Some(o)),
            (true, None) => {}
            (false, _) => self.cancel_shares(None),
        }
        self.record_now(&allowed, &format!("sealed {}", sealed.len()))?;
        Ok(sealed)
    }

    /// Whether `secret` opens the office (the key is dropped, wiped, at once). One at a
    /// time, like unsealing: scrypt holds hundreds of MiB while it runs.
    pub(in crate::vault) fn office_passphrase_opens(
        &self,
        office: &str,
        who: Candidates<'_>,
        secret: &SecretString,
    ) -> Result<bool, VaultError> {
        let Some(row) = self.db.read(|tx| tx.office(office))? else {
            return Ok(false);
        };
        let _guard = self.unseal_lock.lock().unwrap_or_else(|p| p.into_inner());
        match self.open_by_secret(&row, who, secret) {
            Ok(_) => Ok(true),
            // Too many wrong passphrases: say so (429), not "wrong passphrase".
            Err(e @ VaultError::Throttled(_)) => Err(e),
            Err(_) => Ok(false),
        }
    }

    /// Wipes every key (shutdown).
    pub fn seal_everything(&self) {
        self.drop_keys(|_| true);
        self.cancel_shares(None);
    }

    /// Computes blind indexes for cases created while the office was sealed.
    fn index_pending(&self, office: &str) -> Result<(), VaultError> {
        let Some(unsealed) = self.use_keys(office) else {
            return Ok(());
        };
        let pending = self.db.read(|tx| tx.cases_pending_index(office))?;
        for case in pending {
            let key = self.case_key(&case)?;
            let meta = crate::vault::case::cases::CaseMeta::decrypt(&key, &case.metadata)?;
            let indexes = Indexes::of(&meta, &unsealed.index);
            // Only for the details it read: an edit since has set the indexes itself,
            // and only under the office key of now (a rotation recomputed them all).
            self.db.write(|tx| -> Result<(), VaultError> {
                crate::vault::office::rotate::same_office_key(tx, office, &unsealed.recipient)?;
                Ok(tx.set_pending_indexes(&case.id, case.version, &indexes.row())?)
            })?;
        }
        Ok(())
    }

    /// Lists the offices and whether each is sealed, for a signed-in user (one
    /// decision, audited like every other route).
    pub async fn list_offices(
        self: &Arc<Self>,
        actor: &Actor,
    ) -> Result<Vec<(String, bool)>, VaultError> {
        let actor = actor.clone();
        self.run(move |v| v.list_offices_blocking(&actor)).await
    }

    pub(in crate::vault) fn list_offices_blocking(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(String, bool)>, VaultError> {
        let allowed = self.authorize(
            actor,
            Action::ListOffices,
            &Resource::System,
            Target::word(Word::Offices),
        )?;
        self.record_now(&allowed, "ok")?;
        self.offices()
    }

    /// The offices and whether each is sealed, without a decision: slugs and seal
    /// state are what every signed-in user may list (see `list_offices`); the pages
    /// and the operator use this directly.
    pub(crate) fn offices(&self) -> Result<Vec<(String, bool)>, VaultError> {
        let slugs = self.db.read(|tx| tx.office_slugs())?;
        Ok(slugs
            .into_iter()
            .map(|s| {
                let sealed = !self.is_unsealed(&s);
                (s, sealed)
            })
            .collect())
    }

    /// Seals every office whose keys have not been used for the configured idle time
    /// (`[seal] idle_minutes`; 0 = never). Returns the offices sealed.
    pub async fn seal_idle(self: &Arc<Self>) -> Result<Vec<String>, VaultError> {
        self.run(|v| v.seal_idle_blocking()).await
    }

    fn seal_idle_blocking(&self) -> Result<Vec<String>, VaultError> {
        let idle = i64::from(self.settings.seal.idle_minutes) * 60;
        if idle == 0 {
            return Ok(Vec::new());
        }
        let now = self.clock.unix();
        let sealed: Vec<String> = {
            let mut ring = self.keyring.write().unwrap_or_else(|p| p.into_inner());
            let stale: Vec<String> = ring
                .iter()
                .filter(|(_, u)| {
                    now - u.last_used.load(std::sync::atomic::Ordering::Relaxed) >= idle
                })
                .map(|(k, _)| k.clone())
                .collect();
            if !stale.is_empty() {
                self.seal_epoch
                    .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            }
            for o in &stale {
                ring.remove(o);
            }
            stale
        };
        let system = Actor::internal("system", crate::vault::Who::System);
        for o in &sealed {
            self.audit_now(
                &system,
                "auto_seal",
                &crate::vault::guard::target::Target::stored_office(o),
                "allow",
                "idle",
            )?;
            tracing::info!(office = %o, "office sealed after idle time");
        }
        Ok(sealed)
    }
}

/// An unseal that lost the race with a seal.
pub(in crate::vault) fn sealed_meanwhile() -> VaultError {
    VaultError::Conflict {
        code: "sealed_meanwhile",
        message: "the office was sealed while this was unsealing it; it stays sealed. Unseal again if that was not meant".into(),
    }
}
