//! Small reads and records for the pages: refused form posts of signed-in users
//! (audited, naming the form only; refusals before sign-in are `refusals.rs`) and a
//! partner's own share expiries. Reading the audit log itself
//! is `audit_log.rs`, shared with the API.
//!
//! Invariant: nothing here returns another user's data; a CSRF refusal is recorded
//! with the form's fixed name, never its contents.
use std::sync::Arc;

use std::collections::HashMap;

use crate::vault::{Actor, Vault, VaultError};

impl Vault {
    /// Records a signed-in user's form post refused for a missing or wrong CSRF
    /// token, always as its own entry. The entry names the form, never its contents.
    /// (The sign-in form, before anyone is signed in, goes to
    /// [`Vault::audit_refusal`].)
    pub async fn audit_csrf_failure(
        self: &Arc<Self>,
        actor: &Actor,
        form: &'static str,
    ) -> Result<(), VaultError> {
        let actor = actor.clone();
        self.run(move |v| v.audit_csrf_failure_blocking(&actor, form))
            .await
    }

    pub(in crate::vault) fn audit_csrf_failure_blocking(
        &self,
        actor: &Actor,
        form: &'static str,
    ) -> Result<(), VaultError> {
        self.audit_now(
            actor,
            "csrf_check",
            &crate::vault::guard::target::Target::form(form),
            "deny",
            "csrf_invalid",
        )
    }

    /// The actor's own live shares: case id → (permission, expiry, unix seconds).
    /// A partner's case list shows how long each case stays visible.
    pub async fn own_share_expiry(
        self: &Arc<Self>,
        actor: &Actor,
    ) -> Result<HashMap<String, (String, i64)>, VaultError> {
        let actor = actor.clone();
        self.run(move |v| v.own_share_expiry_blocking(&actor)).await
    }

    pub(in crate::vault) fn own_share_expiry_blocking(
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
