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
        h1 { "Your account" }
        @if s.must_add_passkey {
            div.banner role="status" { strong { "Add a passkey to continue. " } "Your office requires people in your role to sign in with a passkey. Add one below; from then on, sign in with it." }
        }
        p { "Signed in as " strong { (s.actor.username()) } "." }
        @if !s.must_add_passkey { (password_section(&s)) (recovery_section(&s)) }
        section aria-labelledby="passkeys" {
            h2 #passkeys { "Passkeys" }
            p { "A passkey lets you sign in with your fingerprint, face or device PIN instead of your password and code. A fake website cannot use it, so it protects you from phishing. Your device keeps the passkey; casevault keeps only its public half." }
            @if passkeys.is_empty() {
                p.empty { "You have no passkey yet." }
            } @else {
                div.table-wrap { table {
                    caption.visually-hidden { "Your passkeys" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Added" } th scope="col" { "Last used" } th scope="col" { span.visually-hidden { "Remove" } } } }
                    tbody { @for p in &passkeys { tr {
                        td { (p.name) }
                        td.date { (minute(&p.created_at)) }
                        td.date { @if let Some(u) = &p.last_used_at { (minute(u)) } @else { "never" } }
                        td { button.danger type="button" data-passkey-remove=(p.id) hidden { "Remove" span.visually-hidden { " passkey " (p.name) } } }
                    } } }
                } }
            }
            @if available {
                form.card #passkey-add hidden {
                    div.field {
                        label for="passkey-name" { "Name for the new passkey" }
                        input #passkey-name name="name" maxlength="64" required autocomplete="off" placeholder="e.g. work laptop";
                    }
                    @if !s.actor.fresh() {
                        div.field {
                            label for="passkey-code" { "6-digit code from your authenticator app" }
                            input.code #passkey-code name="totp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" aria-describedby="passkey-code-help";
                            p.help #passkey-code-help { "Adding or removing a passkey asks for your code (or a passkey) once every few minutes." }
                        }
                    }
                    button type="submit" { "Add a passkey" }
                    p #passkey-add-status role="alert" hidden {}
                }
                noscript { p { "Adding a passkey needs JavaScript in this browser." } }
            } @else {
                p.help { "Passkeys are not available on this server: it needs an address with a name (ask your administrator to set the server's public URL)." }
            }
        }
    };
    Ok((
        status,
        page("Your account", Some(&s), notice.as_ref(), body),
    )
        .into_response())
}

fn password_section(s: &SessionInfo) -> Markup {
    html! {
        section aria-labelledby="password" {
            h2 #password { "Your password" }
            details {
                summary { "Change your password" }
                form.card method="post" action="/account/password" {
                    (csrf_field(s))
                    // For password managers, which file the new password under this name.
                    label hidden { "Username " input type="text" name="username" value=(s.actor.username()) autocomplete="username" readonly; }
                    div.field {
                        label for="current-password" { "Your password now" }
                        input #current-password name="current_password" type="password" autocomplete="current-password" required;
                    }
                    div.field {
                        label for="new-password" { "New password" }
                        input #new-password name="new_password" type="password" autocomplete="new-password" minlength="12" required aria-describedby="new-password-help";
                        p.help #new-password-help { "At least 12 characters and not a common password. A few unrelated words make a good one." }
                    }
                    (code_field(s, "password-code", false, "Changing your password asks for your code (or a passkey) once every few minutes."))
                    p.help { "You stay signed in here; every other device is signed out, and browsers casevault remembered for you are forgotten." }
                    button type="submit" { "Change password" }
                }
            }
        }
    }
}

fn recovery_section(s: &SessionInfo) -> Markup {
    html! {
        section aria-labelledby="recovery" {
            h2 #recovery { "Recovery codes" }
            p { "Each recovery code lets you sign in once without your phone. Used some, or lost the paper? Make new ones: the old ones stop working at once." }
            details {
                summary { "Make new recovery codes" }
                form.card method="post" action="/account/recovery-codes" {
                    (csrf_field(s))
                    (code_field(s, "recovery-code", false, "Making new recovery codes asks for your code (or a passkey) once every few minutes."))
                    button type="submit" { "Make new recovery codes" }
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
        } => "Your password now was not right, so nothing was changed. Type it again.".to_string(),
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
        h1 { "Your new recovery codes" }
        p { "Your old recovery codes no longer work. Each of these lets you sign in once instead of the 6-digit code." }
        p { strong { "Write them down or print this page now and keep them somewhere safe. They will not be shown again." } }
        ul.codes { @for c in &codes { li { code { (c.as_str()) } } } }
        p { a.button href="/account" { "I have saved them — back to my account" } }
    };
    Ok(page("Your new recovery codes", Some(&s), None, body).into_response())
}
