//! The signed-in person's own account page: who they are, their password, their
//! recovery codes and their passkeys (add with a name, list, remove).
//!
//! Invariant: the page only shows and links; passkeys are added and removed through
//! the same API routes as any client (`/api/v1/me/passkeys…`, a fresh second factor
//! each), driven by the first-party passkey script; a new password and new recovery
//! codes go through the same vault calls as `/api/v1/me/…`.
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::error::PageError;
use super::layout::{Notice, csrf_field, done_message, minute, page};
use super::parts::{DoneQuery, code_field};
use super::session::{EnrolSession, PageForm};
use crate::edge::AppState;
use crate::i18n::{t, ta};
use crate::vault::{SessionInfo, StepUp, VaultError};

/// `GET /account`.
pub(super) async fn account_page(
    State(st): State<AppState>,
    EnrolSession(s): EnrolSession,
    q: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    // A session that must set up the authenticator app does that first.
    if s.must_enrol && !s.must_add_passkey {
        return Err(PageError::Enrol);
    }
    let notice = done_message(q.ok().and_then(|q| q.0.done).as_deref());
    account_response(&st, s, StatusCode::OK, notice).await
}

async fn account_response(
    st: &AppState,
    s: SessionInfo,
    status: StatusCode,
    notice: Option<Notice>,
) -> Result<Response, PageError> {
    let passkeys = st.vault.list_passkeys(&s.actor).await?;
    let available = st.vault.passkeys_available();
    let body = html! {
        h1 { (t("account-heading")) }
        @if s.must_add_passkey {
            div.banner role="status" { strong { (t("account-must-passkey-lead")) " " } (t("account-must-passkey")) }
        }
        p { (t("account-signed-in-as")) " " strong { (s.actor.username()) } "." }
        @if !s.must_add_passkey { (password_section(&s)) (recovery_section(&s)) }
        section aria-labelledby="passkeys" {
            h2 #passkeys { (t("account-passkeys-heading")) }
            p { (t("account-passkeys-intro")) }
            @if passkeys.is_empty() {
                p.empty { (t("account-passkeys-none")) }
            } @else {
                div.table-wrap { table {
                    caption.visually-hidden { (t("account-passkeys-caption")) }
                    thead { tr { th scope="col" { (t("account-passkeys-col-name")) } th scope="col" { (t("account-passkeys-col-added")) } th scope="col" { (t("account-passkeys-col-used")) } th scope="col" { span.visually-hidden { (t("account-passkeys-col-remove")) } } } }
                    tbody { @for p in &passkeys { tr {
                        td { (p.name) }
                        td.date { (minute(&p.created_at)) }
                        td.date { @if let Some(u) = &p.last_used_at { (minute(u)) } @else { (t("account-passkey-never")) } }
                        td { button.danger type="button" data-passkey-remove=(p.id) hidden { (t("account-passkey-remove")) span.visually-hidden { " " (ta("account-passkey-remove-hidden", &[("name", &p.name)])) } } }
                    } } }
                } }
            }
            @if available {
                form.card #passkey-add hidden {
                    div.field {
                        label for="passkey-name" { (t("account-passkey-name")) }
                        input #passkey-name name="name" maxlength="64" required autocomplete="off" placeholder=(t("account-passkey-name-placeholder"));
                    }
                    @if !s.actor.fresh() {
                        div.field {
                            label for="passkey-code" { (t("code-field-label")) }
                            input.code #passkey-code name="totp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" aria-describedby="passkey-code-help";
                            p.help #passkey-code-help { (t("account-passkey-code-help")) }
                        }
                    }
                    button type="submit" { (t("account-passkey-add")) }
                    p #passkey-add-status role="alert" hidden {}
                }
                noscript { p { (t("account-passkey-needs-js")) } }
            } @else {
                p.help { (t("account-passkeys-unavailable")) }
            }
        }
    };
    Ok((
        status,
        page(&t("account-title"), Some(&s), notice.as_ref(), body),
    )
        .into_response())
}

fn password_section(s: &SessionInfo) -> Markup {
    html! {
        section aria-labelledby="password" {
            h2 #password { (t("account-password-heading")) }
            details {
                summary { (t("account-password-change")) }
                form.card method="post" action="/account/password" {
                    (csrf_field(s))
                    // For password managers, which file the new password under this name.
                    label hidden { (t("account-password-username")) " " input type="text" name="username" value=(s.actor.username()) autocomplete="username" readonly; }
                    div.field {
                        label for="current-password" { (t("account-password-now")) }
                        input #current-password name="current_password" type="password" autocomplete="current-password" required;
                    }
                    div.field {
                        label for="new-password" { (t("account-password-new")) }
                        input #new-password name="new_password" type="password" autocomplete="new-password" minlength="12" required aria-describedby="new-password-help";
                        p.help #new-password-help { (t("account-password-new-help")) }
                    }
                    (code_field(s, "password-code", false, &t("account-password-code-help")))
                    p.help { (t("account-password-others-out")) }
                    button type="submit" { (t("account-password-submit")) }
                }
            }
        }
    }
}

fn recovery_section(s: &SessionInfo) -> Markup {
    html! {
        section aria-labelledby="recovery" {
            h2 #recovery { (t("account-recovery-heading")) }
            p { (t("account-recovery-intro")) }
            details {
                summary { (t("account-recovery-new")) }
                form.card method="post" action="/account/recovery-codes" {
                    (csrf_field(s))
                    (code_field(s, "recovery-code", false, &t("account-recovery-code-help")))
                    button type="submit" { (t("account-recovery-new")) }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    current_password: Zeroizing<String>,
    #[serde(default)]
    new_password: Zeroizing<String>,
    #[serde(default)]
    totp: Zeroizing<String>,
}

/// What a refused change of one's own account says on the account page.
async fn refused(st: &AppState, s: SessionInfo, e: VaultError) -> Result<Response, PageError> {
    let (status, _) = crate::edge::status::of(&e);
    let words = match e {
        VaultError::BadInput {
            code: "wrong_password",
            ..
        } => t("account-wrong-password"),
        e @ (VaultError::BadInput { .. }
        | VaultError::Conflict { .. }
        | VaultError::InvalidCode
        | VaultError::StepUpRequired
        | VaultError::Throttled(_)) => super::error::words(e),
        e => return Err(e.into()),
    };
    account_response(st, s, status, Some(Notice::Error(words))).await
}

/// `POST /account/password`.
pub(super) async fn change_password(
    State(st): State<AppState>,
    PageForm(s, f): PageForm<PasswordForm>,
) -> Result<Response, PageError> {
    let step = StepUp::typed(&f.totp);
    match st
        .vault
        .change_own_password(&s, f.current_password, f.new_password, step)
        .await
    {
        Ok(()) => Ok(super::see_other("/account?done=password_changed")),
        Err(e) => refused(&st, s, e).await,
    }
}

#[derive(Deserialize)]
pub(super) struct CodeOnly {
    #[serde(default)]
    totp: Zeroizing<String>,
}

/// `POST /account/recovery-codes`: the new codes, shown once.
pub(super) async fn recovery_codes(
    State(st): State<AppState>,
    PageForm(s, f): PageForm<CodeOnly>,
) -> Result<Response, PageError> {
    let codes = match st
        .vault
        .new_recovery_codes(&s, StepUp::typed(&f.totp))
        .await
    {
        Ok(c) => c,
        Err(e) => return refused(&st, s, e).await,
    };
    let body = html! {
        h1 { (t("account-codes-heading")) }
        p { (t("account-codes-old-gone")) }
        p { strong { (t("account-codes-save")) } }
        ul.codes { @for c in &codes { li { code { (c.as_str()) } } } }
        p { a.button href="/account" { (t("account-codes-back")) } }
    };
    Ok(page(&t("account-codes-title"), Some(&s), None, body).into_response())
}
