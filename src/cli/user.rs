//! `casevault user add`, `enable`, `disable`, `reset-password`, `reset-totp` and `list`.
//!
//! Invariant: a new or reset password is random, printed once and kept only as its
//! hash; disabling an account or resetting its password ends its sessions at once.
//! The list shows roles and states, never a password or a TOTP secret.
use std::process::ExitCode;

use casevault::vault::{NewUser, StepUp, operator};

use super::args::UserCmd;
use super::{new_password, open, say};

/// Runs a `user` sub-command.
pub(super) async fn run(cmd: UserCmd) -> Result<ExitCode, String> {
    let op = operator::actor();
    match cmd {
        UserCmd::Add {
            data,
            username,
            role,
            office,
            org,
            supervisor,
            common,
        } => {
            let app = open(&data, &common)?;
            let password = new_password();
            let u = app
                .vault
                .create_user(
                    &op,
                    NewUser {
                        username,
                        role,
                        office,
                        org,
                        supervisor,
                        password: password.clone(),
                    },
                    StepUp::none(),
                )
                .await
                .map_err(|e| e.to_string())?;
            say!("User {} ({}) created, id {}.", u.username, u.role, u.id);
            say!("Password (shown once): {}", password.as_str());
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::Disable {
            data,
            username,
            common,
        } => {
            let u = change(&data, &common, &username, |v, id| {
                Box::pin(async move { v.set_user_disabled(&op, &id, true, StepUp::none()).await })
            })
            .await?;
            say!("User {u} disabled; their sessions have ended.");
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::Enable {
            data,
            username,
            common,
        } => {
            let u = change(&data, &common, &username, |v, id| {
                Box::pin(async move { v.set_user_disabled(&op, &id, false, StepUp::none()).await })
            })
            .await?;
            say!("User {u} can sign in again.");
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::ResetTotp {
            data,
            username,
            common,
        } => {
            let u = change(&data, &common, &username, |v, id| {
                Box::pin(async move { v.reset_totp(&op, &id, StepUp::none()).await })
            })
            .await?;
            say!(
                "The authenticator of {u} is reset; their sessions have ended. They set up their app again at their next sign-in."
            );
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::ResetPassword {
            data,
            username,
            common,
        } => {
            let app = open(&data, &common)?;
            let u = find_user(&app, &username)?;
            let password = new_password();
            app.vault
                .reset_password(&op, &u.id, password.clone(), StepUp::none())
                .await
                .map_err(|e| e.to_string())?;
            say!(
                "New password for {} (shown once): {}",
                u.username,
                password.as_str()
            );
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::List { data, common } => {
            let app = open(&data, &common)?;
            let users = app.vault.list_users(&op).await.map_err(|e| e.to_string())?;
            say!(
                "{:<24} {:<11} {:<10} {:<5} {:<8} id",
                "username",
                "role",
                "office",
                "totp",
                "state"
            );
            for u in users {
                say!(
                    "{:<24} {:<11} {:<10} {:<5} {:<8} {}",
                    u.username,
                    u.role,
                    u.office.as_deref().or(u.org.as_deref()).unwrap_or("-"),
                    if u.totp_enrolled { "yes" } else { "no" },
                    if u.disabled { "disabled" } else { "active" },
                    u.id
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Opens the vault, finds the account named on the command line and applies `f` to
/// it as the operator; answers its username.
async fn change(
    data: &std::path::Path,
    common: &super::args::Common,
    username: &str,
    f: impl FnOnce(
        std::sync::Arc<casevault::vault::Vault>,
        String,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), casevault::vault::VaultError>> + Send>,
    >,
) -> Result<String, String> {
    let app = open(data, common)?;
    let u = find_user(&app, username)?;
    f(app.vault.clone(), u.id.clone())
        .await
        .map_err(|e| e.to_string())?;
    Ok(u.username)
}

/// The account named on the command line (the operator may name any account).
fn find_user(app: &casevault::App, username: &str) -> Result<casevault::vault::UserView, String> {
    operator::user_by_name(&app.vault, username)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "no such user".to_string())
}
