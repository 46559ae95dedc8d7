//! Confirming an account's power to read (policy rule 16): who waits, who confirms,
//! and what giving an account a new way in withholds.
//!
//! Invariant: nobody who set an account's password or authenticator through the API can
//! also confirm it to read client data on their own.
use crate::policy::{Action, Resource, Role};
use crate::store::UserRow;
use crate::vault::guard::target::Target;
use crate::vault::{Actor, StepUp, UserView, Vault, VaultError, parse_id};
use age::secrecy::SecretString;
use std::sync::Arc;

/// Whether `actor` giving an account of `role` a way in (creating it, enabling it,
/// setting its password or authenticator) leaves the account waiting for confirmation:
/// a caseworker can read client data, and whoever does this through the API (an
/// administrator, the superadmin) cannot, so they must not be able to hand themselves
/// that power. The machine operator holds the data directory and the passphrases
/// already, and is exempt.
pub(super) fn needs_confirmation(actor: &Actor, role: Role) -> bool {
    role == Role::Caseworker && actor.role().is_some()
}

impl Vault {
    /// After `actor` gave `user` a way in (enabled it, set its password or
    /// authenticator): a caseworker waits for confirmation; a partner loses every live
    /// share, so that whoever holds the new password reads nothing until a caseworker
    /// (who can read) shares again. The operator is exempt.
    pub(super) fn withhold_reading(
        &self,
        tx: &crate::store::WriteTx<'_>,
        actor: &Actor,
        user: &UserRow,
    ) -> Result<(), VaultError> {
        if actor.role().is_none() {
            return Ok(());
        }
        match user.role {
            Role::Caseworker => tx.set_access_pending(&user.id, true)?,
            Role::Partner => {
                tx.revoke_user_shares(&user.id, self.clock.unix())?;
                tx.revoke_links_by(&user.id, None, self.clock.unix())?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Confirms an account's power to read client data: by a supervisor of its office
    /// (policy rule 17) or by the office's administrator with the office passphrase
    /// (rule 18), with a fresh code either way. Both halves are audited: the grant
    /// (create, enable, reset) and this confirmation.
    pub async fn confirm_access(
        self: &Arc<Self>,
        actor: &Actor,
        user_id: &str,
        passphrase: Option<SecretString>,
        step: StepUp,
    ) -> Result<(), VaultError> {
        let actor = self.prove(actor.clone(), step).await?;
        let user_id = user_id.to_owned();
        self.run(move |v| v.confirm_access_blocking(&actor, &user_id, passphrase))
            .await
    }

    fn confirm_access_blocking(
        &self,
        actor: &Actor,
        user_id: &str,
        passphrase: Option<SecretString>,
    ) -> Result<(), VaultError> {
        let user = match parse_id(user_id) {
            Some(id) => self.db.read(|tx| tx.user(&id))?,
            None => None,
        };
        let Some(office) = user.as_ref().and_then(|u| u.office.clone()) else {
            self.audit_now(
                actor,
                "confirm_access",
                &Target::unknown_user(),
                "deny",
                "not_found",
            )?;
            return Err(VaultError::NotFound);
        };
        let Some(user) = user else {
            return Err(VaultError::NotFound);
        };
        // The passphrase is tried (scrypt) only for someone the policy would let
        // confirm with it, so nobody else can make the server spend the work.
        let may_use_passphrase = actor.role().is_some_and(|r| {
            let ctx = crate::policy::Ctx {
                fresh: true,
                target_role: None,
                passphrase_proved: true,
                grants_access: false,
                document: None,
            };
            self.policy.decide(
                &actor.principal(r),
                Action::ConfirmAccess,
                &Resource::Office(&office),
                &ctx,
            )
        });
        let passphrase_proved = match &passphrase {
            Some(p) if may_use_passphrase => self.office_passphrase_opens(
                &office,
                crate::vault::office::custody::Candidates::Own(&actor.id),
                p,
            )?,
            _ => false,
        };
        let ctx = crate::policy::Ctx {
            passphrase_proved,
            ..Default::default()
        };
        let target = Target::stored_office(&office).and(Target::user(&user.id));
        let allowed = self.authorize_in(
            actor,
            Action::ConfirmAccess,
            &Resource::Office(&office),
            target,
            ctx,
        );
        let allowed = match allowed {
            Ok(a) => a,
            // A passphrase was tried and did not open the office: the refusal is
            // audited; say what was wrong.
            Err(VaultError::Forbidden) if may_use_passphrase && passphrase.is_some() => {
                return Err(VaultError::WrongPassphrase);
            }
            Err(e) => return Err(e),
        };
        if !user.access_pending {
            return self.record_now(&allowed, "already_confirmed");
        }
        self.db.write(|tx| {
            tx.set_access_pending(&user.id, false)?;
            self.record(tx, &allowed, "ok")
        })
    }

    /// The accounts of the actor's office waiting for confirmation, for a supervisor's
    /// page or an administrator's user list (decided as `confirm_access`, assuming the
    /// code and passphrase will be given).
    pub async fn pending_access(
        self: &Arc<Self>,
        actor: &Actor,
    ) -> Result<Vec<UserView>, VaultError> {
        let actor = actor.clone();
        self.run(move |v| {
            let (Some(role), Some(office)) = (actor.role(), actor.office.clone()) else {
                return Ok(Vec::new());
            };
            let ctx = crate::policy::Ctx {
                fresh: true,
                target_role: None,
                passphrase_proved: true,
                grants_access: false,
                document: None,
            };
            if !v.policy.decide(
                &actor.principal(role),
                Action::ConfirmAccess,
                &Resource::Office(&office),
                &ctx,
            ) {
                return Ok(Vec::new());
            }
            let rows = v.db.read(|tx| tx.pending_access(&office))?;
            Ok(rows.iter().map(UserView::from).collect())
        })
        .await
    }
}
